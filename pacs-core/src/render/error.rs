//! The one error type of frame decoding and rendering.

/// Why a frame could not be decoded, converted or rendered.
///
/// Variants that come from the stored object (`Unsupported*`, `InvalidHeader`,
/// `TruncatedFrame`, `Decode`, `DecodedSize`) describe the instance; `InvalidWindow`
/// and `InvalidParams` describe the request and map to a client error.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The transfer syntax UID is not one this archive knows.
    #[error("transfer syntax {uid} is unknown")]
    UnknownTransferSyntax {
        /// The UID given.
        uid: String,
    },
    /// The transfer syntax is known but no decoder for it is built in.
    #[error("transfer syntax {uid} ({name}) is not supported for decoding")]
    UnsupportedTransferSyntax {
        /// The UID given.
        uid: String,
        /// Its name in the registry.
        name: String,
    },
    /// Native frame bytes were given for an encapsulated syntax, or fragments for a native one.
    #[error("transfer syntax {uid} expects {expected} pixel data, but {given} was given")]
    FrameKindMismatch {
        /// The transfer syntax UID.
        uid: String,
        /// What the transfer syntax stores.
        expected: &'static str,
        /// What the caller passed.
        given: &'static str,
    },
    /// The image attributes are inconsistent or outside what DICOM allows.
    #[error("invalid image attributes: {0}")]
    InvalidHeader(String),
    /// The attributes are valid DICOM but this pixel format is not handled.
    #[error("unsupported pixel format: {0}")]
    UnsupportedPixelFormat(String),
    /// The photometric interpretation cannot be rendered (or decoded) here.
    #[error("photometric interpretation {photometric} is not supported: {reason}")]
    UnsupportedPhotometric {
        /// The photometric interpretation.
        photometric: String,
        /// What is missing.
        reason: &'static str,
    },
    /// A native frame is shorter than rows × columns × samples × bits allocated.
    #[error("native frame has {actual} bytes, {expected} expected from the image attributes")]
    TruncatedFrame {
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// An encapsulated frame has no fragments, or only empty ones.
    #[error("encapsulated frame has no data")]
    EmptyFrame,
    /// The codec rejected the compressed frame.
    #[error("cannot decode {ts_name} ({uid}) frame: {reason}")]
    Decode {
        /// The transfer syntax UID.
        uid: String,
        /// Its name.
        ts_name: String,
        /// What the codec or the stream check reported.
        reason: String,
    },
    /// The codec produced a different amount of data than the attributes announce.
    #[error("decoded frame has {actual} bytes, {expected} expected from the image attributes")]
    DecodedSize {
        /// Bytes expected.
        expected: usize,
        /// Bytes produced.
        actual: usize,
    },
    /// A requested window cannot be applied with the requested VOI function.
    #[error("invalid window (center {center}, width {width}) for VOI function {function}")]
    InvalidWindow {
        /// Window center.
        center: f64,
        /// Window width.
        width: f64,
        /// VOI LUT function name.
        function: &'static str,
    },
    /// Another rendering parameter is out of range.
    #[error("invalid rendering parameter: {0}")]
    InvalidParams(String),
    /// The PNG or JPEG encoder failed.
    #[error("cannot encode the rendered image: {0}")]
    Encode(#[from] image::ImageError),
}
