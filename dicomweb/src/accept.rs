//! Content negotiation for DICOMweb (PS3.18 §8.7): `Accept` header and
//! `accept` query parameter parsing.

mod media_type;

pub use media_type::{MediaType, MediaTypeError};
