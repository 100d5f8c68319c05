//! Who is signed in, and what that allows the pages to offer: the user
//! as `GET /api/auth/me` describes them, the pages of their role, where
//! sign-in leads, and the sign-in provider's button.
//!
//! An archive with no accounts at all answers `me` with `"open": true`:
//! every page is shown and there is nothing to sign out of.

use serde::Deserialize;

/// An account's role, which decides the pages and actions offered. The
/// server enforces the same rules; the pages only avoid offering what it
/// would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Staff of a sending site: their site's studies, priorities,
    /// acknowledging critical findings.
    Site,
    /// Reads studies and writes reports.
    Radiologist,
    /// A referring doctor: their patients' reports.
    Referrer,
    Admin,
    /// A role this viewer does not know (a newer server): offered nothing
    /// beyond the study list.
    #[serde(other)]
    Other,
}

impl Role {
    /// The interface string key of the role's name.
    pub fn label_key(self) -> &'static str {
        match self {
            Role::Site => "role.site",
            Role::Radiologist => "role.radiologist",
            Role::Referrer => "role.referrer",
            Role::Admin => "role.admin",
            Role::Other => "role.other",
        }
    }
}

/// `GET /api/auth/me`: the signed-in user, or the open archive.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Me {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub site: Option<String>,
    /// No accounts exist on this archive: nobody signs in.
    #[serde(default)]
    pub open: bool,
    /// A read-only link to one study (someone shared it): only that
    /// study's images and report, no other page, and nothing to sign out
    /// of (ending the session would withdraw the link for everyone).
    #[serde(default)]
    pub read_only_link: bool,
}

impl Me {
    /// The archive without accounts, as the pages treat it when the
    /// server has no sign-in at all (an older server answering 404).
    pub fn open_archive() -> Me {
        Me {
            username: None,
            display_name: None,
            role: Role::Admin,
            site: None,
            open: true,
            read_only_link: false,
        }
    }

    /// Whether the top bar offers signing out.
    pub fn signs_out(&self) -> bool {
        !self.open && !self.read_only_link
    }

    /// The name the top bar shows: the display name, else the user name.
    pub fn shown_name(&self) -> Option<&str> {
        self.display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .or(self.username.as_deref())
    }

    /// Whether `username` is this user.
    pub fn is(&self, username: &str) -> bool {
        self.username.as_deref() == Some(username)
    }

    /// The pages the top bar links to, in its order.
    pub fn pages(&self) -> Vec<NavPage> {
        use NavPage::*;
        if self.read_only_link {
            return Vec::new();
        }
        if self.open {
            return vec![Worklist, Studies, Forwarding, Audit];
        }
        match self.role {
            Role::Admin => vec![Worklist, Studies, Forwarding, Audit],
            Role::Radiologist | Role::Site => vec![Worklist, Studies],
            Role::Referrer => vec![Referrals, Studies],
            Role::Other => vec![Studies],
        }
    }

    /// Whether the user's role writes reports.
    pub fn reads_studies(&self) -> bool {
        !self.open && !self.read_only_link && self.role == Role::Radiologist
    }

    /// Whether the top bar shows open critical findings to acknowledge.
    pub fn sees_notifications(&self) -> bool {
        !self.open
            && !self.read_only_link
            && matches!(self.role, Role::Site | Role::Referrer | Role::Admin)
    }
}

/// A page of the application the top bar links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NavPage {
    Worklist,
    Studies,
    Forwarding,
    Audit,
    Referrals,
}

impl NavPage {
    pub fn path(self) -> &'static str {
        match self {
            NavPage::Worklist => "/worklist",
            NavPage::Studies => "/",
            NavPage::Forwarding => "/forwarding",
            NavPage::Audit => "/audit",
            NavPage::Referrals => "/referrals",
        }
    }

    /// The link's `data-link` value.
    pub fn name(self) -> &'static str {
        match self {
            NavPage::Worklist => "worklist",
            NavPage::Studies => "studies",
            NavPage::Forwarding => "forwarding",
            NavPage::Audit => "audit",
            NavPage::Referrals => "referrals",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            NavPage::Worklist => "nav.worklist",
            NavPage::Studies => "nav.studies",
            NavPage::Forwarding => "nav.forwarding",
            NavPage::Audit => "nav.audit",
            NavPage::Referrals => "nav.referrals",
        }
    }
}

/// Where a role lands after signing in when no page was asked for.
pub fn landing_page(role: Role) -> &'static str {
    match role {
        Role::Referrer => "/referrals",
        Role::Radiologist | Role::Admin | Role::Site => "/worklist",
        Role::Other => "/",
    }
}

/// `GET /api/auth/config`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AuthConfig {
    #[serde(default)]
    pub oidc: bool,
    #[serde(default)]
    pub oidc_label: Option<String>,
}

impl AuthConfig {
    /// The identity provider's name for the "Sign in with …" button,
    /// taken from the server's English label so the rest of the sentence
    /// can be said in the page's language; `None` when the label names
    /// none.
    pub fn provider(&self) -> Option<String> {
        let label = self.oidc_label.as_deref()?.trim();
        let name = label
            .strip_prefix("Sign in with")
            .or_else(|| label.strip_prefix("sign in with"))
            .unwrap_or(label)
            .trim();
        (!name.is_empty()).then(|| name.to_owned())
    }
}

/// `POST /api/auth/login`'s answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LoginAnswer {
    pub user: Me,
}

/// The page to return to after signing in, if `next` is one of this
/// application's own addresses: a path on this origin (never `//host`,
/// a scheme, or the sign-in page itself, which would loop).
pub fn safe_next(next: &str) -> Option<String> {
    let next = next.trim();
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && path.trim_end_matches('/') != "/login"
        && !path.starts_with("/api/");
    ok.then(|| next.to_owned())
}

/// The sign-in page's address, returning to `next` afterwards.
pub fn login_link(next: &str) -> String {
    match safe_next(next) {
        Some(next) if next != "/" => {
            format!("/login?next={}", crate::url::encode_component(&next))
        }
        _ => "/login".to_owned(),
    }
}

/// Where sign-in leads: the page asked for, else the role's landing page.
pub fn after_sign_in(next: Option<&str>, role: Role) -> String {
    next.and_then(safe_next)
        .unwrap_or_else(|| landing_page(role).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_in_user_is_read() {
        let me: Me = serde_json::from_str(
            r#"{"username":"ivanova","display_name":"Dr Иванова","role":"radiologist","site":null}"#,
        )
        .unwrap();
        assert_eq!(me.role, Role::Radiologist);
        assert_eq!(me.shown_name(), Some("Dr Иванова"));
        assert!(!me.open);
        assert!(me.reads_studies());
        assert!(me.is("ivanova"));
        assert_eq!(me.pages(), vec![NavPage::Worklist, NavPage::Studies]);
    }

    #[test]
    fn the_open_archive_shows_everything_and_reads_nothing() {
        let me: Me =
            serde_json::from_str(r#"{"username": null, "role": "admin", "open": true}"#).unwrap();
        assert!(me.open);
        assert_eq!(me.shown_name(), None);
        assert!(!me.reads_studies());
        assert!(!me.sees_notifications());
        assert!(me.pages().contains(&NavPage::Forwarding));
        assert!(me.pages().contains(&NavPage::Audit));
        assert_eq!(Me::open_archive().pages(), me.pages());
    }

    #[test]
    fn a_read_only_link_offers_nothing_but_its_study() {
        let me: Me = serde_json::from_str(
            r#"{"username":"karimov","display_name":"read-only link","role":"referrer",
                "site":null,"open":false,"read_only_link":true}"#,
        )
        .unwrap();
        assert!(me.pages().is_empty());
        assert!(!me.signs_out());
        assert!(!me.sees_notifications());
        assert!(!me.reads_studies());
        assert!(!Me::open_archive().signs_out());
    }

    #[test]
    fn each_role_gets_its_pages() {
        let me = |role| Me {
            role,
            open: false,
            ..Me::open_archive()
        };
        assert_eq!(
            me(Role::Referrer).pages(),
            vec![NavPage::Referrals, NavPage::Studies]
        );
        assert!(!me(Role::Site).pages().contains(&NavPage::Audit));
        assert!(me(Role::Admin).pages().contains(&NavPage::Audit));
        assert!(me(Role::Site).sees_notifications());
        assert!(!me(Role::Radiologist).sees_notifications());
        let unknown: Me = serde_json::from_str(r#"{"username":"x","role":"auditor"}"#).unwrap();
        assert_eq!(unknown.role, Role::Other);
        assert_eq!(unknown.pages(), vec![NavPage::Studies]);
        assert_eq!(unknown.shown_name(), Some("x"));
    }

    #[test]
    fn sign_in_lands_on_the_page_asked_for_else_the_roles() {
        assert_eq!(after_sign_in(None, Role::Radiologist), "/worklist");
        assert_eq!(after_sign_in(None, Role::Site), "/worklist");
        assert_eq!(after_sign_in(None, Role::Admin), "/worklist");
        assert_eq!(after_sign_in(None, Role::Referrer), "/referrals");
        assert_eq!(
            after_sign_in(Some("/viewer?study=1.2.3"), Role::Referrer),
            "/viewer?study=1.2.3"
        );
        assert_eq!(
            after_sign_in(Some("https://evil.example/"), Role::Site),
            "/worklist"
        );
    }

    #[test]
    fn only_own_pages_are_returned_to() {
        assert_eq!(safe_next("/audit?user=x"), Some("/audit?user=x".into()));
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "https://evil.example",
            "/login",
            "/login/?next=/",
            "/api/auth/logout",
            "relative/page",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_login_link_carries_the_page_encoded() {
        assert_eq!(
            login_link("/viewer?study=1.2&lang=ru"),
            "/login?next=%2Fviewer%3Fstudy%3D1.2%26lang%3Dru"
        );
        assert_eq!(login_link("/"), "/login");
        assert_eq!(login_link("/login?next=/x"), "/login");
        let link = login_link("/worklist?status=all");
        let (path, search) = link.split_once('?').unwrap();
        assert_eq!(
            crate::route::route(path, search),
            crate::route::Page::Login {
                next: Some("/worklist?status=all".into())
            }
        );
    }

    #[test]
    fn the_provider_is_named_in_the_pages_language() {
        let config: AuthConfig =
            serde_json::from_str(r#"{"oidc": true, "oidc_label": "Sign in with Keycloak"}"#)
                .unwrap();
        assert_eq!(config.provider(), Some("Keycloak".into()));
        let config = AuthConfig {
            oidc: true,
            oidc_label: Some("Hospital ID".into()),
        };
        assert_eq!(config.provider(), Some("Hospital ID".into()));
        let config: AuthConfig =
            serde_json::from_str(r#"{"oidc": false, "oidc_label": null}"#).unwrap();
        assert_eq!(config.provider(), None);
    }
}
