//! The cookies a browser carries: the session (named by whether the
//! archive is served over https), the sign-in browser cookie, and how a
//! request presents its secret.

use std::time::Duration;

use warp::http::HeaderMap;

/// The cookie the browser viewer's session travels in over plain http.
pub const COOKIE: &str = "pacs_session";

/// ... and over https. A browser takes a `__Host-` cookie only from this
/// very host, over https, for the whole site: no sibling subdomain of a
/// hospital's domain can plant it or shadow it with one of its own.
pub const SECURE_COOKIE: &str = "__Host-pacs_session";

/// The session cookie's name where cookies are `Secure` (a public https
/// address) or not. Only that name is read: over https, a `pacs_session`
/// cookie is one this archive never set.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

/// The secret a request presents: the bearer token, else the session
/// cookie named `cookie_name`.
pub fn presented_secret(headers: &HeaderMap, cookie_name: &str) -> Option<String> {
    if let Some(value) = headers
        .get(warp::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
            .filter(|t| !t.is_empty());
    }
    cookie(headers, cookie_name).filter(|v| !v.is_empty())
}

/// A cookie's value from a request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(warp::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// The `Set-Cookie` value carrying a session.
pub fn session_cookie(token: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        session_cookie_name(secure),
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The cookie by which a browser is known as one a name signed in from.
pub const DEVICE_COOKIE: &str = "pacs_device";

/// How long a browser's sign-in cookie lasts: it is sent again on every
/// sign-in, and the archive forgets a browser unused this long.
const DEVICE_COOKIE_AGE: Duration = Duration::from_secs(180 * 24 * 60 * 60);

/// The `Set-Cookie` value carrying a browser's sign-in cookie, sent only
/// with sign-ins: while many addresses guess a name, the browsers it
/// signed in from still may, and others wait.
pub fn device_cookie(secret: &str, secure: bool) -> String {
    format!(
        "{DEVICE_COOKIE}={secret}; Path=/api/auth/login; HttpOnly; SameSite=Strict; Max-Age={}{}",
        DEVICE_COOKIE_AGE.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        session_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn bearer_token_wins_over_cookie() {
        let h = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "pacs_session=def"),
        ]);
        assert_eq!(presented_secret(&h, COOKIE).as_deref(), Some("abc"));
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "lang=ru; pacs_session=xyz; other=1")]);
        assert_eq!(presented_secret(&h, COOKIE).as_deref(), Some("xyz"));
    }

    #[test]
    fn other_schemes_and_empty_values_present_nothing() {
        assert_eq!(
            presented_secret(&headers(&[("authorization", "Basic Zm9v")]), COOKIE),
            None
        );
        assert_eq!(
            presented_secret(&headers(&[("cookie", "pacs_session=")]), COOKIE),
            None
        );
        assert_eq!(presented_secret(&HeaderMap::new(), COOKIE), None);
    }

    #[test]
    fn over_https_only_the_host_only_cookie_is_read() {
        let name = session_cookie_name(true);
        assert_eq!(name, "__Host-pacs_session");
        // A sibling subdomain can set `pacs_session` for the whole domain,
        // and a more specific path puts its cookie first: neither counts.
        let planted = headers(&[("cookie", "pacs_session=planted; __Host-pacs_session=mine")]);
        assert_eq!(presented_secret(&planted, name).as_deref(), Some("mine"));
        let alone = headers(&[("cookie", "pacs_session=planted")]);
        assert_eq!(presented_secret(&alone, name), None);
        let set = session_cookie("tok", Duration::from_secs(60), true);
        assert!(set.starts_with("__Host-pacs_session=tok; Path=/;"), "{set}");
        assert!(
            set.ends_with("; Secure") && !set.contains("Domain"),
            "{set}"
        );
        assert!(cleared_cookie(true).starts_with("__Host-pacs_session=;"));
        assert!(
            session_cookie("tok", Duration::from_secs(60), false).starts_with("pacs_session=tok;")
        );
    }
}
