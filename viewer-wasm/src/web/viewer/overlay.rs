//! What is written over each viewport: the corner texts (patient, study,
//! series, slice, window, zoom), orientation letters, the measurements on
//! the slice on screen, and a viewport's own error.

use web_sys::Element;

use viewer_core::calibration::Calibration;
use viewer_core::dicom_json::format_date;
use viewer_core::geometry::{orientation_labels, orientation_labels_from_letters, reference_line};
use viewer_core::image::ImageInfo;
use viewer_core::viewport::ViewTransform;

use super::state::{SliceState, Viewer};
use crate::annotations::Shape;
use crate::format::{exact, trimmed, zoom_percent};
use crate::web::dom::{append, clear, set_attrs, svg_el};
use crate::web::text::{tr, tr_with};

fn set(element: &web_sys::HtmlElement, text: &str) {
    if element.text_content().as_deref() != Some(text) {
        element.set_text_content(Some(text));
    }
}

/// Refreshes viewport `i`'s overlay from the state.
pub fn update(v: &mut Viewer, i: usize) {
    let active = v.active == i;
    let preview = if active {
        let on = super::pointer::place(v, i);
        v.editor.stay_on(on);
        v.editor.preview()
    } else {
        None
    };
    let references = reference_lines(v, i);
    let fatal = if i == 0 { v.fatal.clone() } else { None };
    let link_lost = v.link_lost;
    let slab_mm = v.slab_mm;
    let pane = &mut v.panes[i];
    let info = pane.info();
    let slice_state_error =
        pane.series
            .as_ref()
            .and_then(|s| match s.borrow().slices.get(pane.stack.index()) {
                Some(SliceState::Failed(message)) => Some(message.clone()),
                _ => None,
            });
    let error = fatal.or_else(|| pane.error.clone()).or(slice_state_error);
    match &error {
        Some(message) => {
            set(&pane.dom.error, message);
            pane.dom.error.set_hidden(false);
        }
        None => pane.dom.error.set_hidden(true),
    }
    // A slice still on its way is said so: black alone would read as an
    // empty image. (A reformat is drawn once its whole volume is in.)
    let waiting = error.is_none()
        && pane.mpr.is_none()
        && pane.series.as_ref().is_some_and(|s| {
            matches!(
                s.borrow().slices.get(pane.stack.index()),
                Some(SliceState::Missing | SliceState::InFlight)
            )
        });
    if waiting {
        let key = if link_lost {
            "viewer.slice_waiting_link"
        } else {
            "viewer.slice_waiting"
        };
        set(&pane.dom.note, &tr(key));
    }
    pane.dom.note.set_hidden(!waiting);
    let d = &pane.dom;
    let Some(info) = info else {
        for e in [
            &d.patient,
            &d.patient_extra,
            &d.study,
            &d.series,
            &d.slice,
            &d.position,
            &d.window,
            &d.zoom,
            &d.calibration,
        ] {
            set(e, "");
        }
        for o in &d.orientation {
            set(o, "");
        }
        clear(&d.svg);
        return;
    };

    set(&d.patient, info.patient_name.as_deref().unwrap_or("—"));
    let details: Vec<String> = [
        info.patient_id.clone(),
        info.patient_birth_date.as_deref().and_then(format_date),
        info.patient_sex.as_deref().map(sex),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    set(&d.patient_extra, &details.join("  "));
    let study: Vec<String> = [
        info.study_date.as_deref().and_then(format_date),
        info.study_description.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    set(&d.study, &study.join("  "));
    let series_text = match (info.series_number, &info.series_description) {
        (Some(n), Some(desc)) => format!(
            "{}: {desc}",
            tr_with("overlay.series", &[("number", &n.to_string())])
        ),
        (Some(n), None) => tr_with("overlay.series", &[("number", &n.to_string())]),
        (None, Some(desc)) => desc.clone(),
        (None, None) => String::new(),
    };
    set(&d.series, &series_text);

    let total = pane.stack.len();
    let n = (pane.stack.index() + 1).to_string();
    let key = if total <= 1 {
        "overlay.image"
    } else if info.number_of_frames > 1 {
        "overlay.frame"
    } else {
        "overlay.slice"
    };
    set(
        &d.slice,
        &tr_with(key, &[("n", &n), ("total", &total.to_string())]),
    );
    let mut position = Vec::new();
    // The position along the image's normal (Slice Location when the file
    // has one), for stacks and reformats.
    let location = info
        .slice_location
        .or_else(|| info.plane.map(|p| p.position.dot(p.normal())));
    if let Some(location) = location.filter(|_| info.plane.is_some() && total > 1) {
        position.push(tr_with(
            "overlay.location",
            &[("mm", &trimmed(location, 2))],
        ));
    }
    if let Some(thickness) = info.slice_thickness.filter(|t| *t > 0.0) {
        position.push(tr_with(
            "overlay.thickness",
            &[("mm", &trimmed(thickness, 2))],
        ));
    }
    set(&d.position, &position.join("  "));

    let window_text = match (&pane.window, info.is_monochrome()) {
        (Some(w), true) => {
            let text = tr_with(
                "overlay.window",
                &[("width", &exact(w.width)), ("center", &exact(w.center))],
            );
            if pane.invert {
                format!("{text}  {}", tr("overlay.inverted"))
            } else {
                text
            }
        }
        _ => String::new(),
    };
    set(&d.window, &window_text);
    let view = pane.view;
    set(
        &d.zoom,
        &view
            .map(|view| tr_with("overlay.zoom", &[("zoom", &zoom_percent(view.zoom))]))
            .unwrap_or_default(),
    );
    let calibration = match info.calibration {
        Calibration::Pixel {
            method: viewer_core::calibration::SpacingMethod::Patient,
            ..
        } => String::new(),
        Calibration::Uncalibrated => tr("overlay.uncalibrated"),
        other => tr(other.describe_key()),
    };
    set(&d.calibration, &calibration);

    let labels = view
        .map(|view| labels_for(&info, &view))
        .unwrap_or_default();
    for (o, text) in d.orientation.iter().zip(labels.iter()) {
        set(o, text);
    }

    // Measurements of this slice, and the one being drawn.
    clear(&d.svg);
    let Some(view) = view else { return };
    let image = (f64::from(info.columns), f64::from(info.rows));
    let size = pane.rect.size();
    let to_screen = |p: (f64, f64)| view.image_to_screen(p, image, size);
    for (a, b) in references {
        let (a, b) = (to_screen(a), to_screen(b));
        let l = svg_el("line");
        set_attrs(
            &l,
            &[
                ("class", "reference"),
                ("x1", &fmt(a.0)),
                ("y1", &fmt(a.1)),
                ("x2", &fmt(b.0)),
                ("y2", &fmt(b.1)),
            ],
        );
        append(&d.svg, &l);
    }
    let index = pane.stack.index();
    for (k, annotation) in pane.annotations.iter().enumerate() {
        if annotation.slice == index {
            draw_shape(
                &d.svg,
                &annotation.shape,
                &annotation.lines,
                &to_screen,
                Some(k),
            );
        }
    }
    if let Some(shape) = preview {
        let values = pane.region_values(slab_mm);
        let lines =
            crate::annotations::measure(&shape, &info, values.as_deref(), crate::web::text::lang());
        draw_shape(&d.svg, &shape, &lines, &to_screen, None);
    }
}

/// Where the other reformats' planes cut viewport `i`'s, in its image
/// coordinates (reformat viewports only).
fn reference_lines(v: &Viewer, i: usize) -> Vec<((f64, f64), (f64, f64))> {
    if v.panes[i].mpr.is_none() {
        return Vec::new();
    }
    let Some(shown) = v.panes[i].plane() else {
        return Vec::new();
    };
    v.panes
        .iter()
        .enumerate()
        .take(v.layout.count())
        .filter(|(k, p)| *k != i && p.mpr.is_some())
        .filter_map(|(_, p)| p.plane())
        .filter_map(|other| reference_line(&shown, &other))
        .collect()
}

fn labels_for(info: &ImageInfo, view: &ViewTransform) -> [String; 4] {
    if let Some(plane) = &info.plane {
        return orientation_labels(plane, view);
    }
    if let Some((row, column)) = &info.patient_orientation {
        return orientation_labels_from_letters(row, column, view);
    }
    Default::default()
}

fn sex(code: &str) -> String {
    match code {
        "M" => tr("sex.male"),
        "F" => tr("sex.female"),
        "O" => tr("sex.other"),
        other => other.to_owned(),
    }
}

/// Space between a measurement and its result text, in CSS pixels.
const LABEL_GAP_PX: f64 = 6.0;
/// A result line's height: 1.2em of the 12px text (`viewer.css`,
/// `svg.annotations text`).
const LABEL_LINE_PX: f64 = 14.4;
/// From a point to the baseline of text set just below it.
const LABEL_FIRST_BASELINE_PX: f64 = 14.0;

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// Draws one shape and its result lines into the SVG layer.
fn draw_shape(
    svg: &Element,
    shape: &Shape,
    lines: &[String],
    to_screen: &dyn Fn((f64, f64)) -> (f64, f64),
    index: Option<usize>,
) {
    let group = svg_el("g");
    if let Some(k) = index {
        let _ = group.set_attribute("data-annotation", &k.to_string());
    }
    let line = |a: (f64, f64), b: (f64, f64)| {
        let (a, b) = (to_screen(a), to_screen(b));
        let l = svg_el("line");
        set_attrs(
            &l,
            &[
                ("x1", &fmt(a.0)),
                ("y1", &fmt(a.1)),
                ("x2", &fmt(b.0)),
                ("y2", &fmt(b.1)),
            ],
        );
        append(&group, &l);
    };
    match *shape {
        Shape::Length { a, b } => line(a, b),
        Shape::Angle { a, vertex, b } => {
            line(a, vertex);
            line(vertex, b);
        }
        Shape::Rect { from, to } => {
            let corners = [from, (to.0, from.1), to, (from.0, to.1), from];
            let points: Vec<String> = corners
                .iter()
                .map(|&p| {
                    let s = to_screen(p);
                    format!("{},{}", fmt(s.0), fmt(s.1))
                })
                .collect();
            let poly = svg_el("polyline");
            let _ = poly.set_attribute("points", &points.join(" "));
            append(&group, &poly);
        }
        Shape::Ellipse { from, to } => {
            // Rotations are quarter turns and flips mirror, so the
            // ellipse's axes stay along the screen's.
            let (a, b) = (to_screen(from), to_screen(to));
            let e = svg_el("ellipse");
            set_attrs(
                &e,
                &[
                    ("cx", &fmt((a.0 + b.0) / 2.0)),
                    ("cy", &fmt((a.1 + b.1) / 2.0)),
                    ("rx", &fmt((a.0 - b.0).abs() / 2.0)),
                    ("ry", &fmt((a.1 - b.1).abs() / 2.0)),
                ],
            );
            append(&group, &e);
        }
    }
    if !lines.is_empty() {
        let place = shape.mapped(to_screen).label_place();
        let x = if place.leftward {
            place.at.0 - LABEL_GAP_PX
        } else {
            place.at.0 + LABEL_GAP_PX
        };
        // The first line's baseline: one line below the point, or as
        // many lines above it as there are.
        let y = if place.upward {
            place.at.1 - LABEL_GAP_PX - LABEL_LINE_PX * (lines.len() - 1) as f64
        } else {
            place.at.1 + LABEL_FIRST_BASELINE_PX
        };
        let text = svg_el("text");
        let _ = text.set_attribute("data-measurement", "");
        set_attrs(&text, &[("x", &fmt(x)), ("y", &fmt(y))]);
        if place.leftward {
            let _ = text.set_attribute("text-anchor", "end");
        }
        for (k, content) in lines.iter().enumerate() {
            if k > 0 {
                // Keeps the lines apart in the element's text.
                let _ = text.append_with_str_1("\n");
            }
            let span = svg_el("tspan");
            set_attrs(
                &span,
                &[("x", &fmt(x)), ("dy", if k == 0 { "0" } else { "1.2em" })],
            );
            span.set_text_content(Some(content));
            append(&text, &span);
        }
        append(&group, &text);
    }
    append(svg, &group);
}
