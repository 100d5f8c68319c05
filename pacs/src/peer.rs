//! Receiving from another `pacs` over a poor link (`/api/peer`).
//!
//! The sender packs each instance losslessly (`pacs_core::wire`) and
//! uploads the package; an upload that breaks off is kept, and the sender
//! resumes it at the offset this side reports, so nothing that arrived is
//! sent again. A finished package is unpacked, checked against its
//! declared SHA-256 and stored through the ingest pipeline like any other
//! instance. When the sender has sent a study, it declares it whole with
//! every instance's data set hash; the study is marked complete only if
//! every one is stored here with that hash.
//!
//! - `POST /api/peer/status` `{"instances": [{"sop_instance_uid", "sha256"}]}`:
//!   for each, whether it is stored, and how much of its upload is here;
//! - `PUT /api/peer/uploads/{sha256}?sop=&offset=&size=[&store_as=]`:
//!   package bytes from `offset` of a `size`-byte package; 409 with the
//!   right offset when it is not where the upload stands. With `store_as`
//!   (a lossless transfer syntax) the instance is stored converted, and
//!   remembered under the hash it was sent with;
//! - `POST /api/peer/studies/{uid}/complete` `{"instances": [...]}`: the
//!   completion commit; 409 with what is missing;
//! - `GET /api/peer/studies/{uid}`: whether the study is complete.
//!
//! An unfinished upload is kept per sending site and hash, and remembers
//! the package size it was started for: one started for another size
//! cannot be the start of this package, so it is dropped and the upload
//! starts afresh rather than refusing every resumption for ever.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::{Buf, Bytes};
use futures::{Stream, StreamExt};
use pacs_core::forward::now_millis;
use pacs_core::{Incoming, Index, Ingest, IngestError, StoreKind, Uid};
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

/// Most instances one status or completion request may name.
const MAX_LISTED: usize = 100_000;
/// Unfinished uploads older than this are removed at start.
const STALE_UPLOAD: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often an upload's file is synced while bytes stream in, so that
/// what the sender is told survives a crash here.
const SYNC_EVERY: u64 = 1 << 20;
/// An upload's file starts with the package size it was started for (u64,
/// little-endian); the package bytes follow.
const HEADER: u64 = 8;
/// Most bytes of a misplaced upload read (and dropped) before it is told
/// where the upload stands. A sender that writes its whole body before it
/// reads the answer (reqwest does) would otherwise see only a broken pipe;
/// beyond this it still learns the offset from its next status request.
const DRAIN_LIMIT: u64 = 8 << 20;

pub struct PeerState {
    pub ingest: Arc<Ingest>,
    pub index: Arc<dyn Index>,
    /// Where unfinished uploads are kept.
    pub uploads: PathBuf,
    /// Largest package accepted.
    pub max_package: u64,
    /// Largest unpacked instance.
    pub max_instance: u64,
    /// One writer per upload file at a time.
    busy: Mutex<HashSet<PathBuf>>,
    /// Who the sender is: its site's studies are recorded as the site's.
    auth: Option<Arc<crate::auth::Auth>>,
}

impl PeerState {
    pub fn new(
        ingest: Arc<Ingest>,
        index: Arc<dyn Index>,
        uploads: PathBuf,
        max_instance: u64,
    ) -> PeerState {
        PeerState {
            ingest,
            index,
            uploads,
            max_package: max_instance + (1 << 20),
            max_instance,
            busy: Mutex::new(HashSet::new()),
            auth: None,
        }
    }

    /// Records instances against the sending site of the request's token.
    pub fn with_auth(mut self, auth: Arc<crate::auth::Auth>) -> PeerState {
        self.auth = Some(auth);
        self
    }

    /// Whether the sender may commit or ask about `study`: a site only
    /// about its own studies (an archive without accounts: anyone).
    async fn may_see(
        &self,
        headers: &warp::http::HeaderMap,
        remote: Option<SocketAddr>,
        study: &str,
    ) -> bool {
        let Some(auth) = &self.auth else {
            return true;
        };
        let Ok(who) = auth.principal(headers, remote).await else {
            return false;
        };
        who.scope == pacs_core::workflow::StudyScope::All
            || auth
                .store
                .study_visible(&who.scope, study)
                .await
                .unwrap_or(false)
    }

    async fn site_of(
        &self,
        headers: &warp::http::HeaderMap,
        remote: Option<SocketAddr>,
    ) -> Option<String> {
        let auth = self.auth.as_ref()?;
        auth.principal(headers, remote).await.ok()?.site
    }

    /// Creates the upload directory and removes uploads abandoned long ago.
    pub fn prepare(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.uploads)?;
        let now = SystemTime::now();
        for entry in std::fs::read_dir(&self.uploads)?.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_UPLOAD);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// The file of an unfinished upload. Each site has its own, so that
    /// what one site sends (or leaves behind) under a hash never becomes
    /// part of, or stands in the way of, another site's upload of it.
    /// Callers with no site (an archive without accounts, an
    /// administrator's token) share one.
    fn part(&self, site: Option<&str>, sha: &str) -> PathBuf {
        match site {
            None => self.uploads.join(format!("{sha}.part")),
            Some(site) => {
                use sha2::Digest;
                let tag = hex::encode(&sha2::Sha256::digest(site.as_bytes())[..8]);
                self.uploads.join(format!("{sha}.{tag}.part"))
            }
        }
    }
}

/// What an upload file holds: the package size it was started for and how
/// many package bytes have arrived.
struct Partial {
    size: u64,
    held: u64,
}

impl Partial {
    /// Reads the header of the upload file at `path`; `None` when there is
    /// none. A file too short for its header (a crash while it was being
    /// created) reads as started for size 0, which no upload declares, so
    /// it is dropped like any other that does not fit.
    async fn read(path: &Path) -> std::io::Result<Option<Partial>> {
        use tokio::io::AsyncReadExt;
        let mut file = match tokio::fs::File::open(path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = file.metadata().await?.len();
        if len < HEADER {
            return Ok(Some(Partial { size: 0, held: 0 }));
        }
        let mut header = [0u8; HEADER as usize];
        file.read_exact(&mut header).await?;
        Ok(Some(Partial {
            size: u64::from_le_bytes(header),
            held: len - HEADER,
        }))
    }

    /// Whether the upload of a `size`-byte package can go on from this.
    fn fits(&self, size: u64) -> bool {
        self.size == size && self.held <= size
    }
}

#[derive(Debug, Deserialize)]
struct Listed {
    sop_instance_uid: String,
    sha256: String,
}

#[derive(Debug, Deserialize)]
struct Listing {
    instances: Vec<Listed>,
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    sop: String,
    offset: u64,
    size: u64,
    /// Store the instance converted to this (lossless) transfer syntax.
    store_as: Option<String>,
}

/// A SHA-256 in lower-case hex: the only names upload files get.
fn valid_sha(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn not_theirs() -> Response {
    warp::reply::with_status(
        warp::reply::json(
            &json!({ "error": "this study is not one of the sending site's studies" }),
        ),
        StatusCode::FORBIDDEN,
    )
    .into_response()
}

pub fn routes(state: Arc<PeerState>) -> BoxedFilter<(Response,)> {
    let base = warp::path("api").and(warp::path("peer"));
    let with_state = warp::any().map(move || state.clone());

    let status = base
        .and(warp::path("status"))
        .and(warp::path::end())
        .and(crate::http::post())
        .and(crate::http::client_addr())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 << 20))
        .and(warp::body::json::<Listing>())
        .and(with_state.clone())
        .then(
            |remote: Option<SocketAddr>,
             headers: warp::http::HeaderMap,
             listing: Listing,
             state: Arc<PeerState>| async move {
                let site = state.site_of(&headers, remote).await;
                status(&state, site.as_deref(), listing).await
            },
        );

    let upload = base
        .and(warp::path("uploads"))
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(crate::http::put())
        .and(warp::query::<UploadQuery>())
        .and(crate::http::client_addr())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and(with_state.clone())
        .then(
            |sha: String,
             query: UploadQuery,
             remote: Option<SocketAddr>,
             headers: warp::http::HeaderMap,
             body,
             state: Arc<PeerState>| async move {
                let site = state.site_of(&headers, remote).await;
                // Such a client waits for a go-ahead before it sends the
                // body, so it reads a refusal without the body being read.
                let waits = headers
                    .get(warp::http::header::EXPECT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
                let sender = Sender {
                    remote,
                    site,
                    waits,
                };
                upload(&state, sha, query, sender, body).await
            },
        );

    let complete = base
        .and(warp::path("studies"))
        .and(warp::path::param::<String>())
        .and(warp::path("complete"))
        .and(warp::path::end())
        .and(crate::http::post())
        .and(crate::http::client_addr())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(64 << 20))
        .and(warp::body::json::<Listing>())
        .and(with_state.clone())
        .then(
            |study: String,
             remote: Option<SocketAddr>,
             headers: warp::http::HeaderMap,
             listing: Listing,
             state: Arc<PeerState>| async move {
                if !state.may_see(&headers, remote, &study).await {
                    return not_theirs();
                }
                complete(&state, &study, remote, listing).await
            },
        );

    let study = base
        .and(warp::path("studies"))
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(crate::http::get())
        .and(crate::http::client_addr())
        .and(warp::header::headers_cloned())
        .and(with_state)
        .then(
            |study: String,
             remote: Option<SocketAddr>,
             headers: warp::http::HeaderMap,
             state: Arc<PeerState>| async move {
                if !state.may_see(&headers, remote, &study).await {
                    return not_theirs();
                }
                match state.index.completion(&study).await {
                    Ok(Some((instances, at))) => warp::reply::json(
                        &json!({ "complete": true, "instances": instances, "completed_at": at }),
                    )
                    .into_response(),
                    Ok(None) => warp::reply::json(&json!({ "complete": false })).into_response(),
                    Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
                }
            },
        );

    status
        .or(upload)
        .unify()
        .or(complete)
        .unify()
        .or(study)
        .unify()
        .boxed()
}

fn problem(status: StatusCode, message: &str) -> Response {
    warp::reply::with_status(warp::reply::json(&json!({ "error": message })), status)
        .into_response()
}

async fn status(state: &PeerState, site: Option<&str>, listing: Listing) -> Response {
    if listing.instances.len() > MAX_LISTED {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too many instances in one request",
        );
    }
    let mut out = Vec::with_capacity(listing.instances.len());
    for l in &listing.instances {
        if !valid_sha(&l.sha256) {
            return problem(
                StatusCode::BAD_REQUEST,
                "sha256 must be 64 lower-case hex digits",
            );
        }
        let stored = match state.index.holds(&l.sop_instance_uid, &l.sha256).await {
            Ok(held) => held,
            Err(e) => return problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        };
        // The package size is not known here: a partial started for
        // another size is reported as it stands and dropped when the
        // upload names its size.
        let offset = if stored {
            0
        } else {
            match Partial::read(&state.part(site, &l.sha256)).await {
                Ok(Some(p)) if p.held <= p.size => p.held,
                _ => 0,
            }
        };
        out.push(json!({
            "sop_instance_uid": l.sop_instance_uid,
            "stored": stored,
            "offset": offset,
        }));
    }
    warp::reply::json(&json!({ "instances": out })).into_response()
}

/// Releases an upload's claim when the request ends, however it ends.
struct Busy<'a> {
    state: &'a PeerState,
    path: PathBuf,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.state.busy.lock() {
            busy.remove(&self.path);
        }
    }
}

/// Who sends an upload.
struct Sender {
    remote: Option<SocketAddr>,
    site: Option<String>,
    /// The client sent `Expect: 100-continue`.
    waits: bool,
}

async fn upload<S, B>(
    state: &PeerState,
    sha: String,
    query: UploadQuery,
    sender: Sender,
    body: S,
) -> Response
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    if !valid_sha(&sha) {
        return problem(
            StatusCode::BAD_REQUEST,
            "the upload must be named by a data set SHA-256",
        );
    }
    if Uid::parse(&query.sop).is_err() {
        return problem(StatusCode::BAD_REQUEST, "sop must be a valid UID");
    }
    if let Some(ts) = &query.store_as
        && !pacs_core::transcode::LOSSLESS_STORAGE.contains(&ts.as_str())
    {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!(
                "store_as must be a lossless transfer syntax: {}",
                pacs_core::transcode::LOSSLESS_STORAGE.join(", ")
            ),
        );
    }
    if query.size == 0 || query.size > state.max_package || query.offset > query.size {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("a package may be 1 to {} bytes", state.max_package),
        );
    }
    let path = state.part(sender.site.as_deref(), &sha);
    let busy = {
        let Ok(mut busy) = state.busy.lock() else {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "upload registry poisoned",
            );
        };
        if !busy.insert(path.clone()) {
            return problem(
                StatusCode::CONFLICT,
                "this upload is being written by another request",
            );
        }
        Busy {
            state,
            path: path.clone(),
        }
    };
    let have = match Partial::read(&path).await {
        Ok(Some(p)) if p.fits(query.size) => p.held,
        Ok(Some(p)) => {
            // Started for a package of another size (or longer than
            // this one): none of it can be this package, and keeping it
            // would refuse every upload of this one until it ages out.
            tracing::info!(
                sha,
                size = query.size,
                partial_size = p.size,
                held = p.held,
                "peer upload: dropping a partial upload made for another package size"
            );
            if let Err(e) = tokio::fs::remove_file(&path).await
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!(
                        "cannot remove the unfinished upload {}: {e}",
                        path.display()
                    ),
                );
            }
            0
        }
        Ok(None) => 0,
        Err(e) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot read the unfinished upload {}: {e}", path.display()),
            );
        }
    };
    if have != query.offset {
        // Another request for this upload may go on while this body is
        // read and dropped.
        drop(busy);
        if !sender.waits {
            drain(body, DRAIN_LIMIT.min(query.size - query.offset)).await;
        }
        return warp::reply::with_status(
            warp::reply::json(&json!({
                "error": format!(
                    "the upload stands at byte {have}, not {}: send from there",
                    query.offset
                ),
                "offset": have,
            })),
            StatusCode::CONFLICT,
        )
        .into_response();
    }
    let fresh = (have == 0).then_some(query.size);
    let written = match append(&path, body, query.size - have, fresh).await {
        Ok(n) => have + n,
        Err(e) => {
            tracing::info!(sha, error = %e, "peer upload broke off; kept for resuming");
            return problem(
                StatusCode::BAD_REQUEST,
                &format!("the upload broke off: {e}"),
            );
        }
    };
    if written < query.size {
        return warp::reply::with_status(
            warp::reply::json(&json!({ "stored": false, "offset": written })),
            StatusCode::ACCEPTED,
        )
        .into_response();
    }
    let source = format!(
        "peer:{}",
        sender
            .remote
            .map_or_else(|| "unknown".into(), |a| a.to_string())
    );
    let result = finish(
        state,
        &path,
        &sha,
        &query.sop,
        query.store_as.as_deref(),
        &source,
        sender.site.as_deref(),
    )
    .await;
    // Finished either way: a package that did not check out is sent
    // again from the start.
    let _ = tokio::fs::remove_file(&path).await;
    match result {
        Ok(kind) => warp::reply::with_status(
            warp::reply::json(&json!({
                "stored": true,
                "duplicate": kind == StoreKind::Duplicate,
            })),
            StatusCode::CREATED,
        )
        .into_response(),
        Err((status, message)) => {
            tracing::warn!(sha, sop = %query.sop, %message, "peer upload refused");
            problem(status, &message)
        }
    }
}

/// Reads and drops up to `limit` bytes of a body that is not kept.
async fn drain<S, B>(mut body: S, limit: u64)
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut read = 0u64;
    while read < limit {
        match body.next().await {
            Some(Ok(chunk)) => read += chunk.remaining() as u64,
            _ => break,
        }
    }
}

/// Appends up to `limit` bytes of `body` to `path`, syncing as it goes;
/// returns how many were written. More than `limit` is an error. With
/// `fresh`, the file is started anew for a package of that size.
async fn append<S, B>(
    path: &Path,
    mut body: S,
    limit: u64,
    fresh: Option<u64>,
) -> std::io::Result<u64>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut file = match fresh {
        Some(size) => {
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(path)
                .await?;
            file.write_all(&size.to_le_bytes()).await?;
            file
        }
        None => {
            tokio::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .await?
        }
    };
    let mut written = 0u64;
    let mut unsynced = 0u64;
    let outcome = loop {
        match body.next().await {
            None => break Ok(()),
            Some(Err(e)) => break Err(std::io::Error::other(e.to_string())),
            Some(Ok(mut chunk)) => {
                let n = chunk.remaining() as u64;
                if written + n > limit {
                    break Err(std::io::Error::other("more bytes than the package holds"));
                }
                while chunk.has_remaining() {
                    let part = chunk.chunk();
                    let len = part.len();
                    file.write_all(part).await?;
                    chunk.advance(len);
                }
                written += n;
                unsynced += n;
                if unsynced >= SYNC_EVERY {
                    file.sync_data().await?;
                    unsynced = 0;
                }
            }
        }
    };
    // Whatever arrived is kept (and made durable) for the resumption.
    file.flush().await?;
    file.sync_data().await?;
    outcome.map(|()| written)
}

/// Unpacks and stores a complete package, converted to `store_as` when
/// given.
async fn finish(
    state: &PeerState,
    path: &Path,
    sha: &str,
    sop: &str,
    store_as: Option<&str>,
    source: &str,
    site: Option<&str>,
) -> Result<StoreKind, (StatusCode, String)> {
    let mut package = tokio::fs::read(path)
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    package.drain(..(HEADER as usize).min(package.len()));
    let limit = state.max_instance;
    let to = store_as.map(str::to_owned);
    let (object, converted) = tokio::task::spawn_blocking(move || {
        let object = pacs_core::wire::unpack(&package, limit)
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        let stored_ts = pacs_core::layout::read_part10_header(&object)
            .map(|h| h.transfer_syntax_uid)
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        match to {
            Some(to) if to != stored_ts => pacs_core::transcode::object_to(&object, &to)
                .map(|o| (o.to_vec(), true))
                .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string())),
            _ => Ok((object, false)),
        }
    })
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let stored = state
        .ingest
        .ingest_from(Incoming::Part10(Bytes::from(object)), source, site, None)
        .await
        .map_err(|e| {
            let status = match &e {
                IngestError::Conflict(_) => StatusCode::CONFLICT,
                e if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            (status, e.to_string())
        })?;
    if stored.sop_instance_uid != sop {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the package holds {}, not {sop}", stored.sop_instance_uid),
        ));
    }
    if converted && let Err(e) = state.index.record_sent_as(sop, sha).await {
        return Err((StatusCode::SERVICE_UNAVAILABLE, e.to_string()));
    }
    match state.index.holds(sop, sha).await {
        Ok(true) => Ok(stored.kind),
        Ok(false) => Err((
            StatusCode::CONFLICT,
            format!("{sop} is stored here with other content"),
        )),
        Err(e) => Err((StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    }
}

async fn complete(
    state: &PeerState,
    study: &str,
    remote: Option<SocketAddr>,
    listing: Listing,
) -> Response {
    let Ok(uid) = Uid::parse(study) else {
        return problem(StatusCode::BAD_REQUEST, "not a Study Instance UID");
    };
    if listing.instances.len() > MAX_LISTED {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too many instances in one request",
        );
    }
    let here = match state.index.instances(&uid, None, None).await {
        Ok(i) => i,
        Err(e) => return problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let stored: HashMap<&str, &str> = here
        .iter()
        .map(|i| (i.sop_instance_uid.as_str(), i.sha256.as_str()))
        .collect();
    let mut missing: Vec<&str> = Vec::new();
    for l in &listing.instances {
        let sop = l.sop_instance_uid.as_str();
        if stored.get(sop) == Some(&l.sha256.as_str()) {
            continue;
        }
        // Stored converted: held under the hash it was sent with.
        match state.index.holds(sop, &l.sha256).await {
            Ok(true) => {}
            Ok(false) => missing.push(sop),
            Err(e) => return problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        }
    }
    if !missing.is_empty() {
        return warp::reply::with_status(
            warp::reply::json(&json!({ "complete": false, "missing": missing })),
            StatusCode::CONFLICT,
        )
        .into_response();
    }
    let by = remote.map_or_else(|| "unknown".into(), |a| a.to_string());
    let count = listing.instances.len() as i64;
    match state
        .index
        .mark_complete(study, count, &by, now_millis())
        .await
    {
        Ok(()) => {
            tracing::info!(study, instances = count, from = %by, "study complete");
            warp::reply::json(&json!({ "complete": true, "instances": count })).into_response()
        }
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}
