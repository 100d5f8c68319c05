use super::*;
use crate::calibration::{SpacingMethod, Unit};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn spacing(mm: f64) -> Calibration {
    Calibration::Pixel {
        row_mm: mm,
        col_mm: mm,
        method: SpacingMethod::Patient,
    }
}

/// 4×4 image holding 0..15 row by row: value = 4·row + col.
fn ramp() -> Vec<f32> {
    (0..16).map(|v| v as f32).collect()
}

#[test]
fn angles_by_hand() {
    assert!(close(
        angle_degrees((1.0, 0.0), (0.0, 0.0), (0.0, 1.0)).unwrap(),
        90.0,
        1e-12
    ));
    assert!(close(
        angle_degrees((1.0, 0.0), (0.0, 0.0), (-3.0, 0.0)).unwrap(),
        180.0,
        1e-12
    ));
    assert!(close(
        angle_degrees((2.0, 0.0), (0.0, 0.0), (5.0, 0.0)).unwrap(),
        0.0,
        1e-12
    ));
    // Equilateral triangle: 60°.
    let b = (0.5, 3.0_f64.sqrt() / 2.0);
    assert!(close(
        angle_degrees((1.0, 0.0), (0.0, 0.0), b).unwrap(),
        60.0,
        1e-12
    ));
    // The order of the arms does not matter.
    assert_eq!(
        angle_degrees((1.0, 0.0), (0.0, 0.0), b),
        angle_degrees(b, (0.0, 0.0), (1.0, 0.0))
    );
    assert_eq!(angle_degrees((0.0, 0.0), (0.0, 0.0), (1.0, 1.0)), None);
}

#[test]
fn angles_respect_non_square_pixels() {
    // (1,0)–(0,0)–(1,1) is 45° in pixels; with rows 2 mm apart and columns
    // 1 mm the second arm is (1 mm, 2 mm): atan(2/1) = 63.4349…°.
    let c = Calibration::ImagerPlane {
        row_mm: 2.0,
        col_mm: 1.0,
    };
    assert!(close(
        angle_degrees((1.0, 0.0), (0.0, 0.0), (1.0, 1.0)).unwrap(),
        45.0,
        1e-12
    ));
    let physical = angle_degrees_calibrated((1.0, 0.0), (0.0, 0.0), (1.0, 1.0), &c).unwrap();
    assert!(close(physical, 2.0_f64.atan().to_degrees(), 1e-12));
}

#[test]
fn rectangle_statistics_by_hand() {
    // Corners (1,1)–(3,3) take the pixel centres at 1.5 and 2.5 in each
    // direction: values 5, 6, 9, 10. Mean 7.5; deviations ±2.5, ±1.5, so
    // the population variance is (6.25 + 2.25 + 2.25 + 6.25)/4 = 4.25.
    let s = roi_stats(
        &ramp(),
        4,
        4,
        &Roi::Rectangle {
            from: (3.0, 3.0),
            to: (1.0, 1.0),
        },
        &Calibration::Uncalibrated,
    )
    .unwrap();
    assert_eq!(s.count, 4);
    assert_eq!(s.mean, 7.5);
    assert!(close(s.std_dev, 4.25_f64.sqrt(), 1e-12));
    assert_eq!((s.min, s.max), (5.0, 10.0));
    assert_eq!(
        s.area,
        Measurement {
            value: 4.0,
            unit: Unit::Px2
        }
    );
    // With 0.5 mm pixels the same 2×2 square is 1 mm².
    let mm = roi_stats(
        &ramp(),
        4,
        4,
        &Roi::Rectangle {
            from: (1.0, 1.0),
            to: (3.0, 3.0),
        },
        &spacing(0.5),
    )
    .unwrap();
    assert_eq!(
        mm.area,
        Measurement {
            value: 1.0,
            unit: Unit::Mm2
        }
    );
}

#[test]
fn a_centre_on_the_boundary_is_inside() {
    // (0.5,0.5)–(1.5,1.5) passes exactly through four centres: 0, 1, 4, 5.
    let s = roi_stats(
        &ramp(),
        4,
        4,
        &Roi::Rectangle {
            from: (0.5, 0.5),
            to: (1.5, 1.5),
        },
        &Calibration::Uncalibrated,
    )
    .unwrap();
    assert_eq!((s.count, s.mean, s.min, s.max), (4, 2.5, 0.0, 5.0));
    // A degenerate rectangle on one centre holds that pixel only.
    let one = roi_stats(
        &ramp(),
        4,
        4,
        &Roi::Rectangle {
            from: (2.5, 1.5),
            to: (2.5, 1.5),
        },
        &Calibration::Uncalibrated,
    )
    .unwrap();
    assert_eq!((one.count, one.mean, one.std_dev), (1, 6.0, 0.0));
}

#[test]
fn regions_are_clipped_to_the_image() {
    let corner = roi_stats(
        &ramp(),
        4,
        4,
        &Roi::Rectangle {
            from: (-5.0, -5.0),
            to: (1.0, 1.0),
        },
        &Calibration::Uncalibrated,
    )
    .unwrap();
    assert_eq!((corner.count, corner.mean), (1, 0.0));
    let beyond = Roi::Rectangle {
        from: (3.6, 0.0),
        to: (9.0, 9.0),
    };
    assert_eq!(
        roi_stats(&ramp(), 4, 4, &beyond, &Calibration::Uncalibrated),
        None
    );
    let between = Roi::Rectangle {
        from: (1.6, 1.6),
        to: (2.4, 2.4),
    };
    assert_eq!(
        roi_stats(&ramp(), 4, 4, &between, &Calibration::Uncalibrated),
        None
    );
    let nan = Roi::Ellipse {
        center: (f64::NAN, 1.0),
        radius_x: 1.0,
        radius_y: 1.0,
    };
    assert_eq!(
        roi_stats(&ramp(), 4, 4, &nan, &Calibration::Uncalibrated),
        None
    );
    assert_eq!(
        roi_stats(&ramp()[..15], 4, 4, &between, &Calibration::Uncalibrated),
        None
    );
}

/// 21×21 pixels of air (−1000 HU) with a water-like disc of 60 HU: the
/// pixels whose centres are within 8 px of the image centre (10.5, 10.5),
/// i.e. whose offsets (i, j) from pixel 10 satisfy i² + j² ≤ 64.
fn disc() -> Vec<f32> {
    let mut v = vec![-1000.0_f32; 21 * 21];
    for r in 0..21_i32 {
        for c in 0..21_i32 {
            if (r - 10).pow(2) + (c - 10).pow(2) <= 64 {
                v[(r * 21 + c) as usize] = 60.0;
            }
        }
    }
    v
}

#[test]
fn an_ellipse_inside_a_known_hu_disc() {
    // Radius 5 about the centre: the lattice points with i² + j² ≤ 25,
    // which number 81 (Gauss's circle problem, N(5) = 81), all at 60 HU.
    let roi = Roi::Ellipse {
        center: (10.5, 10.5),
        radius_x: 5.0,
        radius_y: 5.0,
    };
    let s = roi_stats(&disc(), 21, 21, &roi, &spacing(0.5)).unwrap();
    assert_eq!(s.count, 81);
    assert_eq!((s.mean, s.std_dev, s.min, s.max), (60.0, 0.0, 60.0, 60.0));
    // Area π · 5² px² at 0.25 mm² per pixel.
    assert!(close(
        s.area.value,
        std::f64::consts::PI * 25.0 * 0.25,
        1e-12
    ));
    assert_eq!(s.area.unit, Unit::Mm2);
    // The disc itself: N(8) = 197 pixels.
    let whole = roi_stats(
        &disc(),
        21,
        21,
        &Roi::Ellipse {
            center: (10.5, 10.5),
            radius_x: 8.0,
            radius_y: 8.0,
        },
        &spacing(0.5),
    )
    .unwrap();
    assert_eq!((whole.count, whole.mean), (197, 60.0));
}

#[test]
fn an_ellipse_straddling_the_disc_edge() {
    // Radius 9: N(9) = 253 pixels, 197 at 60 HU and 56 at −1000 HU.
    // Mean = (197·60 − 56·1000)/253. For a two-valued population with
    // fractions p, q the standard deviation is √(pq)·|a − b|.
    let roi = Roi::Ellipse {
        center: (10.5, 10.5),
        radius_x: 9.0,
        radius_y: 9.0,
    };
    let s = roi_stats(&disc(), 21, 21, &roi, &Calibration::Uncalibrated).unwrap();
    assert_eq!(s.count, 253);
    assert!(close(s.mean, (197.0 * 60.0 - 56.0 * 1000.0) / 253.0, 1e-9));
    let (p, q): (f64, f64) = (197.0 / 253.0, 56.0 / 253.0);
    assert!(close(s.std_dev, (p * q).sqrt() * 1060.0, 1e-9));
    assert_eq!((s.min, s.max), (-1000.0, 60.0));
}

#[test]
fn an_elongated_ellipse_counts_by_its_own_equation() {
    // 5×5 ramp, value = 5·row + col. Radii 2 (x) and 1 (y) about pixel
    // (2, 2)'s centre: the offsets with (i/2)² + j² ≤ 1 are i ∈ −2..=2 at
    // j = 0 (values 10..=14) and i = 0 at j = ±1 (7 and 17). Seven pixels
    // summing to 60 + 24 = 84: mean 12.
    let roi = Roi::ellipse_in((0.5, 1.5), (4.5, 3.5));
    let v: Vec<f32> = (0..25).map(|x| x as f32).collect();
    let s = roi_stats(&v, 5, 5, &roi, &Calibration::Uncalibrated).unwrap();
    assert_eq!(
        roi,
        Roi::Ellipse {
            center: (2.5, 2.5),
            radius_x: 2.0,
            radius_y: 1.0
        }
    );
    assert_eq!(s.count, 7);
    assert_eq!((s.mean, s.min, s.max), (12.0, 7.0, 17.0));
}

#[test]
fn statistics_stay_exact_far_from_zero() {
    // Half the values 1e6, half 1e6 + 1: mean 1e6 + 0.5, deviation 0.5.
    let v: Vec<f32> = (0..16).map(|i| 1.0e6 + (i % 2) as f32).collect();
    let s = roi_stats(
        &v,
        4,
        4,
        &Roi::Rectangle {
            from: (0.0, 0.0),
            to: (4.0, 4.0),
        },
        &Calibration::Uncalibrated,
    )
    .unwrap();
    assert_eq!(s.mean, 1.0e6 + 0.5);
    assert!(close(s.std_dev, 0.5, 1e-12));
}
