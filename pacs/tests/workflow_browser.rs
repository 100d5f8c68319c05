//! The whole reading workflow in real headless Chromium: a site uploads a
//! study; a radiologist signs in, opens it from the worklist, writes the
//! report in the panel beside the images (saved as typed), signs it; the
//! referring doctor signs in and reads the final report. Then the audit
//! trail is checked for each of those steps.
//!
//! Needs the built viewer, `chromium` and `chromedriver` (see
//! `viewer_browser.rs`).

mod common;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::time::Duration;

use common::Server;
use common::accounts::{PASSWORD, add_site, add_user, login};
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax};
use serde_json::{Value, json};
use test_support::browser::{self, Driver};

const LIMIT: Duration = Duration::from_secs(90);

const FINDINGS: &str = "Инфильтрат в нижней доле правого лёгкого.";
const IMPRESSION: &str = "Правосторонняя нижнедолевая пневмония.";

async fn sign_in(client: &fantoccini::Client, user: &str) {
    browser::wait_until(
        client,
        "the sign-in form",
        "return !!document.querySelector('#login-username');",
        LIMIT,
    )
    .await;
    browser::eval(
        client,
        "const [user, password] = arguments;
         const set = (id, v) => {
           const e = document.querySelector(id);
           e.value = v;
           e.dispatchEvent(new Event('input', { bubbles: true }));
         };
         set('#login-username', user);
         set('#login-password', password);
         document.querySelector('#login-submit').click();",
        vec![json!(user), json!(PASSWORD)],
    )
    .await;
}

#[test]
fn a_site_uploads_a_radiologist_reports_and_the_referrer_reads_it() {
    let Some(viewer) = browser::viewer_dir_or_skip(
        "a_site_uploads_a_radiologist_reports_and_the_referrer_reads_it",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    add_site(&data, "andijan", "ANDIJAN_CT", "urgent");
    add_user(&data, "admin", "admin", &[]);
    add_user(
        &data,
        "rahimova",
        "radiologist",
        &["--display-name", "Dr Rahimova"],
    );
    add_user(
        &data,
        "karimov",
        "radiologist",
        &["--display-name", "Dr Karimov"],
    );
    add_user(&data, "andijan-desk", "site", &["--site", "andijan"]);
    add_user(
        &data,
        "yusupov",
        "referrer",
        &["--physician", "Yusupov^Akmal"],
    );
    let server = Server::start_with(
        &data,
        None,
        &["--viewer-dir", viewer.to_str().expect("utf-8 path")],
    );
    let http = common::http();
    let root = server.url("");

    // The site uploads its study over STOW-RS with its own account.
    let spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), 77)
        .with_slices(4)
        .with_matrix(128, 128);
    let study = spec.study.study_uid.clone();
    let files = dicom_samples::write_ct_series(
        &spec,
        &dir.path().join("study"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("study written");
    let bodies: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("readable"))
        .collect();
    let parts: Vec<(&str, &[u8])> = bodies
        .iter()
        .map(|b| ("application/dicom", b.as_slice()))
        .collect();
    let site_token = login(&http, &root, "andijan-desk");
    let stored = http
        .post(server.url("/dicom-web/studies"))
        .bearer_auth(&site_token)
        .header("content-type", web::stow_content_type())
        .body(web::multipart_body(&parts, web::BOUNDARY))
        .send()
        .expect("STOW");
    assert_eq!(stored.status(), 200);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let driver = Driver::start();
        let client = browser::open(&driver, 1400, 900).await;

        // The radiologist signs in and finds the study on the worklist.
        client
            .goto(&server.url("/worklist?lang=ru"))
            .await
            .expect("the worklist opens");
        sign_in(&client, "rahimova").await;
        let row = format!("tr[data-study-uid='{study}']");
        browser::wait_until(
            &client,
            "the study on the worklist",
            &format!("return !!document.querySelector(\"{row}\");"),
            LIMIT,
        )
        .await;
        let listed = browser::eval(
            &client,
            &format!(
                "const r = document.querySelector(\"{row}\");
                 return {{ priority: r.dataset.priority, status: r.dataset.status, text: r.textContent }};"
            ),
            vec![],
        )
        .await;
        assert_eq!(listed["priority"], "urgent", "{listed}");
        assert_eq!(listed["status"], "scheduled", "{listed}");
        assert!(
            listed["text"].as_str().is_some_and(|t| t.contains("Иванов")),
            "the patient's Cyrillic name: {listed}"
        );

        // A colleague began the report and gave the study up.
        for (method, path, body) in [
            ("POST", format!("/api/worklist/{study}/claim"), json!({})),
            (
                "PUT",
                format!("/api/studies/{study}/report/draft"),
                json!({"language": "ru", "sections": {"findings": "Начато коллегой."}}),
            ),
            ("POST", format!("/api/worklist/{study}/release"), json!({})),
        ] {
            let status = as_user(&server, "karimov", method, &path, body).await;
            assert_eq!(status, 200, "{method} {path}");
        }

        // This browser kept text from an earlier session, typed before the
        // colleague saved his draft: his newer words must not be overwritten.
        browser::eval(
            &client,
            "localStorage.setItem(arguments[0], JSON.stringify({
                 template: null,
                 sections: { clinical_information: '', technique: '', comparison: '',
                             findings: 'Старый текст этого браузера.', impression: '' },
                 base: { updated_at: null } }));",
            vec![json!(format!("pacs.report-draft.{study}"))],
        )
        .await;

        // Open: the study is claimed and opens with the report panel.
        browser::eval(
            &client,
            &format!("document.querySelector(\"{row} [data-action=open]\").click();"),
            vec![],
        )
        .await;
        browser::wait_until(
            &client,
            "the report panel, editable",
            "const f = document.querySelector('#report-section-findings');
             return !!f && !f.readOnly && !f.disabled;",
            LIMIT,
        )
        .await;
        let url = client.current_url().await.expect("url");
        assert!(url.as_str().contains(&study), "{url}");
        // Whose draft it is, until she saves her own words.
        browser::wait_until(
            &client,
            "the colleague's draft, named",
            "const s = document.querySelector('#report-save-state')?.textContent || '';
             return s.includes('Черновик karimov, сохранён в');",
            LIMIT,
        )
        .await;
        let kept = browser::eval(
            &client,
            "return { findings: document.querySelector('#report-section-findings').value,
                      notice: document.querySelector('#report-notice').textContent };",
            vec![],
        )
        .await;
        assert_eq!(kept["findings"], "Начато коллегой.", "{kept}");
        assert!(
            kept["notice"]
                .as_str()
                .is_some_and(|n| n.contains("не восстановлен") && n.contains("karimov")),
            "{kept}"
        );
        let (_, task) = api(&server, "rahimova", "/api/worklist?status=all").await;
        assert_eq!(task["tasks"][0]["lock"]["holder"], "rahimova", "{task}");

        // Writing: saved on the server as typed.
        browser::eval(
            &client,
            "const [findings, impression] = arguments;
             const set = (id, v) => {
               const e = document.querySelector(id);
               e.value = v;
               e.dispatchEvent(new Event('input', { bubbles: true }));
             };
             set('#report-section-findings', findings);
             set('#report-section-impression', impression);",
            vec![json!(FINDINGS), json!(IMPRESSION)],
        )
        .await;
        browser::wait_until(
            &client,
            "the draft saved",
            "return document.querySelector('#report-save-state')?.dataset.state === 'saved';",
            LIMIT,
        )
        .await;
        let (_, report) = api(&server, "rahimova", &format!("/api/studies/{study}/report")).await;
        assert_eq!(report["draft"]["sections"]["findings"], FINDINGS, "{report}");
        assert_eq!(report["draft"]["author"], "rahimova", "{report}");
        let line = browser::eval(
            &client,
            "return document.querySelector('#report-save-state').textContent;",
            vec![],
        )
        .await;
        assert!(
            line.as_str().is_some_and(|l| l.starts_with("Черновик сохранён в")),
            "{line}"
        );

        // Signing, confirmed.
        browser::eval(&client, "document.querySelector('#report-sign').click();", vec![]).await;
        browser::wait_until(
            &client,
            "the confirmation",
            "return !!document.querySelector('#report-sign-confirm');",
            LIMIT,
        )
        .await;
        browser::eval(
            &client,
            "document.querySelector('#report-sign-confirm').click();",
            vec![],
        )
        .await;
        browser::wait_until(
            &client,
            "the signed report",
            "return document.querySelector('#report-status')?.dataset.status === 'final';",
            LIMIT,
        )
        .await;
        let read_only = browser::eval(
            &client,
            "const f = document.querySelector('#report-section-findings');
             return !f || f.readOnly || f.disabled;",
            vec![],
        )
        .await;
        assert_eq!(read_only, json!(true), "a signed report cannot be edited");

        // From the worklist the signed study opens straight away, with no
        // lock to keep a colleague's addendum out, ready for an addendum.
        client
            .goto(&server.url("/worklist?status=all&lang=ru"))
            .await
            .expect("the worklist opens");
        browser::wait_until(
            &client,
            "the signed study on the worklist",
            &format!("return document.querySelector(\"{row}\")?.dataset.status === 'final';"),
            LIMIT,
        )
        .await;
        browser::eval(
            &client,
            &format!("document.querySelector(\"{row} [data-action=open]\").click();"),
            vec![],
        )
        .await;
        browser::wait_until(
            &client,
            "the signed report, open for an addendum",
            "const b = document.querySelector('#report-addendum');
             return !!b && !b.hidden
               && document.querySelector('#report-status')?.dataset.status === 'final';",
            LIMIT,
        )
        .await;
        let (_, task) = api(&server, "rahimova", "/api/worklist?status=all").await;
        assert!(task["tasks"][0]["lock"].is_null(), "{task}");

        // A colleague's addendum comes in while she writes hers: hers is
        // refused, his is shown, and the dialog comes back with her words.
        let path = format!("/api/studies/{study}/report/addenda");
        let his = json!({"reason": "Сравнение", "text": "Его дополнение.", "after_version": 1});
        assert_eq!(as_user(&server, "karimov", "POST", &path, his).await, 200);
        browser::eval(&client, "document.querySelector('#report-addendum').click();", vec![]).await;
        browser::wait_until(
            &client,
            "the addendum dialog",
            "return !!document.querySelector('#report-addendum-text');",
            LIMIT,
        )
        .await;
        let fill = "const set = (id, v) => {
               const e = document.querySelector(id);
               e.value = v;
               e.dispatchEvent(new Event('input', { bubbles: true }));
             };
             set('#report-addendum-reason', 'Уточнение');
             set('#report-addendum-text', 'Её дополнение.');
             document.querySelector('#report-addendum-submit').click();";
        browser::eval(&client, fill, vec![]).await;
        browser::wait_until(
            &client,
            "the dialog again, with the refusal and her words",
            "const t = document.querySelector('#dialog-text')?.textContent || '';
             return t.includes('added version 2')
               && document.querySelector('#report-addendum-text')?.value === 'Её дополнение.';",
            LIMIT,
        )
        .await;
        browser::eval(
            &client,
            "document.querySelector('#report-addendum-submit').click();",
            vec![],
        )
        .await;
        browser::wait_until(
            &client,
            "the report amended by both",
            "return !!document.querySelector('article[data-version=\"3\"]')
               && !document.querySelector('#dialog');",
            LIMIT,
        )
        .await;
        let (_, report) = api(&server, "rahimova", &format!("/api/studies/{study}/report")).await;
        let authors: Vec<&str> = report["versions"]
            .as_array()
            .expect("versions")
            .iter()
            .filter_map(|v| v["signed_by"].as_str())
            .collect();
        assert_eq!(authors, ["rahimova", "karimov", "rahimova"], "{report}");

        // Sign out; the referring doctor signs in and reads it.
        browser::eval(&client, "document.querySelector('#sign-out').click();", vec![]).await;
        client
            .goto(&server.url("/referrals?lang=ru"))
            .await
            .expect("the referrals page opens");
        sign_in(&client, "yusupov").await;
        let referral = format!("[data-study-uid='{study}']");
        browser::wait_until(
            &client,
            "the study on the referrals page",
            &format!("return !!document.querySelector(\"{referral}\");"),
            LIMIT,
        )
        .await;
        browser::eval(
            &client,
            &format!("document.querySelector(\"{referral}\").click();"),
            vec![],
        )
        .await;
        browser::wait_until(
            &client,
            "the final report",
            "return (document.querySelector('#referral-report')?.textContent || '').length > 0;",
            LIMIT,
        )
        .await;
        let shown = browser::eval(
            &client,
            "return {
               report: document.querySelector('#referral-report').textContent,
               pdf: document.querySelector('#referral-pdf')?.getAttribute('href'),
               editors: document.querySelectorAll('#report-sign, #report-section-findings:not([readonly])').length,
             };",
            vec![],
        )
        .await;
        let text = shown["report"].as_str().unwrap_or_default();
        assert!(text.contains(FINDINGS) && text.contains(IMPRESSION), "{shown}");
        assert!(text.contains("Dr Rahimova"), "the signer is shown: {shown}");
        assert!(
            shown["pdf"].as_str().is_some_and(|h| h.contains("report.pdf")),
            "{shown}"
        );
        assert_eq!(shown["editors"], 0, "no editing for the referrer: {shown}");

        // A critical finding flagged again while the page shows the first
        // note: acknowledging what was shown is refused, the page shows
        // both notes, and only then is the whole acknowledged.
        let critical = format!("/api/studies/{study}/critical");
        let flag = json!({"note": "Пневмоторакс справа"});
        assert_eq!(as_user(&server, "rahimova", "POST", &critical, flag).await, 200);
        client.refresh().await.expect("reloaded");
        browser::wait_until(
            &client,
            "the finding to acknowledge",
            "return !!document.querySelector('#referral-acknowledge');",
            LIMIT,
        )
        .await;
        let again = json!({"note": "Также: свободный газ"});
        assert_eq!(as_user(&server, "karimov", "POST", &critical, again).await, 200);
        let click = "document.querySelector('#referral-acknowledge').click();";
        browser::eval(&client, click, vec![]).await;
        browser::wait_until(
            &client,
            "the refusal, and the finding as it now stands",
            "const e = document.querySelector('#referrals-error');
             const note = document.querySelector('#referral-critical .critical-note');
             return !!e && !e.hidden && e.textContent.includes('flagged again')
               && !!note && note.textContent.includes('свободный газ')
               && !!document.querySelector('#referral-acknowledge');",
            LIMIT,
        )
        .await;
        let (_, report) = api(&server, "yusupov", &format!("/api/studies/{study}/report")).await;
        assert!(report["critical"]["acknowledged_by"].is_null(), "{report}");
        browser::eval(&client, click, vec![]).await;
        browser::wait_until(
            &client,
            "the finding acknowledged",
            "return !document.querySelector('#referral-acknowledge')
               && !!document.querySelector('#referral-critical');",
            LIMIT,
        )
        .await;
        let (_, report) = api(&server, "yusupov", &format!("/api/studies/{study}/report")).await;
        assert_eq!(report["critical"]["acknowledged_by"], "yusupov", "{report}");
        let _ = client.close().await;
    });

    // Each step left its record.
    let (_, audit) = runtime.block_on(api(&server, "admin", "/api/audit?limit=500"));
    let events = audit["events"].as_array().expect("events");
    for (user, action) in [
        ("andijan-desk", "login"),
        ("andijan-desk", "store"),
        ("rahimova", "login"),
        ("rahimova", "lock_claim"),
        ("rahimova", "study_view"),
        ("rahimova", "report_draft"),
        ("rahimova", "report_sign"),
        ("rahimova", "logout"),
        ("yusupov", "login"),
        ("yusupov", "report_view"),
    ] {
        assert!(
            events
                .iter()
                .any(|e| e["user"] == user && e["action"] == action),
            "no {action} by {user} in the audit trail"
        );
    }
    server.stop();
}

/// A bearer token for `user`.
async fn token_of(http: &reqwest::Client, server: &Server, user: &str) -> String {
    let signed_in: Value = http
        .post(server.url("/api/auth/login"))
        .json(&json!({ "username": user, "password": PASSWORD }))
        .send()
        .await
        .expect("sign-in")
        .json()
        .await
        .expect("sign-in JSON");
    signed_in["token"].as_str().expect("token").to_owned()
}

/// A `method` on the API as `user` with a JSON `body`: its status.
async fn as_user(server: &Server, user: &str, method: &str, path: &str, body: Value) -> u16 {
    let http = reqwest::Client::new();
    let token = token_of(&http, server, user).await;
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    http.request(method, server.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("API request")
        .status()
        .as_u16()
}

/// A GET on the API as `user`, signed in for it: status and JSON. Async,
/// for use beside the browser's session.
async fn api(server: &Server, user: &str, path: &str) -> (u16, Value) {
    let http = reqwest::Client::new();
    let token = token_of(&http, server, user).await;
    let reply = http
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("API request");
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}
