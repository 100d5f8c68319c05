//! Rendering a decoded frame to 8-bit grey or RGB, fitting it to a viewport
//! and encoding it as PNG or JPEG, for `/rendered` and `/thumbnail`.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, RgbImage, imageops};

use super::RenderError;
use super::frame::{DecodedFrame, Samples, StoredBits};
use super::header::{ImageHeader, Photometric};
use super::voi::{self, Rescale, VoiFunction, Window};

/// Output encoding of a rendered frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageFormat {
    /// PNG, fast compression.
    #[default]
    Png,
    /// Baseline JPEG with a quality of 1 to 100.
    Jpeg {
        /// Encoder quality, 1 (smallest) to 100 (best).
        quality: u8,
    },
}

/// How to render a frame (PS3.18 rendered resource query parameters).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RenderParams {
    /// Window to apply to grey-scale frames; else the header's first window;
    /// else the frame's modality value range. Ignored for colour.
    pub window: Option<Window>,
    /// VOI LUT function; else the header's VOI LUT Function; else LINEAR.
    pub voi_function: Option<VoiFunction>,
    /// (width, height) to fit inside, keeping the aspect ratio. A whole
    /// frame is only ever shrunk (with area averaging), never enlarged; a
    /// source region is scaled either way to fill it (a zoom).
    pub viewport: Option<(u32, u32)>,
    /// The part of the frame to render (PS3.18 `viewport`'s sx, sy, sw,
    /// sh); the whole frame when `None`.
    pub region: Option<SourceRegion>,
    /// PNG or JPEG.
    pub format: ImageFormat,
}

/// A rectangle of the source frame, in its pixels: `width` columns from
/// column `x` and `height` rows from row `y` (`None`: to the frame's
/// edge); a negative width or height flips the region horizontally or
/// vertically (PS3.18 §8.3.5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceRegion {
    pub x: u32,
    pub y: u32,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

/// An 8-bit image before encoding: grey (1 channel) or RGB (3, interleaved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 1 for grey, 3 for RGB.
    pub channels: u8,
    /// Row-major samples.
    pub data: Vec<u8>,
}

/// Renders a frame and encodes it as PNG or JPEG.
pub fn render(
    header: &ImageHeader,
    frame: &DecodedFrame,
    params: &RenderParams,
) -> Result<Vec<u8>, RenderError> {
    let pixels = render_pixels(header, frame, params)?;
    encode(&pixels, params.format)
}

/// Renders a frame to 8-bit samples at the viewport size, without encoding.
pub fn render_pixels(
    header: &ImageHeader,
    frame: &DecodedFrame,
    params: &RenderParams,
) -> Result<RenderedPixels, RenderError> {
    if let ImageFormat::Jpeg { quality } = params.format
        && !(1..=100).contains(&quality)
    {
        return Err(RenderError::InvalidParams(format!(
            "JPEG quality {quality} is outside 1..=100"
        )));
    }
    let full = match frame.photometric() {
        Photometric::Monochrome1 | Photometric::Monochrome2 => grey(header, frame, params)?,
        Photometric::Rgb | Photometric::YbrFull => colour(frame),
        Photometric::PaletteColor => match &header.palette {
            Some(lut) => super::palette::colours(lut, frame),
            None => {
                return Err(RenderError::UnsupportedPhotometric {
                    photometric: "PALETTE COLOR".to_owned(),
                    reason: "the image's palette colour table is missing or malformed",
                });
            }
        },
        other => {
            return Err(RenderError::UnsupportedPhotometric {
                photometric: other.to_string(),
                reason: "rendering handles MONOCHROME1/2, RGB, YBR_FULL(_422) and PALETTE COLOR only",
            });
        }
    };
    let Some(region) = params.region else {
        let target = params
            .viewport
            .map(fit_viewport(full.width, full.height, false));
        return Ok(match target.transpose()? {
            Some((w, h)) if (w, h) != (full.width, full.height) => resize(full, w, h),
            _ => full,
        });
    };
    let part = crop(full, region)?;
    let target = params
        .viewport
        .map(fit_viewport(part.width, part.height, true));
    Ok(match target.transpose()? {
        Some((w, h)) if (w, h) != (part.width, part.height) => resize(part, w, h),
        _ => part,
    })
}

/// The region of `pixels`, flipped where its width or height is negative;
/// a region reaching outside the frame is refused.
fn crop(pixels: RenderedPixels, region: SourceRegion) -> Result<RenderedPixels, RenderError> {
    let to_edge = |start: u32, size: u32| i32::try_from(size.saturating_sub(start)).unwrap_or(0);
    let width = region
        .width
        .unwrap_or_else(|| to_edge(region.x, pixels.width));
    let height = region
        .height
        .unwrap_or_else(|| to_edge(region.y, pixels.height));
    let (w, h) = (width.unsigned_abs(), height.unsigned_abs());
    let inside = |start: u32, extent: u32, size: u32| {
        extent > 0 && start.checked_add(extent).is_some_and(|end| end <= size)
    };
    if !inside(region.x, w, pixels.width) || !inside(region.y, h, pixels.height) {
        return Err(RenderError::InvalidParams(format!(
            "the source region {width}×{height} at ({}, {}) is not inside the {}×{} frame",
            region.x, region.y, pixels.width, pixels.height
        )));
    }
    let channels = usize::from(pixels.channels);
    let mut data = Vec::with_capacity(w as usize * h as usize * channels);
    for row in 0..h {
        let y = if height < 0 { h - 1 - row } else { row } + region.y;
        let start = (y as usize * pixels.width as usize + region.x as usize) * channels;
        let line = &pixels.data[start..start + w as usize * channels];
        if width < 0 {
            for pixel in line.chunks_exact(channels).rev() {
                data.extend_from_slice(pixel);
            }
        } else {
            data.extend_from_slice(line);
        }
    }
    Ok(RenderedPixels {
        width: w,
        height: h,
        channels: pixels.channels,
        data,
    })
}

/// Encodes rendered pixels.
pub fn encode(pixels: &RenderedPixels, format: ImageFormat) -> Result<Vec<u8>, RenderError> {
    let colour = if pixels.channels == 3 {
        ExtendedColorType::Rgb8
    } else {
        ExtendedColorType::L8
    };
    let mut out = Vec::with_capacity(pixels.data.len() / 2 + 1024);
    match format {
        ImageFormat::Png => {
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
                .write_image(&pixels.data, pixels.width, pixels.height, colour)?
        }
        ImageFormat::Jpeg { quality } => JpegEncoder::new_with_quality(&mut out, quality)
            .write_image(&pixels.data, pixels.width, pixels.height, colour)?,
    }
    Ok(out)
}

/// The size that fits inside the viewport with the image's aspect ratio;
/// never larger than the image unless `enlarge`.
fn fit_viewport(
    columns: u32,
    rows: u32,
    enlarge: bool,
) -> impl Fn((u32, u32)) -> Result<(u32, u32), RenderError> {
    move |(width, height)| {
        if width == 0 || height == 0 {
            return Err(RenderError::InvalidParams(format!(
                "viewport {width}×{height} is empty"
            )));
        }
        let scale =
            (f64::from(width) / f64::from(columns)).min(f64::from(height) / f64::from(rows));
        let scale = if enlarge { scale } else { scale.min(1.0) };
        let fit = |n: u32| ((f64::from(n) * scale).round() as u32).max(1);
        Ok((fit(columns), fit(rows)))
    }
}

/// `pixels` at `width`×`height`: area averaging to shrink, bilinear to
/// enlarge.
fn resize(pixels: RenderedPixels, width: u32, height: u32) -> RenderedPixels {
    let (w, h) = (pixels.width, pixels.height);
    let enlarge = width > w || height > h;
    let filter = imageops::FilterType::Triangle;
    let data = if pixels.channels == 3 {
        RgbImage::from_raw(w, h, pixels.data).map(|img| {
            if enlarge {
                imageops::resize(&img, width, height, filter).into_raw()
            } else {
                imageops::thumbnail(&img, width, height).into_raw()
            }
        })
    } else {
        GrayImage::from_raw(w, h, pixels.data).map(|img| {
            if enlarge {
                imageops::resize(&img, width, height, filter).into_raw()
            } else {
                imageops::thumbnail(&img, width, height).into_raw()
            }
        })
    };
    RenderedPixels {
        width,
        height,
        channels: pixels.channels,
        // from_raw only fails if the buffer is short, which render_pixels never makes.
        data: data.unwrap_or_else(|| {
            vec![0; width as usize * height as usize * usize::from(pixels.channels)]
        }),
    }
}

/// The window, function and rescale a grey frame is rendered with.
fn grey(
    header: &ImageHeader,
    frame: &DecodedFrame,
    params: &RenderParams,
) -> Result<RenderedPixels, RenderError> {
    let function = params
        .voi_function
        .or_else(|| {
            header
                .voi_lut_function
                .as_deref()
                .and_then(VoiFunction::parse)
        })
        .unwrap_or_default();
    let rescale = Rescale {
        slope: finite_or(header.rescale_slope, 1.0),
        intercept: finite_or(header.rescale_intercept, 0.0),
    };
    let window = match params.window {
        Some(window) => {
            voi::check_requested(window, function)?;
            window
        }
        None => header_window(header)
            .filter(|w| voi::accepts(function, *w))
            .unwrap_or_else(|| {
                let (min, max) = voi::stored_min_max(frame);
                let (a, b) = (rescale.apply(min), rescale.apply(max));
                voi::min_max_window(function, a.min(b), a.max(b))
            }),
    };
    let invert = *frame.photometric() == Photometric::Monochrome1;
    let lut = voi::grey_lut(frame, rescale, function, window, invert);
    let bits = StoredBits::of(frame);
    let data = match frame.samples() {
        Samples::U8(v) => v.iter().map(|&w| lut[bits.index(u32::from(w))]).collect(),
        Samples::U16(v) => v.iter().map(|&w| lut[bits.index(u32::from(w))]).collect(),
    };
    Ok(RenderedPixels {
        width: u32::from(frame.columns()),
        height: u32::from(frame.rows()),
        channels: 1,
        data,
    })
}

fn header_window(header: &ImageHeader) -> Option<Window> {
    Some(Window {
        center: *header.window_centers.first()?,
        width: *header.window_widths.first()?,
    })
}

fn finite_or(value: f64, default: f64) -> f64 {
    if value.is_finite() { value } else { default }
}

/// RGB passed through (scaled to 8 bits if stored wider); YBR_FULL converted
/// to RGB per PS3.3 C.7.6.3.1.2.
fn colour(frame: &DecodedFrame) -> RenderedPixels {
    let bits = StoredBits::of(frame);
    let top = ((1u32 << bits.bits) - 1) as f64;
    let scale: Vec<u8> = (0..=top as usize)
        .map(|i| (i as f64 * 255.0 / top).round() as u8)
        .collect();
    let mut data: Vec<u8> = match frame.samples() {
        Samples::U8(v) => v.iter().map(|&w| scale[bits.index(u32::from(w))]).collect(),
        Samples::U16(v) => v.iter().map(|&w| scale[bits.index(u32::from(w))]).collect(),
    };
    if *frame.photometric() == Photometric::YbrFull {
        for px in data.chunks_exact_mut(3) {
            let (y, cb, cr) = (
                f32::from(px[0]),
                f32::from(px[1]) - 128.0,
                f32::from(px[2]) - 128.0,
            );
            let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
            px[0] = clamp(y + 1.402 * cr);
            px[1] = clamp(y - 0.344_136 * cb - 0.714_136 * cr);
            px[2] = clamp(y + 1.772 * cb);
        }
    }
    RenderedPixels {
        width: u32::from(frame.columns()),
        height: u32::from(frame.rows()),
        channels: 3,
        data,
    }
}
