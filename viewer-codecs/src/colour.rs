//! Colour conversions and sample rearrangements for 8-bit, 3-sample frames.

/// What three interleaved samples of a decoded pixel mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColourModel {
    /// Red, green, blue: nothing to convert.
    Rgb,
    /// Y, Cb, Cr at full range (YBR_FULL, and YBR_FULL_422 once upsampled).
    YbrFull,
}

/// Converts interleaved YBR_FULL samples to RGB, in place.
///
/// PS3.3 C.7.6.3.1.2 defines YBR_FULL from RGB as
/// `Y = .2990R + .5870G + .1140B`, `Cb = −.1687R − .3313G + .5000B + 128`,
/// `Cr = .5000R − .4187G − .0813B + 128`; this is its inverse,
/// `R = Y + 1.402(Cr−128)`, `G = Y − .344136(Cb−128) − .714136(Cr−128)`,
/// `B = Y + 1.772(Cb−128)`, rounded and clamped to 0..=255.
pub(crate) fn ybr_full_to_rgb_in_place(samples: &mut [u8]) {
    for pixel in samples.chunks_exact_mut(3) {
        let [r, g, b] = ybr_full_to_rgb(pixel[0], pixel[1], pixel[2]);
        pixel.copy_from_slice(&[r, g, b]);
    }
}

fn ybr_full_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = f32::from(y);
    let cb = f32::from(cb) - 128.0;
    let cr = f32::from(cr) - 128.0;
    let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [
        clamp(y + 1.402 * cr),
        clamp(y - 0.344_136 * cb - 0.714_136 * cr),
        clamp(y + 1.772 * cb),
    ]
}

/// Colour-by-plane (RRR…GGG…BBB) to colour-by-pixel (RGBRGB…).
/// `planes` holds exactly three planes of `pixels` samples each.
pub(crate) fn interleave_planes(planes: &[u8], pixels: usize) -> Vec<u8> {
    let (r, rest) = planes.split_at(pixels);
    let (g, b) = rest.split_at(pixels);
    let mut out = Vec::with_capacity(pixels * 3);
    for ((&r, &g), &b) in r.iter().zip(g).zip(b) {
        out.extend_from_slice(&[r, g, b]);
    }
    out
}

/// Native YBR_FULL_422 (PS3.3 C.7.6.3.1.2): each pair of horizontally
/// adjacent pixels is stored as `Y1 Y2 Cb Cr`, so a row of `columns` (even)
/// pixels takes `2 × columns` bytes. Returns full-resolution interleaved
/// YBR_FULL, each pixel of a pair sharing its chroma.
pub(crate) fn upsample_ybr_422(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 6);
    for group in data.chunks_exact(4) {
        let [y1, y2, cb, cr] = [group[0], group[1], group[2], group[3]];
        out.extend_from_slice(&[y1, cb, cr, y2, cb, cr]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ybr_full_converts_by_the_ps3_3_formulas() {
        // Mid-grey: no chroma, R = G = B = Y.
        assert_eq!(ybr_full_to_rgb(128, 128, 128), [128, 128, 128]);
        // Black and white stay themselves.
        assert_eq!(ybr_full_to_rgb(0, 128, 128), [0, 0, 0]);
        assert_eq!(ybr_full_to_rgb(255, 128, 128), [255, 255, 255]);
        // Pure red (255, 0, 0) forward: Y = .299·255 = 76.2 → 76,
        // Cb = −.1687·255 + 128 = 85.0 → 85, Cr = .5·255 + 128 = 255.5 → 255.
        // Back: R = 76 + 1.402·127 = 254.1 → 254, G = 76 + .344136·43 −
        // .714136·127 = 0.1 → 0, B = 76 − 1.772·43 = −0.2 → 0.
        assert_eq!(ybr_full_to_rgb(76, 85, 255), [254, 0, 0]);
        // Pure blue (0, 0, 255): Y = 29.07 → 29, Cb = 255.5 → 255,
        // Cr = −.0813·255 + 128 = 107.3 → 107. Back: R = 29 − 1.402·21 =
        // −0.4 → 0, G = 29 − .344136·127 + .714136·21 = 0.3 → 0,
        // B = 29 + 1.772·127 = 254.0 → 254.
        assert_eq!(ybr_full_to_rgb(29, 255, 107), [0, 0, 254]);
        let mut samples = vec![128, 128, 128, 76, 85, 255];
        ybr_full_to_rgb_in_place(&mut samples);
        assert_eq!(samples, [128, 128, 128, 254, 0, 0]);
    }

    #[test]
    fn planes_become_pixels() {
        let planes = [1, 2, 10, 20, 100, 200];
        assert_eq!(interleave_planes(&planes, 2), [1, 10, 100, 2, 20, 200]);
    }

    #[test]
    fn a_422_pair_shares_its_chroma() {
        let data = [10, 20, 130, 140, 30, 40, 150, 160];
        assert_eq!(
            upsample_ybr_422(&data),
            [10, 130, 140, 20, 130, 140, 30, 150, 160, 40, 150, 160]
        );
    }
}
