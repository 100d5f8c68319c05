//! `multipart/related` bodies (RFC 2387 over the RFC 2046 multipart syntax),
//! as DICOMweb uses them: STOW-RS request bodies are read part by part with
//! [`MultipartReader`], WADO-RS responses are streamed with
//! [`MultipartWriter`].
//!
//! Framing follows RFC 2046 §5.1.1 exactly: a delimiter is `CRLF "--"
//! boundary` at the start of a line, the CRLF before it belongs to the
//! delimiter (not to the preceding part), transport padding (spaces and tabs)
//! may follow the boundary, and the preamble and epilogue are ignored.

mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use reader::{
    Item, Limits, MultipartReader, OVERSIZED_HEAD_BYTES, OversizedPart, Part, UnfinishedPart,
};
pub use writer::{MultipartBody, MultipartWriter, OutgoingPart, PartBody};

use crate::accept::MediaType;

/// Longest boundary accepted from a peer. RFC 2046 allows 70 characters;
/// some clients exceed that, so there is slack, but the bound keeps the
/// delimiter search cheap.
const MAX_BOUNDARY_LEN: usize = 200;

/// Errors while reading a multipart body or its `Content-Type`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MultipartError {
    /// The `Content-Type` is not a usable `multipart/related` type.
    #[error("invalid multipart Content-Type: {0}")]
    InvalidContentType(String),
    /// The underlying body stream failed (connection reset, timeout...).
    #[error("reading the request body failed: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The body ended before the close delimiter: the upload was cut short.
    /// Parts returned before this error are complete.
    #[error("the multipart body ended before its closing boundary (upload cut short)")]
    Truncated,
    /// A part's header block is larger than [`Limits::max_header_bytes`].
    #[error("a part's headers are larger than the max_header_bytes limit of {limit} bytes")]
    HeadersTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The body has more parts than [`Limits::max_parts`].
    #[error("the body has more parts than the max_parts limit of {limit}")]
    TooManyParts {
        /// The configured limit.
        limit: usize,
    },
    /// A part header line is not `name: value`.
    #[error("malformed part header: {0}")]
    MalformedHeader(String),
}

/// The parts of a `multipart/related` `Content-Type` that a reader needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartContentType {
    /// The boundary, exactly as sent (boundaries are case-sensitive).
    pub boundary: String,
    /// The `type` parameter (the media type of the root part, in DICOMweb
    /// the type of every part), lower-cased; `None` when absent.
    pub type_param: Option<String>,
}

/// Parses a `multipart/related; type="application/dicom"; boundary=...`
/// header value. Parameter names are case-insensitive, values may be quoted
/// or not, in any order; `type` may be missing; `boundary` is required.
pub fn parse_content_type(value: &str) -> Result<MultipartContentType, MultipartError> {
    let media =
        MediaType::parse(value).map_err(|e| MultipartError::InvalidContentType(e.to_string()))?;
    if !media.is("multipart", "related") {
        return Err(MultipartError::InvalidContentType(format!(
            "expected multipart/related, got {}/{}",
            media.main_type(),
            media.subtype()
        )));
    }
    let boundary = media
        .param("boundary")
        .ok_or_else(|| MultipartError::InvalidContentType("no boundary parameter".into()))?;
    validate_boundary(boundary)?;
    Ok(MultipartContentType {
        boundary: boundary.to_owned(),
        type_param: media.param("type").map(str::to_ascii_lowercase),
    })
}

/// Checks a boundary is usable: non-empty, bounded, printable ASCII
/// (spaces allowed inside but not at the end, per RFC 2046 `bchars`).
fn validate_boundary(boundary: &str) -> Result<(), MultipartError> {
    let fail = |why: &str| Err(MultipartError::InvalidContentType(why.to_owned()));
    if boundary.is_empty() {
        return fail("empty boundary");
    }
    if boundary.len() > MAX_BOUNDARY_LEN {
        return fail("boundary longer than 200 characters");
    }
    if !boundary.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return fail("boundary contains control or non-ASCII characters");
    }
    if boundary.ends_with(' ') {
        return fail("boundary ends with a space");
    }
    Ok(())
}
