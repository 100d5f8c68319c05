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

/// The part of a viewport an image is drawn into.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    /// Device pixels: `(x, y, width, height)`.
    pub rect: (u32, u32, u32, u32),
    /// The renderer's `clip_to_image` matrix for `rect`.
    pub clip_to_image: [f32; 6],
}

/// Where an image is drawn within its viewport: the device-pixel rectangle
/// `(x, y, width, height)` its footprint covers (clipped to the viewport),
/// and the renderer's `clip_to_image` matrix for that rectangle. Drawing
/// only this rectangle leaves the rest of the viewport to the black clear
/// and spares the GPU every pixel the image does not reach; `None` when the
/// image is entirely outside the viewport.
///
/// `pane_matrix` maps the whole viewport's clip space to image points
/// (`ViewTransform::clip_to_image`), `corners` are the image corners on
/// screen (CSS pixels from the viewport's top left).
pub fn footprint(
    pane: Rect,
    ratio: f64,
    canvas: (u32, u32),
    corners: [(f64, f64); 4],
    pane_matrix: [f32; 6],
) -> Option<Footprint> {
    let (px, py, pw, ph) = pane.to_device(ratio, canvas);
    if pw == 0 || ph == 0 {
        return None;
    }
    let xs = corners.map(|c| (pane.x + c.0) * ratio);
    let ys = corners.map(|c| (pane.y + c.1) * ratio);
    let min = |v: [f64; 4]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: [f64; 4]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let clamp = |v: f64, lo: u32, hi: u32| (v.max(f64::from(lo)).min(f64::from(hi))) as u32;
    let x0 = clamp(min(xs).floor(), px, px + pw);
    let x1 = clamp(max(xs).ceil(), px, px + pw);
    let y0 = clamp(min(ys).floor(), py, py + ph);
    let y1 = clamp(max(ys).ceil(), py, py + ph);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let (dw, dh) = (f64::from(x1 - x0), f64::from(y1 - y0));
    let (pwf, phf) = (f64::from(pw), f64::from(ph));
    // Viewport clip x = kx·x' + ox, y = ky·y' + oy for sub-rectangle clip
    // (x', y').
    let kx = dw / pwf;
    let ox = (2.0 * f64::from(x0 - px) + dw) / pwf - 1.0;
    let ky = dh / phf;
    let oy = 1.0 - (2.0 * f64::from(y0 - py) + dh) / phf;
    let [a, b, c, d, e, f] = pane_matrix.map(f64::from);
    let matrix = [
        a * kx,
        b * ky,
        a * ox + b * oy + c,
        d * kx,
        e * ky,
        d * ox + e * oy + f,
    ]
    .map(|v| v as f32);
    Some(Footprint {
        rect: (x0, y0, x1 - x0, y1 - y0),
        clip_to_image: matrix,
    })
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
    fn the_footprint_covers_the_image_and_maps_as_the_viewport_does() {
        use viewer_core::viewport::ViewTransform;
        // A 100×50 image fitted into a 400×400 viewport at (400, 0) of an
        // 800×400 canvas: zoom 4, so it covers x 0..400, y 100..300.
        let pane = Rect {
            x: 400.0,
            y: 0.0,
            width: 400.0,
            height: 400.0,
        };
        let image = (100.0, 50.0);
        let view = ViewTransform::fit(image, pane.size());
        let corners = [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)]
            .map(|p| view.image_to_screen(p, image, pane.size()));
        let whole = view.clip_to_image(image, pane.size());
        let Footprint {
            rect,
            clip_to_image: m,
        } = footprint(pane, 1.0, (800, 400), corners, whole).unwrap();
        assert_eq!(rect, (400, 100, 400, 200));
        // The sub-rectangle's clip corners are the image's corners:
        // (−1, 1) is its top left, (1, −1) its bottom right.
        let at = |x: f32, y: f32| (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]);
        assert_eq!(at(-1.0, 1.0), (0.0, 0.0));
        assert_eq!(at(1.0, -1.0), (100.0, 50.0));
        // An image panned out of sight has no footprint.
        let mut away = view;
        away.pan_by(1000.0, 0.0);
        let corners = [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)]
            .map(|p| away.image_to_screen(p, image, pane.size()));
        assert_eq!(footprint(pane, 1.0, (800, 400), corners, whole), None);
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
