//! Benchmarks of the archive against a reference server (Orthanc) on the
//! same data with the same clients, and the archive's performance targets.
//!
//! The `archive-bench` binary runs them; see [`bench::run`] for the plan
//! and [`figures`] for the targets.

pub mod bench;
pub mod cfind;
pub mod data;
pub mod dimse;
pub mod disk;
pub mod figures;
pub mod orthanc;
pub mod pacs;
pub mod process;
pub mod qido;
pub mod report;
pub mod stats;
pub mod web;
