//! Serving the browser viewer: its page at `/` (the study list),
//! `/viewer` (a study), `/worklist`, `/referrals`, `/audit`, `/login`
//! (the reading workflow) and `/forwarding` (the forwarding jobs), and its
//! files (wasm, JavaScript, styles) at `/viewer-assets/<name>`, from the
//! directory `scripts/build-viewer.sh` fills.
//!
//! Links from the district hospitals are slow, so a file with a
//! precompressed `<name>.gz` beside it is sent gzip-encoded to clients
//! that accept it, and every file carries an ETag so a returning browser
//! revalidates instead of downloading again.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response as WarpResponse;

/// The page both entry points load; the application decides what to show
/// from the path.
const INDEX: &str = "index.html";

/// Where the viewer's files are, if anywhere: the configured directory,
/// else `viewer/` beside the executable or one level up (which is
/// `target/viewer/` for a build in `target/release/`). A directory without
/// the page is no viewer.
pub fn locate(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = configured {
        if dir.join(INDEX).is_file() {
            return Some(dir.to_owned());
        }
        tracing::warn!(dir = %dir.display(), "the configured viewer directory has no {INDEX}");
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let exe_dir = exe.parent()?;
    [exe_dir.join("viewer"), exe_dir.parent()?.join("viewer")]
        .into_iter()
        .find(|dir| dir.join(INDEX).is_file())
}

/// `GET` (or `HEAD`) `/`, `/viewer`, `/forwarding`, `/worklist`,
/// `/referrals`, `/audit`, `/login` and
/// `/viewer-assets/<name>`.
pub fn routes(dir: Option<PathBuf>) -> BoxedFilter<(WarpResponse,)> {
    let page_dir = dir.clone();
    let pages = warp::path::end()
        .or(warp::path(INDEX).and(warp::path::end()))
        .unify()
        .or(warp::path("viewer").and(warp::path::end()))
        .unify()
        .or(warp::path("forwarding").and(warp::path::end()))
        .unify()
        .or(warp::path("worklist").and(warp::path::end()))
        .unify()
        .or(warp::path("referrals").and(warp::path::end()))
        .unify()
        .or(warp::path("audit").and(warp::path::end()))
        .unify()
        .or(warp::path("login").and(warp::path::end()))
        .unify()
        .and(wanted())
        .then(move |wanted: Wanted| {
            let dir = page_dir.clone();
            async move {
                match dir {
                    Some(dir) => send_file(&dir, INDEX, wanted).await,
                    None => not_built(),
                }
            }
        });
    let assets = warp::path("viewer-assets")
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(wanted())
        .then(move |name: String, wanted: Wanted| {
            let dir = dir.clone();
            async move {
                match dir {
                    Some(dir) if safe_name(&name) => send_file(&dir, &name, wanted).await,
                    Some(_) => plain(StatusCode::NOT_FOUND, "no such viewer file"),
                    None => not_built(),
                }
            }
        });
    pages.or(assets).unify().boxed()
}

/// First path segments that are no page: a wrong address under them gets
/// the plain answer a program reads.
const NOT_PAGES: [&str; 4] = ["api", "dicom-web", "viewer-assets", "healthz"];

/// `GET` of any other address by a browser (one that accepts HTML): the
/// page, answered 404, which tells the reader in their language that
/// there is no such page and leads back to the study list. Anything else
/// is left to the plain "not found".
pub fn missing_page(dir: Option<PathBuf>) -> BoxedFilter<(WarpResponse,)> {
    // The method is checked here, not with `http::get`: a path no route
    // has must stay a 404 for every method, not become a 405.
    warp::path::full()
        .and(warp::method())
        .and(warp::header::optional::<String>("accept"))
        .and(warp::header::optional::<String>("accept-encoding"))
        .and_then(
            move |path: warp::path::FullPath,
                  method: warp::http::Method,
                  accept: Option<String>,
                  encoding: Option<String>| {
                let dir = dir.clone();
                async move {
                    let first = path.as_str().trim_start_matches('/').split('/').next();
                    let page = method == warp::http::Method::GET
                        && accept.is_some_and(|a| a.contains("text/html"))
                        && !first.is_some_and(|s| NOT_PAGES.contains(&s));
                    match dir {
                        Some(dir) if page => {
                            let mut page = send_file(
                                &dir,
                                INDEX,
                                Wanted {
                                    encoding,
                                    if_none_match: None,
                                    head: false,
                                },
                            )
                            .await;
                            if page.status() == StatusCode::OK {
                                *page.status_mut() = StatusCode::NOT_FOUND;
                            }
                            // The same address gets plain words with
                            // another Accept: caches must keep them apart.
                            page.headers_mut().insert(
                                header::VARY,
                                HeaderValue::from_static("Accept, Accept-Encoding"),
                            );
                            Ok(page)
                        }
                        _ => Err(warp::reject::not_found()),
                    }
                }
            },
        )
        .boxed()
}

/// One plain file name: no separators, no dot files, nothing that could
/// leave the directory.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn accepts_gzip(encoding: Option<&str>) -> bool {
    encoding.is_some_and(|list| {
        list.split(',').any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            coding.eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

/// What a request for a viewer file asks of the answer.
struct Wanted {
    /// `Accept-Encoding`.
    encoding: Option<String>,
    /// `If-None-Match`.
    if_none_match: Option<String>,
    /// A HEAD: the headers and the length, not the file.
    head: bool,
}

/// The [`Wanted`] of a GET or HEAD.
fn wanted() -> impl Filter<Extract = (Wanted,), Error = warp::Rejection> + Clone {
    crate::http::get_or_head()
        .and(warp::header::optional::<String>("accept-encoding"))
        .and(warp::header::optional::<String>("if-none-match"))
        .map(|head, encoding, if_none_match| Wanted {
            encoding,
            if_none_match,
            head,
        })
}

async fn send_file(dir: &Path, name: &str, wanted: Wanted) -> WarpResponse {
    let plain_path = dir.join(name);
    let gz_path = dir.join(format!("{name}.gz"));
    let gzip =
        accepts_gzip(wanted.encoding.as_deref()) && tokio::fs::metadata(&gz_path).await.is_ok();
    let path = if gzip { &gz_path } else { &plain_path };
    let meta = match tokio::fs::metadata(path).await {
        Ok(m) if m.is_file() => m,
        Ok(_) => return plain(StatusCode::NOT_FOUND, "no such viewer file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return plain(StatusCode::NOT_FOUND, "no such viewer file");
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read a viewer file");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot read a viewer file",
            );
        }
    };
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!(
        "\"{:x}-{:x}{}\"",
        meta.len(),
        modified,
        if gzip { "-gz" } else { "" }
    );
    let mut headers = HeaderMap::new();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(header::CONTENT_TYPE, content_type(name));
    set(header::CACHE_CONTROL, "no-cache");
    set(header::ETAG, &etag);
    set(header::VARY, "Accept-Encoding");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if gzip {
        set(header::CONTENT_ENCODING, "gzip");
    }
    let revalidated = wanted
        .if_none_match
        .as_deref()
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let (status, body) = if revalidated {
        (StatusCode::NOT_MODIFIED, Vec::new())
    } else if wanted.head {
        set(header::CONTENT_LENGTH, &meta.len().to_string());
        (StatusCode::OK, Vec::new())
    } else {
        match tokio::fs::read(path).await {
            Ok(data) => (StatusCode::OK, data),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read a viewer file");
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "cannot read a viewer file",
                );
            }
        }
    };
    let mut response = WarpResponse::new(body.into());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The answer when no viewer files were found: the archive works, the
/// operator is told how to add the viewer.
fn not_built() -> WarpResponse {
    let body = "<!doctype html><meta charset=utf-8><title>PACS</title>\
        <p>The archive is running, but the web viewer is not installed: build it with \
        <code>scripts/build-viewer.sh</code> or point <code>--viewer-dir</code> at its files. \
        DICOMweb is available under <a href=\"/dicom-web/studies\">/dicom-web</a>.</p>";
    let mut response = WarpResponse::new(body.into());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn plain(status: StatusCode, message: &'static str) -> WarpResponse {
    let mut response = WarpResponse::new(format!("{message}\n").into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names_are_served() {
        for good in ["viewer_wasm_bg.wasm", "index.html", "worker-1.js"] {
            assert!(safe_name(good), "{good}");
        }
        for bad in [
            "",
            ".env",
            "..",
            "../secret",
            "a/b",
            "a\\b",
            "%2e%2e",
            "x y",
        ] {
            assert!(!safe_name(bad), "{bad}");
        }
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(Some("gzip, deflate, br")));
        assert!(accepts_gzip(Some("br;q=1.0, GZIP;q=0.5")));
        assert!(!accepts_gzip(Some("gzip;q=0, br")));
        assert!(!accepts_gzip(Some("deflate")));
        assert!(!accepts_gzip(None));
    }
}
