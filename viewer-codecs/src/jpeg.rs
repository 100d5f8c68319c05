//! JPEG (ISO/IEC 10918-1) frames: baseline (1.2.840.10008.1.2.4.50),
//! extended (.4.51) and lossless (.4.57, .4.70).
//!
//! The frame header is read here first, so that its size, component count
//! and precision are checked against the descriptor before a decoder
//! allocates anything. Then:
//! - 8-bit DCT (baseline, extended, progressive) and lossless of any
//!   precision go to `jpeg-decoder` (without its thread pool);
//! - 12-bit DCT, which `jpeg-decoder` refuses, goes to `libjpeg-turbo-rs`.
//!
//! Colour: lossy streams of a `YBR_FULL`/`YBR_FULL_422` image are YCbCr and
//! the decoder converts them; an `RGB` image is taken to hold RGB (as dcmtk
//! does by default). Lossless streams are never converted by the decoder:
//! their samples are what the photometric interpretation says.

use jpeg_decoder::{ColorTransform, Decoder};

use crate::colour::ColourModel;
use crate::layout::{Layout, Photometric, Samples};
use crate::{DecodeError, Pixels};

/// The coding process a frame header (SOFn) declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Process {
    /// SOF0, SOF1, SOF2: Huffman-coded DCT, sequential or progressive.
    Dct,
    /// SOF3: Huffman-coded lossless.
    Lossless,
}

/// The parts of the frame header that are checked against the descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    process: Process,
    precision: u16,
    rows: usize,
    columns: usize,
    components: usize,
}

pub(crate) fn decode(layout: &Layout<'_>, data: &[u8]) -> Result<Pixels, DecodeError> {
    let header = frame_header(layout, data)?;
    layout.expect_codec_shape(
        "JPEG",
        header.columns,
        header.rows,
        header.components,
        header.precision,
    )?;
    match (header.process, header.precision) {
        (Process::Lossless, _) | (Process::Dct, 8) => with_jpeg_decoder(layout, data, header),
        (Process::Dct, 12) => twelve_bit(layout, data),
        (Process::Dct, p) => Err(DecodeError::Corrupt(format!(
            "a DCT-coded JPEG stream has {p}-bit samples; only 8 and 12 exist"
        ))),
    }
}

fn with_jpeg_decoder(
    layout: &Layout<'_>,
    data: &[u8],
    header: FrameHeader,
) -> Result<Pixels, DecodeError> {
    let mut decoder = Decoder::new(data);
    let lossless = header.process == Process::Lossless;
    let decoder_converts = !lossless
        && matches!(
            layout.photometric,
            Photometric::YbrFull | Photometric::YbrFull422
        );
    if layout.is_colour() && !lossless {
        // `ColorTransform::RGB` interleaves the components unchanged
        // (`ColorTransform::None` would leave each line's components one
        // after the other). Lossless streams are never converted.
        decoder.set_color_transform(if decoder_converts {
            ColorTransform::YCbCr
        } else {
            ColorTransform::RGB
        });
    }
    // The header matched the descriptor, so this only restates its size.
    decoder.set_max_decoding_buffer_size(layout.samples());
    let bytes = decoder
        .decode()
        .map_err(|e| DecodeError::Corrupt(format!("JPEG: {e}")))?;
    if layout.is_colour() {
        let model = if decoder_converts {
            ColourModel::Rgb
        } else {
            layout.stored_colour_model()
        };
        return layout.colour(bytes, model);
    }
    let words = if header.precision > 8 {
        // jpeg-decoder returns samples above 8 bits in native byte order.
        Samples::U16(
            bytes
                .chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect(),
        )
    } else {
        Samples::U8(bytes)
    };
    layout.monochrome(words)
}

fn twelve_bit(layout: &Layout<'_>, data: &[u8]) -> Result<Pixels, DecodeError> {
    if layout.is_colour() {
        return Err(layout.unsupported("12-bit colour JPEG"));
    }
    let limits = libjpeg_turbo_rs::DecodeLimits {
        max_width: layout.columns,
        max_height: layout.rows,
        max_pixels: layout.pixels() as u64,
        max_scans: 64,
        // Component plane plus result, two bytes a sample, and slack for
        // the block-aligned planes.
        max_memory: Some(layout.pixels() as u64 * 8 + (1 << 20)),
    };
    let image = libjpeg_turbo_rs::decompress_12bit_with_limits(data, &limits)
        .map_err(|e| DecodeError::Corrupt(format!("12-bit JPEG: {e}")))?;
    if image.num_components != 1 {
        return Err(DecodeError::Mismatch(format!(
            "the 12-bit JPEG stream decoded to {} components, the image is monochrome",
            image.num_components
        )));
    }
    let words = image.data.into_iter().map(|v| v as u16).collect();
    layout.monochrome(Samples::U16(words))
}

/// Reads the first frame header (SOFn) and refuses the processes no decoder
/// here implements.
fn frame_header(layout: &Layout<'_>, data: &[u8]) -> Result<FrameHeader, DecodeError> {
    let (marker, segment) =
        first_frame_segment(data).map_err(|m| DecodeError::Corrupt(format!("JPEG: {m}")))?;
    let process = match marker {
        0xC0..=0xC2 => Process::Dct,
        0xC3 => Process::Lossless,
        0xC5..=0xC7 => return Err(layout.unsupported("hierarchical JPEG")),
        0xF7 => return Err(DecodeError::Corrupt("a JPEG-LS stream, not JPEG".into())),
        _ => return Err(layout.unsupported("arithmetic-coded JPEG")),
    };
    if segment.len() < 6 {
        return Err(DecodeError::Corrupt(
            "JPEG: the frame header is too short".into(),
        ));
    }
    let rows = usize::from(u16::from_be_bytes([segment[1], segment[2]]));
    if rows == 0 {
        return Err(layout.unsupported("JPEG stream whose height is set by a DNL marker"));
    }
    Ok(FrameHeader {
        process,
        precision: u16::from(segment[0]),
        rows,
        columns: usize::from(u16::from_be_bytes([segment[3], segment[4]])),
        components: usize::from(segment[5]),
    })
}

/// Walks the marker segments of a JPEG or JPEG-LS stream (same syntax) up
/// to the first frame header: any SOFn of ISO/IEC 10918-1 or SOF55 of
/// JPEG-LS. Returns its marker code and its contents (after the length).
pub(crate) fn first_frame_segment(data: &[u8]) -> Result<(u8, &[u8]), String> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err("the stream does not start with an SOI marker".into());
    }
    let mut pos = 2;
    loop {
        if data.get(pos) != Some(&0xFF) {
            return Err(format!("expected a marker at byte {pos}"));
        }
        // Any number of 0xFF fill bytes may precede a marker code.
        while data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *data
            .get(pos + 1)
            .ok_or("the stream ends before a frame header")?;
        match marker {
            // Markers without a segment: TEM, RSTn.
            0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            0xD8..=0xDA => return Err("no frame header (SOF) before the scan".into()),
            _ => {}
        }
        let length = match data.get(pos + 2..pos + 4) {
            Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            None => return Err("the stream ends inside a marker segment".into()),
        };
        if length < 2 {
            return Err(format!("marker segment length {length} at byte {pos}"));
        }
        let segment = data
            .get(pos + 4..pos + 2 + length)
            .ok_or("the stream ends inside a marker segment")?;
        let is_frame_header = matches!(marker, 0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC))
            || marker == 0xF7;
        if is_frame_header {
            return Ok((marker, segment));
        }
        pos += 2 + length;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FrameDescriptor;

    fn grey(rows: u16, columns: u16, bits: u16) -> FrameDescriptor {
        FrameDescriptor {
            rows,
            columns,
            samples_per_pixel: 1,
            bits_allocated: if bits > 8 { 16 } else { 8 },
            bits_stored: bits,
            pixel_representation: 0,
            photometric: "MONOCHROME2".into(),
            planar_configuration: 0,
        }
    }

    /// SOI, an APP0 segment, fill bytes, then an SOFn with the given fields.
    fn stream(sof: u8, precision: u8, rows: u16, columns: u16, components: u8) -> Vec<u8> {
        let mut s = vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, b'x', b'y', 0xFF, 0xFF, sof,
        ];
        let length = 8 + 3 * u16::from(components);
        s.extend_from_slice(&length.to_be_bytes());
        s.push(precision);
        s.extend_from_slice(&rows.to_be_bytes());
        s.extend_from_slice(&columns.to_be_bytes());
        s.push(components);
        for c in 0..components {
            s.extend_from_slice(&[c + 1, 0x11, 0]);
        }
        s
    }

    #[test]
    fn the_frame_header_is_found_past_other_segments() {
        let desc = grey(96, 128, 12);
        let layout = Layout::check("1.2.840.10008.1.2.4.70", &desc).unwrap();
        assert_eq!(
            frame_header(&layout, &stream(0xC3, 12, 96, 128, 1)).unwrap(),
            FrameHeader {
                process: Process::Lossless,
                precision: 12,
                rows: 96,
                columns: 128,
                components: 1
            }
        );
    }

    #[test]
    fn header_disagreements_are_reported_before_decoding() {
        let desc = grey(96, 128, 8);
        let ts = "1.2.840.10008.1.2.4.50";
        let run = |s: &[u8]| crate::decode(ts, s, &desc);
        // Columns and rows swapped.
        assert!(matches!(
            run(&stream(0xC0, 8, 128, 96, 1)),
            Err(DecodeError::Mismatch(_))
        ));
        // Three components for a grey image.
        assert!(matches!(
            run(&stream(0xC0, 8, 96, 128, 3)),
            Err(DecodeError::Mismatch(_))
        ));
        // 12-bit samples in 8 allocated bits.
        assert!(matches!(
            run(&stream(0xC1, 12, 96, 128, 1)),
            Err(DecodeError::Mismatch(_))
        ));
        // Arithmetic coding and hierarchical streams: ask the server.
        assert!(
            run(&stream(0xC9, 8, 96, 128, 1))
                .unwrap_err()
                .needs_server_decoding()
        );
        assert!(
            run(&stream(0xC5, 8, 96, 128, 1))
                .unwrap_err()
                .needs_server_decoding()
        );
        // Not JPEG at all, and a header cut short.
        assert!(matches!(run(b"\x89PNG\r\n"), Err(DecodeError::Corrupt(_))));
        assert!(matches!(
            run(&stream(0xC0, 8, 96, 128, 1)[..12]),
            Err(DecodeError::Corrupt(_))
        ));
        // A header that matches, with no scan after it.
        assert!(matches!(
            run(&stream(0xC0, 8, 96, 128, 1)),
            Err(DecodeError::Corrupt(_))
        ));
    }

    #[test]
    fn a_huge_matching_header_without_data_fails_fast() {
        let desc = grey(16384, 16384, 12);
        for (ts, sof) in [
            ("1.2.840.10008.1.2.4.70", 0xC3),
            ("1.2.840.10008.1.2.4.51", 0xC1),
        ] {
            let started = std::time::Instant::now();
            let err = crate::decode(ts, &stream(sof, 12, 16384, 16384, 1), &desc).unwrap_err();
            assert!(matches!(err, DecodeError::Corrupt(_)), "{err}");
            assert!(
                started.elapsed().as_secs() < 2,
                "took {:?}",
                started.elapsed()
            );
        }
    }
}
