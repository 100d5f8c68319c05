//! What the toolbar buttons and keys do to the active viewport: scrolling,
//! view changes, windows, cine.

use viewer_core::voi::{Window, ct_presets, preset_for_key};

use super::draw::request_redraw;
use super::loader::pump;
use super::state::{Shared, Viewer};
use crate::web::dom;

/// Moves viewport `pane` by `steps` slices; whether the slice changed.
pub fn scroll(v: &mut Viewer, pane: usize, steps: i64) -> bool {
    v.panes[pane].stack.scroll_by(steps)
}

/// Goes to slice `index` of viewport `pane`; whether it changed.
pub fn jump(v: &mut Viewer, pane: usize, index: usize) -> bool {
    v.panes[pane].stack.jump_to(index)
}

/// After the slice on screen changed: fetch around the new position first
/// and keep linked viewports level.
pub fn after_slice_change(shared: &Shared, pane: usize) {
    super::layouts::sync_linked(shared, pane);
    pump(shared);
    super::draw::update_progress(shared);
}

/// The view actions of the toolbar and keyboard, by name.
pub fn view_action(shared: &Shared, action: &str) {
    {
        let mut v = shared.borrow_mut();
        let pane = v.active_pane();
        match action {
            "fit" => pane.change_view(|view, image, size| view.fit_in(image, size)),
            // One image pixel per CSS pixel: "100%" in the zoom overlay.
            "one-to-one" => pane.change_view(|view, image, size| view.one_to_one(image, size)),
            "rotate" => pane.change_view(|view, _, _| view.rotate_clockwise()),
            "flip-h" => pane.change_view(|view, _, _| view.flip_horizontal()),
            "flip-v" => pane.change_view(|view, _, _| view.flip_vertical()),
            "invert" => pane.invert = !pane.invert,
            "reset" => {
                pane.change_view(|view, image, size| view.reset(image, size));
                pane.window = None;
                // The image's own window again, at once (not at the next
                // frame), so the state never reads as having none.
                let _ = pane.window_or_default();
                pane.invert = false;
            }
            "clear" => pane.annotations.clear(),
            _ => return,
        }
    }
    request_redraw(shared);
}

/// The windows offered for the active viewport's image: the file's own,
/// then the CT presets for images in Hounsfield units, then full range.
pub fn window_choices(v: &mut Viewer) -> Vec<(String, String, Window)> {
    let pane = v.active_pane();
    let Some(info) = pane.info() else {
        return Vec::new();
    };
    if !info.is_monochrome() {
        return Vec::new();
    }
    let mut choices = Vec::new();
    for (k, w) in info.windows.iter().enumerate() {
        let label = match &w.explanation {
            Some(e) if !e.is_empty() => e.clone(),
            _ => format!("{} {}", crate::web::text::tr("preset.file"), k + 1),
        };
        choices.push((format!("file:{k}"), label, w.clone()));
    }
    if info.is_hounsfield() {
        for preset in ct_presets() {
            choices.push((
                format!("preset:{}", preset.id),
                format!(
                    "{} ({})",
                    crate::web::text::tr(preset.label_key),
                    preset.shortcut
                ),
                preset.window(),
            ));
        }
    }
    let range = {
        let series = pane.series.as_ref().map(|s| s.borrow());
        series
            .as_ref()
            .and_then(|s| s.decoded(pane.stack.index()))
            .map(|d| (info.to_modality(d.min), info.to_modality(d.max)))
    };
    if let Some((a, b)) = range {
        choices.push((
            "full".to_owned(),
            crate::web::text::tr("preset.full_range"),
            Window::from_range(a.min(b), a.max(b)),
        ));
    }
    choices
}

/// Applies the window choice `id` (as [`window_choices`] names them).
pub fn apply_window(shared: &Shared, id: &str) {
    {
        let mut v = shared.borrow_mut();
        let Some((_, _, window)) = window_choices(&mut v).into_iter().find(|c| c.0 == id) else {
            return;
        };
        v.active_pane().window = Some(window);
    }
    request_redraw(shared);
}

/// Digit keys: the CT presets for images in Hounsfield units, otherwise
/// the image file's own windows in order.
pub fn window_key(shared: &Shared, key: char) {
    let id = {
        let mut v = shared.borrow_mut();
        let Some(info) = v.active_pane().info() else {
            return;
        };
        if info.is_hounsfield() {
            match preset_for_key(key) {
                Some(preset) => format!("preset:{}", preset.id),
                None => return,
            }
        } else {
            match key.to_digit(10) {
                Some(d) if d >= 1 => format!("file:{}", d - 1),
                _ => return,
            }
        }
    };
    apply_window(shared, &id);
}

/// Starts or stops cine in the active viewport.
pub fn toggle_cine(shared: &Shared) {
    {
        let mut v = shared.borrow_mut();
        if v.cine_start.is_some() {
            v.cine_start = None;
        } else {
            let index = v.active_pane().stack.index();
            v.cine_start = Some((dom::now_ms(), index));
        }
    }
    super::controls::refresh_cine_button(shared);
    request_redraw(shared);
}

/// Changes the cine frame rate, continuing from the slice on screen.
pub fn set_fps(shared: &Shared, fps: u32) {
    let mut v = shared.borrow_mut();
    v.cine.set_fps(fps);
    if v.cine_start.is_some() {
        let index = v.active_pane().stack.index();
        v.cine_start = Some((dom::now_ms(), index));
    }
}
