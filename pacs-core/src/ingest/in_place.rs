//! Objects already in storage: indexed where they lie when the index lost
//! them (`pacs verify --reindex`), read again when the index holds an
//! older reading of them (`pacs refresh`), and what their file meta group
//! says of who sent them.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use storage::ObjectKey;

use super::{
    Incoming, Ingest, StoreKind, Stored, check_claims, file_meta_group, frame, new_instance,
    object_key, prepare,
};
use crate::error::IngestError;
use crate::index::{DuplicatePolicy, InsertOutcome, Refreshed, StoredInstance};
use crate::layout;

/// 2000-01-01 in milliseconds since 1970: object times before it are not
/// taken as when an instance arrived.
const EARLIEST_PLAUSIBLE_WRITE: crate::forward::Millis = 946_684_800_000;

impl Ingest {
    /// Indexes an object that is in storage under `key` but has no index
    /// entry (the entry was lost, or never committed), as an instance
    /// `site` sent when the object was `written` (where the store says).
    /// Parsed and checked as any arriving instance, and its
    /// content must give `key`; but nothing is written or removed in
    /// storage, whatever the outcome: the object may be the only copy.
    /// Never forwards. Replaces the indexed instance only when `replace`
    /// is set (its own object is gone: a restored index naming the copy
    /// that a later replacement removed).
    pub async fn index_stored(
        &self,
        key: &ObjectKey,
        object: Bytes,
        source: &str,
        site: Option<&str>,
        written: Option<std::time::SystemTime>,
        replace: bool,
    ) -> Result<Stored, IngestError> {
        let _guard = self.enter()?;
        let framed = frame(Incoming::Part10(object), self.config.max_instance_size)?;
        check_claims(&framed.claimed_sop_class, &framed.claimed_sop_instance)?;
        let dataset = framed.dataset.clone();
        let hashing = tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&dataset)));
        let config = self.config.clone();
        let parsing = tokio::task::spawn_blocking(move || prepare(framed, &config));
        let (sha256, prepared) = tokio::join!(hashing, parsing);
        let prepared =
            prepared.map_err(|e| IngestError::Unreadable(format!("parsing failed: {e}")))??;
        let sha256 = sha256.map_err(|e| IngestError::Unreadable(format!("hashing failed: {e}")))?;
        let p = &prepared.parsed;
        let own = object_key(p, &sha256, &prepared.meta_digest)?;
        if own.as_str() != key.as_str() {
            return Err(IngestError::Unreadable(format!(
                "its content belongs under {own}, not where it is"
            )));
        }
        let reply = |kind| Stored::of(p, kind);
        let mut record = new_instance(&prepared, &sha256, key.as_str(), source);
        record.site = site.map(str::to_owned);
        // A time from before any archive like this one ran (a file copied
        // with its time lost, as 1970) says nothing: the task is new.
        record.received_at = written
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(crate::forward::millis)
            .filter(|&ms| ms >= EARLIEST_PLAUSIBLE_WRITE);
        let policy = if replace {
            DuplicatePolicy::Replace
        } else {
            DuplicatePolicy::KeepFirst
        };
        match self.index.insert(record, policy).await? {
            InsertOutcome::Inserted => Ok(reply(StoreKind::New)),
            InsertOutcome::Duplicate => Ok(reply(StoreKind::Duplicate)),
            // The replaced entry's object is gone already: nothing to remove.
            InsertOutcome::Replaced { .. } if replace => Ok(reply(StoreKind::Replaced)),
            InsertOutcome::Conflict | InsertOutcome::Replaced { .. } => {
                Err(IngestError::Conflict(p.sop_instance_uid.to_string()))
            }
            InsertOutcome::OtherSite => {
                Err(IngestError::OtherSite(p.study_instance_uid.to_string()))
            }
            InsertOutcome::SeriesOfAnotherStudy { study_uid } => {
                Err(IngestError::SeriesOfAnotherStudy {
                    series: p.series_instance_uid.to_string(),
                    stored: study_uid,
                    found: p.study_instance_uid.to_string(),
                })
            }
        }
    }
}

impl Ingest {
    /// Reads `object`, the stored object of the indexed `instance`, as
    /// an arriving instance is read today (this version's decoding, the
    /// configured `[ingest]` settings), and brings the index's entry up to
    /// date with it (see [`crate::index::Index::refresh`]). The object must
    /// still be what was stored: same data set, same key. Nothing in
    /// storage changes. `None` when the index no longer names the object.
    /// Without `apply`, says what would change and changes nothing.
    pub async fn refresh_stored(
        &self,
        instance: &StoredInstance,
        object: Bytes,
        apply: bool,
    ) -> Result<Option<Refreshed>, IngestError> {
        let _guard = self.enter()?;
        let framed = frame(Incoming::Part10(object), self.config.max_instance_size)?;
        check_claims(&framed.claimed_sop_class, &framed.claimed_sop_instance)?;
        let dataset = framed.dataset.clone();
        let config = self.config.clone();
        let (sha256, prepared) = tokio::task::spawn_blocking(move || {
            (
                hex::encode(Sha256::digest(&dataset)),
                prepare(framed, &config),
            )
        })
        .await
        .map_err(|e| IngestError::Unreadable(format!("reading failed: {e}")))?;
        // Damage first: a damaged object may not parse at all.
        if sha256 != instance.sha256 {
            return Err(IngestError::Unreadable(format!(
                "its data set has changed since it was stored (SHA-256 {sha256}, stored {}): \
                 run pacs verify",
                instance.sha256
            )));
        }
        let prepared = prepared?;
        let own = object_key(&prepared.parsed, &sha256, &prepared.meta_digest)?;
        if own.as_str() != instance.object_key {
            return Err(IngestError::Unreadable(format!(
                "its content belongs under {own}, not {}",
                instance.object_key
            )));
        }
        let record = new_instance(&prepared, &sha256, &instance.object_key, "");
        Ok(self.index.refresh(record, apply).await?)
    }
}

/// The calling AE title of an object this archive stored from a C-STORE:
/// `Some` only when its file meta group is exactly the one the archive
/// writes for a DIMSE arrival (see [`file_meta_group`]), whose Source
/// Application Entity Title is the caller's. Other objects (STOW-RS and
/// peer uploads keep the sender's file meta group) name no caller the
/// archive saw.
pub fn dimse_caller_of(object: &[u8]) -> Option<String> {
    let header = layout::read_part10_header(object).ok()?;
    let meta = dicom_object::meta::FileMetaTable::from_reader(object.get(128..)?).ok()?;
    let caller = meta.source_application_entity_title?;
    let caller = caller.trim_end_matches(['\0', ' ']);
    let ours = file_meta_group(
        &header.media_storage_sop_class_uid,
        &header.media_storage_sop_instance_uid,
        &header.transfer_syntax_uid,
        Some(caller),
    )
    .ok()?;
    (object.get(..header.dataset_offset)? == &ours[..]).then(|| caller.to_owned())
}
