//! [`S3Store`]: objects in a bucket of an S3-compatible service.
//!
//! Small objects go up in one `PutObject`; larger ones in a multipart
//! upload, which S3 makes visible atomically on completion and which is
//! aborted on any failure, so a key never holds part of an object.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream as SdkByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};

use crate::{Body, ByteStream, ObjectKey, ObjectMeta, ObjectStore, StorageError};

mod config;

pub use config::{MAX_PART_SIZE, MIN_PART_SIZE, S3Config};

/// S3's largest number of parts in one upload.
const MAX_PARTS: u64 = 10_000;
/// Parts of one object in flight at once.
const PART_CONCURRENCY: usize = 4;

/// An object store in one bucket of an S3-compatible service.
///
/// Invariant: an object under a key is always one that a `put` completed;
/// failed multipart uploads are aborted. Cloning is cheap (shared client).
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// Where the bucket lives, for messages: `<endpoint>/<bucket>`.
    location: String,
    multipart_threshold: u64,
    part_size: u64,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Builds a client with static credentials. Makes no request: a wrong
    /// endpoint or key shows up on first use, as [`StorageError::Service`]
    /// or [`StorageError::Config`].
    pub fn new(config: S3Config) -> Result<S3Store, StorageError> {
        config.validate()?;
        let credentials = Credentials::new(
            config.access_key_id.clone(),
            config.secret_access_key.clone(),
            None,
            None,
            "pacs-static",
        );
        let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .build();
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(config.path_style)
            .timeout_config(timeouts);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint.clone());
        }
        let location = format!(
            "{}/{}",
            config
                .endpoint
                .as_deref()
                .unwrap_or("https://s3.amazonaws.com")
                .trim_end_matches('/'),
            config.bucket
        );
        Ok(S3Store {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket,
            location,
            multipart_threshold: config.multipart_threshold,
            part_size: config.part_size,
        })
    }

    async fn put_single(&self, key: &ObjectKey, body: Body) -> Result<(), StorageError> {
        let len = body.len();
        let data = concat(body.segments(), 0..len);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_length(to_i64(len))
            .body(SdkByteStream::from(data))
            .send()
            .await
            .map_err(|e| self.error("storing", key.as_str(), e))?;
        Ok(())
    }

    async fn put_multipart(&self, key: &ObjectKey, body: Body) -> Result<(), StorageError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| self.error("starting an upload of", key.as_str(), e))?;
        let Some(upload_id) = created.upload_id else {
            return Err(StorageError::Service(format!(
                "{} started an upload of {key} without an upload id",
                self.location
            )));
        };
        let result = self.upload_parts(key, &upload_id, &body).await;
        if result.is_err() {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(e) = aborted {
                tracing::warn!(
                    key = %key,
                    location = %self.location,
                    error = %DisplayErrorContext(&e),
                    "could not abort a failed multipart upload; a bucket lifecycle rule should clean it up"
                );
            }
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        body: &Body,
    ) -> Result<(), StorageError> {
        let parts = plan_parts(body.len(), self.part_size);
        let mut done: Vec<CompletedPart> = futures::stream::iter(parts.into_iter().enumerate())
            .map(|(i, range)| {
                let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
                let data = concat(body.segments(), range);
                async move {
                    let out = self
                        .client
                        .upload_part()
                        .bucket(&self.bucket)
                        .key(key.as_str())
                        .upload_id(upload_id)
                        .part_number(number)
                        .content_length(to_i64(data.len() as u64))
                        .body(SdkByteStream::from(data))
                        .send()
                        .await
                        .map_err(|e| self.error("uploading a part of", key.as_str(), e))?;
                    Ok::<_, StorageError>(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(out.e_tag)
                            .build(),
                    )
                }
            })
            .buffer_unordered(PART_CONCURRENCY)
            .try_collect()
            .await?;
        done.sort_by_key(|p| p.part_number);
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.error("completing the upload of", key.as_str(), e))?;
        Ok(())
    }

    /// Maps an SDK failure of `doing` (e.g. "reading") `key` (an object key,
    /// or a description of what was listed) to an error an
    /// operator can act on. Never includes credentials.
    fn error<E>(&self, doing: &str, key: &str, err: SdkError<E>) -> StorageError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().unwrap_or_default().to_owned();
        let message = err.message().unwrap_or_default().to_owned();
        let loc = &self.location;
        match (code.as_str(), status) {
            ("NoSuchKey", _) | ("NotFound", _) | (_, Some(404)) if code != "NoSuchBucket" => {
                StorageError::NotFound(key.to_owned())
            }
            ("NoSuchBucket", _) => StorageError::Config(format!(
                "bucket {loc} does not exist: create it or fix the bucket name"
            )),
            ("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied" | "Forbidden", _)
            | (_, Some(401 | 403)) => StorageError::Config(format!(
                "{loc} refused {doing} {key} ({code} {message}): check the access key id, secret and the key's permissions on the bucket"
            )),
            ("AuthorizationHeaderMalformed" | "InvalidRegion", _) => StorageError::Config(format!(
                "{loc} rejected the request signature region while {doing} {key} ({message}): check the configured region"
            )),
            (
                "QuotaExceeded" | "XMinioStorageFull" | "InsufficientStorage" | "EntityTooLarge",
                _,
            )
            | (_, Some(507)) => {
                StorageError::OutOfSpace(format!("{loc} refused {doing} {key}: {code} {message}"))
            }
            _ => match &err {
                SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                    StorageError::Service(format!(
                        "cannot reach {loc} while {doing} {key}: {} (is the service running and the endpoint right?)",
                        DisplayErrorContext(&err)
                    ))
                }
                SdkError::ServiceError(_) => StorageError::Service(format!(
                    "{loc} failed {doing} {key}: {code}: {message} (HTTP {})",
                    status.unwrap_or_default()
                )),
                _ => StorageError::Service(format!(
                    "{loc} failed {doing} {key}: {}",
                    DisplayErrorContext(&err)
                )),
            },
        }
    }

    async fn size_of(&self, key: &ObjectKey) -> Result<u64, StorageError> {
        self.head(key)
            .await?
            .map(|m| m.size)
            .ok_or_else(|| StorageError::NotFound(key.to_string()))
    }

    /// Starts a GET of a whole object; the body is read by the caller.
    async fn get_whole(
        &self,
        key: &ObjectKey,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, StorageError> {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| self.error("reading", key.as_str(), e))
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &ObjectKey, body: Body) -> Result<(), StorageError> {
        if body.len() > self.multipart_threshold && body.len() > self.part_size {
            self.put_multipart(key, body).await
        } else {
            self.put_single(key, body).await
        }
    }

    async fn get(&self, key: &ObjectKey) -> Result<Bytes, StorageError> {
        let out = self.get_whole(key).await?;
        let data = out.body.collect().await.map_err(|e| {
            StorageError::Service(format!(
                "{} broke off while sending {key}: {}",
                self.location,
                DisplayErrorContext(&e)
            ))
        })?;
        Ok(data.into_bytes())
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> Result<Bytes, StorageError> {
        let invalid = |size| StorageError::InvalidRange {
            key: key.to_string(),
            start: range.start,
            end: range.end,
            size,
        };
        if range.start >= range.end {
            // S3 cannot express an empty range; check it against the size.
            let size = self.size_of(key).await?;
            return if range.start == range.end && range.end <= size {
                Ok(Bytes::new())
            } else {
                Err(invalid(size))
            };
        }
        let sent = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) if e.code() == Some("InvalidRange") || status_of(&e) == Some(416) => {
                return Err(invalid(self.size_of(key).await?));
            }
            Err(e) => return Err(self.error("reading", key.as_str(), e)),
        };
        let total = out.content_range().and_then(total_size);
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| {
                StorageError::Service(format!(
                    "{} broke off while sending {key}: {}",
                    self.location,
                    DisplayErrorContext(&e)
                ))
            })?
            .into_bytes();
        // S3 shortens a range that runs past the end instead of failing.
        if data.len() as u64 != range.end - range.start {
            let size = match total {
                Some(size) => size,
                None => self.size_of(key).await?,
            };
            return Err(invalid(size));
        }
        Ok(data)
    }

    async fn get_stream(&self, key: &ObjectKey) -> Result<ByteStream, StorageError> {
        let out = self.get_whole(key).await?;
        let context = format!("{} broke off while sending {key}", self.location);
        let stream = futures::stream::try_unfold(out.body, move |mut body| {
            let context = context.clone();
            async move {
                match body.next().await {
                    None => Ok(None),
                    Some(Ok(chunk)) => Ok(Some((chunk, body))),
                    Some(Err(e)) => Err(StorageError::Service(format!(
                        "{context}: {}",
                        DisplayErrorContext(&e)
                    ))),
                }
            }
        });
        Ok(stream.boxed())
    }

    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>, StorageError> {
        let sent = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Some(ObjectMeta {
                size: out
                    .content_length()
                    .and_then(|l| u64::try_from(l).ok())
                    .unwrap_or(0),
                modified: out
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
            })),
            Err(e) => match self.error("inspecting", key.as_str(), e) {
                StorageError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match self.error("deleting", key.as_str(), e) {
                StorageError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectKey>, StorageError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("listing", &format!("keys under {prefix:?}"), e))?;
            for object in out.contents() {
                let Some(name) = object.key() else { continue };
                match ObjectKey::new(name) {
                    Ok(key) => keys.push(key),
                    Err(e) => tracing::warn!(
                        location = %self.location,
                        error = %e,
                        "skipping an object whose key this archive cannot have written"
                    ),
                }
            }
            match (out.is_truncated(), out.next_continuation_token) {
                (Some(true), Some(next)) => token = Some(next),
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn describe(&self) -> String {
        format!("s3:{}", self.location)
    }
}

fn status_of<E>(e: &SdkError<E>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// The total size from a `Content-Range: bytes a-b/size` header.
fn total_size(content_range: &str) -> Option<u64> {
    content_range.rsplit_once('/')?.1.parse().ok()
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Byte ranges of the parts of an upload of `len` bytes: `part_size` each
/// (grown if needed to stay within S3's part count), the last one shorter.
fn plan_parts(len: u64, part_size: u64) -> Vec<Range<u64>> {
    let part_size = part_size.max(len.div_ceil(MAX_PARTS)).max(1);
    (0..len.div_ceil(part_size))
        .map(|i| i * part_size..((i + 1) * part_size).min(len))
        .collect()
}

/// The bytes at `range` of the concatenated `segments`: zero-copy when the
/// range lies within one segment, one copy otherwise.
fn concat(segments: &[Bytes], range: Range<u64>) -> Bytes {
    let mut pieces = Vec::new();
    let mut offset = 0u64;
    for segment in segments {
        let seg_end = offset + segment.len() as u64;
        let start = range.start.max(offset);
        let end = range.end.min(seg_end);
        if start < end {
            let from = usize::try_from(start - offset).unwrap_or(0);
            let to = usize::try_from(end - offset).unwrap_or(segment.len());
            pieces.push(segment.slice(from..to));
        }
        offset = seg_end;
        if offset >= range.end {
            break;
        }
    }
    match pieces.len() {
        0 => Bytes::new(),
        1 => pieces.swap_remove(0),
        _ => {
            let mut out = BytesMut::with_capacity(pieces.iter().map(Bytes::len).sum());
            for piece in &pieces {
                out.extend_from_slice(piece);
            }
            out.freeze()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_body_exactly() {
        let mib = 1024 * 1024;
        assert_eq!(
            plan_parts(12 * mib, 5 * mib),
            vec![0..5 * mib, 5 * mib..10 * mib, 10 * mib..12 * mib]
        );
        assert_eq!(plan_parts(10 * mib, 5 * mib).len(), 2);
        let huge = plan_parts(100_000 * mib, 5 * mib);
        assert!(huge.len() as u64 <= MAX_PARTS);
        assert_eq!(huge.last().map(|r| r.end), Some(100_000 * mib));
    }

    #[test]
    fn concat_slices_across_segments() {
        let segments = [
            Bytes::from_static(b"head"),
            Bytes::from_static(b"0123456789"),
        ];
        assert_eq!(concat(&segments, 0..14), &b"head0123456789"[..]);
        assert_eq!(concat(&segments, 2..6), &b"ad01"[..]);
        assert_eq!(concat(&segments, 4..14), &b"0123456789"[..]);
        assert_eq!(concat(&segments, 5..7), &b"12"[..]);
        assert_eq!(concat(&segments, 3..3), &b""[..]);
    }

    #[test]
    fn new_rejects_bad_config_without_leaking_the_secret() {
        let mut config = S3Config::new("http://x", "b", "garage", "id", "topsecret");
        config.part_size = 1024;
        let e = S3Store::new(config).err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|m| m.contains("part size")),
            "{e:?}"
        );
        let config = S3Config::new("127.0.0.1:3900", "b", "garage", "id", "topsecret");
        let e = S3Store::new(config).err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|m| !m.contains("topsecret")),
            "{e:?}"
        );
    }
}
