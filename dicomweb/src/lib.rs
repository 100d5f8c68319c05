//! DICOMweb (PS3.18) over HTTP. (in progress)

pub mod accept;
pub mod multipart;
