//! The archive's read side: instances, frames, rendered images and bulk
//! data, from the index and ranged reads of stored objects.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use storage::{ByteStream, ObjectKey, ObjectStore};

use crate::error::ArchiveError;
use crate::index::{Index, StoredInstance};
use crate::layout::{PixelLayout, Span};
use crate::render::{self, FrameData, ImageHeader, RenderParams};
use crate::uid::Uid;

/// Explicit VR Little Endian, the default transfer syntax of DICOMweb.
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";

/// The read side of the archive. Cheap to share behind an `Arc`.
pub struct Archive {
    store: Arc<dyn ObjectStore>,
    index: Arc<dyn Index>,
}

/// A frame as it will be sent.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Uncompressed little endian samples, or the stored bitstream.
    pub bytes: Bytes,
    /// Transfer syntax of `bytes` (`EXPLICIT_VR_LITTLE_ENDIAN` for native).
    pub transfer_syntax_uid: String,
}

impl Archive {
    pub fn new(store: Arc<dyn ObjectStore>, index: Arc<dyn Index>) -> Archive {
        Archive { store, index }
    }

    pub fn index(&self) -> &Arc<dyn Index> {
        &self.index
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Instances in scope; `NotFound` when there are none.
    pub async fn instances(
        &self,
        study: &Uid,
        series: Option<&Uid>,
        sop: Option<&Uid>,
    ) -> Result<Vec<StoredInstance>, ArchiveError> {
        let found = self.index.instances(study, series, sop).await?;
        if found.is_empty() {
            return Err(ArchiveError::NotFound(describe_scope(study, series, sop)));
        }
        Ok(found)
    }

    /// The stored object, streamed.
    pub async fn object_stream(
        &self,
        instance: &StoredInstance,
    ) -> Result<ByteStream, ArchiveError> {
        Ok(self.store.get_stream(&key_of(instance)?).await?)
    }

    /// The stored object, whole.
    pub async fn object(&self, instance: &StoredInstance) -> Result<Bytes, ArchiveError> {
        Ok(self.store.get(&key_of(instance)?).await?)
    }

    /// The stored object in explicit VR little endian (the default
    /// transfer syntax of a WADO-RS retrieve), transcoded if needed.
    pub async fn object_explicit_le(
        &self,
        instance: &StoredInstance,
    ) -> Result<Bytes, ArchiveError> {
        let bytes = self.object(instance).await?;
        if instance.transfer_syntax_uid == EXPLICIT_VR_LITTLE_ENDIAN {
            return Ok(bytes);
        }
        tokio::task::spawn_blocking(move || crate::transcode::to_explicit_le(&bytes))
            .await
            .map_err(|e| ArchiveError::Unprocessable(e.to_string()))?
    }

    /// The stored DICOM JSON of the scope, as a JSON array, with bulk data
    /// URIs under `base`.
    pub async fn metadata(
        &self,
        study: &Uid,
        series: Option<&Uid>,
        sop: Option<&Uid>,
        base: &str,
    ) -> Result<Vec<u8>, ArchiveError> {
        let items = self.index.metadata(study, series, sop).await?;
        if items.is_empty() {
            return Err(ArchiveError::NotFound(describe_scope(study, series, sop)));
        }
        let total: usize = items.iter().map(|i| i.len() + 1).sum();
        let mut joined = Vec::with_capacity(total + 2);
        joined.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                joined.push(b',');
            }
            joined.extend_from_slice(item);
        }
        joined.push(b']');
        Ok(crate::json::with_base(&joined, base))
    }

    /// One instance by its full path.
    pub async fn instance(
        &self,
        study: &Uid,
        series: &Uid,
        sop: &Uid,
    ) -> Result<StoredInstance, ArchiveError> {
        let mut found = self.instances(study, Some(series), Some(sop)).await?;
        found
            .pop()
            .ok_or_else(|| ArchiveError::NotFound(describe_scope(study, Some(series), Some(sop))))
    }

    /// A frame (1-based) as stored: native frames as little endian samples,
    /// encapsulated frames as their bitstream.
    pub async fn frame_as_stored(
        &self,
        instance: &StoredInstance,
        number: u32,
    ) -> Result<Frame, ArchiveError> {
        let data = self.frame_data(instance, number).await?;
        Ok(match data {
            FrameData::Native(bytes) => Frame {
                bytes: native_to_le(instance, bytes),
                transfer_syntax_uid: EXPLICIT_VR_LITTLE_ENDIAN.into(),
            },
            FrameData::Encapsulated(fragments) => Frame {
                bytes: concat(fragments),
                transfer_syntax_uid: instance.transfer_syntax_uid.clone(),
            },
        })
    }

    /// A frame (1-based) decoded to uncompressed little endian samples.
    pub async fn frame_uncompressed(
        &self,
        instance: &StoredInstance,
        number: u32,
    ) -> Result<Bytes, ArchiveError> {
        let data = self.frame_data(instance, number).await?;
        if let FrameData::Native(bytes) = data {
            return Ok(native_to_le(instance, bytes));
        }
        let header = image_header(instance)?;
        tokio::task::spawn_blocking(move || {
            let decoded = render::decode_frame(&header, data).map_err(render_error)?;
            Ok(Bytes::from(render::native_little_endian(&decoded)))
        })
        .await
        .map_err(|e| ArchiveError::Unprocessable(e.to_string()))?
    }

    /// A frame (1-based) rendered to PNG or JPEG.
    pub async fn rendered(
        &self,
        instance: &StoredInstance,
        number: u32,
        params: RenderParams,
    ) -> Result<Vec<u8>, ArchiveError> {
        let data = self.frame_data(instance, number).await?;
        let header = image_header(instance)?;
        tokio::task::spawn_blocking(move || {
            let decoded = render::decode_frame(&header, data).map_err(render_error)?;
            render::render(&header, &decoded, &params).map_err(render_error)
        })
        .await
        .map_err(|e| ArchiveError::Unprocessable(e.to_string()))?
    }

    /// The bytes of one frame as stored, with one ranged read per span.
    async fn frame_data(
        &self,
        instance: &StoredInstance,
        number: u32,
    ) -> Result<FrameData, ArchiveError> {
        let image = instance.image.as_ref().ok_or_else(|| {
            ArchiveError::BadRequest(format!(
                "instance {} has no pixel data",
                instance.sop_instance_uid
            ))
        })?;
        if number == 0 || number > image.number_of_frames {
            return Err(ArchiveError::NotFound(format!(
                "frame {number} of instance {} (it has {} frame(s))",
                instance.sop_instance_uid, image.number_of_frames
            )));
        }
        let key = key_of(instance)?;
        let index = (number - 1) as u64;
        match &instance.pixel {
            PixelLayout::Native {
                value,
                frame_length,
            } => {
                let start = value.offset + index * frame_length;
                let end = start + frame_length;
                if end > value.offset + value.length {
                    return Err(ArchiveError::Unprocessable(format!(
                        "frame {number} lies outside the stored pixel data"
                    )));
                }
                Ok(FrameData::Native(
                    self.store.get_range(&key, start..end).await?,
                ))
            }
            PixelLayout::Encapsulated { frames } => {
                let spans = frames.get(index as usize).ok_or_else(|| {
                    ArchiveError::NotFound(format!(
                        "frame {number} of instance {}",
                        instance.sop_instance_uid
                    ))
                })?;
                Ok(FrameData::Encapsulated(self.read_spans(&key, spans).await?))
            }
            PixelLayout::Absent => self.frame_from_whole_object(instance, number).await,
        }
    }

    /// Reads several spans of one object: one ranged read covering them
    /// all when they are close together (the usual case), then slices.
    async fn read_spans(
        &self,
        key: &ObjectKey,
        spans: &[Span],
    ) -> Result<Vec<Bytes>, ArchiveError> {
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            return Ok(Vec::new());
        };
        let start = first.offset;
        let end = last.offset + last.length;
        let whole = self.store.get_range(key, start..end).await?;
        spans
            .iter()
            .map(|s| {
                let a = (s.offset - start) as usize;
                let b = a + s.length as usize;
                if b > whole.len() {
                    Err(ArchiveError::Unprocessable(
                        "fragment outside the object".into(),
                    ))
                } else {
                    Ok(whole.slice(a..b))
                }
            })
            .collect()
    }

    /// For syntaxes whose data set cannot be walked as stored (deflate):
    /// decode the object and take the frame from it.
    async fn frame_from_whole_object(
        &self,
        instance: &StoredInstance,
        number: u32,
    ) -> Result<FrameData, ArchiveError> {
        let bytes = self.object(instance).await?;
        tokio::task::spawn_blocking(move || crate::transcode::native_frame(&bytes, number))
            .await
            .map_err(|e| ArchiveError::Unprocessable(e.to_string()))?
    }
}

/// Request errors are the client's; unsupported formats cannot be
/// provided; anything else is a fault in the stored data.
fn render_error(e: render::RenderError) -> ArchiveError {
    use render::RenderError as R;
    match e {
        R::InvalidWindow { .. } | R::InvalidParams(_) => ArchiveError::BadRequest(e.to_string()),
        R::UnknownTransferSyntax { .. }
        | R::UnsupportedTransferSyntax { .. }
        | R::UnsupportedPixelFormat(_)
        | R::UnsupportedPhotometric { .. } => ArchiveError::NotAcceptable(e.to_string()),
        other => ArchiveError::Unprocessable(other.to_string()),
    }
}

fn key_of(instance: &StoredInstance) -> Result<ObjectKey, ArchiveError> {
    ObjectKey::new(&instance.object_key)
        .map_err(|e| ArchiveError::Unprocessable(format!("bad object key in the index: {e}")))
}

fn describe_scope(study: &Uid, series: Option<&Uid>, sop: Option<&Uid>) -> String {
    match (series, sop) {
        (Some(se), Some(i)) => format!("instance {i} of series {se} of study {study}"),
        (Some(se), None) => format!("series {se} of study {study}"),
        (None, Some(i)) => format!("instance {i} of study {study}"),
        (None, None) => format!("study {study}"),
    }
}

fn concat(fragments: Vec<Bytes>) -> Bytes {
    if fragments.len() == 1 {
        return fragments.into_iter().next().unwrap_or_default();
    }
    let mut out = BytesMut::with_capacity(fragments.iter().map(Bytes::len).sum());
    for f in fragments {
        out.extend_from_slice(&f);
    }
    out.freeze()
}

/// Native samples are stored big endian only in explicit VR big endian.
fn native_to_le(instance: &StoredInstance, bytes: Bytes) -> Bytes {
    let wide = instance
        .image
        .as_ref()
        .is_some_and(|i| i.bits_allocated > 8);
    if instance.transfer_syntax_uid != render::EXPLICIT_VR_BIG_ENDIAN || !wide {
        return bytes;
    }
    let mut out = bytes.to_vec();
    for pair in out.chunks_exact_mut(2) {
        pair.swap(0, 1);
    }
    Bytes::from(out)
}

/// The rendering header of an instance.
pub fn image_header(instance: &StoredInstance) -> Result<ImageHeader, ArchiveError> {
    let mut header = instance.image.clone().ok_or_else(|| {
        ArchiveError::BadRequest(format!(
            "instance {} is not an image",
            instance.sop_instance_uid
        ))
    })?;
    header
        .transfer_syntax_uid
        .clone_from(&instance.transfer_syntax_uid);
    Ok(header)
}
