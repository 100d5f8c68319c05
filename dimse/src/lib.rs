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
//! - [`server`]: the association acceptor (C-ECHO, C-STORE; C-FIND/C-MOVE/C-GET later)
//! - [`wire`]: PDU framing on the receive path, without copying data sets

pub mod command;
pub mod message;
pub mod server;
pub mod status;
pub mod wire;

pub use server::{
    AssociationInfo, AssociationRequest, DimseServer, ServerConfig, ServiceHandler, StoreRequest,
    StoreResponse,
};
pub use status::{Status, StatusClass};
