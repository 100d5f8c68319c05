//! The test provider's signing keys: generated in memory at start (aws-lc
//! is fast even in debug builds), never written anywhere.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

pub(super) struct SigningKey {
    pub kid: String,
    key: Key,
}

impl SigningKey {
    fn alg(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
        }
    }

    pub fn jwk(&self) -> Value {
        match &self.key {
            Key::Rsa(pair) => {
                let public: aws_lc_rs::rsa::PublicKeyComponents<Vec<u8>> = pair.public_key().into();
                json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                       "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e)})
            }
            Key::Ec(pair) => {
                // Uncompressed point: 0x04, then x and y, 32 bytes each.
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256", "kid": self.kid,
                       "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                       "y": URL_SAFE_NO_PAD.encode(&point[33..65])})
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        match &self.key {
            Key::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| "RSA signing failed".to_owned())?;
                Ok(sig)
            }
            Key::Ec(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_owned()),
        }
    }
}

pub(super) fn generate_rsa(kid: String) -> Result<SigningKey, String> {
    let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| "cannot generate an RSA key".to_owned())?;
    Ok(SigningKey {
        kid,
        key: Key::Rsa(pair),
    })
}

pub(super) fn generate_ec(kid: String) -> Result<SigningKey, String> {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| "cannot generate an EC key".to_owned())?;
    Ok(SigningKey {
        kid,
        key: Key::Ec(pair),
    })
}

/// `header.payload.signature`, signed with `key` under `kid`.
pub(super) fn sign_jwt(key: &SigningKey, kid: &str, claims: &Value) -> Result<String, String> {
    let header = json!({"alg": key.alg(), "typ": "JWT", "kid": kid});
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = key.sign(signed.as_bytes())?;
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// `header.payload.signature` with HS256 and `secret` as the key: what a
/// provider confused about algorithms (or an attacker who knows the
/// client secret) would send.
pub(super) fn sign_jwt_hs256(secret: &[u8], kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}
