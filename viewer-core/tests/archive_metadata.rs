//! The viewer's reading of metadata exactly as the archive serves it: the
//! archive's sample studies, encoded to bytes, parsed by the archive's
//! ingest parser and written as DICOM JSON by its metadata writer, then
//! read by `viewer-core`.

// Helpers here are test code too: a failure should stop the test where it happens.
#![allow(clippy::unwrap_used)]

use dicom_samples::{
    CtPixelEncoding, CtSpec, Patient, SampleTransferSyntax, XrayKind, XraySpec, ct_series,
    ct_slice_pixels, to_bytes, xray_image,
};
use pacs_core::json::to_dicom_json;
use pacs_core::parse::parse_instance;
use serde_json::Value;
use viewer_core::calibration::{Calibration, SpacingMethod};
use viewer_core::dicom_json::Attributes;
use viewer_core::geometry::{
    orientation_labels, orientation_labels_from_letters, slice_spacing, sort_stack_with_instances,
};
use viewer_core::image::{ImageInfo, Photometric};
use viewer_core::viewport::ViewTransform;
use viewer_core::voi::default_window;
use viewer_core::volume::{Mpr, Slab, Volume, VolumeGeometry, reslice};

const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";

/// A Part 10 file's bytes → the archive's DICOM JSON of its data set.
fn archive_json(file: &[u8]) -> Value {
    assert_eq!(&file[128..132], b"DICM");
    // (0002,0000) UL, explicit VR: tag 4, VR 2, length 2, value 4 bytes.
    let group_length = u32::from_le_bytes(file[140..144].try_into().unwrap()) as usize;
    let start = 144 + group_length;
    let parsed = parse_instance(
        &file[start..],
        start as u64,
        u64::MAX,
        EXPLICIT_VR_LITTLE_ENDIAN,
    )
    .unwrap();
    Value::Object(to_dicom_json(
        &parsed.header,
        "studies/s/series/se/instances/i",
    ))
}

fn info_of(json: Value) -> ImageInfo {
    ImageInfo::from_attributes(&Attributes::new(json).unwrap()).unwrap()
}

fn small_ct(patient: Patient) -> CtSpec {
    CtSpec::chest(patient, 11)
        .with_slices(6)
        .with_matrix(32, 32)
}

fn ct_infos(spec: &CtSpec) -> Vec<ImageInfo> {
    ct_series(spec)
        .unwrap()
        .map(|slice| {
            let bytes = to_bytes(
                &mut slice.unwrap(),
                SampleTransferSyntax::ExplicitVrLittleEndian,
            )
            .unwrap();
            info_of(archive_json(&bytes))
        })
        .collect()
}

#[test]
fn a_ct_series_reads_as_the_sample_describes_it() {
    let spec = small_ct(Patient::orinboyeva_utf8());
    let infos = ct_infos(&spec);
    let first = &infos[0];
    assert_eq!(first.patient_name.as_deref(), Some("Oʻrinboyeva Gʻuncha"));
    assert_eq!(first.modality.as_deref(), Some("CT"));
    assert_eq!((first.rows, first.columns), (32, 32));
    assert_eq!(first.rescale_intercept, spec.rescale_intercept());
    assert!(first.is_hounsfield());
    for ((center, width, explanation), window) in spec.windows().iter().zip(&first.windows) {
        assert_eq!((window.center, window.width), (*center, *width));
        assert_eq!(window.explanation.as_deref(), Some(*explanation));
    }
    let w = default_window(first, None);
    assert_eq!(
        (w.center, w.width),
        (spec.windows()[0].0, spec.windows()[0].1)
    );
    let Calibration::Pixel {
        row_mm,
        col_mm,
        method: SpacingMethod::Patient,
    } = first.calibration
    else {
        panic!(
            "CT calibration should be in the patient: {:?}",
            first.calibration
        );
    };
    assert!(
        (row_mm - spec.pixel_spacing_mm).abs() < 1e-6
            && (col_mm - spec.pixel_spacing_mm).abs() < 1e-6
    );
    let plane = first.plane.unwrap();
    assert_eq!(
        orientation_labels(&plane, &ViewTransform::default()),
        ["R", "A", "L", "P"]
    );
}

#[test]
fn a_cyrillic_name_survives_its_character_set() {
    // ISO_IR 144 on the wire; the archive decodes it; the viewer shows it.
    let infos = ct_infos(&small_ct(Patient::ivanov_iso_ir_144()).with_slices(1));
    assert_eq!(
        infos[0].patient_name.as_deref(),
        Some("Иванов Иван Петрович")
    );
}

#[test]
fn slices_sort_into_the_scan_order_and_make_a_volume() {
    let spec = small_ct(Patient::karimov_ascii());
    let infos = ct_infos(&spec);
    // Shuffle, then sort back: geometry orders, instance numbers orient.
    let shuffled: Vec<&ImageInfo> = [3, 0, 5, 1, 4, 2].iter().map(|&i| &infos[i]).collect();
    let planes: Vec<_> = shuffled.iter().map(|i| i.plane).collect();
    let numbers: Vec<_> = shuffled.iter().map(|i| i.instance_number).collect();
    let order = sort_stack_with_instances(&planes, &numbers);
    let sorted: Vec<&ImageInfo> = order.iter().map(|&k| shuffled[k]).collect();
    let instance_numbers: Vec<_> = sorted.iter().map(|i| i.instance_number.unwrap()).collect();
    assert_eq!(instance_numbers, [1, 2, 3, 4, 5, 6]);

    let sorted_planes: Vec<_> = sorted.iter().map(|i| i.plane.unwrap()).collect();
    let spacing = slice_spacing(&sorted_planes).unwrap();
    assert!((spacing - spec.slice_spacing_mm).abs() < 1e-6);

    // The volume's voxels are the files' stored values; the scan runs head
    // to feet, so a coronal reformat's top row is the first slice.
    assert_eq!(spec.pixel_encoding, CtPixelEncoding::UnsignedOffset);
    let geometry = VolumeGeometry::from_stack(&sorted_planes).unwrap();
    let mut volume = Volume::new(
        geometry,
        false,
        sorted[0].rescale_slope,
        sorted[0].rescale_intercept,
    )
    .unwrap();
    for (z, info) in sorted.iter().enumerate() {
        let index = u32::try_from(info.instance_number.unwrap() - 1).unwrap();
        volume
            .set_slice_u16(z, &ct_slice_pixels(&spec, index))
            .unwrap();
    }
    let coronal = reslice(&volume, Mpr::Coronal, 16, 0.0, Slab::Mip).unwrap();
    let first_slice = ct_slice_pixels(&spec, 0);
    for c in 0..32 {
        let expected = f32::from(first_slice[16 * 32 + c]) - 1024.0;
        assert_eq!(coronal.values[c], expected, "column {c} of the top row");
    }
    let labels = orientation_labels(&coronal.plane.unwrap(), &ViewTransform::default());
    assert_eq!(labels, ["R", "H", "L", "F"]);
}

#[test]
fn a_dx_is_calibrated_for_magnification_and_oriented_by_letters() {
    let spec = XraySpec::chest(XrayKind::Dx, Patient::toshmatov_utf8(), 5).with_matrix(64, 48);
    let bytes = to_bytes(
        &mut xray_image(&spec).unwrap(),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .unwrap();
    let info = info_of(archive_json(&bytes));
    assert_eq!(info.photometric, Photometric::Monochrome2);
    assert!(!info.displays_inverted());
    assert!(info.plane.is_none());
    let Calibration::Pixel {
        row_mm,
        method: SpacingMethod::Geometry,
        ..
    } = info.calibration
    else {
        panic!(
            "DX calibration should be by geometry: {:?}",
            info.calibration
        );
    };
    // The sample corrects the detector spacing by SID/SOD = 1800/1650.
    let detector_mm = info_detector_spacing(&bytes);
    assert!((row_mm - detector_mm * 1650.0 / 1800.0).abs() < 1e-6);
    let (row, column) = info.patient_orientation.clone().unwrap();
    assert_eq!(
        orientation_labels_from_letters(&row, &column, &ViewTransform::default()),
        ["R", "H", "L", "F"]
    );
    assert_eq!(info.windows.len(), 1);
}

#[test]
fn a_cr_is_measured_at_the_detector_and_displayed_inverted() {
    let spec = XraySpec::chest(XrayKind::Cr, Patient::karimov_ascii(), 5).with_matrix(64, 48);
    let bytes = to_bytes(
        &mut xray_image(&spec).unwrap(),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .unwrap();
    let info = info_of(archive_json(&bytes));
    assert_eq!(info.photometric, Photometric::Monochrome1);
    assert!(info.displays_inverted());
    let detector_mm = info_detector_spacing(&bytes);
    assert_eq!(info.calibration.describe_key(), "calibration.detector");
    let (row_mm, _) = info.calibration.spacing().unwrap();
    assert!((row_mm - detector_mm).abs() < 1e-9);
}

/// Imager Pixel Spacing as the archive's JSON gives it.
fn info_detector_spacing(file: &[u8]) -> f64 {
    let attributes = Attributes::new(archive_json(file)).unwrap();
    attributes
        .f64(viewer_core::tags::IMAGER_PIXEL_SPACING)
        .unwrap()
}
