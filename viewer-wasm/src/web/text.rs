//! The page's language: chosen once at start (`?lang=` in the address,
//! else the one remembered in `localStorage`, else the browser's), and
//! every visible string looked up through `viewer_core::i18n` in it.

use std::cell::Cell;

use viewer_core::i18n::{self, Lang};

use super::dom;
use crate::route::lang_param;

/// Where the chosen language is remembered between visits.
const STORAGE_KEY: &str = "pacs.lang";

thread_local! {
    static LANG: Cell<Lang> = const { Cell::new(Lang::En) };
}

/// Decides the page's language and sets `<html lang>`.
pub fn init(search: &str) -> Lang {
    let from_address = lang_param(search).and_then(|code| Lang::from_tag(&code));
    let remembered = dom::stored(STORAGE_KEY).and_then(|code| Lang::from_tag(&code));
    let lang = from_address.or(remembered).unwrap_or_else(|| {
        let preferences: Vec<String> = dom::window()
            .navigator()
            .languages()
            .iter()
            .filter_map(|v| v.as_string())
            .collect();
        Lang::negotiate(preferences.iter().map(String::as_str))
    });
    if from_address.is_some() {
        dom::store(STORAGE_KEY, lang.tag());
    }
    LANG.with(|l| l.set(lang));
    let _ = dom::root().set_attribute("lang", lang.tag());
    lang
}

/// The page's language.
pub fn lang() -> Lang {
    LANG.with(Cell::get)
}

/// The interface string `key` in the page's language.
pub fn tr(key: &str) -> String {
    i18n::t(lang(), key).to_string()
}

/// [`tr`] with its `{name}` placeholders filled.
pub fn tr_with(key: &str, args: &[(&str, &str)]) -> String {
    i18n::t_with(lang(), key, args)
}

/// Switches language: remembers it and reloads the page in it (the
/// address's own `lang=` is replaced so it does not override the choice).
pub fn switch_to(lang: Lang) {
    dom::store(STORAGE_KEY, lang.tag());
    let location = dom::window().location();
    let search = location.search().unwrap_or_default();
    let kept: Vec<(String, String)> = crate::url::parse_query(&search)
        .into_iter()
        .filter(|(k, _)| k != "lang")
        .collect();
    let query = crate::url::build_query(&kept);
    let path = location.pathname().unwrap_or_else(|_| "/".into());
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let _ = location.set_href(&target);
}

/// A `<select>` offering the three languages, switching on change.
pub fn language_select() -> web_sys::HtmlSelectElement {
    use wasm_bindgen::JsCast;
    let select: web_sys::HtmlSelectElement = dom::el("select", "lang-select").unchecked_into();
    let _ = select.set_attribute("aria-label", &tr("lang.label"));
    let _ = select.set_attribute("data-control", "language");
    for option_lang in Lang::ALL {
        let option = dom::text_el("option", "", &tr(&format!("lang.{}", option_lang.tag())));
        let _ = option.set_attribute("value", option_lang.tag());
        if option_lang == lang() {
            let _ = option.set_attribute("selected", "");
        }
        dom::append(&select, &option);
    }
    let target = select.clone();
    dom::on::<web_sys::Event, _>(&select, "change", move |_| {
        if let Some(chosen) = Lang::from_tag(&target.value()) {
            switch_to(chosen);
        }
    });
    select
}

/// Now, in milliseconds since the epoch (the browser's clock).
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Minutes the browser's zone is east of UTC (Tashkent: 300).
pub fn zone_offset_minutes() -> i64 {
    -(js_sys::Date::new_0().get_timezone_offset() as i64)
}

/// A time as a local date and time in the page's language
/// ("22.11.2026, 19:04").
pub fn local_date_time(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let options = js_sys::Object::new();
    for (key, value) in [
        ("year", "numeric"),
        ("month", "2-digit"),
        ("day", "2-digit"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
    ] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    date.to_locale_string(lang().tag(), &options)
        .as_string()
        .unwrap_or_default()
}

/// A time of today as the clock shows it ("19:04").
pub fn clock(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// An API time (RFC 3339) as a local date and time; empty when missing
/// or unreadable.
pub fn api_time(text: Option<&str>) -> String {
    text.and_then(crate::time::parse_rfc3339)
        .map(local_date_time)
        .unwrap_or_default()
}

/// A failed API call in the page's language.
pub fn api_words(error: &crate::api_error::ApiError) -> String {
    error.words(lang())
}
