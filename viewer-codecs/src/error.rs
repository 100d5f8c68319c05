//! What can go wrong when a frame is decoded, in words a person can act on.

/// Why a frame could not be turned into [`crate::Pixels`].
///
/// [`DecodeError::needs_server_decoding`] tells the application when the
/// right reaction is to ask the archive for the uncompressed frame instead
/// (`Accept: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No decoder in this crate handles the transfer syntax at all.
    #[error(
        "transfer syntax {transfer_syntax} cannot be decoded in the browser; \
         request the frame uncompressed (transfer-syntax=1.2.840.10008.1.2.1)"
    )]
    Unsupported {
        /// The transfer syntax UID as given.
        transfer_syntax: String,
    },
    /// The transfer syntax is supported, but not for this kind of image
    /// (for example 1-bit samples, 16-bit colour or colour JPEG-LS).
    #[error(
        "{transfer_syntax}: {reason}; request the frame uncompressed \
         (transfer-syntax=1.2.840.10008.1.2.1)"
    )]
    UnsupportedImage {
        /// The transfer syntax UID as given.
        transfer_syntax: String,
        /// What about the image is not handled.
        reason: String,
    },
    /// The image attributes contradict each other (e.g. Bits Stored greater
    /// than Bits Allocated); the series metadata is wrong, not the frame.
    #[error("inconsistent image attributes: {0}")]
    Descriptor(String),
    /// The frame is larger than this decoder accepts, before anything was
    /// allocated for it.
    #[error(
        "frame of {rows}×{columns}×{samples_per_pixel} samples exceeds the limit of \
         {limit} samples; display it from a rendered (server-scaled) image instead"
    )]
    TooLarge {
        /// Rows in the descriptor.
        rows: u16,
        /// Columns in the descriptor.
        columns: u16,
        /// Samples per pixel in the descriptor.
        samples_per_pixel: u16,
        /// The largest number of samples one frame may have.
        limit: usize,
    },
    /// The compressed data is damaged or not of the declared kind.
    #[error("corrupt frame data: {0}")]
    Corrupt(String),
    /// The decoded size or shape differs from the descriptor (rows, columns,
    /// samples per pixel, precision), or the frame is too short.
    #[error("frame does not match its image attributes: {0}")]
    Mismatch(String),
}

impl DecodeError {
    /// Whether the archive can still serve this frame in a form that decodes
    /// here: true when the transfer syntax or the image kind is not handled
    /// by this crate, false when the data or the metadata is wrong.
    pub fn needs_server_decoding(&self) -> bool {
        matches!(
            self,
            DecodeError::Unsupported { .. } | DecodeError::UnsupportedImage { .. }
        )
    }

    pub(crate) fn unsupported_image(transfer_syntax: &str, reason: impl Into<String>) -> Self {
        DecodeError::UnsupportedImage {
            transfer_syntax: transfer_syntax.to_owned(),
            reason: reason.into(),
        }
    }
}
