//! The sign-in page (`/login`, and in place of any page whose `me`
//! answered 401): user name and password, the server's refusal in words
//! (wrong password, or locked out and for how long), and the identity
//! provider's button when the archive has one. Signing in leads to the
//! page asked for, else the role's landing page.
//!
//! Ids for tests: `#login-form`, `#login-username`, `#login-password`,
//! `#login-submit`, `#login-error` (hidden until a refusal), `#login-oidc`
//! (only when `GET /api/auth/config` says OIDC is on).

use serde::Serialize;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement};

use super::api;
use super::dom::{self, append, el, text_el};
use super::session;
use super::text::{lang, language_select, tr, tr_with};
use crate::api_error::ApiError;
use crate::session::{AuthConfig, LoginAnswer, after_sign_in};

#[derive(Serialize)]
struct Credentials<'a> {
    username: &'a str,
    password: &'a str,
}

/// Builds the sign-in form into `app`; `next` is where to go afterwards.
pub fn show(app: &HtmlElement, next: Option<String>) {
    dom::clear(app);
    dom::document().set_title(&tr("login.title"));
    app.set_class_name("page-login");

    let form = el("form", "login-box");
    form.set_id("login-form");
    let _ = form.set_attribute("novalidate", "");
    append(&form, &text_el("h1", "", &tr("app.title")));
    append(&form, &text_el("p", "muted", &tr("login.intro")));
    let field = |id: &str, key: &str, kind: &str, autocomplete: &str| {
        let label = el("label", "field");
        append(&label, &text_el("span", "field-label", &tr(key)));
        let input: HtmlInputElement = el("input", "").unchecked_into();
        input.set_id(id);
        input.set_type(kind);
        input.set_name(id);
        input.set_required(true);
        let _ = input.set_attribute("autocomplete", autocomplete);
        append(&label, &input);
        append(&form, &label);
        input
    };
    let username = field("login-username", "login.username", "text", "username");
    let password = field(
        "login-password",
        "login.password",
        "password",
        "current-password",
    );
    let error = el("div", "login-error");
    error.set_id("login-error");
    error.set_hidden(true);
    let _ = error.set_attribute("role", "alert");
    append(&form, &error);
    let submit = text_el("button", "primary", &tr("login.submit"));
    submit.set_id("login-submit");
    let _ = submit.set_attribute("type", "submit");
    append(&form, &submit);
    let oidc = text_el("a", "button-link", "");
    oidc.set_id("login-oidc");
    let _ = oidc.set_attribute("href", "/api/auth/oidc/login");
    oidc.set_hidden(true);
    append(&form, &oidc);
    let language = el("div", "login-language");
    append(&language, &language_select());
    append(&form, &language);
    append(app, &form);
    dom::set_root_data("state", "ready");
    let _ = username.focus();

    let n = next.clone();
    dom::on::<web_sys::MouseEvent, _>(&oidc, "click", move |_| {
        session::remember_for_provider(n.as_deref());
    });
    let link = oidc.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(config) = api::call_quiet::<AuthConfig, ()>("GET", "/api/auth/config", None).await
            && config.oidc
        {
            let text = match config.provider() {
                Some(name) => tr_with("login.with", &[("provider", &name)]),
                None => tr("login.with_provider"),
            };
            link.set_text_content(Some(&text));
            link.set_hidden(false);
        }
    });

    let button = submit.clone();
    dom::on::<web_sys::Event, _>(&form, "submit", move |event| {
        event.prevent_default();
        let name = username.value().trim().to_owned();
        let secret = password.value();
        if name.is_empty() || secret.is_empty() {
            error.set_text_content(Some(&tr("login.missing")));
            error.set_hidden(false);
            return;
        }
        let _ = button.set_attribute("disabled", "");
        error.set_hidden(true);
        let (error, button, password, next) = (
            error.clone(),
            button.clone(),
            password.clone(),
            next.clone(),
        );
        wasm_bindgen_futures::spawn_local(async move {
            let body = Credentials {
                username: &name,
                password: &secret,
            };
            let answer =
                api::call_quiet::<LoginAnswer, _>("POST", "/api/auth/login", Some(&body)).await;
            match answer {
                Ok(answer) => {
                    let target = after_sign_in(next.as_deref(), answer.user.role);
                    let _ = dom::window().location().assign(&target);
                }
                Err(e) => {
                    let _ = button.remove_attribute("disabled");
                    password.set_value("");
                    let _ = password.focus();
                    error.set_text_content(Some(&refusal(&e)));
                    error.set_hidden(false);
                    let _ = error.set_attribute("data-reason", reason(&e));
                }
            }
        });
    });
}

/// The refusal in the page's words.
fn refusal(e: &ApiError) -> String {
    match e {
        ApiError::SignedOut => tr("login.wrong"),
        other => other.words(lang()),
    }
}

/// `data-reason` of `#login-error`: `wrong`, `locked` or `error`.
fn reason(e: &ApiError) -> &'static str {
    match e {
        ApiError::SignedOut => "wrong",
        ApiError::TooMany { .. } => "locked",
        _ => "error",
    }
}

/// Shown on `/login` of an archive without accounts.
pub fn show_open(app: &HtmlElement) {
    dom::clear(app);
    dom::document().set_title(&tr("login.title"));
    app.set_class_name("page-login");
    let box_el = el("div", "login-box");
    append(&box_el, &text_el("h1", "", &tr("app.title")));
    append(&box_el, &text_el("p", "", &tr("login.open")));
    let link = text_el("a", "", &tr("nav.studies"));
    let _ = link.set_attribute("href", "/");
    append(&box_el, &link);
    append(app, &box_el);
    dom::set_root_data("state", "ready");
}
