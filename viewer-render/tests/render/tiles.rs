//! Images beyond the device's 2D texture limit: drawn from tiles, with
//! exactly the bytes of the same image drawn from one texture.

use viewer_render::{DisplayParams, Interpolation, Renderer, TexelData, VoiFunction};

use crate::common::*;

const TARGET: u32 = 64;
/// The capped device's 2D limit: a 300 × 200 image becomes 5 × 4 tiles
/// (cores of 60 pixels).
const LIMIT: u32 = 64;
const WIDTH: u32 = 300;
const HEIGHT: u32 = 200;

/// Noise in −1024..3072: any misplaced texel at a tile seam shows.
fn noise() -> Vec<i16> {
    let mut state = 0x2545_f491_u32;
    (0..WIDTH * HEIGHT)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 4096) as i16 - 1024
        })
        .collect()
}

fn shown(clip_to_image: [f32; 6], interpolation: Interpolation) -> DisplayParams {
    DisplayParams {
        clip_to_image,
        interpolation,
        ..params(1000.0, 4000.0, VoiFunction::Linear)
    }
}

fn draw(renderer: &mut Renderer, texels: &TexelData, p: DisplayParams) -> Vec<u8> {
    let image = upload(renderer, WIDTH, HEIGHT, texels.clone());
    renderer
        .draw(&[(viewport(0, 0, TARGET, TARGET), image, p)])
        .expect("draw");
    let pixels = read(renderer);
    renderer.release(image);
    pixels
}

/// The views: the whole image fitted (minified, letterboxed), 4× around
/// the corner where four tiles meet, 8× across the image's right edge at
/// a row seam, and turned by 30° at 1:1 across several seams.
fn views() -> Vec<(&'static str, [f32; 6])> {
    let (s, c) = (30f32.to_radians().sin(), 30f32.to_radians().cos());
    vec![
        ("fitted", [150.0, 0.0, 150.0, 0.0, -150.0, 100.0]),
        ("corner of four tiles", [8.0, 0.0, 60.0, 0.0, -8.0, 60.0]),
        ("right edge at a seam", [4.0, 0.0, 298.0, 0.0, -4.0, 180.0]),
        (
            "turned 30°",
            [32.0 * c, -32.0 * s, 120.0, -32.0 * s, -32.0 * c, 120.0],
        ),
    ]
}

#[test]
fn tiled_image_is_drawn_as_one_texture_would_be() {
    let Some(mut whole) = renderer(TARGET, TARGET) else {
        return;
    };
    let Some(mut tiled) = renderer_with_texture_limit(TARGET, TARGET, LIMIT) else {
        return;
    };
    assert_eq!(tiled.texture_limits().max_2d, LIMIT);
    assert!(whole.texture_limits().max_2d >= WIDTH);
    let texels = TexelData::I16(noise());
    for (name, matrix) in views() {
        for interpolation in [
            Interpolation::Nearest,
            Interpolation::Bilinear,
            Interpolation::Bicubic,
        ] {
            let p = shown(matrix, interpolation);
            let expected = draw(&mut whole, &texels, p);
            let actual = draw(&mut tiled, &texels, p);
            let greys: std::collections::BTreeSet<u8> =
                expected.chunks(4).map(|px| px[0]).collect();
            assert!(greys.len() > 20, "{name}: the view shows too little");
            if let Some(i) = (0..expected.len() / 4)
                .find(|&i| expected[i * 4..i * 4 + 4] != actual[i * 4..i * 4 + 4])
            {
                let (x, y) = (i as u32 % TARGET, i as u32 / TARGET);
                panic!(
                    "{name}, {interpolation:?}: pixel ({x}, {y}) is {:?} from tiles, {:?} from one texture",
                    &actual[i * 4..i * 4 + 4],
                    &expected[i * 4..i * 4 + 4]
                );
            }
        }
    }
}

#[test]
fn tiled_colour_image_keeps_its_colours() {
    let Some(mut tiled) = renderer_with_texture_limit(TARGET, TARGET, LIMIT) else {
        return;
    };
    // Each pixel's colour encodes its position: red = column mod 256,
    // green = row, blue = column / 256.
    let rgba: Vec<u8> = (0..WIDTH * HEIGHT)
        .flat_map(|i| {
            let (col, row) = (i % WIDTH, i / WIDTH);
            [(col % 256) as u8, row as u8, (col / 256) as u8, 255]
        })
        .collect();
    // 1:1 over columns 236..300, rows 150..214 (past the bottom edge).
    let p = shown(
        [32.0, 0.0, 268.0, 0.0, -32.0, 182.0],
        Interpolation::Nearest,
    );
    let pixels = draw(&mut tiled, &TexelData::Rgba8(rgba), p);
    for y in 0..TARGET {
        for x in 0..TARGET {
            let (col, row) = (236 + x, 150 + y);
            let expected = if row < HEIGHT {
                [(col % 256) as u8, row as u8, (col / 256) as u8, 255]
            } else {
                [0, 0, 0, 255]
            };
            assert_eq!(pixel(&pixels, TARGET, x, y), expected, "({x}, {y})");
        }
    }
}
