//! Shared by the integration tests: source images with known pixels, the
//! other people's encoders that compress them, and reading the result back
//! the way the viewer receives it (attributes from metadata, one frame's
//! bytes).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, open_file};
use dicom_samples::{
    CtPixelEncoding, CtSpec, Patient, SampleTransferSyntax, XrayKind, XraySpec, ct_slice_pixels,
    write_ct_series, write_xray, xray_pixels,
};
use viewer_codecs::{FrameDescriptor, Pixels};

/// An encoder or reference decoder from /usr/bin, or `None` after a loud
/// message when it is not installed. Under CI (`CI` set) a missing tool
/// fails the test instead: CI installs dcmtk, libgdcm-tools and
/// openjph-tools.
pub fn tool<'a>(path: &'a str, package: &str) -> Option<&'a str> {
    if Path::new(path).exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{path} is missing; CI must install the Debian package {package}");
    }
    eprintln!(
        "\n!!! SKIPPING: {path} is not installed (Debian package {package}); \
         the cases that need it were not run !!!\n"
    );
    None
}

/// A source image on disk and its stored values (interleaved for colour).
pub struct Source {
    pub path: PathBuf,
    pub values: Vec<i32>,
    pub columns: usize,
}

/// A one-slice 96×128 CT phantom from the archive's sample generator.
pub fn ct(dir: &Path, encoding: CtPixelEncoding, bits_stored: u16) -> Source {
    let mut spec = CtSpec::chest(Patient::default(), 11)
        .with_slices(1)
        .with_matrix(96, 128);
    spec.pixel_encoding = encoding;
    spec.bits_stored = bits_stored;
    let root = dir.join(format!("ct-{encoding:?}-{bits_stored}"));
    let paths = write_ct_series(&spec, &root, SampleTransferSyntax::ExplicitVrLittleEndian)
        .expect("write CT slice");
    let signed = encoding == CtPixelEncoding::SignedHu;
    let values = ct_slice_pixels(&spec, 0)
        .into_iter()
        .map(|w| {
            if signed {
                i32::from(w as i16)
            } else {
                i32::from(w)
            }
        })
        .collect();
    Source {
        path: paths[0].clone(),
        values,
        columns: 128,
    }
}

/// An 80×112 DX chest radiograph, 12 bits stored.
pub fn xray(dir: &Path) -> Source {
    let spec = XraySpec::chest(XrayKind::Dx, Patient::default(), 5).with_matrix(80, 112);
    let path = write_xray(
        &spec,
        &dir.join("dx"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("write radiograph");
    Source {
        path,
        values: xray_pixels(&spec).into_iter().map(i32::from).collect(),
        columns: 112,
    }
}

/// A deterministic pseudo-random sequence, for texture to compress.
fn noise(seed: u32) -> impl FnMut() -> u32 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    }
}

/// 8-bit 60×84 grey: smooth shading plus a little noise.
pub fn grey8(dir: &Path) -> Source {
    let (rows, columns) = (60usize, 84usize);
    let mut n = noise(0x9E37_79B9);
    let values: Vec<i32> = (0..rows * columns)
        .map(|i| {
            let (y, x) = (i / columns, i % columns);
            (x * 2 + y + (n() % 6) as usize).min(255) as i32
        })
        .collect();
    let bytes = values.iter().map(|&v| v as u8).collect();
    let path = dir.join("grey8.dcm");
    write_secondary_capture(&path, rows, columns, "MONOCHROME2", bytes);
    Source {
        path,
        values,
        columns,
    }
}

/// 8-bit RGB 48×64, interleaved: gentle colour ramps (chroma subsampling
/// smears sharp colour edges) with a little noise.
pub fn rgb8(dir: &Path) -> Source {
    let (rows, columns) = (48usize, 64usize);
    let mut n = noise(0x1234_5678);
    let values: Vec<i32> = (0..rows * columns)
        .flat_map(|i| {
            let (y, x) = (i / columns, i % columns);
            let jitter = (n() % 4) as usize;
            [40 + x * 3 + jitter, 30 + y * 4, 200 - x - y]
        })
        .map(|v| v as i32)
        .collect();
    let bytes = values.iter().map(|&v| v as u8).collect();
    let path = dir.join("rgb8.dcm");
    write_secondary_capture(&path, rows, columns, "RGB", bytes);
    Source {
        path,
        values,
        columns,
    }
}

fn write_secondary_capture(
    path: &Path,
    rows: usize,
    columns: usize,
    photometric: &str,
    pixels: Vec<u8>,
) {
    const SC: &str = "1.2.840.10008.5.1.4.1.1.7";
    let sop = format!("2.25.{}", 1000 + rows * 1000 + columns);
    let mut obj = InMemDicomObject::new_empty();
    let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let us = |tag, v: usize| DataElement::new(tag, VR::US, PrimitiveValue::from(v as u16));
    obj.put(text(tags::SOP_CLASS_UID, VR::UI, SC));
    obj.put(text(tags::SOP_INSTANCE_UID, VR::UI, &sop));
    obj.put(text(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.77"));
    obj.put(text(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.78"));
    obj.put(text(tags::MODALITY, VR::CS, "OT"));
    obj.put(text(tags::PATIENT_ID, VR::LO, "CODECS"));
    let spp = if photometric == "RGB" { 3 } else { 1 };
    obj.put(us(tags::SAMPLES_PER_PIXEL, spp));
    obj.put(text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric));
    if spp == 3 {
        obj.put(us(tags::PLANAR_CONFIGURATION, 0));
    }
    obj.put(us(tags::ROWS, rows));
    obj.put(us(tags::COLUMNS, columns));
    obj.put(us(tags::BITS_ALLOCATED, 8));
    obj.put(us(tags::BITS_STORED, 8));
    obj.put(us(tags::HIGH_BIT, 7));
    obj.put(us(tags::PIXEL_REPRESENTATION, 0));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(pixels),
    ));
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid(SC)
                .media_storage_sop_instance_uid(&sop),
        )
        .expect("file meta");
    file.write_to_file(path).expect("write source");
}

/// Runs `tool args input output`, failing the test with its output.
pub fn run(tool: &str, args: &[&str], input: &Path, output: &Path) {
    let out = Command::new(tool)
        .args(args)
        .arg(input)
        .arg(output)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the viewer has for one frame: the transfer syntax, the image
/// attributes and the frame's bytes (native data, or the fragments after
/// the Basic Offset Table joined).
pub struct Frame {
    pub transfer_syntax: String,
    pub descriptor: FrameDescriptor,
    pub data: Vec<u8>,
}

pub fn read_frame(path: &Path) -> Frame {
    let obj = open_file(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let int = |tag| {
        obj.element_opt(tag)
            .ok()
            .flatten()
            .map(|e| e.to_int::<u16>().expect("an integer attribute"))
    };
    let need = |tag| int(tag).unwrap_or_else(|| panic!("{tag} missing"));
    let photometric = obj
        .element(tags::PHOTOMETRIC_INTERPRETATION)
        .expect("photometric")
        .to_str()
        .expect("text")
        .trim()
        .to_owned();
    let descriptor = FrameDescriptor {
        rows: need(tags::ROWS),
        columns: need(tags::COLUMNS),
        samples_per_pixel: need(tags::SAMPLES_PER_PIXEL),
        bits_allocated: need(tags::BITS_ALLOCATED),
        bits_stored: need(tags::BITS_STORED),
        pixel_representation: need(tags::PIXEL_REPRESENTATION),
        photometric,
        planar_configuration: int(tags::PLANAR_CONFIGURATION).unwrap_or(0),
    };
    let pixel_data = obj.element(tags::PIXEL_DATA).expect("pixel data");
    let data = match pixel_data.value().fragments() {
        Some(fragments) => fragments.concat(),
        None => pixel_data
            .to_bytes()
            .expect("native pixel data")
            .into_owned(),
    };
    Frame {
        transfer_syntax: obj
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_owned(),
        descriptor,
        data,
    }
}

/// Stored values, one per sample, whatever the variant.
pub fn values(pixels: &Pixels) -> Vec<i32> {
    match pixels {
        Pixels::U8(v) | Pixels::Rgb8(v) => v.iter().map(|&x| i32::from(x)).collect(),
        Pixels::U16(v) => v.iter().map(|&x| i32::from(x)).collect(),
        Pixels::I16(v) => v.iter().map(|&x| i32::from(x)).collect(),
    }
}

/// The first sample that differs, as (index, decoded, expected).
pub fn first_difference(decoded: &[i32], expected: &[i32]) -> Option<(usize, i32, i32)> {
    decoded
        .iter()
        .zip(expected)
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (&a, &b))| (i, a, b))
}

/// Mean and largest absolute difference.
pub fn difference(decoded: &[i32], expected: &[i32]) -> (f64, i32) {
    assert_eq!(decoded.len(), expected.len(), "sample counts differ");
    let diffs: Vec<i32> = decoded
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len().max(1) as f64;
    (mean, diffs.into_iter().max().unwrap_or(0))
}
