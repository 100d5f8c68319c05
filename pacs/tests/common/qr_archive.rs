//! The archive the query/retrieve tests share: two patients' CTs stored
//! with `storescu` into a real `pacs serve`, and the helpers that run
//! pynetdicom scripts against it and read what peers received.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use dicom_dictionary_std::tags;
use dicom_object::{OpenFileOptions, mem::InMemDicomObject};
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax};

use crate::common::{self, AE_TITLE, Server, ct_files};
use crate::scu::{self, TOOL_LIMIT, run, storescu};

/// An archive holding two patients: Ivanov (a 3-slice CT, names in
/// ISO_IR 144) and Karimov (a 2-slice CT, ASCII).
pub fn archive() -> (tempfile::TempDir, Server, CtSpec, CtSpec) {
    archive_with(None)
}

/// [`archive`] with a configuration file.
pub fn archive_with(config: Option<&str>) -> (tempfile::TempDir, Server, CtSpec, CtSpec) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = config.map(|text| scu::write_config(&data, text));
    let server = Server::start_with(&data, config.as_deref(), &[]);
    let (ivanov, mut files) = ct_files(
        &dir.path().join("ivanov"),
        3,
        11,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let karimov = CtSpec::chest(Patient::karimov_ascii(), 12)
        .with_slices(2)
        .with_matrix(64, 64);
    files.extend(
        dicom_samples::write_ct_series(
            &karimov,
            &dir.path().join("karimov"),
            SampleTransferSyntax::ExplicitVrLittleEndian,
        )
        .expect("Karimov's CT written"),
    );
    let done = storescu(&server, &[], &files);
    assert!(done.success(), "storescu failed:\n{}", done.text);
    (dir, server, ivanov, karimov)
}

pub fn text(o: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    o.element(tag)
        .unwrap_or_else(|_| panic!("{tag} missing"))
        .to_str()
        .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
        .unwrap_or_default()
}

/// Runs `tests/python/{script}` against the server's DIMSE port (the
/// host, port and our AE title come first, then `args`) and returns the
/// JSON objects it printed, one per line.
pub fn pynetdicom(
    server: &Server,
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut command = Command::new(common::python());
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env.iter().copied())
        .arg(path)
        .args(["127.0.0.1", &server.dicom_port(), AE_TITLE])
        .args(args);
    let done = run(command, TOOL_LIMIT);
    assert!(
        done.success(),
        "{script} failed (is PACS_TEST_PYTHON set to a Python with pynetdicom?):\n{}",
        done.text
    );
    done.text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Every file under `dir`, by SOP Instance UID.
pub fn files_by_sop(dir: &Path) -> std::collections::HashMap<String, Vec<u8>> {
    let mut out = std::collections::HashMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let object = OpenFileOptions::new()
                .open_file(&path)
                .unwrap_or_else(|e| panic!("{path:?}: {e}"));
            let sop = text(&object, tags::SOP_INSTANCE_UID);
            out.insert(sop, std::fs::read(&path).expect("readable file"));
        }
    }
    out
}
