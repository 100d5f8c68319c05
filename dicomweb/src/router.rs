//! The `/dicom-web` routes: warp extracts the request, and a plain match on
//! the path segments picks the resource.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures::TryStreamExt;
use pacs_core::Uid;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method};
use warp::reply::Response;

use crate::error::WebError;
use crate::request::Request;
use crate::{WebState, qido, stow, wado};

/// The DICOMweb routes, rooted at `/dicom-web`.
pub fn routes(state: Arc<WebState>) -> BoxedFilter<(Response,)> {
    let raw_query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let state_filter = warp::any().map(move || state.clone());
    let common = warp::path("dicom-web")
        .and(warp::method())
        .and(warp::path::tail())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(
            warp::ext::optional::<crate::PeerAddr>()
                .map(|p: Option<crate::PeerAddr>| p.map(|p| p.0)),
        )
        .and(state_filter);

    let reads = common
        .clone()
        .and(warp::get().or(warp::head()).unify())
        .then(
            |method: Method,
             tail: warp::path::Tail,
             query: String,
             headers: HeaderMap,
             addr: Option<SocketAddr>,
             state: Arc<WebState>| async move {
                let mut req = request(&state, &query, &headers, addr);
                let segments: Vec<&str> =
                    tail.as_str().split('/').filter(|s| !s.is_empty()).collect();
                let admitted = match read_access(&segments) {
                    Ok(access) => {
                        let access = access.as_access(tail.as_str(), &query);
                        state.gate.admit(&headers, addr, access).await
                    }
                    Err(e) => Err(e),
                };
                let mut response = match admitted {
                    Ok(grant) => {
                        req.grant = grant;
                        respond(get(&state, &req, &segments).await)
                    }
                    Err(e) => e.into_response(),
                };
                if method == Method::HEAD {
                    *response.body_mut() = Bytes::new().into();
                }
                response
            },
        );
    let writes = common
        .and(warp::post())
        .and(warp::body::stream())
        .then(post);
    reads.or(writes).unify().boxed()
}

async fn post<S, B>(
    _method: Method,
    tail: warp::path::Tail,
    query: String,
    headers: HeaderMap,
    addr: Option<SocketAddr>,
    state: Arc<WebState>,
    body: S,
) -> Response
where
    S: futures::Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf + Send,
{
    let mut req = request(&state, &query, &headers, addr);
    let segments: Vec<&str> = tail.as_str().split('/').filter(|s| !s.is_empty()).collect();
    let study = match segments.as_slice() {
        ["studies", study] => uid(study).ok(),
        _ => None,
    };
    match state
        .gate
        .admit(
            &headers,
            addr,
            crate::gate::Access::Store {
                study: study.as_ref(),
            },
        )
        .await
    {
        Ok(grant) => req.grant = grant,
        Err(e) => return e.into_response(),
    }
    let body = Box::pin(idle_limited(
        Box::pin(
            body.map_ok(|mut b| b.copy_to_bytes(b.remaining()))
                .map_err(std::io::Error::other),
        ),
        state.config.body_idle_timeout,
    ));
    let result = match segments.as_slice() {
        ["studies"] => stow::store(&state, &req, None, body).await,
        ["studies", study] => match uid(study) {
            Ok(study) => stow::store(&state, &req, Some(study), body).await,
            Err(e) => Err(e),
        },
        _ => Err(WebError::new(
            warp::http::StatusCode::METHOD_NOT_ALLOWED,
            "POST is allowed on /dicom-web/studies and /dicom-web/studies/{study} only",
        )),
    };
    respond(result)
}

/// `body`, failing once nothing has arrived for `limit`.
fn idle_limited<S>(
    body: S,
    limit: std::time::Duration,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send,
{
    futures::stream::unfold(Some(body), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(limit, futures::StreamExt::next(&mut body)).await {
            Ok(Some(item)) => Some((item, Some(body))),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("nothing arrived for {} s", limit.as_secs()),
                )),
                None,
            )),
        }
    })
}

fn respond(result: Result<Response, WebError>) -> Response {
    result.unwrap_or_else(WebError::into_response)
}

fn request(
    state: &WebState,
    query: &str,
    headers: &HeaderMap,
    addr: Option<SocketAddr>,
) -> Request {
    let header_values = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let base = match &state.config.public_base {
        Some(b) => b.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(warp::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| h.bytes().all(|b| b.is_ascii_graphic()))
                .unwrap_or("localhost");
            format!("http://{host}/dicom-web")
        }
    };
    Request {
        query: form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        accept: header_values(warp::http::header::ACCEPT),
        content_type: headers
            .get(warp::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        base,
        peer: addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into()),
        grant: Default::default(),
    }
}

/// A read's access, owned: the study UID parsed from the path.
enum ReadAccess {
    Search,
    Read(Uid, crate::gate::ReadKind),
}

impl ReadAccess {
    /// The access, for a request to `path` (under `/dicom-web/`) with
    /// `query`.
    fn as_access<'a>(&'a self, path: &'a str, query: &'a str) -> crate::gate::Access<'a> {
        match self {
            ReadAccess::Search => crate::gate::Access::Search {
                resource: path,
                query,
            },
            ReadAccess::Read(study, kind) => crate::gate::Access::Read { study, kind: *kind },
        }
    }
}

/// What a GET under `/dicom-web` reads, decided from its path before any
/// resource runs.
fn read_access(segments: &[&str]) -> Result<ReadAccess, WebError> {
    use crate::gate::ReadKind;
    match segments {
        ["studies", s, rest @ ..] => {
            let study = uid(s)?;
            let kind = match rest {
                [] => ReadKind::Retrieve,
                ["series", _] | ["series", _, "instances", _] => ReadKind::Retrieve,
                ["metadata"] | ["series"] | ["instances"] => ReadKind::Metadata,
                ["series", _, "metadata" | "instances"] => ReadKind::Metadata,
                ["series", _, "instances", _, "metadata"] => ReadKind::Metadata,
                _ => ReadKind::Pixels,
            };
            Ok(ReadAccess::Read(study, kind))
        }
        _ => Ok(ReadAccess::Search),
    }
}

/// A UID from the path; anything else is a 400, never a lookup.
pub(crate) fn uid(segment: &str) -> Result<Uid, WebError> {
    Uid::parse(segment).map_err(|e| WebError::bad_request(format!("invalid UID in the path: {e}")))
}

async fn get(state: &WebState, req: &Request, segments: &[&str]) -> Result<Response, WebError> {
    use pacs_core::query::Level;
    match segments {
        ["studies"] => qido::search(state, req, Level::Study, None, None).await,
        ["series"] => qido::search(state, req, Level::Series, None, None).await,
        ["instances"] => qido::search(state, req, Level::Instance, None, None).await,
        ["studies", s, rest @ ..] => {
            let s = uid(s)?;
            match rest {
                [] => wado::retrieve(state, req, &s, None, None).await,
                ["metadata"] => wado::metadata(state, req, &s, None, None).await,
                ["series"] => qido::search(state, req, Level::Series, Some(s), None).await,
                ["instances"] => qido::search(state, req, Level::Instance, Some(s), None).await,
                ["rendered"] | ["thumbnail"] => {
                    wado::representative(state, req, &s, None, rest[0] == "thumbnail").await
                }
                ["series", se, rest @ ..] => {
                    let se = uid(se)?;
                    series(state, req, s, se, rest).await
                }
                _ => Err(not_found(segments)),
            }
        }
        _ => Err(not_found(segments)),
    }
}

async fn series(
    state: &WebState,
    req: &Request,
    s: Uid,
    se: Uid,
    rest: &[&str],
) -> Result<Response, WebError> {
    use pacs_core::query::Level;
    match rest {
        [] => wado::retrieve(state, req, &s, Some(&se), None).await,
        ["metadata"] => wado::metadata(state, req, &s, Some(&se), None).await,
        ["instances"] => qido::search(state, req, Level::Instance, Some(s), Some(se)).await,
        ["rendered"] | ["thumbnail"] => {
            wado::representative(state, req, &s, Some(&se), rest[0] == "thumbnail").await
        }
        ["instances", i, rest @ ..] => {
            let i = uid(i)?;
            match rest {
                [] => wado::retrieve(state, req, &s, Some(&se), Some(&i)).await,
                ["metadata"] => wado::metadata(state, req, &s, Some(&se), Some(&i)).await,
                ["rendered"] => wado::rendered(state, req, &s, &se, &i, None, false).await,
                ["thumbnail"] => wado::rendered(state, req, &s, &se, &i, None, true).await,
                ["frames", list] => wado::frames(state, req, &s, &se, &i, list).await,
                ["frames", list, kind @ ("rendered" | "thumbnail")] => {
                    let first = wado::frame_list(list)?.first().copied();
                    wado::rendered(state, req, &s, &se, &i, first, *kind == "thumbnail").await
                }
                ["bulkdata", path @ ..] => wado::bulkdata(state, req, &s, &se, &i, path).await,
                _ => Err(not_found(rest)),
            }
        }
        _ => Err(not_found(rest)),
    }
}

fn not_found(segments: &[&str]) -> WebError {
    WebError::not_found(format!(
        "no DICOMweb resource at /dicom-web/.../{}",
        segments.join("/")
    ))
}

/// Appends a `Warning: 299 pacs "text"` header (RFC 7234 §5.5). The text
/// becomes a valid quoted-string whatever it holds: double quotes turn
/// single (so a quoted UID reads as one), backslashes are escaped, line
/// breaks and other controls become spaces, and what is not ASCII becomes
/// `?` (a header is read as Latin-1, so UTF-8 would arrive garbled).
pub(crate) fn add_warning(r: &mut Response, text: &str) {
    let mut value = String::with_capacity(text.len() + 12);
    value.push_str("299 pacs \"");
    for c in text.chars() {
        match c {
            '"' => value.push('\''),
            '\\' => value.push_str("\\\\"),
            c if c.is_ascii_control() => value.push(' '),
            c if !c.is_ascii() => value.push('?'),
            c => value.push(c),
        }
    }
    value.push('"');
    if let Ok(v) = warp::http::HeaderValue::from_str(&value) {
        r.headers_mut().append(warp::http::header::WARNING, v);
    }
}

/// Helper for resources: a response with a body and a content type.
pub(crate) fn response(content_type: &str, body: impl Into<Bytes>) -> Response {
    let body: Bytes = body.into();
    let mut r = Response::new(body.into());
    if let Ok(v) = warp::http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(warp::http::header::CONTENT_TYPE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_quoted_strings_whatever_the_text() {
        let mut r = response("text/plain", "");
        add_warning(&mut r, "\"1.2.x\" is not a valid UID");
        add_warning(&mut r, "PatientName=Юсупов\\Ali\r\nInjected: yes");
        let values: Vec<&str> = r
            .headers()
            .get_all(warp::http::header::WARNING)
            .iter()
            .map(|v| v.to_str().expect("visible ASCII"))
            .collect();
        assert_eq!(
            values,
            vec![
                "299 pacs \"'1.2.x' is not a valid UID\"",
                "299 pacs \"PatientName=??????\\\\Ali  Injected: yes\"",
            ]
        );
    }
}
