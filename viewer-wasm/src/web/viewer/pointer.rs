//! Mouse and touch on the viewports: the active tool on the left button,
//! stack scrolling on the right or middle button and the wheel, zoom on
//! Ctrl + wheel, measurements drawn by drag or clicks.

use web_sys::{PointerEvent, WheelEvent};

use super::actions::{after_slice_change, scroll};
use super::draw::request_redraw;
use super::state::{Shared, Viewer};
use super::strip;
use crate::annotations::{Annotation, measure};
use crate::tools::{CLICK_SLOP_PX, Tool};
use crate::web::dom;
use crate::web::text::lang;

/// CSS pixels of right-button drag per slice.
const SCROLL_DRAG_PX: f64 = 6.0;
/// Wheel distance (in pixels) per slice for smooth-scrolling devices.
const WHEEL_PX_PER_SLICE: f64 = 40.0;

/// What the current drag does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DragKind {
    Window,
    Zoom { anchor: (f64, f64) },
    Pan,
    Scroll { carry: f64 },
    Measure,
}

/// A drag in progress in viewport `pane`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drag {
    pub pane: usize,
    pub kind: DragKind,
    pub start: (f64, f64),
    pub last: (f64, f64),
    pub moved: bool,
}

/// The pointer's position in the image area, CSS pixels.
fn in_area(v: &Viewer, event: &web_sys::MouseEvent) -> (f64, f64) {
    let rect = v.dom.area.get_bounding_client_rect();
    (
        f64::from(event.client_x()) - rect.left(),
        f64::from(event.client_y()) - rect.top(),
    )
}

/// The viewport under an image-area point.
fn pane_at(v: &Viewer, p: (f64, f64)) -> Option<usize> {
    v.panes
        .iter()
        .take(v.layout.count())
        .position(|pane| pane.rect.contains(p))
}

/// The pointer's position in viewport `pane`, CSS pixels.
fn local(v: &Viewer, pane: usize, event: &web_sys::MouseEvent) -> (f64, f64) {
    let (x, y) = in_area(v, event);
    let rect = v.panes[pane].rect;
    (x - rect.x, y - rect.y)
}

/// An image point under a viewport point, when the viewport shows one.
fn image_point(v: &mut Viewer, pane: usize, p: (f64, f64)) -> Option<(f64, f64)> {
    let pane = &mut v.panes[pane];
    let image = pane.image_size()?;
    let view = pane.view_or_fit()?;
    Some(view.screen_to_image(p, image, pane.rect.size()))
}

/// The image viewport `pane` shows, as [`crate::tools::Editor`] tells
/// images apart: a measurement begun on it is dropped once another shows.
pub fn place(v: &Viewer, pane: usize) -> crate::tools::Place {
    let p = &v.panes[pane];
    let series = p
        .series
        .as_ref()
        .map_or(0, |s| std::rc::Rc::as_ptr(s) as usize);
    (pane, series, p.stack.index())
}

/// Makes viewport `pane` the active one.
pub fn activate(shared: &Shared, pane: usize) {
    let changed = {
        let mut v = shared.borrow_mut();
        let changed = v.active != pane;
        if changed {
            v.editor.cancel();
            v.active = pane;
            let multiple = v.layout.count() > 1;
            for (i, p) in v.panes.iter().enumerate() {
                p.dom.root.set_class_name(if multiple && i == pane {
                    "viewport active"
                } else {
                    "viewport"
                });
            }
        }
        changed
    };
    if changed {
        strip::mark_active(shared);
        super::controls::fill_presets(shared);
        request_redraw(shared);
    }
}

/// Listens to pointer and wheel events on the image area (the canvas and
/// the viewport overlays over it), each going to the viewport under the
/// pointer, or to the one a drag started in.
pub fn wire(shared: &Shared) {
    let root = shared.borrow().dom.area.clone();

    let s = shared.clone();
    dom::on::<PointerEvent, _>(&root, "pointerdown", move |event| {
        let Some(pane) = ({
            let v = s.borrow();
            pane_at(&v, in_area(&v, &event))
        }) else {
            return;
        };
        event.prevent_default();
        activate(&s, pane);
        let target = s.borrow().dom.area.clone();
        let _ = target.set_pointer_capture(event.pointer_id());
        let mut v = s.borrow_mut();
        let p = local(&v, pane, &event);
        let kind = match event.button() {
            0 if event.shift_key() => DragKind::Pan,
            0 if event.ctrl_key() => DragKind::Zoom { anchor: p },
            0 => match v.tool {
                Tool::WindowLevel => DragKind::Window,
                Tool::Zoom => DragKind::Zoom { anchor: p },
                Tool::Pan => DragKind::Pan,
                tool => {
                    let on = place(&v, pane);
                    v.editor.stay_on(on);
                    if let Some(point) = image_point(&mut v, pane, p) {
                        v.editor.press(tool, point);
                    }
                    DragKind::Measure
                }
            },
            _ => DragKind::Scroll { carry: 0.0 },
        };
        v.drag = Some(Drag {
            pane,
            kind,
            start: p,
            last: p,
            moved: false,
        });
    });

    let s = shared.clone();
    dom::on::<PointerEvent, _>(&root, "pointermove", move |event| {
        let mut v = s.borrow_mut();
        let pane = match v.drag {
            Some(drag) => drag.pane,
            None => match pane_at(&v, in_area(&v, &event)) {
                Some(pane) => pane,
                None => return,
            },
        };
        let p = local(&v, pane, &event);
        let Some(mut drag) = v.drag.filter(|d| d.pane == pane) else {
            // Between the clicks of a click-drawn measurement the shape
            // follows the pointer.
            if v.editor.is_drawing()
                && v.active == pane
                && let Some(point) = image_point(&mut v, pane, p)
            {
                let on = place(&v, pane);
                v.editor.stay_on(on);
                v.editor.move_to(point);
                drop(v);
                request_redraw(&s);
            }
            return;
        };
        let (dx, dy) = (p.0 - drag.last.0, p.1 - drag.last.1);
        drag.last = p;
        if (p.0 - drag.start.0).hypot(p.1 - drag.start.1) > CLICK_SLOP_PX {
            drag.moved = true;
        }
        let mut slice_changed = false;
        match &mut drag.kind {
            DragKind::Window => v.panes[pane].drag_window(dx, dy),
            DragKind::Zoom { anchor } => {
                let anchor = *anchor;
                v.panes[pane].change_view(|view, image, size| {
                    view.zoom_about((-dy * 0.01).exp(), anchor, image, size)
                });
            }
            DragKind::Pan => v.panes[pane].change_view(|view, _, _| view.pan_by(dx, dy)),
            DragKind::Scroll { carry } => {
                *carry += dy;
                let steps = (*carry / SCROLL_DRAG_PX).trunc();
                if steps != 0.0 {
                    *carry -= steps * SCROLL_DRAG_PX;
                    slice_changed = scroll(&mut v, pane, steps as i64);
                }
            }
            DragKind::Measure => {
                let on = place(&v, pane);
                v.editor.stay_on(on);
                if let Some(point) = image_point(&mut v, pane, p) {
                    v.editor.move_to(point);
                }
            }
        }
        v.drag = Some(drag);
        drop(v);
        if slice_changed {
            after_slice_change(&s, pane);
        }
        request_redraw(&s);
    });

    let s = shared.clone();
    let finish = move |event: PointerEvent| {
        let mut v = s.borrow_mut();
        let Some(drag) = v.drag.take() else {
            return;
        };
        let pane = drag.pane;
        if drag.kind == DragKind::Window {
            drop(v);
            super::controls::fill_presets(&s);
            request_redraw(&s);
            return;
        }
        if drag.kind == DragKind::Measure {
            let on = place(&v, pane);
            v.editor.stay_on(on);
            let p = local(&v, pane, &event);
            let Some(point) = image_point(&mut v, pane, p) else {
                return;
            };
            if let Some(shape) = v.editor.release(point, drag.moved) {
                let slab_mm = v.slab_mm;
                let pane_ref = &mut v.panes[pane];
                if let Some(info) = pane_ref.info() {
                    let slice = pane_ref.stack.index();
                    let values = pane_ref.region_values(slab_mm);
                    let lines = measure(&shape, &info, values.as_deref(), lang());
                    pane_ref.annotations.push(Annotation {
                        slice,
                        shape,
                        lines,
                    });
                }
            }
        }
        drop(v);
        request_redraw(&s);
    };
    let finish_cancel = finish.clone();
    dom::on::<PointerEvent, _>(&root, "pointerup", finish);
    dom::on::<PointerEvent, _>(&root, "pointercancel", finish_cancel);

    dom::on_active::<web_sys::Event, _>(&root, "contextmenu", |event| event.prevent_default());

    let s = shared.clone();
    dom::on_active::<WheelEvent, _>(&root, "wheel", move |event| {
        event.prevent_default();
        let mut v = s.borrow_mut();
        let Some(pane) = pane_at(&v, in_area(&v, &event)) else {
            return;
        };
        let p = local(&v, pane, &event);
        // Lines and pages count as one slice each way.
        let delta = match event.delta_mode() {
            0 => event.delta_y(),
            _ => event.delta_y().signum() * WHEEL_PX_PER_SLICE,
        };
        if event.ctrl_key() || event.meta_key() {
            v.panes[pane].change_view(|view, image, size| {
                view.zoom_about((-delta * 0.002).exp(), p, image, size)
            });
            drop(v);
            request_redraw(&s);
            return;
        }
        v.wheel_carry += delta;
        let steps = (v.wheel_carry / WHEEL_PX_PER_SLICE).trunc();
        if steps == 0.0 {
            return;
        }
        v.wheel_carry -= steps * WHEEL_PX_PER_SLICE;
        let changed = scroll(&mut v, pane, steps as i64);
        drop(v);
        if changed {
            after_slice_change(&s, pane);
            request_redraw(&s);
        }
    });
}
