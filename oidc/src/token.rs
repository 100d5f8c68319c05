//! The authorization code for tokens, at the provider's token endpoint.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use url::Url;
use url::form_urlencoded::byte_serialize;

use crate::OidcError;
use crate::discovery::{ClientAuth, REQUEST_TIMEOUT, read_body};

/// What the exchange needs besides the code.
pub(crate) struct Exchange<'a> {
    pub token_endpoint: &'a Url,
    pub client_auth: ClientAuth,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_url: &'a str,
    pub pkce_verifier: &'a str,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    error_description: Option<String>,
}

/// `Authorization: Basic` for a client: id and secret each form-encoded
/// before joining (RFC 6749 section 2.3.1), which plain HTTP Basic does not do.
fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let id: String = byte_serialize(client_id.as_bytes()).collect();
    let secret: String = byte_serialize(client_secret.as_bytes()).collect();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// Exchanges `code` and returns the ID token, not yet validated.
pub(crate) async fn exchange(
    http: &reqwest::Client,
    x: &Exchange<'_>,
    code: &str,
) -> Result<String, OidcError> {
    const WHAT: &str = "exchange the sign-in code";
    const DOC: &str = "token response";
    let url = x.token_endpoint.as_str();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", x.redirect_url),
        ("code_verifier", x.pkce_verifier),
    ];
    let mut request = http
        .post(x.token_endpoint.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(REQUEST_TIMEOUT);
    match x.client_auth {
        ClientAuth::Basic => {
            request = request.header(
                reqwest::header::AUTHORIZATION,
                basic_authorization(x.client_id, x.client_secret),
            );
        }
        ClientAuth::Post => {
            form.push(("client_id", x.client_id));
            form.push(("client_secret", x.client_secret));
        }
    }
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|source| OidcError::Unreachable {
            what: WHAT,
            url: url.to_owned(),
            source,
        })?;
    let status = response.status();
    let body = read_body(response, WHAT, DOC, url).await?;
    if !status.is_success() {
        // RFC 6749 section 5.2: errors come as JSON with a code.
        return Err(match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(e) => OidcError::TokenRefused {
                error: e.error,
                description: e.error_description,
            },
            Err(_) => OidcError::HttpStatus {
                what: WHAT,
                url: url.to_owned(),
                status: status.as_u16(),
            },
        });
    }
    let answer: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| OidcError::BadDocument {
            what: DOC,
            detail: e.to_string(),
        })?;
    answer.id_token.ok_or_else(|| OidcError::BadDocument {
        what: DOC,
        detail: "it has no id_token; is the openid scope granted to this client?".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        let header = basic_authorization("pacs client", "s3:cr%t");
        let decoded = STANDARD
            .decode(header.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(decoded, b"pacs+client:s3%3Acr%25t");
    }
}
