//! Frame decoding and rendering: in progress.
