//! Where things are inside a stored instance, found by walking the element
//! headers of the encoded bytes without decoding values.
//!
//! Ingest records the byte ranges of the pixel data (and of each frame's
//! fragments for encapsulated syntaxes), so that a frame is later served
//! with one ranged read of the object instead of a parse of the whole
//! instance.

use serde::{Deserialize, Serialize};

/// Tags the walker needs.
const ITEM: u32 = 0xFFFE_E000;
const ITEM_DELIMITER: u32 = 0xFFFE_E00D;
const SEQUENCE_DELIMITER: u32 = 0xFFFE_E0DD;
const PIXEL_DATA: u32 = 0x7FE0_0010;
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Why the encoded bytes could not be walked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("the data ends inside an element header or value at byte {0} (truncated?)")]
    Truncated(u64),
    #[error(
        "element ({group:04X},{element:04X}) at byte {offset} declares {length} bytes, more than the {available} that remain"
    )]
    LengthOverrun {
        group: u16,
        element: u16,
        offset: u64,
        length: u64,
        available: u64,
    },
    #[error(
        "unexpected tag ({group:04X},{element:04X}) at byte {offset} inside an encapsulated pixel data sequence"
    )]
    BadFragment {
        group: u16,
        element: u16,
        offset: u64,
    },
    #[error("sequences are nested more than {0} deep")]
    TooDeep(usize),
    #[error("not a DICOM Part 10 stream: {0}")]
    NotPart10(&'static str),
}

/// How the data set is encoded, as far as the walker cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub explicit_vr: bool,
    pub little_endian: bool,
}

impl Encoding {
    /// The encoding of a transfer syntax, or `None` for those whose data set
    /// is not walkable as is (deflated ones).
    pub fn of_transfer_syntax(ts: &str) -> Option<Encoding> {
        match ts {
            "1.2.840.10008.1.2" => Some(Encoding {
                explicit_vr: false,
                little_endian: true,
            }),
            "1.2.840.10008.1.2.2" => Some(Encoding {
                explicit_vr: true,
                little_endian: false,
            }),
            "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.4.95" | "1.2.840.10008.1.2.4.205" => None,
            _ => Some(Encoding {
                explicit_vr: true,
                little_endian: true,
            }),
        }
    }
}

/// Byte range `[offset, offset + length)` within the stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub offset: u64,
    pub length: u64,
}

/// Where the pixel data of an instance lies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelLayout {
    /// No pixel data (or an instance that could not be walked).
    Absent,
    /// Native pixel data: frame `i` is `frame_length` bytes at
    /// `value.offset + i * frame_length`.
    Native { value: Span, frame_length: u64 },
    /// Encapsulated pixel data: the value spans of each frame's fragments,
    /// item headers excluded.
    Encapsulated { frames: Vec<Vec<Span>> },
}

/// The file meta information a Part 10 stream starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part10Header {
    pub media_storage_sop_class_uid: String,
    pub media_storage_sop_instance_uid: String,
    pub transfer_syntax_uid: String,
    /// Offset of the first data set element.
    pub dataset_offset: usize,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    little_endian: bool,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], LayoutError> {
        if self.remaining() < n {
            return Err(LayoutError::Truncated(self.pos as u64));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, LayoutError> {
        let b = self.take(2)?;
        Ok(if self.little_endian {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }

    fn u32(&mut self) -> Result<u32, LayoutError> {
        let b = self.take(4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.little_endian {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }

    fn tag(&mut self) -> Result<u32, LayoutError> {
        let group = self.u16()? as u32;
        let element = self.u16()? as u32;
        Ok(group << 16 | element)
    }

    fn skip(&mut self, tag: u32, length: u32) -> Result<(), LayoutError> {
        let length = length as usize;
        if self.remaining() < length {
            return Err(LayoutError::LengthOverrun {
                group: (tag >> 16) as u16,
                element: tag as u16,
                offset: self.pos as u64,
                length: length as u64,
                available: self.remaining() as u64,
            });
        }
        self.pos += length;
        Ok(())
    }
}

/// An element header: tag, VR (when explicit), value length.
struct Header {
    tag: u32,
    vr: [u8; 2],
    length: u32,
}

fn read_header(r: &mut Reader<'_>, explicit: bool) -> Result<Header, LayoutError> {
    let tag = r.tag()?;
    if tag >> 16 == 0xFFFE {
        // item and delimiters have no VR in any syntax
        return Ok(Header {
            tag,
            vr: *b"  ",
            length: r.u32()?,
        });
    }
    if !explicit {
        return Ok(Header {
            tag,
            vr: *b"  ",
            length: r.u32()?,
        });
    }
    let vr_bytes = r.take(2)?;
    let vr = [vr_bytes[0], vr_bytes[1]];
    let length = match &vr {
        b"AE" | b"AS" | b"AT" | b"CS" | b"DA" | b"DS" | b"DT" | b"FD" | b"FL" | b"IS" | b"LO"
        | b"LT" | b"PN" | b"SH" | b"SL" | b"SS" | b"ST" | b"TM" | b"UI" | b"UL" | b"US" => {
            r.u16()? as u32
        }
        // The others, and VRs we do not know (which the decoder reads as
        // UN), have two reserved bytes and a 32-bit length.
        _ => {
            r.take(2)?;
            r.u32()?
        }
    };
    Ok(Header { tag, vr, length })
}

const MAX_DEPTH: usize = 32;

/// Skips the items of an undefined-length sequence, up to and including
/// its delimiter. `explicit` is the encoding of the items' elements.
fn skip_undefined_sequence(
    r: &mut Reader<'_>,
    explicit: bool,
    depth: usize,
) -> Result<(), LayoutError> {
    if depth > MAX_DEPTH {
        return Err(LayoutError::TooDeep(MAX_DEPTH));
    }
    loop {
        let h = read_header(r, explicit)?;
        match h.tag {
            SEQUENCE_DELIMITER => return Ok(()),
            ITEM if h.length == UNDEFINED => skip_elements_until_item_end(r, explicit, depth + 1)?,
            ITEM => r.skip(h.tag, h.length)?,
            _ => {
                return Err(LayoutError::BadFragment {
                    group: (h.tag >> 16) as u16,
                    element: h.tag as u16,
                    offset: r.pos as u64,
                });
            }
        }
    }
}

fn skip_elements_until_item_end(
    r: &mut Reader<'_>,
    explicit: bool,
    depth: usize,
) -> Result<(), LayoutError> {
    loop {
        let h = read_header(r, explicit)?;
        if h.tag == ITEM_DELIMITER {
            return Ok(());
        }
        skip_value(r, &h, explicit, depth)?;
    }
}

fn skip_value(
    r: &mut Reader<'_>,
    h: &Header,
    explicit: bool,
    depth: usize,
) -> Result<(), LayoutError> {
    if h.length != UNDEFINED {
        if is_sequence(h, explicit) {
            // Walk into the items: a nested element must not claim more
            // than its sequence holds (the decoder would allocate it).
            return walk_defined_sequence(r, h, explicit, depth + 1);
        }
        return r.skip(h.tag, h.length);
    }
    // Undefined length: a sequence (or UN holding an implicit VR LE sequence).
    let inner_explicit = explicit && &h.vr != b"UN";
    if !inner_explicit && !r.little_endian {
        // UN undefined length in big endian: items are implicit LE per PS3.5 §6.2.2
        let saved = r.little_endian;
        r.little_endian = true;
        let result = skip_undefined_sequence(r, false, depth + 1);
        r.little_endian = saved;
        return result;
    }
    skip_undefined_sequence(r, inner_explicit, depth + 1)
}

/// Whether a defined-length element holds a sequence: by its VR when
/// explicit, by the data dictionary when implicit.
fn is_sequence(h: &Header, explicit: bool) -> bool {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    if explicit {
        return &h.vr == b"SQ";
    }
    let tag = dicom_core::Tag((h.tag >> 16) as u16, h.tag as u16);
    matches!(
        dicom_dictionary_std::StandardDataDictionary
            .by_tag(tag)
            .map(|e| e.vr()),
        Some(VirtualVr::Exact(dicom_core::VR::SQ))
    )
}

/// Walks the items of a defined-length sequence, which must end exactly
/// where its length says.
fn walk_defined_sequence(
    r: &mut Reader<'_>,
    h: &Header,
    explicit: bool,
    depth: usize,
) -> Result<(), LayoutError> {
    if depth > MAX_DEPTH {
        return Err(LayoutError::TooDeep(MAX_DEPTH));
    }
    let start = r.pos;
    let end = start
        .checked_add(h.length as usize)
        .filter(|&e| e <= r.data.len())
        .ok_or(LayoutError::LengthOverrun {
            group: (h.tag >> 16) as u16,
            element: h.tag as u16,
            offset: start as u64,
            length: h.length as u64,
            available: r.remaining() as u64,
        })?;
    let mut inner = Reader {
        data: &r.data[..end],
        pos: start,
        little_endian: r.little_endian,
    };
    while inner.pos < end {
        let item = read_header(&mut inner, explicit)?;
        if item.tag != ITEM {
            return Err(LayoutError::BadFragment {
                group: (item.tag >> 16) as u16,
                element: item.tag as u16,
                offset: inner.pos as u64,
            });
        }
        if item.length == UNDEFINED {
            skip_elements_until_item_end(&mut inner, explicit, depth + 1)?;
            continue;
        }
        let item_end = inner.pos + item.length as usize;
        if item_end > end {
            return Err(LayoutError::LengthOverrun {
                group: 0xFFFE,
                element: 0xE000,
                offset: inner.pos as u64,
                length: item.length as u64,
                available: (end - inner.pos) as u64,
            });
        }
        let mut elements = Reader {
            data: &inner.data[..item_end],
            pos: inner.pos,
            little_endian: inner.little_endian,
        };
        while elements.pos < item_end {
            let e = read_header(&mut elements, explicit)?;
            skip_value(&mut elements, &e, explicit, depth + 1)?;
        }
        inner.pos = item_end;
    }
    r.pos = end;
    Ok(())
}

/// Finds the pixel data of a data set. `dataset` starts at the first data
/// set element; `base` is its offset within the stored object, so that the
/// spans returned are object offsets.
pub fn locate_pixel_data(
    dataset: &[u8],
    encoding: Encoding,
    base: u64,
    number_of_frames: u32,
) -> Result<PixelLayout, LayoutError> {
    let mut r = Reader {
        data: dataset,
        pos: 0,
        little_endian: encoding.little_endian,
    };
    while r.remaining() > 0 {
        let h = read_header(&mut r, encoding.explicit_vr)?;
        if h.tag == PIXEL_DATA {
            if h.length != UNDEFINED {
                let value = Span {
                    offset: base + r.pos as u64,
                    length: h.length as u64,
                };
                r.skip(h.tag, h.length)?;
                let frames = number_of_frames.max(1) as u64;
                return Ok(PixelLayout::Native {
                    value,
                    frame_length: value.length / frames,
                });
            }
            return encapsulated(&mut r, base, number_of_frames);
        }
        if h.tag > PIXEL_DATA {
            // Not walked further, but its length must fit: noise often
            // starts with a tag that sorts after Pixel Data.
            if h.length != UNDEFINED {
                r.skip(h.tag, h.length)?;
            }
            break;
        }
        skip_value(&mut r, &h, encoding.explicit_vr, 0)?;
    }
    Ok(PixelLayout::Absent)
}

fn encapsulated(
    r: &mut Reader<'_>,
    base: u64,
    number_of_frames: u32,
) -> Result<PixelLayout, LayoutError> {
    // Items of encapsulated pixel data are always little endian.
    r.little_endian = true;
    let mut offset_table = Vec::new();
    // (item start relative to the first fragment, value span, opens a codestream)
    let mut fragments: Vec<(u64, Span, bool)> = Vec::new();
    let mut first_fragment_start = None;
    let mut first = true;
    loop {
        let item_start = r.pos;
        let h = read_header(r, false)?;
        match h.tag {
            SEQUENCE_DELIMITER => break,
            ITEM if h.length != UNDEFINED => {
                let value = Span {
                    offset: base + r.pos as u64,
                    length: h.length as u64,
                };
                let bytes = r
                    .take(h.length as usize)
                    .map_err(|_| LayoutError::LengthOverrun {
                        group: 0xFFFE,
                        element: 0xE000,
                        offset: item_start as u64,
                        length: h.length as u64,
                        available: (r.data.len() - r.pos) as u64,
                    })?;
                if first {
                    first = false;
                    offset_table = bytes
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64)
                        .collect();
                } else {
                    let start = *first_fragment_start.get_or_insert(item_start);
                    fragments.push(((item_start - start) as u64, value, opens_codestream(bytes)));
                }
            }
            _ => {
                return Err(LayoutError::BadFragment {
                    group: (h.tag >> 16) as u16,
                    element: h.tag as u16,
                    offset: item_start as u64,
                });
            }
        }
    }
    Ok(PixelLayout::Encapsulated {
        frames: group_fragments(&offset_table, &fragments, number_of_frames.max(1) as usize),
    })
}

/// Assigns fragments to frames: by the basic offset table when it has one
/// entry per frame, else one fragment per frame when the counts agree,
/// else everything to a single frame (or, for several frames, by fragments
/// that start a new codestream).
///
/// Each fragment is `(start of its item relative to the first fragment's
/// item, what the caller knows it by, whether it opens a codestream)`.
pub(crate) fn group_fragments<T: Copy>(
    offset_table: &[u64],
    fragments: &[(u64, T, bool)],
    frames: usize,
) -> Vec<Vec<T>> {
    if fragments.is_empty() {
        return Vec::new();
    }
    if frames == 1 {
        return vec![fragments.iter().map(|f| f.1).collect()];
    }
    if offset_table.len() == frames {
        let mut out: Vec<Vec<T>> = vec![Vec::new(); frames];
        for (rel, span, _) in fragments {
            let idx = offset_table.iter().rposition(|&o| o <= *rel).unwrap_or(0);
            out[idx].push(*span);
        }
        return out;
    }
    if fragments.len() == frames {
        return fragments.iter().map(|f| vec![f.1]).collect();
    }
    // Without an offset table, a frame starts at each fragment that opens
    // a new codestream.
    let mut out: Vec<Vec<T>> = Vec::new();
    for (_, span, opens) in fragments {
        match out.last_mut() {
            Some(frame) if !opens => frame.push(*span),
            _ => out.push(vec![*span]),
        }
    }
    out
}

/// Whether a fragment begins a JPEG, JPEG-LS, JPEG 2000 (J2K or JP2) or
/// HTJ2K codestream.
pub(crate) fn opens_codestream(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8])
        || bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
        || bytes.starts_with(&[0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20])
}

/// Splits a Part 10 stream into its file meta information and the offset of
/// the data set.
pub fn read_part10_header(bytes: &[u8]) -> Result<Part10Header, LayoutError> {
    if bytes.len() < 132 {
        return Err(LayoutError::NotPart10(
            "shorter than the 128-byte preamble and DICM prefix",
        ));
    }
    if &bytes[128..132] != b"DICM" {
        return Err(LayoutError::NotPart10(
            "the DICM prefix is missing at byte 128",
        ));
    }
    let mut r = Reader {
        data: bytes,
        pos: 132,
        little_endian: true,
    };
    let mut header = Part10Header {
        media_storage_sop_class_uid: String::new(),
        media_storage_sop_instance_uid: String::new(),
        transfer_syntax_uid: String::new(),
        dataset_offset: 0,
    };
    loop {
        if r.remaining() < 4 {
            break;
        }
        let group = u16::from_le_bytes([bytes[r.pos], bytes[r.pos + 1]]);
        if group != 0x0002 {
            break;
        }
        let h = read_header(&mut r, true)?;
        if h.length == UNDEFINED {
            return Err(LayoutError::NotPart10(
                "a file meta element has an undefined length",
            ));
        }
        let value = r
            .take(h.length as usize)
            .map_err(|_| LayoutError::LengthOverrun {
                group: 0x0002,
                element: h.tag as u16,
                offset: r.pos as u64,
                length: h.length as u64,
                available: (bytes.len() - r.pos) as u64,
            })?;
        let text = || {
            String::from_utf8_lossy(value)
                .trim_end_matches(['\0', ' '])
                .to_owned()
        };
        match h.tag {
            0x0002_0002 => header.media_storage_sop_class_uid = text(),
            0x0002_0003 => header.media_storage_sop_instance_uid = text(),
            0x0002_0010 => header.transfer_syntax_uid = text(),
            _ => {}
        }
    }
    if header.transfer_syntax_uid.is_empty() {
        return Err(LayoutError::NotPart10(
            "the file meta information has no Transfer Syntax UID",
        ));
    }
    header.dataset_offset = r.pos;
    Ok(header)
}

#[cfg(test)]
mod tests;
