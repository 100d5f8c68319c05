//! WADO-RS against the real `pacs` binary: instances as stored and
//! transcoded, metadata, bulk data and frames, and the links the archive
//! hands out; with reqwest and the Python dicomweb-client (`tests/python/`).

mod common;
#[path = "common/dicomweb_fixtures.rs"]
mod fixtures;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::collections::BTreeSet;

use dicom_samples::{SampleTransferSyntax, ct_slice_pixels};
use serde_json::{Value, json};

use common::{Server, ct_files, sha256};
use fixtures::{IVANOV, instance_url, read_all, refs, series_url};
use web::{
    DICOM_ANY_TS, DICOM_DEFAULT, Dicom, EXPLICIT_LE, OCTET_STREAM, alphabetic, get, int_value,
    media_param, qido, stow, stow_ok, string_value,
};

/// `transfer-syntax=*` returns the stored bytes exactly, whatever the
/// syntax; the default is explicit VR little endian with the same pixels
/// and the same (decoded) patient name.
#[test]
fn retrieve_is_byte_exact_as_stored_and_explicit_le_by_default() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let mut stored = Vec::new();
    for (n, ts) in SampleTransferSyntax::ALL.into_iter().enumerate() {
        let (spec, files) = ct_files(&dir.path().join(ts.cli_name()), 3, 20 + n as u64, ts);
        let bytes = read_all(&files);
        stow_ok(&server, &refs(&bytes));
        stored.push((ts, spec, bytes));
    }

    for (ts, spec, bytes) in &stored {
        let want: BTreeSet<String> = bytes.iter().map(|b| sha256(b)).collect();
        let study_url = format!("{}/studies/{}", server.base(), spec.study.study_uid);
        for url in [study_url.clone(), series_url(&server, spec)] {
            let parts = get(&url, Some(DICOM_ANY_TS)).parts();
            let got: BTreeSet<String> = parts.iter().map(|p| sha256(&p.body)).collect();
            assert_eq!(got, want, "{url} with transfer-syntax=* ({ts:?})");
            for p in &parts {
                assert_eq!(
                    media_param(&p.content_type, "transfer-syntax").as_deref(),
                    Some(ts.uid()),
                    "{}",
                    p.content_type
                );
            }
        }
        let one = get(&instance_url(&server, spec, 1), Some(DICOM_ANY_TS)).parts();
        assert_eq!(one.len(), 1);
        assert_eq!(sha256(&one[0].body), sha256(&bytes[1]));
        // Asked for by name, one instance comes as a single-part body:
        // as stored, or in the default syntax.
        let single = get(
            &instance_url(&server, spec, 1),
            Some("application/dicom; transfer-syntax=*"),
        );
        assert_eq!(single.status, 200, "{}", single.text());
        assert_eq!(
            single.content_type,
            format!("application/dicom; transfer-syntax={}", ts.uid())
        );
        assert_eq!(sha256(&single.body), sha256(&bytes[1]), "{ts:?}");
        let single = get(&instance_url(&server, spec, 1), Some("application/dicom"));
        assert_eq!(single.status, 200, "{}", single.text());
        assert_eq!(Dicom::read(&single.body).transfer_syntax, EXPLICIT_LE);
        assert_eq!(
            media_param(&single.content_type, "transfer-syntax").as_deref(),
            Some(EXPLICIT_LE)
        );

        for accept in [Some(DICOM_DEFAULT), None] {
            let parts = get(&series_url(&server, spec), accept).parts();
            assert_eq!(parts.len(), 3);
            for p in &parts {
                assert_eq!(
                    media_param(&p.content_type, "transfer-syntax").as_deref(),
                    Some(EXPLICIT_LE),
                    "{ts:?} with Accept {accept:?}: {}",
                    p.content_type
                );
                let d = Dicom::read(&p.body);
                assert_eq!(d.transfer_syntax, EXPLICIT_LE, "(0002,0010) of {ts:?}");
                let sop = d.text(0x0008, 0x0018).expect("SOP Instance UID");
                let index = (0..3)
                    .find(|&i| spec.sop_instance_uid(i) == sop)
                    .expect("a stored SOP Instance UID");
                assert_eq!(
                    d.native_pixels(),
                    web::words_le(&ct_slice_pixels(spec, index)),
                    "pixels of {ts:?} slice {index} after transcoding"
                );
                assert_eq!(d.text(0x0010, 0x0010).as_deref(), Some(IVANOV));
                if *ts == SampleTransferSyntax::ExplicitVrLittleEndian {
                    assert_eq!(sha256(&p.body), sha256(&bytes[index as usize]));
                }
            }
        }
    }

    // A series holds several instances: no single-part body for it. And
    // a client that takes anything gets the multipart default.
    let (_, spec, _) = &stored[0];
    let refused = get(&series_url(&server, spec), Some("application/dicom"));
    assert_eq!(refused.status, 406, "{}", refused.text());
    let any = get(&instance_url(&server, spec, 0), Some("*/*"));
    assert!(
        any.content_type.starts_with("multipart/related"),
        "{}",
        any.content_type
    );

    let Some(py) = web::python_or_skip("retrieve_is_byte_exact (dicomweb-client part)") else {
        return;
    };
    // dicomweb-client asks for any transfer syntax by default when
    // retrieving an instance, and for the default one when told to.
    let any = json!([["application/dicom", "*"]]);
    let default = json!([["application/dicom"]]);
    let mut ops = Vec::new();
    for (_, spec, _) in &stored {
        let (st, se) = (&spec.study.study_uid, &spec.series_uid);
        ops.push(json!({"op": "retrieve_instance", "study": st, "series": se,
                        "sop": spec.sop_instance_uid(2)}));
        ops.push(json!({"op": "retrieve_instance", "study": st, "series": se,
                        "sop": spec.sop_instance_uid(2), "media_types": default}));
        ops.push(json!({"op": "retrieve_series", "study": st, "series": se,
                        "media_types": any}));
        ops.push(json!({"op": "retrieve_study", "study": st, "media_types": default}));
    }
    let out = web::run_python(
        &py,
        "wado.py",
        &[&server.base(), &Value::from(ops).to_string()],
    );
    for (k, (ts, spec, _)) in stored.iter().enumerate() {
        let samples = |sop: &str| {
            let i = (0..3)
                .find(|&i| spec.sop_instance_uid(i) == sop)
                .expect("a stored SOP Instance UID");
            sha256(&web::words_le(&ct_slice_pixels(spec, i)))
        };
        // Every data set holds the source samples and the decoded name.
        let check = |d: &Value, want_ts: &str| {
            let sop = d["sop"].as_str().expect("sop");
            assert_eq!(d["ts"], want_ts, "{ts:?}: {d}");
            assert_eq!(d["patient_name"], IVANOV, "{ts:?}: {d}");
            assert_eq!(
                d["samples_sha256"].as_str(),
                Some(samples(sop).as_str()),
                "{ts:?}: {d}"
            );
            if want_ts == EXPLICIT_LE {
                assert_eq!(d["pixel_sha256"], d["samples_sha256"], "{ts:?}: {d}");
            }
            sop.to_owned()
        };
        let all: BTreeSet<String> = (0..3).map(|i| spec.sop_instance_uid(i)).collect();
        let out = &out.as_array().expect("one result per operation")[4 * k..4 * k + 4];
        assert_eq!(check(&out[0], ts.uid()), spec.sop_instance_uid(2));
        assert_eq!(check(&out[1], EXPLICIT_LE), spec.sop_instance_uid(2));
        for (whole, want_ts) in [(&out[2], ts.uid()), (&out[3], EXPLICIT_LE)] {
            let sops: BTreeSet<String> = whole
                .as_array()
                .expect("list")
                .iter()
                .map(|d| check(d, want_ts))
                .collect();
            assert_eq!(sops, all, "{ts:?}");
        }
    }
    assert!(server.stop().success());
}

/// Series metadata lists every instance with a working BulkDataURI for the
/// pixels; frames are the source's pixel bytes, little endian even when
/// stored big endian or deflated.
#[test]
fn metadata_bulk_data_and_frames_give_the_source_pixels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = ct_files(
        &dir.path().join("le"),
        4,
        30,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let bytes = read_all(&files);
    stow_ok(&server, &refs(&bytes));
    let mut others = Vec::new();
    for (seed, ts) in [
        (31, SampleTransferSyntax::ExplicitVrBigEndian),
        (32, SampleTransferSyntax::DeflatedExplicitVrLittleEndian),
        (33, SampleTransferSyntax::ImplicitVrLittleEndian),
    ] {
        let (s, f) = ct_files(&dir.path().join(ts.cli_name()), 2, seed, ts);
        stow_ok(&server, &refs(&read_all(&f)));
        others.push(s);
    }
    let source_pixels = |i: u32| web::words_le(&ct_slice_pixels(&spec, i));
    for (i, file) in bytes.iter().enumerate() {
        assert_eq!(
            Dicom::read(file).native_pixels(),
            source_pixels(i as u32),
            "the generator's files hold its pixels"
        );
    }

    // reqwest: metadata at each level, the bulk data URI, frames
    let meta = get(&format!("{}/metadata", series_url(&server, &spec)), None);
    assert_eq!(meta.status, 200, "{}", meta.text());
    assert!(meta.content_type.starts_with("application/dicom+json"));
    let meta = meta.json();
    let meta = meta.as_array().expect("a JSON array");
    assert_eq!(meta.len(), 4);
    for item in meta {
        let sop = string_value(item, "00080018").expect("SOP Instance UID");
        let i = (0..4)
            .find(|&i| spec.sop_instance_uid(i) == sop)
            .expect("a stored instance");
        assert_eq!(alphabetic(item), Some(IVANOV), "metadata name is UTF-8");
        assert_eq!(int_value(item, "00280010"), Some(128));
        assert_eq!(
            string_value(item, "00083002").as_deref(),
            Some("1.2.840.10008.1.2.1"),
            "the stored transfer syntax is in the metadata"
        );
        let pixel = &item["7FE00010"];
        assert_eq!(pixel["vr"], "OW", "{pixel}");
        let uri = pixel["BulkDataURI"].as_str().expect("BulkDataURI");
        assert_eq!(
            uri,
            format!("{}/bulkdata/7FE00010", instance_url(&server, &spec, i))
        );
        let parts = get(uri, Some(OCTET_STREAM)).parts();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body, source_pixels(i), "bulk data of slice {i}");
    }
    let study_meta = get(
        &format!(
            "{}/studies/{}/metadata",
            server.base(),
            spec.study.study_uid
        ),
        Some("application/dicom+json"),
    )
    .json();
    assert_eq!(study_meta.as_array().map(Vec::len), Some(4));
    let one = get(
        &format!("{}/metadata", instance_url(&server, &spec, 3)),
        None,
    )
    .json();
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    assert_eq!(
        string_value(&one[0], "00080018"),
        Some(spec.sop_instance_uid(3))
    );

    for i in 0..4 {
        let parts = get(
            &format!("{}/frames/1", instance_url(&server, &spec, i)),
            Some(OCTET_STREAM),
        )
        .parts();
        assert_eq!(parts.len(), 1);
        assert!(
            parts[0]
                .content_type
                .starts_with("application/octet-stream"),
            "{}",
            parts[0].content_type
        );
        assert_eq!(parts[0].body, source_pixels(i), "frame 1 of slice {i}");
    }
    for other in &others {
        let meta = get(&format!("{}/metadata", series_url(&server, other)), None).json();
        for i in 0..2 {
            let url = instance_url(&server, other, i);
            let source = web::words_le(&ct_slice_pixels(other, i));
            let parts = get(&format!("{url}/frames/1"), Some(OCTET_STREAM)).parts();
            assert_eq!(
                parts[0].body, source,
                "frame of a {:?} instance",
                other.series_uid
            );
            // Deflated pixel data has no place in the stored bytes; it is
            // there all the same, at its BulkDataURI and as bulk data.
            let item = meta
                .as_array()
                .and_then(|m| {
                    m.iter().find(|item| {
                        string_value(item, "00080018") == Some(other.sop_instance_uid(i))
                    })
                })
                .expect("metadata of the instance");
            let uri = item["7FE00010"]["BulkDataURI"]
                .as_str()
                .unwrap_or_else(|| panic!("pixel data in the metadata: {item}"));
            let parts = get(uri, Some(OCTET_STREAM)).parts();
            assert_eq!(parts.len(), 1);
            assert_eq!(parts[0].body, source, "{uri}");
            let parts = get(&url, Some(OCTET_STREAM)).parts();
            assert_eq!(parts.len(), 1, "bulk data of {url}");
            assert_eq!(parts[0].body, source, "bulk data of {url}");
        }
    }
    // A series asked for as bulk data: each instance's pixel data, one
    // part each, located at its BulkDataURI.
    let bulk = get(&series_url(&server, &spec), Some(OCTET_STREAM));
    assert_eq!(bulk.status, 200, "{}", bulk.text());
    assert_eq!(
        web::media_param(&bulk.content_type, "type").as_deref(),
        Some("application/octet-stream")
    );
    let parts = bulk.parts();
    assert_eq!(parts.len(), 4);
    for part in &parts {
        let location = part.content_location.as_deref().expect("Content-Location");
        let i = (0..4)
            .find(|&i| location == format!("{}/bulkdata/7FE00010", instance_url(&server, &spec, i)))
            .unwrap_or_else(|| panic!("{location} names a stored instance's pixel data"));
        assert!(part.content_type.starts_with("application/octet-stream"));
        assert_eq!(part.body, source_pixels(i), "bulk data of slice {i}");
    }
    // A client that takes neither DICOM nor what the pixels can be sent as
    // gets a 406 before any of them.
    let r = get(
        &series_url(&server, &spec),
        Some(r#"multipart/related; type="image/jls""#),
    );
    assert_eq!(r.status, 406, "{}", r.text());

    let url = instance_url(&server, &spec, 0);
    let missing = get(&format!("{url}/frames/2"), Some(OCTET_STREAM));
    assert_eq!(missing.status, 404, "{}", missing.text());
    assert!(missing.text().contains("frame 2"), "{}", missing.text());
    for bad in ["0", "abc", "1,,2", "-1"] {
        let r = get(&format!("{url}/frames/{bad}"), Some(OCTET_STREAM));
        assert_eq!(r.status, 400, "frames/{bad}: {}", r.text());
    }
    // A percent-encoded comma is a comma; a frame asked for twice (which
    // would let one URL stream an instance without end) is refused.
    for twice in ["1,1", "1%2C1", "1%2c1"] {
        let r = get(&format!("{url}/frames/{twice}"), Some(OCTET_STREAM));
        assert_eq!(r.status, 400, "frames/{twice}: {}", r.text());
        assert!(r.text().contains("more than once"), "{}", r.text());
    }
    // Each frame part says which frame it is.
    let parts = get(&format!("{url}/frames/1"), Some(OCTET_STREAM)).parts();
    assert_eq!(
        parts[0].content_location.as_deref(),
        Some(format!("{url}/frames/1").as_str())
    );

    // dicomweb-client: the same through a real client
    let Some(py) = web::python_or_skip("metadata_bulk_data_and_frames (dicomweb-client part)")
    else {
        return;
    };
    let (st, se) = (&spec.study.study_uid, &spec.series_uid);
    let out = web::run_python(
        &py,
        "wado.py",
        &[
            &server.base(),
            &json!([{"op": "series_metadata", "study": st, "series": se}]).to_string(),
        ],
    );
    let meta = out[0].as_array().expect("metadata list");
    assert_eq!(meta.len(), 4);
    let mut ops = Vec::new();
    let mut want = Vec::new();
    for item in meta {
        let sop = string_value(item, "00080018").expect("SOP Instance UID");
        let i = (0..4)
            .find(|&i| spec.sop_instance_uid(i) == sop)
            .expect("a stored instance");
        let uri = item["7FE00010"]["BulkDataURI"]
            .as_str()
            .expect("BulkDataURI");
        ops.push(json!({"op": "bulkdata", "url": uri}));
        ops.push(
            json!({"op": "frames", "study": st, "series": se, "sop": sop, "frames": [1],
                        "media_types": [["application/octet-stream"]]}),
        );
        want.push(sha256(&source_pixels(i)));
    }
    let out = web::run_python(
        &py,
        "wado.py",
        &[&server.base(), &Value::from(ops).to_string()],
    );
    for (k, sha) in want.iter().enumerate() {
        for result in [&out[2 * k], &out[2 * k + 1]] {
            assert_eq!(
                result,
                &json!([{"len": 128 * 128 * 2, "sha256": sha}]),
                "bulk data and frames through dicomweb-client"
            );
        }
    }
    assert!(server.stop().success());
}

/// With `public_url` configured, every link the archive hands out
/// (RetrieveURL in STOW-RS and QIDO-RS, BulkDataURI in metadata) is under
/// it, whatever Host the request carried.
#[test]
fn links_are_under_the_configured_public_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pacs.toml");
    std::fs::write(
        &config,
        "[server]\npublic_url = \"https://pacs.example.org/archive/\"\n",
    )
    .expect("config");
    let server = Server::start_with(&dir.path().join("data"), Some(&config), &[]);
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        1,
        65,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let public = "https://pacs.example.org/archive/dicom-web";
    let (st, se, sop) = (
        &spec.study.study_uid,
        &spec.series_uid,
        spec.sop_instance_uid(0),
    );
    let instance = format!("{public}/studies/{st}/series/{se}/instances/{sop}");
    let r = stow(&server, None, &refs(&read_all(&files)));
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(
        string_value(&body, "00081190"),
        Some(format!("{public}/studies/{st}"))
    );
    let item = &body["00081199"]["Value"][0];
    assert_eq!(string_value(item, "00081190"), Some(instance.clone()));
    let found = qido(&server, &format!("/studies/{st}/series/{se}/instances"));
    assert_eq!(string_value(&found[0], "00081190"), Some(instance.clone()));
    let meta = get(&format!("{}/metadata", series_url(&server, &spec)), None).json();
    assert_eq!(
        meta[0]["7FE00010"]["BulkDataURI"].as_str(),
        Some(format!("{instance}/bulkdata/7FE00010").as_str())
    );
    assert!(server.stop().success());
}

/// The pixel data of a multi-frame instance is one value: its BulkDataURI
/// gives every frame in one part, as the instance's bulk data retrieve
/// does, and each frame is at its own frame URL.
#[test]
fn multi_frame_pixel_data_is_one_value_at_its_bulk_data_uri() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;

    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        3,
        66,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    // Three slices as the frames of one multi-frame secondary capture.
    let frames: Vec<Vec<u8>> = (0..3)
        .map(|i| web::words_le(&ct_slice_pixels(&spec, i)))
        .collect();
    let mut object = dicom_object::open_file(&files[0]).expect("sample");
    let sop_class = "1.2.840.10008.5.1.4.1.1.7.3";
    object.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(sop_class),
    ));
    object.meta_mut().media_storage_sop_class_uid = sop_class.to_owned();
    object.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from("3"),
    ));
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(frames.concat()),
    ));
    let path = dir.path().join("multi-frame.dcm");
    object.write_to_file(&path).expect("written");
    stow_ok(&server, &refs(&read_all(&[path])));

    let url = instance_url(&server, &spec, 0);
    let meta = get(&format!("{url}/metadata"), None).json();
    let uri = meta[0]["7FE00010"]["BulkDataURI"]
        .as_str()
        .expect("BulkDataURI");
    for (what, parts) in [
        ("its BulkDataURI", get(uri, Some(OCTET_STREAM)).parts()),
        ("its bulk data", get(&url, Some(OCTET_STREAM)).parts()),
    ] {
        assert_eq!(parts.len(), 1, "one value at {what}");
        assert_eq!(parts[0].body, frames.concat(), "every frame at {what}");
        assert_eq!(parts[0].content_location.as_deref(), Some(uri));
    }
    for (n, frame) in frames.iter().enumerate() {
        let parts = get(&format!("{url}/frames/{}", n + 1), Some(OCTET_STREAM)).parts();
        assert_eq!(&parts[0].body, frame, "frame {}", n + 1);
    }
}

/// HEAD answers with GET's status and headers, Content-Length included
/// where GET's body has a known length, and no body.
#[test]
fn head_answers_with_the_headers_of_get() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        2,
        95,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    stow_ok(&server, &refs(&read_all(&files)));
    let instance = instance_url(&server, &spec, 0);
    let client = reqwest::blocking::Client::new();
    for (url, accept) in [
        (format!("{instance}/metadata"), "application/dicom+json"),
        (format!("{instance}/rendered"), "image/png"),
        (format!("{instance}/frames/1"), OCTET_STREAM),
        (
            format!("{}/metadata", series_url(&server, &spec)),
            "application/dicom+json",
        ),
        (
            format!("{}/studies?PatientID=nobody", server.base()),
            "application/dicom+json",
        ),
        (format!("{instance}/frames/9"), OCTET_STREAM),
    ] {
        let got = get(&url, Some(accept));
        let head = client
            .head(&url)
            .header("accept", accept)
            .send()
            .expect("HEAD");
        assert_eq!(head.status().as_u16(), got.status, "{url}");
        // The same type; a multipart boundary is drawn anew for each.
        let media_type = |h: &reqwest::header::HeaderMap| {
            let value = h.get("content-type").map(|v| v.to_str().expect("ASCII"));
            value.map(|v| v.split("; boundary=").next().unwrap_or_default().to_owned())
        };
        assert_eq!(
            media_type(head.headers()),
            media_type(&got.headers),
            "{url}"
        );
        let length = |h: &reqwest::header::HeaderMap| {
            h.get("content-length")
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        };
        // A streamed answer (multipart frames) has no length to give.
        if !url.contains("/frames/1") {
            assert_eq!(length(&got.headers), Some(got.body.len()), "GET {url}");
        }
        assert_eq!(length(head.headers()), length(&got.headers), "HEAD {url}");
        assert!(head.bytes().expect("body").is_empty(), "{url}");
    }
    assert!(server.stop().success());
}
