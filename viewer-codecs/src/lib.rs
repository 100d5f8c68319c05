//! Frame decoders in pure Rust, for the browser.
