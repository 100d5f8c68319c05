//! Laid-out pages to PDF objects: one compressed content stream per page,
//! the two font subsets, and the key images.

use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::font::{Font, FontRefs, Subset, subset_tag};
use super::image::Prepared;
use super::layout::{Geometry, Op};
use crate::ReportError;
use crate::format::Civil;

/// Document-level facts written into the catalog and the info dictionary.
pub(crate) struct Meta<'a> {
    pub title: &'a str,
    pub lang: &'a str,
    /// When the report as it stands was signed: the file's creation date,
    /// which keeps the same report producing the same bytes.
    pub created: Option<Civil>,
    /// Seeds the subset tags.
    pub seed: u64,
}

struct Refs(i32);

impl Refs {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }

    fn font(&mut self) -> FontRefs {
        FontRefs {
            type0: self.next(),
            cid: self.next(),
            descriptor: self.next(),
            file: self.next(),
            to_unicode: self.next(),
        }
    }
}

pub(crate) fn write(
    pages: &[Vec<Op>],
    images: &[Prepared],
    regular: &Font,
    bold: &Font,
    geometry: Geometry,
    meta: &Meta<'_>,
) -> Result<Vec<u8>, ReportError> {
    let mut refs = Refs(0);
    let catalog = refs.next();
    let tree = refs.next();
    let info = refs.next();
    let regular_refs = refs.font();
    let bold_refs = refs.font();
    let image_refs: Vec<Ref> = images.iter().map(|_| refs.next()).collect();
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (refs.next(), refs.next())).collect();

    let mut pdf = Pdf::new();
    pdf.set_version(1, 7);
    let mut cat = pdf.catalog(catalog);
    cat.pages(tree).lang(TextStr(meta.lang));
    cat.viewer_preferences().display_doc_title(true);
    cat.finish();
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(page, _)| *page))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));

    let mut regular_subset = Subset::new(regular);
    let mut bold_subset = Subset::new(bold);
    for (ops, (page_ref, content_ref)) in pages.iter().zip(&page_refs) {
        let content = content(ops, &mut regular_subset, &mut bold_subset);
        let deflated = super::deflate(&content);
        pdf.stream(*content_ref, &deflated)
            .filter(Filter::FlateDecode);

        let mut page = pdf.page(*page_ref);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, geometry.width, geometry.height))
            .contents(*content_ref);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), regular_refs.type0);
        fonts.pair(Name(b"F2"), bold_refs.type0);
        fonts.finish();
        let mut xobjects = resources.x_objects();
        for (index, image_ref) in image_refs.iter().enumerate() {
            let used = ops
                .iter()
                .any(|op| matches!(op, Op::Image { index: i, .. } if *i == index));
            if used {
                xobjects.pair(Name(image_name(index).as_bytes()), *image_ref);
            }
        }
    }

    for (img, id) in images.iter().zip(&image_refs) {
        let mut x = pdf.image_xobject(*id, &img.deflated);
        x.width(i32::try_from(img.width).unwrap_or(i32::MAX))
            .height(i32::try_from(img.height).unwrap_or(i32::MAX))
            .bits_per_component(8);
        x.filter(Filter::FlateDecode);
        if img.grey {
            x.color_space().device_gray();
        } else {
            x.color_space().device_rgb();
        }
    }

    // Fonts last: only now is every glyph known.
    regular_subset.write(&mut pdf, &regular_refs, &subset_tag(meta.seed))?;
    bold_subset.write(&mut pdf, &bold_refs, &subset_tag(meta.seed.wrapping_add(1)))?;

    let mut doc_info = pdf.document_info(info);
    doc_info
        .title(TextStr(meta.title))
        .producer(TextStr("pacs reports"));
    if let Some(c) = meta.created {
        doc_info.creation_date(pdf_date(&c));
    }
    doc_info.finish();
    Ok(pdf.finish())
}

fn image_name(index: usize) -> String {
    format!("Im{}", index + 1)
}

fn pdf_date(c: &Civil) -> Date {
    let offset = c.offset_minutes;
    let part = |v: u32| u8::try_from(v).unwrap_or(0);
    let mut date = Date::new(u16::try_from(c.year).unwrap_or(1970))
        .month(part(c.month))
        .day(part(c.day))
        .hour(part(c.hour))
        .minute(part(c.minute))
        .second(part(c.second));
    let hours = i8::try_from(offset / 60).unwrap_or(0);
    let minutes = u8::try_from((offset % 60).unsigned_abs()).unwrap_or(0);
    date = date.utc_offset_hour(hours).utc_offset_minute(minutes);
    date
}

fn content<'f>(ops: &[Op], regular: &mut Subset<'f>, bold: &mut Subset<'f>) -> Vec<u8> {
    let mut c = Content::new();
    for op in ops {
        match op {
            Op::Text { x, y, style, text } => {
                let (name, subset) = if style.bold {
                    (Name(b"F2"), &mut *bold)
                } else {
                    (Name(b"F1"), &mut *regular)
                };
                let encoded = subset.encode(text);
                c.set_fill_rgb(style.color.0, style.color.1, style.color.2);
                c.begin_text()
                    .set_font(name, style.size)
                    .set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y])
                    .show(Str(&encoded))
                    .end_text();
            }
            Op::Rect {
                x,
                y,
                w,
                h,
                fill,
                stroke,
            } => {
                c.set_fill_rgb(fill.0, fill.1, fill.2);
                c.rect(*x, *y, *w, *h);
                match stroke {
                    Some(s) => {
                        c.set_stroke_rgb(s.0, s.1, s.2).set_line_width(1.0);
                        c.fill_nonzero_and_stroke();
                    }
                    None => {
                        c.fill_nonzero();
                    }
                }
            }
            Op::Line {
                x1,
                y1,
                x2,
                y2,
                color,
            } => {
                c.set_stroke_rgb(color.0, color.1, color.2)
                    .set_line_width(0.6)
                    .move_to(*x1, *y1)
                    .line_to(*x2, *y2)
                    .stroke();
            }
            Op::Image { index, x, y, w, h } => {
                c.save_state()
                    .transform([*w, 0.0, 0.0, *h, *x, *y])
                    .x_object(Name(image_name(*index).as_bytes()))
                    .restore_state();
            }
        }
    }
    c.finish().into_vec()
}
