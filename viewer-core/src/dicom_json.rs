//! One instance's attributes from DICOM JSON (PS3.18 F.2), as the archive's
//! QIDO-RS and WADO-RS metadata responses carry them.
//!
//! The model is an object keyed by eight hexadecimal digits (`"00280010"`);
//! each element is `{"vr": "US", "Value": [512]}`. Values are read leniently
//! because servers differ: numbers in IS and DS may be JSON numbers or
//! strings, a string may hold several values joined by `\`, and an element
//! may have no `Value` at all (an empty attribute). Text is never altered
//! beyond trimming the padding spaces DICOM allows, so Cyrillic and Uzbek
//! Latin (`Oʻrinboyeva`) pass through exactly.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use thiserror::Error;

pub use crate::tags;

/// Why a DICOM JSON object was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    #[error(
        "the metadata is not a DICOM JSON object (found {found}); the server's response is malformed"
    )]
    NotAnObject { found: &'static str },
    #[error("the metadata has a key {key:?} that is not an eight-digit hexadecimal DICOM tag")]
    BadTag { key: String },
    #[error("the metadata element {tag} is not a JSON object with a \"vr\"")]
    BadElement { tag: String },
    #[error("the metadata is not valid DICOM JSON: {detail}")]
    Malformed { detail: String },
}

/// One element: its value representation and its values (possibly none),
/// or for binary VRs where its bytes are.
#[derive(Debug, Clone, PartialEq)]
struct Element {
    vr: String,
    values: Vec<Value>,
    binary: Option<Binary>,
}

impl Element {
    /// An element from its JSON members: `Value` may be an array, a lone
    /// value where an array belongs (one value) or `null` (none); binary
    /// data counts only as a string.
    fn new(
        vr: String,
        value: Option<Value>,
        inline: Option<Value>,
        bulk: Option<Value>,
    ) -> Element {
        let values = match value {
            Some(Value::Array(values)) => values,
            Some(Value::Null) | None => Vec::new(),
            Some(single) => vec![single],
        };
        let binary = match (inline, bulk) {
            (Some(Value::String(b64)), _) => Some(Binary::Inline(b64)),
            (_, Some(Value::String(uri))) => Some(Binary::Bulk(uri)),
            _ => None,
        };
        Element { vr, values, binary }
    }
}

/// An element as it arrives, for [`Attributes::list_from_slice`]; members
/// other than these are skipped unread.
#[derive(serde::Deserialize)]
struct RawElement {
    vr: String,
    #[serde(rename = "Value")]
    value: Option<Value>,
    #[serde(rename = "InlineBinary")]
    inline: Option<Value>,
    #[serde(rename = "BulkDataURI")]
    bulk: Option<Value>,
}

/// A member name that must be a tag (`"00280010"`).
struct TagKey(u32);

impl<'de> serde::Deserialize<'de> for TagKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<TagKey, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = TagKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an eight-digit hexadecimal DICOM tag")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<TagKey, E> {
                parse_tag(key)
                    .map(TagKey)
                    .ok_or_else(|| E::custom(JsonError::BadTag { key: key.into() }))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl<'de> serde::Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Attributes, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Attributes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a DICOM JSON object keyed by tags")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Attributes, A::Error> {
                let mut elements = BTreeMap::new();
                while let Some(TagKey(tag)) = map.next_key()? {
                    let raw: RawElement = map.next_value()?;
                    elements.insert(tag, Element::new(raw.vr, raw.value, raw.inline, raw.bulk));
                }
                Ok(Attributes { elements })
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Where a binary (OB, OW…) value is: inline as base64, or behind a URI.
#[derive(Debug, Clone, PartialEq)]
enum Binary {
    Inline(String),
    Bulk(String),
}

/// The attributes of one instance (or one QIDO-RS result), keyed by tag.
///
/// Lookups never fail: an absent, empty or unparsable attribute reads as
/// `None` (or an empty list), and the caller decides whether that matters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes {
    elements: BTreeMap<u32, Element>,
}

impl Attributes {
    /// Reads one DICOM JSON object. Keys must be tags and elements must be
    /// objects with a `vr`; the values themselves are interpreted only when
    /// asked for.
    pub fn new(json: Value) -> Result<Attributes, JsonError> {
        match json {
            Value::Object(map) => Self::from_map(map),
            other => Err(JsonError::NotAnObject {
                found: json_kind(&other),
            }),
        }
    }

    /// Reads a response that is an array of DICOM JSON objects (series
    /// metadata, QIDO-RS results).
    pub fn list(json: Value) -> Result<Vec<Attributes>, JsonError> {
        match json {
            Value::Array(items) => items.into_iter().map(Attributes::new).collect(),
            other => Err(JsonError::NotAnObject {
                found: json_kind(&other),
            }),
        }
    }

    /// Reads a DICOM JSON array (a QIDO-RS or metadata response) straight
    /// from its bytes. Equivalent to [`Attributes::list`] on the parsed
    /// value, but without building the whole document as generic JSON
    /// first: a 300-slice series' metadata (about 1 MB) is read in a
    /// fraction of the time, which is time before the first image.
    pub fn list_from_slice(bytes: &[u8]) -> Result<Vec<Attributes>, JsonError> {
        serde_json::from_slice::<Vec<Attributes>>(bytes).map_err(|e| JsonError::Malformed {
            detail: e.to_string(),
        })
    }

    fn from_map(map: Map<String, Value>) -> Result<Attributes, JsonError> {
        let mut elements = BTreeMap::new();
        for (key, element) in map {
            let tag = parse_tag(&key).ok_or_else(|| JsonError::BadTag { key: key.clone() })?;
            let Value::Object(mut element) = element else {
                return Err(JsonError::BadElement { tag: key });
            };
            let Some(Value::String(vr)) = element.remove("vr") else {
                return Err(JsonError::BadElement { tag: key });
            };
            let element = Element::new(
                vr,
                element.remove("Value"),
                element.remove("InlineBinary"),
                element.remove("BulkDataURI"),
            );
            elements.insert(tag, element);
        }
        Ok(Attributes { elements })
    }

    /// Whether the attribute is present (even if empty).
    pub fn contains(&self, tag: u32) -> bool {
        self.elements.contains_key(&tag)
    }

    /// The value representation the server gave for the attribute.
    pub fn vr(&self, tag: u32) -> Option<&str> {
        self.elements.get(&tag).map(|e| e.vr.as_str())
    }

    /// The first value as text, padding trimmed; `None` when absent or
    /// empty. Numbers are written back as text; a person name gives its
    /// Alphabetic group as stored (with `^`).
    pub fn string(&self, tag: u32) -> Option<String> {
        self.strings(tag)
            .into_iter()
            .next()
            .filter(|s| !s.is_empty())
    }

    /// Every value as text, padding trimmed. An empty value (JSON `null`)
    /// stays in its place as `""`, so parallel lists (window centres and
    /// their explanations) keep their pairing.
    pub fn strings(&self, tag: u32) -> Vec<String> {
        let Some(element) = self.elements.get(&tag) else {
            return Vec::new();
        };
        element
            .values
            .iter()
            .map(|value| match value {
                Value::String(s) => trim_padding(s).to_owned(),
                Value::Number(n) => n.to_string(),
                Value::Object(pn) => pn
                    .get("Alphabetic")
                    .and_then(Value::as_str)
                    .map(|s| trim_padding(s).to_owned())
                    .unwrap_or_default(),
                Value::Bool(b) => b.to_string(),
                Value::Null | Value::Array(_) => String::new(),
            })
            .collect()
    }

    /// Every numeric value, whether sent as JSON numbers or as decimal
    /// strings (several may share one string, separated by `\`). Empty and
    /// unparsable values are skipped, as are non-finite ones.
    pub fn f64s(&self, tag: u32) -> Vec<f64> {
        let Some(element) = self.elements.get(&tag) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(element.values.len());
        for value in &element.values {
            match value {
                Value::Number(n) => out.extend(n.as_f64().filter(|x| x.is_finite())),
                Value::String(s) => out.extend(
                    s.split('\\')
                        .filter_map(|part| part.trim().parse::<f64>().ok())
                        .filter(|x| x.is_finite()),
                ),
                _ => {}
            }
        }
        out
    }

    /// The first numeric value (see [`Attributes::f64s`]).
    pub fn f64(&self, tag: u32) -> Option<f64> {
        self.f64s(tag).into_iter().next()
    }

    /// The first value as an integer. Integral decimals (`"512.0"`) are
    /// accepted; fractional ones are not an integer and read as `None`.
    pub fn int(&self, tag: u32) -> Option<i64> {
        let x = self.f64(tag)?;
        let in_range = x >= i64::MIN as f64 && x <= i64::MAX as f64;
        (x.fract() == 0.0 && in_range).then_some(x as i64)
    }

    /// A person name as a reader would write it: see
    /// [`readable_person_name`]; the Alphabetic, Ideographic and Phonetic
    /// groups in that order. Characters are passed through untouched.
    pub fn person_name(&self, tag: u32) -> Option<String> {
        let value = self.elements.get(&tag)?.values.first()?;
        let raw = match value {
            Value::Object(groups) => ["Alphabetic", "Ideographic", "Phonetic"]
                .iter()
                .map(|g| groups.get(*g).and_then(Value::as_str).unwrap_or(""))
                .collect::<Vec<_>>()
                .join("="),
            // Some servers send the PS3.5 string form: groups separated by '='.
            Value::String(s) => s.clone(),
            _ => return None,
        };
        readable_person_name(&raw)
    }

    /// The bytes of a binary attribute sent inline (`InlineBinary`);
    /// `None` when absent, sent by URI, or not valid base64.
    pub fn inline_binary(&self, tag: u32) -> Option<Vec<u8>> {
        use base64::Engine;
        match &self.elements.get(&tag)?.binary {
            Some(Binary::Inline(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok(),
            _ => None,
        }
    }

    /// Where a binary attribute's bytes can be fetched (`BulkDataURI`).
    pub fn bulk_data_uri(&self, tag: u32) -> Option<&str> {
        match &self.elements.get(&tag)?.binary {
            Some(Binary::Bulk(uri)) => Some(uri),
            _ => None,
        }
    }

    /// The items of a sequence (SQ) attribute, each as its own attributes.
    /// Items that are not valid DICOM JSON objects are skipped.
    pub fn sequence(&self, tag: u32) -> Vec<Attributes> {
        let Some(element) = self.elements.get(&tag) else {
            return Vec::new();
        };
        element
            .values
            .iter()
            .filter_map(|item| Attributes::new(item.clone()).ok())
            .collect()
    }
}

/// A DICOM date (DA, `YYYYMMDD`, or the old `YYYY.MM.DD`) as ISO 8601
/// `YYYY-MM-DD`, which reads the same in every language the viewer speaks.
/// `None` when the text is not a date.
pub fn format_date(da: &str) -> Option<String> {
    let digits: String = da.trim().chars().filter(|c| *c != '.').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month: u32 = digits[4..6].parse().ok()?;
    let day: u32 = digits[6..8].parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(format!(
        "{}-{}-{}",
        &digits[0..4],
        &digits[4..6],
        &digits[6..8]
    ))
}

/// A DICOM time (TM, `HHMMSS.FFFFFF` with optional trailing parts, or the
/// old `HH:MM:SS`) as `HH:MM` or `HH:MM:SS`, fractions dropped. `None` when
/// the text is not a time.
pub fn format_time(tm: &str) -> Option<String> {
    let whole = tm.trim().split('.').next().unwrap_or_default();
    let digits: String = whole.chars().filter(|c| *c != ':').collect();
    if !(digits.len() == 2 || digits.len() == 4 || digits.len() == 6)
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let hours: u32 = digits[0..2].parse().ok()?;
    let minutes: u32 = digits.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
    let seconds: Option<u32> = digits.get(4..6).and_then(|s| s.parse().ok());
    if hours > 23 || minutes > 59 || seconds.is_some_and(|s| s > 60) {
        return None;
    }
    Some(match seconds {
        Some(s) => format!("{hours:02}:{minutes:02}:{s:02}"),
        None => format!("{hours:02}:{minutes:02}"),
    })
}

fn parse_tag(key: &str) -> Option<u32> {
    (key.len() == 8 && key.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(key, 16).ok())
        .flatten()
}

/// DICOM pads text values with spaces (and UIDs with NUL); neither is part
/// of the value.
fn trim_padding(s: &str) -> &str {
    s.trim_matches(|c: char| c == ' ' || c == '\0' || c.is_whitespace())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A person name in its PS3.5 string form (`Family^Given^Middle`, groups
/// separated by `=`) as a reader would write it: each group's components
/// joined by single spaces, empty ones dropped; the first non-empty group,
/// then the next one that differs in parentheses
/// (`Ivanov Ivan (Иванов Иван)`).
pub fn readable_person_name(raw: &str) -> Option<String> {
    let mut groups = raw.split('=').filter_map(|group| {
        let name = group
            .split('^')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    });
    let first = groups.next()?;
    // A second form (Cyrillic or kanji beside the Latin one) is what some
    // readers know the patient by: shown beside the first.
    Some(match groups.find(|other| *other != first) {
        Some(other) => format!("{first} ({other})"),
        None => first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Attributes {
        Attributes::new(json!({
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Oʻrinboyeva^Dilnoza^Rustamovna"}]},
            "00100020": {"vr": "LO", "Value": ["UZ-00017 "]},
            "00280010": {"vr": "US", "Value": [512]},
            "00281050": {"vr": "DS", "Value": ["40", 400.5, "-600\\-500"]},
            "00281055": {"vr": "LO", "Value": ["SOFT", null, "LUNG"]},
            "00201041": {"vr": "DS", "Value": [" -12.5 "]},
            "00200013": {"vr": "IS", "Value": ["7"]},
            "00080080": {"vr": "LO"},
            "00081030": {"vr": "LO", "Value": [null]}
        }))
        .unwrap()
    }

    #[test]
    fn strings_are_trimmed_and_keep_positions() {
        let a = sample();
        assert_eq!(a.string(tags::PATIENT_ID).as_deref(), Some("UZ-00017"));
        assert_eq!(
            a.strings(tags::WINDOW_CENTER_WIDTH_EXPLANATION),
            ["SOFT", "", "LUNG"]
        );
        // A number reads back as text.
        assert_eq!(a.string(tags::ROWS).as_deref(), Some("512"));
    }

    #[test]
    fn empty_attributes_read_as_absent() {
        let a = sample();
        assert!(a.contains(tags::INSTITUTION_NAME));
        assert_eq!(a.string(tags::INSTITUTION_NAME), None);
        assert_eq!(a.string(tags::STUDY_DESCRIPTION), None);
        assert_eq!(a.string(tags::MODALITY), None);
        assert!(a.f64s(tags::MODALITY).is_empty());
    }

    #[test]
    fn numbers_come_from_json_numbers_strings_and_backslash_lists() {
        let a = sample();
        assert_eq!(a.f64s(tags::WINDOW_CENTER), [40.0, 400.5, -600.0, -500.0]);
        assert_eq!(a.f64(tags::SLICE_LOCATION), Some(-12.5));
        assert_eq!(a.int(tags::INSTANCE_NUMBER), Some(7));
        assert_eq!(a.int(tags::ROWS), Some(512));
        // 400.5 is not an integer.
        let b = Attributes::new(json!({"00281050": {"vr": "DS", "Value": [400.5]}})).unwrap();
        assert_eq!(b.int(tags::WINDOW_CENTER), None);
    }

    #[test]
    fn non_finite_and_garbage_numbers_are_skipped() {
        let a = Attributes::new(json!({
            "00281053": {"vr": "DS", "Value": ["NaN", "inf", "abc", "2.5"]}
        }))
        .unwrap();
        assert_eq!(a.f64s(tags::RESCALE_SLOPE), [2.5]);
    }

    #[test]
    fn person_names_read_naturally_and_keep_their_letters() {
        let a = sample();
        assert_eq!(
            a.person_name(tags::PATIENT_NAME).as_deref(),
            Some("Oʻrinboyeva Dilnoza Rustamovna")
        );
        let cyrillic = Attributes::new(json!({
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Иванов^Иван^^Др."}]}
        }))
        .unwrap();
        // Empty middle name dropped; the prefix stays.
        assert_eq!(
            cyrillic.person_name(tags::PATIENT_NAME).as_deref(),
            Some("Иванов Иван Др.")
        );
        // The U+02BB letter is preserved byte for byte.
        assert!(
            a.person_name(tags::PATIENT_NAME)
                .unwrap()
                .contains('\u{02BB}')
        );
    }

    #[test]
    fn person_name_falls_back_to_other_groups_and_string_form() {
        let ideographic = Attributes::new(json!({
            "00100010": {"vr": "PN", "Value": [{"Ideographic": "山田^太郎"}]}
        }))
        .unwrap();
        assert_eq!(
            ideographic.person_name(tags::PATIENT_NAME).as_deref(),
            Some("山田 太郎")
        );
        let string_form = Attributes::new(json!({
            "00100010": {"vr": "PN", "Value": ["Petrov^Pyotr=Петров^Пётр"]}
        }))
        .unwrap();
        assert_eq!(
            string_form.person_name(tags::PATIENT_NAME).as_deref(),
            Some("Petrov Pyotr (Петров Пётр)")
        );
        let groups = Attributes::new(json!({
            "00100010": {"vr": "PN", "Value": [{
                "Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"
            }]}
        }))
        .unwrap();
        assert_eq!(
            groups.person_name(tags::PATIENT_NAME).as_deref(),
            Some("Yamada Tarou (山田 太郎)")
        );
        assert_eq!(
            readable_person_name("Karimov^Otabek=Karimov^Otabek").as_deref(),
            Some("Karimov Otabek")
        );
        let empty = Attributes::new(json!({"00100010": {"vr": "PN", "Value": [{}]}})).unwrap();
        assert_eq!(empty.person_name(tags::PATIENT_NAME), None);
    }

    #[test]
    fn malformed_objects_are_refused_with_the_reason() {
        assert_eq!(
            Attributes::new(json!([1])),
            Err(JsonError::NotAnObject { found: "an array" })
        );
        assert_eq!(
            Attributes::new(json!({"0028001": {"vr": "US"}})),
            Err(JsonError::BadTag {
                key: "0028001".into()
            })
        );
        assert_eq!(
            Attributes::new(json!({"0028001G": {"vr": "US"}})),
            Err(JsonError::BadTag {
                key: "0028001G".into()
            })
        );
        assert_eq!(
            Attributes::new(json!({"00280010": [512]})),
            Err(JsonError::BadElement {
                tag: "00280010".into()
            })
        );
    }

    #[test]
    fn lists_and_sequences() {
        let list = Attributes::list(json!([
            {"0020000D": {"vr": "UI", "Value": ["1.2.3"]}},
            {"0020000D": {"vr": "UI", "Value": ["1.2.4\u{0}"]}}
        ]))
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[1].string(tags::STUDY_INSTANCE_UID).as_deref(),
            Some("1.2.4")
        );
        let seq = Attributes::new(json!({
            "00081115": {"vr": "SQ", "Value": [
                {"0020000E": {"vr": "UI", "Value": ["1.2.5"]}}
            ]}
        }))
        .unwrap();
        let items = seq.sequence(0x0008_1115);
        assert_eq!(
            items[0].string(tags::SERIES_INSTANCE_UID).as_deref(),
            Some("1.2.5")
        );
    }

    #[test]
    fn reading_bytes_directly_gives_what_reading_parsed_json_gives() {
        let document = json!([
            {
                "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Иванов^Иван"}]},
                "00281050": {"vr": "DS", "Value": ["40", 400.5, "-600\\-500"]},
                "00281055": {"vr": "LO", "Value": ["SOFT", null, "LUNG"]},
                "00200013": {"vr": "IS", "Value": "7"},
                "00080080": {"vr": "LO"},
                "00080081": {"vr": "ST", "Value": null},
                "00281201": {"vr": "OW", "InlineBinary": "AAEC"},
                "00281202": {"vr": "OW", "BulkDataURI": "/dicom-web/bulk/1"},
                "00081115": {"vr": "SQ", "Value": [{"0020000E": {"vr": "UI", "Value": ["1.2.5"]}}]},
                "00091010": {"vr": "UN", "Value": [], "unknownMember": {"nested": [1, 2]}}
            },
            {"0020000D": {"vr": "UI", "Value": ["1.2.4\u{0}"]}}
        ]);
        let bytes = serde_json::to_vec(&document).unwrap();
        let direct = Attributes::list_from_slice(&bytes).unwrap();
        assert_eq!(direct, Attributes::list(document).unwrap());
        assert_eq!(direct[0].int(tags::INSTANCE_NUMBER), Some(7));
        assert_eq!(direct[0].inline_binary(0x0028_1201), Some(vec![0, 1, 2]));
        assert_eq!(
            direct[0].bulk_data_uri(0x0028_1202),
            Some("/dicom-web/bulk/1")
        );
        assert_eq!(Attributes::list_from_slice(b"[]").unwrap(), Vec::new());
    }

    #[test]
    fn malformed_bytes_are_refused_with_the_reason() {
        let refused = |text: &str| match Attributes::list_from_slice(text.as_bytes()) {
            Err(JsonError::Malformed { detail }) => detail,
            other => panic!("{text} was not refused: {other:?}"),
        };
        assert!(refused(r#"[{"0028001G": {"vr": "US"}}]"#).contains("\"0028001G\""));
        assert!(refused(r#"[{"00280010": [512]}]"#).contains("invalid type"));
        assert!(refused(r#"[{"00280010": {"Value": [512]}}]"#).contains("vr"));
        assert!(refused(r#"{"00280010": {"vr": "US"}}"#).contains("sequence"));
        assert!(refused(r#"[{"00280010": {"vr": "US", "Value": [51"#).contains("EOF"));
    }

    #[test]
    fn dates_and_times_format_as_iso() {
        assert_eq!(format_date("20240131").as_deref(), Some("2024-01-31"));
        assert_eq!(format_date("1987.06.05").as_deref(), Some("1987-06-05"));
        assert_eq!(format_date("2024013"), None);
        assert_eq!(format_date("20241301"), None);
        assert_eq!(format_time("093005.123").as_deref(), Some("09:30:05"));
        assert_eq!(format_time("0930").as_deref(), Some("09:30"));
        assert_eq!(format_time("09:30:05").as_deref(), Some("09:30:05"));
        assert_eq!(format_time("2560"), None);
        assert_eq!(format_time("abc"), None);
    }
}
