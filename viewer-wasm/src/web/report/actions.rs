//! What the report panel's controls do: take the study for reading,
//! apply a template, issue the preliminary report, sign, add an addendum,
//! flag a critical finding, mark and show key images.

use serde_json::json;
use web_sys::HtmlElement;

use super::super::api;
use super::super::dialog::{self, Dialog, Field};
use super::super::dom::{self, append, el, text_el};
use super::super::text::{api_words, now_ms, tr, tr_with};
use super::{Panel, Shared, intent, reload, render, save, say, show_report};
use crate::api_error::ApiError;
use crate::report::{KeyImage, Report, merge_template};
use crate::url::encode_component;
use crate::worklist::Task;

/// Wires the panel's buttons and the template picker.
pub fn wire(panel: &Shared) {
    let d = {
        let p = panel.borrow();
        (
            p.dom.claim.clone(),
            p.dom.template.clone(),
            p.dom.preliminary.clone(),
            p.dom.sign.clone(),
            p.dom.addendum.clone(),
            p.dom.critical.clone(),
            p.dom.key_image.clone(),
        )
    };
    let (claim_b, template, preliminary, sign_b, addendum_b, critical_b, key_b) = d;
    on_click(panel, &claim_b, |p| async move { claim(&p, true).await });
    on_click(panel, &preliminary, |p| async move {
        preliminary_report(&p).await
    });
    on_click(panel, &sign_b, |p| async move { sign(&p).await });
    on_click(panel, &addendum_b, |p| async move { addendum(&p).await });
    on_click(panel, &critical_b, |p| async move { critical(&p).await });
    on_click(panel, &key_b, |p| async move { mark_key_image(&p).await });
    let p = panel.clone();
    let select = template.clone();
    dom::on::<web_sys::Event, _>(&template, "change", move |_| {
        let id = select.value();
        let _ = select.blur();
        let p = p.clone();
        wasm_bindgen_futures::spawn_local(async move { apply_template(&p, &id).await });
    });
}

/// Runs `action` on click, the button disabled meanwhile.
fn on_click<F, Fut>(panel: &Shared, button: &HtmlElement, action: F)
where
    F: Fn(Shared) -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let p = panel.clone();
    let b = button.clone();
    let action = std::rc::Rc::new(action);
    dom::on::<web_sys::MouseEvent, _>(button, "click", move |_| {
        if b.has_attribute("disabled") {
            return;
        }
        let _ = b.set_attribute("disabled", "");
        let (p, b, action) = (p.clone(), b.clone(), action.clone());
        wasm_bindgen_futures::spawn_local(async move {
            action(p).await;
            let _ = b.remove_attribute("disabled");
        });
    });
}

/// Takes (or renews) the study's lock; `asked` when the reader pressed
/// "Take for reading" rather than coming back to the study.
pub async fn claim(panel: &Shared, asked: bool) {
    let url = format!("{}/claim", panel.borrow().worklist_api());
    match api::call::<Task, ()>("POST", &url, None).await {
        Ok(task) => {
            intent::mark(&panel.borrow().study);
            save::renewed(panel, &task);
            let was_lost = {
                let mut p = panel.borrow_mut();
                let was = p.lock_lost;
                p.lock_lost = false;
                if was {
                    p.save.resume(now_ms() as f64);
                }
                was
            };
            say(panel, "");
            if asked || was_lost {
                reload(panel).await;
                save::restore_local(panel);
            }
        }
        Err(e @ ApiError::Conflict { holder: None, .. }) => {
            // Signed meanwhile (by a colleague): it takes addenda, no lock.
            intent::clear();
            reload(panel).await;
            if asked {
                say(panel, &api_words(&e));
            }
        }
        Err(ApiError::Conflict {
            message, holder, ..
        }) => {
            // Another reader has it: a reload must not try again unasked.
            intent::clear();
            panel.borrow_mut().lock_lost = true;
            let name = holder.unwrap_or(message);
            say(panel, &tr_with("worklist.being_read", &[("name", &name)]));
            render(panel);
        }
        Err(e) => say(panel, &api_words(&e)),
    }
}

/// Lists the templates in the picker.
pub fn fill_templates(panel: &Shared) {
    let p = panel.borrow();
    let select = &p.dom.template;
    dom::clear(select);
    let none = text_el("option", "", &tr("report.template_choose"));
    let _ = none.set_attribute("value", "");
    append(select, &none);
    for t in &p.templates {
        let option = text_el("option", "", &t.name);
        let _ = option.set_attribute("value", &t.id);
        append(select, &option);
    }
    select.set_value(p.template.as_deref().unwrap_or(""));
}

/// Fills the empty sections from template `id`; typed text is replaced
/// only if the reader agrees.
async fn apply_template(panel: &Shared, id: &str) {
    let Some(template) = panel
        .borrow()
        .templates
        .iter()
        .find(|t| t.id == id)
        .cloned()
    else {
        return;
    };
    if !panel.borrow().editable() {
        return;
    }
    let merge = merge_template(&panel.borrow().typed(), &template.sections);
    let sections = if merge.conflicts.is_empty() {
        merge.sections.clone()
    } else {
        let names: Vec<String> = merge.conflicts.iter().map(|k| tr(&k.label_key())).collect();
        let mut d = Dialog::new(
            tr("report.template_replace_title"),
            tr("report.template_replace"),
        );
        d.text = Some(tr_with(
            "report.template_replace_text",
            &[("sections", &names.join(", "))],
        ));
        d.ok_id = "report-template-replace";
        d.cancel_id = "report-template-keep";
        d.cancel_label = tr("report.template_keep");
        if dialog::confirm(d).await {
            merge.replacing(&template.sections)
        } else {
            merge.sections.clone()
        }
    };
    {
        let mut p = panel.borrow_mut();
        p.fill(&sections);
        p.template = Some(template.id.clone());
    }
    save::edited(panel);
}

/// Runs a report action that answers the report, and shows it.
async fn report_action(
    panel: &Shared,
    path: &str,
    body: Option<serde_json::Value>,
    replace_text: bool,
) -> bool {
    let url = format!("{}/{path}", panel.borrow().api());
    match api::call::<Report, _>("POST", &url, body.as_ref()).await {
        Ok(report) => {
            say(panel, "");
            show_report(panel, report, replace_text);
            true
        }
        Err(ApiError::SignedOut) => false,
        Err(e) => {
            say(panel, &api_words(&e));
            false
        }
    }
}

async fn preliminary_report(panel: &Shared) {
    if let Err(e) = save::flush(panel).await {
        say(panel, &api_words(&e));
        return;
    }
    report_action(panel, "report/preliminary", None, false).await;
}

/// Signs after a confirmation: signing makes the report final.
async fn sign(panel: &Shared) {
    let mut d = Dialog::new(tr("report.sign_title"), tr("report.sign_confirm"));
    d.text = Some(tr("report.sign_text"));
    d.ok_id = "report-sign-confirm";
    d.cancel_id = "report-sign-cancel";
    d.danger = true;
    if !dialog::confirm(d).await {
        return;
    }
    if let Err(e) = save::flush(panel).await {
        say(panel, &api_words(&e));
        return;
    }
    if report_action(panel, "report/sign", None, true).await {
        let study = panel.borrow().study.clone();
        intent::clear();
        if let Ok(Some(storage)) = dom::window().local_storage() {
            let _ = storage.remove_item(&format!("pacs.report-draft.{study}"));
        }
        say(panel, &tr("report.signed"));
    }
}

/// Asks for an addendum and sends it, saying which versions were in view.
/// When a colleague's addendum came in meanwhile, the archive refuses it:
/// theirs is shown, and the dialog comes back with the words typed.
async fn addendum(panel: &Shared) {
    let (mut reason, mut text, mut refusal) = (String::new(), String::new(), None);
    loop {
        let mut d = Dialog::new(tr("report.addendum_title"), tr("report.addendum_submit"));
        d.text = refusal.take();
        let mut reason_field = Field::line("report-addendum-reason", tr("report.addendum_reason"));
        reason_field.value = reason.clone();
        let mut text_field = Field::text("report-addendum-text", tr("report.addendum_text"));
        text_field.value = text.clone();
        d.fields.extend([reason_field, text_field]);
        d.ok_id = "report-addendum-submit";
        let Some(values) = dialog::ask(d).await else {
            return;
        };
        reason = values.first().cloned().unwrap_or_default();
        text = values.get(1).cloned().unwrap_or_default();
        let seen = panel
            .borrow()
            .report
            .as_ref()
            .and_then(|r| r.versions.iter().map(|v| v.version).max());
        let body = json!({ "reason": reason.trim(), "text": text.trim(), "after_version": seen });
        let url = format!("{}/report/addenda", panel.borrow().api());
        match api::call::<Report, _>("POST", &url, Some(&body)).await {
            Ok(report) => {
                say(panel, "");
                show_report(panel, report, true);
                return;
            }
            Err(ApiError::SignedOut) => return,
            Err(e @ ApiError::Conflict { .. }) => {
                reload(panel).await;
                refusal = Some(api_words(&e));
            }
            Err(e) => {
                say(panel, &api_words(&e));
                return;
            }
        }
    }
}

async fn critical(panel: &Shared) {
    let mut d = Dialog::new(tr("report.critical_title"), tr("report.critical_submit"));
    d.text = Some(tr("report.critical_text"));
    d.fields.push(Field::text(
        "report-critical-note",
        tr("report.critical_note"),
    ));
    d.ok_id = "report-critical-submit";
    d.danger = true;
    let Some(values) = dialog::ask(d).await else {
        return;
    };
    let note = values.first().cloned().unwrap_or_default();
    report_action(
        panel,
        "critical",
        Some(json!({ "note": note.trim() })),
        false,
    )
    .await;
}

/// Marks the image on screen in the active viewport.
async fn mark_key_image(panel: &Shared) {
    let current = (panel.borrow().images.current)();
    let key = match current {
        Ok(key) => key,
        Err(why) => {
            say(panel, &why);
            return;
        }
    };
    if panel
        .borrow()
        .report
        .as_ref()
        .is_some_and(|r| r.has_key_image(&key))
    {
        say(panel, &tr("report.key_image_already"));
        return;
    }
    let body = serde_json::to_value(&key).unwrap_or_default();
    report_action(panel, "key-images", Some(body), false).await;
}

async fn remove_key_image(panel: &Shared, key: KeyImage) {
    let url = format!(
        "{}/key-images/{}/{}",
        panel.borrow().api(),
        encode_component(&key.sop_uid),
        key.frame
    );
    match api::call::<Report, ()>("DELETE", &url, None).await {
        Ok(report) => show_report(panel, report, false),
        Err(ApiError::SignedOut) => {}
        Err(e) => say(panel, &api_words(&e)),
    }
}

/// Lists the key images: each shows its image on click.
pub fn render_key_images(p: &Panel, panel: &Shared) {
    let list = &p.dom.key_images;
    dom::clear(list);
    let keys = p
        .report
        .as_ref()
        .map(|r| r.key_images.clone())
        .unwrap_or_default();
    if keys.is_empty() {
        append(list, &text_el("li", "muted", &tr("report.key_images_none")));
        return;
    }
    let removable = p.editable();
    for (n, key) in keys.into_iter().enumerate() {
        let item = el("li", "report-key-image");
        dom::set_attrs(
            &item,
            &[
                ("data-sop-uid", &key.sop_uid),
                ("data-series-uid", &key.series_uid),
                ("data-frame", &key.frame.to_string()),
            ],
        );
        let show = text_el(
            "button",
            "link-button",
            &tr_with(
                "report.key_image_n",
                &[
                    ("n", &(n + 1).to_string()),
                    ("frame", &key.frame.to_string()),
                ],
            ),
        );
        dom::set_attrs(&show, &[("type", "button"), ("data-action", "jump")]);
        let jump = p.images.jump.clone();
        let k = key.clone();
        dom::on::<web_sys::MouseEvent, _>(&show, "click", move |_| jump(k.clone()));
        append(&item, &show);
        if removable {
            let remove = text_el("button", "", "✕");
            let label = tr("report.key_image_remove");
            dom::set_attrs(
                &remove,
                &[
                    ("type", "button"),
                    ("data-action", "remove"),
                    ("title", &label),
                    ("aria-label", &label),
                ],
            );
            let panel = panel.clone();
            dom::on::<web_sys::MouseEvent, _>(&remove, "click", move |_| {
                let (panel, key) = (panel.clone(), key.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    remove_key_image(&panel, key).await;
                });
            });
            append(&item, &remove);
        }
        append(list, &item);
    }
}
