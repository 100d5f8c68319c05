//! Where the archive listens and whom it believes while it has no
//! accounts, and how browsers' cross-site requests are refused in both
//! modes, against the real server.

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

use common::Server;
use common::accounts::add_user;
use serde_json::Value;
use two_sites::{http, world};

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

/// Starts `pacs serve --data-dir DIR ARGS`: `Ok(())` once it is ready
/// (then stopped), `Err(standard error)` when it refuses to start.
fn serve_starts(data_dir: &Path, args: &[&str]) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pacs"))
        .arg("serve")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("pacs ready ") {
                let _ = tx.send(());
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if rx.try_recv().is_ok() {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(());
        }
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("pacs serve {args:?} neither started nor refused to");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn without_accounts_or_sites_dimse_refuses_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let public_dicom = ["--http-addr", "127.0.0.1:0", "--dicom-addr", "0.0.0.0:0"];
    let err = serve_starts(&data, &public_dicom).expect_err("refused without accounts or sites");
    assert!(
        err.contains("pacs user add") && err.contains("pacs site add"),
        "{err}"
    );
    // Loopback stays open, as the demo runs.
    let loopback = ["--http-addr", "127.0.0.1:0", "--dicom-addr", "127.0.0.1:0"];
    serve_starts(&data, &loopback).unwrap();
    // A site list admits only its callers: then any address will do.
    common::accounts::pacs_cli(&data, &["site", "add", "north", "--aet", "NORTH_CT"], "");
    serve_starts(&data, &public_dicom).unwrap();
    // So does an account, which admits only sites' callers.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    add_user(&other, "admin", "admin", &[]);
    serve_starts(&other, &public_dicom).unwrap();
}

#[test]
fn without_accounts_a_page_elsewhere_cannot_change_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("open"));
    let (spec, files) = common::ct_files(
        &dir.path().join("ct"),
        1,
        41,
        dicom_samples::SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    web::stow_ok(&server, &[&std::fs::read(&files[0]).unwrap()]);
    let study = spec.study.study_uid;
    let client = http();
    // A PUT is not what a page can make a browser send without asking
    // first, but the same holds for POST.
    let set_priority_as = |content_type: &str, priority: &str, from: &[(&str, &str)]| {
        let mut request = client
            .put(server.url(&format!("/api/worklist/{study}/priority")))
            .header("content-type", content_type)
            .body(format!(r#"{{"priority":"{priority}"}}"#));
        for (name, value) in from {
            request = request.header(*name, *value);
        }
        let response = request.send().unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    let set_priority =
        |priority: &str, from: &[(&str, &str)]| set_priority_as("application/json", priority, from);
    let current = || {
        let list: Value = client
            .get(server.url("/api/worklist?status="))
            .send()
            .unwrap()
            .json()
            .unwrap();
        list["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["study_uid"] == study.as_str())
            .map(|t| t["priority"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let before = current();

    for from in [
        [
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ]
        .as_slice(),
        // Browsers without Sec-Fetch-Site still send the page's origin.
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        // Another program's page on this machine.
        &[
            ("origin", "http://localhost:3000"),
            ("sec-fetch-site", "same-site"),
        ],
    ] {
        let (status, text) = set_priority("stat", from);
        assert_eq!(status, 403, "{from:?}: {text}");
        assert!(text.contains("only from its own pages"), "{text}");
    }
    assert_eq!(current(), before, "nothing changed");

    // The archive's own pages and clients that are not browsers.
    let own = format!("http://127.0.0.1:{}", server.http.port());
    let (status, text) = set_priority(
        "urgent",
        &[("origin", &own), ("sec-fetch-site", "same-origin")],
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(current(), "urgent");
    let (status, text) = set_priority("stat", &[]);
    assert_eq!(status, 200, "{text}");
    assert_eq!(current(), "stat");
    // What a form or plain text can carry is not taken for JSON, even
    // from the archive's own address.
    let (status, text) = set_priority_as("text/plain", "routine", &[]);
    assert_eq!(status, 415, "{text}");
    assert!(text.contains("Content-Type: application/json"), "{text}");
    assert_eq!(current(), "stat");
    // Reading from elsewhere is the browser's business (no CORS headers).
    let read = client
        .get(server.url("/dicom-web/studies"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .unwrap();
    assert_eq!(read.status().as_u16(), 200);
    assert!(
        read.headers().get("access-control-allow-origin").is_none(),
        "no page elsewhere may read the answer"
    );
}

#[test]
fn with_accounts_a_proxy_may_rewrite_host_but_other_pages_are_refused() {
    let w = world();
    let study = w.andijan.clone();
    let token = w.token("rad1");
    let claim = |from: &[(&str, &str)]| {
        let mut request = w
            .client
            .post(w.server.url(&format!("/api/worklist/{study}/claim")))
            .bearer_auth(&token);
        for (name, value) in from {
            request = request.header(*name, *value);
        }
        request.send().unwrap().status().as_u16()
    };
    // The browser says the page was elsewhere: refused, session or not.
    assert_eq!(
        claim(&[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site")
        ]),
        403
    );
    // Plain http through a proxy that passes its own Host on: the origin
    // differs from the address the archive sees, and no Sec-Fetch-Site
    // says more. A bearer token is never sent by the browser on its own.
    assert_eq!(claim(&[("origin", "http://pacs.hospital.local")]), 200);
    // A session cookie is, even for a page of the same site (another
    // port): such a change must come from the archive's own address.
    let cookie = format!("pacs_session={token}");
    let by_cookie = |from: &[(&str, &str)]| {
        let mut request = w
            .client
            .post(w.server.url(&format!("/api/worklist/{study}/release")))
            .header("cookie", &cookie);
        for (name, value) in from {
            request = request.header(*name, *value);
        }
        let reply = request.send().unwrap();
        let status = reply.status().as_u16();
        (status, reply.text().unwrap())
    };
    let (status, said) = by_cookie(&[("origin", "http://127.0.0.1:8080")]);
    assert_eq!(status, 403, "{said}");
    assert!(said.contains("only from its own pages"), "{said}");
    // ... as a proxy may say in X-Forwarded-Host.
    let (status, said) = by_cookie(&[
        ("origin", "http://pacs.hospital.local"),
        ("x-forwarded-host", "pacs.hospital.local"),
    ]);
    assert_eq!(status, 200, "{said}");
}
