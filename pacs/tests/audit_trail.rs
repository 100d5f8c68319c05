//! The audit trail against the real server: searches (QIDO-RS and
//! C-FIND) recorded once per query with what was asked, and refused reads
//! recorded as denied.

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/two_sites.rs"]
mod two_sites;
#[path = "common/dicomweb_support.rs"]
mod web;

use common::dcmtk;
use serde_json::Value;
use two_sites::world;

fn audited(w: &two_sites::World, action: &str, user: &str) -> Vec<Value> {
    let user = user.replace(' ', "%20");
    let (status, body) = w.get(
        &format!("/api/audit?action={action}&user={user}"),
        Some(&w.token("admin")),
    );
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

#[test]
fn searches_are_on_the_audit_trail_once_per_query() {
    let w = world();
    let f = w.fergana.clone();
    // QIDO-RS: what was asked, not what was found, once per request.
    let rad = w.token("rad1");
    let (status, found) = w.get(
        "/dicom-web/instances?PatientName=Иванов*&limit=10",
        Some(&rad),
    );
    assert_eq!(status, 200, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 3, "three matches");
    // Written beside the answer: it lands within moments, and only once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while audited(&w, "search", "rad1").is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let searches = audited(&w, "search", "rad1");
    assert_eq!(searches.len(), 1, "{searches:?}");
    let detail = searches[0]["detail"].as_str().unwrap();
    assert_eq!(detail, "QIDO-RS instances?PatientName=Иванов*&limit=10");
    assert!(searches[0]["study_uid"].is_null());
    assert_eq!(searches[0]["outcome"], "ok");

    // C-FIND: the same, per query of the association.
    let out = dcmtk(
        "findscu",
        &[
            "-S",
            "-aet",
            "FERGANA_CT",
            "-aec",
            common::AE_TITLE,
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "PatientName=Karimov*",
            "-k",
            "StudyInstanceUID",
            "127.0.0.1",
            &w.server.dicom_port(),
        ],
    );
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains(&f), "{text}");
    let searches = audited(&w, "search", "AE FERGANA_CT");
    assert_eq!(searches.len(), 1, "{searches:?}");
    let detail = searches[0]["detail"].as_str().unwrap();
    assert_eq!(detail, "C-FIND STUDY: PatientName=Karimov*");
    assert!(!detail.contains(&f), "no results: {detail}");
}

#[test]
fn denied_api_reads_are_on_the_audit_trail() {
    let w = world();
    let a = w.andijan.clone();
    let site_f = w.token("site_f");
    for path in [
        format!("/api/studies/{a}/report"),
        format!("/api/studies/{a}/report.pdf"),
        format!("/api/studies/{a}/key-images/1.2.3/1.png"),
    ] {
        assert_eq!(w.get(&path, Some(&site_f)).0, 403, "{path}");
    }
    let denied: Vec<Value> = audited(&w, "report_view", "site_f")
        .into_iter()
        .filter(|e| e["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 3, "{denied:?}");
    for e in &denied {
        assert_eq!(e["study_uid"], a.as_str(), "{e}");
        assert!(
            e["detail"]
                .as_str()
                .unwrap()
                .contains("not one you may see"),
            "{e}"
        );
    }
}
