//! ID token validation (OpenID Connect Core 1.0 section 3.1.3.7): the
//! signature against the provider's published keys, then the claims.
//!
//! The token is split and its header read here rather than by the JWT
//! library, so that an algorithm the archive refuses (`none`, the HMAC
//! family) is named in the error instead of failing as an unparsable
//! header; the signature itself is checked by `jsonwebtoken`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;

use crate::OidcError;

/// Allowed difference between the archive's clock and the provider's.
pub(crate) const CLOCK_SKEW_S: i64 = 60;

/// A token split into its parts, its header checked, its signature not yet.
#[derive(Debug)]
pub(crate) struct ParsedToken {
    alg: Algorithm,
    kid: Option<String>,
    /// `header.payload`, the signed bytes.
    signed: String,
    signature: Vec<u8>,
    pub claims: Map<String, Value>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

/// The signature algorithms the archive accepts: asymmetric ones only, so
/// that no one holding the client secret (or a public key passed off as an
/// HMAC secret) can mint a token.
fn accepted_algorithm(alg: &str) -> Option<Algorithm> {
    Some(match alg {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, OidcError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| OidcError::MalformedToken(format!("its {what} is not base64url: {e}")))
}

/// Splits `token` and checks its header.
pub(crate) fn parse(token: &str) -> Result<ParsedToken, OidcError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(OidcError::MalformedToken(if parts.len() == 5 {
            "it is encrypted, which this client does not support".to_owned()
        } else {
            format!("it has {} parts, not 3", parts.len())
        }));
    };
    let header_json = b64(header, "header")?;
    let head: Header = serde_json::from_slice(&header_json)
        .map_err(|e| OidcError::MalformedToken(format!("its header is not valid: {e}")))?;
    let Some(alg) = accepted_algorithm(&head.alg) else {
        return Err(OidcError::AlgorithmNotAllowed(head.alg));
    };
    if head.crit.is_some() {
        return Err(OidcError::MalformedToken(
            "it requires header extensions (crit) this client does not understand".to_owned(),
        ));
    }
    let claims: Map<String, Value> = serde_json::from_slice(&b64(payload, "payload")?)
        .map_err(|e| OidcError::MalformedToken(format!("its claims are not a JSON object: {e}")))?;
    Ok(ParsedToken {
        alg,
        kid: head.kid,
        signed: format!("{header}.{payload}"),
        signature: b64(signature, "signature")?,
        claims,
    })
}

/// Whether `jwk` may verify a signature made with `alg`: the right kind of
/// key (and curve), published for signing, and for this algorithm if the
/// key names one.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg.to_string() != format!("{alg:?}")
    {
        return false;
    }
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return false;
    }
    if let Some(ops) = &jwk.common.key_operations
        && !ops.contains(&KeyOperations::Verify)
    {
        return false;
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(p) => matches!(
            (alg, &p.curve),
            (Algorithm::ES256, EllipticCurve::P256) | (Algorithm::ES384, EllipticCurve::P384)
        ),
        AlgorithmParameters::OctetKeyPair(p) => {
            alg == Algorithm::EdDSA && p.curve == EllipticCurve::Ed25519
        }
        // Symmetric keys never verify an ID token here.
        AlgorithmParameters::OctetKey(_) => false,
    }
}

/// Checks the token's signature against `keys`. [`OidcError::UnknownKey`]
/// means no published key could have made it: the caller may fetch the
/// keys again (the provider may have rotated them) and retry once.
pub(crate) fn verify_signature(token: &ParsedToken, keys: &[Jwk]) -> Result<(), OidcError> {
    let same_kid = |jwk: &&Jwk| match &token.kid {
        Some(kid) => jwk.common.key_id.as_deref() == Some(kid.as_str()),
        None => true,
    };
    let candidates: Vec<&Jwk> = keys
        .iter()
        .filter(same_kid)
        .filter(|k| fits(k, token.alg))
        .collect();
    if candidates.is_empty() {
        if token.kid.is_some() && keys.iter().any(|k| same_kid(&k)) {
            return Err(OidcError::MalformedToken(format!(
                "its algorithm {:?} does not fit the published key it names",
                token.alg
            )));
        }
        return Err(OidcError::UnknownKey {
            kid: token.kid.clone(),
        });
    }
    let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
    for jwk in candidates {
        let key = DecodingKey::from_jwk(jwk).map_err(|e| OidcError::BadDocument {
            what: "key set",
            detail: format!(
                "key {:?} cannot be used: {e}",
                jwk.common.key_id.as_deref().unwrap_or("without id")
            ),
        })?;
        let Ok(verifier) = (provider.verifier_factory)(&token.alg, &key) else {
            continue;
        };
        if verifier
            .verify(token.signed.as_bytes(), &token.signature)
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(OidcError::BadSignature)
}

/// What the claims of a verified token must say.
pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// When the sign-in began (Unix seconds): the token cannot be older.
    pub login_started: i64,
    pub now: i64,
}

fn string<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str, OidcError> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(OidcError::MissingClaim(name.to_owned())),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(OidcError::ClaimType {
            claim: name.to_owned(),
            expected: "a string",
        }),
    }
}

fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, OidcError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            // Fractional seconds are allowed (NumericDate); whole ones suffice.
            .or_else(|| n.as_f64().map(|f| f.floor() as i64))
            .map(Some)
            .ok_or_else(|| OidcError::ClaimType {
                claim: name.to_owned(),
                expected: "a time in seconds",
            }),
        Some(_) => Err(OidcError::ClaimType {
            claim: name.to_owned(),
            expected: "a time in seconds",
        }),
    }
}

/// Checks the claims of a token whose signature verified.
pub(crate) fn validate_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<(), OidcError> {
    let iss = string(claims, "iss")?;
    if iss != expected.issuer {
        return Err(OidcError::WrongIssuer {
            expected: expected.issuer.to_owned(),
            found: iss.to_owned(),
        });
    }

    let audiences: Vec<String> = match claims.get("aud") {
        None | Some(Value::Null) => return Err(OidcError::MissingClaim("aud".to_owned())),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| OidcError::ClaimType {
                claim: "aud".to_owned(),
                expected: "a string or a list of strings",
            })?,
        Some(_) => {
            return Err(OidcError::ClaimType {
                claim: "aud".to_owned(),
                expected: "a string or a list of strings",
            });
        }
    };
    if !audiences.iter().any(|a| a == expected.client_id) {
        return Err(OidcError::WrongAudience {
            client_id: expected.client_id.to_owned(),
            found: audiences,
        });
    }
    let azp = match claims.get("azp") {
        None | Some(Value::Null) => None,
        Some(_) => Some(string(claims, "azp")?),
    };
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(expected.client_id) {
        return Err(OidcError::WrongAuthorizedParty {
            client_id: expected.client_id.to_owned(),
            found: azp.map(str::to_owned),
        });
    }

    let now = expected.now;
    let exp = seconds(claims, "exp")?.ok_or_else(|| OidcError::MissingClaim("exp".to_owned()))?;
    if now >= exp.saturating_add(CLOCK_SKEW_S) {
        return Err(OidcError::TokenExpired { ago: now - exp });
    }
    if let Some(nbf) = seconds(claims, "nbf")?
        && nbf > now.saturating_add(CLOCK_SKEW_S)
    {
        return Err(OidcError::TokenNotYetValid { in_s: nbf - now });
    }
    let iat = seconds(claims, "iat")?.ok_or_else(|| OidcError::MissingClaim("iat".to_owned()))?;
    if iat > now.saturating_add(CLOCK_SKEW_S) {
        return Err(OidcError::ImplausibleIssueTime {
            detail: format!("{} s in the future", iat - now),
        });
    }
    if iat < expected.login_started.saturating_sub(CLOCK_SKEW_S) {
        return Err(OidcError::ImplausibleIssueTime {
            detail: format!(
                "{} s before this sign-in began",
                expected.login_started - iat
            ),
        });
    }

    let nonce = match claims.get("nonce") {
        None | Some(Value::Null) => return Err(OidcError::NonceMismatch),
        Some(_) => string(claims, "nonce")?,
    };
    if !bool::from(nonce.as_bytes().ct_eq(expected.nonce.as_bytes())) {
        return Err(OidcError::NonceMismatch);
    }

    let sub = string(claims, "sub")?;
    if sub.is_empty() {
        return Err(OidcError::MissingClaim("sub".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://idp/realms/x",
            client_id: "pacs",
            nonce: "n-1",
            login_started: NOW - 30,
            now: NOW,
        }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = json!({
            "iss": "https://idp/realms/x", "aud": "pacs", "sub": "u1",
            "exp": NOW + 300, "iat": NOW - 5, "nonce": "n-1",
        });
        let (Value::Object(b), Value::Object(e)) = (&mut base, extra) else {
            unreachable!()
        };
        for (k, v) in e {
            b.insert(k, v);
        }
        let Value::Object(m) = base else {
            unreachable!()
        };
        m
    }

    fn check(extra: Value) -> Result<(), OidcError> {
        validate_claims(&claims(extra), &expected())
    }

    #[test]
    fn good_claims_pass() {
        check(json!({})).unwrap();
        check(json!({"aud": ["pacs", "other"], "azp": "pacs"})).unwrap();
        check(json!({"exp": NOW - 30, "iat": NOW + 30})).unwrap();
        check(json!({"exp": (NOW + 300) as f64 + 0.5})).unwrap();
    }

    #[test]
    fn audience_and_authorized_party() {
        let e = check(json!({"aud": "other"})).unwrap_err();
        assert!(matches!(e, OidcError::WrongAudience { .. }), "{e}");
        let e = check(json!({"aud": ["pacs", "other"]})).unwrap_err();
        assert!(matches!(e, OidcError::WrongAuthorizedParty { .. }), "{e}");
        let e = check(json!({"azp": "other"})).unwrap_err();
        assert!(matches!(e, OidcError::WrongAuthorizedParty { .. }), "{e}");
        let e = check(json!({"aud": 7})).unwrap_err();
        assert!(matches!(e, OidcError::ClaimType { .. }), "{e}");
    }

    #[test]
    fn times_allow_a_minute_of_skew_and_no_more() {
        let e = check(json!({"exp": NOW - 61})).unwrap_err();
        assert!(matches!(e, OidcError::TokenExpired { ago: 61 }), "{e}");
        let e = check(json!({"iat": NOW + 61})).unwrap_err();
        assert!(matches!(e, OidcError::ImplausibleIssueTime { .. }), "{e}");
        let e = check(json!({"iat": NOW - 30 - 61})).unwrap_err();
        assert!(matches!(e, OidcError::ImplausibleIssueTime { .. }), "{e}");
        let e = check(json!({"nbf": NOW + 120})).unwrap_err();
        assert!(matches!(e, OidcError::TokenNotYetValid { .. }), "{e}");
        let e = check(json!({"exp": "soon"})).unwrap_err();
        assert!(matches!(e, OidcError::ClaimType { .. }), "{e}");
    }

    #[test]
    fn issuer_nonce_and_subject_are_required() {
        let e = check(json!({"iss": "https://idp/realms/y"})).unwrap_err();
        assert!(matches!(e, OidcError::WrongIssuer { .. }), "{e}");
        let e = check(json!({"nonce": "n-2"})).unwrap_err();
        assert!(matches!(e, OidcError::NonceMismatch), "{e}");
        let e = check(json!({"nonce": null})).unwrap_err();
        assert!(matches!(e, OidcError::NonceMismatch), "{e}");
        let e = check(json!({"sub": ""})).unwrap_err();
        assert!(matches!(e, OidcError::MissingClaim(_)), "{e}");
    }

    fn token(header: Value) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(json!({"sub": "u1"}).to_string()),
            URL_SAFE_NO_PAD.encode(b"sig"),
        )
    }

    #[test]
    fn refused_algorithms_are_named() {
        for alg in ["none", "HS256", "HS512", "RSA-OAEP"] {
            let Err(OidcError::AlgorithmNotAllowed(named)) = parse(&token(json!({"alg": alg})))
            else {
                panic!("{alg} was not refused");
            };
            assert_eq!(named, alg);
        }
        assert!(parse(&token(json!({"alg": "RS256", "kid": "k"}))).is_ok());
        let e = parse(&token(json!({"alg": "RS256", "crit": ["exp"]}))).unwrap_err();
        assert!(matches!(e, OidcError::MalformedToken(_)), "{e}");
        let e = parse("a.b.c.d.e").unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");
    }

    #[test]
    fn a_key_must_fit_the_algorithm() {
        let rsa: Jwk = serde_json::from_value(json!({
            "kty": "RSA", "kid": "r", "use": "sig", "alg": "RS256", "n": "AQAB", "e": "AQAB"
        }))
        .unwrap();
        let ec: Jwk = serde_json::from_value(json!({
            "kty": "EC", "kid": "e", "crv": "P-256", "x": "AQAB", "y": "AQAB"
        }))
        .unwrap();
        let enc: Jwk = serde_json::from_value(json!({
            "kty": "RSA", "kid": "x", "use": "enc", "n": "AQAB", "e": "AQAB"
        }))
        .unwrap();
        assert!(fits(&rsa, Algorithm::RS256));
        assert!(!fits(&rsa, Algorithm::PS256), "the key names RS256 only");
        assert!(!fits(&rsa, Algorithm::ES256));
        assert!(fits(&ec, Algorithm::ES256));
        assert!(!fits(&ec, Algorithm::ES384));
        assert!(!fits(&enc, Algorithm::RS256));
    }
}
