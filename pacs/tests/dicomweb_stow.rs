//! STOW-RS against the real `pacs` binary: bad parts, size limits,
//! uploads cut short, duplicates and concurrent requests, with reqwest and
//! raw sockets.

mod common;
#[path = "common/dicomweb_fixtures.rs"]
mod fixtures;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpStream;

use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, write_ct_series};
use serde_json::json;

use common::{Server, ct_files, sha256};
use fixtures::{instance_url, read, read_all, refs};
use web::{
    DICOM_ANY_TS, all_instances, failed_sops, get, int_value, qido, referenced_sops, stow, stow_ok,
    string_value,
};

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
            // The Warning quotes the value as the message does, in single
            // quotes inside its own double ones.
            let warnings = stow(&server, None, &[&bytes]).warnings();
            let quoted = format!("'{hostile}' is not a valid UID");
            assert!(warnings.contains(&quoted), "{warnings}");
            assert!(!warnings.contains("  "), "{warnings}");
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
    let warnings = r.warnings();
    assert!(
        warnings.contains("20000"),
        "a Warning names the limit: {warnings}"
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
    let warning = r.warnings();
    assert!(warning.contains("already stored"), "{warning:?}");
    let parts = get(&instance_url(&server, &spec, 0), Some(DICOM_ANY_TS)).parts();
    assert_eq!(
        sha256(&parts[0].body),
        sha256(&bytes[0]),
        "the first is kept"
    );
    assert_eq!(all_instances(&server).len(), 3);

    // The conflicting part, then the body breaks off inside the next
    // part: nothing was stored, so the request failed (not 202), and the
    // part broken off is named among the failures, to be sent again.
    let mut body = web::multipart_body(&[("application/dicom", &changed)], web::BOUNDARY);
    body.truncate(body.len() - format!("--{}--\r\n", web::BOUNDARY).len());
    body.extend_from_slice(
        format!(
            "--{}\r\nContent-Type: application/dicom\r\n\r\n",
            web::BOUNDARY
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes[1][..1000]);
    let r = web::stow_raw(&server, None, &web::stow_content_type(), body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(referenced_sops(&r.json()).is_empty());
    assert_eq!(
        failed_sops(&r.json()),
        vec![
            (Some(spec.sop_instance_uid(0)), 0x0111),
            (Some(spec.sop_instance_uid(1)), 0x0110)
        ]
    );
    let warning = r.warnings();
    assert!(
        warning.contains("broke off 1000 bytes into this instance"),
        "{warning:?}"
    );
    assert_eq!(all_instances(&server).len(), 3);

    // Broken off after a stored part: 202, the stored one referenced and
    // the one broken off failed; broken off between a delimiter and the
    // part's headers, the failure names no instance.
    let mut body = web::multipart_body(&[("application/dicom", &bytes[0])], web::BOUNDARY);
    body.truncate(body.len() - format!("--{}--\r\n", web::BOUNDARY).len());
    body.extend_from_slice(format!("--{}\r\nContent-Ty", web::BOUNDARY).as_bytes());
    let r = web::stow_raw(&server, None, &web::stow_content_type(), body);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(referenced_sops(&r.json()), vec![spec.sop_instance_uid(0)]);
    assert_eq!(failed_sops(&r.json()), vec![(None, 0x0110)]);

    assert!(server.stop().success());
}

/// Under `duplicate_policy = "replace"`, stores of an instance's old and
/// new bytes racing each other are each acknowledged, and every
/// acknowledged instance keeps its object: a replacement never removes
/// the object a concurrent store of the old bytes has just written.
#[test]
fn racing_replacements_never_leave_an_instance_without_its_object() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pacs.toml");
    std::fs::write(&config, "[ingest]\nduplicate_policy = \"replace\"\n").expect("config");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, Some(&config), &[]);
    let (_, old) = ct_files(
        &dir.path().join("old"),
        20,
        91,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    // The same instances, corrected: other bytes under the same UIDs.
    let new_dir = dir.path().join("new");
    std::fs::create_dir_all(&new_dir).expect("dir");
    let mut new = Vec::new();
    for f in &old {
        let to = new_dir.join(f.file_name().unwrap());
        std::fs::copy(f, &to).expect("copied");
        new.push(to);
    }
    let mut args = vec!["-nb", "-m", "(0008,103E)=CT chest, corrected"];
    args.extend(new.iter().map(|p| p.to_str().unwrap()));
    let out = common::dcmtk("dcmodify", &args);
    assert!(out.status.success(), "{out:?}");

    for (old, new) in old.iter().zip(&new) {
        let (old, new) = (read(old), read(new));
        let sends = [&old, &old, &new, &old, &new];
        let start = std::sync::Barrier::new(sends.len());
        std::thread::scope(|scope| {
            for body in sends {
                let (server, start) = (&server, &start);
                scope.spawn(move || {
                    start.wait();
                    let reply = stow(server, None, &[body.as_slice()]);
                    assert_eq!(
                        reply.status,
                        200,
                        "{}",
                        String::from_utf8_lossy(&reply.body)
                    );
                });
            }
        });
    }
    server.stop();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pacs"))
        .args(["verify", "--quiet", "--data-dir"])
        .arg(&data)
        .output()
        .expect("pacs verify runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("1 studies: 20 instances intact"),
        "{report}"
    );
}

/// `bytes` with the first occurrence of `from` replaced by `to` (of the
/// same length: the file meta group's lengths stay right).
fn relabel(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the transfer syntax UID is in the file meta group");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

/// Headers that lie or would cost far more than they weigh are refused
/// with a reason, and nothing is stored: pixel data in another form than
/// the transfer syntax says (it could never be decoded or served right),
/// an impossible Number of Frames, and a small deflated instance that
/// would inflate past the size limit.
#[test]
fn instances_whose_headers_lie_or_inflate_past_the_limit_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pacs.toml");
    std::fs::write(&config, "[ingest]\nmax_instance_size = 16777216\n").expect("config");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, Some(&config), &[]);
    let spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), 95)
        .with_slices(4)
        .with_matrix(64, 64);
    let native = |i: u32| {
        let mut slice = dicom_samples::ct_slice(&spec, i).expect("slice");
        dicom_samples::to_bytes(&mut slice, SampleTransferSyntax::ExplicitVrLittleEndian)
            .expect("encode")
    };
    const EXPLICIT: &[u8] = b"1.2.840.10008.1.2.1\0";
    const RLE: &[u8] = b"1.2.840.10008.1.2.5\0";

    // Native pixels labelled RLE; RLE fragments labelled native.
    let native_as_rle = relabel(&native(0), EXPLICIT, RLE);
    let plain = dir.path().join("plain.dcm");
    let rle = dir.path().join("rle.dcm");
    std::fs::write(&plain, native(1)).expect("written");
    let out = common::dcmtk("dcmcrle", &[plain.to_str().unwrap(), rle.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let rle_as_native = relabel(&read(&rle), RLE, EXPLICIT);

    let mut frames = dicom_samples::ct_slice(&spec, 2).expect("slice");
    frames.put(dicom_object::mem::InMemElement::new(
        dicom_object::Tag(0x0028, 0x0008),
        dicom_core::VR::IS,
        dicom_core::PrimitiveValue::from("4294967296"),
    ));
    let frames = dicom_samples::to_bytes(&mut frames, SampleTransferSyntax::ExplicitVrLittleEndian)
        .expect("encode");

    // 64 MiB of zeros in a private element: about 64 KiB deflated.
    let mut bomb = dicom_samples::ct_slice(&spec, 3).expect("slice");
    bomb.put(dicom_object::mem::InMemElement::new(
        dicom_object::Tag(0x0009, 0x0010),
        dicom_core::VR::LO,
        dicom_core::PrimitiveValue::from("BOMB"),
    ));
    bomb.put(dicom_object::mem::InMemElement::new(
        dicom_object::Tag(0x0009, 0x1001),
        dicom_core::VR::OB,
        dicom_core::PrimitiveValue::U8(vec![0u8; 64 << 20].into()),
    ));
    let bomb = dicom_samples::to_bytes(
        &mut bomb,
        SampleTransferSyntax::DeflatedExplicitVrLittleEndian,
    )
    .expect("encode");
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());

    for (bytes, why, status, code, words) in [
        (
            &native_as_rle,
            "native pixels labelled RLE",
            409,
            0xC000,
            "not encapsulated",
        ),
        (
            &rle_as_native,
            "RLE fragments labelled native",
            409,
            0xC000,
            "encapsulated",
        ),
        (
            &frames,
            "Number of Frames 2^32",
            409,
            0xC000,
            "Number of Frames",
        ),
        (
            &bomb,
            "a deflated instance inflating to 64 MiB",
            413,
            0xA700,
            "16777216",
        ),
    ] {
        let r = stow(&server, None, &[bytes.as_slice()]);
        assert_eq!(r.status, status, "{why}: {}", r.text());
        let body = r.json();
        assert!(referenced_sops(&body).is_empty(), "{why}: {body}");
        assert_eq!(failed_sops(&body).len(), 1, "{why}: {body}");
        assert_eq!(failed_sops(&body)[0].1, code, "{why}: {body}");
        let warning = r.warnings();
        assert!(warning.contains(words), "{why}: {warning}");
    }
    assert!(all_instances(&server).is_empty(), "nothing was stored");
    // The server is still up and stores what is sound.
    let r = stow(&server, None, &[native(0).as_slice()]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(server.stop().success());
}

/// STOW-RS uploads share one memory budget with every other upload: a
/// part it cannot cover while another upload holds most of it is refused
/// (0xA700, 503: send it again), and once the first is stored it goes
/// through.
#[test]
fn parts_beyond_the_shared_memory_budget_are_refused_until_it_is_free() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pacs.toml");
    std::fs::write(
        &config,
        "[ingest]\nmax_instance_size = 2097152\nmemory_budget_mb = 3\n",
    )
    .expect("config");
    let server = Server::start_with(&dir.path().join("data"), Some(&config), &[]);
    // Slices of about 1.85 MB: the budget holds one, never two.
    let slice = |seed: u64| {
        let spec = CtSpec::chest(Patient::karimov_ascii(), seed)
            .with_slices(1)
            .with_matrix(960, 960);
        let files = write_ct_series(
            &spec,
            &dir.path().join(seed.to_string()),
            SampleTransferSyntax::ExplicitVrLittleEndian,
        )
        .expect("slice written");
        (spec, read(&files[0]))
    };
    let (held, held_bytes) = slice(61);

    // The first upload sends all of its part but the end.
    let head = format!(
        "--{}\r\nContent-Type: application/dicom\r\n\r\n",
        web::BOUNDARY
    );
    let tail = format!("\r\n--{}--\r\n", web::BOUNDARY);
    let mut upload = TcpStream::connect(server.http).expect("connect");
    upload
        .write_all(
            format!(
                "POST /dicom-web/studies HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
                server.http,
                web::stow_content_type(),
                head.len() + held_bytes.len() + tail.len()
            )
            .as_bytes(),
        )
        .expect("request head");
    let (most, end) = held_bytes.split_at(held_bytes.len() - 1000);
    upload.write_all(head.as_bytes()).expect("part head");
    upload.write_all(most).expect("most of the part");

    // Another upload meanwhile. The first is held once the server has
    // read it; until then another instance may still get in, so each try
    // sends a new one.
    let mut refused = None;
    for seed in 62..72 {
        let (spec, bytes) = slice(seed);
        let r = stow(&server, None, &[&bytes]);
        if r.status == 503 {
            assert_eq!(
                failed_sops(&r.json()),
                vec![(Some(spec.sop_instance_uid(0)), 0xA700)]
            );
            assert!(r.warnings().contains("memory allows"), "{}", r.warnings());
            refused = Some(bytes);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let refused = refused.expect("an upload the budget cannot cover is refused");

    // The first completes and is stored; then the refused one gets in.
    upload.write_all(end).expect("the end of the part");
    upload
        .write_all(tail.as_bytes())
        .expect("the close delimiter");
    upload
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let mut answer = [0u8; 12];
    upload.read_exact(&mut answer).expect("an answer");
    assert_eq!(&answer, b"HTTP/1.1 200", "the held upload is stored");
    assert_eq!(stow_ok(&server, &[&refused]).len(), 1);
    let stored = get(&instance_url(&server, &held, 0), Some(DICOM_ANY_TS)).parts();
    assert!(stored[0].body == held_bytes, "stored byte for byte");
    assert!(server.stop().success());
}
