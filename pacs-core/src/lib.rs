//! The archive's domain: the ingest pipeline, instance parsing, the index
//! and its queries, DICOM JSON metadata, and frame rendering.
//!
//! Nothing here knows HTTP or DIMSE; the protocol crates call into
//! [`Ingest`] and [`Archive`], and the server binary wires them together.

pub mod attribute_level;
pub mod charset;
pub mod deid;
pub mod error;
pub mod find;
pub mod forward;
pub mod index;
pub mod ingest;
pub mod json;
pub mod layout;
pub mod parse;
pub mod query;
pub mod render;
pub mod retrieve;
pub mod transcode;
pub mod uid;
pub mod verify;
pub mod wire;
pub mod workflow;

pub use error::{ArchiveError, IndexError, IngestError};
pub use index::{DuplicatePolicy, Index, SqliteIndex};
pub use ingest::{Incoming, Ingest, IngestConfig, StoreKind, Stored, Upload, UploadCommand};
pub use retrieve::Archive;
pub use uid::Uid;
