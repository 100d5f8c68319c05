//! C-FIND (PS3.4 C.4.1, C.6.1 and C.6.2): an identifier data set turned
//! into an index [`Query`], and each search row turned back into a
//! response identifier holding exactly the keys that were asked for.
//!
//! Matching uses the index's columns (patient, study, series and instance
//! attributes that QIDO-RS matches on too); any other key is a return key,
//! answered from the stored metadata of one instance of the row's scope,
//! or empty when the archive does not know it; a sequence key whose item
//! names attributes gets the matching items with those attributes only
//! (`sequence`). Hierarchical search is
//! applied leniently: a missing unique key of a higher level widens the
//! search instead of failing it, as most archives do.

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value as DicomValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use serde_json::{Map, Value as Json};

mod sequence;

use sequence::ItemKeys;

use crate::index::SearchRow;
use crate::json::tag_key;
use crate::query::{Attribute, Level, Match, Query, parse_value};

/// The query/retrieve information model of the presentation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Patient Root: PATIENT, STUDY, SERIES, IMAGE.
    PatientRoot,
    /// Study Root: STUDY, SERIES, IMAGE.
    StudyRoot,
}

impl Model {
    /// The model of a C-FIND, C-GET or C-MOVE SOP class UID.
    pub fn of_sop_class(uid: &str) -> Option<Model> {
        use dicom_dictionary_std::uids;
        match uid {
            uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND
            | uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET
            | uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE => Some(Model::PatientRoot),
            uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND
            | uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET
            | uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE => Some(Model::StudyRoot),
            _ => None,
        }
    }
}

/// The index query listing every instance a C-GET or C-MOVE identifier
/// names. The
/// identifier must hold the unique key of its level (Patient ID, Study,
/// Series or SOP Instance UID, a list allowed), so that an incomplete
/// request never sends the whole archive.
pub fn retrieve_query(model: Model, identifier: &InMemDicomObject) -> Result<Query, FindError> {
    let find = Find::from_identifier(model, identifier)?;
    let unique = match find.level {
        Level::Patient => Attribute::PatientId,
        Level::Study => Attribute::StudyInstanceUid,
        Level::Series => Attribute::SeriesInstanceUid,
        Level::Instance => Attribute::SopInstanceUid,
    };
    if !find.query.matches.iter().any(|m| m.attribute == unique) {
        return Err(FindError::MissingUniqueKey(unique.keyword_and_tag().0));
    }
    let mut query = find.query;
    query.level = Level::Instance;
    query.include.clear();
    query.offset = 0;
    query.limit = i64::MAX as usize;
    Ok(query)
}

/// Why an identifier cannot be answered; the message is for the peer's
/// log (Error Comment) and ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    #[error("the identifier has no Query/Retrieve Level (0008,0052)")]
    MissingLevel,
    #[error("Query/Retrieve Level {0:?} is not PATIENT, STUDY, SERIES or IMAGE")]
    UnknownLevel(String),
    #[error("Query/Retrieve Level PATIENT is not part of the Study Root model")]
    LevelNotInModel,
    #[error("{keyword}: {reason}")]
    BadKey { keyword: String, reason: String },
    #[error("the identifier cannot be read: {0}")]
    Unreadable(String),
    #[error("transfer syntax {0} is not known")]
    UnknownTransferSyntax(String),
    #[error("a retrieve at this level needs {0}")]
    MissingUniqueKey(&'static str),
}

/// A C-FIND request ready to run: the index query (its page fields left
/// to the caller) and the keys each response must carry, in order.
#[derive(Debug, Clone)]
pub struct Find {
    pub level: Level,
    pub query: Query,
    /// The identifier's keys other than the Query/Retrieve Level and the
    /// Specific Character Set, with the VR the peer gave them.
    keys: Vec<(Tag, VR)>,
    /// The sequence keys whose item names attributes.
    items: Vec<(Tag, ItemKeys)>,
}

/// Counts and other values computed per row rather than stored.
const NUMBER_OF_PATIENT_RELATED_STUDIES: Tag = tags::NUMBER_OF_PATIENT_RELATED_STUDIES;

impl Find {
    /// Reads an identifier under `model`.
    pub fn from_identifier(model: Model, identifier: &InMemDicomObject) -> Result<Find, FindError> {
        let level = identifier
            .get(tags::QUERY_RETRIEVE_LEVEL)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim().to_ascii_uppercase())
            .ok_or(FindError::MissingLevel)?;
        let level = match level.as_str() {
            "PATIENT" if model == Model::PatientRoot => Level::Patient,
            "PATIENT" => return Err(FindError::LevelNotInModel),
            "STUDY" => Level::Study,
            "SERIES" => Level::Series,
            "IMAGE" => Level::Instance,
            _ => return Err(FindError::UnknownLevel(level)),
        };
        let mut query = Query::new(level);
        let mut keys = Vec::new();
        let mut items = Vec::new();
        for element in identifier {
            let tag = element.header().tag;
            if tag == tags::QUERY_RETRIEVE_LEVEL || tag == tags::SPECIFIC_CHARACTER_SET {
                continue;
            }
            keys.push((tag, element.header().vr));
            if let Some(item) = ItemKeys::of(element.value()) {
                items.push((tag, item));
            }
            let Some(attribute) = attribute_of(tag) else {
                continue;
            };
            if attribute.level() > level {
                // A key below the level asked for (an image key in a study
                // query) matches nothing; it is returned empty.
                continue;
            }
            let text = match element.value() {
                DicomValue::Primitive(PrimitiveValue::Empty) => continue,
                DicomValue::Primitive(_) => {
                    element
                        .to_str()
                        .map(|s| s.into_owned())
                        .map_err(|e| FindError::BadKey {
                            keyword: attribute.keyword_and_tag().0.to_owned(),
                            reason: e.to_string(),
                        })?
                }
                _ => continue,
            };
            let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
            // Universal matching: an empty value or a lone `*` matches all.
            if text.is_empty() || text.chars().all(|c| c == '*') {
                continue;
            }
            let value = parse_value(attribute, text).map_err(|reason| FindError::BadKey {
                keyword: attribute.keyword_and_tag().0.to_owned(),
                reason,
            })?;
            query.matches.push(Match { attribute, value });
        }
        // Return keys the index holds no column for come from the stored
        // metadata of one instance of each result.
        query.include = keys
            .iter()
            .filter(|(tag, _)| attribute_of(*tag).is_none() && computed(*tag).is_none())
            .map(|(tag, _)| (tag.group(), tag.element()))
            .collect();
        Ok(Find {
            level,
            query,
            keys,
            items,
        })
    }

    /// The response identifier for one search row: every requested key, in
    /// the request's order, with its value where the archive knows it and
    /// empty otherwise (of a sequence whose key names item attributes, the
    /// matching items with those attributes only); the Query/Retrieve
    /// Level; the Retrieve AE Title; and UTF-8 as the character set when
    /// any value needs it. `None` when the row fails a sequence key's item
    /// values, which the index does not match on.
    pub fn response(&self, row: &SearchRow, retrieve_ae_title: &str) -> Option<InMemDicomObject> {
        let sample: Option<Map<String, Json>> = row
            .sample_metadata
            .as_deref()
            .and_then(|bytes| serde_json::from_slice(bytes).ok());
        let mut out = InMemDicomObject::new_empty();
        let level_name = match self.level {
            Level::Patient => "PATIENT",
            Level::Study => "STUDY",
            Level::Series => "SERIES",
            Level::Instance => "IMAGE",
        };
        out.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from(level_name),
        ));
        out.put(DataElement::new(
            tags::RETRIEVE_AE_TITLE,
            VR::AE,
            PrimitiveValue::from(retrieve_ae_title),
        ));
        let mut non_ascii = false;
        for &(tag, vr) in &self.keys {
            // What the stored instance holds of a key that belongs below
            // the level asked for is that instance's, not the entity's:
            // returned empty, never matched.
            let own_level = crate::attribute_level::answers_at(&tag_key(tag), self.level, true);
            if let Some((_, item)) = self.items.iter().find(|(t, _)| *t == tag) {
                if !own_level {
                    out.put(empty_element(tag, vr));
                    continue;
                }
                let stored = sample.as_ref().and_then(|s| s.get(&tag_key(tag)));
                // Of the entity's own level or above, the one instance's
                // items stand for the entity's and decide the match; of
                // an unknown level, only at the IMAGE level.
                let decides = crate::attribute_level::answers_at(
                    &tag_key(tag),
                    self.level,
                    self.level == Level::Instance,
                );
                let selected = item.select(tag, stored, decides)?;
                let element =
                    from_metadata(&selected, tag).unwrap_or_else(|| empty_element(tag, vr));
                non_ascii |= !serde_json::to_string(&selected)
                    .unwrap_or_default()
                    .is_ascii();
                out.put(element);
                continue;
            }
            let element = known_value(tag, row)
                .map(|mut text| {
                    non_ascii |= !text.is_ascii();
                    // UIDs are padded with NUL, not the writer's space.
                    if vr == VR::UI && text.len() % 2 == 1 {
                        text.push('\0');
                    }
                    DataElement::new(tag, vr, PrimitiveValue::from(text))
                })
                .or_else(|| {
                    let sample = sample.as_ref().filter(|_| own_level)?;
                    let element = from_metadata(sample, tag)?;
                    if let Ok(text) = element.to_str() {
                        non_ascii |= !text.is_ascii();
                    }
                    Some(element)
                })
                .unwrap_or_else(|| empty_element(tag, vr));
            out.put(element);
        }
        if non_ascii {
            out.put(DataElement::new(
                tags::SPECIFIC_CHARACTER_SET,
                VR::CS,
                PrimitiveValue::from("ISO_IR 192"),
            ));
        }
        Some(out)
    }
}

/// A return key with no value: zero length, and for a sequence an empty
/// sequence (a primitive "empty" under VR SQ is dropped when written).
fn empty_element(tag: Tag, vr: VR) -> DataElement<InMemDicomObject> {
    if vr == VR::SQ {
        DataElement::new(
            tag,
            VR::SQ,
            DicomValue::from(DataSetSequence::<InMemDicomObject>::empty()),
        )
    } else {
        DataElement::new(tag, vr, PrimitiveValue::Empty)
    }
}

/// The matching attribute a top-level tag stands for (the attributes of
/// a sequence's items are matched as sequence keys, `sequence`).
fn attribute_of(tag: Tag) -> Option<Attribute> {
    Attribute::ALL.into_iter().find(|a| {
        let (_, group, element) = a.keyword_and_tag();
        Tag(group, element) == tag && a.sequence().is_none()
    })
}

/// Values computed per row: counts, modalities, availability.
fn computed(tag: Tag) -> Option<fn(&SearchRow) -> Option<String>> {
    let f: fn(&SearchRow) -> Option<String> = match tag {
        NUMBER_OF_PATIENT_RELATED_STUDIES => |r| Some(r.patient_related_studies.to_string()),
        tags::NUMBER_OF_PATIENT_RELATED_SERIES | tags::NUMBER_OF_STUDY_RELATED_SERIES => {
            |r| Some(r.study_related_series.to_string())
        }
        tags::NUMBER_OF_PATIENT_RELATED_INSTANCES | tags::NUMBER_OF_STUDY_RELATED_INSTANCES => {
            |r| Some(r.study_related_instances.to_string())
        }
        tags::NUMBER_OF_SERIES_RELATED_INSTANCES => {
            |r| r.series_related_instances.map(|n| n.to_string())
        }
        tags::MODALITIES_IN_STUDY => {
            |r| (!r.modalities_in_study.is_empty()).then(|| r.modalities_in_study.join("\\"))
        }
        tags::INSTANCE_AVAILABILITY => |_| Some("ONLINE".to_owned()),
        tags::NUMBER_OF_FRAMES => |r| r.number_of_frames.map(|n| n.to_string()),
        _ => return None,
    };
    Some(f)
}

/// What the index itself knows for `tag` in `row`.
fn known_value(tag: Tag, row: &SearchRow) -> Option<String> {
    if let Some(value) = computed(tag) {
        return value(row);
    }
    let attribute = attribute_of(tag)?;
    if attribute == Attribute::ModalitiesInStudy {
        return None;
    }
    row.values
        .iter()
        .find(|(a, _)| *a == attribute)
        .map(|(_, text)| text.clone())
}

/// One element of an instance's stored DICOM JSON as a data element;
/// `None` for bulk data (never part of a C-FIND response) or when absent.
fn from_metadata(sample: &Map<String, Json>, tag: Tag) -> Option<DataElement<InMemDicomObject>> {
    let key = tag_key(tag);
    let value = sample.get(&key)?;
    if value.get("BulkDataURI").is_some() || value.get("InlineBinary").is_some() {
        return None;
    }
    let mut single = Map::new();
    single.insert(key, value.clone());
    let object: InMemDicomObject = dicom_json::from_value(Json::Object(single)).ok()?;
    object.get(tag).cloned()
}

/// Reads an identifier received in transfer syntax `ts_uid`.
pub fn read_identifier(bytes: &[u8], ts_uid: &str) -> Result<InMemDicomObject, FindError> {
    let ts = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| FindError::UnknownTransferSyntax(ts_uid.to_owned()))?;
    InMemDicomObject::read_dataset_with_ts(bytes, ts)
        .map_err(|e| FindError::Unreadable(e.to_string()))
}

/// Writes a response identifier in transfer syntax `ts_uid`.
pub fn write_identifier(identifier: &InMemDicomObject, ts_uid: &str) -> Result<Vec<u8>, FindError> {
    let ts = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| FindError::UnknownTransferSyntax(ts_uid.to_owned()))?;
    let mut out = Vec::new();
    identifier
        .write_dataset_with_ts(&mut out, ts)
        .map_err(|e| FindError::Unreadable(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::MatchValue;

    fn identifier(level: &str, keys: &[(Tag, VR, &str)]) -> InMemDicomObject {
        let mut o = InMemDicomObject::new_empty();
        o.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from(level),
        ));
        for &(tag, vr, value) in keys {
            let value = if value.is_empty() {
                PrimitiveValue::Empty
            } else {
                PrimitiveValue::from(value)
            };
            o.put(DataElement::new(tag, vr, value));
        }
        o
    }

    #[test]
    fn keys_become_matches_and_return_keys() {
        let id = identifier(
            "STUDY",
            &[
                (tags::PATIENT_NAME, VR::PN, "Иван*"),
                (tags::STUDY_DATE, VR::DA, "20250101-20251231"),
                (tags::ACCESSION_NUMBER, VR::SH, ""),
                (tags::STUDY_INSTANCE_UID, VR::UI, ""),
                (tags::PATIENT_AGE, VR::AS, ""),
                (tags::SOP_INSTANCE_UID, VR::UI, "1.2.3"),
            ],
        );
        let find = Find::from_identifier(Model::StudyRoot, &id).unwrap();
        assert_eq!(find.level, Level::Study);
        assert_eq!(
            find.query.matches,
            // In tag order, as the identifier holds them.
            vec![
                Match {
                    attribute: Attribute::StudyDate,
                    value: MatchValue::Range(Some("20250101".into()), Some("20251231".into()))
                },
                Match {
                    attribute: Attribute::PatientName,
                    value: MatchValue::Wildcard("Иван*".into())
                },
            ],
            "empty keys match everything; an image key does not restrict a study query"
        );
        // Patient's Age is not indexed: it comes from stored metadata.
        assert_eq!(find.query.include, vec![(0x0010, 0x1010)]);
    }

    #[test]
    fn levels_follow_the_model() {
        let patient = identifier("PATIENT", &[]);
        assert_eq!(
            Find::from_identifier(Model::StudyRoot, &patient).unwrap_err(),
            FindError::LevelNotInModel
        );
        assert_eq!(
            Find::from_identifier(Model::PatientRoot, &patient)
                .unwrap()
                .level,
            Level::Patient
        );
        assert_eq!(
            Find::from_identifier(Model::StudyRoot, &identifier("FRAME", &[])).unwrap_err(),
            FindError::UnknownLevel("FRAME".into())
        );
        let mut none = InMemDicomObject::new_empty();
        none.put(DataElement::new(
            tags::PATIENT_ID,
            VR::LO,
            PrimitiveValue::Empty,
        ));
        assert_eq!(
            Find::from_identifier(Model::StudyRoot, &none).unwrap_err(),
            FindError::MissingLevel
        );
        let bad = identifier("STUDY", &[(tags::STUDY_DATE, VR::DA, "yesterday")]);
        assert!(matches!(
            Find::from_identifier(Model::StudyRoot, &bad),
            Err(FindError::BadKey { .. })
        ));
    }

    #[test]
    fn a_retrieve_names_what_it_retrieves() {
        let study = identifier(
            "STUDY",
            &[(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3\\1.2.4")],
        );
        let query = retrieve_query(Model::StudyRoot, &study).unwrap();
        assert_eq!(query.level, Level::Instance);
        assert_eq!(
            query.matches,
            vec![Match {
                attribute: Attribute::StudyInstanceUid,
                value: MatchValue::UidList(vec!["1.2.3".into(), "1.2.4".into()])
            }]
        );
        let everything = identifier("STUDY", &[(tags::PATIENT_NAME, VR::PN, "*")]);
        assert_eq!(
            retrieve_query(Model::StudyRoot, &everything).unwrap_err(),
            FindError::MissingUniqueKey("StudyInstanceUID")
        );
        let patient = identifier("PATIENT", &[(tags::PATIENT_ID, VR::LO, "UZ-1")]);
        assert!(retrieve_query(Model::PatientRoot, &patient).is_ok());
    }

    #[test]
    fn responses_carry_exactly_the_requested_keys() {
        let id = identifier(
            "STUDY",
            &[
                (tags::PATIENT_NAME, VR::PN, ""),
                (tags::NUMBER_OF_STUDY_RELATED_INSTANCES, VR::IS, ""),
                (tags::PATIENT_AGE, VR::AS, ""),
                (tags::INSTITUTION_NAME, VR::LO, ""),
                (tags::MODALITIES_IN_STUDY, VR::CS, ""),
            ],
        );
        let mut id = id;
        id.put(empty_element(tags::PROCEDURE_CODE_SEQUENCE, VR::SQ));
        let find = Find::from_identifier(Model::StudyRoot, &id).unwrap();
        let row = SearchRow {
            values: vec![
                (Attribute::PatientName, "Иванов^Иван".into()),
                (Attribute::StudyInstanceUid, "1.2.3".into()),
            ],
            study_uid: "1.2.3".into(),
            modalities_in_study: vec!["CT".into(), "SR".into()],
            study_related_instances: 300,
            sample_metadata: Some(br#"{"00101010": {"vr": "AS", "Value": ["056Y"]}}"#.to_vec()),
            ..SearchRow::default()
        };
        let out = find.response(&row, "PACS").unwrap();
        let text = |tag| out.element(tag).unwrap().to_str().unwrap().into_owned();
        assert_eq!(text(tags::QUERY_RETRIEVE_LEVEL), "STUDY");
        assert_eq!(text(tags::RETRIEVE_AE_TITLE), "PACS");
        assert_eq!(text(tags::PATIENT_NAME), "Иванов^Иван");
        assert_eq!(text(tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
        assert_eq!(text(tags::NUMBER_OF_STUDY_RELATED_INSTANCES), "300");
        assert_eq!(text(tags::PATIENT_AGE), "056Y");
        assert_eq!(text(tags::MODALITIES_IN_STUDY), "CT\\SR");
        assert_eq!(
            text(tags::INSTITUTION_NAME),
            "",
            "unknown keys come back empty"
        );
        assert!(
            out.element(tags::STUDY_INSTANCE_UID).is_err(),
            "only requested keys are returned"
        );
        // And it survives encoding in both little endian syntaxes.
        for ts in ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"] {
            let bytes = write_identifier(&out, ts).unwrap();
            let back = read_identifier(&bytes, ts).unwrap();
            assert_eq!(
                back.element(tags::PATIENT_NAME).unwrap().to_str().unwrap(),
                "Иванов^Иван"
            );
            // A requested sequence with nothing known comes back empty,
            // beside a name that needs a character set.
            let procedure = back
                .element(tags::PROCEDURE_CODE_SEQUENCE)
                .unwrap_or_else(|_| panic!("{ts}: the sequence key is dropped"));
            assert_eq!(procedure.vr(), VR::SQ);
            assert!(procedure.items().is_some_and(|i| i.is_empty()), "{ts}");
        }
    }
}
