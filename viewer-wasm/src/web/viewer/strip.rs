//! The series strip: one thumbnail per series (the server renders them),
//! the series shown in the active viewport highlighted; a click opens a
//! series there. A thumbnail the link broke is asked for again until it
//! comes; one the server cannot make is replaced by words saying so.

use wasm_bindgen::JsCast;
use web_sys::HtmlImageElement;

use super::loader::open_series;
use super::state::Shared;
use crate::frames::thumbnail_url;
use crate::web::dom::{self, append, clear, el, text_el};
use crate::web::net::{self, DICOMWEB};
use crate::web::text::{tr, tr_with};

/// Fills the strip from the series list. Thumbnails are not requested yet:
/// on a slow link they would compete with the first image.
pub fn build(shared: &Shared) {
    let (strip, entries, priors) = {
        let v = shared.borrow();
        (v.dom.strip.clone(), v.series_list.clone(), v.priors.clone())
    };
    clear(&strip);
    add_series(shared, &strip, entries);
    for prior in priors {
        let heading = text_el("div", "strip-heading", &tr("viewer.prior"));
        let _ = heading.set_attribute("data-prior", &prior.study_uid);
        let detail = text_el(
            "div",
            "caption",
            format!("{}\n{}", prior.date, prior.description).trim(),
        );
        append(&heading, &detail);
        append(&strip, &heading);
        add_series(shared, &strip, prior.series);
    }
    mark_active(shared);
    if shared.borrow().first_image_marked {
        load_thumbnails(shared);
    }
}

fn add_series(
    shared: &Shared,
    strip: &web_sys::HtmlElement,
    entries: Vec<super::state::SeriesEntry>,
) {
    for entry in entries {
        let item = el("button", "series-thumb");
        let _ = item.set_attribute("type", "button");
        let _ = item.set_attribute("data-series", &entry.series_uid);
        let img: HtmlImageElement = el("img", "").unchecked_into();
        img.set_alt(&entry.description);
        let src = thumbnail_url(DICOMWEB, &entry.study_uid, &entry.series_uid);
        let _ = img.set_attribute("data-src", &src);
        retry_when_broken(&img, src);
        append(&item, &img);
        let number = entry
            .number
            .map(|n| tr_with("overlay.series", &[("number", &n.to_string())]))
            .unwrap_or_default();
        let count = entry.count.map(|c| format!(" ({c})")).unwrap_or_default();
        let caption = format!("{} {number}{count}\n{}", entry.modality, entry.description);
        let caption_el = text_el("div", "caption", caption.trim());
        let _ = caption_el.set_attribute("title", caption.trim());
        append(&item, &caption_el);
        let shared_click = shared.clone();
        dom::on::<web_sys::MouseEvent, _>(&item, "click", move |_| {
            // What the notice said of the series shown no longer holds.
            shared_click.borrow().dom.notice.set_hidden(true);
            let pane = shared_click.borrow().active;
            let entry = entry.clone();
            let shared = shared_click.clone();
            wasm_bindgen_futures::spawn_local(async move {
                open_series(shared, pane, entry).await;
            });
        });
        append(strip, &item);
    }
}

/// Starts loading the thumbnails (after the first image is on screen).
pub fn load_thumbnails(shared: &Shared) {
    let strip = shared.borrow().dom.strip.clone();
    let Ok(images) = strip.query_selector_all("img[data-src]") else {
        return;
    };
    for k in 0..images.length() {
        if let Some(img) = images
            .item(k)
            .and_then(|n| n.dyn_into::<HtmlImageElement>().ok())
            && let Some(src) = img.get_attribute("data-src")
        {
            img.set_src(&src);
            let _ = img.remove_attribute("data-src");
        }
    }
}

/// Asks for a thumbnail again when its image fails to load in a way that
/// may pass (the link dropped, the server restarted), after the waits of
/// [`crate::retry`]. The image element cannot tell why it failed: the
/// same request made with `fetch` tells, and once it passes, the image
/// loads again.
fn retry_when_broken(img: &HtmlImageElement, src: String) {
    let target = img.clone();
    dom::on::<web_sys::Event, _>(img, "error", move |_| {
        let (img, src) = (target.clone(), src.clone());
        wasm_bindgen_futures::spawn_local(async move {
            dom::sleep(crate::retry::delay_ms(1)).await;
            let ask = async || net::get_bytes(&src, "image/jpeg").await;
            match net::retrying(&src, ask, net::transient).await {
                Ok(_) => img.set_src(&src),
                Err(error) => {
                    dom::log(&format!("{src}: {error}"));
                    // Words in the image's place, not a broken-image icon;
                    // the series still opens with a click.
                    let missing = text_el("div", "thumb-missing", &tr("viewer.no_thumbnail"));
                    let _ = missing.set_attribute("data-failed", "");
                    let _ = img.replace_with_with_node_1(&missing);
                }
            }
        });
    });
}

/// Highlights the series the active viewport shows.
pub fn mark_active(shared: &Shared) {
    let v = shared.borrow();
    let active_uid = v
        .panes
        .get(v.active)
        .and_then(|p| p.series.as_ref())
        .map(|s| s.borrow().series_uid.clone());
    let Ok(items) = v.dom.strip.query_selector_all(".series-thumb") else {
        return;
    };
    for k in 0..items.length() {
        if let Some(item) = items
            .item(k)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
        {
            let is_active = item.get_attribute("data-series") == active_uid;
            item.set_class_name(if is_active {
                "series-thumb active"
            } else {
                "series-thumb"
            });
        }
    }
}
