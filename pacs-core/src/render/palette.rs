//! Palette colour images on the server: the lookup table is read once, at
//! ingest, from the parsed header and kept with the rendering attributes;
//! rendering maps each stored value through it. The table itself is
//! `viewer_core::palette`, so the server's `/rendered` and the viewer show
//! the same colours.

use dicom_core::Tag;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_object::InMemDicomObject;
pub use viewer_core::palette::PaletteLut;
use viewer_core::palette::{CHANNELS, ChannelData, Descriptor, PaletteError};

use super::frame::{DecodedFrame, Samples, StoredBits};
use super::output::RenderedPixels;

fn tag(t: u32) -> Tag {
    Tag((t >> 16) as u16, t as u16)
}

/// The palette of a `PALETTE COLOR` image's header (plain tables, or
/// segmented ones where there are none).
pub fn from_header(h: &InMemDicomObject) -> Result<PaletteLut, PaletteError> {
    use viewer_core::tags;
    let signed = h
        .get(tag(tags::PIXEL_REPRESENTATION))
        .and_then(|e| e.to_int::<i64>().ok())
        == Some(1);
    let mut descriptors = Vec::with_capacity(3);
    for (i, t) in tags::PALETTE_DESCRIPTORS.into_iter().enumerate() {
        let values: Vec<i64> = h
            .get(tag(t))
            .and_then(|e| e.to_multi_int::<i64>().ok())
            .unwrap_or_default();
        descriptors.push(Descriptor::from_values(CHANNELS[i], &values, signed)?);
    }
    let plain = tags::PALETTE_DATA.map(|t| bytes_le(h, t));
    let segmented = tags::SEGMENTED_PALETTE_DATA.map(|t| bytes_le(h, t));
    let use_segmented = plain.iter().all(Option::is_none) && segmented.iter().any(Option::is_some);
    let data = if use_segmented { &segmented } else { &plain };
    let channel = |i: usize| -> Result<(Descriptor, ChannelData<'_>), PaletteError> {
        let bytes = data[i].as_deref().ok_or(PaletteError::MissingData {
            channel: CHANNELS[i],
        })?;
        let data = if use_segmented {
            ChannelData::Segmented(bytes)
        } else {
            ChannelData::Plain(bytes)
        };
        Ok((descriptors[i], data))
    };
    PaletteLut::new([channel(0)?, channel(1)?, channel(2)?])
}

/// An OW or OB value's bytes, 16-bit words little endian whatever the
/// transfer syntax was.
fn bytes_le(h: &InMemDicomObject, t: u32) -> Option<Vec<u8>> {
    let element = h.get(tag(t))?;
    let Value::Primitive(value) = element.value() else {
        return None;
    };
    let bytes = match value {
        PrimitiveValue::Empty => return None,
        PrimitiveValue::U16(words) => words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        PrimitiveValue::I16(words) => words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        other => other.to_bytes().into_owned(),
    };
    Some(bytes)
}

/// A palette frame in colour.
pub(super) fn colours(lut: &PaletteLut, frame: &DecodedFrame) -> RenderedPixels {
    let bits = StoredBits::of(frame);
    let value = |w: u32| bits.value_of_index(bits.index(w));
    let data = match frame.samples() {
        Samples::U8(v) => lut.apply(v.iter().map(|&w| value(u32::from(w)))),
        Samples::U16(v) => lut.apply(v.iter().map(|&w| value(u32::from(w)))),
    };
    RenderedPixels {
        width: u32::from(frame.columns()),
        height: u32::from(frame.rows()),
        channels: 3,
        data,
    }
}
