//! The viewer's renderer: uploaded stored pixel values, windowed on the GPU.
//!
//! Images go to the GPU as the stored integers they are (`R16Sint`,
//! `R16Uint`, `R8Uint`; colour as `Rgba8Unorm`), never as pre-windowed
//! bytes, so changing the window costs one uniform write and the modality
//! values the radiologist measures stay exact. The fragment shader reads
//! texels with `textureLoad` (browsers offer no filterable 16-bit integer
//! format) and interpolates itself: nearest, bilinear or Catmull-Rom
//! bicubic. It then applies the Modality LUT (`stored × slope + intercept`),
//! the VOI function of PS3.3 C.11.2.1.2 and the inversion.
//!
//! # Conventions
//!
//! - Image pixel coordinates are those of `viewer-core`: pixel `(c, r)`
//!   covers `[c, c + 1) × [r, r + 1)`, its centre is `(c + 0.5, r + 0.5)`.
//!   A point outside `0..columns × 0..rows` is drawn black.
//! - [`DisplayParams::clip_to_image`] maps clip space of one viewport
//!   (x right, y up, −1..1 across the viewport) to image coordinates, row
//!   major: `col = a·x + b·y + c`, `row = d·x + e·y + f`.
//! - Grey level `g ∈ [0, 1]` is stored in the target as the byte
//!   `round(g × 255)` on every backend: a non-sRGB target format is chosen
//!   wherever one is offered (WebGPU canvases always offer `bgra8unorm` and
//!   `rgba8unorm`; wgpu's WebGL2 surface offers `Rgba8Unorm`, presented by a
//!   plain framebuffer blit), and on an sRGB-only target the shader
//!   pre-distorts its output so the hardware's encoding gives back the same
//!   byte. The browser then shows canvas bytes as sRGB-encoded values, as
//!   it does for every other web page.
//! - MONOCHROME1 is an inversion: pass `invert = monochrome1 ^ user_invert`
//!   (see [`display_inverted`]). Palette colour images are converted to RGB
//!   by the application before upload and are drawn as RGB.
//!
//! # Backends as measured
//!
//! `tests/render` (native Vulkan, Mesa lavapipe) and `tests/browser.rs`
//! (headless Chromium 156 with SwiftShader, run by `browser-test.sh`)
//! check every pixel against the window computed on the CPU.
//!
//! - WebGPU canvas: `bgra8unorm` (the browser's preferred format; WebGPU
//!   canvases have no sRGB formats). The bytes read back from the page
//!   equal the CPU's `round(g × 255)`.
//! - WebGL2 canvas: `Rgba8Unorm`, copied to the page by a framebuffer
//!   blit; same bytes. wgpu would present an sRGB surface through a
//!   `mediump` conversion shader, which is not exact on every GPU, so the
//!   plain format is the one chosen.
//! - An sRGB-only target (`Renderer::headless_srgb` natively) gives the
//!   same bytes as a plain one through the shader's compensation.
//! - Texture limits seen: lavapipe 16384 (2D) / 4096 (3D); Chromium with
//!   SwiftShader 8192 / 2048 on both WebGPU and WebGL2. WebGL2 guarantees
//!   only 2048 / 256. A 2D image beyond the device's limit is uploaded as
//!   tiles with overlapping aprons (`tiles`), drawn with the same bytes
//!   as one texture (`tests/render/tiles.rs` compares them on a device
//!   capped with [`Renderer::headless_with_texture_limit`]); a volume
//!   beyond the 3D limit is refused with [`RenderError::TooLarge`].

mod error;
mod gpu;
mod params;
mod pipelines;
mod readback;
mod renderer;
mod texture;
mod tiles;
mod types;

pub use error::RenderError;
pub use renderer::{Renderer, TextureLimits};
pub use types::{
    BackendPreference, DisplayParams, Draw, GpuImage, GpuVolume, ImageId, Interpolation, Reslice,
    SlabMode, TexelData, Viewport, VoiFunction, VolumeId, display_inverted,
};
