//! DICOM message exchange (PS3.7) over the upper layer protocol of
//! `dicom-ul`.
//!
//! This crate is protocol only: it knows command sets, status codes,
//! message reassembly per presentation context and association handling,
//! and nothing of storage or databases. Services are delegated to a
//! [`ServiceHandler`] supplied by the caller.
//!
//! Layout:
//! - [`command`]: command set encoding/decoding (always implicit VR little endian)
//! - [`status`]: status codes and their classes
//! - [`message`]: reassembly of command and data set fragments per presentation context
//! - [`server`]: the association acceptor (C-ECHO, C-STORE, C-FIND, C-GET, C-MOVE)
//! - [`client`]: the storage SCU that sends a C-MOVE's instances to their destination
//! - [`wire`]: PDU framing on the receive path, without copying data sets

//!
//! Starting the acceptor:
//!
//! ```no_run
//! use std::sync::Arc;
//! use dimse::{AssociationInfo, AssociationRequest, DEFAULT_MAX_PDU_LENGTH, DimseServer, ServerConfig,
//!             ServiceHandler, Status, StoreRequest, StoreResponse};
//!
//! struct Archive;
//!
//! #[async_trait::async_trait]
//! impl ServiceHandler for Archive {
//!     fn admit(&self, _request: &AssociationRequest) -> Result<(), String> {
//!         Ok(())
//!     }
//!     async fn store(&self, _association: &AssociationInfo, _request: StoreRequest) -> StoreResponse {
//!         StoreResponse { status: Status::SUCCESS, error_comment: None }
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:11112").await?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let server = DimseServer::new(ServerConfig::new("PACS"), Arc::new(Archive));
//! // Returns once `shutdown` is cancelled and every association has ended.
//! server.serve(listener, shutdown.clone()).await;
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod command;
pub mod message;
pub mod server;
pub mod status;
pub mod wire;

pub use server::{
    AssociationInfo, AssociationRequest, DEFAULT_MAX_PDU_LENGTH, DataSetSink, DimseServer,
    FindMatches, MoveRequest, MoveTarget, Outgoing, QueryFailure, QueryRequest, Retrieval,
    ServerConfig, ServiceHandler, StoreAnnouncement, StoreRequest, StoreResponse,
};
pub use status::{Status, StatusClass};
