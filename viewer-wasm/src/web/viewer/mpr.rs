//! Multiplanar reformatting: the active series as a 3D texture, shown in
//! three viewports (axial, coronal, sagittal) resliced on the GPU, with a
//! thick-slab MIP and reference lines between the three.

use std::cell::RefCell;
use std::rc::Rc;

use viewer_core::geometry::ImagePlane;
use viewer_core::image::ImageInfo;
use viewer_core::volume::{Mpr, Slab, VolumeGeometry, reslice_region, voxel_plane};
use viewer_render::{GpuVolume, Renderer, Reslice, SlabMode, TexelData, VolumeId};

use super::draw::{relayout, request_redraw};
use super::state::{LoadedSeries, Shared, SliceState};
use crate::annotations::RegionValues;
use crate::layout::Layout;
use crate::mpr::{frame_info, frame_plane, gpu_reslice};
use crate::pixels::StoredPixels;
use crate::web::text::tr;

/// A series prepared for reformatting.
pub struct MprVolume {
    pub geometry: VolumeGeometry,
    /// The series' own metadata (first slice), the base of every
    /// reformatted frame's.
    pub base: ImageInfo,
    pub series: Rc<RefCell<LoadedSeries>>,
    /// The 3D texture, once every slice is decoded and uploaded.
    pub id: Option<VolumeId>,
}

/// A viewport showing one orientation of a volume.
#[derive(Clone)]
pub struct MprView {
    pub orientation: Mpr,
    pub volume: Rc<RefCell<MprVolume>>,
}

impl MprView {
    /// The frame's metadata and plane at reformat `index`.
    pub fn frame(&self, index: usize) -> Option<(ImageInfo, Option<ImagePlane>)> {
        let volume = self.volume.borrow();
        let grid = voxel_plane(&volume.geometry, self.orientation, index, 0.0).ok()?;
        let plane = frame_plane(&volume.geometry, &grid);
        Some((frame_info(&volume.base, &grid, plane), plane))
    }

    /// The renderer's reslice at `index` with a slab of `slab_mm`.
    pub fn reslice(&self, index: usize, slab_mm: f64) -> Option<Reslice> {
        let volume = self.volume.borrow();
        let grid = voxel_plane(&volume.geometry, self.orientation, index, slab_mm).ok()?;
        let r = gpu_reslice(&volume.geometry, self.orientation, &grid, slab_mm);
        Some(Reslice {
            origin: r.origin,
            axis_u: r.axis_u,
            axis_v: r.axis_v,
            normal: r.normal,
            slab_thickness: r.slab_mm,
            mode: SlabMode::Mip,
        })
    }

    /// The modality values the reformat at `index` shows with a MIP slab
    /// of `slab_mm` (what the GPU draws), sampled from the series' decoded
    /// slices for region statistics.
    pub fn region_values(&self, index: usize, slab_mm: f64) -> Option<Box<RegionValues<'static>>> {
        let volume = self.volume.borrow();
        let grid = voxel_plane(&volume.geometry, self.orientation, index, slab_mm).ok()?;
        let series = volume.series.clone();
        // The texture holds one rescale for the whole volume: the first
        // slice's, as drawn.
        let (slope, intercept) = (volume.base.rescale_slope, volume.base.rescale_intercept);
        let (dx, dy, _) = volume.geometry.dims;
        Some(Box::new(move |region| {
            let s = series.borrow();
            let voxel = |x: usize, y: usize, z: usize| {
                if x >= dx || y >= dy {
                    return None;
                }
                let stored = s.decoded(z)?.pixels.value(y * dx + x)?;
                Some(stored * slope + intercept)
            };
            let values = reslice_region(&grid, Slab::Mip, region, voxel);
            (!values.iter().any(|v| v.is_nan())).then_some(values)
        }))
    }

    /// Reformats in this orientation.
    pub fn len(&self) -> usize {
        let (x, y, z) = self.volume.borrow().geometry.dims;
        match self.orientation {
            Mpr::Axial => z,
            Mpr::Coronal => y,
            Mpr::Sagittal => x,
        }
    }
}

/// Turns MPR on (`on`) for the active viewport's series, or back to the
/// acquired slices. A series that is not a regular stack says why in its
/// viewport.
pub fn set_mpr(shared: &Shared, on: bool) {
    if !on {
        leave(shared);
        return;
    }
    let prepared = {
        let v = shared.borrow();
        let pane = &v.panes[v.active];
        let series = pane.series.clone();
        let info = pane.info();
        series.zip(info).and_then(|(series, base)| {
            let planes = series.borrow().planes.clone()?;
            let geometry = VolumeGeometry::from_stack(&planes).ok()?;
            Some(MprVolume {
                geometry,
                base,
                series,
                id: None,
            })
        })
    };
    let Some(volume) = prepared else {
        {
            let mut v = shared.borrow_mut();
            v.active_pane().error = Some(tr("mpr.unavailable"));
            v.dom.toolbar.mpr.set_value("");
        }
        request_redraw(shared);
        // The message replaces the image only until the next action.
        let s = shared.clone();
        crate::web::dom::set_timeout(4000, move || {
            s.borrow_mut().active_pane().error = None;
            request_redraw(&s);
        });
        return;
    };
    let volume = Rc::new(RefCell::new(volume));
    super::layouts::change_layout(shared, Layout::OneByThree, false);
    {
        let mut v = shared.borrow_mut();
        let series = volume.borrow().series.clone();
        for (i, orientation) in [Mpr::Axial, Mpr::Coronal, Mpr::Sagittal]
            .into_iter()
            .enumerate()
        {
            let view = MprView {
                orientation,
                volume: volume.clone(),
            };
            let len = view.len();
            let pane = &mut v.panes[i];
            pane.show(series.clone());
            pane.stack = viewer_core::stack::Stack::new(len);
            pane.stack.jump_to(len / 2);
            pane.mpr = Some(view);
        }
        v.active = 0;
        v.dom.toolbar.slab.set_hidden(false);
    }
    relayout(shared);
}

/// Back to the acquired slices in one viewport.
fn leave(shared: &Shared) {
    let series = {
        let mut v = shared.borrow_mut();
        let v = &mut *v;
        let mut series = None;
        for pane in &mut v.panes {
            if let Some(view) = pane.mpr.take() {
                let mut volume = view.volume.borrow_mut();
                if let (Some(id), Some(renderer)) = (volume.id.take(), v.renderer.as_mut()) {
                    renderer.release_volume(id);
                }
                series.get_or_insert(volume.series.clone());
            }
        }
        v.dom.toolbar.slab.set_hidden(true);
        v.dom.toolbar.mpr.set_value("");
        series
    };
    super::layouts::change_layout(shared, Layout::One, false);
    if let Some(series) = series {
        shared.borrow_mut().panes[0].show(series);
    }
    relayout(shared);
}

/// The volume's texture, uploading it once every slice is decoded.
/// `None` while slices are still arriving (or if the upload failed, with
/// the reason).
pub fn texture(
    renderer: &mut Renderer,
    volume: &Rc<RefCell<MprVolume>>,
) -> Result<Option<VolumeId>, String> {
    if let Some(id) = volume.borrow().id {
        return Ok(Some(id));
    }
    let texels = {
        let v = volume.borrow();
        let series = v.series.borrow();
        let (x, y, z) = v.geometry.dims;
        if series.slices.len() != z
            || !series
                .slices
                .iter()
                .all(|s| matches!(s, SliceState::Ready(_)))
        {
            return Ok(None);
        }
        let mut signed: Vec<i16> = Vec::new();
        let mut unsigned: Vec<u16> = Vec::new();
        for slice in &series.slices {
            let SliceState::Ready(decoded) = slice else {
                return Ok(None);
            };
            match &decoded.pixels {
                StoredPixels::I16(p) if p.len() == x * y => signed.extend_from_slice(p),
                StoredPixels::U16(p) if p.len() == x * y => unsigned.extend_from_slice(p),
                StoredPixels::U8(p) if p.len() == x * y => {
                    unsigned.extend(p.iter().map(|&b| u16::from(b)))
                }
                _ => return Err(tr("mpr.unavailable")),
            }
        }
        match (signed.is_empty(), unsigned.is_empty()) {
            (false, true) => TexelData::I16(signed),
            (true, false) => TexelData::U16(unsigned),
            _ => return Err(tr("mpr.unavailable")),
        }
    };
    let (x, y, z) = volume.borrow().geometry.dims;
    let upload = GpuVolume {
        width: x as u32,
        height: y as u32,
        depth: z as u32,
        texels,
    };
    let id = renderer.upload_volume(&upload).map_err(|e| e.to_string())?;
    volume.borrow_mut().id = Some(id);
    Ok(Some(id))
}
