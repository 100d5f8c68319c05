//! The viewer's state: the loaded series, the viewports showing them, the
//! active tool, and what is being loaded. One `Viewer` per page, shared by
//! the event handlers as `Rc<RefCell<Viewer>>`; no borrow is ever held
//! across an `await`.

use std::cell::RefCell;
use std::rc::Rc;

use viewer_core::geometry::ImagePlane;
use viewer_core::image::ImageInfo;
use viewer_core::palette::PaletteLut;
use viewer_core::stack::{Cine, Stack};
use viewer_core::viewport::ViewTransform;
use viewer_core::voi::{Window, default_window};
use viewer_render::Renderer;

use super::page::{PageDom, PaneDom};
use super::textures::Textures;
use crate::annotations::{Annotation, RegionValues, slice_region};
use crate::format::{round_window_value, window_drag_sensitivity};
use crate::layout::{Layout, Rect};
use crate::series::SeriesLayout;
use crate::tools::{Editor, Tool};
use crate::web::decode::{DecodePool, Decoded};

pub type Shared = Rc<RefCell<Viewer>>;

/// One series of the study, as the strip lists it.
#[derive(Debug, Clone)]
pub struct SeriesEntry {
    pub study_uid: String,
    pub series_uid: String,
    pub number: Option<i64>,
    pub modality: String,
    pub description: String,
    pub count: Option<i64>,
}

/// The load state of one slice.
pub enum SliceState {
    Missing,
    InFlight,
    Ready(Decoded),
    Failed(String),
}

/// A series being (or done being) loaded.
pub struct LoadedSeries {
    /// The study the series belongs to (the page's, or a prior one).
    pub study_uid: String,
    pub series_uid: String,
    pub layout: SeriesLayout,
    pub slices: Vec<SliceState>,
    /// Per instance: the Accept header its frames are requested with
    /// (switched to uncompressed when the browser cannot decode them).
    pub accept: Vec<String>,
    /// Per instance: the frame description the workers decode with.
    pub descriptors: Vec<String>,
    /// Per instance: the colour palette a `PALETTE COLOR` image's stored
    /// values go through, or why it could not be loaded.
    pub palettes: Vec<Result<Option<Rc<PaletteLut>>, String>>,
    pub planes: Option<Vec<ImagePlane>>,
    /// Slices decoded or failed.
    pub done: usize,
    /// Set when no viewport shows it any more: in-flight answers are
    /// dropped and nothing new is fetched.
    pub closed: bool,
    pub loaded_marked: bool,
    /// A number unique among the page's series, naming its textures.
    pub key: u64,
    /// Every instance is one frame requested uncompressed, so the series'
    /// pixel data can come in one series-level request.
    pub streamable: bool,
    /// Frame requests started for the series.
    pub requested: usize,
    /// The link as the requests after the first found it.
    pub sample: crate::series::LinkSample,
    /// The rest of the series is coming (or came) in one request.
    pub streaming: bool,
}

impl LoadedSeries {
    pub fn len(&self) -> usize {
        self.slices.len()
    }

    pub fn decoded(&self, index: usize) -> Option<&Decoded> {
        match self.slices.get(index) {
            Some(SliceState::Ready(d)) => Some(d),
            _ => None,
        }
    }
}

/// One viewport: which series, where in it, and how it is shown.
pub struct Pane {
    pub series: Option<Rc<RefCell<LoadedSeries>>>,
    pub stack: Stack,
    /// `None` until the first image is fitted into the viewport.
    pub view: Option<ViewTransform>,
    pub window: Option<Window>,
    pub invert: bool,
    pub annotations: Vec<Annotation>,
    pub dom: PaneDom,
    pub rect: Rect,
    /// A message shown in this viewport instead of an image.
    pub error: Option<String>,
    /// Set when the viewport shows a reformat of its series.
    pub mpr: Option<super::mpr::MprView>,
}

impl Pane {
    pub fn new(dom: PaneDom) -> Pane {
        Pane {
            series: None,
            stack: Stack::new(0),
            view: None,
            window: None,
            invert: false,
            annotations: Vec::new(),
            dom,
            rect: Rect::default(),
            error: None,
            mpr: None,
        }
    }

    /// The metadata of the slice (or reformat) on screen.
    pub fn info(&self) -> Option<ImageInfo> {
        if let Some(view) = &self.mpr {
            return view.frame(self.stack.index()).map(|(info, _)| info);
        }
        let series = self.series.as_ref()?.borrow();
        series.layout.info(self.stack.index()).cloned()
    }

    /// Where region statistics read the modality values on screen: the
    /// decoded slice, or for a reformat (with a MIP slab of `slab_mm`) the
    /// series' slices it samples.
    pub fn region_values(&self, slab_mm: f64) -> Option<Box<RegionValues<'static>>> {
        let index = self.stack.index();
        if let Some(view) = &self.mpr {
            return view.region_values(index, slab_mm);
        }
        let series = self.series.clone()?;
        let info = self.info()?;
        Some(Box::new(move |region| {
            let s = series.borrow();
            slice_region(&s.decoded(index)?.pixels, &info, region)
        }))
    }

    /// The patient plane of what is on screen, when it has one.
    pub fn plane(&self) -> Option<ImagePlane> {
        match &self.mpr {
            Some(view) => view.frame(self.stack.index()).and_then(|(_, plane)| plane),
            None => self.info().and_then(|i| i.plane),
        }
    }

    /// `(columns, rows)` of the slice on screen.
    pub fn image_size(&self) -> Option<(f64, f64)> {
        self.info()
            .map(|i| (f64::from(i.columns), f64::from(i.rows)))
    }

    /// Shows `series` from its first slice, with a fresh view.
    pub fn show(&mut self, series: Rc<RefCell<LoadedSeries>>) {
        let len = series.borrow().len();
        self.series = Some(series);
        self.stack = Stack::new(len);
        self.view = None;
        self.window = None;
        self.invert = false;
        self.annotations.clear();
        self.error = None;
        self.mpr = None;
    }

    /// The window in effect, choosing the image's own when none is set
    /// yet (and remembering it).
    pub fn window_or_default(&mut self) -> Option<Window> {
        if self.window.is_none() {
            let info = self.info()?;
            let range = {
                let series = self.series.as_ref()?.borrow();
                series.decoded(self.stack.index()).map(|d| {
                    let (a, b) = (info.to_modality(d.min), info.to_modality(d.max));
                    (a.min(b), a.max(b))
                })
            };
            if info.windows.is_empty() && range.is_none() {
                return None;
            }
            self.window = Some(default_window(&info, range));
        }
        self.window.clone()
    }

    /// Window/level by a drag of `(dx, dy)` CSS pixels: right widens,
    /// down raises the centre (the image darkens), as most viewers do.
    pub fn drag_window(&mut self, dx: f64, dy: f64) {
        let Some(info) = self.info() else { return };
        let Some(window) = self.window_or_default() else {
            return;
        };
        let integral = info.rescale_slope.fract() == 0.0 && info.rescale_intercept.fract() == 0.0;
        let (lo, hi) = info.stored_range();
        let range = (info.to_modality(hi as f64) - info.to_modality(lo as f64)).abs();
        let sensitivity = window_drag_sensitivity(range, integral);
        let mut next = window.adjusted_by_drag(dx, dy, sensitivity);
        next.center = round_window_value(next.center, integral);
        next.width = round_window_value(next.width, integral).max(1.0);
        self.window = Some(next);
    }

    /// The view, fitting the image on first use.
    pub fn view_or_fit(&mut self) -> Option<ViewTransform> {
        if self.view.is_none() {
            let info = self.info()?;
            let image = (f64::from(info.columns), f64::from(info.rows));
            // Pixels taller than wide (a coronal reformat of thick slices)
            // are stretched to keep the anatomy's proportions.
            let aspect = info
                .calibration
                .spacing()
                .map(|(row_mm, col_mm)| row_mm / col_mm)
                .unwrap_or(1.0);
            self.view = Some(ViewTransform::fit_with_aspect(
                image,
                self.rect.size(),
                aspect,
            ));
        }
        self.view
    }

    /// Applies `change` to the view with the image and viewport sizes.
    pub fn change_view(&mut self, change: impl FnOnce(&mut ViewTransform, (f64, f64), (f64, f64))) {
        let Some(image) = self.image_size() else {
            return;
        };
        let Some(mut view) = self.view_or_fit() else {
            return;
        };
        change(&mut view, image, self.rect.size());
        self.view = Some(view);
    }
}

/// The whole page's state.
/// Milliseconds of main-thread time spent in redraws since the page
/// opened: recording and submitting the GPU work, and updating the
/// overlays (corner texts, markers, measurements).
#[derive(Debug, Default, Clone, Copy)]
pub struct RedrawCost {
    pub gpu_ms: f64,
    pub overlay_ms: f64,
    pub redraws: u64,
}

pub struct Viewer {
    pub study_uid: String,
    pub dom: PageDom,
    pub renderer: Option<Renderer>,
    /// The graphics API asked for, kept to open the GPU again after a loss.
    pub backend_preference: viewer_render::BackendPreference,
    /// The last draw found the GPU device lost.
    pub gpu_lost: bool,
    pub decoder: Rc<DecodePool>,
    pub series_list: Vec<SeriesEntry>,
    pub priors: Vec<super::priors::PriorStudy>,
    pub panes: Vec<Pane>,
    pub layout: Layout,
    pub active: usize,
    pub tool: Tool,
    pub editor: Editor,
    pub drag: Option<super::pointer::Drag>,
    /// Wheel distance not yet turned into whole slices.
    pub wheel_carry: f64,
    pub textures: Textures,
    pub in_flight: usize,
    /// When the loading progress was last written (ms since page start).
    pub progress_shown_at: f64,
    /// Frames fetched and being decoded.
    pub decoding: usize,
    /// A slice request broke on the link and is waiting to be sent again;
    /// cleared by the next one that succeeds.
    pub link_lost: bool,
    pub redraw_pending: bool,
    /// The first image's pipeline has been prepared (see `draw::warm_up`).
    pub warmed: bool,
    /// GPU frames drawn since the page opened (for frame-rate figures).
    pub frames_drawn: u64,
    /// Where the main thread's time per redraw goes (for the benchmark).
    pub redraw_cost: RedrawCost,
    pub first_image_marked: bool,
    /// The first slice could not be shown: loading goes on at full speed
    /// for the others.
    pub first_failed: bool,
    pub cine: Cine,
    /// `(start time ms, start slice)` while cine plays.
    pub cine_start: Option<(f64, usize)>,
    /// The image area in CSS pixels and the device pixel ratio.
    pub area_size: (f64, f64),
    pub pixel_ratio: f64,
    /// The page-wide error, once one happened.
    pub fatal: Option<String>,
    pub next_series_key: u64,
    /// MIP slab thickness of the reformats, millimetres (0: thin).
    pub slab_mm: f64,
}

impl Viewer {
    pub fn active_pane(&mut self) -> &mut Pane {
        let index = self.active.min(self.panes.len().saturating_sub(1));
        &mut self.panes[index]
    }

    /// Whether any viewport still shows `series`.
    pub fn is_shown(&self, series: &Rc<RefCell<LoadedSeries>>) -> bool {
        self.panes
            .iter()
            .take(self.layout.count())
            .any(|p| p.series.as_ref().is_some_and(|s| Rc::ptr_eq(s, series)))
    }
}
