//! The index: what the archive knows of every stored instance, and the
//! queries over it.
//!
//! [`Index`] is the interface the rest of the archive uses; [`SqliteIndex`]
//! is the embedded backend. A second backend (PostgreSQL) implements the
//! same trait; nothing above this module names a database.

mod accounts;
mod audit;
mod backup;
mod connection;
mod outbox;
mod reading;
mod refresh;
mod schema;
mod search;
mod sharing;
mod sign_in;
mod sqlite;
mod workflow;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::IndexError;
use crate::layout::PixelLayout;
use crate::query::{Attribute, Query};
use crate::render::ImageHeader;
use crate::uid::Uid;

pub use backup::{BackupContents, Restored, back_up, restore};
pub use refresh::Refreshed;
pub use sqlite::SqliteIndex;

/// Patient and study attributes of an instance, as indexed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudyFields {
    pub study_uid: String,
    pub patient_id: Option<String>,
    pub patient_name: Option<String>,
    pub patient_birth_date: Option<String>,
    pub patient_sex: Option<String>,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub accession_number: Option<String>,
    pub study_id: Option<String>,
    pub study_description: Option<String>,
    pub referring_physician_name: Option<String>,
}

/// Series attributes of an instance, as indexed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesFields {
    pub series_uid: String,
    pub modality: Option<String>,
    pub series_number: Option<i64>,
    pub series_description: Option<String>,
    pub body_part_examined: Option<String>,
    pub performed_procedure_step_start_date: Option<String>,
    pub performed_procedure_step_start_time: Option<String>,
    /// The items of its Request Attributes Sequence that name an order.
    pub requests: Vec<RequestItem>,
}

/// One item of a series' Request Attributes Sequence, as searches match
/// and return it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestItem {
    pub requested_procedure_id: Option<String>,
    pub scheduled_procedure_step_id: Option<String>,
}

/// An instance about to be indexed. Its object is already durable.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub study: StudyFields,
    pub series: SeriesFields,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub instance_number: Option<i64>,
    pub transfer_syntax_uid: String,
    pub object_key: String,
    pub size: u64,
    /// SHA-256 of the data set (the instance's content, without its file meta group), hex.
    pub sha256: String,
    pub pixel: PixelLayout,
    /// What decoding and rendering a frame needs, kept so that no
    /// request has to open the instance for it.
    pub image: Option<ImageHeader>,
    /// The instance's DICOM JSON (see [`crate::json`]).
    pub metadata: Vec<u8>,
    /// Who sent it: `dimse:<AET>@<addr>`, `stow:<addr>`, `import:<path>`.
    pub source: String,
    /// The site that sent it, when known: the study becomes visible to
    /// that site and its reading task takes the site's priority.
    pub site: Option<String>,
    /// Where the study goes next: queued in the same transaction.
    pub forward: Vec<crate::forward::ForwardOrder>,
    /// When it arrived, where that was not now (an object indexed where
    /// it lies arrived when it was written), for the study's reading
    /// task: it is as old as its earliest instance.
    pub received_at: Option<crate::forward::Millis>,
}

/// A stored instance as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInstance {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub instance_number: Option<i64>,
    pub transfer_syntax_uid: String,
    pub object_key: String,
    pub size: u64,
    /// SHA-256 of the data set, hex.
    pub sha256: String,
    pub pixel: PixelLayout,
    /// What decoding and rendering a frame needs, kept so that no
    /// request has to open the instance for it.
    pub image: Option<ImageHeader>,
}

/// What to do with an instance whose SOP Instance UID is already stored
/// with different content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DuplicatePolicy {
    /// Keep the stored instance and report a conflict to the sender.
    #[default]
    KeepFirst,
    /// Replace the stored instance by the new one.
    Replace,
}

/// The result of indexing.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    Inserted,
    /// The same bytes were already indexed.
    Duplicate,
    /// Different bytes are indexed under this SOP Instance UID; they were kept.
    Conflict,
    /// The instance's study exists and is not the sending site's: a site
    /// adds only to its own studies.
    OtherSite,
    /// The instance's series is indexed under another study
    /// (`study_uid`): a series belongs to one study, so the instance's
    /// Series or Study Instance UID is wrong. Nothing was written.
    SeriesOfAnotherStudy {
        study_uid: String,
    },
    /// Different bytes were indexed and have been replaced; their object
    /// key is returned so the caller can delete the object.
    Replaced {
        old_object_key: String,
    },
}

/// One result of a search, at the query's level. At patient level the
/// study UID is empty and the study counts are the patient's totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchRow {
    pub values: Vec<(Attribute, String)>,
    /// Patient level: the number of the patient's studies.
    pub patient_related_studies: i64,
    pub study_uid: String,
    pub series_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    pub modalities_in_study: Vec<String>,
    pub study_related_series: i64,
    pub study_related_instances: i64,
    pub series_related_instances: Option<i64>,
    /// Series and instance levels: the series' Request Attributes
    /// Sequence items.
    pub requests: Vec<RequestItem>,
    pub number_of_frames: Option<i64>,
    pub rows: Option<i64>,
    pub columns: Option<i64>,
    /// Of an image the archive can decode (kept from its header).
    pub bits_allocated: Option<i64>,
    pub transfer_syntax_uid: Option<String>,
    /// The DICOM JSON of one instance of the row's scope, when the query
    /// asks for attributes the index does not hold in columns.
    pub sample_metadata: Option<Vec<u8>>,
    /// Where to resume a [`crate::query::Paging::Walk`] after this row;
    /// `None` for other paging.
    pub position: Option<crate::query::Position>,
}

/// Totals, for operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub studies: i64,
    pub series: i64,
    pub instances: i64,
}

/// The index interface.
#[async_trait]
pub trait Index: Send + Sync + 'static {
    /// The instance with this SOP Instance UID, if any.
    async fn find_instance(&self, sop_uid: &str) -> Result<Option<StoredInstance>, IndexError>;

    /// Whether `site` may add instances to `study_uid`: a study not here
    /// yet, or one the site already sent.
    async fn site_may_add_to(&self, study_uid: &str, site: &str) -> Result<bool, IndexError>;

    /// Indexes an instance in one transaction, study and series rows and
    /// counters included. Duplicates are decided inside that transaction.
    async fn insert(
        &self,
        instance: NewInstance,
        policy: DuplicatePolicy,
    ) -> Result<InsertOutcome, IndexError>;

    /// Brings what the index holds of a stored instance up to date with a
    /// new reading of its object: `instance` names the indexed object and
    /// content (key and SHA-256). Its metadata and image attributes are
    /// replaced and, where it is the earliest instance its series or study
    /// still holds, the series' or study's attributes. Nothing else
    /// changes: counts, sites, reading state. `None` when the index no
    /// longer names that object for the instance. Without `apply`, says
    /// what would change and changes nothing.
    async fn refresh(
        &self,
        instance: NewInstance,
        apply: bool,
    ) -> Result<Option<Refreshed>, IndexError>;

    /// Points the instance indexed with data set `instance.sha256` and
    /// object `old_key` at the object `instance.object_key` instead: the
    /// same data set with another file meta group, written because the old
    /// object was lost or damaged. Its size, transfer syntax and pixel
    /// locations follow the new object; nothing else changes. `false` when
    /// the index no longer names `old_key` for that data set.
    async fn relocate(&self, old_key: &str, instance: NewInstance) -> Result<bool, IndexError>;

    /// Instances of a study, a series or one instance, ordered by series
    /// number then instance number.
    async fn instances(
        &self,
        study: &Uid,
        series: Option<&Uid>,
        sop: Option<&Uid>,
    ) -> Result<Vec<StoredInstance>, IndexError>;

    /// The stored DICOM JSON of the same scope, in the same order.
    async fn metadata(
        &self,
        study: &Uid,
        series: Option<&Uid>,
        sop: Option<&Uid>,
    ) -> Result<Vec<Vec<u8>>, IndexError>;

    /// QIDO-RS search.
    async fn search(&self, query: &Query) -> Result<Vec<SearchRow>, IndexError>;

    async fn totals(&self) -> Result<Totals, IndexError>;

    /// Records that `declared_by` (a sending archive) declared the study
    /// whole with `instances` instances, all of which are stored here.
    async fn mark_complete(
        &self,
        study_uid: &str,
        instances: i64,
        declared_by: &str,
        at: i64,
    ) -> Result<(), IndexError>;

    /// Records that the stored instance `sop_uid` arrived from a peer as a
    /// data set with hash `sent_sha256` (it was stored converted).
    async fn record_sent_as(&self, sop_uid: &str, sent_sha256: &str) -> Result<(), IndexError>;

    /// Whether the instance is stored here as the data set with hash
    /// `sha256`, as stored or as a peer sent it.
    async fn holds(&self, sop_uid: &str, sha256: &str) -> Result<bool, IndexError>;

    /// The study's completion record, if it is whole: its instance count
    /// and when it was declared (milliseconds since the Unix epoch).
    async fn completion(&self, study_uid: &str) -> Result<Option<(i64, i64)>, IndexError>;
}
