//! Orientation markers: which way in the patient each screen edge faces,
//! in the direction letters of PS3.3 C.7.6.1.1.1 (L/R, A/P, H/F).

use super::{ImagePlane, Vec3};
use crate::viewport::ViewTransform;

/// Components smaller than this (of a unit vector) are noise, not
/// obliquity, and get no letter.
const LETTER_THRESHOLD: f64 = 1e-4;

/// The direction letters of a patient-space direction: one letter per
/// axis with a non-negligible component, largest component first, so an
/// oblique direction has two or three letters (`"LPH"`). Empty for a zero
/// vector.
pub fn direction_letters(v: Vec3) -> String {
    let Some(u) = v.normalise() else {
        return String::new();
    };
    let mut axes = [(u.x, 'L', 'R'), (u.y, 'P', 'A'), (u.z, 'H', 'F')];
    // Largest magnitude first; the sort is stable, so exact ties keep x, y, z order.
    axes.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    axes.iter()
        .filter(|(c, _, _)| c.abs() > LETTER_THRESHOLD)
        .map(|&(c, positive, negative)| if c > 0.0 { positive } else { negative })
        .collect()
}

/// Screen edges as directions on a y-down screen: left, top, right, bottom.
const EDGES: [(f64, f64); 4] = [(-1.0, 0.0), (0.0, -1.0), (1.0, 0.0), (0.0, 1.0)];

/// The letters to show at the left, top, right and bottom screen edges for
/// an image with the given plane seen through `view` (its rotation and
/// flips; zoom and pan do not matter).
pub fn orientation_labels(plane: &ImagePlane, view: &ViewTransform) -> [String; 4] {
    let (row_mm, col_mm) = plane.pixel_spacing;
    EDGES.map(|edge| {
        let (dc, dr) = view.screen_to_image_direction(edge);
        direction_letters(
            plane.row_direction * (dc * col_mm) + plane.column_direction * (dr * row_mm),
        )
    })
}

/// The same for a projection image that has only Patient Orientation
/// (0020,0020): the letters of its row direction (towards increasing
/// column) and column direction (towards increasing row), e.g. `("L", "F")`
/// for a chest PA. The opposite edges get the opposite letters.
pub fn orientation_labels_from_letters(
    row: &str,
    column: &str,
    view: &ViewTransform,
) -> [String; 4] {
    EDGES.map(|edge| {
        let (dc, dr) = view.screen_to_image_direction(edge);
        if dc.abs() >= dr.abs() {
            if dc > 0.0 {
                row.to_owned()
            } else {
                opposite(row)
            }
        } else if dr > 0.0 {
            column.to_owned()
        } else {
            opposite(column)
        }
    })
}

fn opposite(letters: &str) -> String {
    letters
        .chars()
        .map(|c| match c {
            'L' => 'R',
            'R' => 'L',
            'A' => 'P',
            'P' => 'A',
            'H' => 'F',
            'F' => 'H',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(row: Vec3, column: Vec3) -> ImagePlane {
        ImagePlane::new(Vec3::default(), row, column, (1.0, 1.0), 10, 10).unwrap()
    }

    const X: Vec3 = Vec3::new(1.0, 0.0, 0.0);
    const Y: Vec3 = Vec3::new(0.0, 1.0, 0.0);
    const Z: Vec3 = Vec3::new(0.0, 0.0, 1.0);

    #[test]
    fn letters_of_the_axes_and_obliques() {
        assert_eq!(direction_letters(X), "L");
        assert_eq!(direction_letters(-X), "R");
        assert_eq!(direction_letters(Y), "P");
        assert_eq!(direction_letters(-Y), "A");
        assert_eq!(direction_letters(Z), "H");
        assert_eq!(direction_letters(-Z), "F");
        // Mostly anterior, somewhat to the right, a little towards the feet.
        assert_eq!(direction_letters(Vec3::new(-0.5, -0.8, -0.1)), "ARF");
        // A 2° gantry tilt still shows, as a second letter.
        let tilt = 2.0_f64.to_radians();
        assert_eq!(
            direction_letters(Vec3::new(0.0, tilt.cos(), -tilt.sin())),
            "PF"
        );
        // Rounding noise in the file does not.
        assert_eq!(direction_letters(Vec3::new(1.0, 1e-7, -1e-9)), "L");
        assert_eq!(direction_letters(Vec3::default()), "");
    }

    #[test]
    fn standard_planes_unrotated() {
        let v = ViewTransform::default();
        // Axial [1,0,0,0,1,0]: patient's right on the reader's left, anterior up.
        assert_eq!(orientation_labels(&plane(X, Y), &v), ["R", "A", "L", "P"]);
        // Coronal [1,0,0,0,0,−1]: head up.
        assert_eq!(orientation_labels(&plane(X, -Z), &v), ["R", "H", "L", "F"]);
        // Sagittal [0,1,0,0,0,−1]: anterior on the left, head up.
        assert_eq!(orientation_labels(&plane(Y, -Z), &v), ["A", "H", "P", "F"]);
    }

    #[test]
    fn labels_follow_rotation_and_flips() {
        let axial = plane(X, Y);
        let mut v = ViewTransform::default();
        v.rotate_clockwise();
        // Turned clockwise, what was on top (A) is now on the right.
        assert_eq!(orientation_labels(&axial, &v), ["P", "R", "A", "L"]);
        let mut f = ViewTransform::default();
        f.flip_horizontal();
        assert_eq!(orientation_labels(&axial, &f), ["L", "A", "R", "P"]);
        f.flip_vertical();
        assert_eq!(orientation_labels(&axial, &f), ["L", "P", "R", "A"]);
        // Flip then turn: the turn acts on what is seen.
        let mut g = ViewTransform::default();
        g.flip_horizontal();
        g.rotate_clockwise();
        // Seen after the flip: L left, A top, R right, P bottom; turned
        // clockwise: P left, L top, A right, R bottom.
        assert_eq!(orientation_labels(&axial, &g), ["P", "L", "A", "R"]);
    }

    #[test]
    fn letters_from_patient_orientation() {
        // Chest PA: rows run to the patient's left, columns to the feet.
        let v = ViewTransform::default();
        assert_eq!(
            orientation_labels_from_letters("L", "F", &v),
            ["R", "H", "L", "F"]
        );
        let mut r = ViewTransform::default();
        r.rotate_clockwise();
        assert_eq!(
            orientation_labels_from_letters("L", "F", &r),
            ["F", "R", "H", "L"]
        );
        assert_eq!(orientation_labels_from_letters("LP", "FA", &v)[0], "RA");
    }
}
