//! The forwarding page in real headless Chromium: a study that could not
//! be delivered shows with its patient (Cyrillic), its state in the page's
//! language and the reason; the operator's Retry delivers it once the node
//! is up, and the job's history tells what happened.
//!
//! Needs the built viewer, `chromium` and `chromedriver` (see
//! `viewer_browser.rs`), and dcmtk's `storescp`.

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::time::Duration;

use common::{Server, ct_files};
use dicom_samples::SampleTransferSyntax;
use scu::StoreScp;
use test_support::browser;

const LIMIT: Duration = Duration::from_secs(90);

#[test]
fn an_operator_sees_a_failed_forward_and_retries_it() {
    let Some(viewer) =
        browser::viewer_dir_or_skip("an_operator_sees_a_failed_forward_and_retries_it")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // Down until the test starts it, and nobody else's meanwhile.
    let down = test_support::ClosedPort::new().expect("a held port");
    let port = down.port();
    let config = dir.path().join("edge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [[dicom_nodes]]
            ae_title = "WORKSTATION"
            host = "127.0.0.1"
            port = {port}

            [[forward.destinations]]
            name = "workstation"
            dicom_node = "WORKSTATION"
            max_attempts = 1

            [[forward.rules]]
            to = ["workstation"]
            send = "each-instance"
            "#
        ),
    )
    .expect("config written");
    let server = Server::start_with(
        &dir.path().join("edge"),
        Some(&config),
        &["--viewer-dir", viewer.to_str().expect("utf-8 path")],
    );
    let (_spec, files) = ct_files(
        &dir.path().join("outgoing"),
        2,
        41,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let bytes: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("readable"))
        .collect();
    web::stow_ok(&server, &[&bytes[0], &bytes[1]]);

    let on = &server;
    browser::in_session(1280, 800, |client| async move {
        let server = on;
        client
            .goto(&server.url("/forwarding?lang=ru"))
            .await
            .expect("the page opens");
        browser::wait_until(
            &client,
            "the failed job",
            "return !!document.querySelector('tr.job-row[data-state=failed]');",
            LIMIT,
        )
        .await;
        let row = browser::eval(
            &client,
            "const r = document.querySelector('tr.job-row[data-state=failed]');
             return {
               patient: r.querySelector('.patient-name').textContent,
               state: r.querySelector('.state-name').textContent,
               error: r.querySelector('.job-error').textContent,
               progress: r.querySelector('.progress-text').textContent,
               card: document.querySelector('[data-destination=workstation]').textContent,
             };",
            vec![],
        )
        .await;
        assert!(
            row["patient"]
                .as_str()
                .is_some_and(|p| p.contains("Иванов")),
            "{row}"
        );
        assert_eq!(row["state"], "Не доставлено", "{row}");
        assert!(
            row["error"]
                .as_str()
                .is_some_and(|e| e.contains("127.0.0.1")),
            "the reason is shown: {row}"
        );
        assert_eq!(row["progress"], "0 / 2", "{row}");
        assert!(
            row["card"]
                .as_str()
                .is_some_and(|c| c.contains("Не доставлено 1")),
            "{row}"
        );

        // The node comes up; the operator retries from the page.
        let _node = StoreScp::start_on(
            &dir.path().join("received"),
            "WORKSTATION",
            down.release(),
            &[],
        );
        browser::eval(
            &client,
            "document.querySelector('tr.job-row[data-state=failed] [data-action=retry]').click();",
            vec![],
        )
        .await;
        browser::wait_until(
            &client,
            "the delivered job",
            "const r = document.querySelector('tr.job-row[data-state=delivered]');
             return !!r && r.querySelector('.progress-text').textContent === '2 / 2';",
            LIMIT,
        )
        .await;

        // Its history, from a click on the row.
        browser::eval(
            &client,
            "document.querySelector('tr.job-row td.destination').click();",
            vec![],
        )
        .await;
        browser::wait_until(
            &client,
            "the job's history",
            "return document.querySelectorAll('#forward-history [data-event]').length > 0;",
            LIMIT,
        )
        .await;
        let events = browser::eval(
            &client,
            "return [...document.querySelectorAll('#forward-history [data-event]')]
                .map(e => e.dataset.event);",
            vec![],
        )
        .await;
        assert_eq!(
            events,
            serde_json::json!([
                "queued",
                "sending",
                "dead-letter",
                "retry",
                "sending",
                "delivered"
            ]),
        );
    });
    server.stop();
}
