//! The forwarding outbox in SQLite. Every change goes through the index's
//! one writer thread, so a claim is a single serialised read-then-update:
//! two senders can never hold the same job.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

use super::StoredInstance;
use super::sqlite::{INSTANCE_COLUMNS, SCOPE_JOIN, SCOPE_ORDER, SqliteIndex, stored_instance};
use crate::error::IndexError;
use crate::forward::{
    Claim, Delivered, ForwardOrder, JobEvent, JobFilter, JobState, JobView, Lease, Millis, Opening,
    Outbox, Outcome, Priority, millis,
};

/// Queues the orders of a newly indexed instance of `study_uid`, inside
/// its insert transaction. A study already queued waits until it has
/// settled again; a delivered one reopens for the new instance; failed
/// and cancelled ones stay as an operator left them.
pub(super) fn enqueue(
    tx: &Transaction<'_>,
    study_uid: &str,
    orders: &[ForwardOrder],
    now: Millis,
) -> Result<(), IndexError> {
    for order in orders {
        let settle_until = now.saturating_add(millis(order.settle));
        let existing: Option<(i64, String)> = tx
            .prepare_cached(
                "SELECT pk, state FROM forward_jobs WHERE study_uid = ?1 AND destination = ?2",
            )?
            .query_row(params![study_uid, order.destination], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match existing {
            None => {
                tx.prepare_cached(
                    "INSERT INTO forward_jobs (study_uid, destination, priority, state,
                        settle_until, created_at, updated_at)
                     VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?5)",
                )?
                .execute(params![
                    study_uid,
                    order.destination,
                    order.priority.rank(),
                    settle_until,
                    now
                ])?;
                let job = tx.last_insert_rowid();
                event(tx, job, now, "queued", None)?;
            }
            Some((job, state)) => {
                // New instances are worth a try now, whatever the study's
                // others met: a delivered job, or one given up (the
                // dead-letter list), is queued again with its attempts
                // counted afresh. One an operator cancelled stays so.
                tx.prepare_cached(
                    "UPDATE forward_jobs SET
                        priority = min(priority, ?2),
                        settle_until = max(settle_until, ?3),
                        attempts = CASE WHEN state IN ('delivered', 'failed') THEN 0
                            ELSE attempts END,
                        retry_at = CASE WHEN state IN ('queued', 'failed') THEN 0
                            ELSE retry_at END,
                        state = CASE WHEN state IN ('delivered', 'failed') THEN 'queued'
                            ELSE state END,
                        updated_at = ?4
                     WHERE pk = ?1",
                )?
                .execute(params![
                    job,
                    order.priority.rank(),
                    settle_until,
                    now
                ])?;
                let reopened = match state.as_str() {
                    "delivered" => Some("new instances arrived"),
                    "failed" => Some("new instances arrived after it was given up"),
                    _ => None,
                };
                if let Some(why) = reopened {
                    event(tx, job, now, "reopened", Some(why))?;
                }
            }
        }
    }
    Ok(())
}

fn event(
    tx: &Transaction<'_>,
    job: i64,
    at: Millis,
    what: &str,
    detail: Option<&str>,
) -> Result<(), IndexError> {
    tx.prepare_cached(
        "INSERT INTO forward_events (job_pk, at, event, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![job, at, what, detail])?;
    Ok(())
}

/// Jobs of `destination` being sent under a live lease.
fn active(tx: &Transaction<'_>, destination: &str, now: Millis) -> Result<usize, IndexError> {
    let n: i64 = tx
        .prepare_cached(
            "SELECT count(*) FROM forward_jobs
             WHERE destination = ?1 AND state = 'sending' AND lease_until > ?2",
        )?
        .query_row(params![destination, now], |r| r.get(0))?;
    Ok(n as usize)
}

/// Whether the job is still held by `owner`.
fn held_by(tx: &Transaction<'_>, job: i64, owner: &str) -> Result<bool, IndexError> {
    let row: Option<(String, Option<String>)> = tx
        .prepare_cached("SELECT state, lease_owner FROM forward_jobs WHERE pk = ?1")?
        .query_row([job], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(matches!(row, Some((state, Some(o))) if state == "sending" && o == owner))
}

/// Instances of the job's study its destination has not acknowledged.
fn count_unsent(tx: &rusqlite::Connection, job: i64) -> Result<i64, IndexError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT count(*) FROM {SCOPE_JOIN}
             WHERE st.study_uid = (SELECT study_uid FROM forward_jobs WHERE pk = ?1)
               AND NOT EXISTS (SELECT 1 FROM forward_sent f
                   WHERE f.job_pk = ?1 AND f.sop_uid = i.sop_uid AND f.sha256 = i.sha256)"
        ))?
        .query_row([job], |r| r.get(0))?)
}

const VIEW_COLUMNS: &str = "j.pk, j.study_uid, st.patient_name, st.patient_id,
    st.study_description, j.destination, j.priority, j.state, j.attempts,
    coalesce(st.num_instances, 0),
    (SELECT count(*) FROM forward_sent f JOIN instances i
        ON i.sop_uid = f.sop_uid AND i.sha256 = f.sha256 WHERE f.job_pk = j.pk),
    j.bytes_sent, j.last_error, max(j.settle_until, j.retry_at), j.lease_owner,
    j.created_at, j.updated_at, j.delivered_at";

fn job_view(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobView> {
    let state: String = r.get(7)?;
    let state = JobState::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            7,
            rusqlite::types::Type::Text,
            format!("unknown job state {state:?}").into(),
        )
    })?;
    let not_before: Millis = r.get(13)?;
    Ok(JobView {
        id: r.get(0)?,
        study_uid: r.get(1)?,
        patient_name: r.get(2)?,
        patient_id: r.get(3)?,
        study_description: r.get(4)?,
        destination: r.get(5)?,
        priority: Priority::from_rank(r.get(6)?),
        state,
        attempts: r.get(8)?,
        instances_total: r.get(9)?,
        instances_sent: r.get(10)?,
        bytes_sent: r.get(11)?,
        last_error: r.get(12)?,
        not_before: (state == JobState::Queued).then_some(not_before),
        lease_owner: if state == JobState::Sending {
            r.get(14)?
        } else {
            None
        },
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
        delivered_at: r.get(17)?,
    })
}

#[async_trait]
impl Outbox for SqliteIndex {
    async fn claim(
        &self,
        owner: &str,
        openings: &[Opening],
        now: Millis,
        lease: std::time::Duration,
    ) -> Result<Option<Claim>, IndexError> {
        let owner = owner.to_owned();
        let openings = openings.to_vec();
        self.write(move |tx| {
            let mut open = Vec::new();
            for o in &openings {
                if active(tx, &o.destination, now)? < o.concurrency {
                    open.push(o);
                }
            }
            if open.is_empty() {
                return Ok(None);
            }
            let marks = (0..open.len())
                .map(|i| format!("?{}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT pk, study_uid, destination, priority, attempts FROM forward_jobs
                 WHERE destination IN ({marks}) AND settle_until <= ?1 AND retry_at <= ?1
                   AND (state = 'queued' OR (state = 'sending' AND lease_until <= ?1))
                 ORDER BY priority, created_at, pk LIMIT 1"
            );
            let mut values: Vec<rusqlite::types::Value> = vec![now.into()];
            values.extend(open.iter().map(|o| o.destination.clone().into()));
            let found = tx
                .prepare_cached(&sql)?
                .query_row(params_from_iter(values), |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .optional()?;
            let Some((job, study_uid, destination, priority, attempts)) = found else {
                return Ok(None);
            };
            tx.prepare_cached(
                "UPDATE forward_jobs SET state = 'sending', lease_owner = ?2, lease_until = ?3,
                    updated_at = ?4 WHERE pk = ?1",
            )?
            .execute(params![job, owner, now.saturating_add(millis(lease)), now])?;
            event(tx, job, now, "sending", Some(&owner))?;
            let concurrency = open
                .iter()
                .find(|o| o.destination == destination)
                .map_or(1, |o| o.concurrency);
            Ok(Some(Claim {
                job,
                study_uid,
                destination,
                priority: Priority::from_rank(priority),
                attempts,
                concurrency,
            }))
        })
        .await
    }

    async fn unsent(&self, job: i64) -> Result<Vec<StoredInstance>, IndexError> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {INSTANCE_COLUMNS} FROM {SCOPE_JOIN}
                 WHERE st.study_uid = (SELECT study_uid FROM forward_jobs WHERE pk = ?1)
                   AND NOT EXISTS (SELECT 1 FROM forward_sent f
                       WHERE f.job_pk = ?1 AND f.sop_uid = i.sop_uid AND f.sha256 = i.sha256)
                 {SCOPE_ORDER}"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map([job], stored_instance)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn progress(
        &self,
        claim: &Claim,
        owner: &str,
        delivered: Vec<Delivered>,
        now: Millis,
        lease: std::time::Duration,
    ) -> Result<Lease, IndexError> {
        let claim = claim.clone();
        let owner = owner.to_owned();
        self.write(move |tx| {
            if !held_by(tx, claim.job, &owner)? {
                return Ok(Lease::Lost);
            }
            let mut bytes = 0u64;
            for d in &delivered {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO forward_sent (job_pk, sop_uid, sha256) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![claim.job, d.sop_instance_uid, d.sha256])?;
                bytes += d.bytes;
            }
            tx.prepare_cached(
                "UPDATE forward_jobs SET lease_until = ?2, updated_at = ?3,
                    bytes_sent = bytes_sent + ?4 WHERE pk = ?1",
            )?
            .execute(params![
                claim.job,
                now.saturating_add(millis(lease)),
                now,
                bytes as i64
            ])?;
            let waiting: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM forward_jobs
                     WHERE destination = ?1 AND priority < ?2 AND settle_until <= ?3
                       AND retry_at <= ?3
                       AND (state = 'queued' OR (state = 'sending' AND lease_until <= ?3)))",
                )?
                .query_row(params![claim.destination, claim.priority.rank(), now], |r| {
                    r.get(0)
                })?;
            if waiting && active(tx, &claim.destination, now)? >= claim.concurrency {
                return Ok(Lease::Yield);
            }
            Ok(Lease::Held)
        })
        .await
    }

    async fn unsend(&self, job: i64, sop_instance_uids: Vec<String>) -> Result<(), IndexError> {
        self.write(move |tx| {
            for sop in &sop_instance_uids {
                tx.prepare_cached("DELETE FROM forward_sent WHERE job_pk = ?1 AND sop_uid = ?2")?
                    .execute(params![job, sop])?;
            }
            Ok(())
        })
        .await
    }

    async fn finish(
        &self,
        job: i64,
        owner: &str,
        outcome: Outcome,
        now: Millis,
    ) -> Result<(), IndexError> {
        let owner = owner.to_owned();
        self.write(move |tx| {
            if !held_by(tx, job, &owner)? {
                return Ok(());
            }
            match outcome {
                Outcome::Done if count_unsent(tx, job)? == 0 => {
                    tx.prepare_cached(
                        "UPDATE forward_jobs SET state = 'delivered', attempts = 0,
                            last_error = NULL, lease_owner = NULL, lease_until = NULL,
                            delivered_at = ?2, updated_at = ?2 WHERE pk = ?1",
                    )?
                    .execute(params![job, now])?;
                    event(tx, job, now, "delivered", None)?;
                    // The destination answers again: its jobs waiting out a
                    // back-off for want of it go now, so a link that comes
                    // back drains. Jobs it refused instances of keep waiting.
                    tx.prepare_cached(
                        "UPDATE forward_jobs SET retry_at = 0, waits_for_link = 0
                         WHERE destination = (SELECT destination FROM forward_jobs WHERE pk = ?1)
                           AND state = 'queued' AND retry_at > ?2 AND waits_for_link = 1",
                    )?
                    .execute(params![job, now])?;
                }
                Outcome::Done | Outcome::Released => {
                    tx.prepare_cached(
                        "UPDATE forward_jobs SET state = 'queued', lease_owner = NULL,
                            lease_until = NULL, updated_at = ?2 WHERE pk = ?1",
                    )?
                    .execute(params![job, now])?;
                    let why = match outcome {
                        Outcome::Done => "new instances arrived while sending",
                        _ => "gave way to a more urgent study",
                    };
                    event(tx, job, now, "requeued", Some(why))?;
                }
                Outcome::Failed {
                    error,
                    attempts,
                    retry_at,
                    unreachable,
                } => {
                    let (state, what) = match retry_at {
                        Some(_) => ("queued", "failed"),
                        None => ("failed", "dead-letter"),
                    };
                    tx.prepare_cached(
                        "UPDATE forward_jobs SET state = ?2, attempts = ?3, last_error = ?4,
                            retry_at = ?5, waits_for_link = ?7, lease_owner = NULL,
                            lease_until = NULL, updated_at = ?6 WHERE pk = ?1",
                    )?
                    .execute(params![
                        job,
                        state,
                        attempts,
                        error,
                        retry_at.unwrap_or(0),
                        now,
                        unreachable
                    ])?;
                    event(tx, job, now, what, Some(&error))?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn release_owned(&self, owner_prefix: &str, now: Millis) -> Result<usize, IndexError> {
        let prefix = owner_prefix.to_owned();
        self.write(move |tx| {
            let jobs: Vec<i64> = tx
                .prepare_cached(
                    "SELECT pk FROM forward_jobs WHERE state = 'sending'
                     AND substr(lease_owner, 1, length(?1)) = ?1",
                )?
                .query_map([&prefix], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for &job in &jobs {
                tx.prepare_cached(
                    "UPDATE forward_jobs SET state = 'queued', lease_owner = NULL,
                        lease_until = NULL, updated_at = ?2 WHERE pk = ?1",
                )?
                .execute(params![job, now])?;
                event(tx, job, now, "requeued", Some("its sender restarted"))?;
            }
            Ok(jobs.len())
        })
        .await
    }

    async fn retry(&self, job: i64, now: Millis) -> Result<bool, IndexError> {
        self.write(move |tx| {
            let state: Option<String> = tx
                .query_row("SELECT state FROM forward_jobs WHERE pk = ?1", [job], |r| {
                    r.get(0)
                })
                .optional()?;
            let detail = match state.as_deref() {
                Some("failed" | "cancelled" | "queued") => None,
                Some("delivered") => {
                    tx.execute("DELETE FROM forward_sent WHERE job_pk = ?1", [job])?;
                    Some("everything is sent again")
                }
                _ => return Ok(false),
            };
            tx.execute(
                "UPDATE forward_jobs SET state = 'queued', attempts = 0, retry_at = 0,
                    settle_until = min(settle_until, ?2), last_error = NULL,
                    delivered_at = NULL, updated_at = ?2 WHERE pk = ?1",
                params![job, now],
            )?;
            event(tx, job, now, "retry", detail)?;
            Ok(true)
        })
        .await
    }

    async fn cancel(&self, job: i64, now: Millis) -> Result<bool, IndexError> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE forward_jobs SET state = 'cancelled', lease_owner = NULL,
                    lease_until = NULL, updated_at = ?2
                 WHERE pk = ?1 AND state IN ('queued', 'sending', 'failed')",
                params![job, now],
            )?;
            if n == 1 {
                event(tx, job, now, "cancelled", None)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobView>, IndexError> {
        let filter = filter.clone();
        self.read(move |c| {
            let mut conditions = Vec::new();
            let mut values: Vec<rusqlite::types::Value> = Vec::new();
            if let Some(state) = filter.state {
                values.push(state.as_str().to_owned().into());
                conditions.push(format!("j.state = ?{}", values.len()));
            }
            if let Some(d) = filter.destination {
                values.push(d.into());
                conditions.push(format!("j.destination = ?{}", values.len()));
            }
            if let Some(s) = filter.study_uid {
                values.push(s.into());
                conditions.push(format!("j.study_uid = ?{}", values.len()));
            }
            let condition = if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            };
            let limit = if filter.limit == 0 { 100 } else { filter.limit };
            let sql = format!(
                "SELECT {VIEW_COLUMNS} FROM forward_jobs j
                 LEFT JOIN studies st ON st.study_uid = j.study_uid
                 {condition}
                 ORDER BY j.state = 'sending' DESC, j.updated_at DESC, j.pk DESC
                 LIMIT {limit}"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(values), job_view)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn job(&self, job: i64) -> Result<Option<(JobView, Vec<JobEvent>)>, IndexError> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {VIEW_COLUMNS} FROM forward_jobs j
                 LEFT JOIN studies st ON st.study_uid = j.study_uid WHERE j.pk = ?1"
            );
            let Some(view) = c.query_row(&sql, [job], job_view).optional()? else {
                return Ok(None);
            };
            let mut stmt = c.prepare_cached(
                "SELECT at, event, detail FROM forward_events WHERE job_pk = ?1 ORDER BY at, pk",
            )?;
            let events = stmt
                .query_map([job], |r| {
                    Ok(JobEvent {
                        at: r.get(0)?,
                        event: r.get(1)?,
                        detail: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some((view, events)))
        })
        .await
    }

    async fn counts(&self) -> Result<Vec<(String, JobState, i64)>, IndexError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT destination, state, count(*) FROM forward_jobs
                 GROUP BY destination, state ORDER BY destination, state",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })?;
            let mut counts = Vec::new();
            for row in rows {
                let (destination, state, n) = row?;
                if let Some(state) = JobState::parse(&state) {
                    counts.push((destination, state, n));
                }
            }
            Ok(counts)
        })
        .await
    }

    async fn next_due(&self) -> Result<Option<Millis>, IndexError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT min(due) FROM (
                    SELECT max(settle_until, retry_at) AS due FROM forward_jobs
                        WHERE state = 'queued'
                    UNION ALL
                    SELECT lease_until FROM forward_jobs WHERE state = 'sending')",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }
}
