//! Running the `pacs` binary's operator commands on a data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dicom_samples::{CtSpec, SampleTransferSyntax};

use super::common::ct_files;

/// `pacs ARGS --data-dir DATA`, to the end.
pub fn pacs(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacs"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("pacs runs")
}

/// Writes a CT series of `slices` from `seed` into `dir` and imports it
/// into `data`; its spec and files.
pub fn import_ct(data: &Path, dir: &Path, slices: u32, seed: u64) -> (CtSpec, Vec<PathBuf>) {
    let (spec, files) = ct_files(
        dir,
        slices,
        seed,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let out = pacs(
        data,
        &["import", "--quiet", dir.to_str().expect("a UTF-8 path")],
    );
    assert!(out.status.success(), "{}", text(&out));
    (spec, files)
}

/// Everything the command printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
