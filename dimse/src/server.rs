//! The association acceptor. (Interface fixed; implementation in progress.)

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::status::Status;

/// Settings of the acceptor.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Our AE title (called AE title that peers must use).
    pub ae_title: String,
    /// Maximum PDU length we accept and announce.
    pub max_pdu_length: u32,
    /// An association idle for longer than this (no PDU at all) is aborted.
    pub idle_timeout: Duration,
    /// Maximum number of associations served at once; further peers are
    /// rejected (transient, "local limit exceeded").
    pub max_associations: usize,
}

/// What a peer asked for when it opened an association.
#[derive(Debug, Clone)]
pub struct AssociationRequest {
    pub calling_ae_title: String,
    pub called_ae_title: String,
    pub peer_addr: SocketAddr,
}

/// An established association, as handlers see it.
#[derive(Debug, Clone)]
pub struct AssociationInfo {
    /// Process-unique id, for logs.
    pub id: u64,
    pub calling_ae_title: String,
    pub called_ae_title: String,
    pub peer_addr: SocketAddr,
}

/// One C-STORE request, its data set complete.
#[derive(Debug)]
pub struct StoreRequest {
    pub message_id: u16,
    pub affected_sop_class_uid: String,
    pub affected_sop_instance_uid: String,
    /// Transfer syntax of `dataset`, from the presentation context.
    pub transfer_syntax_uid: String,
    pub move_originator_ae_title: Option<String>,
    /// The data set exactly as received (no file meta group).
    pub dataset: Bytes,
}

/// The answer to a C-STORE.
#[derive(Debug, Clone)]
pub struct StoreResponse {
    pub status: Status,
    /// Free text for the peer's log (Error Comment, at most 64 characters).
    pub error_comment: Option<String>,
}

/// The services behind the acceptor.
#[async_trait]
pub trait ServiceHandler: Send + Sync + 'static {
    /// Decides whether a peer may open an association. `Err` carries the
    /// reason for our log; the peer gets an A-ASSOCIATE-RJ.
    fn admit(&self, request: &AssociationRequest) -> Result<(), String>;

    /// Handles one C-STORE.
    async fn store(&self, association: &AssociationInfo, request: StoreRequest) -> StoreResponse;
}

/// The acceptor. See the crate docs.
pub struct DimseServer;
