//! The reading workflow's access rules against the real server: every
//! role against every route and DIMSE service (allowed or refused as
//! specified), two radiologists claiming at once, and an account
//! disabled and added again. Listening without accounts is in
//! `listening.rs`, sign-in limits in `sign_in.rs`, the audit trail's
//! searches and refusals in `audit_trail.rs`.

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/two_sites.rs"]
mod two_sites;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::path::Path;
use std::time::Duration;

use common::accounts::{PASSWORD, add_user};
use common::{Server, dcmtk};
use reqwest::Method;
use serde_json::{Value, json};
use two_sites::{extra_slice, http, sorted, world};

#[test]
fn every_role_against_every_route() {
    let w = world();
    let (a, f) = (w.andijan.clone(), w.fergana.clone());
    let tokens: Vec<(&str, String)> = [
        "admin",
        "rad1",
        "rad_andijan",
        "site_a",
        "site_f",
        "yusupov",
    ]
    .into_iter()
    .map(|u| (u, w.token(u)))
    .collect();
    let token = |u: &str| tokens.iter().find(|(n, _)| *n == u).unwrap().1.clone();

    // Without a session: 401 everywhere but health and sign-in.
    for path in [
        "/dicom-web/studies",
        &format!("/dicom-web/studies/{a}/metadata"),
        "/api/worklist",
        "/api/audit",
        "/api/forwarding/destinations",
        "/api/referrals",
        &format!("/api/studies/{a}/report"),
        "/api/peer/studies/1.2.3",
    ] {
        let (status, _) = w.get(path, None);
        assert_eq!(status, 401, "{path} without a session");
        let (status, _) = w.get(path, Some("not-a-token"));
        assert_eq!(status, 401, "{path} with a made-up token");
        // Nothing of it is kept in the browser's disk cache.
        assert_eq!(
            w.client
                .get(w.server.url(path))
                .bearer_auth(token("admin"))
                .send()
                .unwrap()
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path}"
        );
        // Each 401 says how to authenticate (RFC 9110 §11.6.1).
        let reply = w.client.get(w.server.url(path)).send().unwrap();
        assert_eq!(
            reply
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"pacs\""),
            "{path}"
        );
    }
    let (status, health) = w.get("/healthz", None);
    assert_eq!(status, 200);
    // How much the archive holds is for an administrator.
    assert!(health.get("totals").is_none(), "{health}");
    let (_, health) = w.get("/healthz", Some(&token("rad1")));
    assert!(health.get("totals").is_none(), "{health}");
    let (_, health) = w.get("/healthz", Some(&token("admin")));
    assert_eq!(health["totals"]["studies"], 2, "{health}");

    // Who sees which studies (QIDO-RS).
    let both = sorted(vec![a.clone(), f.clone()]);
    assert_eq!(w.studies_seen(&token("admin")), both);
    assert_eq!(w.studies_seen(&token("rad1")), both);
    assert_eq!(w.studies_seen(&token("rad_andijan")), vec![a.clone()]);
    assert_eq!(w.studies_seen(&token("site_a")), vec![a.clone()]);
    assert_eq!(w.studies_seen(&token("site_f")), vec![f.clone()]);
    assert_eq!(w.studies_seen(&token("yusupov")), vec![a.clone()]);

    // Reading one study (WADO-RS): outside one's studies is 403.
    let read = |u: &str, study: &str| {
        w.get(
            &format!("/dicom-web/studies/{study}/metadata"),
            Some(&token(u)),
        )
        .0
    };
    for (user, study, expected) in [
        ("admin", &f, 200),
        ("rad1", &f, 200),
        ("rad_andijan", &f, 403),
        ("site_a", &a, 200),
        ("site_a", &f, 403),
        ("site_f", &a, 403),
        ("yusupov", &a, 200),
        ("yusupov", &f, 403),
    ] {
        assert_eq!(read(user, study), expected, "{user} reading {study}");
    }
    let frame = w.get(
        &format!("/dicom-web/studies/{a}/rendered"),
        Some(&token("site_f")),
    );
    assert_eq!(frame.0, 403, "renderings follow the same rule");

    // Storing (STOW-RS): sites and admins only.
    let body = std::fs::read(&w.andijan_files[0]).unwrap();
    let stow = |user: &str, instance: &[u8]| {
        w.client
            .post(w.server.url("/dicom-web/studies"))
            .bearer_auth(token(user))
            .header("content-type", web::stow_content_type())
            .body(web::multipart_body(
                &[("application/dicom", instance)],
                web::BOUNDARY,
            ))
            .send()
            .unwrap()
    };
    for (user, expected) in [
        ("site_a", 200),
        ("admin", 200),
        ("rad1", 403),
        ("yusupov", 403),
    ] {
        let reply = stow(user, &body);
        assert_eq!(reply.status().as_u16(), expected, "{user} storing");
    }

    // A site cannot add to another site's study (and so come to see it).
    let intruder = stow("site_f", &extra_slice(&w));
    assert_eq!(intruder.status(), 409, "refused");
    let refused: Value = intruder.json().unwrap();
    assert_eq!(web::failed_sops(&refused)[0].1, 0x0124, "{refused}");
    assert_eq!(read("site_f", &a), 403, "still not theirs");
    let refusals = w
        .get("/api/audit?action=store&user=site_f", Some(&token("admin")))
        .1;
    assert!(
        refusals["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "failed"
                && e["study_uid"] == a.as_str()
                && e["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("not one of the sending site's studies")),
        "{refusals}"
    );
    assert_eq!(w.studies_seen(&token("site_f")), vec![f.clone()]);
    // Nor send again an instance already in it: the same bytes are no
    // more theirs than new ones, and are not acknowledged.
    let copy = stow("site_f", &body);
    assert_eq!(copy.status(), 409, "an identical copy refused");
    let refused: Value = copy.json().unwrap();
    assert_eq!(web::failed_sops(&refused)[0].1, 0x0124, "{refused}");
    assert!(web::referenced_sops(&refused).is_empty(), "{refused}");

    // Worklist and report routes.
    let worklist = |u: &str| w.get("/api/worklist?status=all", Some(&token(u)));
    for (user, expected) in [
        ("admin", 200),
        ("rad1", 200),
        ("site_a", 200),
        ("yusupov", 403),
    ] {
        assert_eq!(worklist(user).0, expected, "{user} on the worklist");
    }
    let listed = |u: &str| -> Vec<String> {
        sorted(
            worklist(u).1["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["study_uid"].as_str().unwrap().to_owned())
                .collect(),
        )
    };
    assert_eq!(
        listed("site_a"),
        vec![a.clone()],
        "a site's worklist is its own"
    );
    assert_eq!(listed("rad1"), both);
    let tasks = worklist("admin").1;
    let task_a = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["study_uid"] == a.as_str())
        .unwrap();
    assert_eq!(
        task_a["priority"], "urgent",
        "the sending site's priority: {task_a}"
    );
    assert_eq!(task_a["site"], "andijan");

    let claim = |u: &str, study: &str| {
        w.post(
            &format!("/api/worklist/{study}/claim"),
            &token(u),
            json!({}),
        )
        .0
    };
    assert_eq!(claim("site_a", &a), 403, "a site does not report");
    assert_eq!(claim("yusupov", &a), 403);
    assert_eq!(
        claim("admin", &a),
        403,
        "an admin supervises, does not report"
    );
    assert_eq!(claim("rad_andijan", &f), 403, "outside the reading group");
    assert_eq!(claim("rad1", &a), 200);
    assert_eq!(
        w.post(
            &format!("/api/worklist/{a}/break-lock"),
            &token("rad1"),
            json!({"reason": "x"})
        )
        .0,
        403
    );
    assert_eq!(
        w.post(
            &format!("/api/worklist/{a}/break-lock"),
            &token("admin"),
            json!({"reason": "test"})
        )
        .0,
        200
    );
    // Nothing is done to, nor audited for, a study that does not exist.
    let missing = "1.2.826.0.1.3680043.10.1453.404";
    for (action, body) in [
        ("break-lock", json!({"reason": "x"})),
        ("assign", json!({"username": "rad1"})),
    ] {
        let path = format!("/api/worklist/{missing}/{action}");
        assert_eq!(w.post(&path, &token("admin"), body).0, 404, "{action}");
    }
    let trail = w
        .get(
            &format!("/api/audit?study={missing}"),
            Some(&token("admin")),
        )
        .1;
    assert_eq!(trail["events"], json!([]), "{trail}");
    // A study is assigned only to a radiologist who reads its site.
    let assign = |study: &str| {
        let path = format!("/api/worklist/{study}/assign");
        w.post(&path, &token("admin"), json!({"username": "rad_andijan"}))
    };
    let (status, body) = assign(&f);
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("does not read"), "{body}");
    assert_eq!(assign(&a).0, 200);
    // A broken lock is not taken back by the page's heartbeat, nor is a
    // lock nobody holds taken by one: only a claim takes it, audited.
    let renew = |u: &str| {
        w.post(&format!("/api/worklist/{a}/renew"), &token(u), json!({}))
            .0
    };
    assert_eq!(renew("rad1"), 409, "the lock was broken");
    assert_eq!(renew("rad_andijan"), 409, "never held");
    assert_eq!(claim("rad1", &a), 200);
    assert_eq!(renew("rad1"), 200);
    assert_eq!(renew("rad_andijan"), 409, "held by another");
    assert_eq!(
        w.call(
            Method::PUT,
            &format!("/api/worklist/{a}/priority"),
            Some(&token("site_a")),
            Some(json!({"priority": "stat"}))
        )
        .0,
        200,
        "a site sets its own study's priority"
    );
    assert_eq!(
        w.call(
            Method::PUT,
            &format!("/api/worklist/{f}/priority"),
            Some(&token("site_a")),
            Some(json!({"priority": "stat"}))
        )
        .0,
        403,
        "but not another site's"
    );

    // Reports: readable within one's studies.
    for (user, study, expected) in [
        ("site_a", &a, 200),
        ("site_f", &a, 403),
        ("yusupov", &a, 200),
        ("yusupov", &f, 403),
    ] {
        assert_eq!(
            w.get(&format!("/api/studies/{study}/report"), Some(&token(user)))
                .0,
            expected,
            "{user} report of {study}"
        );
    }

    // Administration.
    for (path, allowed) in [
        ("/api/audit", "admin"),
        ("/api/forwarding/destinations", "admin"),
        ("/api/users", "admin"),
        ("/api/referrals", "yusupov"),
    ] {
        for (user, t) in &tokens {
            let status = w.get(path, Some(t)).0;
            let expected = if *user == allowed || (*user == "admin" && path == "/api/referrals") {
                200
            } else {
                403
            };
            assert_eq!(status, expected, "{user} on {path}");
        }
    }
    let referred = w.get("/api/referrals", Some(&token("yusupov"))).1;
    let referred: Vec<&str> = referred["studies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["study_uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        referred,
        vec![a.as_str()],
        "a referrer's studies are their patients'"
    );

    // DIMSE: a site's modality queries its own studies only; unknown
    // callers are refused at association.
    let find = |aet: &str| {
        dcmtk(
            "findscu",
            &[
                "-S",
                "-aet",
                aet,
                "-aec",
                common::AE_TITLE,
                "-k",
                "QueryRetrieveLevel=STUDY",
                "-k",
                "StudyInstanceUID",
                "127.0.0.1",
                &w.server.dicom_port(),
            ],
        )
    };
    let out = find("FERGANA_CT");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&f) && !text.contains(&a),
        "FERGANA_CT sees its study only:\n{text}"
    );
    let out = find("STRANGER");
    assert!(!out.status.success(), "an unknown AE title is refused");
    let echo = dcmtk(
        "echoscu",
        &[
            "-aet",
            "STRANGER",
            "-aec",
            common::AE_TITLE,
            "127.0.0.1",
            &w.server.dicom_port(),
        ],
    );
    assert!(!echo.status.success());
    // C-GET retrieves the caller's own study, nothing of another site's,
    // and the retrieval is audited.
    let get = |study: &str, into: &Path| {
        dcmtk(
            "getscu",
            &[
                "-S",
                "-aet",
                "FERGANA_CT",
                "-aec",
                common::AE_TITLE,
                "-k",
                "QueryRetrieveLevel=STUDY",
                "-k",
                &format!("StudyInstanceUID={study}"),
                "-od",
                into.to_str().unwrap(),
                "127.0.0.1",
                &w.server.dicom_port(),
            ],
        )
    };
    let own = tempfile::tempdir().unwrap();
    get(&f, own.path());
    assert_eq!(std::fs::read_dir(own.path()).unwrap().count(), 3);
    let other = tempfile::tempdir().unwrap();
    get(&a, other.path());
    assert_eq!(
        std::fs::read_dir(other.path()).unwrap().count(),
        0,
        "another site's study"
    );
    let audit = w.get("/api/audit?action=retrieve", Some(&token("admin"))).1;
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["user"] == "AE FERGANA_CT" && e["study_uid"] == f.as_str()),
        "{audit}"
    );

    // Signing out ends the session.
    let t = token("site_a");
    let (status, _) = w.call(Method::POST, "/api/auth/logout", Some(&t), None);
    assert_eq!(status, 204);
    assert_eq!(w.get("/api/worklist", Some(&t)).0, 401);
}

#[test]
fn two_radiologists_claiming_at_once_one_wins() {
    let w = world();
    let study = w.andijan.clone();
    let (t1, t2) = (w.token("rad1"), w.token("rad2"));
    let url = w.server.url(&format!("/api/worklist/{study}/claim"));
    for round in 0..5 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (url, barrier) = (url.clone(), barrier.clone());
                let (user, token) = if i % 2 == 0 {
                    ("rad1", t1.clone())
                } else {
                    ("rad2", t2.clone())
                };
                std::thread::spawn(move || {
                    let client = http();
                    barrier.wait();
                    let reply = client
                        .post(&url)
                        .bearer_auth(token)
                        .json(&json!({}))
                        .send()
                        .unwrap();
                    (user, reply.status().as_u16())
                })
            })
            .collect();
        let results: Vec<(&str, u16)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: std::collections::HashSet<&str> = results
            .iter()
            .filter(|(_, s)| *s == 200)
            .map(|(u, _)| *u)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one radiologist holds the study: {results:?}"
        );
        assert!(
            results
                .iter()
                .all(|(u, s)| *s == 200 && winners.contains(u) || *s == 409),
            "{results:?}"
        );
        let winner = *winners.iter().next().unwrap();
        let task = w.get("/api/worklist?status=all", Some(&t1)).1;
        let task = task["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["study_uid"] == study.as_str())
            .unwrap()
            .clone();
        assert_eq!(
            task["lock"]["holder"], winner,
            "the worklist shows who holds it"
        );
        let loser = if winner == "rad1" { &t2 } else { &t1 };
        let (status, body) = w.post(&format!("/api/worklist/{study}/claim"), loser, json!({}));
        assert_eq!(status, 409);
        assert_eq!(body["holder"], winner);
        let holder = if winner == "rad1" { &t1 } else { &t2 };
        // A POST without a body (as `curl -X POST` sends) is fine.
        let released = w
            .client
            .post(w.server.url(&format!("/api/worklist/{study}/release")))
            .bearer_auth(holder)
            .send()
            .unwrap();
        assert_eq!(released.status(), 200);
    }
}

/// A radiologist's reading sites are named, and exist: an empty name (a
/// provisioning script's unset variable) would otherwise read as "every
/// site".
#[test]
fn reading_sites_must_name_sites() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    common::accounts::add_site(&data, "andijan", "ANDIJAN_CT", "urgent");
    for reads in ["", " ", "andijan,", "namangan"] {
        let out = common::accounts::pacs_cli_output(
            &data,
            &[
                "user",
                "add",
                "radx",
                "--role",
                "radiologist",
                "--reads",
                reads,
            ],
            &format!("{PASSWORD}\n"),
        );
        assert!(!out.status.success(), "--reads {reads:?} was taken");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("--reads"), "{said}");
    }
    add_user(&data, "radx", "radiologist", &["--reads", "andijan"]);
}

#[test]
fn a_disabled_account_stays_signed_out_when_added_again() {
    let w = world();
    let data = w.server.data_dir.clone();
    let a = w.andijan.clone();
    let token = w.token("rad1");
    let (status, link) = w.post(&format!("/api/studies/{a}/share-link"), &token, json!({}));
    assert_eq!(status, 200, "{link}");
    let link = link["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/share/")
        .to_owned();
    let me = |t: &str| w.get("/api/auth/me", Some(t)).0;
    let shared = |t: &str| {
        w.get(&format!("/dicom-web/studies/{a}/metadata"), Some(t))
            .0
    };
    assert_eq!(me(&token), 200);
    assert_eq!(shared(&link), 200);

    common::accounts::pacs_cli(&data, &["user", "disable", "rad1"], "");
    assert_eq!(me(&token), 401, "disabled: signed out");
    assert_eq!(shared(&link), 401, "and the links it made are withdrawn");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let account = runtime.block_on(async {
        let index = pacs_core::SqliteIndex::open(data.join("index.sqlite")).unwrap();
        pacs_core::workflow::Workflow::account(&index, "rad1")
            .await
            .unwrap()
            .unwrap()
    });
    assert!(account.disabled);
    assert_eq!(account.password_hash, None, "the password is gone");

    // Enabled again (the documented way): the old session and link stay dead.
    let again = ["user", "add", "rad1", "--role", "radiologist"];
    common::accounts::pacs_cli(&data, &again, &format!("{PASSWORD}\n"));
    assert_eq!(me(&token), 401, "the session from before stays ended");
    assert_eq!(shared(&link), 401, "and so does the link");

    // A new password by `user add`, like `user passwd`, signs out the
    // sessions opened with the old one.
    let token = w.token("rad1");
    assert_eq!(me(&token), 200);
    common::accounts::pacs_cli(&data, &again, &format!("{PASSWORD}\n"));
    assert_eq!(me(&token), 401);
    assert_eq!(me(&w.token("rad1")), 200, "the new password signs in");
}

/// The audit events of `action` by `user` (as the trail names them).
#[test]
fn with_accounts_dicom_callers_must_belong_to_a_site() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_user(&data, "admin", "admin", &[]);
    let server = Server::start(&data);
    let echo = dcmtk(
        "echoscu",
        &[
            "-aet",
            "ANY",
            "-aec",
            common::AE_TITLE,
            "127.0.0.1",
            &server.dicom_port(),
        ],
    );
    assert!(!echo.status.success(), "no site, no DICOM");
    common::accounts::pacs_cli(&data, &["site", "add", "north", "--aet", "NORTH_CT"], "");
    // The site list is read again within seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let echo = dcmtk(
            "echoscu",
            &[
                "-aet",
                "NORTH_CT",
                "-aec",
                common::AE_TITLE,
                "127.0.0.1",
                &server.dicom_port(),
            ],
        );
        if echo.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new site is admitted"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A study shared with a referrer's account is withdrawn by whoever
/// shared it (or an admin), and lasts no longer than that account.
#[test]
fn a_share_with_a_referrer_is_withdrawn_and_ends_with_its_sharer() {
    let w = world();
    let f = w.fergana.clone();
    let (rad1, rad2, yusupov) = (w.token("rad1"), w.token("rad2"), w.token("yusupov"));
    let sees = || {
        let found = w.get(
            &format!("/dicom-web/studies?StudyInstanceUID={f}"),
            Some(&yusupov),
        );
        found.1.as_array().map_or(0, Vec::len)
    };
    assert_eq!(sees(), 0, "not his patient");
    let share = |t: &str, what: &str| {
        let path = format!("/api/studies/{f}/{what}");
        w.post(&path, t, json!({"username": "yusupov"})).0
    };
    assert_eq!(share(&rad1, "share"), 200);
    assert_eq!(sees(), 1);
    assert_eq!(
        share(&rad2, "unshare"),
        404,
        "only who shared it withdraws it"
    );
    assert_eq!(sees(), 1);
    assert_eq!(share(&rad1, "unshare"), 200);
    assert_eq!(sees(), 0, "withdrawn");
    assert_eq!(share(&rad1, "share"), 200);
    assert_eq!(share(&w.token("admin"), "unshare"), 200, "an admin may too");
    assert_eq!(sees(), 0);

    assert_eq!(share(&rad1, "share"), 200);
    assert_eq!(sees(), 1);
    common::accounts::pacs_cli(&w.server.data_dir, &["user", "disable", "rad1"], "");
    assert_eq!(sees(), 0, "a share ends with the account that made it");
}

/// Modalities pad names (`Yusupov^Akmal^^^`) or add a Cyrillic group
/// after the Latin one: the referring doctor still sees the study, and a
/// search by name finds it whichever way it is typed.
#[test]
fn names_match_whatever_padding_they_came_with() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (padded, files) = two_sites::write_study(
        dir.path(),
        dicom_samples::Patient::toshmatov_utf8(),
        21,
        "YUSUPOV^Akmal^^=Юсупов^Акмал^^",
    );
    two_sites::store_as(&w.server, "FERGANA_CT", &files);

    let yusupov = w.token("yusupov");
    let seen = w.studies_seen(&yusupov);
    assert_eq!(seen, sorted(vec![w.andijan.clone(), padded.clone()]));
    let (status, referred) = w.get("/api/referrals", Some(&yusupov));
    assert_eq!(status, 200, "{referred}");
    assert!(referred.to_string().contains(&padded), "{referred}");

    let admin = w.token("admin");
    for (key, asked) in [
        ("PatientName", "Тошматов^Шерзод^^"),
        ("PatientName", "тошматов ^ шерзод"),
        ("ReferringPhysicianName", "Yusupov^Akmal^"),
        // The doctor by the Cyrillic group, whole or begun.
        ("ReferringPhysicianName", "Юсупов^Акмал"),
        ("ReferringPhysicianName", "юсупов*"),
    ] {
        let (status, found) = w.get(
            &format!("/dicom-web/studies?{key}={}", urlencoding(asked)),
            Some(&admin),
        );
        assert_eq!(status, 200, "{found}");
        let uids: Vec<String> = found
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| web::string_value(s, "0020000D"))
            .collect();
        assert!(uids.contains(&padded), "{key}={asked}: {found}");
    }
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
