//! Forwarding: which arriving studies go where, and the durable outbox
//! that carries them there.
//!
//! A [`Router`] (the configured rules) turns each newly stored instance
//! into [`ForwardOrder`]s; the index records them in the same transaction
//! as the instance, so an acknowledged instance is never lost to its
//! destinations. The outbox holds one job per study and destination. A
//! sender claims a job under a lease, sends what the destination has not
//! got yet, records each delivered instance, and finishes the job; new
//! instances of a delivered study reopen it. Everything a sender holds is
//! in the database, so several senders (threads or nodes) never send the
//! same job at once, and a sender killed mid-job loses nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::IndexError;
use crate::index::StoredInstance;

/// Reading priority. Lower sorts first: STAT overtakes urgent overtakes
/// routine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Stat = 0,
    Urgent = 1,
    #[default]
    Routine = 2,
}

impl Priority {
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Priority {
        match rank {
            0 => Priority::Stat,
            1 => Priority::Urgent,
            _ => Priority::Routine,
        }
    }

    /// The name the configuration, the command line and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Stat => "stat",
            Priority::Urgent => "urgent",
            Priority::Routine => "routine",
        }
    }

    /// A name as [`Priority::as_str`] gives it, in any case.
    pub fn parse(s: &str) -> Option<Priority> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stat" => Some(Priority::Stat),
            "urgent" => Some(Priority::Urgent),
            "routine" => Some(Priority::Routine),
            _ => None,
        }
    }
}

/// A newly stored instance, as the forwarding rules see it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Arrival<'a> {
    /// The calling AE title, for instances that came over DIMSE.
    pub calling_ae_title: Option<&'a str>,
    /// The site that sent it: a DIMSE caller's, or the uploading account's.
    pub site: Option<&'a str>,
    pub modality: Option<&'a str>,
    pub study_description: Option<&'a str>,
}

/// One destination an arriving instance's study must reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardOrder {
    pub destination: String,
    pub priority: Priority,
    /// How long the study must go without a new instance before it is
    /// sent: zero sends instance by instance.
    pub settle: Duration,
}

/// Decides where arriving instances go.
pub trait Router: Send + Sync {
    fn route(&self, arrival: &Arrival<'_>) -> Vec<ForwardOrder>;

    /// Called once orders are committed, to wake whoever sends them.
    fn queued(&self) {}
}

/// Milliseconds since the Unix epoch: how the outbox stores time.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Waiting: for the study to settle, for a retry, or for its turn.
    Queued,
    /// A sender holds it.
    Sending,
    /// Everything stored so far has reached the destination.
    Delivered,
    /// Given up after the configured attempts (the dead-letter list);
    /// an operator may retry it.
    Failed,
    /// Cancelled by an operator.
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Sending => "sending",
            JobState::Delivered => "delivered",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "queued" => JobState::Queued,
            "sending" => JobState::Sending,
            "delivered" => JobState::Delivered,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }
}

/// A job as operators see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobView {
    pub id: i64,
    pub study_uid: String,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub study_description: Option<String>,
    pub destination: String,
    pub priority: Priority,
    pub state: JobState,
    pub attempts: i64,
    /// Instances of the study stored here.
    pub instances_total: i64,
    /// Instances the destination has acknowledged.
    pub instances_sent: i64,
    pub bytes_sent: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When a queued job may next be sent (retry back-off, or the study
    /// settling).
    pub not_before: Option<Millis>,
    /// Who holds a job being sent.
    pub lease_owner: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub delivered_at: Option<Millis>,
}

/// One entry of a job's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobEvent {
    pub at: Millis,
    pub event: String,
    pub detail: Option<String>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub destination: Option<String>,
    pub study_uid: Option<String>,
    pub limit: usize,
}

/// A destination a sender may take jobs for now, and how many of its
/// jobs may be sent at once (across all senders sharing the database).
#[derive(Debug, Clone)]
pub struct Opening {
    pub destination: String,
    pub concurrency: usize,
}

/// A job a sender holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub job: i64,
    pub study_uid: String,
    pub destination: String,
    pub priority: Priority,
    /// Failed attempts so far.
    pub attempts: i64,
    /// The destination's concurrency when claimed.
    pub concurrency: usize,
}

/// An instance delivered to a job's destination.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub sop_instance_uid: String,
    pub sha256: String,
    /// Bytes sent for it.
    pub bytes: u64,
}

/// What a sender holding a job should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// Go on.
    Held,
    /// A job of higher priority waits for this destination and every slot
    /// is taken: stop after this instance and give the job back.
    Yield,
    /// The lease expired and the job may be someone else's: stop at once.
    Lost,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Everything that was unsent at the start has been delivered.
    Done,
    /// Stopped on request ([`Lease::Yield`], shutdown); not a failure.
    Released,
    /// Failed; try again at `retry_at`, or give up when it is `None`.
    /// `attempts` is the job's count of consecutive failed attempts now.
    /// `unreachable` when the destination could not be reached or did not
    /// answer as one: the job then goes early once it takes another study.
    /// A job whose instances it refused waits out its back-off.
    Failed {
        error: String,
        attempts: i64,
        retry_at: Option<Millis>,
        unreachable: bool,
    },
}

/// The outbox, kept in the index database.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Claims the most urgent job that may be sent now, for `owner`, until
    /// `now + lease`. Jobs whose lease has run out count as queued.
    async fn claim(
        &self,
        owner: &str,
        openings: &[Opening],
        now: Millis,
        lease: Duration,
    ) -> Result<Option<Claim>, IndexError>;

    /// The study's instances the job's destination does not have yet.
    async fn unsent(&self, job: i64) -> Result<Vec<StoredInstance>, IndexError>;

    /// Records delivered instances and extends the lease to `now + lease`.
    async fn progress(
        &self,
        claim: &Claim,
        owner: &str,
        delivered: Vec<Delivered>,
        now: Millis,
        lease: Duration,
    ) -> Result<Lease, IndexError>;

    /// Marks instances of a job as not delivered (the destination turned
    /// out to lack them), so they are sent again.
    async fn unsend(&self, job: i64, sop_instance_uids: Vec<String>) -> Result<(), IndexError>;

    /// Ends an attempt. A job done while new instances arrived goes back
    /// to the queue.
    async fn finish(
        &self,
        job: i64,
        owner: &str,
        outcome: Outcome,
        now: Millis,
    ) -> Result<(), IndexError>;

    /// Gives back every lease held by owners whose name starts with
    /// `owner_prefix` (a node restarting after a crash); returns how many.
    async fn release_owned(&self, owner_prefix: &str, now: Millis) -> Result<usize, IndexError>;

    /// Puts a failed, cancelled or waiting job back in the queue, due now,
    /// with its attempts reset; a delivered one is sent again in full.
    /// False when there is no such job or it is being sent.
    async fn retry(&self, job: i64, now: Millis) -> Result<bool, IndexError>;

    /// Cancels a job; a sender holding it stops at its next progress
    /// report. False when there is no such job or it is delivered or
    /// cancelled already.
    async fn cancel(&self, job: i64, now: Millis) -> Result<bool, IndexError>;

    async fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobView>, IndexError>;

    async fn job(&self, job: i64) -> Result<Option<(JobView, Vec<JobEvent>)>, IndexError>;

    /// Jobs per destination and state.
    async fn counts(&self) -> Result<Vec<(String, JobState, i64)>, IndexError>;

    /// Soonest time a queued job becomes due, if any: when to look again.
    async fn next_due(&self) -> Result<Option<Millis>, IndexError>;
}

/// Exponential back-off with jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    /// Attempts before a job goes to the dead-letter list.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        // A hundred attempts ride out about fifteen hours of outage, and
        // the link is tried at least every ten minutes meanwhile.
        Backoff {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(600),
            max_attempts: 100,
        }
    }
}

impl Backoff {
    /// The wait after the `failures`-th consecutive failure (1-based), or
    /// `None` when the job should give up. `jitter` in [0, 1) spreads the
    /// retries of many jobs that failed together (an outage) over the
    /// upper half of the interval.
    pub fn after(&self, failures: u32, jitter: f64) -> Option<Duration> {
        if failures >= self.max_attempts {
            return None;
        }
        let exp = failures.saturating_sub(1).min(30);
        let full = self.initial.saturating_mul(1 << exp).min(self.max);
        Some(full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0)))
    }
}

/// Matches `text` against a pattern with `*` (any run) and `?` (one
/// character), ignoring case.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    wildcard_match_cased(&pattern.to_uppercase(), &text.to_uppercase())
}

/// [`wildcard_match`] minding case, as DICOM matches all but names.
pub fn wildcard_match_cased(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling_then_gives_up() {
        let b = Backoff {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(60),
            max_attempts: 5,
        };
        assert_eq!(b.after(1, 1.0), Some(Duration::from_secs(10)));
        assert_eq!(b.after(2, 1.0), Some(Duration::from_secs(20)));
        assert_eq!(b.after(3, 1.0), Some(Duration::from_secs(40)));
        assert_eq!(b.after(4, 1.0), Some(Duration::from_secs(60)));
        assert_eq!(b.after(4, 0.0), Some(Duration::from_secs(30)));
        assert_eq!(b.after(5, 0.5), None);
        assert_eq!(
            Backoff::default().after(99, 1.0),
            Some(Duration::from_secs(600))
        );
        assert_eq!(Backoff::default().after(100, 1.0), None);
    }

    #[test]
    fn wildcards_match_whole_text_ignoring_case() {
        assert!(wildcard_match("*head*", "CT HEAD W/O"));
        assert!(wildcard_match("CT?HEAD", "ct head"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("голова*", "ГОЛОВА без контраста"));
        assert!(!wildcard_match("HEAD", "CT HEAD"));
        assert!(!wildcard_match("*CHEST", "CT CHEST ABDOMEN"));
    }

    #[test]
    fn priorities_sort_stat_first() {
        let mut p = vec![Priority::Routine, Priority::Stat, Priority::Urgent];
        p.sort();
        assert_eq!(p, vec![Priority::Stat, Priority::Urgent, Priority::Routine]);
        for q in p {
            assert_eq!(Priority::from_rank(q.rank()), q);
        }
    }
}
