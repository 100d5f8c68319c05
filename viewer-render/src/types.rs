//! The renderer's public data: what the application uploads and asks to draw.

/// Which browser graphics API to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendPreference {
    /// WebGPU if `navigator.gpu` gives an adapter, WebGL2 otherwise.
    #[default]
    Auto,
    /// WebGPU only; fails with [`crate::RenderError::GpuUnavailable`] where
    /// the browser has none.
    WebGpu,
    /// WebGL2 only, even where WebGPU exists (for comparison and for
    /// browsers whose WebGPU is known to misbehave).
    WebGl2,
}

/// Stored pixel values, row by row from the top left, one sample per pixel
/// except `Rgba8` (four bytes per pixel, alpha ignored).
///
/// Values are uploaded unchanged: signed 16-bit as `R16Sint`, unsigned as
/// `R16Uint`, 8-bit as `R8Uint`, colour as `Rgba8Unorm`.
#[derive(Debug, Clone, PartialEq)]
pub enum TexelData {
    U8(Vec<u8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    Rgba8(Vec<u8>),
}

impl TexelData {
    /// Number of pixels the data holds (bytes / 4 for `Rgba8`), or `None`
    /// when an `Rgba8` buffer is not a whole number of pixels.
    pub fn pixel_count(&self) -> Option<usize> {
        match self {
            TexelData::U8(v) => Some(v.len()),
            TexelData::U16(v) => Some(v.len()),
            TexelData::I16(v) => Some(v.len()),
            TexelData::Rgba8(v) => v.len().is_multiple_of(4).then_some(v.len() / 4),
        }
    }
}

/// One frame's stored values, ready to upload.
///
/// Invariant checked by [`crate::Renderer::upload`]: `texels` holds exactly
/// `width × height` pixels and both sizes are non-zero.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuImage {
    pub width: u32,
    pub height: u32,
    pub texels: TexelData,
}

/// A stack of equally sized slices for multiplanar reformatting.
///
/// Voxel `(i, j, k)` is column `i`, row `j` of slice `k`; `texels` holds
/// slice after slice, each row by row. Only grey data (`U8`, `U16`, `I16`)
/// can be resliced.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuVolume {
    pub width: u32,
    pub height: u32,
    pub depth: u32,
    pub texels: TexelData,
}

/// The VOI LUT Function (0028,1056), PS3.3 C.11.2.1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VoiFunction {
    #[default]
    Linear,
    LinearExact,
    Sigmoid,
}

/// How values between pixel centres are found when the image is scaled or
/// rotated.
///
/// For reslices, `Bicubic` samples trilinearly (a tricubic kernel would
/// read 64 voxels per sample for every sample of the slab).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Interpolation {
    /// The pixel containing the point: what was stored, unchanged.
    #[default]
    Nearest,
    /// Linear between the four surrounding pixel centres.
    Bilinear,
    /// Catmull-Rom between the sixteen surrounding pixel centres: sharper
    /// when zoomed in; may overshoot slightly at edges (the window clamps).
    Bicubic,
}

/// How one image is shown in one viewport.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisplayParams {
    /// Rescale Slope: modality value = stored × slope + intercept.
    pub slope: f32,
    /// Rescale Intercept.
    pub intercept: f32,
    /// Window centre in modality units (ignored for RGB images).
    pub window_center: f32,
    /// Window width in modality units; LINEAR treats widths below 1 as 1.
    pub window_width: f32,
    pub voi: VoiFunction,
    /// Inverts the displayed grey (or colour): MONOCHROME1 XOR the user's
    /// invert, see [`display_inverted`].
    pub invert: bool,
    /// Row-major `[a, b, c, d, e, f]`: for a point `(x, y)` in the
    /// viewport's clip space (x right, y up, −1..1), the image point is
    /// `col = a·x + b·y + c`, `row = d·x + e·y + f` (pixel `(c, r)`'s
    /// centre is `(c + 0.5, r + 0.5)`).
    pub clip_to_image: [f32; 6],
    pub interpolation: Interpolation,
}

/// A rectangle of the target in physical pixels, origin at the top left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Viewport {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Handle of an uploaded image; valid until [`crate::Renderer::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(pub(crate) u64);

/// Handle of an uploaded volume; valid until
/// [`crate::Renderer::release_volume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeId(pub(crate) u64);

/// How the samples across a slab are combined into one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SlabMode {
    /// Maximum intensity projection.
    #[default]
    Mip,
    /// Mean of the samples (an average-intensity slab).
    Mean,
    /// Minimum intensity projection.
    MinIp,
}

/// A plane through a volume, in voxel coordinates (voxel `(i, j, k)` covers
/// `[i, i + 1) × [j, j + 1) × [k, k + 1)`).
///
/// The reslice is drawn like an image whose point `(u, v)` (what
/// [`DisplayParams::clip_to_image`] produces) lies at the voxel point
/// `origin + u·axis_u + v·axis_v`. Samples are taken at `slab_thickness`
/// / n spacing along `normal` (n = thickness × |normal| rounded up, at
/// least 1: about one sample per voxel), centred on the plane, and combined
/// by `mode`. Samples outside the volume are left out; a point with none
/// inside is black.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reslice {
    pub origin: [f32; 3],
    pub axis_u: [f32; 3],
    pub axis_v: [f32; 3],
    /// Voxel-space displacement for one unit of slab thickness. With
    /// anisotropic voxels the caller passes the patient normal (one
    /// millimetre) in voxel units, so that the thickness is in millimetres.
    pub normal: [f32; 3],
    /// Slab thickness in units of `normal`; 0 gives a thin reslice (one
    /// sample on the plane).
    pub slab_thickness: f32,
    pub mode: SlabMode,
}

impl Reslice {
    /// A reslice whose normal is the unit vector along `axis_u × axis_v` in
    /// voxel space, so that the thickness counts voxels: right for
    /// isotropic voxels and for planes perpendicular to a volume axis.
    pub fn new(
        origin: [f32; 3],
        axis_u: [f32; 3],
        axis_v: [f32; 3],
        slab_thickness: f32,
        mode: SlabMode,
    ) -> Reslice {
        let [a, b, c] = axis_u;
        let [d, e, f] = axis_v;
        let n = [b * f - c * e, c * d - a * f, a * e - b * d];
        let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        let normal = if length > 0.0 {
            n.map(|x| x / length)
        } else {
            [0.0; 3]
        };
        Reslice {
            origin,
            axis_u,
            axis_v,
            normal,
            slab_thickness,
            mode,
        }
    }
}

/// One viewport's content in a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Draw {
    Image {
        viewport: Viewport,
        image: ImageId,
        params: DisplayParams,
    },
    Reslice {
        viewport: Viewport,
        volume: VolumeId,
        reslice: Reslice,
        params: DisplayParams,
    },
}

impl Draw {
    pub fn viewport(&self) -> Viewport {
        match self {
            Draw::Image { viewport, .. } | Draw::Reslice { viewport, .. } => *viewport,
        }
    }
}

/// Whether the displayed grey is inverted: MONOCHROME1 shows low values
/// bright, and the user's invert flips whatever is shown.
pub fn display_inverted(monochrome1: bool, user_invert: bool) -> bool {
    monochrome1 ^ user_invert
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reslice_normal_is_the_unit_cross_product() {
        // Axial plane: u along i, v along j (rows go down), so u × v = +k.
        let r = Reslice::new(
            [0.0; 3],
            [2.0, 0.0, 0.0],
            [0.0, 3.0, 0.0],
            4.0,
            SlabMode::Mip,
        );
        assert_eq!(r.normal, [0.0, 0.0, 1.0]);
        // Coronal: u along i, v along k; i × k = −j.
        let r = Reslice::new(
            [0.0; 3],
            [1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            0.0,
            SlabMode::Mean,
        );
        assert_eq!(r.normal, [0.0, -1.0, 0.0]);
        // Degenerate axes give no normal (and so one sample on the plane).
        let r = Reslice::new(
            [0.0; 3],
            [1.0, 0.0, 0.0],
            [2.0, 0.0, 0.0],
            3.0,
            SlabMode::MinIp,
        );
        assert_eq!(r.normal, [0.0; 3]);
    }

    #[test]
    fn monochrome1_and_user_invert_cancel() {
        assert!(!display_inverted(false, false));
        assert!(display_inverted(true, false));
        assert!(display_inverted(false, true));
        assert!(!display_inverted(true, true));
    }

    #[test]
    fn rgba_pixel_count_needs_whole_pixels() {
        assert_eq!(TexelData::Rgba8(vec![0; 8]).pixel_count(), Some(2));
        assert_eq!(TexelData::Rgba8(vec![0; 7]).pixel_count(), None);
        assert_eq!(TexelData::I16(vec![0; 7]).pixel_count(), Some(7));
    }
}
