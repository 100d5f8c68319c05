//! Unit tests of decoding native frames and of the rendering pipeline.

use bytes::Bytes;

use super::*;

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// 64×64 CT ramp, 12 of 16 bits signed, stored −2048..=2047, rescale −1024,
/// with junk in the four unused high bits.
fn ct_ramp() -> (ImageHeader, Vec<i16>) {
    let mut header = ImageHeader::monochrome(EXPLICIT_LE, 64, 64, 16, 12, true);
    header.rescale_intercept = -1024.0;
    header.window_centers = vec![40.0];
    header.window_widths = vec![400.0];
    let values = (0..64 * 64).map(|i| i as i16 - 2048).collect();
    (header, values)
}

fn words_with_junk(values: &[i16]) -> Vec<u16> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (v as u16 & 0x0FFF) | ((i as u16 % 16) << 12))
        .collect()
}

fn le(words: &[u16]) -> Bytes {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn be(words: &[u16]) -> Bytes {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn pixels(header: &ImageHeader, frame: &DecodedFrame, params: RenderParams) -> RenderedPixels {
    render_pixels(header, frame, &params).expect("render")
}

#[test]
fn ct_ramp_is_windowed_with_the_header_window() {
    let (header, values) = ct_ramp();
    let frame =
        decode_frame(&header, FrameData::Native(le(&words_with_junk(&values)))).expect("decode");
    assert_eq!(frame.stored_value(0), Some(-2048));
    assert_eq!(frame.stored_value(4095), Some(2047));
    let out = pixels(&header, &frame, RenderParams::default());
    assert_eq!((out.width, out.height, out.channels), (64, 64, 1));
    let window = Window {
        center: 40.0,
        width: 400.0,
    };
    for i in [0usize, 1000, 2800, 2900, 2919, 2920, 3000, 3100, 3200, 4095] {
        let x = f64::from(values[i]) - 1024.0;
        let expected = to_grey(voi::apply(VoiFunction::Linear, window, x));
        assert_eq!(out.data[i], expected, "pixel {i} (modality {x})");
    }
    // Spot values of C.11.2.1.2.1 by hand: x ≤ c − 0.5 − (w − 1)/2 = −160 is black.
    let x_of = |i: usize| f64::from(values[i]) - 1024.0;
    assert_eq!(x_of(2912), -160.0);
    assert_eq!(out.data[2912], 0);
    // x = 40 → ((40 − 39.5)/399 + 0.5) × 255 = 127.82 → 128.
    assert_eq!(x_of(3112), 40.0);
    assert_eq!(out.data[3112], 128);
    // x > c − 0.5 + (w − 1)/2 = 239 is white.
    assert_eq!(out.data[3312], 255);
}

#[test]
fn requested_window_and_functions_override_the_header() {
    let (mut header, values) = ct_ramp();
    header.voi_lut_function = Some("SIGMOID".to_owned());
    let frame =
        decode_frame(&header, FrameData::Native(le(&words_with_junk(&values)))).expect("decode");
    let window = Window {
        center: -500.0,
        width: 1000.0,
    };
    for function in [
        VoiFunction::Linear,
        VoiFunction::LinearExact,
        VoiFunction::Sigmoid,
    ] {
        let params = RenderParams {
            window: Some(window),
            voi_function: Some(function),
            ..Default::default()
        };
        let out = pixels(&header, &frame, params);
        for i in [0usize, 500, 1024, 1500, 2000, 2500, 4095] {
            let x = f64::from(values[i]) - 1024.0;
            assert_eq!(
                out.data[i],
                to_grey(voi::apply(function, window, x)),
                "{function:?} at {i}"
            );
        }
    }
    // No function requested: the header's SIGMOID applies, with the header window.
    let out = pixels(&header, &frame, RenderParams::default());
    let header_window = Window {
        center: 40.0,
        width: 400.0,
    };
    let x = f64::from(values[3000]) - 1024.0;
    assert_eq!(
        out.data[3000],
        to_grey(voi::apply(VoiFunction::Sigmoid, header_window, x))
    );
    // LINEAR_EXACT by hand: x = c → 127.5 → 128; x = c + w/2 → 255; x = c − w/2 → 0.
    let exact = VoiFunction::LinearExact;
    assert_eq!(to_grey(voi::apply(exact, window, -500.0)), 128);
    assert_eq!(voi::apply(exact, window, 0.0), 255.0);
    assert_eq!(voi::apply(exact, window, -1000.0), 0.0);
    assert_eq!(voi::apply(VoiFunction::Sigmoid, window, -500.0), 127.5);
}

#[test]
fn without_a_window_the_modality_range_is_stretched() {
    let (mut header, values) = ct_ramp();
    header.window_centers.clear();
    header.window_widths.clear();
    let frame =
        decode_frame(&header, FrameData::Native(le(&words_with_junk(&values)))).expect("decode");
    for function in [VoiFunction::Linear, VoiFunction::LinearExact] {
        let params = RenderParams {
            voi_function: Some(function),
            ..Default::default()
        };
        let out = pixels(&header, &frame, params);
        assert_eq!(out.data[0], 0, "{function:?}");
        assert_eq!(out.data[4095], 255, "{function:?}");
        assert!(
            out.data.windows(2).all(|w| w[0] <= w[1]),
            "{function:?} monotonic"
        );
    }
}

#[test]
fn monochrome1_is_inverted_after_voi() {
    let (mut header, values) = ct_ramp();
    let words = le(&words_with_junk(&values));
    let m2 = decode_frame(&header, FrameData::Native(words.clone())).expect("decode");
    header.photometric_interpretation = "MONOCHROME1".to_owned();
    let m1 = decode_frame(&header, FrameData::Native(words)).expect("decode");
    let a = pixels(&header, &m2, RenderParams::default());
    let b = pixels(&header, &m1, RenderParams::default());
    assert!(a.data.iter().zip(&b.data).all(|(x, y)| *x == 255 - *y));
}

#[test]
fn big_endian_native_frame_decodes_like_little_endian() {
    let (header, values) = ct_ramp();
    let words = words_with_junk(&values);
    let little = decode_frame(&header, FrameData::Native(le(&words))).expect("decode");
    let mut be_header = header.clone();
    be_header.transfer_syntax_uid = EXPLICIT_VR_BIG_ENDIAN.to_owned();
    let big = decode_frame(&be_header, FrameData::Native(be(&words))).expect("decode");
    assert_eq!(little.samples(), big.samples());
    assert_eq!(native_little_endian(&big), le(&words).to_vec());
}

#[test]
fn unsigned_8_bit_with_rescale_and_odd_transfer_syntax_padding() {
    let mut header = ImageHeader::monochrome("1.2.840.10008.1.2", 3, 5, 8, 8, false);
    header.rescale_slope = 2.0;
    header.rescale_intercept = -10.0;
    let mut data: Vec<u8> = (0..15).map(|i| i * 17).collect();
    data.push(0); // pad byte of an odd-length value
    let frame = decode_frame(&header, FrameData::Native(data.into())).expect("decode");
    assert_eq!(frame.samples().len(), 15);
    let params = RenderParams {
        window: Some(Window {
            center: 200.0,
            width: 300.0,
        }),
        ..Default::default()
    };
    let out = pixels(&header, &frame, params);
    for i in 0..15usize {
        let x = (i * 17) as f64 * 2.0 - 10.0;
        assert_eq!(
            out.data[i],
            to_grey(voi::apply(
                VoiFunction::Linear,
                params.window.expect("set"),
                x
            ))
        );
    }
}

fn rgb_header(photometric: &str, planar: u16) -> ImageHeader {
    ImageHeader {
        samples_per_pixel: 3,
        photometric_interpretation: photometric.to_owned(),
        planar_configuration: planar,
        ..ImageHeader::monochrome(EXPLICIT_LE, 2, 2, 8, 8, false)
    }
}

#[test]
fn rgb_passes_through_and_planar_frames_are_interleaved() {
    let interleaved: Vec<u8> = (0..12).map(|i| i * 20).collect();
    let header = rgb_header("RGB", 0);
    let frame = decode_frame(&header, FrameData::Native(interleaved.clone().into())).expect("rgb");
    let out = pixels(&header, &frame, RenderParams::default());
    assert_eq!(out.channels, 3);
    assert_eq!(out.data, interleaved);

    let planar: Vec<u8> = (0..3)
        .flat_map(|c| {
            interleaved
                .iter()
                .skip(c)
                .step_by(3)
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    let header = rgb_header("RGB", 1);
    let frame = decode_frame(&header, FrameData::Native(planar.into())).expect("planar");
    assert_eq!(native_little_endian(&frame), interleaved);
}

#[test]
fn ybr_full_and_ybr_full_422_become_rgb() {
    // Y Cb Cr of pure red, green, blue and mid grey.
    let ybr = [76u8, 85, 255, 150, 44, 21, 29, 255, 107, 128, 128, 128];
    let header = rgb_header("YBR_FULL", 0);
    let frame = decode_frame(&header, FrameData::Native(ybr.to_vec().into())).expect("ybr");
    let out = pixels(&header, &frame, RenderParams::default());
    let expected = [[255u8, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]];
    for (px, want) in out.data.chunks_exact(3).zip(expected) {
        for (got, want) in px.iter().zip(want) {
            assert!(got.abs_diff(want) <= 2, "{px:?} vs {want:?}");
        }
    }
    // 4:2:2: Y1 Y2 Cb Cr per pair of pixels.
    let header = rgb_header("YBR_FULL_422", 0);
    let frame = decode_frame(
        &header,
        FrameData::Native(vec![10u8, 20, 128, 128, 30, 40, 128, 128].into()),
    )
    .expect("422");
    assert_eq!(*frame.photometric(), Photometric::YbrFull);
    let out = pixels(&header, &frame, RenderParams::default());
    assert_eq!(
        out.data,
        vec![10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]
    );
}

#[test]
fn one_bit_frames_unpack_render_and_repack() {
    let header = ImageHeader::monochrome(EXPLICIT_LE, 3, 5, 1, 1, false);
    let packed = vec![0b1010_0110u8, 0b0101_0011];
    let frame = decode_frame(&header, FrameData::Native(packed.clone().into())).expect("1-bit");
    assert_eq!(frame.stored_value(1), Some(1));
    assert_eq!(frame.stored_value(3), Some(0));
    let out = pixels(&header, &frame, RenderParams::default());
    assert_eq!(out.data[..4], [0, 255, 255, 0]);
    // 15 bits: the 16th bit is padding and comes back zero.
    assert_eq!(native_little_endian(&frame), vec![0b1010_0110, 0b0101_0011]);
}

#[test]
fn png_output_has_the_rendered_pixels_and_viewport_shrinks() {
    let (header, values) = ct_ramp();
    let frame =
        decode_frame(&header, FrameData::Native(le(&words_with_junk(&values)))).expect("decode");
    let expected = pixels(&header, &frame, RenderParams::default());
    let png = render(&header, &frame, &RenderParams::default()).expect("png");
    let decoded = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .expect("png decodes")
        .into_luma8();
    assert_eq!(decoded.into_raw(), expected.data);

    let params = RenderParams {
        viewport: Some((16, 32)),
        format: ImageFormat::Jpeg { quality: 90 },
        ..Default::default()
    };
    let jpeg = render(&header, &frame, &params).expect("jpeg");
    let decoded =
        image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).expect("jpeg decodes");
    assert_eq!((decoded.width(), decoded.height()), (16, 16));
    // A viewport larger than the frame does not enlarge it.
    let params = RenderParams {
        viewport: Some((1000, 500)),
        ..Default::default()
    };
    let out = pixels(&header, &frame, params);
    assert_eq!((out.width, out.height), (64, 64));
}

/// A source region is cut from the rendered frame, flipped where its
/// width or height is negative, and scaled up or down to fill the
/// viewport; one outside the frame is refused.
#[test]
fn a_source_region_is_cut_flipped_and_zoomed() {
    let (header, values) = ct_ramp();
    let frame =
        decode_frame(&header, FrameData::Native(le(&words_with_junk(&values)))).expect("decode");
    let full = pixels(&header, &frame, RenderParams::default());
    let at = |x: u32, y: u32| full.data[(y * 64 + x) as usize];
    let region = |x, y, width, height| RenderParams {
        region: Some(SourceRegion {
            x,
            y,
            width,
            height,
        }),
        ..Default::default()
    };
    let part = pixels(&header, &frame, region(10, 40, Some(8), Some(4)));
    assert_eq!((part.width, part.height), (8, 4));
    assert_eq!(part.data[0], at(10, 40));
    assert_eq!(part.data[8 * 3 + 7], at(17, 43));
    let flipped = pixels(&header, &frame, region(10, 40, Some(-8), Some(-4)));
    assert_eq!(flipped.data[0], at(17, 43));
    assert_eq!(flipped.data[8 * 3 + 7], at(10, 40));
    // To the frame's edge when the extent is left out.
    let rest = pixels(&header, &frame, region(60, 62, None, None));
    assert_eq!((rest.width, rest.height), (4, 2));
    // A region fills the viewport, keeping its aspect ratio: a zoom.
    let zoomed = RenderParams {
        viewport: Some((64, 64)),
        ..region(0, 0, Some(16), Some(8))
    };
    let out = pixels(&header, &frame, zoomed);
    assert_eq!((out.width, out.height), (64, 32));
    for outside in [
        region(60, 0, Some(8), Some(8)),
        region(0, 0, Some(-65), Some(8)),
        region(64, 0, None, None),
    ] {
        let error = render_pixels(&header, &frame, &outside).expect_err("outside the frame");
        assert!(error.to_string().contains("not inside"), "{error}");
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let (header, values) = ct_ramp();
    let words = le(&words_with_junk(&values));
    let short = FrameData::Native(words.slice(..100));
    assert!(matches!(
        decode_frame(&header, short),
        Err(RenderError::TruncatedFrame {
            expected: 8192,
            actual: 100
        })
    ));
    let mut unknown = header.clone();
    unknown.transfer_syntax_uid = "1.2.3.4".to_owned();
    let err = decode_frame(&unknown, FrameData::Native(words.clone())).expect_err("must fail");
    assert_eq!(err.to_string(), "transfer syntax 1.2.3.4 is unknown");
    let err =
        decode_frame(&header, FrameData::Encapsulated(vec![words.clone()])).expect_err("must fail");
    assert!(
        matches!(err, RenderError::FrameKindMismatch { .. }),
        "{err}"
    );
    let mut mpeg = header.clone();
    mpeg.transfer_syntax_uid = "1.2.840.10008.1.2.4.100".to_owned();
    let err =
        decode_frame(&mpeg, FrameData::Encapsulated(vec![words.clone()])).expect_err("must fail");
    assert!(
        err.to_string().ends_with("is not supported for decoding"),
        "{err}"
    );

    let frame = decode_frame(&header, FrameData::Native(words)).expect("decode");
    let bad_window = RenderParams {
        window: Some(Window {
            center: 0.0,
            width: 0.5,
        }),
        ..Default::default()
    };
    assert!(matches!(
        render(&header, &frame, &bad_window),
        Err(RenderError::InvalidWindow { .. })
    ));
    let bad_quality = RenderParams {
        format: ImageFormat::Jpeg { quality: 0 },
        ..Default::default()
    };
    assert!(matches!(
        render(&header, &frame, &bad_quality),
        Err(RenderError::InvalidParams(_))
    ));

    let mut palette = ImageHeader::monochrome(EXPLICIT_LE, 2, 2, 8, 8, false);
    palette.photometric_interpretation = "PALETTE COLOR".to_owned();
    let frame = decode_frame(&palette, FrameData::Native(vec![0u8; 4].into())).expect("decode");
    let err = render(&palette, &frame, &RenderParams::default()).expect_err("must fail");
    assert!(err.to_string().contains("PALETTE COLOR"), "{err}");

    let mut wide = header.clone();
    wide.bits_allocated = 32;
    let err = decode_frame(&wide, FrameData::Native(Bytes::new())).expect_err("must fail");
    assert!(err.to_string().contains("BitsAllocated 32"), "{err}");
}

#[test]
fn invalid_header_window_falls_back_to_the_modality_range() {
    let (mut header, values) = ct_ramp();
    header.window_widths = vec![0.0];
    let frame =
        decode_frame(&header, FrameData::Native(le(&words_with_junk(&values)))).expect("decode");
    let out = pixels(&header, &frame, RenderParams::default());
    assert_eq!((out.data[0], out.data[4095]), (0, 255));
}

/// Timing of the `/rendered` path for a CT-sized frame; run with
/// `--ignored --nocapture` (in release for representative numbers).
#[test]
#[ignore = "timing, not correctness"]
fn timing_512_by_512_16_bit_decode_window_png() {
    let mut header = ImageHeader::monochrome(EXPLICIT_LE, 512, 512, 16, 12, true);
    header.rescale_intercept = -1024.0;
    header.window_centers = vec![40.0];
    header.window_widths = vec![400.0];
    let words: Vec<u16> = (0..512u32 * 512)
        .map(|i| ((i % 512 + i / 512 * 3) % 4096) as u16)
        .collect();
    let data = le(&words);
    let runs = 20u32;
    let mut times = [std::time::Duration::ZERO; 3];
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let frame = decode_frame(&header, FrameData::Native(data.clone())).expect("decode");
        let decoded = start.elapsed();
        let pixels = pixels(&header, &frame, RenderParams::default());
        let windowed = start.elapsed();
        let png = encode(&pixels, ImageFormat::Png).expect("png");
        times[0] += decoded;
        times[1] += windowed - decoded;
        times[2] += start.elapsed() - windowed;
        assert!(!png.is_empty());
    }
    let [decode, window, png] = times.map(|t| t / runs);
    eprintln!("512×512 16-bit: decode {decode:?}, window {window:?}, PNG {png:?}");
}

#[test]
fn palette_frames_render_through_their_table_and_signed_values_index_it() {
    use viewer_core::palette::{ChannelData, Descriptor, PaletteLut};
    // Entries for stored values −2..=1: red rises, green falls, blue fixed.
    let d = Descriptor {
        entries: 4,
        first_mapped: -2,
        bits: 8,
    };
    let (r, g, b) = ([0u8, 80, 160, 240], [240u8, 160, 80, 0], [7u8; 4]);
    let lut = PaletteLut::new([
        (d, ChannelData::Plain(&r)),
        (d, ChannelData::Plain(&g)),
        (d, ChannelData::Plain(&b)),
    ])
    .expect("palette");
    let mut header = ImageHeader::monochrome(EXPLICIT_LE, 1, 4, 16, 12, true);
    header.photometric_interpretation = "PALETTE COLOR".to_owned();
    header.palette = Some(lut);
    // 12-bit two's complement −2, −1, 0, 1, with junk above bit 11.
    let words: Vec<u8> = [0xFFFEu16, 0xFFFF, 0xF000, 0x0001]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let frame = decode_frame(&header, FrameData::Native(words.into())).expect("decode");
    let out = pixels(&header, &frame, RenderParams::default());
    assert_eq!(out.channels, 3);
    assert_eq!(out.data, vec![0, 240, 7, 80, 160, 7, 160, 80, 7, 240, 0, 7]);
}
