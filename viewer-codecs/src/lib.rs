//! Frame decoders in pure Rust, for the browser.
//!
//! The viewer fetches frames over WADO-RS
//! (`/studies/{s}/series/{se}/instances/{i}/frames/{n}`) either in the
//! transfer syntax they are stored in or uncompressed, and decodes them
//! here, inside a Web Worker. Everything is synchronous, allocates only what
//! the frame needs, uses no threads, no filesystem and no C code, so the
//! crate builds for `wasm32-unknown-unknown` as well as natively.
//!
//! One call does it: [`decode`] takes the transfer syntax UID, the frame's
//! bytes and a [`FrameDescriptor`] (the image attributes from the series
//! metadata) and returns [`Pixels`]. [`can_decode`] says beforehand whether
//! a transfer syntax is worth asking for; when it is not, or when [`decode`]
//! fails with an error for which [`DecodeError::needs_server_decoding`] is
//! true, the application requests the frame uncompressed instead.
//!
//! | Transfer syntax | UID | Decoder |
//! | --- | --- | --- |
//! | Implicit / Explicit VR Little Endian, Deflated, Explicit VR Big Endian | `1.2.840.10008.1.2`, `.1.2.1`, `.1.2.1.99`, `.1.2.2` | native layout, this crate |
//! | RLE Lossless | `1.2.840.10008.1.2.5` | PS3.5 Annex G, this crate |
//! | JPEG Baseline, Extended (8-bit), Lossless | `.4.50`, `.4.51`, `.4.57`, `.4.70` | `jpeg-decoder` |
//! | JPEG Extended, 12-bit | `.4.51` | `libjpeg-turbo-rs` |
//! | JPEG-LS Lossless, Near-Lossless | `.4.80`, `.4.81` | `pure_jpegls` (one component only) |
//! | JPEG 2000, HTJ2K | `.4.90`, `.4.91`, `.4.201`, `.4.202`, `.4.203` | `dicom-toolkit-jpeg2000` (HTJ2K colour only without a component transform) |
//!
//! Images a supported syntax cannot carry here fail with an error for which
//! [`DecodeError::needs_server_decoding`] holds: 1-bit and 32-bit samples,
//! 16-bit colour, colour JPEG-LS, 12-bit colour JPEG, arithmetic-coded or
//! hierarchical JPEG, HTJ2K colour with YBR_RCT/YBR_ICT.
//!
//! Frames of the uncompressed syntaxes arrive as little-endian native bytes
//! whatever the stored syntax: PS3.18 has the origin server send
//! uncompressed bulk data in little-endian byte order, so the archive swaps
//! Explicit VR Big Endian samples and inflates Deflated data before sending.
//!
//! Invariants: no input makes [`decode`] panic or allocate more than the
//! frame its descriptor describes (at most [`MAX_FRAME_SAMPLES`] samples),
//! and that size is checked before any decoder runs.

mod colour;
mod error;
mod j2k;
mod jpeg;
mod jpegls;
mod layout;
mod native;
mod rle;

pub use error::DecodeError;
pub use layout::MAX_FRAME_SAMPLES;

/// The image attributes needed to decode one frame, as found in the series
/// metadata (DICOM JSON) of the instance.
///
/// High Bit is taken to be `bits_stored - 1`, as the image pixel module
/// requires for every storage class this viewer shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrameDescriptor {
    /// Rows (0028,0010).
    pub rows: u16,
    /// Columns (0028,0011).
    pub columns: u16,
    /// Samples per Pixel (0028,0002): 1 or 3.
    pub samples_per_pixel: u16,
    /// Bits Allocated (0028,0100): 8 or 16 are decoded.
    pub bits_allocated: u16,
    /// Bits Stored (0028,0101).
    pub bits_stored: u16,
    /// Pixel Representation (0028,0103): 0 unsigned, 1 two's complement.
    pub pixel_representation: u16,
    /// Photometric Interpretation (0028,0004), e.g. `MONOCHROME2`; trailing
    /// spaces and NULs are ignored.
    pub photometric: String,
    /// Planar Configuration (0028,0006): 0 colour-by-pixel, 1 colour-by-plane.
    /// Only native colour frames are affected by it.
    pub planar_configuration: u16,
}

/// A decoded frame: **stored values**, before the modality LUT (rescale
/// slope and intercept) and the VOI LUT are applied.
///
/// - Monochrome (`MONOCHROME1`, `MONOCHROME2`) and `PALETTE COLOR`: one value
///   per pixel, row by row. Bits above Bits Stored are cleared; signed
///   samples (Pixel Representation 1) are sign-extended from Bits Stored, so
///   12 bits stored 0x0FFF reads −1. Bits Allocated 8 unsigned gives
///   [`Pixels::U8`], 16 unsigned [`Pixels::U16`], and signed samples of
///   either size [`Pixels::I16`].
/// - `PALETTE COLOR` values are the stored palette indices: the application
///   applies the Red/Green/Blue Palette Colour LUTs from the metadata.
/// - Colour (`RGB`, `YBR_FULL`, `YBR_FULL_422`, `YBR_RCT`, `YBR_ICT`, any
///   planar configuration) is converted to [`Pixels::Rgb8`]: interleaved
///   R, G, B, one byte each. YBR_FULL uses the PS3.3 C.7.6.3.1.2 formulas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pixels {
    /// Unsigned 8-bit monochrome or palette values.
    U8(Vec<u8>),
    /// Unsigned 16-bit monochrome or palette values.
    U16(Vec<u16>),
    /// Signed monochrome values (8- or 16-bit allocated).
    I16(Vec<i16>),
    /// Interleaved RGB, 3 bytes per pixel.
    Rgb8(Vec<u8>),
}

impl Pixels {
    /// Number of values (for [`Pixels::Rgb8`], bytes: three per pixel).
    pub fn len(&self) -> usize {
        match self {
            Pixels::U8(v) | Pixels::Rgb8(v) => v.len(),
            Pixels::U16(v) => v.len(),
            Pixels::I16(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether frames in `transfer_syntax_uid` can be decoded here at all.
///
/// True for every syntax in the crate's table. Some images in a supported
/// syntax still fail with an error for which
/// [`DecodeError::needs_server_decoding`] holds (e.g. colour JPEG-LS, 16-bit
/// colour); everything else, such as MPEG, JPEG XL or the retired JPEG
/// processes, is false, and the application should request those frames
/// uncompressed.
pub fn can_decode(transfer_syntax_uid: &str) -> bool {
    Codec::of(transfer_syntax_uid).is_some()
}

/// Decode one frame.
///
/// `data` is exactly what the `/frames` resource returned for this frame:
/// little-endian native bytes for the uncompressed syntaxes (one trailing
/// pad byte is ignored), or the whole compressed bitstream (fragments
/// joined) for the encapsulated ones.
pub fn decode(
    transfer_syntax_uid: &str,
    data: &[u8],
    frame: &FrameDescriptor,
) -> Result<Pixels, DecodeError> {
    let uid = trim_uid(transfer_syntax_uid);
    let codec = Codec::of(uid).ok_or_else(|| DecodeError::Unsupported {
        transfer_syntax: uid.to_owned(),
    })?;
    let layout = layout::Layout::check(uid, frame)?;
    match codec {
        Codec::Native => native::decode(&layout, data),
        Codec::Rle => rle::decode(&layout, data),
        Codec::Jpeg => jpeg::decode(&layout, data),
        Codec::JpegLs => jpegls::decode(&layout, data),
        Codec::Jpeg2000 => j2k::decode(&layout, data),
    }
}

/// The decoder family a transfer syntax needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Native,
    Rle,
    Jpeg,
    JpegLs,
    Jpeg2000,
}

impl Codec {
    fn of(transfer_syntax_uid: &str) -> Option<Codec> {
        Some(match trim_uid(transfer_syntax_uid) {
            "1.2.840.10008.1.2"
            | "1.2.840.10008.1.2.1"
            | "1.2.840.10008.1.2.1.99"
            | "1.2.840.10008.1.2.2" => Codec::Native,
            "1.2.840.10008.1.2.5" => Codec::Rle,
            "1.2.840.10008.1.2.4.50"
            | "1.2.840.10008.1.2.4.51"
            | "1.2.840.10008.1.2.4.57"
            | "1.2.840.10008.1.2.4.70" => Codec::Jpeg,
            "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => Codec::JpegLs,
            "1.2.840.10008.1.2.4.90"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.201"
            | "1.2.840.10008.1.2.4.202"
            | "1.2.840.10008.1.2.4.203" => Codec::Jpeg2000,
            _ => return None,
        })
    }
}

/// UIDs in DICOM values are padded to even length with a NUL; JSON
/// metadata may carry that or a space along.
fn trim_uid(uid: &str) -> &str {
    uid.trim_end_matches(['\0', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_syntax_is_decodable_and_others_are_not() {
        for uid in [
            "1.2.840.10008.1.2",
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2.1.99",
            "1.2.840.10008.1.2.2",
            "1.2.840.10008.1.2.5",
            "1.2.840.10008.1.2.4.50",
            "1.2.840.10008.1.2.4.51",
            "1.2.840.10008.1.2.4.57",
            "1.2.840.10008.1.2.4.70",
            "1.2.840.10008.1.2.4.80",
            "1.2.840.10008.1.2.4.81",
            "1.2.840.10008.1.2.4.90",
            "1.2.840.10008.1.2.4.91",
            "1.2.840.10008.1.2.4.201",
            "1.2.840.10008.1.2.4.202",
            "1.2.840.10008.1.2.4.203",
            "1.2.840.10008.1.2.4.50\0",
        ] {
            assert!(can_decode(uid), "{uid}");
        }
        // MPEG-2, JPEG XL, deflated image frame compression, a prefix, nonsense.
        for uid in [
            "1.2.840.10008.1.2.4.100",
            "1.2.840.10008.1.2.4.112",
            "1.2.840.10008.1.2.8.1",
            "1.2.840.10008.1.2.4",
            "",
            "RGB",
        ] {
            assert!(!can_decode(uid), "{uid}");
        }
    }

    #[test]
    fn an_unknown_syntax_is_reported_as_such() {
        let frame = FrameDescriptor {
            rows: 1,
            columns: 1,
            samples_per_pixel: 1,
            bits_allocated: 8,
            bits_stored: 8,
            pixel_representation: 0,
            photometric: "MONOCHROME2".into(),
            planar_configuration: 0,
        };
        let err = decode("1.2.840.10008.1.2.4.100", &[0], &frame).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Unsupported {
                transfer_syntax: "1.2.840.10008.1.2.4.100".into()
            }
        );
        assert!(err.needs_server_decoding());
    }
}
