//! Reading and validating an incoming instance.
//!
//! The header (every element before Pixel Data) is decoded with
//! dicom-object straight from the buffer the instance arrived in; the
//! pixel data is never decoded or copied here, only located.

use std::io::{BufReader, Cursor};

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{DicomCollectorOptions, InMemDicomObject};

use crate::error::IngestError;
use crate::layout::{self, Encoding, PixelLayout};
use crate::uid::Uid;

/// An instance that passed validation, ready to be stored and indexed.
#[derive(Debug)]
pub struct ParsedInstance {
    pub sop_class_uid: Uid,
    pub sop_instance_uid: Uid,
    pub study_instance_uid: Uid,
    pub series_instance_uid: Uid,
    pub transfer_syntax_uid: String,
    /// Every data set element before Pixel Data, decoded.
    pub header: InMemDicomObject,
    /// Where the pixel data lies in the stored object.
    pub pixel: PixelLayout,
    /// Whether the data set has pixel data, and in which form: also for a
    /// deflated data set, whose pixel data has no place in the stored
    /// bytes (`pixel` is then [`PixelLayout::Absent`]).
    pub pixel_data: PixelData,
}

/// The form of an instance's pixel data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelData {
    None,
    Native,
    Encapsulated,
}

/// Transfer syntaxes the archive accepts and stores as received.
pub fn is_supported_transfer_syntax(ts: &str) -> bool {
    matches!(
        ts,
        "1.2.840.10008.1.2"
            | "1.2.840.10008.1.2.1"
            | "1.2.840.10008.1.2.2"
            | "1.2.840.10008.1.2.1.99"
            | "1.2.840.10008.1.2.4.50"
            | "1.2.840.10008.1.2.4.51"
            | "1.2.840.10008.1.2.4.57"
            | "1.2.840.10008.1.2.4.70"
            | "1.2.840.10008.1.2.4.80"
            | "1.2.840.10008.1.2.4.81"
            | "1.2.840.10008.1.2.4.90"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.201"
            | "1.2.840.10008.1.2.4.202"
            | "1.2.840.10008.1.2.4.203"
            | "1.2.840.10008.1.2.5"
    )
}

/// Whether pixel data in transfer syntax `ts` is encapsulated
/// (fragments) rather than native.
fn is_encapsulated(ts: &str) -> bool {
    !matches!(
        ts,
        "1.2.840.10008.1.2"
            | "1.2.840.10008.1.2.1"
            | "1.2.840.10008.1.2.2"
            | DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
    )
}

/// Parses a data set in transfer syntax `ts`; `dataset_offset` is where
/// the data set will start in the stored object. A deflated data set may
/// inflate to at most `max_inflated` bytes.
pub fn parse_instance(
    dataset: &[u8],
    dataset_offset: u64,
    max_inflated: u64,
    ts: &str,
) -> Result<ParsedInstance, IngestError> {
    if !is_supported_transfer_syntax(ts) {
        return Err(IngestError::UnsupportedTransferSyntax(ts.to_owned()));
    }
    if dataset.is_empty() {
        return Err(IngestError::Unreadable("the data set is empty".into()));
    }
    // A deflated data set is parsed from its inflated form as explicit VR
    // little endian; its frames are later served by decoding the object.
    let inflated;
    let (dataset_to_parse, parse_ts) = if ts == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN {
        inflated = inflate(dataset, max_inflated)?;
        (inflated.as_slice(), "1.2.840.10008.1.2.1".to_owned())
    } else {
        (dataset, ts.to_owned())
    };
    // Walk the element headers before decoding: a data set that ends inside
    // an element, or an element claiming more bytes than the data set holds,
    // is refused here, before the decoder allocates what a header claims.
    // The same walk locates the pixel data (as one frame until the header
    // says how many there are). A deflated data set is walked inflated, and
    // its pixel data has no location in the stored bytes.
    let walked = match Encoding::of_transfer_syntax(&parse_ts) {
        Some(encoding) => {
            // (spans of an inflated data set are discarded below)
            let layout = layout::locate_pixel_data(dataset_to_parse, encoding, dataset_offset, 1)
                .map_err(|e| IngestError::Unreadable(e.to_string()))?;
            Some((encoding, layout))
        }
        None => None,
    };
    let mut collector = DicomCollectorOptions::new()
        .expected_ts(parse_ts)
        .read_preamble(dicom_object::file::ReadPreamble::Never)
        .from_reader(BufReader::new(Cursor::new(dataset_to_parse)));
    let mut header = InMemDicomObject::new_empty();
    collector
        .read_dataset_up_to_pixeldata(&mut header)
        .map_err(|e| IngestError::Unreadable(e.to_string()))?;

    let sop_class_uid = required_uid(&header, tags::SOP_CLASS_UID, "SOP Class UID")?;
    let sop_instance_uid = required_uid(&header, tags::SOP_INSTANCE_UID, "SOP Instance UID")?;
    let study_instance_uid = required_uid(&header, tags::STUDY_INSTANCE_UID, "Study Instance UID")?;
    let series_instance_uid =
        required_uid(&header, tags::SERIES_INSTANCE_UID, "Series Instance UID")?;

    let frames = match int_value(&header, tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(n) => u32::try_from(n.max(1)).map_err(|_| {
            IngestError::Unreadable(format!("Number of Frames {n} is not a possible count"))
        })?,
    };
    // Pixel data as the transfer syntax says it is stored: a file
    // relabelled with another syntax cannot be decoded or served.
    match &walked {
        Some((_, PixelLayout::Native { .. })) if is_encapsulated(ts) => {
            return Err(IngestError::Unreadable(format!(
                "its Pixel Data is not encapsulated, but transfer syntax {ts} stores it compressed, in fragments"
            )));
        }
        Some((_, PixelLayout::Encapsulated { .. })) if !is_encapsulated(ts) => {
            return Err(IngestError::Unreadable(format!(
                "its Pixel Data is encapsulated (compressed), but transfer syntax {ts} stores it native"
            )));
        }
        _ => {}
    }
    let pixel_data = match &walked {
        Some((_, PixelLayout::Native { .. })) => PixelData::Native,
        Some((_, PixelLayout::Encapsulated { .. })) => PixelData::Encapsulated,
        _ => PixelData::None,
    };
    let pixel = match walked {
        _ if ts == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => PixelLayout::Absent,
        None => PixelLayout::Absent,
        Some((_, PixelLayout::Native { value, .. })) => PixelLayout::Native {
            value,
            frame_length: value.length / frames as u64,
        },
        // Several encapsulated frames: group the fragments by frame, which
        // needs the offset table and the fragments' first bytes.
        Some((encoding, PixelLayout::Encapsulated { .. })) if frames > 1 => {
            layout::locate_pixel_data(dataset, encoding, dataset_offset, frames)
                .map_err(|e| IngestError::Unreadable(e.to_string()))?
        }
        Some((_, layout)) => layout,
    };
    if let PixelLayout::Native { value, .. } = &pixel {
        check_native_length(&header, value.length, frames)?;
    }

    Ok(ParsedInstance {
        sop_class_uid,
        sop_instance_uid,
        study_instance_uid,
        series_instance_uid,
        transfer_syntax_uid: ts.to_owned(),
        header,
        pixel,
        pixel_data,
    })
}

const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1.99";

/// Inflates a deflated data set (raw deflate, PS3.5 A.5), refusing one
/// that inflates beyond `limit` (the largest instance accepted): a small
/// hostile stream must not cost more memory than a large honest one.
fn inflate(dataset: &[u8], limit: u64) -> Result<Vec<u8>, IngestError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(dataset.len().saturating_mul(4).min(limit as usize));
    flate2::read::DeflateDecoder::new(dataset)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| {
            IngestError::Unreadable(format!("the deflated data set cannot be inflated: {e}"))
        })?;
    if out.len() as u64 > limit {
        return Err(IngestError::TooLarge(limit));
    }
    Ok(out)
}

/// Native pixel data must hold at least every frame the header announces.
fn check_native_length(
    header: &InMemDicomObject,
    length: u64,
    frames: u32,
) -> Result<(), IngestError> {
    let rows = int_value(header, tags::ROWS).unwrap_or(0) as u64;
    let cols = int_value(header, tags::COLUMNS).unwrap_or(0) as u64;
    let bits = int_value(header, tags::BITS_ALLOCATED).unwrap_or(0) as u64;
    let spp = int_value(header, tags::SAMPLES_PER_PIXEL)
        .unwrap_or(1)
        .max(1) as u64;
    let needed_bits = rows * cols * bits * spp * frames as u64;
    let needed = needed_bits.div_ceil(8);
    if needed > 0 && length < needed {
        return Err(IngestError::DoesNotMatchSopClass(format!(
            "Pixel Data holds {length} bytes but Rows × Columns × Bits Allocated × Samples per Pixel × frames needs {needed}"
        )));
    }
    Ok(())
}

fn required_uid(obj: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<Uid, IngestError> {
    let value = text_value(obj, tag).ok_or(IngestError::MissingAttribute(name))?;
    Uid::parse(&value).map_err(|e| IngestError::InvalidUid {
        attribute: name,
        source: e,
    })
}

/// The value of a text element, trimmed; `None` when absent or empty.
pub fn text_value(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_owned())
}

/// The first value of a numeric (or numeric string) element.
pub fn int_value(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    obj.get(tag)?.to_int::<i64>().ok()
}

/// All values of a decimal element.
pub fn float_values(obj: &InMemDicomObject, tag: Tag) -> Vec<f64> {
    obj.get(tag)
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
}
