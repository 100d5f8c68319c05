//! Images larger than the device's 2D texture limit, drawn as tiles.
//!
//! WebGL2 guarantees textures of only 2048 pixels per side, and laptops
//! with 4096 are common, while computed radiography plates reach
//! 3500 × 4300. Such an image is split into a grid of tiles, each its own
//! texture. Every tile *draws* a disjoint part of the image (its core);
//! its texture holds the core plus an apron of [`APRON`] pixels on each
//! side where the image continues, so that the interpolation of any point
//! of the core reads the same neighbours it would read in one whole
//! texture. At the image's own edges there is no apron, and clamping to
//! the tile's texture is clamping to the image, as in the untiled case.
//! The tiled image is therefore drawn with exactly the bytes of the
//! untiled one.

/// Pixels beyond its core that a tile's texture holds on each side: the
/// Catmull-Rom kernel reads from one pixel before to two pixels after the
/// pixel left of (or above) the sample point, whose centre may lie half a
/// pixel outside the core.
pub(crate) const APRON: u32 = 2;

/// The smallest texture limit tiles are made for: a tile must hold more
/// than its two aprons.
pub(crate) const MIN_TILE: u32 = 4 * APRON;

/// One tile along one axis: the core `[start, end)` it draws and the
/// texture `[texture_start, texture_end)` it holds, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
    pub texture_start: u32,
    pub texture_end: u32,
}

impl Span {
    pub fn texture_len(self) -> u32 {
        self.texture_end - self.texture_start
    }
}

/// The spans covering `length` pixels with textures of at most `max`
/// pixels: one span when the length fits, else cores of `max − 2 × APRON`
/// pixels (the last one shorter), each texture reaching `APRON` pixels
/// past its core where the image continues.
pub(crate) fn spans(length: u32, max: u32) -> Vec<Span> {
    if length <= max {
        return vec![Span {
            start: 0,
            end: length,
            texture_start: 0,
            texture_end: length,
        }];
    }
    let step = max.max(MIN_TILE) - 2 * APRON;
    (0..length.div_ceil(step))
        .map(|k| {
            let start = k * step;
            let end = (start + step).min(length);
            Span {
                start,
                end,
                texture_start: start.saturating_sub(APRON),
                texture_end: (end + APRON).min(length),
            }
        })
        .collect()
}

/// The rectangle of a `viewport` (x, y, width, height in target pixels)
/// in which the image points `core` (`[x0, y0, x1, y1]`) appear, given
/// the draw's `clip_to_image` map; `None` if they do not appear in it.
/// One pixel of margin is kept on each side against rounding: the shader
/// decides each pixel exactly, this only spares the work of the others.
/// A map that cannot be inverted gives the whole viewport.
pub(crate) fn screen_rect(
    clip_to_image: [f32; 6],
    core: [f32; 4],
    viewport: [u32; 4],
) -> Option<[u32; 4]> {
    let [a, b, c, d, e, f] = clip_to_image.map(f64::from);
    let [vx, vy, vw, vh] = viewport.map(f64::from);
    let det = a * e - b * d;
    if vw == 0.0 || vh == 0.0 {
        return None;
    }
    if !det.is_finite() || det.abs() < 1e-12 {
        return Some(viewport);
    }
    let [x0, y0, x1, y1] = core.map(f64::from);
    let mut low = (f64::INFINITY, f64::INFINITY);
    let mut high = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for (col, row) in [(x0, y0), (x1, y0), (x1, y1), (x0, y1)] {
        // Clip space of the image point, then target pixels (y down).
        let (u, v) = (col - c, row - f);
        let clip_x = (e * u - b * v) / det;
        let clip_y = (a * v - d * u) / det;
        let px = vx + (clip_x + 1.0) / 2.0 * vw;
        let py = vy + (1.0 - clip_y) / 2.0 * vh;
        low = (low.0.min(px), low.1.min(py));
        high = (high.0.max(px), high.1.max(py));
    }
    let left = (low.0.floor() - 1.0).max(vx);
    let top = (low.1.floor() - 1.0).max(vy);
    let right = (high.0.ceil() + 1.0).min(vx + vw);
    let bottom = (high.1.ceil() + 1.0).min(vy + vh);
    if !(left < right && top < bottom) {
        return None;
    }
    Some([
        left as u32,
        top as u32,
        (right - left) as u32,
        (bottom - top) as u32,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_within_the_limit_is_one_span() {
        assert_eq!(
            spans(4096, 4096),
            vec![Span {
                start: 0,
                end: 4096,
                texture_start: 0,
                texture_end: 4096
            }]
        );
    }

    #[test]
    fn spans_partition_the_image_and_fit_the_limit() {
        for (length, max) in [
            (4097, 4096),
            (4300, 2048),
            (10_000, 2048),
            (33, 8),
            (17, 16),
        ] {
            let spans = spans(length, max);
            assert!(spans.len() > 1);
            assert_eq!(spans[0].start, 0);
            assert_eq!(spans.last().unwrap().end, length);
            for pair in spans.windows(2) {
                assert_eq!(pair[0].end, pair[1].start, "{length}/{max}");
            }
            for s in &spans {
                assert!(s.start < s.end);
                assert!(s.texture_len() <= max, "{s:?} exceeds {max}");
                // The apron wherever the image continues, none past it.
                assert_eq!(s.texture_start, s.start.saturating_sub(APRON));
                assert_eq!(s.texture_end, (s.end + APRON).min(length));
            }
        }
    }

    #[test]
    fn a_core_appears_where_the_map_puts_it() {
        // A 100 × 50 image filling a 200 × 100 viewport at (10, 20):
        // col = 50x + 50, row = −25y + 25.
        let m = [50.0, 0.0, 50.0, 0.0, -25.0, 25.0];
        let viewport = [10, 20, 200, 100];
        // Columns 50..100, rows 0..25: the top right quarter.
        assert_eq!(
            screen_rect(m, [50.0, 0.0, 100.0, 25.0], viewport),
            Some([109, 20, 101, 51])
        );
        // Beyond the image: outside the viewport.
        assert_eq!(screen_rect(m, [200.0, 0.0, 300.0, 25.0], viewport), None);
        // A degenerate map: the whole viewport.
        assert_eq!(
            screen_rect([0.0; 6], [0.0, 0.0, 1.0, 1.0], viewport),
            Some(viewport)
        );
    }

    #[test]
    fn rotated_cores_get_their_bounding_box() {
        // A quarter turn: col = 50y + 50, row = 50x + 50 over 100 × 100.
        let m = [0.0, 50.0, 50.0, 50.0, 0.0, 50.0];
        let r = screen_rect(m, [0.0, 0.0, 50.0, 50.0], [0, 0, 100, 100]).unwrap();
        // Columns 0..50 are clip y −1..0 (the bottom half), rows 0..50
        // clip x −1..0 (the left half).
        assert_eq!(r, [0, 49, 51, 51]);
    }
}
