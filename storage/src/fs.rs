//! [`FsStore`]: objects as files under a root directory.
//!
//! Layout: the object under key `a/b/c` is the regular file `<root>/a/b/c`.
//! Uploads in progress live in `<root>/.tmp/` (same filesystem, so the final
//! `rename` is atomic) and the first key segment `.tmp` is reserved.
//!
//! Because keys map to paths, a key cannot be both an object and a prefix
//! of another object (`a` and `a/b`); such a `put` fails with
//! [`StorageError::Io`]. Reads treat a directory as a missing object.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::{Body, ByteStream, ObjectKey, ObjectMeta, ObjectStore, Staged, StorageError};

/// Directory under the root that holds uploads in progress.
const TMP_DIR: &str = ".tmp";
/// Chunk size of [`ObjectStore::get_stream`].
const STREAM_CHUNK: usize = 256 * 1024;
/// A temp file from another live process is removed at open only once it
/// is this old (it cannot belong to an upload still in progress).
const FOREIGN_TMP_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// An object store in a local directory.
///
/// Invariants: every object is a complete regular file that was fsynced
/// before it was renamed into place and whose directory entry was fsynced
/// after; nothing outside `<root>` is ever read or written (keys cannot
/// traverse, see [`ObjectKey`]). Cloning is cheap and shares the root.
#[derive(Debug, Clone)]
pub struct FsStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    tmp: PathBuf,
}

/// Numbers temp files: process-wide, so that two stores opened on one root
/// in one process never pick the same name.
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

impl FsStore {
    /// Opens (creating if needed) a store rooted at `root`, and removes
    /// temp files left by a crashed earlier process.
    pub fn open(root: impl Into<PathBuf>) -> Result<FsStore, StorageError> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        fs::create_dir_all(&tmp).map_err(|e| io_error(&tmp, e))?;
        let root = fs::canonicalize(&root).map_err(|e| io_error(&root, e))?;
        let tmp = root.join(TMP_DIR);
        remove_stale_temp_files(&tmp)?;
        Ok(FsStore {
            inner: Arc::new(Inner { root, tmp }),
        })
    }

    /// The directory this store keeps its objects in (canonical path).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The file an object lives in, or `None` for keys in the reserved
    /// `.tmp` namespace, which never hold objects.
    fn object_path(&self, key: &ObjectKey) -> Option<PathBuf> {
        let mut segments = key.segments();
        let first = segments.next()?;
        if first == TMP_DIR {
            return None;
        }
        let mut path = self.inner.root.join(first);
        path.extend(segments);
        Some(path)
    }

    fn reserved(&self, key: &ObjectKey) -> StorageError {
        StorageError::Io {
            path: self.inner.root.join(key.as_str()).display().to_string(),
            source: io::Error::new(
                ErrorKind::InvalidInput,
                "keys starting with '.tmp/' are reserved for uploads in progress",
            ),
        }
    }
}

#[async_trait]
impl ObjectStore for FsStore {
    async fn put(&self, key: &ObjectKey, body: Body) -> Result<(), StorageError> {
        let Some(path) = self.object_path(key) else {
            return Err(self.reserved(key));
        };
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.put_blocking(&path, &body)).await
    }

    async fn stage(&self, body: Body) -> Result<Staged, StorageError> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let file = inner.stage_blocking(&body)?;
            let len = body.len();
            Ok(Staged {
                body,
                file: Some(file),
                len,
            })
        })
        .await
    }

    fn stage_incrementally(&self) -> Option<StagingWriter> {
        Some(StagingWriter::start(Arc::clone(&self.inner)))
    }

    async fn put_staged(&self, key: &ObjectKey, mut staged: Staged) -> Result<(), StorageError> {
        let Some(path) = self.object_path(key) else {
            return Err(self.reserved(key));
        };
        let inner = Arc::clone(&self.inner);
        match staged.file.take() {
            // Staged here: the durable file only needs its name.
            Some(file) if file.path.parent() == Some(inner.tmp.as_path()) => {
                blocking(move || inner.publish(file, &path)).await
            }
            file => {
                staged.file = file;
                let body = staged.into_body().await?;
                blocking(move || inner.put_blocking(&path, &body)).await
            }
        }
    }

    async fn get(&self, key: &ObjectKey) -> Result<Bytes, StorageError> {
        let path = self.object_path(key);
        let name = key.to_string();
        blocking(move || {
            let path = path.ok_or_else(|| StorageError::NotFound(name.clone()))?;
            match fs::read(&path) {
                Ok(data) => Ok(Bytes::from(data)),
                Err(e) => Err(read_error(&name, &path, e)),
            }
        })
        .await
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> Result<Bytes, StorageError> {
        let path = self.object_path(key);
        let name = key.to_string();
        blocking(move || {
            let path = path.ok_or_else(|| StorageError::NotFound(name.clone()))?;
            let (mut file, size) = open_object(&name, &path)?;
            if range.start > range.end || range.end > size {
                return Err(StorageError::InvalidRange {
                    key: name,
                    start: range.start,
                    end: range.end,
                    size,
                });
            }
            let len = usize::try_from(range.end - range.start).map_err(|_| {
                StorageError::InvalidRange {
                    key: name.clone(),
                    start: range.start,
                    end: range.end,
                    size,
                }
            })?;
            // Read into spare capacity: zeroing a frame first would cost
            // as much as copying it out of the page cache.
            let mut buf = Vec::with_capacity(len);
            file.seek(SeekFrom::Start(range.start))
                .and_then(|_| (&mut file).take(len as u64).read_to_end(&mut buf))
                .and_then(|read| {
                    if read == len {
                        Ok(())
                    } else {
                        Err(io::Error::from(ErrorKind::UnexpectedEof))
                    }
                })
                .map_err(|e| io_error(&path, e))?;
            Ok(Bytes::from(buf))
        })
        .await
    }

    async fn get_stream(&self, key: &ObjectKey) -> Result<ByteStream, StorageError> {
        let path = self.object_path(key);
        let name = key.to_string();
        let (file, size) = blocking(move || {
            let path = path.ok_or_else(|| StorageError::NotFound(name.clone()))?;
            let (file, size) = open_object(&name, &path)?;
            Ok((ReadState { file, path }, size))
        })
        .await?;
        // The open file is a snapshot: a concurrent put renames a new file
        // over the path and leaves this one intact.
        let stream = futures::stream::try_unfold((file, size), |(state, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let want = usize::try_from(left).map_or(STREAM_CHUNK, |l| l.min(STREAM_CHUNK));
            let (state, chunk) = blocking(move || {
                let mut state = state;
                let mut buf = BytesMut::zeroed(want);
                state
                    .file
                    .read_exact(&mut buf)
                    .map_err(|e| io_error(&state.path, e))?;
                Ok((state, buf.freeze()))
            })
            .await?;
            let left = left - chunk.len() as u64;
            Ok(Some((chunk, (state, left))))
        });
        Ok(stream.boxed())
    }

    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>, StorageError> {
        let Some(path) = self.object_path(key) else {
            return Ok(None);
        };
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(ObjectMeta {
                size: meta.len(),
                modified: meta.modified().ok(),
            })),
            Ok(_) => Ok(None),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        let Some(path) = self.object_path(key) else {
            return Ok(());
        };
        let root = self.inner.root.clone();
        blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if is_absent(&e) || e.kind() == ErrorKind::IsADirectory => return Ok(()),
                Err(e) => return Err(io_error(&path, e)),
            }
            if let Some(parent) = path.parent() {
                sync_dir(parent)?;
                prune_empty_dirs(&root, parent);
            }
            Ok(())
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectKey>, StorageError> {
        // Start the walk at the deepest directory the prefix names.
        let (dir_part, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let mut start = self.inner.root.clone();
        if !dir_part.is_empty() {
            match ObjectKey::new(dir_part) {
                Ok(dir_key) => start.extend(dir_key.segments()),
                // No key has an invalid directory part: nothing can match.
                Err(_) => return Ok(Vec::new()),
            }
        }
        let root = self.inner.root.clone();
        let prefix = prefix.to_owned();
        let dir_part = dir_part.to_owned();
        blocking(move || {
            let mut keys = Vec::new();
            walk(&root, &start, &dir_part, &prefix, &mut keys)?;
            keys.sort();
            Ok(keys)
        })
        .await
    }

    fn describe(&self) -> String {
        format!("fs:{}", self.inner.root.display())
    }
}

/// A complete, fsynced temp file waiting for its name. Removed when
/// dropped unless it was published.
#[derive(Debug)]
pub(crate) struct StagedFile {
    path: PathBuf,
    published: bool,
}

impl StagedFile {
    /// Removes the file now, on this thread.
    fn remove(mut self) {
        self.published = true;
        let _ = fs::remove_file(&self.path);
    }

    /// The file's bytes.
    pub(crate) async fn read(&self) -> Result<Body, StorageError> {
        let path = self.path.clone();
        blocking(move || {
            fs::read(&path)
                .map(Body::from)
                .map_err(|e| io_error(&path, e))
        })
        .await
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if self.published {
            return;
        }
        // Unlinking a large file can take a while: off the async threads
        // when there are any.
        let path = std::mem::take(&mut self.path);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || {
                    let _ = fs::remove_file(path);
                });
            }
            Err(_) => {
                let _ = fs::remove_file(path);
            }
        }
    }
}

impl Inner {
    /// Writes `body` to a fresh temp file, makes it durable, and renames
    /// it over `path`. Removes the temp file on any failure.
    fn put_blocking(&self, path: &Path, body: &Body) -> Result<(), StorageError> {
        let file = self.stage_blocking(body)?;
        self.publish(file, path)
    }

    /// Writes `body` to a fresh temp file and fsyncs it.
    fn stage_blocking(&self, body: &Body) -> Result<StagedFile, StorageError> {
        let (mut file, staged) = self.create_temp()?;
        let tmp = staged.path.as_path();
        for segment in body.segments() {
            file.write_all(segment).map_err(|e| io_error(tmp, e))?;
        }
        file.sync_all().map_err(|e| io_error(tmp, e))?;
        Ok(staged)
    }

    /// A fresh, empty temp file, removed again when the returned
    /// [`StagedFile`] is dropped unpublished.
    fn create_temp(&self) -> Result<(File, StagedFile), StorageError> {
        let path = self.tmp.join(format!(
            "{}-{:016x}-{}.tmp",
            std::process::id(),
            process_nonce(),
            NEXT_TMP.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        Ok((
            file,
            StagedFile {
                path,
                published: false,
            },
        ))
    }

    /// Writes the pieces that arrive on `pieces` to a fresh temp file,
    /// asking the kernel to start writing each stretch back at once, and
    /// fsyncs the file when the sender is done with it. The fsync at the
    /// end then only waits for the last stretch.
    fn stream_blocking(
        &self,
        mut pieces: mpsc::UnboundedReceiver<Bytes>,
        abandoned: &AtomicBool,
        progress: &AtomicU64,
    ) -> Result<StagedFile, StorageError> {
        let (mut file, staged) = self.create_temp()?;
        let tmp = staged.path.as_path();
        let tmp_name = tmp.display().to_string();
        let (mut written, mut flushed) = (0u64, 0u64);
        while let Some(piece) = pieces.blocking_recv() {
            if abandoned.load(Ordering::Acquire) {
                // Nobody will name it: what is still queued is not written.
                break;
            }
            file.write_all(&piece).map_err(|e| io_error(tmp, e))?;
            written += piece.len() as u64;
            progress.store(written, Ordering::Release);
            if written - flushed >= WRITEBACK_STRETCH {
                start_writeback(&file, flushed..written);
                flushed = written;
            }
        }
        if abandoned.load(Ordering::Acquire) {
            // Nobody will name it: spare the disk the fsync, and remove it
            // here rather than in yet another thread.
            drop(file);
            staged.remove();
            return Err(StorageError::Io {
                path: tmp_name,
                source: io::Error::other("staging abandoned"),
            });
        }
        file.sync_all().map_err(|e| io_error(tmp, e))?;
        Ok(staged)
    }

    /// Renames a staged file over `path` and makes the new name durable.
    /// The staged file is removed if it cannot be renamed.
    fn publish(&self, mut staged: StagedFile, path: &Path) -> Result<(), StorageError> {
        let tmp = staged.path.as_path();
        let parent = path.parent().unwrap_or(&self.root);
        // Directories are created lazily, and a concurrent delete may prune
        // an empty one between our mkdir and rename: retry a few times.
        let mut attempts = 0;
        loop {
            match fs::rename(tmp, path) {
                Ok(()) => {
                    staged.published = true;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::NotFound && attempts < 5 => {
                    attempts += 1;
                    create_dirs(&self.root, parent)?;
                }
                Err(e) => return Err(io_error(path, e)),
            }
        }
        sync_dir(parent)
    }
}

/// An object being staged as its pieces arrive, from
/// [`ObjectStore::stage_incrementally`]: a blocking thread writes each
/// piece to a temp file as soon as it is pushed. Dropped unfinished, the
/// temp file is removed.
#[derive(Debug)]
pub struct StagingWriter {
    pieces: Option<mpsc::UnboundedSender<Bytes>>,
    worker: tokio::task::JoinHandle<Result<StagedFile, StorageError>>,
    abandoned: Arc<AtomicBool>,
    len: u64,
    /// Bytes the writer has written so far.
    written: Arc<AtomicU64>,
}

impl StagingWriter {
    fn start(inner: Arc<Inner>) -> StagingWriter {
        let (sender, pieces) = mpsc::unbounded_channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let (flag, progress) = (Arc::clone(&abandoned), Arc::clone(&written));
        let worker =
            tokio::task::spawn_blocking(move || inner.stream_blocking(pieces, &flag, &progress));
        StagingWriter {
            pieces: Some(sender),
            worker,
            abandoned,
            len: 0,
            written,
        }
    }

    /// Appends `piece`. Never waits: the piece is queued for the writer,
    /// which holds it only until it is written. A failed write is reported
    /// by [`StagingWriter::finish`].
    pub fn push(&mut self, piece: Bytes) {
        self.len += piece.len() as u64;
        if let Some(sender) = &self.pieces {
            // A send fails only once the writer has stopped on an error,
            // which `finish` reports.
            let _ = sender.send(piece);
        }
    }

    /// Bytes pushed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Bytes pushed and not yet written: what the queue holds in memory.
    pub fn queued(&self) -> u64 {
        self.len
            .saturating_sub(self.written.load(Ordering::Acquire))
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Waits until every piece is written and the file is durable.
    pub async fn finish(mut self) -> Result<Staged, StorageError> {
        self.pieces = None;
        let file = (&mut self.worker).await.map_err(|e| StorageError::Io {
            path: TMP_DIR.into(),
            source: io::Error::other(format!("staging writer failed: {e}")),
        })??;
        Ok(Staged {
            body: Body::default(),
            file: Some(file),
            len: self.len,
        })
    }
}

impl Drop for StagingWriter {
    fn drop(&mut self) {
        if self.pieces.is_some() {
            // Unfinished: flagged before the queue closes, so the writer,
            // at the end of its queue, removes the temp file unsynced.
            self.abandoned.store(true, Ordering::Release);
            self.pieces = None;
        }
    }
}

/// Bytes written between two requests to start writeback. Each request is
/// a separate disk write (and, in a virtual machine, an exit to the host):
/// a CT slice of half a megabyte is left to its one fsync, while a large
/// multi-frame object is mostly on disk by the time its last piece comes.
const WRITEBACK_STRETCH: u64 = 1024 * 1024;

/// Asks the kernel to start writing `range` of `file` back now rather
/// than when the fsync comes. `POSIX_FADV_DONTNEED` starts writeback of
/// dirty pages without waiting for it (and lets the pages go once clean:
/// an archive's incoming instances are written once and rarely read soon,
/// so they should not push hotter pages out of the cache). A hint only.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, range: std::ops::Range<u64>) {
    if let Some(len) = std::num::NonZeroU64::new(range.end - range.start) {
        let _ = rustix::fs::fadvise(file, range.start, Some(len), rustix::fs::Advice::DontNeed);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _range: std::ops::Range<u64>) {}

/// An open object file with its path, for error messages.
struct ReadState {
    file: File,
    path: PathBuf,
}

/// Opens an object for reading and returns it with its size.
fn open_object(key: &str, path: &Path) -> Result<(File, u64), StorageError> {
    let file = File::open(path).map_err(|e| read_error(key, path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(StorageError::NotFound(key.to_owned()));
    }
    Ok((file, meta.len()))
}

/// Creates `dir` and any missing ancestors below `root`, fsyncing the
/// parent of each directory created so the new entries are durable.
fn create_dirs(root: &Path, dir: &Path) -> Result<(), StorageError> {
    if dir == root || dir.is_dir() {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(root);
    create_dirs(root, parent)?;
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(io_error(dir, e)),
    }
}

/// Removes empty directories from `dir` up to (not including) `root`.
/// Best effort: a directory that is not empty, or that a concurrent put
/// just filled, stays.
fn prune_empty_dirs(root: &Path, dir: &Path) {
    let mut dir = dir;
    while dir != root && dir.starts_with(root) {
        if fs::remove_dir(dir).is_err() {
            return;
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => return,
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

/// Collects the keys of regular files under `dir` (whose key prefix is
/// `dir_key`) that start with `prefix`. Skips `.tmp`, symlinks and names
/// that are not valid keys.
fn walk(
    root: &Path,
    dir: &Path,
    dir_key: &str,
    prefix: &str,
    keys: &mut Vec<ObjectKey>,
) -> Result<(), StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(io_error(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if dir == root && name == TMP_DIR {
            continue;
        }
        let key = if dir_key.is_empty() {
            name
        } else {
            format!("{dir_key}/{name}")
        };
        // Prune subtrees that cannot hold a match.
        if !(key.starts_with(prefix) || prefix.starts_with(&key)) {
            continue;
        }
        let file_type = entry.file_type().map_err(|e| io_error(&entry.path(), e))?;
        if file_type.is_dir() {
            walk(root, &entry.path(), &key, prefix, keys)?;
        } else if file_type.is_file()
            && key.starts_with(prefix)
            && let Ok(key) = ObjectKey::new(&key)
        {
            keys.push(key);
        }
    }
    Ok(())
}

/// A random number fixed for the life of this process, part of every temp
/// file name so a restarted process that reuses a pid (pid 1 in a
/// container) still recognises its predecessor's files as stale.
fn process_nonce() -> u64 {
    static NONCE: OnceLock<u64> = OnceLock::new();
    *NONCE.get_or_init(rand::random)
}

/// Removes temp files that no live upload can own: those of this process
/// are kept (another store on the same root), those of another live
/// process are kept unless very old.
fn remove_stale_temp_files(tmp: &Path) -> Result<(), StorageError> {
    let entries = fs::read_dir(tmp).map_err(|e| io_error(tmp, e))?;
    let ours = format!("{}-{:016x}-", std::process::id(), process_nonce());
    let proc_works = Path::new("/proc/self").exists();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(tmp, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&ours) {
            continue;
        }
        let pid = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let other_live_process = match pid {
            Some(pid) if pid != std::process::id() => {
                !proc_works || Path::new("/proc").join(pid.to_string()).exists()
            }
            _ => false,
        };
        if other_live_process {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok());
            if age.is_none_or(|age| age < FOREIGN_TMP_MAX_AGE) {
                continue;
            }
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => tracing::info!(path = %path.display(), "removed stale upload temp file"),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, e)),
        }
    }
    Ok(())
}

/// Runs blocking file work off the async executor.
async fn blocking<T, F>(f: F) -> Result<T, StorageError>
where
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Io {
            path: String::new(),
            source: io::Error::other(format!("blocking file task failed: {e}")),
        })?
}

/// Whether an error means "no object here": missing file, or a path
/// component that is a file rather than a directory.
fn is_absent(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

fn read_error(key: &str, path: &Path, e: io::Error) -> StorageError {
    if is_absent(&e) || e.kind() == ErrorKind::IsADirectory {
        StorageError::NotFound(key.to_owned())
    } else {
        io_error(path, e)
    }
}

/// Maps an I/O error, turning a full disk or exhausted quota into
/// [`StorageError::OutOfSpace`].
fn io_error(path: &Path, e: io::Error) -> StorageError {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    let full = matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded)
        || (cfg!(target_os = "linux") && matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT)));
    if full {
        StorageError::OutOfSpace(format!("writing {}: {e}", path.display()))
    } else {
        StorageError::Io {
            path: path.display().to_string(),
            source: e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_space_is_recognised() {
        let e = io_error(Path::new("/x"), io::Error::from(ErrorKind::StorageFull));
        assert!(matches!(e, StorageError::OutOfSpace(_)), "{e:?}");
        let e = io_error(Path::new("/x"), io::Error::from(ErrorKind::QuotaExceeded));
        assert!(matches!(e, StorageError::OutOfSpace(_)), "{e:?}");
        let e = io_error(
            Path::new("/x"),
            io::Error::from(ErrorKind::PermissionDenied),
        );
        assert!(matches!(e, StorageError::Io { .. }), "{e:?}");
    }

    #[test]
    fn open_removes_stale_temp_files_but_keeps_live_ones() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let tmp = dir.path().join(TMP_DIR);
        fs::create_dir_all(&tmp)?;
        // A crashed predecessor that had our pid (container pid 1).
        let stale_same_pid = tmp.join(format!("{}-{:016x}-0.tmp", std::process::id(), 1u64));
        let garbage = tmp.join("garbage");
        let ours = tmp.join(format!(
            "{}-{:016x}-7.tmp",
            std::process::id(),
            process_nonce()
        ));
        for p in [&stale_same_pid, &garbage, &ours] {
            fs::write(p, b"partial")?;
        }
        let store = FsStore::open(dir.path())?;
        assert!(!stale_same_pid.exists());
        assert!(!garbage.exists());
        assert!(ours.exists());
        assert_eq!(store.root(), fs::canonicalize(dir.path())?);
        Ok(())
    }
}
