//! A CT series as a voxel volume, and the CPU reference for multiplanar
//! reformats (MPR) and thick slabs (MIP, MinIP, mean) that the GPU
//! implementation is tested against.
//!
//! Voxels keep their **stored** 16-bit values (signed or unsigned, as the
//! files hold them) plus one rescale: a 1000-slice 512² CT takes its pixel
//! bytes (500 MiB), not the four times that `f32` would, and the values
//! stay exact. Reformatted frames are small and come out in modality units
//! (`f32`).
//!
//! Axes: `x` = column, `y` = row, `z` = slice in stack order (ascending
//! along the normal, see [`crate::geometry::sort_stack`]). Voxel `(x, y, z)`
//! is `values[(z · dims.y + y) · dims.x + x]`.

use thiserror::Error;

use crate::geometry::{ImagePlane, Vec3, slice_spacing};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VolumeError {
    #[error("a volume needs at least two slices with image geometry")]
    TooFewSlices,
    #[error(
        "slice {index} differs from the first in size, pixel spacing or orientation; the series cannot be reformatted"
    )]
    Inconsistent { index: usize },
    #[error(
        "the slices are not evenly spaced (a slice may be missing); the series cannot be reformatted"
    )]
    UnevenSpacing,
    #[error("a volume of {x}×{y}×{z} voxels is too large for this browser's memory")]
    TooLarge { x: usize, y: usize, z: usize },
    #[error("slice {index} has {got} values where {expected} were expected")]
    WrongSliceLength {
        index: usize,
        got: usize,
        expected: usize,
    },
    #[error("slice {index} is outside the volume's {len} slices")]
    SliceOutOfRange { index: usize, len: usize },
    #[error("the slice holds {got} samples but the volume stores {expected} samples")]
    WrongSampleType {
        got: &'static str,
        expected: &'static str,
    },
}

/// Where the volume lies: its size, voxel spacing and the patient
/// position of voxel centres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeGeometry {
    /// Voxels along x (columns), y (rows), z (slices).
    pub dims: (usize, usize, usize),
    /// Millimetres between voxel centres along x, y, z.
    pub spacing: (f64, f64, f64),
    /// Patient position of voxel (0, 0, 0)'s centre.
    pub origin: Vec3,
    /// Unit directions of increasing x, y and z in the patient.
    pub axes: (Vec3, Vec3, Vec3),
}

impl VolumeGeometry {
    /// The geometry of a sorted stack: all slices the same size, spacing
    /// and orientation, and evenly spaced (see [`slice_spacing`]).
    pub fn from_stack(sorted: &[ImagePlane]) -> Result<VolumeGeometry, VolumeError> {
        let [first, .., last] = sorted else {
            return Err(VolumeError::TooFewSlices);
        };
        for (index, p) in sorted.iter().enumerate() {
            let same = p.rows == first.rows
                && p.columns == first.columns
                && (p.pixel_spacing.0 - first.pixel_spacing.0).abs() < 1e-6
                && (p.pixel_spacing.1 - first.pixel_spacing.1).abs() < 1e-6
                && p.row_direction.dot(first.row_direction) > 0.9999
                && p.column_direction.dot(first.column_direction) > 0.9999;
            if !same {
                return Err(VolumeError::Inconsistent { index });
            }
        }
        let dz = slice_spacing(sorted).ok_or(VolumeError::UnevenSpacing)?;
        let z_axis = (last.position - first.position)
            .normalise()
            .ok_or(VolumeError::UnevenSpacing)?;
        Ok(VolumeGeometry {
            dims: (first.columns as usize, first.rows as usize, sorted.len()),
            spacing: (first.pixel_spacing.1, first.pixel_spacing.0, dz),
            origin: first.position,
            axes: (first.row_direction, first.column_direction, z_axis),
        })
    }

    /// Voxels in the volume.
    pub fn voxel_count(&self) -> Option<usize> {
        self.dims
            .0
            .checked_mul(self.dims.1)?
            .checked_mul(self.dims.2)
    }

    /// Whether the stack's z axis points towards the feet (acquired head
    /// first), so that reformats read it in increasing z to put the head
    /// at the top.
    pub fn descends(&self) -> bool {
        self.axes.2.z < -1e-6
    }

    /// Patient position of a voxel centre (fractional indices allowed).
    pub fn voxel_to_patient(&self, x: f64, y: f64, z: f64) -> Vec3 {
        let (ax, ay, az) = self.axes;
        self.origin
            + ax * (x * self.spacing.0)
            + ay * (y * self.spacing.1)
            + az * (z * self.spacing.2)
    }
}

/// The stored samples, one type for the whole volume.
#[derive(Debug, Clone, PartialEq)]
pub enum Voxels {
    I16(Vec<i16>),
    U16(Vec<u16>),
}

/// A voxel volume of stored values with its rescale.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub geometry: VolumeGeometry,
    pub voxels: Voxels,
    pub slope: f64,
    pub intercept: f64,
}

/// Which plane to reformat, named for an axially acquired stack.
///
/// - `Axial`: the acquired slices, `z = index`; frame columns along x,
///   rows along y.
/// - `Coronal`: `y = index`; columns along x, rows along the stack axis
///   from the head end to the feet end (decreasing z for a stack that
///   ascends towards the head, increasing z for one acquired head first),
///   so the head is at the top either way.
/// - `Sagittal`: `x = index`; columns along y, rows along the stack axis
///   as for `Coronal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mpr {
    Axial,
    Coronal,
    Sagittal,
}

/// How voxels across a thick slab combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slab {
    /// Maximum intensity projection.
    Mip,
    /// Arithmetic mean of the voxels in the slab.
    Mean,
    /// Minimum intensity projection.
    MinIp,
}

/// A reformatted image: modality values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    /// `(row_mm, col_mm)`, as Pixel Spacing: the frame's pixels need not
    /// be square (a coronal of 5 mm slices is 5 mm per row).
    pub pixel_spacing: (f64, f64),
    pub values: Vec<f32>,
    /// The plane of the frame's centre slice, for orientation letters and
    /// reference lines.
    pub plane: Option<ImagePlane>,
}

impl Frame {
    /// Row spacing ÷ column spacing: how much taller than wide each pixel
    /// is, for [`crate::viewport::ViewTransform::fit_with_aspect`].
    pub fn pixel_aspect(&self) -> f64 {
        self.pixel_spacing.0 / self.pixel_spacing.1
    }

    /// The smallest and largest value, e.g. for a default window; `None`
    /// for an empty frame.
    pub fn min_max(&self) -> Option<(f32, f32)> {
        let mut values = self.values.iter().copied().filter(|v| v.is_finite());
        let first = values.next()?;
        Some(values.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
    }
}

impl Volume {
    /// A volume of zeros, to be filled slice by slice as frames arrive.
    pub fn new(
        geometry: VolumeGeometry,
        signed: bool,
        slope: f64,
        intercept: f64,
    ) -> Result<Volume, VolumeError> {
        let (x, y, z) = geometry.dims;
        let count = geometry
            .voxel_count()
            .filter(|n| {
                n.checked_mul(2)
                    .is_some_and(|bytes| bytes <= isize::MAX as usize)
            })
            .ok_or(VolumeError::TooLarge { x, y, z })?;
        let voxels = if signed {
            Voxels::I16(vec![0; count])
        } else {
            Voxels::U16(vec![0; count])
        };
        Ok(Volume {
            geometry,
            voxels,
            slope,
            intercept,
        })
    }

    fn slice_range(&self, index: usize, got: usize) -> Result<std::ops::Range<usize>, VolumeError> {
        let (x, y, z) = self.geometry.dims;
        if index >= z {
            return Err(VolumeError::SliceOutOfRange { index, len: z });
        }
        let expected = x * y;
        if got != expected {
            return Err(VolumeError::WrongSliceLength {
                index,
                got,
                expected,
            });
        }
        Ok(index * expected..(index + 1) * expected)
    }

    /// Stores slice `index` (in stack order) of a signed volume.
    pub fn set_slice_i16(&mut self, index: usize, stored: &[i16]) -> Result<(), VolumeError> {
        let range = self.slice_range(index, stored.len())?;
        match &mut self.voxels {
            Voxels::I16(v) => v[range].copy_from_slice(stored),
            Voxels::U16(_) => {
                return Err(VolumeError::WrongSampleType {
                    got: "signed",
                    expected: "unsigned",
                });
            }
        }
        Ok(())
    }

    /// Stores slice `index` (in stack order) of an unsigned volume.
    pub fn set_slice_u16(&mut self, index: usize, stored: &[u16]) -> Result<(), VolumeError> {
        let range = self.slice_range(index, stored.len())?;
        match &mut self.voxels {
            Voxels::U16(v) => v[range].copy_from_slice(stored),
            Voxels::I16(_) => {
                return Err(VolumeError::WrongSampleType {
                    got: "unsigned",
                    expected: "signed",
                });
            }
        }
        Ok(())
    }

    /// Voxels along x (columns), y (rows) and z (slices).
    pub fn dims(&self) -> (usize, usize, usize) {
        self.geometry.dims
    }

    /// Millimetres between voxel centres along x, y and z.
    pub fn spacing(&self) -> (f64, f64, f64) {
        self.geometry.spacing
    }

    /// The number of frames a reformat along `orientation` has.
    pub fn slice_count(&self, orientation: Mpr) -> usize {
        let (x, y, z) = self.geometry.dims;
        match orientation {
            Mpr::Axial => z,
            Mpr::Coronal => y,
            Mpr::Sagittal => x,
        }
    }

    /// The modality value of a voxel.
    pub fn value(&self, x: usize, y: usize, z: usize) -> Option<f32> {
        let (dx, dy, dz) = self.geometry.dims;
        if x >= dx || y >= dy || z >= dz {
            return None;
        }
        let i = (z * dy + y) * dx + x;
        let stored = match &self.voxels {
            Voxels::I16(v) => f64::from(v[i]),
            Voxels::U16(v) => f64::from(v[i]),
        };
        Some((stored * self.slope + self.intercept) as f32)
    }
}

/// The voxel offsets a slab of `slab_mm` covers along an axis of
/// `spacing_mm`: every voxel whose centre is within half the thickness of
/// the frame's plane, `−K..=K` with `K = ⌊slab_mm / (2 · spacing_mm)⌋`
/// (so always an odd count; a slab thinner than two spacings is the single
/// slice). The GPU slab must sample exactly these.
pub fn slab_half_width(slab_mm: f64, spacing_mm: f64) -> usize {
    let k = slab_mm / (2.0 * spacing_mm) + 1e-9;
    if k.is_finite() && k > 0.0 {
        k.floor() as usize
    } else {
        0
    }
}

mod reslice;
pub use reslice::{VoxelPlane, reslice, reslice_region, voxel_plane};

#[cfg(test)]
mod tests;
