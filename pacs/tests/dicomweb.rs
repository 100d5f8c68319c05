//! DICOMweb against the real `pacs` binary: the main flows with the Python
//! dicomweb-client (`tests/python/`), the protocol edges with reqwest and
//! raw sockets.

mod common;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dicom_samples::{
    CtSpec, Date, Patient, SampleTransferSyntax, XrayKind, XraySpec, ct_slice_pixels,
    write_ct_series, write_xray,
};
use serde_json::{Value, json};

use common::{Server, ct_files, sha256};
use web::{
    DICOM_ANY_TS, DICOM_DEFAULT, Dicom, EXPLICIT_LE, OCTET_STREAM, all_instances, failed_sops, get,
    int_value, media_param, png_info, qido, referenced_sops, stow, stow_ok, string_value,
};

const IVANOV: &str = "Иванов^Иван^Петрович";
const IVANOVA: &str = "Иванова^Мария^Сергеевна";

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| read(p)).collect()
}

fn refs(files: &[Vec<u8>]) -> Vec<&[u8]> {
    files.iter().map(Vec::as_slice).collect()
}

fn instance_url(server: &Server, spec: &CtSpec, index: u32) -> String {
    format!(
        "{}/studies/{}/series/{}/instances/{}",
        server.base(),
        spec.study.study_uid,
        spec.series_uid,
        spec.sop_instance_uid(index)
    )
}

fn series_url(server: &Server, spec: &CtSpec) -> String {
    format!(
        "{}/studies/{}/series/{}",
        server.base(),
        spec.study.study_uid,
        spec.series_uid
    )
}

fn alphabetic(obj: &Value) -> Option<&str> {
    obj["00100010"]["Value"][0]["Alphabetic"].as_str()
}

fn study_uids(results: &Value) -> BTreeSet<String> {
    results
        .as_array()
        .unwrap_or_else(|| panic!("not a result list: {results}"))
        .iter()
        .map(|r| string_value(r, "0020000D").expect("StudyInstanceUID"))
        .collect()
}

fn set<const N: usize>(uids: [&str; N]) -> BTreeSet<String> {
    uids.iter().map(|s| s.to_string()).collect()
}

/// STOW-RS with dicomweb-client, then every QIDO-RS search a viewer makes,
/// on a Cyrillic patient written in ISO_IR 144 next to a UTF-8 one with
/// the same family-name prefix and an ASCII one from another year.
#[test]
fn dicomweb_client_stores_and_finds_a_cyrillic_study() {
    let Some(py) = web::python_or_skip("dicomweb_client_stores_and_finds_a_cyrillic_study") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));

    let (ivanov, ivanov_files) = ct_files(
        &dir.path().join("ivanov"),
        10,
        11,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let ivanova = CtSpec::head(Patient::ivanova_utf8(), 12)
        .with_slices(3)
        .with_matrix(64, 64);
    let ivanova_files = write_ct_series(
        &ivanova,
        &dir.path().join("ivanova"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("write Ivanova");
    let mut karimov =
        XraySpec::chest(XrayKind::Dx, Patient::karimov_ascii(), 13).with_matrix(64, 52);
    karimov.study.date = Date {
        year: 2019,
        month: 6,
        day: 1,
    };
    let karimov_file = write_xray(
        &karimov,
        &dir.path().join("karimov"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("write Karimov");

    let base = server.base();
    let stow_py = |files: &[PathBuf]| -> Value {
        let mut args = vec![base.clone(), String::new()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        web::run_python(&py, "stow.py", &args)
    };
    let response = stow_py(&ivanov_files);
    let mut stored = referenced_sops(&response);
    stored.sort();
    let mut expected: Vec<String> = (0..10).map(|i| ivanov.sop_instance_uid(i)).collect();
    expected.sort();
    assert_eq!(stored, expected, "ReferencedSOPSequence: {response}");
    assert!(failed_sops(&response).is_empty(), "{response}");
    assert_eq!(
        string_value(&response, "00081190"),
        Some(format!("{base}/studies/{}", ivanov.study.study_uid)),
        "the response's RetrieveURL is the study"
    );
    assert_eq!(referenced_sops(&stow_py(&ivanova_files)).len(), 3);
    assert_eq!(referenced_sops(&stow_py(&[karimov_file])).len(), 1);

    let (a, b, c) = (
        ivanov.study.study_uid.as_str(),
        ivanova.study.study_uid.as_str(),
        karimov.study.study_uid.as_str(),
    );
    let queries = json!([
        {"level": "studies", "filters": {"PatientName": "Иван*"}},
        {"level": "studies", "filters": {"PatientName": IVANOV}},
        {"level": "studies", "filters": {"PatientName": "иванов^*"}},
        {"level": "studies", "filters": {"PatientID": "UZ-TAS-000101"}},
        {"level": "studies", "filters": {"StudyDate": "20200101-20301231"}},
        {"level": "studies", "filters": {"ModalitiesInStudy": "CT"}},
        {"level": "studies", "limit": 1, "offset": 0},
        {"level": "studies", "limit": 1, "offset": 1},
        {"level": "studies", "limit": 1, "offset": 2},
        {"level": "studies", "limit": 1, "offset": 3},
        {"level": "studies", "filters": {"PatientID": "UZ-TAS-000101"},
         "fields": ["InstitutionName", "SliceThickness"]},
        {"level": "series", "study": a},
        {"level": "series", "filters": {"Modality": "CT"}},
        {"level": "instances", "study": a, "series": ivanov.series_uid},
        {"level": "instances", "study": a, "series": ivanov.series_uid, "limit": 3, "offset": 8},
        {"level": "studies", "filters": {"PatientName": "Петров*"}},
    ]);
    let r = web::run_python(&py, "qido.py", &[&base, &queries.to_string()]);
    let r = r.as_array().expect("one result list per query");

    assert_eq!(study_uids(&r[0]), set([a, b]), "PatientName=Иван*");
    assert_eq!(study_uids(&r[1]), set([a]), "exact PatientName");
    assert_eq!(study_uids(&r[2]), set([a]), "PN matching ignores case");
    assert_eq!(study_uids(&r[3]), set([a]), "PatientID");
    assert_eq!(study_uids(&r[4]), set([a, b]), "StudyDate range");
    assert_eq!(study_uids(&r[5]), set([a, b]), "ModalitiesInStudy=CT");
    let mut paged = BTreeSet::new();
    for page in &r[6..9] {
        let uids = study_uids(page);
        assert_eq!(uids.len(), 1, "limit=1 gives one study: {page}");
        paged.extend(uids);
    }
    assert_eq!(paged, set([a, b, c]), "pages are disjoint and cover all");
    assert!(study_uids(&r[9]).is_empty(), "offset past the end");
    assert!(study_uids(&r[15]).is_empty(), "no match");

    for study in r[0].as_array().expect("studies") {
        let uid = string_value(study, "0020000D").expect("study UID");
        let (want_name, want_instances) = if uid == a { (IVANOV, 10) } else { (IVANOVA, 3) };
        assert_eq!(alphabetic(study), Some(want_name), "decoded name: {study}");
        assert_eq!(int_value(study, "00201206"), Some(1), "{study}");
        assert_eq!(
            int_value(study, "00201208"),
            Some(want_instances),
            "{study}"
        );
        assert_eq!(study["00080061"]["Value"], json!(["CT"]), "{study}");
        assert_eq!(string_value(study, "00080020").as_deref(), Some("20250115"));
        assert_eq!(
            string_value(study, "00081190"),
            Some(format!("{base}/studies/{uid}"))
        );
    }
    let dx = r[6..9]
        .iter()
        .map(|p| &p[0])
        .find(|s| string_value(s, "0020000D").as_deref() == Some(c))
        .expect("Karimov's study on a page");
    assert_eq!(dx["00080061"]["Value"], json!(["DX"]), "{dx}");
    assert_eq!(alphabetic(dx), Some("Karimov^Rustam"));

    let included = &r[10][0];
    assert_eq!(
        string_value(included, "00080080").as_deref(),
        Some("Nukus District Hospital"),
        "includefield=InstitutionName: {included}"
    );
    assert_eq!(
        included["00180050"]["Value"][0].as_f64(),
        Some(1.25),
        "includefield=SliceThickness: {included}"
    );

    let series = r[11].as_array().expect("series");
    assert_eq!(series.len(), 1, "{series:?}");
    assert_eq!(
        string_value(&series[0], "0020000E").as_deref(),
        Some(ivanov.series_uid.as_str())
    );
    assert_eq!(string_value(&series[0], "00080060").as_deref(), Some("CT"));
    assert_eq!(int_value(&series[0], "00201209"), Some(10));
    assert_eq!(int_value(&series[0], "00200011"), Some(2));
    assert_eq!(
        r[12].as_array().map(Vec::len),
        Some(2),
        "CT series of all studies"
    );

    let instances = r[13].as_array().expect("instances");
    let listed: Vec<String> = instances
        .iter()
        .map(|i| string_value(i, "00080018").expect("SOPInstanceUID"))
        .collect();
    let in_order: Vec<String> = (0..10).map(|i| ivanov.sop_instance_uid(i)).collect();
    assert_eq!(listed, in_order, "instances in Instance Number order");
    for (n, i) in instances.iter().enumerate() {
        assert_eq!(int_value(i, "00200013"), Some(n as i64 + 1));
        assert_eq!(int_value(i, "00280010"), Some(128));
        assert_eq!(
            string_value(i, "00081190"),
            Some(instance_url(&server, &ivanov, n as u32))
        );
    }
    let tail: Vec<String> = r[14]
        .as_array()
        .expect("page")
        .iter()
        .map(|i| string_value(i, "00080018").expect("SOPInstanceUID"))
        .collect();
    assert_eq!(tail, in_order[8..].to_vec(), "limit=3&offset=8 of 10");
    assert!(server.stop().success());
}

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
        for i in 0..2 {
            let parts = get(
                &format!("{}/frames/1", instance_url(&server, other, i)),
                Some(OCTET_STREAM),
            )
            .parts();
            assert_eq!(
                parts[0].body,
                web::words_le(&ct_slice_pixels(other, i)),
                "frame of a {:?} instance",
                other.series_uid
            );
        }
    }
    let url = instance_url(&server, &spec, 0);
    let missing = get(&format!("{url}/frames/2"), Some(OCTET_STREAM));
    assert_eq!(missing.status, 404, "{}", missing.text());
    assert!(missing.text().contains("frame 2"), "{}", missing.text());
    for bad in ["0", "abc", "1,,2", "-1"] {
        let r = get(&format!("{url}/frames/{bad}"), Some(OCTET_STREAM));
        assert_eq!(r.status, 400, "frames/{bad}: {}", r.text());
    }

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

/// LINEAR VOI (PS3.3 C.11.2.1.2.1), before rounding to a grey level.
fn linear_voi(x: f64, center: f64, width: f64) -> f64 {
    let (c, w) = (center - 0.5, width - 1.0);
    if x <= c - w / 2.0 {
        0.0
    } else if x > c + w / 2.0 {
        255.0
    } else {
        ((x - c) / w + 0.5) * 255.0
    }
}

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
    ] {
        let r = get(&format!("{url}/rendered?{bad}"), Some("image/png"));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }

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

/// Unknown resources are 404 with a message; a path segment that is not a
/// UID is a 400 and never a lookup.
#[test]
fn unknown_resources_are_404_and_invalid_uids_400() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        1,
        50,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    stow_ok(&server, &refs(&read_all(&files)));
    let base = server.base();
    let (st, se) = (&spec.study.study_uid, &spec.series_uid);
    let sop = spec.sop_instance_uid(0);
    let unknown = "1.2.826.0.1.3680043.10.1453.999.1";
    for path in [
        format!("/studies/{unknown}"),
        format!("/studies/{unknown}/metadata"),
        format!("/studies/{unknown}/rendered"),
        format!("/studies/{st}/series/{unknown}"),
        format!("/studies/{st}/series/{unknown}/metadata"),
        format!("/studies/{st}/series/{se}/instances/{unknown}"),
        format!("/studies/{st}/series/{se}/instances/{unknown}/metadata"),
        format!("/studies/{st}/series/{se}/instances/{unknown}/frames/1"),
        format!("/studies/{st}/series/{se}/instances/{unknown}/rendered"),
        format!("/studies/{unknown}/series/{se}/instances/{sop}"),
    ] {
        let r = get(&format!("{base}{path}"), None);
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert!(r.text().contains("not found"), "{path}: {:?}", r.text());
    }
    let r = get(&format!("{base}/studies/{st}/bogus"), None);
    assert_eq!(r.status, 404, "{}", r.text());

    for path in [
        "/studies/..%2F..%2Fetc/metadata".to_owned(),
        "/studies/1.2.abc/metadata".to_owned(),
        "/studies/1.02.3".to_owned(),
        format!("/studies/{st}/series/1.2.abc"),
        format!("/studies/{st}/series/{se}/instances/..%2Fx/frames/1"),
        format!("/studies/{st}/series/{se}/instances/{sop}%00/metadata"),
    ] {
        let r = get(&format!("{base}{path}"), None);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(r.text().contains("invalid UID"), "{path}: {:?}", r.text());
    }
    // A client that does not normalise dot segments.
    let status = raw_get(&server, "/dicom-web/studies/../../etc/passwd");
    assert_eq!(status, 400, "unnormalised ../ segments");

    for query in [
        "/studies?StudyDate=yesterday",
        "/studies?limit=-1",
        "/studies?StudyInstanceUID=../x",
    ] {
        let r = get(&format!("{base}{query}"), None);
        assert_eq!(r.status, 400, "{query}: {}", r.text());
    }
    assert!(server.stop().success());
}

/// The status code of a GET sent byte for byte over a socket.
fn raw_get(server: &Server, path: &str) -> u16 {
    let mut s = TcpStream::connect(server.http).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.http
    )
    .expect("send");
    let mut head = Vec::new();
    let _ = s.read_to_end(&mut head);
    let head = String::from_utf8_lossy(&head);
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"))
}

/// 406 when the Accept cannot be met, 415 for a STOW-RS body that is not
/// multipart/related of application/dicom; nothing stored by either.
#[test]
fn unacceptable_media_types_are_406_and_wrong_content_types_415() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        1,
        60,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let bytes = read_all(&files);
    stow_ok(&server, &refs(&bytes));
    let url = instance_url(&server, &spec, 0);
    let jpeg_ts =
        r#"multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50"#;
    for (path, accept) in [
        (url.clone(), jpeg_ts),
        (url.clone(), "application/dicom+json"),
        (format!("{url}/metadata"), "image/png"),
        (format!("{}/studies", server.base()), "image/png"),
        (format!("{url}/rendered"), "application/dicom+json"),
        (
            format!("{url}/frames/1"),
            r#"multipart/related; type="image/jls""#,
        ),
        (
            format!("{url}/frames/1"),
            r#"multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.4.80"#,
        ),
    ] {
        let r = get(&path, Some(accept));
        assert_eq!(r.status, 406, "{path} with Accept {accept}: {}", r.text());
        assert!(!r.text().trim().is_empty(), "406 says why");
    }
    // The accept query parameter overrides the header.
    let r = get(
        &format!("{url}/metadata?accept=application/dicom%2Bjson"),
        Some("image/png"),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let body = web::multipart_body(&[("application/dicom", &bytes[0])], web::BOUNDARY);
    for content_type in [
        Some("application/dicom".to_owned()),
        Some(format!(
            r#"multipart/related; type="application/dicom+json"; boundary={}"#,
            web::BOUNDARY
        )),
        Some(format!("multipart/form-data; boundary={}", web::BOUNDARY)),
        Some(r#"multipart/related; type="application/dicom""#.to_owned()),
        None,
    ] {
        let mut req = common::http()
            .post(format!("{}/studies", server.base()))
            .body(body.clone());
        if let Some(ct) = &content_type {
            req = req.header("Content-Type", ct);
        }
        let r = req.send().expect("POST");
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        assert_eq!(status, 415, "Content-Type {content_type:?}: {text}");
    }
    let r = common::http()
        .post(format!(
            "{}/studies/{}/series",
            server.base(),
            spec.study.study_uid
        ))
        .header("Content-Type", web::stow_content_type())
        .body(body)
        .send()
        .expect("POST");
    assert_eq!(r.status().as_u16(), 405);
    let r = stow(&server, Some("1.2.abc"), &[&bytes[0]]);
    assert_eq!(
        r.status,
        400,
        "STOW-RS to an invalid study UID: {}",
        r.text()
    );
    assert_eq!(all_instances(&server), vec![spec.sop_instance_uid(0)]);
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

/// STOW-RS requests running at once, into one study and of one instance,
/// are all stored and counted once.
#[test]
fn concurrent_stows_into_one_study_are_all_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let base = CtSpec::chest(Patient::toshmatov_utf8(), 85)
        .with_slices(3)
        .with_matrix(64, 64);
    let mut series = Vec::new();
    for n in 1..=4u32 {
        let mut spec = base.clone();
        spec.series_uid = format!("{}.{n}", base.series_uid);
        spec.series_number = n;
        let files = write_ct_series(
            &spec,
            &dir.path().join(format!("series-{n}")),
            SampleTransferSyntax::ExplicitVrLittleEndian,
        )
        .expect("write a series");
        series.push(read_all(&files));
    }
    let same = series[0][0].clone();
    std::thread::scope(|scope| {
        let mut running = Vec::new();
        for files in &series {
            let server = &server;
            running.push(scope.spawn(move || stow_ok(server, &refs(files))));
        }
        for _ in 0..4 {
            let (server, same) = (&server, &same);
            running.push(scope.spawn(move || stow_ok(server, &[same.as_slice()])));
        }
        for r in running {
            r.join().expect("a STOW-RS thread panicked");
        }
    });
    let study = qido(
        &server,
        &format!("/studies?StudyInstanceUID={}", base.study.study_uid),
    );
    assert_eq!(study.len(), 1);
    assert_eq!(int_value(&study[0], "00201206"), Some(4), "{}", study[0]);
    assert_eq!(int_value(&study[0], "00201208"), Some(12), "{}", study[0]);
    assert_eq!(all_instances(&server).len(), 12);
    let listed = qido(
        &server,
        &format!("/studies/{}/series", base.study.study_uid),
    );
    for s in &listed {
        assert_eq!(int_value(s, "00201209"), Some(3), "{s}");
    }
    assert!(server.stop().success());
}

/// Deterministic noise, so that a failure can be replayed.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Each bad part of a STOW-RS request is reported in FailedSOPSequence
/// with a reason, good parts beside them are stored, and nothing of a bad
/// part reaches storage.
#[test]
fn stow_reports_each_bad_part_and_stores_the_good_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        4,
        70,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let good = read_all(&files);
    let sop = |i| spec.sop_instance_uid(i);

    let truncated = good[0][..good[0].len() / 2].to_vec();
    let header_only = good[0][..700].to_vec();
    let random = noise(4096, 7);
    let mut no_study = dicom_samples::ct_slice(&spec, 1).expect("slice");
    assert!(no_study.remove_element(dicom_object::Tag(0x0020, 0x000D)));
    let no_study =
        dicom_samples::to_bytes(&mut no_study, SampleTransferSyntax::ExplicitVrLittleEndian)
            .expect("encode");

    let alone = |bytes: &[u8], why: &str| -> Vec<(Option<String>, u64)> {
        let r = stow(&server, None, &[bytes]);
        assert_eq!(r.status, 409, "{why}: {}", r.text());
        let body = r.json();
        assert!(referenced_sops(&body).is_empty(), "{why}: {body}");
        assert!(
            r.headers.get("warning").is_some(),
            "{why}: a Warning says why"
        );
        failed_sops(&body)
    };
    let failed = alone(&truncated, "a file cut in its pixel data");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, Some(sop(0)));
    assert!([0xC000, 0xA900].contains(&failed[0].1), "{failed:?}");
    let failed = alone(&header_only, "a file cut in its header");
    assert!([0xC000, 0xA900].contains(&failed[0].1), "{failed:?}");
    assert_eq!(alone(&random, "random bytes"), vec![(None, 0xC000)]);
    assert_eq!(
        alone(&no_study, "no StudyInstanceUID"),
        vec![(Some(sop(1)), 0xA900)]
    );

    if let Some(py) = web::python_or_skip("stow_reports_each_bad_part (hostile UIDs)") {
        for (n, hostile) in ["../../../../etc/passwd", "1.2.abc", "1.2.3/../../x"]
            .into_iter()
            .enumerate()
        {
            let path = dir.path().join(format!("hostile-{n}.dcm"));
            let written = web::run_python(
                &py,
                "set_sop_instance_uid.py",
                &[
                    &files[2].display().to_string(),
                    &path.display().to_string(),
                    hostile,
                ],
            );
            assert_eq!(written, json!({"sop": hostile, "meta": hostile}));
            let bytes = read(&path);
            let failed = alone(&bytes, hostile);
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].1, 0xA900, "{hostile}: {failed:?}");
        }
    }
    assert!(all_instances(&server).is_empty(), "nothing was stored");
    assert!(
        web::files_under(&data.join("objects")).is_empty(),
        "no object was written for a refused part: {:?}",
        web::files_under(&data.join("objects"))
    );
    let escaped = web::files_under(dir.path())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "passwd" || n == "x"))
        .collect::<Vec<_>>();
    assert!(escaped.is_empty(), "{escaped:?}");

    // good and bad parts in one request: 202
    let r = stow(&server, None, &[&good[0], &random, &good[1], &truncated]);
    assert_eq!(r.status, 202, "{}", r.text());
    let body = r.json();
    let mut stored = referenced_sops(&body);
    stored.sort();
    let mut want = vec![sop(0), sop(1)];
    want.sort();
    assert_eq!(stored, want, "{body}");
    let failed = failed_sops(&body);
    assert_eq!(failed.len(), 2, "{body}");
    assert!(failed.contains(&(None, 0xC000)), "{failed:?}");
    assert_eq!(all_instances(&server), want);
    for i in 0..2 {
        let parts = get(&instance_url(&server, &spec, i), Some(DICOM_ANY_TS)).parts();
        assert_eq!(sha256(&parts[0].body), sha256(&good[i as usize]));
    }

    // an instance of another study sent to /studies/{study}
    let (other, other_files) = ct_files(
        &dir.path().join("other"),
        1,
        71,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let other_bytes = read(&other_files[0]);
    let r = stow(&server, Some(&spec.study.study_uid), &[&other_bytes]);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        failed_sops(&r.json()),
        vec![(Some(other.sop_instance_uid(0)), 0xA900)]
    );
    assert_eq!(
        all_instances(&server),
        want,
        "the other study's instance is not stored"
    );
    let r = stow(&server, Some(&spec.study.study_uid), &[&good[2]]);
    assert_eq!(r.status, 200, "the right study is accepted: {}", r.text());
    assert!(server.stop().success());
}

/// An instance over the configured size limit is never stored: alone it
/// is refused with 413; among others it is listed as failed with 0xA700
/// (out of resources) and the parts after it are still stored, so that the
/// response names every part of the request.
#[test]
fn an_instance_over_the_size_limit_is_refused_with_413() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pacs.toml");
    std::fs::write(&config, "[ingest]\nmax_instance_size = 20000\n").expect("config");
    let server = Server::start_with(&dir.path().join("data"), Some(&config), &[]);
    let small = CtSpec::chest(Patient::karimov_ascii(), 75)
        .with_slices(3)
        .with_matrix(64, 64);
    let small_files = write_ct_series(
        &small,
        &dir.path().join("small"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("small CT");
    let small_bytes = read_all(&small_files);
    let (big_spec, big_files) = ct_files(
        &dir.path().join("big"),
        1,
        76,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let big = read(&big_files[0]);
    assert!(small_bytes[0].len() < 20_000 && big.len() > 20_000);
    let big_failed = vec![(Some(big_spec.sop_instance_uid(0)), 0xA700)];

    let r = stow(&server, None, &[&big]);
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(failed_sops(&r.json()), big_failed, "{}", r.text());
    assert_eq!(
        web::items(&r.json(), "00081198")
            .iter()
            .map(|i| string_value(i, "00081150"))
            .collect::<Vec<_>>(),
        vec![Some("1.2.840.10008.5.1.4.1.1.2".to_owned())],
        "the SOP Class is read from the part's head"
    );
    assert!(referenced_sops(&r.json()).is_empty());
    let warnings: Vec<&str> = r
        .headers
        .get_all("warning")
        .iter()
        .filter_map(|w| w.to_str().ok())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("20000")),
        "a Warning names the limit: {warnings:?}"
    );
    assert!(all_instances(&server).is_empty());

    // The parts on both sides of the large one are stored and listed; the
    // large one is listed as failed, never stored.
    let r = stow(&server, None, &[&small_bytes[0], &big, &small_bytes[1]]);
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(r.headers.get("warning").is_some(), "a Warning says why");
    let mut referenced = referenced_sops(&r.json());
    referenced.sort();
    let mut want = vec![small.sop_instance_uid(0), small.sop_instance_uid(1)];
    want.sort();
    assert_eq!(referenced, want, "{}", r.text());
    assert_eq!(failed_sops(&r.json()), big_failed, "{}", r.text());
    assert_eq!(all_instances(&server), want);
    assert!(server.stop().success());
}

/// How an aborted upload frames its body.
#[derive(Debug, Clone, Copy)]
enum Framing {
    ContentLength,
    Chunked,
}

/// Sends a STOW-RS request whose body stops at `cut` of `body`, then
/// closes the connection.
fn abort_upload(server: &Server, body: &[u8], cut: usize, framing: Framing) {
    let mut s = TcpStream::connect(server.http).expect("connect");
    let mut head = format!(
        "POST /dicom-web/studies HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nAccept: application/dicom+json\r\n",
        server.http,
        web::stow_content_type()
    );
    match framing {
        Framing::ContentLength => head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len())),
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    s.write_all(head.as_bytes()).expect("send head");
    match framing {
        Framing::ContentLength => s.write_all(&body[..cut]).expect("send body"),
        Framing::Chunked => {
            s.write_all(format!("{cut:x}\r\n").as_bytes())
                .expect("chunk size");
            s.write_all(&body[..cut]).expect("chunk");
            s.write_all(b"\r\n").expect("chunk end");
        }
    }
    s.flush().expect("flush");
    drop(s);
}

/// An upload cut off mid-body leaves what was stored before intact and
/// stores nothing partial: at most the parts that arrived whole.
#[test]
fn an_upload_cut_short_leaves_stored_data_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let (before, before_files) = ct_files(
        &dir.path().join("before"),
        4,
        80,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let before_bytes = read_all(&before_files);
    stow_ok(&server, &refs(&before_bytes));
    let (cut, cut_files) = ct_files(
        &dir.path().join("cut"),
        3,
        81,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let cut_bytes = read_all(&cut_files);
    let parts: Vec<(&str, &[u8])> = cut_bytes
        .iter()
        .map(|b| ("application/dicom", b.as_slice()))
        .collect();
    let body = web::multipart_body(&parts, web::BOUNDARY);
    // the first part whole, then half of the second
    let first_part = web::multipart_body(&parts[..1], web::BOUNDARY).len()
        - format!("--{}--\r\n", web::BOUNDARY).len();
    let at = first_part + 200 + cut_bytes[1].len() / 2;
    for framing in [Framing::ContentLength, Framing::Chunked] {
        abort_upload(&server, &body, at, framing);
    }

    // The first part may have been stored by the aborted requests; storing
    // it again settles that either way, and must be a plain success.
    stow_ok(&server, &[&cut_bytes[0]]);
    let mut want: Vec<String> = (0..4).map(|i| before.sop_instance_uid(i)).collect();
    want.push(cut.sop_instance_uid(0));
    want.sort();
    assert_eq!(
        all_instances(&server),
        want,
        "the parts cut off are not stored"
    );
    let series = qido(&server, &format!("/studies/{}/series", cut.study.study_uid));
    assert_eq!(int_value(&series[0], "00201209"), Some(1));

    let known: BTreeSet<String> = before_bytes
        .iter()
        .chain(std::iter::once(&cut_bytes[0]))
        .map(|b| sha256(b))
        .collect();
    for i in 0..4 {
        let parts = get(&instance_url(&server, &before, i), Some(DICOM_ANY_TS)).parts();
        assert_eq!(sha256(&parts[0].body), sha256(&before_bytes[i as usize]));
    }
    let parts = get(&instance_url(&server, &cut, 0), Some(DICOM_ANY_TS)).parts();
    assert_eq!(sha256(&parts[0].body), sha256(&cut_bytes[0]));
    for object in web::files_under(&data.join("objects")) {
        assert!(
            known.contains(&sha256(&read(&object))),
            "{} is not a whole instance that was sent",
            object.display()
        );
    }
    let health = get(&server.url("/healthz"), None);
    assert_eq!(health.status, 200, "{}", health.text());
    assert!(server.stop().success());
}

/// Sending the same instance again is a success that changes nothing;
/// different content under a stored SOP Instance UID is refused (0x0111)
/// and the first stays.
#[test]
fn duplicate_stow_is_idempotent_and_a_conflicting_one_keeps_the_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        3,
        90,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let bytes = read_all(&files);
    stow_ok(&server, &refs(&bytes));
    assert_eq!(
        stow_ok(&server, &[&bytes[0]]),
        vec![spec.sop_instance_uid(0)]
    );
    stow_ok(&server, &refs(&bytes));
    assert_eq!(all_instances(&server).len(), 3);
    let series = qido(
        &server,
        &format!("/studies/{}/series", spec.study.study_uid),
    );
    assert_eq!(int_value(&series[0], "00201209"), Some(3));
    let studies = qido(
        &server,
        &format!("/studies?StudyInstanceUID={}", spec.study.study_uid),
    );
    assert_eq!(int_value(&studies[0], "00201208"), Some(3));

    let mut changed = bytes[0].clone();
    let last = changed.len() - 1;
    changed[last] ^= 0x01;
    let r = stow(&server, None, &[&changed]);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        failed_sops(&r.json()),
        vec![(Some(spec.sop_instance_uid(0)), 0x0111)]
    );
    let warning = r
        .headers
        .get("warning")
        .and_then(|w| w.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(warning.contains("already stored"), "{warning:?}");
    let parts = get(&instance_url(&server, &spec, 0), Some(DICOM_ANY_TS)).parts();
    assert_eq!(
        sha256(&parts[0].body),
        sha256(&bytes[0]),
        "the first is kept"
    );
    assert_eq!(all_instances(&server).len(), 3);
    assert!(server.stop().success());
}
