//! Typed errors of the sample generator.

use std::path::PathBuf;

/// Everything that can go wrong while generating or writing sample studies.
#[derive(Debug, thiserror::Error)]
pub enum SamplesError {
    /// A specification asks for something the generator cannot produce.
    #[error("invalid sample specification: {0}")]
    InvalidSpec(String),

    /// A patient name cannot be represented in the declared character set.
    #[error("patient name {name:?} cannot be encoded in character set {charset}")]
    Unencodable {
        /// The name that was rejected.
        name: String,
        /// The DICOM defined term of the character set.
        charset: &'static str,
    },

    /// The file meta group could not be built.
    #[error("cannot build the file meta group: {0}")]
    Meta(String),

    /// A file or directory could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path that was being written.
        path: PathBuf,
        /// The underlying I/O failure.
        source: std::io::Error,
    },

    /// dicom-object refused to encode a data set.
    #[error("cannot encode DICOM file {path}: {message}")]
    Encode {
        /// The file that was being written.
        path: PathBuf,
        /// The encoder's explanation.
        message: String,
    },
}

impl SamplesError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SamplesError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<SamplesError> for std::io::Error {
    fn from(e: SamplesError) -> Self {
        match e {
            SamplesError::Io { source, .. } => source,
            other => std::io::Error::other(other),
        }
    }
}
