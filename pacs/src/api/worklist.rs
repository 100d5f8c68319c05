//! The worklist (`/api/worklist`), referring doctors' studies
//! (`/api/referrals`) and open critical findings (`/api/notifications`).
//! Each shows patients' names, so each is on the audit trail with what
//! was asked (once while it repeats: the pages ask every few seconds).

use std::collections::HashMap;
use std::sync::Arc;

use pacs_core::forward::{Priority, millis, now_millis};
use pacs_core::workflow::{LockError, ReadingStatus, Role, Task, TaskFilter};
use serde::Deserialize;
use serde_json::{Value, json};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{ApiError, ApiState, caller, principal, reply, time, with_state};
use crate::access::Action;
use crate::auth::{AuthError, Principal};

const MAX_LIMIT: usize = 500;

/// A task as the API shows it (see the README's API section).
pub fn task_json(state: &ApiState, t: &Task, now: i64) -> Value {
    let deadline = t
        .received_at
        .saturating_add(millis(state.turnaround.of(t.priority)));
    json!({
        "study_uid": t.study_uid,
        "patient_name": t.patient_name,
        "patient_id": t.patient_id,
        "accession_number": t.accession_number,
        "study_date": t.study_date,
        "study_time": t.study_time,
        "study_description": t.study_description,
        "referring_physician_name": t.referring_physician_name,
        "modalities": t.modalities,
        "num_instances": t.num_instances,
        "site": t.site,
        "priority": t.priority.as_str(),
        "status": t.status.as_str(),
        "received_at": time(t.received_at),
        "deadline": time(deadline),
        "overdue": !t.status.is_signed() && now > deadline,
        "assigned_to": t.assigned_to,
        "lock": t.lock.as_ref().map(|l| json!({
            "holder": l.holder,
            "holder_name": l.holder_name,
            "expires_at": time(l.until),
            "lease_seconds": state.auth.settings.lock_lease.as_secs(),
        })),
        "new_images": t.new_images,
        "critical": t.critical_open.then(|| json!({ "open": true })),
    })
}

fn page(query: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let number = |key: &str, default: usize| -> Result<usize, ApiError> {
        match query.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("{key} must be a whole number"))),
        }
    };
    Ok((
        number("limit", 50)?.clamp(1, MAX_LIMIT),
        number("offset", 0)?,
    ))
}

async fn list(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    query: HashMap<String, String>,
) -> Result<Value, ApiError> {
    let who = caller(&state.auth, who, Action::Worklist).await?;
    let (limit, offset) = page(&query)?;
    let statuses = match query.get("status").map(String::as_str) {
        None | Some("") | Some("active") => None,
        Some("all") => Some(Vec::new()),
        Some(s) => Some(
            s.split(',')
                .map(|one| {
                    ReadingStatus::parse(one.trim()).ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "unknown status {one:?}: use scheduled, in_progress, preliminary, final, amended, active or all"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let mine = matches!(query.get("mine").map(String::as_str), Some("true" | "1"));
    let filter = TaskFilter {
        statuses,
        site: query.get("site").filter(|s| !s.is_empty()).cloned(),
        modality: query.get("modality").filter(|s| !s.is_empty()).cloned(),
        mine: mine.then(|| who.actor()),
        limit,
        offset,
        newest_first: false,
    };
    let now = now_millis();
    let (total, tasks) = state.store.tasks(&who.scope, &filter, now).await?;
    let asked = format!(
        "status={} site={} modality={} mine={mine} limit={limit} offset={offset}",
        query.get("status").map_or("active", String::as_str),
        filter.site.as_deref().unwrap_or("*"),
        filter.modality.as_deref().unwrap_or("*"),
    );
    state.once.record_list(&who, "worklist", asked).await;
    Ok(json!({
        "total": total,
        "tasks": tasks.iter().map(|t| task_json(&state, t, now)).collect::<Vec<_>>(),
    }))
}

async fn referrals(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    query: HashMap<String, String>,
) -> Result<Value, ApiError> {
    let who = caller(&state.auth, who, Action::Referrals).await?;
    let (limit, offset) = page(&query)?;
    let filter = TaskFilter {
        statuses: Some(Vec::new()),
        limit,
        offset,
        newest_first: true,
        ..Default::default()
    };
    let now = now_millis();
    let (total, tasks) = state.store.tasks(&who.scope, &filter, now).await?;
    let asked = format!("limit={limit} offset={offset}");
    state.once.record_list(&who, "referrals", asked).await;
    Ok(json!({
        "total": total,
        "studies": tasks.iter().map(|t| task_json(&state, t, now)).collect::<Vec<_>>(),
    }))
}

async fn notifications(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
) -> Result<Value, ApiError> {
    let who = who?;
    if crate::access::allow(&who, Action::Acknowledge).is_err() {
        return Ok(json!([]));
    }
    let open = state.store.open_criticals(&who.scope, now_millis()).await?;
    state
        .once
        .record_list(&who, "notifications", "open critical findings".into())
        .await;
    Ok(Value::Array(
        open.iter()
            .map(|(t, c)| {
                json!({
                    "study_uid": t.study_uid,
                    "patient_name": t.patient_name,
                    "note": c.note,
                    "flagged_at": time(c.flagged_at),
                    "flagged_by": c.flagged_by,
                })
            })
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct Body {
    username: Option<String>,
    reason: Option<String>,
    priority: Option<String>,
    /// With `renew`: how long the reading page has gone without anyone
    /// using it, in seconds.
    idle_seconds: Option<f64>,
}

/// `POST /api/worklist/{study}/{claim|renew|release|assign|break-lock}`
/// and `PUT /api/worklist/{study}/priority`.
async fn act(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
    what: String,
    body: Body,
) -> Result<Value, ApiError> {
    let now = now_millis();
    let action = match what.as_str() {
        "claim" | "renew" | "release" => Action::Report,
        "assign" | "break-lock" => Action::Supervise,
        "priority" => Action::SetPriority,
        _ => return Err(ApiError::NotFound(format!("no worklist action {what:?}"))),
    };
    let attempt = match what.as_str() {
        "claim" | "renew" => "lock_claim",
        "release" => "lock_release",
        "assign" => "assign",
        "break-lock" => "lock_break",
        _ => "priority",
    };
    let who = state.caller_on(who, action, &study, attempt).await?;
    let store = &state.store;
    let lease = state.auth.settings.lock_lease;
    let task = match what.as_str() {
        // Only a lock the caller holds is renewed: one that lapsed or was
        // broken is taken again by a claim, audited as such.
        "renew" => {
            // A page that does not say how long it has stood unused (an
            // older one, a script) counts as in use.
            let idle_ms = body
                .idle_seconds
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map_or(0, |s| (s * 1000.0).min(1e15) as i64);
            let used = now.saturating_sub(idle_ms);
            let limit = state.auth.settings.lock_idle;
            let renewed = store
                .renew(&study, &who.actor(), now, lease, used, limit)
                .await?;
            if let Err(LockError::Idle { minutes }) = &renewed {
                // Given back by the server, for the holder's pages.
                let detail = format!(
                    "given back to the worklist after {minutes} min without activity on the reading pages"
                );
                state
                    .auth
                    .audit(Some(&who), "lock_release", Some(&study), Some(detail), "ok")
                    .await;
            } else if let Err(refusal) = &renewed {
                let detail = Some(format!("renewing: {refusal}"));
                state
                    .auth
                    .audit(Some(&who), attempt, Some(&study), detail, "refused")
                    .await;
            }
            Some(renewed?)
        }
        "claim" => {
            let result = store.claim(&study, &who.actor(), now, lease).await?;
            let outcome = if result.is_ok() { "ok" } else { "refused" };
            let detail = match &result {
                Ok(_) => draft_taken_over(&state, &study, &who, now).await,
                Err(refusal) => Some(refusal.to_string()),
            };
            state
                .auth
                .audit(Some(&who), "lock_claim", Some(&study), detail, outcome)
                .await;
            Some(result?)
        }
        "release" => {
            // Recorded only when the caller held the lock: a page left
            // after another radiologist took over releases nothing.
            let held = store
                .task(&study, now)
                .await?
                .and_then(|t| t.lock)
                .is_some_and(|l| l.holder == who.actor());
            let task = store.release(&study, &who.actor(), now).await?;
            if held {
                state
                    .auth
                    .audit(Some(&who), "lock_release", Some(&study), None, "ok")
                    .await;
            }
            task
        }
        "assign" => {
            let to = body.username.filter(|u| !u.trim().is_empty());
            if store.task(&study, now).await?.is_none() {
                return Err(ApiError::NotFound("no such study".into()));
            }
            if let Some(to) = &to {
                let account = store.account(to).await?.filter(|a| !a.disabled);
                let Some(account) = account.filter(|a| a.role == Role::Radiologist) else {
                    return Err(ApiError::BadRequest(format!(
                        "{to} is not a radiologist's account"
                    )));
                };
                // Assigned a study they may not open, they would never see
                // it on their worklist.
                let reader = Principal::for_account(&account, None);
                if !store.study_visible(&reader.scope, &study).await? {
                    return Err(ApiError::BadRequest(format!(
                        "{to} does not read this study's site"
                    )));
                }
            }
            let task = store.assign(&study, to.as_deref(), now).await?;
            if task.is_some() {
                state
                    .auth
                    .audit(Some(&who), "assign", Some(&study), to, "ok")
                    .await;
            }
            task
        }
        "break-lock" => {
            let before = store.task(&study, now).await?;
            let holder = before.and_then(|t| t.lock).map(|l| l.holder);
            let reason = body.reason.unwrap_or_default();
            let task = store.break_lock(&study, now).await?;
            if task.is_some() {
                state
                    .auth
                    .audit(
                        Some(&who),
                        "lock_break",
                        Some(&study),
                        Some(format!(
                            "lock of {} broken: {reason}",
                            holder.as_deref().unwrap_or("nobody")
                        )),
                        "ok",
                    )
                    .await;
            }
            task
        }
        _ => {
            let priority = body
                .priority
                .as_deref()
                .and_then(Priority::parse)
                .ok_or_else(|| {
                    ApiError::BadRequest("priority must be stat, urgent or routine".into())
                })?;
            let task = store.set_priority(&study, priority, now).await?;
            if task.is_some() {
                state
                    .auth
                    .audit(
                        Some(&who),
                        "priority",
                        Some(&study),
                        Some(priority.as_str().into()),
                        "ok",
                    )
                    .await;
            }
            task
        }
    };
    // Nothing was done to a study that does not exist, and nothing audited.
    let task = task.ok_or_else(|| ApiError::NotFound("no such study".into()))?;
    Ok(task_json(&state, &task, now))
}

/// When `who` claims a study whose draft another radiologist wrote (their
/// lock lapsed, was released or broken), the trail says whose words the
/// claimant continues: the draft takes the claimant's name once saved.
/// The claim is made by then: a failure to look this up is logged, not
/// the claim's.
async fn draft_taken_over(
    state: &ApiState,
    study: &str,
    who: &Principal,
    now: i64,
) -> Option<String> {
    let draft = match state.store.report(study, now).await {
        Ok(report) => report?.draft?,
        Err(error) => {
            tracing::warn!(study, %error, "cannot read the draft a claim takes over");
            return None;
        }
    };
    if draft.author == who.actor() {
        return None;
    }
    let name = match state.store.account(&draft.author).await {
        Ok(Some(account)) if !account.display_name.is_empty() => account.display_name,
        _ => draft.author.clone(),
    };
    Some(format!(
        "continues the draft of {name} ({}), last saved {}",
        draft.author,
        time(draft.updated_at)
    ))
}

pub fn routes(state: Arc<ApiState>) -> BoxedFilter<(Response,)> {
    let who = principal(state.auth.clone());
    let list = warp::path!("api" / "worklist")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .and(warp::query::<HashMap<String, String>>())
        .then(|s, w, q| async move { reply(list(s, w, q).await) });
    let referrals = warp::path!("api" / "referrals")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .and(warp::query::<HashMap<String, String>>())
        .then(|s, w, q| async move { reply(referrals(s, w, q).await) });
    let notifications = warp::path!("api" / "notifications")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .then(|s, w| async move { reply(notifications(s, w).await) });
    let body = super::json_body::<Body>(64 << 10);
    let act = warp::path!("api" / "worklist" / String / String)
        .and(crate::http::post().or(crate::http::put()).unify())
        .and(with_state(state))
        .and(who)
        .and(body)
        .then(|study, what, s, w, b| async move { reply(act(s, w, study, what, b).await) });
    list.or(referrals)
        .unify()
        .or(notifications)
        .unify()
        .or(act)
        .unify()
        .boxed()
}
