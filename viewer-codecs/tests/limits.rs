//! A frame's declared size must never turn a few bytes into a huge
//! allocation: descriptors beyond the limit are refused outright, and
//! within it every decoder checks the data before sizing anything from it.

use std::time::{Duration, Instant};

use viewer_codecs::{DecodeError, FrameDescriptor, MAX_FRAME_SAMPLES, can_decode, decode};

const EVERY_SYNTAX: [&str; 16] = [
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
];

/// Small buffers of each kind: nothing, zeros, an RLE header claiming one
/// segment, and the first bytes of a JPEG, a JPEG-LS and a JPEG 2000 stream.
const TINY: [&[u8]; 6] = [
    &[],
    &[0; 16],
    &[
        1, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0x81, 0,
    ],
    &[
        0xFF, 0xD8, 0xFF, 0xC3, 0, 11, 16, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x11, 0,
    ],
    &[
        0xFF, 0xD8, 0xFF, 0xF7, 0, 11, 16, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x11, 0,
    ],
    &[0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0],
];

fn grey(rows: u16, columns: u16) -> FrameDescriptor {
    FrameDescriptor {
        rows,
        columns,
        samples_per_pixel: 1,
        bits_allocated: 16,
        bits_stored: 16,
        pixel_representation: 0,
        photometric: "MONOCHROME2".into(),
        planar_configuration: 0,
    }
}

/// Decodes every tiny buffer in every syntax and requires an error, all of
/// it within a second (allocating and zeroing gigabytes would take longer).
fn assert_fails_fast(frame: &FrameDescriptor) -> Vec<DecodeError> {
    let started = Instant::now();
    let mut errors = Vec::new();
    for syntax in EVERY_SYNTAX {
        assert!(can_decode(syntax));
        for data in TINY {
            match decode(syntax, data, frame) {
                Ok(_) => panic!("{syntax}: {} bytes decoded to a huge frame", data.len()),
                Err(e) => errors.push(e),
            }
        }
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    errors
}

#[test]
fn the_largest_descriptor_with_a_tiny_buffer_fails_at_once() {
    let errors = assert_fails_fast(&grey(u16::MAX, u16::MAX));
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, DecodeError::TooLarge { .. })),
        "{errors:?}"
    );
}

#[test]
fn the_largest_allowed_frame_with_a_tiny_buffer_fails_at_once() {
    // 16384 × 16384 is exactly the limit, so each decoder's own checks run.
    assert_eq!(16384 * 16384, MAX_FRAME_SAMPLES);
    let errors = assert_fails_fast(&grey(16384, 16384));
    assert!(
        errors
            .iter()
            .all(|e| !matches!(e, DecodeError::TooLarge { .. })),
        "{errors:?}"
    );
}
