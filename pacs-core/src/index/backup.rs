//! Copies of the whole index, taken while it is in use, and putting one
//! back. The index holds what the stored objects cannot give back:
//! accounts, signed reports, the audit trail, the worklist and the
//! forwarding queue.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use super::schema;
use super::sqlite::open_connection;
use crate::error::IndexError;

/// What a backup holds, counted in the copy itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupContents {
    pub studies: i64,
    pub instances: i64,
    pub report_versions: i64,
    pub accounts: i64,
    pub audit_events: i64,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> IndexError {
    IndexError::Database(format!("cannot {what} {}: {e}", path.display()))
}

/// The directory a file is in (`.` for a bare name) and the file's name.
fn place(file: &Path) -> Result<(PathBuf, &str), IndexError> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| IndexError::Database(format!("{} names no file", file.display())))?;
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

/// Removes what an interrupted run left at `partial`, then creates it
/// empty and owner-only: it will hold password and session hashes.
fn fresh_partial(partial: &Path) -> Result<std::fs::File, IndexError> {
    match std::fs::remove_file(partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io("remove", partial, e));
        }
        _ => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .map_err(|e| io("create", partial, e))
}

/// Checks that `copy` is a whole index this program can open (SQLite's
/// integrity check, a schema version it knows, the tables it needs), and
/// counts what it holds.
fn check(copy: &Path) -> Result<BackupContents, IndexError> {
    let conn = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(IndexError::Corrupt(format!(
            "{} fails SQLite's integrity check: {check}",
            copy.display()
        )));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if !(1..=schema::VERSION).contains(&version) {
        return Err(IndexError::Corrupt(format!(
            "{} is not an index this program can open (schema version {version}, this program's is {})",
            copy.display(),
            schema::VERSION
        )));
    }
    let count = |table: &str| -> Result<i64, IndexError> {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|e| {
                IndexError::Corrupt(format!("{} has no {table} table: {e}", copy.display()))
            })
    };
    Ok(BackupContents {
        studies: count("studies")?,
        instances: count("instances")?,
        report_versions: count("report_versions")?,
        accounts: count("accounts")?,
        audit_events: count("audit_events")?,
    })
}

/// Makes `partial` durable and gives it `target`'s name.
fn put_in_place(partial: &Path, target: &Path, dir: &Path) -> Result<(), IndexError> {
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(partial, target))
        .and_then(|()| std::fs::File::open(dir)?.sync_all())
        .map_err(|e| io("write", target, e))
}

/// Writes a consistent copy of the whole index at `source` (instances,
/// accounts, sites, worklist, reports, audit trail, forwarding queue) to
/// `target`, while the index stays in use: one read transaction on a
/// read-only connection, so the copy is the index as of one commit and
/// the live database is neither written nor migrated. The copy is checked
/// with SQLite's integrity check before it takes `target`'s name, so
/// `target` is either the old file or a complete new copy. Readable by
/// its owner only: it holds password and session hashes.
pub fn back_up(source: &Path, target: &Path) -> Result<BackupContents, IndexError> {
    let (dir, name) = place(target)?;
    let partial = dir.join(format!(".{name}.partial"));
    fresh_partial(&partial)?;
    let written = (|| {
        let conn = open_connection(source, true)?;
        let into = partial
            .to_str()
            .ok_or_else(|| IndexError::Database("the backup path is not UTF-8".into()))?;
        conn.execute("VACUUM INTO ?1", params![into])?;
        drop(conn);
        check(&partial)
    })()
    .and_then(|contents| put_in_place(&partial, target, &dir).map(|()| contents));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub contents: BackupContents,
    /// Where the index it replaced now is, with its `-wal` and `-shm`
    /// files beside it; `None` when there was none.
    pub kept: Option<PathBuf>,
}

/// Puts the backup at `backup` in place as the index at `index`, which
/// nothing may have open. The copy is checked (as [`back_up`] checks) once
/// it is beside the index, before anything is moved; the index it
/// replaces is renamed, never removed, to `index` + `kept_suffix`, its
/// write-ahead log with it, so that a restore of the wrong file can be
/// undone.
pub fn restore(backup: &Path, index: &Path, kept_suffix: &str) -> Result<Restored, IndexError> {
    let (dir, name) = place(index)?;
    let partial = dir.join(format!(".{name}.restoring"));
    let mut into = fresh_partial(&partial)?;
    let copied = std::fs::File::open(backup)
        .map_err(|e| io("open", backup, e))
        .and_then(|mut from| std::io::copy(&mut from, &mut into).map_err(|e| io("copy", backup, e)))
        .and_then(|_| check(&partial));
    drop(into);
    let contents = match copied {
        Ok(contents) => contents,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let kept = if index.exists() {
        let kept = dir.join(format!("{name}{kept_suffix}"));
        if kept.exists() {
            let _ = std::fs::remove_file(&partial);
            return Err(IndexError::Database(format!(
                "{} exists already: choose another time to restore",
                kept.display()
            )));
        }
        // Its log folded in where it still opens (a clean stop leaves none),
        // so that what is kept is one file; what remains moves with it.
        if let Ok(conn) = Connection::open(index) {
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        for suffix in ["-wal", "-shm"] {
            let from = dir.join(format!("{name}{suffix}"));
            if from.exists() {
                let to = dir.join(format!("{name}{kept_suffix}{suffix}"));
                std::fs::rename(&from, &to).map_err(|e| io("move aside", &from, e))?;
            }
        }
        std::fs::rename(index, &kept).map_err(|e| io("move aside", index, e))?;
        Some(kept)
    } else {
        None
    };
    put_in_place(&partial, index, &dir)?;
    Ok(Restored { contents, kept })
}
