//! The viewer's side of key images: which image the active viewport
//! shows (series, SOP instance, frame), and showing a marked one again.

use std::rc::Rc;

use super::actions::after_slice_change;
use super::draw::request_redraw;
use super::loader::open_series;
use super::state::Shared;
use crate::report::KeyImage;
use crate::web::report::ImageLink;
use crate::web::text::tr;

/// The report panel's link to this viewer.
pub fn link(shared: &Shared) -> ImageLink {
    let s = shared.clone();
    let j = shared.clone();
    ImageLink {
        current: Box::new(move || current(&s)),
        jump: Rc::new(move |key| jump(&j, key)),
    }
}

/// The image on screen in the active viewport.
fn current(shared: &Shared) -> Result<KeyImage, String> {
    let v = shared.borrow();
    let pane = v
        .panes
        .get(v.active)
        .ok_or_else(|| tr("report.key_image_none"))?;
    if pane.mpr.is_some() {
        return Err(tr("report.key_image_mpr"));
    }
    let series = pane
        .series
        .as_ref()
        .ok_or_else(|| tr("report.key_image_none"))?
        .borrow();
    if series.study_uid != v.study_uid {
        return Err(tr("report.key_image_prior"));
    }
    let slice = series
        .layout
        .slices
        .get(pane.stack.index())
        .ok_or_else(|| tr("report.key_image_none"))?;
    let info = &series.layout.instances[slice.instance];
    Ok(KeyImage {
        series_uid: series.series_uid.clone(),
        sop_uid: info.sop_instance_uid.clone(),
        frame: slice.frame,
    })
}

/// The slice of the loaded series that is `key`, if it is there.
fn slice_of(shared: &Shared, pane: usize, key: &KeyImage) -> Option<usize> {
    let v = shared.borrow();
    let series = v.panes.get(pane)?.series.as_ref()?.borrow();
    if series.series_uid != key.series_uid {
        return None;
    }
    series.layout.slices.iter().position(|s| {
        s.frame == key.frame && series.layout.instances[s.instance].sop_instance_uid == key.sop_uid
    })
}

/// Shows `key` in the active viewport, opening its series there first
/// when another is shown (or a reformat).
fn jump(shared: &Shared, key: KeyImage) {
    let shared = shared.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let pane = shared.borrow().active;
        let in_mpr = shared
            .borrow()
            .panes
            .get(pane)
            .is_some_and(|p| p.mpr.is_some());
        if in_mpr {
            super::mpr::set_mpr(&shared, false);
        }
        if slice_of(&shared, pane, &key).is_none() {
            let entry = shared
                .borrow()
                .series_list
                .iter()
                .find(|e| e.series_uid == key.series_uid)
                .cloned();
            let Some(entry) = entry else {
                return;
            };
            open_series(shared.clone(), pane, entry).await;
        }
        let Some(index) = slice_of(&shared, pane, &key) else {
            return;
        };
        let changed = shared.borrow_mut().panes[pane].stack.jump_to(index);
        if changed {
            after_slice_change(&shared, pane);
        }
        request_redraw(&shared);
    });
}
