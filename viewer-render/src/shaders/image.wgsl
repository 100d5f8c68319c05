// 2D images. Prepended: `image` (the texture), the `Texel` type (f32 for
// a stored grey value, vec4 for RGBA), `load_texel(p)`, `shade(value)`
// giving the output colour, and `sample_image`, which is one of the three
// samplers below.

// Stored value (or RGB) of the pixel nearest to `p` inside the texture:
// points past the edge take the edge pixel, as interpolation needs. A
// tile's texture reaches far enough past its core (`tiles::APRON`) that
// only the image's own edges are ever clamped to.
fn texel(p: vec2<i32>, last: vec2<i32>) -> Texel {
    return load_texel(clamp(p, vec2<i32>(0), last));
}

fn last_texel() -> vec2<i32> {
    return vec2<i32>(textureDimensions(image)) - vec2<i32>(1);
}

fn sample_nearest(point: vec2<f32>) -> Texel {
    return texel(vec2<i32>(floor(point)), last_texel());
}

fn sample_bilinear(point: vec2<f32>) -> Texel {
    let last = last_texel();
    let u = point - vec2<f32>(0.5);
    let base = floor(u);
    let t = u - base;
    let p = vec2<i32>(base);
    let top = mix(texel(p, last), texel(p + vec2<i32>(1, 0), last), t.x);
    let bottom = mix(texel(p + vec2<i32>(0, 1), last), texel(p + vec2<i32>(1, 1), last), t.x);
    return mix(top, bottom, t.y);
}

// Catmull-Rom weights of the four centres around fraction t.
fn catmull_rom(t: f32) -> vec4<f32> {
    let t2 = t * t;
    let t3 = t2 * t;
    return 0.5 * vec4<f32>(
        -t3 + 2.0 * t2 - t,
        3.0 * t3 - 5.0 * t2 + 2.0,
        -3.0 * t3 + 4.0 * t2 + t,
        t3 - t2,
    );
}

fn sample_bicubic(point: vec2<f32>) -> Texel {
    let last = last_texel();
    let u = point - vec2<f32>(0.5);
    let base = floor(u);
    let t = u - base;
    let p = vec2<i32>(base) - vec2<i32>(1);
    let wx = catmull_rom(t.x);
    let wy = catmull_rom(t.y);
    var sum = Texel(0.0);
    for (var j = 0; j < 4; j++) {
        let row = texel(p + vec2<i32>(0, j), last) * wx.x
            + texel(p + vec2<i32>(1, j), last) * wx.y
            + texel(p + vec2<i32>(2, j), last) * wx.z
            + texel(p + vec2<i32>(3, j), last) * wx.w;
        sum += row * wy[j];
    }
    return sum;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let point = image_point(in.clip);
    if any(point < vec2<f32>(0.0)) || any(point >= params.extent.xy) {
        return BLACK;
    }
    // Another tile of the image draws this point.
    if any(point < params.core.xy) || any(point >= params.core.zw) {
        discard;
    }
    // For grey images the rescale (affine) applies once, to the
    // interpolated stored value: the weights sum to one. The texture's
    // own edges are the image's wherever clamping can reach them.
    return shade(sample_image(point - params.extent.zw));
}
