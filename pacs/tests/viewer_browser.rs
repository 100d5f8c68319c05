//! The viewer end to end in real headless Chromium, once on WebGPU and once
//! forced to WebGL2: a study with known values is stored in the real
//! server, the page opens it, and what is on screen is read back and
//! compared with the VOI window computed here; changing the window, moving
//! through the stack and measuring a known distance change what is shown
//! exactly as computed.
//!
//! Needs the built viewer (`scripts/build-viewer.sh`), `chromium` and
//! `chromedriver`; without them the tests say so loudly and pass, except
//! under CI (or PACS_REQUIRE_BROWSER=1), where they fail.

mod common;
#[path = "common/palette.rs"]
mod palette;
#[path = "common/viewer_study.rs"]
mod study;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::time::Duration;

use common::Server;
use study::*;
use test_support::browser::{self, Backend, Driver};

fn run_viewer_checks(backend: Backend) {
    let test = format!("viewer_in_chromium_{}", backend.param());
    let Some(viewer) = browser::viewer_dir_or_skip(&test) else {
        return;
    };
    let (_tmp, server) = server_with_study(&viewer);
    let palette_files = [palette::instance(0), palette::instance(1)];
    web::stow_ok(&server, &[&palette_files[0], &palette_files[1]]);

    let on = &server;
    in_chromium(|client| async move {
        let server = on;
        // WebGPU is what the page picks by itself where the browser
        // offers it; WebGL2 is asked for.
        let url = match backend {
            Backend::WebGpu => server.url(&format!("/viewer?study={STUDY}&lang=en")),
            Backend::WebGl2 => server.url(&format!("/viewer?study={STUDY}&backend=webgl2&lang=en")),
        };
        if matches!(backend, Backend::WebGl2) {
            // A link mangled in a message names no study: said in words,
            // before anything is asked of the server.
            client
                .goto(&server.url("/viewer?study=..%2F..%2Fadmin&lang=ru"))
                .await
                .expect("the page opens");
            browser::wait_until(
                &client,
                "the message about the link",
                "const e = document.getElementById('viewer-error');
                 return !!e && e.textContent.includes('не указывает на исследование');",
                Duration::from_secs(20),
            )
            .await;
            check_link_to_a_series_elsewhere(&client, server).await;
            check_wrong_address(&client, server).await;
        }
        client.goto(&url).await.expect("the page opens");
        wait_first_image(&client).await;
        assert!(
            is_hidden(&client, ".viewer-notice").await,
            "a plain link gets no notice"
        );
        browser::wait_until(
            &client,
            "the whole series",
            "return performance.getEntriesByName('pacs:series-loaded').length > 0
                && document.documentElement.dataset.state === 'ready';",
            Duration::from_secs(90),
        )
        .await;
        let state = browser::state(&client).await;
        assert_eq!(state["backend"], backend.param(), "{state}");
        assert_eq!(
            document_backend(&client).await,
            backend.param(),
            "the page reports the backend it uses"
        );
        assert_eq!(state["slices"], SLICES, "{state}");
        assert_eq!(state["image"]["columns"], SIZE, "{state}");
        let patient = text_of(&client, "[data-overlay=patient]").await;
        assert!(
            patient.contains("Петров"),
            "Cyrillic name shown: {patient:?}"
        );
        // At 1100 px (a small laptop) the toolbar keeps to one row.
        let one_row = browser::eval(
            &client,
            "const bar = document.querySelector('.toolbar').getBoundingClientRect();
             const tallest = Math.max(...[...document.querySelectorAll('.toolbar > *')]
                 .map(e => e.getBoundingClientRect().height));
             return bar.height < 2 * tallest;",
            vec![],
        )
        .await;
        assert_eq!(one_row, true, "the toolbar wraps at 1100 px");

        // The first slice in stack order, in the file's window.
        let first = state["slice"].as_u64().expect("slice index") as u32;
        assert_quadrants(&client, first, CENTER, WIDTH, "file window").await;
        assert_eq!(
            text_of(&client, "[data-overlay=window]").await,
            "W 400 L 40"
        );

        // Lung preset: −600 / 1500.
        browser::press(&client, "2").await;
        wait_window(&client, -600.0, 1500.0).await;
        assert_eq!(
            text_of(&client, "[data-overlay=window]").await,
            "W 1500 L -600"
        );
        assert_quadrants(&client, first, -600.0, 1500.0, "lung preset").await;

        // Next slice: the top-right quadrant changes by 100 HU.
        browser::press(&client, "1").await; // soft tissue 40/400
        wait_window(&client, 40.0, 400.0).await;
        let next = if first + 1 < SLICES {
            first + 1
        } else {
            first - 1
        };
        browser::press(&client, if next > first { "\u{E015}" } else { "\u{E013}" }).await;
        browser::wait_until(
            &client,
            "the next slice",
            &format!("return window.pacsViewer.state().slice === {next};"),
            Duration::from_secs(20),
        )
        .await;
        assert_quadrants(&client, next, 40.0, 400.0, "after scrolling").await;

        // A length of 100 pixels along a row is 50 mm at 0.5 mm spacing.
        client
            .find(fantoccini::Locator::Css("[data-tool=length]"))
            .await
            .expect("a length tool")
            .click()
            .await
            .expect("tool chosen");
        let from = browser::image_to_page(&client, 40.0, 128.0).await;
        let to = browser::image_to_page(&client, 140.0, 128.0).await;
        browser::drag(&client, from, to).await;
        let text = text_of(&client, "[data-measurement]").await;
        let mm: f64 = text
            .trim()
            .trim_end_matches("mm")
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("a length in mm: {text:?}"));
        // The pointer lands on whole CSS pixels: allow for that rounding.
        let zoom = browser::state(&client).await["zoom"]
            .as_f64()
            .expect("zoom");
        let tolerance = SPACING / zoom + 0.1;
        assert!(
            (mm - 50.0).abs() <= tolerance,
            "measured {mm} mm, expected 50 ± {tolerance}"
        );

        // A first point clicked on this slice is dropped when another
        // slice shows: the next click there begins a length, never ends
        // one reaching back to a point of the slice left.
        browser::drag(&client, from, from).await;
        browser::press(&client, if next > first { "\u{E013}" } else { "\u{E015}" }).await;
        browser::wait_until(
            &client,
            "the slice before",
            &format!("return window.pacsViewer.state().slice === {first};"),
            Duration::from_secs(20),
        )
        .await;
        browser::drag(&client, to, to).await;
        let state = browser::state(&client).await;
        assert_eq!(
            state["measurements"], 1,
            "no length across two slices: {state}"
        );
        browser::press(&client, "\u{E00C}").await; // Escape: drop the point

        // With a Cyrillic layout the key labelled I types ш: still invert.
        let invert = |on: bool| format!("return window.pacsViewer.state().invert === {on};");
        browser::wait_until(
            &client,
            "not inverted",
            &invert(false),
            Duration::from_secs(5),
        )
        .await;
        browser::eval(
            &client,
            "window.dispatchEvent(new KeyboardEvent('keydown', {key: 'ш', code: 'KeyI'}));",
            vec![],
        )
        .await;
        browser::wait_until(&client, "inverted", &invert(true), Duration::from_secs(5)).await;
        browser::press(&client, "i").await;
        browser::wait_until(
            &client,
            "inverted back",
            &invert(false),
            Duration::from_secs(5),
        )
        .await;

        check_mpr_region_statistics(&client).await;
        check_palette_colours(&client, server, backend).await;
    });
    server.stop();
}

/// An address that is no page says so, in the reader's language, with
/// the way back; the page's icon is there (no 404 in the browser's log).
async fn check_wrong_address(client: &fantoccini::Client, server: &Server) {
    client
        .goto(&server.url("/studeis?lang=ru"))
        .await
        .expect("the page opens");
    browser::wait_until(
        client,
        "the message about the address",
        "const e = document.getElementById('viewer-error');
         return !!e && e.textContent.startsWith('Такой страницы нет');",
        Duration::from_secs(20),
    )
    .await;
    let back = browser::eval(
        client,
        "return document.querySelector('a.back-link').getAttribute('href');",
        vec![],
    )
    .await;
    assert_eq!(back, "/");
    let icon = browser::eval(
        client,
        "return fetch(document.querySelector('link[rel=icon]').href)
            .then(r => r.status + ' ' + r.headers.get('content-type'));",
        vec![],
    )
    .await;
    assert_eq!(icon, "200 image/svg+xml");
}

/// A link naming a series that is not the study's (here another study's)
/// opens the study's first series and says so, instead of passing it off
/// as the one asked for; the reader can close the notice.
async fn check_link_to_a_series_elsewhere(client: &fantoccini::Client, server: &Server) {
    let url = format!(
        "/viewer?study={STUDY}&series={}&backend=webgl2&lang=en",
        palette::SERIES
    );
    client
        .goto(&server.url(&url))
        .await
        .expect("the page opens");
    wait_first_image(client).await;
    let state = browser::state(client).await;
    assert_eq!(state["series"], SERIES, "{state}");
    browser::wait_until(
        client,
        "the notice about the series",
        "const n = document.querySelector('.viewer-notice'); return !!n && !n.hidden;",
        Duration::from_secs(10),
    )
    .await;
    let said = text_of(client, ".viewer-notice .text").await;
    assert!(
        said.starts_with("The series this link asks for is not among this study's images"),
        "{said:?}"
    );
    // A real click (pointer events and all), which the image area under
    // the notice must not take for itself.
    client
        .find(fantoccini::Locator::Css(
            ".viewer-notice [data-action=notice-close]",
        ))
        .await
        .expect("the close button")
        .click()
        .await
        .expect("clicked");
    assert!(
        is_hidden(client, ".viewer-notice").await,
        "closing the notice hides it"
    );
}

/// Region statistics on a reformat describe what it shows: with a MIP
/// slab over every slice, the top-right quadrant (which changes by 100 HU
/// per slice) reads as its largest value, not the centre slice's.
async fn check_mpr_region_statistics(client: &fantoccini::Client) {
    browser::eval(
        client,
        "const s = document.querySelector('[data-control=mpr]');
         s.value = 'mpr'; s.dispatchEvent(new Event('change'));
         return true;",
        vec![],
    )
    .await;
    let centre = SLICES / 2;
    browser::wait_until(
        client,
        "the reformats",
        &format!(
            "const s = window.pacsViewer.state();
             return s.layout === '1x3' && s.activeViewport === 0 && s.slice === {centre}
                 && window.pacsViewer.imageToScreen(0, 0) !== null;"
        ),
        Duration::from_secs(20),
    )
    .await;
    // 10 mm over 2.5 mm slices takes two slices each side, cut at the
    // stack's ends: slices 0 to 3.
    browser::eval(
        client,
        "const s = document.querySelector('[data-control=slab]');
         s.value = '10'; s.dispatchEvent(new Event('input'));
         return true;",
        vec![],
    )
    .await;
    client
        .find(fantoccini::Locator::Css("[data-tool=rect]"))
        .await
        .expect("a rectangle tool")
        .click()
        .await
        .expect("tool chosen");
    let from = browser::image_to_page(client, 150.0, 20.0).await;
    let to = browser::image_to_page(client, 230.0, 100.0).await;
    browser::drag(client, from, to).await;
    let text = text_of(client, "[data-measurement]").await;
    let brightest = quadrant_hu(SLICES - 1)[1];
    let centre_hu = quadrant_hu(centre)[1];
    assert!(
        text.contains(&format!("Mean {brightest} HU"))
            && text.contains(&format!("Min {brightest}, Max {brightest}")),
        "MIP statistics over the slab ({brightest} HU, the centre slice alone is {centre_hu}): {text:?}"
    );
}

/// A palette colour series shows its table's colours: the first image's
/// table comes inline in the metadata, the second one's is fetched.
async fn check_palette_colours(client: &fantoccini::Client, server: &Server, backend: Backend) {
    let url = server.url(&format!(
        "/viewer?study={}&backend={}&lang=en",
        palette::STUDY,
        backend.param()
    ));
    client.goto(&url).await.expect("the page opens");
    browser::wait_until(
        client,
        "the palette series",
        "return performance.getEntriesByName('pacs:series-loaded').length > 0
            && document.documentElement.dataset.state === 'ready';",
        Duration::from_secs(60),
    )
    .await;
    for k in 0..2u32 {
        if k == 1 {
            browser::press(client, "\u{E015}").await;
            browser::wait_until(
                client,
                "the second palette image",
                "return window.pacsViewer.state().slice === 1;",
                Duration::from_secs(20),
            )
            .await;
            next_frame_drawn(client).await;
        }
        let state = browser::state(client).await;
        assert_eq!(state["slice"], k, "{state}");
        let shot = browser::screenshot(client).await;
        for (q, &(col, row)) in palette::QUADRANTS.iter().enumerate() {
            let (x, y) = browser::image_to_page(client, col, row).await;
            let got = shot.get_pixel(x.round() as u32, y.round() as u32).0;
            let want = palette::colour(k, q);
            let close = (0..3).all(|c| got[c].abs_diff(want[c]) <= 2);
            assert!(
                close,
                "palette image {k} quadrant {q} at ({x}, {y}): {got:?}, expected {want:?}"
            );
        }
    }
}

async fn document_backend(client: &fantoccini::Client) -> String {
    browser::eval(
        client,
        "return document.documentElement.dataset.backend || '';",
        vec![],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// A browser without WebGPU: the page finds no adapter, falls back to
/// WebGL2 on the same canvas, and shows the study in its window.
#[test]
fn viewer_without_webgpu_falls_back_to_webgl2() {
    let Some(viewer) = browser::viewer_dir_or_skip("viewer_without_webgpu_falls_back_to_webgl2")
    else {
        return;
    };
    let (_tmp, server) = server_with_study(&viewer);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let driver = Driver::start();
        let client = browser::open_without_webgpu(&driver, 1100, 800).await;
        let offered = browser::eval(
            &client,
            "return (async () => !!navigator.gpu && !!(await navigator.gpu.requestAdapter()))();",
            vec![],
        )
        .await;
        assert_eq!(offered, false, "this browser session still offers WebGPU");
        client
            .goto(&server.url(&format!("/viewer?study={STUDY}&lang=en")))
            .await
            .expect("the page opens");
        wait_first_image(&client).await;
        let state = browser::state(&client).await;
        assert_eq!(state["backend"], "webgl2", "{state}");
        let first = state["slice"].as_u64().expect("slice index") as u32;
        assert_quadrants(&client, first, CENTER, WIDTH, "fallback to WebGL2").await;
        let _ = client.close().await;
    });
}

#[test]
fn viewer_in_chromium_webgpu() {
    run_viewer_checks(Backend::WebGpu);
}

#[test]
fn viewer_in_chromium_webgl2() {
    run_viewer_checks(Backend::WebGl2);
}
