//! The study list (`/`): a search form, one page of studies newest first,
//! and paging. The search lives in the address, so reload, back and
//! bookmarks return to the same list.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement};

use super::dom::{self, append, el, text_el};
use super::net::{self, DICOMWEB, NetError};
use super::text::{tr, tr_with};
use super::topbar::{self, Bar};
use crate::route::viewer_link;
use crate::search::{PAGE_SIZE, StudySearch};
use crate::session::{Me, NavPage};
use crate::studies::{StudyRow, rows_newest_first};

/// Modalities offered in the search form's list.
const MODALITIES: [&str; 10] = ["CT", "MR", "CR", "DX", "MG", "US", "XA", "RF", "NM", "PT"];

/// The form's inputs, read on submit.
struct Form {
    name: HtmlInputElement,
    id: HtmlInputElement,
    from: HtmlInputElement,
    to: HtmlInputElement,
    modality: HtmlSelectElement,
    accession: HtmlInputElement,
}

impl Form {
    fn read(&self) -> StudySearch {
        StudySearch {
            patient_name: self.name.value().trim().to_owned(),
            patient_id: self.id.value().trim().to_owned(),
            date_from: self.from.value(),
            date_to: self.to.value(),
            modality: self.modality.value(),
            accession: self.accession.value().trim().to_owned(),
            offset: 0,
        }
    }

    fn fill(&self, search: &StudySearch) {
        self.name.set_value(&search.patient_name);
        self.id.set_value(&search.patient_id);
        self.from.set_value(&search.date_from);
        self.to.set_value(&search.date_to);
        self.modality.set_value(&search.modality);
        self.accession.set_value(&search.accession);
    }
}

/// The parts of the page that change with each search.
struct ListPage {
    form: Form,
    body: HtmlElement,
    status: HtmlElement,
    error: HtmlElement,
    prev: HtmlElement,
    next: HtmlElement,
    range: HtmlElement,
    search: StudySearch,
    /// Incremented per search, so a slow answer to an older search never
    /// overwrites a newer one.
    generation: u32,
}

/// Builds the study list into `app` and runs the search in the address.
pub fn show(app: &HtmlElement, me: &Me, search: StudySearch) {
    dom::document().set_title(&tr("list.title"));
    app.set_class_name("page-list");

    topbar::build(
        app,
        me,
        Bar {
            title: Some(&tr("list.title")),
            current: Some(NavPage::Studies),
            language: true,
        },
    );

    let form_el = el("form", "search");
    let _ = form_el.set_attribute("role", "search");
    let input = |key: &str, kind: &str, name: &str| -> HtmlInputElement {
        let label = el("label", "field");
        append(&label, &text_el("span", "field-label", &tr(key)));
        let input: HtmlInputElement = el("input", "").unchecked_into();
        input.set_type(kind);
        input.set_name(name);
        append(&label, &input);
        append(&form_el, &label);
        input
    };
    let name = input("search.patient_name", "search", "name");
    let id = input("search.patient_id", "search", "id");
    let from = input("search.date_from", "date", "from");
    let to = input("search.date_to", "date", "to");
    let modality_label = el("label", "field");
    append(
        &modality_label,
        &text_el("span", "field-label", &tr("search.modality")),
    );
    let modality: HtmlSelectElement = el("select", "").unchecked_into();
    modality.set_name("modality");
    let any = text_el("option", "", &tr("search.modality_any"));
    let _ = any.set_attribute("value", "");
    append(&modality, &any);
    for code in MODALITIES {
        let option = text_el("option", "", code);
        let _ = option.set_attribute("value", code);
        append(&modality, &option);
    }
    append(&modality_label, &modality);
    append(&form_el, &modality_label);
    let accession = input("search.accession", "search", "accession");
    let submit = text_el("button", "primary", &tr("search.submit"));
    let _ = submit.set_attribute("type", "submit");
    append(&form_el, &submit);
    let reset = text_el("button", "", &tr("search.clear"));
    let _ = reset.set_attribute("type", "button");
    append(&form_el, &reset);
    append(app, &form_el);

    let error = el("div", "error-banner");
    error.set_id("viewer-error");
    error.set_hidden(true);
    let _ = error.set_attribute("role", "alert");
    append(app, &error);

    let table = el("table", "studies");
    let head = el("thead", "");
    let head_row = el("tr", "");
    for key in [
        "column.patient_name",
        "column.patient_id",
        "column.birth_date",
        "column.sex",
        "column.study_date",
        "column.modality",
        "column.description",
        "column.accession",
        "column.images",
    ] {
        append(&head_row, &text_el("th", "", &tr(key)));
    }
    append(&head, &head_row);
    append(&table, &head);
    let body = el("tbody", "");
    append(&table, &body);
    append(app, &table);

    let status = el("div", "list-status");
    append(app, &status);
    let pager = el("nav", "pager");
    let prev = text_el("button", "", &tr("paging.previous"));
    let range = el("span", "pager-range");
    let next = text_el("button", "", &tr("paging.next"));
    append(&pager, &prev);
    append(&pager, &range);
    append(&pager, &next);
    append(app, &pager);

    let form = Form {
        name,
        id,
        from,
        to,
        modality,
        accession,
    };
    form.fill(&search);
    let page = Rc::new(RefCell::new(ListPage {
        form,
        body,
        status,
        error,
        prev: prev.clone(),
        next: next.clone(),
        range,
        search: search.clone(),
        generation: 0,
    }));

    let p = page.clone();
    dom::on::<web_sys::Event, _>(&form_el, "submit", move |event| {
        event.prevent_default();
        let search = p.borrow().form.read();
        navigate(&p, search, true);
    });
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&reset, "click", move |_| {
        p.borrow().form.fill(&StudySearch::default());
        navigate(&p, StudySearch::default(), true);
    });
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&prev, "click", move |_| {
        let search = p.borrow().search.page(false);
        navigate(&p, search, true);
    });
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&next, "click", move |_| {
        let search = p.borrow().search.page(true);
        navigate(&p, search, true);
    });
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&dom::window(), "popstate", move |_| {
        let search_text = dom::window().location().search().unwrap_or_default();
        let search = StudySearch::from_pairs(&crate::url::parse_query(&search_text));
        p.borrow().form.fill(&search);
        navigate(&p, search, false);
    });

    navigate(&page, search, false);
}

/// Runs `search`, recording it in the address when `push` is set.
fn navigate(page: &Rc<RefCell<ListPage>>, search: StudySearch, push: bool) {
    if push {
        let query = search.to_page_query();
        let url = if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{query}")
        };
        if let Ok(history) = dom::window().history() {
            let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&url));
        }
    }
    let generation = {
        let mut p = page.borrow_mut();
        p.generation += 1;
        p.search = search.clone();
        p.status.set_text_content(Some(&tr("search.searching")));
        p.error.set_hidden(true);
        p.generation
    };
    dom::set_root_data("state", "loading");
    let page = page.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let url = format!("{DICOMWEB}/studies?{}", search.to_qido());
        let result = net::get_attributes(&url).await;
        let p = page.borrow();
        if p.generation != generation {
            return;
        }
        match result {
            Ok(results) => {
                let has_more = results.len() > PAGE_SIZE as usize;
                let rows = rows_newest_first(&results[..results.len().min(PAGE_SIZE as usize)]);
                render_rows(&p, &rows, has_more);
                dom::set_root_data("state", "ready");
            }
            Err(error) => {
                dom::clear(&p.body);
                p.status.set_text_content(None);
                let message = match error {
                    NetError::Unreachable => tr("error.server_unreachable"),
                    NetError::Status { status: 403, .. } => tr("error.forbidden"),
                    NetError::Status { status, .. } => {
                        tr_with("error.server", &[("status", &status.to_string())])
                    }
                    other => crate::web::viewer::net_message(&other),
                };
                p.error.set_text_content(Some(&message));
                p.error.set_hidden(false);
                p.prev.set_hidden(true);
                p.next.set_hidden(true);
                p.range.set_text_content(None);
                dom::set_root_data("state", "error");
            }
        }
    });
}

fn render_rows(p: &ListPage, rows: &[StudyRow], has_more: bool) {
    dom::clear(&p.body);
    for row in rows {
        let tr_el = el("tr", "study-row");
        let link = viewer_link(&row.study_uid);
        let _ = tr_el.set_attribute("data-study", &row.study_uid);
        let name_cell = el("td", "patient-name");
        let anchor = text_el(
            "a",
            "",
            if row.patient_name.is_empty() {
                "—"
            } else {
                &row.patient_name
            },
        );
        let _ = anchor.set_attribute("href", &link);
        append(&name_cell, &anchor);
        append(&tr_el, &name_cell);
        let date = if row.study_time.is_empty() {
            row.study_date.clone()
        } else {
            format!("{} {}", row.study_date, row.study_time)
        };
        let sex = match row.sex.as_str() {
            "M" => tr("sex.male"),
            "F" => tr("sex.female"),
            "O" => tr("sex.other"),
            other => other.to_owned(),
        };
        let images = row
            .instance_count
            .map(|n| n.to_string())
            .unwrap_or_default();
        for (class, text) in [
            ("patient-id", row.patient_id.as_str()),
            ("birth-date", row.birth_date.as_str()),
            ("sex", sex.as_str()),
            ("study-date", date.as_str()),
            ("modality", row.modalities.as_str()),
            ("description", row.description.as_str()),
            ("accession", row.accession.as_str()),
            ("images", images.as_str()),
        ] {
            append(&tr_el, &text_el("td", class, text));
        }
        // The whole row opens the study, not only the name.
        dom::on::<web_sys::MouseEvent, _>(&tr_el, "click", move |event| {
            let on_link = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|t| t.tag_name().eq_ignore_ascii_case("a"));
            if !on_link {
                let _ = dom::window().location().set_href(&link);
            }
        });
        append(&p.body, &tr_el);
    }
    let first = p.search.offset + 1;
    let last = p.search.offset + rows.len() as u32;
    if rows.is_empty() {
        p.status.set_text_content(Some(&tr("list.empty")));
        p.range.set_text_content(None);
    } else {
        p.status.set_text_content(None);
        p.range.set_text_content(Some(&tr_with(
            "paging.range",
            &[("from", &first.to_string()), ("to", &last.to_string())],
        )));
    }
    p.prev.set_hidden(p.search.offset == 0);
    p.next.set_hidden(!has_more);
}
