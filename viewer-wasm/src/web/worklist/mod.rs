//! The worklist (`/worklist`): the studies to read in the order the
//! server gives (priority, then waiting time), with filters held in the
//! address, paging, and each role's row actions. It asks again every
//! 10 s, so a study taken by a colleague shows as theirs.
//!
//! Ids and attributes for tests: `#worklist-status`, `#worklist-site`,
//! `#worklist-modality`, `#worklist-mine` (radiologists), `#worklist-rows`
//! with one `tr[data-study-uid=UID]` per study carrying `data-status`,
//! `data-priority`, `data-lock-holder` (empty when nobody reads it),
//! `data-overdue`, `data-critical`, `data-new-images`; in a row
//! `[data-action=open]` (claims, then opens the viewer), `[data-action=
//! view]`, `[data-action=assign]`, `[data-action=break-lock]`,
//! `select[data-action=priority]`; `#worklist-notice` (e.g. "being read
//! by …") with `#worklist-open-readonly`; `#worklist-error`;
//! `#worklist-prev`, `#worklist-range`, `#worklist-next`. Dialogs: see
//! `dialog` (`#worklist-assign-username`, `#worklist-break-reason`).

mod actions;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement};

use super::api;
use super::dom::{self, append, el, text_el};
use super::text::{api_time, api_words, lang, now_ms, tr, tr_with};
use super::topbar::{self, Bar};
use crate::api_error::ApiError;
use crate::session::{Me, NavPage};
use crate::worklist::{
    STATUSES, Task, TaskPage, WorklistFilter, patient_name, priority_key, range_words, status_key,
    study_date,
};

/// How often the list is asked for again.
const REFRESH_MS: i32 = 10_000;

/// Modalities offered in the filter.
const MODALITIES: [&str; 10] = ["CT", "MR", "CR", "DX", "MG", "US", "XA", "RF", "NM", "PT"];

struct Filters {
    status: HtmlSelectElement,
    site: HtmlInputElement,
    modality: HtmlSelectElement,
    mine: HtmlInputElement,
}

impl Filters {
    fn read(&self) -> WorklistFilter {
        WorklistFilter {
            status: self.status.value(),
            site: self.site.value().trim().to_owned(),
            modality: self.modality.value(),
            mine: self.mine.checked(),
            offset: 0,
        }
    }

    fn fill(&self, filter: &WorklistFilter) {
        self.status.set_value(&filter.status);
        self.site.set_value(&filter.site);
        self.modality.set_value(&filter.modality);
        self.mine.set_checked(filter.mine);
    }
}

pub(super) struct Page {
    me: Me,
    filter: WorklistFilter,
    filters: Filters,
    body: HtmlElement,
    status: HtmlElement,
    pub(super) error: HtmlElement,
    pub(super) notice: HtmlElement,
    prev: HtmlElement,
    next: HtmlElement,
    range: HtmlElement,
    tasks: Vec<Task>,
    /// Incremented per request, so an older answer never overwrites a
    /// newer one.
    generation: u32,
}

pub(super) type Shared = Rc<RefCell<Page>>;

/// Builds the worklist into `app` and starts refreshing it.
pub fn show(app: &HtmlElement, me: &Me, filter: WorklistFilter) {
    dom::document().set_title(&tr("worklist.title"));
    app.set_class_name("page-worklist");
    topbar::build(
        app,
        me,
        Bar {
            title: Some(&tr("worklist.title")),
            current: Some(NavPage::Worklist),
            language: true,
        },
    );

    let form = el("form", "search");
    form.set_id("worklist-filters");
    let labelled = |key: &str, control: &HtmlElement| {
        let label = el("label", "field");
        append(&label, &text_el("span", "field-label", &tr(key)));
        append(&label, control);
        append(&form, &label);
    };
    let status: HtmlSelectElement = el("select", "").unchecked_into();
    status.set_id("worklist-status");
    option(&status, "", &tr("worklist.status_active"));
    option(&status, "all", &tr("worklist.status_all"));
    for s in STATUSES {
        option(&status, s, &tr(&status_key(s)));
    }
    labelled("worklist.column.status", &status);
    let site: HtmlInputElement = el("input", "").unchecked_into();
    site.set_id("worklist-site");
    site.set_type("search");
    labelled("worklist.column.site", &site);
    let modality: HtmlSelectElement = el("select", "").unchecked_into();
    modality.set_id("worklist-modality");
    option(&modality, "", &tr("search.modality_any"));
    for m in MODALITIES {
        option(&modality, m, m);
    }
    labelled("search.modality", &modality);
    let mine_label = el("label", "field checkbox");
    let mine: HtmlInputElement = el("input", "").unchecked_into();
    mine.set_id("worklist-mine");
    mine.set_type("checkbox");
    append(&mine_label, &mine);
    append(&mine_label, &text_el("span", "", &tr("worklist.mine")));
    mine_label.set_hidden(!me.reads_studies());
    append(&form, &mine_label);
    append(app, &form);

    let error = el("div", "error-banner");
    error.set_id("worklist-error");
    error.set_hidden(true);
    let _ = error.set_attribute("role", "alert");
    append(app, &error);
    let notice = el("div", "notice");
    notice.set_id("worklist-notice");
    notice.set_hidden(true);
    let _ = notice.set_attribute("role", "status");
    append(app, &notice);

    let table = el("table", "studies worklist");
    let head = el("thead", "");
    let head_row = el("tr", "");
    for key in [
        "worklist.column.priority",
        "column.patient_name",
        "worklist.column.study",
        "column.modality",
        "worklist.column.site",
        "worklist.column.received",
        "worklist.column.deadline",
        "worklist.column.status",
        "worklist.column.reader",
        "forward.column.actions",
    ] {
        append(&head_row, &text_el("th", "", &tr(key)));
    }
    append(&head, &head_row);
    append(&table, &head);
    let body = el("tbody", "");
    body.set_id("worklist-rows");
    append(&table, &body);
    append(app, &table);
    let status_line = el("div", "list-status");
    append(app, &status_line);
    let pager = el("nav", "pager");
    let prev = text_el("button", "", &tr("paging.previous"));
    prev.set_id("worklist-prev");
    let range = el("span", "pager-range");
    range.set_id("worklist-range");
    let next = text_el("button", "", &tr("paging.next"));
    next.set_id("worklist-next");
    for b in [&prev, &next] {
        let _ = b.set_attribute("type", "button");
    }
    append(&pager, &prev);
    append(&pager, &range);
    append(&pager, &next);
    append(app, &pager);

    let filters = Filters {
        status,
        site,
        modality,
        mine,
    };
    filters.fill(&filter);
    let page: Shared = Rc::new(RefCell::new(Page {
        me: me.clone(),
        filter,
        filters,
        body,
        status: status_line,
        error,
        notice,
        prev: prev.clone(),
        next: next.clone(),
        range,
        tasks: Vec::new(),
        generation: 0,
    }));

    let p = page.clone();
    dom::on::<web_sys::Event, _>(&form, "submit", move |event| {
        event.prevent_default();
        let filter = p.borrow().filters.read();
        navigate(&p, filter);
    });
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&form, "change", move |_| {
        let filter = p.borrow().filters.read();
        navigate(&p, filter);
    });
    let p = page.clone();
    dom::on::<web_sys::MouseEvent, _>(&prev, "click", move |_| {
        let filter = p.borrow().filter.page(false);
        navigate(&p, filter);
    });
    let p = page.clone();
    dom::on::<web_sys::MouseEvent, _>(&next, "click", move |_| {
        let filter = p.borrow().filter.page(true);
        navigate(&p, filter);
    });
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&dom::window(), "popstate", move |_| {
        let search = dom::window().location().search().unwrap_or_default();
        let filter = WorklistFilter::from_pairs(&crate::url::parse_query(&search));
        p.borrow().filters.fill(&filter);
        p.borrow_mut().filter = filter;
        refresh(&p, false);
    });
    refresh(&page, true);
}

pub(super) fn option(select: &HtmlSelectElement, value: &str, text: &str) {
    let o = text_el("option", "", text);
    let _ = o.set_attribute("value", value);
    append(select, &o);
}

/// Shows `filter`, recording it in the address.
fn navigate(page: &Shared, filter: WorklistFilter) {
    let query = filter.to_page_query();
    let url = if query.is_empty() {
        "/worklist".to_owned()
    } else {
        format!("/worklist?{query}")
    };
    if let Ok(history) = dom::window().history() {
        let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&url));
    }
    page.borrow_mut().filter = filter;
    refresh(page, false);
}

/// Asks for the list and draws it; with `repeat`, again every 10 s.
pub(super) fn refresh(page: &Shared, repeat: bool) {
    let (generation, query) = {
        let mut p = page.borrow_mut();
        p.generation += 1;
        (p.generation, p.filter.to_api_query())
    };
    let page = page.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result = api::get::<TaskPage>(&format!("/api/worklist?{query}")).await;
        let current = page.borrow().generation == generation;
        if current {
            match result {
                Ok(list) => {
                    page.borrow().error.set_hidden(true);
                    // Never redraw under the reader's hand: a priority
                    // being chosen keeps its row until the next refresh.
                    if !busy(&page.borrow()) {
                        render(&page, list);
                    }
                    dom::set_root_data("state", "ready");
                }
                Err(ApiError::SignedOut) => {}
                Err(e) => {
                    let p = page.borrow();
                    p.error.set_text_content(Some(&api_words(&e)));
                    p.error.set_hidden(false);
                    dom::set_root_data("state", "error");
                }
            }
        }
        if repeat {
            let page = page.clone();
            dom::set_timeout(REFRESH_MS, move || refresh(&page, true));
        }
    });
}

/// Whether a control inside the table has the focus.
fn busy(p: &Page) -> bool {
    dom::document()
        .active_element()
        .is_some_and(|active| p.body.contains(Some(&active)) && active.tag_name() == "SELECT")
}

fn render(page: &Shared, list: TaskPage) {
    let mut p = page.borrow_mut();
    dom::clear(&p.body);
    let now = now_ms();
    for task in &list.tasks {
        let row = row(page, &p.me, task, now);
        append(&p.body, &row);
    }
    let shown = list.tasks.len();
    p.range.set_text_content(Some(&range_words(
        lang(),
        p.filter.offset,
        shown,
        list.total,
    )));
    p.status.set_text_content(None);
    p.prev.set_hidden(p.filter.offset == 0);
    p.next
        .set_hidden(u64::from(p.filter.offset) + shown as u64 >= list.total);
    p.tasks = list.tasks;
}

fn row(page: &Shared, me: &Me, task: &Task, now: i64) -> HtmlElement {
    let tr_el = el("tr", "task-row");
    let deadline = task.deadline_words(lang(), now);
    dom::set_attrs(
        &tr_el,
        &[
            ("data-study-uid", &task.study_uid),
            ("data-status", &task.status),
            ("data-priority", &task.priority),
            ("data-lock-holder", task.lock_holder().unwrap_or("")),
            ("data-overdue", bool_text(deadline.overdue)),
            ("data-critical", bool_text(task.critical_open())),
            ("data-new-images", bool_text(task.new_images)),
        ],
    );
    if deadline.overdue {
        let _ = tr_el.class_list().add_1("overdue");
    }

    let priority = el("td", "priority");
    append(
        &priority,
        &text_el(
            "span",
            &format!("badge priority-{}", task.priority),
            &tr(&priority_key(&task.priority)),
        ),
    );
    append(&tr_el, &priority);
    // The patient's name and ID together: the table stays within a
    // laptop screen.
    let patient = el("td", "patient");
    append(
        &patient,
        &text_el(
            "div",
            "patient-name",
            &patient_name(task.patient_name.as_deref()),
        ),
    );
    append(
        &patient,
        &text_el(
            "div",
            "patient-id muted",
            task.patient_id.as_deref().unwrap_or(""),
        ),
    );
    append(&tr_el, &patient);
    let study = el("td", "description");
    append(
        &study,
        &text_el("div", "", task.study_description.as_deref().unwrap_or("")),
    );
    let details = [
        study_date(task.study_date.as_deref()),
        task.accession_number.clone().unwrap_or_default(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    append(&study, &text_el("div", "muted", &details));
    append(&tr_el, &study);
    append(
        &tr_el,
        &text_el("td", "modality", &task.modalities.join(", ")),
    );
    append(
        &tr_el,
        &text_el("td", "site", task.site.as_deref().unwrap_or("")),
    );
    let received = el("td", "received");
    append(
        &received,
        &text_el("div", "", &api_time(task.received_at.as_deref())),
    );
    append(
        &received,
        &text_el("div", "muted", &task.waiting_words(lang(), now)),
    );
    append(&tr_el, &received);
    let deadline_cell = el("td", "deadline");
    append(
        &deadline_cell,
        &text_el("div", "", &api_time(task.deadline.as_deref())),
    );
    if deadline.overdue {
        let badge = text_el("span", "badge overdue", &tr("worklist.overdue"));
        let _ = badge.set_attribute("data-flag", "overdue");
        append(&deadline_cell, &badge);
    }
    append(&deadline_cell, &text_el("div", "muted", &deadline.detail));
    append(&tr_el, &deadline_cell);
    // The status with what needs the reader's eye.
    let status = el("td", "status");
    append(
        &status,
        &text_el("div", "status-name", &tr(&status_key(&task.status))),
    );
    if task.new_images {
        let badge = text_el("span", "badge new-images", &tr("worklist.new_images"));
        let _ = badge.set_attribute("data-flag", "new-images");
        append(&status, &badge);
    }
    if task.critical_open() {
        let badge = text_el("span", "badge critical", &tr("worklist.critical"));
        let _ = badge.set_attribute("data-flag", "critical");
        append(&status, &badge);
    }
    append(&tr_el, &status);
    let reader = el("td", "reader");
    match &task.lock {
        Some(lock) => append(&reader, &text_el("div", "lock-holder", lock.shown_name())),
        None => append(&reader, &text_el("div", "muted", "—")),
    }
    if let Some(assigned) = &task.assigned_to {
        append(
            &reader,
            &text_el(
                "div",
                "muted",
                &tr_with("worklist.assigned_to", &[("user", assigned)]),
            ),
        );
    }
    append(&tr_el, &reader);
    let actions = el("td", "actions");
    for action in task.actions(me) {
        append(&actions, &actions::control(page, task, action));
    }
    append(&tr_el, &actions);
    tr_el
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
