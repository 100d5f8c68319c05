//! Decoding encapsulated frames with the codecs registered in
//! `dicom-transfer-syntax-registry` (JPEG via jpeg-decoder, JPEG-LS via CharLS,
//! JPEG 2000 and HTJ2K via OpenJPEG); RLE is decoded in [`super::rle`], and
//! 12-bit lossy JPEG (processes 2 and 4, which jpeg-decoder refuses) with the
//! viewer's own decoder from `viewer-codecs`.
//!
//! The codec adapters are handed a one-frame, one-fragment object built from
//! the [`ImageHeader`]; before that the codestream header is read here so that
//! a frame whose size disagrees with the attributes is refused with a reason,
//! and so that the adapters' output (whose sample width follows the
//! codestream, not BitsAllocated) is interpreted correctly.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use dicom_encoding::adapters::{DynPixelDataReader, PixelDataObject, RawPixelData};
use dicom_encoding::transfer_syntax::{Codec, TransferSyntax, TransferSyntaxIndex};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::frame::{DecodedFrame, Samples, frame_from, interleave_planes};
use super::header::{ImageHeader, Photometric};
use super::{RenderError, rle};

/// Encapsulated Uncompressed Explicit VR Little Endian: fragments hold native samples.
const ENCAPSULATED_UNCOMPRESSED: &str = "1.2.840.10008.1.2.1.98";

/// The built-in registry, as a static so that its entries are `'static`.
static REGISTRY: TransferSyntaxRegistry = TransferSyntaxRegistry;

/// How a transfer syntax stores pixel data.
pub(crate) enum Kind {
    /// Native samples (implicit/explicit little endian, big endian, deflated).
    Native,
    /// Native samples inside fragments.
    EncapsulatedUncompressed,
    /// A compressed codestream with a registered decoder.
    Compressed(&'static TransferSyntax),
}

/// Looks the transfer syntax up and says how its pixel data is stored.
pub(crate) fn kind_of(uid: &str) -> Result<Kind, RenderError> {
    if uid == ENCAPSULATED_UNCOMPRESSED {
        return Ok(Kind::EncapsulatedUncompressed);
    }
    let ts = REGISTRY
        .get(uid)
        .ok_or_else(|| RenderError::UnknownTransferSyntax {
            uid: uid.to_owned(),
        })?;
    match ts.codec() {
        Codec::None | Codec::Dataset(_) => Ok(Kind::Native),
        Codec::EncapsulatedPixelData(Some(_), _) => Ok(Kind::Compressed(ts)),
        Codec::EncapsulatedPixelData(None, _) => Err(RenderError::UnsupportedTransferSyntax {
            uid: uid.to_owned(),
            name: ts.name().to_owned(),
        }),
    }
}

/// Codestream families whose output needs interpreting differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Jpeg,
    JpegLs,
    Jpeg2000,
    Rle,
    Other,
}

fn family_of(uid: &str) -> Family {
    match uid {
        "1.2.840.10008.1.2.5" => Family::Rle,
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => Family::JpegLs,
        "1.2.840.10008.1.2.4.90"
        | "1.2.840.10008.1.2.4.91"
        | "1.2.840.10008.1.2.4.92"
        | "1.2.840.10008.1.2.4.93"
        | "1.2.840.10008.1.2.4.201"
        | "1.2.840.10008.1.2.4.202"
        | "1.2.840.10008.1.2.4.203" => Family::Jpeg2000,
        _ if uid.starts_with("1.2.840.10008.1.2.4.5")
            || uid.starts_with("1.2.840.10008.1.2.4.6")
            || uid == "1.2.840.10008.1.2.4.70" =>
        {
            Family::Jpeg
        }
        _ => Family::Other,
    }
}

/// Decodes one compressed frame (its fragments joined) with the registered codec.
pub(crate) fn decode_compressed(
    header: &ImageHeader,
    ts: &'static TransferSyntax,
    data: &Bytes,
) -> Result<DecodedFrame, RenderError> {
    let uid = ts.uid();
    let fail = |reason: String| RenderError::Decode {
        uid: uid.to_owned(),
        ts_name: ts.name().to_owned(),
        reason,
    };
    let Codec::EncapsulatedPixelData(Some(reader), _) = ts.codec() else {
        return Err(RenderError::UnsupportedTransferSyntax {
            uid: uid.to_owned(),
            name: ts.name().to_owned(),
        });
    };
    if header.bits_allocated == 1 {
        return Err(RenderError::UnsupportedPixelFormat(format!(
            "BitsAllocated 1 in {}",
            ts.name()
        )));
    }

    let family = family_of(uid);
    let mut planar_output = false;
    // Bytes per sample in the codec's output.
    let mut output_width = usize::from(header.bits_allocated / 8);
    let mut lossy_jpeg = false;
    match family {
        Family::Jpeg | Family::JpegLs => {
            let info = read_jpeg_header(data).map_err(fail)?;
            check_geometry(header, &info).map_err(fail)?;
            output_width = if info.precision <= 8 { 1 } else { 2 };
            if output_width > usize::from(header.bits_allocated / 8) {
                return Err(fail(format!(
                    "codestream precision {} does not fit BitsAllocated {}",
                    info.precision, header.bits_allocated
                )));
            }
            lossy_jpeg = family == Family::Jpeg && !info.lossless;
            planar_output = family == Family::JpegLs && info.components > 1 && info.interleave == 0;
        }
        Family::Rle | Family::Jpeg2000 | Family::Other => {}
    }

    let samples = if family == Family::Rle {
        rle::decode(header, data).map_err(fail)?
    } else if lossy_jpeg && output_width == 2 {
        decode_extended_jpeg(header, data).map_err(fail)?
    } else {
        // jpeg-decoder and CharLS write host order; the other adapters little endian.
        let host_order = matches!(family, Family::Jpeg | Family::JpegLs);
        run_adapter(header, reader, data, output_width, host_order).map_err(|e| match e {
            AdapterError::Failed(reason) => fail(reason),
            AdapterError::Short(e) => e,
        })?
    };
    let samples = if planar_output {
        interleave_planes(samples, header.pixel_count())
    } else {
        samples
    };

    let photometric = match (header.photometric(), family) {
        // jpeg-decoder turns YCbCr into RGB for DCT-based frames.
        (p, Family::Jpeg) if p.is_colour() && lossy_jpeg => Photometric::Rgb,
        // OpenJPEG undoes the multi-component transform.
        (Photometric::YbrIct | Photometric::YbrRct, Family::Jpeg2000) => Photometric::Rgb,
        // Codecs return every pixel's samples: chroma is no longer subsampled.
        (Photometric::YbrFull422, _) => Photometric::YbrFull,
        (p, _) => p,
    };
    let mut frame = frame_from(header, photometric, samples);
    // Codecs return samples aligned to bit 0, whatever HighBit says.
    frame.high_bit = header.bits_stored - 1;
    Ok(frame)
}

/// Decodes a lossy JPEG frame of more than 8 bits (12-bit extended
/// sequential, PS3.5 A.4.1's processes 2 and 4) with `viewer-codecs`,
/// which bounds its memory by the frame the header describes.
fn decode_extended_jpeg(header: &ImageHeader, data: &[u8]) -> Result<Samples, String> {
    let frame = viewer_codecs::FrameDescriptor {
        rows: header.rows,
        columns: header.columns,
        samples_per_pixel: header.samples_per_pixel,
        bits_allocated: header.bits_allocated,
        bits_stored: header.bits_stored,
        pixel_representation: header.pixel_representation,
        photometric: header.photometric_interpretation.clone(),
        planar_configuration: header.planar_configuration,
    };
    let pixels = viewer_codecs::decode(JPEG_EXTENDED, data, &frame).map_err(|e| e.to_string())?;
    // Stored bits only: a signed frame comes back sign-extended.
    let mask = u16::MAX >> (16 - header.bits_stored.clamp(1, 16));
    match pixels {
        viewer_codecs::Pixels::U16(words) => Ok(Samples::U16(words)),
        viewer_codecs::Pixels::I16(words) => Ok(Samples::U16(
            words.into_iter().map(|w| w as u16 & mask).collect(),
        )),
        other => Err(format!(
            "12-bit JPEG decoded to {} 8-bit values, not 16-bit samples",
            other.len()
        )),
    }
}

/// JPEG Extended (processes 2 and 4).
pub(crate) const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// Whether `codestream` is lossy JPEG of more than 8 bits, which the
/// registry's codec cannot decode and [`decode_compressed`] decodes itself.
pub(crate) fn is_extended_precision_jpeg(codestream: &[u8]) -> bool {
    read_jpeg_header(codestream).is_ok_and(|info| !info.lossless && info.precision > 8)
}

/// Why the registry's adapter gave no samples.
enum AdapterError {
    /// The codec reported an error (or panicked).
    Failed(String),
    /// The codec produced too little data.
    Short(RenderError),
}

/// Runs a registry codec on the one-frame object and reads its output as
/// samples `output_width` bytes wide.
fn run_adapter(
    header: &ImageHeader,
    reader: &DynPixelDataReader,
    data: &Bytes,
    output_width: usize,
    host_order: bool,
) -> Result<Samples, AdapterError> {
    let object = OneFrame { header, data };
    let mut out = Vec::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        reader.decode_frame(&object, 0, &mut out)
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(AdapterError::Failed(error_chain(&e))),
        Err(_) => {
            return Err(AdapterError::Failed(
                "the codec panicked on this codestream".to_owned(),
            ));
        }
    }

    let sample_count = header.sample_count();
    let needed = sample_count * output_width;
    if out.len() < needed {
        return Err(AdapterError::Short(RenderError::DecodedSize {
            expected: needed,
            actual: out.len(),
        }));
    }
    out.truncate(needed);
    Ok(match (header.bits_allocated, output_width) {
        (8, _) => Samples::U8(out),
        (_, 1) => Samples::U16(out.into_iter().map(u16::from).collect()),
        _ if host_order => Samples::U16(
            out.chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect(),
        ),
        _ => Samples::U16(
            out.chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect(),
        ),
    })
}

/// The error and its causes, in one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What a JPEG or JPEG-LS frame and first scan header say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegInfo {
    pub precision: u8,
    pub rows: u16,
    pub columns: u16,
    pub components: u8,
    /// Lossless process (SOF3, SOF7, SOF11, SOF15) or JPEG-LS.
    pub lossless: bool,
    /// JPEG-LS interleave mode of the first scan (0 none, 1 line, 2 sample).
    pub interleave: u8,
}

/// Reads the SOF and first SOS marker segments of a JPEG or JPEG-LS codestream.
pub(crate) fn read_jpeg_header(data: &[u8]) -> Result<JpegInfo, String> {
    if data.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err("codestream does not start with a JPEG SOI marker".to_owned());
    }
    let mut pos = 2;
    let mut info: Option<JpegInfo> = None;
    loop {
        // Skip fill bytes before the marker code.
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) else {
            return Err(format!("no JPEG marker at byte {pos}"));
        };
        pos += 2;
        if matches!(marker, 0xD0..=0xD7 | 0x01) {
            continue;
        }
        if marker == 0xD9 {
            return Err("codestream ends before its first scan".to_owned());
        }
        let length = match data.get(pos..pos + 2) {
            Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            None => return Err("codestream ends inside a marker segment".to_owned()),
        };
        let segment = data
            .get(pos + 2..pos + length.max(2))
            .ok_or("codestream ends inside a marker segment")?;
        pos += length;
        match marker {
            // SOF markers (not DHT C4, JPG C8, DAC CC), and JPEG-LS SOF55 (F7).
            0xC0..=0xCF | 0xF7 if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let [precision, r0, r1, c0, c1, components, ..] = *segment else {
                    return Err("frame header is too short".to_owned());
                };
                info = Some(JpegInfo {
                    precision,
                    rows: u16::from_be_bytes([r0, r1]),
                    columns: u16::from_be_bytes([c0, c1]),
                    components,
                    lossless: matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF | 0xF7),
                    interleave: 0,
                });
            }
            0xDA => {
                let mut frame = info.ok_or("scan before any frame header")?;
                let scan_components = usize::from(*segment.first().ok_or("empty scan header")?);
                // Ns, Ns × (Cs, Td/Ta), Ss (NEAR), Se (ILV), Ah/Al.
                frame.interleave = segment
                    .get(1 + 2 * scan_components + 1)
                    .copied()
                    .unwrap_or(0);
                if scan_components > 1 && frame.interleave == 0 {
                    // A multi-component scan is interleaved in any case.
                    frame.interleave = 1;
                }
                return Ok(frame);
            }
            _ => {}
        }
    }
}

fn check_geometry(header: &ImageHeader, info: &JpegInfo) -> Result<(), String> {
    if info.rows != header.rows
        || info.columns != header.columns
        || u16::from(info.components) != header.samples_per_pixel
    {
        return Err(format!(
            "codestream is {}×{} with {} component(s), the attributes say {}×{} with {}",
            info.rows,
            info.columns,
            info.components,
            header.rows,
            header.columns,
            header.samples_per_pixel
        ));
    }
    if info.precision == 0 || info.precision > 16 {
        return Err(format!("codestream precision {}", info.precision));
    }
    Ok(())
}

/// The single-frame, single-fragment view of an instance that codec adapters read.
struct OneFrame<'a> {
    header: &'a ImageHeader,
    data: &'a Bytes,
}

impl PixelDataObject for OneFrame<'_> {
    fn transfer_syntax_uid(&self) -> &str {
        &self.header.transfer_syntax_uid
    }
    fn rows(&self) -> Option<u16> {
        Some(self.header.rows)
    }
    fn cols(&self) -> Option<u16> {
        Some(self.header.columns)
    }
    fn samples_per_pixel(&self) -> Option<u16> {
        Some(self.header.samples_per_pixel)
    }
    fn bits_allocated(&self) -> Option<u16> {
        Some(self.header.bits_allocated)
    }
    fn bits_stored(&self) -> Option<u16> {
        Some(self.header.bits_stored)
    }
    fn photometric_interpretation(&self) -> Option<&str> {
        Some(&self.header.photometric_interpretation)
    }
    fn number_of_frames(&self) -> Option<u32> {
        Some(1)
    }
    fn number_of_fragments(&self) -> Option<u32> {
        Some(1)
    }
    fn fragment(&self, fragment: usize) -> Option<Cow<'_, [u8]>> {
        (fragment == 0).then(|| Cow::Borrowed(&self.data[..]))
    }
    fn offset_table(&self) -> Option<Cow<'_, [u32]>> {
        Some(Cow::Borrowed(&[]))
    }
    fn raw_pixel_data(&self) -> Option<RawPixelData> {
        Some(RawPixelData {
            fragments: std::iter::once(self.data.to_vec()).collect(),
            offset_table: Default::default(),
        })
    }
}
