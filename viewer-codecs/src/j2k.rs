//! JPEG 2000 (1.2.840.10008.1.2.4.90, .4.91) and High-Throughput JPEG 2000
//! (.4.201, .4.202, .4.203) frames, through `dicom-toolkit-jpeg2000`, whose
//! HTJ2K path is a pure-Rust port of OpenJPH.
//!
//! The main header (SIZ, COD, COC) is read here first: the image size,
//! component count and precision are checked against the descriptor before
//! the decoder allocates anything, and the header says how the decoder
//! returns signed samples. Its Part 1 path applies the DC level shift of
//! unsigned data to every component, so signed samples come back offset by
//! 2^(precision−1); its HTJ2K path returns them in two's complement.

use dicom_toolkit_jpeg2000::{DecodeSettings, Image};

use crate::layout::{Layout, Samples};
use crate::{DecodeError, Pixels};

/// Start of codestream and image size markers, which begin every codestream.
const SOC_SIZ: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];
/// The JP2 signature box, for encoders that wrap the codestream in JP2.
const JP2_SIGNATURE: [u8; 12] = [
    0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
];

/// What the main header says about the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MainHeader {
    columns: usize,
    rows: usize,
    components: usize,
    precision: u16,
    signed: bool,
    high_throughput: bool,
    /// COD's multiple component transform flag (RCT or ICT on 3 components).
    component_transform: bool,
}

pub(crate) fn decode(layout: &Layout<'_>, data: &[u8]) -> Result<Pixels, DecodeError> {
    let header = main_header(layout, codestream(data)?)?;
    layout.expect_codec_shape(
        "JPEG 2000",
        header.columns,
        header.rows,
        header.components,
        header.precision,
    )?;
    if header.high_throughput && header.component_transform {
        // The HTJ2K path returns the transformed components (Y, Cb, Cr
        // level-shifted and clamped), not RGB, and the clamping loses what
        // an inverse transform here would need.
        return Err(layout.unsupported("HTJ2K with a multiple-component (colour) transform"));
    }
    let settings = DecodeSettings {
        resolve_palette_indices: false,
        ..DecodeSettings::default()
    };
    let corrupt =
        |e: dicom_toolkit_jpeg2000::DecodeError| DecodeError::Corrupt(format!("JPEG 2000: {e}"));
    let image = Image::new(data, &settings).map_err(corrupt)?;
    let raw = image.decode_native().map_err(corrupt)?;
    let shape = (
        raw.width as usize,
        raw.height as usize,
        usize::from(raw.num_components),
    );
    if shape != (header.columns, header.rows, header.components) {
        return Err(DecodeError::Mismatch(format!(
            "the JPEG 2000 stream decoded to {}×{}×{}, its header says {}×{}×{}",
            shape.0, shape.1, shape.2, header.columns, header.rows, header.components
        )));
    }
    let words: Vec<u16> = if raw.bytes_per_sample == 1 {
        raw.data.iter().map(|&b| u16::from(b)).collect()
    } else {
        raw.data
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    };
    let words = stored_words(words, &header, layout.bits_stored);
    if layout.is_colour() {
        let bytes = words.into_iter().map(|w| w as u8).collect();
        // YBR_RCT and YBR_ICT were inverted by the decoder's component
        // transform, so only YBR_FULL data is still YBR after decoding.
        let model = layout.stored_colour_model();
        return layout.colour(bytes, model);
    }
    layout.monochrome(Samples::U16(words))
}

/// The decoder's sample words as the stored bit patterns (two's complement
/// for signed data), which [`Layout::monochrome`] masks and sign-extends.
///
/// Lossy reconstruction over- and undershoots at hard edges (a padding
/// value next to air), and the decoder hands back the raw result: an
/// undershoot comes back as a wrapped word. Values are clamped to the
/// range `bits_stored` allows, as the reference decoders do; lossless data
/// is always inside it. (Encoders may code 12-bit data at 16 bits of
/// precision, so the stored range is the one that matters.)
fn stored_words(mut words: Vec<u16>, header: &MainHeader, bits_stored: u16) -> Vec<u16> {
    let bits = bits_stored.clamp(1, 16);
    if header.signed && !header.high_throughput {
        // Part 1 returns the level-shifted value: value + 2^(precision-1).
        // Below 16 bits of precision an undershoot wraps past zero.
        let offset = 1i32 << (header.precision - 1);
        let wide = header.precision >= 16;
        let (lo, hi) = (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1);
        words.iter_mut().for_each(|w| {
            let shifted = if wide {
                i32::from(*w)
            } else {
                i32::from(*w as i16)
            };
            *w = (shifted - offset).clamp(lo, hi) as i16 as u16;
        });
    } else if header.signed && header.precision <= 8 {
        // One byte of two's complement: widen with its sign.
        words
            .iter_mut()
            .for_each(|w| *w = (*w as u8 as i8) as i16 as u16);
    } else if !header.signed && bits < 16 {
        let max = (1u16 << bits) - 1;
        words.iter_mut().for_each(|w| {
            *w = if *w >= 0x8000 { 0 } else { (*w).min(max) };
        });
    }
    words
}

/// The codestream itself: the data, or the contents of the JP2 `jp2c` box.
fn codestream(data: &[u8]) -> Result<&[u8], DecodeError> {
    if data.starts_with(&SOC_SIZ) {
        return Ok(data);
    }
    if !data.starts_with(&JP2_SIGNATURE) {
        return Err(DecodeError::Corrupt(
            "JPEG 2000: the frame starts with neither a codestream (SOC, SIZ) nor a JP2 signature"
                .into(),
        ));
    }
    let mut pos = 0;
    while let Some(head) = data.get(pos..pos + 8) {
        let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        let (header_len, length) = match length {
            0 => (8, data.len() - pos),
            1 => {
                let large = data.get(pos + 8..pos + 16).ok_or_else(|| {
                    DecodeError::Corrupt("JPEG 2000: a JP2 box header is cut off".into())
                })?;
                let mut be = [0u8; 8];
                be.copy_from_slice(large);
                (
                    16,
                    usize::try_from(u64::from_be_bytes(be)).unwrap_or(usize::MAX),
                )
            }
            n => (8, n),
        };
        if length < header_len {
            break;
        }
        if kind == b"jp2c" {
            let end = pos.saturating_add(length).min(data.len());
            return Ok(&data[pos + header_len..end]);
        }
        pos = pos.saturating_add(length);
    }
    Err(DecodeError::Corrupt(
        "JPEG 2000: the JP2 file has no codestream box".into(),
    ))
}

/// Reads SIZ and the main header's COD and COC segments.
fn main_header(layout: &Layout<'_>, cs: &[u8]) -> Result<MainHeader, DecodeError> {
    let corrupt = |m: &str| DecodeError::Corrupt(format!("JPEG 2000: {m}"));
    if !cs.starts_with(&SOC_SIZ) {
        return Err(corrupt("the codestream does not start with SOC and SIZ"));
    }
    let siz_len = be16(cs, 4).ok_or_else(|| corrupt("the SIZ segment is cut off"))?;
    let siz = cs
        .get(6..4 + siz_len)
        .filter(|s| s.len() >= 36)
        .ok_or_else(|| corrupt("the SIZ segment is cut off"))?;
    let word = |i: usize| u32::from_be_bytes([siz[i], siz[i + 1], siz[i + 2], siz[i + 3]]);
    let (xsiz, ysiz, x_origin, y_origin) = (word(2), word(6), word(10), word(14));
    let columns = xsiz
        .checked_sub(x_origin)
        .filter(|&c| c > 0)
        .ok_or_else(|| corrupt("the image area in SIZ is empty"))?;
    let rows = ysiz
        .checked_sub(y_origin)
        .filter(|&r| r > 0)
        .ok_or_else(|| corrupt("the image area in SIZ is empty"))?;
    let components = usize::from(u16::from_be_bytes([siz[34], siz[35]]));
    let ssiz = siz
        .get(36..36 + 3 * components)
        .ok_or_else(|| corrupt("SIZ lists fewer components than it declares"))?;
    let first = ssiz
        .first()
        .copied()
        .ok_or_else(|| corrupt("SIZ declares no component"))?;
    if ssiz.chunks_exact(3).any(|c| c[0] != first) {
        return Err(layout.unsupported("JPEG 2000 components of different precision"));
    }
    let mut high_throughput = false;
    let mut component_transform = false;
    let mut pos = 4 + siz_len;
    // The main header runs from SIZ to the first tile-part (SOT).
    while let (Some(marker), Some(length)) = (be16(cs, pos), be16(cs, pos + 2)) {
        if marker == 0xFF90 || length < 2 {
            break;
        }
        let segment = cs.get(pos + 4..pos + 2 + length).unwrap_or(&[]);
        let style = match marker {
            0xFF52 => segment.get(8),
            0xFF53 => segment.get(if components < 257 { 5 } else { 6 }),
            _ => None,
        };
        high_throughput |= style.is_some_and(|s| s & 0x40 != 0);
        if marker == 0xFF52 {
            component_transform = segment.get(4).is_some_and(|&mct| mct != 0);
        }
        pos += 2 + length;
    }
    Ok(MainHeader {
        columns: columns as usize,
        rows: rows as usize,
        components,
        precision: u16::from(first & 0x7F) + 1,
        signed: first & 0x80 != 0,
        high_throughput,
        component_transform,
    })
}

fn be16(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 2)?;
    Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FrameDescriptor;

    /// SOC, SIZ for `components` components of `ssiz`, then a COD whose
    /// code-block style is `style`, then SOT.
    fn header(columns: u32, rows: u32, components: u16, ssiz: u8, style: u8) -> Vec<u8> {
        let mut s = SOC_SIZ.to_vec();
        s.extend_from_slice(&(38 + 3 * components).to_be_bytes());
        s.extend_from_slice(&0u16.to_be_bytes()); // Rsiz
        for v in [columns + 5, rows + 7, 5, 7, columns, rows, 0, 0] {
            s.extend_from_slice(&v.to_be_bytes());
        }
        s.extend_from_slice(&components.to_be_bytes());
        for _ in 0..components {
            s.extend_from_slice(&[ssiz, 1, 1]);
        }
        s.extend_from_slice(&[0xFF, 0x52, 0, 12, 0, 0, 0, 1, 1, 5, 4, 4, style, 1]);
        s.extend_from_slice(&[0xFF, 0x90, 0, 10]);
        s
    }

    fn layout_for(descriptor: &FrameDescriptor) -> Layout<'_> {
        Layout::check("1.2.840.10008.1.2.4.90", descriptor).unwrap()
    }

    fn grey(columns: u16, rows: u16, signed: bool) -> FrameDescriptor {
        FrameDescriptor {
            rows,
            columns,
            samples_per_pixel: 1,
            bits_allocated: 16,
            bits_stored: 12,
            pixel_representation: u16::from(signed),
            photometric: "MONOCHROME2".into(),
            planar_configuration: 0,
        }
    }

    #[test]
    fn the_main_header_gives_size_precision_sign_and_block_coder() {
        let d = grey(128, 96, true);
        // Ssiz 0x8B: signed, 12 bits. Origin offsets 5 and 7 are subtracted.
        let h = main_header(&layout_for(&d), &header(128, 96, 1, 0x8B, 0x40)).unwrap();
        assert_eq!(
            h,
            MainHeader {
                columns: 128,
                rows: 96,
                components: 1,
                precision: 12,
                signed: true,
                high_throughput: true,
                component_transform: true
            }
        );
        let h = main_header(&layout_for(&d), &header(128, 96, 1, 0x0F, 0)).unwrap();
        assert_eq!(
            (h.precision, h.signed, h.high_throughput),
            (16, false, false)
        );
    }

    #[test]
    fn signed_samples_are_recovered_from_either_decoder_path() {
        let signed_part1 = MainHeader {
            columns: 3,
            rows: 1,
            components: 1,
            precision: 12,
            signed: true,
            high_throughput: false,
            component_transform: false,
        };
        // Part 1 returns value + 2048: 0 is -2048, 2047 is -1, 4095 is 2047;
        // an undershoot (a wrapped word) and an overshoot are clamped.
        assert_eq!(
            stored_words(vec![0, 2047, 4095, 0xFFF0, 4200], &signed_part1, 12),
            [
                (-2048i16) as u16,
                (-1i16) as u16,
                2047,
                (-2048i16) as u16,
                2047
            ]
        );
        let signed_ht8 = MainHeader {
            precision: 8,
            high_throughput: true,
            ..signed_part1
        };
        // HTJ2K returns one byte of two's complement for 8-bit samples.
        assert_eq!(
            stored_words(vec![0xFF, 0x80, 0x7F], &signed_ht8, 8),
            [(-1i16) as u16, (-128i16) as u16, 127]
        );
    }

    #[test]
    fn unsigned_lossy_overshoots_are_clamped_to_the_stored_range() {
        let unsigned_16 = MainHeader {
            columns: 4,
            rows: 1,
            components: 1,
            precision: 16,
            signed: false,
            high_throughput: false,
            component_transform: false,
        };
        // 12 bits stored, coded at 16: -1 came back as 0xFFFF.
        assert_eq!(
            stored_words(vec![0xFFFF, 4096, 4095, 7], &unsigned_16, 12),
            [0, 4095, 4095, 7]
        );
        assert_eq!(
            stored_words(vec![0xFFFF, 7], &unsigned_16, 16),
            [0xFFFF, 7],
            "all 16 bits are values"
        );
    }

    #[test]
    fn disagreeing_or_broken_headers_are_errors() {
        let d = grey(128, 96, false);
        let ts = "1.2.840.10008.1.2.4.90";
        let run = |s: &[u8]| crate::decode(ts, s, &d);
        assert!(matches!(
            run(&header(96, 128, 1, 0x0B, 0)),
            Err(DecodeError::Mismatch(_))
        ));
        assert!(matches!(
            run(&header(128, 96, 3, 0x07, 0)),
            Err(DecodeError::Mismatch(_))
        ));
        assert!(matches!(
            run(&header(128, 96, 1, 0x10, 0)),
            Err(DecodeError::Mismatch(_))
        ));
        assert!(matches!(
            run(&header(128, 96, 1, 0x0B, 0)[..20]),
            Err(DecodeError::Corrupt(_))
        ));
        assert!(matches!(
            run(b"not a codestream"),
            Err(DecodeError::Corrupt(_))
        ));
        // A matching header with no tile data.
        assert!(matches!(
            run(&header(128, 96, 1, 0x0B, 0)),
            Err(DecodeError::Corrupt(_))
        ));
    }

    #[test]
    fn a_jp2_wrapper_is_looked_into() {
        let cs = header(128, 96, 1, 0x0B, 0);
        let mut jp2 = JP2_SIGNATURE.to_vec();
        jp2.extend_from_slice(&[0, 0, 0, 20, b'f', b't', b'y', b'p']);
        jp2.extend_from_slice(&[0; 12]);
        jp2.extend_from_slice(&(8 + cs.len() as u32).to_be_bytes());
        jp2.extend_from_slice(b"jp2c");
        jp2.extend_from_slice(&cs);
        assert_eq!(codestream(&jp2).unwrap(), &cs[..]);
        assert!(codestream(&jp2[..30]).is_err());
    }
}
