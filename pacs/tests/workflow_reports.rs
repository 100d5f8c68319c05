//! A report's life against the real server: from draft to signed version
//! and addendum (immutable once signed), key images and a critical
//! finding, its PDF rendered by poppler, its FHIR form, its DICOM copy in
//! the study, the audit trail of each step; and sharing a study by
//! read-only link and as a de-identified copy. Links' lives and a signed-in
//! browser opening one are in `share_links.rs`.

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/two_sites.rs"]
mod two_sites;
#[path = "common/dicomweb_support.rs"]
mod web;

use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use two_sites::{World, extra_slice, world};

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
    // Both refusals are on the trail, with the reason.
    let trail = w
        .get("/api/audit?action=report_draft", Some(&w.token("admin")))
        .1;
    let refused: Vec<&Value> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .collect();
    assert_eq!(refused.len(), 2, "{trail}");
    assert!(
        refused
            .iter()
            .all(|e| e["detail"].as_str().unwrap_or_default().contains("lock")),
        "{trail}"
    );
    let (status, report) = draft(&rad, "Инфильтрат в нижней доле правого лёгкого.");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["status"], "in_progress");
    assert_eq!(report["can_sign"], true);

    // Another radiologist may take the draft over once the lock is given
    // up; the trail says whose words they continue. Then it goes back.
    let claim = |t: &str| w.post(&format!("/api/worklist/{a}/claim"), t, json!({})).0;
    let release = |t: &str| {
        w.post(&format!("/api/worklist/{a}/release"), t, json!({}))
            .0
    };
    assert_eq!(release(&rad), 200);
    assert_eq!(claim(&other), 200);
    assert_eq!(release(&other), 200);
    assert_eq!(claim(&rad), 200);
    let claims = w
        .get("/api/audit?action=lock_claim", Some(&w.token("admin")))
        .1;
    let detail = |user: &str| -> Vec<Value> {
        claims["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["user"] == user)
            .map(|e| e["detail"].clone())
            .collect()
    };
    let taken = detail("rad2");
    assert_eq!(taken.len(), 1, "{claims}");
    let taken = taken[0].as_str().unwrap_or_default();
    assert!(
        taken.starts_with("continues the draft of Dr Rahimova (rad1), last saved 20"),
        "{taken}"
    );
    assert!(
        detail("rad1").iter().all(Value::is_null),
        "the author's own claims continue nobody's draft: {claims}"
    );

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
    // Edits after it is issued are the radiologist's until issued again:
    // the site reads the preliminary as it was issued.
    let issued_findings = seen["draft"]["sections"]["findings"].clone();
    assert_eq!(draft(&rad, "Правка, ещё не выпущенная").0, 200);
    let seen = w.get(&format!("/api/studies/{a}/report"), Some(&site)).1;
    assert_eq!(
        seen["draft"]["sections"]["findings"], issued_findings,
        "{seen}"
    );
    let own = w.get(&format!("/api/studies/{a}/report"), Some(&rad)).1;
    assert_eq!(
        own["draft"]["sections"]["findings"],
        "Правка, ещё не выпущенная"
    );
    assert_eq!(
        draft(&rad, "Инфильтрат в нижней доле правого лёгкого.").0,
        200
    );
    let path = format!("/api/studies/{a}/report/preliminary");
    assert_eq!(w.post(&path, &rad, json!({})).0, 200);

    // A key image and a critical finding travel with the report.
    let (series_uid, sop) = nth_instance(&w, &a, &rad, 1);
    let (status, body) = w.post(
        &format!("/api/studies/{a}/key-images"),
        &rad,
        json!({"series_uid": series_uid, "sop_uid": sop, "frame": 1}),
    );
    assert_eq!(status, 200, "{body}");
    // Only an image of this study, and a frame it has.
    let (fergana_series, fergana_sop) = nth_instance(&w, &w.fergana, &rad, 0);
    for (asked, expected) in [
        (
            json!({"series_uid": fergana_series, "sop_uid": fergana_sop}),
            404,
        ),
        (json!({"series_uid": series_uid, "sop_uid": "1.2.3.4"}), 404),
        (
            json!({"series_uid": series_uid, "sop_uid": sop, "frame": 99999}),
            400,
        ),
    ] {
        let (status, body) = w.post(&format!("/api/studies/{a}/key-images"), &rad, asked.clone());
        assert_eq!(status, expected, "{asked}: {body}");
    }
    let (_, report) = w.get(&format!("/api/studies/{a}/report"), Some(&rad));
    assert_eq!(
        report["key_images"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    let (status, _) = w.post(
        &format!("/api/studies/{a}/critical"),
        &rad,
        json!({"note": "Пневмоторакс справа"}),
    );
    assert_eq!(status, 200);
    let notes = w.get("/api/notifications", Some(&site)).1;
    assert_eq!(notes[0]["note"], "Пневмоторакс справа", "{notes}");
    // A person acknowledges it, not the site's gateway.
    let gateway = common::accounts::site_token(&w.server.data_dir, "andijan");
    let (status, body) = w.post(
        &format!("/api/studies/{a}/critical/acknowledge"),
        &gateway,
        json!({}),
    );
    assert_eq!(status, 403, "{body}");
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
    // A second flag adds to what was said, never replaces it, and is
    // open until acknowledged again.
    let (status, _) = w.post(
        &format!("/api/studies/{a}/critical"),
        &w.token("rad2"),
        json!({"note": "Также: свободный газ"}),
    );
    assert_eq!(status, 200);
    let report = w.get(&format!("/api/studies/{a}/report"), Some(&rad)).1;
    assert_eq!(
        report["critical"]["note"],
        "Пневмоторакс справа\nТакже: свободный газ"
    );
    assert!(report["critical"]["acknowledged_by"].is_null(), "{report}");
    let path = format!("/api/studies/{a}/critical/acknowledge");
    // A page drawn before the second flag acknowledges only what it showed:
    // refused, so the new note is not closed unread.
    let (status, body) = w.post(&path, &site, json!({"note": "Пневмоторакс справа"}));
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("flagged again"), "{body}");
    let shown = report["critical"]["note"].clone();
    assert_eq!(w.post(&path, &site, json!({ "note": shown })).0, 200);
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
    let (status, refused) = w.post(&format!("/api/worklist/{a}/claim"), &rad, json!({}));
    assert_eq!(status, 409, "a signed study is not read again: {refused}");
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
    let active = |w: &World| -> Vec<Value> {
        w.get("/api/worklist", Some(&rad)).1["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .filter(|t| t["study_uid"] == a.as_str())
            .cloned()
            .collect()
    };
    assert!(active(&w).is_empty(), "signed: off the default worklist");

    // New images after the report flag the study, and bring it back to
    // the default worklist: someone must look at them.
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
    let task = active(&w).pop().expect("back on the default worklist");
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
    // The signature, and the refused second one on the signed report.
    assert!(
        csv.lines().count() == 3
            && csv.contains("version 1,127.0.0.1,ok")
            && csv.contains("add an addendum instead,127.0.0.1,refused"),
        "{csv}"
    );
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
    // Without a session cookie (a link followed from mail arrives without
    // the SameSite=Strict one) the archive's own page asks again first.
    let page = browser.get(w.server.url(url)).send().unwrap();
    assert_eq!(page.status(), 200);
    let (again, step) = two_sites::share_second_step(page);
    assert!(again.starts_with(&format!("{url}?via=")), "{again}");
    let opened = browser
        .get(w.server.url(&again))
        .header("cookie", step)
        .send()
        .unwrap();
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
    // The copy is the original's site's: a radiologist reading only that
    // site's studies sees it too.
    let (status, seen) = w.get(
        &format!("/dicom-web/studies?StudyInstanceUID={new_uid}"),
        Some(&w.token("rad_andijan")),
    );
    assert_eq!(status, 200);
    assert_eq!(seen.as_array().map(Vec::len), Some(1), "{seen}");
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

#[test]
fn key_images_are_seen_once_issued_and_on_the_audit_trail() {
    let w = world();
    let a = w.andijan.clone();
    let rad = w.token("rad1");
    assert_eq!(
        w.post(&format!("/api/worklist/{a}/claim"), &rad, json!({}))
            .0,
        200
    );
    let (series_uid, sop) = nth_instance(&w, &a, &rad, 0);
    let (status, body) = w.post(
        &format!("/api/studies/{a}/key-images"),
        &rad,
        json!({"series_uid": series_uid, "sop_uid": sop, "frame": 1}),
    );
    assert_eq!(status, 200, "{body}");

    let referrer = w.token("yusupov");
    let key_image = || {
        w.client
            .get(
                w.server
                    .url(&format!("/api/studies/{a}/key-images/{sop}/1.png")),
            )
            .bearer_auth(&referrer)
            .send()
            .unwrap()
    };
    // The choice of a draft no one has issued is not the referrer's to see.
    assert_eq!(key_image().status(), 404);
    let (_, report) = w.get(&format!("/api/studies/{a}/report"), Some(&referrer));
    assert_eq!(report["key_images"], json!([]), "{report}");
    let (_, report) = w.get(&format!("/api/studies/{a}/report"), Some(&rad));
    assert_eq!(report["key_images"].as_array().map(Vec::len), Some(1));
    let sections = json!({"sections": {"findings": "Очаг.", "impression": "Норма."}});
    assert_eq!(
        w.call(
            Method::PUT,
            &format!("/api/studies/{a}/report/draft"),
            Some(&rad),
            Some(sections)
        )
        .0,
        200
    );
    let issue = format!("/api/studies/{a}/report/preliminary");
    assert_eq!(w.post(&issue, &rad, json!({})).0, 200);
    let (_, report) = w.get(&format!("/api/studies/{a}/report"), Some(&referrer));
    assert_eq!(report["key_images"].as_array().map(Vec::len), Some(1));
    let png = key_image();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let audit = w
        .get(
            "/api/audit?action=study_view&user=yusupov",
            Some(&w.token("admin")),
        )
        .1;
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["study_uid"], a.as_str());
    assert_eq!(
        events[0]["detail"],
        format!("key image {sop} frame 1").as_str()
    );
}

/// A new read-only link to `study` made with `token`; its secret.
/// The series and SOP Instance UID of the study's `n`th instance of its
/// first series, as `token` finds them over QIDO-RS.
fn nth_instance(w: &World, study: &str, token: &str, n: usize) -> (String, String) {
    let series = w
        .get(&format!("/dicom-web/studies/{study}/series"), Some(token))
        .1;
    let series_uid = web::string_value(&series[0], "0020000E").expect("a series");
    let instances = w
        .get(
            &format!("/dicom-web/studies/{study}/series/{series_uid}/instances"),
            Some(token),
        )
        .1;
    let sop = web::string_value(&instances[n], "00080018").expect("the instance");
    (series_uid, sop)
}

#[test]
fn colleagues_addenda_never_cross_unread() {
    let w = world();
    let a = w.andijan.clone();
    let (rad1, rad2) = (w.token("rad1"), w.token("rad2"));
    assert_eq!(
        w.post(&format!("/api/worklist/{a}/claim"), &rad1, json!({}))
            .0,
        200
    );
    let (status, _) = w.call(
        Method::PUT,
        &format!("/api/studies/{a}/report/draft"),
        Some(&rad1),
        Some(json!({"language": "ru", "sections": sections("Норма.", "Без патологии.")})),
    );
    assert_eq!(status, 200);
    assert_eq!(
        w.post(&format!("/api/studies/{a}/report/sign"), &rad1, json!({}))
            .0,
        200
    );

    // Nobody takes a signed study for reading, so nobody keeps a
    // colleague's addendum out with a lock.
    for token in [&rad1, &rad2] {
        let (status, body) = w.post(&format!("/api/worklist/{a}/claim"), token, json!({}));
        assert_eq!(status, 409, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("addendum"),
            "{body}"
        );
    }

    // Both read version 1 and write an addendum; the second to send it
    // is told of the first, reads it, and sends again.
    let addendum = |token: &str, after: Option<u32>, text: &str| {
        let mut body = json!({"reason": "Уточнение", "text": text});
        if let Some(after) = after {
            body["after_version"] = json!(after);
        }
        w.post(&format!("/api/studies/{a}/report/addenda"), token, body)
    };
    let (status, first) = addendum(&rad1, Some(1), "Первое дополнение.");
    assert_eq!(status, 200, "{first}");
    let (status, refused) = addendum(&rad2, Some(1), "Второе дополнение.");
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("Dr Rahimova added version 2"),
        "{refused}"
    );
    let (status, second) = addendum(&rad2, Some(2), "Второе дополнение.");
    assert_eq!(status, 200, "{second}");
    // A client that does not say what it read only adds.
    let (status, third) = addendum(&rad1, None, "Третье дополнение.");
    assert_eq!(status, 200, "{third}");
    let versions: Vec<(i64, &str)> = third["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["signed_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [(1, "rad1"), (2, "rad1"), (3, "rad2"), (4, "rad1")]
    );

    let audit = w
        .get("/api/audit?action=report_addendum", Some(&w.token("admin")))
        .1;
    let refusals: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .filter_map(|e| e["user"].as_str())
        .collect();
    assert_eq!(refusals, ["rad2"], "{audit}");
}
