//! The referring doctor's page (`/referrals`): their patients' studies,
//! newest first, with the report's status; a study opens its report
//! (`/referrals?study=UID`): the signed text with every addendum, a
//! critical finding to acknowledge, the key images, the PDF, and the
//! images themselves read-only.
//!
//! Ids and attributes for tests: `#referrals-rows` with one
//! `tr[data-study-uid=UID][data-status]` per study (a click opens it),
//! `#referrals-prev`, `#referrals-next`, `#referrals-range`; on a study:
//! `#referral-detail[data-study-uid]`, `#referral-back`,
//! `#referral-status[data-status]`, `#referral-report` (the signed
//! versions, see `report::versions`), `#referral-critical[data-open]` and
//! `#referral-acknowledge`, `#referral-key-images` with
//! `img[data-key-image=SOP/FRAME]`, `#referral-pdf`,
//! `#referral-view-images`; `#referrals-error`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use super::api;
use super::dom::{self, append, el, text_el};
use super::net::{self, DICOMWEB};
use super::report::versions;
use super::text::{api_time, api_words, lang, tr, tr_with};
use super::topbar::{self, Bar};
use crate::api_error::ApiError;
use crate::report::Report;
use crate::route::{read_only_link, referral_link};
use crate::session::{Me, NavPage};
use crate::studies::StudyRow;
use crate::url::encode_component;
use crate::worklist::{
    PAGE_SIZE, ReferralPage, Task, patient_name, range_words, status_key, study_date,
};

struct Page {
    content: HtmlElement,
    error: HtmlElement,
    offset: u32,
}

type Shared = Rc<RefCell<Page>>;

/// Builds the page into `app`: the list, or one study's report.
pub fn show(app: &HtmlElement, me: &Me, study: Option<String>) {
    dom::document().set_title(&tr("referrals.title"));
    app.set_class_name("page-referrals");
    topbar::build(
        app,
        me,
        Bar {
            title: Some(&tr("referrals.title")),
            current: Some(NavPage::Referrals),
            language: true,
        },
    );
    let error = el("div", "error-banner");
    error.set_id("referrals-error");
    error.set_hidden(true);
    let _ = error.set_attribute("role", "alert");
    append(app, &error);
    let content = el("div", "referrals-content");
    append(app, &content);
    let page = Rc::new(RefCell::new(Page {
        content,
        error,
        offset: 0,
    }));
    let p = page.clone();
    dom::on::<web_sys::Event, _>(&dom::window(), "popstate", move |_| {
        let search = dom::window().location().search().unwrap_or_default();
        let pairs = crate::url::parse_query(&search);
        let study = crate::url::query_value(&pairs, "study").map(str::to_owned);
        draw(&p, study);
    });
    draw(&page, study);
}

fn draw(page: &Shared, study: Option<String>) {
    {
        let p = page.borrow();
        dom::clear(&p.content);
        p.error.set_hidden(true);
    }
    match study {
        Some(study) => show_study(page, study),
        None => show_list(page),
    }
}

fn go(page: &Shared, study: Option<&str>) {
    let url = match study {
        Some(uid) => referral_link(uid),
        None => "/referrals".to_owned(),
    };
    if let Ok(history) = dom::window().history() {
        let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&url));
    }
    draw(page, study.map(str::to_owned));
}

fn fail(page: &Shared, e: &ApiError) {
    if matches!(e, ApiError::SignedOut) {
        return;
    }
    let p = page.borrow();
    p.error.set_text_content(Some(&api_words(e)));
    p.error.set_hidden(false);
    dom::set_root_data("state", "error");
}

fn show_list(page: &Shared) {
    let content = page.borrow().content.clone();
    let table = el("table", "studies referrals");
    let head = el("thead", "");
    let head_row = el("tr", "");
    for key in [
        "column.patient_name",
        "column.patient_id",
        "column.study_date",
        "worklist.column.study",
        "column.modality",
        "referrals.column.report",
    ] {
        append(&head_row, &text_el("th", "", &tr(key)));
    }
    append(&head, &head_row);
    append(&table, &head);
    let body = el("tbody", "");
    body.set_id("referrals-rows");
    append(&table, &body);
    append(&content, &table);
    let pager = el("nav", "pager");
    let prev = text_el("button", "", &tr("paging.previous"));
    prev.set_id("referrals-prev");
    let range = el("span", "pager-range");
    range.set_id("referrals-range");
    let next = text_el("button", "", &tr("paging.next"));
    next.set_id("referrals-next");
    append(&pager, &prev);
    append(&pager, &range);
    append(&pager, &next);
    append(&content, &pager);
    for (button, forward) in [(&prev, false), (&next, true)] {
        let _ = button.set_attribute("type", "button");
        let p = page.clone();
        dom::on::<web_sys::MouseEvent, _>(button, "click", move |_| {
            {
                let mut page = p.borrow_mut();
                page.offset = if forward {
                    page.offset + PAGE_SIZE
                } else {
                    page.offset.saturating_sub(PAGE_SIZE)
                };
            }
            draw(&p, None);
        });
    }

    let offset = page.borrow().offset;
    let page = page.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let url = format!("/api/referrals?limit={PAGE_SIZE}&offset={offset}");
        match api::get::<ReferralPage>(&url).await {
            Ok(list) => {
                for task in &list.studies {
                    append(&body, &list_row(&page, task));
                }
                range.set_text_content(Some(&range_words(
                    lang(),
                    offset,
                    list.studies.len(),
                    list.total,
                )));
                prev.set_hidden(offset == 0);
                next.set_hidden(u64::from(offset) + list.studies.len() as u64 >= list.total);
                dom::set_root_data("state", "ready");
            }
            Err(e) => fail(&page, &e),
        }
    });
}

fn list_row(page: &Shared, task: &Task) -> HtmlElement {
    let row = el("tr", "study-row");
    dom::set_attrs(
        &row,
        &[
            ("data-study-uid", &task.study_uid),
            ("data-status", &task.status),
        ],
    );
    let name = el("td", "patient-name");
    let link = text_el("a", "", &patient_name(task.patient_name.as_deref()));
    let _ = link.set_attribute("href", &referral_link(&task.study_uid));
    append(&name, &link);
    append(&row, &name);
    for (class, text) in [
        ("patient-id", task.patient_id.clone().unwrap_or_default()),
        ("study-date", study_date(task.study_date.as_deref())),
        (
            "description",
            task.study_description.clone().unwrap_or_default(),
        ),
        ("modality", task.modalities.join(", ")),
    ] {
        append(&row, &text_el("td", class, &text));
    }
    let status = el("td", "status");
    append(
        &status,
        &text_el("span", "", &tr(&status_key(&task.status))),
    );
    if task.critical_open() {
        let badge = text_el("span", "badge critical", &tr("worklist.critical"));
        let _ = badge.set_attribute("data-flag", "critical");
        append(&status, &badge);
    }
    append(&row, &status);
    let uid = task.study_uid.clone();
    let p = page.clone();
    dom::on::<web_sys::MouseEvent, _>(&row, "click", move |event| {
        event.prevent_default();
        go(&p, Some(&uid));
    });
    row
}

fn show_study(page: &Shared, study: String) {
    let content = page.borrow().content.clone();
    let detail = el("section", "referral-detail");
    detail.set_id("referral-detail");
    let _ = detail.set_attribute("data-study-uid", &study);
    let back = text_el("a", "back-link", &tr("referrals.back"));
    back.set_id("referral-back");
    let _ = back.set_attribute("href", "/referrals");
    let p = page.clone();
    dom::on::<web_sys::MouseEvent, _>(&back, "click", move |event| {
        event.prevent_default();
        go(&p, None);
    });
    append(&detail, &back);
    let heading = el("div", "referral-heading");
    append(&detail, &heading);
    let status = el("div", "referral-status");
    status.set_id("referral-status");
    append(&detail, &status);
    let critical = el("div", "referral-critical");
    critical.set_id("referral-critical");
    critical.set_hidden(true);
    append(&detail, &critical);
    let report_el = el("div", "referral-report");
    report_el.set_id("referral-report");
    append(&detail, &report_el);
    let keys = el("div", "referral-key-images");
    keys.set_id("referral-key-images");
    append(&detail, &keys);
    let links = el("div", "referral-links");
    let pdf = text_el("a", "button-link", &tr("report.pdf"));
    pdf.set_id("referral-pdf");
    dom::set_attrs(
        &pdf,
        &[
            (
                "href",
                &format!("/api/studies/{}/report.pdf", encode_component(&study)),
            ),
            ("target", "_blank"),
            ("rel", "noopener"),
        ],
    );
    pdf.set_hidden(true);
    append(&links, &pdf);
    let images = text_el("a", "button-link", &tr("referrals.view_images"));
    images.set_id("referral-view-images");
    let _ = images.set_attribute("href", &read_only_link(&study));
    append(&links, &images);
    append(&detail, &links);
    append(&content, &detail);

    let page = page.clone();
    let parts = Parts {
        heading,
        status,
        critical,
        report: report_el,
        keys,
        pdf,
    };
    wasm_bindgen_futures::spawn_local(async move {
        fill_heading(&parts.heading, &study).await;
        let url = format!("/api/studies/{}/report", encode_component(&study));
        match api::get::<Report>(&url).await {
            Ok(report) => {
                fill_report(&page, &parts, &study, &report);
                dom::set_root_data("state", "ready");
            }
            Err(ApiError::Status { status: 404, .. }) => {
                parts
                    .report
                    .set_text_content(Some(&tr("referrals.not_ready")));
                dom::set_root_data("state", "ready");
            }
            Err(e) => fail(&page, &e),
        }
    });
}

struct Parts {
    heading: HtmlElement,
    status: HtmlElement,
    critical: HtmlElement,
    report: HtmlElement,
    keys: HtmlElement,
    pdf: HtmlElement,
}

/// The patient and study, from the archive's own search.
async fn fill_heading(heading: &HtmlElement, study: &str) {
    let url = format!(
        "{DICOMWEB}/studies?StudyInstanceUID={}&includefield=all",
        encode_component(study)
    );
    let Ok(found) = net::get_attributes(&url).await else {
        return;
    };
    let Some(row) = found.first().and_then(StudyRow::from_attributes) else {
        return;
    };
    append(
        heading,
        &text_el(
            "h2",
            "patient-name",
            if row.patient_name.is_empty() {
                "—"
            } else {
                &row.patient_name
            },
        ),
    );
    let line = [
        row.patient_id,
        row.study_date,
        row.modalities,
        row.description,
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    append(heading, &text_el("div", "muted", &line));
}

fn fill_report(page: &Shared, parts: &Parts, study: &str, report: &Report) {
    let _ = parts.status.set_attribute("data-status", &report.status);
    parts.status.set_text_content(Some(&tr_with(
        "referrals.report_status",
        &[("status", &tr(&status_key(&report.status)))],
    )));
    dom::clear(&parts.report);
    if report.versions.is_empty() {
        parts
            .report
            .set_text_content(Some(&tr("referrals.not_ready")));
    } else {
        append(&parts.report, &versions::render(report));
        parts.pdf.set_hidden(false);
    }
    fill_critical(page, parts, study, report);
    dom::clear(&parts.keys);
    if !report.key_images.is_empty() {
        append(&parts.keys, &text_el("h3", "", &tr("report.key_images")));
        let strip = el("div", "key-image-strip");
        for key in &report.key_images {
            let link = el("a", "key-image");
            let _ = link.set_attribute(
                "href",
                &format!(
                    "{}&series={}",
                    read_only_link(study),
                    encode_component(&key.series_uid)
                ),
            );
            let img: web_sys::HtmlImageElement = el("img", "").unchecked_into();
            img.set_src(&format!(
                "/api/studies/{}/key-images/{}/{}.png",
                encode_component(study),
                encode_component(&key.sop_uid),
                key.frame
            ));
            img.set_alt(&tr("report.key_images"));
            let _ = img.set_attribute("data-key-image", &format!("{}/{}", key.sop_uid, key.frame));
            let _ = img.set_attribute("loading", "lazy");
            append(&link, &img);
            append(&strip, &link);
        }
        append(&parts.keys, &strip);
    }
}

fn fill_critical(page: &Shared, parts: &Parts, study: &str, report: &Report) {
    let box_el = &parts.critical;
    dom::clear(box_el);
    let Some(c) = &report.critical else {
        box_el.set_hidden(true);
        return;
    };
    let _ = box_el.set_attribute("data-open", if c.is_open() { "true" } else { "false" });
    append(box_el, &text_el("strong", "", &tr("report.critical")));
    append(box_el, &text_el("p", "critical-note", &c.note));
    append(
        box_el,
        &text_el(
            "div",
            "muted",
            &tr_with(
                "critical.flagged",
                &[
                    ("who", c.flagged_by.as_deref().unwrap_or("")),
                    ("time", &api_time(c.flagged_at.as_deref())),
                ],
            ),
        ),
    );
    if !c.is_open() {
        append(
            box_el,
            &text_el(
                "div",
                "muted",
                &tr_with(
                    "report.critical_acknowledged",
                    &[
                        ("who", c.acknowledged_by.as_deref().unwrap_or("")),
                        ("time", &api_time(c.acknowledged_at.as_deref())),
                    ],
                ),
            ),
        );
    } else if report.can_acknowledge {
        let ack = text_el("button", "danger", &tr("critical.acknowledge"));
        ack.set_id("referral-acknowledge");
        dom::set_attrs(&ack, &[("type", "button"), ("data-action", "acknowledge")]);
        let (page, study, note) = (page.clone(), study.to_owned(), c.note.clone());
        let button = ack.clone();
        dom::on::<web_sys::MouseEvent, _>(&ack, "click", move |_| {
            let _ = button.set_attribute("disabled", "");
            let (page, study, button, note) =
                (page.clone(), study.clone(), button.clone(), note.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let url = format!(
                    "/api/studies/{}/critical/acknowledge",
                    encode_component(&study)
                );
                // The note as shown: one flagged again meanwhile is refused,
                // not acknowledged unread.
                let body = serde_json::json!({ "note": note });
                match api::call::<Report, _>("POST", &url, Some(&body)).await {
                    Ok(_) => {
                        topbar::refresh_banner();
                        draw(&page, Some(study));
                    }
                    Err(e @ ApiError::Conflict { .. }) => {
                        // Shown again as it now stands, with why.
                        draw(&page, Some(study));
                        fail(&page, &e);
                    }
                    Err(e) => {
                        let _ = button.remove_attribute("disabled");
                        fail(&page, &e);
                    }
                }
            });
        });
        append(box_el, &ack);
    }
    box_el.set_hidden(false);
}
