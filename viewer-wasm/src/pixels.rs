//! A decoded frame as the viewer keeps it: stored values at their own
//! width (16-bit CT stays 16-bit, never floats), so a 120-slice CT holds
//! 63 MB, not 126 MB or more.

use viewer_core::palette::PaletteLut;

/// One frame's stored values, row by row.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredPixels {
    /// Unsigned 8-bit grey or palette indices.
    U8(Vec<u8>),
    /// Unsigned 16-bit grey.
    U16(Vec<u16>),
    /// Signed grey (8- or 16-bit allocated).
    I16(Vec<i16>),
    /// Interleaved RGB, three bytes per pixel.
    Rgb8(Vec<u8>),
}

impl StoredPixels {
    /// A short name of the variant, used between the workers and the page.
    pub fn kind(&self) -> &'static str {
        match self {
            StoredPixels::U8(_) => "u8",
            StoredPixels::U16(_) => "u16",
            StoredPixels::I16(_) => "i16",
            StoredPixels::Rgb8(_) => "rgb8",
        }
    }

    /// Number of pixels (not bytes).
    pub fn pixel_count(&self) -> usize {
        match self {
            StoredPixels::U8(v) => v.len(),
            StoredPixels::U16(v) => v.len(),
            StoredPixels::I16(v) => v.len(),
            StoredPixels::Rgb8(v) => v.len() / 3,
        }
    }

    /// Bytes held.
    pub fn byte_len(&self) -> usize {
        match self {
            StoredPixels::U8(v) | StoredPixels::Rgb8(v) => v.len(),
            StoredPixels::U16(v) => v.len() * 2,
            StoredPixels::I16(v) => v.len() * 2,
        }
    }

    /// The smallest and largest stored value (for RGB, over every
    /// channel); `(0, 0)` for an empty frame.
    pub fn range(&self) -> (f64, f64) {
        fn min_max<T: Copy + Ord + Into<f64>>(v: &[T]) -> (f64, f64) {
            let mut it = v.iter().copied();
            let Some(first) = it.next() else {
                return (0.0, 0.0);
            };
            let (lo, hi) = it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x)));
            (lo.into(), hi.into())
        }
        match self {
            StoredPixels::U8(v) | StoredPixels::Rgb8(v) => min_max(v),
            StoredPixels::U16(v) => min_max(v),
            StoredPixels::I16(v) => min_max(v),
        }
    }

    /// The stored grey value of pixel `index` (row-major); for RGB, its
    /// luminance-free mean of the three channels.
    pub fn value(&self, index: usize) -> Option<f64> {
        match self {
            StoredPixels::U8(v) => v.get(index).map(|&x| f64::from(x)),
            StoredPixels::U16(v) => v.get(index).map(|&x| f64::from(x)),
            StoredPixels::I16(v) => v.get(index).map(|&x| f64::from(x)),
            StoredPixels::Rgb8(v) => {
                let rgb = v.get(index * 3..index * 3 + 3)?;
                Some(rgb.iter().map(|&c| f64::from(c)).sum::<f64>() / 3.0)
            }
        }
    }

    /// A `PALETTE COLOR` frame's stored values turned into the colours
    /// of `palette`; RGB passes through unchanged.
    pub fn through_palette(self, palette: &PaletteLut) -> StoredPixels {
        StoredPixels::Rgb8(match self {
            StoredPixels::U8(v) => palette.apply(v.into_iter().map(i32::from)),
            StoredPixels::U16(v) => palette.apply(v.into_iter().map(i32::from)),
            StoredPixels::I16(v) => palette.apply(v.into_iter().map(i32::from)),
            StoredPixels::Rgb8(v) => v,
        })
    }

    /// Modality values (`stored × slope + intercept`) of the rectangle
    /// `x0..x1 × y0..y1` of a `columns`-wide frame, as `f32` row by row:
    /// what region statistics are computed on. Only the rectangle is
    /// converted, never the whole frame.
    pub fn modality_region(
        &self,
        columns: usize,
        (x0, y0, x1, y1): (usize, usize, usize, usize),
        slope: f64,
        intercept: f64,
    ) -> Vec<f32> {
        let mut out = Vec::with_capacity(x1.saturating_sub(x0) * y1.saturating_sub(y0));
        for y in y0..y1 {
            for x in x0..x1 {
                let v = self.value(y * columns + x).unwrap_or(0.0);
                out.push((v * slope + intercept) as f32);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_indices_become_their_colours() {
        use viewer_core::palette::{ChannelData, Descriptor};
        let d = Descriptor {
            entries: 3,
            first_mapped: 100,
            bits: 8,
        };
        let (r, g, b) = ([255u8, 0, 0], [0u8, 255, 0], [0u8, 0, 255]);
        let lut = PaletteLut::new([
            (d, ChannelData::Plain(&r)),
            (d, ChannelData::Plain(&g)),
            (d, ChannelData::Plain(&b)),
        ])
        .unwrap();
        let rgb = StoredPixels::U16(vec![100, 101, 102, 7]).through_palette(&lut);
        assert_eq!(
            rgb,
            StoredPixels::Rgb8(vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0])
        );
        assert_eq!(rgb.pixel_count(), 4);
    }

    #[test]
    fn range_covers_signed_and_colour_values() {
        assert_eq!(
            StoredPixels::I16(vec![-1024, 3071, 0]).range(),
            (-1024.0, 3071.0)
        );
        assert_eq!(StoredPixels::Rgb8(vec![10, 200, 30]).range(), (10.0, 200.0));
        assert_eq!(StoredPixels::U16(Vec::new()).range(), (0.0, 0.0));
    }

    #[test]
    fn sizes_count_pixels_and_bytes() {
        let rgb = StoredPixels::Rgb8(vec![0; 12]);
        assert_eq!((rgb.pixel_count(), rgb.byte_len()), (4, 12));
        let ct = StoredPixels::U16(vec![0; 4]);
        assert_eq!((ct.pixel_count(), ct.byte_len()), (4, 8));
        assert_eq!(ct.kind(), "u16");
    }

    #[test]
    fn region_is_rescaled_and_row_major() {
        // A 3×2 frame of stored values 0..6; slope 2, intercept -1 gives
        // 2v - 1. The region x 1..3, y 0..2 holds v = 1, 2, 4, 5.
        let frame = StoredPixels::U16(vec![0, 1, 2, 3, 4, 5]);
        let region = frame.modality_region(3, (1, 0, 3, 2), 2.0, -1.0);
        assert_eq!(region, vec![1.0, 3.0, 7.0, 9.0]);
        // An RGB pixel's value is the mean of its channels.
        assert_eq!(StoredPixels::Rgb8(vec![30, 60, 90]).value(0), Some(60.0));
        assert_eq!(frame.value(6), None);
    }
}
