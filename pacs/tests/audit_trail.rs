//! The audit trail against the real server: searches (QIDO-RS and
//! C-FIND) recorded once per query with what was asked, every refused
//! action recorded as denied, and the changes operators make to
//! accounts, sites and tokens at the console.

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/two_sites.rs"]
mod two_sites;
#[path = "common/dicomweb_support.rs"]
mod web;

use common::accounts::pacs_cli;
use common::dcmtk;
use serde_json::{Value, json};
use two_sites::world;

/// The events of `action` by `user`, as the administrator reads them.
fn audited(w: &two_sites::World, action: &str, user: &str) -> Vec<Value> {
    let user = user.replace(' ', "%20");
    audit_events(w, &format!("action={action}&user={user}"))
}

/// The events `query` selects from `GET /api/audit`.
fn audit_events(w: &two_sites::World, query: &str) -> Vec<Value> {
    let (status, body) = w.get(&format!("/api/audit?{query}"), Some(&w.token("admin")));
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
    // Each under the name its success would have: reading the report,
    // exporting it, viewing a key image.
    let denied: Vec<Value> = ["report_view", "export", "study_view"]
        .into_iter()
        .flat_map(|action| audited(&w, action, "site_f"))
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

/// Every event of `action` on the trail, whoever it was by.
fn audited_any(w: &two_sites::World, action: &str) -> Vec<Value> {
    audit_events(w, &format!("action={action}"))
}

#[test]
fn refused_actions_are_on_the_audit_trail_under_what_was_attempted() {
    let w = world();
    let a = w.andijan.clone();
    let referrer = w.token("yusupov");
    let rad = w.token("rad1");
    let site = w.token("site_a");
    // A referring doctor tries to claim and sign; a radiologist tries to
    // read the trail; a site's account tries the forwarding queue.
    let tries = [
        (
            w.post(&format!("/api/worklist/{a}/claim"), &referrer, json!({}))
                .0,
            "lock_claim",
            "yusupov",
        ),
        (
            w.post(
                &format!("/api/studies/{a}/report/sign"),
                &referrer,
                json!({"sections": {"findings": "x", "impression": "y"}}),
            )
            .0,
            "report_sign",
            "yusupov",
        ),
        (w.get("/api/audit", Some(&rad)).0, "audit_read", "rad1"),
        (
            w.get("/api/forwarding/jobs", Some(&site)).0,
            "forwarding",
            "site_a",
        ),
    ];
    for (status, action, user) in tries {
        assert_eq!(status, 403, "{action} by {user}");
        let events = audited(&w, action, user);
        assert_eq!(events.len(), 1, "{action} by {user}: {events:?}");
        assert_eq!(events[0]["outcome"], "denied", "{}", events[0]);
        assert!(
            events[0]["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "the reason is kept: {}",
            events[0]
        );
    }
    assert_eq!(
        audited(&w, "lock_claim", "yusupov")[0]["study_uid"],
        a.as_str()
    );
    // Allowed work is not recorded as refused.
    assert_eq!(
        w.post(&format!("/api/worklist/{a}/claim"), &rad, json!({}))
            .0,
        200
    );
    assert_eq!(
        w.post(&format!("/api/worklist/{a}/release"), &rad, json!({}))
            .0,
        200
    );
    let claims = audited(&w, "lock_claim", "rad1");
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert_eq!(claims[0]["outcome"], "ok");
    assert_eq!(audited(&w, "lock_release", "rad1")[0]["outcome"], "ok");
    // Releasing a lock someone else holds releases nothing, and records
    // nothing; a path nothing answers is not found, not refused.
    assert_eq!(
        w.post(&format!("/api/worklist/{a}/claim"), &rad, json!({}))
            .0,
        200
    );
    let rad2 = w.token("rad2");
    w.post(&format!("/api/worklist/{a}/release"), &rad2, json!({}));
    assert!(audited(&w, "lock_release", "rad2").is_empty());
    let (status, _) = w.post(
        &format!("/api/studies/{a}/report/sigh"),
        &referrer,
        json!({}),
    );
    assert_eq!(status, 404);
    assert!(audited(&w, "report", "yusupov").is_empty());
}

/// A modality whose stores are refused leaves a line on the trail naming
/// the study it tried to add to: once for the series, not per instance.
#[test]
fn refused_c_stores_are_on_the_audit_trail_once_with_their_study() {
    let w = world();
    let mut args = vec![
        "-aet".to_owned(),
        "FERGANA_CT".into(),
        "-aec".into(),
        common::AE_TITLE.into(),
        "127.0.0.1".into(),
        w.server.dicom_port(),
    ];
    args.extend(w.andijan_files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // storescu reports refused stores in its exit status differently from
    // one dcmtk version to the next: the trail is what is checked.
    let _ = dcmtk("storescu", &args);

    // Its own study, stored when the world was set up, is the one "ok".
    let refused: Vec<Value> = audited(&w, "store", "AE FERGANA_CT")
        .into_iter()
        .filter(|e| e["outcome"] != "ok")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["outcome"], "failed", "{}", refused[0]);
    assert_eq!(
        refused[0]["study_uid"],
        w.andijan.as_str(),
        "{}",
        refused[0]
    );
    let detail = refused[0]["detail"].as_str().unwrap();
    assert!(detail.contains("C-STORE refused (0124)"), "{detail}");
}

#[test]
fn console_changes_to_accounts_sites_and_tokens_are_on_the_audit_trail() {
    let w = world();
    let data = w._dir.path().join("data");
    pacs_cli(
        &data,
        &["user", "passwd", "rad2"],
        "another long password\n",
    );
    pacs_cli(&data, &["user", "disable", "rad2"], "");
    pacs_cli(&data, &["token", "revoke", "1"], "");
    let by_console = |action: &str| -> Vec<String> {
        audited_any(&w, action)
            .iter()
            .map(|e| {
                assert_eq!(e["outcome"], "ok", "{e}");
                assert_eq!(e["role"], "operator", "{e}");
                let user = e["user"].as_str().unwrap();
                assert!(user.starts_with("(console "), "{e}");
                e["detail"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let saved = by_console("account_saved");
    assert_eq!(saved.len(), 7, "every account of the set-up: {saved:?}");
    assert!(
        saved.contains(&"rad1 (radiologist)".to_owned()),
        "{saved:?}"
    );
    assert!(saved.contains(&"site_a (site)".to_owned()), "{saved:?}");
    assert_eq!(
        two_sites::sorted(by_console("site_saved")),
        vec!["andijan (ANDIJAN_CT)", "fergana (FERGANA_CT)"]
    );
    assert_eq!(by_console("token_issued"), vec!["token 1 for site andijan"]);
    assert_eq!(by_console("password_set"), vec!["rad2"]);
    assert_eq!(by_console("account_disabled"), vec!["rad2"]);
    assert_eq!(by_console("token_revoked"), vec!["token 1"]);
}

#[test]
fn lists_that_show_patients_are_on_the_audit_trail_once_while_they_repeat() {
    let w = world();
    let rad = w.token("rad1");
    // The worklist page asks every few seconds: one line while it asks
    // the same, another when it asks something else.
    for _ in 0..3 {
        assert_eq!(w.get("/api/worklist", Some(&rad)).0, 200);
    }
    assert_eq!(
        w.get("/api/worklist?status=all&site=andijan", Some(&rad)).0,
        200
    );
    let details = |action: &str, user: &str| -> Vec<String> {
        let mut d: Vec<String> = audited(&w, action, user)
            .iter()
            .filter(|e| e["outcome"] == "ok")
            .map(|e| e["detail"].as_str().unwrap().to_owned())
            .collect();
        d.sort();
        d
    };
    assert_eq!(
        details("worklist", "rad1"),
        [
            "status=active site=* modality=* mine=false limit=50 offset=0",
            "status=all site=andijan modality=* mine=false limit=50 offset=0",
        ]
    );
    let referrer = w.token("yusupov");
    for _ in 0..2 {
        assert_eq!(w.get("/api/referrals", Some(&referrer)).0, 200);
    }
    assert_eq!(details("referrals", "yusupov"), ["limit=50 offset=0"]);
    let site = w.token("site_a");
    assert_eq!(w.get("/api/notifications", Some(&site)).0, 200);
    assert_eq!(
        details("notifications", "site_a"),
        ["open critical findings"]
    );
}
