//! Reslices of a small volume against projections computed here.

use viewer_render::{
    DisplayParams, Draw, GpuVolume, Interpolation, RenderError, Renderer, Reslice, SlabMode,
    TexelData, VoiFunction,
};

use crate::common::*;

const W: u32 = 5;
const H: u32 = 4;
const D: u32 = 6;

/// Voxel values in −500..500 from a linear congruential sequence.
fn voxels() -> Vec<i16> {
    let mut state = 99u32;
    (0..W * H * D)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            ((state >> 16) % 1000) as i16 - 500
        })
        .collect()
}

fn at(v: &[i16], i: u32, j: u32, k: u32) -> f64 {
    f64::from(v[(k * W * H + j * W + i) as usize])
}

/// LINEAR_EXACT over −500..500: g = (x + 500) / 1000.
fn window(width: u32, height: u32, interpolation: Interpolation) -> DisplayParams {
    DisplayParams {
        clip_to_image: fit(width, height),
        interpolation,
        ..params(0.0, 1000.0, VoiFunction::LinearExact)
    }
}

fn upload_volume(renderer: &mut Renderer) -> viewer_render::VolumeId {
    renderer
        .upload_volume(&GpuVolume {
            width: W,
            height: H,
            depth: D,
            texels: TexelData::I16(voxels()),
        })
        .expect("upload volume")
}

/// Draws `reslice` into a `width × height` viewport and compares each
/// pixel with `expected(x, y)` (a modality value, or `None` for black).
fn check_reslice(
    renderer: &mut Renderer,
    volume: viewer_render::VolumeId,
    reslice: Reslice,
    (width, height): (u32, u32),
    interpolation: Interpolation,
    expected: &dyn Fn(u32, u32) -> Option<f64>,
) {
    let draw = Draw::Reslice {
        viewport: viewport(0, 0, width, height),
        volume,
        reslice,
        params: window(width, height, interpolation),
    };
    renderer.draw_frame(&[draw]).expect("draw reslice");
    let pixels = read(renderer);
    let target_width = renderer.size().0;
    for y in 0..height {
        for x in 0..width {
            let actual = grey(&pixels, target_width, x, y);
            let what = || format!("{:?} ({x}, {y})", reslice.mode);
            match expected(x, y) {
                None => assert_eq!(actual, 0, "{} should be black", what()),
                Some(value) => {
                    let g = voi(value, 0.0, 1000.0, VoiFunction::LinearExact);
                    check_grey(actual, g, &what);
                }
            }
        }
    }
}

fn axial(z: f32, thickness: f32, mode: SlabMode) -> Reslice {
    Reslice::new(
        [0.0, 0.0, z],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        thickness,
        mode,
    )
}

#[test]
fn full_depth_slabs_match_cpu_projections() {
    let Some(mut renderer) = renderer(8, 8) else {
        return;
    };
    let volume = upload_volume(&mut renderer);
    let v = voxels();
    let column = |x: u32, y: u32| (0..D).map(|k| at(&v, x, y, k)).collect::<Vec<_>>();
    // Plane at the middle (z = 3), 6 voxels thick: one sample per slice.
    let nearest = Interpolation::Nearest;
    let mip = |x, y| column(x, y).into_iter().reduce(f64::max);
    check_reslice(
        &mut renderer,
        volume,
        axial(3.0, 6.0, SlabMode::Mip),
        (W, H),
        nearest,
        &mip,
    );
    let minip = |x, y| column(x, y).into_iter().reduce(f64::min);
    let minip_slab = axial(3.0, 6.0, SlabMode::MinIp);
    check_reslice(&mut renderer, volume, minip_slab, (W, H), nearest, &minip);
    let mean = |x, y| Some(column(x, y).iter().sum::<f64>() / f64::from(D));
    let mean_slab = axial(3.0, 6.0, SlabMode::Mean);
    check_reslice(&mut renderer, volume, mean_slab, (W, H), nearest, &mean);
}

#[test]
fn partial_slabs_take_the_slices_they_cover() {
    let Some(mut renderer) = renderer(8, 8) else {
        return;
    };
    let volume = upload_volume(&mut renderer);
    let v = voxels();
    let nearest = Interpolation::Nearest;
    // Plane at z = 2, 2 thick: samples at 1.5 and 2.5, slices 1 and 2.
    let two = |x, y| Some(at(&v, x, y, 1).max(at(&v, x, y, 2)));
    check_reslice(
        &mut renderer,
        volume,
        axial(2.0, 2.0, SlabMode::Mip),
        (W, H),
        nearest,
        &two,
    );
    // Plane at z = 0, 4 thick: samples at −1.5, −0.5 (outside, left out),
    // 0.5 and 1.5: the mean of slices 0 and 1.
    let edge = |x, y| Some((at(&v, x, y, 0) + at(&v, x, y, 1)) / 2.0);
    let edge_slab = axial(0.0, 4.0, SlabMode::Mean);
    check_reslice(&mut renderer, volume, edge_slab, (W, H), nearest, &edge);
    // Entirely past the last slice: black.
    let outside = axial(10.0, 0.0, SlabMode::Mip);
    check_reslice(&mut renderer, volume, outside, (W, H), nearest, &|_, _| {
        None
    });
}

#[test]
fn coronal_thin_reslice_shows_one_row_of_every_slice() {
    let Some(mut renderer) = renderer(8, 8) else {
        return;
    };
    let volume = upload_volume(&mut renderer);
    let v = voxels();
    // u along columns, v down the slices, through the centre of row 2.
    let coronal = Reslice::new(
        [0.0, 2.5, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
        0.0,
        SlabMode::Mip,
    );
    let expected = |x, y| Some(at(&v, x, 2, y));
    check_reslice(
        &mut renderer,
        volume,
        coronal,
        (W, D),
        Interpolation::Nearest,
        &expected,
    );
}

#[test]
fn trilinear_reslice_between_slices_averages_them() {
    let Some(mut renderer) = renderer(8, 8) else {
        return;
    };
    let volume = upload_volume(&mut renderer);
    let v = voxels();
    // z = 1 lies halfway between the centres of slices 0 and 1; x and y
    // fall on voxel centres, so trilinear is their mean. The GPU's f32
    // weights can put the exact half on either side of a byte boundary,
    // so the check allows that (see check_grey).
    let between = axial(1.0, 0.0, SlabMode::Mip);
    let mean = |x, y| Some((at(&v, x, y, 0) + at(&v, x, y, 1)) / 2.0);
    check_reslice(
        &mut renderer,
        volume,
        between,
        (W, H),
        Interpolation::Bilinear,
        &mean,
    );
}

#[test]
fn volume_limits_are_reported_and_enforced() {
    let Some(mut renderer) = renderer(8, 8) else {
        return;
    };
    let limits = renderer.texture_limits();
    eprintln!("texture limits of this adapter: {limits:?}");
    assert!(limits.max_3d >= 256, "{limits:?}");
    let too_deep = GpuVolume {
        width: 1,
        height: 1,
        depth: limits.max_3d + 1,
        texels: TexelData::U8(vec![0; limits.max_3d as usize + 1]),
    };
    assert!(matches!(
        renderer.upload_volume(&too_deep),
        Err(RenderError::TooLarge {
            dimension: "3D",
            ..
        })
    ));
    let colour = GpuVolume {
        width: 1,
        height: 1,
        depth: 2,
        texels: TexelData::Rgba8(vec![0; 8]),
    };
    assert!(matches!(
        renderer.upload_volume(&colour),
        Err(RenderError::ColourVolume)
    ));
    // A released volume cannot be drawn.
    let volume = upload_volume(&mut renderer);
    renderer.release_volume(volume);
    let draw = Draw::Reslice {
        viewport: viewport(0, 0, 8, 8),
        volume,
        reslice: axial(3.0, 0.0, SlabMode::Mip),
        params: window(8, 8, Interpolation::Nearest),
    };
    assert!(matches!(
        renderer.draw_frame(&[draw]),
        Err(RenderError::UnknownHandle(_))
    ));
}
