//! The report panel's elements. Only construction lives here; `mod.rs`
//! shows the report in them and `actions` wires what they do.

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlSelectElement, HtmlTextAreaElement};

use super::super::dom::{self, append, el, text_el};
use super::super::text::tr;
use crate::report::SectionKey;

/// Everything the panel updates after construction.
pub struct PanelDom {
    pub root: HtmlElement,
    pub toggle: HtmlElement,
    pub status: HtmlElement,
    pub notice: HtmlElement,
    pub claim: HtmlElement,
    pub template_row: HtmlElement,
    pub template: HtmlSelectElement,
    pub areas: Vec<(SectionKey, HtmlTextAreaElement)>,
    pub save_state: HtmlElement,
    pub preliminary: HtmlElement,
    pub sign: HtmlElement,
    pub addendum: HtmlElement,
    pub critical: HtmlElement,
    pub critical_status: HtmlElement,
    pub key_image: HtmlElement,
    pub key_images: HtmlElement,
    pub versions: HtmlElement,
    pub pdf: HtmlElement,
}

fn button(id: &str, key: &str, class: &str) -> HtmlElement {
    let b = text_el("button", class, &tr(key));
    b.set_id(id);
    let _ = b.set_attribute("type", "button");
    b.set_hidden(true);
    b
}

/// Builds the panel into `parent` (beside the images).
pub fn build(parent: &HtmlElement, collapsed: bool) -> PanelDom {
    let root = el("aside", "report-panel");
    root.set_id("report-panel");
    let _ = root.set_attribute("aria-label", &tr("report.title"));
    let _ = root.set_attribute("data-collapsed", if collapsed { "true" } else { "false" });

    let head = el("div", "report-head");
    let toggle = el("button", "report-toggle");
    toggle.set_id("report-toggle");
    dom::set_attrs(
        &toggle,
        &[
            ("type", "button"),
            ("aria-controls", "report-body"),
            ("aria-expanded", if collapsed { "false" } else { "true" }),
            ("title", &tr("report.toggle")),
        ],
    );
    append(
        &toggle,
        &text_el("span", "report-toggle-label", &tr("report.title")),
    );
    append(&head, &toggle);
    let status = el("span", "report-status");
    status.set_id("report-status");
    append(&head, &status);
    append(&root, &head);

    let body = el("div", "report-body");
    body.set_id("report-body");
    let notice = el("div", "report-notice");
    notice.set_id("report-notice");
    notice.set_hidden(true);
    let _ = notice.set_attribute("role", "status");
    append(&body, &notice);
    let claim = button("report-claim", "report.claim", "primary");
    append(&body, &claim);

    let template_row = el("label", "field report-template");
    append(
        &template_row,
        &text_el("span", "field-label", &tr("report.template")),
    );
    let template: HtmlSelectElement = el("select", "").unchecked_into();
    template.set_id("report-template");
    append(&template_row, &template);
    template_row.set_hidden(true);
    append(&body, &template_row);

    let mut areas = Vec::new();
    for key in SectionKey::ALL {
        let label = el("label", "field report-section");
        append(
            &label,
            &text_el("span", "field-label", &tr(&key.label_key())),
        );
        let area: HtmlTextAreaElement = el("textarea", "").unchecked_into();
        area.set_id(&format!("report-section-{}", key.name()));
        let _ = area.set_attribute("data-section", key.name());
        area.set_rows(if key == SectionKey::Findings { 8 } else { 3 });
        area.set_read_only(true);
        let _ = area.set_attribute("spellcheck", "true");
        append(&label, &area);
        append(&body, &label);
        areas.push((key, area));
    }
    let critical_status = el("div", "report-critical-status");
    critical_status.set_id("report-critical-status");
    critical_status.set_hidden(true);
    append(&body, &critical_status);

    let key_head = el("div", "report-key-head");
    append(&key_head, &text_el("h3", "", &tr("report.key_images")));
    let key_image = button("report-key-image", "report.mark_key_image", "");
    append(&key_head, &key_image);
    append(&body, &key_head);
    let key_images = el("ul", "report-key-images");
    key_images.set_id("report-key-images");
    append(&body, &key_images);

    let versions = el("section", "report-history");
    versions.set_id("report-versions");
    append(&body, &versions);
    let pdf = text_el("a", "button-link", &tr("report.pdf"));
    pdf.set_id("report-pdf");
    dom::set_attrs(&pdf, &[("target", "_blank"), ("rel", "noopener")]);
    pdf.set_hidden(true);
    append(&body, &pdf);
    append(&root, &body);

    // Below the scrolling sections, always in view: whether the text is
    // safe, and what to do with it.
    let foot = el("div", "report-foot");
    let save_state = el("div", "report-save-state");
    save_state.set_id("report-save-state");
    let _ = save_state.set_attribute("data-state", "saved");
    let _ = save_state.set_attribute("aria-live", "polite");
    append(&foot, &save_state);
    let actions = el("div", "report-actions");
    let preliminary = button("report-preliminary", "report.preliminary", "");
    let sign = button("report-sign", "report.sign", "primary");
    let addendum = button("report-addendum", "report.addendum", "");
    let critical = button("report-critical", "report.critical", "danger");
    for b in [&preliminary, &sign, &addendum, &critical] {
        append(&actions, b);
    }
    append(&foot, &actions);
    append(&root, &foot);
    append(parent, &root);

    PanelDom {
        root,
        toggle,
        status,
        notice,
        claim,
        template_row,
        template,
        areas,
        save_state,
        preliminary,
        sign,
        addendum,
        critical,
        critical_status,
        key_image,
        key_images,
        versions,
        pdf,
    }
}
