//! The web viewer: a study list and an image viewer, compiled to
//! `wasm32-unknown-unknown` and served by `pacs serve` on the archive's own
//! origin. It reads everything over the archive's DICOMweb API.
//!
//! The crate is split in two:
//! - pure modules that build natively and carry the unit tests: addresses
//!   ([`url`], [`route`]), the study search ([`search`], [`studies`]),
//!   what to ask WADO-RS for ([`frames`]) and how to read its answers
//!   ([`multipart`]), a series' slices and their loading order
//!   ([`series`]), which failed requests to send again ([`retry`]),
//!   stored pixels ([`pixels`]), layouts and the drawn part
//!   of a viewport ([`layout`]), reformats for the renderer ([`mpr`]), the
//!   mouse tools ([`tools`]), measurements ([`annotations`]) and overlay
//!   numbers ([`format`](mod@format)), the forwarding page's jobs
//!   ([`forwarding`]); the reading workflow: who is signed in
//!   ([`session`]), API errors in words ([`api_error`]), times
//!   ([`time`](mod@time)), the worklist ([`worklist`]), reports and
//!   templates ([`report`]), when drafts are saved ([`autosave`]) and the
//!   audit trail ([`audit`]);
//! - the browser side (`web`, wasm32 only): the DOM, `fetch`, the decoding
//!   workers and the viewer, drawing with `viewer-render`.
//!
//! `index.html` (in `static/`) compiles the wasm module once, calls the
//! exported `start` with it, and hands the same module to the decoding
//! workers (`decode-worker.js`), which call `decode_frame`. It also starts
//! the first DICOMweb requests of a study while the module downloads.
//!
//! # What end-to-end tests rely on
//!
//! - `performance.mark('pacs:first-image')` once the first slice of the
//!   opened study has been drawn, `performance.mark('pacs:series-loaded')`
//!   once every slice of a series is decoded;
//! - on `<html>`: `data-backend` (`webgpu` or `webgl2`) once the GPU is
//!   open, `data-state` (`loading`, `ready`, `error`);
//! - `#viewer-error` (the message), `#viewer-canvas` (the GPU canvas),
//!   `[data-overlay=patient|window|slice|zoom]` (window text is exactly
//!   `W <width> L <center>`), `[data-measurement]` (a result such as
//!   `52.3 mm`), `[data-tool=wl|zoom|pan|length|angle|rect|ellipse]`;
//! - `window.pacsViewer.state()` (the active viewport: backend, study,
//!   series, slice index, slices, slices loaded and failed, `linkLost`
//!   while a broken request waits to be sent again, `streaming` once the
//!   rest of the series was asked for in one request, window, zoom,
//!   rotation in degrees,
//!   flips, invert, canvas and image size, frames drawn, wasm memory) and
//!   `window.pacsViewer.imageToScreen(col, row)`: where the image point
//!   `(col, row)` (pixel `(c, r)` covers `[c, c + 1) × [r, r + 1)`) is, in
//!   CSS pixels from the canvas's top left;
//! - the reading workflow's ids and `data-*` attributes, listed at the top
//!   of each page's module: `web::login`, `web::topbar`, `web::worklist`,
//!   `web::report` (the panel beside the images), `web::referrals`,
//!   `web::audit` and `web::dialog`.

pub mod annotations;
pub mod api_error;
pub mod audit;
pub mod autosave;
pub mod format;
pub mod forwarding;
pub mod frames;
pub mod keys;
pub mod layout;
pub mod mpr;
pub mod multipart;
pub mod pixels;
pub mod report;
pub mod retry;
pub mod route;
pub mod search;
pub mod series;
pub mod session;
pub mod studies;
pub mod time;
pub mod tools;
pub mod url;
pub mod worklist;

#[cfg(target_arch = "wasm32")]
mod web;
