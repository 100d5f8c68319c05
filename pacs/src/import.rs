//! `pacs import`: files and folders into the archive, through the same
//! ingest pipeline as the network entry points.

use std::path::{Path, PathBuf};

use anyhow::Result;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use pacs_core::{Incoming, Ingest, StoreKind};

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    pub stored: usize,
    pub duplicates: usize,
    /// Already indexed, but their stored objects were missing or damaged:
    /// the files took their place.
    pub repaired: usize,
    pub rejected: Vec<(PathBuf, String)>,
    /// Files that are not instances and are left alone without failing
    /// the import: a disc's DICOMDIR.
    pub skipped: Vec<(PathBuf, &'static str)>,
}

/// Media Storage Directory Storage: a DICOMDIR, the index of a disc.
const DICOMDIR_SOP_CLASS: &str = "1.2.840.10008.1.3.10";

/// What a file's size and first bytes say before it is read whole.
enum Peek {
    Read,
    Reject(String),
}

/// Refuses, from its size and first 132 bytes, a file that cannot be an
/// instance, so that a film or an installer on a hospital's USB disk is
/// never read whole into memory.
fn peek(file: &Path, limit: u64) -> Peek {
    use std::io::Read;
    let opened = std::fs::File::open(file).and_then(|f| Ok((f.metadata()?.len(), f)));
    let (len, mut f) = match opened {
        Ok(opened) => opened,
        Err(e) => return Peek::Reject(format!("cannot read the file: {e}")),
    };
    if len > limit {
        return Peek::Reject(format!(
            "{len} bytes, larger than the largest instance accepted ({limit} bytes, \
             [ingest] max_instance_size)"
        ));
    }
    let mut start = [0u8; 132];
    match f.read_exact(&mut start) {
        Ok(()) if &start[128..] == b"DICM" => Peek::Read,
        Ok(()) => {
            Peek::Reject("not a DICOM file: the DICM prefix is missing at byte 128".to_owned())
        }
        Err(_) => Peek::Reject(format!(
            "not a DICOM file: {len} bytes, shorter than the 128-byte preamble and DICM prefix"
        )),
    }
}

/// What [`collect_files`] found.
#[derive(Debug, Default)]
pub struct Collected {
    /// Regular files, and links to nothing, in a stable order.
    pub files: Vec<PathBuf>,
    /// Folders that could not be listed, with why (an unreadable `System
    /// Volume Information` on a hospital's USB disk): the rest is taken.
    pub unlisted: Vec<(PathBuf, String)>,
}

/// All regular files under `paths`, recursively, in a stable order.
/// Symbolic links are followed (a folder reached twice, as through a link
/// loop, is walked once); a link to nothing is listed, so that importing
/// it fails with its reason instead of being skipped unseen. A path given
/// that does not exist is an error; a folder below one that cannot be
/// listed is reported in [`Collected::unlisted`].
pub fn collect_files(paths: &[PathBuf]) -> Result<Collected> {
    let mut found = Collected::default();
    let mut walked = std::collections::HashSet::new();
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            anyhow::bail!("cannot read {}: no such file or folder", p.display());
        }
        walk(p, &mut found, &mut walked);
    }
    Ok(found)
}

fn walk(path: &Path, found: &mut Collected, walked: &mut std::collections::HashSet<PathBuf>) {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(_) if std::fs::symlink_metadata(path).is_ok() => {
            found.files.push(path.to_owned());
            return;
        }
        Err(e) => {
            found
                .unlisted
                .push((path.to_owned(), format!("cannot read it: {e}")));
            return;
        }
    };
    if meta.is_dir() {
        let listed = std::fs::canonicalize(path).and_then(|real| {
            let entries = std::fs::read_dir(path)?
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<Vec<PathBuf>>>()?;
            Ok((real, entries))
        });
        let (real, mut entries) = match listed {
            Ok(listed) => listed,
            Err(e) => {
                found
                    .unlisted
                    .push((path.to_owned(), format!("cannot list the folder: {e}")));
                return;
            }
        };
        if !walked.insert(real) {
            return;
        }
        entries.sort();
        for e in entries {
            walk(&e, found, walked);
        }
    } else if meta.is_file() {
        found.files.push(path.to_owned());
    }
}

/// A progress bar on stderr for `len` files, hidden unless `show`.
pub fn progress_bar(len: usize, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Imports the files found, showing progress on stderr when `progress`
/// is set; the folders that could not be listed are rejected.
pub async fn import(ingest: &Ingest, found: Collected, progress: bool) -> Summary {
    let Collected { files, unlisted } = found;
    let bar = progress_bar(files.len(), progress);
    let mut summary = Summary {
        rejected: unlisted,
        ..Summary::default()
    };
    for file in files {
        let read = match peek(&file, ingest.max_instance_size()) {
            Peek::Read => tokio::fs::read(&file)
                .await
                .map_err(|e| format!("cannot read the file: {e}")),
            Peek::Reject(reason) => Err(reason),
        };
        let outcome = match read {
            Ok(bytes) if is_dicomdir(&bytes) => {
                summary
                    .skipped
                    .push((file, "a DICOMDIR (the index of a disc), not an image"));
                bar.inc(1);
                continue;
            }
            Ok(bytes) => {
                let source = format!("import:{}", file.display());
                ingest
                    .ingest(Incoming::Part10(Bytes::from(bytes)), &source, None)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(reason) => Err(reason),
        };
        match outcome {
            Ok(s) if s.kind == StoreKind::Duplicate => summary.duplicates += 1,
            Ok(s) if s.kind == StoreKind::Repaired => summary.repaired += 1,
            Ok(_) => summary.stored += 1,
            Err(reason) => summary.rejected.push((file, reason)),
        }
        bar.set_message(format!(
            "stored {} duplicate {} rejected {}",
            summary.stored,
            summary.duplicates,
            summary.rejected.len()
        ));
        bar.inc(1);
    }
    bar.finish();
    summary
}

fn is_dicomdir(bytes: &[u8]) -> bool {
    pacs_core::layout::read_part10_header(bytes)
        .is_ok_and(|h| h.media_storage_sop_class_uid.trim_end_matches('\0') == DICOMDIR_SOP_CLASS)
}
