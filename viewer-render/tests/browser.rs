//! The same windowed bytes on the canvas with WebGPU and with WebGL2, in
//! a real browser (headless Chromium through chromedriver).
//!
//! Run with `viewer-render/browser-test.sh` (it sets the test runner and
//! the Chromium flags that give headless WebGPU and WebGL2 in software).
//! Natively this file compiles to nothing.
#![cfg(target_arch = "wasm32")]

#[allow(dead_code)]
#[path = "render/common.rs"]
mod common;

use viewer_render::{
    BackendPreference, DisplayParams, Draw, GpuVolume, Renderer, Reslice, SlabMode, TexelData,
    VoiFunction,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use common::{check_grey, fit, params, viewport, voi};

wasm_bindgen_test_configure!(run_in_browser);

const W: u32 = 256;
const H: u32 = 16;

fn canvas(width: u32, height: u32) -> HtmlCanvasElement {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let canvas: HtmlCanvasElement = document
        .create_element("canvas")
        .expect("create canvas")
        .dyn_into()
        .expect("a canvas element");
    canvas.set_width(width);
    canvas.set_height(height);
    document
        .body()
        .expect("a body")
        .append_child(&canvas)
        .expect("attach canvas");
    canvas
}

/// What the page shows: the canvas drawn into a 2D canvas and read with
/// `getImageData` (both sRGB canvases, so no colour conversion).
fn displayed(source: &HtmlCanvasElement) -> Vec<u8> {
    let copy = canvas(source.width(), source.height());
    let context: CanvasRenderingContext2d = copy
        .get_context("2d")
        .expect("2d context")
        .expect("2d context")
        .dyn_into()
        .expect("a 2d context");
    context
        .draw_image_with_html_canvas_element(source, 0.0, 0.0)
        .expect("drawImage");
    let data = context
        .get_image_data(
            0.0,
            0.0,
            f64::from(source.width()),
            f64::from(source.height()),
        )
        .expect("getImageData");
    data.data().to_vec()
}

/// HU −1000..1000 across the width (stored 12..1012, slope 2, intercept
/// −1024), in a window that uses every byte.
fn ramp() -> Vec<i16> {
    (0..W * H)
        .map(|i| 12 + ((i % W) * 1000 / (W - 1)) as i16)
        .collect()
}

fn ct(voi: VoiFunction) -> DisplayParams {
    DisplayParams {
        slope: 2.0,
        intercept: -1024.0,
        clip_to_image: fit(W, H),
        ..params(-100.0, 1200.0, voi)
    }
}

fn check_ramp(pixels: &[u8], p: DisplayParams, source: &str) {
    let stored = ramp();
    for (i, s) in stored.iter().enumerate() {
        let hu = f64::from(*s) * 2.0 - 1024.0;
        let g = voi(hu, -100.0, 1200.0, p.voi);
        let rgba = &pixels[i * 4..i * 4 + 4];
        assert!(
            rgba[0] == rgba[1] && rgba[1] == rgba[2] && rgba[3] == 255,
            "{source} {i}: {rgba:?}"
        );
        check_grey(rgba[0], g, &|| format!("{source}: pixel {i} at {hu} HU"));
    }
}

async fn shows_the_window(preference: BackendPreference, backend: &str) {
    let target = canvas(W, H);
    let mut renderer = Renderer::for_canvas(target.clone(), preference)
        .await
        .expect("a renderer for the canvas");
    assert_eq!(renderer.backend(), backend);
    console_log!("{backend}: {:?}", renderer.texture_limits());
    let image = renderer
        .upload(&viewer_render::GpuImage {
            width: W,
            height: H,
            texels: TexelData::I16(ramp()),
        })
        .expect("upload");
    for voi in [VoiFunction::Linear, VoiFunction::Sigmoid] {
        let p = ct(voi);
        renderer
            .draw(&[(viewport(0, 0, W, H), image, p)])
            .expect("draw");
        // Read in the same task as the draw: the canvas still holds it.
        let shown = displayed(&target);
        check_ramp(&shown, p, &format!("{backend} canvas"));
        let read = renderer.read_pixels().await.expect("read back");
        assert_eq!(read, shown, "{backend}: read_pixels and the canvas differ");
    }
}

#[wasm_bindgen_test]
async fn webgpu_canvas_shows_the_computed_bytes() {
    shows_the_window(BackendPreference::WebGpu, "webgpu").await;
}

#[wasm_bindgen_test]
async fn webgl2_canvas_shows_the_computed_bytes() {
    shows_the_window(BackendPreference::WebGl2, "webgl2").await;
}

#[wasm_bindgen_test]
async fn auto_prefers_webgpu() {
    let renderer = Renderer::for_canvas(canvas(4, 4), BackendPreference::Auto)
        .await
        .expect("a renderer");
    assert_eq!(renderer.backend(), "webgpu");
}

/// A 16-bit 3D texture resliced on both backends: the MIP over all
/// slices of voxel value 100 × slice + column.
#[wasm_bindgen_test]
async fn reslice_mip_on_both_backends() {
    for (preference, backend) in [
        (BackendPreference::WebGpu, "webgpu"),
        (BackendPreference::WebGl2, "webgl2"),
    ] {
        let (w, h, d) = (4u32, 4u32, 3u32);
        let target = canvas(w, h);
        let mut renderer = Renderer::for_canvas(target, preference)
            .await
            .expect("a renderer");
        assert_eq!(renderer.backend(), backend);
        let texels = (0..w * h * d)
            .map(|i| (i / (w * h) * 100 + i % w) as i16)
            .collect();
        let volume = renderer
            .upload_volume(&GpuVolume {
                width: w,
                height: h,
                depth: d,
                texels: TexelData::I16(texels),
            })
            .expect("upload volume");
        let reslice = Reslice::new(
            [0.0, 0.0, 1.5],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            3.0,
            SlabMode::Mip,
        );
        // LINEAR_EXACT 0..255: the byte is the value.
        let p = DisplayParams {
            clip_to_image: fit(w, h),
            ..params(127.5, 255.0, VoiFunction::LinearExact)
        };
        renderer
            .draw_frame(&[Draw::Reslice {
                viewport: viewport(0, 0, w, h),
                volume,
                reslice,
                params: p,
            }])
            .expect("draw");
        let pixels = renderer.read_pixels().await.expect("read back");
        for (i, rgba) in pixels.chunks(4).enumerate() {
            // Slice 2 is the maximum: 200 + column.
            assert_eq!(rgba[0], 200 + (i as u32 % w) as u8, "{backend} pixel {i}");
        }
    }
}

/// An image one tile wider than the device's 2D limit, on both
/// backends: the columns on either side of the seam between its tiles
/// are drawn in place, 1:1.
#[wasm_bindgen_test]
async fn image_beyond_the_texture_limit_is_drawn_from_tiles() {
    for (preference, backend) in [
        (BackendPreference::WebGpu, "webgpu"),
        (BackendPreference::WebGl2, "webgl2"),
    ] {
        let (w, h) = (64u32, 4u32);
        let target = canvas(w, h);
        let mut renderer = Renderer::for_canvas(target, preference)
            .await
            .expect("a renderer");
        let width = renderer.texture_limits().max_2d + 8;
        console_log!("{backend}: an image {width} pixels wide");
        // Stored value = column mod 256, shown as that byte.
        let texels = (0..width * h).map(|i| (i % width % 256) as u8).collect();
        let image = renderer
            .upload(&viewer_render::GpuImage {
                width,
                height: h,
                texels: TexelData::U8(texels),
            })
            .expect("upload");
        // The last 64 columns, 1:1: the first tile's core ends 4 columns
        // before the limit.
        let first = width - w;
        let p = DisplayParams {
            clip_to_image: [
                w as f32 / 2.0,
                0.0,
                first as f32 + w as f32 / 2.0,
                0.0,
                -(h as f32) / 2.0,
                h as f32 / 2.0,
            ],
            ..params(127.5, 255.0, VoiFunction::LinearExact)
        };
        renderer
            .draw(&[(viewport(0, 0, w, h), image, p)])
            .expect("draw");
        let pixels = renderer.read_pixels().await.expect("read back");
        for (i, rgba) in pixels.chunks(4).enumerate() {
            let column = first + i as u32 % w;
            let v = (column % 256) as u8;
            assert_eq!(rgba, [v, v, v, 255], "{backend}: column {column}");
        }
    }
}
