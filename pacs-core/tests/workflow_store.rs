//! The reading workflow's store against the real ingest pipeline and
//! SQLite: a study arriving from a site becomes a task at the site's
//! priority, scopes limit what is listed, a lock is held by one reader
//! until it lapses, signed versions and the audit trail cannot be changed
//! even by SQL, and new images flag a reported study.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, ct_slice, to_bytes};
use pacs_core::forward::{Priority, now_millis};
use pacs_core::index::Index;
use pacs_core::workflow::{
    AuditEvent, AuditFilter, Draft, LockError, ReadingStatus, Sections, SiteRecord, StudyScope,
    TaskFilter, Workflow,
};
use pacs_core::{Incoming, Ingest, IngestConfig, SqliteIndex};
use storage::{FsStore, ObjectStore};

const LEASE: Duration = Duration::from_secs(300);

struct Fixture {
    dir: tempfile::TempDir,
    ingest: Ingest,
    db: Arc<SqliteIndex>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(FsStore::open(dir.path().join("objects")).unwrap());
    let db = Arc::new(SqliteIndex::open(dir.path().join("index.sqlite")).unwrap());
    let ingest = Ingest::new(store, db.clone() as Arc<dyn Index>, IngestConfig::default());
    for (name, priority) in [("andijan", Priority::Stat), ("fergana", Priority::Routine)] {
        db.put_site(SiteRecord {
            name: name.into(),
            ae_titles: vec![name.to_uppercase()],
            addresses: Vec::new(),
            priority,
        })
        .await
        .unwrap();
    }
    Fixture { dir, ingest, db }
}

async fn store(f: &Fixture, seed: u64, slice: u32, site: Option<&str>) -> String {
    let spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), seed)
        .with_slices(3)
        .with_matrix(32, 32);
    let mut obj = ct_slice(&spec, slice).unwrap();
    let bytes =
        Bytes::from(to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap());
    f.ingest
        .ingest_from(Incoming::Part10(bytes), "test", site, None)
        .await
        .unwrap()
        .study_instance_uid
}

fn all() -> TaskFilter {
    TaskFilter {
        statuses: Some(Vec::new()),
        limit: 100,
        ..Default::default()
    }
}

#[tokio::test]
async fn tasks_take_the_site_priority_and_scopes_limit_the_list() {
    let f = fixture().await;
    let routine = store(&f, 1, 0, Some("fergana")).await;
    let stat = store(&f, 2, 0, Some("andijan")).await;
    store(&f, 2, 1, Some("andijan")).await;
    let now = now_millis();
    let (total, tasks) = f.db.tasks(&StudyScope::All, &all(), now).await.unwrap();
    assert_eq!(total, 2, "one task per study, not per instance");
    assert_eq!(
        tasks[0].study_uid, stat,
        "STAT first, although it came later"
    );
    assert_eq!(tasks[0].priority, Priority::Stat);
    assert_eq!(tasks[0].site.as_deref(), Some("andijan"));
    assert_eq!(tasks[0].num_instances, 2);
    assert_eq!(tasks[1].study_uid, routine);

    let fergana = StudyScope::Sites(vec!["fergana".into()]);
    let (total, tasks) = f.db.tasks(&fergana, &all(), now).await.unwrap();
    assert_eq!((total, tasks[0].study_uid.as_str()), (1, routine.as_str()));
    assert!(f.db.study_visible(&fergana, &routine).await.unwrap());
    assert!(!f.db.study_visible(&fergana, &stat).await.unwrap());
    assert!(
        !f.db
            .study_visible(&StudyScope::Sites(Vec::new()), &routine)
            .await
            .unwrap()
    );
    let mut query = pacs_core::query::Query::new(pacs_core::query::Level::Study);
    query.scope = fergana;
    let rows = f.db.search(&query).await.unwrap();
    assert_eq!(rows.len(), 1, "searches keep to the scope too");
}

#[tokio::test]
async fn a_lock_has_one_holder_until_it_lapses_and_a_signed_report_stays_signed() {
    let f = fixture().await;
    let study = store(&f, 3, 0, Some("andijan")).await;
    let t0 = now_millis();
    let claimed =
        f.db.claim(&study, "rad1", t0, LEASE)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(claimed.status, ReadingStatus::InProgress);
    assert_eq!(claimed.lock.unwrap().holder, "rad1");
    match f.db.claim(&study, "rad2", t0 + 1000, LEASE).await.unwrap() {
        Err(LockError::HeldBy { holder, .. }) => assert_eq!(holder, "rad1"),
        other => panic!("rad2 got {other:?}"),
    }
    let draft = |author: &str| Draft {
        template: Some("ct-chest".into()),
        language: "en".into(),
        sections: Sections {
            findings: "Clear lungs.".into(),
            impression: "Normal.".into(),
            ..Default::default()
        },
        author: author.into(),
        updated_at: t0,
    };
    assert_eq!(
        f.db.save_draft(&study, draft("rad2"), t0).await.unwrap(),
        Err(LockError::NotHeld)
    );
    // A lock abandoned for longer than its lease passes on.
    let later = t0 + LEASE.as_millis() as i64 + 1;
    let taken =
        f.db.claim(&study, "rad2", later, LEASE)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(taken.lock.unwrap().holder, "rad2");
    f.db.save_draft(&study, draft("rad2"), later)
        .await
        .unwrap()
        .unwrap();
    let signed = f.db.sign(&study, "rad2", later).await.unwrap().unwrap();
    assert_eq!(signed.version, 1);
    let report = f.db.report(&study, later).await.unwrap().unwrap();
    assert_eq!(report.task.status, ReadingStatus::Final);
    assert!(report.draft.is_none() && report.task.lock.is_none());
    assert_eq!(
        f.db.save_draft(&study, draft("rad2"), later).await.unwrap(),
        Err(LockError::Signed),
    );

    // Not even SQL changes a signed version or the audit trail.
    f.db.audit(AuditEvent {
        id: 0,
        at: later,
        user: Some("rad2".into()),
        role: Some("radiologist".into()),
        action: "report_sign".into(),
        study_uid: Some(study.clone()),
        detail: None,
        address: None,
        outcome: "ok".into(),
    })
    .await
    .unwrap();
    let conn = rusqlite::Connection::open(f.dir.path().join("index.sqlite")).unwrap();
    for sql in [
        "UPDATE report_versions SET sections = '{}'",
        "DELETE FROM report_versions",
        "UPDATE audit_events SET username = 'someone else'",
        "DELETE FROM audit_events",
    ] {
        let refused = conn.execute(sql, []).unwrap_err().to_string();
        assert!(
            refused.contains("cannot") || refused.contains("append-only"),
            "{sql}: {refused}"
        );
    }
    let (total, events) =
        f.db.audit_events(&AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((total, events[0].user.as_deref()), (1, Some("rad2")));

    // Images after the report flag the study.
    store(&f, 3, 1, Some("andijan")).await;
    let task = f.db.task(&study, later).await.unwrap().unwrap();
    assert!(task.new_images);
    assert_eq!(task.status, ReadingStatus::Final);
}
