//! Fixity: whether each instance the index lists is still in storage as it
//! was stored, and which stored objects no index entry names.
//!
//! Disks and object stores lose and damage data without saying so (a bad
//! sector, a restore from an old backup, an operator's `rm`). An object's
//! key carries the start of the SHA-256 of its file meta group, and the
//! index holds its size and the SHA-256 of its data set, so every byte of
//! a stored instance can be checked against what was acknowledged.

use futures::StreamExt;
use sha2::{Digest, Sha256};
use storage::{ObjectKey, ObjectStore, StorageError};

use crate::index::{Index, StoredInstance};
use crate::layout::read_part10_header;

/// Where object keys of instances start.
pub const INSTANCE_PREFIX: &str = "dicom/";

/// Bytes first read to find where the data set starts: more than almost
/// any file meta group.
const HEADER_PROBE: u64 = 64 * 1024;
/// The most read to find it: a file meta group may carry private
/// information of any length, but not this much.
const MAX_HEADER_PROBE: u64 = 64 << 20;

/// What is wrong with a stored instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("its object {key} is not in storage")]
    Missing { key: String },
    #[error("its object is {stored} bytes, but {indexed} were stored")]
    WrongSize { indexed: u64, stored: u64 },
    #[error("the SHA-256 of its data set is {stored}, but {indexed} was stored")]
    DataSetChanged { indexed: String, stored: String },
    #[error("its file meta group has changed (SHA-256 begins {stored}, the key says {indexed})")]
    MetaChanged { indexed: String, stored: String },
    #[error("its object cannot be read: {0}")]
    Unreadable(String),
}

/// Checks one instance's object against the index: present, of the
/// stored size, with the stored data set and file meta group. Reads the
/// object once, streamed. Returns the bytes read.
pub async fn check_instance(
    store: &dyn ObjectStore,
    instance: &StoredInstance,
) -> Result<u64, Problem> {
    let unreadable = |e: StorageError| Problem::Unreadable(e.to_string());
    let key = ObjectKey::new(&instance.object_key)
        .map_err(|e| Problem::Unreadable(format!("the indexed key is not valid: {e}")))?;
    let Some(meta) = store.head(&key).await.map_err(unreadable)? else {
        return Err(Problem::Missing {
            key: instance.object_key.clone(),
        });
    };
    if meta.size != instance.size {
        return Err(Problem::WrongSize {
            indexed: instance.size,
            stored: meta.size,
        });
    }
    let mut probe_len = meta.size.min(HEADER_PROBE);
    let header = loop {
        let probe = store
            .get_range(&key, 0..probe_len)
            .await
            .map_err(unreadable)?;
        match read_part10_header(&probe) {
            Ok(header) => break header,
            // A file meta group longer than the probe: read more of it.
            Err(_) if probe_len < meta.size.min(MAX_HEADER_PROBE) => {
                probe_len = (probe_len * 16).min(meta.size).min(MAX_HEADER_PROBE);
            }
            Err(e) => {
                return Err(Problem::Unreadable(format!(
                    "not a DICOM file any more: {e}"
                )));
            }
        }
    };
    let dataset_offset = header.dataset_offset;

    let mut stream = store.get_stream(&key).await.map_err(unreadable)?;
    let (mut meta_hash, mut data_hash) = (Sha256::new(), Sha256::new());
    let mut read = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        let in_meta = dataset_offset.saturating_sub(read).min(chunk.len());
        meta_hash.update(&chunk[..in_meta]);
        data_hash.update(&chunk[in_meta..]);
        read += chunk.len();
    }
    if read as u64 != instance.size {
        return Err(Problem::WrongSize {
            indexed: instance.size,
            stored: read as u64,
        });
    }
    let stored = hex::encode(data_hash.finalize());
    if stored != instance.sha256 {
        return Err(Problem::DataSetChanged {
            indexed: instance.sha256.clone(),
            stored,
        });
    }
    if let Some(indexed) = meta_digest_of_key(&instance.object_key, &instance.sha256) {
        let stored = hex::encode(meta_hash.finalize());
        if !stored.starts_with(indexed) {
            return Err(Problem::MetaChanged {
                indexed: indexed.to_owned(),
                stored: stored[..indexed.len()].to_owned(),
            });
        }
    }
    Ok(read as u64)
}

/// The start of the file meta group's SHA-256 that an instance's key
/// carries after the start of its data set's (`{sop}.{data}{meta}.dcm`),
/// when the key has that form.
fn meta_digest_of_key<'k>(key: &'k str, sha256: &str) -> Option<&'k str> {
    let name = key.rsplit('/').next()?.strip_suffix(".dcm")?;
    let (_, digests) = name.rsplit_once('.')?;
    let meta = digests.strip_prefix(sha256.get(..16)?)?;
    (!meta.is_empty() && meta.bytes().all(|b| b.is_ascii_hexdigit())).then_some(meta)
}

/// The SOP Instance UID an instance key names.
pub fn sop_of_key(key: &str) -> Option<&str> {
    let name = key.rsplit('/').next()?.strip_suffix(".dcm")?;
    name.rsplit_once('.').map(|(sop, _)| sop)
}

/// Objects under `prefix` (within [`INSTANCE_PREFIX`]) that no index
/// entry names: left by a store that never completed, or one under way
/// right now.
pub async fn unindexed(
    store: &dyn ObjectStore,
    index: &dyn Index,
    prefix: &str,
) -> Result<Vec<ObjectKey>, String> {
    let keys = store.list(prefix).await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for key in keys {
        let named = match sop_of_key(key.as_str()) {
            Some(sop) => index
                .find_instance(sop)
                .await
                .map_err(|e| e.to_string())?
                .is_some_and(|i| i.object_key == key.as_str()),
            None => false,
        };
        if !named {
            out.push(key);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_instance_and_digests() {
        let sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let key = "dicom/1.2/1.2.3/1.2.3.4.0123456789abcdef89abcdef.dcm";
        assert_eq!(sop_of_key(key), Some("1.2.3.4"));
        assert_eq!(meta_digest_of_key(key, sha), Some("89abcdef"));
        // Another instance's data set digest, or no meta digest: nothing
        // to check against.
        assert_eq!(meta_digest_of_key(key, &sha.replace('0', "f")), None);
        assert_eq!(
            meta_digest_of_key("dicom/1/2/3.4.0123456789abcdef.dcm", sha),
            None
        );
        assert_eq!(sop_of_key("dicom/1/2/readme.txt"), None);
    }
}
