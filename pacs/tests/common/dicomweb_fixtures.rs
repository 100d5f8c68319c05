//! The sample files the DICOMweb tests store, read back from disk, and
//! the WADO-RS URLs of a generated CT series.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use dicom_samples::CtSpec;

use crate::common::Server;

/// The patient name of [`crate::common::ct_files`]'s series (written in
/// ISO_IR 144), as the archive must hand it out.
pub const IVANOV: &str = "Иванов^Иван^Петрович";

/// A file's bytes; panics naming the file when it cannot be read.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bytes of each file, in order.
pub fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| read(p)).collect()
}

/// Byte slices of `files`, as the STOW-RS helpers take them.
pub fn refs(files: &[Vec<u8>]) -> Vec<&[u8]> {
    files.iter().map(Vec::as_slice).collect()
}

/// The WADO-RS URL of instance `index` of `spec`'s series.
pub fn instance_url(server: &Server, spec: &CtSpec, index: u32) -> String {
    format!(
        "{}/studies/{}/series/{}/instances/{}",
        server.base(),
        spec.study.study_uid,
        spec.series_uid,
        spec.sop_instance_uid(index)
    )
}

/// The WADO-RS URL of `spec`'s series.
pub fn series_url(server: &Server, spec: &CtSpec) -> String {
    format!(
        "{}/studies/{}/series/{}",
        server.base(),
        spec.study.study_uid,
        spec.series_uid
    )
}
