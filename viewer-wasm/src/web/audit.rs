//! The audit page (`/audit`, administrators): who did what, to which
//! study, from where, and with what outcome; filtered by user, action,
//! study and days, paged, and exported as CSV with the same filter.
//!
//! Ids and attributes for tests: `#audit-filters` with `#audit-user`,
//! `#audit-action`, `#audit-study`, `#audit-from`, `#audit-to`,
//! `#audit-apply`; `#audit-export` (a link to `/api/audit/export?...`);
//! `#audit-rows` with one `tr[data-event-id][data-action][data-outcome]`
//! per event; `#audit-prev`, `#audit-range`, `#audit-next`;
//! `#audit-error`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, HtmlInputElement};

use super::api;
use super::dom::{self, append, el, text_el};
use super::text::{api_time, api_words, lang, tr, tr_with, zone_offset_minutes};
use super::topbar::{self, Bar};
use crate::api_error::ApiError;
use crate::audit::{ACTIONS, AuditFilter, AuditPage, action_words, outcome_words, user_words};
use crate::route::read_only_link;
use crate::session::{Me, NavPage};

struct Inputs {
    user: HtmlInputElement,
    action: HtmlInputElement,
    study: HtmlInputElement,
    from: HtmlInputElement,
    to: HtmlInputElement,
}

impl Inputs {
    fn read(&self) -> AuditFilter {
        AuditFilter {
            user: self.user.value().trim().to_owned(),
            action: self.action.value().trim().to_owned(),
            study: self.study.value().trim().to_owned(),
            from: self.from.value(),
            to: self.to.value(),
            offset: 0,
        }
    }

    fn fill(&self, f: &AuditFilter) {
        self.user.set_value(&f.user);
        self.action.set_value(&f.action);
        self.study.set_value(&f.study);
        self.from.set_value(&f.from);
        self.to.set_value(&f.to);
    }
}

struct Page {
    inputs: Inputs,
    filter: AuditFilter,
    body: HtmlElement,
    error: HtmlElement,
    export: HtmlElement,
    prev: HtmlElement,
    next: HtmlElement,
    range: HtmlElement,
    generation: u32,
}

type Shared = Rc<RefCell<Page>>;

/// Builds the audit page into `app` and runs the filter in the address.
pub fn show(app: &HtmlElement, me: &Me, filter: AuditFilter) {
    dom::document().set_title(&tr("audit.title"));
    app.set_class_name("page-audit");
    topbar::build(
        app,
        me,
        Bar {
            title: Some(&tr("audit.title")),
            current: Some(NavPage::Audit),
            language: true,
        },
    );

    let form = el("form", "search");
    form.set_id("audit-filters");
    let input = |id: &str, key: &str, kind: &str| -> HtmlInputElement {
        let label = el("label", "field");
        append(&label, &text_el("span", "field-label", &tr(key)));
        let input: HtmlInputElement = el("input", "").unchecked_into();
        input.set_id(id);
        input.set_type(kind);
        append(&label, &input);
        append(&form, &label);
        input
    };
    let user = input("audit-user", "audit.column.user", "search");
    let action = input("audit-action", "audit.column.action", "search");
    let _ = action.set_attribute("list", "audit-actions");
    let choices = el("datalist", "");
    choices.set_id("audit-actions");
    for a in ACTIONS {
        let option = text_el("option", "", &action_words(lang(), a));
        let _ = option.set_attribute("value", a);
        append(&choices, &option);
    }
    append(&form, &choices);
    let study = input("audit-study", "audit.column.study", "search");
    let from = input("audit-from", "search.date_from", "date");
    let to = input("audit-to", "search.date_to", "date");
    let apply = text_el("button", "primary", &tr("search.submit"));
    apply.set_id("audit-apply");
    let _ = apply.set_attribute("type", "submit");
    append(&form, &apply);
    let export = text_el("a", "button-link", &tr("audit.export"));
    export.set_id("audit-export");
    let _ = export.set_attribute("download", "");
    append(&form, &export);
    append(app, &form);

    let error = el("div", "error-banner");
    error.set_id("audit-error");
    error.set_hidden(true);
    let _ = error.set_attribute("role", "alert");
    append(app, &error);

    let table = el("table", "studies audit");
    let head = el("thead", "");
    let head_row = el("tr", "");
    for key in [
        "audit.column.time",
        "audit.column.user",
        "audit.column.role",
        "audit.column.action",
        "audit.column.study",
        "audit.column.detail",
        "audit.column.address",
        "audit.column.outcome",
    ] {
        append(&head_row, &text_el("th", "", &tr(key)));
    }
    append(&head, &head_row);
    append(&table, &head);
    let body = el("tbody", "");
    body.set_id("audit-rows");
    append(&table, &body);
    append(app, &table);
    let pager = el("nav", "pager");
    let prev = text_el("button", "", &tr("paging.previous"));
    prev.set_id("audit-prev");
    let range = el("span", "pager-range");
    range.set_id("audit-range");
    let next = text_el("button", "", &tr("paging.next"));
    next.set_id("audit-next");
    append(&pager, &prev);
    append(&pager, &range);
    append(&pager, &next);
    append(app, &pager);

    let inputs = Inputs {
        user,
        action,
        study,
        from,
        to,
    };
    inputs.fill(&filter);
    let page = Rc::new(RefCell::new(Page {
        inputs,
        filter: filter.clone(),
        body,
        error,
        export,
        prev: prev.clone(),
        next: next.clone(),
        range,
        generation: 0,
    }));
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&form, "submit", move |event| {
        event.prevent_default();
        let filter = p.borrow().inputs.read();
        navigate(&p, filter, true);
    });
    for (button, forward) in [(&prev, false), (&next, true)] {
        let _ = button.set_attribute("type", "button");
        let p = page.clone();
        dom::on::<web_sys::MouseEvent, _>(button, "click", move |_| {
            let filter = p.borrow().filter.page(forward);
            navigate(&p, filter, true);
        });
    }
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&dom::window(), "popstate", move |_| {
        let search = dom::window().location().search().unwrap_or_default();
        let filter = AuditFilter::from_pairs(&crate::url::parse_query(&search));
        p.borrow().inputs.fill(&filter);
        navigate(&p, filter, false);
    });
    navigate(&page, filter, false);
}

fn navigate(page: &Shared, filter: AuditFilter, push: bool) {
    if push {
        let query = filter.to_page_query();
        let url = if query.is_empty() {
            "/audit".to_owned()
        } else {
            format!("/audit?{query}")
        };
        if let Ok(history) = dom::window().history() {
            let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&url));
        }
    }
    let offset = zone_offset_minutes();
    let generation = {
        let mut p = page.borrow_mut();
        p.generation += 1;
        let _ = p.export.set_attribute("href", &filter.export_link(offset));
        p.filter = filter.clone();
        p.generation
    };
    dom::set_root_data("state", "loading");
    let page = page.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let url = format!("/api/audit?{}", filter.to_api_query(offset));
        let result = api::get::<AuditPage>(&url).await;
        let p = page.borrow();
        if p.generation != generation {
            return;
        }
        match result {
            Ok(list) => {
                p.error.set_hidden(true);
                render(&p, &list);
                dom::set_root_data("state", "ready");
            }
            Err(ApiError::SignedOut) => {}
            Err(e) => {
                dom::clear(&p.body);
                p.error.set_text_content(Some(&api_words(&e)));
                p.error.set_hidden(false);
                dom::set_root_data("state", "error");
            }
        }
    });
}

fn render(p: &Page, list: &AuditPage) {
    dom::clear(&p.body);
    for event in &list.events {
        let row = el("tr", "audit-row");
        let outcome = event.outcome.as_deref().unwrap_or("");
        dom::set_attrs(
            &row,
            &[
                ("data-event-id", &event.id.to_string()),
                ("data-action", &event.action),
                ("data-outcome", outcome),
            ],
        );
        if outcome != "ok" && !outcome.is_empty() {
            let _ = row.class_list().add_1("problem");
        }
        let time = api_time(Some(&event.at));
        let role = event
            .role
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| {
                let key = format!("role.{r}");
                let words = tr(&key);
                if words == key { r.to_owned() } else { words }
            })
            .unwrap_or_default();
        append(&row, &text_el("td", "time", &time));
        append(
            &row,
            &text_el(
                "td",
                "user",
                &event
                    .user
                    .as_deref()
                    .map_or_else(|| "—".to_owned(), |u| user_words(lang(), u)),
            ),
        );
        append(&row, &text_el("td", "role", &role));
        append(
            &row,
            &text_el("td", "action", &action_words(lang(), &event.action)),
        );
        let study = el("td", "study");
        if let Some(uid) = &event.study_uid {
            let link = text_el("a", "", uid);
            let _ = link.set_attribute("href", &read_only_link(uid));
            append(&study, &link);
        }
        append(&row, &study);
        append(
            &row,
            &text_el("td", "detail", event.detail.as_deref().unwrap_or("")),
        );
        append(
            &row,
            &text_el("td", "address", event.address.as_deref().unwrap_or("")),
        );
        append(
            &row,
            &text_el("td", "outcome", &outcome_words(lang(), outcome)),
        );
        append(&p.body, &row);
    }
    let shown = list.events.len();
    p.range.set_text_content(Some(&if shown == 0 {
        tr("audit.empty")
    } else {
        tr_with(
            "audit.range",
            &[
                ("from", &(p.filter.offset + 1).to_string()),
                ("to", &(p.filter.offset as usize + shown).to_string()),
                ("total", &list.total.to_string()),
            ],
        )
    }));
    p.prev.set_hidden(p.filter.offset == 0);
    p.next
        .set_hidden(u64::from(p.filter.offset) + shown as u64 >= list.total);
}
