//! The web viewer: a study list and an image viewer, compiled to
//! `wasm32-unknown-unknown` and served by `pacs serve` on the archive's own
//! origin. It reads everything over the archive's DICOMweb API.
//!
//! The crate is split in two:
//! - pure modules (addresses, QIDO-RS queries, multipart frame responses,
//!   formatting, loading order, interaction state) that build natively and
//!   carry the unit tests;
//! - the browser glue (`web`, only on wasm32): the DOM, `fetch`, the
//!   decoding workers and the wgpu renderer from `viewer-render`.

pub mod annotations;
pub mod format;
pub mod frames;
pub mod layout;
pub mod mpr;
pub mod multipart;
pub mod pixels;
pub mod route;
pub mod search;
pub mod series;
pub mod studies;
pub mod tools;
pub mod url;

#[cfg(target_arch = "wasm32")]
mod web;
