//! The viewer's renderer.
