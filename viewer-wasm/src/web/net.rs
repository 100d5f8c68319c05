//! `fetch` against the archive's DICOMweb API (same origin), with errors
//! that say what the user can do about them. A 401 means the session
//! ended: the reader is sent to sign in, and brought back afterwards.

use js_sys::ArrayBuffer;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use viewer_core::dicom_json::Attributes;

use super::dom::window;

/// Root of the DICOMweb API on the page's own origin.
pub const DICOMWEB: &str = "/dicom-web";

/// Why a request gave nothing usable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NetError {
    /// `fetch` itself failed: no connection, DNS, server down, CORS.
    #[error("the archive server cannot be reached")]
    Unreachable,
    /// The server answered with an error status.
    #[error("the archive answered {status} for {url}")]
    Status { status: u16, url: String },
    /// The body could not be read or parsed.
    #[error("the archive's answer could not be read: {0}")]
    Body(String),
}

impl NetError {
    /// Whether asking again may succeed: the connection failed or broke,
    /// or the server (or a proxy) said "not now"
    /// ([`crate::retry::transient_status`]).
    pub fn is_transient(&self) -> bool {
        match self {
            NetError::Unreachable | NetError::Body(_) => true,
            NetError::Status { status, .. } => crate::retry::transient_status(*status),
        }
    }
}

/// Whether an answer is a failure that may pass by asking again.
pub fn transient<T>(answer: &Result<T, NetError>) -> bool {
    matches!(answer, Err(error) if error.is_transient())
}

/// Asks with `ask` until `again` says the answer is final, waiting the
/// times of [`crate::retry`] between attempts. `again` sees every answer,
/// so a caller can show meanwhile that the link was lost (and take that
/// back once an answer comes); it is usually [`transient`], with a
/// caller's own reasons to stop added (a series closed meanwhile).
pub async fn retrying<T>(
    url: &str,
    mut ask: impl AsyncFnMut() -> Result<T, NetError>,
    mut again: impl FnMut(&Result<T, NetError>) -> bool,
) -> Result<T, NetError> {
    let mut attempt = 0;
    loop {
        let answer = ask().await;
        if !again(&answer) {
            return answer;
        }
        attempt += 1;
        let wait = crate::retry::delay_ms(attempt);
        if let Err(error) = &answer {
            super::dom::log(&format!("{url}: {error}; asking again in {wait} ms"));
        }
        super::dom::sleep(wait).await;
    }
}

/// A successful response's body and content type.
pub struct Fetched {
    pub content_type: String,
    pub body: ArrayBuffer,
    /// The answer's absolute URL, as the browser's timings name it.
    pub url: String,
}

/// A request `index.html` started for `url` while the application was
/// still downloading (`window.pacsPrefetch`), taken so it is used once.
pub fn take_prefetched(url: &str) -> Option<js_sys::Promise> {
    let map = js_sys::Reflect::get(&window(), &"pacsPrefetch".into()).ok()?;
    if !map.is_object() {
        return None;
    }
    let key = wasm_bindgen::JsValue::from_str(url);
    let promise = js_sys::Reflect::get(&map, &key).ok()?;
    let promise = promise.dyn_into::<js_sys::Promise>().ok()?;
    let _ = js_sys::Reflect::delete_property(map.unchecked_ref::<js_sys::Object>(), &key);
    Some(promise)
}

/// The metadata request `index.html` started for the study's first
/// series, if it chose `series_uid` (the application's own choice);
/// otherwise `None` and the application asks itself.
pub async fn take_first_metadata(series_uid: &str) -> Option<js_sys::Promise> {
    let promise = take_prefetched("firstMetadata")?;
    let chosen = JsFuture::from(promise).await.ok()?;
    if !chosen.is_object() {
        return None;
    }
    let series = js_sys::Reflect::get(&chosen, &"series".into())
        .ok()?
        .as_string()?;
    if series != series_uid {
        return None;
    }
    js_sys::Reflect::get(&chosen, &"response".into())
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()
}

async fn send(url: &str, accept: &str) -> Result<Response, NetError> {
    send_with(url, accept, None).await
}

async fn send_with(
    url: &str,
    accept: &str,
    prefetched: Option<js_sys::Promise>,
) -> Result<Response, NetError> {
    let pending = match prefetched.or_else(|| take_prefetched(url)) {
        Some(promise) => promise,
        None => {
            let init = RequestInit::new();
            init.set_method("GET");
            let request =
                Request::new_with_str_and_init(url, &init).map_err(|_| NetError::Unreachable)?;
            let _ = request.headers().set("Accept", accept);
            window().fetch_with_request(&request)
        }
    };
    let response = JsFuture::from(pending)
        .await
        .map_err(|_| NetError::Unreachable)?;
    let response: Response = response.unchecked_into();
    if !response.ok() {
        return Err(failed(&response, url));
    }
    Ok(response)
}

/// A response body read as it arrives.
pub struct ByteStream {
    reader: web_sys::ReadableStreamDefaultReader,
}

impl ByteStream {
    /// The next bytes, or `None` at the end of the body.
    pub async fn next(&self) -> Result<Option<Vec<u8>>, NetError> {
        let read = JsFuture::from(self.reader.read())
            .await
            .map_err(|_| NetError::Body("the connection broke while reading".into()))?;
        let done = js_sys::Reflect::get(&read, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            return Ok(None);
        }
        let value = js_sys::Reflect::get(&read, &"value".into())
            .map_err(|_| NetError::Body("a chunk without bytes".into()))?;
        Ok(Some(js_sys::Uint8Array::new(&value).to_vec()))
    }

    /// Stops reading: the rest of the body is not wanted.
    pub fn cancel(&self) {
        let _ = self.reader.cancel();
    }
}

/// Starts a GET of `url` and returns its content type and its body as a
/// stream.
pub async fn get_stream(url: &str, accept: &str) -> Result<(String, ByteStream), NetError> {
    let response = send(url, accept).await?;
    let content_type = content_type(&response);
    let body = response
        .body()
        .ok_or_else(|| NetError::Body("no body".into()))?;
    let reader = body.get_reader().unchecked_into();
    Ok((content_type, ByteStream { reader }))
}

/// A response's Content-Type, or an empty string.
fn content_type(response: &Response) -> String {
    response
        .headers()
        .get("Content-Type")
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The error for a failed answer; a 401 also starts the way to sign-in.
fn failed(response: &Response, url: &str) -> NetError {
    if response.status() == 401 {
        super::session::to_sign_in();
    }
    NetError::Status {
        status: response.status(),
        url: url.to_owned(),
    }
}

/// GETs a DICOM JSON array (a QIDO-RS or metadata response), read
/// straight from the body's bytes. `204 No Content` (an empty QIDO-RS
/// result) and an empty body read as no results.
pub async fn get_attributes(url: &str) -> Result<Vec<Attributes>, NetError> {
    get_attributes_from(url, None).await
}

/// [`get_attributes`] reading `prefetched` (a `fetch` already under way
/// for `url`) when given.
pub async fn get_attributes_from(
    url: &str,
    prefetched: Option<js_sys::Promise>,
) -> Result<Vec<Attributes>, NetError> {
    let response = send_with(url, "application/dicom+json, application/json", prefetched).await?;
    if response.status() == 204 {
        return Ok(Vec::new());
    }
    let body = JsFuture::from(
        response
            .array_buffer()
            .map_err(|_| NetError::Body("no body".into()))?,
    )
    .await
    .map_err(|_| NetError::Body("the connection broke while reading".into()))?;
    let bytes = js_sys::Uint8Array::new(&body).to_vec();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    Attributes::list_from_slice(&bytes).map_err(|e| NetError::Body(e.to_string()))
}

/// GETs a JSON body (the archive's own API) as `T`.
pub async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, NetError> {
    let response = send(url, "application/json").await?;
    let text = JsFuture::from(
        response
            .text()
            .map_err(|_| NetError::Body("no body".into()))?,
    )
    .await
    .map_err(|_| NetError::Body("the connection broke while reading".into()))?
    .as_string()
    .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| NetError::Body(e.to_string()))
}

/// POSTs to `url` with no body (an action of the archive's own API).
pub async fn post(url: &str) -> Result<(), NetError> {
    let init = RequestInit::new();
    init.set_method("POST");
    let request = Request::new_with_str_and_init(url, &init).map_err(|_| NetError::Unreachable)?;
    let _ = request.headers().set("Accept", "application/json");
    let response = JsFuture::from(window().fetch_with_request(&request))
        .await
        .map_err(|_| NetError::Unreachable)?;
    let response: Response = response.unchecked_into();
    if !response.ok() {
        return Err(failed(&response, url));
    }
    Ok(())
}

/// GETs a binary body (frames) with the given Accept header.
pub async fn get_bytes(url: &str, accept: &str) -> Result<Fetched, NetError> {
    let response = send(url, accept).await?;
    let content_type = content_type(&response);
    let url = response.url();
    let buffer = JsFuture::from(
        response
            .array_buffer()
            .map_err(|_| NetError::Body("no body".into()))?,
    )
    .await
    .map_err(|_| NetError::Body("the connection broke while reading".into()))?;
    Ok(Fetched {
        content_type,
        body: buffer.unchecked_into(),
        url,
    })
}
