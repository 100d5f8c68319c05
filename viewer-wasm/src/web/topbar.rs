//! The bar at the top of every page: the page's title, links to the pages
//! the user's role may use, who is signed in, the language, and signing
//! out; under it, open critical findings waiting for this user's
//! acknowledgement, in red.
//!
//! Ids and attributes for tests: `#topbar`, `a[data-link=worklist|studies|
//! forwarding|audit|referrals]` (the current page has
//! `aria-current=page`), `#user-name`, `#user-role`, `#sign-out`,
//! `[data-control=language]`; `#critical-banner` with one
//! `[data-critical-study=UID]` per finding and its
//! `button[data-action=acknowledge]`.

use std::rc::Rc;

use web_sys::HtmlElement;

use super::api;
use super::dom::{self, append, el, text_el};
use super::session;
use super::text::{api_time, api_words, language_select, tr, tr_with};
use crate::route::{read_only_link, referral_link};
use crate::session::{Me, NavPage, Role};
use crate::url::encode_component;
use crate::worklist::patient_name;

/// How often open critical findings are asked for again.
const NOTIFICATIONS_MS: i32 = 30_000;

/// What the bar shows besides the links.
pub struct Bar<'a> {
    /// The page's title; `None` for a compact bar (the viewer).
    pub title: Option<&'a str>,
    pub current: Option<NavPage>,
    /// Whether the bar holds the language switch (the viewer has its own).
    pub language: bool,
}

/// Builds the bar (and the critical-findings banner after it) into
/// `parent`.
pub fn build(parent: &HtmlElement, me: &Me, bar: Bar) {
    let header = el(
        "header",
        if bar.title.is_some() {
            "topbar"
        } else {
            "topbar compact"
        },
    );
    header.set_id("topbar");
    if let Some(title) = bar.title {
        append(&header, &text_el("h1", "brand", title));
    }
    let nav = el("nav", "nav-links");
    let _ = nav.set_attribute("aria-label", &tr("nav.label"));
    for page in me.pages() {
        let link = text_el("a", "nav-link", &tr(page.label_key()));
        dom::set_attrs(&link, &[("href", page.path()), ("data-link", page.name())]);
        if bar.current == Some(page) {
            let _ = link.set_attribute("aria-current", "page");
        }
        append(&nav, &link);
    }
    append(&header, &nav);
    append(&header, &el("div", "spacer"));
    if me.read_only_link {
        append(&header, &text_el("span", "user", &tr("nav.read_only_link")));
    } else if !me.open {
        let user = el("span", "user");
        let name = text_el("span", "user-name", me.shown_name().unwrap_or(""));
        name.set_id("user-name");
        append(&user, &name);
        let role = text_el("span", "user-role", &tr(me.role.label_key()));
        role.set_id("user-role");
        let _ = role.set_attribute("data-role", role_name(me.role));
        append(&user, &role);
        append(&header, &user);
    }
    if bar.language {
        append(&header, &language_select());
    }
    if me.signs_out() {
        let out = text_el("button", "", &tr("nav.sign_out"));
        out.set_id("sign-out");
        let _ = out.set_attribute("type", "button");
        dom::on::<web_sys::MouseEvent, _>(&out, "click", |_| session::sign_out());
        append(&header, &out);
    }
    append(parent, &header);

    if me.sees_notifications() {
        let banner = el("section", "critical-banner");
        banner.set_id("critical-banner");
        let _ = banner.set_attribute("role", "alert");
        banner.set_hidden(true);
        append(parent, &banner);
        let banner = Rc::new(banner);
        BANNER.with(|b| *b.borrow_mut() = Some((banner.clone(), me.role)));
        poll_notifications(banner, me.role);
    }
}

thread_local! {
    static BANNER: std::cell::RefCell<Option<(Rc<HtmlElement>, Role)>> =
        const { std::cell::RefCell::new(None) };
}

/// Asks for open critical findings again now (one was just acknowledged
/// elsewhere on the page).
pub fn refresh_banner() {
    if let Some((banner, role)) = BANNER.with(|b| b.borrow().clone()) {
        wasm_bindgen_futures::spawn_local(async move {
            refresh_notifications(&banner, role).await;
        });
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Site => "site",
        Role::Radiologist => "radiologist",
        Role::Referrer => "referrer",
        Role::Admin => "admin",
        Role::Other => "other",
    }
}

/// An open critical finding (`GET /api/notifications`).
#[derive(Debug, Clone, serde::Deserialize)]
struct Notification {
    study_uid: String,
    #[serde(default)]
    patient_name: Option<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    flagged_at: Option<String>,
    #[serde(default)]
    flagged_by: Option<String>,
}

fn poll_notifications(banner: Rc<HtmlElement>, role: Role) {
    wasm_bindgen_futures::spawn_local(async move {
        refresh_notifications(&banner, role).await;
        let b = banner.clone();
        dom::set_timeout(NOTIFICATIONS_MS, move || poll_notifications(b, role));
    });
}

async fn refresh_notifications(banner: &Rc<HtmlElement>, role: Role) {
    // A failure here must not disturb the page: the banner just stays as
    // it was until the next try.
    let Ok(list) = api::get::<Vec<Notification>>("/api/notifications").await else {
        return;
    };
    render(banner, &list, role);
}

fn render(banner: &Rc<HtmlElement>, list: &[Notification], role: Role) {
    dom::clear(banner);
    banner.set_hidden(list.is_empty());
    if list.is_empty() {
        return;
    }
    append(
        banner,
        &text_el("strong", "critical-title", &tr("critical.banner_title")),
    );
    for n in list {
        let item = el("div", "critical-item");
        let _ = item.set_attribute("data-critical-study", &n.study_uid);
        let who = n.flagged_by.as_deref().unwrap_or("");
        let when = api_time(n.flagged_at.as_deref());
        append(
            &item,
            &text_el(
                "span",
                "critical-patient",
                &patient_name(n.patient_name.as_deref()),
            ),
        );
        append(&item, &text_el("span", "critical-note", &n.note));
        append(
            &item,
            &text_el(
                "span",
                "muted",
                &tr_with("critical.flagged", &[("who", who), ("time", &when)]),
            ),
        );
        let open = text_el("a", "", &tr("critical.open_study"));
        let href = if role == Role::Referrer {
            referral_link(&n.study_uid)
        } else {
            read_only_link(&n.study_uid)
        };
        let _ = open.set_attribute("href", &href);
        append(&item, &open);
        let ack = text_el("button", "danger", &tr("critical.acknowledge"));
        dom::set_attrs(&ack, &[("type", "button"), ("data-action", "acknowledge")]);
        let (study, note) = (n.study_uid.clone(), n.note.clone());
        let b = banner.clone();
        let button = ack.clone();
        dom::on::<web_sys::MouseEvent, _>(&ack, "click", move |_| {
            let (study, note) = (study.clone(), note.clone());
            let b = b.clone();
            let button = button.clone();
            let _ = button.set_attribute("disabled", "");
            wasm_bindgen_futures::spawn_local(async move {
                let url = format!(
                    "/api/studies/{}/critical/acknowledge",
                    encode_component(&study)
                );
                // The note as shown: one flagged again meanwhile is
                // refused, and the banner shows it as it now stands.
                let body = serde_json::json!({ "note": note });
                match api::call::<serde_json::Value, _>("POST", &url, Some(&body)).await {
                    Ok(_) => refresh_notifications(&b, role).await,
                    Err(e @ crate::api_error::ApiError::Conflict { .. }) => {
                        refresh_notifications(&b, role).await;
                        let item = format!("[data-critical-study=\"{study}\"]");
                        if let Ok(Some(item)) = b.query_selector(&item) {
                            append(&item, &text_el("span", "job-error", &api_words(&e)));
                        }
                    }
                    Err(e) => {
                        let _ = button.remove_attribute("disabled");
                        let _ = button.set_attribute("title", &api_words(&e));
                        if let Some(item) = button.parent_element() {
                            append(&item, &text_el("span", "job-error", &api_words(&e)));
                        }
                    }
                }
            });
        });
        append(&item, &ack);
        append(banner, &item);
    }
}
