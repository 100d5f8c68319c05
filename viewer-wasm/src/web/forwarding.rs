//! The forwarding page (`/forwarding`): each destination with its jobs by
//! state, the jobs with their progress and last error, retry and cancel,
//! and a job's history. It refreshes itself every few seconds, so an
//! operator watching a study go out sees it move.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlSelectElement};

use super::dom::{self, append, el, text_el};
use super::net::{self, NetError};
use super::text::{lang, tr, tr_with};
use super::topbar::{self, Bar};
use crate::forwarding::{
    Destination, Job, JobHistory, STATES, event_key, format_bytes, priority_key, state_key,
};
use crate::session::{Me, NavPage};

const API: &str = "/api/forwarding";
/// How often the page asks again.
const REFRESH_MS: i32 = 3000;
/// Jobs shown at once.
const LIMIT: u32 = 200;

struct Page {
    destinations: HtmlElement,
    body: HtmlElement,
    status: HtmlElement,
    error: HtmlElement,
    history: HtmlElement,
    state: Option<String>,
    /// Incremented per refresh, so an older answer never overwrites a
    /// newer one.
    generation: u32,
}

/// Builds the page into `app` and starts refreshing it.
pub fn show(app: &HtmlElement, me: &Me, state: Option<String>) {
    dom::document().set_title(&tr("forward.title"));
    app.set_class_name("page-forwarding");

    topbar::build(
        app,
        me,
        Bar {
            title: Some(&tr("forward.title")),
            current: Some(NavPage::Forwarding),
            language: true,
        },
    );

    let error = el("div", "error-banner");
    error.set_id("viewer-error");
    error.set_hidden(true);
    let _ = error.set_attribute("role", "alert");
    append(app, &error);

    append(app, &text_el("h2", "", &tr("forward.destinations")));
    let destinations = el("div", "forward-destinations");
    destinations.set_id("forward-destinations");
    append(app, &destinations);

    let filter_label = el("label", "field");
    append(
        &filter_label,
        &text_el("span", "field-label", &tr("forward.filter")),
    );
    let filter: HtmlSelectElement = el("select", "").unchecked_into();
    let _ = filter.set_attribute("data-control", "forward-state");
    let all = text_el("option", "", &tr("forward.all"));
    let _ = all.set_attribute("value", "");
    append(&filter, &all);
    for s in STATES {
        let option = text_el("option", "", &tr(&state_key(s)));
        let _ = option.set_attribute("value", s);
        append(&filter, &option);
    }
    filter.set_value(state.as_deref().unwrap_or(""));
    append(&filter_label, &filter);
    append(app, &filter_label);

    let table = el("table", "studies forward-jobs");
    let head = el("thead", "");
    let head_row = el("tr", "");
    for key in [
        "forward.column.patient",
        "forward.column.study",
        "forward.column.destination",
        "forward.column.priority",
        "forward.column.state",
        "forward.column.progress",
        "forward.column.updated",
        "forward.column.actions",
    ] {
        append(&head_row, &text_el("th", "", &tr(key)));
    }
    append(&head, &head_row);
    append(&table, &head);
    let body = el("tbody", "");
    body.set_id("forward-jobs");
    append(&table, &body);
    append(app, &table);
    let status = el("div", "list-status");
    append(app, &status);

    let history = el("section", "forward-history");
    history.set_id("forward-history");
    history.set_hidden(true);
    append(app, &history);

    let page = Rc::new(RefCell::new(Page {
        destinations,
        body,
        status,
        error,
        history,
        state,
        generation: 0,
    }));

    let p = page.clone();
    let select = filter.clone();
    dom::on::<web_sys::Event, _>(&filter, "change", move |_| {
        let value = select.value();
        let state = (!value.is_empty()).then_some(value);
        let url = match &state {
            Some(s) => format!("/forwarding?state={s}"),
            None => "/forwarding".to_owned(),
        };
        if let Ok(history) = dom::window().history() {
            let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
        p.borrow_mut().state = state;
        refresh(&p, false);
    });

    refresh(&page, true);
}

/// Loads destinations and jobs and draws them; with `repeat`, again every
/// few seconds for as long as the page is open.
fn refresh(page: &Rc<RefCell<Page>>, repeat: bool) {
    let generation = {
        let mut p = page.borrow_mut();
        p.generation += 1;
        p.generation
    };
    let state = page.borrow().state.clone();
    let page = page.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let destinations = net::get_json::<Vec<Destination>>(&format!("{API}/destinations")).await;
        let mut url = format!("{API}/jobs?limit={LIMIT}");
        if let Some(s) = &state {
            url.push_str(&format!("&state={s}"));
        }
        let jobs = net::get_json::<Vec<Job>>(&url).await;
        {
            let p = page.borrow();
            if p.generation == generation {
                match destinations.and_then(|d| jobs.map(|j| (d, j))) {
                    Ok((destinations, jobs)) => {
                        p.error.set_hidden(true);
                        render_destinations(&p, &destinations);
                        render_jobs(&p, &page, &jobs);
                        dom::set_root_data("state", "ready");
                    }
                    Err(e) => {
                        p.error.set_text_content(Some(&message(&e)));
                        p.error.set_hidden(false);
                        dom::set_root_data("state", "error");
                    }
                }
            }
        }
        if repeat {
            let page = page.clone();
            dom::set_timeout(REFRESH_MS, move || refresh(&page, true));
        }
    });
}

fn message(e: &NetError) -> String {
    match e {
        NetError::Unreachable => tr("error.server_unreachable"),
        NetError::Status { status: 403, .. } => tr("error.forbidden"),
        NetError::Status { status, .. } => {
            tr_with("error.server", &[("status", &status.to_string())])
        }
        other => other.to_string(),
    }
}

fn render_destinations(p: &Page, destinations: &[Destination]) {
    dom::clear(&p.destinations);
    if destinations.is_empty() {
        append(
            &p.destinations,
            &text_el("p", "list-status", &tr("forward.no_destinations")),
        );
        return;
    }
    for d in destinations {
        let card = el("div", "forward-destination");
        let _ = card.set_attribute("data-destination", &d.name);
        append(&card, &text_el("strong", "", &d.name));
        append(
            &card,
            &text_el(
                "div",
                "forward-address",
                &format!("{} · {}", d.kind, d.address),
            ),
        );
        let counts = el("div", "forward-counts");
        for s in STATES {
            let n = d.jobs.get(s).copied().unwrap_or(0);
            if n > 0 {
                let badge = text_el(
                    "span",
                    &format!("forward-badge state-{s}"),
                    &format!("{} {n}", tr(&state_key(s))),
                );
                append(&counts, &badge);
            }
        }
        append(&card, &counts);
        append(&p.destinations, &card);
    }
}

fn render_jobs(p: &Page, page: &Rc<RefCell<Page>>, jobs: &[Job]) {
    dom::clear(&p.body);
    p.status.set_text_content(
        if jobs.is_empty() {
            Some(tr("forward.empty"))
        } else {
            None
        }
        .as_deref(),
    );
    for job in jobs {
        let row = el("tr", "job-row");
        let _ = row.set_attribute("data-job", &job.id.to_string());
        let _ = row.set_attribute("data-state", &job.state);
        if job.is_problem() {
            row.class_list().add_1("problem").ok();
        }
        let patient = el("td", "patient-name");
        append(
            &patient,
            &text_el(
                "div",
                "",
                &job.patient_name
                    .as_deref()
                    .and_then(viewer_core::dicom_json::readable_person_name)
                    .unwrap_or_else(|| "—".into()),
            ),
        );
        append(
            &patient,
            &text_el("div", "muted", job.patient_id.as_deref().unwrap_or("")),
        );
        append(&row, &patient);
        let study = el("td", "study");
        let link = text_el(
            "a",
            "",
            job.study_description
                .as_deref()
                .filter(|d| !d.is_empty())
                .unwrap_or(&job.study_uid),
        );
        let _ = link.set_attribute("href", &crate::route::viewer_link(&job.study_uid));
        append(&study, &link);
        append(&row, &study);
        append(&row, &text_el("td", "destination", &job.destination));
        append(
            &row,
            &text_el(
                "td",
                &format!("priority priority-{}", job.priority),
                &tr(&priority_key(&job.priority)),
            ),
        );

        let state = el("td", "state");
        append(
            &state,
            &text_el("div", "state-name", &tr(&state_key(&job.state))),
        );
        if job.attempts > 0 {
            append(
                &state,
                &text_el(
                    "div",
                    "muted",
                    &tr_with("forward.attempts", &[("n", &job.attempts.to_string())]),
                ),
            );
        }
        if let Some(error) = &job.last_error {
            append(&state, &text_el("div", "job-error", error));
        }
        if let Some(at) = job.not_before.filter(|at| *at > now_ms() as i64) {
            append(
                &state,
                &text_el(
                    "div",
                    "muted",
                    &tr_with("forward.next_try", &[("time", &local_time(at))]),
                ),
            );
        }
        append(&row, &state);

        let (text, percent) = job.progress();
        let progress = el("td", "job-progress");
        append(&progress, &text_el("div", "progress-text", &text));
        let bar = el("progress", "");
        let _ = bar.set_attribute("max", "100");
        let _ = bar.set_attribute("value", &percent.to_string());
        append(&progress, &bar);
        append(
            &progress,
            &text_el("div", "muted", &format_bytes(job.bytes_sent)),
        );
        append(&row, &progress);
        append(&row, &text_el("td", "updated", &local_time(job.updated_at)));

        let actions = el("td", "actions");
        for action in job.actions() {
            let button = text_el("button", "", &tr(action.label_key()));
            let _ = button.set_attribute("type", "button");
            let _ = button.set_attribute("data-action", action.verb());
            let id = job.id;
            let handle = page.clone();
            dom::on::<web_sys::MouseEvent, _>(&button, "click", move |event| {
                event.stop_propagation();
                let handle = handle.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let url = format!("{API}/jobs/{id}/{}", action.verb());
                    if let Err(e) = net::post(&url).await {
                        let page = handle.borrow();
                        page.error.set_text_content(Some(&message(&e)));
                        page.error.set_hidden(false);
                    }
                    refresh(&handle, false);
                });
            });
            append(&actions, &button);
        }
        append(&row, &actions);

        let id = job.id;
        let handle = page.clone();
        dom::on::<web_sys::MouseEvent, _>(&row, "click", move |event| {
            let on_link = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|t| t.tag_name().eq_ignore_ascii_case("a"));
            if !on_link {
                show_history(&handle, id);
            }
        });
        append(&p.body, &row);
    }
}

/// Shows the history of job `id` below the table.
fn show_history(page: &Rc<RefCell<Page>>, id: i64) {
    let page = page.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result = net::get_json::<JobHistory>(&format!("{API}/jobs/{id}")).await;
        let p = page.borrow();
        dom::clear(&p.history);
        match result {
            Ok(h) => {
                let _ = p.history.set_attribute("data-job", &id.to_string());
                append(
                    &p.history,
                    &text_el(
                        "h2",
                        "",
                        &format!("{} — {}", tr("forward.history"), h.job.destination),
                    ),
                );
                let list = el("ol", "forward-events");
                for e in &h.events {
                    let item = el("li", "forward-event");
                    let _ = item.set_attribute("data-event", &e.event);
                    append(&item, &text_el("span", "muted", &local_time(e.at)));
                    append(
                        &item,
                        &text_el("span", "", &format!(" {}", tr(&event_key(&e.event)))),
                    );
                    if let Some(detail) = &e.detail {
                        append(
                            &item,
                            &text_el("span", "job-error", &format!(" — {detail}")),
                        );
                    }
                    append(&list, &item);
                }
                append(&p.history, &list);
            }
            Err(e) => append(&p.history, &text_el("div", "job-error", &message(&e))),
        }
        p.history.set_hidden(false);
    });
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A Unix time in milliseconds as local date and time, in the page's
/// language.
fn local_time(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    date.to_locale_string(lang().tag(), &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}
