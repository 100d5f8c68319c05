//! What a worklist row's controls do: open (claim, then the viewer; or
//! who reads it and a read-only way in; a signed study straight to the
//! viewer), view, assign, break the lock, change the priority.

use serde_json::json;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlSelectElement};

use super::{Shared, option, refresh};
use crate::api_error::ApiError;
use crate::route::{read_only_link, viewer_link};
use crate::url::encode_component;
use crate::web::api;
use crate::web::dialog::{self, Dialog, Field};
use crate::web::dom::{self, append, el, text_el};
use crate::web::report::intent;
use crate::web::text::{api_words, tr, tr_with};
use crate::worklist::{PRIORITIES, Task, TaskAction, priority_key};

/// The control of `action` in `task`'s row.
pub(super) fn control(page: &Shared, task: &Task, action: TaskAction) -> HtmlElement {
    let uid = task.study_uid.clone();
    match action {
        TaskAction::View => {
            let link = text_el("a", "button-link", &tr(action.label_key()));
            dom::set_attrs(
                &link,
                &[
                    ("href", &read_only_link(&uid)),
                    ("data-action", action.name()),
                ],
            );
            link
        }
        // A signed report is not read again, so its study is opened
        // without a lock, where the report panel takes addenda.
        TaskAction::Open if task.is_reported() => {
            let link = text_el("a", "button-link primary", &tr(action.label_key()));
            dom::set_attrs(
                &link,
                &[("href", &viewer_link(&uid)), ("data-action", action.name())],
            );
            link
        }
        TaskAction::Priority => {
            let select: HtmlSelectElement = el("select", "").unchecked_into();
            dom::set_attrs(
                &select,
                &[
                    ("data-action", action.name()),
                    ("aria-label", &tr(action.label_key())),
                    ("title", &tr(action.label_key())),
                ],
            );
            for p in PRIORITIES {
                option(&select, p, &tr(&priority_key(p)));
            }
            select.set_value(&task.priority);
            let page = page.clone();
            let control = select.clone();
            dom::on::<web_sys::Event, _>(&select, "change", move |event| {
                event.stop_propagation();
                let body = json!({ "priority": control.value() });
                let url = format!("/api/worklist/{}/priority", encode_component(&uid));
                act(&page, "PUT", url, Some(body));
                let _ = control.blur();
            });
            select.unchecked_into()
        }
        _ => {
            let button = text_el("button", "", &tr(action.label_key()));
            dom::set_attrs(
                &button,
                &[("type", "button"), ("data-action", action.name())],
            );
            if action == TaskAction::Open {
                button.set_class_name("primary");
            }
            let page = page.clone();
            let lock_name = task
                .lock
                .as_ref()
                .map(|l| (l.holder.clone(), l.shown_name().to_owned()));
            let control = button.clone();
            dom::on::<web_sys::MouseEvent, _>(&button, "click", move |_| {
                let (page, uid, lock_name, control) = (
                    page.clone(),
                    uid.clone(),
                    lock_name.clone(),
                    control.clone(),
                );
                wasm_bindgen_futures::spawn_local(async move {
                    match action {
                        TaskAction::Open => open(&page, &uid, lock_name, &control).await,
                        TaskAction::Assign => assign(&page, &uid).await,
                        TaskAction::BreakLock => {
                            break_lock(&page, &uid, lock_name.map(|l| l.1)).await
                        }
                        _ => {}
                    }
                });
            });
            button
        }
    }
}

/// Runs an action that answers the updated task, then refreshes.
fn act(page: &Shared, method: &'static str, url: String, body: Option<serde_json::Value>) {
    let page = page.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result = api::call::<serde_json::Value, _>(method, &url, body.as_ref()).await;
        report_failure(&page, result.err());
        refresh(&page, false);
    });
}

fn report_failure(page: &Shared, error: Option<ApiError>) {
    let p = page.borrow();
    match error {
        None | Some(ApiError::SignedOut) => p.error.set_hidden(true),
        Some(e) => {
            p.error.set_text_content(Some(&api_words(&e)));
            p.error.set_hidden(false);
        }
    }
}

/// Claims the study and opens it; if a colleague reads it, says so and
/// offers to open it read-only.
async fn open(page: &Shared, uid: &str, lock: Option<(String, String)>, button: &HtmlElement) {
    let _ = button.set_attribute("disabled", "");
    let url = format!("/api/worklist/{}/claim", encode_component(uid));
    let result = api::call::<Task, ()>("POST", &url, None).await;
    let _ = button.remove_attribute("disabled");
    match result {
        Ok(_) => {
            intent::mark(uid);
            let _ = dom::window().location().assign(&viewer_link(uid));
        }
        Err(ApiError::Conflict {
            message, holder, ..
        }) => {
            let name = match (&holder, &lock) {
                (Some(h), Some((lock_holder, name))) if h == lock_holder => name.clone(),
                (Some(h), _) => h.clone(),
                (None, Some((_, name))) => name.clone(),
                (None, None) => message,
            };
            let p = page.borrow();
            dom::clear(&p.notice);
            let _ = p.notice.set_attribute("data-notice-study", uid);
            append(
                &p.notice,
                &text_el(
                    "span",
                    "",
                    &tr_with("worklist.being_read", &[("name", &name)]),
                ),
            );
            let link = text_el("a", "button-link", &tr("worklist.open_read_only"));
            link.set_id("worklist-open-readonly");
            dom::set_attrs(
                &link,
                &[
                    ("href", &read_only_link(uid)),
                    ("data-action", "open-readonly"),
                ],
            );
            append(&p.notice, &link);
            p.notice.set_hidden(false);
            drop(p);
            refresh(page, false);
        }
        Err(e) => report_failure(page, Some(e)),
    }
}

async fn assign(page: &Shared, uid: &str) {
    let mut d = Dialog::new(tr("worklist.assign_title"), tr("worklist.assign"));
    d.fields.push(Field::line(
        "worklist-assign-username",
        tr("worklist.assign_username"),
    ));
    let Some(values) = dialog::ask(d).await else {
        return;
    };
    let username = values
        .first()
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let url = format!("/api/worklist/{}/assign", encode_component(uid));
    act(page, "POST", url, Some(json!({ "username": username })));
}

async fn break_lock(page: &Shared, uid: &str, holder: Option<String>) {
    let mut d = Dialog::new(tr("worklist.break_lock_title"), tr("worklist.break_lock"));
    d.text = Some(tr_with(
        "worklist.break_lock_text",
        &[("name", holder.as_deref().unwrap_or("—"))],
    ));
    d.danger = true;
    d.fields
        .push(Field::text("worklist-break-reason", tr("worklist.reason")));
    let Some(values) = dialog::ask(d).await else {
        return;
    };
    let reason = values
        .first()
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let url = format!("/api/worklist/{}/break-lock", encode_component(uid));
    act(page, "POST", url, Some(json!({ "reason": reason })));
}
