// Shared by every pipeline: the per-draw uniforms, the full-viewport
// triangle, the VOI functions and the output encoding.
//
// What a draw chooses once (VOI function, interpolation, slab mode, sRGB
// target) is not read from the uniforms: each pipeline is built with the
// one it uses, as small generated functions (`voi`, `output_encoding`,
// `sample_image` or `sample_volume`, the slab's `slab_*`) prepended to
// this source. A branch on uniform data would cost every pixel all of its
// arms on a software rasteriser, which runs such branches masked.

struct Params {
    to_col: vec4<f32>,
    to_row: vec4<f32>,
    // slope, intercept, window centre, window width
    modality: vec4<f32>,
    // invert (0 or 1), then unused
    options: vec4<u32>,
    origin: vec4<f32>,
    axis_u: vec4<f32>,
    axis_v: vec4<f32>,
    slab_first: vec4<f32>,
    slab_step: vec4<f32>,
    // sample count, then unused
    slab: vec4<u32>,
    // 2D images: columns and rows of the whole image, then the image
    // pixel at this draw's texture origin (a tile's, else 0, 0)
    extent: vec4<f32>,
    // 2D images: the image points this draw shows, [x0, x1) × [y0, y1)
    // as x0, y0, x1, y1 (a tile's core, else the whole image)
    core: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) clip: vec2<f32>,
}

// One triangle covering clip space (−1, −1), (3, −1), (−1, 3); the
// viewport and clipping cut it to the viewport rectangle, and `clip`
// arrives interpolated at each pixel centre.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    let x = f32(i32(index & 1u) * 4 - 1);
    let y = f32(i32(index >> 1u) * 4 - 1);
    var out: VertexOut;
    out.position = vec4<f32>(x, y, 0.0, 1.0);
    out.clip = vec2<f32>(x, y);
    return out;
}

// Image point (column, row) of a clip-space point.
fn image_point(clip: vec2<f32>) -> vec2<f32> {
    let p = vec3<f32>(clip, 1.0);
    return vec2<f32>(dot(params.to_col.xyz, p), dot(params.to_row.xyz, p));
}

fn modality_value(stored: f32) -> f32 {
    return stored * params.modality.x + params.modality.y;
}

// PS3.3 C.11.2.1.2: grey level in [0, 1] for modality value x, by the
// three VOI LUT functions.
fn voi_linear(x: f32) -> f32 {
    let c = params.modality.z;
    let w = max(params.modality.w, 1.0);
    if x <= c - 0.5 - (w - 1.0) / 2.0 {
        return 0.0;
    }
    if x > c - 0.5 + (w - 1.0) / 2.0 {
        return 1.0;
    }
    return clamp((x - (c - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0);
}

// Smallest normal f32: keeps the division finite for a zero width.
const MIN_WIDTH: f32 = 1.17549435e-38;

fn voi_linear_exact(x: f32) -> f32 {
    let c = params.modality.z;
    let w = max(params.modality.w, MIN_WIDTH);
    if x <= c - w / 2.0 {
        return 0.0;
    }
    if x > c + w / 2.0 {
        return 1.0;
    }
    return clamp((x - c) / w + 0.5, 0.0, 1.0);
}

fn voi_sigmoid(x: f32) -> f32 {
    let c = params.modality.z;
    let w = max(params.modality.w, MIN_WIDTH);
    return 1.0 / (1.0 + exp(-4.0 * (x - c) / w));
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let low = c / 12.92;
    let high = pow((c + vec3<f32>(0.055)) / 1.055, vec3<f32>(2.4));
    return select(high, low, c <= vec3<f32>(0.04045));
}

// Grey or colour in [0, 1] to what the target stores. The value is first
// rounded to the byte it must become, so every backend's float-to-unorm
// conversion lands on the same byte; an sRGB target gets the linear value
// its encoding maps back to that byte (`output_encoding`).
fn encode(rgb: vec3<f32>) -> vec4<f32> {
    let c = clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0));
    let shown = select(c, vec3<f32>(1.0) - c, params.options.x == 1u);
    let q = round(shown * 255.0) / 255.0;
    return vec4<f32>(output_encoding(q), 1.0);
}

const BLACK: vec4<f32> = vec4<f32>(0.0, 0.0, 0.0, 1.0);
