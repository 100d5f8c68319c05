//! Unsigned and 8-bit grey, RGB, large images, and what is refused.

use viewer_render::{DisplayParams, GpuImage, RenderError, TexelData, VoiFunction};

use crate::common::*;

#[test]
fn unsigned_16_bit_uses_the_full_range() {
    let (w, h) = (256, 64);
    let Some(mut renderer) = renderer(w, h) else {
        return;
    };
    // 0..=65535 in steps of 4, above 32767 so a signed upload would fail.
    let stored: Vec<u16> = (0..w * h).map(|i| (i * 4) as u16).collect();
    let image = upload(&mut renderer, w, h, TexelData::U16(stored.clone()));
    let p = DisplayParams {
        clip_to_image: fit(w, h),
        ..params(32768.0, 65536.0, VoiFunction::Linear)
    };
    renderer
        .draw(&[(viewport(0, 0, w, h), image, p)])
        .expect("draw");
    let pixels = read(&renderer);
    for y in 0..h {
        for x in 0..w {
            let s = f64::from(stored[(y * w + x) as usize]);
            let g = voi(s, 32768.0, 65536.0, VoiFunction::Linear);
            check_grey(grey(&pixels, w, x, y), g, &|| format!("({x}, {y}) = {s}"));
        }
    }
    // 65532 (the last pixel): (65532 − 32767.5) / 65535 + 0.5 → 254.998 → 255.
    assert_eq!(grey(&pixels, w, w - 1, h - 1), 255);
}

#[test]
fn eight_bit_with_rescale() {
    let (w, h) = (16, 16);
    let Some(mut renderer) = renderer(w, h) else {
        return;
    };
    let stored: Vec<u8> = (0..=255).collect();
    let image = upload(&mut renderer, w, h, TexelData::U8(stored.clone()));
    // Slope 0.5, intercept 10: modality 10..=137.5; LINEAR_EXACT over
    // 10..138 maps it to (x − 74) / 128 + 0.5.
    let p = DisplayParams {
        slope: 0.5,
        intercept: 10.0,
        clip_to_image: fit(w, h),
        ..params(74.0, 128.0, VoiFunction::LinearExact)
    };
    renderer
        .draw(&[(viewport(0, 0, w, h), image, p)])
        .expect("draw");
    let pixels = read(&renderer);
    for (i, &s) in stored.iter().enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        let g = voi(
            f64::from(s) * 0.5 + 10.0,
            74.0,
            128.0,
            VoiFunction::LinearExact,
        );
        check_grey(grey(&pixels, w, x, y), g, &|| format!("stored {s}"));
    }
    // Stored 128 → 74 → exactly 0.5 → 127.5 rounds to 128 (the shader
    // rounds half to even: 128 is even).
    assert_eq!(grey(&pixels, w, 0, 8), 128);
}

#[test]
fn rgb_passes_through_and_inverts() {
    let (w, h) = (8, 8);
    let Some(mut renderer) = renderer(w, h) else {
        return;
    };
    // Pseudo-random colour bytes (a linear congruential sequence), alpha
    // deliberately not 255: it must not show.
    let mut state = 7u32;
    let rgba: Vec<u8> = (0..w * h * 4)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 16) as u8
        })
        .collect();
    let image = upload(&mut renderer, w, h, TexelData::Rgba8(rgba.clone()));
    // A window that would turn any grey black: it must be ignored.
    let p = DisplayParams {
        clip_to_image: fit(w, h),
        ..params(10_000.0, 1.0, VoiFunction::Linear)
    };
    renderer
        .draw(&[(viewport(0, 0, w, h), image, p)])
        .expect("draw");
    let pixels = read(&renderer);
    for (out, input) in pixels.chunks(4).zip(rgba.chunks(4)) {
        assert_eq!(out, [input[0], input[1], input[2], 255]);
    }
    let inverted = DisplayParams { invert: true, ..p };
    renderer
        .draw(&[(viewport(0, 0, w, h), image, inverted)])
        .expect("draw");
    let pixels = read(&renderer);
    for (out, input) in pixels.chunks(4).zip(rgba.chunks(4)) {
        assert_eq!(out, [255 - input[0], 255 - input[1], 255 - input[2], 255]);
    }
}

#[test]
fn large_radiograph_fits_and_one_beyond_the_limit_is_tiled() {
    let Some(mut renderer) = renderer(64, 64) else {
        return;
    };
    let limits = renderer.texture_limits();
    eprintln!("texture limits of this adapter: {limits:?}");
    assert!(limits.max_2d >= 3000, "{limits:?}");
    // 3000 × 3000, value = (row + column) mod 4096.
    let (w, h) = (3000u32, 3000u32);
    let stored: Vec<u16> = (0..w * h)
        .map(|i| ((i / w + i % w) % 4096) as u16)
        .collect();
    let image = upload(&mut renderer, w, h, TexelData::U16(stored));
    // A 64 × 64 crop at 1:1 around the bottom right corner: image columns
    // and rows 2936..3000. Window 0..4095 LINEAR_EXACT.
    let p = DisplayParams {
        clip_to_image: [32.0, 0.0, 2968.0, 0.0, -32.0, 2968.0],
        ..params(2048.0, 4096.0, VoiFunction::LinearExact)
    };
    renderer
        .draw(&[(viewport(0, 0, 64, 64), image, p)])
        .expect("draw");
    let pixels = read(&renderer);
    for (x, y) in [(0, 0), (63, 63), (10, 50)] {
        let value = f64::from((2936 + x + 2936 + y) % 4096);
        let g = voi(value, 2048.0, 4096.0, VoiFunction::LinearExact);
        check_grey(grey(&pixels, 64, x, y), g, &|| {
            format!("({x}, {y}) = {value}")
        });
    }

    // One pixel wider than the device's limit: uploaded as tiles, and
    // its last column (beyond the limit) is drawn.
    let side = limits.max_2d + 1;
    let mut row = vec![0u8; side as usize];
    row[side as usize - 1] = 255;
    let wide = upload(&mut renderer, side, 1, TexelData::U8(row));
    let p = DisplayParams {
        // The last 64 columns over the 64 × 64 target, 1:1 across.
        clip_to_image: [32.0, 0.0, side as f32 - 32.0, 0.0, -0.5, 0.5],
        ..params(127.5, 255.0, VoiFunction::LinearExact)
    };
    renderer
        .draw(&[(viewport(0, 0, 64, 64), wide, p)])
        .expect("draw");
    let pixels = read(&renderer);
    assert_eq!(grey(&pixels, 64, 63, 10), 255);
    assert_eq!(grey(&pixels, 64, 62, 10), 0);
}

#[test]
fn bad_uploads_and_draws_are_errors_not_panics() {
    let Some(mut renderer) = renderer(16, 16) else {
        return;
    };
    let short = GpuImage {
        width: 4,
        height: 4,
        texels: TexelData::I16(vec![0; 15]),
    };
    assert!(matches!(
        renderer.upload(&short),
        Err(RenderError::TexelCount { .. })
    ));
    let image = upload(&mut renderer, 4, 4, TexelData::I16(vec![0; 16]));
    let p = params(0.0, 100.0, VoiFunction::Linear);
    let outside = renderer.draw(&[(viewport(8, 0, 9, 16), image, p)]);
    assert!(matches!(outside, Err(RenderError::ViewportOutside { .. })));
    renderer.release(image);
    let released = renderer.draw(&[(viewport(0, 0, 16, 16), image, p)]);
    assert!(matches!(released, Err(RenderError::UnknownHandle(_))));
    // The renderer still works afterwards.
    let image = upload(&mut renderer, 4, 4, TexelData::I16(vec![100; 16]));
    renderer
        .draw(&[(viewport(0, 0, 16, 16), image, p)])
        .expect("draw");
}
