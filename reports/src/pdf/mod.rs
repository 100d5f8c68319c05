//! The report as an A4 PDF for referring doctors: readable without any
//! viewer, in the report's language, with its own typeface embedded.

mod font;
mod image;
mod layout;
mod write;

use self::font::Font;
use self::layout::{ACCENT, ALERT, Flow, Geometry, INK, MUTED, Measure, Op, Rgb, Style};
use crate::format::{Civil, display_date, display_time, person_name_in};
use crate::labels::{Labels, labels};
use crate::model::{ReportDocument, ReportStatus, SignedVersion, VersionKind};
use crate::templates::section_titles;
use crate::{ReportError, normalize_text};

const BODY: Style = Style::new(10.0, false, INK);
const BODY_BOLD: Style = Style::new(10.0, true, INK);
const LABEL: Style = Style::new(8.5, false, MUTED);
const SMALL: Style = Style::new(8.5, false, MUTED);
const SECTION: Style = Style::new(11.5, true, ACCENT);
const INSTITUTION: Style = Style::new(14.0, true, INK);
const TITLE: Style = Style::new(17.0, true, ACCENT);
const CRITICAL_TITLE: Style = Style::new(11.5, true, ALERT);

const PANEL: Rgb = Rgb(0.94, 0.95, 0.97);
const CRITICAL_FILL: Rgb = Rgb(1.0, 0.92, 0.92);
const RULE: Rgb = Rgb(0.75, 0.77, 0.8);
/// Space between the lines of a section the radiologist wrote (one organ
/// system per line in the templates).
const PARAGRAPH_GAP: f32 = 3.0;
/// Space, rule and line of a signature.
const SIGNATURE_HEIGHT: f32 = 8.0 + 4.0 + 13.5;
/// Height of a key image at most, so that two fit on a page with captions.
const KEY_IMAGE_HEIGHT: f32 = 300.0;

struct Faces {
    regular: Font,
    bold: Font,
}

/// The people the report names, as the typeface can show them.
struct Names {
    patient: String,
    referring: Option<String>,
}

impl Measure for Faces {
    fn width(&self, text: &str, bold: bool, size: f32) -> f32 {
        if bold {
            self.bold.width(text, size)
        } else {
            self.regular.width(text, size)
        }
    }
}

/// Renders the signed report as a PDF.
///
/// Page 1 opens with the institution, the title and the patient and study
/// panel; a critical finding comes next, boxed in red, so that it is read
/// first; then the sections (empty ones left out), the signature, each
/// addendum with its reason and signer, and the key images. Every page
/// after the first repeats the patient in its header, and every page is
/// numbered "n of N".
pub fn pdf(doc: &ReportDocument) -> Result<Vec<u8>, ReportError> {
    doc.validate()?;
    let faces = Faces {
        regular: Font::regular()?,
        bold: Font::bold()?,
    };
    let images = doc
        .key_images
        .iter()
        .enumerate()
        .map(|(i, k)| image::prepare(i, &k.png))
        .collect::<Result<Vec<_>, _>>()?;

    let geometry = Geometry::A4;
    let l = labels(doc.language);
    // Names in the forms the typeface can show (see `person_name_in`).
    let renders = |c: char| faces.regular.has_glyph(c) && faces.bold.has_glyph(c);
    let names = Names {
        patient: person_name_in(&doc.patient_name, renders),
        referring: doc
            .referring_physician
            .as_deref()
            .map(|p| person_name_in(p, renders)),
    };
    let patient_name = &names.patient;
    let mut flow = Flow::new(&faces, geometry);
    front_matter(&mut flow, doc, l, &names);
    critical(&mut flow, doc, l);
    body(&mut flow, doc);
    addenda(&mut flow, doc, l);
    if !images.is_empty() {
        flow.space(16.0);
        flow.heading(l.key_images, SECTION, 200.0);
        flow.space(4.0);
        for (i, (img, key)) in images.iter().zip(&doc.key_images).enumerate() {
            let caption = format!("{}. {}", i + 1, normalize_text(&key.caption));
            flow.image(i, (img.width, img.height), &caption, KEY_IMAGE_HEIGHT);
            flow.space(10.0);
        }
    }
    let mut pages = flow.into_pages();
    running_heads(&mut pages, doc, patient_name, l, &faces, geometry);

    let title = format!("{}: {}", l.report_title, patient_name);
    let meta = write::Meta {
        title: &title,
        lang: doc.language.bcp47(),
        created: doc
            .last_signed()
            .map(|v| Civil::at(v.signed_at, doc.utc_offset_minutes)),
        seed: seed(&doc.study_uid),
    };
    write::write(
        &pages,
        &images,
        &faces.regular,
        &faces.bold,
        geometry,
        &meta,
    )
}

/// Compresses with zlib framing, as the PDF FlateDecode filter expects.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

fn seed(text: &str) -> u64 {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn or_dash(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => normalize_text(v),
        _ => "—".to_string(),
    }
}

fn front_matter(flow: &mut Flow<'_, Faces>, doc: &ReportDocument, l: &Labels, names: &Names) {
    if let Some(name) = doc
        .institution_name
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        flow.heading(&normalize_text(name), INSTITUTION, 0.0);
    }
    if let Some(site) = doc.site.as_deref().filter(|s| !s.trim().is_empty()) {
        flow.paragraph(&normalize_text(site), SMALL, 0.0, 0.0);
    }
    flow.rule(RULE);
    flow.space(6.0);
    flow.heading(l.report_title, TITLE, 0.0);
    if doc.status() == ReportStatus::Preliminary {
        flow.space(2.0);
        flow.paragraph(l.preliminary_banner, CRITICAL_TITLE, 0.0, 0.0);
    }
    flow.space(6.0);

    let patient = vec![
        (l.patient.to_string(), names.patient.clone()),
        (l.patient_id.to_string(), normalize_text(&doc.patient_id)),
        (
            l.birth_date.to_string(),
            doc.patient_birth_date
                .as_deref()
                .map_or_else(|| or_dash(None), |d| display_date(d, doc.language)),
        ),
        (
            l.sex.to_string(),
            doc.patient_sex
                .as_deref()
                .map_or_else(|| or_dash(None), |s| l.sex(s)),
        ),
    ];
    let when = match (&doc.study_date, &doc.study_time) {
        (Some(d), Some(t)) => Some(format!(
            "{} {}",
            display_date(d, doc.language),
            display_time(t)
        )),
        (Some(d), None) => Some(display_date(d, doc.language)),
        _ => None,
    };
    let modalities = doc
        .modalities
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let study = vec![
        (
            l.study.to_string(),
            or_dash(doc.study_description.as_deref()),
        ),
        (l.study_date.to_string(), or_dash(when.as_deref())),
        (
            l.accession.to_string(),
            or_dash(doc.accession_number.as_deref()),
        ),
        (l.modalities.to_string(), or_dash(Some(&modalities))),
        (l.referring.to_string(), or_dash(names.referring.as_deref())),
    ];
    flow.columns(&[patient, study], LABEL, BODY, PANEL);
    flow.space(12.0);
}

fn critical(flow: &mut Flow<'_, Faces>, doc: &ReportDocument, l: &Labels) {
    let Some(c) = &doc.critical else { return };
    let at = |t| Civil::at(t, doc.utc_offset_minutes).display(doc.language);
    let mut lines = vec![
        (format!("⚠ {}", l.critical), CRITICAL_TITLE),
        (normalize_text(&c.note), BODY_BOLD),
        (
            format!(
                "{}: {}, {}",
                l.flagged_by,
                normalize_text(&c.flagged_by),
                at(c.flagged_at)
            ),
            SMALL,
        ),
    ];
    let ack = match (&c.acknowledged_by, c.acknowledged_at) {
        (Some(by), Some(t)) => format!("{}: {}, {}", l.acknowledged_by, normalize_text(by), at(t)),
        (Some(by), None) => format!("{}: {}", l.acknowledged_by, normalize_text(by)),
        _ => l.not_acknowledged.to_string(),
    };
    lines.push((ack, SMALL));
    flow.boxed(&lines, CRITICAL_FILL, ALERT);
    flow.space(12.0);
}

fn body(flow: &mut Flow<'_, Faces>, doc: &ReportDocument) {
    let Some(report) = doc.report_version() else {
        return;
    };
    let Some(sections) = &report.sections else {
        return;
    };
    let titles = section_titles(doc.language);
    let present: Vec<(&str, String)> = titles
        .iter()
        .zip(sections.entries())
        .map(|((_, title), (_, text))| (*title, normalize_text(text).trim().to_string()))
        .filter(|(_, text)| !text.is_empty())
        .collect();
    for (i, (title, text)) in present.iter().enumerate() {
        let last = i + 1 == present.len();
        // The last section (usually the impression) stays on a page with
        // the signature, when it is short enough for that to matter.
        let keep = if last {
            let height = flow.paragraph_height(text, BODY, 0.0, PARAGRAPH_GAP);
            let page = flow.geometry.top - flow.geometry.bottom;
            if height < page / 3.0 {
                height + SIGNATURE_HEIGHT
            } else {
                2.0 * BODY.leading()
            }
        } else {
            2.0 * BODY.leading()
        };
        flow.heading(title, SECTION, keep + 2.0);
        flow.space(2.0);
        flow.paragraph(text, BODY, 0.0, PARAGRAPH_GAP);
        if !last {
            flow.space(10.0);
        }
    }
    signature(flow, doc, report);
}

fn signature(flow: &mut Flow<'_, Faces>, doc: &ReportDocument, v: &SignedVersion) {
    let l = labels(doc.language);
    let who = match v.kind {
        VersionKind::Preliminary => l.preliminary_by,
        _ => l.signed_by,
    };
    let at = Civil::at(v.signed_at, doc.utc_offset_minutes).display(doc.language);
    flow.space(8.0);
    flow.ensure(SIGNATURE_HEIGHT - 8.0);
    flow.rule(RULE);
    flow.paragraph(
        &format!("{who}: {}, {at}", normalize_text(&v.signed_by)),
        BODY_BOLD,
        0.0,
        0.0,
    );
}

fn addenda(flow: &mut Flow<'_, Faces>, doc: &ReportDocument, l: &Labels) {
    for (n, v) in doc.addenda().enumerate() {
        flow.space(18.0);
        let at = Civil::at(v.signed_at, doc.utc_offset_minutes).display(doc.language);
        flow.heading(
            &format!("{} {} · {at}", l.addendum, n + 1),
            SECTION,
            3.0 * BODY.leading(),
        );
        flow.space(2.0);
        if let Some(reason) = v.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            flow.paragraph(
                &format!("{}: {}", l.reason, normalize_text(reason).trim()),
                BODY_BOLD,
                0.0,
                0.0,
            );
            flow.space(4.0);
        }
        if let Some(text) = &v.text {
            flow.paragraph(normalize_text(text).trim(), BODY, 0.0, PARAGRAPH_GAP);
        }
        signature(flow, doc, v);
    }
}

/// The running header of pages after the first (institution and title on
/// the left, patient on the right) and the page number on every page.
fn running_heads(
    pages: &mut [Vec<Op>],
    doc: &ReportDocument,
    patient_name: &str,
    l: &Labels,
    faces: &Faces,
    g: Geometry,
) {
    let total = pages.len();
    let head_y = g.height - 48.0;
    let left = match doc.institution_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => format!("{} · {}", normalize_text(name), l.report_title),
        _ => l.report_title.to_string(),
    };
    let patient = format!("{} · {}", patient_name, normalize_text(&doc.patient_id));
    for (i, page) in pages.iter_mut().enumerate() {
        if i > 0 {
            let right_width = faces.width(&patient, true, SMALL.size);
            page.push(Op::Text {
                x: g.left,
                y: head_y,
                style: SMALL,
                text: clip(&left, g.content_width() - right_width - 12.0, faces),
            });
            page.push(Op::Text {
                x: g.right - right_width,
                y: head_y,
                style: Style {
                    bold: true,
                    ..SMALL
                },
                text: patient.clone(),
            });
            page.push(Op::Line {
                x1: g.left,
                y1: head_y - 6.0,
                x2: g.right,
                y2: head_y - 6.0,
                color: RULE,
            });
        }
        let number = format!("{} {} {} {}", l.page, i + 1, l.of, total);
        let width = faces.width(&number, false, SMALL.size);
        page.push(Op::Text {
            x: (g.width - width) / 2.0,
            y: g.bottom - 30.0,
            style: SMALL,
            text: number,
        });
    }
}

/// `text` cut with an ellipsis to fit `max` points in [`SMALL`].
fn clip(text: &str, max: f32, faces: &Faces) -> String {
    if faces.width(text, false, SMALL.size) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if faces.width(&format!("{out}…"), false, SMALL.size) > max {
            out.pop();
            break;
        }
    }
    format!("{}…", out.trim_end())
}
