//! Rendering through a real GPU device (natively Vulkan; Mesa lavapipe in
//! software is enough): upload, draw, read the bytes back and compare them
//! with the formulas computed here on the CPU.
//!
//! Without a Vulkan adapter each test prints a skip message, unless `CI`
//! is set, where it fails. The browser backends are tested by
//! `tests/browser.rs`.
#![cfg(not(target_arch = "wasm32"))]

mod common;
mod formats;
mod geometry;
mod mpr;
mod tiles;
mod window;
