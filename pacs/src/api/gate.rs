//! DICOMweb's gate: the caller from the request's token or cookie, the
//! role and study checks of [`crate::access`], and the audit trail's
//! record of who searched for what and who opened, retrieved or stored
//! which study.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use dicomweb::error::WebError;
use dicomweb::gate::{Access, Gate, Grant, ReadKind, StoreReport};
use warp::http::{HeaderMap, StatusCode};

use crate::access::{Action, allow, allow_study};
use crate::auth::{AuditOnce, Auth, AuthError, Principal};

pub struct WebGate {
    pub auth: Arc<Auth>,
    pub once: Arc<AuditOnce>,
}

fn refused(e: impl std::fmt::Display, status: StatusCode) -> WebError {
    WebError::new(status, e.to_string())
}

/// A QIDO-RS search as the audit trail says it: the resource and its
/// query string, decoded so that names read as they were typed, e.g.
/// `QIDO-RS studies?PatientName=Иванов*`.
fn search_text(resource: &str, query: &str) -> String {
    let pairs: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if pairs.is_empty() {
        format!("QIDO-RS {resource}")
    } else {
        format!("QIDO-RS {resource}?{}", pairs.join("&"))
    }
}

#[async_trait]
impl Gate for WebGate {
    async fn admit(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
        access: Access<'_>,
    ) -> Result<Grant, WebError> {
        let who = self
            .auth
            .principal(headers, peer)
            .await
            .map_err(|e| match e {
                AuthError::Unavailable(_) => refused(e, StatusCode::SERVICE_UNAVAILABLE),
                AuthError::NotLocal => refused(e, StatusCode::FORBIDDEN),
                _ => refused(e, StatusCode::UNAUTHORIZED),
            })?;
        let store = self.auth.store.as_ref();
        match access {
            Access::Search { resource, query } => {
                allow(&who, Action::Search).map_err(|d| refused(d, StatusCode::FORBIDDEN))?;
                // What was asked, once per request; never what was found.
                // Written beside the answer rather than before it: a search
                // must not wait for a durable commit (it would double a
                // study list's response time), and the event lands in the
                // index's next group commit.
                let (auth, who, text) =
                    (self.auth.clone(), who.clone(), search_text(resource, query));
                tokio::spawn(async move {
                    auth.audit(Some(&who), "search", None, Some(text), "ok")
                        .await;
                });
            }
            Access::Read { study, kind } => {
                let verdict = allow_study(store, &who, Action::ReadStudy, study.as_str())
                    .await
                    .map_err(|e| refused(e, StatusCode::SERVICE_UNAVAILABLE))?;
                if let Err(denied) = verdict {
                    self.auth
                        .audit(
                            Some(&who),
                            "study_view",
                            Some(study.as_str()),
                            Some(denied.0.clone()),
                            "denied",
                        )
                        .await;
                    return Err(refused(denied, StatusCode::FORBIDDEN));
                }
                // Pixels without metadata are a view too: whoever reads a
                // study's images is on the trail.
                let action = match kind {
                    ReadKind::Metadata | ReadKind::Pixels => "study_view",
                    ReadKind::Retrieve => "retrieve",
                };
                self.once
                    .record(&who, action, study.as_str(), "DICOMweb")
                    .await;
            }
            Access::Store { study } => {
                if let Err(denied) = allow(&who, Action::Store) {
                    self.auth
                        .audit(
                            Some(&who),
                            "store",
                            study.map(|s| s.as_str()),
                            Some(denied.0.clone()),
                            "denied",
                        )
                        .await;
                    return Err(refused(denied, StatusCode::FORBIDDEN));
                }
            }
        }
        Ok(Grant {
            scope: who.scope.clone(),
            site: who.site.clone(),
            caller: Some(Arc::new(who)),
        })
    }

    /// One line per study a STOW-RS request stored into, and one for what
    /// it refused.
    async fn stored(&self, grant: &Grant, report: StoreReport) {
        let who = grant
            .caller
            .as_ref()
            .and_then(|c| c.downcast_ref::<Principal>());
        for (study, count) in &report.stored {
            self.auth
                .audit(
                    who,
                    "store",
                    Some(study),
                    Some(format!("STOW-RS, {count} instances")),
                    "ok",
                )
                .await;
        }
        for refused in &report.refused {
            let detail = format!(
                "STOW-RS, {} instances refused: {}",
                refused.count, refused.first_reason
            );
            self.auth
                .audit(
                    who,
                    "store",
                    refused.study.as_deref(),
                    Some(detail),
                    "failed",
                )
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::search_text;

    #[test]
    fn a_search_is_recorded_as_typed() {
        assert_eq!(
            search_text(
                "studies",
                "PatientName=%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2*&StudyDate=20250101-20251231"
            ),
            "QIDO-RS studies?PatientName=Иванов*&StudyDate=20250101-20251231"
        );
        assert_eq!(search_text("series", ""), "QIDO-RS series");
    }
}
