//! CT series: geometry, identifiers, HU statistics, transfer syntaxes.

mod common;

use common::*;
use dicom_dictionary_std::{tags, uids};
use dicom_samples::*;

fn small_chest(slices: u32) -> CtSpec {
    CtSpec::chest(Patient::karimov_ascii(), 42)
        .with_slices(slices)
        .with_matrix(128, 128)
}

#[test]
fn geometry_is_consistent_across_slices() {
    let spec = small_chest(20);
    let objs: Vec<Obj> = ct_series(&spec)
        .expect("valid spec")
        .collect::<Result<_, _>>()
        .expect("slices build");
    assert_eq!(objs.len(), 20);
    let frame = string(&objs[0], tags::FRAME_OF_REFERENCE_UID);
    let series = string(&objs[0], tags::SERIES_INSTANCE_UID);
    let mut prev: Option<Vec<f64>> = None;
    for (i, o) in objs.iter().enumerate() {
        assert_eq!(string(o, tags::SOP_CLASS_UID), uids::CT_IMAGE_STORAGE);
        assert_eq!(int(o, tags::INSTANCE_NUMBER), i as i64 + 1);
        assert_eq!(string(o, tags::FRAME_OF_REFERENCE_UID), frame);
        assert_eq!(string(o, tags::SERIES_INSTANCE_UID), series);
        assert_eq!(
            floats(o, tags::IMAGE_ORIENTATION_PATIENT),
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
        let pos = floats(o, tags::IMAGE_POSITION_PATIENT);
        assert_eq!(pos.len(), 3);
        assert_eq!(floats(o, tags::SLICE_LOCATION), [pos[2]]);
        let ps = floats(o, tags::PIXEL_SPACING);
        assert!((ps[0] - 360.0 / 128.0).abs() < 1e-6, "{ps:?}");
        // the volume is centred on the isocentre in x and y
        assert!((pos[0] + 127.0 * ps[1] / 2.0).abs() < 1e-3);
        if let Some(p) = prev {
            assert_eq!((p[0], p[1]), (pos[0], pos[1]));
            assert!((p[2] - pos[2] - spec.slice_spacing_mm).abs() < 1e-6);
        }
        prev = Some(pos);
        assert_eq!(vr_mismatches(o), Vec::<String>::new());
        assert_eq!(pixel_words(o).len(), 128 * 128);
        assert_eq!(pixel_words(o), ct_slice_pixels(&spec, i as u32));
    }
}

#[test]
fn uids_are_valid_and_unique() {
    let spec = small_chest(30);
    let mut seen = std::collections::HashSet::new();
    for uid in [
        &spec.study.study_uid,
        &spec.series_uid,
        &spec.frame_of_reference_uid,
    ] {
        assert!(is_valid_uid(uid), "{uid}");
        assert!(seen.insert(uid.clone()));
    }
    for i in 0..spec.slices {
        let uid = spec.sop_instance_uid(i);
        assert!(is_valid_uid(&uid), "{uid}");
        assert!(seen.insert(uid));
    }
    // a different seed gives different identifiers
    let other = CtSpec::chest(Patient::karimov_ascii(), 43);
    assert_ne!(other.study.study_uid, spec.study.study_uid);
    assert_ne!(other.sop_instance_uid(0), spec.sop_instance_uid(0));
}

#[test]
fn generation_is_deterministic() {
    let spec = small_chest(5);
    assert_eq!(ct_slice_pixels(&spec, 3), ct_slice_pixels(&spec, 3));
    let mut other = spec.clone();
    other.seed += 1;
    assert_ne!(ct_slice_pixels(&spec, 3), ct_slice_pixels(&other, 3));
}

/// Mean and standard deviation of HU over the pixels whose noise-free
/// phantom value is `target`.
fn region_stats(spec: &CtSpec, index: u32, target: f32) -> (f64, f64, usize) {
    let words = ct_slice_pixels(spec, index);
    let intercept = spec.rescale_intercept();
    let mut v = Vec::new();
    for r in 0..spec.rows {
        for c in 0..spec.cols {
            if ct_phantom_hu(spec, index, r, c) == target {
                let w = words[usize::from(r) * usize::from(spec.cols) + usize::from(c)];
                v.push(f64::from(w) + intercept);
            }
        }
    }
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, sd, v.len())
}

#[test]
fn hounsfield_statistics_are_plausible() {
    let spec = CtSpec::chest(Patient::karimov_ascii(), 9)
        .with_slices(50)
        .with_matrix(256, 256);
    let mid = 22;
    let (soft, soft_sd, n_soft) = region_stats(&spec, mid, hu::SOFT_TISSUE);
    assert!(
        n_soft > 500 && (soft - 40.0).abs() < 2.0 && (soft_sd - 10.0).abs() < 1.5,
        "{soft} {soft_sd}"
    );
    let (fat, _, n_fat) = region_stats(&spec, mid, hu::FAT);
    assert!(n_fat > 200 && (fat + 100.0).abs() < 3.0, "{fat}");
    let (lung, _, n_lung) = region_stats(&spec, mid, hu::LUNG);
    assert!(n_lung > 2000 && (lung + 850.0).abs() < 2.0, "{lung}");
    let (bone, _, n_bone) = region_stats(&spec, mid, hu::CANCELLOUS_BONE);
    assert!(n_bone > 20 && (bone - 700.0).abs() < 5.0, "{bone}");
    let (air, _, n_air) = region_stats(&spec, mid, hu::AIR);
    assert!(n_air > 2000 && (air + 1000.0).abs() < 2.0, "{air}");
    // lungs grow from apex to mid-chest and vanish under the diaphragm
    let lung_area = |i| region_stats(&spec, i, hu::LUNG).2;
    assert!(lung_area(2) < lung_area(mid));
    assert!(lung_area(49) < lung_area(mid) / 4);
}

#[test]
fn head_phantom_has_skull_and_brain() {
    let spec = CtSpec::head(Patient::karimov_ascii(), 3)
        .with_matrix(128, 128)
        .with_slices(20);
    let (brain, _, n) = region_stats(&spec, 10, hu::GREY_MATTER);
    assert!(n > 100 && (brain - 38.0).abs() < 3.0, "{brain}");
    assert!(region_stats(&spec, 10, hu::SKULL).2 > 50);
}

#[test]
fn every_transfer_syntax_reads_back_identically() {
    let spec = small_chest(3);
    let expected = ct_slice_pixels(&spec, 1);
    let dir = tempfile::tempdir().expect("tempdir");
    for ts in SampleTransferSyntax::ALL {
        let mut obj = ct_slice(&spec, 1).expect("slice");
        let path = dir.path().join(format!("{}.dcm", ts.cli_name()));
        write_file(&mut obj, &path, ts).expect("write");
        let back = dicom_object::open_file(&path).expect("read back");
        assert_eq!(
            back.meta().transfer_syntax().trim_end_matches('\0'),
            ts.uid()
        );
        assert_eq!(pixel_words(&back), expected, "{ts:?}");
        assert_eq!(string(&back, tags::PATIENT_NAME), "Karimov^Rustam");
        assert_eq!(floats(&back, tags::WINDOW_CENTER), [40.0, -600.0]);
        if let Some(r) = dcmdump_ok(&path) {
            r.expect("dcmdump parses the file");
        }
    }
}

#[test]
fn signed_and_16_bit_encodings() {
    let mut spec = small_chest(2);
    spec.pixel_encoding = CtPixelEncoding::SignedHu;
    spec.bits_stored = 16;
    let obj = ct_slice(&spec, 0).expect("slice");
    assert_eq!(int(&obj, tags::PIXEL_REPRESENTATION), 1);
    assert_eq!(floats(&obj, tags::RESCALE_INTERCEPT), [0.0]);
    let min = ct_slice_pixels(&spec, 0)
        .into_iter()
        .map(|w| w as i16)
        .min();
    assert!(min < Some(-900), "air is stored as negative HU: {min:?}");
}

#[test]
fn invalid_specs_are_rejected() {
    let mut spec = small_chest(2);
    spec.bits_stored = 10;
    assert!(matches!(
        ct_series(&spec),
        Err(SamplesError::InvalidSpec(_))
    ));
    let spec = small_chest(0);
    assert!(ct_series(&spec).is_err());
    assert!(ct_slice(&small_chest(2), 2).is_err());
}

#[test]
fn write_series_to_directory() {
    let spec = small_chest(4);
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = write_ct_series(&spec, dir.path(), SampleTransferSyntax::default()).expect("write");
    assert_eq!(paths.len(), 4);
    for (i, p) in paths.iter().enumerate() {
        assert!(p.starts_with(dir.path()));
        assert!(p.ends_with(format!("{:04}.dcm", i + 1)));
        let o = dicom_object::open_file(p).expect("read");
        assert_eq!(int(&o, tags::INSTANCE_NUMBER), i as i64 + 1);
    }
}

#[test]
fn different_generators_with_one_seed_do_not_share_uids() {
    let p = Patient::karimov_ascii();
    let chest = CtSpec::chest(p.clone(), 1);
    let head = CtSpec::head(p.clone(), 1);
    let dx = XraySpec::chest(XrayKind::Dx, p.clone(), 1);
    let cr = XraySpec::chest(XrayKind::Cr, p, 1);
    let studies = [
        &chest.study.study_uid,
        &head.study.study_uid,
        &dx.study.study_uid,
        &cr.study.study_uid,
    ];
    let series = [
        &chest.series_uid,
        &head.series_uid,
        &dx.series_uid,
        &cr.series_uid,
    ];
    let all: std::collections::HashSet<_> = studies.iter().chain(series.iter()).collect();
    assert_eq!(all.len(), 8);
}
