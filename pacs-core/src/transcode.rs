//! Whole-object conversions, for the cases where ranged reads of the
//! stored bytes are not enough: a retrieve in the default transfer syntax
//! of an instance stored otherwise, and frames of deflated instances.

use bytes::Bytes;
use dicom_core::{DataElement, Length, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_dictionary_std::uids;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::Transcode;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::ArchiveError;
use crate::render::{self, FrameData};

fn open(bytes: &[u8]) -> Result<DefaultDicomObject, ArchiveError> {
    OpenFileOptions::new()
        .from_reader(bytes)
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot read the stored instance: {e}")))
}

/// Transfer syntaxes an archive may be told to store instances in on
/// arrival: lossless ones only, so nothing of the image is lost.
pub const LOSSLESS_STORAGE: [&str; 3] = [
    uids::EXPLICIT_VR_LITTLE_ENDIAN,
    uids::JPEGLS_LOSSLESS,
    uids::RLE_LOSSLESS,
];

/// Transfer syntaxes an instance may be converted to: those that keep
/// every sample as it is. A lossy copy of an instance would need a new
/// SOP Instance UID and the lossy compression attributes (PS3.3
/// C.7.6.1.1.5); the archive makes none, and sends a lossy syntax only
/// where the instance is stored in it.
const LOSSLESS_TARGETS: [&str; 11] = [
    uids::IMPLICIT_VR_LITTLE_ENDIAN,
    uids::EXPLICIT_VR_LITTLE_ENDIAN,
    "1.2.840.10008.1.2.2", // explicit VR big endian (retired)
    uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    uids::JPEG_LOSSLESS,
    uids::JPEG_LOSSLESS_SV1,
    uids::JPEGLS_LOSSLESS,
    uids::JPEG2000_LOSSLESS,
    uids::HTJ2K_LOSSLESS,
    uids::HTJ2K_LOSSLESS_RPCL,
    uids::RLE_LOSSLESS,
];

/// Refuses a conversion to `to` that would lose image information.
fn lossless_target(from: &str, to: &str) -> Result<(), ArchiveError> {
    if from == to || LOSSLESS_TARGETS.contains(&to) {
        return Ok(());
    }
    let name = TransferSyntaxRegistry
        .get(to)
        .map_or(to.to_owned(), |ts| format!("{} ({to})", ts.name()));
    Err(ArchiveError::NotAcceptable(format!(
        "converting the instance to {name} would lose image information, and a lossy copy \
         is not made; accept its stored syntax or an uncompressed one"
    )))
}

/// The instance re-encoded in explicit VR little endian; encapsulated
/// pixel data is decoded.
pub fn to_explicit_le(bytes: &[u8]) -> Result<Bytes, ArchiveError> {
    object_to(bytes, uids::EXPLICIT_VR_LITTLE_ENDIAN).map_err(|e| match e {
        ArchiveError::NotAcceptable(why) => ArchiveError::NotAcceptable(format!(
            "{why}; ask for transfer-syntax=* to get it as stored"
        )),
        other => other,
    })
}

/// A whole Part 10 object re-encoded in transfer syntax `to`, pixel data
/// decoded and encoded as needed; its file meta group says the new
/// syntax.
pub fn object_to(bytes: &[u8], to: &str) -> Result<Bytes, ArchiveError> {
    let mut obj = open(bytes)?;
    lossless_target(obj.meta().transfer_syntax().trim_end_matches('\0'), to)?;
    decode_extended_jpeg(&mut obj)?;
    let ts = TransferSyntaxRegistry
        .get(to)
        .ok_or_else(|| ArchiveError::Unprocessable(format!("transfer syntax {to} is not known")))?;
    obj.transcode(ts).map_err(|e| {
        ArchiveError::NotAcceptable(format!("the instance cannot be converted to {to} ({e})"))
    })?;
    let mut out = Vec::with_capacity(bytes.len() * 2);
    obj.write_all(&mut out)
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot encode the instance: {e}")))?;
    Ok(Bytes::from(out))
}

/// A data set (no file meta group) re-encoded from transfer syntax `from`
/// to `to`, pixel data decoded or encoded as needed: what a C-GET sends a
/// peer that did not accept the stored syntax.
pub fn dataset_to(
    dataset: &[u8],
    sop_class_uid: &str,
    sop_instance_uid: &str,
    from: &str,
    to: &str,
) -> Result<Bytes, ArchiveError> {
    let syntax = |uid: &str| {
        TransferSyntaxRegistry.get(uid).ok_or_else(|| {
            ArchiveError::Unprocessable(format!("transfer syntax {uid} is not known"))
        })
    };
    let (from_ts, to_ts) = (syntax(from)?, syntax(to)?);
    lossless_target(from, to)?;
    let object =
        dicom_object::InMemDicomObject::read_dataset_with_ts(dataset, from_ts).map_err(|e| {
            ArchiveError::Unprocessable(format!("cannot read the stored instance: {e}"))
        })?;
    let meta = dicom_object::FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class_uid)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .transfer_syntax(from);
    let mut file = object
        .with_meta(meta)
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot convert the instance: {e}")))?;
    decode_extended_jpeg(&mut file)?;
    file.transcode(to_ts).map_err(|e| {
        ArchiveError::NotAcceptable(format!(
            "cannot convert the instance from {from} to {to}: {e}"
        ))
    })?;
    let mut out = Vec::with_capacity(dataset.len());
    file.write_dataset_with_ts(&mut out, to_ts)
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot encode the instance: {e}")))?;
    Ok(Bytes::from(out))
}

/// Attributes that say how pixel data was compressed rather than what it
/// is: encoders add them (dcmcjpeg writes a Derivation Description and
/// Lossy Image Compression "00" when it compresses losslessly).
const COMPRESSION_RECORDS: [dicom_core::Tag; 5] = [
    tags::DERIVATION_DESCRIPTION,
    tags::LOSSY_IMAGE_COMPRESSION,
    tags::LOSSY_IMAGE_COMPRESSION_RATIO,
    tags::LOSSY_IMAGE_COMPRESSION_METHOD,
    tags::ENCAPSULATED_PIXEL_DATA_VALUE_TOTAL_LENGTH,
];

/// What an instance holds, whatever transfer syntax carries it: its data
/// set re-encoded in implicit VR little endian, encapsulated pixel data
/// decoded, without the attributes that record a compression. Two
/// objects hold the same instance when these bytes are equal: the same
/// attributes with the same values and the same decoded samples (a lossy
/// copy decodes to other samples). Implicit VR writes no VR, so a private
/// element read as UN from one syntax and with its own VR from another
/// encodes alike, and sequences are written one way whatever lengths
/// they came with.
pub fn content(object: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    let mut obj = open(object)?;
    decode_extended_jpeg(&mut obj)?;
    let implicit = TransferSyntaxRegistry
        .get(uids::IMPLICIT_VR_LITTLE_ENDIAN)
        .ok_or_else(|| {
            ArchiveError::Unprocessable("implicit VR little endian is not known".into())
        })?;
    obj.transcode(implicit).map_err(|e| {
        ArchiveError::NotAcceptable(format!("the instance cannot be decoded ({e})"))
    })?;
    for tag in COMPRESSION_RECORDS {
        obj.remove_element(tag);
    }
    let mut out = Vec::with_capacity(object.len());
    obj.write_dataset_with_ts(&mut out, implicit)
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot encode the instance: {e}")))?;
    Ok(out)
}

/// Replaces 12-bit lossy JPEG pixel data (JPEG Extended, processes 2 and
/// 4) with its decoded samples, native little endian, and has the object
/// say explicit VR little endian: dicom-pixeldata's JPEG codec refuses
/// such frames, the renderer's decoder does not. Whatever the object is
/// converted to next starts from there. Other objects are left alone.
fn decode_extended_jpeg(obj: &mut DefaultDicomObject) -> Result<(), ArchiveError> {
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_owned();
    if ts != render::JPEG_EXTENDED {
        return Ok(());
    }
    let Ok(pixel) = obj.element(tags::PIXEL_DATA) else {
        return Ok(());
    };
    let (Some(fragments), Some(table)) = (pixel.value().fragments(), pixel.value().offset_table())
    else {
        return Ok(());
    };
    if !fragments
        .first()
        .is_some_and(|f| render::is_extended_precision_jpeg(f))
    {
        return Ok(());
    }
    let header = crate::ingest::image_attributes(obj, &ts).ok_or_else(|| {
        ArchiveError::Unprocessable("the instance has pixel data but no image attributes".into())
    })?;
    // Item starts relative to the first fragment's, as the offset table counts.
    let mut start = 0u64;
    let mut items = Vec::with_capacity(fragments.len());
    for (i, fragment) in fragments.iter().enumerate() {
        items.push((start, i, crate::layout::opens_codestream(fragment)));
        start += 8 + fragment.len() as u64;
    }
    let table: Vec<u64> = table.iter().map(|&o| u64::from(o)).collect();
    let frames = crate::layout::group_fragments(&table, &items, header.number_of_frames as usize);
    if frames.len() != header.number_of_frames as usize {
        return Err(ArchiveError::Unprocessable(format!(
            "the pixel data holds {} codestreams for {} frames",
            frames.len(),
            header.number_of_frames
        )));
    }
    let mut native = Vec::new();
    for (n, frame) in frames.iter().enumerate() {
        let parts = frame
            .iter()
            .map(|&i| Bytes::copy_from_slice(&fragments[i]))
            .collect();
        let decoded =
            render::decode_frame(&header, FrameData::Encapsulated(parts)).map_err(|e| {
                ArchiveError::NotAcceptable(format!("frame {} cannot be decoded: {e}", n + 1))
            })?;
        native.extend(render::native_little_endian(&decoded));
    }
    let length = u32::try_from(native.len())
        .map_err(|_| ArchiveError::Unprocessable("the decoded pixel data exceeds 4 GiB".into()))?;
    obj.put(DataElement::new_with_len(
        tags::PIXEL_DATA,
        VR::OW,
        Length::defined(length),
        PrimitiveValue::from(native),
    ));
    obj.remove_element(tags::ENCAPSULATED_PIXEL_DATA_VALUE_TOTAL_LENGTH);
    let explicit_le = TransferSyntaxRegistry
        .get(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .ok_or_else(|| {
            ArchiveError::Unprocessable("explicit VR little endian is not known".into())
        })?;
    obj.meta_mut().set_transfer_syntax(explicit_le);
    Ok(())
}

/// One native frame (1-based) of an instance whose data set is not
/// walkable as stored, in little endian.
pub fn native_frame(bytes: &[u8], number: u32) -> Result<FrameData, ArchiveError> {
    let le = to_explicit_le(bytes)?;
    let obj = open(&le)?;
    let pixel = obj
        .element(tags::PIXEL_DATA)
        .map_err(|_| ArchiveError::BadRequest("the instance has no pixel data".into()))?;
    let data = pixel
        .to_bytes()
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot read pixel data: {e}")))?;
    let frames = obj
        .get(tags::NUMBER_OF_FRAMES)
        .and_then(|e| e.to_int::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    let frame_len = data.len() / frames as usize;
    let start = (number.saturating_sub(1)) as usize * frame_len;
    let slice = data
        .get(start..start + frame_len)
        .ok_or_else(|| ArchiveError::NotFound(format!("frame {number}")))?;
    Ok(FrameData::Native(Bytes::copy_from_slice(slice)))
}

/// The value bytes of a (possibly nested) element, by a bulk data path:
/// tags as 8 hex digits, with item indexes between them
/// (`00540016/0/00181072`). Numeric values are little endian.
pub fn element_bytes(bytes: &[u8], path: &[String]) -> Result<Bytes, ArchiveError> {
    let obj = open(bytes)?;
    let parse_tag = |s: &str| -> Result<dicom_core::Tag, ArchiveError> {
        if s.len() != 8 {
            return Err(ArchiveError::BadRequest(format!("{s:?} is not a tag")));
        }
        let g = u16::from_str_radix(&s[..4], 16);
        let e = u16::from_str_radix(&s[4..], 16);
        match (g, e) {
            (Ok(g), Ok(e)) => Ok(dicom_core::Tag(g, e)),
            _ => Err(ArchiveError::BadRequest(format!("{s:?} is not a tag"))),
        }
    };
    let not_found = || ArchiveError::NotFound(format!("bulk data {}", path.join("/")));
    let (last, parents) = path.split_last().ok_or_else(not_found)?;
    let mut current: &dicom_object::InMemDicomObject = &obj;
    let mut steps = parents.iter();
    while let Some(tag) = steps.next() {
        let index: usize = steps.next().and_then(|i| i.parse().ok()).ok_or_else(|| {
            ArchiveError::BadRequest("a bulk data path alternates tags and item indexes".into())
        })?;
        let element = current.element(parse_tag(tag)?).map_err(|_| not_found())?;
        current = element
            .items()
            .and_then(|items| items.get(index))
            .ok_or_else(not_found)?;
    }
    let element = current.element(parse_tag(last)?).map_err(|_| not_found())?;
    let value = element
        .to_bytes()
        .map_err(|e| ArchiveError::Unprocessable(format!("the value is not binary: {e}")))?;
    Ok(Bytes::copy_from_slice(&value))
}
