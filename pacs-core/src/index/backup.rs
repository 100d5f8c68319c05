//! Copies of the whole index, taken while it is in use, and putting one
//! back. The index holds what the stored objects cannot give back:
//! accounts, signed reports, the audit trail, the worklist and the
//! forwarding queue.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use super::connection::open_connection;
use super::schema;
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
    let has = |table: &str| -> Result<bool, IndexError> {
        Ok(conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table],
            |r| r.get(0),
        )?)
    };
    if !has("studies")? {
        return Err(IndexError::Corrupt(format!(
            "{} is not an index: it has no studies table",
            copy.display()
        )));
    }
    // A table a backup of an older version does not have yet holds none.
    let count = |table: &str| -> Result<i64, IndexError> {
        if !has(table)? {
            return Ok(0);
        }
        Ok(conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
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

/// Refuses a backup named `name` in `dir` that would take the place of the
/// index at `source` or of a file SQLite keeps beside it (by any path: a
/// symbolic or hard link too): renamed over the live index, the copy
/// would leave the server writing to a file no longer there and the next
/// start reading a database its log no longer matches.
fn refuse_own_files(source: &Path, dir: &Path, name: &str) -> Result<(), IndexError> {
    use std::os::unix::fs::MetadataExt;
    let own: Vec<PathBuf> = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut file = source.as_os_str().to_owned();
            file.push(suffix);
            PathBuf::from(file)
        })
        .collect();
    let target = dir
        .canonicalize()
        .map_err(|e| io("find the directory of", dir, e))?
        .join(name);
    let same_inode = |a: &Path, b: &Path| match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    let source_dir = source
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .canonicalize()
        .map_err(|e| io("find the directory of", source, e))?;
    for file in &own {
        let canonical = file.file_name().map(|n| source_dir.join(n));
        if canonical.as_deref() == Some(target.as_path()) || same_inode(file, &target) {
            return Err(IndexError::Database(format!(
                "{} is the index being backed up (or a file SQLite keeps beside it): \
                 a backup must go elsewhere, best on another disk",
                target.display()
            )));
        }
    }
    Ok(())
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
    refuse_own_files(source, &dir, name)?;
    let partial = dir.join(format!(".{name}.partial"));
    fresh_partial(&partial)?;
    let written = (|| {
        let conn = open_connection(source, true)?;
        let into = partial
            .to_str()
            .ok_or_else(|| IndexError::Database("the backup path is not UTF-8".into()))?;
        conn.execute("VACUUM INTO ?1", params![into])
            .map_err(|e| match IndexError::from(e) {
                // The copy's disk, not the index's: say which.
                IndexError::OutOfSpace(why) => IndexError::Database(format!(
                    "{} has no space left for the copy ({why}); it needs about as much \
                     as the index, {}",
                    dir.display(),
                    size_of_index(source)
                )),
                other => other,
            })?;
        drop(conn);
        check(&partial)
    })()
    .and_then(|contents| put_in_place(&partial, target, &dir).map(|()| contents));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// The index's size on disk with its write-ahead log, in words.
fn size_of_index(index: &Path) -> String {
    let mut bytes = 0;
    for suffix in ["", "-wal"] {
        let mut path = index.as_os_str().to_owned();
        path.push(suffix);
        bytes += std::fs::metadata(path).map_or(0, |m| m.len());
    }
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub contents: BackupContents,
    /// Where the index it replaced now is, with its `-wal` and `-shm`
    /// files beside it; `None` when there was none.
    pub kept: Option<PathBuf>,
    /// Sign-in sessions and read-only links of the backup ended, since
    /// some may have been ended after it was taken.
    pub sessions_ended: usize,
}

/// Puts the backup at `backup` in place as the index at `index`, which
/// nothing may have open:
/// - the copy is written beside the index and checked (as [`back_up`]
///   checks) before anything is moved, then owned like the index it
///   replaces;
/// - sign-in sessions and read-only links in it are ended: one revoked
///   since the backup would otherwise be alive again (machine tokens are
///   left, since gateways would stop; the caller says so);
/// - the index it replaces stays, as `index` + `kept_suffix` (a hard link
///   made first, so that there is an index under `index` at every moment),
///   and so do its write-ahead log and shared memory files, moved aside
///   whether or not the index itself is there: SQLite would replay a log
///   left beside the restored copy into it.
pub fn restore(
    backup: &Path,
    index: &Path,
    kept_suffix: &str,
    now_millis: i64,
) -> Result<Restored, IndexError> {
    use std::os::unix::fs::MetadataExt;

    let (dir, name) = place(index)?;
    let partial = dir.join(format!(".{name}.restoring"));
    let kept = dir.join(format!("{name}{kept_suffix}"));
    if kept.exists() {
        return Err(IndexError::Database(format!(
            "{} exists already: choose another time to restore",
            kept.display()
        )));
    }
    let mut into = fresh_partial(&partial)?;
    let prepared = std::fs::File::open(backup)
        .map_err(|e| io("open", backup, e))
        .and_then(|mut from| std::io::copy(&mut from, &mut into).map_err(|e| io("copy", backup, e)))
        .and_then(|_| check(&partial))
        .and_then(|contents| {
            let conn = Connection::open(&partial)?;
            let has_sessions: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sessions')",
                [],
                |r| r.get(0),
            )?;
            let ended = if has_sessions {
                conn.execute(
                    "UPDATE sessions SET revoked_at = ?1
                     WHERE kind <> 'machine' AND revoked_at IS NULL",
                    [now_millis],
                )?
            } else {
                0
            };
            conn.close().map_err(|(_, e)| IndexError::from(e))?;
            Ok((contents, ended))
        })
        .and_then(|done| {
            // Owned like what it replaces (or the directory), so that a
            // restore run as root leaves an index the service can open.
            let owner = std::fs::metadata(index)
                .or_else(|_| std::fs::metadata(&dir))
                .map_err(|e| io("read the owner of", index, e))?;
            if std::fs::metadata(&partial)
                .map(|m| (m.uid(), m.gid()) != (owner.uid(), owner.gid()))
                .unwrap_or(false)
            {
                std::os::unix::fs::chown(&partial, Some(owner.uid()), Some(owner.gid()))
                    .map_err(|e| io("give the owner of the index to", &partial, e))?;
            }
            Ok(done)
        });
    drop(into);
    let (contents, sessions_ended) = match prepared {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let had_index = index.exists();
    if had_index {
        // Its log folded in where it still opens (a clean stop leaves
        // none), so that what is kept is one file.
        if let Ok(conn) = Connection::open(index) {
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        std::fs::hard_link(index, &kept).map_err(|e| io("keep", index, e))?;
    }
    for suffix in ["-wal", "-shm"] {
        let from = dir.join(format!("{name}{suffix}"));
        if from.exists() {
            let to = dir.join(format!("{name}{kept_suffix}{suffix}"));
            std::fs::rename(&from, &to).map_err(|e| io("move aside", &from, e))?;
        }
    }
    put_in_place(&partial, index, &dir)?;
    Ok(Restored {
        contents,
        kept: had_index.then_some(kept),
        sessions_ended,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_with(path: &Path, studies: &[&str]) {
        let mut conn = Connection::open(path).unwrap();
        schema::migrate(&mut conn).unwrap();
        for uid in studies {
            conn.execute("INSERT INTO studies (study_uid) VALUES (?1)", [uid])
                .unwrap();
        }
        conn.execute(
            "INSERT INTO sessions (token_hash, kind, username, created_at)
             VALUES ('a', 'user', 'rad1', 1), ('b', 'machine', NULL, 1), ('c', 'share', 'rad1', 1)",
            [],
        )
        .unwrap();
    }

    fn studies_in(path: &Path) -> Vec<String> {
        Connection::open(path)
            .unwrap()
            .prepare("SELECT study_uid FROM studies ORDER BY study_uid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_backup_never_takes_the_place_of_the_index_or_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.sqlite");
        index_with(&index, &["1.1"]);
        std::fs::write(dir.path().join("index.sqlite-wal"), b"").unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let link = elsewhere.path().join("link.sqlite");
        std::os::unix::fs::symlink(&index, &link).unwrap();
        let hard = elsewhere.path().join("hard.sqlite");
        std::fs::hard_link(&index, &hard).unwrap();
        let roundabout = dir.path().join("..").join(dir.path().file_name().unwrap());
        for target in [
            index.clone(),
            dir.path().join("index.sqlite-wal"),
            dir.path().join("index.sqlite-shm"),
            roundabout.join("index.sqlite"),
            link,
            hard,
        ] {
            let e = back_up(&index, &target).unwrap_err().to_string();
            assert!(
                e.contains("is the index being backed up"),
                "{}: {e}",
                target.display()
            );
        }
        assert_eq!(studies_in(&index), ["1.1"]);
        assert_eq!(
            back_up(&index, &elsewhere.path().join("b.sqlite"))
                .unwrap()
                .studies,
            1
        );
    }

    #[test]
    fn a_restore_keeps_what_it_replaces_and_ends_sessions_but_not_gateways() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.sqlite");
        index_with(&index, &["1.1"]);
        let backup = dir.path().join("backup.sqlite");
        assert_eq!(back_up(&index, &backup).unwrap().studies, 1);
        Connection::open(&index)
            .unwrap()
            .execute("INSERT INTO studies (study_uid) VALUES ('1.2')", [])
            .unwrap();

        let r = restore(&backup, &index, ".before", 5).unwrap();
        assert_eq!(r.contents.studies, 1);
        assert_eq!(r.sessions_ended, 2, "the user's session and the link");
        assert_eq!(studies_in(&index), vec!["1.1"]);
        let kept = r.kept.unwrap();
        assert_eq!(studies_in(&kept), vec!["1.1", "1.2"], "what it replaced");
        let live: i64 = Connection::open(&index)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sessions WHERE revoked_at IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(live, 1, "the gateway's token");
        // Kept once: a second restore under the same name is refused.
        assert!(restore(&backup, &index, ".before", 6).is_err());
    }

    #[test]
    fn a_log_left_without_its_index_is_moved_aside_not_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.sqlite");
        let backup = dir.path().join("backup.sqlite");
        index_with(&backup, &["2.1"]);
        std::fs::write(dir.path().join("index.sqlite-wal"), b"a stranger's log").unwrap();
        let r = restore(&backup, &index, ".before", 5).unwrap();
        assert_eq!(r.kept, None);
        assert!(!dir.path().join("index.sqlite-wal").exists());
        assert!(dir.path().join("index.sqlite.before-wal").exists());
        assert_eq!(studies_in(&index), vec!["2.1"]);
    }

    #[test]
    fn what_is_not_an_index_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.sqlite");
        index_with(&index, &["3.1"]);
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"not a database").unwrap();
        assert!(restore(&junk, &index, ".before", 5).is_err());
        let empty = dir.path().join("empty.sqlite");
        Connection::open(&empty)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); PRAGMA user_version = 3;")
            .unwrap();
        let e = restore(&empty, &index, ".before", 5).unwrap_err();
        assert!(e.to_string().contains("not an index"), "{e}");
        assert_eq!(studies_in(&index), vec!["3.1"]);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n.contains("restoring") || n.contains("before"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
