//! The browser side: page entry, DOM, network, decoding workers and the
//! viewer itself. Built only for wasm32.
//!
//! Every page first asks who is signed in (`GET /api/auth/me`, started
//! by `index.html` while the application downloads): 401 shows the
//! sign-in form in place of the page, and signing in comes back to it.

mod api;
mod audit;
mod decode;
mod dialog;
mod dom;
mod forwarding;
mod list;
mod login;
mod net;
mod referrals;
mod report;
mod session;
mod text;
mod topbar;
mod viewer;
mod worklist;

use wasm_bindgen::prelude::*;

use crate::api_error::ApiError;
use crate::route::{Page, route};
use crate::session::{Me, after_sign_in};

/// The page's entry point, called by `index.html` with the compiled wasm
/// module (shared with the decoding workers). Decides the page from the
/// address: `/` is the study list, `/viewer?study=...` a study, and so on
/// (see [`crate::route`]).
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
    let page = route(&pathname, &search);
    wasm_bindgen_futures::spawn_local(async move {
        let me = session::load().await;
        dom::clear(&app);
        match (me, page) {
            (Ok(me), Page::Login { .. }) if me.open => login::show_open(&app),
            (Ok(me), Page::Login { next }) => {
                let target = after_sign_in(next.as_deref(), me.role);
                let _ = dom::window().location().replace(&target);
            }
            (Ok(me), page) => {
                if let Some(target) = session::provider_return(&me) {
                    let _ = dom::window().location().replace(&target);
                    return;
                }
                show(&app, page, me, module);
            }
            (Err(ApiError::SignedOut), Page::Login { next }) => login::show(&app, next),
            (Err(ApiError::SignedOut), _) => {
                let here = session::here();
                login::show(&app, crate::session::safe_next(&here));
            }
            (Err(other), _) => show_message(&app, &text::api_words(&other)),
        }
    });
}

/// Shows `page` for `me`.
fn show(app: &web_sys::HtmlElement, page: Page, me: Me, module: JsValue) {
    match page {
        Page::StudyList(search) => list::show(app, &me, search),
        Page::Viewer(request) => viewer::show(app, &me, request, module),
        Page::ViewerWithoutStudy => show_message(app, &text::tr("error.no_study")),
        Page::ViewerWithInvalidStudy => show_message(app, &text::tr("error.invalid_study")),
        Page::Forwarding { state } => forwarding::show(app, &me, state),
        Page::Worklist(filter) => worklist::show(app, &me, filter),
        Page::Referrals { study } => referrals::show(app, &me, study),
        Page::Audit(filter) => audit::show(app, &me, filter),
        // Handled before: a signed-in user is sent on from there.
        Page::Login { .. } => list::show(app, &me, Default::default()),
        // The server sends this page, answered 404, for an address that
        // is none of the application's.
        Page::Unknown => show_message(app, &text::tr("error.no_page")),
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
