//! The signed-in user for the page's lifetime, the way to the sign-in
//! page when the session ends, and signing out.

use super::api;
use super::dom;
use crate::api_error::ApiError;
use crate::session::{Me, after_sign_in, login_link};

/// Where `GET /api/auth/me` is (`index.html` starts it early).
pub const ME: &str = "/api/auth/me";

/// Where a page asked for before an identity provider's sign-in is kept:
/// the provider returns the browser to `/`, and the page goes on from
/// there.
const AFTER_PROVIDER: &str = "pacs.after-sign-in";

/// Asks who is signed in. An archive without sign-in at all (404) or one
/// that cannot be reached is treated as open, so the pages show and say
/// themselves what is wrong; 401 is returned for the caller to show the
/// sign-in form.
pub async fn load() -> Result<Me, ApiError> {
    match api::get_prefetched::<Me>(ME).await {
        Ok(me) => Ok(me),
        Err(ApiError::Status { status: 404, .. } | ApiError::Unreachable) => Ok(Me::open_archive()),
        Err(other) => Err(other),
    }
}

/// The page's own address (path and query).
pub fn here() -> String {
    let location = dom::window().location();
    format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    )
}

/// Sends the reader to sign in, to come back to this page afterwards.
/// Once per page: several requests failing together navigate once.
pub fn to_sign_in() {
    thread_local! {
        static GOING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if GOING.with(|g| g.replace(true)) {
        return;
    }
    let path = dom::window().location().pathname().unwrap_or_default();
    if path.trim_end_matches('/') == "/login" {
        return;
    }
    let _ = dom::window().location().assign(&login_link(&here()));
}

/// Signs out and shows the sign-in page.
///
/// The request is synchronous on purpose: the session must be gone
/// before anything else happens in this tab. Sent asynchronously, a
/// navigation made at once (a bookmark, the next user typing an address
/// on a shared workstation) could cancel it, or overtake it and still be
/// let in.
pub fn sign_out() {
    if let Ok(request) = web_sys::XmlHttpRequest::new()
        && request
            .open_with_async("POST", "/api/auth/logout", false)
            .is_ok()
    {
        let _ = request.set_request_header("Accept", "application/json");
        if request.send().is_err() {
            dom::log("signing out: the archive could not be reached");
        }
    }
    let _ = dom::window().location().assign("/login");
}

/// Remembers the page to go to after an identity provider's sign-in.
pub fn remember_for_provider(next: Option<&str>) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(AFTER_PROVIDER, next.unwrap_or(""));
    }
}

/// After an identity provider's sign-in: the page asked for before it
/// (else the role's landing page), when that is not this page.
pub fn provider_return(me: &Me) -> Option<String> {
    let storage = session_storage()?;
    let next = storage.get_item(AFTER_PROVIDER).ok().flatten()?;
    let _ = storage.remove_item(AFTER_PROVIDER);
    if me.open {
        return None;
    }
    let target = after_sign_in(Some(next.as_str()).filter(|n| !n.is_empty()), me.role);
    (target != here()).then_some(target)
}

/// `sessionStorage`, where the browser allows it.
pub fn session_storage() -> Option<web_sys::Storage> {
    dom::window().session_storage().ok().flatten()
}
