//! Sending to another `pacs` (`/api/peer`, see `crate::peer`): each
//! instance packed losslessly and uploaded, resumed where the far end
//! says it stands, several at once so a long round trip does not leave
//! the link idle, and a completion commit at the end.

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};

use super::config::Credentials;
use super::session::{
    CompleteError, InstanceResult, LinkError, Outgoing, Sent, Session, error_chain,
};

/// Uploads in flight at once: enough to keep a link with a long round trip
/// busy while each upload waits for its answer.
const IN_FLIGHT: usize = 4;
/// Raw bytes per batch: one status request per batch, so batches are large.
const BATCH_BYTES: u64 = 32 << 20;
/// Bytes per chunk of an upload's body: the unit the stall watch sees.
const CHUNK: usize = 64 << 10;

pub struct PeerSession {
    http: reqwest::Client,
    base: String,
    auth: Option<Credentials>,
    store_as: Option<String>,
    limits: super::watch::Limits,
}

impl PeerSession {
    pub fn new(
        http: reqwest::Client,
        url: &str,
        auth: Option<Credentials>,
        store_as: Option<String>,
        limits: super::watch::Limits,
    ) -> PeerSession {
        PeerSession {
            http,
            base: format!("{}/api/peer", url.trim_end_matches('/')),
            auth,
            store_as,
            limits,
        }
    }

    /// A small request and its answer, within the answer limit.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.upload_request(method, path)
            .timeout(self.limits.answer)
    }

    /// A request whose body is watched instead of timed as a whole.
    fn upload_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Some(auth) => auth.authorize(r),
            None => r,
        }
    }

    /// Where each instance stands at the far end: stored, or how many
    /// bytes of its upload arrived.
    async fn status(&self, batch: &[Outgoing]) -> Result<Vec<(bool, u64)>, LinkError> {
        let listing: Vec<Value> = batch
            .iter()
            .map(|o| json!({ "sop_instance_uid": o.sop_instance_uid, "sha256": o.sha256 }))
            .collect();
        let response = self
            .request(reqwest::Method::POST, "/status")
            .json(&json!({ "instances": listing }))
            .send()
            .await
            .map_err(|e| LinkError(format!("{}: {}", self.base, error_chain(&e))))?;
        let body = answer(response, &self.base).await?;
        let items = body["instances"]
            .as_array()
            .filter(|a| a.len() == batch.len())
            .ok_or_else(|| {
                LinkError(format!("{}: a status answer that does not fit", self.base))
            })?;
        Ok(items
            .iter()
            .map(|i| {
                (
                    i["stored"].as_bool().unwrap_or(false),
                    i["offset"].as_u64().unwrap_or(0),
                )
            })
            .collect())
    }

    /// Instance `i` of a batch: nothing when the far end has it.
    async fn one(
        &self,
        i: usize,
        out: &Outgoing,
        stored: bool,
        offset: u64,
    ) -> Result<(usize, InstanceResult), LinkError> {
        if stored {
            return Ok((
                i,
                Ok(Sent {
                    bytes: 0,
                    warning: None,
                }),
            ));
        }
        self.upload(out, offset).await.map(|r| (i, r))
    }

    /// Packs and uploads one instance from `offset`.
    async fn upload(&self, out: &Outgoing, mut offset: u64) -> Result<InstanceResult, LinkError> {
        let (object, pixels) = (out.object.clone(), out.pixels.clone());
        let package = tokio::task::spawn_blocking(move || {
            let (layout, image) = match &pixels {
                Some((l, i)) => (l.clone(), Some(i.clone())),
                None => (pacs_core::layout::PixelLayout::Absent, None),
            };
            pacs_core::wire::pack(&object, &layout, image.as_ref())
        })
        .await
        .map_err(|e| LinkError(format!("packing failed: {e}")))?;
        let package = Bytes::from(package.bytes);
        let size = package.len() as u64;
        let mut sent = 0u64;
        // A 409 says where the upload really stands: go on from there.
        for _ in 0..3 {
            if offset > size {
                offset = 0;
            }
            let mut path = format!(
                "/uploads/{}?sop={}&offset={offset}&size={size}",
                out.sha256, out.sop_instance_uid
            );
            if let Some(ts) = &self.store_as {
                path.push_str(&format!("&store_as={ts}"));
            }
            let body = package.slice(offset as usize..);
            sent += body.len() as u64;
            let response = self.put_watched(&path, body).await?;
            let status = response.status();
            let text = super::watch::text(response, self.limits.answer)
                .await
                .unwrap_or_default();
            let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match status.as_u16() {
                201 => {
                    return Ok(Ok(Sent {
                        bytes: sent,
                        warning: None,
                    }));
                }
                409 if json["offset"].is_u64() => {
                    offset = json["offset"].as_u64().unwrap_or(0);
                }
                409 | 422 => {
                    let why = json["error"].as_str().unwrap_or(&text);
                    return Ok(Err(format!("the peer refused it: {why}")));
                }
                _ => {
                    return Err(LinkError(format!(
                        "{} answered {status} to an upload: {}",
                        self.base,
                        json["error"].as_str().unwrap_or(text.trim())
                    )));
                }
            }
        }
        Err(LinkError(format!(
            "{}: the upload of {} never lined up",
            self.base, out.sop_instance_uid
        )))
    }

    /// PUTs `body`, watched by its progress ([`super::watch`]).
    async fn put_watched(&self, path: &str, body: Bytes) -> Result<reqwest::Response, LinkError> {
        let chunks: Vec<Bytes> = (0..body.len())
            .step_by(CHUNK)
            .map(|start| body.slice(start..(start + CHUNK).min(body.len())))
            .collect();
        let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        let request = self
            .upload_request(reqwest::Method::PUT, path)
            .header("Content-Type", "application/octet-stream");
        super::watch::send(request, stream, self.limits)
            .await
            .map_err(|e| match e {
                super::watch::UploadError::Stalled(_) => {
                    LinkError(format!("{}: {e}; the upload resumes later", self.base))
                }
                e => LinkError(format!("{}: {e}", self.base)),
            })
    }
}

/// A JSON answer, or the link error a failed status makes.
async fn answer(response: reqwest::Response, base: &str) -> Result<Value, LinkError> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| LinkError(format!("{base}: {}", error_chain(&e))))?;
    if !status.is_success() {
        return Err(LinkError(format!(
            "{base} answered {status}: {}",
            text.trim()
        )));
    }
    serde_json::from_str(&text).map_err(|e| LinkError(format!("{base}: unreadable answer: {e}")))
}

#[async_trait]
impl Session for PeerSession {
    fn batch_bytes(&self) -> u64 {
        BATCH_BYTES
    }

    async fn send(&mut self, batch: &[Outgoing]) -> Result<Vec<InstanceResult>, LinkError> {
        let status = self.status(batch).await?;
        let this: &PeerSession = self;
        let uploads: Vec<_> = batch
            .iter()
            .zip(status)
            .enumerate()
            .map(|(i, (out, (stored, offset)))| this.one(i, out, stored, offset))
            .collect();
        let mut results: Vec<(usize, InstanceResult)> = futures::stream::iter(uploads)
            .buffer_unordered(IN_FLIGHT)
            .collect::<Vec<Result<_, LinkError>>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }

    async fn complete(
        &mut self,
        study_uid: &str,
        instances: &[(String, String)],
    ) -> Result<(), CompleteError> {
        let listing: Vec<Value> = instances
            .iter()
            .map(|(sop, sha)| json!({ "sop_instance_uid": sop, "sha256": sha }))
            .collect();
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/studies/{study_uid}/complete"),
            )
            .json(&json!({ "instances": listing }))
            .send()
            .await
            .map_err(|e| LinkError(format!("{}: {}", self.base, error_chain(&e))))?;
        if response.status().as_u16() == 409 {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let missing = body["missing"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            return Err(CompleteError::Missing(missing));
        }
        answer(response, &self.base).await?;
        Ok(())
    }

    async fn close(self: Box<Self>) {}
}
