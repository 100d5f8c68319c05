//! The viewer page's elements: toolbar, series strip, the image area with
//! its one GPU canvas, one overlay element per viewport, and the help
//! panel (the report panel joins the row beside the images, built by
//! `web::report`). Only construction lives here; behaviour is wired in
//! `controls` and `pointer`.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlSelectElement};

use viewer_core::stack::Cine;

use crate::layout::Layout;
use crate::tools::Tool;
use crate::web::dom::{append, el, set_attrs, svg_el, text_el};
use crate::web::text::{language_select, tr};

/// The toolbar controls that change state from the outside.
pub struct Toolbar {
    pub tools: Vec<(Tool, HtmlElement)>,
    pub actions: Vec<(&'static str, HtmlElement)>,
    pub presets: HtmlSelectElement,
    pub cine: HtmlElement,
    pub fps: HtmlInputElement,
    pub layouts: Vec<(Layout, HtmlElement)>,
    pub mpr: HtmlSelectElement,
    pub slab: HtmlInputElement,
    pub help: HtmlElement,
}

/// One viewport's overlay: corner texts, orientation letters, the
/// measurement layer and an error box.
pub struct PaneDom {
    pub root: HtmlElement,
    pub svg: Element,
    pub patient: HtmlElement,
    pub patient_extra: HtmlElement,
    pub study: HtmlElement,
    pub series: HtmlElement,
    pub slice: HtmlElement,
    pub position: HtmlElement,
    pub window: HtmlElement,
    pub zoom: HtmlElement,
    pub calibration: HtmlElement,
    /// Left, top, right, bottom.
    pub orientation: [HtmlElement; 4],
    pub error: HtmlElement,
    /// Said over a slice that has not arrived yet, instead of a black
    /// viewport.
    pub note: HtmlElement,
}

/// Everything the viewer updates after construction.
pub struct PageDom {
    pub toolbar: Toolbar,
    /// The row under the toolbar: series strip, images, report panel.
    pub main: HtmlElement,
    pub strip: HtmlElement,
    pub area: HtmlElement,
    pub canvas: HtmlCanvasElement,
    pub progress: HtmlElement,
    /// A message about what was opened (`.text`), kept until the reader
    /// closes it (`[data-action=notice-close]`).
    pub notice: HtmlElement,
    pub help_panel: HtmlElement,
}

fn button(label_key: &str, text: &str) -> HtmlElement {
    let b = text_el("button", "", text);
    let label = tr(label_key);
    set_attrs(
        &b,
        &[
            ("type", "button"),
            ("title", &label),
            ("aria-label", &label),
        ],
    );
    b
}

/// Builds the page into `app`.
pub fn build(app: &HtmlElement) -> PageDom {
    app.set_class_name("page-viewer");
    let bar = el("header", "toolbar");

    // On narrow screens only the arrow shows (the label stays the link's
    // accessible name), so the toolbar keeps to one line.
    let back = el("a", "back-link");
    let label = tr("viewer.back");
    set_attrs(
        &back,
        &[("href", "/"), ("title", &label), ("aria-label", &label)],
    );
    let arrow = text_el("span", "", "← ");
    let _ = arrow.set_attribute("aria-hidden", "true");
    append(&back, &arrow);
    append(&back, &text_el("span", "label", &label));
    append(&bar, &back);

    let group = el("div", "group tools");
    let glyphs = [
        (Tool::WindowLevel, "◐"),
        (Tool::Zoom, "⊕"),
        (Tool::Pan, "✥"),
        (Tool::Length, "↔"),
        (Tool::Angle, "∠"),
        (Tool::Rect, "▭"),
        (Tool::Ellipse, "◯"),
    ];
    let mut tools = Vec::new();
    for (tool, glyph) in glyphs {
        let b = button(tool.label_key(), glyph);
        let _ = b.set_attribute("data-tool", tool.name());
        let _ = b.set_attribute(
            "aria-pressed",
            if tool == Tool::WindowLevel {
                "true"
            } else {
                "false"
            },
        );
        append(&group, &b);
        tools.push((tool, b));
    }
    append(&bar, &group);

    let group = el("div", "group presets");
    let presets: HtmlSelectElement = el("select", "").unchecked_into();
    set_attrs(
        &presets,
        &[
            ("title", &tr("preset.label")),
            ("aria-label", &tr("preset.label")),
            ("data-control", "presets"),
        ],
    );
    append(&group, &presets);
    append(&bar, &group);

    let group = el("div", "group view");
    let mut actions = Vec::new();
    for (action, key, glyph) in [
        ("fit", "tool.fit", "⤢"),
        ("one-to-one", "tool.one_to_one", "1:1"),
        ("rotate", "tool.rotate", "⟳"),
        ("flip-h", "tool.flip_h", "⇆"),
        ("flip-v", "tool.flip_v", "⇅"),
        ("invert", "tool.invert", "◑"),
        ("reset", "tool.reset", "↺"),
        ("clear", "tool.clear_measurements", "✕"),
    ] {
        let b = button(key, glyph);
        let _ = b.set_attribute("data-action", action);
        append(&group, &b);
        actions.push((action, b));
    }
    append(&bar, &group);

    let group = el("div", "group cine");
    let cine = button("cine.play", "▶");
    let _ = cine.set_attribute("data-action", "cine");
    append(&group, &cine);
    let fps: HtmlInputElement = el("input", "fps").unchecked_into();
    fps.set_type("number");
    fps.set_min(&Cine::MIN_FPS.to_string());
    fps.set_max(&Cine::MAX_FPS.to_string());
    fps.set_value(&Cine::DEFAULT_FPS.to_string());
    set_attrs(
        &fps,
        &[
            ("title", &tr("cine.frame_rate")),
            ("aria-label", &tr("cine.frame_rate")),
            ("data-control", "fps"),
        ],
    );
    append(&group, &fps);
    append(&bar, &group);

    let group = el("div", "group layouts");
    let mut layouts = Vec::new();
    for layout in [Layout::One, Layout::OneByTwo, Layout::TwoByTwo] {
        let key = format!("layout.{}", layout.name());
        let b = button(&key, &tr(&key));
        let _ = b.set_attribute("data-layout", layout.name());
        append(&group, &b);
        layouts.push((layout, b));
    }
    let mpr: HtmlSelectElement = el("select", "").unchecked_into();
    set_attrs(
        &mpr,
        &[
            ("title", &tr("mpr.label")),
            ("aria-label", &tr("mpr.label")),
            ("data-control", "mpr"),
        ],
    );
    for (value, key) in [("", "mpr.original"), ("mpr", "mpr.label")] {
        let option = text_el("option", "", &tr(key));
        let _ = option.set_attribute("value", value);
        append(&mpr, &option);
    }
    append(&group, &mpr);
    let slab: HtmlInputElement = el("input", "fps").unchecked_into();
    slab.set_type("number");
    slab.set_min("0");
    slab.set_max("200");
    slab.set_step("1");
    slab.set_value("0");
    set_attrs(
        &slab,
        &[
            ("title", &format!("{} ({})", tr("mpr.slab"), tr("unit.mm"))),
            ("aria-label", &tr("mpr.slab")),
            ("data-control", "slab"),
        ],
    );
    slab.set_hidden(true);
    append(&group, &slab);
    append(&bar, &group);

    append(&bar, &el("div", "spacer"));
    let help = button("viewer.help", "?");
    let _ = help.set_attribute("data-action", "help");
    append(&bar, &help);
    append(app, &bar);

    let main = el("div", "viewer-main");
    let strip = el("aside", "series-strip");
    let _ = strip.set_attribute("aria-label", &tr("viewer.series"));
    let side = el("div", "side");
    append(&side, &strip);
    let language = el("div", "side-language");
    append(&language, &language_select());
    append(&side, &language);
    append(&main, &side);
    let area = el("section", "viewports");
    let canvas: HtmlCanvasElement = el("canvas", "").unchecked_into();
    canvas.set_id("viewer-canvas");
    append(&area, &canvas);
    let progress = el("div", "progress");
    progress.set_hidden(true);
    append(&area, &progress);
    let notice = el("div", "viewer-notice");
    let _ = notice.set_attribute("role", "alert");
    notice.set_hidden(true);
    append(&notice, &el("span", "text"));
    let close = button("viewer.close", "×");
    let _ = close.set_attribute("data-action", "notice-close");
    append(&notice, &close);
    append(&area, &notice);
    append(&main, &area);
    append(app, &main);

    let help_panel = help_panel();
    append(app, &help_panel);

    PageDom {
        toolbar: Toolbar {
            tools,
            actions,
            presets,
            cine,
            fps,
            layouts,
            mpr,
            slab,
            help,
        },
        main,
        strip,
        area,
        canvas,
        progress,
        notice,
        help_panel,
    }
}

/// A viewport's overlay element, added to the image area.
pub fn pane(area: &HtmlElement, index: usize) -> PaneDom {
    let root = el("div", "viewport");
    let _ = root.set_attribute("data-viewport", &index.to_string());
    let svg = svg_el("svg");
    let _ = svg.set_attribute("class", "annotations");
    append(&root, &svg);

    let corner = |class: &str| {
        let c = el("div", &format!("corner {class}"));
        append(&root, &c);
        c
    };
    let line = |parent: &HtmlElement, overlay: &str| {
        let l = el("div", "");
        if !overlay.is_empty() {
            let _ = l.set_attribute("data-overlay", overlay);
        }
        append(parent, &l);
        l
    };
    let tl = corner("tl");
    let patient = line(&tl, "patient");
    let patient_extra = line(&tl, "patient-details");
    let tr_corner = corner("tr");
    let study = line(&tr_corner, "study");
    let series = line(&tr_corner, "series");
    let bl = corner("bl");
    let slice = line(&bl, "slice");
    let position = line(&bl, "position");
    let br = corner("br");
    let window = line(&br, "window");
    let zoom = line(&br, "zoom");
    let calibration = line(&br, "calibration");
    calibration.set_class_name("calibration-note");

    let orientation = ["left", "top", "right", "bottom"].map(|side| {
        let o = el("div", &format!("orient {side}"));
        let _ = o.set_attribute("data-orientation", side);
        append(&root, &o);
        o
    });
    let error = el("div", "viewport-error");
    let _ = error.set_attribute("role", "alert");
    error.set_hidden(true);
    if index == 0 {
        // The first viewport always exists: page-wide errors (server
        // unreachable, study not found, no GPU) are said there too.
        error.set_id("viewer-error");
    }
    append(&root, &error);
    let note = el("div", "viewport-note");
    let _ = note.set_attribute("role", "status");
    note.set_hidden(true);
    append(&root, &note);
    append(area, &root);
    PaneDom {
        root,
        svg,
        patient,
        patient_extra,
        study,
        series,
        slice,
        position,
        window,
        zoom,
        calibration,
        orientation,
        error,
        note,
    }
}

fn help_panel() -> HtmlElement {
    let panel = el("div", "help-panel");
    panel.set_hidden(true);
    let _ = panel.set_attribute("role", "dialog");
    let _ = panel.set_attribute("data-panel", "help");
    append(&panel, &text_el("h2", "", &tr("help.title")));
    let table = el("table", "");
    let rows: [(&str, &str); 15] = [
        ("key.left_drag", "help.wl"),
        ("key.right_drag", "help.scroll"),
        ("key.wheel", "help.scroll"),
        ("key.ctrl_wheel", "help.zoom"),
        ("key.arrows", "help.scroll"),
        ("key.page", "help.scroll_fast"),
        ("key.home_end", "help.first_last"),
        ("key.digits", "help.presets"),
        ("C", "help.cine"),
        ("F", "help.fit"),
        ("R / Esc", "help.reset"),
        ("I", "help.invert"),
        ("T", "help.rotate"),
        ("H / V", "tool.flip_h"),
        ("?", "help.help"),
    ];
    for (keys, action) in rows {
        let row = el("tr", "");
        // Keys that are letters are the same in every language.
        let keys_text = if keys.contains('.') {
            tr(keys)
        } else {
            keys.to_owned()
        };
        let text = if keys == "H / V" {
            format!("{} / {}", tr("tool.flip_h"), tr("tool.flip_v"))
        } else {
            tr(action)
        };
        append(&row, &text_el("td", "keys", &keys_text));
        append(&row, &text_el("td", "", &text));
        append(&table, &row);
    }
    append(&panel, &table);
    let close = button("viewer.close", &tr("viewer.close"));
    let _ = close.set_attribute("data-action", "help-close");
    append(&panel, &close);
    panel
}
