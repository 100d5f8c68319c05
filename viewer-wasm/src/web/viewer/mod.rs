//! The viewer page (`/viewer?study=...`): series strip, viewports drawn by
//! the wgpu renderer, tools, overlays and measurements, and the report
//! panel beside them (`web::report`; `keyimages` tells it which image is
//! on screen).
//!
//! Start-up runs three things at once so the first image comes as early as
//! the network allows: the GPU is opened, the study's series are listed,
//! and the first slice of the first series is requested as soon as its
//! metadata is known; whichever finishes last draws it.

mod actions;
mod controls;
mod draw;
mod hooks;
mod keyimages;
mod layouts;
mod loader;
pub(crate) use loader::net_message;
mod mpr;
mod overlay;
mod page;
mod pointer;
mod priors;
mod state;
mod strip;
mod textures;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use viewer_core::stack::Cine;
use viewer_render::{BackendPreference, RenderError, Renderer};

use self::draw::{relayout, request_redraw, show_fatal};
use self::state::{Pane, Shared, Viewer};
use crate::layout::Layout;
use crate::route::{BackendChoice, ViewerRequest};
use crate::session::Me;
use crate::tools::{Editor, Tool};
use crate::web::decode::DecodePool;
use crate::web::dom;
use crate::web::report;
use crate::web::text::tr;
use crate::web::topbar::{self, Bar};

/// Decoding workers: one per spare core, at least one, at most four.
fn worker_count() -> usize {
    let cores = dom::window().navigator().hardware_concurrency() as usize;
    cores.saturating_sub(1).clamp(1, 4)
}

/// Builds the viewer into `app` and opens the requested study, with the
/// report panel beside the images.
pub fn show(app: &HtmlElement, me: &Me, request: ViewerRequest, module: JsValue) {
    dom::set_root_data("state", "loading");
    dom::document().set_title(&tr("app.title"));
    topbar::build(
        app,
        me,
        Bar {
            title: None,
            current: None,
            language: false,
        },
    );
    let page = page::build(app);
    let first = page::pane(&page.area, 0);
    let preference = match request.backend {
        BackendChoice::Auto => BackendPreference::Auto,
        BackendChoice::WebGpu => BackendPreference::WebGpu,
        BackendChoice::WebGl2 => BackendPreference::WebGl2,
    };
    let shared: Shared = Rc::new(RefCell::new(Viewer {
        study_uid: request.study.clone(),
        dom: page,
        renderer: None,
        backend_preference: preference,
        gpu_lost: false,
        decoder: Rc::new(DecodePool::new(&module, worker_count())),
        series_list: Vec::new(),
        priors: Vec::new(),
        panes: vec![Pane::new(first)],
        layout: Layout::One,
        active: 0,
        tool: Tool::WindowLevel,
        editor: Editor::default(),
        drag: None,
        wheel_carry: 0.0,
        textures: Default::default(),
        in_flight: 0,
        progress_shown_at: 0.0,
        link_lost: false,
        decoding: 0,
        redraw_pending: false,
        warmed: false,
        frames_drawn: 0,
        redraw_cost: Default::default(),
        first_image_marked: false,
        first_failed: false,
        cine: Cine::default(),
        cine_start: None,
        area_size: (1.0, 1.0),
        pixel_ratio: 1.0,
        fatal: None,
        next_series_key: 0,
        slab_mm: 0.0,
    }));
    let main = shared.borrow().dom.main.clone();
    report::attach(
        &main,
        me,
        &request.study,
        request.read_only,
        keyimages::link(&shared),
    );
    pointer::wire(&shared);
    controls::wire(&shared);
    hooks::install(&shared);
    relayout(&shared);
    watch_size(&shared);
    release_on_leave(&shared);

    let s = shared.clone();
    wasm_bindgen_futures::spawn_local(async move { open_gpu(s, preference).await });
    let s = shared.clone();
    wasm_bindgen_futures::spawn_local(async move {
        loader::open_study(s, request.series).await;
    });
}

/// Opens the GPU on the page's canvas and draws what is loaded.
pub(super) async fn open_gpu(shared: Shared, preference: BackendPreference) {
    let canvas = shared.borrow().dom.canvas.clone();
    match Renderer::for_canvas(canvas, preference).await {
        Ok(renderer) => {
            // WebGL2 says it lost its context only through this event (its
            // draws go on succeeding, drawing nothing).
            let s = shared.clone();
            let canvas = shared.borrow().dom.canvas.clone();
            dom::on::<web_sys::Event, _>(&canvas, "webglcontextlost", move |event| {
                event.prevent_default();
                s.borrow_mut().gpu_lost = true;
                request_redraw(&s);
            });
            dom::mark("pacs:gpu-ready");
            dom::set_root_data("backend", renderer.backend());
            shared.borrow_mut().renderer = Some(renderer);
            draw::warm_up(&shared);
            relayout(&shared);
            request_redraw(&shared);
        }
        Err(RenderError::GpuUnavailable { reason }) => {
            dom::log(&format!("no GPU: {reason}"));
            show_fatal(&shared, &tr("error.no_gpu"));
        }
        Err(other) => {
            show_fatal(&shared, &format!("{} ({other})", tr("error.no_gpu")));
        }
    }
}

/// Re-lays out the viewports whenever the image area changes size.
fn watch_size(shared: &Shared) {
    let s = shared.clone();
    let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries: js_sys::Array| {
        relayout(&s);
    });
    if let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
        observer.observe(&shared.borrow().dom.area);
    }
    callback.forget();
}

/// Frees GPU textures and decoded slices when the page is left, so a
/// browser keeping the page in its back/forward cache holds no GPU memory;
/// a page restored from that cache loads again.
fn release_on_leave(shared: &Shared) {
    dom::on::<web_sys::PageTransitionEvent, _>(&dom::window(), "pageshow", |event| {
        if event.persisted() {
            let _ = dom::window().location().reload();
        }
    });
    let s = shared.clone();
    dom::on::<web_sys::Event, _>(&dom::window(), "pagehide", move |_| {
        let mut v = s.borrow_mut();
        let v = &mut *v;
        v.textures.release_all(v.renderer.as_mut());
        v.renderer = None;
        for pane in &mut v.panes {
            if let Some(series) = pane.series.take() {
                series.borrow_mut().closed = true;
            }
        }
    });
}
