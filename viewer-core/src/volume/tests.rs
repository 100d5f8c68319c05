use super::*;
use crate::geometry::{orientation_labels, reference_line};
use crate::viewport::ViewTransform;

const X: Vec3 = Vec3::new(1.0, 0.0, 0.0);
const Y: Vec3 = Vec3::new(0.0, 1.0, 0.0);

/// An axial slice of 3 columns (0.8 mm apart) × 4 rows (0.5 mm apart) at height z.
fn axial(z: f64) -> ImagePlane {
    ImagePlane::new(Vec3::new(10.0, 20.0, z), X, Y, (0.5, 0.8), 4, 3).unwrap()
}

/// 3×4×5 voxels, 2 mm slices, stored value 100·z + 10·y + x, rescaled by
/// slope 2 and intercept −1000: modality value 2·(100z + 10y + x) − 1000.
fn test_volume() -> Volume {
    let planes: Vec<_> = (0..5).map(|z| axial(2.0 * f64::from(z))).collect();
    let geometry = VolumeGeometry::from_stack(&planes).unwrap();
    let mut v = Volume::new(geometry, true, 2.0, -1000.0).unwrap();
    for z in 0..5_i16 {
        let slice: Vec<i16> = (0..4_i16)
            .flat_map(|y| (0..3_i16).map(move |x| 100 * z + 10 * y + x))
            .collect();
        v.set_slice_i16(z as usize, &slice).unwrap();
    }
    v
}

fn hu(x: usize, y: usize, z: usize) -> f32 {
    (2 * (100 * z + 10 * y + x)) as f32 - 1000.0
}

#[test]
fn geometry_comes_from_the_sorted_stack() {
    let planes: Vec<_> = (0..3).map(|z| axial(2.0 * f64::from(z))).collect();
    let g = VolumeGeometry::from_stack(&planes).unwrap();
    assert_eq!(g.dims, (3, 4, 3));
    assert_eq!(g.spacing, (0.8, 0.5, 2.0));
    assert_eq!(g.origin, Vec3::new(10.0, 20.0, 0.0));
    assert_eq!(g.axes.2, Vec3::new(0.0, 0.0, 1.0));
    // Voxel (2, 3, 1): x 10 + 2·0.8, y 20 + 3·0.5, z 2.
    assert!((g.voxel_to_patient(2.0, 3.0, 1.0) - Vec3::new(11.6, 21.5, 2.0)).length() < 1e-12);
}

#[test]
fn stacks_that_cannot_make_a_volume_are_refused() {
    assert_eq!(
        VolumeGeometry::from_stack(&[axial(0.0)]),
        Err(VolumeError::TooFewSlices)
    );
    let gap = [axial(0.0), axial(2.0), axial(6.0)];
    assert_eq!(
        VolumeGeometry::from_stack(&gap),
        Err(VolumeError::UnevenSpacing)
    );
    let mut odd = axial(4.0);
    odd.rows = 5;
    assert_eq!(
        VolumeGeometry::from_stack(&[axial(0.0), axial(2.0), odd]),
        Err(VolumeError::Inconsistent { index: 2 })
    );
    let mut huge = VolumeGeometry::from_stack(&[axial(0.0), axial(2.0)]).unwrap();
    huge.dims = (1 << 40, 1 << 40, 1 << 40);
    assert!(matches!(
        Volume::new(huge, true, 1.0, 0.0),
        Err(VolumeError::TooLarge { .. })
    ));
}

#[test]
fn voxels_take_two_bytes_each_and_slices_are_checked() {
    let mut v = test_volume();
    let Voxels::I16(stored) = &v.voxels else {
        panic!("signed volume")
    };
    assert_eq!(std::mem::size_of_val(stored.as_slice()), 2 * 3 * 4 * 5);
    assert_eq!(v.value(2, 3, 4), Some(hu(2, 3, 4)));
    assert_eq!(v.value(3, 0, 0), None);
    assert_eq!(
        v.set_slice_i16(0, &[0; 11]),
        Err(VolumeError::WrongSliceLength {
            index: 0,
            got: 11,
            expected: 12
        })
    );
    assert_eq!(
        v.set_slice_i16(5, &[0; 12]),
        Err(VolumeError::SliceOutOfRange { index: 5, len: 5 })
    );
    assert!(matches!(
        v.set_slice_u16(0, &[0; 12]),
        Err(VolumeError::WrongSampleType { .. })
    ));
}

#[test]
fn axial_coronal_and_sagittal_frames_hold_the_right_voxels() {
    let v = test_volume();
    let axial = reslice(&v, Mpr::Axial, 2, 0.0, Slab::Mip).unwrap();
    assert_eq!(
        (axial.width, axial.height, axial.pixel_spacing),
        (3, 4, (0.5, 0.8))
    );
    assert_eq!(axial.values[2 * 3 + 1], hu(1, 2, 2));

    // Coronal y = 1: columns x, rows from the top slice (z = 4) down.
    let coronal = reslice(&v, Mpr::Coronal, 1, 0.0, Slab::Mip).unwrap();
    assert_eq!(
        (coronal.width, coronal.height, coronal.pixel_spacing),
        (3, 5, (2.0, 0.8))
    );
    for r in 0..5 {
        for c in 0..3 {
            assert_eq!(
                coronal.values[r * 3 + c],
                hu(c, 1, 4 - r),
                "coronal ({c}, {r})"
            );
        }
    }

    // Sagittal x = 2: columns y, rows from z = 4 down.
    let sagittal = reslice(&v, Mpr::Sagittal, 2, 0.0, Slab::Mip).unwrap();
    assert_eq!(
        (sagittal.width, sagittal.height, sagittal.pixel_spacing),
        (4, 5, (2.0, 0.5))
    );
    for r in 0..5 {
        for c in 0..4 {
            assert_eq!(
                sagittal.values[r * 4 + c],
                hu(2, c, 4 - r),
                "sagittal ({c}, {r})"
            );
        }
    }
    assert_eq!(
        reslice(&v, Mpr::Sagittal, 3, 0.0, Slab::Mip),
        Err(VolumeError::SliceOutOfRange { index: 3, len: 3 })
    );
}

#[test]
fn slabs_combine_the_voxels_within_half_the_thickness() {
    let v = test_volume();
    // 2 mm slices, 4 mm slab: K = ⌊4/(2·2)⌋ = 1, slices z−1..=z+1. Values
    // rise with z, so MIP takes z+1, MinIP z−1 and the mean is z's value.
    let mip = reslice(&v, Mpr::Axial, 2, 4.0, Slab::Mip).unwrap();
    let minip = reslice(&v, Mpr::Axial, 2, 4.0, Slab::MinIp).unwrap();
    let mean = reslice(&v, Mpr::Axial, 2, 4.0, Slab::Mean).unwrap();
    assert_eq!(mip.values[5], hu(2, 1, 3));
    assert_eq!(minip.values[5], hu(2, 1, 1));
    assert_eq!(mean.values[5], hu(2, 1, 2));
    // At the first slice the slab is cut short: z = 0 and 1 only.
    let edge = reslice(&v, Mpr::Axial, 0, 4.0, Slab::Mean).unwrap();
    assert_eq!(edge.values[0], (hu(0, 0, 0) + hu(0, 0, 1)) / 2.0);
    // Thinner than two spacings: the single slice.
    assert_eq!(
        reslice(&v, Mpr::Axial, 2, 3.9, Slab::Mip).unwrap(),
        reslice(&v, Mpr::Axial, 2, 0.0, Slab::Mip).unwrap()
    );
    // A coronal slab runs along y (0.5 mm): 1 mm covers y−1..=y+1.
    let coronal = reslice(&v, Mpr::Coronal, 1, 1.0, Slab::Mip).unwrap();
    assert_eq!(coronal.values[0], hu(0, 2, 4));
    assert_eq!(slab_half_width(10.0, 1.0), 5);
    assert_eq!(slab_half_width(f64::NAN, 1.0), 0);
}

#[test]
fn a_negative_slope_projects_the_modality_maximum() {
    let planes = [axial(0.0), axial(2.0)];
    let mut v = Volume::new(
        VolumeGeometry::from_stack(&planes).unwrap(),
        false,
        -1.0,
        0.0,
    )
    .unwrap();
    v.set_slice_u16(0, &[10; 12]).unwrap();
    v.set_slice_u16(1, &[30; 12]).unwrap();
    let mip = reslice(&v, Mpr::Axial, 0, 4.0, Slab::Mip).unwrap();
    assert_eq!(mip.values[0], -10.0);
}

#[test]
fn a_stack_acquired_head_first_still_shows_the_head_at_the_top() {
    // Slices sorted head to feet (z = 8, 6, …, 0), as an instance-ordered
    // scan is: stored value 100·k + 10·y + x for slice k.
    let planes: Vec<_> = (0..5).map(|k| axial(8.0 - 2.0 * f64::from(k))).collect();
    let geometry = VolumeGeometry::from_stack(&planes).unwrap();
    assert!(geometry.descends());
    let mut v = Volume::new(geometry, true, 2.0, -1000.0).unwrap();
    for k in 0..5_i16 {
        let slice: Vec<i16> = (0..4_i16)
            .flat_map(|y| (0..3_i16).map(move |x| 100 * k + 10 * y + x))
            .collect();
        v.set_slice_i16(k as usize, &slice).unwrap();
    }
    let coronal = reslice(&v, Mpr::Coronal, 1, 0.0, Slab::Mip).unwrap();
    // Row r is slice k = r: the head (z = 8) on top.
    for r in 0..5 {
        assert_eq!(coronal.values[r * 3], hu(0, 1, r), "row {r}");
    }
    let plane = coronal.plane.unwrap();
    assert_eq!(
        orientation_labels(&plane, &ViewTransform::default()),
        ["R", "H", "L", "F"]
    );
    assert!((plane.position.z - 8.0).abs() < 1e-12);
    let sagittal = reslice(&v, Mpr::Sagittal, 2, 0.0, Slab::Mip).unwrap();
    assert_eq!(sagittal.values[4 * 4 + 3], hu(2, 3, 4));
    assert_eq!(
        orientation_labels(&sagittal.plane.unwrap(), &ViewTransform::default()),
        ["A", "H", "P", "F"]
    );
}

#[test]
fn the_voxel_plane_describes_exactly_the_samples_reslice_takes() {
    // For every orientation and a slab, recompute each frame pixel by
    // walking the voxel grid by hand: the GPU gets these same numbers.
    let v = test_volume();
    for (orientation, index) in [(Mpr::Axial, 1), (Mpr::Coronal, 3), (Mpr::Sagittal, 0)] {
        let grid = voxel_plane(&v.geometry, orientation, index, 4.0).unwrap();
        let frame = reslice(&v, orientation, index, 4.0, Slab::Mean).unwrap();
        assert_eq!((grid.width, grid.height), (frame.width, frame.height));
        for r in 0..grid.height {
            for c in 0..grid.width {
                let (before, after) = (grid.slab_steps.0 as i64, grid.slab_steps.1 as i64);
                let mut sum = 0.0;
                for k in -before..=after {
                    let p: Vec<usize> = (0..3)
                        .map(|a| {
                            grid.origin[a]
                                + c as f64 * grid.column[a]
                                + r as f64 * grid.row[a]
                                + k as f64 * grid.normal[a]
                        })
                        .map(|x| x as usize)
                        .collect();
                    sum += v.value(p[0], p[1], p[2]).unwrap();
                }
                let mean = sum / (before + after + 1) as f32;
                assert_eq!(
                    frame.values[r * grid.width + c],
                    mean,
                    "{orientation:?} ({c}, {r})"
                );
            }
        }
    }
    // Axial at z = 1 with 4 mm over 2 mm slices: one step each way.
    let axial = voxel_plane(&v.geometry, Mpr::Axial, 1, 4.0).unwrap();
    assert_eq!(
        (axial.origin, axial.normal, axial.slab_steps),
        ([0.0, 0.0, 1.0], [0.0, 0.0, 1.0], (1, 1))
    );
    // Coronal of an ascending stack starts at the top slice and steps down.
    let coronal = voxel_plane(&v.geometry, Mpr::Coronal, 3, 0.0).unwrap();
    assert_eq!(
        (coronal.origin, coronal.row),
        ([0.0, 3.0, 4.0], [0.0, 0.0, -1.0])
    );
}

#[test]
fn frame_helpers() {
    let v = test_volume();
    let coronal = reslice(&v, Mpr::Coronal, 0, 0.0, Slab::Mip).unwrap();
    // 2 mm rows over 0.8 mm columns.
    assert!((coronal.pixel_aspect() - 2.5).abs() < 1e-12);
    // Values at y = 0 run from hu(0, 0, 0) to hu(2, 0, 4).
    assert_eq!(coronal.min_max(), Some((hu(0, 0, 0), hu(2, 0, 4))));
}

#[test]
fn frames_know_their_plane() {
    let v = test_volume();
    let coronal = reslice(&v, Mpr::Coronal, 1, 0.0, Slab::Mip).unwrap();
    let plane = coronal.plane.unwrap();
    // Head up, patient's right on the reader's left.
    assert_eq!(
        orientation_labels(&plane, &ViewTransform::default()),
        ["R", "H", "L", "F"]
    );
    // The first pixel is voxel (0, 1, 4).
    assert!((plane.position - v.geometry.voxel_to_patient(0.0, 1.0, 4.0)).length() < 1e-12);
    // Axial slice z = 2 crosses this coronal frame through row 2's centre.
    let (a, b) = reference_line(&plane, &axial(4.0)).unwrap();
    assert!(
        (a.1 - 2.5).abs() < 1e-9 && (b.1 - 2.5).abs() < 1e-9,
        "{a:?} {b:?}"
    );
    let sagittal = reslice(&v, Mpr::Sagittal, 0, 0.0, Slab::Mip).unwrap();
    assert_eq!(
        orientation_labels(&sagittal.plane.unwrap(), &ViewTransform::default()),
        ["A", "H", "P", "F"]
    );
}

#[test]
fn a_region_of_a_reformat_reads_the_same_voxels_as_the_whole_frame() {
    let v = test_volume();
    let voxel = |x: usize, y: usize, z: usize| v.value(x, y, z).map(f64::from);
    for (orientation, index, slab) in [
        (Mpr::Coronal, 2, 0.0),
        (Mpr::Sagittal, 1, 5.0),
        (Mpr::Axial, 2, 4.0),
    ] {
        let frame = reslice(&v, orientation, index, slab, Slab::Mip).unwrap();
        let grid = voxel_plane(&v.geometry, orientation, index, slab).unwrap();
        let (x0, y0, x1, y1) = (1, 1, grid.width, grid.height.min(3));
        let region = reslice_region(&grid, Slab::Mip, (x0, y0, x1, y1), voxel);
        let expected: Vec<f32> = (y0..y1)
            .flat_map(|r| (x0..x1).map(move |c| (r, c)))
            .map(|(r, c)| frame.values[r * frame.width + c])
            .collect();
        assert_eq!(region, expected, "{orientation:?} {index} slab {slab}");
    }
    // A slice that has not arrived makes its pixels unknown, not wrong.
    let grid = voxel_plane(&v.geometry, Mpr::Coronal, 0, 0.0).unwrap();
    let missing_z2 = |x: usize, y: usize, z: usize| (z != 2).then(|| voxel(x, y, z)).flatten();
    let values = reslice_region(&grid, Slab::Mip, (0, 0, 1, grid.height), missing_z2);
    let nan_rows: Vec<usize> = (0..values.len()).filter(|&r| values[r].is_nan()).collect();
    assert_eq!(nan_rows.len(), 1, "{values:?}");
}
