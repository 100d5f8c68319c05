//! Helpers shared by the integration tests.
#![allow(dead_code)]

use dicom_core::Tag;
use dicom_core::value::PrimitiveValue;
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject};

pub type Obj = FileDicomObject<InMemDicomObject>;

pub fn string(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

pub fn floats(obj: &InMemDicomObject, tag: Tag) -> Vec<f64> {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
}

pub fn int(obj: &InMemDicomObject, tag: Tag) -> i64 {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_int::<i64>().ok())
        .unwrap_or(i64::MIN)
}

/// Pixel Data as 16-bit words, whatever form the parser produced.
pub fn pixel_words(obj: &InMemDicomObject) -> Vec<u16> {
    let Ok(e) = obj.element(tags::PIXEL_DATA) else {
        return Vec::new();
    };
    match e.value().primitive() {
        Some(PrimitiveValue::U16(v)) => v.to_vec(),
        Some(PrimitiveValue::I16(v)) => v.iter().map(|x| *x as u16).collect(),
        Some(PrimitiveValue::U8(b)) => b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether dcmdump (always by absolute path) parses `path` without errors.
pub fn dcmdump_ok(path: &std::path::Path) -> Option<Result<String, String>> {
    let exe = std::path::Path::new("/usr/bin/dcmdump");
    if !exe.exists() {
        return None;
    }
    let out = std::process::Command::new(exe)
        .arg("-q")
        .arg("+L")
        .arg(path)
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if out.status.success() && !stderr.contains("E:") && !stderr.contains("W:") {
        Some(Ok(stdout))
    } else {
        Some(Err(format!("{}\n{stderr}", path.display())))
    }
}

/// Elements whose VR disagrees with the standard dictionary (which matters
/// for implicit VR files, where readers take the VR from the dictionary).
pub fn vr_mismatches(obj: &InMemDicomObject) -> Vec<String> {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    use dicom_core::header::Header;
    let dict = dicom_dictionary_std::StandardDataDictionary;
    let mut bad = Vec::new();
    for e in obj.iter() {
        let Some(entry) = dict.by_tag(e.tag()) else {
            bad.push(format!("{:?} not in dictionary", e.tag()));
            continue;
        };
        if let VirtualVr::Exact(vr) = entry.vr()
            && vr != e.vr()
        {
            bad.push(format!(
                "{:?}: {:?} vs dictionary {:?}",
                e.tag(),
                e.vr(),
                vr
            ));
        }
    }
    bad
}
