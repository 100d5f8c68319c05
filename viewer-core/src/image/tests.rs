use serde_json::{Value, json};

use super::*;
use crate::calibration::SpacingMethod;
use crate::voi::default_window;

/// A CT slice's metadata as the archive's WADO-RS metadata carries it.
fn ct_json() -> Value {
    json!({
        "0020000D": {"vr": "UI", "Value": ["1.2.826.0.1.1"]},
        "0020000E": {"vr": "UI", "Value": ["1.2.826.0.1.1.2"]},
        "00080018": {"vr": "UI", "Value": ["1.2.826.0.1.1.2.3"]},
        "00080060": {"vr": "CS", "Value": ["CT"]},
        "00200013": {"vr": "IS", "Value": [12]},
        "00280002": {"vr": "US", "Value": [1]},
        "00280004": {"vr": "CS", "Value": ["MONOCHROME2"]},
        "00280010": {"vr": "US", "Value": [512]},
        "00280011": {"vr": "US", "Value": [512]},
        "00280100": {"vr": "US", "Value": [16]},
        "00280101": {"vr": "US", "Value": [12]},
        "00280102": {"vr": "US", "Value": [11]},
        "00280103": {"vr": "US", "Value": [0]},
        "00281052": {"vr": "DS", "Value": ["-1024"]},
        "00281053": {"vr": "DS", "Value": ["1"]},
        "00281050": {"vr": "DS", "Value": ["40", "-600"]},
        "00281051": {"vr": "DS", "Value": ["400", "1500"]},
        "00281055": {"vr": "LO", "Value": ["SOFT TISSUE", "LUNG"]},
        "00200032": {"vr": "DS", "Value": ["-180", "-200.5", "-35.25"]},
        "00200037": {"vr": "DS", "Value": ["1", "0", "0", "0", "1", "0"]},
        "00280030": {"vr": "DS", "Value": ["0.703125", "0.703125"]},
        "00180050": {"vr": "DS", "Value": ["1.25"]},
        "00083002": {"vr": "UI", "Value": ["1.2.840.10008.1.2.4.80"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Oʻrinboyeva^Dilnoza"}]},
        "00100020": {"vr": "LO", "Value": ["UZ-0042"]},
        "00100030": {"vr": "DA", "Value": ["19870605"]},
        "00100040": {"vr": "CS", "Value": ["F"]},
        "00080020": {"vr": "DA", "Value": ["20240131"]},
        "00081030": {"vr": "LO", "Value": ["КТ органов грудной клетки"]},
        "00200011": {"vr": "IS", "Value": ["2"]},
        "00080080": {"vr": "LO", "Value": ["Tuman shifoxonasi"]}
    })
}

fn info(json: Value) -> Result<ImageInfo, InfoError> {
    ImageInfo::from_attributes(&Attributes::new(json).unwrap())
}

fn with(mut base: Value, key: &str, element: Value) -> Value {
    base[key] = element;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

#[test]
fn a_ct_slice_reads_completely() {
    let i = info(ct_json()).unwrap();
    assert_eq!(i.sop_instance_uid, "1.2.826.0.1.1.2.3");
    assert_eq!(i.modality.as_deref(), Some("CT"));
    assert_eq!(i.instance_number, Some(12));
    assert_eq!((i.rows, i.columns, i.number_of_frames), (512, 512, 1));
    assert_eq!(
        (
            i.bits_allocated,
            i.bits_stored,
            i.high_bit,
            i.pixel_representation
        ),
        (16, 12, 11, 0)
    );
    assert_eq!(i.photometric, Photometric::Monochrome2);
    assert_eq!((i.rescale_slope, i.rescale_intercept), (1.0, -1024.0));
    assert_eq!(i.windows.len(), 2);
    assert_eq!((i.windows[1].center, i.windows[1].width), (-600.0, 1500.0));
    assert_eq!(i.windows[1].explanation.as_deref(), Some("LUNG"));
    let plane = i.plane.unwrap();
    assert_eq!(plane.position, Vec3::new(-180.0, -200.5, -35.25));
    assert_eq!(plane.pixel_spacing, (0.703125, 0.703125));
    assert_eq!(
        i.calibration,
        Calibration::Pixel {
            row_mm: 0.703125,
            col_mm: 0.703125,
            method: SpacingMethod::Patient
        }
    );
    assert_eq!(i.slice_thickness, Some(1.25));
    assert_eq!(
        i.available_transfer_syntax.as_deref(),
        Some("1.2.840.10008.1.2.4.80")
    );
    assert_eq!(i.patient_name.as_deref(), Some("Oʻrinboyeva Dilnoza"));
    assert_eq!(
        i.study_description.as_deref(),
        Some("КТ органов грудной клетки")
    );
    assert_eq!(i.series_number, Some(2));
    assert!(i.is_monochrome() && !i.is_rgb() && !i.displays_inverted() && i.is_hounsfield());
}

#[test]
fn stored_and_modality_ranges() {
    let i = info(ct_json()).unwrap();
    // 12 bits unsigned: 0..4095, i.e. −1024..3071 HU.
    assert_eq!(i.stored_range(), (0, 4095));
    assert_eq!(i.to_modality(0.0), -1024.0);
    let signed = info(with(
        ct_json(),
        "00280103",
        json!({"vr": "US", "Value": [1]}),
    ))
    .unwrap();
    assert_eq!(signed.stored_range(), (-2048, 2047));
}

#[test]
fn missing_essentials_are_reported_by_name() {
    assert_eq!(
        info(without(ct_json(), "00280010")),
        Err(InfoError::Missing {
            name: "number of rows",
            tag: tags::ROWS
        })
    );
    assert_eq!(
        info(without(ct_json(), "00080018")),
        Err(InfoError::Missing {
            name: "SOP instance UID",
            tag: tags::SOP_INSTANCE_UID
        })
    );
    let err = info(with(
        ct_json(),
        "00280101",
        json!({"vr": "US", "Value": [17]}),
    ))
    .unwrap_err();
    assert!(matches!(
        err,
        InfoError::Invalid {
            tag: tags::BITS_STORED,
            ..
        }
    ));
    assert!(err.to_string().contains("bits stored"));
    let zero_frames = info(with(
        ct_json(),
        "00280008",
        json!({"vr": "IS", "Value": ["0"]}),
    ));
    assert!(matches!(
        zero_frames,
        Err(InfoError::Invalid {
            tag: tags::NUMBER_OF_FRAMES,
            ..
        })
    ));
    let no_bits = info(without(ct_json(), "00280100"));
    assert!(matches!(
        no_bits,
        Err(InfoError::Missing {
            tag: tags::BITS_ALLOCATED,
            ..
        })
    ));
}

#[test]
fn defaults_follow_the_standard() {
    let bare = json!({
        "0020000D": {"vr": "UI", "Value": ["1.2"]},
        "0020000E": {"vr": "UI", "Value": ["1.2.3"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
        "00280010": {"vr": "US", "Value": [8]},
        "00280011": {"vr": "US", "Value": [4]},
        "00280100": {"vr": "US", "Value": [8]},
        "00281053": {"vr": "DS", "Value": ["0"]}
    });
    let i = info(bare).unwrap();
    assert_eq!(
        (
            i.samples_per_pixel,
            i.bits_stored,
            i.high_bit,
            i.number_of_frames
        ),
        (1, 8, 7, 1)
    );
    assert_eq!(i.photometric, Photometric::Monochrome2);
    // A zero slope would flatten the image: read as 1.
    assert_eq!((i.rescale_slope, i.rescale_intercept), (1.0, 0.0));
    assert!(i.windows.is_empty() && i.plane.is_none());
    assert_eq!(i.calibration, Calibration::Uncalibrated);
}

#[test]
fn windows_pair_with_their_function_and_drop_invalid_widths() {
    let json = with(
        with(
            ct_json(),
            "00281051",
            json!({"vr": "DS", "Value": ["0.5", "1500"]}),
        ),
        "00281056",
        json!({"vr": "CS", "Value": ["LINEAR"]}),
    );
    let i = info(json).unwrap();
    // Width 0.5 is not allowed for LINEAR: only the lung window remains.
    assert_eq!(i.windows.len(), 1);
    assert_eq!(i.windows[0].explanation.as_deref(), Some("LUNG"));
    let sigmoid = info(with(
        ct_json(),
        "00281056",
        json!({"vr": "CS", "Value": ["SIGMOID"]}),
    ))
    .unwrap();
    assert!(
        sigmoid
            .windows
            .iter()
            .all(|w| w.function == VoiFunction::Sigmoid)
    );
}

#[test]
fn monochrome1_and_inverse_presentation_cancel() {
    let m1 = with(
        ct_json(),
        "00280004",
        json!({"vr": "CS", "Value": ["MONOCHROME1"]}),
    );
    assert!(info(m1.clone()).unwrap().displays_inverted());
    let both = with(m1, "20500020", json!({"vr": "CS", "Value": ["INVERSE"]}));
    assert!(!info(both).unwrap().displays_inverted());
    let rgb = with(
        with(
            ct_json(),
            "00280004",
            json!({"vr": "CS", "Value": ["YBR_FULL_422"]}),
        ),
        "00280002",
        json!({"vr": "US", "Value": [3]}),
    );
    let i = info(rgb).unwrap();
    assert!(i.is_rgb());
    assert_eq!(i.photometric.as_str(), "YBR_FULL_422");
    assert_eq!(
        Photometric::parse("ybr_rct"),
        Photometric::Other("YBR_RCT".into())
    );
}

#[test]
fn projection_images_have_patient_orientation_instead_of_a_plane() {
    let cr = with(
        with(
            without(without(ct_json(), "00200032"), "00200037"),
            "00200020",
            json!({"vr": "CS", "Value": ["L", "F"]}),
        ),
        "00080060",
        json!({"vr": "CS", "Value": ["CR"]}),
    );
    let i = info(cr).unwrap();
    assert!(i.plane.is_none());
    assert_eq!(i.patient_orientation, Some(("L".into(), "F".into())));
    assert_eq!(i.calibration.describe_key(), "calibration.unspecified");
    assert!(!i.is_hounsfield());
}

#[test]
fn the_default_window_prefers_the_file_then_the_frame_then_the_bits() {
    let i = info(ct_json()).unwrap();
    let w = default_window(&i, Some((-1000.0, 2000.0)));
    assert_eq!(
        (w.center, w.width, w.explanation.as_deref()),
        (40.0, 400.0, Some("SOFT TISSUE"))
    );

    let no_windows = info(without(without(ct_json(), "00281050"), "00281051")).unwrap();
    // Frame range −1000..2000 HU: width 3001, centre 500.5 (see Window::from_range).
    let w = default_window(&no_windows, Some((-1000.0, 2000.0)));
    assert_eq!((w.center, w.width), (500.5, 3001.0));
    // Neither: 12 stored bits through the rescale, −1024..3071 HU.
    let w = default_window(&no_windows, None);
    assert_eq!((w.center, w.width), (1024.0, 4096.0));
    assert_eq!(w.apply(-1024.0), 0.0);
    assert!((w.apply(3071.0) - 1.0).abs() < 1e-12);
    // A negative slope turns the range round.
    let flipped = info(with(
        without(without(ct_json(), "00281050"), "00281051"),
        "00281053",
        json!({"vr": "DS", "Value": ["-1"]}),
    ))
    .unwrap();
    let w = default_window(&flipped, None);
    // Stored 0..4095 → −1024..−5119 HU.
    assert_eq!((w.center, w.width), (-3071.0, 4096.0));
}
