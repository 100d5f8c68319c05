//! Multi-viewport layouts: which series each new viewport gets, and
//! scrolling viewports together.

use std::rc::Rc;

use viewer_core::stack::linked_index;

use super::draw::{relayout, request_redraw};
use super::loader::{close_if_hidden, open_series};
use super::page;
use super::state::{Pane, SeriesEntry, Shared};
use crate::layout::Layout;

/// Switches to `layout`, creating viewports as needed and giving each
/// empty one a series: the prior studies' first, then the study's others.
pub fn set_layout(shared: &Shared, layout: Layout) {
    change_layout(shared, layout, true);
}

/// Switches to `layout`; new viewports get series only when `fill` is set
/// (the reformats fill their own).
pub fn change_layout(shared: &Shared, layout: Layout, fill: bool) {
    let mut to_open: Vec<(usize, SeriesEntry)> = Vec::new();
    {
        let mut v = shared.borrow_mut();
        let previous = v.layout;
        v.layout = layout;
        while v.panes.len() < layout.count() {
            let index = v.panes.len();
            let dom = page::pane(&v.dom.area, index);
            v.panes.push(Pane::new(dom));
        }
        if v.active >= layout.count() {
            v.active = 0;
        }
        for (l, button) in &v.dom.toolbar.layouts {
            let _ =
                button.set_attribute("aria-pressed", if *l == layout { "true" } else { "false" });
        }
        // Viewports beyond the layout let go of their series.
        let hidden: Vec<_> = v
            .panes
            .iter()
            .skip(layout.count())
            .filter_map(|p| p.series.clone())
            .collect();
        for series in hidden {
            close_if_hidden(&mut v, &series);
        }
        if fill && layout.count() > previous.count() {
            let shown: Vec<String> = v
                .panes
                .iter()
                .take(layout.count())
                .filter_map(|p| p.series.as_ref().map(|s| s.borrow().series_uid.clone()))
                .collect();
            let mut candidates = super::priors::candidates(&v)
                .into_iter()
                .chain(v.series_list.iter().cloned())
                .filter(|e| !shown.contains(&e.series_uid))
                .collect::<Vec<_>>()
                .into_iter();
            for i in 0..layout.count() {
                if v.panes[i].series.is_none()
                    && let Some(entry) = candidates.next()
                {
                    to_open.push((i, entry));
                }
            }
        }
    }
    relayout(shared);
    for (pane, entry) in to_open {
        let shared = shared.clone();
        wasm_bindgen_futures::spawn_local(async move {
            open_series(shared, pane, entry).await;
        });
    }
    request_redraw(shared);
}

/// Keeps the other viewports at the level of viewport `from`: for every
/// viewport showing a stack with geometry, the slice nearest in position.
pub fn sync_linked(shared: &Shared, from: usize) {
    let mut v = shared.borrow_mut();
    let count = v.layout.count().min(v.panes.len());
    if count < 2 {
        return;
    }
    // Reformats are orthogonal to each other: nothing to level.
    if v.panes.iter().take(count).any(|p| p.mpr.is_some()) {
        return;
    }
    let Some(source) = v.panes[from].series.clone() else {
        return;
    };
    let index = v.panes[from].stack.index();
    let Some(source_planes) = source.borrow().planes.clone() else {
        return;
    };
    for i in 0..count {
        if i == from {
            continue;
        }
        let Some(target) = v.panes[i].series.clone() else {
            continue;
        };
        if Rc::ptr_eq(&target, &source) {
            continue;
        }
        let target_planes = target.borrow().planes.clone();
        let Some(target_planes) = target_planes else {
            continue;
        };
        if target_planes.len() < 2 {
            continue;
        }
        // Stacks in different frames of reference (a prior study) are
        // linked by position too: both are patient coordinates of similar
        // set-ups, which is how a reader compares them by eye.
        if !source_planes[0].is_parallel_to(&target_planes[0]) {
            continue;
        }
        let linked = linked_index(&source_planes, index, &target_planes);
        v.panes[i].stack.jump_to(linked);
    }
    drop(v);
    request_redraw(shared);
}
