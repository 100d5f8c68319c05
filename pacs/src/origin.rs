//! Changes only from the archive's own pages: a request that changes
//! something (any method but GET, HEAD and OPTIONS) sent by a browser on
//! behalf of another web site is refused before any route sees it.
//!
//! A page elsewhere can make the browser send a simple POST (a form, or
//! `text/plain`) to any address without asking the server first. The
//! session cookie is `SameSite=Strict`, which keeps it from another
//! site's page but not from a page of the same site: another port of the
//! same host, or another name under the same domain, could otherwise have
//! a signed-in radiologist's browser claim a study and sign a report in
//! their name. An archive without accounts on loopback has no cookie to
//! withhold at all. Browsers say where a request comes from
//! (`Sec-Fetch-Site`, and `Origin` on every cross-origin POST); clients
//! that are not browsers (modalities' STOW-RS, scripts, peer archives)
//! send neither and are not affected.

use std::sync::Arc;

use warp::Filter;
use warp::http::uri::Authority;
use warp::http::{HeaderMap, Method, StatusCode};

use crate::api::Refused;
use crate::auth::{Auth, session_cookie_name};

/// Where a request comes from, as far as the headers tell.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// A read, a client that is not a browser, or the archive's own page.
    Same,
    /// The browser says it sent this for another site's page.
    Foreign(String),
    /// The page's origin is not the address asked. A browser that does not
    /// send `Sec-Fetch-Site` (it sends it to https and localhost only)
    /// says no more, and a proxy may have rewritten `Host`.
    Unsure(String),
}

/// Passes every request except a cross-origin change. `public_url` is the
/// address readers use when the archive sits behind a proxy that passes
/// neither the original `Host` nor `X-Forwarded-Host` on. A change whose
/// origin is merely unsure is refused when it carries a session cookie
/// (which a page of the same site gets sent), or while the archive has no
/// accounts; one that authenticates otherwise (a bearer token, which no
/// browser adds by itself) is let through.
pub fn same_origin_changes(
    public_url: Option<&str>,
    auth: Arc<Auth>,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone + use<> {
    let public = public_url.and_then(origin_of).map(str::to_owned);
    warp::method()
        .and(warp::header::headers_cloned())
        .and(warp::host::optional())
        .and_then(
            move |method: Method, headers: HeaderMap, host: Option<Authority>| {
                let verdict = judge(
                    &method,
                    &headers,
                    host.as_ref().map(Authority::as_str),
                    public.as_deref(),
                );
                let auth = auth.clone();
                let session =
                    carries_session(&headers, session_cookie_name(auth.settings.secure_cookie));
                async move {
                    let reason = match verdict {
                        Verdict::Same => return Ok(()),
                        Verdict::Foreign(reason) => reason,
                        Verdict::Unsure(reason) if session => reason,
                        Verdict::Unsure(reason) => match auth.open().await {
                            Ok(false) => return Ok(()),
                            Ok(true) | Err(_) => reason,
                        },
                    };
                    tracing::warn!(
                        %method,
                        reason,
                        "cross-origin change refused (behind a proxy that rewrites Host and \
                         sends no X-Forwarded-Host, set public_url to the readers' address)"
                    );
                    Err(warp::reject::custom(Refused(
                        StatusCode::FORBIDDEN,
                        format!(
                            "refused: {reason}; the archive takes changes only from its own pages"
                        ),
                    )))
                }
            },
        )
        .untuple_one()
}

/// Where a request with `headers`, addressed to `host`, comes from.
fn judge(
    method: &Method,
    headers: &HeaderMap,
    host: Option<&str>,
    public: Option<&str>,
) -> Verdict {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Verdict::Same;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The browser's own verdict, which a proxy rewriting `Host` does not
    // disturb. `same-site` is another origin too: another port or another
    // name under the same domain, which gets a SameSite cookie.
    match header("sec-fetch-site") {
        Some("same-origin") | Some("none") => return Verdict::Same,
        Some(other @ ("same-site" | "cross-site")) => {
            return Verdict::Foreign(format!("the browser sent this for a {other} page"));
        }
        _ => {}
    }
    // Older browsers, and plain http away from localhost: compare the
    // page's origin with the address asked.
    let Some(origin) = header("origin") else {
        return Verdict::Same;
    };
    let asked = origin_of(origin)
        .and_then(|o| o.split_once("://"))
        .map(|(_, a)| a);
    // A proxy in front may name the address readers asked in
    // `X-Forwarded-Host` (a page elsewhere cannot add such a header
    // without the browser asking this server first, which it does not
    // allow).
    let forwarded = header("x-forwarded-host").and_then(|h| h.split(',').next().map(str::trim));
    let same = asked.is_some_and(|a| {
        [host, forwarded]
            .into_iter()
            .flatten()
            .any(|h| a.eq_ignore_ascii_case(h))
    }) || public.is_some_and(|p| p.eq_ignore_ascii_case(origin));
    if same {
        Verdict::Same
    } else {
        Verdict::Unsure(format!("the browser sent this for a page of {origin}"))
    }
}

/// Whether the request carries a session cookie (valid or not: either way
/// the browser sent it by itself).
fn carries_session(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(warp::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim().split_once('=').map(|(n, _)| n.trim()) == Some(name))
}

/// `scheme://host[:port]` of a URL; `None` for anything else (including
/// the `null` origin of sandboxed frames and local files).
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+')
    {
        return None;
    }
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if authority_len == 0 {
        return None;
    }
    Some(&url[..scheme.len() + 3 + authority_len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    const HOST: Option<&str> = Some("127.0.0.1:8042");

    #[test]
    fn reads_and_requests_without_a_browser_pass() {
        let evil = headers(&[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert_eq!(judge(&Method::GET, &evil, HOST, None), Verdict::Same);
        assert_eq!(judge(&Method::OPTIONS, &evil, HOST, None), Verdict::Same);
        assert_eq!(
            judge(&Method::POST, &HeaderMap::new(), HOST, None),
            Verdict::Same
        );
    }

    #[test]
    fn the_browsers_verdict_decides_when_it_is_given() {
        for (site, foreign) in [
            ("same-origin", false),
            ("none", false),
            ("same-site", true),
            ("cross-site", true),
        ] {
            let h = headers(&[("origin", "https://evil.example"), ("sec-fetch-site", site)]);
            assert_eq!(
                matches!(judge(&Method::POST, &h, HOST, None), Verdict::Foreign(_)),
                foreign,
                "{site}"
            );
        }
    }

    #[test]
    fn without_the_verdict_the_origin_must_be_the_address_asked() {
        let unsure = |origin: &str, host: Option<&str>, public: Option<&str>| {
            let h = headers(&[("origin", origin)]);
            match judge(&Method::PUT, &h, host, public) {
                Verdict::Same => false,
                Verdict::Unsure(_) => true,
                Verdict::Foreign(reason) => panic!("{reason}"),
            }
        };
        let host = Some("PACS.local:8042");
        assert!(!unsure("http://pacs.local:8042", host, None));
        assert!(unsure("http://pacs.local:8043", host, None));
        assert!(unsure("https://evil.example", host, None));
        assert!(unsure("null", host, None));
        assert!(unsure("http://pacs.local:8042", None, None));
        // Behind a proxy that passes its own Host on.
        let public = Some("https://pacs.hospital.uz");
        assert!(!unsure("https://pacs.hospital.uz", host, public));
        assert!(unsure(
            "https://pacs.hospital.uz.evil.example",
            host,
            public
        ));
        // Behind a proxy that says which address was asked.
        let forwarded = |origin: &str, by: &str| {
            let h = headers(&[("origin", origin), ("x-forwarded-host", by)]);
            judge(&Method::POST, &h, Some("127.0.0.1:8042"), None) == Verdict::Same
        };
        assert!(forwarded("https://pacs.hospital.uz", "pacs.hospital.uz"));
        assert!(forwarded(
            "https://pacs.hospital.uz",
            "pacs.hospital.uz, 10.0.0.1"
        ));
        assert!(!forwarded("https://evil.example", "pacs.hospital.uz"));
    }

    #[test]
    fn session_cookies_are_found_among_others() {
        let carries =
            |cookie: &str, name: &str| carries_session(&headers(&[("cookie", cookie)]), name);
        assert!(carries("lang=ru; pacs_session=abc", "pacs_session"));
        assert!(carries("pacs_session=", "pacs_session"));
        assert!(!carries(
            "pacs_session_old=abc; x=pacs_session",
            "pacs_session"
        ));
        assert!(carries("__Host-pacs_session=abc", "__Host-pacs_session"));
        assert!(!carries("pacs_session=abc", "__Host-pacs_session"));
        assert!(!carries_session(&HeaderMap::new(), "pacs_session"));
    }

    #[test]
    fn origins_of_urls() {
        assert_eq!(
            origin_of("https://pacs.uz/viewer?x"),
            Some("https://pacs.uz")
        );
        assert_eq!(origin_of("http://[::1]:8042"), Some("http://[::1]:8042"));
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("https:///path"), None);
    }
}
