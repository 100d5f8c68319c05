//! Instances whose data set arrives in pieces: a C-STORE's, as its PDUs
//! come in. See the parent module for the order of work.

use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use storage::StagingWriter;

use super::{Arrived, Framed, Ingest, Stored, check_claims, file_meta_group, prepare};
use crate::error::{IndexError, IngestError};
use crate::index::StoredInstance;

/// What a C-STORE command says of the data set that follows it.
#[derive(Debug, Clone)]
pub struct UploadCommand {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// Of the presentation context the data set arrives on.
    pub transfer_syntax_uid: String,
    pub calling_ae_title: Option<String>,
}

/// An instance whose data set is still arriving, from
/// [`Ingest::begin_upload`]. While the pieces come, the index is asked
/// whether the instance is stored already, the data set is hashed and,
/// where the object store can, the object is written; once the last piece
/// is in, only parsing, naming and indexing are left. Dropped unfinished,
/// it leaves nothing behind.
pub struct Upload {
    meta: Bytes,
    transfer_syntax_uid: String,
    sop_class_uid: String,
    sop_instance_uid: String,
    calling_ae_title: Option<String>,
    hasher: Sha256,
    received: u64,
    limit: u64,
    /// Most bytes the staging writer may have queued, unwritten.
    backlog_limit: u64,
    staging: Option<StagingWriter>,
    existing: tokio::task::JoinHandle<Result<Option<StoredInstance>, IndexError>>,
}

impl Upload {
    /// Takes the next piece of the data set. Cheap: the piece is hashed
    /// here and written by the store in the background.
    pub fn push(&mut self, piece: Bytes) {
        self.received += piece.len() as u64;
        self.hasher.update(&piece);
        if self.received > self.limit {
            // Refused at the end as too large; stop writing now.
            self.staging = None;
        } else if let Some(staging) = &mut self.staging {
            staging.push(piece);
            if staging.queued() > self.backlog_limit {
                // The disk is behind the network: each queued piece keeps a
                // second copy of the data set in memory. Stop here; the
                // whole data set is written once it is complete.
                tracing::debug!(
                    queued = staging.queued(),
                    "staging falls behind; the data set is written when complete"
                );
                self.staging = None;
            }
        }
    }

    /// Bytes of the data set received so far.
    pub fn received(&self) -> u64 {
        self.received
    }
}

impl Ingest {
    /// Starts taking in an instance whose data set arrives in pieces (a
    /// C-STORE's, as its PDUs come in), named by its command. Feed it
    /// with [`Upload::push`] and complete it with [`Ingest::finish_upload`].
    /// Fails when the command names no valid instance; then nothing has
    /// been started.
    pub fn begin_upload(&self, command: UploadCommand) -> Result<Upload, IngestError> {
        let sop_class = command.sop_class_uid.trim_end_matches('\0').to_owned();
        let sop_instance = command.sop_instance_uid.trim_end_matches('\0').to_owned();
        check_claims(&sop_class, &sop_instance)?;
        let meta = file_meta_group(
            &sop_class,
            &sop_instance,
            &command.transfer_syntax_uid,
            command.calling_ae_title.as_deref(),
        )?;
        let mut staging = self.store.stage_incrementally();
        if let Some(staging) = &mut staging {
            staging.push(meta.clone());
        }
        let index = Arc::clone(&self.index);
        let lookup = sop_instance.clone();
        let existing = tokio::spawn(async move { index.find_instance(&lookup).await });
        Ok(Upload {
            meta,
            transfer_syntax_uid: command.transfer_syntax_uid,
            sop_class_uid: sop_class,
            sop_instance_uid: sop_instance,
            calling_ae_title: command.calling_ae_title,
            hasher: Sha256::new(),
            received: 0,
            limit: self.config.max_instance_size,
            backlog_limit: self.config.staging_backlog,
            staging,
            existing,
        })
    }

    /// Completes an upload: `dataset` is the whole data set, the pieces
    /// pushed joined. From here on as [`Ingest::ingest_from`].
    pub async fn finish_upload(
        &self,
        upload: Upload,
        dataset: Bytes,
        source: &str,
        site: Option<&str>,
    ) -> Result<Stored, IngestError> {
        let _guard = self.enter()?;
        let Upload {
            meta,
            transfer_syntax_uid,
            sop_class_uid,
            sop_instance_uid,
            calling_ae_title,
            hasher,
            received,
            limit,
            backlog_limit: _,
            staging,
            existing,
        } = upload;
        if received > limit {
            return Err(IngestError::TooLarge(limit));
        }
        if dataset.len() as u64 != received {
            return Err(IngestError::Unreadable(format!(
                "the data set is {} bytes but {received} arrived",
                dataset.len()
            )));
        }
        let framed = Framed::dimse(
            meta,
            dataset,
            transfer_syntax_uid,
            sop_class_uid,
            sop_instance_uid,
        );
        let sha256 = hex::encode(hasher.finalize());
        let config = self.config.clone();
        let parsing = tokio::task::spawn_blocking(move || prepare(framed, &config));
        let staging = async {
            match staging {
                Some(writer) => Some(writer.finish().await),
                None => None,
            }
        };
        let (prepared, staged, existing) = tokio::join!(parsing, staging, existing);
        let prepared =
            prepared.map_err(|e| IngestError::Unreadable(format!("parsing failed: {e}")))??;
        let existing = existing.map_err(|e| {
            IngestError::Index(IndexError::Database(format!("instance lookup failed: {e}")))
        })??;
        // Written ahead on the bet that the instance is new: when it is not,
        // the staged copy is dropped, and with it its temp file.
        let staged = match existing {
            None => staged.transpose()?,
            Some(_) => None,
        };
        let arrived = Arrived {
            prepared,
            sha256,
            existing,
            staged,
            calling_ae_title,
        };
        self.commit(arrived, source, site, None).await
    }
}
