//! From a validated token's claims to the [`Identity`] the archive maps to
//! an account.

use serde_json::{Map, Value};

use crate::{Identity, OidcConfig, OidcError};

/// The claim named `path`: a top-level claim of that exact name if there is
/// one (namespaced claims such as `https://pacs.example/roles` contain
/// dots), otherwise the dotted path through nested objects
/// (`realm_access.roles`).
pub(crate) fn claim_at<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn optional_string(claims: &Map<String, Value>, path: &str) -> Result<Option<String>, OidcError> {
    match claim_at(claims, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(OidcError::ClaimType {
            claim: path.to_owned(),
            expected: "a string",
        }),
    }
}

/// The roles at `path`: a list of strings (a single string counts as one
/// role; some providers flatten one-element lists). Absent means none.
fn roles(claims: &Map<String, Value>, path: &str) -> Result<Vec<String>, OidcError> {
    let wrong = || OidcError::ClaimType {
        claim: path.to_owned(),
        expected: "a list of strings",
    };
    match claim_at(claims, path) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

/// The identity a validated token describes.
pub(crate) fn identity(
    claims: &Map<String, Value>,
    config: &OidcConfig,
) -> Result<Identity, OidcError> {
    let required = |name: &str| {
        optional_string(claims, name)?.ok_or_else(|| OidcError::MissingClaim(name.to_owned()))
    };
    let subject = required("sub")?;
    let username = match optional_string(claims, &config.username_claim)? {
        Some(name) if !name.is_empty() => name,
        _ => subject.clone(),
    };
    // An address the provider says it has not verified must not be used
    // to match an existing account.
    let verified = claims.get("email_verified").and_then(Value::as_bool) != Some(false);
    let email = optional_string(claims, "email")?.filter(|_| verified);
    let site = match &config.site_claim {
        Some(path) => optional_string(claims, path)?,
        None => None,
    };
    Ok(Identity {
        issuer: required("iss")?,
        subject,
        username,
        email,
        name: optional_string(claims, "name")?,
        roles: roles(claims, &config.roles_claim)?,
        site,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> OidcConfig {
        OidcConfig::new("https://idp/realms/x", "pacs", "s", "https://pacs/cb")
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn claims_become_an_identity() {
        let mut cfg = config();
        cfg.roles_claim = "realm_access.roles".into();
        cfg.site_claim = Some("site".into());
        let c = map(json!({
            "iss": "https://idp/realms/x", "sub": "0f3a", "preferred_username": "dr.who",
            "email": "who@example.org", "email_verified": true, "name": "Dr Who",
            "realm_access": {"roles": ["radiologist", "admin"]}, "site": "north",
        }));
        let id = identity(&c, &cfg).unwrap();
        assert_eq!(id.subject, "0f3a");
        assert_eq!(id.username, "dr.who");
        assert_eq!(id.email.as_deref(), Some("who@example.org"));
        assert_eq!(id.name.as_deref(), Some("Dr Who"));
        assert_eq!(id.roles, ["radiologist", "admin"]);
        assert_eq!(id.site.as_deref(), Some("north"));
    }

    #[test]
    fn username_falls_back_to_the_subject() {
        let c = map(json!({"iss": "i", "sub": "0f3a"}));
        let id = identity(&c, &config()).unwrap();
        assert_eq!(id.username, "0f3a");
        assert!(id.roles.is_empty());
        assert_eq!(id.email, None);
    }

    #[test]
    fn unverified_email_is_dropped() {
        let c = map(json!({"iss": "i", "sub": "s", "email": "a@b", "email_verified": false}));
        assert_eq!(identity(&c, &config()).unwrap().email, None);
    }

    #[test]
    fn namespaced_claims_are_found_before_paths() {
        let mut cfg = config();
        cfg.roles_claim = "https://pacs.example/roles".into();
        let c = map(json!({"iss": "i", "sub": "s", "https://pacs.example/roles": "reader"}));
        assert_eq!(identity(&c, &cfg).unwrap().roles, ["reader"]);
    }

    #[test]
    fn roles_of_the_wrong_type_are_refused() {
        let c = map(json!({"iss": "i", "sub": "s", "roles": [1, 2]}));
        let e = identity(&c, &config()).unwrap_err();
        assert!(matches!(e, OidcError::ClaimType { .. }), "{e}");
        let c = map(json!({"iss": "i", "sub": "s", "roles": {"a": 1}}));
        assert!(identity(&c, &config()).is_err());
    }
}
