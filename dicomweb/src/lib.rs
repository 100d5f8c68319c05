//! DICOMweb (PS3.18) over HTTP with warp: STOW-RS, QIDO-RS and WADO-RS,
//! rooted at `/dicom-web`.
//!
//! The protocol pieces ([`multipart`], [`accept`]) know nothing of the
//! archive; the resources (the private modules `stow`, `qido` and `wado`)
//! translate HTTP into calls on the archive's [`pacs_core::Ingest`] and
//! [`pacs_core::Archive`], and [`error`] is the one place where
//! archive errors become HTTP statuses.

pub mod accept;
pub mod error;
pub mod gate;
pub mod multipart;
mod qido;
mod request;
mod router;
mod stow;
mod wado;

use std::sync::Arc;

use pacs_core::{Archive, Ingest};

pub use request::Request;
pub use router::routes;

/// The address of the client of a request, put in the request's
/// extensions by the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// Settings of the DICOMweb service.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The public URL of `/dicom-web` (e.g. `https://pacs.example.org/dicom-web`),
    /// used in RetrieveURL and BulkDataURI values. When unset, it is made
    /// from each request's `Host` header.
    pub public_base: Option<String>,
    /// Largest instance accepted by STOW-RS, in bytes.
    pub max_instance_size: u64,
    /// A STOW-RS upload that sends nothing for this long is ended: a
    /// stalled or vanished client must not hold its request (and a
    /// shutdown) forever.
    pub body_idle_timeout: std::time::Duration,
    /// Shared with the other receivers: STOW-RS parts are covered by it
    /// while they are read and stored, and one it cannot cover is refused
    /// (0xA700, to be sent again). `None`: only `max_instance_size`
    /// bounds each part.
    pub memory_budget: Option<memory_budget::MemoryBudget>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_base: None,
            max_instance_size: 2 << 30,
            body_idle_timeout: std::time::Duration::from_secs(60),
            memory_budget: None,
        }
    }
}

/// What the resources need.
pub struct WebState {
    pub ingest: Arc<Ingest>,
    pub archive: Arc<Archive>,
    pub config: WebConfig,
    /// Who may do what; [`gate::Open`] lets everyone in.
    pub gate: Arc<dyn gate::Gate>,
}
