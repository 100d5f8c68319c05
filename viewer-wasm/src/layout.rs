//! Viewport layouts: how the image area is divided, in CSS pixels for the
//! overlays and in device pixels for the renderer.

/// The grids the viewer offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    #[default]
    One,
    /// Two side by side (current and prior, or two series).
    OneByTwo,
    /// Two rows of two.
    TwoByTwo,
    /// Three side by side: the multiplanar reformats.
    OneByThree,
}

impl Layout {
    /// `(rows, columns)`.
    pub fn grid(self) -> (u32, u32) {
        match self {
            Layout::One => (1, 1),
            Layout::OneByTwo => (1, 2),
            Layout::TwoByTwo => (2, 2),
            Layout::OneByThree => (1, 3),
        }
    }

    pub fn count(self) -> usize {
        let (r, c) = self.grid();
        (r * c) as usize
    }

    /// The name used in the toolbar and the i18n keys (`layout.1x2`).
    pub fn name(self) -> &'static str {
        match self {
            Layout::One => "1x1",
            Layout::OneByTwo => "1x2",
            Layout::TwoByTwo => "2x2",
            Layout::OneByThree => "1x3",
        }
    }

    pub fn from_name(name: &str) -> Option<Layout> {
        [
            Layout::One,
            Layout::OneByTwo,
            Layout::TwoByTwo,
            Layout::OneByThree,
        ]
        .into_iter()
        .find(|l| l.name() == name)
    }
}

/// A rectangle in CSS pixels, origin at the image area's top left.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn size(&self) -> (f64, f64) {
        (self.width, self.height)
    }

    pub fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.x && y >= self.y && x < self.x + self.width && y < self.y + self.height
    }

    /// The rectangle in device pixels, `(x, y, width, height)`: edges are
    /// rounded, not sizes, so neighbouring viewports share their border
    /// exactly and none reaches past `max` (the canvas size).
    pub fn to_device(&self, ratio: f64, max: (u32, u32)) -> (u32, u32, u32, u32) {
        let edge = |v: f64, limit: u32| ((v * ratio).round().max(0.0) as u32).min(limit);
        let x0 = edge(self.x, max.0);
        let y0 = edge(self.y, max.1);
        let x1 = edge(self.x + self.width, max.0);
        let y1 = edge(self.y + self.height, max.1);
        (x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
    }
}

/// The viewports of `layout` in an area of `size` CSS pixels, row by row.
pub fn viewports(layout: Layout, size: (f64, f64)) -> Vec<Rect> {
    let (rows, cols) = layout.grid();
    let (w, h) = (size.0 / f64::from(cols), size.1 / f64::from(rows));
    let mut rects = Vec::with_capacity(layout.count());
    for r in 0..rows {
        for c in 0..cols {
            rects.push(Rect {
                x: f64::from(c) * w,
                y: f64::from(r) * h,
                width: w,
                height: h,
            });
        }
    }
    rects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_split_the_area_evenly() {
        let rects = viewports(Layout::TwoByTwo, (1000.0, 600.0));
        assert_eq!(rects.len(), 4);
        assert_eq!(
            rects[3],
            Rect {
                x: 500.0,
                y: 300.0,
                width: 500.0,
                height: 300.0
            }
        );
        let rects = viewports(Layout::OneByTwo, (1000.0, 600.0));
        assert_eq!(rects[1].x, 500.0);
        assert_eq!(rects[1].height, 600.0);
        assert_eq!(viewports(Layout::One, (10.0, 10.0)).len(), 1);
        let mpr = viewports(Layout::OneByThree, (900.0, 600.0));
        assert_eq!((mpr.len(), mpr[2].x, mpr[2].width), (3, 600.0, 300.0));
    }

    #[test]
    fn device_rectangles_tile_without_gaps_or_overflow() {
        // 1001 CSS px at ratio 1.5 is 1501.5 device px; the canvas holds 1501.
        let rects = viewports(Layout::OneByTwo, (1001.0, 600.0));
        let left = rects[0].to_device(1.5, (1501, 900));
        let right = rects[1].to_device(1.5, (1501, 900));
        assert_eq!(left.0 + left.2, right.0);
        assert!(right.0 + right.2 <= 1501);
        assert_eq!(left.3, 900);
    }

    #[test]
    fn layout_names_round_trip() {
        for layout in [
            Layout::One,
            Layout::OneByTwo,
            Layout::TwoByTwo,
            Layout::OneByThree,
        ] {
            assert_eq!(Layout::from_name(layout.name()), Some(layout));
        }
        assert_eq!(Layout::from_name("3x3"), None);
        assert!(
            Rect {
                x: 0.0,
                y: 0.0,
                width: 2.0,
                height: 2.0
            }
            .contains((1.0, 1.9))
        );
    }
}
