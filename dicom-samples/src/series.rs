//! Writing whole series into a directory tree.

use std::path::{Path, PathBuf};

use crate::ct::{CtSpec, ct_series};
use crate::error::SamplesError;
use crate::write::{SampleTransferSyntax, create_dir, write_file};
use crate::xray::{XraySpec, xray_image};

/// Directory of a series below an output root:
/// `<root>/<patient id>_<accession number>/<series number>_<modality>`.
pub fn series_dir(
    root: &Path,
    patient_id: &str,
    accession: &str,
    series_number: u32,
    modality: &str,
) -> PathBuf {
    root.join(format!("{patient_id}_{accession}"))
        .join(format!("{series_number:03}_{modality}"))
}

/// File name of an instance in its series directory: `0001.dcm`, ...
pub fn instance_file_name(instance_number: u32) -> String {
    format!("{instance_number:04}.dcm")
}

/// Generate and write every slice of a CT series below `root`, one slice in
/// memory at a time. Returns the written paths in instance order.
pub fn write_ct_series(
    spec: &CtSpec,
    root: &Path,
    ts: SampleTransferSyntax,
) -> Result<Vec<PathBuf>, SamplesError> {
    let dir = series_dir(
        root,
        &spec.patient.id,
        &spec.study.accession_number,
        spec.series_number,
        "CT",
    );
    create_dir(&dir)?;
    let mut paths = Vec::with_capacity(spec.slices as usize);
    for (i, obj) in ct_series(spec)?.enumerate() {
        let mut obj = obj?;
        let path = dir.join(instance_file_name(i as u32 + 1));
        write_file(&mut obj, &path, ts)?;
        paths.push(path);
    }
    Ok(paths)
}

/// Generate and write a radiograph below `root`; returns its path.
pub fn write_xray(
    spec: &XraySpec,
    root: &Path,
    ts: SampleTransferSyntax,
) -> Result<PathBuf, SamplesError> {
    let mut obj = xray_image(spec)?;
    let dir = series_dir(
        root,
        &spec.patient.id,
        &spec.study.accession_number,
        spec.series_number,
        spec.kind.modality(),
    );
    create_dir(&dir)?;
    let path = dir.join(instance_file_name(1));
    write_file(&mut obj, &path, ts)?;
    Ok(path)
}
