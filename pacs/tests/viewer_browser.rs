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
#[path = "common/dicomweb_support.rs"]
mod web;

use std::time::Duration;

use common::Server;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use test_support::browser::{self, Backend, Driver};
use test_support::link::{Link, LinkSpec};

const STUDY: &str = "1.2.826.0.1.3680043.10.1453.77.1";
const SERIES: &str = "1.2.826.0.1.3680043.10.1453.77.1.1";
const SIZE: u16 = 256;
const SLICES: u32 = 4;
/// mm per pixel, both directions.
const SPACING: f64 = 0.5;
/// The file's own window.
const CENTER: f64 = 40.0;
const WIDTH: f64 = 400.0;

/// HU of each quadrant of slice `k`: top-left air, top-right changing with
/// the slice (so scrolling shows), bottom-left soft tissue, bottom-right bone.
fn quadrant_hu(k: u32) -> [f64; 4] {
    [-1000.0, -150.0 + 100.0 * f64::from(k), 40.0, 1000.0]
}

/// Centres of the quadrants, (column, row).
const QUADRANTS: [(f64, f64); 4] = [(64.0, 64.0), (192.0, 64.0), (64.0, 192.0), (192.0, 192.0)];

/// PS3.3 C.11.2.1.2.1, as a display byte.
fn linear_window(x: f64, c: f64, w: f64) -> u8 {
    let y = if x <= c - 0.5 - (w - 1.0) / 2.0 {
        0.0
    } else if x > c - 0.5 + (w - 1.0) / 2.0 {
        1.0
    } else {
        (x - (c - 0.5)) / (w - 1.0) + 0.5
    };
    (y * 255.0).round() as u8
}

/// One CT slice: signed stored values, slope 1, intercept −1024.
fn slice(k: u32) -> Vec<u8> {
    let hu = quadrant_hu(k);
    let half = SIZE / 2;
    let mut pixels = Vec::with_capacity(usize::from(SIZE) * usize::from(SIZE));
    for row in 0..SIZE {
        for col in 0..SIZE {
            let q = usize::from(row >= half) * 2 + usize::from(col >= half);
            pixels.push((hu[q] + 1024.0) as i16);
        }
    }
    let sop = format!("{SERIES}.{}", k + 1);
    let mut o = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| o.put(DataElement::new(tag, vr, value));
    put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192".into());
    put(
        tags::SOP_CLASS_UID,
        VR::UI,
        "1.2.840.10008.5.1.4.1.1.2".into(),
    );
    put(tags::SOP_INSTANCE_UID, VR::UI, sop.as_str().into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, STUDY.into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, SERIES.into());
    put(tags::MODALITY, VR::CS, "CT".into());
    put(tags::PATIENT_NAME, VR::PN, "Петров^Пётр".into());
    put(tags::PATIENT_ID, VR::LO, "E2E-0001".into());
    put(tags::STUDY_DATE, VR::DA, "20261120".into());
    put(tags::STUDY_DESCRIPTION, VR::LO, "CT phantom".into());
    put(tags::SERIES_NUMBER, VR::IS, "1".into());
    put(tags::INSTANCE_NUMBER, VR::IS, (k + 1).to_string().into());
    let z = 2.5 * f64::from(k);
    put(
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        PrimitiveValue::Strs(
            ["-64".to_owned(), "-64".to_owned(), format!("{z}")]
                .iter()
                .cloned()
                .collect(),
        ),
    );
    put(
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        PrimitiveValue::Strs(
            ["1", "0", "0", "0", "1", "0"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
    );
    put(
        tags::PIXEL_SPACING,
        VR::DS,
        PrimitiveValue::Strs(
            [SPACING.to_string(), SPACING.to_string()]
                .iter()
                .cloned()
                .collect(),
        ),
    );
    put(tags::SLICE_THICKNESS, VR::DS, "2.5".into());
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2".into(),
    );
    put(tags::ROWS, VR::US, PrimitiveValue::from(SIZE));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(SIZE));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16));
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(1u16),
    );
    put(tags::RESCALE_INTERCEPT, VR::DS, "-1024".into());
    put(tags::RESCALE_SLOPE, VR::DS, "1".into());
    put(tags::WINDOW_CENTER, VR::DS, format!("{CENTER}").into());
    put(tags::WINDOW_WIDTH, VR::DS, format!("{WIDTH}").into());
    put(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::I16(pixels.into_iter().collect()),
    );
    let file = o
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
                .media_storage_sop_instance_uid(sop.as_str()),
        )
        .expect("file meta");
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).expect("encoded");
    bytes
}

/// The grey the user sees at a page point (the red channel; the viewer
/// draws grey).
fn grey_at(shot: &image::RgbaImage, (x, y): (f64, f64)) -> u8 {
    let p = shot.get_pixel(x.round() as u32, y.round() as u32);
    assert!(
        p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1,
        "not grey at ({x}, {y}): {p:?}"
    );
    p[0]
}

async fn assert_quadrants(
    client: &fantoccini::Client,
    k: u32,
    center: f64,
    width: f64,
    what: &str,
) {
    let shot = browser::screenshot(client).await;
    for (q, &(col, row)) in QUADRANTS.iter().enumerate() {
        let at = browser::image_to_page(client, col, row).await;
        let want = linear_window(quadrant_hu(k)[q], center, width);
        let got = grey_at(&shot, at);
        assert!(
            got.abs_diff(want) <= 2,
            "{what}: slice {k} quadrant {q} at {at:?}: grey {got}, expected {want} \
             (HU {}, window {center}/{width})",
            quadrant_hu(k)[q]
        );
    }
}

/// A server serving the viewer from `viewer`, holding the test study.
fn server_with_study(viewer: &std::path::Path) -> (tempfile::TempDir, Server) {
    server_with_slices(viewer, SLICES)
}

/// Like [`server_with_study`], with `count` slices in the series.
fn server_with_slices(viewer: &std::path::Path, count: u32) -> (tempfile::TempDir, Server) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(
        &tmp.path().join("data"),
        None,
        &["--viewer-dir", viewer.to_str().expect("utf-8 path")],
    );
    let files: Vec<Vec<u8>> = (0..count).map(slice).collect();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    web::stow_ok(&server, &refs);
    (tmp, server)
}

fn run_viewer_checks(backend: Backend) {
    let test = format!("viewer_in_chromium_{}", backend.param());
    let Some(viewer) = browser::viewer_dir_or_skip(&test) else {
        return;
    };
    let (_tmp, server) = server_with_study(&viewer);
    let palette_files = [palette::instance(0), palette::instance(1)];
    web::stow_ok(&server, &[&palette_files[0], &palette_files[1]]);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let driver = Driver::start();
        let client = browser::open(&driver, 1100, 800).await;
        // WebGPU is what the page picks by itself where the browser
        // offers it; WebGL2 is asked for.
        let url = match backend {
            Backend::WebGpu => server.url(&format!("/viewer?study={STUDY}&lang=en")),
            Backend::WebGl2 => server.url(&format!("/viewer?study={STUDY}&backend=webgl2&lang=en")),
        };
        client.goto(&url).await.expect("the page opens");
        wait_first_image(&client).await;
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

        check_mpr_region_statistics(&client).await;
        check_palette_colours(&client, &server, backend).await;
        client.close().await.expect("session closed");
    });
    server.stop();
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
             return s.layout === '1x3' && s.activeViewport === 0 && s.slice === {centre};"
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

/// The text of the first element matching `css`, read in one step in the
/// page (the viewer re-renders overlays, so a WebDriver element handle can
/// go stale between finding and reading it).
/// Waits until the page has drawn the opened study's first image.
async fn wait_first_image(client: &fantoccini::Client) {
    browser::wait_until(
        client,
        "the first image",
        "return performance.getEntriesByName('pacs:first-image').length > 0;",
        Duration::from_secs(90),
    )
    .await;
}

async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    let v = browser::eval(
        client,
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
        vec![serde_json::json!(css)],
    )
    .await;
    v.as_str()
        .unwrap_or_else(|| panic!("no element {css}"))
        .trim()
        .to_owned()
}

async fn wait_window(client: &fantoccini::Client, center: f64, width: f64) {
    browser::wait_until(
        client,
        &format!("window {center}/{width}"),
        &format!(
            "const w = window.pacsViewer.state().window; return w.center === {center} && w.width === {width};"
        ),
        Duration::from_secs(20),
    )
    .await;
    // One more frame so the new window is on screen.
    next_frame_drawn(client).await;
}

/// Waits until the page has drawn one more frame: what a state change
/// asked for is then on screen.
async fn next_frame_drawn(client: &fantoccini::Client) {
    browser::eval(
        client,
        "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))));",
        vec![],
    )
    .await;
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

/// A link that breaks while the series loads (a VPN reconnecting, a
/// proxy restarted): the page says the connection was lost, keeps asking
/// for the slices it lost without giving any up, and once the link is
/// mended holds every slice, each shown as computed.
#[test]
fn slices_lost_to_a_broken_link_are_fetched_again() {
    let test = "slices_lost_to_a_broken_link_are_fetched_again";
    let Some(viewer) = browser::viewer_dir_or_skip(test) else {
        return;
    };
    // 64 slices of 128 KiB: about two seconds through the link, so the
    // break comes while most of them are still on their way.
    const MANY: u32 = 64;
    let (_tmp, server) = server_with_slices(&viewer, MANY);
    let link = Link::start(
        server.http,
        LinkSpec::new(40.0, Duration::from_millis(10), 0.0),
    )
    .expect("link");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let driver = Driver::start();
        let client = browser::open(&driver, 1100, 800).await;
        let url = format!(
            "http://127.0.0.1:{}/viewer?study={STUDY}&lang=en",
            link.port
        );
        client.goto(&url).await.expect("the page opens");
        wait_first_image(&client).await;
        link.set_broken(true);
        browser::wait_until(
            &client,
            "the page saying the connection was lost",
            "const p = document.querySelector('.progress[data-link=lost]');
             return !!p && !p.hidden && window.pacsViewer.state().linkLost === true;",
            Duration::from_secs(30),
        )
        .await;
        let said = text_of(&client, ".progress").await;
        assert!(
            said.starts_with("Connection to the server lost, trying again"),
            "{said:?}"
        );
        // Several attempts fail while the link stays broken; none is
        // given up.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let state = browser::state(&client).await;
        assert_eq!(state["failed"], 0, "{state}");
        assert!(
            state["loaded"].as_u64().expect("loaded") < u64::from(MANY),
            "the series finished before the link broke: {state}"
        );

        link.set_broken(false);
        browser::wait_until(
            &client,
            "the whole series after the link was mended",
            "return performance.getEntriesByName('pacs:series-loaded').length > 0;",
            Duration::from_secs(90),
        )
        .await;
        let state = browser::state(&client).await;
        assert_eq!(state["loaded"], MANY, "{state}");
        assert_eq!(state["failed"], 0, "{state}");
        assert_eq!(state["linkLost"], false, "{state}");
        let hidden = browser::eval(
            &client,
            "return document.querySelector('.progress').hidden;",
            vec![],
        )
        .await;
        assert_eq!(hidden, true, "the progress note goes once all is loaded");

        // The ends of the stack, each in its place.
        for (key, k) in [("\u{E010}", MANY - 1), ("\u{E011}", 0)] {
            browser::press(&client, key).await;
            browser::wait_until(
                &client,
                &format!("slice {k}"),
                &format!("return window.pacsViewer.state().slice === {k};"),
                Duration::from_secs(20),
            )
            .await;
            next_frame_drawn(&client).await;
            assert_quadrants(&client, k, CENTER, WIDTH, "after the break").await;
        }
        let _ = client.close().await;
    });
    drop(link);
    server.stop();
}
