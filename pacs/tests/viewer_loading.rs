//! Loading a study's slices in real headless Chromium over links that are
//! fast, slow or broken: one request per slice nearest the one on screen
//! first, the rest of the series in one request once the link proves
//! fast, and requests the link broke sent again until it is mended, those
//! for the strip's thumbnails and the patient's prior studies included.
//!
//! Needs the built viewer (`scripts/build-viewer.sh`), `chromium` and
//! `chromedriver`; without them the tests say so loudly and pass, except
//! under CI (or PACS_REQUIRE_BROWSER=1), where they fail.

mod common;
#[path = "common/viewer_study.rs"]
mod study;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::time::Duration;

use study::*;
use test_support::browser;
use test_support::link::{Link, LinkSpec};

/// Slices of 512 KiB, as a CT's: six of them tell a fast link from a slow
/// one.
const BIG: u16 = 512;
/// A window wide enough that the top-right quadrant (−150 + 100 k HU)
/// tells every slice from its neighbours (about 6 grey levels apart).
const WIDE: (f64, f64) = (1800.0, 4400.0);

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
    // 64 slices of 128 KiB: over three seconds through the link, so the
    // break comes while most of them are still on their way, even on a
    // busy machine slow to see the first image.
    const MANY: u32 = 64;
    let (_tmp, server) = server_with_slices(&viewer, MANY);
    let link = Link::start(
        server.http,
        LinkSpec::new(20.0, Duration::from_millis(10), 0.0),
    )
    .expect("link");

    let via = &link;
    in_chromium(|client| async move {
        let url = format!("http://127.0.0.1:{}/viewer?study={STUDY}&lang=en", via.port);
        client.goto(&url).await.expect("the page opens");
        wait_first_image(&client).await;
        via.set_broken(true);
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
        // The last slice, loaded last, has not come: the viewport says
        // so and why, instead of showing black.
        browser::press(&client, "\u{E010}").await;
        browser::wait_until(
            &client,
            "the last slice on screen",
            &format!("return window.pacsViewer.state().slice === {};", MANY - 1),
            Duration::from_secs(10),
        )
        .await;
        let state = browser::state(&client).await;
        assert_eq!(state["sliceLoaded"], false, "{state}");
        browser::wait_until(
            &client,
            "a note over the slice on its way",
            "const n = document.querySelector('.viewport-note');
             return !!n && !n.hidden;",
            Duration::from_secs(10),
        )
        .await;
        let note = text_of(&client, ".viewport-note").await;
        assert!(
            note.starts_with("This image has not arrived yet: the connection"),
            "{note:?}"
        );

        via.set_broken(false);
        wait_whole_series(&client, MANY).await;
        let state = browser::state(&client).await;
        assert_eq!(state["linkLost"], false, "{state}");
        assert!(
            is_hidden(&client, ".viewport-note").await,
            "the note goes once the slice is in"
        );
        assert!(
            is_hidden(&client, ".progress").await,
            "the progress note goes once all is loaded"
        );

        // The ends of the stack, each in its place.
        visit_slices(
            &client,
            &[("\u{E010}", MANY - 1), ("\u{E011}", 0)],
            SIZE,
            (CENTER, WIDTH),
            "after the break",
        )
        .await;
    });
    server.stop();
}

/// The requests for the series thumbnails and for the patient's prior
/// studies fail as a dropped link fails them: once it is mended, the
/// thumbnails come and the prior study is listed in the strip, without
/// the reader opening the study again.
#[test]
fn thumbnails_and_priors_lost_to_a_broken_link_come_once_it_is_mended() {
    let test = "thumbnails_and_priors_lost_to_a_broken_link_come_once_it_is_mended";
    let Some(viewer) = browser::viewer_dir_or_skip(test) else {
        return;
    };
    let (tmp, server) = server_with_study(&viewer);
    let prior = store_prior(&server, tmp.path());
    let base = format!("http://{}", server.http);
    in_chromium(|client| async move {
        browser::block_urls(&client, &["*PatientID=*", "*/thumbnail*"]).await;
        client
            .goto(&format!("{base}/viewer?study={STUDY}&lang=en"))
            .await
            .expect("the page opens");
        wait_first_image(&client).await;
        let shown = "const imgs = [...document.querySelectorAll('.series-thumb img')];
             return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);";
        let listed =
            format!("return !!document.querySelector('.strip-heading[data-prior=\"{prior}\"]');");
        // Long enough for the first attempts and a retry to fail.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = |script: String| {
            let client = client.clone();
            async move { browser::eval(&client, &script, vec![]).await }
        };
        assert_eq!(
            now(shown.to_owned()).await,
            false,
            "thumbnails while blocked"
        );
        assert_eq!(now(listed.clone()).await, false, "the prior while blocked");

        browser::block_urls(&client, &[]).await;
        browser::wait_until(&client, "the thumbnails", shown, Duration::from_secs(30)).await;
        browser::wait_until(&client, "the prior study", &listed, Duration::from_secs(30)).await;
        let thumbnails =
            now("return document.querySelectorAll('.series-thumb img').length;".to_owned()).await;
        assert_eq!(thumbnails, 2, "the study's series and the prior's");
    });
    server.stop();
}

/// A series whose thumbnail the server cannot make (its one frame a
/// damaged JPEG codestream, as a failing disk leaves it): the strip says
/// so in the image's place rather than showing a broken-image icon, and
/// the study's other series keeps its own thumbnail.
#[test]
fn a_thumbnail_the_server_cannot_make_is_said_so() {
    let test = "a_thumbnail_the_server_cannot_make_is_said_so";
    let Some(viewer) = browser::viewer_dir_or_skip(test) else {
        return;
    };
    let (_tmp, server) = server_with_study(&viewer);
    web::stow_ok(&server, &[&undecodable_slice()]);
    let base = format!("http://{}", server.http);
    in_chromium(|client| async move {
        client
            .goto(&format!(
                "{base}/viewer?study={STUDY}&series={SERIES}&lang=ru"
            ))
            .await
            .expect("the page opens");
        wait_first_image(&client).await;
        let damaged = format!(".series-thumb[data-series=\"{DAMAGED_SERIES}\"]");
        browser::wait_until(
            &client,
            "the words for the missing thumbnail",
            &format!("return !!document.querySelector('{damaged} .thumb-missing[data-failed]');"),
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(
            text_of(&client, &format!("{damaged} .thumb-missing")).await,
            "Нет миниатюры"
        );
        let images = browser::eval(
            &client,
            &format!("return document.querySelectorAll('{damaged} img').length;"),
            vec![],
        )
        .await;
        assert_eq!(images, 0, "no broken image left beside the words");
        browser::wait_until(
            &client,
            "the other series' thumbnail",
            &format!(
                "const i = document.querySelector('.series-thumb[data-series=\"{SERIES}\"] img');
                 return !!i && i.complete && i.naturalWidth > 0;"
            ),
            Duration::from_secs(30),
        )
        .await;
    });
    server.stop();
}

/// The series of [`undecodable_slice`].
const DAMAGED_SERIES: &str = "1.2.826.0.1.3680043.10.1453.77.1.9";

/// A slice of the test study in a series of its own, stored as JPEG
/// baseline whose one fragment is no JPEG codestream: well formed, so
/// the archive keeps it, but no decoder can read its frame.
fn undecodable_slice() -> Vec<u8> {
    use dicom_core::value::PixelFragmentSequence;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;

    let sop = format!("{DAMAGED_SERIES}.1");
    let mut obj = dicom_object::OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(&slice_of_size(0, SIZE, (CENTER, WIDTH))[..])
        .expect("the test slice reads back")
        .into_inner();
    obj.put(DataElement::new(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        DAMAGED_SERIES,
    ));
    obj.put(DataElement::new(tags::SERIES_NUMBER, VR::IS, "9"));
    obj.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        sop.as_str(),
    ));
    // JPEG baseline holds 8-bit samples.
    for (tag, value) in [
        (tags::BITS_ALLOCATED, 8u16),
        (tags::BITS_STORED, 8),
        (tags::HIGH_BIT, 7),
        (tags::PIXEL_REPRESENTATION, 0),
    ] {
        obj.put(DataElement::new(
            tag,
            VR::US,
            dicom_core::PrimitiveValue::from(value),
        ));
    }
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PixelFragmentSequence::new(Vec::<u32>::new(), vec![vec![0u8; 64]]),
    ));
    ct_file(obj, &sop, "1.2.840.10008.1.2.4.50")
}

/// Stores an earlier radiograph of the test study's patient; its Study
/// Instance UID.
fn store_prior(server: &common::Server, dir: &std::path::Path) -> String {
    use dicom_samples::{CharacterSet, Date, Patient, Sex, XrayKind, XraySpec};
    let born = Date {
        year: 1971,
        month: 5,
        day: 9,
    };
    let patient = Patient::new(
        "Петров^Пётр",
        "E2E-0001",
        born,
        Sex::Male,
        CharacterSet::Utf8,
    );
    let mut spec = XraySpec::chest(XrayKind::Dx, patient, 7).with_matrix(64, 52);
    spec.study.date = Date {
        year: 2025,
        month: 3,
        day: 1,
    };
    let file = dicom_samples::write_xray(
        &spec,
        &dir.join("prior"),
        dicom_samples::SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("write the prior");
    web::stow_ok(server, &[&std::fs::read(file).expect("read the prior")]);
    spec.study.study_uid.clone()
}

/// Opens the test study on `server` and waits for all `count` slices;
/// checks that they came through one series request and fewer frame
/// requests than half the slices, and returns those counts with the
/// series request's body size (`series`, `frames`, `bytes`).
async fn opened_through_one_series_request(
    client: &fantoccini::Client,
    server: &common::Server,
    count: u32,
) -> serde_json::Value {
    client
        .goto(&server.url(&format!("/viewer?study={STUDY}&lang=en")))
        .await
        .expect("the page opens");
    wait_first_image(client).await;
    wait_whole_series(client, count).await;
    let requests = browser::eval(
        client,
        "const entries = performance.getEntriesByType('resource');
         const series = entries.filter(e => e.name.endsWith(arguments[0]));
         return {
             series: series.length,
             bytes: series.reduce((sum, e) => sum + e.encodedBodySize, 0),
             frames: entries.filter(e => e.name.includes('/frames/')).length,
         };",
        vec![serde_json::json!(format!("/series/{SERIES}"))],
    )
    .await;
    let link = &browser::state(client).await["linkSample"];
    assert_eq!(requests["series"], 1, "{requests}, link sample {link}");
    let frames = requests["frames"].as_u64().expect("frame requests");
    assert!(
        frames < u64::from(count) / 2,
        "{requests}, link sample {link}"
    );
    requests
}

/// On a fast link the viewer asks for the first slices one by one, then
/// for the rest of the series in one request for its pixel data, and
/// puts every instance's part in its place.
#[test]
fn on_a_fast_link_the_rest_of_the_series_comes_in_one_request() {
    let test = "on_a_fast_link_the_rest_of_the_series_comes_in_one_request";
    let Some(viewer) = browser::viewer_dir_or_skip(test) else {
        return;
    };
    // 512 KiB slices: six of them arrive over loopback far faster than
    // the 10 MB/s from which the viewer takes the link for a fast one.
    const MANY: u32 = 40;
    let (_tmp, server) = server_with_slices_of_size(&viewer, MANY, BIG, WIDE);
    let on = &server;
    in_chromium(|client| async move {
        opened_through_one_series_request(&client, on, MANY).await;

        // Slices from the series request and from their own, each in its
        // place: End, Page Up, Page Up, an arrow up, Home.
        let steps = [
            ("\u{E010}", MANY - 1),
            ("\u{E00E}", MANY - 11),
            ("\u{E00E}", MANY - 21),
            ("\u{E013}", MANY - 22),
            ("\u{E011}", 0),
        ];
        visit_slices(&client, &steps, BIG, WIDE, "from the series request").await;
    });
    server.stop();
}

/// A series stored compressed (JPEG-LS, by dcmtk's encoder) comes the
/// same way: the rest in one request, in the stored syntax, decoded in
/// the browser to exactly the stored values.
#[test]
fn a_compressed_series_on_a_fast_link_also_comes_in_one_request() {
    let test = "a_compressed_series_on_a_fast_link_also_comes_in_one_request";
    let Some(viewer) = browser::viewer_dir_or_skip(test) else {
        return;
    };
    if !web::tool_or_skip("/usr/bin/dcmcjpls", test) {
        return;
    }
    const MANY: u32 = 40;
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = common::Server::start_with(
        &tmp.path().join("data"),
        None,
        &["--viewer-dir", viewer.to_str().expect("utf-8 path")],
    );
    let files: Vec<Vec<u8>> = (0..MANY)
        .map(|k| {
            let plain = tmp.path().join(format!("{k}.dcm"));
            let packed = tmp.path().join(format!("{k}.jls.dcm"));
            std::fs::write(&plain, slice_of_size(k, BIG, WIDE)).expect("slice written");
            let mut encode = std::process::Command::new("/usr/bin/dcmcjpls");
            encode.arg(&plain).arg(&packed);
            web::run_bounded(encode, Duration::from_secs(60));
            std::fs::read(&packed).expect("JPEG-LS slice")
        })
        .collect();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    web::stow_ok(&server, &refs);
    let on = &server;
    in_chromium(|client| async move {
        let requests = opened_through_one_series_request(&client, on, MANY).await;
        // As stored: the flat quadrants compress far below their 512 KiB.
        let bytes = requests["bytes"].as_u64().expect("series bytes");
        assert!(
            bytes > 0 && bytes < u64::from(MANY) * 512 * 512 * 2 / 10,
            "{requests}"
        );
        let steps = [
            ("\u{E010}", MANY - 1),
            ("\u{E00E}", MANY - 11),
            ("\u{E011}", 0),
        ];
        visit_slices(
            &client,
            &steps,
            BIG,
            WIDE,
            "from the JPEG-LS series request",
        )
        .await;
    });
    server.stop();
}

/// The series request on a fast link is cut by a break: what it had not
/// brought is asked for slice by slice, again and again until the link
/// is mended, and in the end every slice is in its place.
#[test]
fn a_series_request_cut_by_a_break_falls_back_to_single_slices() {
    let test = "a_series_request_cut_by_a_break_falls_back_to_single_slices";
    let Some(viewer) = browser::viewer_dir_or_skip(test) else {
        return;
    };
    // 80 slices of 512 KiB through 400 Mbit/s: fast enough for the series
    // request, slow enough (about a second) for the break to cut it.
    const MANY: u32 = 80;
    let (_tmp, server) = server_with_slices_of_size(&viewer, MANY, BIG, WIDE);
    let link = Link::start(
        server.http,
        LinkSpec::new(400.0, Duration::from_millis(4), 0.0),
    )
    .expect("link");
    let via = &link;
    in_chromium(|client| async move {
        let url = format!("http://127.0.0.1:{}/viewer?study={STUDY}&lang=en", via.port);
        client.goto(&url).await.expect("the page opens");
        browser::wait_until(
            &client,
            "the series request",
            "return !!window.pacsViewer && window.pacsViewer.state().streaming === true;",
            Duration::from_secs(90),
        )
        .await;
        via.set_broken(true);
        let cut = browser::state(&client).await;
        assert!(
            cut["loaded"].as_u64().expect("loaded") < u64::from(MANY),
            "the series was whole before the break: {cut}"
        );
        browser::wait_until(
            &client,
            "the page saying the connection was lost",
            "return window.pacsViewer.state().linkLost === true;",
            Duration::from_secs(30),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        via.set_broken(false);
        wait_whole_series(&client, MANY).await;
        visit_slices(
            &client,
            &[("\u{E010}", MANY - 1), ("\u{E00E}", MANY - 11)],
            BIG,
            WIDE,
            "after the cut",
        )
        .await;
    });
    server.stop();
}
