//! Reports (`/api/studies/{study}/report...`): drafts saved as the
//! radiologist types, sign-off into an immutable version, addenda, key
//! images and critical findings; and the templates (`/api/templates`).

use std::sync::Arc;

use pacs_core::forward::now_millis;
use pacs_core::workflow::{
    Acknowledgement, Addendum, Draft, KeyImageRef, ReadingStatus, ReportRecord, Role, Sections,
    VersionBody,
};
use serde::Deserialize;
use serde_json::{Value, json};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{ApiError, ApiState, principal, reply, time, with_state};
use crate::access::{Action, allow};
use crate::auth::{AuthError, Principal};

/// A report as the API shows it to `who`.
pub fn report_json(r: &ReportRecord, who: &Principal, now: i64) -> Value {
    let holds_lock = r
        .task
        .lock
        .as_ref()
        .is_some_and(|l| l.holder == who.actor() && l.until > now);
    let reports = allow(who, Action::Report).is_ok();
    let signed = r.task.status.is_signed();
    json!({
        "study_uid": r.task.study_uid,
        "status": r.task.status.as_str(),
        "draft": shown_draft(who.role, r).map(|d| json!({
            "template": d.template,
            "language": d.language,
            "sections": d.sections,
            "updated_at": time(d.updated_at),
            "author": d.author,
        })),
        "versions": r.versions.iter().map(|v| {
            let (kind, sections, language, reason, text) = match &v.body {
                VersionBody::Final { language, sections } => ("final", Some(sections), Some(language), None, None),
                VersionBody::Addendum { reason, text } => ("addendum", None, None, Some(reason), Some(text)),
            };
            json!({
                "version": v.version,
                "kind": kind,
                "language": language,
                "sections": sections,
                "reason": reason,
                "text": text,
                "signed_by": v.signed_by,
                "signed_by_name": v.signed_by_name,
                "signed_at": time(v.signed_at),
            })
        }).collect::<Vec<_>>(),
        "key_images": shown_key_images(who.role, r),
        "critical": r.critical.as_ref().map(|c| json!({
            "note": c.note,
            "flagged_by": c.flagged_by,
            "flagged_at": time(c.flagged_at),
            "acknowledged_by": c.acknowledged_by,
            "acknowledged_at": c.acknowledged_at.map(time),
        })),
        "new_images": r.task.new_images,
        "can_edit": reports && holds_lock && !signed,
        "can_sign": reports && holds_lock && !signed && r.draft.is_some(),
        "can_amend": reports && signed,
        "can_acknowledge": allow(who, Action::Acknowledge).is_ok()
            && r.critical.as_ref().is_some_and(|c| c.acknowledged_at.is_none()),
    })
}

pub async fn current(state: &ApiState, study: &str) -> Result<ReportRecord, ApiError> {
    state
        .store
        .report(study, now_millis())
        .await?
        .ok_or_else(|| ApiError::NotFound("no such study".into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    template: Option<String>,
    language: Option<String>,
    sections: Option<Sections>,
    reason: Option<String>,
    text: Option<String>,
    /// An addendum's: the last version its author had in view.
    after_version: Option<u32>,
    note: Option<String>,
    series_uid: Option<String>,
    sop_uid: Option<String>,
    frame: Option<u32>,
}

async fn get(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
) -> Result<Value, ApiError> {
    let who = state
        .caller_on(who, Action::ReadReport, &study, "report_view")
        .await?;
    let report = current(&state, &study).await?;
    state
        .auth
        .audit(Some(&who), "report_view", Some(&study), None, "ok")
        .await;
    Ok(report_json(&report, &who, now_millis()))
}

/// `PUT .../report/draft` and `POST .../report/{preliminary|sign|addenda}`,
/// `.../key-images`, `.../critical`, `.../critical/acknowledge`.
async fn change(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
    what: String,
    body: Body,
) -> Result<Value, ApiError> {
    let now = now_millis();
    // What is asked for, known before whether it is allowed: a path
    // nothing answers is not found, for anyone, and no refusal.
    let (action, attempt) = match what.as_str() {
        "report/draft" => (Action::Report, "report_draft"),
        "report/preliminary" => (Action::Report, "report_preliminary"),
        "report/sign" => (Action::Report, "report_sign"),
        "report/addenda" => (Action::Report, "report_addendum"),
        "key-images" => (Action::Report, "key_image"),
        "critical" => (Action::Report, "critical_flag"),
        "critical/acknowledge" => (Action::Acknowledge, "critical_acknowledge"),
        _ => return Err(ApiError::NotFound(format!("no report action {what:?}"))),
    };
    let who = state.caller_on(who, action, &study, attempt).await?;
    let user = who.actor();
    let store = &state.store;
    let auth = &state.auth;
    // Nothing is kept for a study the archive does not hold (a mistyped
    // UID): a critical finding would otherwise wait for whatever study
    // later arrives under it. A caller limited to some studies was told
    // no above already.
    if !store
        .study_visible(&pacs_core::workflow::StudyScope::All, &study)
        .await?
    {
        return Err(ApiError::NotFound("no such study".into()));
    }
    match what.as_str() {
        "report/draft" => {
            let sections = body
                .sections
                .ok_or_else(|| ApiError::BadRequest("the draft needs its sections".into()))?;
            let draft = Draft {
                template: body.template,
                language: body.language.unwrap_or_else(|| "en".into()),
                sections,
                author: user.clone(),
                updated_at: now,
            };
            let saved = store.save_draft(&study, draft, now).await?;
            audited_refusal(auth, &who, attempt, &study, saved).await?;
            auth.audit(Some(&who), "report_draft", Some(&study), None, "ok")
                .await;
        }
        "report/preliminary" => {
            let issued = store.mark_preliminary(&study, &user, now).await?;
            audited_refusal(auth, &who, attempt, &study, issued).await?;
            auth.audit(Some(&who), "report_preliminary", Some(&study), None, "ok")
                .await;
        }
        "report/sign" => {
            let signed = store.sign(&study, &user, now).await?;
            let version = audited_refusal(auth, &who, attempt, &study, signed).await?;
            auth.audit(
                Some(&who),
                "report_sign",
                Some(&study),
                Some(format!("version {}", version.version)),
                "ok",
            )
            .await;
            super::outputs::store_in_study(&state, &study, &who).await;
        }
        "report/addenda" => {
            let reason = body.reason.unwrap_or_default();
            let text = body.text.unwrap_or_default();
            if reason.trim().is_empty() || text.trim().is_empty() {
                return Err(ApiError::BadRequest(
                    "an addendum needs a reason and a text".into(),
                ));
            }
            let addendum = Addendum {
                reason: reason.trim().to_owned(),
                text: text.trim().to_owned(),
                after_version: body.after_version,
            };
            let added = store.add_addendum(&study, &user, &addendum, now).await?;
            let version = audited_refusal(auth, &who, attempt, &study, added).await?;
            auth.audit(
                Some(&who),
                "report_addendum",
                Some(&study),
                Some(format!("version {}: {}", version.version, reason.trim())),
                "ok",
            )
            .await;
            super::outputs::store_in_study(&state, &study, &who).await;
        }
        "key-images" => {
            let (Some(series_uid), Some(sop_uid)) = (body.series_uid, body.sop_uid) else {
                return Err(ApiError::BadRequest(
                    "a key image needs series_uid and sop_uid".into(),
                ));
            };
            let uid = |uid: &str| {
                pacs_core::Uid::parse(uid)
                    .map_err(|e| ApiError::BadRequest(format!("invalid UID: {e}")))
            };
            let frame = body.frame.unwrap_or(1).max(1);
            // Only an image of this study, and a frame it has: the report,
            // its PDF and everyone reading it show what is marked here.
            let instance = state
                .archive
                .instance(&uid(&study)?, &uid(&series_uid)?, &uid(&sop_uid)?)
                .await
                .map_err(|_| {
                    ApiError::NotFound(format!(
                        "no image {sop_uid} in series {series_uid} of this study"
                    ))
                })?;
            let frames = instance.image.as_ref().map_or(0, |i| i.number_of_frames);
            if u64::from(frame) > u64::from(frames) {
                return Err(ApiError::BadRequest(format!(
                    "image {sop_uid} has {frames} frame(s), not {frame}"
                )));
            }
            let image = KeyImageRef {
                series_uid,
                sop_uid,
                frame,
            };
            let marked = store
                .set_key_image(&study, &image, &user, true, now)
                .await?;
            audited_refusal(auth, &who, attempt, &study, marked).await?;
            auth.audit(
                Some(&who),
                "key_image",
                Some(&study),
                Some(format!("{} frame {}", image.sop_uid, image.frame)),
                "ok",
            )
            .await;
        }
        "critical" => {
            let note = body.note.unwrap_or_default();
            if note.trim().is_empty() {
                return Err(ApiError::BadRequest(
                    "say what the critical finding is".into(),
                ));
            }
            store.flag_critical(&study, &user, note.trim(), now).await?;
            auth.audit(
                Some(&who),
                "critical_flag",
                Some(&study),
                Some(note.trim().to_owned()),
                "ok",
            )
            .await;
        }
        "critical/acknowledge" => {
            // The note as the reader was shown it, when the client says.
            let seen = body.note.as_deref();
            let note = match store.acknowledge_critical(&study, &user, seen, now).await? {
                Acknowledgement::Done { note } => note,
                Acknowledgement::NoneOpen => {
                    return Err(ApiError::Conflict {
                        message: "there is no open critical finding on this study".into(),
                        holder: None,
                        reason: None,
                    });
                }
                Acknowledgement::Changed => {
                    return Err(ApiError::Conflict {
                        message: "the critical finding was flagged again after it was shown: \
                                  read it again, then acknowledge it"
                            .into(),
                        holder: None,
                        reason: None,
                    });
                }
            };
            auth.audit(
                Some(&who),
                "critical_acknowledge",
                Some(&study),
                Some(note),
                "ok",
            )
            .await;
        }
        _ => return Err(ApiError::NotFound(format!("no report action {what:?}"))),
    }
    let report = current(&state, &study).await?;
    Ok(report_json(&report, &who, now))
}

async fn remove_key_image(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
    sop_uid: String,
    frame: u32,
) -> Result<Value, ApiError> {
    let now = now_millis();
    let who = state
        .caller_on(who, Action::Report, &study, "key_image_removed")
        .await?;
    let image = KeyImageRef {
        series_uid: String::new(),
        sop_uid,
        frame,
    };
    let unmarked = state
        .store
        .set_key_image(&study, &image, &who.actor(), false, now)
        .await?;
    audited_refusal(&state.auth, &who, "key_image_removed", &study, unmarked).await?;
    state
        .auth
        .audit(
            Some(&who),
            "key_image_removed",
            Some(&study),
            Some(format!("{} frame {}", image.sop_uid, image.frame)),
            "ok",
        )
        .await;
    let report = current(&state, &study).await?;
    Ok(report_json(&report, &who, now))
}

async fn templates(
    who: Result<Principal, AuthError>,
    lang: Option<String>,
) -> Result<Value, ApiError> {
    who?;
    let lang = reports::Lang::from_tag(lang.as_deref().unwrap_or("en"));
    Ok(json!(
        reports::templates(lang)
            .into_iter()
            .map(|t| json!({ "id": t.id, "name": t.name, "sections": t.sections }))
            .collect::<Vec<_>>()
    ))
}

pub fn routes(state: Arc<ApiState>) -> BoxedFilter<(Response,)> {
    let who = principal(state.auth.clone());
    let body = super::json_body::<Body>(1 << 20);
    let get = warp::path!("api" / "studies" / String / "report")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .then(|study, s, w| async move { reply(get(s, w, study).await) });
    let one = warp::path!("api" / "studies" / String / String)
        .and(crate::http::post().or(crate::http::put()).unify())
        .and(with_state(state.clone()))
        .and(who.clone())
        .and(body.clone())
        .then(|study, what, s, w, b| async move { reply(change(s, w, study, what, b).await) });
    let two = warp::path!("api" / "studies" / String / String / String)
        .and(crate::http::post().or(crate::http::put()).unify())
        .and(with_state(state.clone()))
        .and(who.clone())
        .and(body)
        .then(|study, a: String, b: String, s, w, body| async move {
            reply(change(s, w, study, format!("{a}/{b}"), body).await)
        });
    let unmark = warp::path!("api" / "studies" / String / "key-images" / String / u32)
        .and(crate::http::delete())
        .and(with_state(state.clone()))
        .and(who.clone())
        .then(|study, sop, frame, s, w| async move {
            reply(remove_key_image(s, w, study, sop, frame).await)
        });
    let templates = warp::path!("api" / "templates")
        .and(crate::http::get())
        .and(who)
        .and(
            warp::query::<std::collections::HashMap<String, String>>()
                .map(|q: std::collections::HashMap<String, String>| q.get("lang").cloned()),
        )
        .then(|w, lang| async move { reply(templates(w, lang).await) });
    get.or(one)
        .unify()
        .or(two)
        .unify()
        .or(unmark)
        .unify()
        .or(templates)
        .unify()
        .boxed()
}

/// A report change the store refused (no lock, a signed report, no
/// draft) goes on the audit trail with its reason, as every refused action
/// does, before the caller is told.
async fn audited_refusal<T>(
    auth: &crate::auth::Auth,
    who: &Principal,
    action: &str,
    study: &str,
    outcome: Result<T, pacs_core::workflow::LockError>,
) -> Result<T, ApiError> {
    match outcome {
        Ok(value) => Ok(value),
        Err(refusal) => {
            auth.audit(
                Some(who),
                action,
                Some(study),
                Some(refusal.to_string()),
                "refused",
            )
            .await;
            Err(refusal.into())
        }
    }
}

/// The key images a role sees: the reading side those marked so far; the
/// requesting side those of a report issued (preliminary or signed),
/// never the choices of a draft no one has issued.
pub fn shown_key_images(role: Role, r: &ReportRecord) -> &[KeyImageRef] {
    let issued = r.task.status == ReadingStatus::Preliminary || r.task.status.is_signed();
    if matches!(role, Role::Radiologist | Role::Admin) || issued {
        &r.key_images
    } else {
        &[]
    }
}

/// The draft a role sees: the reading side the live one; the requesting
/// side only a preliminary report, as it was last issued, never the text
/// being typed since.
fn shown_draft(role: Role, r: &ReportRecord) -> Option<&Draft> {
    if matches!(role, Role::Radiologist | Role::Admin) {
        r.draft.as_ref()
    } else if r.task.status == ReadingStatus::Preliminary {
        r.preliminary.as_ref()
    } else {
        None
    }
}
