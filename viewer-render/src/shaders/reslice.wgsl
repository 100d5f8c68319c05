// Reslices of a volume. Prepended: `volume` (the 3D texture),
// `load_voxel(p)` returning the stored value, `sample_volume` (one of the
// two samplers below) and the slab's `slab_start`, `slab_combine` and
// `slab_finish`.

fn voxel(p: vec3<i32>, last: vec3<i32>) -> f32 {
    return load_voxel(clamp(p, vec3<i32>(0), last));
}

fn last_voxel() -> vec3<i32> {
    return vec3<i32>(textureDimensions(volume)) - vec3<i32>(1);
}

fn sample_nearest(point: vec3<f32>) -> f32 {
    return voxel(vec3<i32>(floor(point)), last_voxel());
}

fn sample_trilinear(point: vec3<f32>) -> f32 {
    let last = last_voxel();
    let u = point - vec3<f32>(0.5);
    let base = floor(u);
    let t = u - base;
    let p = vec3<i32>(base);
    let c00 = mix(voxel(p, last), voxel(p + vec3<i32>(1, 0, 0), last), t.x);
    let c10 = mix(voxel(p + vec3<i32>(0, 1, 0), last), voxel(p + vec3<i32>(1, 1, 0), last), t.x);
    let c01 = mix(voxel(p + vec3<i32>(0, 0, 1), last), voxel(p + vec3<i32>(1, 0, 1), last), t.x);
    let c11 = mix(voxel(p + vec3<i32>(0, 1, 1), last), voxel(p + vec3<i32>(1, 1, 1), last), t.x);
    return mix(mix(c00, c10, t.y), mix(c01, c11, t.y), t.z);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let uv = image_point(in.clip);
    let plane = params.origin.xyz + uv.x * params.axis_u.xyz + uv.y * params.axis_v.xyz;
    let size = vec3<f32>(textureDimensions(volume));
    var count = 0u;
    var acc = slab_start();
    for (var k = 0u; k < params.slab.x; k++) {
        let p = plane + params.slab_first.xyz + f32(k) * params.slab_step.xyz;
        if all(p >= vec3<f32>(0.0)) && all(p < size) {
            // Modality values are combined: a negative slope turns the
            // stored maximum into the modality minimum.
            acc = slab_combine(acc, modality_value(sample_volume(p)));
            count += 1u;
        }
    }
    if count == 0u {
        return BLACK;
    }
    return encode(vec3<f32>(voi(slab_finish(acc, count))));
}
