//! Errors of the archive's domain, and the one mapping from an ingest
//! failure to the DICOM status code that DIMSE and STOW-RS both report.

use crate::uid::InvalidUid;

/// Why an instance was not stored. Each message tells the sender what to
/// fix.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the data set cannot be read: {0}")]
    Unreadable(String),
    #[error("the required attribute {0} is missing or empty")]
    MissingAttribute(&'static str),
    #[error("{attribute} is invalid: {source}")]
    InvalidUid {
        attribute: &'static str,
        #[source]
        source: InvalidUid,
    },
    #[error("the data set does not match its SOP class or command: {0}")]
    DoesNotMatchSopClass(String),
    #[error("transfer syntax {0} is not supported by this archive")]
    UnsupportedTransferSyntax(String),
    #[error("the instance belongs to study {found}, not to study {expected} named in the request")]
    WrongStudy { expected: String, found: String },
    #[error(
        "a different instance with SOP Instance UID {0} is already stored; the first one is kept"
    )]
    Conflict(String),
    #[error("study {0} is not one of the sending site's studies; a site adds only to its own")]
    OtherSite(String),
    #[error(
        "series {series} already belongs to study {stored}, not to study {found} that this \
         instance names: its Series or Study Instance UID is wrong (a modality reusing UIDs?)"
    )]
    SeriesOfAnotherStudy {
        series: String,
        stored: String,
        found: String,
    },
    #[error("the archive is shutting down and accepts no new instances")]
    ShuttingDown,
    #[error("the instance is larger than the configured limit of {0} bytes")]
    TooLarge(u64),
    #[error("object storage failed: {0}")]
    Storage(#[from] storage::StorageError),
    #[error("the index failed: {0}")]
    Index(#[from] IndexError),
}

impl IngestError {
    /// The DICOM status (PS3.7 Annex C, PS3.18 Table 10.5.3-1) for this
    /// failure: a DIMSE C-STORE response status, and a STOW-RS
    /// FailureReason.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::Unreadable(_) => 0xC000,
            IngestError::MissingAttribute(_)
            | IngestError::InvalidUid { .. }
            | IngestError::DoesNotMatchSopClass(_)
            | IngestError::WrongStudy { .. }
            | IngestError::SeriesOfAnotherStudy { .. } => 0xA900,
            IngestError::UnsupportedTransferSyntax(_) => 0xC122,
            IngestError::Conflict(_) => 0x0111,
            // Refused: Not Authorized.
            IngestError::OtherSite(_) => 0x0124,
            IngestError::ShuttingDown | IngestError::TooLarge(_) => 0xA700,
            IngestError::Storage(storage::StorageError::OutOfSpace(_)) => 0xA700,
            IngestError::Index(IndexError::OutOfSpace(_)) => 0xA700,
            IngestError::Storage(_) | IngestError::Index(_) => 0x0110,
        }
    }

    /// The study the refused instance belongs to, where the refusal names
    /// it: for the audit trail, which should say which study a site tried
    /// to add to.
    pub fn study_uid(&self) -> Option<&str> {
        match self {
            IngestError::WrongStudy { found, .. } => Some(found),
            IngestError::OtherSite(study) => Some(study),
            _ => None,
        }
    }

    /// Whether the sender should try again later (a server-side problem)
    /// rather than fix the instance.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            IngestError::ShuttingDown | IngestError::Storage(_) | IngestError::Index(_)
        )
    }
}

/// Failures of the index database.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IndexError {
    #[error("the index database is out of space: {0}")]
    OutOfSpace(String),
    #[error("index database error: {0}")]
    Database(String),
    #[error("the stored index data is inconsistent: {0}")]
    Corrupt(String),
    #[error("the index is closed")]
    Closed,
    /// A [`crate::query::Paging::Walk`] resumed from a position taken
    /// from a search at another level.
    #[error("a search cannot resume from a position of another query level")]
    ForeignPosition,
}

impl From<rusqlite::Error> for IndexError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
                IndexError::OutOfSpace(e.to_string())
            }
            _ => IndexError::Database(e.to_string()),
        }
    }
}

/// Failures when reading from the archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("cannot provide this representation: {0}")]
    NotAcceptable(String),
    #[error("object storage failed: {0}")]
    Storage(#[from] storage::StorageError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the stored instance cannot be processed: {0}")]
    Unprocessable(String),
}
