//! `window.pacsViewer`: what end-to-end tests read instead of guessing from
//! pixels. `state()` returns the active viewport's state as a plain
//! object; `imageToScreen(col, row)` where an image point is on the
//! canvas, in CSS pixels. The state also counts the frames drawn, the
//! main thread's time in redraws and the wasm memory, for the viewer
//! benchmark.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::state::{Shared, SliceState};
use crate::web::dom;

/// Installs `window.pacsViewer`.
pub fn install(shared: &Shared) {
    let hooks = Object::new();
    let s = shared.clone();
    let state = Closure::<dyn Fn() -> JsValue>::new(move || state(&s));
    let _ = Reflect::set(&hooks, &"state".into(), state.as_ref());
    state.forget();
    let s = shared.clone();
    let to_screen = Closure::<dyn Fn(f64, f64) -> JsValue>::new(move |col: f64, row: f64| {
        image_to_screen(&s, col, row)
    });
    let _ = Reflect::set(&hooks, &"imageToScreen".into(), to_screen.as_ref());
    to_screen.forget();
    let _ = Reflect::set(&dom::window(), &"pacsViewer".into(), &hooks);
}

fn state(shared: &Shared) -> JsValue {
    let v = shared.borrow();
    let pane = &v.panes[v.active.min(v.panes.len() - 1)];
    let info = pane.info();
    let series = pane.series.as_ref().map(|s| s.borrow().series_uid.clone());
    // The study of what the active viewport shows: a prior study's when
    // one was opened there.
    let study = pane
        .series
        .as_ref()
        .map(|s| s.borrow().study_uid.clone())
        .unwrap_or_else(|| v.study_uid.clone());
    let view = pane.view.unwrap_or_default();
    let streaming = pane.series.as_ref().is_some_and(|s| s.borrow().streaming);
    let link = pane.series.as_ref().map(|s| s.borrow().sample);
    let now = dom::now_ms();
    let (loaded, failed) = pane.series.as_ref().map_or((0, 0), |s| {
        let s = s.borrow();
        let count = |f: fn(&SliceState) -> bool| s.slices.iter().filter(|x| f(x)).count();
        (
            count(|x| matches!(x, SliceState::Ready(_))),
            count(|x| matches!(x, SliceState::Failed(_))),
        )
    });
    let canvas = v.dom.canvas.get_bounding_client_rect();
    let value = serde_json::json!({
        "backend": v.renderer.as_ref().map(|r| r.backend()),
        "study": study,
        "series": series,
        "slice": pane.stack.index(),
        "sliceLoaded": pane.series.as_ref().is_some_and(|s| {
            matches!(s.borrow().slices.get(pane.stack.index()), Some(SliceState::Ready(_)))
        }),
        "slices": pane.stack.len(),
        "loaded": loaded,
        "failed": failed,
        "linkLost": v.link_lost,
        "streaming": streaming,
        "linkSample": link.map(|l| serde_json::json!({
            "frames": l.frames,
            "bytes": l.bytes,
            "busyMs": l.busy_ms(now),
        })),
        "window": pane.window.as_ref().map(|w| serde_json::json!({
            "center": w.center,
            "width": w.width,
        })),
        "zoom": view.zoom,
        "rotation": u32::from(view.rotation) * 90,
        "flipH": view.flip_horizontal,
        "flipV": view.flip_vertical,
        "invert": pane.invert,
        "canvas": {"width": canvas.width(), "height": canvas.height()},
        "image": info.as_ref().map(|i| serde_json::json!({
            "columns": i.columns,
            "rows": i.rows,
        })),
        "layout": v.layout.name(),
        "activeViewport": v.active,
        "tool": v.tool.name(),
        "measurements": pane.annotations.len(),
        "cine": v.cine_start.is_some(),
        "fps": v.cine.fps(),
        "framesDrawn": v.frames_drawn,
        "redrawCost": {
            "gpuMs": v.redraw_cost.gpu_ms,
            "overlayMs": v.redraw_cost.overlay_ms,
            "redraws": v.redraw_cost.redraws,
        },
        "memory": {"wasmBytes": wasm_bytes()},
    });
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

/// The page's wasm linear memory (where the decoded slices live).
fn wasm_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| {
            m.buffer()
                .dyn_into::<js_sys::ArrayBuffer>()
                .map(|b| f64::from(b.byte_length()))
                .unwrap_or(0.0)
        })
        .unwrap_or(0.0)
}

fn image_to_screen(shared: &Shared, col: f64, row: f64) -> JsValue {
    let v = shared.borrow();
    let pane = &v.panes[v.active.min(v.panes.len() - 1)];
    let (Some(view), Some(image)) = (pane.view, pane.image_size()) else {
        return JsValue::NULL;
    };
    let (x, y) = view.image_to_screen((col, row), image, pane.rect.size());
    let point = Array::new();
    point.push(&JsValue::from_f64(pane.rect.x + x));
    point.push(&JsValue::from_f64(pane.rect.y + y));
    point.into()
}
