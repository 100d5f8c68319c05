//! An instance sent again in another encoding. Duplicates are settled on
//! the data set's bytes, which change with the transfer syntax: a
//! modality resending an instance as implicit VR after explicit VR, or
//! uncompressed after JPEG-LS lossless, or a gateway that writes
//! sequence lengths its own way, sends the same instance in other bytes.
//! Calling that a conflict fails a sender whose instance is safely here.
//! So before refusing different bytes, the archive compares what the two
//! objects hold: every element decoded, pixel data included. Equal
//! content is a duplicate and the stored object stays as it is.

use storage::ObjectKey;

use super::{Ingest, Prepared};
use crate::index::StoredInstance;
use crate::transcode;

impl Ingest {
    /// Whether `prepared` holds what `existing`'s object holds, although
    /// their bytes differ. Anything that prevents the comparison (the
    /// stored object unreadable, pixel data that will not decode) answers
    /// no, and the new bytes stay refused.
    pub(super) async fn holds_the_same(
        &self,
        prepared: &Prepared,
        existing: &StoredInstance,
    ) -> bool {
        let p = &prepared.parsed;
        let stored = match ObjectKey::new(&existing.object_key) {
            Ok(key) => self.store.get(&key).await,
            Err(e) => {
                tracing::warn!(key = %existing.object_key, "stored object key unusable: {e}");
                return false;
            }
        };
        let stored = match stored {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(
                    sop_instance_uid = %p.sop_instance_uid,
                    "cannot read the stored instance to compare it with one sent again: {e}"
                );
                return false;
            }
        };
        let received = prepared.body.clone();
        let compared = tokio::task::spawn_blocking(move || {
            Ok::<_, crate::error::ArchiveError>(
                transcode::content(&stored)? == transcode::content(&received.contiguous())?,
            )
        })
        .await;
        match compared {
            Ok(Ok(same)) => same,
            Ok(Err(e)) => {
                tracing::info!(
                    sop_instance_uid = %p.sop_instance_uid,
                    "an instance sent again in other bytes could not be compared with the stored one: {e}"
                );
                false
            }
            Err(e) => {
                tracing::warn!("comparing an instance sent again failed: {e}");
                false
            }
        }
    }
}
