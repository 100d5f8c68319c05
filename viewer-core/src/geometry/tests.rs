use super::*;

const X: Vec3 = Vec3::new(1.0, 0.0, 0.0);
const Y: Vec3 = Vec3::new(0.0, 1.0, 0.0);
const Z: Vec3 = Vec3::new(0.0, 0.0, 1.0);

fn axial_at(z: f64) -> ImagePlane {
    ImagePlane::new(Vec3::new(-100.0, -120.0, z), X, Y, (0.8, 0.7), 256, 300).unwrap()
}

#[test]
fn new_normalises_and_refuses_degenerate_geometry() {
    let p = ImagePlane::new(Vec3::default(), X * 2.0, Y * 3.0, (1.0, 1.0), 1, 1).unwrap();
    assert_eq!((p.row_direction, p.column_direction), (X, Y));
    assert!(ImagePlane::new(Vec3::default(), X, X, (1.0, 1.0), 1, 1).is_none());
    assert!(ImagePlane::new(Vec3::default(), X, Vec3::default(), (1.0, 1.0), 1, 1).is_none());
    assert!(ImagePlane::new(Vec3::default(), X, Y, (0.0, 1.0), 1, 1).is_none());
    assert!(ImagePlane::new(Vec3::new(f64::NAN, 0.0, 0.0), X, Y, (1.0, 1.0), 1, 1).is_none());
}

#[test]
fn pixel_to_patient_uses_row_spacing_down_and_column_spacing_across() {
    // Position is the first pixel's centre, image point (0.5, 0.5).
    let p = axial_at(12.0);
    assert_eq!(
        p.pixel_to_patient(0.5, 0.5),
        Vec3::new(-100.0, -120.0, 12.0)
    );
    // Ten columns right (0.7 mm each) and four rows down (0.8 mm each).
    let q = p.pixel_to_patient(10.5, 4.5);
    assert!((q - Vec3::new(-93.0, -116.8, 12.0)).length() < 1e-12);
    // The grid's outer corner is half a pixel before the first centre.
    let c = p.pixel_to_patient(0.0, 0.0);
    assert!((c - Vec3::new(-100.35, -120.4, 12.0)).length() < 1e-12);
}

#[test]
fn patient_to_pixel_inverts_and_projects() {
    let tilt = 15.0_f64.to_radians();
    let oblique = ImagePlane::new(
        Vec3::new(3.0, -4.0, 5.0),
        Vec3::new(tilt.cos(), 0.0, tilt.sin()),
        Y,
        (0.5, 1.25),
        100,
        100,
    )
    .unwrap();
    for (c, r) in [(0.5, 0.5), (17.25, 80.0), (-3.0, 120.5)] {
        let p = oblique.pixel_to_patient(c, r);
        let (c2, r2) = oblique.patient_to_pixel(p);
        assert!((c2 - c).abs() < 1e-9 && (r2 - r).abs() < 1e-9);
        // A point off the plane projects onto the same pixel.
        let (c3, r3) = oblique.patient_to_pixel(p + oblique.normal() * 7.0);
        assert!((c3 - c).abs() < 1e-9 && (r3 - r).abs() < 1e-9);
        assert!((oblique.distance_along_normal(p + oblique.normal() * 7.0) - 7.0).abs() < 1e-9);
    }
}

#[test]
fn normal_is_row_cross_column() {
    assert_eq!(axial_at(0.0).normal(), Z);
    // Coronal [1,0,0,0,0,−1]: X × (−Z) = Y.
    let coronal = ImagePlane::new(Vec3::default(), X, -Z, (1.0, 1.0), 1, 1).unwrap();
    assert_eq!(coronal.normal(), Y);
    assert_eq!(
        axial_at(5.0).distance_along_normal(Vec3::new(0.0, 0.0, 2.0)),
        -3.0
    );
}

#[test]
fn sort_stack_orders_shuffled_slices_along_the_normal() {
    let zs = [10.0, -5.0, 2.5, 0.0, 7.5];
    let planes: Vec<_> = zs.iter().map(|&z| axial_at(z)).collect();
    // Ascending z: −5 (1), 0 (3), 2.5 (2), 7.5 (4), 10 (0).
    assert_eq!(sort_stack(&planes), [1, 3, 2, 4, 0]);
    assert!(sort_stack(&[]).is_empty());
}

#[test]
fn sort_stack_follows_an_oblique_normal_not_z() {
    // Planes tilted 30° about x: the normal is (0, −sin 30°, cos 30°).
    let t = 30.0_f64.to_radians();
    let col = Vec3::new(0.0, t.cos(), t.sin());
    let n = X.cross(col);
    let planes: Vec<_> = [2.0, 0.0, 1.0]
        .iter()
        .map(|&k| ImagePlane::new(n * (5.0 * k) + Y * 40.0, X, col, (1.0, 1.0), 8, 8).unwrap())
        .collect();
    assert_eq!(sort_stack(&planes), [1, 2, 0]);
}

#[test]
fn instance_numbers_order_images_without_geometry() {
    assert_eq!(
        sort_by_instance_number(&[Some(3), None, Some(1), Some(2), None]),
        [2, 3, 0, 1, 4]
    );
    // One image without a plane: the whole series falls back.
    let planes = vec![Some(axial_at(0.0)), None, Some(axial_at(5.0))];
    assert_eq!(
        sort_stack_with_instances(&planes, &[Some(2), Some(3), Some(1)]),
        [2, 0, 1]
    );
}

#[test]
fn geometry_decides_order_and_instance_numbers_the_direction() {
    // Acquired head to feet: instance 1 is the highest slice.
    let planes: Vec<_> = [20.0, 10.0, 0.0, 30.0]
        .iter()
        .map(|&z| Some(axial_at(z)))
        .collect();
    let numbers = [Some(2), Some(3), Some(4), Some(1)];
    // Along the normal: 0 (2), 10 (1), 20 (0), 30 (3); turned so instance 1 leads.
    assert_eq!(sort_stack_with_instances(&planes, &numbers), [3, 0, 1, 2]);
    // Instance numbers that disagree with geometry do not reorder it.
    let scrambled = [Some(1), Some(4), Some(2), Some(3)];
    assert_eq!(sort_stack_with_instances(&planes, &scrambled), [2, 1, 0, 3]);
    // Without numbers: ascending along the normal.
    assert_eq!(sort_stack_with_instances(&planes, &[]), [2, 1, 0, 3]);
}

#[test]
fn slice_spacing_is_reported_only_when_uniform() {
    let sorted: Vec<_> = [0.0, 2.5, 5.0, 7.5].iter().map(|&z| axial_at(z)).collect();
    assert_eq!(slice_spacing(&sorted), Some(2.5));
    // Descending order is as uniform.
    let down: Vec<_> = sorted.iter().rev().copied().collect();
    assert_eq!(slice_spacing(&down), Some(2.5));
    // DS rounding jitter of 0.005 mm is tolerated.
    let jitter: Vec<_> = [0.0, 2.505, 5.0, 7.5]
        .iter()
        .map(|&z| axial_at(z))
        .collect();
    assert!((slice_spacing(&jitter).unwrap() - 2.5).abs() < 1e-9);
    // A missing slice is not.
    let gap: Vec<_> = [0.0, 2.5, 7.5, 10.0].iter().map(|&z| axial_at(z)).collect();
    assert_eq!(slice_spacing(&gap), None);
    // Unsorted, coincident, single.
    let unsorted: Vec<_> = [0.0, 5.0, 2.5].iter().map(|&z| axial_at(z)).collect();
    assert_eq!(slice_spacing(&unsorted), None);
    assert_eq!(slice_spacing(&[axial_at(1.0), axial_at(1.0)]), None);
    assert_eq!(slice_spacing(&[axial_at(1.0)]), None);
    // A tilted plane in the stack.
    let tilted = ImagePlane::new(
        Vec3::new(0.0, 0.0, 5.0),
        X,
        Vec3::new(0.0, 1.0, 0.2),
        (1.0, 1.0),
        1,
        1,
    )
    .unwrap();
    assert_eq!(slice_spacing(&[axial_at(0.0), axial_at(2.5), tilted]), None);
}
