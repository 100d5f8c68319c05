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
