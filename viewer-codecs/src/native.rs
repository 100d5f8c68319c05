//! Uncompressed frames: little-endian native bytes as `/frames` sends them.

use crate::colour::{self, interleave_planes};
use crate::layout::{Layout, Photometric, Samples};
use crate::{DecodeError, Pixels};

/// Decodes one native frame. `data` must hold exactly the frame, or the
/// frame and one pad byte (odd-length frames are padded to even length).
pub(crate) fn decode(layout: &Layout<'_>, data: &[u8]) -> Result<Pixels, DecodeError> {
    let bytes_per_sample = usize::from(layout.bits_allocated / 8);
    let stored_422 = layout.photometric == Photometric::YbrFull422;
    if stored_422 && layout.columns % 2 == 1 {
        return Err(DecodeError::Descriptor(format!(
            "YBR_FULL_422 needs an even number of columns, not {}",
            layout.columns
        )));
    }
    // YBR_FULL_422 stores two samples per pixel on average (Y Y Cb Cr per pair).
    let expected = if stored_422 {
        layout.pixels() * 2
    } else {
        layout.samples() * bytes_per_sample
    };
    let pad_ok = expected % 2 == 1 && data.len() == expected + 1;
    if data.len() != expected && !pad_ok {
        return Err(DecodeError::Mismatch(format!(
            "the frame has {} bytes; {}×{}×{} samples of {} bits need {expected}",
            data.len(),
            layout.columns,
            layout.rows,
            layout.samples_per_pixel,
            layout.bits_allocated
        )));
    }
    let data = &data[..expected];
    if layout.is_colour() {
        let interleaved = if stored_422 {
            colour::upsample_ybr_422(data)
        } else if layout.planar {
            interleave_planes(data, layout.pixels())
        } else {
            data.to_vec()
        };
        return layout.colour(interleaved, layout.stored_colour_model());
    }
    let words = if bytes_per_sample == 1 {
        Samples::U8(data.to_vec())
    } else {
        Samples::U16(
            data.chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect(),
        )
    };
    layout.monochrome(words)
}

#[cfg(test)]
mod tests {
    use crate::{DecodeError, FrameDescriptor, Pixels, decode};

    const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

    fn descriptor(
        rows: u16,
        columns: u16,
        bits: (u16, u16),
        signed: bool,
        photometric: &str,
    ) -> FrameDescriptor {
        let colour = !photometric.starts_with("MONO") && photometric != "PALETTE COLOR";
        FrameDescriptor {
            rows,
            columns,
            samples_per_pixel: if colour { 3 } else { 1 },
            bits_allocated: bits.0,
            bits_stored: bits.1,
            pixel_representation: u16::from(signed),
            photometric: photometric.into(),
            planar_configuration: 0,
        }
    }

    #[test]
    fn sixteen_bit_signed_words_are_little_endian_and_sign_extended() {
        let frame = descriptor(2, 2, (16, 12), true, "MONOCHROME2");
        // Words 0x0FFF (-1), 0x0800 (-2048), 0x03E8 (1000), 0x1001 (bit 12
        // outside Bits Stored, so 1), each least significant byte first.
        let data = [0xFF, 0x0F, 0x00, 0x08, 0xE8, 0x03, 0x01, 0x10];
        for ts in ["1.2.840.10008.1.2", EXPLICIT_LE, "1.2.840.10008.1.2.2"] {
            assert_eq!(
                decode(ts, &data, &frame).unwrap(),
                Pixels::I16(vec![-1, -2048, 1000, 1])
            );
        }
        let frame = descriptor(2, 2, (16, 16), false, "MONOCHROME1");
        assert_eq!(
            decode(EXPLICIT_LE, &data, &frame).unwrap(),
            Pixels::U16(vec![0x0FFF, 0x0800, 0x03E8, 0x1001])
        );
    }

    #[test]
    fn eight_bit_grey_and_palette_indices_pass_through() {
        let frame = descriptor(1, 3, (8, 8), false, "PALETTE COLOR");
        assert_eq!(
            decode(EXPLICIT_LE, &[0, 7, 255, 0], &frame).unwrap(),
            Pixels::U8(vec![0, 7, 255])
        );
        // 6 bits stored: 0xFF & 0x3F = 63.
        let frame = descriptor(1, 2, (8, 6), false, "MONOCHROME2");
        assert_eq!(
            decode(EXPLICIT_LE, &[0xFF, 0x41], &frame).unwrap(),
            Pixels::U8(vec![63, 1])
        );
    }

    #[test]
    fn a_short_frame_is_a_mismatch_and_one_pad_byte_is_ignored() {
        let frame = descriptor(1, 3, (8, 8), false, "MONOCHROME2");
        assert!(matches!(
            decode(EXPLICIT_LE, &[1, 2], &frame),
            Err(DecodeError::Mismatch(_))
        ));
        // Odd frame plus its pad byte: fine. Two extra bytes: not this frame.
        assert_eq!(
            decode(EXPLICIT_LE, &[1, 2, 3, 0], &frame).unwrap(),
            Pixels::U8(vec![1, 2, 3])
        );
        assert!(matches!(
            decode(EXPLICIT_LE, &[1, 2, 3, 0, 0], &frame),
            Err(DecodeError::Mismatch(_))
        ));
        // An even-sized frame has no pad byte.
        let frame = descriptor(1, 2, (16, 16), false, "MONOCHROME2");
        assert!(matches!(
            decode(EXPLICIT_LE, &[1, 2, 3, 4, 0], &frame),
            Err(DecodeError::Mismatch(_))
        ));
    }

    #[test]
    fn rgb_by_pixel_and_by_plane_give_the_same_pixels() {
        let mut frame = descriptor(1, 2, (8, 8), false, "RGB");
        let by_pixel = [255, 0, 0, 10, 20, 30];
        assert_eq!(
            decode(EXPLICIT_LE, &by_pixel, &frame).unwrap(),
            Pixels::Rgb8(by_pixel.to_vec())
        );
        frame.planar_configuration = 1;
        let by_plane = [255, 10, 0, 20, 0, 30];
        assert_eq!(
            decode(EXPLICIT_LE, &by_plane, &frame).unwrap(),
            Pixels::Rgb8(by_pixel.to_vec())
        );
    }

    #[test]
    fn ybr_full_and_422_become_rgb() {
        // (76, 85, 255) is pure red in YBR_FULL and converts to (254, 0, 0)
        // (hand-derived in colour.rs); (128, 128, 128) is mid-grey.
        let frame = descriptor(1, 2, (8, 8), false, "YBR_FULL");
        assert_eq!(
            decode(EXPLICIT_LE, &[76, 85, 255, 128, 128, 128], &frame).unwrap(),
            Pixels::Rgb8(vec![254, 0, 0, 128, 128, 128])
        );
        // 422: Y1 Y2 Cb Cr — two pixels of Y 76 and 29 sharing the chroma of
        // red: the first is (254, 0, 0); the second R = 29 + 178.05 = 207.05
        // → 207, G = 29 + 14.80 − 90.69 = −46.9 → 0, B = 29 − 76.2 → 0.
        let mut frame = descriptor(1, 2, (8, 8), false, "YBR_FULL_422");
        assert_eq!(
            decode(EXPLICIT_LE, &[76, 29, 85, 255], &frame).unwrap(),
            Pixels::Rgb8(vec![254, 0, 0, 207, 0, 0])
        );
        // 422 frames hold 2 bytes per pixel: a 3-sample-sized buffer is wrong.
        assert!(matches!(
            decode(EXPLICIT_LE, &[76, 29, 85, 255, 0, 0], &frame),
            Err(DecodeError::Mismatch(_))
        ));
        frame.columns = 3;
        assert!(matches!(
            decode(EXPLICIT_LE, &[0; 6], &frame),
            Err(DecodeError::Descriptor(_))
        ));
    }
}
