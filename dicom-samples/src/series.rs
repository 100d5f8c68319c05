//! Writing whole series into a directory tree.

use std::path::{Path, PathBuf};

use crate::ct::{CtSpec, ct_slice};
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

/// Generate and write every slice of a CT series below `root`. Slices are
/// built and written by a few worker threads, each holding one slice at a
/// time. Returns the written paths in instance order.
pub fn write_ct_series(
    spec: &CtSpec,
    root: &Path,
    ts: SampleTransferSyntax,
) -> Result<Vec<PathBuf>, SamplesError> {
    spec.validate()?;
    let dir = series_dir(
        root,
        &spec.patient.id,
        &spec.study.accession_number,
        spec.series_number,
        "CT",
    );
    create_dir(&dir)?;
    let paths: Vec<PathBuf> = (0..spec.slices)
        .map(|i| dir.join(instance_file_name(i + 1)))
        .collect();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(paths.len());
    let write_slice = |i: usize| -> Result<(), SamplesError> {
        let mut obj = ct_slice(spec, i as u32)?;
        write_file(&mut obj, &paths[i], ts)
    };
    let results: Vec<Result<(), SamplesError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let write_slice = &write_slice;
                let n = paths.len();
                scope.spawn(move || (w..n).step_by(workers).try_for_each(write_slice))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(SamplesError::InvalidSpec(
                        "a slice writer thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect::<Result<(), _>>()?;
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
