//! Small helpers over `web-sys` for building the pages: creating elements,
//! setting text and attributes, and listening to events for the page's
//! lifetime.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlElement, Window};

/// The browser window. Only absent in a worker, where no page code runs.
pub fn window() -> Window {
    web_sys::window().unwrap_or_else(|| wasm_bindgen::throw_str("the viewer page needs a window"))
}

/// The page's document.
pub fn document() -> Document {
    window()
        .document()
        .unwrap_or_else(|| wasm_bindgen::throw_str("the viewer page needs a document"))
}

/// The `<html>` element, which carries the page's `data-state` and
/// `data-backend` for tests and styles.
pub fn root() -> HtmlElement {
    document()
        .document_element()
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        .unwrap_or_else(|| wasm_bindgen::throw_str("the document has no root element"))
}

/// Sets `data-<key>` on the `<html>` element.
pub fn set_root_data(key: &str, value: &str) {
    let _ = root().set_attribute(&format!("data-{key}"), value);
}

/// A new element `tag` with the given class (none when empty).
pub fn el(tag: &str, class: &str) -> HtmlElement {
    let element = document()
        .create_element(tag)
        .unwrap_or_else(|_| wasm_bindgen::throw_str("invalid element name"));
    if !class.is_empty() {
        element.set_class_name(class);
    }
    element.unchecked_into()
}

/// A new element with text content.
pub fn text_el(tag: &str, class: &str, text: &str) -> HtmlElement {
    let element = el(tag, class);
    element.set_text_content(Some(text));
    element
}

/// A new SVG element (`line`, `rect`, `text`, ...).
pub fn svg_el(tag: &str) -> Element {
    document()
        .create_element_ns(Some("http://www.w3.org/2000/svg"), tag)
        .unwrap_or_else(|_| wasm_bindgen::throw_str("invalid SVG element name"))
}

/// Sets attributes, ignoring the (impossible for valid names) errors.
pub fn set_attrs(element: &Element, attrs: &[(&str, &str)]) {
    for (name, value) in attrs {
        let _ = element.set_attribute(name, value);
    }
}

/// Appends `child` to `parent`.
pub fn append(parent: &Element, child: &Element) {
    let _ = parent.append_child(child);
}

/// Removes every child of `element`.
pub fn clear(element: &Element) {
    element.set_text_content(None);
}

/// The element with `id`, if the page has one.
pub fn by_id(id: &str) -> Option<HtmlElement> {
    document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
}

/// Listens to `event` on `target` for the page's lifetime: pages are
/// replaced by navigation, never torn down, so the closure is leaked on
/// purpose.
pub fn on<E, F>(target: &web_sys::EventTarget, event: &str, handler: F)
where
    E: JsCast + 'static,
    F: FnMut(E) + 'static,
{
    let mut handler = handler;
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        handler(event.unchecked_into::<E>());
    });
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget();
}

/// Like [`on`], but with `passive: false` so the handler may call
/// `preventDefault` (wheel events over the image must not scroll the page).
pub fn on_active<E, F>(target: &web_sys::EventTarget, event: &str, handler: F)
where
    E: JsCast + 'static,
    F: FnMut(E) + 'static,
{
    let mut handler = handler;
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        handler(event.unchecked_into::<E>());
    });
    let options = web_sys::AddEventListenerOptions::new();
    options.set_passive(false);
    let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
        event,
        closure.as_ref().unchecked_ref(),
        &options,
    );
    closure.forget();
}

/// Calls `f` after `ms` milliseconds.
pub fn set_timeout(ms: i32, f: impl FnOnce() + 'static) {
    let closure = Closure::once_into_js(f);
    let _ =
        window().set_timeout_with_callback_and_timeout_and_arguments_0(closure.unchecked_ref(), ms);
}

/// Calls `f` before the next repaint, with the frame's timestamp.
pub fn request_animation_frame(f: impl FnOnce(f64) + 'static) {
    let closure = Closure::once_into_js(f);
    let _ = window().request_animation_frame(closure.unchecked_ref());
}

/// `performance.mark(name)`, the hook end-to-end tests time the page by.
pub fn mark(name: &str) {
    if let Some(performance) = window().performance() {
        let _ = performance.mark(name);
    }
}

/// `performance.now()` in milliseconds.
pub fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or(0.0)
}

/// When the browser's network stack finished receiving the last request
/// for `url` (an absolute URL), in `performance.now()` milliseconds: the
/// link's own time, however late a busy page got to the answer. None when
/// the browser did not record it (its list of timings is full).
pub fn response_end_ms(url: &str) -> Option<f64> {
    use wasm_bindgen::JsCast;
    let entries = window()
        .performance()?
        .get_entries_by_name_with_entry_type(url, "resource");
    let last = entries.get(entries.length().checked_sub(1)?);
    let end = last
        .dyn_into::<web_sys::PerformanceResourceTiming>()
        .ok()?
        .response_end();
    (end > 0.0).then_some(end)
}

/// A value from `localStorage`, if storage is allowed and holds it.
pub fn stored(key: &str) -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()?
        .get_item(key)
        .ok()
        .flatten()
}

/// Writes `localStorage[key]`; silently skipped where storage is blocked.
pub fn store(key: &str, value: &str) {
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// Logs to the browser console (never patient data: only errors and
/// timings).
pub fn log(message: &str) {
    web_sys::console::log_1(&JsValue::from_str(message));
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
