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
use pacs_core::query::Level;

/// The DICOMweb routes, rooted at `/dicom-web`. One filter takes every
/// method: the path is resolved first, so that a path naming no resource
/// is a 404 whatever the method, and a method the resource does not take
/// is a 405 that names those it does (`Allow`, RFC 9110 §15.5.6).
pub fn routes(state: Arc<WebState>) -> BoxedFilter<(Response,)> {
    let raw_query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let state_filter = warp::any().map(move || state.clone());
    warp::path("dicom-web")
        .and(warp::method())
        .and(warp::path::tail())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(
            warp::ext::optional::<crate::PeerAddr>()
                .map(|p: Option<crate::PeerAddr>| p.map(|p| p.0)),
        )
        .and(state_filter)
        .and(warp::body::stream())
        .then(handle)
        .boxed()
}

async fn handle<S, B>(
    method: Method,
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
    let segments: Vec<&str> = tail.as_str().split('/').filter(|s| !s.is_empty()).collect();
    let read = ReadResource::resolve(&segments);
    let store = store_target(&segments);
    match (method.as_str(), read, store) {
        ("GET" | "HEAD", Ok(resource), _) => {
            let head = method == Method::HEAD;
            let access = resource.access(tail.as_str(), &query);
            let mut response = match state.gate.admit(&headers, addr, access).await {
                Ok(grant) => {
                    let mut req = request(&state, &query, &headers, addr);
                    req.grant = grant;
                    respond(resource.read(&state, &req).await)
                }
                Err(e) => e.into_response(),
            };
            if head {
                without_body(&mut response);
            }
            response
        }
        ("POST", _, Some(Ok(study))) => post(&state, &query, &headers, addr, study, body).await,
        (_, Err(e), Some(Err(_)) | None) | ("GET" | "HEAD", Err(e), _) => e.into_response(),
        (_, Ok(_), Some(Err(e))) => e.into_response(),
        (_, read, store) => {
            let mut allowed = Vec::new();
            if read.is_ok() {
                allowed.extend(["GET", "HEAD"]);
            }
            if store.is_some() {
                allowed.push("POST");
            }
            let allow = allowed.join(", ");
            let mut r = WebError::new(
                warp::http::StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed here: {allow} is"),
            )
            .into_response();
            if let Ok(value) = warp::http::HeaderValue::from_str(&allow) {
                r.headers_mut().insert(warp::http::header::ALLOW, value);
            }
            r
        }
    }
}

/// A GET's response as HEAD answers it: the same headers, Content-Length
/// included where the body's size is known (a streamed body's is not,
/// and then GET's has none either), and no body.
fn without_body(response: &mut Response) {
    use http_body::Body;
    if let Some(size) = response.body().size_hint().exact() {
        response
            .headers_mut()
            .insert(warp::http::header::CONTENT_LENGTH, size.into());
    }
    *response.body_mut() = Bytes::new().into();
}

/// Where a POST stores (STOW-RS): `Some` for the two paths that take one,
/// with the study the path names, if any.
fn store_target(segments: &[&str]) -> Option<Result<Option<Uid>, WebError>> {
    match segments {
        ["studies"] => Some(Ok(None)),
        ["studies", study] => Some(uid(study).map(Some)),
        _ => None,
    }
}

async fn post<S, B>(
    state: &WebState,
    query: &str,
    headers: &HeaderMap,
    addr: Option<SocketAddr>,
    study: Option<Uid>,
    body: S,
) -> Response
where
    S: futures::Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf + Send,
{
    let mut req = request(state, query, headers, addr);
    match state
        .gate
        .admit(
            headers,
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
    respond(stow::store(state, &req, study, body).await)
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

/// A UID from the path; anything else is a 400, never a lookup.
pub(crate) fn uid(segment: &str) -> Result<Uid, WebError> {
    Uid::parse(segment).map_err(|e| WebError::bad_request(format!("invalid UID in the path: {e}")))
}

/// What a GET (or HEAD) under `/dicom-web` reads, resolved from its path
/// before anything runs: UIDs checked, frame lists read.
enum ReadResource<'a> {
    Search {
        level: Level,
        study: Option<Uid>,
        series: Option<Uid>,
    },
    Retrieve {
        study: Uid,
        series: Option<Uid>,
        sop: Option<Uid>,
    },
    Metadata {
        study: Uid,
        series: Option<Uid>,
        sop: Option<Uid>,
    },
    /// The study's or series' representative image.
    Representative {
        study: Uid,
        series: Option<Uid>,
        thumbnail: bool,
    },
    Rendered {
        study: Uid,
        series: Uid,
        sop: Uid,
        frame: Option<u32>,
        thumbnail: bool,
    },
    Frames {
        study: Uid,
        series: Uid,
        sop: Uid,
        list: &'a str,
    },
    Bulkdata {
        study: Uid,
        series: Uid,
        sop: Uid,
        path: &'a [&'a str],
    },
}

impl<'a> ReadResource<'a> {
    fn resolve(segments: &'a [&'a str]) -> Result<ReadResource<'a>, WebError> {
        let search = |level, study, series| ReadResource::Search {
            level,
            study,
            series,
        };
        match segments {
            ["studies"] => Ok(search(Level::Study, None, None)),
            ["series"] => Ok(search(Level::Series, None, None)),
            ["instances"] => Ok(search(Level::Instance, None, None)),
            ["studies", s, rest @ ..] => {
                let study = uid(s)?;
                match rest {
                    [] => Ok(ReadResource::Retrieve {
                        study,
                        series: None,
                        sop: None,
                    }),
                    ["metadata"] => Ok(ReadResource::Metadata {
                        study,
                        series: None,
                        sop: None,
                    }),
                    ["series"] => Ok(search(Level::Series, Some(study), None)),
                    ["instances"] => Ok(search(Level::Instance, Some(study), None)),
                    [kind @ ("rendered" | "thumbnail")] => Ok(ReadResource::Representative {
                        study,
                        series: None,
                        thumbnail: *kind == "thumbnail",
                    }),
                    ["series", se, rest @ ..] => Self::in_series(study, uid(se)?, rest),
                    _ => Err(not_found(segments)),
                }
            }
            _ => Err(not_found(segments)),
        }
    }

    fn in_series(
        study: Uid,
        series: Uid,
        rest: &'a [&'a str],
    ) -> Result<ReadResource<'a>, WebError> {
        match rest {
            [] => Ok(ReadResource::Retrieve {
                study,
                series: Some(series),
                sop: None,
            }),
            ["metadata"] => Ok(ReadResource::Metadata {
                study,
                series: Some(series),
                sop: None,
            }),
            ["instances"] => Ok(ReadResource::Search {
                level: Level::Instance,
                study: Some(study),
                series: Some(series),
            }),
            [kind @ ("rendered" | "thumbnail")] => Ok(ReadResource::Representative {
                study,
                series: Some(series),
                thumbnail: *kind == "thumbnail",
            }),
            ["instances", i, rest @ ..] => {
                let sop = uid(i)?;
                match rest {
                    [] => Ok(ReadResource::Retrieve {
                        study,
                        series: Some(series),
                        sop: Some(sop),
                    }),
                    ["metadata"] => Ok(ReadResource::Metadata {
                        study,
                        series: Some(series),
                        sop: Some(sop),
                    }),
                    [kind @ ("rendered" | "thumbnail")] => Ok(ReadResource::Rendered {
                        study,
                        series,
                        sop,
                        frame: None,
                        thumbnail: *kind == "thumbnail",
                    }),
                    ["frames", list] => Ok(ReadResource::Frames {
                        study,
                        series,
                        sop,
                        list,
                    }),
                    ["frames", list, kind @ ("rendered" | "thumbnail")] => {
                        Ok(ReadResource::Rendered {
                            study,
                            series,
                            sop,
                            frame: Some(one_rendered_frame(list)?),
                            thumbnail: *kind == "thumbnail",
                        })
                    }
                    ["bulkdata", path @ ..] => Ok(ReadResource::Bulkdata {
                        study,
                        series,
                        sop,
                        path,
                    }),
                    _ => Err(not_found(rest)),
                }
            }
            _ => Err(not_found(rest)),
        }
    }

    /// What the gate is asked: a search across studies, or a read of one
    /// study's metadata (its searches included), instances or pixels.
    fn access<'b>(&'b self, path: &'b str, query: &'b str) -> crate::gate::Access<'b> {
        use crate::gate::{Access, ReadKind};
        let (study, kind) = match self {
            ReadResource::Search { study: None, .. } => {
                return Access::Search {
                    resource: path,
                    query,
                };
            }
            ReadResource::Search {
                study: Some(study), ..
            }
            | ReadResource::Metadata { study, .. } => (study, ReadKind::Metadata),
            ReadResource::Retrieve { study, .. } => (study, ReadKind::Retrieve),
            ReadResource::Representative { study, .. }
            | ReadResource::Rendered { study, .. }
            | ReadResource::Frames { study, .. }
            | ReadResource::Bulkdata { study, .. } => (study, ReadKind::Pixels),
        };
        Access::Read { study, kind }
    }

    async fn read(self, state: &WebState, req: &Request) -> Result<Response, WebError> {
        match self {
            ReadResource::Search {
                level,
                study,
                series,
            } => qido::search(state, req, level, study, series).await,
            ReadResource::Retrieve { study, series, sop } => {
                wado::retrieve(state, req, &study, series.as_ref(), sop.as_ref()).await
            }
            ReadResource::Metadata { study, series, sop } => {
                wado::metadata(state, req, &study, series.as_ref(), sop.as_ref()).await
            }
            ReadResource::Representative {
                study,
                series,
                thumbnail,
            } => wado::representative(state, req, &study, series.as_ref(), thumbnail).await,
            ReadResource::Rendered {
                study,
                series,
                sop,
                frame,
                thumbnail,
            } => wado::rendered(state, req, &study, &series, &sop, frame, thumbnail).await,
            ReadResource::Frames {
                study,
                series,
                sop,
                list,
            } => wado::frames(state, req, &study, &series, &sop, list).await,
            ReadResource::Bulkdata {
                study,
                series,
                sop,
                path,
            } => wado::bulkdata(state, req, &study, &series, &sop, path).await,
        }
    }
}

/// The frame of a `frames/{list}/rendered` (or `/thumbnail`) request:
/// JPEG and PNG hold one image, so a list of several is refused rather
/// than answered with its first frame alone.
fn one_rendered_frame(list: &str) -> Result<u32, WebError> {
    match wado::frame_list(list)?[..] {
        [frame] => Ok(frame),
        ref frames => Err(WebError::bad_request(format!(
            "a rendered image is one frame: ask for each of these {} frames on its own, \
             frames/{}/rendered first",
            frames.len(),
            frames[0]
        ))),
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
