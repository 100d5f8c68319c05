use serde_json::{Value, json};

use super::*;

fn attrs(json: Value) -> Attributes {
    Attributes::new(json).unwrap()
}

fn ds(values: &[&str]) -> Value {
    json!({"vr": "DS", "Value": values})
}

#[test]
fn ct_pixel_spacing_is_in_the_patient() {
    let a = attrs(json!({"00280030": ds(&["0.5", "0.7"])}));
    let c = Calibration::from_attributes(&a, Some("CT"));
    assert_eq!(
        c,
        Calibration::Pixel {
            row_mm: 0.5,
            col_mm: 0.7,
            method: SpacingMethod::Patient
        }
    );
    assert_eq!(c.describe_key(), "calibration.patient");
    assert_eq!(
        Calibration::from_attributes(&attrs(json!({})), Some("CT")),
        Calibration::Uncalibrated
    );
}

#[test]
fn a_cr_whose_pixel_spacing_copies_the_detectors_is_at_the_detector() {
    // What the archive's CR samples carry: both spacings 0.139, no type.
    let a =
        attrs(json!({"00181164": ds(&["0.139", "0.139"]), "00280030": ds(&["0.139", "0.139"])}));
    let c = Calibration::from_attributes(&a, Some("CR"));
    assert_eq!(
        c,
        Calibration::ImagerPlane {
            row_mm: 0.139,
            col_mm: 0.139
        }
    );
    assert_eq!(c.describe_key(), "calibration.detector");
}

#[test]
fn imager_spacing_is_divided_by_the_estimated_magnification() {
    // 0.15 mm at the detector, magnification 1.2: 0.125 mm at the patient.
    let a = attrs(json!({"00181164": ds(&["0.15", "0.15"]), "00181114": ds(&["1.2"])}));
    let c = Calibration::from_attributes(&a, Some("DX"));
    let Calibration::MagnificationCorrected {
        row_mm,
        col_mm,
        factor,
    } = c
    else {
        panic!("expected a magnification-corrected calibration, got {c:?}");
    };
    assert!((row_mm - 0.125).abs() < 1e-12 && (col_mm - 0.125).abs() < 1e-12);
    assert_eq!(factor, 1.2);
    assert_eq!(c.describe_key(), "calibration.magnification");
    // A zero or negative factor is ignored.
    let bad = attrs(json!({"00181164": ds(&["0.15", "0.15"]), "00181114": ds(&["0"])}));
    assert_eq!(
        Calibration::from_attributes(&bad, None),
        Calibration::ImagerPlane {
            row_mm: 0.15,
            col_mm: 0.15
        }
    );
}

#[test]
fn calibrated_pixel_spacing_says_how() {
    let geometry = attrs(json!({
        "00181164": ds(&["0.15", "0.15"]),
        "00181114": ds(&["1.2"]),
        "00280030": ds(&["0.125", "0.125"]),
        "00280A02": {"vr": "CS", "Value": ["GEOMETRY"]}
    }));
    assert_eq!(
        Calibration::from_attributes(&geometry, Some("DX")),
        Calibration::Pixel {
            row_mm: 0.125,
            col_mm: 0.125,
            method: SpacingMethod::Geometry
        }
    );
    let fiducial = attrs(json!({
        "00280030": ds(&["0.1", "0.1"]),
        "00280A02": {"vr": "CS", "Value": ["fiducial"]}
    }));
    let c = Calibration::from_attributes(&fiducial, Some("CR"));
    assert_eq!(c.describe_key(), "calibration.fiducial");
    // Different from the detector's spacing, with no type: calibrated somehow.
    let unspecified =
        attrs(json!({"00181164": ds(&["0.15", "0.15"]), "00280030": ds(&["0.13", "0.13"])}));
    assert_eq!(
        Calibration::from_attributes(&unspecified, Some("DX")),
        Calibration::Pixel {
            row_mm: 0.13,
            col_mm: 0.13,
            method: SpacingMethod::Unspecified
        }
    );
    // A projection modality with Pixel Spacing only.
    let only = attrs(json!({"00280030": ds(&["0.2", "0.2"])}));
    assert_eq!(
        Calibration::from_attributes(&only, Some("MG")).describe_key(),
        "calibration.unspecified"
    );
}

#[test]
fn nothing_usable_is_uncalibrated() {
    for json in [
        json!({}),
        json!({"00280030": ds(&["0", "0.2"])}),
        json!({"00181164": ds(&["-1"])}),
    ] {
        let c = Calibration::from_attributes(&attrs(json), Some("DX"));
        assert_eq!(c, Calibration::Uncalibrated);
        assert_eq!(c.describe_key(), "calibration.uncalibrated");
        assert_eq!(c.spacing(), None);
    }
    // One value serves for both directions.
    let single = attrs(json!({"00280030": ds(&["0.4"])}));
    assert_eq!(
        Calibration::from_attributes(&single, Some("CT")).spacing(),
        Some((0.4, 0.4))
    );
}

#[test]
fn lengths_use_row_spacing_down_and_column_spacing_across() {
    // From (0,0) to (3,4): 3 columns of 1 mm and 4 rows of 2 mm → √(9 + 64).
    let c = Calibration::Pixel {
        row_mm: 2.0,
        col_mm: 1.0,
        method: SpacingMethod::Patient,
    };
    let m = c.length((0.0, 0.0), (3.0, 4.0));
    assert_eq!(m.unit, Unit::Mm);
    assert!((m.value - 73.0_f64.sqrt()).abs() < 1e-12);
    // Uncalibrated: the 3-4-5 triangle in pixels.
    assert_eq!(
        Calibration::Uncalibrated.length((10.5, 10.5), (13.5, 14.5)),
        Measurement {
            value: 5.0,
            unit: Unit::Px
        }
    );
    // Areas scale by both spacings.
    assert_eq!(
        c.area(3.0),
        Measurement {
            value: 6.0,
            unit: Unit::Mm2
        }
    );
}

#[test]
fn measurements_display_in_the_readers_language() {
    let m = Measurement {
        value: 52.345,
        unit: Unit::Mm,
    };
    assert_eq!(m.display(Lang::En, 1), "52.3 mm");
    assert_eq!(m.display(Lang::Ru, 1), "52.3 мм");
    let px = Measurement {
        value: 12.0,
        unit: Unit::Px2,
    };
    assert_eq!(px.display(Lang::En, 0), "12 px²");
}
