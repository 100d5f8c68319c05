//! Text as equipment actually sends it. The parser decodes a data set's
//! text with the first value of its Specific Character Set (0008,0005)
//! alone, so two kinds of data set come out garbled:
//!
//! - **ISO 2022 code extensions**: several character sets, switched by
//!   escape sequences within a value (`ISO 2022 IR 6\ISO 2022 IR 144` for
//!   Cyrillic beside Latin names; Japanese, Korean and Chinese names).
//! - **Undeclared text**: no character set named although the text is not
//!   ASCII, as older equipment writes its local code page (windows-1251 on
//!   many Russian-language consoles). The parser reads it as ISO 8859-1;
//!   the archive can be told what such text really is.
//!
//! [`repair`] re-decodes those values in a parsed header, from the bytes
//! the parser's own decoding gives back exactly; what cannot be decoded
//! with certainty is left as parsed. The stored object is never changed:
//! what this fixes is what the index, searches and metadata say.

use dicom_core::header::Header;
use dicom_core::value::PrimitiveValue;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::InMemDicomObject;
use encoding_rs::{
    EUC_JP, EUC_KR, Encoding, GB18030, GBK, ISO_8859_2, ISO_8859_3, ISO_8859_4, ISO_8859_5,
    ISO_8859_6, ISO_8859_7, ISO_8859_8, ISO_8859_15, SHIFT_JIS, UTF_8, WINDOWS_874, WINDOWS_1252,
    WINDOWS_1254,
};

/// What text is in a data set that names no character set (or only the
/// default repertoire) yet holds bytes outside ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undeclared(&'static Encoding);

impl Undeclared {
    /// A DICOM defined term (`ISO_IR 144`, `ISO_IR 192`, ...) or an
    /// encoding's common name (`windows-1251`, `koi8-r`, `cp1251`, ...).
    pub fn parse(name: &str) -> Result<Undeclared, String> {
        let name = name.trim();
        let known = dicom_term(name)
            .or_else(|| Encoding::for_label(name.as_bytes()).filter(|e| e.is_ascii_compatible()));
        known.map(Undeclared).ok_or_else(|| {
            format!(
                "unknown character set {name:?}: give a DICOM term such as \"ISO_IR 144\" \
                 or an encoding such as \"windows-1251\" or \"koi8-r\""
            )
        })
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// The encoding of a single-valued DICOM defined term.
fn dicom_term(term: &str) -> Option<&'static Encoding> {
    match term {
        "ISO_IR 192" => Some(UTF_8),
        "GB18030" => Some(GB18030),
        "GBK" => Some(GBK),
        "ISO_IR 13" => Some(SHIFT_JIS),
        _ => iso_ir_number(term).and_then(single_byte),
    }
}

/// The registration number in `ISO_IR 144` or `ISO 2022 IR 144`.
fn iso_ir_number(term: &str) -> Option<u16> {
    term.strip_prefix("ISO_IR ")
        .or_else(|| term.strip_prefix("ISO 2022 IR "))
        .and_then(|n| n.trim().parse().ok())
}

/// The single-byte sets DICOM names by ISO-IR number, as encodings whose
/// upper half is the set's G1 (ISO 8859-1 as windows-1252, which agrees
/// with it on every printable character; likewise 8859-9 and TIS 620).
fn single_byte(ir: u16) -> Option<&'static Encoding> {
    Some(match ir {
        100 => WINDOWS_1252,
        101 => ISO_8859_2,
        109 => ISO_8859_3,
        110 => ISO_8859_4,
        126 => ISO_8859_7,
        127 => ISO_8859_6,
        138 => ISO_8859_8,
        144 => ISO_8859_5,
        148 => WINDOWS_1254,
        166 => WINDOWS_874,
        203 => ISO_8859_15,
        13 => SHIFT_JIS,
        _ => return None,
    })
}

/// The VRs whose values the Specific Character Set applies to.
const TEXT_VRS: [VR; 7] = [VR::SH, VR::LO, VR::ST, VR::LT, VR::UT, VR::UC, VR::PN];

/// What the parser did to a data set's text, and how to undo it.
#[derive(Clone)]
enum Plan {
    /// Code extensions: the parser decoded with the first value only;
    /// `parsed_as` gives the bytes back, `initial` is where decoding
    /// starts in each value.
    Extensions {
        parsed_as: SpecificCharacterSet,
        initial: Sets,
    },
    /// The parser read the text as ISO 8859-1 (it names no character set,
    /// or one the parser does not know); the text is this.
    Reread(&'static Encoding),
}

impl Plan {
    fn of(terms: &[String], undeclared: Option<Undeclared>) -> Option<Plan> {
        let default = |t: &String| matches!(t.as_str(), "" | "ISO_IR 6" | "ISO 2022 IR 6");
        if terms.len() <= 1 && terms.iter().all(default) {
            return undeclared.map(|u| Plan::Reread(u.0));
        }
        let first = terms.first().map(String::as_str).unwrap_or("");
        if terms.len() > 1 || first.starts_with("ISO 2022") {
            return Some(Plan::Extensions {
                parsed_as: SpecificCharacterSet::from_code(first).unwrap_or_default(),
                initial: Sets {
                    g0: G0::Ascii,
                    g1: iso_ir_number(first).and_then(single_byte),
                },
            });
        }
        if SpecificCharacterSet::from_code(first).is_some() {
            return None; // decoded right by the parser
        }
        let known = dicom_term(first).map(Plan::Reread);
        if known.is_none() {
            tracing::warn!(
                charset = first,
                "text in a character set this archive does not know is read as ISO 8859-1"
            );
        }
        known
    }

    /// An element's values decoded right, or `None` where they need
    /// nothing (or cannot be decoded with certainty). The values are
    /// joined again with the backslash the parser split them at: in a
    /// two-byte set that byte may be half a character, not a delimiter.
    fn redecode(&self, values: &[String]) -> Option<Vec<String>> {
        match self {
            Plan::Extensions { parsed_as, initial } => {
                if !values.iter().any(|v| v.contains('\u{1b}')) {
                    return None;
                }
                let mut bytes = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        bytes.push(b'\\');
                    }
                    bytes.extend(parsed_as.encode(v).ok()?);
                }
                decode_iso2022(&bytes, *initial)
            }
            &Plan::Reread(encoding) => {
                if values.iter().all(|v| v.is_ascii()) {
                    return None;
                }
                // ISO 8859-1 maps byte n to U+00n: every char is one byte.
                let joined = values.join("\\");
                let bytes = joined
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).ok())
                    .collect::<Option<Vec<u8>>>()?;
                let text = decode_strict(encoding, &bytes)?;
                Some(text.split('\\').map(str::to_owned).collect())
            }
        }
    }
}

/// Re-decodes the text of `header` (nested items included) that the
/// parser garbled: values with ISO 2022 escape sequences, text in a
/// character set the parser does not know (ISO_IR 148, ISO_IR 203), and,
/// when `undeclared` is given, non-ASCII text of a data set naming no
/// character set. An item naming its own character set is left as the
/// parser read it. Returns how many elements changed.
pub fn repair(header: &mut InMemDicomObject, undeclared: Option<Undeclared>) -> usize {
    match Plan::of(&terms_of(header), undeclared) {
        Some(plan) => repair_in(header, &plan),
        None => 0,
    }
}

fn terms_of(obj: &InMemDicomObject) -> Vec<String> {
    obj.get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.value().to_multi_str().ok())
        .map(|v| v.iter().map(|t| t.trim().to_owned()).collect())
        .unwrap_or_default()
}

fn repair_in(obj: &mut InMemDicomObject, plan: &Plan) -> usize {
    let elements: Vec<(Tag, VR)> = obj.iter().map(|e| (e.tag(), e.vr())).collect();
    let mut changed = 0;
    for (tag, vr) in elements {
        if vr == VR::SQ {
            obj.update_value(tag, |v| {
                if let Some(items) = v.items_mut() {
                    for item in items.iter_mut() {
                        if item.get(tags::SPECIFIC_CHARACTER_SET).is_none() {
                            changed += repair_in(item, plan);
                        }
                    }
                }
            });
        } else if TEXT_VRS.contains(&vr) {
            let fixed = obj
                .get(tag)
                .and_then(|e| e.value().to_multi_str().ok())
                .and_then(|values| plan.redecode(&values));
            if let Some(fixed) = fixed {
                changed += 1;
                obj.update_value(tag, |v| {
                    if let Some(p) = v.primitive_mut() {
                        *p = PrimitiveValue::Strs(fixed.iter().cloned().collect());
                    }
                });
            }
        }
    }
    changed
}

fn decode_strict(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|s| s.into_owned())
}

/// The set invoked for bytes below 0x80.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum G0 {
    Ascii,
    /// JIS X 0208 (ISO-IR 87), two bytes per character.
    Jis0208,
    /// JIS X 0212 (ISO-IR 159), two bytes per character.
    Jis0212,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sets {
    g0: G0,
    /// The set invoked for bytes from 0x80, if any: an ISO 8859 part,
    /// TIS 620 or JIS X 0201 katakana (one byte per character), or KS X
    /// 1001 or GB 2312 in their EUC form (whose decoders read the pairs).
    g1: Option<&'static Encoding>,
}

/// The escape sequences of PS3.3 C.12.1.1.2, with how long each is.
fn designation(bytes: &[u8]) -> Option<(usize, Result<G0, &'static Encoding>)> {
    Some(match bytes {
        [0x1b, b'(', b'B' | b'J', ..] => (3, Ok(G0::Ascii)),
        [0x1b, b'$', b'B' | b'@', ..] => (3, Ok(G0::Jis0208)),
        [0x1b, b'$', b'(', b'D', ..] => (4, Ok(G0::Jis0212)),
        [0x1b, b')', b'I', ..] => (3, Err(SHIFT_JIS)),
        [0x1b, b'$', b')', b'C', ..] => (4, Err(EUC_KR)),
        [0x1b, b'$', b')', b'A', ..] => (4, Err(GBK)),
        [0x1b, b'-', f, ..] => {
            let ir = match f {
                b'A' => 100,
                b'B' => 101,
                b'C' => 109,
                b'D' => 110,
                b'F' => 126,
                b'G' => 127,
                b'H' => 138,
                b'L' => 144,
                b'M' => 148,
                b'T' => 166,
                _ => return None,
            };
            (3, Err(single_byte(ir)?))
        }
        _ => return None,
    })
}

/// An element's values in ISO 2022 form, each decoded from the state
/// `initial`. A backslash separates values only while G0 is ASCII: in a
/// two-byte set it is half a character. `None` for an unknown escape
/// sequence, bytes no set is invoked for, or bytes their set does not
/// define.
fn decode_iso2022(bytes: &[u8], initial: Sets) -> Option<Vec<String>> {
    let mut values = Vec::new();
    let mut out = String::with_capacity(bytes.len());
    let mut sets = initial;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            let (len, set) = designation(&bytes[i..])?;
            match set {
                Ok(g0) => sets.g0 = g0,
                Err(g1) => sets.g1 = Some(g1),
            }
            i += len;
        } else if b >= 0x80 {
            let encoding = sets.g1?;
            let end = i + bytes[i..].iter().take_while(|&&c| c >= 0x80).count();
            out.push_str(&decode_strict(encoding, &bytes[i..end])?);
            i = end;
        } else if sets.g0 != G0::Ascii
            && (0x21..0x7f).contains(&b)
            && bytes.get(i + 1).is_some_and(|c| (0x21..0x7f).contains(c))
        {
            // JIS X 0208 and 0212 as EUC-JP writes them.
            let pair = [b | 0x80, bytes[i + 1] | 0x80];
            let euc: &[u8] = if sets.g0 == G0::Jis0212 {
                &[0x8f, pair[0], pair[1]]
            } else {
                &pair
            };
            out.push_str(&decode_strict(EUC_JP, euc)?);
            i += 2;
        } else if b == b'\\' && sets.g0 == G0::Ascii {
            values.push(std::mem::take(&mut out));
            sets = initial;
            i += 1;
        } else {
            out.push(char::from(b));
            i += 1;
        }
    }
    values.push(out);
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN;

    fn ascii_start() -> Sets {
        Sets {
            g0: G0::Ascii,
            g1: None,
        }
    }

    fn one(value: &str) -> Option<Vec<String>> {
        Some(vec![value.to_owned()])
    }

    #[test]
    fn japanese_names_of_ps3_5_annex_h() {
        let bytes =
            b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B";
        assert_eq!(
            decode_iso2022(bytes, ascii_start()),
            one("Yamada^Tarou=山田^太郎=やまだ^たろう")
        );
    }

    #[test]
    fn korean_names_of_ps3_5_annex_i() {
        let bytes = b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf";
        assert_eq!(
            decode_iso2022(bytes, ascii_start()),
            one("Hong^Gildong=洪^吉洞=홍^길동")
        );
    }

    #[test]
    fn unknown_escapes_and_uninvoked_bytes_are_left_alone() {
        assert_eq!(decode_iso2022(b"a\x1b%Gb", ascii_start()), None);
        assert_eq!(decode_iso2022(b"caf\xe9", ascii_start()), None);
        let latin1 = Sets {
            g0: G0::Ascii,
            g1: Some(WINDOWS_1252),
        };
        assert_eq!(decode_iso2022(b"caf\xe9", latin1), one("café"));
    }

    /// An explicit VR little endian element with a short length.
    fn element(tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut value = value.to_vec();
        if value.len() % 2 == 1 {
            value.push(b' ');
        }
        let mut out = Vec::new();
        out.extend(tag.0.to_le_bytes());
        out.extend(tag.1.to_le_bytes());
        out.extend(vr);
        out.extend((value.len() as u16).to_le_bytes());
        out.extend(value);
        out
    }

    /// A data set with `charset` (if any) and `name`, and an item of
    /// Referenced Patient Sequence with its own `item_charset` (if any)
    /// and the same name, parsed by dicom-rs as the archive parses.
    fn parsed(
        charset: Option<&[u8]>,
        name: &[u8],
        item_charset: Option<&[u8]>,
    ) -> InMemDicomObject {
        let mut bytes = Vec::new();
        if let Some(cs) = charset {
            bytes.extend(element(tags::SPECIFIC_CHARACTER_SET, b"CS", cs));
        }
        bytes.extend(element(tags::PATIENT_NAME, b"PN", name));
        let mut item = Vec::new();
        if let Some(cs) = item_charset {
            item.extend(element(tags::SPECIFIC_CHARACTER_SET, b"CS", cs));
        }
        item.extend(element(tags::PATIENT_NAME, b"PN", name));
        let seq = tags::REFERENCED_PATIENT_SEQUENCE;
        bytes.extend(seq.0.to_le_bytes());
        bytes.extend(seq.1.to_le_bytes());
        bytes.extend(b"SQ\0\0");
        bytes.extend(u32::MAX.to_le_bytes());
        bytes.extend([0xfe, 0xff, 0x00, 0xe0]);
        bytes.extend((item.len() as u32).to_le_bytes());
        bytes.extend(item);
        bytes.extend([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
        InMemDicomObject::read_dataset_with_ts(&bytes[..], &EXPLICIT_VR_LITTLE_ENDIAN.erased())
            .expect("parsed")
    }

    fn names(obj: &InMemDicomObject) -> (String, String) {
        let top = obj.get(tags::PATIENT_NAME).unwrap().to_str().unwrap();
        let nested = obj
            .get(tags::REFERENCED_PATIENT_SEQUENCE)
            .and_then(|s| s.items())
            .and_then(|items| items[0].get(tags::PATIENT_NAME))
            .unwrap()
            .to_str()
            .unwrap();
        (top.trim_end().to_owned(), nested.trim_end().to_owned())
    }

    #[test]
    fn cyrillic_code_extensions_are_decoded_nested_items_included() {
        let mut name = b"Ivanov^Ivan=\x1b-L".to_vec();
        name.extend(ISO_8859_5.encode("Иванов^Иван").0.iter());
        for charset in [
            &b"\\ISO 2022 IR 144"[..],
            b"ISO 2022 IR 100\\ISO 2022 IR 144",
        ] {
            let mut obj = parsed(Some(charset), &name, None);
            assert_eq!(repair(&mut obj, None), 2);
            let want = "Ivanov^Ivan=Иванов^Иван".to_owned();
            assert_eq!(names(&obj), (want.clone(), want));
        }
    }

    #[test]
    fn a_backslash_inside_a_two_byte_character_is_not_a_delimiter() {
        // ぼ in JIS X 0208 is 0x24 0x5C: the parser splits the value there.
        let name = b"Yamada^Tarou=\x1b$B;3ED$\\\x1b(B\\Second";
        let mut obj = parsed(Some(b"\\ISO 2022 IR 87"), name, None);
        assert!(repair(&mut obj, None) > 0);
        let values = obj
            .get(tags::PATIENT_NAME)
            .unwrap()
            .value()
            .to_multi_str()
            .unwrap()
            .to_vec();
        assert_eq!(values, vec!["Yamada^Tarou=山田ぼ", "Second"]);
    }

    #[test]
    fn undeclared_text_is_read_as_configured_and_declared_text_never() {
        let cp1251 = Undeclared::parse("windows-1251").unwrap();
        let mut obj = parsed(None, WINDOWS_1251_NAME, None);
        assert_eq!(names(&obj).0, "Èâàíîâ^Èâàí", "as the parser reads it");
        assert_eq!(repair(&mut obj.clone(), None), 0, "nothing assumed");
        assert_eq!(repair(&mut obj, Some(cp1251)), 2);
        assert_eq!(names(&obj).0, "Иванов^Иван");
        // Declared text is never second-guessed, at the top or in an item
        // naming its own character set.
        let mut declared = parsed(Some(b"ISO_IR 100"), WINDOWS_1251_NAME, None);
        assert_eq!(repair(&mut declared, Some(cp1251)), 0);
        let mut item = parsed(None, b"M\xfcller", Some(b"ISO_IR 100"));
        assert_eq!(repair(&mut item, Some(cp1251)), 1, "only the top level");
        assert_eq!(names(&item).1, "Müller");
        // ASCII stays as it is; bytes the assumption cannot decode too.
        let mut ascii = parsed(None, b"Ivanov^Ivan", None);
        assert_eq!(repair(&mut ascii, Some(cp1251)), 0);
        let utf8 = Undeclared::parse("ISO_IR 192").unwrap();
        let mut not_utf8 = parsed(None, WINDOWS_1251_NAME, None);
        assert_eq!(repair(&mut not_utf8, Some(utf8)), 0);
    }

    #[test]
    fn sets_the_parser_does_not_know_are_read_right() {
        // ISO_IR 148 (Latin 5, Turkish): Ş is 0xDE.
        let mut obj = parsed(Some(b"ISO_IR 148"), b"\xdeahin^Ay\xfee", None);
        assert_eq!(repair(&mut obj, None), 2);
        assert_eq!(names(&obj).0, "Şahin^Ayşe");
    }

    const WINDOWS_1251_NAME: &[u8] = b"\xc8\xe2\xe0\xed\xee\xe2^\xc8\xe2\xe0\xed";

    #[test]
    fn undeclared_names_dicom_terms_and_encodings() {
        assert_eq!(
            Undeclared::parse("ISO_IR 144").unwrap().name(),
            "ISO-8859-5"
        );
        assert_eq!(Undeclared::parse("cp1251").unwrap().name(), "windows-1251");
        assert_eq!(Undeclared::parse("KOI8-R").unwrap().name(), "KOI8-R");
        assert!(Undeclared::parse("utf-16").is_err());
        assert!(
            Undeclared::parse("klingon")
                .unwrap_err()
                .contains("windows-1251")
        );
    }
}
