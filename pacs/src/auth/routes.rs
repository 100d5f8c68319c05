//! Sign-in and sign-out: `POST /api/auth/login`, `POST /api/auth/logout`,
//! `GET /api/auth/me`, `GET /api/auth/config`, the identity provider's
//! round trip (`/api/auth/oidc/login` and `/callback`), and `/share/{secret}`
//! which opens a read-only link in the viewer.

use std::net::SocketAddr;
use std::sync::Arc;

use pacs_core::forward::now_millis;
use pacs_core::workflow::{LockScope, ProviderSignIn};
use serde::Deserialize;
use serde_json::json;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::{Reply, Response};

use super::{
    Auth, AuthError, DEVICE_COOKIE, Login, Principal, Via, cleared_cookie, cookie, device_cookie,
    is_secret, new_secret, record, secret_hash, session_cookie, session_cookie_name,
};
use crate::access::{Action, allow_study};
use crate::api::{ApiError, principal};

/// The identity provider, when one is configured.
pub struct OidcSignIn {
    pub provider: oidc::Provider,
    pub label: String,
    /// What the provider's role names start with (see
    /// [`super::oidc::role_from`]).
    pub role_prefix: String,
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

fn user_json(p: &Principal) -> serde_json::Value {
    json!({
        "username": p.username,
        "display_name": p.display_name,
        "role": p.role.as_str(),
        "site": p.site,
        "open": p.via == Via::Open,
        "read_only_link": p.via == Via::Share,
    })
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn address(peer: Option<SocketAddr>) -> Option<std::net::IpAddr> {
    peer.map(|p| p.ip())
}

/// Whether a `Content-Type` names JSON.
pub(crate) fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

async fn login(
    auth: Arc<Auth>,
    peer: Option<SocketAddr>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // A page on another site can make a browser post a form or plain text
    // anywhere without asking first, and a sign-in needs no cookie to
    // refuse: such a post could sign a reader's browser in to another's
    // account, whose worklist and reports they would then fill. Only JSON
    // needs the archive's leave (CORS), which it never gives.
    if !is_json(content_type) {
        let body = json!({
            "error": "send the credentials as JSON, with Content-Type: application/json",
        });
        return warp::reply::with_status(
            warp::reply::json(&body),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .into_response();
    }
    let Ok(c) = serde_json::from_slice::<Credentials>(&body) else {
        return ApiError::BadRequest("send JSON {\"username\": ..., \"password\": ...}".into())
            .into_response();
    };
    let attempt = Principal {
        username: Some(c.username.clone()),
        display_name: c.username.clone(),
        role: pacs_core::workflow::Role::Referrer,
        site: None,
        scope: Default::default(),
        via: Via::Session,
        address: address(peer),
    };
    let store = auth.store.clone();
    let device = cookie(&headers, DEVICE_COOKIE);
    let signed_in = auth
        .login(&c.username, &c.password, address(peer), device.as_deref())
        .await;
    match signed_in {
        Ok(Login::Ok {
            token,
            expires_at,
            account,
            device,
        }) => {
            let who = Principal {
                role: account.role,
                site: account.site.clone(),
                display_name: account.display_name.clone(),
                ..attempt
            };
            record(store.as_ref(), Some(&who), "login", None, None, "ok").await;
            let body = json!({
                "token": token,
                "expires_at": crate::api::time(expires_at),
                "user": user_json(&who),
            });
            let cookie = session_cookie(
                &token,
                auth.settings.session_lifetime,
                auth.settings.secure_cookie,
            );
            let response = with_cookie(warp::reply::json(&body).into_response(), &cookie);
            with_cookie(
                response,
                &device_cookie(&device, auth.settings.secure_cookie),
            )
        }
        Ok(Login::Wrong) => {
            record_failed_sign_in(store.as_ref(), &attempt, None).await;
            let body = json!({ "error": "wrong user name or password" });
            warp::reply::with_status(warp::reply::json(&body), StatusCode::UNAUTHORIZED)
                .into_response()
        }
        Ok(Login::Locked(lock)) => {
            let (refused, detail, advice) = match lock.scope {
                LockScope::NameFromAddress => (
                    "name_from_address",
                    "name refused from this address after repeated failures",
                    "",
                ),
                LockScope::Address => (
                    "address",
                    "address refused after repeated failures under several names",
                    "",
                ),
                LockScope::Name => (
                    "name",
                    "name refused to unrecognised browsers after repeated failures from several addresses",
                    " (a browser that has signed in under this name before may sign in now)",
                ),
            };
            record_failed_sign_in(store.as_ref(), &attempt, Some(detail)).await;
            let wait = ((lock.until - now_millis()) / 1000).max(1);
            let body = json!({
                "error": format!("too many failed sign-ins; try again in {wait} s{advice}"),
                "refused": refused,
            });
            let mut response =
                warp::reply::with_status(warp::reply::json(&body), StatusCode::TOO_MANY_REQUESTS)
                    .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// A failed sign-in on the audit trail: the name tried and where from,
/// with no role, for the name may be no account's.
async fn record_failed_sign_in(
    store: &dyn pacs_core::workflow::Workflow,
    attempt: &Principal,
    detail: Option<&str>,
) {
    let event = pacs_core::workflow::AuditEvent {
        id: 0,
        at: now_millis(),
        user: attempt.username.clone(),
        role: None,
        action: "login_failed".to_owned(),
        study_uid: None,
        detail: detail.map(str::to_owned),
        address: attempt.address.map(|a| a.to_string()),
        outcome: "failed".to_owned(),
    };
    if let Err(error) = store.audit(event).await {
        tracing::error!(%error, "cannot write to the audit trail");
    }
}

async fn logout(
    auth: Arc<Auth>,
    headers: HeaderMap,
    who: Result<Principal, AuthError>,
) -> Response {
    if let Ok(who) = &who {
        record(auth.store.as_ref(), Some(who), "logout", None, None, "ok").await;
    }
    let _ = auth.logout(&headers).await;
    let response = warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response();
    with_cookie(response, &cleared_cookie(auth.settings.secure_cookie))
}

fn redirect(to: &str) -> Response {
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

fn page_error(status: StatusCode, message: &str) -> Response {
    warp::reply::with_status(format!("{message}\n"), status).into_response()
}

/// `GET /share/{secret}`: a valid link opens its study in the viewer.
/// A browser signed in to an account that may read the study keeps its
/// session and opens the study as that account. Any other browser gets
/// the link's session cookie; a person's session it replaces is signed
/// out first, so that none is left valid in no one's hands.
///
/// The session cookie is `SameSite=Strict`: a link followed from mail or
/// a chat arrives without it. So a request without one is first answered
/// with a page of this archive that asks again (`?via=NONCE`); that
/// request, made from the archive's own page, carries the session cookie
/// if the browser has one, and the page's own `SameSite=Strict` step
/// cookie, which must match the nonce. A second step another site linked
/// to comes without it, and is asked again: otherwise the link's session
/// would replace the reader's unseen, and leave it valid in no one's
/// hands. Browsers send no `Sec-Fetch-Site` to plain-http addresses,
/// so it cannot tell.
async fn share_link(
    auth: Arc<Auth>,
    secret: String,
    peer: Option<SocketAddr>,
    headers: HeaderMap,
    query: std::collections::HashMap<String, String>,
) -> Response {
    let link = match auth.principal_for_secret(&secret, address(peer)).await {
        Ok(who) if who.via == Via::Share => who,
        _ => {
            return page_error(
                StatusCode::NOT_FOUND,
                "this link has expired or was withdrawn; ask the radiologist who shared it for a new one",
            );
        }
    };
    let pacs_core::workflow::StudyScope::Study(study) = &link.scope else {
        return page_error(StatusCode::NOT_FOUND, "this link does not open a study");
    };
    let own = cookie(&headers, session_cookie_name(auth.settings.secure_cookie))
        .filter(|own| *own != secret);
    let step = query.get("via");
    let from_our_page = step.is_some_and(|nonce| {
        cookie(&headers, STEP_COOKIE).is_some_and(|c| is_secret(&c) && c == *nonce)
    });
    if own.is_none() && !from_our_page {
        // A second step that failed is asked for once more by itself,
        // then only with a link to press: no browser that keeps the step
        // cookie back can be sent round in a loop.
        let again = match step {
            None => Again::First,
            Some(_) if query.contains_key("again") => Again::ByHand,
            Some(_) => Again::Once,
        };
        return ask_again_from_here(&secret, again, auth.settings.secure_cookie);
    }
    let viewer = redirect(&format!("/viewer?study={study}"));
    let signed_in = match &own {
        Some(own) => auth.principal_for_secret(own, address(peer)).await.ok(),
        None => None,
    }
    .filter(|me| me.via == Via::Session);
    if let (Some(me), Some(own)) = (&signed_in, &own) {
        match allow_study(auth.store.as_ref(), me, Action::ReadStudy, study).await {
            Ok(Ok(())) => {
                let detail = "opened a shared link, signed in".to_owned();
                record(
                    auth.store.as_ref(),
                    Some(me),
                    "study_view",
                    Some(study),
                    Some(detail),
                    "ok",
                )
                .await;
                return viewer;
            }
            Ok(Err(_)) => {
                if let Err(e) = auth
                    .store
                    .revoke_session(&secret_hash(own), now_millis())
                    .await
                {
                    return ApiError::from(e).into_response();
                }
                let detail = "signed out: opened a shared link to a study outside the account's";
                record(
                    auth.store.as_ref(),
                    Some(me),
                    "logout",
                    None,
                    Some(detail.into()),
                    "ok",
                )
                .await;
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    record(
        auth.store.as_ref(),
        Some(&link),
        "study_view",
        Some(study),
        Some("opened a shared link".into()),
        "ok",
    )
    .await;
    let cookie = session_cookie(
        &secret,
        std::time::Duration::from_secs(24 * 3600),
        auth.settings.secure_cookie,
    );
    with_cookie(viewer, &cookie)
}

/// The cookie that shows the second step of opening a share link was
/// asked for by the archive's own page.
const STEP_COOKIE: &str = "pacs_share_step";

/// Which asking of a share link's second step a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Again {
    /// After the link's first request.
    First,
    /// After a second step without its step cookie.
    Once,
    /// After that asking failed too: the reader presses the link.
    ByHand,
}

/// A page of the archive that opens `/share/{secret}` again, at once
/// unless `again` is [`Again::ByHand`], so that the browser sends its
/// `SameSite=Strict` session cookie, if any, and the step cookie set here.
fn ask_again_from_here(secret: &str, again: Again, secure: bool) -> Response {
    // A valid link's secret is base64url; nothing else reaches this page.
    let secret: String = secret
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let nonce = new_secret();
    // As written in HTML: `&amp;` is `&`.
    let marked = if again == Again::First {
        ""
    } else {
        "&amp;again=1"
    };
    let again_url = format!("/share/{secret}?via={nonce}{marked}");
    let refresh = if again != Again::ByHand {
        format!("<meta http-equiv=\"refresh\" content=\"0;url={again_url}\">")
    } else {
        String::new()
    };
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"no-referrer\">{refresh}\
         <title>pacs</title></head>\
         <body><p><a id=\"open\" href=\"{again_url}\">Open the study / Открыть исследование / Tekshiruvni ochish</a></p>\
         </body></html>"
    );
    let step = format!(
        "{STEP_COOKIE}={nonce}; Path=/share/; HttpOnly; SameSite=Strict; Max-Age=600{}",
        if secure { "; Secure" } else { "" }
    );
    let mut response = with_cookie(warp::reply::html(page).into_response(), &step);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn oidc_login(auth: Arc<Auth>, oidc: Option<Arc<OidcSignIn>>) -> Response {
    let Some(oidc) = oidc else {
        return page_error(StatusCode::NOT_FOUND, "no identity provider is configured");
    };
    let (url, pending) = oidc.provider.begin();
    let data = match serde_json::to_string(&pending) {
        Ok(d) => d,
        Err(e) => return page_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if let Err(e) = auth
        .store
        .put_pending_login(&pending.state, &data, now_millis())
        .await
    {
        return page_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
    }
    // The callback must come back to the browser that started: a callback
    // URL sent to someone else must not sign them in as the sender. Lax,
    // because the provider's redirect back is a cross-site navigation.
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/api/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=600{}",
        pending.state,
        if auth.settings.secure_cookie {
            "; Secure"
        } else {
            ""
        }
    );
    with_cookie(redirect(&url), &cookie)
}

/// The cookie that ties a sign-in at the identity provider to the browser.
const STATE_COOKIE: &str = "pacs_oidc_state";

#[derive(Deserialize)]
struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn oidc_callback(
    auth: Arc<Auth>,
    oidc: Option<Arc<OidcSignIn>>,
    query: Callback,
    peer: Option<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(oidc) = oidc else {
        return page_error(StatusCode::NOT_FOUND, "no identity provider is configured");
    };
    // Every refusal is in the audit trail: a callback from another browser
    // or a replayed one is what a forged sign-in leaves behind.
    let failed = |who: String, why: String, status: StatusCode| {
        let auth = auth.clone();
        async move {
            let p = Principal {
                username: Some(who),
                display_name: String::new(),
                role: pacs_core::workflow::Role::Referrer,
                site: None,
                scope: Default::default(),
                via: Via::Session,
                address: address(peer),
            };
            record(
                auth.store.as_ref(),
                Some(&p),
                "login_failed",
                None,
                Some(why.clone()),
                "failed",
            )
            .await;
            page_error(status, &format!("sign-in failed: {why}"))
        }
    };
    const PROVIDER: &str = "(identity provider)";
    if let Some(error) = query.error {
        let detail = query.error_description.unwrap_or_default();
        let why = format!("the identity provider refused the sign-in: {error} {detail}");
        return failed(
            PROVIDER.into(),
            why.trim().to_owned(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let (Some(state), Some(code)) = (query.state, query.code) else {
        let why = "the callback lacks state or code; sign in again";
        return failed(PROVIDER.into(), why.into(), StatusCode::BAD_REQUEST).await;
    };
    if super::cookie(&headers, STATE_COOKIE).as_deref() != Some(state.as_str()) {
        let why = "this sign-in was not started in this browser; start again from the sign-in page";
        return failed(PROVIDER.into(), why.into(), StatusCode::BAD_REQUEST).await;
    }
    let pending = match auth.store.take_pending_login(&state).await {
        Ok(Some(data)) => serde_json::from_str::<oidc::PendingLogin>(&data).ok(),
        Ok(None) => None,
        Err(e) => return page_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let Some(pending) = pending else {
        let why = "this sign-in is unknown or was already used; start again from the sign-in page";
        return failed(PROVIDER.into(), why.into(), StatusCode::BAD_REQUEST).await;
    };
    let identity = match oidc.provider.finish(&pending, &state, &code).await {
        Ok(i) => i,
        Err(e) => return failed(PROVIDER.into(), e.to_string(), StatusCode::UNAUTHORIZED).await,
    };
    let existing = match auth.store.account(&identity.username).await {
        Ok(a) => a,
        Err(e) => return page_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let account = match super::oidc::account_for(&identity, &oidc.role_prefix, existing) {
        Ok(a) => a,
        Err(why) => return failed(identity.username.clone(), why, StatusCode::UNAUTHORIZED).await,
    };
    match auth.store.sign_in_from_provider(account.clone()).await {
        Ok(ProviderSignIn::Saved) => {}
        Ok(ProviderSignIn::Refused) => {
            // Disabled or bound to someone else since it was read above.
            let why = format!(
                "the account {} was disabled or changed during this sign-in",
                account.username
            );
            return failed(account.username.clone(), why, StatusCode::UNAUTHORIZED).await;
        }
        Ok(ProviderSignIn::KnownAs(known)) => {
            let why = format!(
                "the identity provider now names this user {}, but the archive knows them as {known}; \
                 an administrator must rename the account",
                account.username
            );
            return failed(account.username.clone(), why, StatusCode::UNAUTHORIZED).await;
        }
        Err(e) => return page_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
    let (token, _) = match auth.start_session(&account.username).await {
        Ok(t) => t,
        Err(e) => return page_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let who = Principal {
        username: Some(account.username.clone()),
        display_name: account.display_name.clone(),
        role: account.role,
        site: account.site.clone(),
        scope: account.scope(),
        via: Via::Session,
        address: address(peer),
    };
    record(
        auth.store.as_ref(),
        Some(&who),
        "login",
        None,
        Some(format!("through {}", identity.issuer)),
        "ok",
    )
    .await;
    let cookie = session_cookie(
        &token,
        auth.settings.session_lifetime,
        auth.settings.secure_cookie,
    );
    with_cookie(redirect("/"), &cookie)
}

pub fn routes(auth: Arc<Auth>, oidc: Option<Arc<OidcSignIn>>) -> BoxedFilter<(Response,)> {
    let with_auth = {
        let auth = auth.clone();
        warp::any().map(move || auth.clone())
    };
    let with_oidc = {
        let oidc = oidc.clone();
        warp::any().map(move || oidc.clone())
    };
    let peer = crate::http::client_addr();
    let login = warp::path!("api" / "auth" / "login")
        .and(crate::http::post())
        .and(with_auth.clone())
        .and(peer)
        .and(warp::header::headers_cloned())
        .and(crate::api::small_body(16 << 10))
        .then(login);
    let logout = warp::path!("api" / "auth" / "logout")
        .and(crate::http::post())
        .and(with_auth.clone())
        .and(warp::header::headers_cloned())
        .and(principal(auth.clone()))
        .then(logout);
    let me = warp::path!("api" / "auth" / "me")
        .and(crate::http::get())
        .and(principal(auth.clone()))
        .map(|who: Result<Principal, AuthError>| match who {
            Ok(p) => warp::reply::json(&user_json(&p)).into_response(),
            Err(e) => ApiError::from(e).into_response(),
        });
    let config = warp::path!("api" / "auth" / "config")
        .and(crate::http::get())
        .and(with_oidc.clone())
        .map(|oidc: Option<Arc<OidcSignIn>>| {
            warp::reply::json(&json!({
                "oidc": oidc.is_some(),
                "oidc_label": oidc.map(|o| o.label.clone()),
            }))
            .into_response()
        });
    let oidc_login = warp::path!("api" / "auth" / "oidc" / "login")
        .and(crate::http::get())
        .and(with_auth.clone())
        .and(with_oidc.clone())
        .then(oidc_login);
    let oidc_callback = warp::path!("api" / "auth" / "oidc" / "callback")
        .and(crate::http::get())
        .and(with_auth.clone())
        .and(with_oidc)
        .and(warp::query::<Callback>())
        .and(peer)
        .and(warp::header::headers_cloned())
        .then(oidc_callback);
    let share = warp::path!("share" / String)
        .and(crate::http::get())
        .and(with_auth)
        .and(peer)
        .and(warp::header::headers_cloned())
        .and(warp::query::<std::collections::HashMap<String, String>>())
        .then(|secret, auth, peer, headers, query| share_link(auth, secret, peer, headers, query));
    login
        .or(logout)
        .unify()
        .or(me)
        .unify()
        .or(config)
        .unify()
        .or(oidc_login)
        .unify()
        .or(oidc_callback)
        .unify()
        .or(share)
        .unify()
        .boxed()
}
