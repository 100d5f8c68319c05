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
    pub rejected: Vec<(PathBuf, String)>,
}

/// All regular files under `paths`, recursively, in a stable order.
/// Symbolic links are followed (a folder reached twice, as through a link
/// loop, is walked once); a link to nothing is listed, so that importing
/// it fails with its reason instead of being skipped unseen.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut walked = std::collections::HashSet::new();
    for p in paths {
        walk(p, &mut out, &mut walked)?;
    }
    Ok(out)
}

fn walk(
    path: &Path,
    out: &mut Vec<PathBuf>,
    walked: &mut std::collections::HashSet<PathBuf>,
) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(_) if std::fs::symlink_metadata(path).is_ok() => {
            out.push(path.to_owned());
            return Ok(());
        }
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    if meta.is_dir() {
        let real = std::fs::canonicalize(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        if !walked.insert(real) {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, out, walked)?;
        }
    } else if meta.is_file() {
        out.push(path.to_owned());
    }
    Ok(())
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

/// Imports `files`, showing progress on stderr when `progress` is set.
pub async fn import(ingest: &Ingest, files: Vec<PathBuf>, progress: bool) -> Summary {
    let bar = progress_bar(files.len(), progress);
    let mut summary = Summary::default();
    for file in files {
        let outcome = match tokio::fs::read(&file).await {
            Ok(bytes) => {
                let source = format!("import:{}", file.display());
                ingest
                    .ingest(Incoming::Part10(Bytes::from(bytes)), &source, None)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(format!("cannot read the file: {e}")),
        };
        match outcome {
            Ok(s) if s.kind == StoreKind::Duplicate => summary.duplicates += 1,
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
