//! DX and CR chest radiographs.

mod common;

use common::*;
use dicom_dictionary_std::{tags, uids};
use dicom_samples::*;

fn small(kind: XrayKind) -> XraySpec {
    XraySpec::chest(kind, Patient::karimov_ascii(), 5).with_matrix(500, 410)
}

fn region_mean(spec: &XraySpec, pixels: &[u16], region: ChestRegion) -> (f64, usize) {
    let mut sum = 0.0;
    let mut n = 0;
    for r in 0..spec.rows {
        for c in 0..spec.cols {
            if xray_region(spec, r, c) == region {
                sum += f64::from(pixels[usize::from(r) * usize::from(spec.cols) + usize::from(c)]);
                n += 1;
            }
        }
    }
    (sum / n.max(1) as f64, n)
}

#[test]
fn dx_is_monochrome2_with_dark_lungs() {
    let spec = small(XrayKind::Dx);
    let obj = xray_image(&spec).expect("image");
    assert_eq!(
        string(&obj, tags::SOP_CLASS_UID),
        uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION
    );
    assert_eq!(string(&obj, tags::MODALITY), "DX");
    assert_eq!(
        string(&obj, tags::PHOTOMETRIC_INTERPRETATION),
        "MONOCHROME2"
    );
    assert_eq!(string(&obj, tags::VIEW_POSITION), "PA");
    assert_eq!(string(&obj, tags::BODY_PART_EXAMINED), "CHEST");
    assert_eq!(
        string(&obj, tags::PRESENTATION_INTENT_TYPE),
        "FOR PRESENTATION"
    );
    assert_eq!(int(&obj, tags::BITS_STORED), 12);
    let ps = floats(&obj, tags::IMAGER_PIXEL_SPACING);
    assert!((ps[0] - 0.17 * 2048.0 / 410.0).abs() < 1e-3, "{ps:?}");
    assert_eq!(vr_mismatches(&obj), Vec::<String>::new());
    let px = pixel_words(&obj);
    assert_eq!(px, xray_pixels(&spec));
    assert!(px.iter().all(|v| *v <= 4095));
    let (bg, _) = region_mean(&spec, &px, ChestRegion::Background);
    let (lung, n_lung) = region_mean(&spec, &px, ChestRegion::Lung);
    let (med, _) = region_mean(&spec, &px, ChestRegion::Mediastinum);
    assert!(n_lung > 10_000);
    assert!(
        bg < lung && lung + 500.0 < med,
        "bg {bg} lung {lung} mediastinum {med}"
    );
    // window derived from the data covers lungs and mediastinum
    let c = floats(&obj, tags::WINDOW_CENTER)[0];
    let w = floats(&obj, tags::WINDOW_WIDTH)[0];
    assert!(
        c - w / 2.0 <= lung && med <= c + w / 2.0 + 200.0,
        "c {c} w {w}"
    );
}

#[test]
fn cr_is_monochrome1_inverted() {
    let spec = small(XrayKind::Cr);
    let obj = xray_image(&spec).expect("image");
    assert_eq!(
        string(&obj, tags::SOP_CLASS_UID),
        uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE
    );
    assert_eq!(
        string(&obj, tags::PHOTOMETRIC_INTERPRETATION),
        "MONOCHROME1"
    );
    assert_eq!(vr_mismatches(&obj), Vec::<String>::new());
    let px = pixel_words(&obj);
    let (bg, _) = region_mean(&spec, &px, ChestRegion::Background);
    let (lung, _) = region_mean(&spec, &px, ChestRegion::Lung);
    let (med, _) = region_mean(&spec, &px, ChestRegion::Mediastinum);
    assert!(
        bg > lung && lung > med + 500.0,
        "bg {bg} lung {lung} mediastinum {med}"
    );
}

#[test]
fn radiographs_round_trip_in_every_transfer_syntax() {
    let dir = tempfile::tempdir().expect("tempdir");
    for kind in [XrayKind::Dx, XrayKind::Cr] {
        let spec = small(kind).with_matrix(125, 103);
        let expected = xray_pixels(&spec);
        for ts in SampleTransferSyntax::ALL {
            let path = dir
                .path()
                .join(format!("{}-{}.dcm", kind.modality(), ts.cli_name()));
            let mut obj = xray_image(&spec).expect("image");
            write_file(&mut obj, &path, ts).expect("write");
            let back = dicom_object::open_file(&path).expect("read back");
            assert_eq!(pixel_words(&back), expected, "{kind:?} {ts:?}");
            if let Some(r) = dcmdump_ok(&path) {
                r.expect("dcmdump parses the file");
            }
        }
    }
}

#[test]
fn write_xray_places_file_under_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = small(XrayKind::Dx).with_matrix(64, 52);
    let path = write_xray(&spec, dir.path(), SampleTransferSyntax::default()).expect("write");
    assert!(path.starts_with(dir.path()) && path.ends_with("0001.dcm"));
    assert!(is_valid_uid(&spec.sop_instance_uid()));
}
