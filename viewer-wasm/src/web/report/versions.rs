//! A report's signed versions and addenda, in the order they were signed,
//! each with its signer and time: shown in the viewer's report panel and
//! on the referring doctor's report page alike.
//!
//! Attributes for tests: `article[data-version=N][data-kind=final|
//! addendum]`, the text of each section in `[data-section=KEY]`, an
//! addendum's reason in `.addendum-reason` and text in `.addendum-text`.

use web_sys::HtmlElement;

use super::super::dom::{append, el, text_el};
use super::super::text::{api_time, tr, tr_with};
use crate::report::{Report, SectionKey, Version};

/// The versions of `report` (empty element when none is signed).
pub fn render(report: &Report) -> HtmlElement {
    let list = el("div", "report-versions");
    for version in report.versions_in_order() {
        append(&list, &render_version(version));
    }
    list
}

fn render_version(v: &Version) -> HtmlElement {
    let article = el("article", "report-version");
    let _ = article.set_attribute("data-version", &v.version.to_string());
    let _ = article.set_attribute("data-kind", &v.kind);
    let n = v.version.to_string();
    let title = if v.is_addendum() {
        tr_with("report.version_addendum", &[("n", &n)])
    } else {
        tr_with("report.version_final", &[("n", &n)])
    };
    append(&article, &text_el("h3", "", &title));
    append(
        &article,
        &text_el(
            "div",
            "muted signer",
            &tr_with(
                "report.signed_by",
                &[
                    ("name", v.signer()),
                    ("time", &api_time(v.signed_at.as_deref())),
                ],
            ),
        ),
    );
    if let Some(sections) = &v.sections {
        for key in SectionKey::ALL {
            let text = sections.get(key).trim();
            if text.is_empty() {
                continue;
            }
            append(&article, &text_el("h4", "", &tr(&key.label_key())));
            let p = text_el("p", "report-text", text);
            let _ = p.set_attribute("data-section", key.name());
            append(&article, &p);
        }
    }
    if let Some(reason) = v.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        append(
            &article,
            &text_el(
                "p",
                "addendum-reason",
                &tr_with("report.addendum_reason_is", &[("reason", reason.trim())]),
            ),
        );
    }
    if let Some(text) = v.text.as_deref().filter(|t| !t.trim().is_empty()) {
        append(
            &article,
            &text_el("p", "report-text addendum-text", text.trim()),
        );
    }
    article
}
