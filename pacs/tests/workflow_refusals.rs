//! What the reading workflow refuses, against the real server: nothing
//! kept for a study the archive does not hold, every refused lock
//! renewal or key image removal on the audit trail, and no lock kept by
//! a reading page nobody uses.

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/two_sites.rs"]
mod two_sites;
#[path = "common/dicomweb_support.rs"]
mod web;

use dicom_samples::{CtSpec, Patient, SampleTransferSyntax};
use reqwest::Method;
use serde_json::{Value, json};
use two_sites::{store_as, world, world_configured};

/// The events of `action` by `user`, as the administrator reads them.
fn audited(w: &two_sites::World, action: &str, user: &str) -> Vec<Value> {
    let (status, body) = w.get(
        &format!("/api/audit?action={action}&user={user}"),
        Some(&w.token("admin")),
    );
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// A critical finding flagged on a study the archive does not hold (a
/// mistyped UID) is refused, and kept nowhere: the study that arrives
/// later under that UID comes with no finding nobody made on it.
#[test]
fn a_critical_finding_needs_a_study_that_is_here() {
    let w = world();
    let rad = w.token("rad1");
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CtSpec::chest(Patient::karimov_ascii(), 31)
        .with_slices(1)
        .with_matrix(32, 32);
    spec.study.study_uid = "1.2.826.0.1.3680043.10.1453.31337".into();
    let late = spec.study.study_uid.clone();
    let (status, body) = w.post(
        &format!("/api/studies/{late}/critical"),
        &rad,
        json!({"note": "pneumothorax"}),
    );
    assert_eq!(status, 404, "{body}");
    assert!(audited(&w, "critical_flag", "rad1").is_empty());

    let files = dicom_samples::write_ct_series(
        &spec,
        dir.path(),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .unwrap();
    store_as(&w.server, "ANDIJAN_CT", &files);
    let (status, report) = w.get(&format!("/api/studies/{late}/report"), Some(&rad));
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["critical"], Value::Null, "{report}");
    let (status, notes) = w.get("/api/notifications", Some(&w.token("site_a")));
    assert_eq!(status, 200, "{notes}");
    assert!(!notes.to_string().contains(&late), "{notes}");

    // A study that is here takes one.
    let a = w.andijan.clone();
    let (status, report) = w.post(
        &format!("/api/studies/{a}/critical"),
        &rad,
        json!({"note": "pneumothorax"}),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["critical"]["note"], "pneumothorax");
}

/// A renewal of a lock another radiologist holds, and the removal of a
/// key image by one who holds no lock, are refused and recorded.
#[test]
fn refused_renewals_and_key_image_removals_are_on_the_audit_trail() {
    let w = world();
    let a = w.andijan.clone();
    let (rad1, rad2) = (w.token("rad1"), w.token("rad2"));
    let claim = format!("/api/worklist/{a}/claim");
    assert_eq!(w.post(&claim, &rad1, json!({})).0, 200);
    let (_, instances) = w.get(&format!("/dicom-web/studies/{a}/instances"), Some(&rad1));
    let first = &instances[0];
    let series = web::string_value(first, "0020000E").unwrap();
    let sop = web::string_value(first, "00080018").unwrap();
    let (status, body) = w.post(
        &format!("/api/studies/{a}/key-images"),
        &rad1,
        json!({"series_uid": series, "sop_uid": sop, "frame": 1}),
    );
    assert_eq!(status, 200, "{body}");

    let (status, body) = w.post(&format!("/api/worklist/{a}/renew"), &rad2, json!({}));
    assert_eq!(status, 409, "{body}");
    let renewals = audited(&w, "lock_claim", "rad2");
    assert_eq!(renewals.len(), 1, "{renewals:?}");
    assert_eq!(renewals[0]["outcome"], "refused");
    assert!(
        renewals[0]["detail"].as_str().unwrap().contains("renewing"),
        "{}",
        renewals[0]
    );

    let (status, body) = w.call(
        Method::DELETE,
        &format!("/api/studies/{a}/key-images/{sop}/1"),
        Some(&rad2),
        None,
    );
    assert_eq!(status, 409, "{body}");
    let removals = audited(&w, "key_image_removed", "rad2");
    assert_eq!(removals.len(), 1, "{removals:?}");
    assert_eq!(removals[0]["outcome"], "refused");
    // The holder's own removal goes through, recorded as done.
    let (status, body) = w.call(
        Method::DELETE,
        &format!("/api/studies/{a}/key-images/{sop}/1"),
        Some(&rad1),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(audited(&w, "key_image_removed", "rad1")[0]["outcome"], "ok");
}

/// A reading page left open and unused (a forgotten tab keeps renewing
/// the lock) gives its study back to the worklist at a renewal once the
/// reader's pages have all stood unused past the limit (20 minutes by
/// default, 6 s here): a STAT study does not wait for an administrator
/// to break the lock. The reader at work on another page keeps it.
#[test]
fn a_reading_page_nobody_uses_gives_its_study_back() {
    let w = world_configured("[reading]\nidle_minutes = 0.1\n");
    let a = w.andijan.clone();
    let (rad1, rad2) = (w.token("rad1"), w.token("rad2"));
    let claim = format!("/api/worklist/{a}/claim");
    let renew = format!("/api/worklist/{a}/renew");
    let pause = |s: f64| std::thread::sleep(std::time::Duration::from_secs_f64(s));
    assert_eq!(w.post(&claim, &rad1, json!({})).0, 200);
    let draft = json!({"language": "en", "sections": {"findings": "Clear lungs."}});
    let (status, body) = w.call(
        Method::PUT,
        &format!("/api/studies/{a}/report/draft"),
        Some(&rad1),
        Some(draft),
    );
    assert_eq!(status, 200, "{body}");

    // The reader works on one page while another stands forgotten.
    pause(2.0);
    let (status, body) = w.post(&renew, &rad1, json!({"idle_seconds": 0}));
    assert_eq!(status, 200, "the page in use: {body}");
    pause(2.0);
    let (status, body) = w.post(&renew, &rad1, json!({"idle_seconds": 3600}));
    assert_eq!(
        status, 200,
        "the forgotten page, while the other is used: {body}"
    );
    // A page that does not say how long it stood unused counts as in use.
    let (status, body) = w.post(&renew, &rad1, json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(w.post(&claim, &rad2, json!({})).0, 409);

    // Then nobody uses any: given back, and the page is told why.
    pause(6.5);
    let (status, body) = w.post(&renew, &rad1, json!({"idle_seconds": 3600}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["reason"], "idle", "{body}");
    assert_eq!(w.lock_of(&a), Value::Null);
    let released = audited(&w, "lock_release", "rad1");
    assert_eq!(released.len(), 1, "{released:?}");
    assert!(
        released[0]["detail"]
            .as_str()
            .unwrap()
            .contains("without activity"),
        "{}",
        released[0]
    );
    // Another radiologist takes it; the draft is still there.
    assert_eq!(w.post(&claim, &rad2, json!({})).0, 200);
    let (_, report) = w.get(&format!("/api/studies/{a}/report"), Some(&rad2));
    assert!(report.to_string().contains("Clear lungs."), "{report}");
    // The idle page's next renewal neither takes it back nor releases it.
    let (status, body) = w.post(&renew, &rad1, json!({"idle_seconds": 3600}));
    assert_eq!(status, 409);
    assert_ne!(body["reason"], "idle", "{body}");
    assert_eq!(audited(&w, "lock_release", "rad1").len(), 1);
    assert_eq!(w.lock_of(&a)["holder"], "rad2");
}
