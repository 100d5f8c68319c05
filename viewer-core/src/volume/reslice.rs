//! Reformatting a volume along one of its axes, with an optional slab.
//!
//! [`voxel_plane`] describes the sampling grid in voxel coordinates; the
//! CPU [`reslice`] walks exactly that grid, and the GPU reslice is handed
//! the same numbers, so the two agree by construction.

use super::{Frame, Mpr, Slab, Volume, VolumeError, VolumeGeometry, Voxels, slab_half_width};
use crate::geometry::ImagePlane;

/// A reformat's sampling grid in voxel index coordinates, where voxel
/// `(x, y, z)`'s centre is the point `(x, y, z)` (for normalised 3D
/// texture coordinates use `(x + 0.5) / dims.x`, and so on).
///
/// Frame pixel `(c, r)` on slab step `k` samples the voxel at
/// `origin + c · column + r · row + k · normal`, for
/// `k ∈ −slab_steps.0 ..= slab_steps.1`; every such point is a voxel
/// centre inside the volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoxelPlane {
    pub width: usize,
    pub height: usize,
    /// The voxel of frame pixel (0, 0) on the centre slice.
    pub origin: [f64; 3],
    /// Voxel step per frame column.
    pub column: [f64; 3],
    /// Voxel step per frame row.
    pub row: [f64; 3],
    /// Voxel step per slab step.
    pub normal: [f64; 3],
    /// Slab steps taken before and after the centre slice: the slab's half
    /// width ([`slab_half_width`]) cut short at the volume's faces.
    pub slab_steps: (usize, usize),
    /// `(row_mm, col_mm)` of the frame's pixels.
    pub pixel_spacing: (f64, f64),
}

/// The grid of the reformat at slice `index` of `orientation` with a slab
/// `slab_mm` thick (see [`Mpr`] for the frame's axes).
pub fn voxel_plane(
    geometry: &VolumeGeometry,
    orientation: Mpr,
    index: usize,
    slab_mm: f64,
) -> Result<VoxelPlane, VolumeError> {
    let (dx, dy, dz) = geometry.dims;
    let (sx, sy, sz) = geometry.spacing;
    let len = match orientation {
        Mpr::Axial => dz,
        Mpr::Coronal => dy,
        Mpr::Sagittal => dx,
    };
    if index >= len {
        return Err(VolumeError::SliceOutOfRange { index, len });
    }
    let i = index as f64;
    // Frame row 0 is the head end of the stack: the last slice of an
    // ascending stack, the first of a descending one.
    let (top, down) = if geometry.descends() {
        (0.0, 1.0)
    } else {
        ((dz - 1) as f64, -1.0)
    };
    let (width, height, origin, column, row, normal, spacing_slab, pixel_spacing) =
        match orientation {
            Mpr::Axial => (dx, dy, [0.0, 0.0, i], X, Y, Z, sz, (sy, sx)),
            Mpr::Coronal => (dx, dz, [0.0, i, top], X, [0.0, 0.0, down], Y, sy, (sz, sx)),
            Mpr::Sagittal => (dy, dz, [i, 0.0, top], Y, [0.0, 0.0, down], X, sx, (sz, sy)),
        };
    let k = slab_half_width(slab_mm, spacing_slab);
    Ok(VoxelPlane {
        width,
        height,
        origin,
        column,
        row,
        normal,
        slab_steps: (k.min(index), k.min(len - 1 - index)),
        pixel_spacing,
    })
}

const X: [f64; 3] = [1.0, 0.0, 0.0];
const Y: [f64; 3] = [0.0, 1.0, 0.0];
const Z: [f64; 3] = [0.0, 0.0, 1.0];

/// Reformats `volume` at slice `index` of `orientation`, combining the
/// voxels of a slab `slab_mm` thick centred on it by `mode` (see
/// [`voxel_plane`] for exactly which voxels). Values are in modality units.
pub fn reslice(
    volume: &Volume,
    orientation: Mpr,
    index: usize,
    slab_mm: f64,
    mode: Slab,
) -> Result<Frame, VolumeError> {
    let grid = voxel_plane(&volume.geometry, orientation, index, slab_mm)?;
    let values = match &volume.voxels {
        Voxels::I16(v) => combine(
            v,
            &volume.geometry,
            &grid,
            mode,
            volume.slope,
            volume.intercept,
        ),
        Voxels::U16(v) => combine(
            v,
            &volume.geometry,
            &grid,
            mode,
            volume.slope,
            volume.intercept,
        ),
    };
    Ok(Frame {
        width: grid.width,
        height: grid.height,
        pixel_spacing: grid.pixel_spacing,
        values,
        plane: frame_plane(&volume.geometry, &grid),
    })
}

fn combine<T: Copy + Into<f64>>(
    voxels: &[T],
    geometry: &VolumeGeometry,
    grid: &VoxelPlane,
    mode: Slab,
    slope: f64,
    intercept: f64,
) -> Vec<f32> {
    let (dx, dy, _) = geometry.dims;
    let voxel = |x: usize, y: usize, z: usize| {
        let stored: f64 = (*voxels.get(x + y * dx + z * dx * dy)?).into();
        Some(stored * slope + intercept)
    };
    reslice_region(grid, mode, (0, 0, grid.width, grid.height), voxel)
}

/// The reformat `grid`'s values over the frame pixels `x0..x1 × y0..y1`
/// (row by row), its slab combined by `mode`, reading modality values
/// through `voxel(x, y, z)`. This is [`reslice`] for a viewer that keeps
/// its slices apart and wants a few pixels (a region's statistics), not a
/// volume; a pixel with a voxel it cannot give (a slice still loading) is
/// NaN.
pub fn reslice_region(
    grid: &VoxelPlane,
    mode: Slab,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    voxel: impl Fn(usize, usize, usize) -> Option<f64>,
) -> Vec<f32> {
    let (x1, y1) = (x1.min(grid.width), y1.min(grid.height));
    let before = grid.slab_steps.0 as f64;
    let steps = grid.slab_steps.0 + grid.slab_steps.1 + 1;
    let mut out = Vec::with_capacity(x1.saturating_sub(x0) * y1.saturating_sub(y0));
    for r in y0..y1 {
        for c in x0..x1 {
            let mut acc = match mode {
                Slab::Mip => f64::NEG_INFINITY,
                Slab::MinIp => f64::INFINITY,
                Slab::Mean => 0.0,
            };
            for s in 0..steps {
                let k = s as f64 - before;
                // Every point of the grid is a voxel centre: whole numbers.
                let at: [f64; 3] = std::array::from_fn(|i| {
                    grid.origin[i]
                        + c as f64 * grid.column[i]
                        + r as f64 * grid.row[i]
                        + k * grid.normal[i]
                });
                let v = match at.map(|a| a.round()) {
                    [x, y, z] if x >= 0.0 && y >= 0.0 && z >= 0.0 => {
                        voxel(x as usize, y as usize, z as usize)
                    }
                    _ => None,
                };
                // NaN would vanish in max and min: mark the pixel instead.
                let Some(v) = v else {
                    acc = f64::NAN;
                    break;
                };
                acc = match mode {
                    Slab::Mip => acc.max(v),
                    Slab::MinIp => acc.min(v),
                    Slab::Mean => acc + v,
                };
            }
            let value = match mode {
                Slab::Mean => acc / steps as f64,
                _ => acc,
            };
            out.push(value as f32);
        }
    }
    out
}

/// The patient plane of the frame's centre slice.
fn frame_plane(geometry: &VolumeGeometry, grid: &VoxelPlane) -> Option<ImagePlane> {
    let to_patient = |v: [f64; 3]| geometry.voxel_to_patient(v[0], v[1], v[2]);
    let origin = to_patient(grid.origin);
    ImagePlane::new(
        origin,
        to_patient(grid.column) - geometry.origin,
        to_patient(grid.row) - geometry.origin,
        grid.pixel_spacing,
        u32::try_from(grid.height).ok()?,
        u32::try_from(grid.width).ok()?,
    )
}
