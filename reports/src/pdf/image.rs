//! Key images, from the archive's PNG renderings to PDF image samples.

use image::{DynamicImage, GenericImageView, ImageFormat, imageops::FilterType};

use crate::ReportError;

/// Longest side, in pixels, of an image as embedded. A key image fills at
/// most the 6.9-inch text width, so 1600 pixels is about 230 dpi on paper.
const MAX_SIDE: u32 = 1600;

/// An image ready for the PDF: 8-bit samples, Flate-compressed.
pub(crate) struct Prepared {
    pub width: u32,
    pub height: u32,
    pub grey: bool,
    pub deflated: Vec<u8>,
}

/// Decodes key image `index`, flattens any transparency onto white (paper
/// is white), scales it down to [`MAX_SIDE`] and compresses the samples.
pub(crate) fn prepare(index: usize, png: &[u8]) -> Result<Prepared, ReportError> {
    let decoded = image::load_from_memory_with_format(png, ImageFormat::Png)
        .map_err(|source| ReportError::KeyImage { index, source })?;
    let decoded = shrink(decoded);
    let (width, height) = decoded.dimensions();
    let grey = !decoded.color().has_color();
    let samples = if grey {
        if decoded.color().has_alpha() {
            let la = decoded.to_luma_alpha8();
            la.pixels().map(|p| over_white(p.0[0], p.0[1])).collect()
        } else {
            decoded.to_luma8().into_raw()
        }
    } else if decoded.color().has_alpha() {
        let rgba = decoded.to_rgba8();
        rgba.pixels()
            .flat_map(|p| {
                let [r, g, b, a] = p.0;
                [over_white(r, a), over_white(g, a), over_white(b, a)]
            })
            .collect()
    } else {
        decoded.to_rgb8().into_raw()
    };
    Ok(Prepared {
        width,
        height,
        grey,
        deflated: super::deflate(&samples),
    })
}

fn shrink(img: DynamicImage) -> DynamicImage {
    let (w, h) = img.dimensions();
    if w.max(h) <= MAX_SIDE {
        return img;
    }
    let scale = f64::from(MAX_SIDE) / f64::from(w.max(h));
    // Rounded products of sides ≤ u32::MAX by a scale < 1 fit in u32.
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    img.resize_exact(nw, nh, FilterType::Triangle)
}

fn over_white(value: u8, alpha: u8) -> u8 {
    let (v, a) = (u16::from(value), u16::from(alpha));
    let mixed = (v * a + 255 * (255 - a) + 127) / 255;
    u8::try_from(mixed).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, Rgba, RgbaImage};

    fn png(img: DynamicImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).expect("encode");
        out.into_inner()
    }

    fn inflate(data: &[u8]) -> Vec<u8> {
        miniz_oxide::inflate::decompress_to_vec_zlib(data).expect("zlib")
    }

    #[test]
    fn grey_stays_grey() {
        let img = GrayImage::from_fn(4, 2, |x, _| Luma([u8::try_from(x * 60).unwrap_or(0)]));
        let p = prepare(0, &png(DynamicImage::ImageLuma8(img))).expect("prepare");
        assert!(p.grey);
        assert_eq!((p.width, p.height), (4, 2));
        assert_eq!(inflate(&p.deflated), [0, 60, 120, 180, 0, 60, 120, 180]);
    }

    #[test]
    fn transparency_goes_onto_white() {
        let img = RgbaImage::from_pixel(1, 1, Rgba([0, 0, 255, 0]));
        let p = prepare(0, &png(DynamicImage::ImageRgba8(img))).expect("prepare");
        assert!(!p.grey);
        assert_eq!(inflate(&p.deflated), [255, 255, 255]);
        assert_eq!(over_white(0, 255), 0);
        assert_eq!(over_white(100, 128), 177);
    }

    #[test]
    fn large_images_are_scaled_down() {
        let img = GrayImage::new(3200, 800);
        let p = prepare(0, &png(DynamicImage::ImageLuma8(img))).expect("prepare");
        assert_eq!((p.width, p.height), (1600, 400));
    }

    #[test]
    fn a_broken_png_names_its_index() {
        let err = prepare(3, b"not a png").err().expect("error");
        assert!(err.to_string().contains("key image 4"), "{err}");
    }
}
