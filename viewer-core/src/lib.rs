//! The viewer's pure logic, native and wasm alike, tested natively.
//!
//! Nothing here touches a browser, a GPU or the network: metadata arrives as
//! DICOM JSON, pixels as slices of numbers, and what comes out is numbers
//! (windows, matrices, measurements) and strings. The renderer and the
//! browser application build on this crate, and the renderer's shaders are
//! tested against the formulas here.
//!
//! # Conventions shared by every module
//!
//! - **Image pixel coordinates** are continuous `(x, y) = (column, row)`
//!   pairs. Pixel `(c, r)` (zero-based) covers the unit square
//!   `[c, c + 1) × [r, r + 1)`, so its centre is at `(c + 0.5, r + 0.5)` and
//!   the whole image spans `0..columns × 0..rows`. Measurements, regions of
//!   interest, view transforms, reference lines and the renderer's
//!   `clip_to_image` matrix all use this one convention.
//! - **Patient coordinates** are the DICOM patient-based system (LPS): +x
//!   towards the patient's left, +y towards posterior, +z towards the head,
//!   in millimetres. Image Position (Patient) is the centre of the first
//!   transmitted pixel, i.e. the point `(0.5, 0.5)` in image coordinates.
//! - **Modality values** are stored values after the Modality LUT
//!   (`stored × slope + intercept`): Hounsfield units for CT.
//! - **Screen coordinates** are CSS pixels with the origin at the top left of
//!   the viewport, x to the right and y downwards.

pub mod calibration;
pub mod dicom_json;
pub mod geometry;
pub mod i18n;
pub mod image;
pub mod measure;
pub mod palette;
pub mod stack;
pub mod tags;
pub mod viewport;
pub mod voi;
pub mod volume;
