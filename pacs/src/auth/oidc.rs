//! Sign-in through the hospital's identity provider (OpenID Connect,
//! authorization code with PKCE). The provider vouches for who the user
//! is and which role (and site) they have; the archive keeps an account
//! of the same name, created or updated at each sign-in, and opens a
//! session for it like a password sign-in would.

use pacs_core::workflow::{Account, Role};

/// `[auth.oidc]` in the configuration file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    pub issuer: String,
    pub client_id: String,
    /// A file holding the client secret (or `PACS_OIDC_CLIENT_SECRET`).
    pub client_secret_file: Option<std::path::PathBuf>,
    /// Where the provider returns the browser; default
    /// `<public_url>/api/auth/oidc/callback`.
    pub redirect_url: Option<String>,
    /// The text of the sign-in button, e.g. "Sign in with Hospital ID".
    pub label: Option<String>,
    pub username_claim: Option<String>,
    /// Default `roles`.
    pub roles_claim: Option<String>,
    /// What the provider's role names for this archive start with; default
    /// `pacs-` (`pacs-site`, `pacs-radiologist`, `pacs-referrer`,
    /// `pacs-admin`). `""` takes bare role names, for a claim that only
    /// this archive's roles go into.
    pub role_prefix: Option<String>,
    pub site_claim: Option<String>,
}

/// The identity provider's settings as the server uses them.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub provider: oidc::OidcConfig,
    /// The text of the sign-in button.
    pub label: String,
    /// See [`RawOidc::role_prefix`].
    pub role_prefix: String,
}

/// The archive's role among the provider's role names: the most
/// privileged one it knows, so a user with several gets what they need.
/// Only names carrying `prefix` count: a provider's own `admin` role
/// (administering the provider, or another application) is not this
/// archive's.
pub fn role_from(roles: &[String], prefix: &str) -> Option<Role> {
    let known: Vec<Role> = roles
        .iter()
        .map(|r| r.trim())
        .filter(|r| {
            r.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        })
        .filter_map(|r| Role::parse(&r[prefix.len()..]))
        .collect();
    [Role::Admin, Role::Radiologist, Role::Site, Role::Referrer]
        .into_iter()
        .find(|r| known.contains(r))
}

/// The account for an identity, or why there is none. An account is
/// bound to the provider's (issuer, subject), never to a user name alone:
/// a provider user whose name happens to match a local account, or an
/// account bound to someone else, is refused.
pub fn account_for(
    identity: &oidc::Identity,
    role_prefix: &str,
    existing: Option<Account>,
) -> Result<Account, String> {
    let role = role_from(&identity.roles, role_prefix).ok_or_else(|| {
        format!(
            "the identity provider gives {} no role for this archive \
             ({role_prefix}site, {role_prefix}radiologist, {role_prefix}referrer or {role_prefix}admin)",
            identity.username
        )
    })?;
    if role == Role::Site && identity.site.is_none() {
        return Err("a site account needs a site from the identity provider".into());
    }
    let subject = format!("{}#{}", identity.issuer, identity.subject);
    let mut account = match existing {
        Some(a) if a.oidc_subject.as_deref() == Some(subject.as_str()) => a,
        Some(a) => {
            return Err(format!(
                "the name {} already belongs to another account here; an administrator must rename one of them",
                a.username
            ));
        }
        None => Account {
            username: identity.username.clone(),
            display_name: String::new(),
            role,
            site: None,
            reading_sites: Vec::new(),
            physician_name: None,
            password_hash: None,
            oidc_subject: Some(subject),
            disabled: false,
            locked_until: 0,
        },
    };
    if account.disabled {
        return Err(format!("the account {} is disabled here", account.username));
    }
    account.role = role;
    account.site = identity.site.clone().or(account.site);
    account.display_name = identity
        .name
        .clone()
        .unwrap_or_else(|| identity.username.clone());
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_privileged_known_role_wins() {
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            role_from(&roles(&["offline_access", "pacs-radiologist"]), "pacs-"),
            Some(Role::Radiologist)
        );
        assert_eq!(
            role_from(&roles(&["pacs-referrer", "pacs-admin"]), "pacs-"),
            Some(Role::Admin)
        );
        assert_eq!(role_from(&roles(&["uma_authorization"]), "pacs-"), None);
    }

    #[test]
    fn the_providers_own_role_names_grant_nothing() {
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // A realm administrator who reads here as a radiologist.
        assert_eq!(
            role_from(&roles(&["admin", "pacs-radiologist"]), "pacs-"),
            Some(Role::Radiologist)
        );
        assert_eq!(role_from(&roles(&["admin", "radiologist"]), "pacs-"), None);
        // Role names are told apart whatever their case, the prefix too.
        assert_eq!(
            role_from(&roles(&["PACS-Radiologist"]), "pacs-"),
            Some(Role::Radiologist)
        );
        assert_eq!(role_from(&roles(&["pacs"]), "pacs-"), None);
        assert_eq!(role_from(&roles(&["pacṡ-admin"]), "pacs-"), None);
        assert_eq!(
            role_from(&roles(&["pacs-radiologist"]), "archive-"),
            None,
            "another prefix is another application's"
        );
        // A claim that only this archive's roles go into.
        assert_eq!(
            role_from(&roles(&["referrer", "admin"]), ""),
            Some(Role::Admin)
        );
    }
}
