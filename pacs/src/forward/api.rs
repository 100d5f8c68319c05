//! The forwarding API, for the operators' page and for scripts:
//!
//! - `GET /api/forwarding/destinations`: each destination, where it is,
//!   its limits, and its jobs by state;
//! - `GET /api/forwarding/jobs?state=&destination=&study=&limit=`: jobs,
//!   most recently changed first, with progress (`instances_sent` of
//!   `instances_total`) and the last error;
//! - `GET /api/forwarding/jobs/{id}`: one job and its history;
//! - `POST /api/forwarding/jobs/{id}/retry` and `.../cancel`.

use std::collections::HashMap;
use std::sync::Arc;

use pacs_core::forward::{JobFilter, JobState, Outbox, now_millis};
use serde_json::{Value, json};
use tokio::sync::Notify;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::config::{ForwardConfig, Target};

const MAX_LIMIT: usize = 1000;

pub fn routes(
    outbox: Arc<dyn Outbox>,
    config: Arc<ForwardConfig>,
    wake: Arc<Notify>,
) -> BoxedFilter<(Response,)> {
    let base = warp::path("api").and(warp::path("forwarding"));
    let with_outbox = {
        let outbox = outbox.clone();
        warp::any().map(move || outbox.clone())
    };

    let destinations = base
        .and(warp::path("destinations"))
        .and(warp::path::end())
        .and(crate::http::get())
        .and(with_outbox.clone())
        .then(move |outbox: Arc<dyn Outbox>| {
            let config = config.clone();
            async move { destinations(&*outbox, &config).await }
        });

    let list = base
        .and(warp::path("jobs"))
        .and(warp::path::end())
        .and(crate::http::get())
        .and(warp::query::<HashMap<String, String>>())
        .and(with_outbox.clone())
        .then(
            |query: HashMap<String, String>, outbox: Arc<dyn Outbox>| async move {
                list(&*outbox, &query).await
            },
        );

    let one = base
        .and(warp::path("jobs"))
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(crate::http::get())
        .and(with_outbox.clone())
        .then(|id: String, outbox: Arc<dyn Outbox>| async move {
            let Ok(id) = id.parse::<i64>() else {
                return not_a_job(&id);
            };
            match outbox.job(id).await {
                Ok(Some((job, events))) => {
                    warp::reply::json(&json!({ "job": job, "events": events })).into_response()
                }
                Ok(None) => problem(StatusCode::NOT_FOUND, &format!("no forwarding job {id}")),
                Err(e) => index_failed(e),
            }
        });

    let action = base
        .and(warp::path("jobs"))
        .and(warp::path::param::<String>())
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(crate::http::post())
        .and(with_outbox)
        .then(move |id: String, action: String, outbox: Arc<dyn Outbox>| {
            let wake = wake.clone();
            async move {
                let Ok(id) = id.parse::<i64>() else {
                    return not_a_job(&id);
                };
                let done = match action.as_str() {
                    "retry" => outbox.retry(id, now_millis()).await,
                    "cancel" => outbox.cancel(id, now_millis()).await,
                    _ => {
                        return problem(
                            StatusCode::NOT_FOUND,
                            "jobs take POST .../retry or POST .../cancel",
                        );
                    }
                };
                match done {
                    Ok(true) => {
                        wake.notify_one();
                        match outbox.job(id).await {
                            Ok(Some((job, _))) => warp::reply::json(&job).into_response(),
                            Ok(None) => problem(StatusCode::NOT_FOUND, "the job is gone"),
                            Err(e) => index_failed(e),
                        }
                    }
                    Ok(false) => match outbox.job(id).await {
                        Ok(Some((job, _))) => problem(
                            StatusCode::CONFLICT,
                            &format!(
                                "job {id} is {}: it cannot be {action}d now",
                                job.state.as_str()
                            ),
                        ),
                        Ok(None) => {
                            problem(StatusCode::NOT_FOUND, &format!("no forwarding job {id}"))
                        }
                        Err(e) => index_failed(e),
                    },
                    Err(e) => index_failed(e),
                }
            }
        });

    destinations
        .or(list)
        .unify()
        .or(one)
        .unify()
        .or(action)
        .unify()
        .boxed()
}

async fn destinations(outbox: &dyn Outbox, config: &ForwardConfig) -> Response {
    let counts = match outbox.counts().await {
        Ok(c) => c,
        Err(e) => return index_failed(e),
    };
    let list: Vec<Value> = config
        .destinations
        .iter()
        .map(|d| {
            let (kind, address) = match &d.target {
                Target::Dicom(n) => (
                    "dicom",
                    format!("{}@{}:{}", n.ae_title.trim(), n.host.trim(), n.port),
                ),
                Target::DicomWeb { url, .. } => ("dicomweb", url.clone()),
                Target::Peer { url, .. } => ("peer", url.clone()),
            };
            let jobs: serde_json::Map<String, Value> = counts
                .iter()
                .filter(|(name, _, _)| name == &d.name)
                .map(|(_, state, n)| (state.as_str().to_owned(), json!(n)))
                .collect();
            json!({
                "name": d.name,
                "kind": kind,
                "address": address,
                "concurrency": d.concurrency,
                "max_attempts": d.backoff.max_attempts,
                "bandwidth": d.bandwidth.iter().map(|b| json!({
                    "during": b.during.map(|(s, e)| format!("{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)),
                    "bytes_per_sec": b.bytes_per_sec,
                })).collect::<Vec<_>>(),
                "jobs": jobs,
            })
        })
        .collect();
    warp::reply::json(&list).into_response()
}

async fn list(outbox: &dyn Outbox, query: &HashMap<String, String>) -> Response {
    let state = match query.get("state").map(|s| s.as_str()) {
        None | Some("") => None,
        Some(s) => match JobState::parse(s) {
            Some(state) => Some(state),
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "state {s:?} is not one of queued, sending, delivered, failed, cancelled"
                    ),
                );
            }
        },
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!("limit must be a number from 1 to {MAX_LIMIT}"),
            );
        }
    };
    let filter = JobFilter {
        state,
        destination: query.get("destination").filter(|d| !d.is_empty()).cloned(),
        study_uid: query.get("study").filter(|d| !d.is_empty()).cloned(),
        limit,
    };
    match outbox.jobs(&filter).await {
        Ok(jobs) => warp::reply::json(&jobs).into_response(),
        Err(e) => index_failed(e),
    }
}

fn problem(status: StatusCode, message: &str) -> Response {
    warp::reply::with_status(warp::reply::json(&json!({ "error": message })), status)
        .into_response()
}

fn index_failed(e: pacs_core::IndexError) -> Response {
    tracing::warn!(error = %e, "forwarding API: the index failed");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("the index failed: {e}"),
    )
}

/// The answer to a job id in the path that is no job's number.
fn not_a_job(segment: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        &format!("no forwarding job {segment:?}: jobs are numbered"),
    )
}
