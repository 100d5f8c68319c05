//! The archive behind the DIMSE acceptor: admission by configured sites,
//! C-STORE through the one ingest pipeline, C-FIND from the index, and
//! C-GET and C-MOVE (to configured nodes) from the index and the object
//! store.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dimse::client::StoreScuOptions;
use dimse::{
    AssociationInfo, AssociationRequest, DataSetSink, FindMatches, MoveRequest, MoveTarget,
    Outgoing, QueryFailure, QueryRequest, Retrieval, ServiceHandler, Status, StoreAnnouncement,
    StoreRequest, StoreResponse,
};
use pacs_core::find::{Find, Model, read_identifier, retrieve_query, write_identifier};
use pacs_core::index::StoredInstance;
use pacs_core::query::Paging;
use pacs_core::{Archive, Incoming, Index, Ingest, StoreKind, Upload, UploadCommand};

use pacs_core::workflow::{Role, StudyScope};

use crate::auth::{AuditOnce, Principal, Via};
use crate::config::DicomNode;
use crate::sites::Sites;

/// Matches fetched from the index per query of a C-FIND. The search walks
/// the matches (`Paging::Walk`), each page resuming where the last ended:
/// the first responses go out at once, a query matching the whole archive
/// costs time in proportion to its matches, and studies stored while the
/// peer reads neither repeat nor push others out of the answer.
const FIND_PAGE: usize = 500;

/// Matches produced ahead of the peer: bounds the memory of a query that
/// matches the whole archive when the peer reads slowly.
const FIND_AHEAD: usize = 64;

/// Instances read ahead of the peer during a C-GET: each is held whole in
/// memory until sent.
const GET_AHEAD: usize = 2;

pub struct ArchiveHandler {
    pub ingest: Arc<Ingest>,
    pub index: Arc<dyn Index>,
    pub archive: Arc<Archive>,
    /// Our AE title, returned as the Retrieve AE Title of every match and
    /// calling AE title towards C-MOVE destinations.
    pub ae_title: String,
    pub sites: Arc<Sites>,
    /// The audit trail.
    pub audit: Arc<AuditOnce>,
    /// Where C-MOVE may send instances.
    pub dicom_nodes: Vec<DicomNode>,
    pub max_pdu_length: u32,
    /// Bound on each exchange with a C-MOVE destination.
    pub node_timeout: std::time::Duration,
}

/// A C-FIND failure with its reason for the peer's log (64 characters at
/// most, the length of an Error Comment).
fn find_failure(status: Status, reason: &str) -> QueryFailure {
    QueryFailure {
        status,
        error_comment: Some(reason.chars().take(64).collect()),
    }
}

impl ArchiveHandler {
    /// The studies a caller may query and retrieve; `Err` for a caller
    /// that is no longer any site's.
    fn scope(&self, association: &AssociationInfo) -> Result<StudyScope, QueryFailure> {
        self.sites
            .scope_of(&association.calling_ae_title, association.peer_addr.ip())
            .map_err(|e| find_failure(Status::REFUSED_NOT_AUTHORIZED, &e))
    }
}

impl ArchiveHandler {
    /// The instances a C-GET or C-MOVE identifier names, read two ahead of
    /// the sender; and for each SOP class among them the transfer syntaxes
    /// to propose to a destination (as stored first, then the two
    /// uncompressed ones any node accepts). `how` tells the audit trail
    /// where the instances go.
    async fn retrieval(
        &self,
        association: &AssociationInfo,
        request: &QueryRequest,
        how: &str,
    ) -> Result<(Retrieval, Vec<(String, Vec<String>)>), QueryFailure> {
        let model = Model::of_sop_class(&request.affected_sop_class_uid).ok_or_else(|| {
            find_failure(Status::SOP_CLASS_NOT_SUPPORTED, "unknown retrieve model")
        })?;
        let identifier = read_identifier(&request.identifier, &request.transfer_syntax_uid)
            .map_err(|e| find_failure(Status::CANNOT_UNDERSTAND, &e.to_string()))?;
        let mut query = retrieve_query(model, &identifier).map_err(|e| {
            tracing::info!(assoc_id = association.id, error = %e, "retrieval refused");
            find_failure(Status::DATA_SET_DOES_NOT_MATCH_SOP_CLASS, &e.to_string())
        })?;
        query.scope = self.scope(association)?;
        let rows = self.index.search(&query).await.map_err(|e| {
            tracing::warn!(error = %e, "retrieval search failed");
            find_failure(Status::CANNOT_UNDERSTAND, "the index failed")
        })?;
        let sop_instance_uids: Vec<String> = rows
            .iter()
            .filter_map(|row| row.sop_instance_uid.clone())
            .collect();
        let site = self.site_of(association);
        let caller = dimse_caller(association, site);
        let studies: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.study_uid.as_str()).collect();
        for study in studies {
            self.audit.record(&caller, "retrieve", study, how).await;
        }
        let proposals = dimse::client::proposals(rows.iter().filter_map(|row| {
            let class = row
                .values
                .iter()
                .find(|(a, _)| *a == pacs_core::query::Attribute::SopClassUid)?;
            let ts = row.transfer_syntax_uid.as_deref();
            Some((
                class.1.as_str(),
                ts.unwrap_or(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN),
            ))
        }));
        tracing::info!(
            assoc_id = association.id,
            instances = sop_instance_uids.len(),
            "retrieval"
        );
        let (sender, instances) = tokio::sync::mpsc::channel(GET_AHEAD);
        let index = self.index.clone();
        let archive = self.archive.clone();
        tokio::spawn(async move {
            for row in rows {
                let Some(sop) = row.sop_instance_uid else {
                    continue;
                };
                let item = match index.find_instance(&sop).await {
                    Ok(Some(instance)) => outgoing(&archive, &instance).await,
                    Ok(None) => Err(format!("{sop} is no longer stored")),
                    Err(e) => Err(e.to_string()),
                };
                let item = item.map_err(|reason| {
                    tracing::warn!(sop_instance_uid = %sop, reason, "retrieval sub-operation failed");
                    sop
                });
                // A closed channel: the peer cancelled or went away.
                if sender.send(item).await.is_err() {
                    return;
                }
            }
        });
        Ok((
            Retrieval {
                sop_instance_uids,
                instances,
            },
            proposals,
        ))
    }
}

impl ArchiveHandler {
    /// The site a DIMSE caller belongs to, by AE title and address.
    fn site_of(&self, association: &AssociationInfo) -> Option<String> {
        self.sites
            .of_caller(&association.calling_ae_title, association.peer_addr.ip())
            .ok()
            .flatten()
            .map(|s| s.name)
    }
}

/// A C-STORE's data set on its way into the archive: the ingest pipeline
/// hashes and writes each piece as it arrives.
struct UploadSink(Upload);

impl DataSetSink for UploadSink {
    fn push(&mut self, piece: Bytes) {
        self.0.push(piece);
    }
}

#[async_trait]
impl ServiceHandler for ArchiveHandler {
    fn admit(&self, request: &AssociationRequest) -> Result<(), String> {
        self.sites
            .of_caller(&request.calling_ae_title, request.peer_addr.ip())
            .map(|_| ())
    }

    fn begin_store(
        &self,
        association: &AssociationInfo,
        announced: &StoreAnnouncement,
    ) -> Option<Box<dyn DataSetSink>> {
        let command = UploadCommand {
            sop_class_uid: announced.affected_sop_class_uid.clone(),
            sop_instance_uid: announced.affected_sop_instance_uid.clone(),
            transfer_syntax_uid: announced.transfer_syntax_uid.clone(),
            calling_ae_title: Some(association.calling_ae_title.clone()),
        };
        // A command the pipeline refuses at once is refused by `store`,
        // which sees it again with its data set.
        let upload = self.ingest.begin_upload(command).ok()?;
        Some(Box::new(UploadSink(upload)))
    }

    async fn store(&self, association: &AssociationInfo, request: StoreRequest) -> StoreResponse {
        let source = format!(
            "dimse:{}@{}",
            association.calling_ae_title.trim(),
            association.peer_addr
        );
        let site = self.site_of(association);
        let upload = request
            .sink
            .and_then(|sink| (sink as Box<dyn Any>).downcast::<UploadSink>().ok());
        let stored = match upload {
            Some(upload) => {
                self.ingest
                    .finish_upload(upload.0, request.dataset, &source, site.as_deref())
                    .await
            }
            None => {
                let incoming = Incoming::Dataset {
                    dataset: request.dataset,
                    transfer_syntax_uid: request.transfer_syntax_uid,
                    sop_class_uid: request.affected_sop_class_uid,
                    sop_instance_uid: request.affected_sop_instance_uid.clone(),
                    calling_ae_title: Some(association.calling_ae_title.clone()),
                };
                self.ingest
                    .ingest_from(incoming, &source, site.as_deref(), None)
                    .await
            }
        };
        match stored {
            Ok(stored) => {
                self.audit
                    .record(
                        &dimse_caller(association, site),
                        "store",
                        &stored.study_instance_uid,
                        "C-STORE",
                    )
                    .await;
                if stored.kind == StoreKind::Duplicate {
                    tracing::debug!(sop = %stored.sop_instance_uid, "identical instance already stored");
                }
                StoreResponse {
                    status: Status::SUCCESS,
                    error_comment: None,
                }
            }
            Err(e) => {
                tracing::warn!(
                    assoc_id = association.id,
                    peer_aet = %association.calling_ae_title.trim(),
                    sop = %request.affected_sop_instance_uid,
                    error = %e,
                    "C-STORE refused"
                );
                self.audit
                    .record_refusal(
                        &dimse_caller(association, site),
                        "store",
                        e.study_uid(),
                        &format!("C-STORE {:04X}", e.status()),
                        format!("C-STORE refused ({:04X}): {e}", e.status()),
                    )
                    .await;
                StoreResponse {
                    status: Status(e.status()),
                    error_comment: Some(e.to_string().chars().take(64).collect()),
                }
            }
        }
    }

    async fn find(
        &self,
        association: &AssociationInfo,
        request: QueryRequest,
    ) -> Result<FindMatches, QueryFailure> {
        // Failure statuses of PS3.4 C.4.1.1.4: A900 for an identifier that
        // does not fit the model, C000 for one that cannot be processed.
        let model = Model::of_sop_class(&request.affected_sop_class_uid)
            .ok_or_else(|| find_failure(Status::SOP_CLASS_NOT_SUPPORTED, "unknown query model"))?;
        let mut identifier = read_identifier(&request.identifier, &request.transfer_syntax_uid)
            .map_err(|e| find_failure(Status::CANNOT_UNDERSTAND, &e.to_string()))?;
        // Key values in the identifier's character set, code extensions
        // (ISO 2022 escape sequences) included, as stored data sets are read.
        pacs_core::charset::repair(&mut identifier, self.ingest.undeclared_character_set());
        let find = Find::from_identifier(model, &identifier).map_err(|e| {
            tracing::info!(assoc_id = association.id, error = %e, "C-FIND refused");
            find_failure(Status::DATA_SET_DOES_NOT_MATCH_SOP_CLASS, &e.to_string())
        })?;
        let scope = self.scope(association)?;
        tracing::debug!(
            assoc_id = association.id,
            level = ?find.level,
            keys = find.query.matches.len(),
            "C-FIND"
        );
        // What was asked, once per query: the matches are what the index
        // holds, and the trail need not copy them.
        let caller = dimse_caller(association, self.site_of(association));
        self.audit
            .record_each(&caller, "search", None, find_text(&find))
            .await;
        let (sender, matches) = tokio::sync::mpsc::channel(FIND_AHEAD);
        let index = self.index.clone();
        let ae_title = self.ae_title.clone();
        let ts = request.transfer_syntax_uid;
        tokio::spawn(async move {
            let mut query = find.query.clone();
            query.scope = scope;
            query.limit = FIND_PAGE;
            query.offset = 0;
            query.paging = Paging::Walk { after: None };
            loop {
                let rows = match index.search(&query).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e, "C-FIND search failed");
                        let failure = find_failure(Status::CANNOT_UNDERSTAND, "the index failed");
                        let _ = sender.send(Err(failure)).await;
                        return;
                    }
                };
                let last_page = rows.len() < query.limit;
                for row in &rows {
                    let Some(identifier) = find.response(row, &ae_title) else {
                        continue;
                    };
                    let item = write_identifier(&identifier, &ts)
                        .map(Bytes::from)
                        .map_err(|e| find_failure(Status::CANNOT_UNDERSTAND, &e.to_string()));
                    let failed = item.is_err();
                    // A closed channel: the peer cancelled or went away.
                    if sender.send(item).await.is_err() || failed {
                        return;
                    }
                }
                match rows.last().and_then(|row| row.position.clone()) {
                    Some(after) if !last_page => {
                        query.paging = Paging::Walk { after: Some(after) };
                    }
                    _ => return,
                }
            }
        });
        Ok(matches)
    }

    async fn get(
        &self,
        association: &AssociationInfo,
        request: QueryRequest,
    ) -> Result<Retrieval, QueryFailure> {
        Ok(self.retrieval(association, &request, "C-GET").await?.0)
    }

    async fn move_instances(
        &self,
        association: &AssociationInfo,
        request: MoveRequest,
    ) -> Result<MoveTarget, QueryFailure> {
        let destination = &request.destination_ae_title;
        let Some(node) = self
            .dicom_nodes
            .iter()
            .find(|n| n.ae_title.trim() == destination)
        else {
            tracing::info!(
                assoc_id = association.id,
                destination,
                "C-MOVE to an AE title that is not a configured node"
            );
            return Err(find_failure(
                Status::MOVE_DESTINATION_UNKNOWN,
                &format!("{destination} is not a configured DICOM node"),
            ));
        };
        let how = format!("C-MOVE to {}", node.ae_title.trim());
        let (retrieval, proposals) = self.retrieval(association, &request.retrieve, &how).await?;
        Ok(MoveTarget {
            retrieval,
            node: StoreScuOptions {
                address: format!("{}:{}", node.host.trim(), node.port),
                calling_ae_title: self.ae_title.clone(),
                called_ae_title: node.ae_title.trim().to_owned(),
                max_pdu_length: self.max_pdu_length,
                timeout: self.node_timeout,
            },
            proposals,
        })
    }

    async fn transcode(&self, outgoing: &Outgoing, to: &str) -> Result<Bytes, String> {
        let outgoing = outgoing.clone();
        let to = to.to_owned();
        tokio::task::spawn_blocking(move || {
            pacs_core::transcode::dataset_to(
                &outgoing.dataset,
                &outgoing.sop_class_uid,
                &outgoing.sop_instance_uid,
                &outgoing.transfer_syntax_uid,
                &to,
            )
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
    }
}

/// A stored instance as a C-STORE sub-operation sends it: its data set as
/// stored, without the file meta group.
async fn outgoing(archive: &Archive, instance: &StoredInstance) -> Result<Outgoing, String> {
    let object = archive.object(instance).await.map_err(|e| e.to_string())?;
    let header = pacs_core::layout::read_part10_header(&object).map_err(|e| e.to_string())?;
    Ok(Outgoing {
        sop_class_uid: instance.sop_class_uid.clone(),
        sop_instance_uid: instance.sop_instance_uid.clone(),
        transfer_syntax_uid: instance.transfer_syntax_uid.clone(),
        dataset: object.slice(header.dataset_offset..),
    })
}

/// A C-FIND query as the audit trail says it: the level and each
/// matching key with its value, e.g. `C-FIND STUDY: PatientName=IVAN*`.
fn find_text(find: &Find) -> String {
    use pacs_core::query::{Level, MatchValue};
    let level = match find.level {
        Level::Patient => "PATIENT",
        Level::Study => "STUDY",
        Level::Series => "SERIES",
        Level::Instance => "IMAGE",
    };
    let keys: Vec<String> = find
        .query
        .matches
        .iter()
        .map(|m| {
            let value = match &m.value {
                MatchValue::Exact(v) | MatchValue::Wildcard(v) => v.clone(),
                MatchValue::UidList(values) | MatchValue::AnyOf(values) => values.join("\\"),
                MatchValue::Range(from, to) => format!(
                    "{}-{}",
                    from.as_deref().unwrap_or(""),
                    to.as_deref().unwrap_or("")
                ),
            };
            format!("{}={value}", m.attribute.keyword_and_tag().0)
        })
        .collect();
    if keys.is_empty() {
        format!("C-FIND {level}")
    } else {
        format!("C-FIND {level}: {}", keys.join(" "))
    }
}

/// A DICOM caller as the audit trail names it.
fn dimse_caller(association: &AssociationInfo, site: Option<String>) -> Principal {
    Principal {
        username: None,
        display_name: format!("AE {}", association.calling_ae_title.trim()),
        role: Role::Site,
        scope: StudyScope::Sites(site.iter().cloned().collect()),
        site,
        via: Via::Dimse,
        address: Some(association.peer_addr.ip()),
    }
}
