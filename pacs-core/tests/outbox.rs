//! The forwarding outbox against the real ingest pipeline, filesystem store
//! and SQLite index: orders queued with the instance, claims under leases,
//! delivery records, retries and the dead-letter list.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, ct_slice, to_bytes};
use pacs_core::forward::{
    Arrival, Delivered, ForwardOrder, JobFilter, JobState, Lease, Opening, Outbox, Outcome,
    Priority, Router, now_millis,
};
use pacs_core::index::Index;
use pacs_core::{Incoming, Ingest, IngestConfig, SqliteIndex};
use storage::{FsStore, ObjectStore};

const LEASE: Duration = Duration::from_secs(30);

/// Sends CT to `centre`; studies described as STAT go first. Settles
/// for `settle`.
struct Rules {
    settle: Duration,
}

impl Router for Rules {
    fn route(&self, arrival: &Arrival<'_>) -> Vec<ForwardOrder> {
        if arrival.modality != Some("CT") {
            return Vec::new();
        }
        let stat = arrival
            .study_description
            .is_some_and(|d| d.contains("STAT"));
        vec![ForwardOrder {
            destination: "centre".into(),
            priority: if stat {
                Priority::Stat
            } else {
                Priority::Routine
            },
            settle: self.settle,
        }]
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    ingest: Ingest,
    outbox: Arc<SqliteIndex>,
}

fn fixture(settle: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(FsStore::open(dir.path().join("objects")).unwrap());
    let index = Arc::new(SqliteIndex::open(dir.path().join("index.sqlite")).unwrap());
    let ingest = Ingest::new(
        store,
        index.clone() as Arc<dyn Index>,
        IngestConfig::default(),
    )
    .with_router(Arc::new(Rules { settle }));
    Fixture {
        _dir: dir,
        ingest,
        outbox: index,
    }
}

fn spec(seed: u64, description: &str) -> CtSpec {
    let mut spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), seed)
        .with_slices(3)
        .with_matrix(32, 32);
    spec.study.description = description.into();
    spec
}

async fn store(f: &Fixture, spec: &CtSpec, slice: u32) -> String {
    let mut obj = ct_slice(spec, slice).unwrap();
    let bytes =
        Bytes::from(to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap());
    f.ingest
        .ingest(Incoming::Part10(bytes), "test", None)
        .await
        .unwrap()
        .study_instance_uid
}

fn centre(concurrency: usize) -> Vec<Opening> {
    vec![Opening {
        destination: "centre".into(),
        concurrency,
    }]
}

/// A claim by `owner` at `at` on a one-slot `centre`, if any job is due.
async fn claim_at(f: &Fixture, owner: &str, at: i64) -> Option<pacs_core::forward::Claim> {
    f.outbox.claim(owner, &centre(1), at, LEASE).await.unwrap()
}

async fn deliver_all(f: &Fixture, claim: &pacs_core::forward::Claim, owner: &str) {
    let unsent = f.outbox.unsent(claim.job).await.unwrap();
    let delivered = unsent
        .iter()
        .map(|i| Delivered {
            sop_instance_uid: i.sop_instance_uid.clone(),
            sha256: i.sha256.clone(),
            bytes: i.size,
        })
        .collect();
    let lease = f
        .outbox
        .progress(claim, owner, delivered, now_millis(), LEASE)
        .await
        .unwrap();
    assert_eq!(lease, Lease::Held);
    f.outbox
        .finish(claim.job, owner, Outcome::Done, now_millis())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stored_study_is_queued_once_and_claimed_by_one_sender() {
    let f = fixture(Duration::ZERO);
    let spec = spec(1, "CT CHEST");
    let mut study = String::new();
    for slice in 0..3 {
        study = store(&f, &spec, slice).await;
    }
    let jobs = f.outbox.jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(jobs.len(), 1, "one job per study and destination");
    assert_eq!(jobs[0].study_uid, study);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].instances_total, 3);

    // Eight senders race for it; exactly one wins.
    let mut racers = Vec::new();
    for n in 0..8 {
        let outbox = f.outbox.clone();
        racers.push(tokio::spawn(async move {
            outbox
                .claim(&format!("node:{n}"), &centre(4), now_millis(), LEASE)
                .await
                .unwrap()
        }));
    }
    let mut claims = Vec::new();
    for r in racers {
        claims.extend(r.await.unwrap());
    }
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert_eq!(f.outbox.unsent(claims[0].job).await.unwrap().len(), 3);
}

#[tokio::test]
async fn delivery_is_recorded_and_new_instances_reopen_the_job() {
    let f = fixture(Duration::ZERO);
    let spec = spec(2, "CT CHEST");
    store(&f, &spec, 0).await;
    store(&f, &spec, 1).await;
    let claim = claim_at(&f, "a:1", now_millis()).await.unwrap();
    deliver_all(&f, &claim, "a:1").await;
    let (view, events) = f.outbox.job(claim.job).await.unwrap().unwrap();
    assert_eq!(view.state, JobState::Delivered);
    assert_eq!(view.instances_sent, 2);
    assert!(view.bytes_sent > 0);
    assert_eq!(
        events.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["queued", "sending", "delivered"]
    );

    // A late slice: the job reopens and only that slice is unsent.
    store(&f, &spec, 2).await;
    let claim = claim_at(&f, "a:1", now_millis())
        .await
        .expect("the job reopened");
    let unsent = f.outbox.unsent(claim.job).await.unwrap();
    assert_eq!(unsent.len(), 1);
    deliver_all(&f, &claim, "a:1").await;
    assert_eq!(
        f.outbox
            .job(claim.job)
            .await
            .unwrap()
            .unwrap()
            .0
            .instances_sent,
        3
    );
}

#[tokio::test]
async fn a_study_waits_until_it_has_settled() {
    let f = fixture(Duration::from_secs(60));
    store(&f, &spec(3, "CT CHEST"), 0).await;
    let now = now_millis();
    assert!(claim_at(&f, "a:1", now).await.is_none(), "not settled yet");
    let due = f.outbox.next_due().await.unwrap().unwrap();
    assert!(due >= now + 59_000, "due {due}, now {now}");
    assert!(claim_at(&f, "a:1", due).await.is_some());
}

#[tokio::test]
async fn stat_goes_first_and_a_routine_job_gives_way() {
    let f = fixture(Duration::ZERO);
    let routine = store(&f, &spec(4, "CT CHEST"), 0).await;
    let claim = claim_at(&f, "a:1", now_millis()).await.unwrap();
    assert_eq!(claim.study_uid, routine);
    assert_eq!(
        f.outbox
            .progress(&claim, "a:1", Vec::new(), now_millis(), LEASE)
            .await
            .unwrap(),
        Lease::Held
    );
    // No second slot while the routine job is out.
    let stat = store(&f, &spec(5, "CT HEAD STAT"), 0).await;
    assert!(claim_at(&f, "a:2", now_millis()).await.is_none());
    // The routine sender is told to give way, and the STAT study is next.
    assert_eq!(
        f.outbox
            .progress(&claim, "a:1", Vec::new(), now_millis(), LEASE)
            .await
            .unwrap(),
        Lease::Yield
    );
    f.outbox
        .finish(claim.job, "a:1", Outcome::Released, now_millis())
        .await
        .unwrap();
    let next = claim_at(&f, "a:2", now_millis()).await.unwrap();
    assert_eq!(next.study_uid, stat);
    assert_eq!(next.priority, Priority::Stat);
}

#[tokio::test]
async fn an_expired_lease_passes_the_job_on_and_the_old_holder_is_told() {
    let f = fixture(Duration::ZERO);
    store(&f, &spec(6, "CT CHEST"), 0).await;
    let now = now_millis();
    let first = f
        .outbox
        .claim("a:1", &centre(1), now, Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert!(claim_at(&f, "b:1", now + 4_000).await.is_none());
    let second = claim_at(&f, "b:1", now + 6_000)
        .await
        .expect("the lease ran out");
    assert_eq!(second.job, first.job);
    assert_eq!(
        f.outbox
            .progress(&first, "a:1", Vec::new(), now + 7_000, LEASE)
            .await
            .unwrap(),
        Lease::Lost
    );
    // The old holder's finish changes nothing.
    f.outbox
        .finish(first.job, "a:1", Outcome::Done, now + 7_000)
        .await
        .unwrap();
    assert_eq!(
        f.outbox.job(first.job).await.unwrap().unwrap().0.state,
        JobState::Sending
    );
    // A restarted node gives back what its previous run held.
    assert_eq!(f.outbox.release_owned("b:", now + 8_000).await.unwrap(), 1);
    assert_eq!(
        f.outbox.job(first.job).await.unwrap().unwrap().0.state,
        JobState::Queued
    );
}

#[tokio::test]
async fn failures_back_off_then_dead_letter_and_an_operator_retries() {
    let f = fixture(Duration::ZERO);
    store(&f, &spec(7, "CT CHEST"), 0).await;
    let now = now_millis();
    let claim = claim_at(&f, "a:1", now).await.unwrap();
    f.outbox
        .finish(
            claim.job,
            "a:1",
            Outcome::Failed {
                error: "connection refused".into(),
                attempts: 1,
                retry_at: Some(now + 10_000),
                unreachable: true,
            },
            now,
        )
        .await
        .unwrap();
    let (view, _) = f.outbox.job(claim.job).await.unwrap().unwrap();
    assert_eq!(view.state, JobState::Queued);
    assert_eq!(view.attempts, 1);
    assert_eq!(view.not_before, Some(now + 10_000));
    assert_eq!(view.last_error.as_deref(), Some("connection refused"));
    assert!(
        claim_at(&f, "a:1", now + 9_000).await.is_none(),
        "backing off"
    );
    let claim = claim_at(&f, "a:1", now + 10_000).await.unwrap();
    assert_eq!(claim.attempts, 1);
    f.outbox
        .finish(
            claim.job,
            "a:1",
            Outcome::Failed {
                error: "association rejected".into(),
                attempts: 2,
                retry_at: None,
                unreachable: true,
            },
            now + 10_000,
        )
        .await
        .unwrap();
    let failed = f
        .outbox
        .jobs(&JobFilter {
            state: Some(JobState::Failed),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("association rejected")
    );
    assert!(
        claim_at(&f, "a:1", now + 1_000_000).await.is_none(),
        "dead letters are not sent"
    );

    assert!(f.outbox.retry(claim.job, now + 20_000).await.unwrap());
    let claim = claim_at(&f, "a:1", now + 20_000).await.expect("retried");
    assert_eq!(claim.attempts, 0);
    assert!(f.outbox.cancel(claim.job, now + 21_000).await.unwrap());
    assert_eq!(
        f.outbox
            .progress(&claim, "a:1", Vec::new(), now + 22_000, LEASE)
            .await
            .unwrap(),
        Lease::Lost,
        "a cancelled job stops its sender"
    );
    assert!(!f.outbox.cancel(claim.job, now + 23_000).await.unwrap());
    let (_, events) = f.outbox.job(claim.job).await.unwrap().unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "queued",
            "sending",
            "failed",
            "sending",
            "dead-letter",
            "retry",
            "sending",
            "cancelled"
        ]
    );
}

/// A study given up on (the dead-letter list) is tried again when new
/// instances of it arrive, with its attempts counted afresh and all it
/// never delivered still to send; one an operator cancelled stays so.
#[tokio::test]
async fn new_instances_reopen_a_job_given_up_but_not_one_cancelled() {
    let f = fixture(Duration::ZERO);
    let given_up = spec(8, "CT CHEST");
    let cancelled = spec(9, "CT CHEST");
    store(&f, &given_up, 0).await;
    store(&f, &cancelled, 0).await;
    let now = now_millis();
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let claim = claim_at(&f, "a:1", now).await.unwrap();
        jobs.push((claim.study_uid.clone(), claim.job));
        f.outbox
            .finish(
                claim.job,
                "a:1",
                Outcome::Failed {
                    error: "association rejected".into(),
                    attempts: 20,
                    retry_at: None,
                    unreachable: true,
                },
                now,
            )
            .await
            .unwrap();
    }
    let job_of = |uid: &str| jobs.iter().find(|(s, _)| s == uid).unwrap().1;
    let (given_up_job, cancelled_job) = (
        job_of(&given_up.study.study_uid),
        job_of(&cancelled.study.study_uid),
    );
    assert!(f.outbox.cancel(cancelled_job, now).await.unwrap());

    store(&f, &given_up, 1).await;
    store(&f, &cancelled, 1).await;
    let (view, events) = f.outbox.job(given_up_job).await.unwrap().unwrap();
    assert_eq!((view.state, view.attempts), (JobState::Queued, 0));
    let last = events.last().unwrap();
    assert_eq!(last.event, "reopened");
    assert!(
        last.detail.as_deref().unwrap().contains("given up"),
        "{last:?}"
    );
    let (view, _) = f.outbox.job(cancelled_job).await.unwrap().unwrap();
    assert_eq!(view.state, JobState::Cancelled);

    let claim = claim_at(&f, "a:1", now + 1_000).await.expect("reopened");
    assert_eq!(claim.job, given_up_job);
    assert_eq!(claim.attempts, 0);
    assert_eq!(
        f.outbox.unsent(claim.job).await.unwrap().len(),
        2,
        "the instance it gave up on, and the new one"
    );
    deliver_all(&f, &claim, "a:1").await;
    assert!(claim_at(&f, "a:1", now + 2_000).await.is_none());
}

/// A delivery shows the destination answers again: a job that waited for
/// it goes at once, while one whose instances it refused waits out its
/// back-off instead of being refused again after every delivery.
#[tokio::test]
async fn a_delivery_frees_jobs_waiting_for_the_link_not_refused_ones() {
    let f = fixture(Duration::ZERO);
    let mut jobs = Vec::new();
    for (seed, unreachable) in [(21, true), (22, false)] {
        let study = store(&f, &spec(seed, "CT CHEST"), 0).await;
        let now = now_millis();
        let claim = claim_at(&f, "a:1", now).await.unwrap();
        assert_eq!(claim.study_uid, study);
        let error = if unreachable {
            "connection refused"
        } else {
            "1 instance(s) not delivered; the endpoint refused it (reason A900)"
        };
        let failed = Outcome::Failed {
            error: error.into(),
            attempts: 1,
            retry_at: Some(now + 600_000),
            unreachable,
        };
        f.outbox
            .finish(claim.job, "a:1", failed, now)
            .await
            .unwrap();
        jobs.push(claim.job);
    }
    assert!(claim_at(&f, "a:1", now_millis()).await.is_none());

    let study = store(&f, &spec(23, "CT CHEST"), 0).await;
    let claim = claim_at(&f, "a:1", now_millis()).await.unwrap();
    assert_eq!(claim.study_uid, study);
    deliver_all(&f, &claim, "a:1").await;

    let next = claim_at(&f, "a:1", now_millis()).await.expect("freed");
    assert_eq!(next.job, jobs[0], "the job that waited for the link");
    f.outbox
        .finish(next.job, "a:1", Outcome::Released, now_millis())
        .await
        .unwrap();
    let (refused, _) = f.outbox.job(jobs[1]).await.unwrap().unwrap();
    assert!(
        refused
            .not_before
            .is_some_and(|t| t > now_millis() + 500_000)
    );
    let claimed: Vec<i64> = [claim_at(&f, "a:1", now_millis()).await]
        .into_iter()
        .flatten()
        .map(|c| c.job)
        .collect();
    assert_eq!(claimed, [jobs[0]], "the refused job still backs off");
}

#[tokio::test]
async fn other_modalities_are_not_queued() {
    let f = fixture(Duration::ZERO);
    let spec = dicom_samples::XraySpec::chest(
        dicom_samples::XrayKind::Dx,
        Patient::ivanov_iso_ir_144(),
        9,
    )
    .with_matrix(64, 52);
    let mut obj = dicom_samples::xray_image(&spec).unwrap();
    let bytes =
        Bytes::from(to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap());
    f.ingest
        .ingest(Incoming::Part10(bytes), "test", None)
        .await
        .unwrap();
    assert!(
        f.outbox
            .jobs(&JobFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}
