//! What can go wrong while signing a user in, in words an operator (or the
//! user, for the few that are theirs to fix) can act on.

/// Why discovery or a sign-in failed.
///
/// Variants that name the identity provider's token mean the token the
/// provider returned was refused; the user cannot fix those, the operator
/// of the provider or of the archive can.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the OpenID Connect configuration is not valid: {0}")]
    Config(String),

    #[error("cannot reach the identity provider to {what} ({url}): {source}")]
    Unreachable {
        what: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("the identity provider answered HTTP {status} when asked to {what} ({url})")]
    HttpStatus {
        what: &'static str,
        url: String,
        status: u16,
    },

    #[error("the identity provider's {what} is not valid: {detail}")]
    BadDocument { what: &'static str, detail: String },

    #[error(
        "the identity provider says its issuer is {published:?}, but the configuration names \
         {configured:?}; they must be identical, character for character"
    )]
    IssuerMismatch {
        configured: String,
        published: String,
    },

    #[error(
        "the identity provider accepts no client secret at its token endpoint (it supports {supported:?}); \
         configure the client for client_secret_basic or client_secret_post"
    )]
    UnsupportedClientAuth { supported: Vec<String> },

    #[error(
        "the identity provider does not support PKCE with S256 (it supports {supported:?}); \
         enable it for this client"
    )]
    NoPkceS256 { supported: Vec<String> },

    #[error(
        "the sign-in response does not belong to this sign-in (its state differs); start again"
    )]
    StateMismatch,

    #[error("the sign-in took longer than 10 minutes; start again")]
    LoginExpired,

    #[error("the identity provider refused to exchange the sign-in code ({error}{}); start again",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    TokenRefused {
        error: String,
        description: Option<String>,
    },

    #[error("the identity provider's token is malformed: {0}")]
    MalformedToken(String),

    #[error(
        "the identity provider's token uses the signature algorithm {0:?}, which is not accepted \
         (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 and EdDSA are)"
    )]
    AlgorithmNotAllowed(String),

    #[error("the identity provider's token was signed with a key it does not publish (key id {})",
        kid.as_deref().unwrap_or("none"))]
    UnknownKey { kid: Option<String> },

    #[error("the identity provider's token signature does not verify against the key it publishes")]
    BadSignature,

    #[error("the identity provider's token was issued by {found:?}, not by {expected:?}")]
    WrongIssuer { expected: String, found: String },

    #[error(
        "the identity provider's token is meant for {found:?}, not for this client ({client_id:?})"
    )]
    WrongAudience {
        client_id: String,
        found: Vec<String>,
    },

    #[error(
        "the identity provider's token names several audiences but was not issued to this client \
         (authorized party {found:?}, this client {client_id:?})"
    )]
    WrongAuthorizedParty {
        client_id: String,
        found: Option<String>,
    },

    #[error(
        "the identity provider's token expired {ago} s ago; if this repeats, check the clocks \
         of the archive and of the identity provider"
    )]
    TokenExpired { ago: i64 },

    #[error(
        "the identity provider's token is not valid yet (for another {in_s} s); check the clocks \
         of the archive and of the identity provider"
    )]
    TokenNotYetValid { in_s: i64 },

    #[error(
        "the identity provider's token has an implausible issue time ({detail}); check the \
         clocks of the archive and of the identity provider"
    )]
    ImplausibleIssueTime { detail: String },

    #[error(
        "the identity provider's token was issued for another sign-in (its nonce differs); start again"
    )]
    NonceMismatch,

    #[error("the identity provider's token has no {0:?} claim")]
    MissingClaim(String),

    #[error("the identity provider's token claim {claim:?} is not {expected}")]
    ClaimType {
        claim: String,
        expected: &'static str,
    },
}
