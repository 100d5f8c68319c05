//! Object storage for archived instances.
//!
//! One interface, [`ObjectStore`], with two real backends: [`FsStore`] (a
//! directory on local disk, the embedded default) and [`S3Store`] (any
//! S3-compatible service). Both keep the same promises, checked by the same
//! conformance tests:
//!
//! - `put` is atomic and durable: when it returns `Ok`, the whole object is
//!   readable and survives a crash of this process; before that, no reader
//!   ever sees a partial object under the key.
//! - keys are [`ObjectKey`]s, which cannot express path traversal or
//!   absolute paths whatever string they were built from.
//! - an object can be written before its key is known ([`ObjectStore::stage`])
//!   and named afterwards ([`ObjectStore::put_staged`]), so that a caller
//!   can overlap the slow part of a durable write with work of its own.
//!   A staged object is invisible until it is put; dropped, it is gone.
//!   Where it pays, a store also stages an object piece by piece while the
//!   rest is still arriving ([`ObjectStore::stage_incrementally`]).

mod fs;
mod key;
mod s3;

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

pub use fs::{FsStore, StagingWriter};
pub use key::{InvalidKey, MAX_KEY_LEN, ObjectKey};
pub use s3::{MAX_PART_SIZE, MIN_PART_SIZE, S3Config, S3Store};

/// The body of an object to store, as one or more contiguous segments that
/// are written back to back. Segments let a caller prepend a header to a
/// buffer it already holds without copying either.
#[derive(Debug, Clone, Default)]
pub struct Body {
    segments: Vec<Bytes>,
}

impl Body {
    pub fn new(segments: Vec<Bytes>) -> Self {
        Body { segments }
    }

    pub fn segments(&self) -> &[Bytes] {
        &self.segments
    }

    pub fn len(&self) -> u64 {
        self.segments.iter().map(|s| s.len() as u64).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes in one buffer: the segment itself when there is one,
    /// a copy joining them otherwise.
    pub fn contiguous(&self) -> Bytes {
        match &self.segments[..] {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => Bytes::from(many.concat()),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body { segments: vec![b] }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::from(Bytes::from(v))
    }
}

/// An object written ahead of knowing its key, from [`ObjectStore::stage`].
/// Give it a key with [`ObjectStore::put_staged`] on the store that staged
/// it; dropping it instead discards whatever was written.
#[derive(Debug)]
pub struct Staged {
    /// The bytes, unless they were streamed to `file` without being kept.
    body: Body,
    file: Option<fs::StagedFile>,
    len: u64,
}

impl Staged {
    /// A staged object that is only held in memory: stores without a
    /// cheaper way make `put_staged` a plain `put`.
    pub fn buffered(body: Body) -> Staged {
        let len = body.len();
        Staged {
            body,
            file: None,
            len,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The staged bytes, read back from the staged file when they were
    /// not kept in memory: for a store other than the one that staged it.
    pub async fn into_body(self) -> Result<Body, StorageError> {
        match self.file {
            Some(file) if self.body.len() != self.len => file.read().await,
            _ => Ok(self.body),
        }
    }
}

/// What a store knows of an object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    /// When the object was last written, where the store says.
    pub modified: Option<std::time::SystemTime>,
}

/// A stream of an object's bytes, in order.
pub type ByteStream = BoxStream<'static, Result<Bytes, StorageError>>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object {0} does not exist")]
    NotFound(String),
    #[error("range {start}..{end} is outside object {key} of {size} bytes")]
    InvalidRange {
        key: String,
        start: u64,
        end: u64,
        size: u64,
    },
    #[error("storage is out of space or quota: {0}")]
    OutOfSpace(String),
    #[error("local storage I/O failed on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("object storage service failed: {0}")]
    Service(String),
    #[error("storage is misconfigured: {0}")]
    Config(String),
}

/// An object store. Implementations are cheap to share behind an `Arc`.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores `body` under `key`, replacing any object already there.
    /// Atomic and durable on `Ok`; on `Err` the key holds either the old
    /// object or nothing, never a part of the new one.
    async fn put(&self, key: &ObjectKey, body: Body) -> Result<(), StorageError>;

    /// Starts storing `body` before its key is known: whatever is slow
    /// about a durable write (for a local disk, writing and fsyncing the
    /// file) happens here, and nothing is visible under any key yet.
    async fn stage(&self, body: Body) -> Result<Staged, StorageError> {
        Ok(Staged::buffered(body))
    }

    /// Starts staging an object whose bytes arrive in pieces (a DIMSE data
    /// set as its PDUs come in): each piece is written while the next is
    /// awaited, so that little is left to do once the last has come.
    /// `None` when the store gains nothing by it; then [`ObjectStore::stage`]
    /// the whole body once it is there.
    fn stage_incrementally(&self) -> Option<StagingWriter> {
        None
    }

    /// Stores a staged object under `key`, with the promises of `put`.
    async fn put_staged(&self, key: &ObjectKey, staged: Staged) -> Result<(), StorageError> {
        let body = staged.into_body().await?;
        self.put(key, body).await
    }

    /// Reads a whole object.
    async fn get(&self, key: &ObjectKey) -> Result<Bytes, StorageError>;

    /// Reads `range` (end exclusive) of an object. A range that reaches
    /// past the end is an [`StorageError::InvalidRange`].
    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> Result<Bytes, StorageError>;

    /// Streams a whole object without holding it in memory.
    async fn get_stream(&self, key: &ObjectKey) -> Result<ByteStream, StorageError>;

    /// Size of an object, or `None` when there is none under `key`.
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>, StorageError>;

    /// Removes an object; removing a missing object is not an error.
    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError>;

    /// Keys under a prefix (`""` for all), in lexicographic order.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectKey>, StorageError>;

    /// A short description for logs, free of secrets (e.g. `fs:/var/pacs`).
    fn describe(&self) -> String;
}
