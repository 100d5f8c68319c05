//! Who may use a data directory at once, by the kernel's advisory locks
//! (let go when the process ends, however it ends, so a crash never
//! leaves one stale):
//!
//! - `DATA/pacs.lock`: one `pacs serve`, or one `pacs restore`. A second
//!   server on the same directory would share its index with a stranger
//!   whose in-process guards (the per-instance store lock, the forwarding
//!   leases it thinks its own) it cannot see. The file names its holder
//!   for a person who wonders.
//! - `DATA/index.lock`: shared by everything that opens the index (the
//!   server, `import`, `verify`, `backup`, `user`, `site`, `token`), taken
//!   whole by `restore`, which replaces the index under them.
//! - Both, by `verify --reindex` when nothing else holds either: then no
//!   store can be under way, and every unindexed object may be indexed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Held while this process uses the data directory as it said.
#[derive(Debug)]
pub struct DataDirLock {
    _files: Vec<File>,
}

impl DataDirLock {
    /// For `pacs serve`: the only server, and a user of the index.
    pub fn serve(data_dir: &Path) -> Result<DataDirLock> {
        let owner = owner(data_dir, "serve")?;
        let index = index(data_dir, false)?;
        Ok(DataDirLock {
            _files: vec![owner, index],
        })
    }

    /// For `pacs restore`: no server, and nobody else in the index.
    pub fn restore(data_dir: &Path) -> Result<DataDirLock> {
        let owner = owner(data_dir, "restore")?;
        let index = index(data_dir, true)?;
        Ok(DataDirLock {
            _files: vec![owner, index],
        })
    }

    /// For a command that opens the index beside a server.
    pub fn use_index(data_dir: &Path) -> Result<DataDirLock> {
        Ok(DataDirLock {
            _files: vec![index(data_dir, false)?],
        })
    }

    /// The directory whole, as [`DataDirLock::restore`] takes it, when
    /// nothing else uses it now: no server and no command in the index,
    /// so no store can be under way until the lock is let go (a server
    /// started meanwhile refuses, naming `purpose`). `None` when
    /// something does.
    pub fn alone(data_dir: &Path, purpose: &str) -> Result<Option<DataDirLock>> {
        let Some(owner) = try_owner(data_dir, purpose)? else {
            return Ok(None);
        };
        let Some(index) = try_index(data_dir, true)? else {
            return Ok(None);
        };
        Ok(Some(DataDirLock {
            _files: vec![owner, index],
        }))
    }
}

/// Opens (creating) a lock file; read-only where another account made it
/// and this one may not write it: a lock needs no more.
fn open(data_dir: &Path, name: &str) -> Result<(File, bool)> {
    private_dir(data_dir)?;
    let path = data_dir.join(name);
    let writable = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path);
    match writable {
        Ok(file) => Ok((file, true)),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => File::open(&path)
            .map(|file| (file, false))
            .with_context(|| format!("cannot open {}", path.display())),
        Err(e) => Err(e).with_context(|| format!("cannot open {}", path.display())),
    }
}

/// Says who holds `DATA/pacs.lock`, as its holder wrote it.
fn in_use(data_dir: &Path) -> anyhow::Error {
    let mut holder = String::new();
    let _ = File::open(data_dir.join("pacs.lock")).and_then(|mut f| f.read_to_string(&mut holder));
    let holder = holder.trim();
    anyhow::anyhow!(
        "{} is in use by another pacs{}: stop it first",
        data_dir.display(),
        if holder.is_empty() {
            String::new()
        } else {
            format!(" ({holder})")
        }
    )
}

fn owner(data_dir: &Path, purpose: &str) -> Result<File> {
    try_owner(data_dir, purpose)?.ok_or_else(|| in_use(data_dir))
}

/// `DATA/pacs.lock` for `purpose`, or `None` while another holds it.
fn try_owner(data_dir: &Path, purpose: &str) -> Result<Option<File>> {
    let (mut file, writable) = open(data_dir, "pacs.lock")?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(e).context("cannot lock pacs.lock"),
    }
    if writable {
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "pacs {purpose}, process {}", std::process::id()))
            .context("cannot write pacs.lock")?;
    }
    Ok(Some(file))
}

fn index(data_dir: &Path, whole: bool) -> Result<File> {
    match try_index(data_dir, whole)? {
        Some(file) => Ok(file),
        // (the server, which holds `pacs.lock` too, was found there)
        None if whole => bail!(
            "the index in {} is open in another pacs command (import, verify, backup, \
             user, site or token): let it finish first",
            data_dir.display()
        ),
        None => bail!(
            "the index in {} is being restored or reindexed: try again once that is done",
            data_dir.display()
        ),
    }
}

/// `DATA/index.lock`, whole or shared, or `None` while it cannot be had
/// that way now.
fn try_index(data_dir: &Path, whole: bool) -> Result<Option<File>> {
    let (file, _) = open(data_dir, "index.lock")?;
    let taken = if whole {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match taken {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e).context("cannot lock index.lock"),
    }
}

/// Creates `dir` (and its missing parents) open to its owner only, or
/// takes away what every other account on the machine may do in it: it
/// holds patient data and the index's password and session hashes, and
/// whatever the files' own modes, nobody can reach them through a
/// directory they may not enter. Access given to the group is left as an
/// operator set it.
pub fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        return Ok(());
    }
    let meta = std::fs::metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o007 == 0 {
        return Ok(());
    }
    match std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & !0o007)) {
        Ok(()) => tracing::warn!(
            dir = %dir.display(),
            "every account on this machine could enter this directory; access for others removed"
        ),
        // Another account's directory, used as this one may: say so.
        Err(e) => tracing::warn!(
            dir = %dir.display(),
            error = %e,
            "every account on this machine can enter this directory, and its access cannot be changed from here"
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_many_index_users_and_a_restore_alone() {
        let dir = tempfile::tempdir().unwrap();
        let server = DataDirLock::serve(dir.path()).unwrap();
        let said = format!("{:#}", DataDirLock::serve(dir.path()).unwrap_err());
        assert!(said.contains("in use by another pacs"), "{said}");
        assert!(
            said.contains(&format!("pacs serve, process {}", std::process::id())),
            "{said}"
        );
        // Commands beside the server share the index with it.
        let import = DataDirLock::use_index(dir.path()).unwrap();
        assert!(DataDirLock::restore(dir.path()).is_err());
        drop(server);
        // With the server gone, a restore still waits for the import,
        // and says so.
        let said = format!("{:#}", DataDirLock::restore(dir.path()).unwrap_err());
        assert!(said.contains("open in another pacs command"), "{said}");
        drop(import);
        let restore = DataDirLock::restore(dir.path()).unwrap();
        let said = format!("{:#}", DataDirLock::use_index(dir.path()).unwrap_err());
        assert!(said.contains("being restored"), "{said}");
        assert!(DataDirLock::serve(dir.path()).is_err());
        drop(restore);
        DataDirLock::serve(dir.path()).unwrap();
    }

    #[test]
    fn the_directory_whole_only_while_nothing_else_uses_it() {
        let dir = tempfile::tempdir().unwrap();
        let server = DataDirLock::serve(dir.path()).unwrap();
        assert!(
            DataDirLock::alone(dir.path(), "verify --reindex")
                .unwrap()
                .is_none()
        );
        drop(server);
        let import = DataDirLock::use_index(dir.path()).unwrap();
        assert!(
            DataDirLock::alone(dir.path(), "verify --reindex")
                .unwrap()
                .is_none()
        );
        // What a refusal took is let go: the server can start.
        let server = DataDirLock::serve(dir.path()).unwrap();
        drop((server, import));

        let alone = DataDirLock::alone(dir.path(), "verify --reindex")
            .unwrap()
            .expect("nothing else uses it");
        let said = format!("{:#}", DataDirLock::serve(dir.path()).unwrap_err());
        assert!(said.contains("pacs verify --reindex, process"), "{said}");
        let said = format!("{:#}", DataDirLock::use_index(dir.path()).unwrap_err());
        assert!(said.contains("restored or reindexed"), "{said}");
        drop(alone);
        DataDirLock::serve(dir.path()).unwrap();
    }
}
