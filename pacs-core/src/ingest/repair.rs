//! An instance sent again whose stored object the archive lost or
//! damaged (a bad sector, an operator's `rm`, a restore of the objects
//! from an older copy). The sender resends precisely because something
//! went wrong; acknowledging its bytes as a duplicate of an object that
//! is not there any more would tell it the archive holds what it cannot
//! return. The bytes received are the instance (their data set hashes to
//! the indexed one), so they take the old object's place.

use storage::ObjectKey;

use super::{Ingest, Prepared, StoreKind, new_instance, object_key};
use crate::error::IngestError;
use crate::index::StoredInstance;

impl Ingest {
    /// A duplicate of `existing` (same data set): checks its object, and
    /// when it is missing or damaged writes `prepared` in its place.
    pub(super) async fn keep_or_repair(
        &self,
        prepared: &Prepared,
        sha256: &str,
        existing: &StoredInstance,
        source: &str,
    ) -> Result<StoreKind, IngestError> {
        let Err(problem) = crate::verify::check_instance(&*self.store, existing).await else {
            return Ok(StoreKind::Duplicate);
        };
        let p = &prepared.parsed;
        let key = object_key(p, sha256, &prepared.meta_digest)?;
        // Same key, same file meta group: the object is put back as it was.
        self.store.put(&key, prepared.body.clone()).await?;
        if key.as_str() == existing.object_key {
            let still_named = self
                .index
                .find_instance(p.sop_instance_uid.as_str())
                .await?
                .is_some_and(|now| now.object_key == key.as_str());
            if !still_named {
                // Replaced meanwhile: what was just written is surplus.
                self.discard(&key).await;
                return Ok(StoreKind::Duplicate);
            }
        } else {
            // Another file meta group (another sender, another door): the
            // index follows the new object, and the damaged one goes.
            let record = new_instance(prepared, sha256, key.as_str(), source);
            if !self.index.relocate(&existing.object_key, record).await? {
                // Replaced meanwhile; ours is surplus unless it is named.
                self.discard_unless_referenced(p.sop_instance_uid.as_str(), &key)
                    .await;
                return Ok(StoreKind::Duplicate);
            }
            if let Ok(old) = ObjectKey::new(&existing.object_key) {
                self.discard(&old).await;
            }
        }
        tracing::warn!(
            sop_instance_uid = %p.sop_instance_uid,
            study_instance_uid = %p.study_instance_uid,
            %problem,
            source,
            "an instance sent again had lost its stored object; the bytes received took its place"
        );
        Ok(StoreKind::Repaired)
    }
}
