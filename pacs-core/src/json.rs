//! DICOM JSON (PS3.18 Annex F) for stored instances.
//!
//! Metadata is serialised once, at ingest, and kept in the index; serving
//! series metadata is then a concatenation, never a parse of instances.
//! Binary values larger than [`INLINE_BINARY_LIMIT`] and the pixel data
//! are given as a `BulkDataURI` whose base is the placeholder
//! [`BASE_PLACEHOLDER`], replaced at serve time by the public URL of the
//! DICOMweb service (see [`with_base`]).

use base64::Engine;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;
use serde_json::{Map, Value as Json, json};

/// Binary values up to this many bytes are inlined as base64.
pub const INLINE_BINARY_LIMIT: usize = 1024;

/// The placeholder standing for the DICOMweb base URL in stored metadata.
pub const BASE_PLACEHOLDER: &str = "@@BASE@@";

/// The object's DICOM JSON, with bulk data URIs under `instance_path`
/// (e.g. `studies/1.2/series/1.3/instances/1.4`).
pub fn to_dicom_json(obj: &InMemDicomObject, instance_path: &str) -> Map<String, Json> {
    object(obj, &format!("{BASE_PLACEHOLDER}/{instance_path}/bulkdata"))
}

fn object(obj: &InMemDicomObject, bulk_prefix: &str) -> Map<String, Json> {
    let mut map = Map::new();
    for e in obj.iter() {
        let tag = e.header().tag;
        if tag.element() == 0 {
            continue; // group lengths are an encoding artefact
        }
        let vr = e.vr();
        let key = tag_key(tag);
        let mut attr = Map::new();
        attr.insert("vr".into(), Json::String(vr.to_string().to_owned()));
        match e.value() {
            Value::Sequence(seq) => {
                let items: Vec<Json> = seq
                    .items()
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Json::Object(object(item, &format!("{bulk_prefix}/{key}/{i}")))
                    })
                    .collect();
                if !items.is_empty() {
                    attr.insert("Value".into(), Json::Array(items));
                }
            }
            Value::PixelSequence(_) => {
                attr.insert(
                    "BulkDataURI".into(),
                    Json::String(format!("{bulk_prefix}/{key}")),
                );
            }
            Value::Primitive(p) => {
                if let Some((name, v)) = primitive(vr, p, &format!("{bulk_prefix}/{key}")) {
                    attr.insert(name.into(), v);
                }
            }
        }
        map.insert(key, Json::Object(attr));
    }
    map
}

/// The attribute key of a tag: eight upper-case hexadecimal digits.
pub fn tag_key(tag: Tag) -> String {
    format!("{:04X}{:04X}", tag.group(), tag.element())
}

fn primitive(vr: VR, p: &PrimitiveValue, bulk_uri: &str) -> Option<(&'static str, Json)> {
    if matches!(p, PrimitiveValue::Empty) {
        return None;
    }
    match vr {
        VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::UN => {
            let bytes = p.to_bytes();
            if bytes.len() > INLINE_BINARY_LIMIT {
                Some(("BulkDataURI", Json::String(bulk_uri.to_owned())))
            } else {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
                Some(("InlineBinary", Json::String(b64)))
            }
        }
        VR::PN => {
            let names: Vec<Json> = strings(p).into_iter().map(|s| person_name(&s)).collect();
            non_empty(names)
        }
        VR::DS => non_empty(
            strings(p)
                .into_iter()
                .map(|s| match s.trim().parse::<f64>() {
                    Ok(f) if f.is_finite() => number(f),
                    _ if s.trim().is_empty() => Json::Null,
                    _ => Json::String(s.trim().to_owned()),
                })
                .collect(),
        ),
        VR::IS => non_empty(
            strings(p)
                .into_iter()
                .map(|s| match s.trim().parse::<i64>() {
                    Ok(i) => json!(i),
                    _ if s.trim().is_empty() => Json::Null,
                    _ => Json::String(s.trim().to_owned()),
                })
                .collect(),
        ),
        VR::FL | VR::FD => non_empty(match p {
            PrimitiveValue::F32(v) => v.iter().map(|&f| number(f as f64)).collect(),
            PrimitiveValue::F64(v) => v.iter().map(|&f| number(f)).collect(),
            other => other
                .to_multi_float64()
                .map(|v| v.into_iter().map(number).collect())
                .unwrap_or_default(),
        }),
        VR::SS | VR::US | VR::SL | VR::UL | VR::SV | VR::UV => non_empty(match p {
            PrimitiveValue::U64(v) => v.iter().map(|&i| json!(i)).collect(),
            other => other
                .to_multi_int::<i64>()
                .map(|v| v.into_iter().map(|i| json!(i)).collect())
                .unwrap_or_default(),
        }),
        VR::AT => non_empty(match p {
            PrimitiveValue::Tags(t) => t.iter().map(|&t| Json::String(tag_key(t))).collect(),
            _ => Vec::new(),
        }),
        VR::LT | VR::ST | VR::UT | VR::UR => {
            let s = p.to_str();
            let s = s.trim_end_matches(['\0', ' ']);
            non_empty(vec![Json::String(s.to_owned())])
        }
        _ => non_empty(
            strings(p)
                .into_iter()
                .map(|s| {
                    let t = s.trim_matches(|c: char| c == '\0' || c == ' ');
                    if t.is_empty() {
                        Json::Null
                    } else {
                        Json::String(t.to_owned())
                    }
                })
                .collect(),
        ),
    }
}

fn strings(p: &PrimitiveValue) -> Vec<String> {
    p.to_multi_str().into_owned()
}

fn non_empty(values: Vec<Json>) -> Option<(&'static str, Json)> {
    if values.is_empty() || values.iter().all(Json::is_null) {
        None
    } else {
        Some(("Value", Json::Array(values)))
    }
}

fn number(f: f64) -> Json {
    if f.is_finite() {
        if f.fract() == 0.0 && f.abs() < 1e15 {
            json!(f as i64)
        } else {
            json!(f)
        }
    } else {
        Json::Null
    }
}

/// A PN value as the JSON object of PS3.18 F.2.2.
pub fn person_name(s: &str) -> Json {
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Json::Null;
    }
    let mut groups = s.splitn(3, '=');
    let mut obj = Map::new();
    for key in ["Alphabetic", "Ideographic", "Phonetic"] {
        if let Some(g) = groups.next()
            && !g.is_empty()
        {
            obj.insert(key.into(), Json::String(g.to_owned()));
        }
    }
    Json::Object(obj)
}

/// Replaces the base placeholder of bulk data URIs in serialised metadata
/// by `base` (no trailing slash). Only `BulkDataURI` values are touched: a
/// placeholder typed into some text attribute stays as it is.
pub fn with_base(stored: &[u8], base: &str) -> Vec<u8> {
    let needle = format!("\"BulkDataURI\":\"{BASE_PLACEHOLDER}");
    let replacement = format!("\"BulkDataURI\":\"{base}");
    let mut out = Vec::with_capacity(stored.len() + 256);
    let mut rest = stored;
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    while let Some(at) = finder.find(rest) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(replacement.as_bytes());
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, dicom_value};
    use dicom_dictionary_std::tags;

    #[test]
    fn values_follow_annex_f() {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from("Иванов^Иван"),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_SPACING,
            VR::DS,
            dicom_value!(Strs, ["0.5", "0.75"]),
        ));
        obj.put(DataElement::new(
            tags::INSTANCE_NUMBER,
            VR::IS,
            PrimitiveValue::from("7"),
        ));
        obj.put(DataElement::new(
            tags::ROWS,
            VR::US,
            dicom_value!(U16, [512]),
        ));
        obj.put(DataElement::new(
            Tag(0x0029, 0x1010),
            VR::OB,
            PrimitiveValue::U8(vec![0u8; 4096].into()),
        ));
        let map = to_dicom_json(&obj, "studies/1/series/2/instances/3");
        let v = Json::Object(map);
        assert_eq!(v["00100010"]["Value"][0]["Alphabetic"], "Иванов^Иван");
        assert_eq!(v["00280030"]["Value"], json!([0.5, 0.75]));
        assert_eq!(v["00200013"]["Value"], json!([7]));
        assert_eq!(v["00280010"]["Value"], json!([512]));
        assert_eq!(
            v["00291010"]["BulkDataURI"],
            "@@BASE@@/studies/1/series/2/instances/3/bulkdata/00291010"
        );
    }

    #[test]
    fn base_is_replaced_only_in_bulk_data_uris() {
        let stored =
            br#"{"A":{"vr":"LO","Value":["@@BASE@@"]},"B":{"vr":"OB","BulkDataURI":"@@BASE@@/x"}}"#;
        let out = with_base(stored, "http://h/dicom-web");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"A":{"vr":"LO","Value":["@@BASE@@"]},"B":{"vr":"OB","BulkDataURI":"http://h/dicom-web/x"}}"#
        );
    }
}
