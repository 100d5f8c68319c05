//! Who may use DICOMweb: every request passes the [`Gate`] before any
//! resource runs. The archive decides (sign-in, roles, sites); this crate
//! only asks, and applies the answer: a search sees only the studies of
//! the grant's scope, a store is recorded against the grant's site.

use std::net::SocketAddr;

use async_trait::async_trait;
use pacs_core::Uid;
use pacs_core::workflow::StudyScope;
use warp::http::HeaderMap;

use crate::error::WebError;

/// What a request is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access<'a> {
    /// QIDO-RS across studies (`/studies`, `/series`, `/instances`): the
    /// resource searched and the request's query string as sent, for the
    /// audit trail.
    Search { resource: &'a str, query: &'a str },
    /// Anything under `/studies/{study}`: searches within it, metadata,
    /// retrieval, frames, renderings.
    Read { study: &'a Uid, kind: ReadKind },
    /// STOW-RS.
    Store { study: Option<&'a Uid> },
}

/// The kind of read, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadKind {
    /// Study, series or instance metadata, and searches within a study:
    /// what opening a study in a viewer asks for first.
    Metadata,
    /// Whole instances (`application/dicom`): the data leaves the archive.
    Retrieve,
    /// Frames, renderings, thumbnails, bulk data.
    Pixels,
}

/// What the gate allows.
#[derive(Clone, Default)]
pub struct Grant {
    /// The studies searches may match.
    pub scope: StudyScope,
    /// The site stored instances are recorded against.
    pub site: Option<String>,
    /// Whatever the gate wants back in [`Gate::stored`] (who the caller is).
    pub caller: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("scope", &self.scope)
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}

/// What a STOW-RS request did, study by study.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreReport {
    /// Studies that received instances (new or already stored), with how many.
    pub stored: Vec<(String, usize)>,
    /// Instances refused, by the study they belong to where that is known
    /// (from the refusal, or from the request's `/studies/{study}`).
    pub refused: Vec<Refusals>,
}

/// The instances of one study (or of no known study) a request had
/// refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusals {
    pub study: Option<String>,
    pub count: usize,
    /// Why the first was refused.
    pub first_reason: String,
}

/// Decides each request.
#[async_trait]
pub trait Gate: Send + Sync {
    /// A grant, or the refusal to answer with (401 or 403).
    async fn admit(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
        access: Access<'_>,
    ) -> Result<Grant, WebError>;

    /// Told what a store did, once it is done (for the audit trail).
    async fn stored(&self, _grant: &Grant, _report: StoreReport) {}
}

/// Lets everyone do everything: for archives without accounts and for
/// tests of the protocol alone.
pub struct Open;

#[async_trait]
impl Gate for Open {
    async fn admit(
        &self,
        _headers: &HeaderMap,
        _peer: Option<SocketAddr>,
        _access: Access<'_>,
    ) -> Result<Grant, WebError> {
        Ok(Grant::default())
    }
}
