//! RLE Lossless (1.2.840.10008.1.2.5), PS3.5 Annex G.
//!
//! A frame is a 64-byte header (the segment count and 15 segment offsets,
//! little-endian u32) followed by PackBits-coded segments, one per byte of
//! each sample: for 16-bit grey the most significant bytes of all pixels,
//! then the least significant; for RGB the red, green and blue planes.
//!
//! The header is checked against the descriptor and the data length before
//! any output is allocated, and no segment may decode to more or fewer
//! bytes than the frame has pixels.

use crate::layout::{Layout, Samples};
use crate::{DecodeError, Pixels};

const HEADER_LEN: usize = 64;
const MAX_SEGMENTS: usize = 15;
/// The most one PackBits byte pair can produce: a replicate run of 128.
const MAX_EXPANSION_PER_PAIR: usize = 128;

pub(crate) fn decode(layout: &Layout<'_>, data: &[u8]) -> Result<Pixels, DecodeError> {
    let bytes_per_sample = usize::from(layout.bits_allocated / 8);
    let expected_segments = layout.samples_per_pixel * bytes_per_sample;
    let segments = segment_ranges(data, expected_segments)?;
    let plane_len = layout.pixels();
    for (index, range) in segments.iter().enumerate() {
        let capacity = (range.len() / 2 + 1) * MAX_EXPANSION_PER_PAIR;
        if capacity < plane_len {
            return Err(DecodeError::Mismatch(format!(
                "RLE segment {} has {} bytes, too few for the {plane_len} bytes \
                 a {}×{} frame needs",
                index + 1,
                range.len(),
                layout.columns,
                layout.rows
            )));
        }
    }
    let mut planes = Vec::with_capacity(plane_len * segments.len());
    for (index, range) in segments.into_iter().enumerate() {
        unpack_segment(&data[range], plane_len, &mut planes)
            .map_err(|e| e.in_segment(index + 1))?;
    }
    if layout.is_colour() {
        let interleaved = crate::colour::interleave_planes(&planes, plane_len);
        return layout.colour(interleaved, layout.stored_colour_model());
    }
    let words = if bytes_per_sample == 1 {
        Samples::U8(planes)
    } else {
        let (high, low) = planes.split_at(plane_len);
        Samples::U16(
            high.iter()
                .zip(low)
                .map(|(&h, &l)| u16::from_be_bytes([h, l]))
                .collect(),
        )
    };
    layout.monochrome(words)
}

/// The byte ranges of the segments, validated: the count is what the
/// descriptor implies, offsets start past the header, increase strictly and
/// stay within the data.
fn segment_ranges(
    data: &[u8],
    expected: usize,
) -> Result<Vec<std::ops::Range<usize>>, DecodeError> {
    if data.len() < HEADER_LEN {
        return Err(DecodeError::Corrupt(format!(
            "an RLE frame starts with a {HEADER_LEN}-byte header; this one has {} bytes",
            data.len()
        )));
    }
    let word = |i: usize| {
        let b = &data[i * 4..i * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    };
    let count = word(0);
    if count == 0 || count > MAX_SEGMENTS {
        return Err(DecodeError::Corrupt(format!(
            "the RLE header declares {count} segments; 1 to {MAX_SEGMENTS} are possible"
        )));
    }
    if count != expected {
        return Err(DecodeError::Mismatch(format!(
            "the RLE frame has {count} segments, the image attributes imply {expected} \
             (one per byte of each sample)"
        )));
    }
    let offsets: Vec<usize> = (1..=count).map(word).collect();
    let mut ranges = Vec::with_capacity(count);
    for (i, &start) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).copied().unwrap_or(data.len());
        if start < HEADER_LEN || start >= end || end > data.len() {
            return Err(DecodeError::Corrupt(format!(
                "RLE segment {} spans bytes {start}..{end} of a {}-byte frame; segments must \
                 follow the header in increasing order",
                i + 1,
                data.len()
            )));
        }
        ranges.push(start..end);
    }
    Ok(ranges)
}

/// Why one segment failed; [`SegmentError::in_segment`] names it.
#[derive(Debug, PartialEq, Eq)]
enum SegmentError {
    Short { produced: usize, wanted: usize },
    Long { wanted: usize },
    Truncated { at: usize },
}

impl SegmentError {
    fn in_segment(self, segment: usize) -> DecodeError {
        match self {
            SegmentError::Short { produced, wanted } => DecodeError::Corrupt(format!(
                "RLE segment {segment} ends after {produced} of its {wanted} bytes"
            )),
            SegmentError::Long { wanted } => DecodeError::Mismatch(format!(
                "RLE segment {segment} decodes to more than the {wanted} bytes the image \
                 attributes imply"
            )),
            SegmentError::Truncated { at } => DecodeError::Corrupt(format!(
                "RLE segment {segment} is cut off inside the run that starts at byte {at}"
            )),
        }
    }
}

/// PackBits: a header byte `n` in 0..=127 copies the next `n + 1` bytes, in
/// −127..=−1 repeats the next byte `1 − n` times, and −128 does nothing.
/// Appends exactly `wanted` bytes to `out`; bytes after those (encoders pad
/// segments to even length) are ignored.
fn unpack_segment(segment: &[u8], wanted: usize, out: &mut Vec<u8>) -> Result<(), SegmentError> {
    let end = out.len() + wanted;
    let mut pos = 0;
    while out.len() < end && pos < segment.len() {
        let header = segment[pos] as i8;
        let run_start = pos;
        pos += 1;
        match header {
            0..=127 => {
                let count = header as usize + 1;
                let literal = segment
                    .get(pos..pos + count)
                    .ok_or(SegmentError::Truncated { at: run_start })?;
                if out.len() + count > end {
                    return Err(SegmentError::Long { wanted });
                }
                out.extend_from_slice(literal);
                pos += count;
            }
            -127..=-1 => {
                let count = (1 - i16::from(header)) as usize;
                let &value = segment
                    .get(pos)
                    .ok_or(SegmentError::Truncated { at: run_start })?;
                if out.len() + count > end {
                    return Err(SegmentError::Long { wanted });
                }
                out.resize(out.len() + count, value);
                pos += 1;
            }
            -128 => {}
        }
    }
    if out.len() < end {
        return Err(SegmentError::Short {
            produced: wanted - (end - out.len()),
            wanted,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FrameDescriptor, decode as decode_frame};

    const RLE: &str = "1.2.840.10008.1.2.5";

    /// A frame from segments: the header, then the segments back to back.
    fn frame(segments: &[&[u8]]) -> Vec<u8> {
        let mut header = vec![0u8; HEADER_LEN];
        header[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
        let mut offset = HEADER_LEN as u32;
        for (i, s) in segments.iter().enumerate() {
            header[4 + i * 4..8 + i * 4].copy_from_slice(&offset.to_le_bytes());
            offset += s.len() as u32;
        }
        let mut out = header;
        for s in segments {
            out.extend_from_slice(s);
        }
        out
    }

    fn descriptor(columns: u16, bits: u16, signed: bool, photometric: &str) -> FrameDescriptor {
        FrameDescriptor {
            rows: 1,
            columns,
            samples_per_pixel: if photometric.starts_with("MONO") {
                1
            } else {
                3
            },
            bits_allocated: bits,
            bits_stored: bits,
            pixel_representation: u16::from(signed),
            photometric: photometric.into(),
            planar_configuration: 0,
        }
    }

    #[test]
    fn packbits_literals_runs_and_no_ops() {
        // 0x02: copy 3 literal bytes; 0xFD (−3): repeat 7 four times;
        // 0x80 (−128): nothing; 0x00: copy 1 byte; then a pad byte.
        let segment = [0x02, 1, 2, 3, 0xFD, 7, 0x80, 0x00, 9, 0x00];
        let mut out = Vec::new();
        unpack_segment(&segment, 8, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 7, 7, 7, 7, 9]);
    }

    #[test]
    fn sixteen_bit_grey_takes_high_bytes_first() {
        // Two pixels: 0x0102 and 0xFFFE (−2 signed). High bytes segment:
        // literal [0x01, 0xFF]; low bytes segment: literal [0x02, 0xFE].
        let data = frame(&[&[0x01, 0x01, 0xFF], &[0x01, 0x02, 0xFE]]);
        assert_eq!(
            decode_frame(RLE, &data, &descriptor(2, 16, false, "MONOCHROME2")).unwrap(),
            Pixels::U16(vec![0x0102, 0xFFFE])
        );
        assert_eq!(
            decode_frame(RLE, &data, &descriptor(2, 16, true, "MONOCHROME2")).unwrap(),
            Pixels::I16(vec![0x0102, -2])
        );
    }

    #[test]
    fn colour_segments_are_planes() {
        // Three pixels of red (255, 0, 0) as runs: R plane 0xFE (−2) → 3×255,
        // G and B planes 3×0.
        let data = frame(&[&[0xFE, 255], &[0xFE, 0], &[0xFE, 0]]);
        assert_eq!(
            decode_frame(RLE, &data, &descriptor(3, 8, false, "RGB")).unwrap(),
            Pixels::Rgb8(vec![255, 0, 0, 255, 0, 0, 255, 0, 0])
        );
        // The same planes read as YBR_FULL (Y 255, Cb 0, Cr 0) convert:
        // R = 255 − 1.402·128 = 75.54 → 76,
        // G = 255 + .344136·128 + .714136·128 = 390.5 → 255, B = 255 − 226.8
        // = 28.2 → 28.
        assert_eq!(
            decode_frame(RLE, &data, &descriptor(3, 8, false, "YBR_FULL")).unwrap(),
            Pixels::Rgb8(vec![76, 255, 28, 76, 255, 28, 76, 255, 28])
        );
    }

    #[test]
    fn hostile_headers_are_errors() {
        let grey = descriptor(4, 8, false, "MONOCHROME2");
        let run = [0xFDu8, 5];
        let good = frame(&[&run]);
        assert_eq!(
            decode_frame(RLE, &good, &grey).unwrap(),
            Pixels::U8(vec![5; 4])
        );
        let corrupt = |data: &[u8]| match decode_frame(RLE, data, &grey) {
            Err(DecodeError::Corrupt(m)) => m,
            other => panic!("expected Corrupt, got {other:?}"),
        };
        // Shorter than the header.
        corrupt(&good[..63]);
        // Zero and sixteen segments.
        let mut bad = good.clone();
        bad[0] = 0;
        corrupt(&bad);
        bad[0] = 16;
        corrupt(&bad);
        // Offset inside the header, past the end, and not increasing.
        let mut bad = good.clone();
        bad[4] = 8;
        corrupt(&bad);
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        corrupt(&bad);
        let two = frame(&[&run, &run]);
        let mut bad = two.clone();
        bad[8..12].copy_from_slice(&64u32.to_le_bytes());
        assert!(matches!(
            decode_frame(RLE, &bad, &descriptor(4, 16, false, "MONOCHROME2")),
            Err(DecodeError::Corrupt(_))
        ));
        // Two segments where one is expected.
        assert!(matches!(
            decode_frame(RLE, &two, &grey),
            Err(DecodeError::Mismatch(_))
        ));
    }

    #[test]
    fn truncated_and_overlong_segments_are_errors() {
        let grey = descriptor(4, 8, false, "MONOCHROME2");
        // A literal of 4 bytes with only 2 present.
        let m = match decode_frame(RLE, &frame(&[&[0x03, 1, 2]]), &grey) {
            Err(DecodeError::Corrupt(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(m.contains("segment 1"), "{m}");
        // A replicate run missing its value byte.
        assert!(matches!(
            decode_frame(RLE, &frame(&[&[0x00, 1, 0xFE]]), &grey),
            Err(DecodeError::Corrupt(_))
        ));
        // Complete runs that stop short of 4 pixels.
        assert!(matches!(
            decode_frame(RLE, &frame(&[&[0xFF, 1, 0x80]]), &grey),
            Err(DecodeError::Corrupt(_))
        ));
        // A run of 6 where 4 pixels remain.
        assert!(matches!(
            decode_frame(RLE, &frame(&[&[0xFB, 1]]), &grey),
            Err(DecodeError::Mismatch(_))
        ));
    }

    #[test]
    fn a_segment_too_small_for_the_frame_is_refused_before_allocating() {
        let mut huge = descriptor(1, 16, false, "MONOCHROME2");
        huge.rows = 16384;
        huge.columns = 16384;
        let data = frame(&[&[0x81, 0], &[0x81, 0]]);
        assert!(matches!(
            decode_frame(RLE, &data, &huge),
            Err(DecodeError::Mismatch(_))
        ));
    }
}
