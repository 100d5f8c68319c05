//! Helpers shared by the rendering tests: a headless renderer (or a loud
//! skip), the CPU reference of the window, matrices and pixel access.

use std::io::Write;

use viewer_render::{
    DisplayParams, GpuImage, ImageId, Interpolation, RenderError, Renderer, TexelData, Viewport,
    VoiFunction,
};

/// A headless renderer, or `None` (after saying why) where no adapter
/// exists. With `CI` set a missing adapter fails the test instead: CI
/// installs Mesa's lavapipe, so there it means a broken setup.
pub fn renderer(width: u32, height: u32) -> Option<Renderer> {
    or_skip(futures::executor::block_on(Renderer::headless(
        width, height,
    )))
}

/// Like [`renderer`], on a device whose 2D textures are at most `max_2d`
/// pixels per side.
pub fn renderer_with_texture_limit(width: u32, height: u32, max_2d: u32) -> Option<Renderer> {
    or_skip(futures::executor::block_on(
        Renderer::headless_with_texture_limit(width, height, max_2d),
    ))
}

fn or_skip(opened: Result<Renderer, RenderError>) -> Option<Renderer> {
    match opened {
        Ok(renderer) => Some(renderer),
        Err(RenderError::GpuUnavailable { reason }) if std::env::var_os("CI").is_none() => {
            // Written to the process's stderr directly: the test harness
            // captures `eprintln!`, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: no Vulkan adapter ({reason}); install mesa-vulkan-drivers \
                 (lavapipe) to run the rendering tests"
            );
            None
        }
        Err(e) => panic!("no renderer: {e}"),
    }
}

pub fn read(renderer: &Renderer) -> Vec<u8> {
    futures::executor::block_on(renderer.read_pixels()).expect("read back")
}

/// The VOI functions of PS3.3 C.11.2.1.2, in f64.
pub fn voi(x: f64, c: f64, w: f64, function: VoiFunction) -> f64 {
    let y = match function {
        VoiFunction::Linear => {
            let w = w.max(1.0);
            if x <= c - 0.5 - (w - 1.0) / 2.0 {
                0.0
            } else if x > c - 0.5 + (w - 1.0) / 2.0 {
                1.0
            } else {
                (x - (c - 0.5)) / (w - 1.0) + 0.5
            }
        }
        VoiFunction::LinearExact => {
            if x <= c - w / 2.0 {
                0.0
            } else if x > c + w / 2.0 {
                1.0
            } else {
                (x - c) / w + 0.5
            }
        }
        VoiFunction::Sigmoid => 1.0 / (1.0 + (-4.0 * (x - c) / w).exp()),
    };
    y.clamp(0.0, 1.0)
}

/// Checks a displayed byte against grey level `g`: it must be
/// `round(g × 255)`, except that where `g × 255` lies within 0.002 of a
/// rounding boundary the GPU's f32 arithmetic (and its `exp`, allowed a
/// few ULP of error) may land on the other side, so ±1 is accepted there.
/// Returns whether the case was such a boundary case.
pub fn check_grey(actual: u8, g: f64, what: &dyn Fn() -> String) -> bool {
    let scaled = g * 255.0;
    let expected = scaled.round();
    let near_boundary = (scaled.fract() - 0.5).abs() < 0.002;
    let difference = (f64::from(actual) - expected).abs();
    assert!(
        difference == 0.0 || (near_boundary && difference <= 1.0),
        "{}: displayed {actual}, expected {expected} (g × 255 = {scaled})",
        what()
    );
    near_boundary
}

/// `clip_to_image` showing a `width × height` image exactly filling its
/// viewport, top row at the top.
pub fn fit(width: u32, height: u32) -> [f32; 6] {
    let (w, h) = (width as f32, height as f32);
    [w / 2.0, 0.0, w / 2.0, 0.0, -h / 2.0, h / 2.0]
}

pub fn params(center: f32, width: f32, voi: VoiFunction) -> DisplayParams {
    DisplayParams {
        slope: 1.0,
        intercept: 0.0,
        window_center: center,
        window_width: width,
        voi,
        invert: false,
        clip_to_image: [1.0, 0.0, 1.0, 0.0, -1.0, 1.0],
        interpolation: Interpolation::Nearest,
    }
}

pub fn viewport(x: u32, y: u32, width: u32, height: u32) -> Viewport {
    Viewport {
        x,
        y,
        width,
        height,
    }
}

pub fn upload(renderer: &mut Renderer, width: u32, height: u32, texels: TexelData) -> ImageId {
    renderer
        .upload(&GpuImage {
            width,
            height,
            texels,
        })
        .expect("upload")
}

/// RGBA of pixel `(x, y)` in rows of `width` pixels.
pub fn pixel(pixels: &[u8], width: u32, x: u32, y: u32) -> [u8; 4] {
    let i = ((y * width + x) * 4) as usize;
    [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]]
}

/// Asserts that a pixel is a grey (R = G = B, opaque) and returns it.
pub fn grey(pixels: &[u8], width: u32, x: u32, y: u32) -> u8 {
    let [r, g, b, a] = pixel(pixels, width, x, y);
    assert!(
        r == g && g == b && a == 255,
        "({x}, {y}) is {r},{g},{b},{a}, not an opaque grey"
    );
    r
}
