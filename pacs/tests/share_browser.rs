//! A read-only link followed from another site (mail, a chat) in real
//! headless Chromium: the session cookie is `SameSite=Strict`, so the
//! link's first request comes without it; the archive's own page asks
//! again, and a radiologist who may read the study opens it as
//! themselves, still signed in. A link straight to that second step from
//! another site is asked again too. A browser never signed in here opens
//! the study read-only.
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

use std::time::Duration;

use serde_json::json;
use test_support::browser::{self, Driver};
use two_sites::world;

const LIMIT: Duration = Duration::from_secs(90);

#[test]
fn a_link_followed_from_elsewhere_keeps_a_signed_in_session() {
    let w = world();
    let a = w.andijan.clone();
    let (status, link) = w.post(
        &format!("/api/studies/{a}/share-link"),
        &w.token("rad1"),
        json!({}),
    );
    assert_eq!(status, 200, "{link}");
    let share_url = w.server.url(link["url"].as_str().unwrap());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let driver = Driver::start();
        let client = browser::open(&driver, 1200, 800).await;
        // Signed in as a radiologist who reads Andijan's studies.
        client.goto(&w.server.url("/healthz")).await.unwrap();
        browser::sign_in_by_fetch(&client, "rad_andijan", common::accounts::PASSWORD).await;

        // A page of another site links to the study; a hostile one links
        // straight to the second step, which only the archive's own page
        // may take.
        for url in [share_url.clone(), format!("{share_url}?via=page")] {
            let elsewhere = format!("data:text/html,<a id=\"link\" href=\"{url}\">the study</a>");
            client.goto(&elsewhere).await.unwrap();
            browser::eval(&client, "document.querySelector('#link').click();", vec![]).await;
            browser::wait_until(
                &client,
                "the viewer",
                &format!(
                    "return location.pathname === '/viewer' && location.search.includes('{a}');"
                ),
                LIMIT,
            )
            .await;
            browser::eval(
                &client,
                "window.me = null;
                 fetch('/api/auth/me').then(r => r.json()).then(me => { window.me = me; });",
                vec![],
            )
            .await;
            browser::wait_until(&client, "who the page is", "return !!window.me;", LIMIT).await;
            let me = browser::eval(&client, "return window.me;", vec![]).await;
            assert_eq!(me["username"], "rad_andijan", "{url}: {me}");
        }
        let _ = client.close().await;

        // A referring doctor elsewhere, never signed in here, opens it
        // read-only: the page's step cookie comes back with its request.
        let client = browser::open(&driver, 1200, 800).await;
        let elsewhere = format!("data:text/html,<a id=\"link\" href=\"{share_url}\">the study</a>");
        client.goto(&elsewhere).await.unwrap();
        browser::eval(&client, "document.querySelector('#link').click();", vec![]).await;
        browser::wait_until(
            &client,
            "the viewer",
            &format!("return location.pathname === '/viewer' && location.search.includes('{a}');"),
            LIMIT,
        )
        .await;
        browser::eval(
            &client,
            "fetch('/api/auth/me').then(r => r.json()).then(me => { window.me = me; });",
            vec![],
        )
        .await;
        browser::wait_until(&client, "who the page is", "return !!window.me;", LIMIT).await;
        let me = browser::eval(&client, "return window.me;", vec![]).await;
        assert_eq!(me["read_only_link"], true, "{me}");
    });
}
