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
    ISO_8859_6, ISO_8859_7, ISO_8859_8, SHIFT_JIS, UTF_8, WINDOWS_874, WINDOWS_1252, WINDOWS_1254,
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
    /// No character set: the parser read ISO 8859-1; the text is this.
    Undeclared(&'static Encoding),
}

impl Plan {
    fn of(terms: &[String], undeclared: Option<Undeclared>) -> Option<Plan> {
        let default = |t: &String| matches!(t.as_str(), "" | "ISO_IR 6" | "ISO 2022 IR 6");
        if terms.len() <= 1 && terms.iter().all(default) {
            return undeclared.map(|u| Plan::Undeclared(u.0));
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
        None
    }

    /// The value decoded right, or `None` where it needs nothing (or
    /// cannot be decoded with certainty).
    fn redecode(&self, value: &str) -> Option<String> {
        match self {
            Plan::Extensions { parsed_as, initial } => {
                if !value.contains('\u{1b}') {
                    return None;
                }
                let bytes = parsed_as.encode(value).ok()?;
                decode_iso2022(&bytes, *initial)
            }
            &Plan::Undeclared(encoding) => {
                if value.is_ascii() {
                    return None;
                }
                // ISO 8859-1 maps byte n to U+00n: every char is one byte.
                let bytes = value
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).ok())
                    .collect::<Option<Vec<u8>>>()?;
                decode_strict(encoding, &bytes)
            }
        }
    }
}

/// Re-decodes the text of `header` (nested items included) that the
/// parser garbled: values with ISO 2022 escape sequences, and, when
/// `undeclared` is given, non-ASCII text of a data set naming no
/// character set. Returns how many values changed.
pub fn repair(header: &mut InMemDicomObject, undeclared: Option<Undeclared>) -> usize {
    let terms: Vec<String> = header
        .get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.value().to_multi_str().ok())
        .map(|v| v.iter().map(|t| t.trim().to_owned()).collect())
        .unwrap_or_default();
    match Plan::of(&terms, undeclared) {
        Some(plan) => repair_in(header, &plan),
        None => 0,
    }
}

fn repair_in(obj: &mut InMemDicomObject, plan: &Plan) -> usize {
    let elements: Vec<(Tag, VR)> = obj.iter().map(|e| (e.tag(), e.vr())).collect();
    let mut changed = 0;
    for (tag, vr) in elements {
        if vr == VR::SQ {
            obj.update_value(tag, |v| {
                if let Some(items) = v.items_mut() {
                    for item in items.iter_mut() {
                        changed += repair_in(item, plan);
                    }
                }
            });
        } else if TEXT_VRS.contains(&vr) {
            let fixed: Option<Vec<String>> = obj.get(tag).and_then(|e| {
                let values = e.value().to_multi_str().ok()?;
                let redone: Vec<Option<String>> = values.iter().map(|v| plan.redecode(v)).collect();
                redone.iter().any(Option::is_some).then(|| {
                    values
                        .iter()
                        .zip(redone)
                        .map(|(old, new)| new.unwrap_or_else(|| old.clone()))
                        .collect()
                })
            });
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

/// One value in ISO 2022 form, from the state `initial`. `None` for an
/// unknown escape sequence, bytes no set is invoked for, or bytes their
/// set does not define.
fn decode_iso2022(bytes: &[u8], initial: Sets) -> Option<String> {
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
        } else {
            out.push(char::from(b));
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::DataElement;
    use dicom_core::value::DataSetSequence;

    fn ascii_start() -> Sets {
        Sets {
            g0: G0::Ascii,
            g1: None,
        }
    }

    #[test]
    fn japanese_names_of_ps3_5_annex_h() {
        let bytes =
            b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B";
        assert_eq!(
            decode_iso2022(bytes, ascii_start()).as_deref(),
            Some("Yamada^Tarou=山田^太郎=やまだ^たろう")
        );
    }

    #[test]
    fn korean_names_of_ps3_5_annex_i() {
        let bytes = b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf";
        assert_eq!(
            decode_iso2022(bytes, ascii_start()).as_deref(),
            Some("Hong^Gildong=洪^吉洞=홍^길동")
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
        assert_eq!(decode_iso2022(b"caf\xe9", latin1).as_deref(), Some("café"));
    }

    fn header(charset: Option<&str>, name: &[u8]) -> InMemDicomObject {
        // Parsed the way the archive parses: through dicom-rs, from bytes.
        let mut obj = InMemDicomObject::new_empty();
        if let Some(cs) = charset {
            obj.put(DataElement::new(
                tags::SPECIFIC_CHARACTER_SET,
                VR::CS,
                PrimitiveValue::Strs(cs.split('\\').map(str::to_owned).collect()),
            ));
        }
        let first = charset.and_then(|c| c.split('\\').next()).unwrap_or("");
        let parsed_as = SpecificCharacterSet::from_code(first).unwrap_or_default();
        let text = parsed_as.decode(name).expect("the parser's decoding");
        obj.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from(text.clone()),
        ));
        let mut item = InMemDicomObject::new_empty();
        item.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from(text),
        ));
        obj.put(DataElement::new(
            tags::REFERENCED_PATIENT_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![item]),
        ));
        obj
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
        (top.into_owned(), nested.into_owned())
    }

    #[test]
    fn cyrillic_code_extensions_are_decoded_nested_items_included() {
        let mut name = b"Ivanov^Ivan=\x1b-L".to_vec();
        name.extend(ISO_8859_5.encode("Иванов^Иван").0.iter());
        for charset in ["\\ISO 2022 IR 144", "ISO 2022 IR 100\\ISO 2022 IR 144"] {
            let mut obj = header(Some(charset), &name);
            assert_eq!(repair(&mut obj, None), 2, "{charset}");
            let want = "Ivanov^Ivan=Иванов^Иван".to_owned();
            assert_eq!(names(&obj), (want.clone(), want), "{charset}");
        }
    }

    #[test]
    fn undeclared_text_is_read_as_configured_and_only_then() {
        let name = WINDOWS_1251_NAME;
        let mut obj = header(None, name);
        assert_eq!(repair(&mut obj, None), 0, "nothing assumed");
        assert_eq!(names(&obj).0, "Èâàíîâ^Èâàí");
        let cp1251 = Undeclared::parse("windows-1251").unwrap();
        assert_eq!(repair(&mut obj, Some(cp1251)), 2);
        assert_eq!(names(&obj).0, "Иванов^Иван");
        // Declared text is never second-guessed.
        let mut declared = header(Some("ISO_IR 100"), name);
        assert_eq!(repair(&mut declared, Some(cp1251)), 0);
        // ASCII stays as it is; bytes the assumption cannot decode too.
        let mut ascii = header(None, b"Ivanov^Ivan");
        assert_eq!(repair(&mut ascii, Some(cp1251)), 0);
        let utf8 = Undeclared::parse("ISO_IR 192").unwrap();
        let mut not_utf8 = header(None, name);
        assert_eq!(repair(&mut not_utf8, Some(utf8)), 0);
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
