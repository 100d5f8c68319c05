//! The toolbar and the keyboard.

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

use super::actions::{
    after_slice_change, apply_window, jump, scroll, set_fps, toggle_cine, view_action,
    window_choices, window_key,
};
use super::draw::request_redraw;
use super::layouts::set_layout;
use super::state::Shared;
use crate::tools::Tool;
use crate::web::dom::{self, append, clear, text_el};
use crate::web::text::tr;

/// Wires every toolbar control and the page's keyboard shortcuts.
pub fn wire(shared: &Shared) {
    let (tools, actions, presets, cine, fps, layouts, help, mpr, slab) = {
        let v = shared.borrow();
        let t = &v.dom.toolbar;
        (
            t.tools.clone(),
            t.actions.clone(),
            t.presets.clone(),
            t.cine.clone(),
            t.fps.clone(),
            t.layouts.clone(),
            t.help.clone(),
            t.mpr.clone(),
            t.slab.clone(),
        )
    };
    let s = shared.clone();
    let select = mpr.clone();
    dom::on::<web_sys::Event, _>(&mpr, "change", move |_| {
        super::mpr::set_mpr(&s, select.value() == "mpr");
        let _ = select.blur();
    });
    let s = shared.clone();
    let input = slab.clone();
    dom::on::<web_sys::Event, _>(&slab, "input", move |_| {
        let mm = input
            .value()
            .trim()
            .parse::<f64>()
            .unwrap_or(0.0)
            .clamp(0.0, 200.0);
        s.borrow_mut().slab_mm = mm;
        request_redraw(&s);
    });
    for (tool, button) in tools {
        let s = shared.clone();
        dom::on::<web_sys::MouseEvent, _>(&button, "click", move |_| select_tool(&s, tool));
    }
    for (action, button) in actions {
        let s = shared.clone();
        dom::on::<web_sys::MouseEvent, _>(&button, "click", move |_| view_action(&s, action));
    }
    let s = shared.clone();
    let select = presets.clone();
    dom::on::<web_sys::Event, _>(&presets, "change", move |_| {
        apply_window(&s, &select.value());
        let _ = select.blur();
    });
    let s = shared.clone();
    dom::on::<web_sys::MouseEvent, _>(&cine, "click", move |_| toggle_cine(&s));
    let s = shared.clone();
    let input = fps.clone();
    dom::on::<web_sys::Event, _>(&fps, "change", move |_| {
        if let Ok(value) = input.value().trim().parse::<u32>() {
            set_fps(&s, value);
        }
        input.set_value(&s.borrow().cine.fps().to_string());
    });
    for (layout, button) in layouts {
        let s = shared.clone();
        dom::on::<web_sys::MouseEvent, _>(&button, "click", move |_| {
            let in_mpr = s.borrow().panes.iter().any(|p| p.mpr.is_some());
            if in_mpr {
                super::mpr::set_mpr(&s, false);
            }
            set_layout(&s, layout);
        });
    }
    let s = shared.clone();
    dom::on::<web_sys::MouseEvent, _>(&help, "click", move |_| toggle_help(&s));
    let close = shared
        .borrow()
        .dom
        .help_panel
        .query_selector("[data-action=help-close]")
        .ok()
        .flatten();
    if let Some(close) = close {
        let s = shared.clone();
        dom::on::<web_sys::MouseEvent, _>(&close, "click", move |_| toggle_help(&s));
    }
    let notice = shared.borrow().dom.notice.clone();
    // The notice lies over the image area: a press or a wheel on it is
    // its own, not a drag, a measurement or a scroll of the image below.
    for event in ["pointerdown", "wheel"] {
        dom::on::<web_sys::Event, _>(&notice, event, |e| e.stop_propagation());
    }
    if let Ok(Some(close)) = notice.query_selector("[data-action=notice-close]") {
        dom::on::<web_sys::MouseEvent, _>(&close, "click", move |_| notice.set_hidden(true));
    }

    let s = shared.clone();
    dom::on::<KeyboardEvent, _>(&dom::window(), "keydown", move |event| {
        if typing(&event) || event.alt_key() || event.ctrl_key() || event.meta_key() {
            return;
        }
        if handle_key(&s, &crate::keys::shortcut(&event.key(), &event.code())) {
            event.prevent_default();
        }
    });
}

/// Whether the key goes to a text field, or to the report panel or a
/// dialog (its template list, its buttons), rather than to the viewer.
fn typing(event: &KeyboardEvent) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|t| {
            let tag = t.tag_name().to_ascii_lowercase();
            (tag == "input" && t.get_attribute("type").as_deref() != Some("range"))
                || tag == "textarea"
                || t.closest("#report-panel, .dialog").ok().flatten().is_some()
        })
}

/// Performs the shortcut for `key`; whether it was one.
fn handle_key(shared: &Shared, key: &str) -> bool {
    let steps: Option<i64> = match key {
        "ArrowDown" | "ArrowRight" => Some(1),
        "ArrowUp" | "ArrowLeft" => Some(-1),
        "PageDown" => Some(10),
        "PageUp" => Some(-10),
        _ => None,
    };
    let pane = shared.borrow().active;
    if let Some(steps) = steps {
        let changed = scroll(&mut shared.borrow_mut(), pane, steps);
        if changed {
            after_slice_change(shared, pane);
            request_redraw(shared);
        }
        return true;
    }
    match key {
        "Home" | "End" => {
            let changed = {
                let mut v = shared.borrow_mut();
                let target = if key == "Home" { 0 } else { usize::MAX };
                jump(&mut v, pane, target)
            };
            if changed {
                after_slice_change(shared, pane);
                request_redraw(shared);
            }
        }
        "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" => {
            window_key(shared, key.chars().next().unwrap_or('0'));
            fill_presets(shared);
        }
        "c" | "C" => toggle_cine(shared),
        "f" | "F" => view_action(shared, "fit"),
        "i" | "I" => view_action(shared, "invert"),
        "t" | "T" => view_action(shared, "rotate"),
        "h" | "H" => view_action(shared, "flip-h"),
        "v" | "V" => view_action(shared, "flip-v"),
        "r" | "R" => {
            view_action(shared, "reset");
            fill_presets(shared);
        }
        "Escape" => {
            let (drawing, help_open) = {
                let v = shared.borrow();
                (v.editor.is_drawing(), !v.dom.help_panel.hidden())
            };
            if drawing {
                shared.borrow_mut().editor.cancel();
                request_redraw(shared);
            } else if help_open {
                toggle_help(shared);
            } else {
                view_action(shared, "reset");
                fill_presets(shared);
            }
        }
        "?" => toggle_help(shared),
        _ => return false,
    }
    true
}

/// Makes `tool` the left-button tool.
pub fn select_tool(shared: &Shared, tool: Tool) {
    let mut v = shared.borrow_mut();
    v.tool = tool;
    v.editor.cancel();
    for (t, button) in &v.dom.toolbar.tools {
        let _ = button.set_attribute("aria-pressed", if *t == tool { "true" } else { "false" });
    }
    drop(v);
    request_redraw(shared);
}

fn toggle_help(shared: &Shared) {
    let v = shared.borrow();
    let panel = &v.dom.help_panel;
    panel.set_hidden(!panel.hidden());
    let _ = v.dom.toolbar.help.set_attribute(
        "aria-pressed",
        if panel.hidden() { "false" } else { "true" },
    );
}

/// Fills the window list for the active viewport's image, the window in
/// effect selected when it is one of them.
pub fn fill_presets(shared: &Shared) {
    let mut v = shared.borrow_mut();
    let choices = window_choices(&mut v);
    let current = v.active_pane().window.clone();
    let select = v.dom.toolbar.presets.clone();
    drop(v);
    clear(&select);
    let placeholder = text_el("option", "", &tr("preset.label"));
    let _ = placeholder.set_attribute("value", "");
    append(&select, &placeholder);
    let mut selected = String::new();
    for (id, label, window) in choices {
        let option = text_el("option", "", &label);
        let _ = option.set_attribute("value", &id);
        if selected.is_empty()
            && current
                .as_ref()
                .is_some_and(|c| c.center == window.center && c.width == window.width)
        {
            selected = id.clone();
        }
        append(&select, &option);
    }
    select.set_value(&selected);
}

/// Shows play or pause on the cine button.
pub fn refresh_cine_button(shared: &Shared) {
    let v = shared.borrow();
    let playing = v.cine_start.is_some();
    let button: &HtmlElement = &v.dom.toolbar.cine;
    button.set_text_content(Some(if playing { "⏸" } else { "▶" }));
    let label = tr(if playing { "cine.pause" } else { "cine.play" });
    let _ = button.set_attribute("title", &label);
    let _ = button.set_attribute("aria-label", &label);
    let _ = button.set_attribute("aria-pressed", if playing { "true" } else { "false" });
}
