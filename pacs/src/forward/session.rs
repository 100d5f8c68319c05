//! Sending stored instances to one destination: over C-STORE to a DICOM
//! node, or over STOW-RS to a DICOMweb endpoint. A session is opened per
//! job attempt and sends batches; it tells an instance the destination
//! refused (the others may still go) from a link that failed (nothing more
//! can go now).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dimse::StatusClass;
use dimse::client::{StoreScu, StoreScuOptions};
use pacs_core::index::StoredInstance;
use pacs_core::layout::PixelLayout;
use pacs_core::render::ImageHeader;

use super::config::{Credentials, Target};
use super::stow_response::{self, Fate, StoreResponse};

/// An instance to send: a Part 10 object and what its file meta group
/// says of it.
pub struct Outgoing {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax_uid: String,
    pub object: Bytes,
    /// SHA-256 of the data set (the object without its file meta group),
    /// hex: the instance's identity between archives.
    pub sha256: String,
    /// Where the pixels are, for packing them losslessly.
    pub pixels: Option<(PixelLayout, ImageHeader)>,
}

impl Outgoing {
    pub fn stored(instance: &StoredInstance, object: Bytes) -> Outgoing {
        Outgoing {
            sop_class_uid: instance.sop_class_uid.clone(),
            sop_instance_uid: instance.sop_instance_uid.clone(),
            transfer_syntax_uid: instance.transfer_syntax_uid.clone(),
            object,
            sha256: instance.sha256.clone(),
            pixels: instance
                .image
                .clone()
                .map(|image| (instance.pixel.clone(), image)),
        }
    }
}

/// An instance the destination took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Bytes it took.
    pub bytes: u64,
    /// A warning the destination gave with it.
    pub warning: Option<String>,
}

/// How one instance of a batch went: taken, or why the destination
/// refused it.
pub type InstanceResult = Result<Sent, String>;

/// The link failed: nothing more goes in this session.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LinkError(pub String);

#[async_trait]
pub trait Session: Send {
    /// Bytes worth batching into one request (1 sends one by one).
    fn batch_bytes(&self) -> u64;

    /// Sends a batch; one result per instance, in order: the bytes it
    /// took, or why the destination refused it.
    async fn send(&mut self, batch: &[Outgoing]) -> Result<Vec<InstanceResult>, LinkError>;

    /// Declares the study whole, where the destination takes such a
    /// declaration: every instance (SOP Instance UID, data set SHA-256).
    async fn complete(
        &mut self,
        _study_uid: &str,
        _instances: &[(String, String)],
    ) -> Result<(), CompleteError> {
        Ok(())
    }

    async fn close(self: Box<Self>);
}

/// Why a completion declaration failed.
#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    /// The destination lacks these instances (SOP Instance UIDs).
    #[error("the destination lacks {} instance(s) of the study", .0.len())]
    Missing(Vec<String>),
    #[error("{0}")]
    Link(#[from] LinkError),
}

/// What sessions need besides the destination.
#[derive(Clone)]
pub struct Peers {
    pub calling_ae_title: String,
    pub max_pdu_length: u32,
    /// The longest wait for an answer, and for a DICOM node, for each
    /// PDU to leave.
    pub timeout: Duration,
    /// With no overall limit: uploads are watched by progress
    /// ([`super::watch`]), and every other request carries its own limit.
    pub http: reqwest::Client,
}

impl Peers {
    fn upload_limits(&self) -> super::watch::Limits {
        super::watch::Limits {
            stall: super::watch::STALL,
            answer: self.timeout + super::watch::ANSWER_SLACK,
        }
    }
}

/// Opens a session to `target` fit for instances of these SOP classes
/// and transfer syntaxes.
pub async fn open(
    target: &Target,
    peers: &Peers,
    kinds: &[(&str, &str)],
) -> Result<Box<dyn Session>, LinkError> {
    match target {
        Target::Dicom(node) => {
            let options = StoreScuOptions {
                address: format!("{}:{}", node.host.trim(), node.port),
                calling_ae_title: peers.calling_ae_title.clone(),
                called_ae_title: node.ae_title.trim().to_owned(),
                max_pdu_length: peers.max_pdu_length,
                timeout: peers.timeout,
            };
            let proposals = dimse::client::proposals(kinds.iter().copied());
            let scu = StoreScu::connect(options, &proposals)
                .await
                .map_err(|e| LinkError(e.to_string()))?;
            Ok(Box::new(DicomSession { scu }))
        }
        Target::DicomWeb { url, auth } => Ok(Box::new(StowSession {
            http: peers.http.clone(),
            url: format!("{url}/studies"),
            auth: auth.clone(),
            limits: peers.upload_limits(),
            batch_bytes: STOW_BATCH_BYTES,
        })),
        Target::Peer {
            url,
            auth,
            store_as,
        } => Ok(Box::new(super::peer::PeerSession::new(
            peers.http.clone(),
            url,
            auth.clone(),
            store_as.clone(),
            peers.upload_limits(),
        ))),
    }
}

struct DicomSession {
    scu: StoreScu,
}

#[async_trait]
impl Session for DicomSession {
    fn batch_bytes(&self) -> u64 {
        1
    }

    async fn send(&mut self, batch: &[Outgoing]) -> Result<Vec<InstanceResult>, LinkError> {
        let mut results = Vec::with_capacity(batch.len());
        for out in batch {
            results.push(self.send_one(out).await?);
        }
        Ok(results)
    }

    async fn close(self: Box<Self>) {
        self.scu.release().await;
    }
}

impl DicomSession {
    async fn send_one(&mut self, out: &Outgoing) -> Result<InstanceResult, LinkError> {
        let i = out;
        let Some((pc, ts)) = self
            .scu
            .context_for(&i.sop_class_uid, &i.transfer_syntax_uid)
        else {
            return Ok(Err(format!(
                "the node accepted no presentation context for SOP class {}",
                i.sop_class_uid
            )));
        };
        let header = match pacs_core::layout::read_part10_header(&out.object) {
            Ok(h) => h,
            Err(e) => return Ok(Err(format!("the stored object is unreadable: {e}"))),
        };
        let stored = out.object.slice(header.dataset_offset..);
        let dataset = if ts == i.transfer_syntax_uid {
            stored
        } else {
            let (class, sop, from, to) = (
                i.sop_class_uid.clone(),
                i.sop_instance_uid.clone(),
                i.transfer_syntax_uid.clone(),
                ts.clone(),
            );
            let converted = tokio::task::spawn_blocking(move || {
                pacs_core::transcode::dataset_to(&stored, &class, &sop, &from, &to)
            })
            .await;
            match converted {
                Ok(Ok(d)) => d,
                Ok(Err(e)) => return Ok(Err(format!("cannot convert it to {ts}: {e}"))),
                // The codec gave up on this data set (a panic in it): the
                // instance is not sent, the rest of the study is.
                Err(e) => return Ok(Err(format!("converting it to {ts} failed: {e}"))),
            }
        };
        let status = self
            .scu
            .store(pc, &i.sop_class_uid, &i.sop_instance_uid, &dataset, None)
            .await
            .map_err(|e| LinkError(e.to_string()))?;
        let bytes = dataset.len() as u64;
        Ok(match status.class() {
            StatusClass::Success => Ok(Sent {
                bytes,
                warning: None,
            }),
            StatusClass::Warning => Ok(Sent {
                bytes,
                warning: Some(format!("accepted with warning {status}")),
            }),
            _ => Err(format!("the node refused it with status {status}")),
        })
    }
}

struct StowSession {
    http: reqwest::Client,
    url: String,
    auth: Option<Credentials>,
    limits: super::watch::Limits,
    /// [`STOW_BATCH_BYTES`], or one instance a request once the endpoint
    /// (or a proxy before it) found a request too large.
    batch_bytes: u64,
}

/// What an endpoint made of one STOW-RS request.
enum Posted {
    /// Its fate for each instance sent.
    Each(Vec<InstanceResult>),
    /// The request as a whole was refused for what it held (400 or 413):
    /// the status and the endpoint's words.
    Refused(u16, String),
}

/// Instances per STOW-RS request: few round trips on a slow link, little
/// to resend when a request fails midway.
const STOW_BATCH_BYTES: u64 = 8 << 20;

#[async_trait]
impl Session for StowSession {
    fn batch_bytes(&self) -> u64 {
        self.batch_bytes
    }

    /// One request for the batch; when the endpoint refuses it whole for
    /// what it holds (one instance it cannot take, or a size a proxy
    /// limits), each instance goes alone so that the rest are delivered
    /// and only the one at fault is refused.
    async fn send(&mut self, batch: &[Outgoing]) -> Result<Vec<InstanceResult>, LinkError> {
        let (status, why) = match self.post(batch).await? {
            Posted::Each(results) => return Ok(results),
            Posted::Refused(status, why) => (status, why),
        };
        if batch.len() == 1 {
            return Ok(vec![Err(why)]);
        }
        tracing::info!(
            url = %self.url,
            status,
            instances = batch.len(),
            "the endpoint refused a STOW-RS request whole; sending its instances one by one"
        );
        if status == 413 {
            self.batch_bytes = 1;
        }
        let mut results: Vec<InstanceResult> = Vec::with_capacity(batch.len());
        let mut each_refused_whole = true;
        for one in batch {
            let posted = match self.post(std::slice::from_ref(one)).await {
                Ok(posted) => posted,
                // What went before was delivered and must be recorded as
                // such; this one and the rest wait for the next attempt.
                Err(LinkError(e)) if !results.is_empty() => {
                    let why = format!("not sent: {e}");
                    results.resize_with(batch.len(), || Err(why.clone()));
                    return Ok(results);
                }
                Err(e) => return Err(e),
            };
            results.push(match posted {
                Posted::Each(mut each) => {
                    each_refused_whole = false;
                    each.pop()
                        .unwrap_or_else(|| Err("the endpoint answered nothing for it".into()))
                }
                Posted::Refused(_, why) => Err(why),
            });
        }
        if each_refused_whole {
            // Not one instance's fault: every request is refused (a wrong
            // address, a filter before the endpoint). The attempt ends
            // rather than sending the study twice over for nothing.
            return Err(LinkError(format!(
                "STOW-RS to {}: every request was refused, one instance each too: {why}",
                self.url
            )));
        }
        Ok(results)
    }

    async fn close(self: Box<Self>) {}
}

impl StowSession {
    /// Sends `batch` in one STOW-RS request and reads the answer.
    async fn post(&self, batch: &[Outgoing]) -> Result<Posted, LinkError> {
        let writer = dicomweb::multipart::MultipartWriter::new("application/dicom");
        let parts: Vec<Result<_, std::io::Error>> = batch
            .iter()
            .map(|o| {
                Ok(dicomweb::multipart::OutgoingPart::new(
                    "application/dicom",
                    o.object.clone(),
                ))
            })
            .collect();
        let body = writer.body(futures::stream::iter(parts));
        let mut request = self
            .http
            .post(&self.url)
            .header("Content-Type", writer.content_type())
            .header("Accept", "application/dicom+json");
        if let Some(auth) = &self.auth {
            request = auth.authorize(request);
        }
        let response = super::watch::send(request, body, self.limits)
            .await
            .map_err(|e| LinkError(format!("STOW-RS to {} failed: {e}", self.url)))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let text = super::watch::text(response, self.limits.answer)
            .await
            .map_err(|e| LinkError(format!("STOW-RS response from {} failed: {e}", self.url)))?;
        // 200: all stored; 202: some failed; 409: all failed. Each stored
        // instance is listed in the Referenced SOP Sequence, each failure
        // in the Failed SOP Sequence.
        if matches!(status.as_u16(), 400 | 413) {
            let snippet: String = text.chars().take(200).collect();
            return Ok(Posted::Refused(
                status.as_u16(),
                format!("the endpoint refused it: {status} {}", snippet.trim())
                    .trim_end()
                    .to_owned(),
            ));
        }
        if !matches!(status.as_u16(), 200 | 202 | 409) {
            let snippet: String = text.chars().take(200).collect();
            return Err(LinkError(format!(
                "STOW-RS to {} answered {status}: {}",
                self.url,
                snippet.trim()
            )));
        }
        let failed_with = |o: &Outgoing, reason: &str| {
            if stow_response::already_held(reason) {
                Ok(Sent {
                    bytes: o.object.len() as u64,
                    warning: Some(format!(
                        "the endpoint already held it (reason {reason}): counted as delivered"
                    )),
                })
            } else {
                Err(format!("the endpoint refused it (reason {reason})"))
            }
        };
        if status.as_u16() == 409 {
            let failed = StoreResponse::failures_in(&text);
            let fate = |o: &Outgoing| match failed.iter().find(|(u, _)| *u == o.sop_instance_uid) {
                Some((_, reason)) => failed_with(o, reason),
                None => Err("the endpoint refused the whole request (409)".into()),
            };
            return Ok(Posted::Each(batch.iter().map(fate).collect()));
        }
        // A 200 alone proves nothing (a proxy's login page answers 200 to
        // any POST): only what the response names as stored was delivered.
        let response = match StoreResponse::parse(&text) {
            Some(r) if stow_response::is_json(content_type.as_deref()) => r,
            _ => {
                return Err(LinkError(stow_response::not_a_store_response(
                    &self.url,
                    status,
                    content_type.as_deref(),
                    &text,
                )));
            }
        };
        let result = |o: &Outgoing| match response.fate(&o.sop_class_uid, &o.sop_instance_uid) {
            Fate::Stored => Ok(Sent {
                bytes: o.object.len() as u64,
                warning: None,
            }),
            Fate::Failed(reason) => failed_with(o, reason),
            Fate::OtherClass(class) => Err(format!(
                "the endpoint's store response names it as SOP class {class}, not {}: \
                 it is not counted as delivered",
                o.sop_class_uid
            )),
            Fate::Unaccounted => Err(format!(
                "the endpoint answered {status} but its store response lists it neither \
                 as stored nor as failed: it is not counted as delivered"
            )),
        };
        Ok(Posted::Each(batch.iter().map(result).collect()))
    }
}

/// Why a request failed: reqwest's own message only repeats the URL, so
/// its causes, or the message when it has none.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    if causes.is_empty() {
        e.to_string()
    } else {
        causes.join(": ")
    }
}
