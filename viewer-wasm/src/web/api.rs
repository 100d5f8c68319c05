//! `fetch` against the archive's own JSON API (`/api/...`, same origin).
//! The session is the cookie the server set at sign-in, so requests carry
//! nothing of their own. A 401 means the session is gone: [`call`] sends
//! the reader to the sign-in page (which brings them back), [`call_quiet`]
//! leaves that to its caller (the sign-in form itself, the first `me`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use super::dom::window;
use crate::api_error::ApiError;

/// The answer's status and body text.
async fn request(
    method: &str,
    url: &str,
    body: Option<String>,
    prefetched: Option<js_sys::Promise>,
) -> Result<String, ApiError> {
    let pending = match prefetched {
        Some(promise) => promise,
        None => {
            let init = RequestInit::new();
            init.set_method(method);
            if let Some(body) = &body {
                init.set_body(&wasm_bindgen::JsValue::from_str(body));
            }
            let request =
                Request::new_with_str_and_init(url, &init).map_err(|_| ApiError::Unreachable)?;
            let headers = request.headers();
            let _ = headers.set("Accept", "application/json");
            if body.is_some() {
                let _ = headers.set("Content-Type", "application/json");
            }
            window().fetch_with_request(&request)
        }
    };
    let response: Response = JsFuture::from(pending)
        .await
        .map_err(|_| ApiError::Unreachable)?
        .unchecked_into();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    if response.ok() {
        return Ok(text);
    }
    let retry_after = response.headers().get("Retry-After").ok().flatten();
    Err(ApiError::from_response(
        response.status(),
        &text,
        retry_after.as_deref(),
    ))
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let text = if text.trim().is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(|e| ApiError::Body(e.to_string()))
}

fn encode<B: Serialize>(body: Option<&B>) -> Option<String> {
    body.and_then(|b| serde_json::to_string(b).ok())
}

/// Sends `method url` with an optional JSON body and reads the JSON
/// answer as `T` (`()` for none). A 401 goes to the sign-in page.
pub async fn call<T: DeserializeOwned, B: Serialize>(
    method: &str,
    url: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let result = call_quiet(method, url, body).await;
    if matches!(result, Err(ApiError::SignedOut)) {
        super::session::to_sign_in();
    }
    result
}

/// [`call`] without the way to the sign-in page on 401.
pub async fn call_quiet<T: DeserializeOwned, B: Serialize>(
    method: &str,
    url: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let text = request(method, url, encode(body), None).await?;
    parse(&text)
}

/// GETs `url` as `T`; a 401 goes to the sign-in page.
pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    call::<T, ()>("GET", url, None).await
}

/// GETs `url` as `T`, using the request `index.html` started for it while
/// the application downloaded, if there is one; a 401 is returned.
pub async fn get_prefetched<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    let prefetched = super::net::take_prefetched(url);
    let text = request("GET", url, None, prefetched).await?;
    parse(&text)
}

/// Sends a request that outlives the page (`fetch(..., {keepalive:
/// true})`): what must still reach the server while the reader leaves.
/// Nothing is learned of its answer.
pub fn send_keepalive<B: Serialize>(method: &str, url: &str, body: Option<&B>) {
    let init = RequestInit::new();
    init.set_method(method);
    let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
    let body = encode(body);
    if let Some(body) = &body {
        init.set_body(&wasm_bindgen::JsValue::from_str(body));
    }
    let Ok(request) = Request::new_with_str_and_init(url, &init) else {
        return;
    };
    let _ = request.headers().set("Accept", "application/json");
    if body.is_some() {
        let _ = request.headers().set("Content-Type", "application/json");
    }
    // The promise is dropped: the browser finishes the request anyway.
    let _ = window().fetch_with_request(&request);
}
