//! Sequence keys (PS3.4 C.2.2.2.6). A sequence key with one item names
//! what to return of each stored item, and may give values an item must
//! have: the items that match come back holding only the attributes
//! asked for, and an entity with none matches no more. Above the IMAGE
//! level one stored instance stands for the whole entity: that holds for a
//! sequence of the entity's own level or above (Procedure Code Sequence in
//! a study query), which therefore decides the match; one of a lower level
//! (`crate::attribute_level`) comes back empty and matches nothing, and
//! one of unknown level chooses the items returned but drops no entity.
//! A zero-length key, or one whose
//! item is empty, asks for the whole sequence. Item values match as
//! top-level ones do: single values exactly, wildcards, date and time
//! ranges; names ignoring case.

use dicom_core::value::Value as DicomValue;
use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;
use serde_json::{Map, Value as Json};

use crate::forward::{wildcard_match, wildcard_match_cased};
use crate::json::tag_key;

/// One attribute of a sequence key's item.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ItemKey {
    /// The attribute's DICOM JSON key (`GGGGEEEE`).
    key: String,
    vr: VR,
    /// The value an item must have (wildcards allowed), or `None` for a
    /// return key.
    wanted: Option<String>,
}

/// The item of a sequence key that is not zero-length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ItemKeys(Vec<ItemKey>);

impl ItemKeys {
    /// The item keys of `element`'s value, or `None` when it asks for the
    /// whole sequence.
    pub(super) fn of(value: &DicomValue<InMemDicomObject>) -> Option<ItemKeys> {
        let item = value.items()?.first()?;
        let keys: Vec<ItemKey> = item
            .into_iter()
            .map(|element| {
                let wanted = match element.value() {
                    DicomValue::Primitive(_) if element.header().vr != VR::SQ => element
                        .to_str()
                        .ok()
                        .map(|s| s.trim_matches([' ', '\0']).to_owned())
                        .filter(|s| !s.is_empty() && !s.chars().all(|c| c == '*')),
                    _ => None,
                };
                ItemKey {
                    key: tag_key(element.header().tag),
                    vr: element.header().vr,
                    wanted,
                }
            })
            .collect();
        (!keys.is_empty()).then_some(ItemKeys(keys))
    }

    /// Whether any item key carries a value to match.
    fn matches_values(&self) -> bool {
        self.0.iter().any(|k| k.wanted.is_some())
    }

    /// The DICOM JSON of sequence `tag` as the response carries it, from
    /// the stored `value` (absent when the entity has none): the items
    /// that match, each holding only the attributes asked for. `None` when
    /// values were asked for, no item has them and `may_drop`: the entity
    /// does not match.
    pub(super) fn select(
        &self,
        tag: Tag,
        value: Option<&Json>,
        may_drop: bool,
    ) -> Option<Map<String, Json>> {
        let stored = value
            .and_then(|v| v.get("Value"))
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let items: Vec<Json> = stored
            .iter()
            .filter_map(Json::as_object)
            .filter(|item| self.0.iter().all(|k| k.admits(item)))
            .map(|item| {
                let kept: Map<String, Json> = self
                    .0
                    .iter()
                    .filter_map(|k| Some((k.key.clone(), item.get(&k.key)?.clone())))
                    .collect();
                Json::Object(kept)
            })
            .collect();
        if items.is_empty() && self.matches_values() && may_drop {
            return None;
        }
        let mut sequence = Map::new();
        sequence.insert("vr".into(), Json::from("SQ"));
        sequence.insert("Value".into(), Json::Array(items));
        let mut out = Map::new();
        out.insert(tag_key(tag), Json::Object(sequence));
        Some(out)
    }
}

impl ItemKey {
    /// Whether `item` has the value this key asks for, if it asks for one.
    fn admits(&self, item: &Map<String, Json>) -> bool {
        let Some(wanted) = &self.wanted else {
            return true;
        };
        let values = item
            .get(&self.key)
            .and_then(|a| a.get("Value"))
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        values.iter().any(|v| {
            let text = match v {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Object(pn) => pn
                    .get("Alphabetic")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                _ => return false,
            };
            value_matches(self.vr, wanted, &text)
        })
    }
}

/// Whether a stored `text` of VR `vr` matches the `wanted` key value.
fn value_matches(vr: VR, wanted: &str, text: &str) -> bool {
    if vr == VR::PN {
        return wildcard_match(wanted, text);
    }
    if matches!(vr, VR::DA | VR::TM | VR::DT)
        && let Some((low, high)) = wanted.split_once('-')
    {
        let plain = |s: &str| s.trim().replace(':', "");
        let (low, high, text) = (plain(low), plain(high), plain(text));
        // A bound is compared over its own length: `-1200` takes 1159.59.
        let at_least = low.is_empty() || text.as_str() >= low.as_str();
        let at_most = high.is_empty() || text.get(..high.len()).unwrap_or(&text) <= high.as_str();
        return at_least && at_most;
    }
    wildcard_match_cased(wanted, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue};
    use dicom_dictionary_std::tags;

    fn key_item(pairs: &[(Tag, VR, &str)]) -> DicomValue<InMemDicomObject> {
        let mut item = InMemDicomObject::new_empty();
        for (tag, vr, value) in pairs {
            item.put(DataElement::new(*tag, *vr, PrimitiveValue::from(*value)));
        }
        DicomValue::from(DataSetSequence::from(vec![item]))
    }

    fn stored() -> Json {
        serde_json::json!({
            "vr": "SQ",
            "Value": [
                {
                    "00080100": {"vr": "SH", "Value": ["CTCHEST"]},
                    "00080102": {"vr": "SH", "Value": ["LOCAL"]},
                    "00080104": {"vr": "LO", "Value": ["CT chest without contrast"]}
                },
                {
                    "00080100": {"vr": "SH", "Value": ["CTABD"]},
                    "00080102": {"vr": "SH", "Value": ["LOCAL"]},
                    "00080104": {"vr": "LO", "Value": ["CT abdomen"]}
                }
            ]
        })
    }

    #[test]
    fn an_empty_item_or_no_item_asks_for_the_whole_sequence() {
        let empty: DicomValue<InMemDicomObject> =
            DicomValue::from(DataSetSequence::from(vec![InMemDicomObject::new_empty()]));
        assert_eq!(ItemKeys::of(&empty), None);
        let none: DicomValue<InMemDicomObject> =
            DicomValue::from(DataSetSequence::<InMemDicomObject>::empty());
        assert_eq!(ItemKeys::of(&none), None);
    }

    #[test]
    fn only_the_attributes_asked_for_come_back() {
        let keys = ItemKeys::of(&key_item(&[(tags::CODE_VALUE, VR::SH, "")])).unwrap();
        let out = keys
            .select(tags::PROCEDURE_CODE_SEQUENCE, Some(&stored()), true)
            .unwrap();
        assert_eq!(
            Json::Object(out),
            serde_json::json!({"00081032": {"vr": "SQ", "Value": [
                {"00080100": {"vr": "SH", "Value": ["CTCHEST"]}},
                {"00080100": {"vr": "SH", "Value": ["CTABD"]}}
            ]}})
        );
        // Nothing stored: an empty sequence, and still a match.
        let out = keys
            .select(tags::PROCEDURE_CODE_SEQUENCE, None, true)
            .unwrap();
        assert_eq!(
            Json::Object(out),
            serde_json::json!({"00081032": {"vr": "SQ", "Value": []}})
        );
    }

    #[test]
    fn item_values_select_items_and_entities() {
        let keys = ItemKeys::of(&key_item(&[
            (tags::CODE_VALUE, VR::SH, "CTABD"),
            (tags::CODE_MEANING, VR::LO, ""),
        ]))
        .unwrap();
        let out = keys
            .select(tags::PROCEDURE_CODE_SEQUENCE, Some(&stored()), true)
            .unwrap();
        assert_eq!(
            Json::Object(out),
            serde_json::json!({"00081032": {"vr": "SQ", "Value": [{
                "00080100": {"vr": "SH", "Value": ["CTABD"]},
                "00080104": {"vr": "LO", "Value": ["CT abdomen"]}
            }]}})
        );
        let wildcard = ItemKeys::of(&key_item(&[(tags::CODE_MEANING, VR::LO, "CT ch*")])).unwrap();
        let out = wildcard
            .select(tags::PROCEDURE_CODE_SEQUENCE, Some(&stored()), true)
            .unwrap();
        assert_eq!(out["00081032"]["Value"].as_array().unwrap().len(), 1);
        let absent = ItemKeys::of(&key_item(&[(tags::CODE_VALUE, VR::SH, "MRHEAD")])).unwrap();
        assert_eq!(
            absent.select(tags::PROCEDURE_CODE_SEQUENCE, Some(&stored()), true),
            None
        );
        assert_eq!(
            absent.select(tags::PROCEDURE_CODE_SEQUENCE, None, true),
            None
        );
    }

    #[test]
    fn item_values_match_as_top_level_ones_do() {
        assert!(value_matches(VR::SH, "CTABD", "CTABD"));
        assert!(!value_matches(VR::SH, "ctabd", "CTABD"), "case counts");
        assert!(value_matches(VR::PN, "ivanov*", "Ivanov^Ivan"));
        assert!(value_matches(VR::DA, "20200101-20201231", "20200615"));
        assert!(!value_matches(VR::DA, "20200101-20201231", "20210102"));
        assert!(value_matches(VR::DA, "-20200101", "20191231"));
        assert!(value_matches(VR::DA, "20200101-", "20250101"));
        assert!(value_matches(VR::TM, "0800-1200", "115959.5"));
        assert!(!value_matches(VR::TM, "0800-1200", "1201"));
        assert!(value_matches(VR::TM, "08:00-12:00", "09:30"));
    }

    #[test]
    fn above_the_image_level_item_values_drop_no_entity() {
        let absent = ItemKeys::of(&key_item(&[(tags::CODE_VALUE, VR::SH, "MRHEAD")])).unwrap();
        let out = absent
            .select(tags::PROCEDURE_CODE_SEQUENCE, Some(&stored()), false)
            .unwrap();
        assert_eq!(
            Json::Object(out),
            serde_json::json!({"00081032": {"vr": "SQ", "Value": []}})
        );
    }
}
