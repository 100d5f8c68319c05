//! A reading page nobody uses gives its study back, in real headless
//! Chromium: a radiologist takes a study for reading and the page renews
//! the lock while the pointer moves over it; once the page stands unused
//! past the limit, its next renewal gives the study back to the worklist,
//! the page says so, and the draft waits for the study to be taken again.
//!
//! Needs the built viewer, `chromium` and `chromedriver` (see
//! `viewer_browser.rs`).

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/two_sites.rs"]
mod two_sites;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::Value;
use test_support::browser::{self, Driver};
use two_sites::world_configured;

const LIMIT: Duration = Duration::from_secs(90);

/// Runs `f`, which uses the blocking HTTP client, on a thread of its own,
/// out of the browser's async runtime.
fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

/// The lock on `study` as the worklist shows it.
fn lock_of(w: &two_sites::World, study: &str) -> Value {
    blocking(|| w.lock_of(study))
}

async fn take_for_reading(client: &fantoccini::Client) {
    browser::wait_until(
        client,
        "the Take for reading button",
        "const b = document.querySelector('#report-claim');
         return !!b && !b.hidden && !b.disabled;",
        LIMIT,
    )
    .await;
    // A real click: it is the reader's use of the page.
    client
        .find(Locator::Css("#report-claim"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser::wait_until(
        client,
        "the report panel, editable",
        "const f = document.querySelector('#report-section-findings');
         return !!f && !f.readOnly && !f.disabled;",
        LIMIT,
    )
    .await;
}

#[test]
fn a_reading_page_nobody_uses_gives_its_study_back() {
    if browser::viewer_dir_or_skip("a_reading_page_nobody_uses_gives_its_study_back").is_none() {
        return;
    }
    // Short limits: the lock lasts a minute, so the page renews it every
    // 12 s, and 15 s without use is too long.
    let w = world_configured("[reading]\nlock_minutes = 1\nidle_minutes = 0.25\n");
    let a = w.andijan.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let driver = Driver::start();
        let client = browser::open(&driver, 1400, 900).await;
        client.goto(&w.server.url("/healthz")).await.unwrap();
        browser::sign_in_by_fetch(&client, "rad1", common::accounts::PASSWORD).await;
        client
            .goto(&w.server.url(&format!("/viewer?study={a}&lang=en")))
            .await
            .unwrap();
        take_for_reading(&client).await;
        let taken = lock_of(&w, &a);
        assert_eq!(taken["holder"], "rad1");
        assert_eq!(taken["lease_seconds"], 60);

        // In use: the pointer moves over the page every two seconds for
        // longer than two renewals and twice the limit. The lock stays.
        let start = Instant::now();
        let mut step = 0.0;
        while start.elapsed() < Duration::from_secs(32) {
            step += 1.0;
            browser::move_pointer(&client, (300.0 + 20.0 * (step % 10.0), 300.0)).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let held = lock_of(&w, &a);
        assert_eq!(held["holder"], "rad1", "renewed while in use");
        assert!(
            held["expires_at"].as_str() > taken["expires_at"].as_str(),
            "renewed: {held} after {taken}"
        );
        let notice = "return document.querySelector('#report-notice').textContent;";
        assert_eq!(browser::eval(&client, notice, vec![]).await, "");

        // Then nobody touches it: at a renewal past the limit the study
        // goes back to the worklist, and the page says so.
        browser::wait_until(
            &client,
            "the page to say the study went back",
            "return document.querySelector('#report-notice').textContent
                 .includes('went back to the worklist');",
            LIMIT,
        )
        .await;
        assert_eq!(lock_of(&w, &a), Value::Null);
        let editable = "const f = document.querySelector('#report-section-findings');
                        return !f.readOnly && !f.disabled;";
        assert_eq!(browser::eval(&client, editable, vec![]).await, false);
        // A reload does not take it back unasked.
        let intent = "return sessionStorage.getItem('pacs.reading');";
        assert_eq!(browser::eval(&client, intent, vec![]).await, Value::Null);
        let (status, trail) = blocking(|| {
            w.get(
                &format!("/api/audit?action=lock_release&study={a}"),
                Some(&w.token("admin")),
            )
        });
        assert_eq!(status, 200, "{trail}");
        assert!(
            trail["events"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("without activity")),
            "{trail}"
        );

        // Taken again, it is the reader's once more.
        take_for_reading(&client).await;
        assert_eq!(lock_of(&w, &a)["holder"], "rad1");
        assert_eq!(browser::eval(&client, notice, vec![]).await, "");
    });
}
