//! The reading workflow's HTTP API under `/api`: the worklist, reports,
//! referrals, notifications, the audit trail and administration. Every
//! route takes its caller from [`principal`] and asks [`crate::access`].
//! [`ApiError`] is the one mapping from what went wrong to HTTP.

pub mod admin;
pub mod deidentify;
pub mod gate;
pub mod outputs;
pub mod reports;
pub mod worklist;

use std::net::SocketAddr;
use std::sync::Arc;

use pacs_core::IndexError;
use pacs_core::forward::Millis;
use pacs_core::workflow::LockError;
use serde::Serialize;
use warp::Filter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};

use crate::access::{Action, Denied};
use crate::auth::{Auth, AuthError, Principal};

/// Why an API request failed, said in words.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Conflict {
        message: String,
        holder: Option<String>,
        /// A word for pages to choose their own sentence by (`idle`).
        reason: Option<&'static str>,
    },
    #[error("{0}")]
    Internal(String),
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<LockError> for ApiError {
    fn from(e: LockError) -> Self {
        match &e {
            LockError::NoStudy => ApiError::NotFound(e.to_string()),
            LockError::HeldBy { holder, .. } => ApiError::Conflict {
                message: e.to_string(),
                holder: Some(holder.clone()),
                reason: None,
            },
            LockError::Idle { .. } => ApiError::Conflict {
                message: e.to_string(),
                holder: None,
                reason: Some("idle"),
            },
            _ => ApiError::Conflict {
                message: e.to_string(),
                holder: None,
                reason: None,
            },
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Auth(AuthError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Auth(AuthError::NotLocal) => StatusCode::FORBIDDEN,
            ApiError::Auth(_) => StatusCode::UNAUTHORIZED,
            ApiError::Denied(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "API request failed");
        }
        let mut body = serde_json::json!({ "error": self.to_string() });
        if let ApiError::Conflict { holder, reason, .. } = &self {
            if let Some(h) = holder {
                body["holder"] = serde_json::Value::String(h.clone());
            }
            if let Some(r) = reason {
                body["reason"] = serde_json::Value::from(*r);
            }
        }
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), status).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                warp::http::header::WWW_AUTHENTICATE,
                warp::http::HeaderValue::from_static("Bearer realm=\"pacs\""),
            );
        }
        response
    }
}

/// A JSON answer, or the error's.
pub fn reply<T: Serialize>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(value) => warp::reply::json(&value).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The request's caller (or why there is none), with the client address.
pub fn principal(
    auth: Arc<Auth>,
) -> impl Filter<Extract = (Result<Principal, AuthError>,), Error = std::convert::Infallible> + Clone
{
    warp::header::headers_cloned()
        .and(crate::http::client_addr())
        .then(move |headers: HeaderMap, peer: Option<SocketAddr>| {
            let auth = auth.clone();
            async move { auth.principal(&headers, peer).await }
        })
}

/// The caller, if allowed to do `action`; a signed-in caller refused is
/// on the audit trail.
pub async fn caller(
    auth: &Auth,
    who: Result<Principal, AuthError>,
    action: Action,
) -> Result<Principal, ApiError> {
    let who = who?;
    if let Err(denied) = crate::access::allow(&who, action) {
        auth.audit(
            Some(&who),
            action.audit_name(),
            None,
            Some(denied.0.clone()),
            "denied",
        )
        .await;
        return Err(denied.into());
    }
    Ok(who)
}

/// A refusal raised inside a filter chain, turned into its response by
/// [`refusal_response`] in the server's rejection handler.
#[derive(Debug)]
pub struct Refused(pub StatusCode, pub String);

impl warp::reject::Reject for Refused {}

/// Passes only callers allowed to do `action`, for routes under `prefix`
/// (e.g. `api/forwarding`) that were written before accounts existed.
pub fn guard(
    auth: Arc<Auth>,
    prefix: &'static str,
    action: Action,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::path::peek()
        .and(principal(auth.clone()))
        .and_then(
            move |path: warp::path::Peek, who: Result<Principal, AuthError>| {
                let auth = auth.clone();
                async move {
                    if !path.as_str().starts_with(prefix) {
                        return Err(warp::reject::not_found());
                    }
                    match caller(&auth, who, action).await {
                        Ok(_) => Ok(()),
                        Err(e) => Err(warp::reject::custom(Refused(e.status(), e.to_string()))),
                    }
                }
            },
        )
        .untuple_one()
}

/// The response for a [`Refused`] rejection.
pub fn refusal_response(refused: &Refused) -> Response {
    let mut response = warp::reply::with_status(
        warp::reply::json(&serde_json::json!({ "error": refused.1 })),
        refused.0,
    )
    .into_response();
    if refused.0 == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            warp::http::header::WWW_AUTHENTICATE,
            warp::http::HeaderValue::from_static("Bearer realm=\"pacs\""),
        );
    }
    response
}

/// RFC 3339 UTC, to the second.
pub fn time(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 time or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_time(s: &str) -> Option<Millis> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// What the API's routes share.
pub struct ApiState {
    pub auth: Arc<Auth>,
    pub store: Arc<dyn pacs_core::workflow::Workflow>,
    pub archive: Arc<pacs_core::Archive>,
    pub ingest: Arc<pacs_core::Ingest>,
    pub turnaround: pacs_core::workflow::Turnaround,
    /// The archive's name on reports (institution).
    pub institution: Option<String>,
    /// The offset from UTC of the times reports give, in minutes; `None`
    /// for this server's time zone.
    pub utc_offset_minutes: Option<i32>,
    /// How second-opinion copies are de-identified.
    pub deid: Option<pacs_core::deid::DeidConfig>,
    /// The audit trail, for what is recorded once while it repeats.
    pub once: Arc<crate::auth::AuditOnce>,
}

impl ApiState {
    /// The caller of a route, if allowed to do `action` on `study`. A
    /// refusal is on the audit trail as the `attempt` it stopped (the
    /// name a success of the route is recorded under), as DICOMweb's are.
    pub async fn caller_on(
        &self,
        who: Result<Principal, AuthError>,
        action: Action,
        study: &str,
        attempt: &str,
    ) -> Result<Principal, ApiError> {
        let who = who?;
        if let Err(denied) =
            crate::access::allow_study(self.store.as_ref(), &who, action, study).await?
        {
            self.auth
                .audit(
                    Some(&who),
                    attempt,
                    Some(study),
                    Some(denied.0.clone()),
                    "denied",
                )
                .await;
            return Err(denied.into());
        }
        Ok(who)
    }
}

/// A request body of at most `limit` bytes, read whole. Unlike warp's
/// `content_length_limit`, a POST without a body (so without
/// Content-Length) is accepted as empty; a chunked body, whose size is
/// unknown until it is read, is refused.
pub fn small_body(
    limit: u64,
) -> impl Filter<Extract = (bytes::Bytes,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::header::optional::<String>("transfer-encoding"))
        .and_then(
            move |length: Option<u64>, encoding: Option<String>| async move {
                match (length, encoding) {
                    (Some(n), _) if n > limit => Err(refuse(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the request body is larger than {limit} bytes"),
                    )),
                    (None, Some(_)) => Err(refuse(
                        StatusCode::LENGTH_REQUIRED,
                        "send the request body with a Content-Length".into(),
                    )),
                    _ => Ok(()),
                }
            },
        )
        .untuple_one()
        .and(warp::body::bytes())
}

/// A small JSON request body (of at most `limit` bytes): none, or only
/// blanks, is `T::default()`; anything else must be JSON and say so in
/// its Content-Type. A page elsewhere can make a browser send a form or
/// plain text without asking first, but never JSON.
pub fn json_body<T>(limit: u64) -> impl Filter<Extract = (T,), Error = warp::Rejection> + Clone
where
    T: serde::de::DeserializeOwned + Default + Send,
{
    small_body(limit)
        .and(warp::header::optional::<String>("content-type"))
        .and_then(|b: bytes::Bytes, content_type: Option<String>| async move {
            if b.iter().all(u8::is_ascii_whitespace) {
                return Ok(T::default());
            }
            if !crate::auth::routes::is_json(content_type.as_deref()) {
                return Err(refuse(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the request body as JSON, with Content-Type: application/json".into(),
                ));
            }
            serde_json::from_slice::<T>(&b).map_err(|e| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    format!("the request body is not valid JSON: {e}"),
                )
            })
        })
}

fn refuse(status: StatusCode, message: String) -> warp::Rejection {
    warp::reject::custom(Refused(status, message))
}

/// The `ApiState` as a filter.
pub fn with_state(
    state: Arc<ApiState>,
) -> impl Filter<Extract = (Arc<ApiState>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || state.clone())
}
