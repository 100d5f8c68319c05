//! The identity provider's published metadata and keys, fetched over HTTP.

use std::time::Duration;

use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::OidcError;

/// How long one request to the identity provider may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Discovery documents, key sets and token responses are a few kilobytes;
/// anything far larger is not what we asked for.
const MAX_BODY: usize = 1 << 20;

/// How the archive authenticates itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// HTTP Basic with the form-encoded client id and secret (RFC 6749 2.3.1).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

/// What the archive uses of the discovery document, checked.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    pub end_session_endpoint: Option<Url>,
    pub client_auth: ClientAuth,
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: Option<String>,
    response_types_supported: Option<Vec<String>>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// The discovery document's address for `issuer` (OpenID Connect
/// Discovery 1.0 section 4: the path is appended to the issuer's).
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Fetches and checks the discovery document of `issuer`.
pub(crate) async fn fetch_metadata(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<Metadata, OidcError> {
    let url = discovery_url(issuer);
    let raw: RawMetadata = get_json(
        http,
        &url,
        "read its discovery document",
        "discovery document",
    )
    .await?;
    check_metadata(raw, issuer)
}

fn check_metadata(raw: RawMetadata, issuer: &str) -> Result<Metadata, OidcError> {
    if raw.issuer != issuer {
        return Err(OidcError::IssuerMismatch {
            configured: issuer.to_owned(),
            published: raw.issuer,
        });
    }
    let endpoint = |name: &'static str, value: &str| -> Result<Url, OidcError> {
        let url = Url::parse(value).map_err(|e| OidcError::BadDocument {
            what: "discovery document",
            detail: format!("{name} {value:?} is not a URL: {e}"),
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(OidcError::BadDocument {
                what: "discovery document",
                detail: format!("{name} {value:?} is not an http(s) URL"),
            });
        }
        Ok(url)
    };
    if let Some(types) = &raw.response_types_supported
        && !types.iter().any(|t| t == "code")
    {
        return Err(OidcError::BadDocument {
            what: "discovery document",
            detail: format!(
                "it does not offer the authorization-code flow (response types {types:?})"
            ),
        });
    }
    if let Some(methods) = raw.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(OidcError::NoPkceS256 { supported: methods });
    }
    // Absent means client_secret_basic (Discovery 1.0 section 3).
    let client_auth = match raw.token_endpoint_auth_methods_supported {
        None => ClientAuth::Basic,
        Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => ClientAuth::Basic,
        Some(methods) if methods.iter().any(|m| m == "client_secret_post") => ClientAuth::Post,
        Some(methods) => return Err(OidcError::UnsupportedClientAuth { supported: methods }),
    };
    Ok(Metadata {
        authorization_endpoint: endpoint("authorization_endpoint", &raw.authorization_endpoint)?,
        token_endpoint: endpoint("token_endpoint", &raw.token_endpoint)?,
        jwks_uri: endpoint("jwks_uri", &raw.jwks_uri)?,
        end_session_endpoint: raw
            .end_session_endpoint
            .as_deref()
            .map(|u| endpoint("end_session_endpoint", u))
            .transpose()?,
        client_auth,
    })
}

/// Fetches the provider's signing keys. Keys this library cannot parse
/// (kinds it does not know) are left out rather than failing the set, so
/// that a provider adding a new kind of key does not stop sign-in.
pub(crate) async fn fetch_keys(
    http: &reqwest::Client,
    jwks_uri: &Url,
) -> Result<Vec<Jwk>, OidcError> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let set: RawSet = get_json(http, jwks_uri.as_str(), "read its signing keys", "key set").await?;
    let mut keys = Vec::with_capacity(set.keys.len());
    for value in set.keys {
        match serde_json::from_value::<Jwk>(value) {
            Ok(jwk) => keys.push(jwk),
            Err(e) => tracing::debug!(error = %e, "skipping a key of the identity provider"),
        }
    }
    Ok(keys)
}

/// GETs `url` and parses its JSON body. `what` says why we asked, `doc`
/// what the answer is, for the error messages.
async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &'static str,
    doc: &'static str,
) -> Result<T, OidcError> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|source| OidcError::Unreachable {
            what,
            url: url.to_owned(),
            source,
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(OidcError::HttpStatus {
            what,
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let body = read_body(response, what, doc, url).await?;
    serde_json::from_slice(&body).map_err(|e| OidcError::BadDocument {
        what: doc,
        detail: e.to_string(),
    })
}

/// Reads a response body of at most [`MAX_BODY`] bytes.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    what: &'static str,
    doc: &'static str,
    url: &str,
) -> Result<Vec<u8>, OidcError> {
    let mut body = Vec::new();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|source| OidcError::Unreachable {
                what,
                url: url.to_owned(),
                source,
            })?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OidcError::BadDocument {
                what: doc,
                detail: format!("it is larger than {MAX_BODY} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(issuer: &str) -> RawMetadata {
        RawMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{issuer}/auth"),
            token_endpoint: format!("{issuer}/token"),
            jwks_uri: format!("{issuer}/certs"),
            end_session_endpoint: None,
            response_types_supported: Some(vec!["code".into()]),
            token_endpoint_auth_methods_supported: None,
            code_challenge_methods_supported: None,
        }
    }

    #[test]
    fn discovery_url_appends_to_the_issuer_path() {
        assert_eq!(
            discovery_url("https://idp/realms/x"),
            "https://idp/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://idp/"),
            "https://idp/.well-known/openid-configuration"
        );
    }

    #[test]
    fn issuer_must_match_exactly() {
        let err = check_metadata(raw("https://idp/realms/x/"), "https://idp/realms/x").unwrap_err();
        assert!(matches!(err, OidcError::IssuerMismatch { .. }), "{err}");
    }

    #[test]
    fn client_authentication_prefers_basic_then_post() {
        let issuer = "https://idp/realms/x";
        let mut m = raw(issuer);
        assert_eq!(
            check_metadata(m, issuer).unwrap().client_auth,
            ClientAuth::Basic
        );
        m = raw(issuer);
        m.token_endpoint_auth_methods_supported =
            Some(vec!["private_key_jwt".into(), "client_secret_post".into()]);
        assert_eq!(
            check_metadata(m, issuer).unwrap().client_auth,
            ClientAuth::Post
        );
        m = raw(issuer);
        m.token_endpoint_auth_methods_supported = Some(vec!["private_key_jwt".into()]);
        let err = check_metadata(m, issuer).unwrap_err();
        assert!(
            matches!(err, OidcError::UnsupportedClientAuth { .. }),
            "{err}"
        );
    }

    #[test]
    fn pkce_without_s256_is_refused() {
        let issuer = "https://idp/realms/x";
        let mut m = raw(issuer);
        m.code_challenge_methods_supported = Some(vec!["plain".into()]);
        let err = check_metadata(m, issuer).unwrap_err();
        assert!(matches!(err, OidcError::NoPkceS256 { .. }), "{err}");
    }
}
