//! The archive's domain: ingest pipeline, instance parsing, index,
//! queries, metadata and rendering. (in progress)

pub mod render;
