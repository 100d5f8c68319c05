//! The one ingest pipeline behind every entry point (DIMSE C-STORE,
//! STOW-RS, `pacs import`).
//!
//! Order of work, and why:
//! 1. look up the instance the request names, to settle duplicates before
//!    any writing;
//! 2. at once: parse and validate the header from the buffer the instance
//!    arrived in, hash the data set, and (for an instance not stored yet)
//!    write the object durably under no key ([`ObjectStore::stage`]). The
//!    write is the slow part; overlapping it with the parsing is most of
//!    what one association's throughput comes from. An invalid instance's
//!    staged write is discarded and never becomes visible;
//! 3. name the object with a key made of validated UIDs and the content
//!    hash, so that different content never overwrites a stored object;
//! 4. index it in one transaction;
//! 5. only then report success. A crash before 4 leaves at most an
//!    unreferenced object, never an index row without its object.
//!
//! A C-STORE's data set arrives in PDUs, and its command names the
//! instance before the first of them: [`Ingest::begin_upload`] starts the
//! lookup of step 1 at once, and each piece is hashed and (where the store
//! can, [`ObjectStore::stage_incrementally`]) written as it comes, so that
//! once the last piece is in, only its own write, the fsync, parsing and
//! steps 3 to 5 are left ([`Ingest::finish_upload`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use dicom_dictionary_std::tags;
use sha2::{Digest, Sha256};
use storage::{Body, ObjectKey, ObjectStore, Staged};
use tokio::sync::Notify;

use crate::error::IngestError;
use crate::forward::{Arrival, Router};
use crate::index::{DuplicatePolicy, Index, InsertOutcome, NewInstance, StoredInstance};
use crate::json;
use crate::layout;
use crate::parse::{self, ParsedInstance, PixelData, int_value};
use crate::uid::Uid;

mod fields;
mod in_place;
mod repair;
mod resent;
mod upload;

pub use fields::image_attributes;
use fields::{series_fields, study_fields};

pub use in_place::dimse_caller_of;
pub use upload::{Upload, UploadCommand};

/// Settings of the ingest pipeline.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub duplicate_policy: DuplicatePolicy,
    /// Largest instance accepted, in bytes.
    pub max_instance_size: u64,
    /// What non-ASCII text is in data sets that name no character set.
    pub undeclared_character_set: Option<crate::charset::Undeclared>,
    /// Most bytes of a C-STORE data set queued for the disk as it arrives;
    /// beyond them (a disk slower than the network) it is written once
    /// complete instead, so that it is not held twice in memory.
    pub staging_backlog: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            duplicate_policy: DuplicatePolicy::KeepFirst,
            max_instance_size: 4 << 30,
            undeclared_character_set: None,
            staging_backlog: 32 << 20,
        }
    }
}

/// An instance as it arrives.
#[derive(Debug)]
pub enum Incoming {
    /// A DICOM Part 10 stream (STOW-RS, files). Stored byte for byte.
    Part10(Bytes),
    /// A bare data set with the attributes of its DIMSE command (C-STORE).
    /// Stored as a Part 10 file: a file meta group, then these bytes.
    Dataset {
        dataset: Bytes,
        transfer_syntax_uid: String,
        sop_class_uid: String,
        sop_instance_uid: String,
        calling_ae_title: Option<String>,
    },
}

/// How a successful store went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    New,
    /// The same bytes were already stored: nothing changed.
    Duplicate,
    /// The same data set was indexed, but its object was missing or
    /// damaged: the bytes received took its place.
    Repaired,
    /// Different bytes were stored under this SOP Instance UID and were
    /// replaced (policy `replace`).
    Replaced,
}

/// A stored instance, as reported to the sender.
#[derive(Debug, Clone)]
pub struct Stored {
    pub kind: StoreKind,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
}

impl Stored {
    fn of(p: &ParsedInstance, kind: StoreKind) -> Stored {
        Stored {
            kind,
            sop_class_uid: p.sop_class_uid.to_string(),
            sop_instance_uid: p.sop_instance_uid.to_string(),
            study_instance_uid: p.study_instance_uid.to_string(),
            series_instance_uid: p.series_instance_uid.to_string(),
        }
    }
}

/// The archive's write side. Cheap to share behind an `Arc`.
pub struct Ingest {
    store: Arc<dyn ObjectStore>,
    index: Arc<dyn Index>,
    config: IngestConfig,
    router: Option<Arc<dyn Router>>,
    accepting: AtomicBool,
    in_flight: AtomicUsize,
    drained: Notify,
    /// Stores of one SOP Instance UID name, index and remove objects one
    /// at a time (see [`Ingest::commit`]); instances share a lock only
    /// when their UIDs hash alike.
    instance_locks: Box<[tokio::sync::Mutex<()>]>,
}

/// Locks of [`Ingest::instance_locks`]: far more than stores at once.
const INSTANCE_LOCKS: usize = 1024;

/// Identification written into the file meta group of stored DIMSE data.
pub const IMPLEMENTATION_CLASS_UID: &str = "1.2.826.0.1.3680043.10.1453.1";
pub const IMPLEMENTATION_VERSION_NAME: &str = "PACS_0_1";

struct InFlight<'a>(&'a Ingest);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.drained.notify_waiters();
        }
    }
}

/// An arriving instance as it will be stored, before it is parsed.
struct Framed {
    /// File meta information and data set, as the object will hold them.
    body: Body,
    dataset: Bytes,
    /// Where the data set starts in `body`.
    offset: u64,
    transfer_syntax_uid: String,
    /// SOP Class and Instance UIDs as the request (C-STORE command or
    /// file meta information) names them, and what named them.
    claimed_sop_class: String,
    claimed_sop_instance: String,
    claimed_by: &'static str,
}

/// An instance parsed, hashed and (when new) staged: what
/// [`Ingest::commit`] needs.
struct Arrived {
    prepared: Prepared,
    sha256: String,
    existing: Option<StoredInstance>,
    staged: Option<Staged>,
    calling_ae_title: Option<String>,
}

impl Framed {
    /// A DIMSE data set behind the file meta group made for it from its
    /// command.
    fn dimse(
        meta: Bytes,
        dataset: Bytes,
        transfer_syntax_uid: String,
        sop_class_uid: String,
        sop_instance_uid: String,
    ) -> Framed {
        Framed {
            offset: meta.len() as u64,
            body: Body::new(vec![meta, dataset.clone()]),
            dataset,
            transfer_syntax_uid,
            claimed_sop_class: sop_class_uid,
            claimed_sop_instance: sop_instance_uid,
            claimed_by: "C-STORE request",
        }
    }
}

/// What parsing produces.
struct Prepared {
    parsed: ParsedInstance,
    /// Distinguishes objects whose file meta groups differ, so that one
    /// never overwrites another under the same key.
    meta_digest: String,
    metadata: Vec<u8>,
    body: Body,
    size: u64,
}

impl Ingest {
    pub fn new(store: Arc<dyn ObjectStore>, index: Arc<dyn Index>, config: IngestConfig) -> Ingest {
        Ingest {
            store,
            index,
            config,
            router: None,
            accepting: AtomicBool::new(true),
            in_flight: AtomicUsize::new(0),
            drained: Notify::new(),
            instance_locks: (0..INSTANCE_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// What text in a data set that names no character set is read as
    /// (`[ingest] undeclared_character_set`): queries from the equipment
    /// that sends such data sets are read alike.
    /// The largest instance accepted, in bytes.
    pub fn max_instance_size(&self) -> u64 {
        self.config.max_instance_size
    }

    pub fn undeclared_character_set(&self) -> Option<crate::charset::Undeclared> {
        self.config.undeclared_character_set
    }

    /// The lock that stores of `sop_instance_uid` take.
    fn instance_lock(&self, sop_instance_uid: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        sop_instance_uid.hash(&mut hasher);
        &self.instance_locks[hasher.finish() as usize % self.instance_locks.len()]
    }

    /// Forwards newly stored instances where `router` says: the orders are
    /// queued in the transaction that indexes the instance.
    pub fn with_router(mut self, router: Arc<dyn Router>) -> Ingest {
        self.router = Some(router);
        self
    }

    /// Stops accepting new instances and waits until every store already
    /// under way has finished (acknowledged or failed, never half-written).
    pub async fn shutdown(&self) {
        self.accepting.store(false, Ordering::SeqCst);
        loop {
            let notified = self.drained.notified();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Stores and indexes one instance. `source` says who sent it (for the
    /// index and logs); `expected_study`, when given, must be the
    /// instance's study (STOW-RS to `/studies/{study}`).
    pub async fn ingest(
        &self,
        incoming: Incoming,
        source: &str,
        expected_study: Option<&Uid>,
    ) -> Result<Stored, IngestError> {
        self.ingest_from(incoming, source, None, expected_study)
            .await
    }

    /// [`Ingest::ingest`] for an instance a known site sent: its study
    /// becomes that site's, and its reading task takes the site's priority.
    pub async fn ingest_from(
        &self,
        incoming: Incoming,
        source: &str,
        site: Option<&str>,
        expected_study: Option<&Uid>,
    ) -> Result<Stored, IngestError> {
        let _guard = self.enter()?;
        let calling_ae_title = match &incoming {
            Incoming::Dataset {
                calling_ae_title, ..
            } => calling_ae_title.clone(),
            Incoming::Part10(_) => None,
        };
        let framed = frame(incoming, self.config.max_instance_size)?;
        // Checks that cost nothing come before any writing: a request that
        // names no valid instance is refused without touching the disk.
        check_claims(&framed.claimed_sop_class, &framed.claimed_sop_instance)?;

        // The instance named by the request: the data set must name the
        // same one (checked while parsing), so this settles duplicates.
        let existing = self
            .index
            .find_instance(&framed.claimed_sop_instance)
            .await?;

        // Hashing, parsing and (for an instance not stored yet, the common
        // case) writing the object durably all take a while: do them at once.
        // The hash is of the data set: the instance's content, whatever file
        // meta group it came with, so that the same data set sent again by
        // another AE title or through another door is a duplicate.
        let dataset = framed.dataset.clone();
        let hashing = tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&dataset)));
        let body = framed.body.clone();
        let staging = async {
            match existing {
                None => Some(self.store.stage(body).await),
                Some(_) => None,
            }
        };
        let config = self.config.clone();
        let parsing = tokio::task::spawn_blocking(move || prepare(framed, &config));
        let (sha256, prepared, staged) = tokio::join!(hashing, parsing, staging);
        let prepared =
            prepared.map_err(|e| IngestError::Unreadable(format!("parsing failed: {e}")))??;
        let sha256 = sha256.map_err(|e| IngestError::Unreadable(format!("hashing failed: {e}")))?;
        let arrived = Arrived {
            prepared,
            sha256,
            existing,
            staged: staged.transpose()?,
            calling_ae_title,
        };
        self.commit(arrived, source, site, expected_study).await
    }

    /// Counts a store in flight, or refuses it once shutdown has begun.
    fn enter(&self) -> Result<InFlight<'_>, IngestError> {
        // SeqCst on both sides: `shutdown` must never see no store in
        // flight while a store sees the archive still accepting.
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(self);
        if !self.accepting.load(Ordering::SeqCst) {
            return Err(IngestError::ShuttingDown);
        }
        Ok(guard)
    }

    /// The rest of a store, once the instance is parsed, hashed and (when
    /// new) staged: check, name, write, index.
    async fn commit(
        &self,
        arrived: Arrived,
        source: &str,
        site: Option<&str>,
        expected_study: Option<&Uid>,
    ) -> Result<Stored, IngestError> {
        let Arrived {
            prepared,
            sha256,
            existing,
            staged,
            calling_ae_title,
        } = arrived;
        let p = &prepared.parsed;
        if let Some(expected) = expected_study
            && expected != &p.study_instance_uid
        {
            return Err(IngestError::WrongStudy {
                expected: expected.to_string(),
                found: p.study_instance_uid.to_string(),
            });
        }
        // From naming the object to removing what the index no longer
        // names, one store of an instance at a time: otherwise a store
        // replacing the instance removes the object that a concurrent
        // store of the old bytes (same key) has just written and is about
        // to index, or a failed store removes it, and an acknowledged
        // instance has no object.
        let _one_at_a_time = self.instance_lock(p.sop_instance_uid.as_str()).lock().await;
        let reply = |kind| Stored::of(p, kind);

        if let Some(existing) = existing {
            let same_bytes = existing.sha256 == sha256;
            let keep_first = self.config.duplicate_policy == DuplicatePolicy::KeepFirst;
            if same_bytes || keep_first {
                let same = same_bytes || self.holds_the_same(&prepared, &existing).await;
                if !same {
                    return Err(IngestError::Conflict(p.sop_instance_uid.to_string()));
                }
                // The same instance again, from a site that may not add to
                // the study it names, is refused as anything new from it
                // would be, rather than acknowledged.
                if let Some(site) = site
                    && !self
                        .index
                        .site_may_add_to(p.study_instance_uid.as_str(), site)
                        .await?
                {
                    return Err(IngestError::OtherSite(p.study_instance_uid.to_string()));
                }
                if !same_bytes {
                    tracing::info!(
                        sop_instance_uid = %p.sop_instance_uid,
                        stored = %existing.transfer_syntax_uid,
                        received = %p.transfer_syntax_uid,
                        source,
                        "an instance sent again in other bytes holds what is stored; the stored object stays"
                    );
                    return Ok(reply(StoreKind::Duplicate));
                }
                // Sent again, perhaps because the archive lost it: the
                // object is checked, and put back from these bytes if it is
                // missing or damaged.
                return self
                    .keep_or_repair(&prepared, &sha256, &existing, source)
                    .await
                    .map(reply);
            }
        }

        let key = object_key(p, &sha256, &prepared.meta_digest)?;
        let written = match staged {
            Some(staged) => self.store.put_staged(&key, staged).await,
            None => self.store.put(&key, prepared.body.clone()).await,
        };
        if let Err(e) = written {
            // The object may be visible even so (renamed, then its directory
            // could not be synced): it must not stay without a row.
            self.discard_unless_referenced(p.sop_instance_uid.as_str(), &key)
                .await;
            return Err(e.into());
        }

        let mut record = new_instance(&prepared, &sha256, key.as_str(), source);
        record.site = site.map(str::to_owned);
        if let Some(router) = &self.router {
            record.forward = router.route(&Arrival {
                calling_ae_title: calling_ae_title.as_deref().map(str::trim),
                site,
                modality: record.series.modality.as_deref(),
                study_description: record.study.study_description.as_deref(),
            });
        }
        let forwarded = !record.forward.is_empty();
        let outcome = self
            .index
            .insert(record, self.config.duplicate_policy)
            .await;
        if forwarded
            && matches!(
                outcome,
                Ok(InsertOutcome::Inserted | InsertOutcome::Replaced { .. })
            )
            && let Some(router) = &self.router
        {
            router.queued();
        }
        match outcome {
            Ok(InsertOutcome::Inserted) => Ok(reply(StoreKind::New)),
            Ok(InsertOutcome::Duplicate) => {
                // A concurrent store of the same data set won the race; if it
                // came with another file meta group, its object is the one
                // the row names and ours is surplus.
                self.discard_unless_referenced(p.sop_instance_uid.as_str(), &key)
                    .await;
                Ok(reply(StoreKind::Duplicate))
            }
            Ok(InsertOutcome::Conflict) => {
                self.discard(&key).await;
                Err(IngestError::Conflict(p.sop_instance_uid.to_string()))
            }
            Ok(InsertOutcome::SeriesOfAnotherStudy { study_uid }) => {
                self.discard_unless_referenced(p.sop_instance_uid.as_str(), &key)
                    .await;
                Err(IngestError::SeriesOfAnotherStudy {
                    series: p.series_instance_uid.to_string(),
                    stored: study_uid,
                    found: p.study_instance_uid.to_string(),
                })
            }
            Ok(InsertOutcome::OtherSite) => {
                // The same bytes may be stored already, under this very key.
                self.discard_unless_referenced(p.sop_instance_uid.as_str(), &key)
                    .await;
                Err(IngestError::OtherSite(p.study_instance_uid.to_string()))
            }
            Ok(InsertOutcome::Replaced { old_object_key }) => {
                if old_object_key != key.as_str()
                    && let Ok(old) = ObjectKey::new(&old_object_key)
                {
                    self.discard(&old).await;
                }
                Ok(reply(StoreKind::Replaced))
            }
            Err(e) => {
                self.discard_unless_referenced(p.sop_instance_uid.as_str(), &key)
                    .await;
                Err(e.into())
            }
        }
    }

    /// Removes an object this store wrote but did not index, unless a
    /// concurrent store of the same bytes got its row in (same key, so the
    /// object is theirs too). When the index cannot say, the object stays:
    /// an unreferenced object is harmless, a row without its object is not.
    async fn discard_unless_referenced(&self, sop_instance_uid: &str, key: &ObjectKey) {
        match self.index.find_instance(sop_instance_uid).await {
            Ok(Some(existing)) if existing.object_key == key.as_str() => {}
            Ok(_) => self.discard(key).await,
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "cannot tell whether an object is indexed; keeping it");
            }
        }
    }

    async fn discard(&self, key: &ObjectKey) {
        if let Err(e) = self.store.delete(key).await {
            tracing::warn!(key = %key, error = %e, "could not remove an unindexed object");
        }
    }
}

fn frame(incoming: Incoming, limit: u64) -> Result<Framed, IngestError> {
    let framed = match incoming {
        Incoming::Part10(bytes) => {
            if bytes.len() as u64 > limit {
                return Err(IngestError::TooLarge(limit));
            }
            let header = layout::read_part10_header(&bytes)
                .map_err(|e| IngestError::Unreadable(e.to_string()))?;
            Framed {
                dataset: bytes.slice(header.dataset_offset..),
                offset: header.dataset_offset as u64,
                body: Body::from(bytes),
                transfer_syntax_uid: header.transfer_syntax_uid,
                claimed_sop_class: header.media_storage_sop_class_uid,
                claimed_sop_instance: header.media_storage_sop_instance_uid,
                claimed_by: "File Meta Information",
            }
        }
        Incoming::Dataset {
            dataset,
            transfer_syntax_uid,
            sop_class_uid,
            sop_instance_uid,
            calling_ae_title,
        } => {
            if dataset.len() as u64 > limit {
                return Err(IngestError::TooLarge(limit));
            }
            let meta = file_meta_group(
                &sop_class_uid,
                &sop_instance_uid,
                &transfer_syntax_uid,
                calling_ae_title.as_deref(),
            )?;
            Framed::dimse(
                meta,
                dataset,
                transfer_syntax_uid,
                sop_class_uid,
                sop_instance_uid,
            )
        }
    };
    Ok(Framed {
        claimed_sop_class: framed.claimed_sop_class.trim_end_matches('\0').to_owned(),
        claimed_sop_instance: framed
            .claimed_sop_instance
            .trim_end_matches('\0')
            .to_owned(),
        ..framed
    })
}

/// The SOP Class and Instance UIDs a request names must be valid UIDs.
fn check_claims(sop_class: &str, sop_instance: &str) -> Result<(), IngestError> {
    for (attribute, uid) in [
        ("SOP Class UID", sop_class),
        ("SOP Instance UID", sop_instance),
    ] {
        if let Err(source) = Uid::parse(uid) {
            return Err(IngestError::InvalidUid { attribute, source });
        }
    }
    Ok(())
}

fn prepare(framed: Framed, config: &IngestConfig) -> Result<Prepared, IngestError> {
    let mut parsed = parse::parse_instance(
        &framed.dataset,
        framed.offset,
        config.max_instance_size,
        &framed.transfer_syntax_uid,
    )?;
    // What is indexed and served as metadata is the text as it was meant.
    crate::charset::repair(&mut parsed.header, config.undeclared_character_set);
    let origin = framed.claimed_by;
    if framed.claimed_sop_class != parsed.sop_class_uid.as_str() {
        return Err(IngestError::DoesNotMatchSopClass(format!(
            "the {origin} names SOP class {} but the data set has {}",
            framed.claimed_sop_class, parsed.sop_class_uid
        )));
    }
    if framed.claimed_sop_instance != parsed.sop_instance_uid.as_str() {
        return Err(IngestError::DoesNotMatchSopClass(format!(
            "the {origin} names SOP instance {} but the data set has {}",
            framed.claimed_sop_instance, parsed.sop_instance_uid
        )));
    }
    let meta_len = framed.offset as usize;
    let meta_digest = match framed.body.segments().first() {
        Some(first) if first.len() >= meta_len => hex::encode(Sha256::digest(&first[..meta_len])),
        _ => String::new(),
    };
    let metadata = metadata_json(&parsed)?;
    let size = framed.body.len();
    Ok(Prepared {
        parsed,
        meta_digest,
        metadata,
        body: framed.body,
        size,
    })
}

/// The object key: validated UIDs (digits and dots only) and hex digests
/// of the data set and of the file meta group. Nothing else from the data
/// set reaches a key, and different bytes never share one.
fn object_key(
    p: &ParsedInstance,
    sha256: &str,
    meta_digest: &str,
) -> Result<ObjectKey, IngestError> {
    let key = format!(
        "dicom/{}/{}/{}.{}{}.dcm",
        p.study_instance_uid,
        p.series_instance_uid,
        p.sop_instance_uid,
        &sha256[..16],
        &meta_digest[..meta_digest.len().min(8)]
    );
    ObjectKey::new(&key)
        .map_err(|e| IngestError::Unreadable(format!("cannot form an object key: {e}")))
}

/// Encodes a file meta information group (with preamble and prefix) for
/// a data set received over DIMSE.
fn file_meta_group(
    sop_class: &str,
    sop_instance: &str,
    ts: &str,
    calling_ae: Option<&str>,
) -> Result<Bytes, IngestError> {
    let mut builder = dicom_object::meta::FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class.trim_end_matches('\0'))
        .media_storage_sop_instance_uid(sop_instance.trim_end_matches('\0'))
        .transfer_syntax(ts.trim_end_matches('\0'))
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    if let Some(aet) = calling_ae {
        builder = builder.source_application_entity_title(aet.trim());
    }
    let meta = builder.build().map_err(|e| {
        IngestError::DoesNotMatchSopClass(format!("invalid command attributes: {e}"))
    })?;
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    meta.write(&mut out).map_err(|e| {
        IngestError::Unreadable(format!("cannot encode file meta information: {e}"))
    })?;
    Ok(Bytes::from(out))
}

fn metadata_json(p: &ParsedInstance) -> Result<Vec<u8>, IngestError> {
    let path = format!(
        "studies/{}/series/{}/instances/{}",
        p.study_instance_uid, p.series_instance_uid, p.sop_instance_uid
    );
    let mut map = json::to_dicom_json(&p.header, &path);
    // The stored syntax, so a client (the viewer) can ask for frames as
    // stored when it can decode them, and uncompressed otherwise.
    map.insert(
        "00083002".into(),
        serde_json::json!({ "vr": "UI", "Value": [p.transfer_syntax_uid.trim_end_matches('\0')] }),
    );
    if p.pixel_data != PixelData::None {
        let vr = match (p.pixel_data, int_value(&p.header, tags::BITS_ALLOCATED)) {
            (PixelData::Native, Some(b)) if b > 8 => "OW",
            _ => "OB",
        };
        map.insert(
            "7FE00010".into(),
            serde_json::json!({
                "vr": vr,
                "BulkDataURI": format!("{}/{path}/bulkdata/7FE00010", json::BASE_PLACEHOLDER)
            }),
        );
    }
    serde_json::to_vec(&map)
        .map_err(|e| IngestError::Unreadable(format!("cannot encode metadata: {e}")))
}

fn new_instance(prepared: &Prepared, sha256: &str, key: &str, source: &str) -> NewInstance {
    let p = &prepared.parsed;
    NewInstance {
        study: study_fields(&p.header, p.study_instance_uid.as_str()),
        series: series_fields(&p.header, p.series_instance_uid.as_str()),
        sop_instance_uid: p.sop_instance_uid.to_string(),
        sop_class_uid: p.sop_class_uid.to_string(),
        instance_number: int_value(&p.header, tags::INSTANCE_NUMBER),
        transfer_syntax_uid: p.transfer_syntax_uid.clone(),
        object_key: key.to_owned(),
        size: prepared.size,
        sha256: sha256.to_owned(),
        pixel: p.pixel.clone(),
        image: image_attributes(&p.header, &p.transfer_syntax_uid),
        metadata: prepared.metadata.clone(),
        source: source.to_owned(),
        site: None,
        forward: Vec::new(),
        received_at: None,
    }
}
