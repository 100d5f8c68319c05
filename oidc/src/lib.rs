//! OpenID Connect sign-in against a hospital's identity provider
//! (Keycloak and the like): the authorization-code flow with PKCE, the
//! archive acting as a confidential client.
//!
//! The flow, as the server drives it:
//!
//! 1. [`Provider::discover`] once at start: the provider's metadata and
//!    signing keys.
//! 2. [`Provider::begin`] when a user asks to sign in: an authorization URL
//!    to redirect the browser to, and a [`PendingLogin`] the server keeps
//!    (in its database, since the callback may reach another node).
//! 3. [`Provider::finish`] on the callback, with the `state` and `code` the
//!    browser brought back: the code is exchanged, the ID token validated,
//!    and the user's [`Identity`] returned.
//!
//! Invariants: an identity is returned only from an ID token whose
//! signature verified against a key the issuer publishes, with an
//! asymmetric algorithm; whose issuer, audience, times and nonce match
//! this sign-in; obtained with the state and PKCE verifier of the same
//! pending login, less than ten minutes old. The client secret never
//! appears in `Debug` output or in logs.

mod claims;
mod discovery;
mod error;
mod id_token;
mod token;

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use rand::{RngCore as _, TryRngCore as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

pub use error::OidcError;

/// How long a user may take between [`Provider::begin`] and
/// [`Provider::finish`].
pub const MAX_LOGIN_AGE_S: i64 = 600;

/// How the archive is registered at the identity provider.
#[derive(Clone)]
pub struct OidcConfig {
    /// The issuer identifier, e.g. `https://idp/realms/x`; it must equal
    /// the `issuer` the provider publishes, character for character.
    pub issuer: String,
    pub client_id: String,
    /// Never shown by `Debug`.
    pub client_secret: String,
    /// Where the provider sends the browser back, e.g.
    /// `https://pacs/api/auth/oidc/callback`; registered at the provider.
    pub redirect_url: String,
    /// Scopes to request; `openid` is added if missing.
    pub scopes: Vec<String>,
    /// The claim holding the user name; the subject is used without it.
    pub username_claim: String,
    /// The claim holding the roles, a list of strings; a dotted path such
    /// as `realm_access.roles` reaches into nested objects.
    pub roles_claim: String,
    /// The claim (or dotted path) naming the user's site, if the provider
    /// has one.
    pub site_claim: Option<String>,
}

impl OidcConfig {
    /// A configuration with the usual defaults: scopes `openid profile
    /// email`, user name from `preferred_username`, roles from `roles`,
    /// no site claim.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_url: impl Into<String>,
    ) -> Self {
        OidcConfig {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_url: redirect_url.into(),
            scopes: ["openid", "profile", "email"].map(String::from).into(),
            username_claim: "preferred_username".to_owned(),
            roles_claim: "roles".to_owned(),
            site_claim: None,
        }
    }

    fn validate(&self) -> Result<(), OidcError> {
        let bad = |m: String| Err(OidcError::Config(m));
        match url::Url::parse(&self.issuer) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.query().is_none() => {}
            _ => return bad(format!("issuer {:?} is not an http(s) URL", self.issuer)),
        }
        if url::Url::parse(&self.redirect_url).is_err() {
            return bad(format!("redirect URL {:?} is not a URL", self.redirect_url));
        }
        if self.client_id.is_empty() {
            return bad("the client id is empty".to_owned());
        }
        if self.username_claim.is_empty() || self.roles_claim.is_empty() {
            return bad("the user name and roles claims must be named".to_owned());
        }
        Ok(())
    }
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("username_claim", &self.username_claim)
            .field("roles_claim", &self.roles_claim)
            .field("site_claim", &self.site_claim)
            .finish()
    }
}

/// A sign-in between the redirect to the provider and the callback. The
/// server stores it (it serialises) and hands it to [`Provider::finish`];
/// each one is good for a single callback.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// Sent to the provider and expected back on the callback.
    pub state: String,
    /// Expected in the ID token.
    pub nonce: String,
    /// The PKCE secret whose hash went to the provider.
    pub pkce_verifier: String,
    /// When [`Provider::begin`] made it, Unix seconds.
    pub created_at_unix: i64,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("state", &self.state)
            .field("created_at_unix", &self.created_at_unix)
            .finish_non_exhaustive()
    }
}

/// Who signed in, as the identity provider vouches. `(issuer, subject)` is
/// the stable key; the user name and e-mail may change at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// From the configured claim, or the subject when the token has none.
    pub username: String,
    /// Left out when the provider says the address is not verified.
    pub email: Option<String>,
    pub name: Option<String>,
    pub roles: Vec<String>,
    pub site: Option<String>,
}

/// A discovered identity provider: its endpoints and a cache of its
/// signing keys. Share one (in an `Arc`) across requests.
pub struct Provider {
    config: OidcConfig,
    http: reqwest::Client,
    metadata: discovery::Metadata,
    keys: RwLock<Arc<Vec<Jwk>>>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("config", &self.config)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// 32 bytes from the operating system's generator, base64url: 256 bits for
/// state, nonce and PKCE verifier (43 characters, within RFC 7636's 43..128).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // Panics if the operating system cannot supply randomness: no one can
    // be signed in safely then.
    rand::rngs::OsRng.unwrap_err().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Provider {
    /// Reads `{issuer}/.well-known/openid-configuration`, checks that the
    /// issuer it names is exactly the configured one and that it offers
    /// the code flow with PKCE S256 and client-secret authentication, then
    /// fetches its signing keys.
    ///
    /// `http` is used for every request to the provider; give it the TLS
    /// roots the provider's certificate chains to.
    pub async fn discover(config: OidcConfig, http: reqwest::Client) -> Result<Self, OidcError> {
        config.validate()?;
        let metadata = discovery::fetch_metadata(&http, &config.issuer).await?;
        let keys = discovery::fetch_keys(&http, &metadata.jwks_uri).await?;
        for (name, url) in [
            ("token endpoint", &metadata.token_endpoint),
            ("key set", &metadata.jwks_uri),
        ] {
            let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if url.scheme() != "https" && !loopback {
                tracing::warn!(issuer = %config.issuer, %url, "the identity provider's {name} is not behind TLS");
            }
        }
        tracing::info!(issuer = %config.issuer, keys = keys.len(), "identity provider discovered");
        Ok(Provider {
            config,
            http,
            metadata,
            keys: RwLock::new(Arc::new(keys)),
        })
    }

    /// The configuration this provider was discovered with.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Where to send the browser to sign out at the provider, if it says.
    pub fn end_session_endpoint(&self) -> Option<&str> {
        self.metadata
            .end_session_endpoint
            .as_ref()
            .map(url::Url::as_str)
    }

    /// Starts a sign-in: the URL to redirect the browser to, and the
    /// pending login to keep until the callback.
    pub fn begin(&self) -> (String, PendingLogin) {
        let pending = PendingLogin {
            state: random_token(),
            nonce: random_token(),
            pkce_verifier: random_token(),
            created_at_unix: now_unix(),
        };
        let mut url = self.metadata.authorization_endpoint.clone();
        let mut scopes: Vec<&str> = self.config.scopes.iter().map(String::as_str).collect();
        if !scopes.contains(&"openid") {
            scopes.insert(0, "openid");
        }
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_url)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pkce_challenge(&pending.pkce_verifier))
            .append_pair("code_challenge_method", "S256");
        (url.into(), pending)
    }

    /// Completes a sign-in from the callback's `state` and `code`: checks
    /// the state, exchanges the code, validates the ID token and returns
    /// who signed in.
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        returned_state: &str,
        code: &str,
    ) -> Result<Identity, OidcError> {
        if !bool::from(returned_state.as_bytes().ct_eq(pending.state.as_bytes())) {
            return Err(OidcError::StateMismatch);
        }
        if now_unix().saturating_sub(pending.created_at_unix) > MAX_LOGIN_AGE_S {
            return Err(OidcError::LoginExpired);
        }
        let exchange = token::Exchange {
            token_endpoint: &self.metadata.token_endpoint,
            client_auth: self.metadata.client_auth,
            client_id: &self.config.client_id,
            client_secret: &self.config.client_secret,
            redirect_url: &self.config.redirect_url,
            pkce_verifier: &pending.pkce_verifier,
        };
        let raw = token::exchange(&self.http, &exchange, code).await?;
        let token = id_token::parse(&raw)?;
        self.verify_signature(&token).await?;
        id_token::validate_claims(
            &token.claims,
            &id_token::Expected {
                issuer: &self.config.issuer,
                client_id: &self.config.client_id,
                nonce: &pending.nonce,
                login_started: pending.created_at_unix,
                now: now_unix(),
            },
        )?;
        let identity = claims::identity(&token.claims, &self.config)?;
        tracing::debug!(issuer = %identity.issuer, subject = %identity.subject, "signed in");
        Ok(identity)
    }

    /// Verifies against the cached keys, and once more against freshly
    /// fetched ones if no cached key could have signed: providers rotate
    /// their keys and publish the new one before using it.
    async fn verify_signature(&self, token: &id_token::ParsedToken) -> Result<(), OidcError> {
        let cached = self.cached_keys();
        match id_token::verify_signature(token, &cached) {
            Err(OidcError::UnknownKey { kid }) => {
                tracing::info!(issuer = %self.config.issuer, kid = kid.as_deref().unwrap_or(""),
                    "token signed with a key not in the cache; fetching the provider's keys again");
                let fresh =
                    Arc::new(discovery::fetch_keys(&self.http, &self.metadata.jwks_uri).await?);
                if let Ok(mut keys) = self.keys.write() {
                    *keys = Arc::clone(&fresh);
                }
                id_token::verify_signature(token, &fresh)
            }
            other => other,
        }
    }

    fn cached_keys(&self) -> Arc<Vec<Jwk>> {
        match self.keys.read() {
            Ok(keys) => Arc::clone(&keys),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
    }

    #[test]
    fn debug_hides_secrets() {
        let cfg = OidcConfig::new("https://idp/realms/x", "pacs", "hunter2", "https://pacs/cb");
        assert!(!format!("{cfg:?}").contains("hunter2"));
        let p = PendingLogin {
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "verifier-secret".into(),
            created_at_unix: 0,
        };
        assert!(!format!("{p:?}").contains("verifier-secret"));
    }

    #[test]
    fn pending_login_round_trips_through_json() {
        let p = PendingLogin {
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            created_at_unix: 1_700_000_000,
        };
        let back: PendingLogin = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
