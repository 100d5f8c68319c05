//! Measurements drawn on an image: angles and regions of interest with
//! their statistics.
//!
//! Shapes are in image coordinates (pixel `(c, r)` centred at
//! `(c + 0.5, r + 0.5)`). **A pixel belongs to a region when its centre
//! lies inside the shape or on its boundary**; the statistics are over
//! exactly those pixels. The reported area is the area of the shape as
//! drawn (not the pixel count), so it does not jitter as the shape moves
//! over the pixel grid; the pixel count is reported beside it.

use crate::calibration::{Calibration, Measurement};

/// The angle at `vertex` between the rays towards `a` and `b`, in degrees
/// (0..=180), with the points taken as given (square pixels; see
/// [`angle_degrees_calibrated`] otherwise). `None` when either arm has no
/// length.
pub fn angle_degrees(a: (f64, f64), vertex: (f64, f64), b: (f64, f64)) -> Option<f64> {
    let u = (a.0 - vertex.0, a.1 - vertex.1);
    let v = (b.0 - vertex.0, b.1 - vertex.1);
    let zero = |w: (f64, f64)| w.0 == 0.0 && w.1 == 0.0;
    if zero(u) || zero(v) {
        return None;
    }
    // atan2(|u×v|, u·v) stays accurate near 0° and 180°, unlike acos.
    let cross = u.0 * v.1 - u.1 * v.0;
    let dot = u.0 * v.0 + u.1 * v.1;
    let angle = cross.abs().atan2(dot).to_degrees();
    angle.is_finite().then_some(angle)
}

/// The angle in the patient's geometry: the points are first scaled by the
/// pixel spacing, so that non-square pixels do not bend it.
pub fn angle_degrees_calibrated(
    a: (f64, f64),
    vertex: (f64, f64),
    b: (f64, f64),
    calibration: &Calibration,
) -> Option<f64> {
    angle_degrees(
        calibration.to_physical(a),
        calibration.to_physical(vertex),
        calibration.to_physical(b),
    )
}

/// A region of interest, axis-aligned in image coordinates (pixel `(c, r)`
/// centred at `(c + 0.5, r + 0.5)`); a pixel is inside when its centre is
/// inside the shape or on its edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Roi {
    /// The rectangle with opposite corners `from` and `to` (any two).
    Rectangle { from: (f64, f64), to: (f64, f64) },
    /// The ellipse `((x − cx)/radius_x)² + ((y − cy)/radius_y)² ≤ 1`.
    Ellipse {
        center: (f64, f64),
        radius_x: f64,
        radius_y: f64,
    },
}

impl Roi {
    /// The ellipse inscribed in the rectangle spanned by a drag from `from`
    /// to `to`, as ellipse tools usually draw.
    pub fn ellipse_in(from: (f64, f64), to: (f64, f64)) -> Roi {
        Roi::Ellipse {
            center: ((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0),
            radius_x: (to.0 - from.0).abs() / 2.0,
            radius_y: (to.1 - from.1).abs() / 2.0,
        }
    }

    /// Whether an image point is inside or on the boundary.
    pub fn contains(&self, (x, y): (f64, f64)) -> bool {
        match *self {
            Roi::Rectangle { from, to } => {
                let (x0, x1) = (from.0.min(to.0), from.0.max(to.0));
                let (y0, y1) = (from.1.min(to.1), from.1.max(to.1));
                x >= x0 && x <= x1 && y >= y0 && y <= y1
            }
            Roi::Ellipse {
                center,
                radius_x,
                radius_y,
            } => {
                if radius_x <= 0.0 || radius_y <= 0.0 {
                    return x == center.0 && y == center.1;
                }
                let (dx, dy) = ((x - center.0) / radius_x, (y - center.1) / radius_y);
                dx * dx + dy * dy <= 1.0
            }
        }
    }

    /// The shape's own area in square pixels.
    pub fn area_px(&self) -> f64 {
        match *self {
            Roi::Rectangle { from, to } => (to.0 - from.0).abs() * (to.1 - from.1).abs(),
            Roi::Ellipse {
                radius_x, radius_y, ..
            } => std::f64::consts::PI * radius_x.abs() * radius_y.abs(),
        }
    }

    /// `(x0, y0, x1, y1)`: the shape's bounding box.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        match *self {
            Roi::Rectangle { from, to } => (
                from.0.min(to.0),
                from.1.min(to.1),
                from.0.max(to.0),
                from.1.max(to.1),
            ),
            Roi::Ellipse {
                center,
                radius_x,
                radius_y,
            } => {
                let (rx, ry) = (radius_x.abs(), radius_y.abs());
                (center.0 - rx, center.1 - ry, center.0 + rx, center.1 + ry)
            }
        }
    }
}

/// Statistics of the modality values inside a region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoiStats {
    /// Pixels whose centres are inside.
    pub count: usize,
    pub mean: f64,
    /// Population standard deviation (divided by `count`, not `count − 1`):
    /// the region is the whole population being described.
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    /// The shape's area, mm² when calibrated, else px².
    pub area: Measurement,
}

/// Statistics of `values` (modality values, row-major, `width × height`)
/// inside `roi`. `None` when no pixel centre is inside, the shape is not
/// finite, or `values` is not `width × height` long.
pub fn roi_stats(
    values: &[f32],
    width: usize,
    height: usize,
    roi: &Roi,
    calibration: &Calibration,
) -> Option<RoiStats> {
    if width.checked_mul(height)? != values.len() {
        return None;
    }
    let (x0, y0, x1, y1) = roi.bounds();
    if ![x0, y0, x1, y1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (Some(cols), Some(rows)) = (span(x0, x1, width), span(y0, y1, height)) else {
        return None;
    };

    // Welford's running mean and variance: stable for large regions.
    let mut count = 0usize;
    let (mut mean, mut m2) = (0.0_f64, 0.0_f64);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for r in rows.0..=rows.1 {
        let row = &values[r * width + cols.0..=r * width + cols.1];
        for (c, &value) in (cols.0..).zip(row) {
            if !roi.contains((c as f64 + 0.5, r as f64 + 0.5)) {
                continue;
            }
            let v = f64::from(value);
            count += 1;
            let delta = v - mean;
            mean += delta / count as f64;
            m2 += delta * (v - mean);
            min = min.min(v);
            max = max.max(v);
        }
    }
    (count > 0).then(|| RoiStats {
        count,
        mean,
        std_dev: (m2 / count as f64).max(0.0).sqrt(),
        min,
        max,
        area: calibration.area(roi.area_px()),
    })
}

/// The pixel indices `first..=last` whose centres `i + 0.5` lie within
/// `lo..=hi`, clamped to `0..n`; `None` when there are none.
fn span(lo: f64, hi: f64, n: usize) -> Option<(usize, usize)> {
    let first = (lo - 0.5).ceil().max(0.0);
    let last = (hi - 0.5).floor().min(n as f64 - 1.0);
    (n > 0 && first <= last).then_some((first as usize, last as usize))
}

#[cfg(test)]
mod tests;
