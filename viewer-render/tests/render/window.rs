//! The Modality LUT and the VOI functions at 1:1, nearest neighbour.

use viewer_render::{DisplayParams, TexelData, VoiFunction, display_inverted};

use crate::common::*;

const W: u32 = 200;
const H: u32 = 50;
const SLOPE: f32 = 2.0;
const INTERCEPT: f32 = -1024.0;

/// Stored values 12..=1011 row by row, so that with slope 2 and intercept
/// −1024 the modality values run from −1000 to 998 HU in steps of 2.
fn ramp() -> Vec<i16> {
    (0..W * H).map(|i| 12 + (i / 10) as i16).collect()
}

fn ct_params(center: f32, width: f32, voi: VoiFunction) -> DisplayParams {
    DisplayParams {
        slope: SLOPE,
        intercept: INTERCEPT,
        clip_to_image: fit(W, H),
        ..params(center, width, voi)
    }
}

/// Draws the ramp with `p` and compares every pixel with the window on
/// the CPU; returns the pixels.
fn draw_and_check(renderer: &mut viewer_render::Renderer, p: DisplayParams) -> Vec<u8> {
    let stored = ramp();
    let image = upload(renderer, W, H, TexelData::I16(stored.clone()));
    renderer
        .draw(&[(viewport(0, 0, W, H), image, p)])
        .expect("draw");
    let pixels = read(renderer);
    let mut boundary_cases = 0;
    for y in 0..H {
        for x in 0..W {
            let s = f64::from(stored[(y * W + x) as usize]);
            let hu = s * f64::from(SLOPE) + f64::from(INTERCEPT);
            let mut g = voi(
                hu,
                f64::from(p.window_center),
                f64::from(p.window_width),
                p.voi,
            );
            if p.invert {
                g = 1.0 - g;
            }
            let what = || format!("({x}, {y}) at {hu} HU with {p:?}");
            boundary_cases += usize::from(check_grey(grey(&pixels, W, x, y), g, &what));
        }
    }
    // The tolerance is for rare ties, not a way for a wrong frame to pass:
    // at most 1% of the pixels (LINEAR_EXACT at 40/400 has exact ties,
    // g × 255 = k + 0.5, at every 80 HU: 5 values of 10 pixels each).
    assert!(
        boundary_cases <= (W * H / 100) as usize,
        "{boundary_cases} pixels near a rounding boundary"
    );
    renderer.release(image);
    pixels
}

fn distinct(pixels: &[u8]) -> usize {
    let mut seen = [false; 256];
    pixels.chunks(4).for_each(|p| seen[p[0] as usize] = true);
    seen.iter().filter(|&&s| s).count()
}

#[test]
fn hounsfield_ramp_matches_the_linear_window() {
    let Some(mut renderer) = renderer(W, H) else {
        return;
    };
    // Soft tissue: −160..240 HU spread over the grey scale, the rest clipped.
    let pixels = draw_and_check(&mut renderer, ct_params(40.0, 400.0, VoiFunction::Linear));
    assert!(
        distinct(&pixels) > 150,
        "the window should give a full grey ramp"
    );
    // First pixel −1000 HU is black, last 998 HU white.
    assert_eq!(grey(&pixels, W, 0, 0), 0);
    assert_eq!(grey(&pixels, W, W - 1, H - 1), 255);
}

#[test]
fn changing_the_window_changes_the_grey_as_computed() {
    let Some(mut renderer) = renderer(W, H) else {
        return;
    };
    let soft = draw_and_check(&mut renderer, ct_params(40.0, 400.0, VoiFunction::Linear));
    let lung = draw_and_check(
        &mut renderer,
        ct_params(-600.0, 1500.0, VoiFunction::Linear),
    );
    assert_ne!(soft, lung);
    // −600 HU (stored 212, pixel 2000 = row 10, column 0) is the lung
    // window's centre: ((−600 − (−600.5)) / 1499 + 0.5) × 255 = 127.59 → 128.
    assert_eq!(grey(&lung, W, 0, 10), 128);
    // The soft tissue window shows it black.
    assert_eq!(grey(&soft, W, 0, 10), 0);
}

#[test]
fn narrow_window_is_a_threshold() {
    let Some(mut renderer) = renderer(W, H) else {
        return;
    };
    // Width 1: x ≤ c − 0.5 black, above white.
    let pixels = draw_and_check(&mut renderer, ct_params(100.5, 1.0, VoiFunction::Linear));
    assert_eq!(distinct(&pixels), 2);
}

#[test]
fn linear_exact_and_sigmoid_match_their_formulas() {
    let Some(mut renderer) = renderer(W, H) else {
        return;
    };
    let exact = draw_and_check(
        &mut renderer,
        ct_params(40.0, 400.0, VoiFunction::LinearExact),
    );
    let sigmoid = draw_and_check(&mut renderer, ct_params(40.0, 400.0, VoiFunction::Sigmoid));
    let linear = draw_and_check(&mut renderer, ct_params(40.0, 400.0, VoiFunction::Linear));
    assert_ne!(exact, sigmoid);
    // At −160 HU, the lower edge of the linear window, the sigmoid is
    // still grey: 255 / (1 + e^(−4 × (−200) / 400)) = 255 / (1 + e²) =
    // 30.4 → 30. −160 HU is stored 432, pixel 4200 = row 21, column 0.
    assert_eq!(grey(&sigmoid, W, 0, 21), 30);
    assert_eq!(grey(&linear, W, 0, 21), 0);
    // LINEAR_EXACT at −160 = c − w/2 is still 0 (≤ is black); at −158
    // (pixel 4210 = row 21, column 10): 2/400 × 255 = 1.275 → 1.
    assert_eq!(grey(&exact, W, 0, 21), 0);
    assert_eq!(grey(&exact, W, 10, 21), 1);
}

#[test]
fn monochrome1_is_drawn_inverted() {
    let Some(mut renderer) = renderer(W, H) else {
        return;
    };
    let plain = draw_and_check(&mut renderer, ct_params(40.0, 400.0, VoiFunction::Linear));
    let monochrome1 = DisplayParams {
        invert: display_inverted(true, false),
        ..ct_params(40.0, 400.0, VoiFunction::Linear)
    };
    let inverted = draw_and_check(&mut renderer, monochrome1);
    for (a, b) in plain.chunks(4).zip(inverted.chunks(4)) {
        assert_eq!(u16::from(a[0]) + u16::from(b[0]), 255);
    }
    // A user invert of a MONOCHROME1 image shows it as MONOCHROME2.
    let both = DisplayParams {
        invert: display_inverted(true, true),
        ..ct_params(40.0, 400.0, VoiFunction::Linear)
    };
    assert_eq!(draw_and_check(&mut renderer, both), plain);
}

#[test]
fn srgb_target_stores_the_same_bytes() {
    let Some(mut plain) = renderer(W, H) else {
        return;
    };
    let mut srgb = futures::executor::block_on(viewer_render::Renderer::headless_srgb(W, H))
        .expect("an sRGB target where a plain one works");
    for voi in [VoiFunction::Linear, VoiFunction::Sigmoid] {
        // −700..500 HU in steps of 2 is 600 values over 256 bytes.
        let p = ct_params(-100.0, 1200.0, voi);
        let expected = draw_and_check(&mut plain, p);
        if voi == VoiFunction::Linear {
            // Every byte occurs, so each step of the sRGB curve is
            // checked, the dark linear segment included.
            assert_eq!(distinct(&expected), 256);
        }
        assert_eq!(draw_and_check(&mut srgb, p), expected, "{voi:?}");
    }
}
