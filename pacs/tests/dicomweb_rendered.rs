//! WADO-RS rendered resources and thumbnails against the real `pacs`
//! binary: sizes and formats with reqwest, grey levels checked against the
//! LINEAR VOI function through the Python dicomweb-client
//! (`tests/python/`).

mod common;
#[path = "common/dicomweb_fixtures.rs"]
mod fixtures;
#[path = "common/palette.rs"]
mod palette;
#[path = "common/dicomweb_support.rs"]
mod web;

use dicom_samples::{
    Patient, SampleTransferSyntax, XrayKind, XraySpec, ct_slice_pixels, write_xray,
};
use serde_json::{Value, json};

use common::{Server, ct_files};
use fixtures::{instance_url, read, read_all, refs, series_url};
use web::{get, linear_voi, png_info, stow_ok};

/// What a rendered frame must show: the LINEAR VOI of each stored value
/// after rescale, inverted for MONOCHROME1.
struct Expected<'a> {
    stored: &'a [u16],
    size: (u32, u32),
    intercept: f64,
    window: (f64, f64),
    invert: bool,
}

/// Every grey level of a rendered frame is the LINEAR VOI of the modality
/// value under it (exact up to rounding of the last half level).
fn assert_voi(what: &str, rendered: &Value, e: &Expected) {
    assert_eq!(rendered["format"], "PNG", "{what}");
    assert_eq!(rendered["mode"], "L", "{what}");
    assert_eq!(rendered["size"], json!([e.size.0, e.size.1]), "{what}");
    let pixels = rendered["pixels"].as_array().expect("pixels");
    assert_eq!(pixels.len(), e.stored.len(), "{what}");
    let (center, width) = e.window;
    let mut worst = (0.0f64, 0usize);
    for (n, (got, &s)) in pixels.iter().zip(e.stored).enumerate() {
        let got = got.as_f64().expect("grey level");
        let grey = linear_voi(f64::from(s) + e.intercept, center, width);
        let want = if e.invert { 255.0 - grey } else { grey };
        let off = (got - want).abs();
        if off > worst.0 {
            worst = (off, n);
        }
    }
    assert!(
        worst.0 <= 0.5 + 1e-9,
        "{what}: pixel {} is {} grey levels off the window ({center}, {width})",
        worst.1,
        worst.0
    );
}

/// `/rendered` applies the file's first window (or the `window` query) with
/// the LINEAR function, exactly, whatever the stored syntax, and inverts
/// MONOCHROME1; thumbnails fit the viewport.
#[test]
fn rendered_images_follow_the_voi_window_and_thumbnails_fit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let mut specs = Vec::new();
    for (n, ts) in SampleTransferSyntax::ALL.into_iter().enumerate() {
        let (spec, files) = ct_files(&dir.path().join(ts.cli_name()), 3, 40 + n as u64, ts);
        stow_ok(&server, &refs(&read_all(&files)));
        specs.push((ts, spec));
    }
    let cr = XraySpec::chest(XrayKind::Cr, Patient::karimov_ascii(), 45).with_matrix(64, 52);
    let cr_file = write_xray(
        &cr,
        &dir.path().join("cr"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("write CR");
    stow_ok(&server, &[&read(&cr_file)]);
    let spec = &specs[0].1;
    let url = instance_url(&server, spec, 0);

    let png = |url: &str| {
        let r = get(url, Some("image/png"));
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        assert_eq!(r.content_type, "image/png");
        png_info(&r.body)
    };
    assert_eq!(png(&format!("{url}/rendered")), (128, 128, 8, 0));
    assert_eq!(
        png(&format!("{url}/rendered?viewport=64,64")),
        (64, 64, 8, 0)
    );
    // A source region (PS3.18 viewport sx,sy,sw,sh), zoomed to fill the
    // viewport; left-out extents run to the frame's edge.
    assert_eq!(
        png(&format!("{url}/rendered?viewport=256,256,32,32,64,32")),
        (256, 128, 8, 0)
    );
    assert_eq!(
        png(&format!("{url}/rendered?viewport=96,96,96,0,,")),
        (24, 96, 8, 0)
    );
    assert_eq!(png(&format!("{url}/thumbnail")), (128, 128, 8, 0));
    assert_eq!(
        png(&format!("{url}/thumbnail?viewport=50,30")),
        (30, 30, 8, 0)
    );
    assert_eq!(png(&format!("{url}/frames/1/rendered")), (128, 128, 8, 0));
    let series = series_url(&server, spec);
    assert_eq!(png(&format!("{series}/rendered")), (128, 128, 8, 0));
    assert_eq!(
        png(&format!("{series}/thumbnail?viewport=32,32")),
        (32, 32, 8, 0)
    );
    let study = format!("{}/studies/{}", server.base(), spec.study.study_uid);
    assert_eq!(png(&format!("{study}/thumbnail")), (128, 128, 8, 0));

    let jpeg = get(&format!("{url}/rendered"), None);
    assert_eq!(jpeg.status, 200, "{}", jpeg.text());
    assert_eq!(jpeg.content_type, "image/jpeg", "JPEG is the default");
    assert_eq!(web::jpeg_size(&jpeg.body), (128, 128));
    let small = get(&format!("{url}/rendered?quality=10"), Some("image/jpeg"));
    assert!(
        small.body.len() < jpeg.body.len(),
        "quality lowers the size"
    );

    for bad in [
        "window=40,0",
        "window=abc",
        "window=40",
        "window=40,400,cubic",
        "quality=0",
        "quality=101",
        "viewport=0,0",
        "viewport=big",
        "viewport=64,64,0,0,0,10",
        "viewport=64,64,100,0,64,64",
        "viewport=64,64,1,2",
    ] {
        let r = get(&format!("{url}/rendered?{bad}"), Some("image/png"));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    // A rendered image is one frame: a list of several is refused, not
    // answered with its first; a frame the instance lacks is not found.
    for (frames, status) in [("1,2", 400), ("1%2C2", 400), ("2", 404)] {
        for kind in ["rendered", "thumbnail"] {
            let r = get(&format!("{url}/frames/{frames}/{kind}"), Some("image/png"));
            assert_eq!(r.status, status, "frames/{frames}/{kind}: {}", r.text());
        }
    }
    let several = get(&format!("{url}/frames/1,2/rendered"), Some("image/png"));
    assert!(
        several.text().contains("frames/1/rendered"),
        "{}",
        several.text()
    );

    let Some(py) = web::python_or_skip("rendered_images_follow_the_voi_window (pixel values)")
    else {
        return;
    };
    let op = |st: &str, se: &str, sop: &str, params: Value| {
        json!({"op": "rendered", "study": st, "series": se, "sop": sop,
               "media_type": "image/png", "params": params})
    };
    let mut ops = Vec::new();
    for (_, s) in &specs {
        let sop = s.sop_instance_uid(0);
        ops.push(op(&s.study.study_uid, &s.series_uid, &sop, Value::Null));
    }
    let sop = spec.sop_instance_uid(0);
    let lung_window = json!({"window": "-600,1500"});
    ops.push(op(
        &spec.study.study_uid,
        &spec.series_uid,
        &sop,
        lung_window,
    ));
    let cr_sop = cr.sop_instance_uid();
    ops.push(op(
        &cr.study.study_uid,
        &cr.series_uid,
        &cr_sop,
        Value::Null,
    ));
    let out = web::run_python(
        &py,
        "wado.py",
        &[&server.base(), &Value::from(ops).to_string()],
    );
    let lung_at = specs.len();
    for (k, (ts, s)) in specs.iter().enumerate() {
        let [first, _] = s.windows();
        let stored = ct_slice_pixels(s, 0);
        let expected = Expected {
            stored: &stored,
            size: (128, 128),
            intercept: s.rescale_intercept(),
            window: (first.0, first.1),
            invert: false,
        };
        assert_voi(&format!("{ts:?}, first window"), &out[k], &expected);
        if k == 0 {
            let lung = Expected {
                window: (-600.0, 1500.0),
                ..expected
            };
            assert_voi("window=-600,1500", &out[lung_at], &lung);
        }
    }
    assert_ne!(
        out[0]["pixels"], out[lung_at]["pixels"],
        "the window changes the image"
    );
    let cr_pixels = dicom_samples::xray_pixels(&cr);
    let cr_expected = Expected {
        stored: &cr_pixels,
        size: (52, 64),
        intercept: 0.0,
        window: dicom_samples::window_from_data(&cr_pixels),
        invert: true,
    };
    assert_voi("CR, MONOCHROME1", &out[lung_at + 1], &cr_expected);
    assert!(server.stop().success());
}

/// Palette colour images render through their own table: the inline
/// 256-entry one and the 4096-entry one of a 12-bit image; the metadata
/// gives the small table inline and the large one as bulk data that can be
/// fetched.
#[test]
fn palette_colour_images_render_through_their_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let files = [palette::instance(0), palette::instance(1)];
    stow_ok(&server, &[&files[0], &files[1]]);
    let series = format!(
        "{}/studies/{}/series/{}",
        server.base(),
        palette::STUDY,
        palette::SERIES
    );
    for k in 0..2 {
        let url = format!("{series}/instances/{}", palette::sop_uid(k));
        let r = get(&format!("{url}/rendered"), Some("image/png"));
        assert_eq!(r.status, 200, "instance {k}: {}", r.text());
        let png = image::load_from_memory(&r.body).expect("a PNG").to_rgb8();
        assert_eq!(png.dimensions(), (64, 64));
        for (q, &(col, row)) in palette::QUADRANTS.iter().enumerate() {
            let got = png.get_pixel(col as u32, row as u32).0;
            assert_eq!(got, palette::colour(k, q), "instance {k} quadrant {q}");
        }
        let thumb = get(
            &format!("{url}/thumbnail?viewport=32,32"),
            Some("image/png"),
        );
        assert_eq!(thumb.status, 200, "{}", thumb.text());
        assert_eq!(png_info(&thumb.body), (32, 32, 8, 2), "an RGB thumbnail");
    }

    let metadata = get(&format!("{series}/metadata"), None).json();
    let by_sop = |k: u32| {
        metadata
            .as_array()
            .expect("an array")
            .iter()
            .find(|m| web::string_value(m, "00080018") == Some(palette::sop_uid(k)))
            .expect("the instance's metadata")
            .clone()
    };
    let small = by_sop(0);
    assert!(
        small["00281201"]["InlineBinary"].is_string(),
        "{}",
        small["00281201"]
    );
    let large = by_sop(1);
    let uri = large["00281201"]["BulkDataURI"]
        .as_str()
        .expect("the large table is bulk data");
    let r = get(
        uri,
        Some("multipart/related; type=\"application/octet-stream\""),
    );
    assert_eq!(r.status, 200, "{uri}: {}", r.text());
    let parts = r.parts();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].body.len(), 4096 * 2, "4096 16-bit entries");
    let first_red = u16::from_le_bytes([parts[0].body[2], parts[0].body[3]]);
    assert_eq!(
        first_red,
        (65_535u64 / 4095) as u16,
        "entry 1 of the red table"
    );
    server.stop();
}
