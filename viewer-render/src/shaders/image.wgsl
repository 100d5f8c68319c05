// 2D images. Prepended: `image` (the texture), `load_texel(p)` returning
// the stored value in .x (or RGB in .xyz) and `IS_RGB`.

// Modality value (or RGB) of the pixel nearest to `p` inside the image:
// points past the edge take the edge pixel, as interpolation needs.
fn texel(p: vec2<i32>) -> vec4<f32> {
    let last = vec2<i32>(textureDimensions(image)) - vec2<i32>(1);
    let t = load_texel(clamp(p, vec2<i32>(0), last));
    if IS_RGB {
        return t;
    }
    return vec4<f32>(modality_value(t.x), 0.0, 0.0, 0.0);
}

fn sample_bilinear(point: vec2<f32>) -> vec4<f32> {
    let u = point - vec2<f32>(0.5);
    let base = floor(u);
    let t = u - base;
    let p = vec2<i32>(base);
    let top = mix(texel(p), texel(p + vec2<i32>(1, 0)), t.x);
    let bottom = mix(texel(p + vec2<i32>(0, 1)), texel(p + vec2<i32>(1, 1)), t.x);
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

fn sample_bicubic(point: vec2<f32>) -> vec4<f32> {
    let u = point - vec2<f32>(0.5);
    let base = floor(u);
    let t = u - base;
    let p = vec2<i32>(base) - vec2<i32>(1);
    let wx = catmull_rom(t.x);
    let wy = catmull_rom(t.y);
    var sum = vec4<f32>(0.0);
    for (var j = 0; j < 4; j++) {
        let row = texel(p + vec2<i32>(0, j)) * wx.x
            + texel(p + vec2<i32>(1, j)) * wx.y
            + texel(p + vec2<i32>(2, j)) * wx.z
            + texel(p + vec2<i32>(3, j)) * wx.w;
        sum += row * wy[j];
    }
    return sum;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let point = image_point(in.clip);
    let size = vec2<f32>(textureDimensions(image));
    if any(point < vec2<f32>(0.0)) || any(point >= size) {
        return BLACK;
    }
    var value: vec4<f32>;
    switch params.options.z {
        case 1u: {
            value = sample_bilinear(point);
        }
        case 2u: {
            value = sample_bicubic(point);
        }
        default: {
            value = texel(vec2<i32>(floor(point)));
        }
    }
    if IS_RGB {
        return encode(value.rgb);
    }
    return encode(vec3<f32>(voi(value.x)));
}
