//! The report panel beside the viewer's images: for the radiologist who
//! holds the study, the report being written (template, five sections,
//! autosave, preliminary, sign, addenda, critical finding, key images);
//! for everyone else who may see it, the same read-only. It collapses to
//! a narrow strip so the images keep room on a laptop screen.
//!
//! Ids and attributes for tests: `#report-panel[data-collapsed]`,
//! `#report-toggle`, `#report-status[data-status]`, `#report-notice`,
//! `#report-claim`, `#report-template`, `#report-section-<key>` (key:
//! `clinical_information`, `technique`, `comparison`, `findings`,
//! `impression`), `#report-save-state[data-state=saved|dirty|saving|
//! failed]`, `#report-preliminary`, `#report-sign` then
//! `#report-sign-confirm` (or `#report-sign-cancel`), `#report-addendum`
//! then `#report-addendum-reason`, `#report-addendum-text`,
//! `#report-addendum-submit`, `#report-critical` then
//! `#report-critical-note`, `#report-critical-submit`,
//! `#report-critical-status`, `#report-key-image`, `#report-key-images`
//! with `li[data-sop-uid][data-frame]` (its `button[data-action=jump]`
//! shows the image, `[data-action=remove]` unmarks it), `#report-versions`
//! (see `versions`), `#report-pdf`; a template that would replace typed
//! text asks first: `#report-template-replace` / `#report-template-keep`.

mod actions;
mod build;
pub mod intent;
mod save;
pub mod versions;

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::HtmlElement;

use self::build::PanelDom;
use super::api;
use super::dom::{self, append, text_el};
use super::text::{api_words, tr, tr_with};
use crate::api_error::ApiError;
use crate::autosave::{Autosave, SaveState};
use crate::report::{KeyImage, Report, Sections, Template};
use crate::session::Me;
use crate::url::encode_component;
use crate::worklist::status_key;

/// Where the panel was last left open or collapsed.
const COLLAPSED_KEY: &str = "pacs.report-collapsed";

/// How the panel reaches the viewer's images.
pub struct ImageLink {
    /// The image on screen in the active viewport, or why there is none
    /// to mark (a reformat, a prior study).
    pub current: Box<dyn Fn() -> Result<KeyImage, String>>,
    /// Shows a key image.
    pub jump: Rc<dyn Fn(KeyImage)>,
}

/// The panel's state.
pub struct Panel {
    pub study: String,
    pub me: Me,
    /// Opened to look only (`readonly=1`).
    pub read_only_view: bool,
    pub report: Option<Report>,
    pub templates: Vec<Template>,
    /// The template the draft was started from.
    pub template: Option<String>,
    pub save: Autosave,
    /// The lock was taken away (or could not be had): editing stopped.
    pub lock_lost: bool,
    /// How often the lock is renewed while held, and when it last was
    /// (`performance.now()` milliseconds).
    pub renew_every_ms: f64,
    pub renewed_at: f64,
    pub dom: PanelDom,
    pub images: ImageLink,
}

pub type Shared = Rc<RefCell<Panel>>;

impl Panel {
    /// Whether the text areas take typing now.
    pub fn editable(&self) -> bool {
        !self.read_only_view
            && !self.lock_lost
            && self
                .report
                .as_ref()
                .is_some_and(|r| r.can_edit && !r.is_final())
    }

    /// The text in the text areas.
    pub fn typed(&self) -> Sections {
        let mut sections = Sections::default();
        for (key, area) in &self.dom.areas {
            sections.set(*key, area.value());
        }
        sections
    }

    /// Puts `sections` into the text areas.
    pub fn fill(&self, sections: &Sections) {
        for (key, area) in &self.dom.areas {
            let text = sections.get(*key);
            if area.value() != text {
                area.set_value(text);
            }
        }
    }

    /// The study's API root.
    pub fn api(&self) -> String {
        format!("/api/studies/{}", encode_component(&self.study))
    }

    /// The worklist API root of the study.
    pub fn worklist_api(&self) -> String {
        format!("/api/worklist/{}", encode_component(&self.study))
    }
}

/// Builds the panel into `parent` and loads the study's report.
pub fn attach(parent: &HtmlElement, me: &Me, study: &str, read_only: bool, images: ImageLink) {
    let collapsed = match dom::stored(COLLAPSED_KEY).as_deref() {
        Some("1") => true,
        Some("0") => false,
        // An archive without accounts has nobody writing reports: the
        // images get the room.
        _ => me.open,
    };
    let panel_dom = build::build(parent, collapsed);
    let panel = Rc::new(RefCell::new(Panel {
        study: study.to_owned(),
        me: me.clone(),
        read_only_view: read_only || !me.reads_studies(),
        report: None,
        templates: Vec::new(),
        template: None,
        save: Autosave::new(),
        lock_lost: false,
        renew_every_ms: crate::worklist::RENEW_EVERY_MS,
        renewed_at: dom::now_ms(),
        dom: panel_dom,
        images,
    }));
    let toggle = panel.borrow().dom.toggle.clone();
    let p = panel.clone();
    dom::on::<web_sys::MouseEvent, _>(&toggle, "click", move |_| {
        let d = &p.borrow().dom;
        let collapsed = d.root.get_attribute("data-collapsed").as_deref() != Some("true");
        set_collapsed(d, collapsed);
        dom::store(COLLAPSED_KEY, if collapsed { "1" } else { "0" });
    });
    actions::wire(&panel);
    save::wire(&panel);
    let p = panel.clone();
    wasm_bindgen_futures::spawn_local(async move { load(&p).await });
}

fn set_collapsed(d: &PanelDom, collapsed: bool) {
    let _ = d
        .root
        .set_attribute("data-collapsed", if collapsed { "true" } else { "false" });
    let _ = d
        .toggle
        .set_attribute("aria-expanded", if collapsed { "false" } else { "true" });
}

/// Takes the study for reading when this tab was reading it, then loads
/// the report and the templates.
async fn load(panel: &Shared) {
    let (reads, study, read_only) = {
        let p = panel.borrow();
        (p.me.reads_studies(), p.study.clone(), p.read_only_view)
    };
    if reads && !read_only && intent::is_reading(&study) {
        actions::claim(panel, false).await;
    }
    reload(panel).await;
    if reads && !read_only {
        let url = format!("/api/templates?lang={}", super::text::lang().tag());
        if let Ok(templates) = api::get::<Vec<Template>>(&url).await {
            panel.borrow_mut().templates = templates;
            actions::fill_templates(panel);
        }
    }
}

/// Asks for the report again and shows it; what is typed and not yet
/// saved stays in the text areas.
pub async fn reload(panel: &Shared) {
    let url = format!("{}/report", panel.borrow().api());
    match api::get::<Report>(&url).await {
        Ok(report) => {
            let first = panel.borrow().report.is_none();
            show_report(panel, report, first);
            if first {
                save::restore_local(panel);
            }
        }
        Err(ApiError::Status { status: 404, .. }) => {
            say(panel, &tr("report.none"));
            render(panel);
        }
        Err(ApiError::SignedOut) => {}
        Err(e) => {
            say(panel, &api_words(&e));
            render(panel);
        }
    }
}

/// Takes `report` as the server's latest word. The text areas take its
/// text when `replace_text` (first load, signing) or when nothing typed is
/// waiting to be saved.
pub fn show_report(panel: &Shared, report: Report, replace_text: bool) {
    {
        let mut p = panel.borrow_mut();
        // Typed text stays on screen while the server lacks it, even when
        // it can no longer be saved (the lock was lost): the reader copies
        // it rather than loses it.
        let keep_typed = !replace_text && (p.save.state() != SaveState::Saved || p.editable());
        if !keep_typed {
            p.fill(&report.shown_sections());
        }
        if p.template.is_none() {
            p.template = report.draft.as_ref().and_then(|d| d.template.clone());
        }
        if report.is_final() {
            p.save.stop();
        }
        p.report = Some(report);
    }
    render(panel);
}

/// Shows `message` in the panel's notice line.
pub fn say(panel: &Shared, message: &str) {
    let p = panel.borrow();
    p.dom.notice.set_text_content(Some(message));
    p.dom.notice.set_hidden(message.is_empty());
}

/// Brings every element in line with the state.
pub fn render(panel: &Shared) {
    let p = panel.borrow();
    let d = &p.dom;
    let report = p.report.as_ref();
    let editable = p.editable();
    let acting = !p.read_only_view && !p.lock_lost;
    let status = report.map(|r| r.status.as_str()).unwrap_or("");
    let _ = d.status.set_attribute("data-status", status);
    d.status.set_text_content(Some(&if status.is_empty() {
        String::new()
    } else {
        tr(&status_key(status))
    }));
    for (_, area) in &d.areas {
        area.set_read_only(!editable);
    }
    let claimable =
        !p.read_only_view && report.is_some_and(|r| !r.is_final() && (!r.can_edit || p.lock_lost));
    d.claim.set_hidden(!claimable);
    d.template_row.set_hidden(!editable);
    d.preliminary.set_hidden(!editable);
    d.sign
        .set_hidden(!(acting && report.is_some_and(|r| r.can_sign && !r.is_final())));
    d.addendum
        .set_hidden(!(acting && report.is_some_and(|r| r.can_amend)));
    let may_flag = acting
        && p.me.reads_studies()
        && report.is_some_and(|r| r.can_edit || r.can_sign || r.can_amend);
    d.critical.set_hidden(!may_flag);
    d.key_image
        .set_hidden(!(editable || acting && report.is_some_and(|r| r.can_amend)));
    render_critical(&p);
    actions::render_key_images(&p, panel);
    dom::clear(&d.versions);
    if let Some(r) = report.filter(|r| !r.versions.is_empty()) {
        append(&d.versions, &text_el("h3", "", &tr("report.history")));
        append(&d.versions, &versions::render(r));
        let _ = d
            .pdf
            .set_attribute("href", &format!("{}/report.pdf", p.api()));
        d.pdf.set_hidden(false);
    } else {
        d.pdf.set_hidden(true);
    }
    save::render_state(&p);
}

fn render_critical(p: &Panel) {
    let d = &p.dom;
    match p.report.as_ref().and_then(|r| r.critical.as_ref()) {
        Some(c) => {
            let when = super::text::api_time(c.flagged_at.as_deref());
            let who = c.flagged_by.as_deref().unwrap_or("");
            let state = if c.is_open() {
                tr("report.critical_open")
            } else {
                tr_with(
                    "report.critical_acknowledged",
                    &[
                        ("who", c.acknowledged_by.as_deref().unwrap_or("")),
                        ("time", &super::text::api_time(c.acknowledged_at.as_deref())),
                    ],
                )
            };
            d.critical_status.set_text_content(Some(&format!(
                "{} — {} ({})",
                c.note,
                tr_with("critical.flagged", &[("who", who), ("time", &when)]),
                state
            )));
            let _ = d
                .critical_status
                .set_attribute("data-open", if c.is_open() { "true" } else { "false" });
            d.critical_status.set_hidden(false);
        }
        None => d.critical_status.set_hidden(true),
    }
}
