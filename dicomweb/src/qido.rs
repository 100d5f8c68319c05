//! QIDO-RS: searches for studies, series and instances (PS3.18 §10.6),
//! answered in DICOM JSON from the index alone.

use pacs_core::Uid;
use pacs_core::attribute_level;
use pacs_core::index::SearchRow;
use pacs_core::query::{Attribute, Level, Query};
use serde_json::{Map, Value, json};
use warp::reply::Response;

use crate::WebState;
use crate::error::WebError;
use crate::request::Request;
use crate::router::{add_warning, response};

pub async fn search(
    state: &WebState,
    req: &Request,
    level: Level,
    study: Option<Uid>,
    series: Option<Uid>,
) -> Result<Response, WebError> {
    let content_type = req.json_content_type().ok_or_else(|| {
        WebError::not_acceptable(
            "QIDO-RS answers in application/dicom+json (or application/json) only",
        )
    })?;
    let pairs = req
        .query
        .iter()
        .filter(|(k, _)| k != "accept")
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let (mut query, mut warnings) =
        Query::from_pairs(level, pairs).map_err(|e| WebError::bad_request(e.to_string()))?;
    query.study = study;
    query.series = series;
    query.scope = req.grant.scope.clone();
    // One more than the page, to tell the client when there is more
    // (PS3.18 §10.6.3: a Warning, rather than a page that looks whole).
    let limit = query.limit;
    query.limit = limit + 1;
    let mut rows = state.archive.index().search(&query).await?;
    if rows.len() > limit {
        rows.truncate(limit);
        warnings.push(format!(
            "There are additional results that can be requested: ask again with offset={}",
            query.offset.saturating_add(limit)
        ));
    }
    let results: Vec<Value> = rows
        .iter()
        .map(|row| {
            // attributes in tag order, as DICOM JSON producers conventionally write them
            let mut attrs: Vec<(String, Value)> =
                result(row, &query, &req.base).into_iter().collect();
            attrs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(attrs.into_iter().collect())
        })
        .collect();
    let body = serde_json::to_vec(&results)
        .map_err(|e| WebError::new(warp::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut r = response(content_type, body);
    for w in warnings {
        add_warning(&mut r, &w);
    }
    Ok(r)
}

fn vr_of(a: Attribute) -> &'static str {
    match a {
        Attribute::PatientName | Attribute::ReferringPhysicianName => "PN",
        Attribute::PatientId | Attribute::StudyDescription | Attribute::SeriesDescription => "LO",
        Attribute::PatientBirthDate
        | Attribute::StudyDate
        | Attribute::PerformedProcedureStepStartDate => "DA",
        Attribute::StudyTime | Attribute::PerformedProcedureStepStartTime => "TM",
        Attribute::PatientSex
        | Attribute::ModalitiesInStudy
        | Attribute::Modality
        | Attribute::BodyPartExamined => "CS",
        Attribute::StudyInstanceUid
        | Attribute::SeriesInstanceUid
        | Attribute::SopInstanceUid
        | Attribute::SopClassUid => "UI",
        Attribute::AccessionNumber
        | Attribute::StudyId
        | Attribute::RequestedProcedureId
        | Attribute::ScheduledProcedureStepId => "SH",
        Attribute::SeriesNumber | Attribute::InstanceNumber => "IS",
    }
}

fn put(map: &mut Map<String, Value>, tag: &str, vr: &str, values: Vec<Value>) {
    let mut attr = Map::new();
    attr.insert("vr".into(), Value::String(vr.into()));
    if !values.is_empty() {
        attr.insert("Value".into(), Value::Array(values));
    }
    map.insert(tag.into(), Value::Object(attr));
}

fn tag_key(g: u16, e: u16) -> String {
    format!("{g:04X}{e:04X}")
}

/// One QIDO-RS result object.
fn result(row: &SearchRow, q: &Query, base: &str) -> Map<String, Value> {
    let mut map = Map::new();
    // includefield values first, so that the index's own values win
    if let Some(sample) = &row.sample_metadata
        && let Ok(Value::Object(sample)) = serde_json::from_slice::<Value>(sample)
    {
        for (key, value) in sample {
            // What belongs below the level asked for is one instance's,
            // not the result's: never returned (PS3.18 §10.6.3.3).
            let asked = q.include.iter().any(|&(g, e)| tag_key(g, e) == key)
                && attribute_level::answers_at(&key, q.level, true);
            let all = q.include_all
                && attribute_level::answers_at(&key, q.level, q.level == Level::Instance);
            let wanted = asked || all;
            if wanted && !is_bulk(&value) {
                map.insert(key, value);
            }
        }
    }
    for (a, text) in &row.values {
        let (_, g, e) = a.keyword_and_tag();
        let vr = vr_of(*a);
        let value = match vr {
            "PN" => pacs_core::json::person_name(text),
            "IS" => text.parse::<i64>().map(|i| json!(i)).unwrap_or(Value::Null),
            _ => Value::String(text.clone()),
        };
        if value.is_null() {
            continue;
        }
        put(&mut map, &tag_key(g, e), vr, vec![value]);
    }
    if !row.requests.is_empty() {
        put(&mut map, "00400275", "SQ", request_items(row));
    }
    let study_url = format!("{base}/studies/{}", row.study_uid);
    put(&mut map, "00080056", "CS", vec![json!("ONLINE")]);
    match q.level {
        // QIDO-RS has no patient resource; C-FIND answers these itself.
        Level::Patient => {}
        Level::Study => {
            let modalities = row.modalities_in_study.iter().map(|m| json!(m)).collect();
            put(&mut map, "00080061", "CS", modalities);
            put(
                &mut map,
                "00201206",
                "IS",
                vec![json!(row.study_related_series)],
            );
            put(
                &mut map,
                "00201208",
                "IS",
                vec![json!(row.study_related_instances)],
            );
            put(&mut map, "00081190", "UR", vec![json!(study_url)]);
        }
        Level::Series => {
            let se = row.series_uid.as_deref().unwrap_or_default();
            put(
                &mut map,
                "00201209",
                "IS",
                vec![json!(row.series_related_instances.unwrap_or(0))],
            );
            put(
                &mut map,
                "00081190",
                "UR",
                vec![json!(format!("{study_url}/series/{se}"))],
            );
        }
        Level::Instance => {
            let se = row.series_uid.as_deref().unwrap_or_default();
            let i = row.sop_instance_uid.as_deref().unwrap_or_default();
            if let Some(n) = row.number_of_frames {
                put(&mut map, "00280008", "IS", vec![json!(n)]);
            }
            if let Some(n) = row.rows {
                put(&mut map, "00280010", "US", vec![json!(n)]);
            }
            if let Some(n) = row.columns {
                put(&mut map, "00280011", "US", vec![json!(n)]);
            }
            if let Some(n) = row.bits_allocated {
                put(&mut map, "00280100", "US", vec![json!(n)]);
            }
            if let Some(ts) = &row.transfer_syntax_uid {
                put(&mut map, "00083002", "UI", vec![json!(ts)]);
            }
            put(
                &mut map,
                "00081190",
                "UR",
                vec![json!(format!("{study_url}/series/{se}/instances/{i}"))],
            );
        }
    }
    map
}

/// The series' Request Attributes Sequence, each item with the IDs it
/// has (PS3.18 Table 10.6.3-4).
fn request_items(row: &SearchRow) -> Vec<Value> {
    row.requests
        .iter()
        .map(|r| {
            let mut item = Map::new();
            if let Some(id) = &r.scheduled_procedure_step_id {
                put(&mut item, "00400009", "SH", vec![json!(id)]);
            }
            if let Some(id) = &r.requested_procedure_id {
                put(&mut item, "00401001", "SH", vec![json!(id)]);
            }
            Value::Object(item)
        })
        .collect()
}

fn is_bulk(value: &Value) -> bool {
    value.get("BulkDataURI").is_some() || value.get("InlineBinary").is_some()
}
