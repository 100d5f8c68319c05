//! Administration and sharing: the audit trail (`/api/audit`, CSV export),
//! accounts (`/api/users`), machine tokens (`/api/tokens`), and sharing a
//! study with an account, by a time-limited link, or as a de-identified
//! copy (`/api/studies/{study}/share|unshare|share-link|deidentify`); a study's
//! links are listed and withdrawn at `/api/studies/{study}/share-links`.

use std::collections::HashMap;
use std::sync::Arc;

use pacs_core::forward::{millis, now_millis};
use pacs_core::workflow::{AuditEvent, AuditFilter, Role, SessionKind, StudyScope};
use serde::Deserialize;
use serde_json::{Value, json};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, header};
use warp::reply::{Reply, Response};

use super::{ApiError, ApiState, caller, parse_time, principal, reply, time, with_state};
use crate::access::Action;
use crate::auth::{AuthError, Principal, new_secret, secret_hash};

fn audit_filter(q: &HashMap<String, String>, max: usize) -> Result<AuditFilter, ApiError> {
    let text = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let when = |k: &str| -> Result<Option<i64>, ApiError> {
        match text(k) {
            None => Ok(None),
            Some(v) => parse_time(&v).map(Some).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{k} must be a date (YYYY-MM-DD) or an RFC 3339 time"
                ))
            }),
        }
    };
    let number = |k: &str, default: usize| -> Result<usize, ApiError> {
        text(k).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| ApiError::BadRequest(format!("{k} must be a whole number")))
        })
    };
    // `to` as a date means the whole of that day.
    let to = match (text("to"), when("to")?) {
        (Some(v), Some(t)) if v.len() == 10 => Some(t + 86_400_000),
        (_, t) => t,
    };
    Ok(AuditFilter {
        user: text("user"),
        action: text("action"),
        study_uid: text("study"),
        from: when("from")?,
        to,
        limit: number("limit", 100)?.clamp(1, max),
        offset: number("offset", 0)?,
    })
}

fn event_json(e: &AuditEvent) -> Value {
    json!({
        "id": e.id,
        "at": time(e.at),
        "user": e.user,
        "role": e.role,
        "action": e.action,
        "study_uid": e.study_uid,
        "detail": e.detail,
        "address": e.address,
        "outcome": e.outcome,
    })
}

async fn audit_list(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    q: HashMap<String, String>,
) -> Result<Value, ApiError> {
    caller(&state.auth, who, Action::Audit).await?;
    let (total, events) = state.store.audit_events(&audit_filter(&q, 1000)?).await?;
    Ok(json!({ "total": total, "events": events.iter().map(event_json).collect::<Vec<_>>() }))
}

/// One CSV field, quoted when it must be (RFC 4180), and defused against
/// spreadsheet formula injection.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

async fn audit_export(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    q: HashMap<String, String>,
) -> Result<Response, ApiError> {
    let who = caller(&state.auth, who, Action::Audit).await?;
    let mut filter = audit_filter(&q, 1_000_000)?;
    if !q.contains_key("limit") {
        filter.limit = 1_000_000;
    }
    let (_, events) = state.store.audit_events(&filter).await?;
    let mut csv = String::from("id,at,user,role,action,study_uid,detail,address,outcome\r\n");
    for e in &events {
        let fields = [
            e.id.to_string(),
            time(e.at),
            e.user.clone().unwrap_or_default(),
            e.role.clone().unwrap_or_default(),
            e.action.clone(),
            e.study_uid.clone().unwrap_or_default(),
            e.detail.clone().unwrap_or_default(),
            e.address.clone().unwrap_or_default(),
            e.outcome.clone(),
        ];
        csv.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        csv.push_str("\r\n");
    }
    state
        .auth
        .audit(
            Some(&who),
            "export",
            None,
            Some(format!("audit trail, {} events", events.len())),
            "ok",
        )
        .await;
    let mut response = Response::new(csv.into());
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.csv\""),
    );
    Ok(response)
}

async fn users(state: Arc<ApiState>, who: Result<Principal, AuthError>) -> Result<Value, ApiError> {
    caller(&state.auth, who, Action::Administer).await?;
    let accounts = state.store.accounts().await?;
    let now = now_millis();
    // Refused to browsers it never signed in from: guessed at from many
    // addresses (see `[auth] max_failures_per_account`).
    let settings = &state.auth.settings;
    let guessed: std::collections::HashSet<String> = state
        .store
        .failures_by_name()
        .await?
        .into_iter()
        .filter(|(_, failures, last)| {
            settings.max_account_failures > 0
                && *failures >= u64::from(settings.max_account_failures)
                && last.saturating_add(millis(settings.lockout)) > now
        })
        .map(|(name, _, _)| name)
        .collect();
    Ok(json!(
        accounts
            .iter()
            .map(|a| json!({
                "username": a.username,
                "display_name": a.display_name,
                "role": a.role.as_str(),
                "site": a.site,
                "reading_sites": a.reading_sites,
                "physician_name": a.physician_name,
                "disabled": a.disabled,
                "locked": a.locked_until > now || guessed.contains(&a.username),
            }))
            .collect::<Vec<_>>()
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ShareBody {
    username: Option<String>,
    hours: Option<u64>,
}

/// The body of a share action: none, or JSON that says what it means. A
/// link asked for with `"hours": 1.5` or `"2"` is refused, not made for
/// the default three days.
fn share_body(bytes: &[u8]) -> Result<ShareBody, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(ShareBody::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "send JSON {{\"username\": \"...\"}} or {{\"hours\": whole hours from 1 to 720}}: {e}"
        ))
    })
}

async fn share(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
    what: String,
    body: Result<ShareBody, ApiError>,
) -> Result<Response, ApiError> {
    let who = state.caller_on(who, Action::Share, &study, "share").await?;
    let body = body?;
    let now = now_millis();
    // A share of a study not (yet) here would open it to whoever got the
    // share the moment a study came in under that UID.
    if matches!(what.as_str(), "share" | "share-link") {
        pacs_core::Uid::parse(&study).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        if !state.store.study_visible(&StudyScope::All, &study).await? {
            return Err(ApiError::NotFound(format!(
                "no study {study} in the archive"
            )));
        }
    }
    match what.as_str() {
        "share" => {
            let to = body.username.unwrap_or_default();
            let account = state.store.account(&to).await?;
            if account.map(|a| a.role) != Some(Role::Referrer) {
                return Err(ApiError::BadRequest(format!(
                    "{to:?} is not a referring doctor's account"
                )));
            }
            state.store.share(&study, &to, &who.actor(), now).await?;
            state
                .auth
                .audit(
                    Some(&who),
                    "share",
                    Some(&study),
                    Some(format!("with {to}")),
                    "ok",
                )
                .await;
            Ok(warp::reply::json(&json!({ "shared_with": to })).into_response())
        }
        "share-link" => {
            let hours = body.hours.unwrap_or(72);
            if !(1..=24 * 30).contains(&hours) {
                return Err(ApiError::BadRequest(format!(
                    "a link lasts from 1 to 720 hours, not {hours}"
                )));
            }
            let secret = new_secret();
            let expires_at = now + millis(std::time::Duration::from_secs(hours * 3600));
            state
                .store
                .add_session(
                    &secret_hash(&secret),
                    SessionKind::Share {
                        study_uid: study.clone(),
                        created_by: who.actor(),
                    },
                    now,
                    Some(expires_at),
                )
                .await?;
            state
                .auth
                .audit(
                    Some(&who),
                    "share",
                    Some(&study),
                    Some(format!("read-only link for {hours} h")),
                    "ok",
                )
                .await;
            Ok(warp::reply::json(&json!({
                "url": format!("/share/{secret}"),
                "expires_at": time(expires_at),
            }))
            .into_response())
        }
        "unshare" => {
            let from = body.username.unwrap_or_default();
            // Who shared it withdraws it, or an administrator.
            let made_by = (who.role != Role::Admin).then(|| who.actor());
            let n = state
                .store
                .unshare(&study, &from, made_by.as_deref())
                .await?;
            if n == 0 {
                return Err(ApiError::NotFound(format!(
                    "the study is not shared with {from:?} by you"
                )));
            }
            state
                .auth
                .audit(
                    Some(&who),
                    "share",
                    Some(&study),
                    Some(format!("withdrawn from {from}")),
                    "ok",
                )
                .await;
            Ok(warp::reply::json(&json!({ "withdrawn_from": from })).into_response())
        }
        "deidentify" => super::deidentify::copy(&state, &who, &study).await,
        _ => Err(ApiError::NotFound(format!("no study action {what:?}"))),
    }
}

/// `GET` and `DELETE /api/studies/{study}/share-links`: the study's live
/// read-only links the caller made (an administrator: everyone's), listed
/// without their secrets, or withdrawn.
async fn share_links(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
    withdraw: bool,
) -> Result<Value, ApiError> {
    let who = state.caller_on(who, Action::Share, &study, "share").await?;
    let now = now_millis();
    let made_by = (who.role != Role::Admin).then(|| who.actor());
    if withdraw {
        let n = state
            .store
            .withdraw_share_links(&study, made_by.as_deref(), now)
            .await?;
        state
            .auth
            .audit(
                Some(&who),
                "share",
                Some(&study),
                Some(format!("links withdrawn: {n}")),
                "ok",
            )
            .await;
        return Ok(json!({ "withdrawn": n }));
    }
    let links = state
        .store
        .share_links(&study, made_by.as_deref(), now)
        .await?;
    Ok(json!({
        "links": links
            .iter()
            .map(|l| json!({
                "id": l.id,
                "created_by": l.created_by,
                "created_at": time(l.created_at),
                "expires_at": l.expires_at.map(time),
            }))
            .collect::<Vec<_>>()
    }))
}

pub fn routes(state: Arc<ApiState>) -> BoxedFilter<(Response,)> {
    let who = principal(state.auth.clone());
    let query = warp::query::<HashMap<String, String>>();
    let audit = warp::path!("api" / "audit")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .and(query)
        .then(|s, w, q| async move { reply(audit_list(s, w, q).await) });
    let export = warp::path!("api" / "audit" / "export")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .and(query)
        .then(|s, w, q| async move {
            audit_export(s, w, q)
                .await
                .unwrap_or_else(ApiError::into_response)
        });
    let users = warp::path!("api" / "users")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .then(|s, w| async move { reply(users(s, w).await) });
    let links = warp::path!("api" / "studies" / String / "share-links")
        .and(
            crate::http::get()
                .map(|| false)
                .or(crate::http::delete().map(|| true))
                .unify(),
        )
        .and(with_state(state.clone()))
        .and(who.clone())
        .then(
            |study, withdraw, s, w| async move { reply(share_links(s, w, study, withdraw).await) },
        );
    let body = super::small_body(16 << 10).map(|b: bytes::Bytes| share_body(&b));
    // The action is checked before the body is read: a body read here
    // could not be read again by the report routes behind these.
    let share = warp::path!("api" / "studies" / String / String)
        .and(crate::http::post())
        .and_then(|study: String, what: String| async move {
            if matches!(
                what.as_str(),
                "share" | "unshare" | "share-link" | "deidentify"
            ) {
                Ok((study, what))
            } else {
                Err(warp::reject::not_found())
            }
        })
        .untuple_one()
        .and(with_state(state))
        .and(who)
        .and(body)
        .then(|study: String, what: String, s, w, b| async move {
            share(s, w, study, what, b)
                .await
                .unwrap_or_else(ApiError::into_response)
        });
    audit
        .or(export)
        .unify()
        .or(users)
        .unify()
        .or(links)
        .unify()
        .or(share)
        .unify()
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
