//! A small dialog over the page: a question, the fields it needs (a
//! reason, a user name, an addendum), and OK / Cancel. Awaited: it
//! answers the values typed, or `None` when cancelled. One at a time; a
//! new one replaces an open one.
//!
//! Ids for tests: `#dialog`, `#dialog-title`, `#dialog-text`,
//! `#dialog-error`, each field by the id its caller gives, OK by
//! `ok_id` (else `#dialog-ok`), Cancel by `cancel_id` (else
//! `#dialog-cancel`).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlElement;

use super::dom::{self, append, el, text_el};
use super::text::tr;

/// One field of the dialog.
pub struct Field {
    pub id: &'static str,
    pub label: String,
    /// A text area rather than one line.
    pub multiline: bool,
    /// OK is refused while it is empty.
    pub required: bool,
    pub value: String,
}

impl Field {
    pub fn line(id: &'static str, label: String) -> Field {
        Field {
            id,
            label,
            multiline: false,
            required: true,
            value: String::new(),
        }
    }

    pub fn text(id: &'static str, label: String) -> Field {
        Field {
            multiline: true,
            ..Field::line(id, label)
        }
    }
}

/// What the dialog says and offers.
pub struct Dialog {
    pub title: String,
    pub text: Option<String>,
    pub fields: Vec<Field>,
    pub ok_label: String,
    pub ok_id: &'static str,
    pub cancel_label: String,
    pub cancel_id: &'static str,
    /// OK is the dangerous choice (signing, breaking a lock).
    pub danger: bool,
}

impl Dialog {
    pub fn new(title: String, ok_label: String) -> Dialog {
        Dialog {
            title,
            text: None,
            fields: Vec::new(),
            ok_label,
            ok_id: "dialog-ok",
            cancel_label: tr("dialog.cancel"),
            cancel_id: "dialog-cancel",
            danger: false,
        }
    }
}

/// Shows `dialog` and waits: the fields' values on OK, `None` on Cancel
/// or Escape.
pub async fn ask(dialog: Dialog) -> Option<Vec<String>> {
    if let Some(old) = dom::by_id("dialog") {
        old.remove();
    }
    let backdrop = el("div", "dialog-backdrop");
    let box_el = el("div", "dialog");
    box_el.set_id("dialog");
    dom::set_attrs(&box_el, &[("role", "dialog"), ("aria-modal", "true")]);
    let title = text_el("h2", "", &dialog.title);
    title.set_id("dialog-title");
    append(&box_el, &title);
    if let Some(text) = &dialog.text {
        let p = text_el("p", "dialog-text", text);
        p.set_id("dialog-text");
        append(&box_el, &p);
    }
    let mut inputs: Vec<(HtmlElement, bool)> = Vec::new();
    for field in &dialog.fields {
        let label = el("label", "field");
        append(&label, &text_el("span", "field-label", &field.label));
        let input = if field.multiline {
            let area: web_sys::HtmlTextAreaElement = el("textarea", "").unchecked_into();
            area.set_rows(5);
            area.set_value(&field.value);
            area.unchecked_into::<HtmlElement>()
        } else {
            let input: web_sys::HtmlInputElement = el("input", "").unchecked_into();
            input.set_type("text");
            input.set_value(&field.value);
            input.unchecked_into::<HtmlElement>()
        };
        input.set_id(field.id);
        append(&label, &input);
        append(&box_el, &label);
        inputs.push((input, field.required));
    }
    let error = el("div", "dialog-error");
    error.set_id("dialog-error");
    error.set_hidden(true);
    let _ = error.set_attribute("role", "alert");
    append(&box_el, &error);
    let buttons = el("div", "dialog-buttons");
    let ok = text_el(
        "button",
        if dialog.danger {
            "primary danger"
        } else {
            "primary"
        },
        &dialog.ok_label,
    );
    ok.set_id(dialog.ok_id);
    let _ = ok.set_attribute("type", "button");
    let cancel = text_el("button", "", &dialog.cancel_label);
    cancel.set_id(dialog.cancel_id);
    let _ = cancel.set_attribute("type", "button");
    append(&buttons, &ok);
    append(&buttons, &cancel);
    append(&box_el, &buttons);
    append(&backdrop, &box_el);
    if let Some(body) = dom::document().body() {
        append(&body, &backdrop);
    }

    let resolve: Rc<RefCell<Option<js_sys::Function>>> = Rc::new(RefCell::new(None));
    let slot = resolve.clone();
    let promise = js_sys::Promise::new(&mut |res, _rej| {
        *slot.borrow_mut() = Some(res);
    });
    let finish = {
        let backdrop = backdrop.clone();
        let resolve = resolve.clone();
        Rc::new(move |value: JsValue| {
            if let Some(f) = resolve.borrow_mut().take() {
                let _ = f.call1(&JsValue::NULL, &value);
            }
            backdrop.remove();
        })
    };
    let values = {
        let inputs = inputs.clone();
        move || -> Vec<String> { inputs.iter().map(|(i, _)| value_of(i)).collect() }
    };
    let submit = {
        let finish = finish.clone();
        let error = error.clone();
        let inputs = inputs.clone();
        Rc::new(move || {
            let missing = inputs
                .iter()
                .any(|(i, required)| *required && value_of(i).trim().is_empty());
            if missing {
                error.set_text_content(Some(&tr("dialog.required")));
                error.set_hidden(false);
                return;
            }
            let array = js_sys::Array::new();
            for v in values() {
                array.push(&JsValue::from_str(&v));
            }
            finish(array.into());
        })
    };
    let s = submit.clone();
    dom::on::<web_sys::MouseEvent, _>(&ok, "click", move |_| s());
    let f = finish.clone();
    dom::on::<web_sys::MouseEvent, _>(&cancel, "click", move |_| f(JsValue::NULL));
    let f = finish.clone();
    let s = submit.clone();
    dom::on::<web_sys::KeyboardEvent, _>(&box_el, "keydown", move |event| {
        event.stop_propagation();
        let in_text_area = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|t| t.tag_name().eq_ignore_ascii_case("textarea"));
        match event.key().as_str() {
            "Escape" => f(JsValue::NULL),
            "Enter" if !in_text_area => {
                event.prevent_default();
                s();
            }
            _ => {}
        }
    });
    match inputs.first() {
        Some((input, _)) => {
            let _ = input.focus();
        }
        None => {
            let _ = ok.focus();
        }
    }

    let answer = JsFuture::from(promise).await.ok()?;
    if answer.is_null() {
        return None;
    }
    let array: js_sys::Array = answer.dyn_into().ok()?;
    Some(array.iter().filter_map(|v| v.as_string()).collect())
}

/// A yes/no question: whether OK was chosen.
pub async fn confirm(dialog: Dialog) -> bool {
    ask(dialog).await.is_some()
}

fn value_of(input: &HtmlElement) -> String {
    if let Some(area) = input.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        area.value()
    } else if let Some(line) = input.dyn_ref::<web_sys::HtmlInputElement>() {
        line.value()
    } else {
        String::new()
    }
}
