//! Every kind of generated file, in every transfer syntax, passes dcmtk's
//! parser and (where installed) dicom3tools' IOD validator.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use dicom_samples::*;

fn sample_files(dir: &Path) -> Vec<PathBuf> {
    let mut chest = CtSpec::chest(Patient::ivanov_iso_ir_144(), 21)
        .with_slices(2)
        .with_matrix(48, 48);
    chest.study.referring_physician = "Петров^Алексей".into();
    let mut head = CtSpec::head(Patient::orinboyeva_utf8(), 22)
        .with_slices(2)
        .with_matrix(48, 48);
    head.pixel_encoding = CtPixelEncoding::SignedHu;
    head.bits_stored = 16;
    let dx = XraySpec::chest(XrayKind::Dx, Patient::ivanova_utf8(), 23).with_matrix(60, 50);
    let cr = XraySpec::chest(XrayKind::Cr, Patient::karimov_ascii(), 24).with_matrix(60, 50);
    let mut files = Vec::new();
    for ts in SampleTransferSyntax::ALL {
        let root = dir.join(ts.cli_name());
        files.extend(write_ct_series(&chest, &root, ts).expect("chest"));
        files.extend(write_ct_series(&head, &root, ts).expect("head"));
        files.push(write_xray(&dx, &root, ts).expect("dx"));
        files.push(write_xray(&cr, &root, ts).expect("cr"));
    }
    files
}

#[test]
fn dcmdump_parses_every_generated_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = sample_files(dir.path());
    assert_eq!(files.len(), 24);
    for f in &files {
        match dcmdump_ok(f) {
            None => {
                eprintln!("skipping: /usr/bin/dcmdump not installed");
                return;
            }
            Some(r) => {
                r.expect("dcmdump parses without errors or warnings");
            }
        }
    }
}

#[test]
fn dciodvfy_finds_no_iod_violations() {
    let exe = Path::new("/usr/bin/dciodvfy");
    if !exe.exists() {
        eprintln!("skipping: /usr/bin/dciodvfy (dicom3tools) not installed");
        return;
    }
    let dcmconv = Path::new("/usr/bin/dcmconv");
    let dir = tempfile::tempdir().expect("tempdir");
    for f in sample_files(dir.path()) {
        // dicom3tools cannot inflate: validate dcmtk's inflated copy instead
        let f = if f.components().any(|c| c.as_os_str() == "deflate") {
            if !dcmconv.exists() {
                continue;
            }
            let inflated = f.with_extension("inflated.dcm");
            let ok = std::process::Command::new(dcmconv)
                .arg("+te")
                .arg(&f)
                .arg(&inflated)
                .status()
                .expect("run dcmconv")
                .success();
            assert!(ok, "dcmconv inflates {}", f.display());
            inflated
        } else {
            f
        };
        let out = std::process::Command::new(exe)
            .arg(&f)
            .output()
            .expect("run dciodvfy");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let problems: Vec<&str> = report
            .lines()
            .filter(|l| l.starts_with("Error") || l.starts_with("Warning"))
            .collect();
        assert!(problems.is_empty(), "{}:\n{report}", f.display());
    }
}
