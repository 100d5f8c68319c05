//! Keeping the draft safe: typing is saved about a second after it stops
//! (see [`crate::autosave`]), retried with growing pauses when the network
//! fails, sent with `keepalive` when the tab is hidden or left, and kept
//! in `localStorage` until the server confirms it, so a crash or a lost
//! session loses nothing. Also the lock's heartbeat while the study is
//! held, which tells the server how long the page has gone unused (it
//! gives the study back to the worklist past its limit), and giving the
//! lock back on leaving.

use std::cell::Cell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use super::super::api;
use super::super::dom;
use super::super::text::{clock, lang, now_ms, tr, tr_with};
use super::{Shared, intent, say, show_report};
use crate::api_error::ApiError;
use crate::autosave::SaveState;
use crate::report::{CopyBase, DraftBody, LocalCopy, Report};
use crate::worklist::Task;

/// How often the autosave looks whether a save is due.
const TICK_MS: i32 = 250;
/// How often the heartbeat looks whether the lock is due for renewal.
const HEARTBEAT_MS: i32 = 5_000;

thread_local! {
    /// When someone last used this page (pointer, keys, wheel, touch), in
    /// `performance.now()` milliseconds.
    static LAST_USED: Cell<f64> = const { Cell::new(0.0) };
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Notes every use of the page, in the capture phase so that no handler
/// that stops an event hides it.
fn watch_use() {
    LAST_USED.with(|t| t.set(dom::now_ms()));
    if WATCHING.with(|w| w.replace(true)) {
        return;
    }
    let used = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
        // A pointer crossing a window in the background is nobody's use.
        if event.type_() == "pointermove" && !dom::document().has_focus().unwrap_or(true) {
            return;
        }
        LAST_USED.with(|t| t.set(dom::now_ms()));
    });
    let window = dom::window();
    for event in [
        "pointerdown",
        "pointermove",
        "keydown",
        "wheel",
        "touchstart",
        "input",
    ] {
        let _ = window.add_event_listener_with_callback_and_bool(
            event,
            used.as_ref().unchecked_ref(),
            true,
        );
    }
    // Listens for the page's lifetime.
    used.forget();
}

/// How long the page has gone unused, in whole seconds.
fn idle_seconds() -> f64 {
    let last = LAST_USED.with(Cell::get);
    ((dom::now_ms() - last) / 1000.0).max(0.0).floor()
}

fn local_key(study: &str) -> String {
    format!("pacs.report-draft.{study}")
}

fn keep_local(p: &super::Panel) {
    let copy = LocalCopy {
        template: p.template.clone(),
        sections: p.typed(),
        // The last draft the server confirmed, to this page or another.
        base: Some(CopyBase {
            updated_at: p
                .report
                .as_ref()
                .and_then(|r| r.draft.as_ref())
                .and_then(|d| d.updated_at.clone()),
        }),
    };
    if let Ok(text) = serde_json::to_string(&copy) {
        dom::store(&local_key(&p.study), &text);
    }
}

fn forget_local(study: &str) {
    if let Ok(Some(storage)) = dom::window().local_storage() {
        let _ = storage.remove_item(&local_key(study));
    }
}

/// Listens to typing and to the page being hidden or left, and starts
/// the autosave and heartbeat timers.
pub fn wire(panel: &Shared) {
    let areas: Vec<_> = panel
        .borrow()
        .dom
        .areas
        .iter()
        .map(|(_, a)| a.clone())
        .collect();
    for area in areas {
        let p = panel.clone();
        dom::on::<web_sys::Event, _>(&area, "input", move |_| edited(&p));
    }
    let p = panel.clone();
    dom::on::<web_sys::Event, _>(&dom::document(), "visibilitychange", move |_| {
        if dom::document().hidden() {
            send_on_leave(&p, false);
        }
    });
    let p = panel.clone();
    dom::on::<web_sys::Event, _>(&dom::window(), "pagehide", move |_| send_on_leave(&p, true));
    tick(panel.clone());
    watch_use();
    let p = panel.clone();
    dom::set_timeout(HEARTBEAT_MS, move || heartbeat(p));
}

/// Text was typed (or put in by a template).
pub fn edited(panel: &Shared) {
    let mut p = panel.borrow_mut();
    if !p.editable() {
        return;
    }
    p.save.edited(now_ms() as f64);
    keep_local(&p);
    render_state(&p);
}

fn tick(panel: Shared) {
    let due = {
        let p = panel.borrow();
        p.editable() && p.save.should_save(now_ms() as f64)
    };
    if due {
        let p = panel.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = save_now(&p).await;
        });
    }
    dom::set_timeout(TICK_MS, move || tick(panel));
}

/// Sends the draft now; the answer updates the autosave state.
pub async fn save_now(panel: &Shared) -> Result<(), ApiError> {
    let (url, body) = {
        let mut p = panel.borrow_mut();
        if !p.editable() {
            return Ok(());
        }
        p.save.started();
        render_state(&p);
        (format!("{}/report/draft", p.api()), draft_body(&p))
    };
    let result = api::call::<Report, _>("PUT", &url, Some(&body)).await;
    let now = now_ms() as f64;
    match result {
        Ok(report) => {
            {
                let mut p = panel.borrow_mut();
                p.save.succeeded();
                if !p.save.has_unsaved() {
                    forget_local(&p.study);
                }
            }
            show_report(panel, report, false);
            Ok(())
        }
        Err(e) => {
            match &e {
                ApiError::Conflict { .. } => {
                    {
                        let mut p = panel.borrow_mut();
                        p.save.stop();
                        p.lock_lost = true;
                    }
                    intent::clear();
                    say(panel, &tr("report.lock_lost"));
                    super::render(panel);
                }
                e if e.is_transient() || matches!(e, ApiError::SignedOut) => {
                    panel.borrow_mut().save.failed(now);
                }
                other => {
                    panel.borrow_mut().save.stop();
                    say(panel, &other.words(lang()));
                }
            }
            render_state(&panel.borrow());
            Err(e)
        }
    }
}

fn draft_body(p: &super::Panel) -> DraftBody {
    DraftBody {
        template: p.template.clone(),
        language: lang().tag().to_owned(),
        sections: p.typed(),
    }
}

/// Waits for a save on its way, then saves what is still unsaved: what
/// signing and the preliminary report need first.
pub async fn flush(panel: &Shared) -> Result<(), ApiError> {
    for _ in 0..200 {
        if panel.borrow().save.state() != SaveState::Saving {
            break;
        }
        dom::sleep(50).await;
    }
    if panel.borrow().save.has_unsaved() {
        save_now(panel).await
    } else {
        Ok(())
    }
}

/// On hiding or leaving the page: the unsaved draft goes out with
/// `keepalive`; on leaving, the lock is given back too (unless a draft is
/// on its way, which needs the lock: the lock then lapses by itself).
fn send_on_leave(panel: &Shared, leaving: bool) {
    let p = panel.borrow();
    if !p.editable() {
        return;
    }
    let pending = p.save.has_unsaved() || p.save.state() == SaveState::Saving;
    if pending {
        let url = format!("{}/report/draft", p.api());
        api::send_keepalive("PUT", &url, Some(&draft_body(&p)));
    }
    if leaving {
        if !pending {
            let url = format!("{}/release", p.worklist_api());
            api::send_keepalive::<()>("POST", &url, None);
        }
        // A reload, or a step back to the study, takes it again.
        intent::mark(&p.study);
    }
}

/// The lock was taken or renewed, as `task` now stands.
pub fn renewed(panel: &Shared, task: &Task) {
    let mut p = panel.borrow_mut();
    p.renewed_at = dom::now_ms();
    if let Some(lock) = &task.lock {
        p.renew_every_ms = lock.renew_every_ms();
    }
}

/// Renews the lock while the study is held, five times per lease.
fn heartbeat(panel: Shared) {
    let due = {
        let p = panel.borrow();
        p.editable() && dom::now_ms() - p.renewed_at >= p.renew_every_ms
    };
    let p = panel.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if due {
            let url = format!("{}/renew", p.borrow().worklist_api());
            let body = serde_json::json!({ "idle_seconds": idle_seconds() });
            let answer = api::call::<Task, _>("POST", &url, Some(&body)).await;
            // A failed renewal is tried again at the next: the lock lasts
            // five of them. Only a refusal means it is gone.
            p.borrow_mut().renewed_at = dom::now_ms();
            if let Ok(task) = &answer {
                renewed(&p, task);
            }
            if let Err(ApiError::Conflict { reason, .. }) = answer {
                {
                    let mut panel = p.borrow_mut();
                    panel.save.stop();
                    panel.lock_lost = true;
                }
                // Gone (lapsed, broken, or given back for want of use): a
                // reload must not take it back unasked.
                intent::clear();
                let words = if reason.as_deref() == Some("idle") {
                    "report.lock_idle"
                } else {
                    "report.lock_lost"
                };
                say(&p, &tr(words));
                super::reload(&p).await;
            }
        }
        dom::set_timeout(HEARTBEAT_MS, move || heartbeat(p));
    });
}

/// Puts the browser's copy of unsaved text back, when the draft is
/// editable and the copy differs from what the server has.
pub fn restore_local(panel: &Shared) {
    let (study, final_, editable, typed) = {
        let p = panel.borrow();
        (
            p.study.clone(),
            p.report.as_ref().is_some_and(|r| r.is_final()),
            p.editable(),
            p.typed(),
        )
    };
    let Some(text) = dom::stored(&local_key(&study)) else {
        return;
    };
    let Ok(copy) = serde_json::from_str::<LocalCopy>(&text) else {
        forget_local(&study);
        return;
    };
    if final_ || copy.sections == typed {
        forget_local(&study);
        return;
    }
    if !editable {
        return;
    }
    let newer_author = {
        let p = panel.borrow();
        let server = p.report.as_ref().and_then(|r| r.draft.as_ref());
        if copy.applies_over(server, p.me.username.as_deref()) {
            None
        } else {
            Some(server.and_then(|d| d.author.clone()).unwrap_or_default())
        }
    };
    if let Some(author) = newer_author {
        // The draft was saved since the text was typed: the draft wins,
        // and the reader is told what was not put back.
        forget_local(&study);
        say(
            panel,
            &tr_with("report.restore_outdated", &[("author", &author)]),
        );
        return;
    }
    {
        let mut p = panel.borrow_mut();
        p.fill(&copy.sections);
        if copy.template.is_some() {
            p.template = copy.template;
        }
    }
    edited(panel);
    say(panel, &tr("report.restored"));
}

/// Writes the save state line.
pub fn render_state(p: &super::Panel) {
    let state = p.save.state();
    let text = match state {
        SaveState::Saved => {
            let draft = p.report.as_ref().and_then(|r| r.draft.as_ref());
            let at = draft
                .and_then(|d| d.updated_at.as_deref())
                .and_then(crate::time::parse_rfc3339);
            let someone_else = draft.and_then(|d| d.by_someone_else(p.me.username.as_deref()));
            match (at, someone_else) {
                (Some(at), Some(name)) if p.editable() && !p.me.open => {
                    super::super::text::tr_with(
                        "report.saved_by_at",
                        &[("name", name), ("time", &clock(at))],
                    )
                }
                (Some(at), _) if p.editable() => {
                    super::super::text::tr_with("report.saved_at", &[("time", &clock(at))])
                }
                _ => String::new(),
            }
        }
        SaveState::Dirty => tr("report.unsaved"),
        SaveState::Saving if p.save.is_retrying() => tr("report.retrying"),
        SaveState::Saving => tr("report.saving"),
        SaveState::Failed if p.save.is_stopped() => tr("report.not_saved_stopped"),
        SaveState::Failed => tr("report.not_saved"),
    };
    let el = &p.dom.save_state;
    if el.get_attribute("data-state").as_deref() != Some(state.name()) {
        let _ = el.set_attribute("data-state", state.name());
    }
    if el.text_content().unwrap_or_default() != text {
        el.set_text_content(Some(&text));
    }
}
