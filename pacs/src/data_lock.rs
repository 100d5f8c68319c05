//! One owner of a data directory at a time: `pacs serve`, or `pacs
//! restore` while it replaces the index. A second server on the same
//! directory would share its index with a stranger whose in-process
//! guards (the per-instance store lock, the forwarding leases it thinks
//! are its own) it cannot see. The lock is the kernel's advisory lock on
//! `DATA_DIR/pacs.lock`, let go when the process ends, however it ends,
//! so a crash never leaves it stale; the file names its holder for a
//! person who wonders.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Held while the data directory is this process's.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes `data_dir` (creating it) for `purpose` (`serve`, `restore`),
    /// or says who has it.
    pub fn acquire(data_dir: &Path, purpose: &str) -> Result<DataDirLock> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let path = data_dir.join("pacs.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                bail!(
                    "{} is in use by another pacs{}: stop it first",
                    data_dir.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" ({holder})")
                    }
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "pacs {purpose}, process {}", std::process::id()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_at_a_time_and_the_next_once_it_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), "serve").unwrap();
        let refused = DataDirLock::acquire(dir.path(), "restore").unwrap_err();
        let text = format!("{refused:#}");
        assert!(text.contains("in use by another pacs"), "{text}");
        assert!(
            text.contains(&format!("pacs serve, process {}", std::process::id())),
            "{text}"
        );
        drop(first);
        DataDirLock::acquire(dir.path(), "restore").unwrap();
    }
}
