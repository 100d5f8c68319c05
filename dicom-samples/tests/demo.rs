//! The demo set and the command-line binary.

mod common;

use common::*;
use dicom_dictionary_std::tags;
use dicom_samples::*;

#[test]
fn demo_set_is_varied_and_valid() {
    let today = Date::new(2025, 3, 1).expect("date");
    let studies = demo_studies_on(today);
    assert!((4..=6).contains(&studies.len()));
    let modalities: std::collections::HashSet<_> =
        studies.iter().map(StudySpec::modality).collect();
    assert!(["CT", "DX", "CR"].iter().all(|m| modalities.contains(m)));
    let charsets: std::collections::HashSet<_> =
        studies.iter().map(|s| s.patient().charset).collect();
    assert!(charsets.contains(&CharacterSet::Cyrillic) && charsets.contains(&CharacterSet::Utf8));
    let mut uids = std::collections::HashSet::new();
    for s in &studies {
        s.validate().expect("valid");
        assert!(s.study().date < today, "dates lie in the past");
        assert!(today.to_days() - s.study().date.to_days() < 200);
        assert!(uids.insert(s.study().study_uid.clone()));
        assert!(uids.insert(s.study().accession_number.clone()));
        if let StudySpec::Ct(ct) = s {
            assert!(ct.slices <= 120, "the demo stays light");
        }
    }
    assert_eq!(demo_studies_on(today), studies, "deterministic");
}

/// Writing the full demo takes a while in debug builds: run it with
/// `DICOM_SAMPLES_SLOW=1`.
#[test]
fn write_demo_produces_readable_files() {
    if std::env::var_os("DICOM_SAMPLES_SLOW").is_none() {
        eprintln!("skipping: set DICOM_SAMPLES_SLOW=1 to write the full demo set");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = write_demo(dir.path()).expect("write demo");
    let expected: u32 = demo_studies().iter().map(StudySpec::instance_count).sum();
    assert_eq!(paths.len() as u32, expected);
    for p in &paths {
        assert!(p.starts_with(dir.path()));
        let o = dicom_object::open_file(p).expect("readable");
        assert!(!string(&o, tags::PATIENT_NAME).is_empty());
        if let Some(r) = dcmdump_ok(p) {
            r.expect("dcmdump parses every demo file");
        }
    }
}

fn run_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dicom-samples"))
        .args(args)
        .output()
        .expect("run dicom-samples")
}

#[test]
fn cli_writes_ct_and_xray() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 temp path");
    let ct = run_cli(&[
        "ct",
        "--out",
        out,
        "--slices",
        "3",
        "--rows",
        "64",
        "--cols",
        "64",
        "--seed",
        "9",
        "--transfer-syntax",
        "big",
    ]);
    assert!(
        ct.status.success(),
        "{}",
        String::from_utf8_lossy(&ct.stderr)
    );
    let xr = run_cli(&[
        "xray", "--out", out, "--kind", "cr", "--rows", "100", "--cols", "80",
    ]);
    assert!(
        xr.status.success(),
        "{}",
        String::from_utf8_lossy(&xr.stderr)
    );
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert_eq!(files.len(), 4);
    let mut modalities = Vec::new();
    for f in &files {
        let o = dicom_object::open_file(f).expect("readable");
        modalities.push(string(&o, tags::MODALITY));
        if string(&o, tags::MODALITY) == "CT" {
            assert_eq!(
                o.meta().transfer_syntax().trim_end_matches('\0'),
                "1.2.840.10008.1.2.2"
            );
            assert_eq!(int(&o, tags::ROWS), 64);
        }
        if let Some(r) = dcmdump_ok(f) {
            r.expect("dcmdump parses CLI output");
        }
    }
    modalities.sort();
    assert_eq!(modalities, ["CR", "CT", "CT", "CT"]);
}

#[test]
fn cli_rejects_bad_arguments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 temp path");
    assert!(
        !run_cli(&["ct", "--out", out, "--transfer-syntax", "jpeg"])
            .status
            .success()
    );
    let r = run_cli(&["ct", "--out", out, "--slices", "0"]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("slice count"));
}
