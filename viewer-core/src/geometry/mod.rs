//! Where images lie in the patient: planes from Image Position/Orientation
//! (Patient) and Pixel Spacing, stack order, slice spacing, orientation
//! letters and reference lines.
//!
//! Patient coordinates are LPS millimetres; image coordinates follow the
//! crate's convention (pixel `(c, r)` centred at `(c + 0.5, r + 0.5)`), so
//! Image Position (Patient), the centre of the first pixel, is the image
//! point `(0.5, 0.5)`.

mod orientation;
mod reference;
mod vec3;

pub use orientation::{direction_letters, orientation_labels, orientation_labels_from_letters};
pub use reference::reference_line;
pub use vec3::Vec3;

/// Cosine above which two normals count as parallel (about 0.8°).
const PARALLEL_COSINE: f64 = 0.9999;

/// One image's plane in the patient.
///
/// Invariant when built by [`ImagePlane::new`]: the two directions are unit
/// vectors and not parallel, the spacings are positive and finite. The
/// methods stay correct for directions that are not exactly orthogonal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImagePlane {
    /// Image Position (Patient): the centre of the first transmitted pixel.
    pub position: Vec3,
    /// Direction of increasing column index along a row (IOP values 1–3).
    pub row_direction: Vec3,
    /// Direction of increasing row index down a column (IOP values 4–6).
    pub column_direction: Vec3,
    /// Pixel Spacing as stored: `(row_mm, col_mm)` = (distance between the
    /// centres of adjacent rows, distance between adjacent columns).
    pub pixel_spacing: (f64, f64),
    pub rows: u32,
    pub columns: u32,
}

impl ImagePlane {
    /// Checks and normalises the geometry; `None` if a direction is zero,
    /// the directions are parallel, a spacing is not positive or anything
    /// is not finite.
    pub fn new(
        position: Vec3,
        row_direction: Vec3,
        column_direction: Vec3,
        pixel_spacing: (f64, f64),
        rows: u32,
        columns: u32,
    ) -> Option<ImagePlane> {
        let row_direction = row_direction.normalise()?;
        let column_direction = column_direction.normalise()?;
        let spacing_ok = |s: f64| s.is_finite() && s > 0.0;
        let valid = position.is_finite()
            && row_direction.cross(column_direction).length() > 1e-6
            && spacing_ok(pixel_spacing.0)
            && spacing_ok(pixel_spacing.1);
        valid.then_some(ImagePlane {
            position,
            row_direction,
            column_direction,
            pixel_spacing,
            rows,
            columns,
        })
    }

    /// The unit normal `row_direction × column_direction` (the direction in
    /// which a stack advances when sorted ascending); zero for a degenerate
    /// hand-built plane.
    pub fn normal(&self) -> Vec3 {
        self.row_direction
            .cross(self.column_direction)
            .normalise()
            .unwrap_or_default()
    }

    /// The patient point at image coordinates `(col, row)`.
    pub fn pixel_to_patient(&self, col: f64, row: f64) -> Vec3 {
        let (row_mm, col_mm) = self.pixel_spacing;
        self.position
            + self.row_direction * ((col - 0.5) * col_mm)
            + self.column_direction * ((row - 0.5) * row_mm)
    }

    /// The image coordinates `(col, row)` of a patient point projected
    /// perpendicularly onto the plane (the inverse of
    /// [`ImagePlane::pixel_to_patient`] for points on the plane).
    pub fn patient_to_pixel(&self, p: Vec3) -> (f64, f64) {
        let (row_mm, col_mm) = self.pixel_spacing;
        let u = self.row_direction * col_mm;
        let v = self.column_direction * row_mm;
        let d = p - self.position;
        // Least squares d ≈ a·u + b·v: the 2×2 normal equations.
        let (uu, uv, vv) = (u.dot(u), u.dot(v), v.dot(v));
        let (du, dv) = (d.dot(u), d.dot(v));
        let det = uu * vv - uv * uv;
        if det.abs() < f64::EPSILON {
            return (f64::NAN, f64::NAN);
        }
        let a = (du * vv - dv * uv) / det;
        let b = (dv * uu - du * uv) / det;
        (a + 0.5, b + 0.5)
    }

    /// Signed distance of a patient point from the plane, along the normal.
    pub fn distance_along_normal(&self, p: Vec3) -> f64 {
        (p - self.position).dot(self.normal())
    }

    /// Whether two planes are parallel (normals within about 0.8°).
    pub fn is_parallel_to(&self, other: &ImagePlane) -> bool {
        self.normal().dot(other.normal()).abs() > PARALLEL_COSINE
    }
}

/// The order in which to show a stack: indices into `planes`, ascending
/// along the first plane's normal (for axial images with the usual
/// orientation, feet to head). Input order does not matter; equal positions
/// keep their input order.
pub fn sort_stack(planes: &[ImagePlane]) -> Vec<usize> {
    let Some(first) = planes.first() else {
        return Vec::new();
    };
    let n = first.normal();
    let keys: Vec<f64> = planes.iter().map(|p| p.position.dot(n)).collect();
    let mut order: Vec<usize> = (0..planes.len()).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    order
}

/// The order by Instance Number alone: ascending, images without a number
/// last, ties in input order.
pub fn sort_by_instance_number(instance_numbers: &[Option<i64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..instance_numbers.len()).collect();
    order.sort_by_key(|&i| (instance_numbers[i].is_none(), instance_numbers[i]));
    order
}

/// The order for a series whose images may lack geometry: by position along
/// the normal when every image has a plane and all are parallel, turned
/// round if that puts the highest Instance Number first (so playback keeps
/// the acquisition's direction); otherwise by Instance Number. `planes` and
/// `instance_numbers` are per image, in the same order.
pub fn sort_stack_with_instances(
    planes: &[Option<ImagePlane>],
    instance_numbers: &[Option<i64>],
) -> Vec<usize> {
    let geometry: Option<Vec<ImagePlane>> = planes.iter().copied().collect();
    let usable = geometry
        .as_ref()
        .filter(|g| !g.is_empty() && g.iter().all(|p| p.is_parallel_to(&g[0])));
    let Some(geometry) = usable else {
        let padded: Vec<Option<i64>> = (0..planes.len().max(instance_numbers.len()))
            .map(|i| instance_numbers.get(i).copied().flatten())
            .collect();
        return sort_by_instance_number(&padded);
    };
    let mut order = sort_stack(geometry);
    let number = |i: usize| instance_numbers.get(i).copied().flatten();
    let ends = (
        order.first().copied().and_then(number),
        order.last().copied().and_then(number),
    );
    if let (Some(a), Some(b)) = ends
        && a > b
    {
        order.reverse();
    }
    order
}

/// Absolute tolerance for uniform spacing, in millimetres.
pub const SPACING_TOLERANCE_MM: f64 = 0.01;
/// Relative tolerance for uniform spacing, as a fraction of the spacing.
pub const SPACING_TOLERANCE_RELATIVE: f64 = 0.01;

/// The distance between consecutive slices of a sorted stack, when it is
/// uniform: every gap along the first plane's normal is within
/// `max(0.01 mm, 1 %)` of their mean, all gaps go the same way, and all
/// planes are parallel. `None` for fewer than two planes, coincident
/// slices, gaps that vary (a missing slice) or tilted planes: a volume
/// built from such a stack would be distorted.
pub fn slice_spacing(sorted: &[ImagePlane]) -> Option<f64> {
    let first = sorted.first()?;
    if sorted.len() < 2 || !sorted.iter().all(|p| p.is_parallel_to(first)) {
        return None;
    }
    let n = first.normal();
    let gaps: Vec<f64> = sorted
        .windows(2)
        .map(|w| (w[1].position - w[0].position).dot(n))
        .collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let tolerance = SPACING_TOLERANCE_MM.max(mean.abs() * SPACING_TOLERANCE_RELATIVE);
    let uniform = gaps
        .iter()
        .all(|g| (g - mean).abs() <= tolerance && g.signum() == mean.signum());
    (uniform && mean.abs() > SPACING_TOLERANCE_MM).then_some(mean.abs())
}

#[cfg(test)]
mod tests;
