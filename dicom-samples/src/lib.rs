//! Realistic synthetic DICOM studies for demos, tests and benchmarks.
//!
//! * [`ct`]: CT Image Storage series of an anatomical phantom (chest or head)
//!   in Hounsfield units, with consistent geometry across slices.
//! * [`xray`]: DX (For Presentation, MONOCHROME2) and CR (MONOCHROME1)
//!   PA chest radiographs with lungs, heart, spine, clavicles and ribs.
//! * [`study`]: the demo set ([`demo_studies`], [`write_demo`]).
//! * [`write`](mod@write): writing objects in Explicit/Implicit VR Little Endian,
//!   Explicit VR Big Endian or Deflated Explicit VR Little Endian.
//!
//! Everything is deterministic: the same spec (including its seed) always
//! yields the same UIDs and pixels, so tests elsewhere can regenerate the
//! expected pixel values (see [`ct::ct_slice_pixels`]) and compare exactly.
//!
//! ```no_run
//! use std::path::Path;
//! use dicom_samples::*;
//!
//! // A 120-slice chest CT, written slice by slice (never all in memory).
//! let spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), 7).with_slices(120);
//! let files = write_ct_series(&spec, Path::new("/tmp/ct"), SampleTransferSyntax::default())?;
//! assert_eq!(files.len(), 120);
//!
//! // Or in memory, one slice at a time, with the expected pixels alongside.
//! for (i, slice) in ct_series(&spec)?.enumerate() {
//!     let _obj = slice?;
//!     let _expected: Vec<u16> = ct_slice_pixels(&spec, i as u32);
//! }
//!
//! // The demo set that `pacs serve` loads.
//! let demo = write_demo(Path::new("/tmp/demo"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `dicom-samples` binary wraps the same calls:
//! `dicom-samples demo --out DIR`,
//! `dicom-samples ct --out DIR --slices 300 --transfer-syntax deflate`,
//! `dicom-samples xray --out DIR --kind cr`.

pub mod ct;
mod ct_phantom;
pub mod date;
pub mod error;
pub mod modules;
pub mod patient;
pub mod series;
pub mod study;
pub mod uid;
pub mod write;
pub mod xray;
mod xray_phantom;

pub use ct::{
    CtPixelEncoding, CtRegion, CtSeries, CtSpec, ct_phantom_hu, ct_series, ct_slice,
    ct_slice_pixels,
};
pub use ct_phantom::{hu, lung_scale};
pub use date::Date;
pub use error::SamplesError;
pub use modules::{Equipment, StudyInfo};
pub use patient::{CharacterSet, Patient, Sex, sample_patients};
pub use series::{write_ct_series, write_xray};
pub use study::{
    StudySpec, demo_studies, demo_studies_on, write_demo, write_demo_with, write_study,
};
pub use uid::{is_valid_uid, uid_for};
pub use write::{SampleTransferSyntax, to_bytes, write_file};
pub use xray::{
    ChestRegion, XrayKind, XraySpec, window_from_data, xray_image, xray_pixels, xray_region,
};
