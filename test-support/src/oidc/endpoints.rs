//! The provider's login form and token endpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use warp::Reply as _;
use warp::http::StatusCode;
use warp::reply::Response;

use super::keys::{generate_rsa, sign_jwt, sign_jwt_hs256};
use super::{CODE_LIFETIME, Grant, Misbehaviour, OidcTestProvider, State, TestUser, lock};

fn status(code: StatusCode, body: String) -> Response {
    warp::reply::with_status(body, code).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Random base64url, for codes and access tokens.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the registered redirect URI is not a URL".to_owned(),
        );
    };
    url.query_pairs_mut().extend_pairs(params);
    warp::reply::with_header(
        warp::reply::with_status("", StatusCode::FOUND),
        "location",
        url.as_str(),
    )
    .into_response()
}

/// The login form (GET) or its submission (POST). The client and redirect
/// URI are checked first, and a failure there is shown, never redirected.
pub(super) fn authorize(s: &State, p: &HashMap<String, String>, submitted: bool) -> Response {
    let param = |name: &str| p.get(name).map(String::as_str).unwrap_or("");
    if param("client_id") != s.client_id {
        return status(StatusCode::BAD_REQUEST, "unknown client_id".to_owned());
    }
    if param("redirect_uri") != s.redirect_url {
        return status(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not registered for this client".to_owned(),
        );
    }
    let mut back = vec![];
    if let Some(state) = p.get("state") {
        back.push(("state", state.as_str()));
    }
    let refuse = |error: &'static str| {
        let mut params = vec![("error", error)];
        params.extend_from_slice(&back);
        redirect_with(&s.redirect_url, &params)
    };
    if param("response_type") != "code" {
        return refuse("unsupported_response_type");
    }
    if !param("scope").split(' ').any(|sc| sc == "openid") {
        return refuse("invalid_scope");
    }
    if param("code_challenge_method") != "S256" || param("code_challenge").len() < 43 {
        return refuse("invalid_request");
    }
    let mut notice = "";
    if submitted {
        let user = s
            .users
            .iter()
            .find(|u| u.username == param("username") && u.password == param("password"));
        if let Some(user) = user {
            let code = random_token();
            lock(&s.codes).insert(
                code.clone(),
                Grant {
                    client_id: s.client_id.clone(),
                    redirect_uri: s.redirect_url.clone(),
                    code_challenge: param("code_challenge").to_owned(),
                    nonce: p.get("nonce").cloned(),
                    username: user.username.clone(),
                    issued: Instant::now(),
                    used: false,
                },
            );
            let mut params = vec![("code", code.as_str())];
            params.extend_from_slice(&back);
            return redirect_with(&s.redirect_url, &params);
        }
        notice = "<p class=\"error\">Invalid username or password.</p>\n";
    }
    let hidden: String = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .filter_map(|name| p.get(*name).map(|v| (name, v)))
    .map(|(name, v)| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            html_escape(v)
        )
    })
    .collect();
    let page = format!(
        "<!doctype html>\n<title>Sign in</title>\n{notice}\
         <form method=\"post\" action=\"{}/authorize\">\n{hidden}\
         <input name=\"username\">\n<input name=\"password\" type=\"password\">\n\
         <button>Sign in</button>\n</form>\n",
        html_escape(&s.issuer)
    );
    warp::reply::html(page).into_response()
}

fn token_error(code: StatusCode, error: &str, description: &str) -> Response {
    let body = warp::reply::json(&json!({"error": error, "error_description": description}));
    if code == StatusCode::UNAUTHORIZED {
        return warp::reply::with_status(
            warp::reply::with_header(body, "www-authenticate", "Basic realm=\"test\""),
            code,
        )
        .into_response();
    }
    warp::reply::with_status(body, code).into_response()
}

/// The client id and secret of an `Authorization: Basic` header, each
/// form-decoded (RFC 6749 section 2.3.1).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let form_decode = |v: &str| {
        url::form_urlencoded::parse(format!("v={v}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((form_decode(id)?, form_decode(secret)?))
}

pub(super) fn token(
    s: &State,
    authorization: Option<&str>,
    f: &HashMap<String, String>,
) -> Response {
    let methods = lock(&s.auth_methods).clone();
    let allowed = |m: &str| methods.iter().any(|a| a == m);
    let (method, id, secret) = match authorization {
        Some(header) if allowed("client_secret_basic") => match basic_credentials(header) {
            Some((id, secret)) => ("client_secret_basic", id, secret),
            None => {
                return token_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "bad Basic header",
                );
            }
        },
        None if allowed("client_secret_post") && f.contains_key("client_secret") => (
            "client_secret_post",
            f.get("client_id").cloned().unwrap_or_default(),
            f.get("client_secret").cloned().unwrap_or_default(),
        ),
        _ => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication missing or of a kind not allowed",
            );
        }
    };
    if id != s.client_id || secret != s.client_secret {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "wrong client credentials",
        );
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        );
    }
    let code = f.get("code").map(String::as_str).unwrap_or("");
    let mut codes = lock(&s.codes);
    let Some(grant) = codes.get_mut(code) else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
    };
    if grant.used {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code already used",
        );
    }
    grant.used = true;
    if grant.issued.elapsed() > CODE_LIFETIME {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "code expired");
    }
    if grant.client_id != id || f.get("redirect_uri") != Some(&grant.redirect_uri) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code issued to another client or redirect_uri",
        );
    }
    let verifier = f.get("code_verifier").map(String::as_str).unwrap_or("");
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.code_challenge {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "PKCE verification failed",
        );
    }
    let (username, nonce) = (grant.username.clone(), grant.nonce.clone());
    drop(codes);
    let Some(user) = s.users.iter().find(|u| u.username == username) else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "user gone");
    };
    match id_token(s, user, nonce) {
        Ok(id_token) => {
            *lock(&s.last_client_auth) = Some(method);
            warp::reply::json(&json!({
                "access_token": random_token(),
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "openid profile email",
                "id_token": id_token,
            }))
            .into_response()
        }
        Err(e) => token_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e),
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn id_token(s: &State, user: &TestUser, nonce: Option<String>) -> Result<String, String> {
    let how = *lock(&s.misbehaviour);
    let now = now_unix();
    let mut claims = json!({
        "iss": s.issuer,
        "aud": s.client_id,
        "azp": s.client_id,
        "sub": OidcTestProvider::subject_of(&user.username),
        "iat": now,
        "exp": now + 300,
        "auth_time": now,
        "preferred_username": user.username,
        "email": user.email,
        "email_verified": user.email.is_some(),
        "name": user.name,
        "roles": user.roles,
        "realm_access": {"roles": user.roles},
        "site": user.site,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    match how {
        Some(Misbehaviour::WrongAudience) => {
            claims["aud"] = json!("another-client");
            claims["azp"] = json!("another-client");
        }
        Some(Misbehaviour::WrongIssuer) => claims["iss"] = json!("http://127.0.0.1:1/realms/other"),
        Some(Misbehaviour::Expired) => {
            claims["iat"] = json!(now - 420);
            claims["exp"] = json!(now - 120);
        }
        Some(Misbehaviour::WrongNonce) => claims["nonce"] = json!("not-the-nonce-that-was-sent"),
        _ => {}
    }
    if let Some(craft) = lock(&s.crafter).as_ref() {
        return Ok(craft(&claims));
    }
    let mut keys = lock(&s.keys);
    let current = Arc::clone(&keys.current);
    match how {
        Some(Misbehaviour::ForeignKey | Misbehaviour::ForgedSignature) => {
            let foreign = match &keys.foreign {
                Some(k) => Arc::clone(k),
                None => {
                    let k = Arc::new(generate_rsa("foreign-1".to_owned())?);
                    keys.foreign = Some(Arc::clone(&k));
                    k
                }
            };
            let kid = if how == Some(Misbehaviour::ForeignKey) {
                &foreign.kid
            } else {
                &current.kid
            };
            sign_jwt(&foreign, kid, &claims)
        }
        Some(Misbehaviour::Hs256) => Ok(sign_jwt_hs256(
            s.client_secret.as_bytes(),
            &current.kid,
            &claims,
        )),
        _ => sign_jwt(&current, &current.kid, &claims),
    }
}
