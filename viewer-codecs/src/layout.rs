//! The checked shape of a frame, and the last step every decoder shares:
//! turning decoded sample words into [`Pixels`] of stored values.

use crate::colour::{self, ColourModel};
use crate::{DecodeError, FrameDescriptor, Pixels};

/// The most samples (pixels × samples per pixel) one frame may have: 2²⁸,
/// 512 MiB as 16-bit words, far beyond any real single frame (a 4k × 5k
/// mammogram is 2·10⁷) and still addressable in wasm32's 4 GiB.
///
/// Descriptors beyond it are refused before anything is allocated.
pub const MAX_FRAME_SAMPLES: usize = 1 << 28;

/// Photometric interpretations this crate knows how to present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Photometric {
    Monochrome1,
    Monochrome2,
    Palette,
    Rgb,
    YbrFull,
    YbrFull422,
    /// JPEG 2000 reversible colour: the codec's inverse transform yields RGB.
    YbrRct,
    /// JPEG 2000 irreversible colour: likewise.
    YbrIct,
}

/// Sample words as a decoder produced them: for 16-bit words, bits above
/// Bits Stored may still be set (they are cleared by [`Layout::monochrome`]).
#[derive(Debug)]
pub(crate) enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

impl Samples {
    fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        }
    }
}

/// A [`FrameDescriptor`] that passed [`Layout::check`]: dimensions are
/// non-zero, the sample count is within [`MAX_FRAME_SAMPLES`], Bits Allocated
/// is 8 or 16, `1 <= bits_stored <= bits_allocated`, and colour frames are
/// 8-bit with three samples.
#[derive(Debug, Clone)]
pub(crate) struct Layout<'a> {
    pub transfer_syntax: &'a str,
    pub rows: usize,
    pub columns: usize,
    pub samples_per_pixel: usize,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub photometric: Photometric,
    pub planar: bool,
}

impl<'a> Layout<'a> {
    pub fn check(transfer_syntax: &'a str, frame: &FrameDescriptor) -> Result<Self, DecodeError> {
        let bad = |m: String| Err(DecodeError::Descriptor(m));
        let unsupported = |m: String| Err(DecodeError::unsupported_image(transfer_syntax, m));
        if frame.rows == 0 || frame.columns == 0 {
            return bad(format!(
                "{} rows × {} columns: an image needs both",
                frame.rows, frame.columns
            ));
        }
        let photometric = match frame.photometric.trim_end_matches(['\0', ' ']) {
            "MONOCHROME1" => Photometric::Monochrome1,
            "MONOCHROME2" => Photometric::Monochrome2,
            "PALETTE COLOR" => Photometric::Palette,
            "RGB" => Photometric::Rgb,
            "YBR_FULL" => Photometric::YbrFull,
            "YBR_FULL_422" => Photometric::YbrFull422,
            "YBR_RCT" => Photometric::YbrRct,
            "YBR_ICT" => Photometric::YbrIct,
            other => {
                return unsupported(format!("photometric interpretation {other:?}"));
            }
        };
        let colour = !matches!(
            photometric,
            Photometric::Monochrome1 | Photometric::Monochrome2 | Photometric::Palette
        );
        let expected_spp = if colour { 3 } else { 1 };
        if frame.samples_per_pixel != expected_spp {
            return bad(format!(
                "{} needs {expected_spp} samples per pixel, not {}",
                frame.photometric, frame.samples_per_pixel
            ));
        }
        match frame.bits_allocated {
            8 | 16 => {}
            1 => return unsupported("1-bit (bitmap) pixels".into()),
            n => return unsupported(format!("{n} bits allocated")),
        }
        if frame.bits_stored == 0 || frame.bits_stored > frame.bits_allocated {
            return bad(format!(
                "bits stored {} must be 1..={} (bits allocated)",
                frame.bits_stored, frame.bits_allocated
            ));
        }
        if frame.pixel_representation > 1 {
            return bad(format!(
                "pixel representation {} must be 0 or 1",
                frame.pixel_representation
            ));
        }
        if colour && frame.bits_allocated != 8 {
            return unsupported(format!("{}-bit colour", frame.bits_allocated));
        }
        let samples =
            usize::from(frame.rows) * usize::from(frame.columns) * usize::from(expected_spp);
        if samples > MAX_FRAME_SAMPLES {
            return Err(DecodeError::TooLarge {
                rows: frame.rows,
                columns: frame.columns,
                samples_per_pixel: frame.samples_per_pixel,
                limit: MAX_FRAME_SAMPLES,
            });
        }
        Ok(Layout {
            transfer_syntax,
            rows: usize::from(frame.rows),
            columns: usize::from(frame.columns),
            samples_per_pixel: usize::from(expected_spp),
            bits_allocated: frame.bits_allocated,
            bits_stored: frame.bits_stored,
            signed: frame.pixel_representation == 1,
            photometric,
            planar: frame.planar_configuration == 1,
        })
    }

    pub fn pixels(&self) -> usize {
        self.rows * self.columns
    }

    pub fn samples(&self) -> usize {
        self.pixels() * self.samples_per_pixel
    }

    pub fn is_colour(&self) -> bool {
        self.samples_per_pixel == 3
    }

    pub fn unsupported(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError::unsupported_image(self.transfer_syntax, reason)
    }

    /// Checks what a codec's header declares against the descriptor, before
    /// the codec decodes (and allocates) anything.
    pub fn expect_codec_shape(
        &self,
        codec: &str,
        columns: usize,
        rows: usize,
        components: usize,
        precision: u16,
    ) -> Result<(), DecodeError> {
        if (columns, rows) != (self.columns, self.rows) {
            return Err(DecodeError::Mismatch(format!(
                "the {codec} stream is {columns}×{rows}, the image attributes say {}×{}",
                self.columns, self.rows
            )));
        }
        if components != self.samples_per_pixel {
            return Err(DecodeError::Mismatch(format!(
                "the {codec} stream has {components} components, the image attributes \
                 say {} samples per pixel",
                self.samples_per_pixel
            )));
        }
        if precision > self.bits_allocated || precision == 0 {
            return Err(DecodeError::Mismatch(format!(
                "the {codec} stream has {precision}-bit samples, the image attributes \
                 allocate {} bits",
                self.bits_allocated
            )));
        }
        Ok(())
    }

    /// Monochrome or palette words to stored values: bits above Bits Stored
    /// cleared, signed values sign-extended from Bits Stored.
    pub fn monochrome(&self, words: Samples) -> Result<Pixels, DecodeError> {
        if words.len() != self.pixels() {
            return Err(DecodeError::Mismatch(format!(
                "decoded {} samples, the image has {}×{} = {} pixels",
                words.len(),
                self.columns,
                self.rows,
                self.pixels()
            )));
        }
        let bits = u32::from(self.bits_stored);
        let mask = ((1u32 << bits) - 1) as u16;
        if self.signed {
            let sign = 1u16 << (bits - 1);
            let extend = |w: u16| -> i16 {
                let v = w & mask;
                if v & sign != 0 {
                    (v | !mask) as i16
                } else {
                    v as i16
                }
            };
            return Ok(Pixels::I16(match words {
                Samples::U8(v) => v.into_iter().map(|w| extend(u16::from(w))).collect(),
                Samples::U16(v) => v.into_iter().map(extend).collect(),
            }));
        }
        Ok(match (self.bits_allocated, words) {
            (8, Samples::U8(mut v)) => {
                v.iter_mut().for_each(|w| *w &= mask as u8);
                Pixels::U8(v)
            }
            (8, Samples::U16(v)) => Pixels::U8(v.into_iter().map(|w| (w & mask) as u8).collect()),
            (_, Samples::U8(v)) => {
                Pixels::U16(v.into_iter().map(|w| u16::from(w) & mask).collect())
            }
            (_, Samples::U16(mut v)) => {
                v.iter_mut().for_each(|w| *w &= mask);
                Pixels::U16(v)
            }
        })
    }

    /// Interleaved 3-sample pixels in `model` to RGB.
    pub fn colour(
        &self,
        mut interleaved: Vec<u8>,
        model: ColourModel,
    ) -> Result<Pixels, DecodeError> {
        if interleaved.len() != self.samples() {
            return Err(DecodeError::Mismatch(format!(
                "decoded {} colour samples, the image has {}×{}×3 = {}",
                interleaved.len(),
                self.columns,
                self.rows,
                self.samples()
            )));
        }
        if model == ColourModel::YbrFull {
            colour::ybr_full_to_rgb_in_place(&mut interleaved);
        }
        Ok(Pixels::Rgb8(interleaved))
    }

    /// How the samples of a codec that does no colour conversion of its own
    /// are to be read (RLE, JPEG lossless, native data).
    pub fn stored_colour_model(&self) -> ColourModel {
        match self.photometric {
            Photometric::YbrFull | Photometric::YbrFull422 => ColourModel::YbrFull,
            _ => ColourModel::Rgb,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mono(bits_allocated: u16, bits_stored: u16, signed: bool) -> FrameDescriptor {
        FrameDescriptor {
            rows: 1,
            columns: 4,
            samples_per_pixel: 1,
            bits_allocated,
            bits_stored,
            pixel_representation: u16::from(signed),
            photometric: "MONOCHROME2".into(),
            planar_configuration: 0,
        }
    }

    #[test]
    fn signed_12_bit_values_are_sign_extended_and_high_bits_cleared() {
        let layout = Layout::check("1.2.840.10008.1.2.1", &mono(16, 12, true)).unwrap();
        // 0x0FFF is -1 in 12-bit two's complement; 0x0800 is -2048; 0x07FF
        // is 2047; 0xF001 has garbage above bit 11 and reads as 1.
        let words = Samples::U16(vec![0x0FFF, 0x0800, 0x07FF, 0xF001]);
        assert_eq!(
            layout.monochrome(words).unwrap(),
            Pixels::I16(vec![-1, -2048, 2047, 1])
        );
    }

    #[test]
    fn unsigned_values_are_masked_to_bits_stored() {
        let layout = Layout::check("1.2.840.10008.1.2.1", &mono(16, 10, false)).unwrap();
        // 0xFFFF & 0x03FF = 1023; 0x0400 & 0x03FF = 0.
        let words = Samples::U16(vec![0xFFFF, 0x0400, 0x0123, 7]);
        assert_eq!(
            layout.monochrome(words).unwrap(),
            Pixels::U16(vec![1023, 0, 0x0123, 7])
        );
        let layout = Layout::check("1.2.840.10008.1.2.1", &mono(8, 8, true)).unwrap();
        // 8-bit signed: 0x80 = -128, 0xFF = -1.
        let words = Samples::U8(vec![0x80, 0xFF, 0x7F, 0]);
        assert_eq!(
            layout.monochrome(words).unwrap(),
            Pixels::I16(vec![-128, -1, 127, 0])
        );
    }

    #[test]
    fn inconsistent_or_unhandled_descriptors_are_refused() {
        let check = |f: FrameDescriptor| Layout::check("1.2.840.10008.1.2.1", &f).map(|_| ());
        assert!(matches!(
            check(mono(16, 17, false)),
            Err(DecodeError::Descriptor(_))
        ));
        assert!(matches!(
            check(mono(16, 0, false)),
            Err(DecodeError::Descriptor(_))
        ));
        let err = check(mono(1, 1, false)).unwrap_err();
        assert!(err.needs_server_decoding(), "{err}");
        let err = check(mono(32, 32, false)).unwrap_err();
        assert!(err.needs_server_decoding(), "{err}");
        let mut rgb16 = mono(16, 16, false);
        rgb16.samples_per_pixel = 3;
        rgb16.photometric = "RGB".into();
        assert!(check(rgb16).unwrap_err().needs_server_decoding());
        let mut rgb_one_sample = mono(8, 8, false);
        rgb_one_sample.photometric = "RGB".into();
        assert!(matches!(
            check(rgb_one_sample),
            Err(DecodeError::Descriptor(_))
        ));
        let mut partial = mono(8, 8, false);
        partial.samples_per_pixel = 3;
        partial.photometric = "YBR_PARTIAL_420".into();
        assert!(check(partial).unwrap_err().needs_server_decoding());
        let mut padded = mono(8, 8, false);
        padded.photometric = "MONOCHROME1 ".into();
        assert!(check(padded).is_ok());
    }

    #[test]
    fn the_largest_descriptor_is_refused_before_any_work() {
        let mut huge = mono(16, 16, false);
        huge.rows = u16::MAX;
        huge.columns = u16::MAX;
        let err = Layout::check("1.2.840.10008.1.2.1", &huge).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { .. }), "{err}");
    }
}
