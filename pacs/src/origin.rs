//! Changes only from the archive's own pages: a request that changes
//! something (any method but GET, HEAD and OPTIONS) sent by a browser on
//! behalf of another web site is refused before any route sees it.
//!
//! A page elsewhere can make the browser send a simple POST (a form, or
//! `text/plain`) to any address without asking the server first. With
//! accounts the session cookie is `SameSite=Strict`, so such a request
//! comes without it; an archive without accounts on loopback has no
//! cookie to withhold, and a page the reader happens to visit could
//! otherwise claim studies, change priorities or retry forwarding. Browsers
//! say where a request comes from (`Sec-Fetch-Site`, and `Origin` on every
//! cross-origin POST); clients that are not browsers (modalities' STOW-RS,
//! scripts, peer archives) send neither and are not affected.

use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode};

use crate::api::Refused;

/// Passes every request except a cross-origin change.
/// `public_url` is the address readers use when the archive sits behind a
/// proxy that does not pass the original `Host` on.
pub fn same_origin_changes(
    public_url: Option<&str>,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone + use<> {
    let public = public_url.and_then(origin_of).map(str::to_owned);
    warp::method()
        .and(warp::header::headers_cloned())
        .and_then(move |method: Method, headers: HeaderMap| {
            let refusal = cross_origin_change(&method, &headers, public.as_deref());
            async move {
                match refusal {
                    None => Ok(()),
                    Some(reason) => {
                        tracing::warn!(%method, reason, "cross-origin change refused");
                        Err(warp::reject::custom(Refused(
                            StatusCode::FORBIDDEN,
                            format!(
                                "refused: {reason}; the archive takes changes only from its own pages"
                            ),
                        )))
                    }
                }
            }
        })
        .untuple_one()
}

/// Why a request is a change sent for another site, `None` when it is not.
fn cross_origin_change(
    method: &Method,
    headers: &HeaderMap,
    public: Option<&str>,
) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The browser's own verdict, which a proxy rewriting `Host` does not
    // disturb. `same-site` is another origin too: another port or another
    // name under the same domain.
    match header("sec-fetch-site") {
        Some("same-origin") | Some("none") => return None,
        Some(other @ ("same-site" | "cross-site")) => {
            return Some(format!("the browser sent this for a {other} page"));
        }
        _ => {}
    }
    // Older browsers: compare the page's origin with the address asked.
    let origin = header("origin")?;
    let host = header("host").unwrap_or("");
    let asked = origin_of(origin)
        .and_then(|o| o.split_once("://"))
        .map(|(_, a)| a);
    let same = asked.is_some_and(|a| a.eq_ignore_ascii_case(host))
        || public.is_some_and(|p| p.eq_ignore_ascii_case(origin));
    (!same).then(|| format!("the browser sent this for a page of {origin}"))
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

    #[test]
    fn reads_and_requests_without_a_browser_pass() {
        let evil = headers(&[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert_eq!(cross_origin_change(&Method::GET, &evil, None), None);
        assert_eq!(cross_origin_change(&Method::OPTIONS, &evil, None), None);
        let script = headers(&[("host", "127.0.0.1:8042")]);
        assert_eq!(cross_origin_change(&Method::POST, &script, None), None);
    }

    #[test]
    fn the_browsers_verdict_decides_when_it_is_given() {
        for (site, refused) in [
            ("same-origin", false),
            ("none", false),
            ("same-site", true),
            ("cross-site", true),
        ] {
            let h = headers(&[("host", "127.0.0.1:8042"), ("sec-fetch-site", site)]);
            assert_eq!(
                cross_origin_change(&Method::POST, &h, None).is_some(),
                refused,
                "{site}"
            );
        }
    }

    #[test]
    fn without_the_verdict_the_origin_must_be_the_address_asked() {
        let ask = |origin: &str, public: Option<&str>| {
            let h = headers(&[("host", "PACS.local:8042"), ("origin", origin)]);
            cross_origin_change(&Method::PUT, &h, public).is_some()
        };
        assert!(!ask("http://pacs.local:8042", None));
        assert!(ask("http://pacs.local:8043", None));
        assert!(ask("https://evil.example", None));
        assert!(ask("null", None));
        // Behind a proxy that passes its own Host on.
        assert!(!ask(
            "https://pacs.hospital.uz",
            Some("https://pacs.hospital.uz")
        ));
        assert!(ask(
            "https://pacs.hospital.uz.evil.example",
            Some("https://pacs.hospital.uz")
        ));
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
