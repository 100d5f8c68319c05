//! How an image sits in a viewport: zoom, pan, quarter-turn rotation and
//! flips, and the matrices the renderer and the overlays share.
//!
//! Sizes are `(width, height)`: the image in pixels (columns, rows), the
//! viewport in CSS pixels. Image points follow the crate convention (pixel
//! `(c, r)` centred at `(c + 0.5, r + 0.5)`, the image spanning `0..w ×
//! 0..h`); screen points are CSS pixels from the viewport's top left, y
//! down.
//!
//! The mapping from an image point `p` to the screen is
//!
//! ```text
//! screen = viewport_centre + pan + F · R^k · S · (p − image_centre)
//! ```
//!
//! with `S = diag(zoom, zoom × pixel_aspect)` (image pixels to screen
//! pixels), `R` a clockwise quarter turn on a y-down screen,
//! `(x, y) ↦ (−y, x)`, applied `k = rotation` times, and `F` the flips,
//! `diag(±1, ±1)`, applied last, on the screen. Because flips act on the
//! screen, "flip horizontal" always mirrors left–right as the reader sees
//! it, and "rotate" always turns clockwise as seen, whatever came before.

/// Smallest and largest zoom (screen pixels per image pixel) the view
/// accepts, so that a runaway wheel cannot lose the image.
pub const MIN_ZOOM: f64 = 1.0 / 64.0;
pub const MAX_ZOOM: f64 = 64.0;

/// The view of one image in one viewport.
///
/// Invariants: `rotation` is 0..=3, `zoom` is within
/// `MIN_ZOOM..=MAX_ZOOM`, `pixel_aspect` is positive and finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewTransform {
    /// Screen pixels per image pixel along a row (image x).
    pub zoom: f64,
    /// Offset of the image centre from the viewport centre, screen pixels.
    pub pan: (f64, f64),
    /// Clockwise quarter turns, 0..=3.
    pub rotation: u8,
    /// Mirrored left–right on the screen.
    pub flip_horizontal: bool,
    /// Mirrored top–bottom on the screen.
    pub flip_vertical: bool,
    /// Physical height ÷ width of one pixel (row spacing ÷ column
    /// spacing): 1 for square pixels, more for a coronal reformat of thick
    /// slices, which must be stretched vertically to keep its proportions.
    pub pixel_aspect: f64,
}

impl Default for ViewTransform {
    fn default() -> ViewTransform {
        ViewTransform {
            zoom: 1.0,
            pan: (0.0, 0.0),
            rotation: 0,
            flip_horizontal: false,
            flip_vertical: false,
            pixel_aspect: 1.0,
        }
    }
}

/// A 2×2 matrix, row-major.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mat2([[f64; 2]; 2]);

impl Mat2 {
    const IDENTITY: Mat2 = Mat2([[1.0, 0.0], [0.0, 1.0]]);
    /// Clockwise quarter turn on a y-down screen: (x, y) ↦ (−y, x).
    const QUARTER: Mat2 = Mat2([[0.0, -1.0], [1.0, 0.0]]);

    fn diag(a: f64, b: f64) -> Mat2 {
        Mat2([[a, 0.0], [0.0, b]])
    }

    fn mul(self, o: Mat2) -> Mat2 {
        let a = self.0;
        let b = o.0;
        Mat2([
            [
                a[0][0] * b[0][0] + a[0][1] * b[1][0],
                a[0][0] * b[0][1] + a[0][1] * b[1][1],
            ],
            [
                a[1][0] * b[0][0] + a[1][1] * b[1][0],
                a[1][0] * b[0][1] + a[1][1] * b[1][1],
            ],
        ])
    }

    fn apply(self, (x, y): (f64, f64)) -> (f64, f64) {
        let m = self.0;
        (m[0][0] * x + m[0][1] * y, m[1][0] * x + m[1][1] * y)
    }

    fn inverse(self) -> Mat2 {
        let [[a, b], [c, d]] = self.0;
        let det = a * d - b * c;
        Mat2([[d / det, -b / det], [-c / det, a / det]])
    }
}

impl ViewTransform {
    /// The whole image, centred and as large as fits, unrotated.
    pub fn fit(image: (f64, f64), viewport: (f64, f64)) -> ViewTransform {
        ViewTransform::fit_with_aspect(image, viewport, 1.0)
    }

    /// As [`ViewTransform::fit`], for pixels `pixel_aspect` times taller
    /// than wide (row spacing ÷ column spacing).
    pub fn fit_with_aspect(
        image: (f64, f64),
        viewport: (f64, f64),
        pixel_aspect: f64,
    ) -> ViewTransform {
        let mut view = ViewTransform {
            pixel_aspect: if pixel_aspect.is_finite() && pixel_aspect > 0.0 {
                pixel_aspect
            } else {
                1.0
            },
            ..ViewTransform::default()
        };
        view.fit_in(image, viewport);
        view
    }

    /// Fits and centres the image, keeping rotation and flips.
    pub fn fit_in(&mut self, image: (f64, f64), viewport: (f64, f64)) {
        let (w, h) = (image.0, image.1 * self.pixel_aspect);
        let (sw, sh) = if self.rotation.is_multiple_of(2) {
            (w, h)
        } else {
            (h, w)
        };
        let zoom = (viewport.0 / sw).min(viewport.1 / sh);
        self.zoom = if zoom.is_finite() && zoom > 0.0 {
            zoom.clamp(MIN_ZOOM, MAX_ZOOM)
        } else {
            1.0
        };
        self.pan = (0.0, 0.0);
    }

    /// Back to the opening view: fitted, unrotated, unflipped.
    pub fn reset(&mut self, image: (f64, f64), viewport: (f64, f64)) {
        *self = ViewTransform::fit_with_aspect(image, viewport, self.pixel_aspect);
    }

    /// One image pixel per viewport pixel (CSS pixel; for one per device
    /// pixel, follow with `zoom_about(1/devicePixelRatio, …)`), keeping the
    /// image point at the viewport's centre where it is.
    pub fn one_to_one(&mut self, image: (f64, f64), viewport: (f64, f64)) {
        let centre = (viewport.0 / 2.0, viewport.1 / 2.0);
        self.zoom_about(1.0 / self.zoom, centre, image, viewport);
    }

    /// Multiplies the zoom by `factor` (clamped to the zoom limits) so that
    /// the image point under `screen_point` stays under it.
    pub fn zoom_about(
        &mut self,
        factor: f64,
        screen_point: (f64, f64),
        image: (f64, f64),
        viewport: (f64, f64),
    ) {
        if !(factor.is_finite() && factor > 0.0) {
            return;
        }
        let anchor = self.screen_to_image(screen_point, image, viewport);
        self.zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let offset = self
            .linear()
            .apply((anchor.0 - image.0 / 2.0, anchor.1 - image.1 / 2.0));
        self.pan = (
            screen_point.0 - viewport.0 / 2.0 - offset.0,
            screen_point.1 - viewport.1 / 2.0 - offset.1,
        );
    }

    /// Moves the image by `(dx, dy)` screen pixels.
    pub fn pan_by(&mut self, dx: f64, dy: f64) {
        if dx.is_finite() && dy.is_finite() {
            self.pan = (self.pan.0 + dx, self.pan.1 + dy);
        }
    }

    /// Turns what the reader sees a quarter turn clockwise about the
    /// viewport centre. With one flip in effect, a clockwise turn on the
    /// screen is a counter-clockwise one before the flip (`R·F = F·R⁻¹`).
    pub fn rotate_clockwise(&mut self) {
        let mirrored = self.flip_horizontal != self.flip_vertical;
        self.rotation = if mirrored {
            (self.rotation + 3) % 4
        } else {
            (self.rotation + 1) % 4
        };
        self.pan = Mat2::QUARTER.apply(self.pan);
    }

    /// Mirrors what the reader sees left–right about the viewport centre.
    pub fn flip_horizontal(&mut self) {
        self.flip_horizontal = !self.flip_horizontal;
        self.pan.0 = -self.pan.0;
    }

    /// Mirrors what the reader sees top–bottom about the viewport centre.
    pub fn flip_vertical(&mut self) {
        self.flip_vertical = !self.flip_vertical;
        self.pan.1 = -self.pan.1;
    }

    /// `F · R^k · S`: image offsets to screen offsets.
    fn linear(&self) -> Mat2 {
        let flips = Mat2::diag(
            if self.flip_horizontal { -1.0 } else { 1.0 },
            if self.flip_vertical { -1.0 } else { 1.0 },
        );
        let mut turn = Mat2::IDENTITY;
        for _ in 0..self.rotation % 4 {
            turn = Mat2::QUARTER.mul(turn);
        }
        flips
            .mul(turn)
            .mul(Mat2::diag(self.zoom, self.zoom * self.pixel_aspect))
    }

    /// Where an image point appears on the screen.
    pub fn image_to_screen(
        &self,
        p: (f64, f64),
        image: (f64, f64),
        viewport: (f64, f64),
    ) -> (f64, f64) {
        let (x, y) = self
            .linear()
            .apply((p.0 - image.0 / 2.0, p.1 - image.1 / 2.0));
        (
            viewport.0 / 2.0 + self.pan.0 + x,
            viewport.1 / 2.0 + self.pan.1 + y,
        )
    }

    /// The image point under a screen point (it may lie outside the image).
    pub fn screen_to_image(
        &self,
        p: (f64, f64),
        image: (f64, f64),
        viewport: (f64, f64),
    ) -> (f64, f64) {
        let offset = (
            p.0 - viewport.0 / 2.0 - self.pan.0,
            p.1 - viewport.1 / 2.0 - self.pan.1,
        );
        let (x, y) = self.linear().inverse().apply(offset);
        (image.0 / 2.0 + x, image.1 / 2.0 + y)
    }

    /// The image-space direction `(d_col, d_row)` of a screen-space
    /// direction (translation ignored), e.g. which way in the image the
    /// screen's right edge lies.
    pub fn screen_to_image_direction(&self, d: (f64, f64)) -> (f64, f64) {
        self.linear().inverse().apply(d)
    }

    /// The affine map from clip space (x right, y up, −1..1 across the
    /// viewport) to image pixel coordinates, for the renderer's shader.
    ///
    /// Layout: row-major `[a, b, c, d, e, f]` meaning
    /// `col = a·x + b·y + c` and `row = d·x + e·y + f`. Derivation: clip
    /// `(x, y)` is the screen point `((x+1)/2 · vw, (1−y)/2 · vh)`, so the
    /// screen offset from the viewport centre less the pan is
    /// `(x · vw/2 − pan.x, −y · vh/2 − pan.y)`; the image point is
    /// `image_centre + L⁻¹ · that`, with `L = F · R^k · S`.
    pub fn clip_to_image(&self, image: (f64, f64), viewport: (f64, f64)) -> [f32; 6] {
        let inv = self.linear().inverse();
        let m = inv.mul(Mat2::diag(viewport.0 / 2.0, -viewport.1 / 2.0)).0;
        let p = inv.apply(self.pan);
        [
            m[0][0] as f32,
            m[0][1] as f32,
            (image.0 / 2.0 - p.0) as f32,
            m[1][0] as f32,
            m[1][1] as f32,
            (image.1 / 2.0 - p.1) as f32,
        ]
    }
}

#[cfg(test)]
mod tests;
