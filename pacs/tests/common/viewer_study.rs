//! The viewer's test study and what the browser tests check it with: CT
//! slices whose four quadrants hold known HU (one of them changing with
//! the slice), a server holding them, and reading the shown greys back.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use test_support::browser;

pub const STUDY: &str = "1.2.826.0.1.3680043.10.1453.77.1";
pub const SERIES: &str = "1.2.826.0.1.3680043.10.1453.77.1.1";
pub const SIZE: u16 = 256;
pub const SLICES: u32 = 4;
/// mm per pixel, both directions.
pub const SPACING: f64 = 0.5;
/// The file's own window.
pub const CENTER: f64 = 40.0;
pub const WIDTH: f64 = 400.0;

/// HU of each quadrant of slice `k`: top-left air, top-right changing with
/// the slice (so scrolling shows), bottom-left soft tissue, bottom-right bone.
pub fn quadrant_hu(k: u32) -> [f64; 4] {
    [-1000.0, -150.0 + 100.0 * f64::from(k), 40.0, 1000.0]
}

/// Centres of the quadrants, (column, row).
pub const QUADRANTS: [(f64, f64); 4] = [(64.0, 64.0), (192.0, 64.0), (64.0, 192.0), (192.0, 192.0)];

/// PS3.3 C.11.2.1.2.1, as a display byte.
pub fn linear_window(x: f64, c: f64, w: f64) -> u8 {
    let y = if x <= c - 0.5 - (w - 1.0) / 2.0 {
        0.0
    } else if x > c - 0.5 + (w - 1.0) / 2.0 {
        1.0
    } else {
        (x - (c - 0.5)) / (w - 1.0) + 0.5
    };
    (y * 255.0).round() as u8
}

/// One CT slice `size` pixels square: signed stored values, slope 1,
/// intercept −1024, with `window` (centre, width) as the file's own.
pub fn slice_of_size(k: u32, size: u16, window: (f64, f64)) -> Vec<u8> {
    let hu = quadrant_hu(k);
    let half = size / 2;
    let mut pixels = Vec::with_capacity(usize::from(size) * usize::from(size));
    for row in 0..size {
        for col in 0..size {
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
    put(tags::ROWS, VR::US, PrimitiveValue::from(size));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(size));
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
    put(tags::WINDOW_CENTER, VR::DS, format!("{}", window.0).into());
    put(tags::WINDOW_WIDTH, VR::DS, format!("{}", window.1).into());
    put(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::I16(pixels.into_iter().collect()),
    );
    ct_file(o, &sop, "1.2.840.10008.1.2.1")
}

/// A CT image data set as a DICOM file in transfer syntax `ts`.
pub fn ct_file(data_set: InMemDicomObject, sop: &str, ts: &str) -> Vec<u8> {
    let file = data_set
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
                .media_storage_sop_instance_uid(sop),
        )
        .expect("file meta");
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).expect("encoded");
    bytes
}

/// The grey the user sees at a page point (the red channel; the viewer
/// draws grey).
pub fn grey_at(shot: &image::RgbaImage, (x, y): (f64, f64)) -> u8 {
    let p = shot.get_pixel(x.round() as u32, y.round() as u32);
    assert!(
        p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1,
        "not grey at ({x}, {y}): {p:?}"
    );
    p[0]
}

pub async fn assert_quadrants(
    client: &fantoccini::Client,
    k: u32,
    center: f64,
    width: f64,
    what: &str,
) {
    assert_quadrants_of_size(client, k, SIZE, center, width, what).await;
}

/// Like [`assert_quadrants`], for slices `size` pixels square.
pub async fn assert_quadrants_of_size(
    client: &fantoccini::Client,
    k: u32,
    size: u16,
    center: f64,
    width: f64,
    what: &str,
) {
    let shot = browser::screenshot(client).await;
    let scale = f64::from(size) / f64::from(SIZE);
    for (q, &(col, row)) in QUADRANTS.iter().enumerate() {
        let (col, row) = (col * scale, row * scale);
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
pub fn server_with_study(viewer: &std::path::Path) -> (tempfile::TempDir, crate::common::Server) {
    server_with_slices(viewer, SLICES)
}

/// Like [`server_with_study`], with `count` slices in the series.
pub fn server_with_slices(
    viewer: &std::path::Path,
    count: u32,
) -> (tempfile::TempDir, crate::common::Server) {
    server_with_slices_of_size(viewer, count, SIZE, (CENTER, WIDTH))
}

/// Like [`server_with_slices`], the slices `size` pixels square with
/// `window` as their own.
pub fn server_with_slices_of_size(
    viewer: &std::path::Path,
    count: u32,
    size: u16,
    window: (f64, f64),
) -> (tempfile::TempDir, crate::common::Server) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = crate::common::Server::start_with(
        &tmp.path().join("data"),
        None,
        &["--viewer-dir", viewer.to_str().expect("utf-8 path")],
    );
    let files: Vec<Vec<u8>> = (0..count).map(|k| slice_of_size(k, size, window)).collect();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    crate::web::stow_ok(&server, &refs);
    (tmp, server)
}

/// Presses each key and checks that it led to slice `k`, shown as
/// computed (slices `size` pixels square, in `window`).
pub async fn visit_slices(
    client: &fantoccini::Client,
    steps: &[(&str, u32)],
    size: u16,
    window: (f64, f64),
    what: &str,
) {
    for &(key, k) in steps {
        browser::press(client, key).await;
        browser::wait_until(
            client,
            &format!("slice {k}"),
            &format!("return window.pacsViewer.state().slice === {k};"),
            Duration::from_secs(20),
        )
        .await;
        next_frame_drawn(client).await;
        assert_quadrants_of_size(client, k, size, window.0, window.1, what).await;
    }
}

/// Waits until the page has drawn the opened study's first image.
pub async fn wait_first_image(client: &fantoccini::Client) {
    browser::wait_until(
        client,
        "the first image",
        "return performance.getEntriesByName('pacs:first-image').length > 0;",
        Duration::from_secs(90),
    )
    .await;
}

/// The text of the first element matching `css`, read in one step in the
/// page (the viewer re-renders overlays, so a WebDriver element handle can
/// go stale between finding and reading it).
pub async fn text_of(client: &fantoccini::Client, css: &str) -> String {
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

/// Whether the first element matching `css` is hidden (it must exist).
pub async fn is_hidden(client: &fantoccini::Client, css: &str) -> bool {
    browser::eval(
        client,
        "return document.querySelector(arguments[0]).hidden;",
        vec![serde_json::json!(css)],
    )
    .await
    .as_bool()
    .unwrap_or_else(|| panic!("no element {css}"))
}

pub async fn wait_window(client: &fantoccini::Client, center: f64, width: f64) {
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
pub async fn next_frame_drawn(client: &fantoccini::Client) {
    browser::eval(
        client,
        "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))));",
        vec![],
    )
    .await;
}

/// Runs `check` in a headless Chromium session the size of a small
/// laptop's window.
pub fn in_chromium<F: Future<Output = ()>>(check: impl FnOnce(fantoccini::Client) -> F) {
    browser::in_session(1100, 800, check);
}

/// Waits until every slice of the opened series has been handled, and
/// checks that all `count` were loaded and none failed.
pub async fn wait_whole_series(client: &fantoccini::Client, count: u32) {
    browser::wait_until(
        client,
        "the whole series",
        "return performance.getEntriesByName('pacs:series-loaded').length > 0;",
        Duration::from_secs(90),
    )
    .await;
    let state = browser::state(client).await;
    assert_eq!(state["loaded"], count, "{state}");
    assert_eq!(state["failed"], 0, "{state}");
}
