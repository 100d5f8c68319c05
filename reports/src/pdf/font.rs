//! The embedded typeface: metrics for layout, and a subset of the glyphs a
//! document used, written as a CID-keyed TrueType font with a ToUnicode map
//! so that text can be searched and copied.
//!
//! DejaVu Sans is 760 KB (Bold 710 KB). The subset a Russian or English
//! report uses is 23-28 KB per face, 11-15 KB compressed, so a one- or
//! two-page report without key images comes to 35-40 KB.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use crate::ReportError;

const REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// One face of the embedded typeface.
pub(crate) struct Font {
    face: Face<'static>,
    data: &'static [u8],
    postscript_name: String,
    units_per_em: f32,
    /// Shown for characters the face lacks.
    fallback: GlyphId,
}

impl Font {
    pub fn regular() -> Result<Font, ReportError> {
        Font::parse(REGULAR)
    }

    pub fn bold() -> Result<Font, ReportError> {
        Font::parse(BOLD)
    }

    fn parse(data: &'static [u8]) -> Result<Font, ReportError> {
        let face = Face::parse(data, 0).map_err(|e| ReportError::Font(e.to_string()))?;
        let postscript_name = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            .unwrap_or_else(|| "DejaVuSans".to_string());
        let fallback = face
            .glyph_index('?')
            .ok_or_else(|| ReportError::Font("no glyph for '?'".into()))?;
        Ok(Font {
            units_per_em: f32::from(face.units_per_em()),
            face,
            data,
            postscript_name,
            fallback,
        })
    }

    pub fn has_glyph(&self, c: char) -> bool {
        self.face.glyph_index(c).is_some()
    }

    fn glyph(&self, c: char) -> GlyphId {
        self.face.glyph_index(c).unwrap_or(self.fallback)
    }

    /// Advance of a glyph in thousandths of an em, the unit PDF widths use.
    fn advance_milli(&self, glyph: GlyphId) -> f32 {
        let units = self.face.glyph_hor_advance(glyph).unwrap_or(0);
        f32::from(units) * 1000.0 / self.units_per_em
    }

    /// Width of `text` set at `size` points. Widths add up: the layout
    /// applies no kerning, and neither does the PDF.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let milli: f32 = text
            .chars()
            .map(|c| self.advance_milli(self.glyph(c)))
            .sum();
        milli * size / 1000.0
    }

    fn to_milli(&self, units: i16) -> f32 {
        f32::from(units) * 1000.0 / self.units_per_em
    }
}

/// The glyphs of one face that a document used, numbered as they appear.
pub(crate) struct Subset<'f> {
    font: &'f Font,
    remapper: GlyphRemapper,
    /// New glyph id → the character it shows, for the ToUnicode map.
    chars: BTreeMap<u16, char>,
}

/// Object ids of one embedded face.
pub(crate) struct FontRefs {
    pub type0: Ref,
    pub cid: Ref,
    pub descriptor: Ref,
    pub file: Ref,
    pub to_unicode: Ref,
}

impl<'f> Subset<'f> {
    pub fn new(font: &'f Font) -> Subset<'f> {
        Subset {
            font,
            remapper: GlyphRemapper::new(),
            chars: BTreeMap::new(),
        }
    }

    /// `text` as two-byte CIDs (Identity-H), registering its glyphs.
    pub fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let glyph = self.font.glyph(c);
            let cid = self.remapper.remap(glyph.0);
            if glyph != self.font.fallback || c == '?' {
                self.chars.entry(cid).or_insert(c);
            }
            out.extend_from_slice(&cid.to_be_bytes());
        }
        out
    }

    /// Writes the Type 0 font, its CID font, descriptor, subset font file
    /// and ToUnicode map. `tag` makes the subset's name unique in the file.
    pub fn write(self, pdf: &mut Pdf, refs: &FontRefs, tag: &str) -> Result<(), ReportError> {
        let font = self.font;
        let subset = subsetter::subset(font.data, 0, &self.remapper)
            .map_err(|e| ReportError::Font(format!("subsetting: {e}")))?;
        let base_name = format!("{tag}+{}", font.postscript_name);
        let base_name = Name(base_name.as_bytes());

        pdf.type0_font(refs.type0)
            .base_font(base_name)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(refs.cid)
            .to_unicode(refs.to_unicode);

        let system_info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        // Remapped glyph ids are consecutive from 0, so widths are one run.
        let widths: Vec<f32> = self
            .remapper
            .remapped_gids()
            .map(|old| font.advance_milli(GlyphId(old)))
            .collect();
        let mut cid = pdf.cid_font(refs.cid);
        cid.subtype(CidFontType::Type2)
            .base_font(base_name)
            .system_info(system_info)
            .font_descriptor(refs.descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cid.widths().consecutive(0, widths);
        drop(cid);

        let face = &font.face;
        let bbox = face.global_bounding_box();
        let mut flags = FontFlags::NON_SYMBOLIC;
        if face.is_monospaced() {
            flags |= FontFlags::FIXED_PITCH;
        }
        let bold = face.weight().to_number() >= 600;
        let cap_height = face.capital_height().unwrap_or(face.ascender());
        pdf.font_descriptor(refs.descriptor)
            .name(base_name)
            .flags(flags)
            .bbox(Rect::new(
                font.to_milli(bbox.x_min),
                font.to_milli(bbox.y_min),
                font.to_milli(bbox.x_max),
                font.to_milli(bbox.y_max),
            ))
            .italic_angle(face.italic_angle())
            .ascent(font.to_milli(face.ascender()))
            .descent(font.to_milli(face.descender()))
            .cap_height(font.to_milli(cap_height))
            // No stem width in TrueType; these are the usual estimates.
            .stem_v(if bold { 140.0 } else { 80.0 })
            .font_file2(refs.file);

        let compressed = super::deflate(&subset);
        pdf.stream(refs.file, &compressed)
            .filter(Filter::FlateDecode)
            .pair(
                Name(b"Length1"),
                i32::try_from(subset.len()).unwrap_or(i32::MAX),
            );

        let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
        for (cid, c) in &self.chars {
            cmap.pair(*cid, *c);
        }
        let cmap = cmap.finish();
        pdf.cmap(refs.to_unicode, cmap.as_slice());
        Ok(())
    }
}

/// A six-letter subset tag derived from `seed`, as PDF asks subset font
/// names to carry (`ABCDEF+Name`).
pub(crate) fn subset_tag(seed: u64) -> String {
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    (0..6)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            char::from(b'A' + u8::try_from((x >> 33) % 26).unwrap_or(0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Lang;
    use crate::templates::{section_titles, templates};

    #[test]
    fn faces_cover_every_fixed_text() {
        let regular = Font::regular().expect("regular");
        let bold = Font::bold().expect("bold");
        let mut text = String::from("ʻʼ‘’“”«»–—…•№°±×µ²³ ⚠");
        for lang in Lang::ALL {
            for t in templates(lang) {
                text.push_str(&t.name);
                for (_, s) in t.sections.entries() {
                    text.push_str(s);
                }
            }
            for (_, title) in section_titles(lang) {
                text.push_str(title);
            }
            text.push_str(crate::labels::labels(lang).report_title);
        }
        text.push_str("АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя");
        text.push_str("ЎўҚқҒғҲҳ");
        for c in text.chars().filter(|c| !c.is_whitespace()) {
            assert!(regular.has_glyph(c), "regular lacks {c:?}");
            assert!(bold.has_glyph(c), "bold lacks {c:?}");
        }
    }

    #[test]
    fn widths_add_up_and_bold_is_wider() {
        let regular = Font::regular().expect("regular");
        let bold = Font::bold().expect("bold");
        let a = regular.width("Заключение", 10.0);
        let b = regular.width("Заклю", 10.0) + regular.width("чение", 10.0);
        assert!((a - b).abs() < 1e-3);
        assert!(a > 30.0 && a < 80.0, "{a}");
        assert!(bold.width("Заключение", 10.0) > a);
        assert_eq!(regular.width("", 10.0), 0.0);
    }

    #[test]
    fn encoding_registers_glyphs_once() {
        let regular = Font::regular().expect("regular");
        let mut subset = Subset::new(&regular);
        let first = subset.encode("oʻgʻ");
        let again = subset.encode("gʻo");
        assert_eq!(first.len(), 8);
        // The same characters get the same CIDs.
        assert_eq!(&first[2..4], &again[2..4]);
        assert_eq!(&first[0..2], &again[4..6]);
        assert_eq!(subset.chars.len(), 3);
        // A character the face lacks shows as '?' and is not mapped back.
        let missing = subset.encode("\u{10FFFD}");
        assert_eq!(missing, subset.encode("?"));
    }

    #[test]
    fn bold_face_keeps_its_own_postscript_name() {
        // The name table's first PostScript-name entry is Mac Roman, which
        // does not decode: the bold face used to be named "DejaVuSans".
        assert_eq!(
            Font::regular().expect("regular").postscript_name,
            "DejaVuSans"
        );
        assert_eq!(
            Font::bold().expect("bold").postscript_name,
            "DejaVuSans-Bold"
        );
    }

    #[test]
    fn subset_tags_are_six_capitals() {
        let tag = subset_tag(42);
        assert_eq!(tag.len(), 6);
        assert!(tag.bytes().all(|b| b.is_ascii_uppercase()));
        assert_ne!(subset_tag(1), subset_tag(2));
    }
}
