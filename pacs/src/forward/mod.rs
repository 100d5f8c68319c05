//! Store and forward: the sender that drains the outbox.
//!
//! The forwarder claims due jobs through the database (so several nodes
//! sharing one database never send the same job), sends each job's
//! unsent instances through a [`session::Session`], records every
//! delivered instance as it goes (so a restart resumes where it stopped),
//! and ends the attempt: delivered, retried later with back-off, or moved
//! to the dead-letter list. A STAT study makes a routine job sending to
//! the same destination give way after its current instance.

pub mod api;
pub mod config;
mod peer;
pub mod session;
mod stow_response;
pub mod throttle;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pacs_core::Archive;
use pacs_core::ArchiveError;
use pacs_core::forward::{
    Arrival, Claim, Delivered, ForwardOrder, Lease, Opening, Outbox, Outcome, Router, millis,
    now_millis,
};
use pacs_core::index::StoredInstance;
use storage::StorageError;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use self::config::{Destination, ForwardConfig};
use self::session::{LinkError, Outgoing, Peers};
use self::throttle::{Permit, Throttle};
use crate::sites::Sites;

/// How long a claim holds without news from its sender.
const LEASE: Duration = Duration::from_secs(30);
/// The longest the dispatcher sleeps without looking at the outbox.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// The configured rules as the ingest pipeline's router; wakes the
/// forwarder when something was queued.
pub struct Rules {
    pub config: ForwardConfig,
    /// Every site, from the configuration file or `pacs site add`, for
    /// the sending site's priority.
    pub sites: Arc<Sites>,
    pub wake: Arc<Notify>,
}

impl Router for Rules {
    fn route(&self, arrival: &Arrival<'_>) -> Vec<ForwardOrder> {
        let priority = arrival
            .site
            .and_then(|name| self.sites.priority_of(name))
            .unwrap_or_default();
        self.config.route(arrival, priority)
    }

    fn queued(&self) {
        self.wake.notify_one();
    }
}

/// A destination with its node-local state.
struct Lane {
    config: Destination,
    throttle: Throttle,
}

pub struct Forwarder {
    outbox: Arc<dyn Outbox>,
    archive: Arc<Archive>,
    lanes: HashMap<String, Arc<Lane>>,
    node_name: String,
    /// This run's name in leases: the node name and a run number, so a
    /// restarted node can tell its earlier run's leases.
    owner: String,
    peers: Peers,
    wake: Arc<Notify>,
}

impl Forwarder {
    pub fn new(
        config: &ForwardConfig,
        outbox: Arc<dyn Outbox>,
        archive: Arc<Archive>,
        peers: Peers,
        wake: Arc<Notify>,
    ) -> Forwarder {
        let lanes = config
            .destinations
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    Arc::new(Lane {
                        config: d.clone(),
                        throttle: Throttle::default(),
                    }),
                )
            })
            .collect();
        Forwarder {
            outbox,
            archive,
            lanes,
            owner: format!(
                "{}/{}-{}",
                config.node_name,
                std::process::id(),
                now_millis()
            ),
            node_name: config.node_name.clone(),
            peers,
            wake,
        }
    }

    /// Sends until `shutdown`; then gives back the jobs it holds.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        if self.lanes.is_empty() {
            return;
        }
        // Leases of this node's earlier run (a crash, kill -9): its jobs go
        // back to the queue now rather than when the leases run out.
        match self
            .outbox
            .release_owned(&format!("{}/", self.node_name), now_millis())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "forwarding resumes jobs of the previous run"),
            Err(e) => tracing::warn!(error = %e, "cannot release the previous run's jobs"),
        }
        let capacity: usize = self.lanes.values().map(|l| l.config.concurrency).sum();
        let mut running = tokio::task::JoinSet::new();
        let stop = shutdown.child_token();
        loop {
            while running.len() < capacity {
                match self.claim().await {
                    Ok(Some(claim)) => {
                        let this = self.clone();
                        let stop = stop.clone();
                        running.spawn(async move { this.attempt(claim, stop).await });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "forwarding cannot claim jobs");
                        break;
                    }
                }
            }
            let pause = self.pause().await;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
        // Jobs stop after their current instance and give their claims back.
        stop.cancel();
        while running.join_next().await.is_some() {}
    }

    /// Destinations that may send now, and how many jobs each may have.
    fn openings(&self) -> Vec<Opening> {
        let minute = local_minute();
        self.lanes
            .values()
            .filter(|l| l.config.rate_at(minute) != Some(0))
            .map(|l| Opening {
                destination: l.config.name.clone(),
                concurrency: l.config.concurrency,
            })
            .collect()
    }

    async fn claim(&self) -> Result<Option<Claim>, pacs_core::IndexError> {
        let openings = self.openings();
        if openings.is_empty() {
            return Ok(None);
        }
        self.outbox
            .claim(&self.owner, &openings, now_millis(), LEASE)
            .await
    }

    /// How long to sleep before looking at the outbox again.
    async fn pause(&self) -> Duration {
        let due = match self.outbox.next_due().await {
            Ok(Some(due)) => Duration::from_millis((due - now_millis()).max(0) as u64),
            _ => IDLE_POLL,
        };
        due.clamp(Duration::from_millis(50), IDLE_POLL)
    }

    /// One attempt at a claimed job, ended in the outbox.
    async fn attempt(&self, claim: Claim, stop: CancellationToken) {
        let Some(lane) = self.lanes.get(&claim.destination).cloned() else {
            // A destination removed from the configuration: leave the job
            // for a node that still has it, or for an operator.
            let _ = self
                .outbox
                .finish(claim.job, &self.owner, Outcome::Released, now_millis())
                .await;
            return;
        };
        let started = Instant::now();
        // A heartbeat keeps the lease while an instance or a batch takes
        // long on a slow link, and passes on a request to give way.
        let halt = stop.child_token();
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = tokio::spawn(heartbeat(
            self.outbox.clone(),
            claim.clone(),
            self.owner.clone(),
            halt.clone(),
            lost.clone(),
        ));
        let report = self.send(&claim, &lane, &halt, &lost).await;
        halt.cancel();
        let _ = heartbeat.await;
        let outcome = match report.stop {
            Stop::Done if report.refused.is_empty() => Outcome::Done,
            Stop::Lost => return,
            Stop::Released => Outcome::Released,
            Stop::Done | Stop::Failed(_) | Stop::Unreachable(_) => {
                let error = match (&report.stop, report.refused.first()) {
                    (Stop::Failed(e) | Stop::Unreachable(e), _) => e.clone(),
                    (_, Some((uid, why))) => {
                        let n = report.refused.len();
                        format!("{n} instance(s) not delivered; {uid}: {why}")
                    }
                    _ => "failed".into(),
                };
                // Progress means the link works: start counting afresh.
                let attempts = if report.delivered > 0 {
                    1
                } else {
                    claim.attempts + 1
                };
                let retry_at = lane
                    .config
                    .backoff
                    .after(attempts as u32, rand::random::<f64>())
                    .map(|wait| now_millis() + millis(wait));
                Outcome::Failed {
                    error,
                    attempts,
                    retry_at,
                    unreachable: matches!(report.stop, Stop::Unreachable(_)),
                }
            }
        };
        tracing::info!(
            job = claim.job,
            destination = %claim.destination,
            study = %claim.study_uid,
            delivered = report.delivered,
            bytes = report.bytes,
            secs = started.elapsed().as_secs_f64(),
            outcome = ?outcome,
            "forwarding attempt ended"
        );
        if let Outcome::Failed {
            error,
            attempts,
            retry_at: None,
            ..
        } = &outcome
        {
            // Nothing retries this job any more: the study stays unsent
            // until an operator acts, so it must reach a log kept at warn.
            tracing::warn!(
                job = claim.job,
                destination = %claim.destination,
                study = %claim.study_uid,
                attempts,
                error = %error,
                "forwarding gave up on a study after its last attempt; it waits on the \
                 dead-letter list until an operator retries it"
            );
        }
        if let Err(e) = self
            .outbox
            .finish(claim.job, &self.owner, outcome, now_millis())
            .await
        {
            // The lease runs out and the job goes back to the queue.
            tracing::warn!(job = claim.job, error = %e, "cannot record a forwarding attempt");
        }
    }

    async fn send(
        &self,
        claim: &Claim,
        lane: &Lane,
        halt: &CancellationToken,
        lost: &AtomicBool,
    ) -> Report {
        let mut report = Report::default();
        let unsent = match self.outbox.unsent(claim.job).await {
            Ok(u) => u,
            Err(e) => return report.stopped(Stop::Failed(format!("the index failed: {e}"))),
        };
        // A peer is told the study is whole even when nothing is left to
        // send: the last attempt may have ended before it heard.
        let commits = matches!(lane.config.target, config::Target::Peer { .. });
        if unsent.is_empty() && !commits {
            return report;
        }
        let kinds: Vec<(&str, &str)> = unsent
            .iter()
            .map(|i| (i.sop_class_uid.as_str(), i.transfer_syntax_uid.as_str()))
            .collect();
        let mut session = match session::open(&lane.config.target, &self.peers, &kinds).await {
            Ok(s) => s,
            Err(LinkError(e)) => return report.stopped(Stop::Unreachable(e)),
        };
        let mut queue = unsent.into_iter().peekable();
        while queue.peek().is_some() {
            if halt.is_cancelled() {
                report.stop = if lost.load(Ordering::Acquire) {
                    Stop::Lost
                } else {
                    Stop::Released
                };
                break;
            }
            let (batch, unreadable) = match self.next_batch(&mut queue, session.batch_bytes()).await
            {
                Ok(read) => read,
                Err(e) => {
                    report.stop = Stop::Failed(e);
                    break;
                }
            };
            // An instance whose stored copy is gone is left for the next
            // attempt; the rest of the study goes on.
            report.refused.extend(unreadable);
            if batch.is_empty() {
                continue;
            }
            if lane.config.rate_at(local_minute()) == Some(0) {
                // The schedule closed the link: give the job back.
                report.stop = Stop::Released;
                break;
            }
            let (instances, batch): (Vec<StoredInstance>, Vec<Outgoing>) =
                batch.into_iter().unzip();
            let results = match session.send(&batch).await {
                Ok(r) => r,
                Err(LinkError(e)) => {
                    report.stop = Stop::Unreachable(e);
                    break;
                }
            };
            let mut delivered = Vec::new();
            let mut wire = 0u64;
            for (instance, result) in instances.into_iter().zip(results) {
                match result {
                    Ok(sent) => {
                        if let Some(warning) = &sent.warning {
                            tracing::info!(
                                sop_instance_uid = %instance.sop_instance_uid,
                                %warning,
                                "delivered with a warning"
                            );
                        }
                        wire += sent.bytes;
                        report.delivered += 1;
                        report.bytes += sent.bytes;
                        delivered.push(Delivered {
                            sop_instance_uid: instance.sop_instance_uid,
                            sha256: instance.sha256,
                            bytes: sent.bytes,
                        });
                    }
                    Err(why) => report.refused.push((instance.sop_instance_uid, why)),
                }
            }
            match self
                .outbox
                .progress(claim, &self.owner, delivered, now_millis(), LEASE)
                .await
            {
                Ok(Lease::Held) => {}
                Ok(Lease::Yield) => {
                    report.stop = Stop::Released;
                    break;
                }
                Ok(Lease::Lost) => {
                    report.stop = Stop::Lost;
                    break;
                }
                Err(e) => {
                    report.stop = Stop::Failed(format!("the index failed: {e}"));
                    break;
                }
            }
            // The cap is kept on what went on the wire, after the fact.
            self.pace(lane, wire, halt).await;
        }
        if matches!(report.stop, Stop::Done) && report.refused.is_empty() {
            self.commit(claim, &mut *session, &mut report).await;
        }
        session.close().await;
        report
    }

    /// Declares the study whole where the destination takes it; instances
    /// it turns out to lack are marked unsent so the next attempt sends
    /// them.
    async fn commit(&self, claim: &Claim, session: &mut dyn session::Session, report: &mut Report) {
        let Ok(study) = pacs_core::Uid::parse(&claim.study_uid) else {
            return;
        };
        let instances = match self.archive.index().instances(&study, None, None).await {
            Ok(i) => i,
            Err(e) => {
                report.stop = Stop::Failed(format!("the index failed: {e}"));
                return;
            }
        };
        let listing: Vec<(String, String)> = instances
            .into_iter()
            .map(|i| (i.sop_instance_uid, i.sha256))
            .collect();
        match session.complete(&claim.study_uid, &listing).await {
            Ok(()) => {}
            Err(session::CompleteError::Missing(missing)) => {
                let n = missing.len();
                if let Err(e) = self.outbox.unsend(claim.job, missing).await {
                    tracing::warn!(job = claim.job, error = %e, "cannot mark instances unsent");
                }
                report.stop = Stop::Failed(format!(
                    "the destination lacks {n} instance(s) of the study; they go again"
                ));
            }
            Err(session::CompleteError::Link(LinkError(e))) => report.stop = Stop::Unreachable(e),
        }
    }

    /// Reads instances from the queue until the batch is worth a request;
    /// with it, the instance whose stored copy is missing, if one is (the
    /// batch then ends there, so a stop asked for is heard between each).
    /// Storage that fails as a whole (unreachable, misconfigured) ends the
    /// attempt: no instance is to blame.
    async fn next_batch(
        &self,
        queue: &mut std::iter::Peekable<std::vec::IntoIter<StoredInstance>>,
        batch_bytes: u64,
    ) -> Result<(Vec<(StoredInstance, Outgoing)>, Option<(String, String)>), String> {
        let mut batch = Vec::new();
        let mut bytes = 0u64;
        while bytes < batch_bytes
            && let Some(instance) = queue.next_if(|i| bytes == 0 || bytes + i.size <= batch_bytes)
        {
            match self.archive.object(&instance).await {
                Ok(object) => {
                    bytes += object.len() as u64;
                    let outgoing = Outgoing::stored(&instance, object);
                    batch.push((instance, outgoing));
                }
                Err(e @ ArchiveError::Storage(StorageError::NotFound(_))) => {
                    tracing::warn!(
                        sop_instance_uid = %instance.sop_instance_uid,
                        error = %e,
                        "a stored instance is missing and cannot be forwarded"
                    );
                    let why = format!("this archive has lost its stored copy: {e}");
                    return Ok((batch, Some((instance.sop_instance_uid, why))));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot read stored instance {}: {e}",
                        instance.sop_instance_uid
                    ));
                }
            }
        }
        Ok((batch, None))
    }

    /// Waits as long as the destination's cap asks after `bytes` went out.
    async fn pace(&self, lane: &Lane, bytes: u64, halt: &CancellationToken) {
        let rate = lane.config.rate_at(local_minute());
        if let Permit::After(wait) = lane.throttle.take(bytes, rate, Instant::now())
            && !wait.is_zero()
        {
            tokio::select! {
                _ = halt.cancelled() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Renews the lease every third of its length until `halt`; halts the
/// attempt when the job must give way or is no longer ours.
async fn heartbeat(
    outbox: Arc<dyn Outbox>,
    claim: Claim,
    owner: String,
    halt: CancellationToken,
    lost: Arc<AtomicBool>,
) {
    loop {
        tokio::select! {
            _ = halt.cancelled() => return,
            _ = tokio::time::sleep(LEASE / 3) => {}
        }
        match outbox
            .progress(&claim, &owner, Vec::new(), now_millis(), LEASE)
            .await
        {
            Ok(Lease::Held) => {}
            Ok(Lease::Yield) => {
                halt.cancel();
                return;
            }
            Ok(Lease::Lost) => {
                lost.store(true, Ordering::Release);
                halt.cancel();
                return;
            }
            Err(e) => {
                tracing::warn!(job = claim.job, error = %e, "cannot renew a forwarding lease")
            }
        }
    }
}

#[derive(Debug, Default)]
enum Stop {
    #[default]
    Done,
    Released,
    Lost,
    /// The destination could not be reached, or did not answer as one.
    Unreachable(String),
    /// Something here failed (the index).
    Failed(String),
}

#[derive(Debug, Default)]
struct Report {
    stop: Stop,
    delivered: u64,
    bytes: u64,
    refused: Vec<(String, String)>,
}

impl Report {
    fn stopped(mut self, stop: Stop) -> Report {
        self.stop = stop;
        self
    }
}

/// Minutes after local midnight, for bandwidth schedules.
fn local_minute() -> u16 {
    use chrono::Timelike;
    let now = chrono::Local::now();
    (now.hour() * 60 + now.minute()) as u16
}
