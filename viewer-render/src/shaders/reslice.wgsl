// Reslices of a volume. Prepended: `volume` (the 3D texture) and
// `load_voxel(p)` returning the stored value.

fn voxel(p: vec3<i32>) -> f32 {
    let last = vec3<i32>(textureDimensions(volume)) - vec3<i32>(1);
    return modality_value(load_voxel(clamp(p, vec3<i32>(0), last)));
}

fn sample_trilinear(point: vec3<f32>) -> f32 {
    let u = point - vec3<f32>(0.5);
    let base = floor(u);
    let t = u - base;
    let p = vec3<i32>(base);
    let c00 = mix(voxel(p), voxel(p + vec3<i32>(1, 0, 0)), t.x);
    let c10 = mix(voxel(p + vec3<i32>(0, 1, 0)), voxel(p + vec3<i32>(1, 1, 0)), t.x);
    let c01 = mix(voxel(p + vec3<i32>(0, 0, 1)), voxel(p + vec3<i32>(1, 0, 1)), t.x);
    let c11 = mix(voxel(p + vec3<i32>(0, 1, 1)), voxel(p + vec3<i32>(1, 1, 1)), t.x);
    return mix(mix(c00, c10, t.y), mix(c01, c11, t.y), t.z);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let uv = image_point(in.clip);
    let plane = params.origin.xyz + uv.x * params.axis_u.xyz + uv.y * params.axis_v.xyz;
    let size = vec3<f32>(textureDimensions(volume));
    let mode = params.slab.y;
    var count = 0u;
    var acc = 0.0;
    for (var k = 0u; k < params.slab.x; k++) {
        let p = plane + params.slab_first.xyz + f32(k) * params.slab_step.xyz;
        if all(p >= vec3<f32>(0.0)) && all(p < size) {
            var v: f32;
            if params.options.z == 0u {
                v = voxel(vec3<i32>(floor(p)));
            } else {
                v = sample_trilinear(p);
            }
            if count == 0u {
                acc = v;
            } else if mode == 0u {
                acc = max(acc, v);
            } else if mode == 2u {
                acc = min(acc, v);
            } else {
                acc += v;
            }
            count += 1u;
        }
    }
    if count == 0u {
        return BLACK;
    }
    if mode == 1u {
        acc /= f32(count);
    }
    return encode(vec3<f32>(voi(acc)));
}
