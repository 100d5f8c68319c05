//! What the disk under the data directories can do, measured in the same
//! run, so "near disk speed" has a number and the per-instance costs of a
//! durable store can be told apart.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

const FILE_BYTES: usize = 512 * 1024;

/// The disk's ceilings for writing instances durably.
#[derive(Debug, Clone, Copy)]
pub struct Disk {
    /// 512 KiB files written, fsynced, renamed and their directory fsynced,
    /// one after another (what storing one instance costs the disk).
    pub durable_files_per_s: f64,
    /// The same by [`Disk::WRITERS`] writers at once, in files per second.
    pub parallel_files_per_s: f64,
    /// One small append and fsync, one after another (an index commit), per second.
    pub commits_per_s: f64,
    /// One large file streamed with a single fsync at the end, MB/s.
    pub streaming_mb_per_s: f64,
}

impl Disk {
    pub const WRITERS: usize = 4;

    /// Durable instance writes by several writers, in MB/s: the speed the
    /// disk offers to several associations storing at once.
    pub fn parallel_mb_per_s(&self) -> f64 {
        self.parallel_files_per_s * FILE_BYTES as f64 / 1e6
    }
}

fn durable_files(dir: &Path, files: usize, block: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for i in 0..files {
        let tmp = dir.join(format!("{i}.tmp"));
        let mut f = File::create(&tmp)?;
        f.write_all(block)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(format!("{i}.dcm")))?;
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Measures in a scratch directory below `dir`, removed afterwards.
pub fn measure(dir: &Path, files: usize, stream_bytes: usize) -> Result<Disk> {
    let scratch = tempfile::tempdir_in(dir).context("cannot create a scratch directory")?;
    let block = vec![0x5Au8; FILE_BYTES];

    let start = Instant::now();
    durable_files(&scratch.path().join("sequential"), files, &block)?;
    let durable_files_per_s = files as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..Disk::WRITERS)
            .map(|w| {
                let dir = scratch.path().join(format!("writer{w}"));
                let block = &block;
                scope.spawn(move || durable_files(&dir, files / Disk::WRITERS, block))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a writer panicked")))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    let parallel_files_per_s =
        (files / Disk::WRITERS * Disk::WRITERS) as f64 / start.elapsed().as_secs_f64();

    let commits = files;
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(scratch.path().join("log"))?;
    let start = Instant::now();
    for _ in 0..commits {
        log.write_all(&block[..4096])?;
        log.sync_data()?;
    }
    let commits_per_s = commits as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut f = File::create(scratch.path().join("stream"))?;
    let mut written = 0;
    while written < stream_bytes {
        f.write_all(&block)?;
        written += block.len();
    }
    f.sync_all()?;
    let streaming_mb_per_s = written as f64 / 1e6 / start.elapsed().as_secs_f64();
    Ok(Disk {
        durable_files_per_s,
        parallel_files_per_s,
        commits_per_s,
        streaming_mb_per_s,
    })
}
