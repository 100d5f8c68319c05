//! The reading workflow against the real server: every role against
//! every route and DIMSE service (allowed or refused as specified), two
//! radiologists claiming at once, a report from draft to signed version
//! and addendum (immutable once signed), its PDF rendered by poppler, its
//! DICOM copy in the study, and the audit trail of each step.

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::accounts::{PASSWORD, add_site, add_user, login, site_token};
use common::{Server, dcmtk};
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax};
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};

fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// Two sites' studies: Andijan's (referred by Dr Yusupov) sent with the
/// site's gateway token over STOW-RS, Fergana's sent by its modality over
/// C-STORE.
struct World {
    _dir: tempfile::TempDir,
    server: Server,
    client: Client,
    andijan: String,
    fergana: String,
    andijan_files: Vec<PathBuf>,
}

fn write_study(dir: &Path, patient: Patient, seed: u64, referrer: &str) -> (String, Vec<PathBuf>) {
    let mut spec = CtSpec::chest(patient, seed)
        .with_slices(3)
        .with_matrix(64, 64);
    spec.study.referring_physician = referrer.into();
    std::fs::create_dir_all(dir).unwrap();
    let files =
        dicom_samples::write_ct_series(&spec, dir, SampleTransferSyntax::ExplicitVrLittleEndian)
            .expect("write study");
    (spec.study.study_uid.clone(), files)
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_site(&data, "andijan", "ANDIJAN_CT", "urgent");
    add_site(&data, "fergana", "FERGANA_CT", "routine");
    add_user(
        &data,
        "admin",
        "admin",
        &["--display-name", "Archive Admin"],
    );
    add_user(
        &data,
        "rad1",
        "radiologist",
        &["--display-name", "Dr Rahimova"],
    );
    add_user(
        &data,
        "rad2",
        "radiologist",
        &["--display-name", "Dr Tashkentov"],
    );
    add_user(&data, "rad_andijan", "radiologist", &["--reads", "andijan"]);
    add_user(&data, "site_a", "site", &["--site", "andijan"]);
    add_user(&data, "site_f", "site", &["--site", "fergana"]);
    add_user(
        &data,
        "yusupov",
        "referrer",
        &["--physician", "Yusupov^Akmal"],
    );
    let token = site_token(&data, "andijan");
    let server = Server::start(&data);
    let client = http();

    let (andijan, andijan_files) = write_study(
        &dir.path().join("a"),
        Patient::ivanov_iso_ir_144(),
        11,
        "Yusupov^Akmal",
    );
    let bodies: Vec<Vec<u8>> = andijan_files
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let boundary = "workflow-boundary";
    let parts: Vec<(&str, &[u8])> = bodies
        .iter()
        .map(|b| ("application/dicom", b.as_slice()))
        .collect();
    let stored = client
        .post(server.url("/dicom-web/studies"))
        .bearer_auth(&token)
        .header(
            "content-type",
            format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
        )
        .body(web::multipart_body(&parts, boundary))
        .send()
        .unwrap();
    assert_eq!(stored.status(), 200, "STOW with the site token");

    let (fergana, fergana_files) = write_study(
        &dir.path().join("f"),
        Patient::karimov_ascii(),
        12,
        "Other^Doctor",
    );
    let mut args = vec![
        "-aet".to_owned(),
        "FERGANA_CT".into(),
        "-aec".into(),
        common::AE_TITLE.into(),
        "127.0.0.1".into(),
        server.dicom_port(),
    ];
    args.extend(fergana_files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = dcmtk("storescu", &args);
    assert!(
        out.status.success(),
        "storescu: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    World {
        _dir: dir,
        server,
        client,
        andijan,
        fergana,
        andijan_files,
    }
}

impl World {
    fn token(&self, user: &str) -> String {
        login(&self.client, &self.server.url(""), user)
    }

    fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, self.server.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let reply = request.send().expect("request");
        let status = reply.status().as_u16();
        let text = reply.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(Method::GET, path, token, None)
    }

    fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(token), Some(body))
    }

    fn studies_seen(&self, token: &str) -> Vec<String> {
        let (status, body) = self.get("/dicom-web/studies", Some(token));
        assert_eq!(status, 200, "{body}");
        let mut uids: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| web::string_value(s, "0020000D"))
            .collect();
        uids.sort();
        uids
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

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
    }
    assert_eq!(w.get("/healthz", None).0, 200);

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
    for (user, expected) in [
        ("site_a", 200),
        ("admin", 200),
        ("rad1", 403),
        ("yusupov", 403),
    ] {
        let reply = w
            .client
            .post(w.server.url("/dicom-web/studies"))
            .bearer_auth(token(user))
            .header("content-type", web::stow_content_type())
            .body(web::multipart_body(
                &[("application/dicom", &body)],
                web::BOUNDARY,
            ))
            .send()
            .unwrap();
        assert_eq!(reply.status().as_u16(), expected, "{user} storing");
    }

    // A site cannot add to another site's study (and so come to see it).
    let intruder = w
        .client
        .post(w.server.url("/dicom-web/studies"))
        .bearer_auth(token("site_f"))
        .header("content-type", web::stow_content_type())
        .body(web::multipart_body(
            &[("application/dicom", &extra_slice(&w))],
            web::BOUNDARY,
        ))
        .send()
        .unwrap();
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
                && e["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("not one of the sending site's studies")),
        "{refusals}"
    );
    assert_eq!(w.studies_seen(&token("site_f")), vec![f.clone()]);

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
        assert_eq!(
            w.post(&format!("/api/worklist/{study}/release"), holder, json!({}))
                .0,
            200
        );
    }
}

fn sections(findings: &str, impression: &str) -> Value {
    json!({
        "clinical_information": "Кашель, температура 38.5",
        "technique": "КТ грудной клетки без контраста",
        "comparison": "Нет",
        "findings": findings,
        "impression": impression,
    })
}

#[test]
fn a_report_from_draft_to_signed_addendum_with_its_outputs_and_audit() {
    let w = world();
    let a = w.andijan.clone();
    let rad = w.token("rad1");
    let other = w.token("rad2");
    let draft = |t: &str, findings: &str| {
        w.call(
            Method::PUT,
            &format!("/api/studies/{a}/report/draft"),
            Some(t),
            Some(json!({"template": "ct-chest", "language": "ru", "sections": sections(findings, "Пневмония нижней доли справа")})),
        )
    };
    assert_eq!(draft(&rad, "x").0, 409, "no draft without the reading lock");
    assert_eq!(
        w.post(&format!("/api/worklist/{a}/claim"), &rad, json!({}))
            .0,
        200
    );
    assert_eq!(draft(&other, "x").0, 409, "nor by someone else");
    let (status, report) = draft(&rad, "Инфильтрат в нижней доле правого лёгкого.");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["status"], "in_progress");
    assert_eq!(report["can_sign"], true);

    // The site sees no draft before it is issued.
    let site = w.token("site_a");
    let seen = w.get(&format!("/api/studies/{a}/report"), Some(&site)).1;
    assert!(seen["draft"].is_null(), "{seen}");
    assert_eq!(
        w.post(
            &format!("/api/studies/{a}/report/preliminary"),
            &rad,
            json!({})
        )
        .0,
        200
    );
    let seen = w.get(&format!("/api/studies/{a}/report"), Some(&site)).1;
    assert_eq!(seen["status"], "preliminary");
    assert_eq!(
        seen["draft"]["sections"]["impression"],
        "Пневмония нижней доли справа"
    );

    // A key image and a critical finding travel with the report.
    let series = w
        .get(&format!("/dicom-web/studies/{a}/series"), Some(&rad))
        .1;
    let series_uid = web::string_value(&series[0], "0020000E").unwrap();
    let instances = w
        .get(
            &format!("/dicom-web/studies/{a}/series/{series_uid}/instances"),
            Some(&rad),
        )
        .1;
    let sop = web::string_value(&instances[1], "00080018").unwrap();
    let (status, body) = w.post(
        &format!("/api/studies/{a}/key-images"),
        &rad,
        json!({"series_uid": series_uid, "sop_uid": sop, "frame": 1}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = w.post(
        &format!("/api/studies/{a}/critical"),
        &rad,
        json!({"note": "Пневмоторакс справа"}),
    );
    assert_eq!(status, 200);
    let notes = w.get("/api/notifications", Some(&site)).1;
    assert_eq!(notes[0]["note"], "Пневмоторакс справа", "{notes}");
    assert_eq!(
        w.post(
            &format!("/api/studies/{a}/critical/acknowledge"),
            &site,
            json!({})
        )
        .0,
        200
    );
    let report = w.get(&format!("/api/studies/{a}/report"), Some(&rad)).1;
    assert_eq!(report["critical"]["acknowledged_by"], "site_a");
    assert!(
        w.get("/api/notifications", Some(&site))
            .1
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Sign: final, immutable, lock released.
    let (status, signed) = w.post(&format!("/api/studies/{a}/report/sign"), &rad, json!({}));
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["status"], "final");
    assert_eq!(signed["versions"][0]["signed_by"], "rad1");
    assert_eq!(signed["versions"][0]["signed_by_name"], "Dr Rahimova");
    assert_eq!(
        signed["versions"][0]["sections"]["findings"],
        "Инфильтрат в нижней доле правого лёгкого."
    );
    assert!(signed["draft"].is_null());
    assert_eq!(
        w.post(&format!("/api/worklist/{a}/claim"), &rad, json!({}))
            .0,
        200,
        "claiming a signed study is allowed"
    );
    let (status, body) = draft(&rad, "changed after signing");
    assert_eq!(status, 409, "a signed report cannot change: {body}");
    assert_eq!(
        w.post(&format!("/api/studies/{a}/report/sign"), &rad, json!({}))
            .0,
        409
    );

    // An addendum needs a reason; it makes the report amended; every version stays.
    assert_eq!(
        w.post(
            &format!("/api/studies/{a}/report/addenda"),
            &rad,
            json!({"text": "no reason"})
        )
        .0,
        400
    );
    let (status, amended) = w.post(
        &format!("/api/studies/{a}/report/addenda"),
        &other,
        json!({"reason": "Уточнение", "text": "Также небольшой плевральный выпот справа."}),
    );
    assert_eq!(status, 200, "{amended}");
    assert_eq!(amended["status"], "amended");
    let versions = amended["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        versions[0]["sections"]["findings"],
        "Инфильтрат в нижней доле правого лёгкого."
    );
    assert_eq!(versions[1]["kind"], "addendum");
    assert_eq!(versions[1]["reason"], "Уточнение");
    assert_eq!(versions[1]["signed_by"], "rad2");

    // The referring doctor reads the final report and its PDF.
    let referrer = w.token("yusupov");
    let theirs = w.get("/api/referrals", Some(&referrer)).1;
    assert_eq!(theirs["studies"][0]["status"], "amended");
    let pdf = w
        .client
        .get(w.server.url(&format!("/api/studies/{a}/report.pdf")))
        .bearer_auth(&referrer)
        .send()
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().unwrap().to_vec();
    check_pdf(
        &pdf,
        &["Пневмония нижней доли справа", "Уточнение", "Dr Rahimova"],
    );

    // FHIR.
    let (status, fhir) = w.get(&format!("/api/studies/{a}/report/fhir"), Some(&referrer));
    assert_eq!(status, 200);
    assert_eq!(fhir["resourceType"], "DiagnosticReport");
    assert_eq!(fhir["status"], "amended");
    assert_eq!(fhir["conclusion"], "Пневмония нижней доли справа");

    // The report went into the study as DICOM (Encapsulated PDF), which
    // did not flag the study as having new images.
    let series = w
        .get(&format!("/dicom-web/studies/{a}/series"), Some(&rad))
        .1;
    let docs: Vec<&Value> = series
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| web::string_value(s, "00080060").as_deref() == Some("DOC"))
        .collect();
    assert_eq!(
        docs.len(),
        2,
        "one report object per signed version: {series}"
    );
    let task = w.get("/api/worklist?status=all", Some(&rad)).1;
    let task = task["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["study_uid"] == a.as_str())
        .unwrap()
        .clone();
    assert_eq!(task["new_images"], false);

    // New images after the report flag the study.
    let reply = w
        .client
        .post(w.server.url("/dicom-web/studies"))
        .bearer_auth(w.token("site_a"))
        .header("content-type", web::stow_content_type())
        .body(web::multipart_body(
            &[("application/dicom", &extra_slice(&w))],
            web::BOUNDARY,
        ))
        .send()
        .unwrap();
    assert_eq!(reply.status(), 200);
    let task = w.get("/api/worklist?status=all", Some(&rad)).1;
    let task = task["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["study_uid"] == a.as_str())
        .unwrap()
        .clone();
    assert_eq!(task["new_images"], true, "{task}");

    // The audit trail has each step, with who, what and where from.
    let admin = w.token("admin");
    let (status, _) = w.call(
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": "rad1", "password": "wrong password!"})),
    );
    assert_eq!(status, 401);
    let audit = w.get("/api/audit?limit=1000", Some(&admin)).1;
    let events = audit["events"].as_array().unwrap();
    let has = |user: &str, action: &str, study: Option<&str>| {
        events.iter().any(|e| {
            e["user"] == user
                && e["action"] == action
                && study.is_none_or(|s| e["study_uid"] == s)
                && e["address"] == "127.0.0.1"
        })
    };
    for (user, action, study) in [
        ("rad1", "login", None),
        ("rad1", "login_failed", None),
        ("token gateway (andijan)", "store", None),
        ("AE FERGANA_CT", "store", Some(w.fergana.as_str())),
        ("rad1", "study_view", Some(a.as_str())),
        ("rad1", "lock_claim", Some(a.as_str())),
        ("rad1", "report_draft", Some(a.as_str())),
        ("rad1", "report_sign", Some(a.as_str())),
        ("rad2", "report_addendum", Some(a.as_str())),
        ("rad1", "export", Some(a.as_str())),
        ("yusupov", "export", Some(a.as_str())),
        ("site_a", "critical_acknowledge", Some(a.as_str())),
    ] {
        assert!(
            has(user, action, study),
            "no {action} by {user} in the audit trail"
        );
    }
    let csv = w
        .client
        .get(w.server.url("/api/audit/export?action=report_sign"))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(csv.starts_with("id,at,user,role,action,study_uid"));
    assert!(
        csv.lines().count() == 2 && csv.contains("report_sign"),
        "{csv}"
    );
}

/// Another slice of the Andijan study: a copy of the first with a new SOP
/// Instance UID.
fn extra_slice(w: &World) -> Vec<u8> {
    let mut obj = dicom_object::open_file(&w.andijan_files[0]).unwrap();
    let uid = format!(
        "{}.99",
        obj.element_by_name("SOPInstanceUID")
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
    );
    obj.put(dicom_object::mem::InMemElement::new(
        dicom_dictionary_std::tags::SOP_INSTANCE_UID,
        dicom_core::VR::UI,
        dicom_core::PrimitiveValue::from(uid.as_str()),
    ));
    let meta = obj.meta_mut();
    meta.media_storage_sop_instance_uid = uid.clone();
    if uid.len() % 2 == 1 {
        meta.media_storage_sop_instance_uid.push('\0');
    }
    meta.update_information_group_length();
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

/// The PDF holds `texts` (pdftotext) and page 1 renders with dark text
/// on white (pdftoppm).
fn check_pdf(pdf: &[u8], texts: &[&str]) {
    if !web::tool_or_skip("/usr/bin/pdftoppm", "PDF rendering") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("/usr/bin/pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for t in texts {
        assert!(text.contains(t), "the PDF lacks {t:?}:\n{text}");
    }
    let out = std::process::Command::new("/usr/bin/pdftoppm")
        .args(["-png", "-r", "40", "-f", "1", "-l", "1"])
        .arg(&file)
        .arg(dir.path().join("page"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "png"))
        .unwrap();
    let page = image::open(png).unwrap().to_luma8();
    let dark = page.pixels().filter(|p| p.0[0] < 100).count();
    let white = page.pixels().filter(|p| p.0[0] > 240).count();
    let total = (page.width() * page.height()) as usize;
    assert!(
        dark > total / 200,
        "page 1 has text: {dark} dark of {total}"
    );
    assert!(
        white > total / 2,
        "page 1 is mostly paper: {white} of {total}"
    );
}

#[test]
fn repeated_wrong_passwords_lock_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_user(&data, "rad1", "radiologist", &[]);
    let server = Server::start(&data);
    let client = http();
    let attempt = |password: &str| {
        client
            .post(server.url("/api/auth/login"))
            .json(&json!({"username": "rad1", "password": password}))
            .send()
            .unwrap()
    };
    for _ in 0..4 {
        assert_eq!(attempt("wrong password").status(), 401);
    }
    let locked = attempt("wrong password");
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    let right = attempt(PASSWORD);
    assert_eq!(right.status(), 429, "locked even with the right password");
    let body: Value = right.json().unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("try again"),
        "{body}"
    );
    // An unknown user gets the same answer as a wrong password.
    let unknown = client
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "nobody", "password": "whatever it is"}))
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 401);
    // An operator's new password unlocks it.
    common::accounts::pacs_cli(&data, &["user", "passwd", "rad1"], &format!("{PASSWORD}\n"));
    assert_eq!(attempt(PASSWORD).status(), 200);

    // Guesses sent all at once do not outrun the lock: at most five are
    // checked, and the right password right after them is refused too.
    let url = server.url("/api/auth/login");
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                http()
                    .post(url)
                    .json(&json!({"username": "rad1", "password": format!("guess {i}")}))
                    .send()
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = guesses.into_iter().map(|g| g.join().unwrap()).collect();
    assert!(
        statuses.iter().filter(|s| **s == 401).count() <= 4,
        "{statuses:?}"
    );
    assert_eq!(attempt(PASSWORD).status(), 429, "{statuses:?}");

    // A new password signs out the sessions opened with the old one.
    common::accounts::pacs_cli(&data, &["user", "passwd", "rad1"], &format!("{PASSWORD}\n"));
    let token = common::accounts::login(&client, &server.url(""), "rad1");
    let me = |t: &str| {
        client
            .get(server.url("/api/auth/me"))
            .bearer_auth(t)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(me(&token), 200);
    common::accounts::pacs_cli(&data, &["user", "passwd", "rad1"], &format!("{PASSWORD}\n"));
    assert_eq!(me(&token), 401);
}

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

#[test]
fn without_accounts_the_archive_refuses_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pacs"))
        .args([
            "serve",
            "--http-addr",
            "0.0.0.0:0",
            "--dicom-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pacs user add"), "{err}");

    // On loopback it answers requests addressed to localhost only, so a
    // web page that rebinds its name to 127.0.0.1 gets nothing.
    let server = Server::start(&dir.path().join("open"));
    let client = http();
    let ask = |host: &str| {
        client
            .get(server.url("/dicom-web/studies"))
            .header("host", host)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ask(&format!("127.0.0.1:{}", server.http.port())), 200);
    assert_eq!(ask("localhost"), 200);
    assert_eq!(ask("rebinding.example"), 403);
}

#[test]
fn a_study_is_shared_by_read_only_link_and_as_a_deidentified_copy() {
    let w = world();
    let (a, f) = (w.andijan.clone(), w.fergana.clone());
    let rad = w.token("rad1");
    assert_eq!(
        w.post(
            &format!("/api/studies/{a}/share-link"),
            &w.token("site_a"),
            json!({})
        )
        .0,
        403,
        "sites do not share"
    );
    let (status, link) = w.post(
        &format!("/api/studies/{a}/share-link"),
        &rad,
        json!({"hours": 2}),
    );
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with("/share/"), "{url}");

    // Opening the link sets a session limited to that study, read-only.
    let browser = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = browser.get(w.server.url(url)).send().unwrap();
    assert_eq!(opened.status(), 303);
    assert_eq!(
        opened.headers()["location"],
        format!("/viewer?study={a}").as_str()
    );
    let cookie = opened.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let with_link = |path: &str| {
        browser
            .get(w.server.url(path))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(with_link(&format!("/dicom-web/studies/{a}/metadata")), 200);
    assert_eq!(with_link(&format!("/dicom-web/studies/{f}/metadata")), 403);
    assert_eq!(with_link(&format!("/api/studies/{a}/report")), 200);
    assert_eq!(with_link("/api/worklist"), 403);
    let listed: Value = browser
        .get(w.server.url("/dicom-web/studies"))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "a link sees its study only"
    );
    assert_eq!(
        browser
            .get(w.server.url("/share/not-a-link"))
            .send()
            .unwrap()
            .status(),
        404
    );

    // A de-identified copy: a new study, pseudonymous, same pixels.
    let (status, copy) = w.post(&format!("/api/studies/{a}/deidentify"), &rad, json!({}));
    assert_eq!(status, 200, "{copy}");
    let new_uid = copy["study_uid"].as_str().unwrap().to_owned();
    assert_ne!(new_uid, a);
    assert_eq!(copy["instances"], 3);
    let studies = w
        .get(
            &format!("/dicom-web/studies?StudyInstanceUID={new_uid}"),
            Some(&rad),
        )
        .1;
    let study = &studies[0];
    let name = web::alphabetic(study).unwrap_or_default().to_owned();
    assert!(
        name.starts_with("ANON"),
        "pseudonymous name: {name} in {study}"
    );
    assert_ne!(
        web::string_value(study, "00100020"),
        Some("IVANOV-1".into())
    );
    let original = w
        .get(
            &format!("/dicom-web/studies?StudyInstanceUID={a}"),
            Some(&rad),
        )
        .1;
    assert_ne!(
        web::string_value(study, "00100020"),
        web::string_value(&original[0], "00100020")
    );
    let audit = w.get("/api/audit?action=share", Some(&w.token("admin"))).1;
    let details: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        details.iter().any(|d| d.contains("read-only link")),
        "{details:?}"
    );
    assert!(details.iter().any(|d| d.contains(&new_uid)), "{details:?}");
}
