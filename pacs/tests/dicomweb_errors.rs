//! DICOMweb requests the archive refuses, against the real `pacs` binary:
//! unknown resources (404), invalid UIDs and parameters (400), unmet
//! Accept (406), STOW-RS bodies of the wrong type (415), STOW-RS bodies
//! with no part (400), uploads that stall (400) and methods a resource
//! does not take (405), one instance sent twice in a request with
//! different content (the first kept), with reqwest and raw sockets.

mod common;
#[path = "common/dicomweb_fixtures.rs"]
mod fixtures;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, write_ct_series};

use common::{Server, ct_files, sha256};
use fixtures::{instance_url, read, read_all, refs};
use web::{DICOM_ANY_TS, all_instances, failed_sops, get, referenced_sops, stow, stow_ok};

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
        "/studies?StudyDate=20251301",
        "/studies?StudyTime=25",
        "/studies?limit=-1",
        "/studies?StudyInstanceUID=../x",
    ] {
        let r = get(&format!("{base}{query}"), None);
        assert_eq!(r.status, 400, "{query}: {}", r.text());
    }
    // A misspelt key, ignored, would list every patient: refused, named.
    for (query, named) in [
        ("/studies?PatientNmae=Ivanov", "PatientNmae"),
        ("/series?0008103X=1", "0008103X"),
        ("/studies?includefield=NoSuchAttr", "includefield"),
        ("/studies?fuzzymatching=maybe", "fuzzymatching"),
        ("/studies?limit=0", "limit"),
    ] {
        let r = get(&format!("{base}{query}"), None);
        assert_eq!(r.status, 400, "{query}: {}", r.text());
        assert!(r.text().contains(named), "{query}: {}", r.text());
    }
    // An attribute that exists but is not matched on is a warning.
    let r = get(&format!("{base}/studies?InstitutionName=X"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(server.stop().success());
}

/// A path no route has is 404 whatever the method; a method the resource
/// does not take is 405 with an `Allow` header naming those it does (RFC
/// 9110 §15.5.6), across DICOMweb, the API and the viewer's pages.
#[test]
fn wrong_methods_are_405_naming_the_allowed_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let series = "/dicom-web/studies/1.2.3/series";
    for (method, path, allow) in [
        ("DELETE", "/dicom-web/studies", "GET, HEAD, POST"),
        ("PUT", "/dicom-web/studies/1.2.3", "GET, HEAD, POST"),
        ("POST", series, "GET, HEAD"),
        (
            "DELETE",
            "/dicom-web/studies/1.2.3/series/4.5/instances/6.7/frames/1",
            "GET, HEAD",
        ),
        ("POST", "/healthz", "GET, HEAD"),
        ("DELETE", "/api/users", "GET"),
        ("GET", "/api/auth/login", "POST"),
        ("POST", "/viewer", "GET, HEAD"),
        ("PUT", "/viewer-assets/viewer.js", "GET, HEAD"),
    ] {
        let (status, head) = raw_request(&server, method, path);
        assert_eq!(status, 405, "{method} {path}: {head}");
        let allowed = head
            .lines()
            .find_map(|l| l.strip_prefix("allow: "))
            .unwrap_or_else(|| panic!("{method} {path}: no Allow in {head}"));
        assert_eq!(
            allowed.trim(),
            allow.to_ascii_lowercase(),
            "{method} {path}"
        );
    }
    for (method, path) in [
        ("POST", "/nothing"),
        ("DELETE", "/dicom-web/nothing"),
        ("POST", "/dicom-web/studies/1.2.3/nothing"),
        ("PUT", "/api/nothing"),
    ] {
        let (status, head) = raw_request(&server, method, path);
        assert_eq!(status, 404, "{method} {path}: {head}");
    }
    assert!(server.stop().success());
}

/// The status code of a GET sent byte for byte over a socket.
fn raw_get(server: &Server, path: &str) -> u16 {
    raw_request(server, "GET", path).0
}

/// The status code and the head of a request without a body, sent byte
/// for byte over a socket.
fn raw_request(server: &Server, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(server.http).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        server.http
    )
    .expect("send");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    let head = answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .replace("\r\n", "\n")
        .to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    (status, head)
}

/// 406 when the Accept cannot be met (a STOW-RS one before its body is
/// read), 415 for a STOW-RS body that is not multipart/related of
/// application/dicom; nothing stored by either.
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
    // A STOW-RS client that takes only XML answers: refused before its
    // body is read, so nothing is stored behind its back.
    let (_, other) = ct_files(
        &dir.path().join("other"),
        1,
        61,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let other = read_all(&other);
    let refused = common::http()
        .post(format!("{}/studies", server.base()))
        .header("Content-Type", web::stow_content_type())
        .header("Accept", "application/dicom+xml")
        .body(web::multipart_body(
            &[("application/dicom", &other[0])],
            web::BOUNDARY,
        ))
        .send()
        .expect("POST");
    assert_eq!(refused.status().as_u16(), 406);
    assert!(
        refused
            .text()
            .unwrap_or_default()
            .contains("nothing was stored")
    );
    assert_eq!(all_instances(&server), vec![spec.sop_instance_uid(0)]);
    assert!(server.stop().success());
}

/// A STOW-RS body that closes without a part, or whose delimiters are not
/// the boundary's lines, stores nothing and says so: never a 200 a
/// gateway would take for its study sent.
#[test]
fn a_stow_body_without_a_part_is_400() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    for body in [
        format!("--{}--\r\n", web::BOUNDARY),
        format!(
            "--{}\nContent-Type: application/dicom\n\nnot a part\n--{}--\n",
            web::BOUNDARY,
            web::BOUNDARY
        ),
    ] {
        let r = web::stow_raw(&server, None, &web::stow_content_type(), body.into_bytes());
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(
            r.text().contains("nothing was stored") || r.text().contains("no instance stored"),
            "{}",
            r.text()
        );
    }
    assert!(all_instances(&server).is_empty());
    assert!(server.stop().success());
}

/// A body whose part header cannot be read after a stored part: the
/// stored one is acknowledged and the unreadable one listed as failed
/// (0xC000), so a 202 never lacks what failed. An empty part (a delimiter
/// at once after another) is a part that is not DICOM, not an upload cut
/// short.
#[test]
fn a_part_that_cannot_be_read_after_a_stored_one_is_listed_as_failed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        2,
        52,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let b = web::BOUNDARY;
    let long = format!("X-Long: {}\r\n", "a".repeat(20_000));
    for (n, broken) in [
        "no colon in this line\r\n\r\nxx\r\n".to_owned(),
        format!("{long}\r\nxx\r\n"),
    ]
    .into_iter()
    .enumerate()
    {
        let good = read(&files[n]);
        let mut body = format!("--{b}\r\nContent-Type: application/dicom\r\n\r\n").into_bytes();
        body.extend_from_slice(&good);
        body.extend_from_slice(format!("\r\n--{b}\r\n{broken}--{b}--\r\n").as_bytes());
        let r = web::stow_raw(&server, None, &web::stow_content_type(), body);
        assert_eq!(r.status, 202, "{}", r.text());
        let answer = r.json();
        assert_eq!(
            web::referenced_sops(&answer),
            vec![spec.sop_instance_uid(n as u32)]
        );
        assert_eq!(web::failed_sops(&answer), vec![(None, 0xC000)], "{answer}");
    }

    let empty = format!("--{b}\r\n\r\n--{b}--\r\n");
    let r = web::stow_raw(&server, None, &web::stow_content_type(), empty.into_bytes());
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(web::failed_sops(&r.json()), vec![(None, 0xC000)]);
    assert!(!r.text().contains("broke off"), "{}", r.text());
    assert_eq!(all_instances(&server).len(), 2);
    assert!(server.stop().success());
}

/// An upload that stops sending (a client gone quiet mid-body on a bad
/// link) is ended after the body timeout instead of holding its request
/// forever; meanwhile others are served, and the server then stops at
/// once rather than waiting out its shutdown grace.
#[test]
fn a_stalled_upload_is_ended_and_does_not_hold_up_shutdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("pacs.toml");
    std::fs::write(&config, "[server]\nhttp_body_timeout_secs = 2\n").expect("config");
    let server = Server::start_with(&dir.path().join("data"), Some(&config), &[]);
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        1,
        96,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let mut stalled = TcpStream::connect(server.http).expect("connect");
    let head = format!(
        "POST /dicom-web/studies HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: 10000000\r\n\r\n",
        server.http,
        web::stow_content_type()
    );
    stalled.write_all(head.as_bytes()).expect("head");
    stalled
        .write_all(
            format!(
                "--{}\r\nContent-Type: application/dicom\r\n\r\n",
                web::BOUNDARY
            )
            .as_bytes(),
        )
        .expect("part head");
    stalled
        .write_all(&read(&files[0])[..150])
        .expect("some bytes");
    stalled
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let started = std::time::Instant::now();

    assert_eq!(
        stow_ok(&server, &[&read(&files[0])]),
        vec![spec.sop_instance_uid(0)]
    );
    let mut answer = Vec::new();
    let ended = stalled.read_to_end(&mut answer);
    assert!(ended.is_ok(), "the server ended the upload: {ended:?}");
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(20),
        "ended after {waited:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("nothing arrived for 2 s"), "{answer}");

    let stopping = std::time::Instant::now();
    assert!(server.stop().success());
    assert!(stopping.elapsed() < std::time::Duration::from_secs(20));
}

/// One SOP Instance UID in two parts of a request, with different
/// content: the request's first is kept and the second refused as a
/// conflict, as the answer says, even when the first, larger part takes
/// longer to store than the second.
#[test]
fn an_instance_sent_twice_in_one_request_keeps_the_first_part() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    for seed in 61..64 {
        // The same seed gives the same UIDs: a 9 MiB slice and a small one.
        let write = |matrix: u16, name: &str| {
            let spec = CtSpec::chest(Patient::karimov_ascii(), seed)
                .with_slices(1)
                .with_matrix(matrix, matrix);
            let files = write_ct_series(
                &spec,
                &dir.path().join(format!("{name}{seed}")),
                SampleTransferSyntax::ExplicitVrLittleEndian,
            )
            .expect("write a slice");
            (spec, read(&files[0]))
        };
        let (spec, first) = write(2048, "big");
        let (_, second) = write(64, "small");
        let sop = spec.sop_instance_uid(0);
        let r = stow(&server, None, &[&first, &second]);
        let answer = r.json();
        assert_eq!(referenced_sops(&answer), [sop.as_str()], "{answer}");
        assert_eq!(failed_sops(&answer), [(Some(sop), 0x0111)], "{answer}");
        let parts = get(&instance_url(&server, &spec, 0), Some(DICOM_ANY_TS)).parts();
        assert_eq!(
            sha256(&parts[0].body),
            sha256(&first),
            "the request's first part is the instance kept"
        );
    }
    assert!(server.stop().success());
}
