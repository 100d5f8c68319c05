//! Frames as stored, frames decoded, and the native little-endian form `/frames` serves.

use bytes::Bytes;

use super::header::{EXPLICIT_VR_BIG_ENDIAN, ImageHeader, Photometric};
use super::{RenderError, codec};

/// One frame as stored.
#[derive(Debug, Clone)]
pub enum FrameData {
    /// Exactly one native frame, in the stored byte order: big endian when the
    /// transfer syntax is Explicit VR Big Endian (8-bit samples there are taken
    /// as OB, i.e. not swapped). Trailing bytes beyond the frame are ignored.
    Native(Bytes),
    /// The frame's fragments, item headers stripped, in order.
    Encapsulated(Vec<Bytes>),
}

/// Sample words of a decoded frame, in host order, exactly as stored: bits
/// outside BitsStored are kept (they are masked when values are read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    /// BitsAllocated 8, or BitsAllocated 1 unpacked to one 0/1 value per pixel.
    U8(Vec<u8>),
    /// BitsAllocated 16.
    U16(Vec<u16>),
}

impl Samples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A decoded frame: colour samples interleaved (R G B R G B…), one frame only.
///
/// The photometric interpretation is that of the decoded samples: the stored
/// one, except that codecs which convert colour (lossy JPEG, JPEG 2000 with a
/// colour transform) yield `RGB`, and native `YBR_FULL_422` is upsampled to
/// `YBR_FULL`.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFrame {
    pub(crate) rows: u16,
    pub(crate) columns: u16,
    pub(crate) samples_per_pixel: u16,
    pub(crate) bits_allocated: u16,
    pub(crate) bits_stored: u16,
    pub(crate) high_bit: u16,
    pub(crate) signed: bool,
    pub(crate) photometric: Photometric,
    pub(crate) samples: Samples,
}

impl DecodedFrame {
    /// Rows.
    pub fn rows(&self) -> u16 {
        self.rows
    }
    /// Columns.
    pub fn columns(&self) -> u16 {
        self.columns
    }
    /// Samples per pixel: 1 or 3.
    pub fn samples_per_pixel(&self) -> u16 {
        self.samples_per_pixel
    }
    /// Bits allocated per sample: 1, 8 or 16.
    pub fn bits_allocated(&self) -> u16 {
        self.bits_allocated
    }
    /// Bits stored per sample.
    pub fn bits_stored(&self) -> u16 {
        self.bits_stored
    }
    /// High bit.
    pub fn high_bit(&self) -> u16 {
        self.high_bit
    }
    /// Whether samples are two's complement.
    pub fn is_signed(&self) -> bool {
        self.signed
    }
    /// Photometric interpretation of the decoded samples (see the type's doc).
    pub fn photometric(&self) -> &Photometric {
        &self.photometric
    }
    /// The sample words, interleaved.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// The stored value of sample `index`: masked to BitsStored, shifted down
    /// from HighBit and sign-extended when signed. `None` past the end.
    pub fn stored_value(&self, index: usize) -> Option<i32> {
        let word = match &self.samples {
            Samples::U8(v) => u32::from(*v.get(index)?),
            Samples::U16(v) => u32::from(*v.get(index)?),
        };
        Some(StoredBits::of(self).value(word))
    }

    /// Pixel bytes for an uncompressed `/frames` response: little endian,
    /// BitsAllocated as decoded (1-bit packed least significant bit first,
    /// 8, or 16), colour interleaved (planar configuration 0), in this frame's
    /// photometric interpretation.
    pub fn to_native_little_endian(&self) -> Vec<u8> {
        match &self.samples {
            Samples::U8(v) if self.bits_allocated == 1 => {
                let mut out = vec![0u8; v.len().div_ceil(8)];
                for (i, &bit) in v.iter().enumerate() {
                    out[i / 8] |= (bit & 1) << (i % 8);
                }
                out
            }
            Samples::U8(v) => v.clone(),
            Samples::U16(v) => v.iter().flat_map(|w| w.to_le_bytes()).collect(),
        }
    }
}

/// Pixel bytes for an uncompressed `/frames` response; see
/// [`DecodedFrame::to_native_little_endian`]. The header is not needed: the
/// decoded frame carries its own layout.
pub fn native_little_endian(frame: &DecodedFrame) -> Vec<u8> {
    frame.to_native_little_endian()
}

/// How to turn a sample word into a stored value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredBits {
    pub shift: u32,
    pub bits: u32,
    pub signed: bool,
}

impl StoredBits {
    pub fn of(frame: &DecodedFrame) -> Self {
        let bits = u32::from(frame.bits_stored.clamp(1, 16));
        let shift = u32::from((frame.high_bit + 1).saturating_sub(frame.bits_stored));
        StoredBits {
            shift: shift.min(16 - bits),
            bits,
            signed: frame.signed,
        }
    }

    /// The word's stored bits, unsigned, in `0..2^bits`: the index into a lookup table.
    #[inline]
    pub fn index(self, word: u32) -> usize {
        ((word >> self.shift) & ((1u32 << self.bits) - 1)) as usize
    }

    /// The stored value of an index from [`Self::index`].
    #[inline]
    pub fn value_of_index(self, index: usize) -> i32 {
        let v = index as i32;
        if self.signed && self.bits < 32 && v >= (1 << (self.bits - 1)) {
            v - (1 << self.bits)
        } else {
            v
        }
    }

    #[inline]
    pub fn value(self, word: u32) -> i32 {
        self.value_of_index(self.index(word))
    }
}

/// Decodes one frame: native frames are read in their byte order,
/// encapsulated ones go through the transfer syntax's codec.
pub fn decode_frame(header: &ImageHeader, frame: FrameData) -> Result<DecodedFrame, RenderError> {
    header.validate()?;
    let uid = header.transfer_syntax_uid.trim_end_matches(['\0', ' ']);
    let kind = codec::kind_of(uid)?;
    match (kind, frame) {
        (codec::Kind::Native, FrameData::Native(bytes)) => {
            decode_native(header, &bytes, uid == EXPLICIT_VR_BIG_ENDIAN)
        }
        (codec::Kind::EncapsulatedUncompressed, FrameData::Encapsulated(fragments)) => {
            decode_native(header, &concat(&fragments)?, false)
        }
        (codec::Kind::Compressed(ts), FrameData::Encapsulated(fragments)) => {
            codec::decode_compressed(header, ts, &concat(&fragments)?)
        }
        (codec::Kind::Native, FrameData::Encapsulated(_)) => Err(RenderError::FrameKindMismatch {
            uid: uid.to_owned(),
            expected: "native",
            given: "encapsulated fragments",
        }),
        (_, FrameData::Native(_)) => Err(RenderError::FrameKindMismatch {
            uid: uid.to_owned(),
            expected: "encapsulated",
            given: "native frame bytes",
        }),
    }
}

/// The frame's fragments as one codestream (a frame may span fragments).
fn concat(fragments: &[Bytes]) -> Result<Bytes, RenderError> {
    let data = match fragments {
        [one] => one.clone(),
        many => Bytes::from(many.concat()),
    };
    if data.is_empty() {
        return Err(RenderError::EmptyFrame);
    }
    Ok(data)
}

/// A decoded frame around `samples`, with the header's layout and `photometric`.
pub(crate) fn frame_from(
    header: &ImageHeader,
    photometric: Photometric,
    samples: Samples,
) -> DecodedFrame {
    DecodedFrame {
        rows: header.rows,
        columns: header.columns,
        samples_per_pixel: header.samples_per_pixel,
        bits_allocated: header.bits_allocated,
        bits_stored: header.bits_stored,
        high_bit: header.high_bit,
        signed: header.pixel_representation == 1,
        photometric,
        samples,
    }
}

fn decode_native(
    header: &ImageHeader,
    data: &[u8],
    big_endian: bool,
) -> Result<DecodedFrame, RenderError> {
    let photometric = header.photometric();
    if header.bits_allocated == 1 {
        if big_endian {
            return Err(RenderError::UnsupportedPixelFormat(
                "BitsAllocated 1 in Explicit VR Big Endian".to_owned(),
            ));
        }
        let pixels = header.pixel_count();
        let needed = pixels.div_ceil(8);
        let packed = data.get(..needed).ok_or(RenderError::TruncatedFrame {
            expected: needed,
            actual: data.len(),
        })?;
        let bits = (0..pixels)
            .map(|i| (packed[i / 8] >> (i % 8)) & 1)
            .collect();
        return Ok(frame_from(header, photometric, Samples::U8(bits)));
    }

    // YBR_FULL_422 native frames hold two luma samples per chroma pair.
    let subsampled = photometric == Photometric::YbrFull422;
    if subsampled && (!header.columns.is_multiple_of(2) || header.bits_allocated != 8) {
        return Err(RenderError::UnsupportedPixelFormat(format!(
            "native YBR_FULL_422 with {} columns and BitsAllocated {}",
            header.columns, header.bits_allocated
        )));
    }
    let stored_samples = if subsampled {
        header.pixel_count() * 2
    } else {
        header.sample_count()
    };
    let bytes_per_sample = usize::from(header.bits_allocated / 8);
    let needed = stored_samples * bytes_per_sample;
    let data = data.get(..needed).ok_or(RenderError::TruncatedFrame {
        expected: needed,
        actual: data.len(),
    })?;

    let samples = match (header.bits_allocated, big_endian) {
        (8, _) => Samples::U8(data.to_vec()),
        (_, false) => Samples::U16(
            data.chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect(),
        ),
        (_, true) => Samples::U16(
            data.chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect(),
        ),
    };
    let samples = if subsampled {
        upsample_ybr_422(&samples)
    } else if header.samples_per_pixel == 3 && header.planar_configuration == 1 {
        interleave_planes(samples, header.pixel_count())
    } else {
        samples
    };
    let photometric = if subsampled {
        Photometric::YbrFull
    } else {
        photometric
    };
    Ok(frame_from(header, photometric, samples))
}

/// Y1 Y2 Cb Cr per pixel pair → Y Cb Cr per pixel.
fn upsample_ybr_422(samples: &Samples) -> Samples {
    let Samples::U8(v) = samples else {
        return samples.clone();
    };
    let mut out = Vec::with_capacity(v.len() / 4 * 6);
    for quad in v.chunks_exact(4) {
        out.extend_from_slice(&[quad[0], quad[2], quad[3], quad[1], quad[2], quad[3]]);
    }
    Samples::U8(out)
}

/// RRR…GGG…BBB… → RGBRGB…
pub(crate) fn interleave_planes(samples: Samples, pixels: usize) -> Samples {
    fn interleave<T: Copy + Default>(planes: &[T], pixels: usize) -> Vec<T> {
        let mut out = vec![T::default(); pixels * 3];
        for (plane_index, plane) in planes.chunks_exact(pixels).take(3).enumerate() {
            for (i, &s) in plane.iter().enumerate() {
                out[i * 3 + plane_index] = s;
            }
        }
        out
    }
    match samples {
        Samples::U8(v) => Samples::U8(interleave(&v, pixels)),
        Samples::U16(v) => Samples::U16(interleave(&v, pixels)),
    }
}
