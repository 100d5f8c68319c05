//! Multiplanar reformats as the renderer draws them: the sampling grid of
//! `viewer_core::volume::voxel_plane` restated in the renderer's voxel
//! convention, and the metadata of a reformatted frame (size, spacing,
//! plane) so that overlays, orientation letters, reference lines and
//! length measurements treat it like any other image.

use viewer_core::calibration::{Calibration, SpacingMethod};
use viewer_core::geometry::ImagePlane;
use viewer_core::image::ImageInfo;
use viewer_core::volume::VoxelPlane;
use viewer_core::volume::{Mpr, VolumeGeometry, slab_half_width};

/// The renderer's description of a reformat (see `viewer_render::Reslice`):
/// voxel `(i, j, k)` covers `[i, i + 1) × [j, j + 1) × [k, k + 1)`, and the
/// frame's image point `(u, v)` lies at `origin + u·axis_u + v·axis_v`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuReslice {
    pub origin: [f32; 3],
    pub axis_u: [f32; 3],
    pub axis_v: [f32; 3],
    /// Voxel displacement per millimetre across the slab.
    pub normal: [f32; 3],
    /// Slab thickness in millimetres; 0 for a thin reformat.
    pub slab_mm: f32,
}

/// The spacing (mm) between voxel centres across the slab of
/// `orientation`.
fn slab_spacing(geometry: &VolumeGeometry, orientation: Mpr) -> f64 {
    let (sx, sy, sz) = geometry.spacing;
    match orientation {
        Mpr::Axial => sz,
        Mpr::Coronal => sy,
        Mpr::Sagittal => sx,
    }
}

/// The renderer's reslice for `grid`, with a slab of `slab_mm`.
///
/// In `viewer-core`, frame pixel `(c, r)` samples the voxel whose centre is
/// `grid.origin + c·column + r·row`, and a voxel centre is the point
/// `(x, y, z)`. In the renderer a voxel centre is `(x + ½, y + ½, z + ½)`
/// and pixel `(c, r)` is the image point `(c + ½, r + ½)`, hence the
/// origin shift below. The slab is widened to the whole voxels
/// `viewer-core` takes (`2K + 1` of them), so both sample the same
/// centres.
pub fn gpu_reslice(
    geometry: &VolumeGeometry,
    orientation: Mpr,
    grid: &VoxelPlane,
    slab_mm: f64,
) -> GpuReslice {
    let spacing = slab_spacing(geometry, orientation);
    let origin: [f64; 3] =
        std::array::from_fn(|i| grid.origin[i] + 0.5 - 0.5 * grid.column[i] - 0.5 * grid.row[i]);
    let k = slab_half_width(slab_mm, spacing);
    let thickness = if k == 0 {
        0.0
    } else {
        (2 * k + 1) as f64 * spacing
    };
    let f = |v: [f64; 3]| v.map(|x| x as f32);
    GpuReslice {
        origin: f(origin),
        axis_u: f(grid.column),
        axis_v: f(grid.row),
        normal: f(grid.normal.map(|x| x / spacing)),
        slab_mm: thickness as f32,
    }
}

/// The patient plane of the frame `grid` describes.
pub fn frame_plane(geometry: &VolumeGeometry, grid: &VoxelPlane) -> Option<ImagePlane> {
    let to_patient = |v: [f64; 3]| geometry.voxel_to_patient(v[0], v[1], v[2]);
    ImagePlane::new(
        to_patient(grid.origin),
        to_patient(grid.column) - geometry.origin,
        to_patient(grid.row) - geometry.origin,
        grid.pixel_spacing,
        u32::try_from(grid.height).ok()?,
        u32::try_from(grid.width).ok()?,
    )
}

/// The metadata of a reformatted frame: the series' own (patient, study,
/// rescale, windows) with the frame's size, spacing and plane.
pub fn frame_info(base: &ImageInfo, grid: &VoxelPlane, plane: Option<ImagePlane>) -> ImageInfo {
    let mut info = base.clone();
    info.columns = grid.width as u32;
    info.rows = grid.height as u32;
    info.number_of_frames = 1;
    info.plane = plane;
    info.slice_location = None;
    // A reformat has no acquired thickness; the slab is shown in the
    // toolbar.
    info.slice_thickness = None;
    info.calibration = Calibration::Pixel {
        row_mm: grid.pixel_spacing.0,
        col_mm: grid.pixel_spacing.1,
        method: SpacingMethod::Patient,
    };
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use viewer_core::geometry::Vec3;
    use viewer_core::volume::voxel_plane;

    /// Four 4×3 axial slices 2 mm apart, 0.5 mm pixels, ascending in z.
    fn geometry() -> VolumeGeometry {
        let planes: Vec<ImagePlane> = (0..4)
            .map(|k| {
                ImagePlane::new(
                    Vec3::new(0.0, 0.0, 2.0 * f64::from(k)),
                    Vec3::new(1.0, 0.0, 0.0),
                    Vec3::new(0.0, 1.0, 0.0),
                    (0.5, 0.5),
                    3,
                    4,
                )
                .unwrap()
            })
            .collect();
        VolumeGeometry::from_stack(&planes).unwrap()
    }

    #[test]
    fn an_axial_reformat_samples_the_slice_itself() {
        let g = geometry();
        let grid = voxel_plane(&g, Mpr::Axial, 2, 0.0).unwrap();
        let r = gpu_reslice(&g, Mpr::Axial, &grid, 0.0);
        // Image point (c + ½, r + ½) must land on voxel (c, r, 2)'s centre,
        // which the renderer places at (c + ½, r + ½, 2.5).
        let at = |u: f32, v: f32| -> [f32; 3] {
            std::array::from_fn(|i| r.origin[i] + u * r.axis_u[i] + v * r.axis_v[i])
        };
        assert_eq!(at(0.5, 0.5), [0.5, 0.5, 2.5]);
        assert_eq!(at(3.5, 2.5), [3.5, 2.5, 2.5]);
        assert_eq!(r.slab_mm, 0.0);
        // One millimetre across the slab is half a slice.
        assert_eq!(r.normal, [0.0, 0.0, 0.5]);
    }

    #[test]
    fn slabs_cover_whole_voxels() {
        let g = geometry();
        let grid = voxel_plane(&g, Mpr::Axial, 1, 5.0).unwrap();
        // 5 mm over 2 mm slices: K = ⌊5 / 4⌋ = 1, so three slices, 6 mm.
        assert_eq!(gpu_reslice(&g, Mpr::Axial, &grid, 5.0).slab_mm, 6.0);
        // A slab thinner than two spacings is the slice alone.
        assert_eq!(gpu_reslice(&g, Mpr::Axial, &grid, 3.9).slab_mm, 0.0);
    }

    #[test]
    fn a_coronal_frame_is_tall_pixels_with_the_head_on_top() {
        let g = geometry();
        let grid = voxel_plane(&g, Mpr::Coronal, 1, 0.0).unwrap();
        let plane = frame_plane(&g, &grid).unwrap();
        // Rows run from the head (z = 6) down to the feet.
        assert_eq!(plane.position, Vec3::new(0.0, 0.5, 6.0));
        assert_eq!(plane.column_direction, Vec3::new(0.0, 0.0, -1.0));
        assert_eq!((plane.rows, plane.columns), (4, 4));
        assert_eq!(plane.pixel_spacing, (2.0, 0.5));
    }
}
