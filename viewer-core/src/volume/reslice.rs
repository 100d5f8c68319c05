//! Reformatting a volume along one of its axes, with an optional slab.

use super::{Frame, Mpr, Slab, Volume, VolumeError, Voxels, slab_half_width};
use crate::geometry::ImagePlane;

/// How frame pixels and slab steps map to voxel indices.
struct Layout {
    width: usize,
    height: usize,
    /// Voxel index of frame pixel (0, 0) on the centre slice.
    base: usize,
    /// Voxel index steps for one frame column, one frame row (may be
    /// negative: rows run towards decreasing z) and one slab step.
    step_col: isize,
    step_row: isize,
    step_slab: isize,
    /// Slab steps available before and after the centre slice.
    before: usize,
    after: usize,
    spacing_slab: f64,
    pixel_spacing: (f64, f64),
}

fn layout(volume: &Volume, orientation: Mpr, index: usize) -> Layout {
    let (dx, dy, dz) = volume.geometry.dims;
    let (sx, sy, sz) = volume.geometry.spacing;
    let (row, slice) = (dx as isize, (dx * dy) as isize);
    // Frame row 0 is the head end of the stack: the last slice of an
    // ascending stack, the first of a descending one.
    let (top, step_down) = if volume.geometry.descends() {
        (0, slice)
    } else {
        (dz - 1, -slice)
    };
    match orientation {
        Mpr::Axial => Layout {
            width: dx,
            height: dy,
            base: index * dx * dy,
            step_col: 1,
            step_row: row,
            step_slab: slice,
            before: index,
            after: dz - 1 - index,
            spacing_slab: sz,
            pixel_spacing: (sy, sx),
        },
        Mpr::Coronal => Layout {
            width: dx,
            height: dz,
            base: top * dx * dy + index * dx,
            step_col: 1,
            step_row: step_down,
            step_slab: row,
            before: index,
            after: dy - 1 - index,
            spacing_slab: sy,
            pixel_spacing: (sz, sx),
        },
        Mpr::Sagittal => Layout {
            width: dy,
            height: dz,
            base: top * dx * dy + index,
            step_col: row,
            step_row: step_down,
            step_slab: 1,
            before: index,
            after: dx - 1 - index,
            spacing_slab: sx,
            pixel_spacing: (sz, sy),
        },
    }
}

/// Reformats `volume` at slice `index` of `orientation` (see [`Mpr`] for
/// the frame's axes), combining the voxels of a slab `slab_mm` thick
/// centred on it by `mode` (see [`slab_half_width`] for which voxels; the
/// slab is cut short at the volume's faces). Values are in modality units.
pub fn reslice(
    volume: &Volume,
    orientation: Mpr,
    index: usize,
    slab_mm: f64,
    mode: Slab,
) -> Result<Frame, VolumeError> {
    let len = volume.slice_count(orientation);
    if index >= len {
        return Err(VolumeError::SliceOutOfRange { index, len });
    }
    let l = layout(volume, orientation, index);
    let k = slab_half_width(slab_mm, l.spacing_slab);
    let offsets = -(k.min(l.before) as isize)..=(k.min(l.after) as isize);
    let values = match &volume.voxels {
        Voxels::I16(v) => combine(v, &l, offsets, mode, volume.slope, volume.intercept),
        Voxels::U16(v) => combine(v, &l, offsets, mode, volume.slope, volume.intercept),
    };
    Ok(Frame {
        width: l.width,
        height: l.height,
        pixel_spacing: l.pixel_spacing,
        values,
        plane: frame_plane(volume, orientation, index, &l),
    })
}

fn combine<T: Copy + Into<f64>>(
    voxels: &[T],
    l: &Layout,
    offsets: std::ops::RangeInclusive<isize>,
    mode: Slab,
    slope: f64,
    intercept: f64,
) -> Vec<f32> {
    let n = l.width * l.height;
    let (init, count) = match mode {
        Slab::Mip => (f64::NEG_INFINITY, 0.0),
        Slab::MinIp => (f64::INFINITY, 0.0),
        Slab::Mean => (0.0, offsets.clone().count() as f64),
    };
    let mut acc = vec![init; n];
    for k in offsets {
        let plane_base = l.base as isize + k * l.step_slab;
        for r in 0..l.height {
            let row_base = plane_base + r as isize * l.step_row;
            let out = &mut acc[r * l.width..(r + 1) * l.width];
            for (c, a) in out.iter_mut().enumerate() {
                // In range by construction: the layout's steps stay inside the volume.
                let i = (row_base + c as isize * l.step_col) as usize;
                let v = voxels[i].into() * slope + intercept;
                *a = match mode {
                    Slab::Mip => a.max(v),
                    Slab::MinIp => a.min(v),
                    Slab::Mean => *a + v,
                };
            }
        }
    }
    match mode {
        Slab::Mean => acc.iter().map(|s| (s / count) as f32).collect(),
        Slab::Mip | Slab::MinIp => acc.iter().map(|&v| v as f32).collect(),
    }
}

/// The patient plane of the frame's centre slice.
fn frame_plane(volume: &Volume, orientation: Mpr, index: usize, l: &Layout) -> Option<ImagePlane> {
    let g = &volume.geometry;
    let (ax, ay, az) = g.axes;
    let (top, down) = if g.descends() {
        (0.0, az)
    } else {
        (g.dims.2 as f64 - 1.0, -az)
    };
    let i = index as f64;
    let (origin, row_direction, column_direction) = match orientation {
        Mpr::Axial => (g.voxel_to_patient(0.0, 0.0, i), ax, ay),
        Mpr::Coronal => (g.voxel_to_patient(0.0, i, top), ax, down),
        Mpr::Sagittal => (g.voxel_to_patient(i, 0.0, top), ay, down),
    };
    ImagePlane::new(
        origin,
        row_direction,
        column_direction,
        l.pixel_spacing,
        u32::try_from(l.height).ok()?,
        u32::try_from(l.width).ok()?,
    )
}
