//! Reference lines: where another image's plane cuts the one on screen.

use super::{ImagePlane, Vec3};

/// The segment where `other` (as a finite rectangle: its pixel grid's outer
/// edges) crosses the plane of `shown`, in `shown`'s image coordinates and
/// clipped to `shown`'s image. `None` when the planes are parallel, when
/// `other` does not reach `shown`'s plane, or when the segment falls
/// outside `shown`'s image.
pub fn reference_line(shown: &ImagePlane, other: &ImagePlane) -> Option<((f64, f64), (f64, f64))> {
    if shown.is_parallel_to(other) {
        return None;
    }
    let (w, h) = (f64::from(other.columns), f64::from(other.rows));
    let corners = [
        other.pixel_to_patient(0.0, 0.0),
        other.pixel_to_patient(w, 0.0),
        other.pixel_to_patient(w, h),
        other.pixel_to_patient(0.0, h),
    ];
    let distances = corners.map(|c| shown.distance_along_normal(c));
    // Where each edge of the rectangle meets the plane.
    let mut hits: Vec<Vec3> = Vec::with_capacity(4);
    for i in 0..4 {
        let j = (i + 1) % 4;
        let (a, b) = (distances[i], distances[j]);
        if a == 0.0 {
            hits.push(corners[i]);
        } else if a * b < 0.0 {
            let t = a / (a - b);
            hits.push(corners[i] + (corners[j] - corners[i]) * t);
        }
    }
    // The two hits farthest apart (a corner on the plane can appear twice).
    let mut best: Option<(Vec3, Vec3, f64)> = None;
    for (i, &p) in hits.iter().enumerate() {
        for &q in &hits[i + 1..] {
            let d = (q - p).length();
            if best.is_none_or(|(_, _, longest)| d > longest) {
                best = Some((p, q, d));
            }
        }
    }
    let (p, q, length) = best?;
    if length <= 0.0 {
        return None;
    }
    clip_to_rect(
        shown.patient_to_pixel(p),
        shown.patient_to_pixel(q),
        (f64::from(shown.columns), f64::from(shown.rows)),
    )
}

/// Liang–Barsky clipping of a segment to `0..w × 0..h`.
fn clip_to_rect(
    a: (f64, f64),
    b: (f64, f64),
    (w, h): (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [(-dx, a.0), (dx, w - a.0), (-dy, a.1), (dy, h - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 < t1).then_some({
        (
            (a.0 + t0 * dx, a.1 + t0 * dy),
            (a.0 + t1 * dx, a.1 + t1 * dy),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: Vec3 = Vec3::new(1.0, 0.0, 0.0);
    const Y: Vec3 = Vec3::new(0.0, 1.0, 0.0);
    const Z: Vec3 = Vec3::new(0.0, 0.0, 1.0);

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9
    }

    /// An axial 100×100 image of 1 mm pixels whose grid spans x and y from
    /// 0 to 100 mm at height z (first pixel centre at (0.5, 0.5, z)).
    fn axial(z: f64) -> ImagePlane {
        ImagePlane::new(Vec3::new(0.5, 0.5, z), X, Y, (1.0, 1.0), 100, 100).unwrap()
    }

    /// A coronal image at y = `y`: columns along x (0..100 mm), rows down
    /// from z = 50 to z = −50 (2 mm rows).
    fn coronal(y: f64) -> ImagePlane {
        ImagePlane::new(Vec3::new(0.5, y, 49.0), X, -Z, (2.0, 1.0), 50, 100).unwrap()
    }

    #[test]
    fn a_coronal_plane_cuts_an_axial_image_in_a_horizontal_line() {
        // y = 30 mm is the image row coordinate 30 (row 0's top edge at y = 0).
        let (a, b) = reference_line(&axial(0.0), &coronal(30.0)).unwrap();
        let (left, right) = if a.0 < b.0 { (a, b) } else { (b, a) };
        assert!(close(left, (0.0, 30.0)), "{left:?}");
        assert!(close(right, (100.0, 30.0)), "{right:?}");
    }

    #[test]
    fn an_axial_plane_cuts_a_coronal_image_at_its_height() {
        // z = 10 mm on the coronal: rows start at z = 50 (top edge), 2 mm
        // each, so z = 10 is (50 − 10)/2 = 20 rows down.
        let (a, b) = reference_line(&coronal(30.0), &axial(10.0)).unwrap();
        let (left, right) = if a.0 < b.0 { (a, b) } else { (b, a) };
        assert!(close(left, (0.0, 20.0)), "{left:?}");
        assert!(close(right, (100.0, 20.0)), "{right:?}");
    }

    #[test]
    fn the_line_is_clipped_to_the_other_images_extent_and_the_shown_image() {
        // A narrow coronal image, x from 40 to 60 mm: only that part shows.
        let narrow =
            ImagePlane::new(Vec3::new(40.5, 30.0, 49.0), X, -Z, (2.0, 1.0), 50, 20).unwrap();
        let (a, b) = reference_line(&axial(0.0), &narrow).unwrap();
        let (left, right) = if a.0 < b.0 { (a, b) } else { (b, a) };
        assert!(
            close(left, (40.0, 30.0)) && close(right, (60.0, 30.0)),
            "{left:?} {right:?}"
        );
        // A wide one reaching beyond the shown image is cut at its edges.
        let wide =
            ImagePlane::new(Vec3::new(-99.5, 30.0, 49.0), X, -Z, (2.0, 1.0), 50, 400).unwrap();
        let (a, b) = reference_line(&axial(0.0), &wide).unwrap();
        let (left, right) = if a.0 < b.0 { (a, b) } else { (b, a) };
        assert!(
            close(left, (0.0, 30.0)) && close(right, (100.0, 30.0)),
            "{left:?} {right:?}"
        );
    }

    #[test]
    fn no_line_for_parallel_planes_or_planes_that_do_not_meet() {
        assert_eq!(reference_line(&axial(0.0), &axial(5.0)), None);
        assert_eq!(reference_line(&axial(0.0), &axial(0.0)), None);
        // The coronal image spans z −50..50; an axial image at z = 80 is above it.
        assert_eq!(reference_line(&axial(80.0), &coronal(30.0)), None);
        // Meets the plane, but outside the shown image (y = 150 mm).
        assert_eq!(reference_line(&axial(0.0), &coronal(150.0)), None);
    }

    #[test]
    fn an_oblique_plane_gives_a_diagonal() {
        // A vertical plane through the axial image's diagonal x = y, spanning
        // z −50..50 and wide enough to cross the whole image.
        let d = Vec3::new(1.0, 1.0, 0.0);
        let oblique =
            ImagePlane::new(Vec3::new(-50.0, -50.0, 50.0), d, -Z, (1.0, 1.0), 100, 300).unwrap();
        let (a, b) = reference_line(&axial(0.0), &oblique).unwrap();
        let (first, last) = if a.0 < b.0 { (a, b) } else { (b, a) };
        // The grid's first column edge is half a pixel before the position,
        // on the line x = y; clipped to the image it runs corner to corner.
        assert!(close(first, (0.0, 0.0)), "{first:?}");
        assert!(close(last, (100.0, 100.0)), "{last:?}");
    }
}
