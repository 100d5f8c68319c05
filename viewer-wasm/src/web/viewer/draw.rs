//! Drawing: one GPU frame for all viewports per animation frame, then the
//! overlays over it. Changes only request a redraw; the work happens once
//! per display refresh however many events arrived.

use viewer_core::voi::VoiFunction;
use viewer_render::{
    DisplayParams, Draw, GpuImage, Interpolation, RenderError, TexelData, Viewport,
    VoiFunction as GpuVoi,
};
use wasm_bindgen::JsCast;

use super::overlay;
use super::state::{Shared, SliceState, Viewer};
use crate::layout::{Footprint, footprint, viewports};
use crate::web::dom;
use crate::web::text::tr_with;

/// Milliseconds between updates of the loading progress.
const PROGRESS_INTERVAL_MS: f64 = 250.0;

/// Asks for a redraw at the next animation frame (once, however often it
/// is asked before then). The overlays are brought up to date at once, so
/// what the page says never lags behind the state.
pub fn request_redraw(shared: &Shared) {
    {
        let mut v = shared.borrow_mut();
        for i in 0..v.panes.len().min(v.layout.count()) {
            overlay::update(&mut v, i);
        }
        if v.redraw_pending {
            return;
        }
        v.redraw_pending = true;
    }
    let shared = shared.clone();
    dom::request_animation_frame(move |now| redraw(&shared, now));
}

/// Shows a page-wide error in words (in the first viewport) and marks
/// the page as failed.
pub fn show_fatal(shared: &Shared, message: &str) {
    {
        let mut v = shared.borrow_mut();
        v.fatal = Some(message.to_owned());
        v.dom.progress.set_hidden(true);
    }
    dom::set_root_data("state", "error");
    request_redraw(shared);
}

/// Tells the reader something about what was opened, until they close it.
pub fn show_notice(shared: &Shared, message: &str) {
    let v = shared.borrow();
    let notice = &v.dom.notice;
    if let Ok(Some(text)) = notice.query_selector(".text") {
        text.set_text_content(Some(message));
    }
    notice.set_hidden(false);
}

/// "Loading n of N" for the active viewport's series while it streams in,
/// at most a few times a second: every change of the page costs a
/// composited frame, which on a software-rendered browser is as dear as a
/// fetched slice. While the link is lost it says so instead, and that
/// requests are being sent again.
pub fn update_progress(shared: &Shared) {
    let now = dom::now_ms();
    let mut v = shared.borrow_mut();
    let finished = {
        let pane = &v.panes[v.active.min(v.panes.len() - 1)];
        pane.series
            .as_ref()
            .is_none_or(|s| s.borrow().done >= s.borrow().len())
    };
    if !finished && now - v.progress_shown_at < PROGRESS_INTERVAL_MS {
        return;
    }
    v.progress_shown_at = now;
    drop(v);
    let v = shared.borrow();
    let pane = &v.panes[v.active.min(v.panes.len() - 1)];
    let Some(series) = &pane.series else { return };
    let s = series.borrow();
    if s.done >= s.len() || v.fatal.is_some() {
        v.dom.progress.set_hidden(true);
    } else {
        let key = if v.link_lost {
            "progress.retrying"
        } else {
            "progress.loading"
        };
        v.dom.progress.set_text_content(Some(&tr_with(
            key,
            &[("n", &s.done.to_string()), ("total", &s.len().to_string())],
        )));
        let _ = v
            .dom
            .progress
            .set_attribute("data-link", if v.link_lost { "lost" } else { "up" });
        v.dom.progress.set_hidden(false);
    }
}

/// Sizes the canvas to the image area (in device pixels) and places the
/// viewports of the current layout.
pub fn relayout(shared: &Shared) {
    let mut v = shared.borrow_mut();
    let rect = v.dom.area.get_bounding_client_rect();
    let ratio = dom::window().device_pixel_ratio().max(0.5);
    let size = (rect.width().max(1.0), rect.height().max(1.0));
    v.area_size = size;
    v.pixel_ratio = ratio;
    let device = (
        (size.0 * ratio).round().max(1.0) as u32,
        (size.1 * ratio).round().max(1.0) as u32,
    );
    v.dom.canvas.set_width(device.0);
    v.dom.canvas.set_height(device.1);
    if let Some(renderer) = v.renderer.as_mut() {
        renderer.resize(device.0, device.1);
    }
    let rects = viewports(v.layout, size);
    let count = v.layout.count();
    let multiple = count > 1;
    let active = v.active;
    for (i, pane) in v.panes.iter_mut().enumerate() {
        let shown = i < count;
        pane.dom.root.set_hidden(!shown);
        if let Some(rect) = rects.get(i) {
            // Keep the image where it was relative to the viewport centre;
            // only a view never fitted is fitted anew.
            pane.rect = *rect;
            let style = pane.dom.root.style();
            let _ = style.set_property("left", &format!("{}px", rect.x));
            let _ = style.set_property("top", &format!("{}px", rect.y));
            let _ = style.set_property("width", &format!("{}px", rect.width));
            let _ = style.set_property("height", &format!("{}px", rect.height));
        }
        let class = if multiple && i == active {
            "viewport active"
        } else {
            "viewport"
        };
        pane.dom.root.set_class_name(class);
    }
    drop(v);
    request_redraw(shared);
}

fn redraw(shared: &Shared, now: f64) {
    let mut v = shared.borrow_mut();
    v.redraw_pending = false;
    step_cine(&mut v, now);
    let t0 = dom::now_ms();
    let drawn_first = draw_gpu(&mut v);
    let t1 = dom::now_ms();
    for i in 0..v.panes.len().min(v.layout.count()) {
        overlay::update(&mut v, i);
    }
    let t2 = dom::now_ms();
    v.redraw_cost.gpu_ms += t1 - t0;
    v.redraw_cost.overlay_ms += t2 - t1;
    v.redraw_cost.redraws += 1;
    let lost = std::mem::take(&mut v.gpu_lost) && v.renderer.is_some();
    let playing = v.cine_start.is_some();
    if drawn_first && !v.first_image_marked {
        v.first_image_marked = true;
        dom::mark("pacs:first-image");
        if v.fatal.is_none() {
            dom::set_root_data("state", "ready");
        }
        drop(v);
        // What waited for the first image: the other frames, thumbnails
        // and the patient's prior studies.
        super::loader::pump(shared);
        super::strip::load_thumbnails(shared);
        super::controls::fill_presets(shared);
        let s = shared.clone();
        wasm_bindgen_futures::spawn_local(async move { super::priors::find(s).await });
    } else {
        drop(v);
    }
    if lost {
        recover_gpu(shared);
    } else if playing {
        request_redraw(shared);
    }
}

/// Advances cine playback in the active viewport to the slice due now.
fn step_cine(v: &mut Viewer, now: f64) {
    let Some((start, start_index)) = v.cine_start else {
        return;
    };
    let cine = v.cine;
    let pane = v.active_pane();
    let len = pane.stack.len();
    let index = cine.frame_at(now - start, start_index, len);
    pane.stack.jump_to(index);
}

/// Draws every viewport's slice; returns whether the first viewport shows
/// a decoded slice of its series.
fn draw_gpu(v: &mut Viewer) -> bool {
    let Viewer {
        renderer,
        panes,
        frames_drawn,
        gpu_lost: lost,
        textures,
        layout,
        pixel_ratio,
        slab_mm,
        ..
    } = v;
    let Some(renderer) = renderer.as_mut() else {
        return false;
    };
    let size = renderer.size();
    let mut draws = Vec::new();
    let mut kept = Vec::new();
    let mut first_drawn = false;
    for (i, pane) in panes.iter_mut().take(layout.count()).enumerate() {
        let Some(series) = pane.series.clone() else {
            continue;
        };
        let index = pane.stack.index();
        let Some(info) = pane.info() else { continue };
        let window = pane.window_or_default();
        let Some(view) = pane.view_or_fit() else {
            continue;
        };
        let image = (f64::from(info.columns), f64::from(info.rows));
        let mut params = display_params(
            &info,
            window.as_ref(),
            pane.invert,
            &view,
            image,
            pane.rect.size(),
        );
        // Only the part of the viewport the image covers is shaded.
        let corners = [(0.0, 0.0), (image.0, 0.0), image, (0.0, image.1)]
            .map(|p| view.image_to_screen(p, image, pane.rect.size()));
        let Some(Footprint {
            rect: (x, y, width, height),
            clip_to_image: matrix,
        }) = footprint(pane.rect, *pixel_ratio, size, corners, params.clip_to_image)
        else {
            continue;
        };
        params.clip_to_image = matrix;
        let viewport = Viewport {
            x,
            y,
            width,
            height,
        };
        if let Some(mpr) = pane.mpr.clone() {
            match super::mpr::texture(renderer, &mpr.volume) {
                Ok(Some(volume)) => {
                    if let Some(reslice) = mpr.reslice(index, *slab_mm) {
                        draws.push(Draw::Reslice {
                            viewport,
                            volume,
                            reslice,
                            params,
                        });
                    }
                }
                Ok(None) => {}
                Err(message) => pane.error = Some(message),
            }
            continue;
        }
        let s = series.borrow();
        let Some(SliceState::Ready(decoded)) = s.slices.get(index) else {
            continue;
        };
        let id = match textures.get(
            renderer,
            s.key,
            index,
            (info.columns, info.rows),
            &decoded.pixels,
            &kept,
        ) {
            Ok(id) => id,
            Err(e) => {
                pane.error = Some(e.to_string());
                continue;
            }
        };
        kept.push(id);
        draws.push(Draw::Image {
            viewport,
            image: id,
            params,
        });
        if i == 0 {
            first_drawn = true;
        }
    }
    match renderer.draw_frame(&draws) {
        Ok(()) => {
            *frames_drawn += 1;
            first_drawn
        }
        Err(RenderError::DeviceLost { reason }) => {
            dom::log(&format!(
                "the GPU device was lost ({reason}); opening it again"
            ));
            *lost = true;
            false
        }
        Err(e) => {
            dom::log(&format!("draw failed: {e}"));
            false
        }
    }
}

/// After a lost GPU device (a browser GPU reset): every texture went with
/// it, so the renderer is dropped and opened again on a fresh canvas (a
/// canvas keeps its first context), and the slices are uploaded again as
/// they are drawn.
fn recover_gpu(shared: &Shared) {
    let preference = {
        let mut v = shared.borrow_mut();
        let v = &mut *v;
        v.renderer = None;
        v.textures.forget_all();
        for pane in &v.panes {
            if let Some(view) = &pane.mpr {
                view.volume.borrow_mut().id = None;
            }
        }
        let fresh: web_sys::HtmlCanvasElement = crate::web::dom::el("canvas", "").unchecked_into();
        fresh.set_id("viewer-canvas");
        let _ = v.dom.canvas.replace_with_with_node_1(&fresh);
        v.dom.canvas = fresh;
        v.backend_preference
    };
    relayout(shared);
    let s = shared.clone();
    wasm_bindgen_futures::spawn_local(async move { super::open_gpu(s, preference).await });
}

/// How one image is windowed and placed in its viewport.
fn display_params(
    info: &viewer_core::image::ImageInfo,
    window: Option<&viewer_core::voi::Window>,
    invert: bool,
    view: &viewer_core::viewport::ViewTransform,
    image: (f64, f64),
    viewport: (f64, f64),
) -> DisplayParams {
    let (center, width, voi) = match window {
        Some(w) => (w.center, w.width, w.function),
        None => (0.0, 1.0, VoiFunction::Linear),
    };
    DisplayParams {
        slope: info.rescale_slope as f32,
        intercept: info.rescale_intercept as f32,
        window_center: center as f32,
        window_width: width as f32,
        voi: match voi {
            VoiFunction::Linear => GpuVoi::Linear,
            VoiFunction::LinearExact => GpuVoi::LinearExact,
            VoiFunction::Sigmoid => GpuVoi::Sigmoid,
        },
        invert: viewer_render::display_inverted(info.displays_inverted(), invert),
        clip_to_image: view.clip_to_image(image, viewport),
        // Nearest when zoomed far in, so single pixels stay visible as such.
        interpolation: if view.zoom >= 4.0 {
            Interpolation::Nearest
        } else {
            Interpolation::Bilinear
        },
    }
}

/// Prepares the GPU pipeline for the first viewport's image kind (signed
/// or unsigned 16-bit, 8-bit or colour) before its first slice arrives: a
/// 1×1 image of that kind is drawn into an empty viewport, which builds
/// the pipeline and shows nothing. On WebGL2 this takes the shader
/// compilation off the first image's path.
pub fn warm_up(shared: &Shared) {
    let mut v = shared.borrow_mut();
    if v.warmed || v.first_image_marked {
        return;
    }
    let Some(info) = v.panes.first().and_then(|p| p.info()) else {
        return;
    };
    let Some(renderer) = v.renderer.as_mut() else {
        return;
    };
    let texels = if !info.is_monochrome() {
        TexelData::Rgba8(vec![0; 4])
    } else if info.is_signed() {
        TexelData::I16(vec![0])
    } else if info.bits_allocated <= 8 {
        TexelData::U8(vec![0])
    } else {
        TexelData::U16(vec![0])
    };
    let image = GpuImage {
        width: 1,
        height: 1,
        texels,
    };
    if let Ok(id) = renderer.upload(&image) {
        let view = viewer_core::viewport::ViewTransform::default();
        let params = display_params(&info, None, false, &view, (1.0, 1.0), (1.0, 1.0));
        let empty = Viewport {
            x: 0,
            y: 0,
            width: 0,
            height: 0,
        };
        let _ = renderer.draw_frame(&[Draw::Image {
            viewport: empty,
            image: id,
            params,
        }]);
        renderer.release(id);
    }
    v.warmed = true;
}
