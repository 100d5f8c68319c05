//! Palette colour lookup tables (PS3.3 C.7.6.3.1.5, C.7.9): how a
//! `PALETTE COLOR` image's stored values become red, green and blue.
//!
//! Each channel has a descriptor `[entries, first mapped value, bits]` and
//! either plain LUT data (0028,1201–1203) or segmented data (0028,1221–1223,
//! PS3.3 C.7.9.2) that expands into a plain table. Stored values below the
//! first mapped value take the first entry; values past the end take the
//! last. The display has eight bits per channel, so 16-bit entries keep
//! their high byte.
//!
//! The archive's renderer and the viewer build their tables here, so both
//! show a palette image in the same colours.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dicom_json::Attributes;
use crate::tags;

/// Why a palette could not be built; the image cannot be shown in colour.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaletteError {
    #[error("the {channel} palette descriptor {found:?} is not three numbers")]
    BadDescriptor {
        channel: &'static str,
        found: Vec<i64>,
    },
    #[error("the {channel} palette has {bits} bits per entry (8 or 16 are valid)")]
    BadBits { channel: &'static str, bits: i64 },
    #[error(
        "the {channel} palette describes {entries} entries but its data holds only {bytes} bytes"
    )]
    ShortData {
        channel: &'static str,
        entries: usize,
        bytes: usize,
    },
    #[error("the {channel} palette has no lookup table data")]
    MissingData { channel: &'static str },
    #[error("the red, green and blue palettes differ in {what}")]
    Mismatch { what: &'static str },
    #[error("the {channel} segmented palette is malformed: {reason}")]
    BadSegment {
        channel: &'static str,
        reason: &'static str,
    },
}

/// Channel names, in the order descriptors and data are given.
pub const CHANNELS: [&str; 3] = ["red", "green", "blue"];

/// One channel's descriptor (0028,1101–1103).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// Number of entries (a written 0 means 65 536).
    pub entries: usize,
    /// The stored value mapped to the first entry.
    pub first_mapped: i32,
    /// Bits per entry: 8 or 16.
    pub bits: u8,
}

impl Descriptor {
    /// Reads the three descriptor values. The first mapped value is written
    /// as US or SS following Pixel Representation, so a signed image may
    /// carry `-1` as 65 535: `signed` says how to read it.
    pub fn from_values(
        channel: &'static str,
        values: &[i64],
        signed: bool,
    ) -> Result<Descriptor, PaletteError> {
        let bad = || PaletteError::BadDescriptor {
            channel,
            found: values.to_vec(),
        };
        let &[entries, first, bits] = values else {
            return Err(bad());
        };
        let entries = match entries {
            0 => 65_536,
            1..=65_535 => entries as usize,
            _ => return Err(bad()),
        };
        let first_mapped = match first {
            32_768..=65_535 if signed => (first - 65_536) as i32,
            -32_768..=65_535 => first as i32,
            _ => return Err(bad()),
        };
        let bits = match bits {
            8 => 8,
            16 => 16,
            other => {
                return Err(PaletteError::BadBits {
                    channel,
                    bits: other,
                });
            }
        };
        Ok(Descriptor {
            entries,
            first_mapped,
            bits,
        })
    }
}

/// One channel's table data as the file holds it (OW, little endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelData<'a> {
    /// Palette Color Lookup Table Data (0028,1201–1203).
    Plain(&'a [u8]),
    /// Segmented Palette Color Lookup Table Data (0028,1221–1223).
    Segmented(&'a [u8]),
}

/// A palette as the display uses it: eight bits per channel. Serialised
/// compactly (the table as base64), since the archive keeps one with each
/// palette image's rendering attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaletteLut {
    first_mapped: i32,
    /// One `[r, g, b]` per entry.
    #[serde(with = "rgb_base64")]
    rgb: Vec<[u8; 3]>,
}

mod rgb_base64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(rgb: &[[u8; 3]], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(rgb.as_flattened()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 3]>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = STANDARD.decode(text).map_err(D::Error::custom)?;
        if bytes.is_empty() || bytes.len() % 3 != 0 || bytes.len() > 3 * 65_536 {
            return Err(D::Error::custom("a palette table is whole RGB triples"));
        }
        Ok(bytes.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
    }
}

impl PaletteLut {
    /// Builds the palette from its three channels, red, green, blue.
    pub fn new(channels: [(Descriptor, ChannelData<'_>); 3]) -> Result<PaletteLut, PaletteError> {
        let mut tables: Vec<Vec<u8>> = Vec::with_capacity(3);
        for (i, (descriptor, data)) in channels.iter().enumerate() {
            let channel = CHANNELS[i];
            let table = match data {
                ChannelData::Plain(bytes) => plain(channel, descriptor, bytes)?,
                ChannelData::Segmented(bytes) => segmented(channel, descriptor, bytes)?,
            };
            tables.push(table);
        }
        let [r, g, b] = [&tables[0], &tables[1], &tables[2]];
        let first = channels[0].0.first_mapped;
        if channels.iter().any(|(d, _)| d.first_mapped != first) {
            return Err(PaletteError::Mismatch {
                what: "their first mapped value",
            });
        }
        if r.len() != g.len() || r.len() != b.len() {
            return Err(PaletteError::Mismatch {
                what: "their number of entries",
            });
        }
        let rgb = (0..r.len()).map(|i| [r[i], g[i], b[i]]).collect();
        Ok(PaletteLut {
            first_mapped: first,
            rgb,
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.rgb.len()
    }

    /// Whether the palette has no entries (never true of a built one).
    pub fn is_empty(&self) -> bool {
        self.rgb.is_empty()
    }

    /// The colour of stored value `value`, clamped to the table's ends.
    pub fn lookup(&self, value: i32) -> [u8; 3] {
        let last = self.rgb.len().saturating_sub(1) as i64;
        let index = (i64::from(value) - i64::from(self.first_mapped)).clamp(0, last);
        self.rgb.get(index as usize).copied().unwrap_or([0, 0, 0])
    }

    /// Interleaved RGB for a frame of stored values.
    pub fn apply(&self, values: impl IntoIterator<Item = i32>) -> Vec<u8> {
        let values = values.into_iter();
        let mut out = Vec::with_capacity(values.size_hint().0 * 3);
        for v in values {
            out.extend_from_slice(&self.lookup(v));
        }
        out
    }
}

/// One channel's table data as the metadata gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceData {
    /// The bytes, sent inline.
    Inline(Vec<u8>),
    /// A bulk data URI to fetch the bytes from.
    Bulk(String),
}

/// A palette as an instance's DICOM JSON describes it, before any bulk
/// data has been fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaletteSource {
    descriptors: [Descriptor; 3],
    data: [SourceData; 3],
    segmented: bool,
}

impl PaletteSource {
    /// Reads the palette attributes of a `PALETTE COLOR` instance.
    /// Segmented data is used where there is no plain data.
    pub fn from_attributes(a: &Attributes) -> Result<PaletteSource, PaletteError> {
        let signed = a.int(tags::PIXEL_REPRESENTATION) == Some(1);
        let mut descriptors = Vec::with_capacity(3);
        for (i, tag) in tags::PALETTE_DESCRIPTORS.into_iter().enumerate() {
            let values: Vec<i64> = a.f64s(tag).into_iter().map(|x| x as i64).collect();
            descriptors.push(Descriptor::from_values(CHANNELS[i], &values, signed)?);
        }
        let has = |tag| a.inline_binary(tag).is_some() || a.bulk_data_uri(tag).is_some();
        let segmented = !tags::PALETTE_DATA.into_iter().any(has)
            && tags::SEGMENTED_PALETTE_DATA.into_iter().any(has);
        let data_tags = if segmented {
            tags::SEGMENTED_PALETTE_DATA
        } else {
            tags::PALETTE_DATA
        };
        let mut data = Vec::with_capacity(3);
        for (i, tag) in data_tags.into_iter().enumerate() {
            let source = if let Some(bytes) = a.inline_binary(tag) {
                SourceData::Inline(bytes)
            } else if let Some(uri) = a.bulk_data_uri(tag) {
                SourceData::Bulk(uri.to_owned())
            } else {
                return Err(PaletteError::MissingData {
                    channel: CHANNELS[i],
                });
            };
            data.push(source);
        }
        Ok(PaletteSource {
            descriptors: [descriptors[0], descriptors[1], descriptors[2]],
            data: [data[0].clone(), data[1].clone(), data[2].clone()],
            segmented,
        })
    }

    /// The bulk data URIs still to fetch, by channel (0 red, 1 green, 2 blue).
    pub fn bulk_uris(&self) -> Vec<(usize, &str)> {
        self.data
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match d {
                SourceData::Bulk(uri) => Some((i, uri.as_str())),
                SourceData::Inline(_) => None,
            })
            .collect()
    }

    /// Builds the palette; `fetched` holds the bytes of each channel that
    /// was sent by URI (indexed as [`PaletteSource::bulk_uris`] gives them).
    pub fn build(&self, fetched: &[(usize, Vec<u8>)]) -> Result<PaletteLut, PaletteError> {
        let bytes: Vec<&[u8]> = (0..3)
            .map(|i| match &self.data[i] {
                SourceData::Inline(b) => Ok(b.as_slice()),
                SourceData::Bulk(_) => fetched
                    .iter()
                    .find(|(k, _)| *k == i)
                    .map(|(_, b)| b.as_slice())
                    .ok_or(PaletteError::MissingData {
                        channel: CHANNELS[i],
                    }),
            })
            .collect::<Result<_, _>>()?;
        let channel = |i: usize| {
            let data = if self.segmented {
                ChannelData::Segmented(bytes[i])
            } else {
                ChannelData::Plain(bytes[i])
            };
            (self.descriptors[i], data)
        };
        PaletteLut::new([channel(0), channel(1), channel(2)])
    }
}

/// Eight-bit output of one plain table. Eight-bit entries are normally one
/// byte each; some writers put each one in its own 16-bit word, which the
/// data length gives away.
fn plain(channel: &'static str, d: &Descriptor, bytes: &[u8]) -> Result<Vec<u8>, PaletteError> {
    let short = || PaletteError::ShortData {
        channel,
        entries: d.entries,
        bytes: bytes.len(),
    };
    if bytes.is_empty() {
        return Err(PaletteError::MissingData { channel });
    }
    if d.bits == 16 {
        let words = words(bytes);
        if words.len() < d.entries {
            return Err(short());
        }
        return Ok(words[..d.entries].iter().map(|w| (w >> 8) as u8).collect());
    }
    if bytes.len() >= 2 * d.entries {
        let words = words(bytes);
        let wide = words[..d.entries].iter().any(|&w| w > 0xFF);
        return Ok(words[..d.entries]
            .iter()
            .map(|&w| if wide { (w >> 8) as u8 } else { w as u8 })
            .collect());
    }
    if bytes.len() < d.entries {
        return Err(short());
    }
    Ok(bytes[..d.entries].to_vec())
}

fn words(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|w| u16::from_le_bytes([w[0], w[1]]))
        .collect()
}

/// Indirect segments may point at other indirect segments; a file that
/// loops is refused at this depth.
const MAX_INDIRECTION: u8 = 4;

/// Segments read in all, indirect copies included: bounds the work a
/// hostile table of mutually pointing segments can ask for.
const MAX_SEGMENTS: usize = 1 << 18;

/// Expands segmented data (C.7.9.2) into a plain table, then takes eight
/// bits of each entry.
fn segmented(channel: &'static str, d: &Descriptor, bytes: &[u8]) -> Result<Vec<u8>, PaletteError> {
    if bytes.is_empty() {
        return Err(PaletteError::MissingData { channel });
    }
    let words = words(bytes);
    let mut out: Vec<f64> = Vec::with_capacity(d.entries);
    let mut walk = Walk {
        channel,
        words: &words,
        limit: d.entries,
        budget: MAX_SEGMENTS,
    };
    walk.expand(0, words.len(), &mut out, 0)?;
    if out.len() < d.entries {
        return Err(PaletteError::BadSegment {
            channel,
            reason: "its segments give fewer entries than the descriptor",
        });
    }
    out.truncate(d.entries);
    let shift = if d.bits == 16 { 8 } else { 0 };
    Ok(out
        .iter()
        .map(|&y| ((y.round().clamp(0.0, 65_535.0) as u32) >> shift).min(255) as u8)
        .collect())
}

/// State of one segmented table's expansion.
struct Walk<'a> {
    channel: &'static str,
    words: &'a [u16],
    /// Entries wanted; expansion stops once they are there.
    limit: usize,
    /// Segments left to read before the table is judged hostile.
    budget: usize,
}

impl Walk<'_> {
    fn bad(&self, reason: &'static str) -> PaletteError {
        PaletteError::BadSegment {
            channel: self.channel,
            reason,
        }
    }

    fn word(&self, i: usize) -> Result<u16, PaletteError> {
        self.words
            .get(i)
            .copied()
            .ok_or_else(|| self.bad("a segment is cut short"))
    }

    /// Expands the segments in words `start..end`.
    fn expand(
        &mut self,
        start: usize,
        end: usize,
        out: &mut Vec<f64>,
        depth: u8,
    ) -> Result<(), PaletteError> {
        let mut i = start;
        while i < end && out.len() < self.limit {
            self.budget = self
                .budget
                .checked_sub(1)
                .ok_or_else(|| self.bad("its segments do not end"))?;
            let opcode = self.word(i)?;
            let length = usize::from(self.word(i + 1)?);
            match opcode {
                0 => {
                    let values = self
                        .words
                        .get(i + 2..i + 2 + length)
                        .ok_or_else(|| self.bad("a discrete segment is cut short"))?;
                    out.extend(values.iter().map(|&v| f64::from(v)));
                    i += 2 + length;
                }
                1 => {
                    let y0 = *out.last().ok_or_else(|| {
                        self.bad("a linear segment comes first, with nothing to start from")
                    })?;
                    let y1 = f64::from(self.word(i + 2)?);
                    for k in 1..=length {
                        out.push(y0 + (y1 - y0) * k as f64 / length as f64);
                    }
                    i += 3;
                }
                2 => {
                    if depth >= MAX_INDIRECTION {
                        return Err(self.bad("its indirect segments nest too deeply"));
                    }
                    let offset =
                        usize::from(self.word(i + 2)?) | (usize::from(self.word(i + 3)?) << 16);
                    // The offset counts bytes from the start of the data.
                    if offset % 2 != 0 || offset / 2 >= self.words.len() {
                        return Err(self.bad("an indirect segment points outside the data"));
                    }
                    let from = offset / 2;
                    let to = self.end_of_segments(from, length)?;
                    self.expand(from, to, out, depth + 1)?;
                    i += 4;
                }
                _ => return Err(self.bad("a segment has an unknown type")),
            }
        }
        Ok(())
    }

    /// Where the `count` segments starting at word `start` end (the range
    /// an indirect segment copies).
    fn end_of_segments(&self, start: usize, count: usize) -> Result<usize, PaletteError> {
        let mut i = start;
        for _ in 0..count {
            let length = usize::from(self.word(i + 1)?);
            i += match self.word(i)? {
                0 => 2 + length,
                1 => 3,
                2 => 4,
                _ => return Err(self.bad("an indirect segment points at no segment")),
            };
        }
        Ok(i.min(self.words.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(words: &[u16]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn d(entries: usize, first_mapped: i32, bits: u8) -> Descriptor {
        Descriptor {
            entries,
            first_mapped,
            bits,
        }
    }

    #[test]
    fn descriptors_read_zero_as_65536_and_signed_first_values() {
        let x = Descriptor::from_values("red", &[0, 0, 16], false).unwrap();
        assert_eq!(x.entries, 65_536);
        let x = Descriptor::from_values("red", &[256, 65_535, 8], true).unwrap();
        assert_eq!(x.first_mapped, -1);
        let x = Descriptor::from_values("red", &[256, 65_535, 8], false).unwrap();
        assert_eq!(x.first_mapped, 65_535);
        assert!(matches!(
            Descriptor::from_values("green", &[256, 0, 12], false),
            Err(PaletteError::BadBits { bits: 12, .. })
        ));
        assert!(Descriptor::from_values("blue", &[256, 0], false).is_err());
    }

    #[test]
    fn sixteen_bit_entries_keep_their_high_byte_and_values_clamp_to_the_ends() {
        let red = le(&[0x0000, 0x8000, 0xFFFF]);
        let green = le(&[0xFFFF, 0x8000, 0x0000]);
        let blue = le(&[0x1234, 0x5678, 0x9ABC]);
        let lut = PaletteLut::new([
            (d(3, 10, 16), ChannelData::Plain(&red)),
            (d(3, 10, 16), ChannelData::Plain(&green)),
            (d(3, 10, 16), ChannelData::Plain(&blue)),
        ])
        .unwrap();
        assert_eq!(lut.lookup(10), [0x00, 0xFF, 0x12]);
        assert_eq!(lut.lookup(11), [0x80, 0x80, 0x56]);
        assert_eq!(lut.lookup(12), [0xFF, 0x00, 0x9A]);
        assert_eq!(
            lut.lookup(0),
            lut.lookup(10),
            "below the first mapped value"
        );
        assert_eq!(lut.lookup(500), lut.lookup(12), "past the end");
        assert_eq!(
            lut.apply([11, 12]),
            vec![0x80, 0x80, 0x56, 0xFF, 0x00, 0x9A]
        );
    }

    #[test]
    fn eight_bit_entries_are_read_packed_or_one_per_word() {
        let packed = vec![10u8, 20, 30, 40];
        let lut = PaletteLut::new([
            (d(4, 0, 8), ChannelData::Plain(&packed)),
            (d(4, 0, 8), ChannelData::Plain(&packed)),
            (d(4, 0, 8), ChannelData::Plain(&packed)),
        ])
        .unwrap();
        assert_eq!(lut.lookup(2), [30, 30, 30]);
        let one_per_word = le(&[10, 20, 30, 40]);
        let lut = PaletteLut::new([
            (d(4, 0, 8), ChannelData::Plain(&one_per_word)),
            (d(4, 0, 8), ChannelData::Plain(&packed)),
            (d(4, 0, 8), ChannelData::Plain(&packed)),
        ])
        .unwrap();
        assert_eq!(lut.lookup(3), [40, 40, 40]);
    }

    #[test]
    fn short_or_mismatched_tables_are_refused() {
        let short = le(&[1, 2]);
        let full = le(&[1, 2, 3]);
        let err = PaletteLut::new([
            (d(3, 0, 16), ChannelData::Plain(&full)),
            (d(3, 0, 16), ChannelData::Plain(&short)),
            (d(3, 0, 16), ChannelData::Plain(&full)),
        ])
        .unwrap_err();
        assert!(
            matches!(
                err,
                PaletteError::ShortData {
                    channel: "green",
                    ..
                }
            ),
            "{err}"
        );
        let err = PaletteLut::new([
            (d(3, 0, 16), ChannelData::Plain(&full)),
            (d(3, 1, 16), ChannelData::Plain(&full)),
            (d(3, 0, 16), ChannelData::Plain(&full)),
        ])
        .unwrap_err();
        assert!(matches!(err, PaletteError::Mismatch { .. }), "{err}");
    }

    #[test]
    fn segmented_tables_expand_discrete_linear_and_indirect_segments() {
        // Discrete 0, 0x100; linear up to 0x500 over 4 entries; then an
        // indirect copy of the first (discrete) segment.
        let words = [0, 2, 0x0000, 0x0100, 1, 4, 0x0500, 2, 1, 0, 0];
        let data = le(&words);
        let expected = [0x000, 0x100, 0x200, 0x300, 0x400, 0x500, 0x000, 0x100];
        let lut = PaletteLut::new([
            (d(8, 0, 16), ChannelData::Segmented(&data)),
            (d(8, 0, 16), ChannelData::Segmented(&data)),
            (d(8, 0, 16), ChannelData::Segmented(&data)),
        ])
        .unwrap();
        for (i, e) in expected.iter().enumerate() {
            let byte = (e >> 8) as u8;
            assert_eq!(lut.lookup(i as i32), [byte; 3], "entry {i}");
        }
    }

    #[test]
    fn palettes_are_read_from_dicom_json_inline_or_by_uri() {
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let red: Vec<u8> = (0..=255u8).collect();
        let green: Vec<u8> = (0..=255u8).rev().collect();
        let json = serde_json::json!({
            "00280103": {"vr": "US", "Value": [0]},
            "00281101": {"vr": "US", "Value": [256, 0, 8]},
            "00281102": {"vr": "US", "Value": [256, 0, 8]},
            "00281103": {"vr": "US", "Value": [256, 0, 8]},
            "00281201": {"vr": "OW", "InlineBinary": b64(&red)},
            "00281202": {"vr": "OW", "InlineBinary": b64(&green)},
            "00281203": {"vr": "OW", "BulkDataURI": "http://h/bulk/00281203"},
        });
        let a = Attributes::new(json).unwrap();
        let source = PaletteSource::from_attributes(&a).unwrap();
        assert_eq!(source.bulk_uris(), vec![(2, "http://h/bulk/00281203")]);
        assert!(matches!(
            source.build(&[]),
            Err(PaletteError::MissingData { channel: "blue" })
        ));
        let lut = source.build(&[(2, vec![7u8; 256])]).unwrap();
        assert_eq!(lut.lookup(0), [0, 255, 7]);
        assert_eq!(lut.lookup(200), [200, 55, 7]);
    }

    #[test]
    fn palettes_survive_a_round_trip_through_json() {
        let red: Vec<u8> = (0..=255u8).collect();
        let lut = PaletteLut::new([
            (d(256, -5, 8), ChannelData::Plain(&red)),
            (d(256, -5, 8), ChannelData::Plain(&red)),
            (d(256, -5, 8), ChannelData::Plain(&red)),
        ])
        .unwrap();
        let json = serde_json::to_string(&lut).unwrap();
        assert!(json.len() < 1100, "compact: {} bytes", json.len());
        assert_eq!(serde_json::from_str::<PaletteLut>(&json).unwrap(), lut);
        assert!(serde_json::from_str::<PaletteLut>(r#"{"first_mapped":0,"rgb":"AAA="}"#).is_err());
    }

    #[test]
    fn hostile_segmented_tables_are_refused_without_looping() {
        let linear_first = le(&[1, 4, 100]);
        let self_pointing = le(&[2, 1, 0, 0]);
        let unknown = le(&[7, 1, 0]);
        for data in [&linear_first, &self_pointing, &unknown] {
            let err = PaletteLut::new([
                (d(8, 0, 16), ChannelData::Segmented(data)),
                (d(8, 0, 16), ChannelData::Segmented(data)),
                (d(8, 0, 16), ChannelData::Segmented(data)),
            ])
            .unwrap_err();
            assert!(matches!(err, PaletteError::BadSegment { .. }), "{err}");
        }
    }
}
