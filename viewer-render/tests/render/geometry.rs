//! Zoom, interpolation, rotation and flips through `clip_to_image`, and
//! several viewports in one frame.

use viewer_render::{DisplayParams, Interpolation, TexelData, VoiFunction};

use crate::common::*;

/// A 4 × 4 image of values 0..=255, and the window that shows stored `v`
/// as the byte `v` (LINEAR_EXACT, centre 127.5, width 255: g = v / 255).
const SMALL: [u8; 16] = [
    0, 40, 80, 120, //
    200, 160, 120, 80, //
    10, 250, 30, 220, //
    255, 0, 255, 0,
];

fn identity_window(clip_to_image: [f32; 6], interpolation: Interpolation) -> DisplayParams {
    DisplayParams {
        clip_to_image,
        interpolation,
        ..params(127.5, 255.0, VoiFunction::LinearExact)
    }
}

fn small(x: i64, y: i64) -> f64 {
    let x = x.clamp(0, 3);
    let y = y.clamp(0, 3);
    f64::from(SMALL[(y * 4 + x) as usize])
}

/// Bilinear between pixel centres, edges extended.
fn bilinear(u: f64, v: f64) -> f64 {
    let (u, v) = (u - 0.5, v - 0.5);
    let (x, y) = (u.floor(), v.floor());
    let (tx, ty) = (u - x, v - y);
    let (x, y) = (x as i64, y as i64);
    let top = small(x, y) * (1.0 - tx) + small(x + 1, y) * tx;
    let bottom = small(x, y + 1) * (1.0 - tx) + small(x + 1, y + 1) * tx;
    top * (1.0 - ty) + bottom * ty
}

fn catmull_rom(t: f64) -> [f64; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

fn bicubic(u: f64, v: f64) -> f64 {
    let (u, v) = (u - 0.5, v - 0.5);
    let (x, y) = (u.floor(), v.floor());
    let (wx, wy) = (catmull_rom(u - x), catmull_rom(v - y));
    let (x, y) = (x as i64 - 1, y as i64 - 1);
    let mut sum = 0.0;
    for j in 0..4 {
        for i in 0..4 {
            sum += small(x + i, y + j) * wx[i as usize] * wy[j as usize];
        }
    }
    sum
}

/// Draws SMALL zoomed 2× into an 8 × 8 viewport and compares each pixel
/// with `reference` at its image point ((x + 0.5) / 2, (y + 0.5) / 2).
fn zoom_twice(interpolation: Interpolation, reference: fn(f64, f64) -> f64) -> Vec<u8> {
    let Some(mut renderer) = renderer(8, 8) else {
        return Vec::new();
    };
    let image = upload(&mut renderer, 4, 4, TexelData::U8(SMALL.to_vec()));
    // col = 2x + 2, row = −2y + 2: the 4 × 4 image over the 8 × 8 viewport.
    let p = identity_window(fit(4, 4), interpolation);
    renderer
        .draw(&[(viewport(0, 0, 8, 8), image, p)])
        .expect("draw");
    let pixels = read(&renderer);
    for y in 0..8 {
        for x in 0..8 {
            let (u, v) = ((f64::from(x) + 0.5) / 2.0, (f64::from(y) + 0.5) / 2.0);
            let expected = reference(u, v).clamp(0.0, 255.0);
            let actual = f64::from(grey(&pixels, 8, x, y));
            // ±1: the GPU interpolates in f32 at positions interpolated
            // across the viewport, then rounds to a byte.
            assert!(
                (actual - expected).abs() <= 1.0,
                "{interpolation:?} ({x}, {y}) at ({u}, {v}): {actual}, expected {expected}"
            );
        }
    }
    pixels
}

#[test]
fn bilinear_zoom_interpolates_between_neighbours() {
    let pixels = zoom_twice(Interpolation::Bilinear, bilinear);
    if pixels.is_empty() {
        return;
    }
    // Output (1, 0) lies at image (0.75, 0.25): a quarter of the way from
    // the centre of 0 to that of 40 across, edge row above: 10.
    assert_eq!(grey(&pixels, 8, 1, 0), 10);
    // Output (2, 2) at (1.25, 1.25): three quarters of the way from the
    // centres at 0.5 to those at 1.5 both ways, so 0, 40, 200, 160 weigh
    // 1/16, 3/16, 3/16, 9/16: (0 + 120 + 600 + 1440) / 16 = 135.
    assert_eq!(grey(&pixels, 8, 2, 2), 135);
}

#[test]
fn bicubic_zoom_follows_catmull_rom() {
    let bicubic_pixels = zoom_twice(Interpolation::Bicubic, bicubic);
    if bicubic_pixels.is_empty() {
        return;
    }
    let linear_pixels = zoom_twice(Interpolation::Bilinear, bilinear);
    assert_ne!(bicubic_pixels, linear_pixels);
}

#[test]
fn nearest_zoom_repeats_each_pixel() {
    let pixels = zoom_twice(Interpolation::Nearest, |u, v| {
        small(u.floor() as i64, v.floor() as i64)
    });
    if pixels.is_empty() {
        return;
    }
    // Every 2 × 2 block is one stored value, unchanged.
    for (i, &value) in SMALL.iter().enumerate() {
        let (x, y) = (i as u32 % 4 * 2, i as u32 / 4 * 2);
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            assert_eq!(grey(&pixels, 8, x + dx, y + dy), value);
        }
    }
}

/// A 6 × 4 image whose value says where it is: 10 × column + row.
fn labelled() -> Vec<u8> {
    (0..24).map(|i| (i % 6 * 10 + i / 6) as u8).collect()
}

#[test]
fn flip_and_rotation_through_the_matrix() {
    let Some(mut renderer) = renderer(6, 6) else {
        return;
    };
    let image = upload(&mut renderer, 6, 4, TexelData::U8(labelled()));
    let value = |c: u32, r: u32| (c * 10 + r) as u8;

    // Horizontal flip: col = −3x + 3, row = −2y + 2.
    let flip = identity_window([-3.0, 0.0, 3.0, 0.0, -2.0, 2.0], Interpolation::Nearest);
    renderer
        .draw(&[(viewport(0, 0, 6, 4), image, flip)])
        .expect("draw");
    let pixels = read(&renderer);
    for y in 0..4 {
        for x in 0..6 {
            assert_eq!(grey(&pixels, 6, x, y), value(5 - x, y), "flip ({x}, {y})");
        }
    }

    // 90° clockwise into a 4 × 6 viewport: the image's top row becomes
    // the right column. Screen (x, y) shows image (column y, row 3 − x):
    // col = −3y + 3, row = −2x + 2.
    let rotate = identity_window([0.0, -3.0, 3.0, -2.0, 0.0, 2.0], Interpolation::Nearest);
    renderer
        .draw(&[(viewport(0, 0, 4, 6), image, rotate)])
        .expect("draw");
    let pixels = read(&renderer);
    for y in 0..6 {
        for x in 0..4 {
            assert_eq!(
                grey(&pixels, 6, x, y),
                value(y, 3 - x),
                "rotation ({x}, {y})"
            );
        }
        // Outside the viewport stays as cleared: black.
        assert_eq!(grey(&pixels, 6, 4, y), 0);
    }
}

#[test]
fn outside_the_image_is_black() {
    let Some(mut renderer) = renderer(8, 8) else {
        return;
    };
    let image = upload(&mut renderer, 4, 4, TexelData::U8(vec![200; 16]));
    // Zoomed out 2×, centred: col = 4x + 2 spans −2..6, so the image
    // covers the viewport's middle 4 × 4.
    let p = DisplayParams {
        clip_to_image: [4.0, 0.0, 2.0, 0.0, -4.0, 2.0],
        // Everything in the image white, even inverted the outside black.
        invert: true,
        ..params(500.0, 10.0, VoiFunction::Linear)
    };
    renderer
        .draw(&[(viewport(0, 0, 8, 8), image, p)])
        .expect("draw");
    let pixels = read(&renderer);
    for y in 0..8 {
        for x in 0..8 {
            let inside = (2..6).contains(&x) && (2..6).contains(&y);
            let expected = if inside { 255 } else { 0 };
            assert_eq!(grey(&pixels, 8, x, y), expected, "({x}, {y})");
        }
    }
}

#[test]
fn two_viewports_side_by_side() {
    let Some(mut renderer) = renderer(12, 4) else {
        return;
    };
    let left = upload(&mut renderer, 6, 4, TexelData::U8(labelled()));
    let right = upload(&mut renderer, 6, 4, TexelData::I16(vec![-50; 24]));
    let left_params = identity_window(fit(6, 4), Interpolation::Nearest);
    // −50 in a window centred on −50: LINEAR → (0.5 / 99 + 0.5) × 255 =
    // 128.79 → 129.
    let right_params = DisplayParams {
        clip_to_image: fit(6, 4),
        ..params(-50.0, 100.0, VoiFunction::Linear)
    };
    renderer
        .draw(&[
            (viewport(0, 0, 6, 4), left, left_params),
            (viewport(6, 0, 6, 4), right, right_params),
        ])
        .expect("draw");
    let pixels = read(&renderer);
    for y in 0..4 {
        for x in 0..6 {
            assert_eq!(grey(&pixels, 12, x, y), (x * 10 + y) as u8);
            assert_eq!(grey(&pixels, 12, 6 + x, y), 129);
        }
    }
}

#[test]
fn two_by_two_layout_windows_each_viewport() {
    let Some(mut renderer) = renderer(8, 8) else {
        return;
    };
    // One image of 100s, four windows; five draws also grow the uniform
    // buffer past its first size.
    let image = upload(&mut renderer, 4, 4, TexelData::I16(vec![100; 16]));
    let centres = [100.5, 99.5, 100.0, 300.0];
    let draws: Vec<_> = centres
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let (x, y) = (i as u32 % 2 * 4, i as u32 / 2 * 4);
            let p = DisplayParams {
                clip_to_image: fit(4, 4),
                ..params(c, 1.0, VoiFunction::Linear)
            };
            (viewport(x, y, 4, 4), image, p)
        })
        .collect();
    let mut five = draws.clone();
    // A fifth draw over the top-left quadrant's top-left pixel only.
    five.push((viewport(0, 0, 1, 1), image, draws[1].2));
    renderer.draw(&five).expect("draw");
    let pixels = read(&renderer);
    // Width 1 is a threshold at c − 0.5: 100 ≤ 100 black; 100 > 99 white;
    // 100 > 99.5 white; 100 ≤ 299.5 black.
    let expected = [0, 255, 255, 0];
    for y in 0..8 {
        for x in 0..8 {
            let quadrant = (y / 4 * 2 + x / 4) as usize;
            let want = if (x, y) == (0, 0) {
                255
            } else {
                expected[quadrant]
            };
            assert_eq!(grey(&pixels, 8, x, y), want, "({x}, {y})");
        }
    }
}
