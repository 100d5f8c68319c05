//! The reading workflow's domain: accounts and their roles, who may see
//! which studies, reading tasks with their lease locks, reports from
//! draft to signed versions and addenda, and the audit trail.
//!
//! Everything here lives in the index database, never in process memory,
//! so that several archive nodes sharing one database agree on locks,
//! sessions and drafts. [`Workflow`] is the interface; the SQLite backend
//! is in `index::workflow`.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::IndexError;
use crate::forward::{Millis, Priority};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A hospital or its gateway: uploads, sees its own studies and their reports.
    Site,
    /// Reads and reports.
    Radiologist,
    /// A referring doctor: sees their patients' studies and the ones shared with them.
    Referrer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Site => "site",
            Role::Radiologist => "radiologist",
            Role::Referrer => "referrer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "site" => Some(Role::Site),
            "radiologist" => Some(Role::Radiologist),
            "referrer" => Some(Role::Referrer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Which studies a caller may see. Applied inside the index's queries, so
/// a study outside it is never listed, counted or returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StudyScope {
    #[default]
    All,
    /// Studies sent by one of these sites.
    Sites(Vec<String>),
    /// A referring doctor's: studies naming them as Referring Physician
    /// (compared on the upper-case name) and those shared with the account.
    Referrer {
        username: String,
        physician_key: Option<String>,
    },
    /// One study (a time-limited read-only link).
    Study(String),
}

/// A local account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The site a site account belongs to.
    pub site: Option<String>,
    /// For radiologists: the sites whose studies they read (empty: all).
    pub reading_sites: Vec<String>,
    /// For referrers: their name as modalities write Referring Physician's
    /// Name (`Family^Given`).
    pub physician_name: Option<String>,
    /// argon2id PHC string; `None` for accounts that sign in through OIDC only.
    pub password_hash: Option<String>,
    /// `issuer#subject` of the identity provider's user this account is,
    /// for accounts made at an OIDC sign-in.
    pub oidc_subject: Option<String>,
    pub disabled: bool,
    /// Until when sign-ins under this name are refused from some client
    /// address (the latest such lock; 0 for none). Read only: set by
    /// [`Workflow::login_attempt`].
    pub locked_until: Millis,
}

/// What a sign-in through the identity provider did to its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderSignIn {
    /// Made, or brought up to date: the sign-in goes on.
    Saved,
    /// Disabled here, or the name is a local account's or bound to
    /// another of the provider's users.
    Refused,
    /// The provider's user has an account here under another name (the
    /// provider renamed them): an administrator must rename one.
    KnownAs(String),
}

/// How many failed sign-ins are let through before sign-ins are refused
/// for a while.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// Failures in a row under one name from one client address before
    /// that name is locked for that address.
    pub per_name: u32,
    /// Failures under any names from one client address before that
    /// address is refused: guessing across many names. 0: no such limit.
    pub per_address: u32,
    /// Failures under one name from all addresses together before that
    /// name is refused to every browser it has not signed in from:
    /// guessing one name from many addresses. 0: no such limit.
    pub per_account: u32,
    /// How long a lock lasts, and how long a failure is remembered.
    pub lock_for: Duration,
}

/// A sign-in attempt, as the limits see it before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInAttempt<'a> {
    pub username: &'a str,
    /// The client address, as [`SignInLimits`] counts it.
    pub address: &'a str,
    /// The SHA-256 of the browser's sign-in cookie, if it sent one.
    pub device: Option<&'a str>,
}

/// Which limit refuses sign-ins, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLock {
    pub until: Millis,
    pub scope: LockScope,
}

/// What a [`SignInLock`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockScope {
    /// The name, from the attempt's address.
    NameFromAddress,
    /// Every name, from the attempt's address.
    Address,
    /// The name, from every browser it has not signed in from.
    Name,
}

/// The limits' answer to a sign-in attempt, from
/// [`Workflow::login_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInVerdict {
    /// Check the password; when it is wrong, the lock this attempt set by
    /// reaching a limit, if any, applies.
    Check { lock_if_wrong: Option<SignInLock> },
    /// Refused unchecked.
    Refused(SignInLock),
}

impl Account {
    /// The studies this account may see.
    pub fn scope(&self) -> StudyScope {
        match self.role {
            Role::Admin => StudyScope::All,
            Role::Radiologist if self.reading_sites.is_empty() => StudyScope::All,
            Role::Radiologist => StudyScope::Sites(self.reading_sites.clone()),
            Role::Site => StudyScope::Sites(self.site.iter().cloned().collect()),
            Role::Referrer => StudyScope::Referrer {
                username: self.username.clone(),
                physician_key: self.physician_name.as_deref().map(physician_key),
            },
        }
    }
}

/// The key person names are matched on.
pub fn physician_key(name: &str) -> String {
    let key = crate::query::person_name_key(name);
    match key.split_once('=') {
        Some((alphabetic, _)) => alphabetic.to_owned(),
        None => key,
    }
}

/// A sending site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    pub name: String,
    pub ae_titles: Vec<String>,
    pub addresses: Vec<String>,
    pub priority: Priority,
}

/// What a bearer token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// A signed-in person.
    User { username: String },
    /// A hospital gateway's long-lived machine token.
    Machine { site: String, label: String },
    /// A read-only link to one study.
    Share {
        study_uid: String,
        created_by: String,
    },
}

/// A live session or token, found by the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub kind: SessionKind,
    pub expires_at: Option<Millis>,
}

/// A machine token as listed to administrators (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub site: String,
    pub label: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// A live read-only link to a study, as listed to those who may withdraw
/// it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareLinkInfo {
    pub id: i64,
    pub study_uid: String,
    pub created_by: String,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
}

/// Where a study stands in reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingStatus {
    Scheduled,
    InProgress,
    Preliminary,
    Final,
    Amended,
}

impl ReadingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadingStatus::Scheduled => "scheduled",
            ReadingStatus::InProgress => "in_progress",
            ReadingStatus::Preliminary => "preliminary",
            ReadingStatus::Final => "final",
            ReadingStatus::Amended => "amended",
        }
    }

    pub fn parse(s: &str) -> Option<ReadingStatus> {
        Some(match s {
            "scheduled" => ReadingStatus::Scheduled,
            "in_progress" => ReadingStatus::InProgress,
            "preliminary" => ReadingStatus::Preliminary,
            "final" => ReadingStatus::Final,
            "amended" => ReadingStatus::Amended,
            _ => return None,
        })
    }

    /// Signed: the report can no longer be edited, only amended.
    pub fn is_signed(self) -> bool {
        matches!(self, ReadingStatus::Final | ReadingStatus::Amended)
    }
}

/// How long a study of each priority may wait for its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turnaround {
    pub stat: Duration,
    pub urgent: Duration,
    pub routine: Duration,
}

impl Default for Turnaround {
    fn default() -> Self {
        Turnaround {
            stat: Duration::from_secs(60 * 60),
            urgent: Duration::from_secs(4 * 60 * 60),
            routine: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl Turnaround {
    pub fn of(&self, priority: Priority) -> Duration {
        match priority {
            Priority::Stat => self.stat,
            Priority::Urgent => self.urgent,
            Priority::Routine => self.routine,
        }
    }
}

/// Who holds a study's reading lock, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingLock {
    pub holder: String,
    pub holder_name: String,
    pub until: Millis,
}

/// A reading task with the study it is about, as the worklist shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub study_uid: String,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub accession_number: Option<String>,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub study_description: Option<String>,
    pub referring_physician_name: Option<String>,
    pub modalities: Vec<String>,
    pub num_instances: i64,
    pub site: Option<String>,
    pub priority: Priority,
    pub status: ReadingStatus,
    pub received_at: Millis,
    pub assigned_to: Option<String>,
    /// The lock, if one is held and not expired.
    pub lock: Option<ReadingLock>,
    /// Images arrived after the study was reported.
    pub new_images: bool,
    /// A critical finding is flagged and not yet acknowledged.
    pub critical_open: bool,
    pub patient_birth_date: Option<String>,
    pub patient_sex: Option<String>,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// `None`: every status but the signed ones.
    pub statuses: Option<Vec<ReadingStatus>>,
    pub site: Option<String>,
    pub modality: Option<String>,
    /// Assigned to or locked by this user.
    pub mine: Option<String>,
    pub limit: usize,
    pub offset: usize,
    /// Newest first instead of by priority and waiting time.
    pub newest_first: bool,
}

/// Why a lock operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("the study is being read by {holder_name}")]
    HeldBy { holder: String, holder_name: String },
    #[error("you do not hold the reading lock on this study; open it from the worklist first")]
    NotHeld,
    #[error("the report is signed; add an addendum instead")]
    Signed,
    #[error("the report is not signed yet; change the draft instead")]
    NotSigned,
    #[error("{by} added version {version} while you wrote; read it, then send yours again")]
    Superseded { version: u32, by: String },
    #[error("there is no draft yet; write the report first")]
    NoDraft,
    #[error("no such study")]
    NoStudy,
    #[error(
        "the study went back to the worklist after {minutes} minutes without activity; take it again to go on"
    )]
    Idle { minutes: u64 },
}

/// An addendum to a signed report. It needs no reading lock: addenda
/// only add, each its author's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addendum {
    pub reason: String,
    pub text: String,
    /// The last version its author had in view, when the client says:
    /// an addendum written while a colleague's came in is refused, so
    /// that neither is signed without the other read.
    pub after_version: Option<u32>,
}

/// The five parts of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sections {
    pub clinical_information: String,
    pub technique: String,
    pub comparison: String,
    pub findings: String,
    pub impression: String,
}

/// The report being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub template: Option<String>,
    pub language: String,
    pub sections: Sections,
    pub author: String,
    pub updated_at: Millis,
}

/// Signed: the final report (version 1) or an addendum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionBody {
    Final {
        language: String,
        sections: Sections,
    },
    Addendum {
        reason: String,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedVersion {
    pub version: u32,
    pub body: VersionBody,
    pub signed_by: String,
    pub signed_by_name: String,
    pub signed_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyImageRef {
    pub series_uid: String,
    pub sop_uid: String,
    pub frame: u32,
}

/// What became of an acknowledgement of a critical finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acknowledgement {
    /// Acknowledged: the note as acknowledged.
    Done { note: String },
    /// There is no open critical finding on the study.
    NoneOpen,
    /// The finding was flagged again after the reader was shown it.
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Critical {
    pub note: String,
    pub flagged_by: String,
    pub flagged_at: Millis,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Millis>,
}

/// Everything recorded about a study's report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRecord {
    pub task: Task,
    pub draft: Option<Draft>,
    /// The last preliminary report issued, as it was issued (its author
    /// the radiologist who issued it, its time when): what the requesting
    /// side reads until the report is signed.
    pub preliminary: Option<Draft>,
    pub versions: Vec<SignedVersion>,
    pub key_images: Vec<KeyImageRef>,
    pub critical: Option<Critical>,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: Millis,
    pub user: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub study_uid: Option<String>,
    pub detail: Option<String>,
    pub address: Option<String>,
    pub outcome: String,
}

/// Which audit events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub action: Option<String>,
    pub study_uid: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub limit: usize,
    pub offset: usize,
}

/// The reading workflow's store.
#[async_trait]
pub trait Workflow: Send + Sync {
    // accounts
    /// Creates or updates an account. A new password for an existing
    /// account signs out its sessions, as [`Workflow::set_password`] does.
    async fn add_account(&self, account: Account) -> Result<(), IndexError>;
    /// Records a sign-in through the identity provider as one step: a new
    /// name becomes a new account; an existing one takes the provider's
    /// role, site (when it gives one) and display name, but only while it
    /// is still enabled and bound to the same provider subject. Refused
    /// when it is not, whatever was read before: an administrator who
    /// disables the account during a sign-in is never undone by it.
    async fn sign_in_from_provider(&self, account: Account) -> Result<ProviderSignIn, IndexError>;
    async fn account(&self, username: &str) -> Result<Option<Account>, IndexError>;
    async fn accounts(&self) -> Result<Vec<Account>, IndexError>;
    async fn account_count(&self) -> Result<u64, IndexError>;
    async fn set_password(&self, username: &str, hash: &str) -> Result<bool, IndexError>;
    /// Disables an account for good: its password is cleared, and its
    /// sessions and the read-only links it made are revoked, so enabling
    /// it again (with a new password) brings none of them back. `false`
    /// for no such account.
    async fn disable_account(&self, username: &str, now: Millis) -> Result<bool, IndexError>;
    /// Counts a sign-in attempt before its password is checked, so that
    /// attempts sent at once cannot outrun the limits. Names with no
    /// account are counted alike, so that a refusal tells nothing of which
    /// names exist, and a guesser elsewhere never locks a person out of a
    /// browser they signed in from before.
    async fn login_attempt(
        &self,
        attempt: SignInAttempt<'_>,
        now: Millis,
        limits: SignInLimits,
    ) -> Result<SignInVerdict, IndexError>;
    /// A correct password: the failures under the name from the address
    /// are forgotten, and the browser's sign-in cookie (`device`, by its
    /// SHA-256) is remembered as one the name signs in from.
    async fn login_succeeded(
        &self,
        attempt: SignInAttempt<'_>,
        now: Millis,
    ) -> Result<(), IndexError>;
    /// The failed sign-ins remembered under each name, all addresses
    /// together: (name, failures, the last one's time).
    async fn failures_by_name(&self) -> Result<Vec<(String, u64, Millis)>, IndexError>;

    // sites
    async fn put_site(&self, site: SiteRecord) -> Result<(), IndexError>;
    async fn sites(&self) -> Result<Vec<SiteRecord>, IndexError>;

    // sessions and tokens, by the SHA-256 of their secret
    async fn add_session(
        &self,
        token_hash: &str,
        kind: SessionKind,
        now: Millis,
        expires_at: Option<Millis>,
    ) -> Result<i64, IndexError>;
    /// The live session for a token: not expired, not revoked, account enabled.
    async fn session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>, IndexError>;
    async fn revoke_session(&self, token_hash: &str, now: Millis) -> Result<bool, IndexError>;
    async fn revoke_token(&self, id: i64, now: Millis) -> Result<bool, IndexError>;
    async fn machine_tokens(&self) -> Result<Vec<TokenInfo>, IndexError>;

    // studies
    /// Whether `scope` includes the study (and it exists).
    async fn study_visible(&self, scope: &StudyScope, study_uid: &str) -> Result<bool, IndexError>;
    async fn share(
        &self,
        study_uid: &str,
        username: &str,
        by: &str,
        now: Millis,
    ) -> Result<(), IndexError>;
    /// Withdraws `username`'s access to a study shared with them: the
    /// shares `shared_by` made, or everyone's for `None`; how many.
    async fn unshare(
        &self,
        study_uid: &str,
        username: &str,
        shared_by: Option<&str>,
    ) -> Result<u64, IndexError>;
    /// A study's read-only links that are neither expired nor revoked:
    /// those `created_by` made, or everyone's for `None`.
    async fn share_links(
        &self,
        study_uid: &str,
        created_by: Option<&str>,
        now: Millis,
    ) -> Result<Vec<ShareLinkInfo>, IndexError>;
    /// Revokes the links [`Workflow::share_links`] lists; how many.
    async fn withdraw_share_links(
        &self,
        study_uid: &str,
        created_by: Option<&str>,
        now: Millis,
    ) -> Result<u64, IndexError>;

    // worklist
    async fn tasks(
        &self,
        scope: &StudyScope,
        filter: &TaskFilter,
        now: Millis,
    ) -> Result<(u64, Vec<Task>), IndexError>;
    async fn task(&self, study_uid: &str, now: Millis) -> Result<Option<Task>, IndexError>;
    /// Extends the reading lock `user` holds until `now + lease`;
    /// [`LockError::NotHeld`] when it lapsed, was broken or is another's:
    /// taking it again is a claim, with its audit and its checks.
    ///
    /// `used` is when the renewing page was last used. The lock keeps the
    /// latest such time over all of the holder's pages (and its claim);
    /// once that is `idle_limit` or more ago, the lock is released
    /// instead, and the answer is [`LockError::Idle`].
    async fn renew(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
        lease: Duration,
        used: Millis,
        idle_limit: Option<Duration>,
    ) -> Result<Result<Task, LockError>, IndexError>;
    /// Takes (or, held already, renews) the reading lock for `user` until
    /// `now + lease`.
    async fn claim(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
        lease: Duration,
    ) -> Result<Result<Task, LockError>, IndexError>;
    async fn release(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
    ) -> Result<Option<Task>, IndexError>;
    async fn break_lock(&self, study_uid: &str, now: Millis) -> Result<Option<Task>, IndexError>;
    async fn assign(
        &self,
        study_uid: &str,
        user: Option<&str>,
        now: Millis,
    ) -> Result<Option<Task>, IndexError>;
    async fn set_priority(
        &self,
        study_uid: &str,
        priority: Priority,
        now: Millis,
    ) -> Result<Option<Task>, IndexError>;
    /// Makes a stored study also `site`'s, as if the site had sent it,
    /// without counting as an arrival (no priority, no forwarding): for
    /// copies the archive makes of a site's study.
    async fn attach_site(&self, study_uid: &str, site: &str) -> Result<(), IndexError>;

    // reports
    async fn report(
        &self,
        study_uid: &str,
        now: Millis,
    ) -> Result<Option<ReportRecord>, IndexError>;
    /// Saves the draft; the author must hold the lock.
    async fn save_draft(
        &self,
        study_uid: &str,
        draft: Draft,
        now: Millis,
    ) -> Result<Result<(), LockError>, IndexError>;
    async fn mark_preliminary(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
    ) -> Result<Result<(), LockError>, IndexError>;
    /// Signs the draft as the final report (the signer must hold the lock);
    /// the lock is released.
    async fn sign(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
    ) -> Result<Result<SignedVersion, LockError>, IndexError>;
    async fn add_addendum(
        &self,
        study_uid: &str,
        user: &str,
        addendum: &Addendum,
        now: Millis,
    ) -> Result<Result<SignedVersion, LockError>, IndexError>;
    /// Marks or unmarks a key image; like the draft, only by the lock's
    /// holder and only before signing.
    async fn set_key_image(
        &self,
        study_uid: &str,
        image: &KeyImageRef,
        user: &str,
        present: bool,
        now: Millis,
    ) -> Result<Result<(), LockError>, IndexError>;
    /// Flags a critical finding. A study flagged already keeps what was
    /// said: the new note is added below it, and the whole is open until
    /// acknowledged again (the earlier acknowledgement is on the audit
    /// trail). Nothing said about a critical finding is ever replaced.
    async fn flag_critical(
        &self,
        study_uid: &str,
        user: &str,
        note: &str,
        now: Millis,
    ) -> Result<(), IndexError>;
    /// Acknowledges the open critical finding, if its note is still
    /// `seen` (what the reader was shown), when given: one flagged again
    /// meanwhile says more than they read.
    async fn acknowledge_critical(
        &self,
        study_uid: &str,
        user: &str,
        seen: Option<&str>,
        now: Millis,
    ) -> Result<Acknowledgement, IndexError>;
    /// Open critical findings within `scope`: (task, critical).
    async fn open_criticals(
        &self,
        scope: &StudyScope,
        now: Millis,
    ) -> Result<Vec<(Task, Critical)>, IndexError>;

    // audit
    async fn audit(&self, event: AuditEvent) -> Result<(), IndexError>;
    async fn audit_events(
        &self,
        filter: &AuditFilter,
    ) -> Result<(u64, Vec<AuditEvent>), IndexError>;

    // OIDC sign-ins between the redirect and the callback
    async fn put_pending_login(
        &self,
        state: &str,
        data: &str,
        now: Millis,
    ) -> Result<(), IndexError>;
    async fn take_pending_login(&self, state: &str) -> Result<Option<String>, IndexError>;
}
