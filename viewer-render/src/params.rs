//! The per-draw uniform block, laid out as the shaders declare it.

use crate::types::{DisplayParams, Reslice};

/// Most samples one reslice point takes across its slab; bounds the
/// fragment shader's loop whatever thickness the caller asks for.
pub(crate) const MAX_SLAB_SAMPLES: u32 = 2048;

/// The `Params` struct of `common.wgsl`: only `vec4`s, so the std140
/// (WebGL2) and WGSL uniform layouts agree without padding rules.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Uniforms {
    /// `a, b, c, 0`: column = a·x + b·y + c.
    pub to_col: [f32; 4],
    /// `d, e, f, 0`: row = d·x + e·y + f.
    pub to_row: [f32; 4],
    /// slope, intercept, window centre, window width.
    pub modality: [f32; 4],
    /// Invert (0 or 1), then unused: the VOI function, interpolation and
    /// output encoding are compiled into the pipeline (`pipelines::Variant`).
    pub options: [u32; 4],
    pub origin: [f32; 4],
    pub axis_u: [f32; 4],
    pub axis_v: [f32; 4],
    /// Offset of the first slab sample from the plane.
    pub slab_first: [f32; 4],
    /// Offset between consecutive slab samples.
    pub slab_step: [f32; 4],
    /// Sample count, then unused (the slab mode is the pipeline's).
    pub slab: [u32; 4],
    /// 2D images: the whole image's columns and rows, then the image
    /// pixel at the texture's origin (a tile's; 0, 0 for a whole image).
    pub extent: [f32; 4],
    /// 2D images: the image points this draw shows, `x0, y0, x1, y1`
    /// (a tile's core; the whole image when it is one texture).
    pub core: [f32; 4],
}

impl Uniforms {
    /// The block for drawing the part `core` of a `size` image whose
    /// texture starts at image pixel `origin`.
    pub fn for_image(
        params: &DisplayParams,
        size: [u32; 2],
        origin: [u32; 2],
        core: [u32; 4],
    ) -> Uniforms {
        let [a, b, c, d, e, f] = params.clip_to_image;
        Uniforms {
            to_col: [a, b, c, 0.0],
            to_row: [d, e, f, 0.0],
            modality: [
                params.slope,
                params.intercept,
                params.window_center,
                params.window_width,
            ],
            options: [u32::from(params.invert), 0, 0, 0],
            origin: [0.0; 4],
            axis_u: [0.0; 4],
            axis_v: [0.0; 4],
            slab_first: [0.0; 4],
            slab_step: [0.0; 4],
            slab: [1, 0, 0, 0],
            extent: [
                size[0] as f32,
                size[1] as f32,
                origin[0] as f32,
                origin[1] as f32,
            ],
            core: core.map(|v| v as f32),
        }
    }

    /// The block for a reslice draw: the image block plus the plane and
    /// the slab's sample positions.
    pub fn for_reslice(params: &DisplayParams, reslice: &Reslice) -> Uniforms {
        let (samples, first, step) = slab_samples(reslice);
        let v4 = |v: [f32; 3]| [v[0], v[1], v[2], 0.0];
        Uniforms {
            origin: v4(reslice.origin),
            axis_u: v4(reslice.axis_u),
            axis_v: v4(reslice.axis_v),
            slab_first: v4(first),
            slab_step: v4(step),
            slab: [samples, 0, 0, 0],
            ..Uniforms::for_image(params, [0; 2], [0; 2], [0; 4])
        }
    }
}

/// Sample count, first offset and step along the normal: `n` samples at
/// the centres of `n` equal parts of the slab `[−T/2, T/2]`, with `n` =
/// the slab's length in voxels rounded up (at least 1, at most
/// [`MAX_SLAB_SAMPLES`]). A thin or degenerate slab is one sample on the
/// plane.
pub(crate) fn slab_samples(reslice: &Reslice) -> (u32, [f32; 3], [f32; 3]) {
    let n = reslice.normal;
    let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    let thickness = reslice.slab_thickness;
    let voxels = thickness * length;
    if !(voxels.is_finite() && voxels > 0.0) {
        return (1, [0.0; 3], [0.0; 3]);
    }
    // Slightly below the exact count so that a slab of exactly k voxels
    // does not gain a sample to float rounding.
    let samples = (voxels - 1e-4).ceil().clamp(1.0, MAX_SLAB_SAMPLES as f32) as u32;
    let spacing = thickness / samples as f32;
    let first = -thickness / 2.0 + spacing / 2.0;
    (samples, n.map(|x| x * first), n.map(|x| x * spacing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Interpolation, SlabMode, VoiFunction};

    fn params() -> DisplayParams {
        DisplayParams {
            slope: 2.0,
            intercept: -1024.0,
            window_center: 40.0,
            window_width: 400.0,
            voi: VoiFunction::Sigmoid,
            invert: true,
            clip_to_image: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            interpolation: Interpolation::Bicubic,
        }
    }

    #[test]
    fn block_is_twelve_vec4s() {
        // The WGSL struct has twelve vec4 members of 16 bytes each.
        assert_eq!(std::mem::size_of::<Uniforms>(), 192);
    }

    #[test]
    fn image_block_keeps_the_matrix_rows_and_codes() {
        let u = Uniforms::for_image(&params(), [3000, 4000], [2044, 0], [2046, 0, 3000, 2044]);
        assert_eq!(u.to_col, [1.0, 2.0, 3.0, 0.0]);
        assert_eq!(u.to_row, [4.0, 5.0, 6.0, 0.0]);
        assert_eq!(u.modality, [2.0, -1024.0, 40.0, 400.0]);
        // Inverted.
        assert_eq!(u.options, [1, 0, 0, 0]);
        assert_eq!(u.slab, [1, 0, 0, 0]);
        assert_eq!(u.extent, [3000.0, 4000.0, 2044.0, 0.0]);
        assert_eq!(u.core, [2046.0, 0.0, 3000.0, 2044.0]);
    }

    #[test]
    fn slab_of_four_voxels_samples_each_voxel_centre() {
        // Plane at z = 2 (between slices 1 and 2), thickness 4 along +k:
        // samples at z = 0.5, 1.5, 2.5, 3.5, the centres of slices 0..4.
        let r = Reslice::new(
            [0.0, 0.0, 2.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            4.0,
            SlabMode::Mip,
        );
        let (n, first, step) = slab_samples(&r);
        assert_eq!(n, 4);
        assert_eq!(first, [0.0, 0.0, -1.5]);
        assert_eq!(step, [0.0, 0.0, 1.0]);
    }

    #[test]
    fn slab_in_millimetres_counts_voxels_along_the_normal() {
        // 2.5 mm slices: one mm along k is 0.4 voxel; a 5 mm slab spans
        // 2 voxels, so 2 samples 2.5 mm apart at ±1.25 mm (±0.5 voxel).
        let r = Reslice {
            normal: [0.0, 0.0, 0.4],
            ..Reslice::new(
                [0.0; 3],
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                5.0,
                SlabMode::Mean,
            )
        };
        let (n, first, step) = slab_samples(&r);
        assert_eq!(n, 2);
        assert!((first[2] + 0.5).abs() < 1e-6, "{first:?}");
        assert!((step[2] - 1.0).abs() < 1e-6, "{step:?}");
    }

    #[test]
    fn thin_or_invalid_slab_is_one_sample_on_the_plane() {
        for thickness in [0.0, -3.0, f32::NAN, f32::INFINITY] {
            let r = Reslice::new(
                [0.0; 3],
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                thickness,
                SlabMode::Mip,
            );
            assert_eq!(slab_samples(&r), (1, [0.0; 3], [0.0; 3]), "{thickness}");
        }
        let huge = Reslice::new(
            [0.0; 3],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            1e9,
            SlabMode::Mip,
        );
        assert_eq!(slab_samples(&huge).0, MAX_SLAB_SAMPLES);
    }
}
