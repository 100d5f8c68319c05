//! Whole-object conversions, for the cases where ranged reads of the
//! stored bytes are not enough: a retrieve in the default transfer syntax
//! of an instance stored otherwise, and frames of deflated instances.

use bytes::Bytes;
use dicom_dictionary_std::uids;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::OpenFileOptions;
use dicom_pixeldata::Transcode;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::ArchiveError;
use crate::render::FrameData;

fn open(bytes: &[u8]) -> Result<dicom_object::DefaultDicomObject, ArchiveError> {
    OpenFileOptions::new()
        .from_reader(bytes)
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot read the stored instance: {e}")))
}

/// The instance re-encoded in explicit VR little endian; encapsulated
/// pixel data is decoded.
pub fn to_explicit_le(bytes: &[u8]) -> Result<Bytes, ArchiveError> {
    let mut obj = open(bytes)?;
    let ts = TransferSyntaxRegistry
        .get(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .ok_or_else(|| {
            ArchiveError::Unprocessable("explicit VR little endian is not registered".into())
        })?;
    obj.transcode(ts).map_err(|e| {
        ArchiveError::NotAcceptable(format!(
            "the instance cannot be converted to explicit VR little endian ({e}); ask for transfer-syntax=* to get it as stored"
        ))
    })?;
    let mut out = Vec::with_capacity(bytes.len() * 2);
    obj.write_all(&mut out)
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot encode the instance: {e}")))?;
    Ok(Bytes::from(out))
}

/// One native frame (1-based) of an instance whose data set is not
/// walkable as stored, in little endian.
pub fn native_frame(bytes: &[u8], number: u32) -> Result<FrameData, ArchiveError> {
    let le = to_explicit_le(bytes)?;
    let obj = open(&le)?;
    let pixel = obj
        .element(dicom_dictionary_std::tags::PIXEL_DATA)
        .map_err(|_| ArchiveError::BadRequest("the instance has no pixel data".into()))?;
    let data = pixel
        .to_bytes()
        .map_err(|e| ArchiveError::Unprocessable(format!("cannot read pixel data: {e}")))?;
    let frames = obj
        .element(dicom_dictionary_std::tags::NUMBER_OF_FRAMES)
        .ok()
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
