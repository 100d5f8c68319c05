//! Who is asking: bearer tokens and the session cookie turned into a
//! [`Principal`], password checks with lock-out, and token issue. What a
//! principal may do is decided in [`crate::access`], nowhere else.
//!
//! Secrets are random 256-bit values given to the client once; the
//! database keeps only their SHA-256, so a copy of it opens no session.

mod cookies;
pub mod oidc;
pub mod routes;

pub use cookies::{
    DEVICE_COOKIE, cleared_cookie, cookie, device_cookie, presented_secret, session_cookie,
    session_cookie_name,
};

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use pacs_core::IndexError;
use pacs_core::forward::{Millis, now_millis};
use pacs_core::workflow::{
    Account, AuditEvent, Role, SessionKind, SignInAttempt, SignInLimits, SignInLock, SignInVerdict,
    StudyScope, Workflow,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use warp::http::HeaderMap;

/// How someone got in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A signed-in person's session.
    Session,
    /// A site gateway's machine token.
    Machine,
    /// A read-only link to one study.
    Share,
    /// The archive has no accounts: everyone is an administrator
    /// (embedded single-user use on loopback).
    Open,
    /// A DICOM caller, by its AE title.
    Dimse,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account, for people; `None` for tokens, links and DICOM callers.
    pub username: Option<String>,
    pub display_name: String,
    pub role: Role,
    pub site: Option<String>,
    /// The studies this caller may see.
    pub scope: StudyScope,
    pub via: Via,
    pub address: Option<IpAddr>,
}

impl Principal {
    /// The name the audit trail records.
    pub fn audit_name(&self) -> String {
        match (&self.username, &self.via) {
            (Some(u), Via::Share) => format!("{} from {u}", self.display_name),
            (Some(u), _) => u.clone(),
            (None, Via::Open) => "(no accounts)".into(),
            (None, _) => self.display_name.clone(),
        }
    }

    /// The account name acting in the workflow (locks, drafts, signatures).
    pub fn actor(&self) -> String {
        self.username
            .clone()
            .unwrap_or_else(|| self.display_name.clone())
    }

    pub(crate) fn for_account(a: &Account, address: Option<IpAddr>) -> Principal {
        Principal {
            username: Some(a.username.clone()),
            display_name: a.display_name.clone(),
            role: a.role,
            site: a.site.clone(),
            scope: a.scope(),
            via: Via::Session,
            address,
        }
    }
}

/// Why a request has no principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("sign in first: this needs an `Authorization: Bearer` token or a session")]
    Missing,
    #[error("the session or token is not valid (expired, signed out or revoked); sign in again")]
    Invalid,
    #[error(
        "this archive has no accounts, so it answers only requests addressed to localhost; create accounts (pacs user add) to serve others"
    )]
    NotLocal,
    #[error("the account database is unavailable: {0}")]
    Unavailable(String),
}

impl From<IndexError> for AuthError {
    fn from(e: IndexError) -> Self {
        AuthError::Unavailable(e.to_string())
    }
}

/// Sign-in settings.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long a person's session lasts.
    pub session_lifetime: Duration,
    /// Failed sign-ins in a row under one name from one client address
    /// before that name is locked for that address.
    pub max_failures: u32,
    /// Failed sign-ins under any names from one client address before
    /// that address is refused; 0 (the default) for no such limit, since
    /// a hospital's readers often share one address behind its NAT.
    pub max_address_failures: u32,
    /// Failed sign-ins under one name from all addresses together before
    /// the name is refused to browsers it has not signed in from; 0 for
    /// no such limit.
    pub max_account_failures: u32,
    pub lockout: Duration,
    /// Set the cookie's `Secure` attribute (the public URL is https).
    pub secure_cookie: bool,
    /// How long a reading lock lasts without a heartbeat.
    pub lock_lease: Duration,
    /// How long a reading page may go without anyone using it before its
    /// heartbeat gives the study back to the worklist; `None` for never.
    pub lock_idle: Option<Duration>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            session_lifetime: Duration::from_secs(12 * 60 * 60),
            max_failures: 5,
            max_address_failures: 0,
            max_account_failures: 20,
            lockout: Duration::from_secs(15 * 60),
            secure_cookie: false,
            lock_lease: Duration::from_secs(5 * 60),
            lock_idle: Some(Duration::from_secs(20 * 60)),
        }
    }
}

/// Authentication against the workflow store.
pub struct Auth {
    pub store: Arc<dyn Workflow>,
    pub settings: AuthSettings,
    /// A hash to verify against for unknown user names, so that a wrong
    /// name costs as long as a wrong password.
    decoy: String,
    /// Password checks running at once.
    hashing: tokio::sync::Semaphore,
}

/// How failed sign-ins key a client address: an IPv6 client by its /64,
/// since one host commonly holds a whole /64 and could otherwise guess
/// from a fresh address each time.
fn sign_in_address(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
        v4 => v4.to_string(),
    }
}

/// A fresh secret for a session or token: 32 random bytes, base64url.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `value` could be a secret from [`new_secret`].
fn is_secret(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the database keeps of a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// An argon2id hash (PHC string) of a password, with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The outcome of a sign-in attempt.
pub enum Login {
    Ok {
        token: String,
        expires_at: Millis,
        account: Box<Account>,
        /// The secret of the browser's sign-in cookie, to send it (again).
        device: String,
    },
    Wrong,
    Locked(SignInLock),
}

impl Auth {
    pub fn new(store: Arc<dyn Workflow>, settings: AuthSettings) -> Auth {
        let decoy = hash_password("not a password anyone has").unwrap_or_default();
        Auth {
            store,
            settings,
            decoy,
            hashing: tokio::sync::Semaphore::new(4),
        }
    }

    /// Checks a password against its hash off the async threads, a few at
    /// a time: each check takes tens of megabytes by design.
    async fn verify(&self, hash: String, password: &str) -> bool {
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        let given = password.to_owned();
        tokio::task::spawn_blocking(move || password_matches(&hash, &given))
            .await
            .unwrap_or(false)
    }

    /// Whether any account exists; without one the archive is open.
    pub async fn open(&self) -> Result<bool, AuthError> {
        Ok(self.store.account_count().await? == 0)
    }

    /// Checks a user name and password from a client `address`, in a
    /// browser that sent `device`, its sign-in cookie (see
    /// [`device_cookie`]) if any. Counts failures and refuses the name for
    /// that address after too many, the address after too many under any
    /// names, and the name to browsers it has not signed in from after too
    /// many from all addresses together.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
        device: Option<&str>,
    ) -> Result<Login, AuthError> {
        let now = now_millis();
        let address = address.map_or_else(|| "unknown".to_owned(), sign_in_address);
        let limits = SignInLimits {
            per_name: self.settings.max_failures,
            per_address: self.settings.max_address_failures,
            per_account: self.settings.max_account_failures,
            lock_for: self.settings.lockout,
        };
        // A cookie this archive did not make names no browser: it is
        // replaced on success.
        let device = device
            .filter(|d| is_secret(d))
            .map_or_else(new_secret, str::to_owned);
        let device_hash = secret_hash(&device);
        let attempt = SignInAttempt {
            username,
            address: &address,
            device: Some(&device_hash),
        };
        let lock = match self.store.login_attempt(attempt, now, limits).await? {
            SignInVerdict::Refused(lock) => return Ok(Login::Locked(lock)),
            SignInVerdict::Check { lock_if_wrong } => lock_if_wrong,
        };
        let wrong = lock.map_or(Login::Wrong, Login::Locked);
        let account = self.store.account(username).await?;
        // Unknown, disabled and identity-provider-only accounts cost the
        // same check as a wrong password, and get the same answer.
        let Some(account) = account.filter(|a| !a.disabled && a.password_hash.is_some()) else {
            self.verify(self.decoy.clone(), password).await;
            return Ok(wrong);
        };
        let hash = account.password_hash.clone().unwrap_or_default();
        if !self.verify(hash, password).await {
            return Ok(wrong);
        }
        self.store.login_succeeded(attempt, now_millis()).await?;
        let (token, expires_at) = self.start_session(&account.username).await?;
        Ok(Login::Ok {
            token,
            expires_at,
            account: Box::new(account),
            device,
        })
    }

    /// Opens a session for an account that proved who it is.
    pub async fn start_session(&self, username: &str) -> Result<(String, Millis), AuthError> {
        let now = now_millis();
        let token = new_secret();
        let expires_at =
            now.saturating_add(pacs_core::forward::millis(self.settings.session_lifetime));
        self.store
            .add_session(
                &secret_hash(&token),
                SessionKind::User {
                    username: username.to_owned(),
                },
                now,
                Some(expires_at),
            )
            .await?;
        Ok((token, expires_at))
    }

    /// The principal a request's token or cookie stands for.
    pub async fn principal(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Principal, AuthError> {
        let address = peer.map(|p| p.ip());
        let cookie = session_cookie_name(self.settings.secure_cookie);
        let Some(secret) = presented_secret(headers, cookie) else {
            if self.open().await? {
                return open_principal_for(headers, address);
            }
            return Err(AuthError::Missing);
        };
        match self.principal_for_secret(&secret, address).await {
            // Without accounts nothing is checked: a token another archive
            // sends along (forwarding, peer transfer) is no reason to refuse.
            Err(AuthError::Invalid) if self.open().await? => open_principal_for(headers, address),
            other => other,
        }
    }

    pub async fn principal_for_secret(
        &self,
        secret: &str,
        address: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        let now = now_millis();
        let session = self
            .store
            .session(&secret_hash(secret), now)
            .await?
            .ok_or(AuthError::Invalid)?;
        match session.kind {
            SessionKind::User { username } => {
                let account = self
                    .store
                    .account(&username)
                    .await?
                    .filter(|a| !a.disabled)
                    .ok_or(AuthError::Invalid)?;
                Ok(Principal::for_account(&account, address))
            }
            SessionKind::Machine { site, label } => Ok(Principal {
                username: None,
                display_name: format!("token {label} ({site})"),
                role: Role::Site,
                scope: StudyScope::Sites(vec![site.clone()]),
                site: Some(site),
                via: Via::Machine,
                address,
            }),
            SessionKind::Share {
                study_uid,
                created_by,
            } => {
                // A link opens its study only while its creator still
                // could: whoever loses the study loses their links to it.
                let creator = self
                    .store
                    .account(&created_by)
                    .await?
                    .filter(|a| !a.disabled)
                    .ok_or(AuthError::Invalid)?;
                let creator = Principal::for_account(&creator, address);
                crate::access::allow_study(
                    self.store.as_ref(),
                    &creator,
                    crate::access::Action::ReadStudy,
                    &study_uid,
                )
                .await?
                .map_err(|_| AuthError::Invalid)?;
                Ok(Principal {
                    username: Some(created_by),
                    // Each link apart on the audit trail.
                    display_name: format!("read-only link {}", session.id),
                    role: Role::Referrer,
                    site: None,
                    scope: StudyScope::Study(study_uid),
                    via: Via::Share,
                    address,
                })
            }
        }
    }

    /// Ends the session a request carries.
    pub async fn logout(&self, headers: &HeaderMap) -> Result<bool, AuthError> {
        match presented_secret(headers, session_cookie_name(self.settings.secure_cookie)) {
            Some(secret) => Ok(self
                .store
                .revoke_session(&secret_hash(&secret), now_millis())
                .await?),
            None => Ok(false),
        }
    }

    /// Appends to the audit trail; a failure to record is logged loudly
    /// but does not undo what was done.
    pub async fn audit(
        &self,
        who: Option<&Principal>,
        action: &str,
        study_uid: Option<&str>,
        detail: Option<String>,
        outcome: &str,
    ) {
        record(self.store.as_ref(), who, action, study_uid, detail, outcome).await;
    }
}

/// Appends one event to the audit trail.
pub async fn record(
    store: &dyn Workflow,
    who: Option<&Principal>,
    action: &str,
    study_uid: Option<&str>,
    detail: Option<String>,
    outcome: &str,
) {
    let event = AuditEvent {
        id: 0,
        at: now_millis(),
        user: who.map(Principal::audit_name),
        role: who.map(|p| p.role.as_str().to_owned()),
        action: action.to_owned(),
        study_uid: study_uid.map(str::to_owned),
        detail,
        address: who.and_then(|p| p.address).map(|a| a.to_string()),
        outcome: outcome.to_owned(),
    };
    if let Err(error) = store.audit(event).await {
        tracing::error!(%error, action, "cannot write to the audit trail");
    }
}

/// What [`AuditOnce`] remembers: caller, action, study and detail.
type Recorded = (String, String, String, String);

/// Records a (caller, action, study, detail) in the audit trail once per
/// five minutes: opening or sending a study touches it many times, and
/// one line says what happened. The same study sent somewhere else is
/// another line.
pub struct AuditOnce {
    store: Arc<dyn Workflow>,
    recent: std::sync::Mutex<std::collections::HashMap<Recorded, std::time::Instant>>,
}

impl AuditOnce {
    const REPEAT: Duration = Duration::from_secs(300);

    pub fn new(store: Arc<dyn Workflow>) -> AuditOnce {
        AuditOnce {
            store,
            recent: Default::default(),
        }
    }

    fn first_recently(&self, who: &Principal, action: &str, study: &str, detail: &str) -> bool {
        let Ok(mut recent) = self.recent.lock() else {
            return true;
        };
        let now = std::time::Instant::now();
        if recent.len() > 10_000 {
            recent.retain(|_, at| now.duration_since(*at) < Self::REPEAT);
        }
        let key = (
            who.audit_name(),
            action.to_owned(),
            study.to_owned(),
            detail.to_owned(),
        );
        match recent.get(&key) {
            Some(at) if now.duration_since(*at) < Self::REPEAT => false,
            _ => {
                recent.insert(key, now);
                true
            }
        }
    }

    pub async fn record(&self, who: &Principal, action: &str, study: &str, detail: &str) {
        if self.first_recently(who, action, study, detail) {
            record(
                self.store.as_ref(),
                Some(who),
                action,
                Some(study),
                Some(detail.to_owned()),
                "ok",
            )
            .await;
        }
    }

    /// Records a refusal once per five minutes per caller, action, study
    /// and `kind` (a status, say), with the first `detail`: a modality
    /// whose whole series is refused leaves one line, not one per instance.
    pub async fn record_refusal(
        &self,
        who: &Principal,
        action: &str,
        study: Option<&str>,
        kind: &str,
        detail: String,
    ) {
        if self.first_recently(who, action, study.unwrap_or(""), kind) {
            record(
                self.store.as_ref(),
                Some(who),
                action,
                study,
                Some(detail),
                "failed",
            )
            .await;
        }
    }

    /// Records that a list of studies was shown (the worklist, a referring
    /// doctor's studies, open critical findings): what was asked, as for
    /// searches, once per five minutes while it stays the same, since the
    /// pages ask again every few seconds.
    pub async fn record_list(&self, who: &Principal, action: &str, asked: String) {
        if self.first_recently(who, action, "", &asked) {
            record(
                self.store.as_ref(),
                Some(who),
                action,
                None,
                Some(asked),
                "ok",
            )
            .await;
        }
    }

    /// Records an event every time: for what happens once per request
    /// anyway, such as a query.
    pub async fn record_each(
        &self,
        who: &Principal,
        action: &str,
        study: Option<&str>,
        detail: String,
    ) {
        record(
            self.store.as_ref(),
            Some(who),
            action,
            study,
            Some(detail),
            "ok",
        )
        .await;
    }
}

/// The open archive's administrator, for requests addressed to a loopback
/// name only: a web page that rebinds its own name to 127.0.0.1 must not
/// reach an archive without accounts from the user's browser.
fn open_principal_for(
    headers: &HeaderMap,
    address: Option<IpAddr>,
) -> Result<Principal, AuthError> {
    let host = headers
        .get(warp::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    if loopback_host(host) {
        Ok(open_principal(address))
    } else {
        Err(AuthError::NotLocal)
    }
}

/// Whether a Host header names this machine's loopback interface.
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The administrator everyone is on an archive without accounts.
pub fn open_principal(address: Option<IpAddr>) -> Principal {
    Principal {
        username: None,
        display_name: "administrator".into(),
        role: Role::Admin,
        site: None,
        scope: StudyScope::All,
        via: Via::Open,
        address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let key = |a: &str| sign_in_address(a.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::9"), "2001:db8:1:2::/64");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn only_loopback_names_reach_an_open_archive() {
        for host in [
            "127.0.0.1:8042",
            "localhost",
            "LOCALHOST:80",
            "[::1]:8042",
            "127.0.0.2",
        ] {
            assert!(loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8042",
            "10.0.0.5",
            "[fe80::1]:80",
            "localhost.evil.example",
        ] {
            assert!(!loopback_host(host), "{host}");
        }
    }

    #[test]
    fn password_hash_is_argon2id_and_verifies() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(password_matches(&h, "correct horse"));
        assert!(!password_matches(&h, "wrong horse"));
        assert!(!password_matches("garbage", "correct horse"));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), a);
    }
}
