//! STOW-RS (PS3.18 §10.5): instances in a streamed multipart/related body,
//! each through the archive's one ingest pipeline as soon as its part is
//! complete. The upload is never held whole in memory: at most the part
//! being read and the parts being stored.

use std::collections::HashMap;
use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;
use futures::stream::{FuturesOrdered, StreamExt};
use pacs_core::layout::read_part10_header;
use pacs_core::{Incoming, IngestError, Stored, Uid};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::WebState;
use crate::error::WebError;
use crate::gate::{Refusals, StoreReport};
use crate::multipart::{
    Item, Limits, MultipartError, MultipartReader, OversizedPart, Part, UnfinishedPart,
    parse_content_type,
};
use crate::request::Request;
use crate::router::{add_warning, response};

/// Parts stored concurrently while the next ones are read.
const PIPELINE: usize = 4;

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// The outcome of one part.
enum PartOutcome {
    Stored(Stored),
    Failed {
        sop_class: Option<String>,
        sop_instance: Option<String>,
        /// The study, where the refusal names it.
        study: Option<String>,
        reason: u16,
        message: String,
        transient: bool,
        /// Refused for its size: alone, such failures make a 413.
        too_large: bool,
    },
}

pub async fn store(
    state: &WebState,
    req: &Request,
    study: Option<Uid>,
    body: Body,
) -> Result<Response, WebError> {
    let content_type = req.content_type.as_deref().ok_or_else(|| {
        WebError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "STOW-RS needs Content-Type: multipart/related; type=\"application/dicom\"; boundary=...",
        )
    })?;
    let ct = parse_content_type(content_type)
        .map_err(|e| WebError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string()))?;
    if let Some(t) = &ct.type_param
        && t != "application/dicom"
    {
        return Err(WebError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("STOW-RS here accepts type=\"application/dicom\" parts; {t} is not supported"),
        ));
    }
    // Settled before anything is read: a client that cannot take the
    // answer must not have its instances stored without knowing it.
    let answer_type = req.json_content_type().ok_or_else(|| {
        WebError::not_acceptable(
            "STOW-RS answers in application/dicom+json (or application/json) only; \
             nothing was stored",
        )
    })?;
    let limits = Limits {
        max_part_size: state.config.max_instance_size,
        ..Limits::default()
    };
    let mut reader = MultipartReader::new(body, &ct.boundary, limits);
    if let Some(budget) = &state.config.memory_budget {
        reader = reader.with_budget(budget.clone());
    }
    let source = format!("stow:{}", req.peer);
    let mut outcomes = Vec::new();
    let mut pending = FuturesOrdered::new();
    let mut read_error = None;
    // Per SOP Instance UID, when the request's latest part of that
    // instance is done (see `after`).
    let mut latest: HashMap<String, oneshot::Receiver<()>> = HashMap::new();
    loop {
        // keep a few stores in flight while reading on
        while pending.len() >= PIPELINE {
            if let Some(o) = pending.next().await {
                outcomes.push(o);
            }
        }
        match reader.next_part().await {
            Ok(Some(Item::TooLarge(part))) => {
                tracing::info!(
                    peer = %req.peer,
                    size = part.size,
                    limit = part.limit,
                    "STOW-RS part over the size limit skipped"
                );
                outcomes.push(too_large(&part));
            }
            Ok(Some(Item::NoRoom(part))) => {
                tracing::warn!(
                    peer = %req.peer,
                    size = part.size,
                    budget = part.limit,
                    "STOW-RS part refused: the memory for uploads in progress is taken"
                );
                outcomes.push(no_room(&part));
            }
            Ok(Some(Item::Part(part))) => {
                // The part's share of the memory budget, kept until it is
                // stored.
                let held = reader.take_held();
                if let Some(refused) = not_dicom(&part) {
                    outcomes.push(refused);
                    continue;
                }
                let ingest = state.ingest.clone();
                let source = source.clone();
                let site = req.grant.site.clone();
                let study = study.clone();
                let ids = read_part10_header(&part.body).ok();
                let (done, after) = match &ids {
                    Some(h) => {
                        let (done, finished) = oneshot::channel();
                        let uid = h.media_storage_sop_instance_uid.clone();
                        (Some(done), latest.insert(uid, finished))
                    }
                    None => (None, None),
                };
                // a task of its own, so that it progresses while the next
                // part is read
                let task = tokio::spawn(async move {
                    let _held = held;
                    // An instance sent twice in one request is stored in
                    // the order sent, so that "the first one is kept" holds
                    // of the request's first.
                    if let Some(earlier) = after {
                        let _ = earlier.await;
                    }
                    let _done = done;
                    let body = part.body;
                    match ingest
                        .ingest_from(
                            Incoming::Part10(body),
                            &source,
                            site.as_deref(),
                            study.as_ref(),
                        )
                        .await
                    {
                        Ok(stored) => PartOutcome::Stored(stored),
                        Err(e) => failed(e, ids),
                    }
                });
                pending.push_back(async move {
                    task.await.unwrap_or_else(|e| PartOutcome::Failed {
                        sop_class: None,
                        sop_instance: None,
                        study: None,
                        reason: 0x0110,
                        message: format!("storing the part failed: {e}"),
                        transient: true,
                        too_large: false,
                    })
                });
            }
            Ok(None) => break,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    while let Some(o) = pending.next().await {
        outcomes.push(o);
    }
    if let Some(part) = reader.unfinished() {
        // A body unreadable from its first part is a bad request as a
        // whole (400 below); after stored parts, the part is listed.
        let unreadable = matches!(
            read_error,
            Some(MultipartError::MalformedHeader(_) | MultipartError::HeadersTooLarge { .. })
        );
        if !(unreadable && outcomes.is_empty()) {
            outcomes.push(cut_short(&part, read_error.as_ref()));
        }
    }
    state
        .gate
        .stored(&req.grant, store_report(&outcomes, study.as_ref()))
        .await;
    if let Some(e) = &read_error {
        tracing::warn!(peer = %req.peer, error = %e, stored = outcomes.len(), "STOW-RS body ended badly");
        if outcomes.is_empty() {
            return Err(WebError::new(
                body_error_status(e),
                format!("no instance stored: {e}"),
            ));
        }
    }
    if outcomes.is_empty() {
        // A body that closed without a part: nothing to store, and a
        // client told "200" would think its study sent.
        return Err(WebError::bad_request(
            "the multipart body holds no part: nothing was stored (is the boundary right, \
             and does each delimiter line end in CRLF?)",
        ));
    }
    Ok(reply(
        &outcomes,
        study.as_ref(),
        read_error.as_ref(),
        &req.base,
        answer_type,
    ))
}

/// The status of a request whose body could not be read to its end.
fn body_error_status(e: &MultipartError) -> StatusCode {
    match e {
        MultipartError::TooManyParts { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        MultipartError::InvalidContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn store_report(outcomes: &[PartOutcome], request_study: Option<&Uid>) -> StoreReport {
    let mut report = StoreReport::default();
    for o in outcomes {
        match o {
            PartOutcome::Stored(s) => {
                match report
                    .stored
                    .iter_mut()
                    .find(|(study, _)| *study == s.study_instance_uid)
                {
                    Some((_, n)) => *n += 1,
                    None => report.stored.push((s.study_instance_uid.clone(), 1)),
                }
            }
            PartOutcome::Failed { study, message, .. } => {
                let study = study
                    .clone()
                    .or_else(|| request_study.map(|s| s.to_string()));
                match report.refused.iter_mut().find(|r| r.study == study) {
                    Some(r) => r.count += 1,
                    None => report.refused.push(Refusals {
                        study,
                        count: 1,
                        first_reason: message.clone(),
                    }),
                }
            }
        }
    }
    report
}

/// The refusal of a part that is not `application/dicom`, if it is not.
fn not_dicom(part: &Part) -> Option<PartOutcome> {
    let part_type = part.content_type().map(|t| t.to_ascii_lowercase());
    let is_dicom = part_type
        .as_deref()
        .is_none_or(|t| t.split(';').next().map(str::trim) == Some("application/dicom"));
    (!is_dicom).then(|| PartOutcome::Failed {
        sop_class: None,
        sop_instance: None,
        study: None,
        reason: 0xC000,
        message: format!(
            "a part of type {} is not application/dicom",
            part_type.unwrap_or_default()
        ),
        transient: false,
        too_large: false,
    })
}

/// The refusal of a part over the size limit, naming the instance when
/// the file meta group fits in the head the reader kept.
fn too_large(part: &OversizedPart) -> PartOutcome {
    let (sop_class, sop_instance) = sop_ids(read_part10_header(&part.head).ok());
    PartOutcome::Failed {
        sop_class,
        sop_instance,
        study: None,
        reason: 0xA700,
        message: format!(
            "an instance of {} bytes is over the max_instance_size limit of {} bytes",
            part.size, part.limit
        ),
        transient: false,
        too_large: true,
    }
}

/// The refusal of a part the memory budget could not cover: transient.
fn no_room(part: &OversizedPart) -> PartOutcome {
    let (sop_class, sop_instance) = sop_ids(read_part10_header(&part.head).ok());
    PartOutcome::Failed {
        sop_class,
        sop_instance,
        study: None,
        reason: 0xA700,
        message: "the archive is receiving as much as its memory allows; \
                  send the instance again shortly"
            .into(),
        transient: true,
        too_large: false,
    }
}

/// The part the body broke off in: not stored, named where its file
/// meta group arrived, so that the client knows what to send again.
/// The part the body broke off in: cut short (send it again), or with
/// header fields that could not be read (fix the request).
fn cut_short(part: &UnfinishedPart, error: Option<&MultipartError>) -> PartOutcome {
    let (sop_class, sop_instance) = sop_ids(read_part10_header(&part.head).ok());
    let (reason, message, transient) = match error {
        Some(e @ (MultipartError::MalformedHeader(_) | MultipartError::HeadersTooLarge { .. })) => {
            (
                0xC000,
                format!("{e}: neither this part nor any after it was stored"),
                false,
            )
        }
        _ => (
            0x0110,
            format!(
                "the upload broke off {} bytes into this instance; it was not stored, send it again",
                part.received
            ),
            true,
        ),
    };
    PartOutcome::Failed {
        sop_class,
        sop_instance,
        study: None,
        reason,
        message,
        transient,
        too_large: false,
    }
}

fn failed(e: IngestError, ids: Option<pacs_core::layout::Part10Header>) -> PartOutcome {
    let (sop_class, sop_instance) = sop_ids(ids);
    PartOutcome::Failed {
        sop_class,
        sop_instance,
        study: e.study_uid().map(str::to_owned),
        reason: e.status(),
        transient: e.is_transient(),
        too_large: matches!(e, IngestError::TooLarge(_)),
        message: e.to_string(),
    }
}

/// SOP Class and Instance UIDs from a file meta group, where present.
fn sop_ids(header: Option<pacs_core::layout::Part10Header>) -> (Option<String>, Option<String>) {
    match header {
        Some(h) => (
            Some(h.media_storage_sop_class_uid).filter(|s| !s.is_empty()),
            Some(h.media_storage_sop_instance_uid).filter(|s| !s.is_empty()),
        ),
        None => (None, None),
    }
}

fn attr(vr: &str, values: Vec<Value>) -> Value {
    json!({ "vr": vr, "Value": values })
}

/// The PS3.18 response body and status.
fn reply(
    outcomes: &[PartOutcome],
    study: Option<&Uid>,
    read_error: Option<&MultipartError>,
    base: &str,
    content_type: &str,
) -> Response {
    let mut referenced = Vec::new();
    let mut failed = Vec::new();
    let mut studies = std::collections::BTreeSet::new();
    let mut all_transient = true;
    let mut all_too_large = true;
    let mut messages = Vec::new();
    for o in outcomes {
        match o {
            PartOutcome::Stored(s) => {
                studies.insert(s.study_instance_uid.clone());
                let url = format!(
                    "{base}/studies/{}/series/{}/instances/{}",
                    s.study_instance_uid, s.series_instance_uid, s.sop_instance_uid
                );
                referenced.push(json!({
                    "00081150": attr("UI", vec![json!(s.sop_class_uid)]),
                    "00081155": attr("UI", vec![json!(s.sop_instance_uid)]),
                    "00081190": attr("UR", vec![json!(url)]),
                }));
            }
            PartOutcome::Failed {
                sop_class,
                sop_instance,
                reason,
                message,
                transient,
                too_large,
                study: _,
            } => {
                all_transient &= *transient;
                all_too_large &= *too_large;
                messages.push(message.clone());
                let mut item = Map::new();
                if let Some(c) = sop_class {
                    item.insert("00081150".into(), attr("UI", vec![json!(c)]));
                }
                if let Some(i) = sop_instance {
                    item.insert("00081155".into(), attr("UI", vec![json!(i)]));
                }
                item.insert("00081197".into(), attr("US", vec![json!(reason)]));
                failed.push(Value::Object(item));
            }
        }
    }
    let (any_stored, any_failed) = (!referenced.is_empty(), !failed.is_empty());
    let mut body = Map::new();
    let study_url = study.map(|s| s.to_string()).or_else(|| {
        (studies.len() == 1)
            .then(|| studies.iter().next().cloned())
            .flatten()
    });
    if let Some(s) = study_url {
        body.insert(
            "00081190".into(),
            attr("UR", vec![json!(format!("{base}/studies/{s}"))]),
        );
    }
    if any_stored {
        body.insert("00081199".into(), attr("SQ", referenced));
    }
    if any_failed {
        body.insert("00081198".into(), attr("SQ", failed));
    }
    let status = if !any_failed && read_error.is_none() {
        StatusCode::OK
    } else if let (false, Some(e)) = (any_stored, read_error) {
        // Nothing stored: a failure, whatever the parts before the break.
        body_error_status(e)
    } else if !any_stored {
        if all_too_large {
            StatusCode::PAYLOAD_TOO_LARGE
        } else if all_transient {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::CONFLICT
        }
    } else {
        StatusCode::ACCEPTED
    };
    let json_body = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
    let mut r = response(content_type, json_body);
    *r.status_mut() = status;
    let mut warnings: Vec<String> = messages.into_iter().take(10).collect();
    if let Some(e) = read_error {
        warnings.push(format!("the request body ended badly: {e}"));
    }
    for w in warnings {
        add_warning(&mut r, &w);
    }
    r
}
