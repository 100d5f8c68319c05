//! The browser side: page entry, DOM, network, decoding workers and the
//! viewer itself. Built only for wasm32.

mod decode;
mod dom;
mod forwarding;
mod list;
mod net;
mod text;
mod viewer;

use wasm_bindgen::prelude::*;

use crate::route::{Page, route};

/// The page's entry point, called by `index.html` with the compiled wasm
/// module (shared with the decoding workers). Decides the page from the
/// address: `/` is the study list, `/viewer?study=...` a study.
#[wasm_bindgen]
pub fn start(module: JsValue) {
    let location = dom::window().location();
    let pathname = location.pathname().unwrap_or_default();
    let search = location.search().unwrap_or_default();
    text::init(&search);
    let app = dom::by_id("app").unwrap_or_else(|| {
        let app = dom::el("div", "");
        app.set_id("app");
        if let Some(body) = dom::document().body() {
            dom::append(&body, &app);
        }
        app
    });
    dom::clear(&app);
    match route(&pathname, &search) {
        Page::StudyList(search) => list::show(&app, search),
        Page::Viewer(request) => viewer::show(&app, request, module),
        Page::ViewerWithoutStudy => show_message(&app, &text::tr("error.no_study")),
        Page::Forwarding { state } => forwarding::show(&app, state),
        // The server only sends this page for `/`, `/viewer` and
        // `/forwarding`; anything
        // else (a saved `/index.html`) gets the list.
        Page::Unknown => list::show(&app, Default::default()),
    }
}

/// A page that only says what went wrong, with a way back to the list.
fn show_message(app: &web_sys::HtmlElement, message: &str) {
    let error = dom::text_el("div", "error-banner", message);
    error.set_id("viewer-error");
    dom::append(app, &error);
    let back = dom::text_el("a", "back-link", &text::tr("viewer.back"));
    let _ = back.set_attribute("href", "/");
    dom::append(app, &back);
    dom::set_root_data("state", "error");
}
