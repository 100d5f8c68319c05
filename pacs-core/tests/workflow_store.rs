//! The reading workflow's store against the real ingest pipeline and
//! SQLite: a study arriving from a site becomes a task at the site's
//! priority, scopes limit what is listed, a lock is held by one reader
//! until it lapses, signed versions and the audit trail cannot be changed
//! even by SQL, and new images flag a reported study. A sign-in through
//! the identity provider never undoes what an administrator did meanwhile.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, ct_slice, to_bytes};
use pacs_core::forward::{Priority, now_millis};
use pacs_core::index::Index;
use pacs_core::workflow::{
    Account, AuditEvent, AuditFilter, Draft, LockError, ReadingStatus, Role, Sections, SiteRecord,
    StudyScope, TaskFilter, Workflow,
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

fn from_provider(username: &str, subject: &str, role: Role, site: Option<&str>) -> Account {
    Account {
        username: username.into(),
        display_name: format!("{username} (provider)"),
        role,
        site: site.map(str::to_owned),
        reading_sites: Vec::new(),
        physician_name: None,
        password_hash: None,
        oidc_subject: Some(subject.into()),
        disabled: false,
        locked_until: 0,
    }
}

#[tokio::test]
async fn a_provider_sign_in_never_undoes_an_administrator() {
    use pacs_core::workflow::ProviderSignIn::{KnownAs, Refused, Saved};
    let f = fixture().await;
    let db = &f.db;
    let subject = "https://id.example#4f1c";

    // A first sign-in makes the account.
    let first = from_provider("dr.aliyev", subject, Role::Radiologist, None);
    assert_eq!(
        db.sign_in_from_provider(first.clone()).await.unwrap(),
        Saved
    );
    let made = db.account("dr.aliyev").await.unwrap().unwrap();
    assert_eq!((made.role, made.disabled), (Role::Radiologist, false));
    assert_eq!(made.oidc_subject.as_deref(), Some(subject));
    assert_eq!(made.password_hash, None);

    // An administrator limits the reading sites; the next sign-in keeps
    // them and takes the provider's name, role and site.
    let mut limited = made.clone();
    limited.reading_sites = vec!["andijan".into()];
    db.add_account(limited).await.unwrap();
    let mut again = from_provider("dr.aliyev", subject, Role::Radiologist, Some("andijan"));
    again.display_name = "Dr Aliyev".into();
    assert_eq!(db.sign_in_from_provider(again).await.unwrap(), Saved);
    let now = db.account("dr.aliyev").await.unwrap().unwrap();
    assert_eq!(now.reading_sites, vec!["andijan".to_owned()]);
    assert_eq!(
        (now.display_name.as_str(), now.site.as_deref()),
        ("Dr Aliyev", Some("andijan"))
    );
    // A provider that gives no site leaves the one the account has.
    assert_eq!(
        db.sign_in_from_provider(first.clone()).await.unwrap(),
        Saved
    );
    let now = db.account("dr.aliyev").await.unwrap().unwrap();
    assert_eq!(now.site.as_deref(), Some("andijan"));

    // Disabled between a sign-in's read and its write: the account the
    // sign-in read (enabled) is not written back over the disabled one.
    let read_before = db.account("dr.aliyev").await.unwrap().unwrap();
    assert!(db.disable_account("dr.aliyev", now_millis()).await.unwrap());
    let mut stale = read_before;
    stale.role = Role::Admin;
    assert_eq!(db.sign_in_from_provider(stale).await.unwrap(), Refused);
    let now = db.account("dr.aliyev").await.unwrap().unwrap();
    assert!(now.disabled, "the administrator's disabling stands");
    assert_eq!(now.role, Role::Radiologist);

    // A local account of the same name, or one bound to another subject,
    // is not taken over.
    let mut local = from_provider("admin", subject, Role::Admin, None);
    local.oidc_subject = None;
    local.display_name = "Administrator".into();
    local.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    db.add_account(local).await.unwrap();
    let intruder = from_provider("admin", "https://id.example#9999", Role::Admin, None);
    assert_eq!(db.sign_in_from_provider(intruder).await.unwrap(), Refused);
    let kept = db.account("admin").await.unwrap().unwrap();
    assert_eq!(kept.oidc_subject, None);
    assert!(kept.password_hash.is_some());
    assert_eq!(kept.display_name, "Administrator");
    let theirs = from_provider(
        "dr.karimova",
        "https://id.example#aaaa",
        Role::Referrer,
        None,
    );
    assert_eq!(db.sign_in_from_provider(theirs).await.unwrap(), Saved);
    let other = from_provider("dr.karimova", "https://id.example#bbbb", Role::Admin, None);
    assert_eq!(db.sign_in_from_provider(other).await.unwrap(), Refused);
    let kept = db.account("dr.karimova").await.unwrap().unwrap();
    assert_eq!(
        kept.oidc_subject.as_deref(),
        Some("https://id.example#aaaa")
    );
    assert_eq!(kept.role, Role::Referrer);

    // Renamed at the provider: the same user under a new name is told
    // which account is theirs here, and no second account is made.
    let renamed = from_provider(
        "dr.k.aliyeva",
        "https://id.example#aaaa",
        Role::Referrer,
        None,
    );
    assert_eq!(
        db.sign_in_from_provider(renamed).await.unwrap(),
        KnownAs("dr.karimova".into())
    );
    assert!(db.account("dr.k.aliyeva").await.unwrap().is_none());
}
