//! `pacs verify` against a real archive on disk: intact instances pass; a
//! damaged data set, a damaged file meta group, a truncated object and a
//! deleted one are each named with their instance; an object no index
//! entry names is listed; and all of it beside a running server, which
//! goes on serving the intact instances.

mod common;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Server, ct_files};
use dicom_samples::SampleTransferSyntax;

fn pacs(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacs"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("pacs runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The object file of the instance `sop`.
fn object_of(data: &Path, sop: &str) -> PathBuf {
    web::files_under(&data.join("objects").join("dicom"))
        .into_iter()
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{sop}.")))
        })
        .unwrap_or_else(|| panic!("no object for {sop}"))
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("object read");
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).expect("object written");
}

#[test]
fn verify_names_every_damaged_or_missing_instance_and_unindexed_objects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let (spec, files) = ct_files(
        &dir.path().join("ct"),
        6,
        61,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let out = pacs(
        &data,
        &["import", "--quiet", dir.path().join("ct").to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = pacs(&data, &["verify", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 studies: 6 instances intact"),
        "{}",
        text(&out)
    );

    let sops: Vec<String> = files
        .iter()
        .map(|f| {
            let o = dicom_object::open_file(f).expect("sample readable");
            o.meta()
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0')
                .to_owned()
        })
        .collect();
    // A bit flipped in the pixels, one in the file meta group (the
    // implementation version name, near its end), a truncated object and
    // a deleted one.
    let pixels = object_of(&data, &sops[0]);
    let len = std::fs::metadata(&pixels).expect("size").len() as usize;
    flip_byte(&pixels, len - 100);
    let meta = object_of(&data, &sops[1]);
    let meta_end = std::fs::read(&meta).expect("read")[..1024]
        .windows(4)
        .position(|w| w == [0x08, 0x00, 0x05, 0x00])
        .expect("the data set's first element");
    flip_byte(&meta, meta_end - 2);
    let truncated = object_of(&data, &sops[2]);
    let bytes = std::fs::read(&truncated).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("truncated");
    std::fs::remove_file(object_of(&data, &sops[3])).expect("deleted");
    // A copy under a name no index entry has, in a study the index does
    // not know.
    let stray = data
        .join("objects/dicom/1.2.3.999/1.2.3.999.1")
        .join("1.2.3.999.1.1.0123456789abcdef01234567.dcm");
    std::fs::create_dir_all(stray.parent().unwrap()).expect("dirs");
    std::fs::copy(object_of(&data, &sops[4]), &stray).expect("copied");

    // Beside a running server.
    let server = Server::start(&data);
    let out = pacs(&data, &["verify", "--quiet"]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(2), "{report}");
    let line = |sop: &str| {
        report
            .lines()
            .find(|l| l.contains(&format!(" {sop} ")))
            .unwrap_or_else(|| panic!("{sop} is not reported:\n{report}"))
            .to_owned()
    };
    assert!(line(&sops[0]).starts_with("damaged"), "{report}");
    assert!(
        line(&sops[0]).contains("SHA-256 of its data set"),
        "{report}"
    );
    assert!(line(&sops[1]).starts_with("damaged"), "{report}");
    assert!(line(&sops[1]).contains("file meta group"), "{report}");
    assert!(line(&sops[2]).starts_with("damaged"), "{report}");
    assert!(line(&sops[2]).contains("bytes"), "{report}");
    assert!(line(&sops[3]).starts_with("missing"), "{report}");
    assert!(
        !report.contains(&format!(" {} ", sops[4])) && !report.contains(&format!(" {} ", sops[5])),
        "intact instances are not reported: {report}"
    );
    assert!(
        report.contains(
            "unindexed dicom/1.2.3.999/1.2.3.999.1/1.2.3.999.1.1.0123456789abcdef01234567.dcm"
        ),
        "{report}"
    );
    assert!(
        report.contains("1 studies: 2 instances intact")
            && report.contains("4 with problems / 1 objects unindexed"),
        "{report}"
    );

    // One study only; and the server still serves what is intact.
    let out = pacs(
        &data,
        &["verify", "--quiet", "--study", &spec.study.study_uid],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("0 objects unindexed"),
        "only the study's objects are listed: {}",
        text(&out)
    );
    assert!(stray.exists(), "verify removes nothing");
    let intact = common::http()
        .get(server.url(&format!(
            "/dicom-web/studies/{}/series/{}/instances/{}",
            spec.study.study_uid, spec.series_uid, sops[4]
        )))
        .header("accept", "multipart/related; type=\"application/dicom\"")
        .send()
        .expect("retrieve");
    assert_eq!(intact.status().as_u16(), 200);
    server.stop();
}
