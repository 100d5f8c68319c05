//! The archive behind the DIMSE acceptor: admission by configured sites,
//! and C-STORE through the one ingest pipeline.

use std::sync::Arc;

use async_trait::async_trait;
use dimse::{
    AssociationInfo, AssociationRequest, ServiceHandler, Status, StoreRequest, StoreResponse,
};
use pacs_core::{Incoming, Ingest, StoreKind};

use crate::config::Site;

pub struct ArchiveHandler {
    pub ingest: Arc<Ingest>,
    pub sites: Vec<Site>,
}

impl ArchiveHandler {
    /// The site a caller belongs to; `Ok(None)` when no sites are
    /// configured (everyone is welcome), `Err` when it matches none.
    fn site_of(&self, request: &AssociationRequest) -> Result<Option<&Site>, String> {
        if self.sites.is_empty() {
            return Ok(None);
        }
        let calling = request.calling_ae_title.trim();
        let ip = request.peer_addr.ip();
        for site in &self.sites {
            if site.ae_titles.iter().any(|a| a.trim() == calling) {
                if site.addresses.is_empty() || site.addresses.contains(&ip) {
                    return Ok(Some(site));
                }
                return Err(format!(
                    "calling AE title {calling} belongs to site {} but {ip} is not one of its addresses",
                    site.name
                ));
            }
        }
        Err(format!(
            "calling AE title {calling:?} is not configured for any site"
        ))
    }
}

#[async_trait]
impl ServiceHandler for ArchiveHandler {
    fn admit(&self, request: &AssociationRequest) -> Result<(), String> {
        self.site_of(request).map(|_| ())
    }

    async fn store(&self, association: &AssociationInfo, request: StoreRequest) -> StoreResponse {
        let source = format!(
            "dimse:{}@{}",
            association.calling_ae_title.trim(),
            association.peer_addr
        );
        let incoming = Incoming::Dataset {
            dataset: request.dataset,
            transfer_syntax_uid: request.transfer_syntax_uid,
            sop_class_uid: request.affected_sop_class_uid,
            sop_instance_uid: request.affected_sop_instance_uid.clone(),
            calling_ae_title: Some(association.calling_ae_title.clone()),
        };
        match self.ingest.ingest(incoming, &source, None).await {
            Ok(stored) => {
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
                StoreResponse {
                    status: Status(e.status()),
                    error_comment: Some(e.to_string().chars().take(64).collect()),
                }
            }
        }
    }
}
