//! The embedded index backend: SQLite in WAL mode.
//!
//! Writes go through one writer thread that commits whatever inserts are
//! waiting in a single transaction (group commit), each in its own
//! savepoint so that one bad insert does not fail its neighbours. A commit
//! is `synchronous=FULL`: when `insert` returns, the row survives a crash.
//! Reads use a small pool of connections that never block the writer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::oneshot;

use super::connection::open_connection;
use super::schema;
use super::search;
use super::{
    DuplicatePolicy, Index, InsertOutcome, NewInstance, Refreshed, RequestItem, SearchRow,
    StoredInstance, Totals,
};
use crate::error::IndexError;
use crate::query::Query;
use crate::uid::Uid;

/// Most inserts committed in one transaction.
const MAX_GROUP: usize = 256;
const READERS: usize = 4;

/// A write for the writer thread: an instance to index, or any other
/// change (the outbox's), each in its own savepoint of a group commit.
enum Job {
    Insert {
        instance: Box<NewInstance>,
        policy: DuplicatePolicy,
        reply: oneshot::Sender<Result<InsertOutcome, IndexError>>,
    },
    Change(Box<dyn Change>),
}

/// A change run by the writer thread; it sends its own result.
trait Change: Send {
    fn apply(&mut self, tx: &Transaction<'_>) -> Result<(), IndexError>;
    fn reply(self: Box<Self>, result: Result<(), IndexError>);
}

/// A closure as a [`Change`]: its value is kept until the commit decides
/// whether it stands.
struct Closure<T, F> {
    f: Option<F>,
    value: Option<T>,
    reply: oneshot::Sender<Result<T, IndexError>>,
}

impl<T, F> Change for Closure<T, F>
where
    T: Send,
    F: FnOnce(&Transaction<'_>) -> Result<T, IndexError> + Send,
{
    fn apply(&mut self, tx: &Transaction<'_>) -> Result<(), IndexError> {
        let f = self.f.take().ok_or(IndexError::Closed)?;
        self.value = Some(f(tx)?);
        Ok(())
    }

    fn reply(self: Box<Self>, result: Result<(), IndexError>) {
        let Closure { value, reply, .. } = *self;
        let _ = reply.send(result.and_then(|()| value.ok_or(IndexError::Closed)));
    }
}

/// The SQLite index. Cheap to clone.
#[derive(Clone)]
pub struct SqliteIndex {
    writer: mpsc::SyncSender<Job>,
    readers: Arc<ReaderPool>,
    path: PathBuf,
}

struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    path: PathBuf,
}

impl ReaderPool {
    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let conn = self.idle.lock().map_err(|_| IndexError::Closed)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path, true)?,
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < READERS
        {
            idle.push(conn);
        }
        result
    }
}

impl SqliteIndex {
    /// Opens (creating if needed) the index at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<SqliteIndex, IndexError> {
        let path = path.into();
        let mut conn = open_connection(&path, false)?;
        schema::migrate(&mut conn)?;
        let (tx, rx) = mpsc::sync_channel::<Job>(1024);
        std::thread::Builder::new()
            .name("index-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| IndexError::Database(format!("cannot start the index writer: {e}")))?;
        Ok(SqliteIndex {
            writer: tx,
            readers: Arc::new(ReaderPool {
                idle: Mutex::new(Vec::new()),
                path: path.clone(),
            }),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the writer's next group commit; its result stands once
    /// that commit has.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, IndexError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, IndexError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Change(Box::new(Closure {
            f: Some(f),
            value: None,
            reply,
        })))
        .await?;
        rx.await.map_err(|_| IndexError::Closed)?
    }

    async fn submit(&self, job: Job) -> Result<(), IndexError> {
        let writer = self.writer.clone();
        // The channel is bounded: when it is full, wait for room off the
        // async threads.
        match writer.try_send(job) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(job)) => {
                tokio::task::spawn_blocking(move || writer.send(job).map_err(|_| ()))
                    .await
                    .map_err(|_| IndexError::Closed)?
                    .map_err(|_| IndexError::Closed)
            }
            Err(mpsc::TrySendError::Disconnected(_)) => Err(IndexError::Closed),
        }
    }

    pub(super) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| IndexError::Database(format!("index reader failed: {e}")))?
    }
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let results = commit_group(&mut conn, &mut jobs);
        for (job, result) in jobs.into_iter().zip(results) {
            match (job, result) {
                (Job::Insert { reply, .. }, r) => {
                    let _ = reply.send(r);
                }
                (Job::Change(change), r) => change.reply(r.map(|_| ())),
            }
        }
    }
}

/// Commits a group of writes; returns one result per job.
fn commit_group(conn: &mut Connection, jobs: &mut [Job]) -> Vec<Result<InsertOutcome, IndexError>> {
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = IndexError::from(e);
            return jobs.iter().map(|_| Err(e.clone())).collect();
        }
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs.iter_mut() {
        // Jobs run one after another, so one savepoint name serves them all.
        let outcome = (|| -> Result<InsertOutcome, IndexError> {
            tx.prepare_cached("SAVEPOINT job")?.execute([])?;
            let done = match job {
                Job::Insert {
                    instance, policy, ..
                } => insert_one(&tx, instance, *policy),
                // A change's own value travels with it; the outcome is unused.
                Job::Change(change) => change.apply(&tx).map(|()| InsertOutcome::Duplicate),
            };
            match done {
                Ok(o) => {
                    tx.prepare_cached("RELEASE job")?.execute([])?;
                    Ok(o)
                }
                Err(e) => {
                    tx.prepare_cached("ROLLBACK TO job")?.execute([])?;
                    tx.prepare_cached("RELEASE job")?.execute([])?;
                    Err(e)
                }
            }
        })();
        results.push(outcome);
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => {
            let e = IndexError::from(e);
            jobs.iter().map(|_| Err(e.clone())).collect()
        }
    }
}

/// The form person names are matched in: see [`person_name_key`].
pub(super) fn name_key(name: &str) -> String {
    crate::query::person_name_key(name)
}

/// Whose name's component groups a table holds.
#[derive(Debug, Clone, Copy)]
pub(super) enum NameGroups {
    Patient,
    Referrer,
}

impl NameGroups {
    fn table(self) -> &'static str {
        match self {
            NameGroups::Patient => "study_name_groups",
            NameGroups::Referrer => "study_referrer_groups",
        }
    }
}

/// Indexes each component group of a name of study `study_pk` (one with
/// several: `Ivanov^Ivan=Иванов^Иван`) on its own, for searches by any of
/// them; the whole name's key alone would find only a prefix of the
/// first.
pub(super) fn index_name_groups(
    tx: &Transaction<'_>,
    whose: NameGroups,
    study_pk: i64,
    name: &str,
) -> Result<(), IndexError> {
    let insert = format!(
        "INSERT INTO {} (study_pk, key) VALUES (?1, ?2)",
        whose.table()
    );
    for group in name.split('=').map(name_key).filter(|g| !g.is_empty()) {
        tx.prepare_cached(&insert)?
            .execute(params![study_pk, group])?;
    }
    Ok(())
}

/// Makes `requests` the series' Request Attributes Sequence items, as
/// searches match them.
pub(super) fn set_series_requests(
    tx: &Transaction<'_>,
    series_pk: i64,
    requests: &[RequestItem],
) -> Result<(), IndexError> {
    tx.prepare_cached("DELETE FROM series_requests WHERE series_pk = ?1")?
        .execute([series_pk])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO series_requests (series_pk, requested_procedure_id, scheduled_step_id)
         VALUES (?1, ?2, ?3)",
    )?;
    for r in requests {
        insert.execute(params![
            series_pk,
            r.requested_procedure_id,
            r.scheduled_procedure_step_id
        ])?;
    }
    Ok(())
}

/// Sets study `study_pk`'s patient and study attributes and the search
/// keys made of them.
pub(super) fn set_study_fields(
    tx: &Transaction<'_>,
    study_pk: i64,
    s: &super::StudyFields,
) -> Result<(), IndexError> {
    tx.prepare_cached(
        "UPDATE studies SET patient_id = ?2, patient_name = ?3, patient_name_key = ?4,
            patient_birth_date = ?5, patient_sex = ?6, study_date = ?7, study_time = ?8,
            accession_number = ?9, study_id = ?10, study_description = ?11,
            referring_physician_name = ?12, referring_physician_key = ?13,
            updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE pk = ?1",
    )?
    .execute(params![
        study_pk,
        s.patient_id,
        s.patient_name,
        s.patient_name.as_deref().map(name_key),
        s.patient_birth_date,
        s.patient_sex,
        s.study_date,
        s.study_time,
        s.accession_number,
        s.study_id,
        s.study_description,
        s.referring_physician_name,
        s.referring_physician_name.as_deref().map(name_key),
    ])?;
    for (whose, name) in [
        (NameGroups::Patient, &s.patient_name),
        (NameGroups::Referrer, &s.referring_physician_name),
    ] {
        tx.prepare_cached(&format!(
            "DELETE FROM {} WHERE study_pk = ?1",
            whose.table()
        ))?
        .execute([study_pk])?;
        if let Some(name) = name.as_deref().filter(|n| n.contains('=')) {
            index_name_groups(tx, whose, study_pk, name)?;
        }
    }
    Ok(())
}

fn insert_one(
    tx: &Transaction<'_>,
    n: &NewInstance,
    policy: DuplicatePolicy,
) -> Result<InsertOutcome, IndexError> {
    if let Some(site) = &n.site
        && !super::reading::may_add_to(tx, &n.study.study_uid, site)?
    {
        return Ok(InsertOutcome::OtherSite);
    }
    // Checked before anything is written: a series is one study's.
    let owner: Option<String> = tx
        .prepare_cached(
            "SELECT st.study_uid FROM series se JOIN studies st ON st.pk = se.study_pk
             WHERE se.series_uid = ?1",
        )?
        .query_row([&n.series.series_uid], |r| r.get(0))
        .optional()?;
    if let Some(study_uid) = owner.filter(|s| *s != n.study.study_uid) {
        return Ok(InsertOutcome::SeriesOfAnotherStudy { study_uid });
    }
    let existing: Option<(i64, String, String, i64)> = tx
        .query_row(
            "SELECT pk, sha256, object_key, series_pk FROM instances WHERE sop_uid = ?1",
            [&n.sop_instance_uid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let mut replaced = None;
    if let Some((pk, sha, key, series_pk)) = existing {
        if sha == n.sha256 {
            return Ok(InsertOutcome::Duplicate);
        }
        match policy {
            DuplicatePolicy::KeepFirst => return Ok(InsertOutcome::Conflict),
            // A site never replaces what is in another site's study.
            DuplicatePolicy::Replace
                if n.site.as_deref().is_some_and(|site| {
                    !super::reading::series_belongs_to(tx, series_pk, site).unwrap_or(false)
                }) =>
            {
                return Ok(InsertOutcome::Conflict);
            }
            DuplicatePolicy::Replace => {
                tx.prepare_cached("DELETE FROM instances WHERE pk = ?1")?
                    .execute([pk])?;
                decrement_counts(tx, series_pk)?;
                replaced = Some(key);
            }
        }
    }

    let s = &n.study;
    let study_pk: i64 = match tx
        .query_row(
            "SELECT pk FROM studies WHERE study_uid = ?1",
            [&s.study_uid],
            |r| r.get(0),
        )
        .optional()?
    {
        Some(pk) => pk,
        None => {
            tx.prepare_cached("INSERT INTO studies (study_uid) VALUES (?1)")?
                .execute([&s.study_uid])?;
            let pk = tx.last_insert_rowid();
            set_study_fields(tx, pk, s)?;
            pk
        }
    };

    let se = &n.series;
    let series_pk: i64 = match tx
        .query_row(
            "SELECT pk, study_pk FROM series WHERE series_uid = ?1",
            [&se.series_uid],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?
    {
        Some((pk, owner)) if owner == study_pk => pk,
        // Refused above, before anything was written.
        Some(_) => {
            return Err(IndexError::Corrupt(format!(
                "series {} already belongs to another study",
                se.series_uid
            )));
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO series (study_pk, series_uid, modality, series_number,
                    series_description, body_part_examined, pps_start_date, pps_start_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                study_pk,
                se.series_uid,
                se.modality,
                se.series_number,
                se.series_description,
                se.body_part_examined,
                se.performed_procedure_step_start_date,
                se.performed_procedure_step_start_time,
            ])?;
            let pk = tx.last_insert_rowid();
            set_series_requests(tx, pk, &se.requests)?;
            tx.prepare_cached("UPDATE studies SET num_series = num_series + 1 WHERE pk = ?1")?
                .execute([study_pk])?;
            if let Some(m) = &se.modality {
                add_modality(tx, study_pk, m)?;
            }
            pk
        }
    };

    let pixel = serde_json::to_string(&n.pixel)
        .map_err(|e| IndexError::Database(format!("cannot encode the pixel layout: {e}")))?;
    let image =
        match &n.image {
            Some(i) => Some(serde_json::to_string(i).map_err(|e| {
                IndexError::Database(format!("cannot encode image attributes: {e}"))
            })?),
            None => None,
        };
    tx.prepare_cached(
        "INSERT INTO instances (series_pk, sop_uid, sop_class_uid, instance_number,
            transfer_syntax_uid, number_of_frames, rows, columns, object_key, size, sha256,
            pixel, image, metadata, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        series_pk,
        n.sop_instance_uid,
        n.sop_class_uid,
        n.instance_number,
        n.transfer_syntax_uid,
        n.image.as_ref().map(|i| i.number_of_frames),
        n.image.as_ref().map(|i| i.rows),
        n.image.as_ref().map(|i| i.columns),
        n.object_key,
        n.size as i64,
        n.sha256,
        pixel,
        image,
        n.metadata,
        n.source,
    ])?;
    tx.prepare_cached("UPDATE series SET num_instances = num_instances + 1 WHERE pk = ?1")?
        .execute([series_pk])?;
    tx.prepare_cached(
        "UPDATE studies SET num_instances = num_instances + 1,
            updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE pk = ?1",
    )?
    .execute([study_pk])?;
    let now = crate::forward::now_millis();
    super::outbox::enqueue(tx, &s.study_uid, &n.forward, now)?;
    let arrived = n.received_at.map_or(now, |t| t.min(now));
    super::reading::on_instance(tx, &s.study_uid, n.site.as_deref(), &n.source, arrived, now)?;
    // A study that grows is no longer the whole its sender declared.
    tx.prepare_cached("DELETE FROM study_completions WHERE study_uid = ?1")?
        .execute([&s.study_uid])?;
    Ok(match replaced {
        Some(old_object_key) => InsertOutcome::Replaced { old_object_key },
        None => InsertOutcome::Inserted,
    })
}

fn decrement_counts(tx: &Transaction<'_>, series_pk: i64) -> Result<(), IndexError> {
    tx.prepare_cached("UPDATE series SET num_instances = num_instances - 1 WHERE pk = ?1")?
        .execute([series_pk])?;
    tx.prepare_cached(
        "UPDATE studies SET num_instances = num_instances - 1
         WHERE pk = (SELECT study_pk FROM series WHERE pk = ?1)",
    )?
    .execute([series_pk])?;
    Ok(())
}

/// Keeps `studies.modalities` as a sorted, backslash-separated set.
fn add_modality(tx: &Transaction<'_>, study_pk: i64, modality: &str) -> Result<(), IndexError> {
    let current: String = tx
        .prepare_cached("SELECT modalities FROM studies WHERE pk = ?1")?
        .query_row([study_pk], |r| r.get(0))?;
    let mut set: Vec<&str> = current.split('\\').filter(|m| !m.is_empty()).collect();
    if !set.contains(&modality) {
        set.push(modality);
        set.sort_unstable();
        tx.prepare_cached("UPDATE studies SET modalities = ?1 WHERE pk = ?2")?
            .execute(params![set.join("\\"), study_pk])?;
    }
    Ok(())
}

pub(super) const INSTANCE_COLUMNS: &str = "st.study_uid, se.series_uid, i.sop_uid, i.sop_class_uid,
    i.instance_number, i.transfer_syntax_uid, i.object_key, i.size, i.sha256, i.pixel, i.image";

pub(super) fn stored_instance(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredInstance> {
    let pixel: String = r.get(9)?;
    let image: Option<String> = r.get(10)?;
    let bad = |i: usize, e: serde_json::Error| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    };
    Ok(StoredInstance {
        study_uid: r.get(0)?,
        series_uid: r.get(1)?,
        sop_instance_uid: r.get(2)?,
        sop_class_uid: r.get(3)?,
        instance_number: r.get(4)?,
        transfer_syntax_uid: r.get(5)?,
        object_key: r.get(6)?,
        size: r.get::<_, i64>(7)? as u64,
        sha256: r.get(8)?,
        pixel: serde_json::from_str(&pixel).map_err(|e| bad(9, e))?,
        image: match image {
            Some(s) => Some(serde_json::from_str(&s).map_err(|e| bad(10, e))?),
            None => None,
        },
    })
}

/// `WHERE` clause and parameters selecting a study, series or instance scope.
fn scope(study: &Uid, series: Option<&Uid>, sop: Option<&Uid>) -> (String, Vec<String>) {
    let mut sql = String::from("st.study_uid = ?1");
    let mut params = vec![study.as_str().to_owned()];
    if let Some(s) = series {
        params.push(s.as_str().to_owned());
        sql.push_str(&format!(" AND se.series_uid = ?{}", params.len()));
    }
    if let Some(s) = sop {
        params.push(s.as_str().to_owned());
        sql.push_str(&format!(" AND i.sop_uid = ?{}", params.len()));
    }
    (sql, params)
}

pub(super) const SCOPE_JOIN: &str = "instances i JOIN series se ON se.pk = i.series_pk
    JOIN studies st ON st.pk = se.study_pk";
pub(super) const SCOPE_ORDER: &str = "ORDER BY se.series_number IS NULL, se.series_number, se.pk, i.instance_number IS NULL, i.instance_number, i.pk";

#[async_trait]
impl Index for SqliteIndex {
    async fn find_instance(&self, sop_uid: &str) -> Result<Option<StoredInstance>, IndexError> {
        let sop = sop_uid.to_owned();
        self.read(move |c| {
            let sql = format!("SELECT {INSTANCE_COLUMNS} FROM {SCOPE_JOIN} WHERE i.sop_uid = ?1");
            Ok(c.prepare_cached(&sql)?
                .query_row([sop], stored_instance)
                .optional()?)
        })
        .await
    }

    async fn site_may_add_to(&self, study_uid: &str, site: &str) -> Result<bool, IndexError> {
        let (study, site) = (study_uid.to_owned(), site.to_owned());
        self.read(move |c| super::reading::may_add_to(c, &study, &site))
            .await
    }

    async fn insert(
        &self,
        instance: NewInstance,
        policy: DuplicatePolicy,
    ) -> Result<InsertOutcome, IndexError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Insert {
            instance: Box::new(instance),
            policy,
            reply,
        })
        .await?;
        rx.await.map_err(|_| IndexError::Closed)?
    }

    async fn refresh(
        &self,
        instance: NewInstance,
        apply: bool,
    ) -> Result<Option<Refreshed>, IndexError> {
        if apply {
            self.write(move |tx| super::refresh::refresh(tx, &instance, true))
                .await
        } else {
            self.read(move |conn| {
                let tx = rusqlite::Transaction::new_unchecked(
                    conn,
                    rusqlite::TransactionBehavior::Deferred,
                )?;
                super::refresh::refresh(&tx, &instance, false)
            })
            .await
        }
    }

    async fn relocate(&self, old_key: &str, instance: NewInstance) -> Result<bool, IndexError> {
        let old_key = old_key.to_owned();
        self.write(move |tx| super::refresh::relocate(tx, &old_key, &instance))
            .await
    }

    async fn instances(
        &self,
        study: &Uid,
        series: Option<&Uid>,
        sop: Option<&Uid>,
    ) -> Result<Vec<StoredInstance>, IndexError> {
        let (cond, params) = scope(study, series, sop);
        self.read(move |c| {
            let sql =
                format!("SELECT {INSTANCE_COLUMNS} FROM {SCOPE_JOIN} WHERE {cond} {SCOPE_ORDER}");
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(params), stored_instance)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn metadata(
        &self,
        study: &Uid,
        series: Option<&Uid>,
        sop: Option<&Uid>,
    ) -> Result<Vec<Vec<u8>>, IndexError> {
        let (cond, params) = scope(study, series, sop);
        self.read(move |c| {
            let sql = format!("SELECT i.metadata FROM {SCOPE_JOIN} WHERE {cond} {SCOPE_ORDER}");
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<Vec<u8>>, _>>()?)
        })
        .await
    }

    async fn search(&self, query: &Query) -> Result<Vec<SearchRow>, IndexError> {
        let query = query.clone();
        self.read(move |c| search::run(c, &query)).await
    }

    async fn mark_complete(
        &self,
        study_uid: &str,
        instances: i64,
        declared_by: &str,
        at: i64,
    ) -> Result<(), IndexError> {
        let (study, by) = (study_uid.to_owned(), declared_by.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO study_completions (study_uid, instances, completed_at, declared_by)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (study_uid) DO UPDATE SET instances = excluded.instances,
                    completed_at = excluded.completed_at, declared_by = excluded.declared_by",
                params![study, instances, at, by],
            )?;
            Ok(())
        })
        .await
    }

    async fn record_sent_as(&self, sop_uid: &str, sent_sha256: &str) -> Result<(), IndexError> {
        let (sop, sha) = (sop_uid.to_owned(), sent_sha256.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO peer_received (sop_uid, sent_sha256) VALUES (?1, ?2)
                 ON CONFLICT (sop_uid) DO UPDATE SET sent_sha256 = excluded.sent_sha256",
                params![sop, sha],
            )?;
            Ok(())
        })
        .await
    }

    async fn holds(&self, sop_uid: &str, sha256: &str) -> Result<bool, IndexError> {
        let (sop, sha) = (sop_uid.to_owned(), sha256.to_owned());
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM instances i WHERE i.sop_uid = ?1 AND (i.sha256 = ?2
                    OR EXISTS (SELECT 1 FROM peer_received p
                               WHERE p.sop_uid = ?1 AND p.sent_sha256 = ?2)))",
            )?
            .query_row(params![sop, sha], |r| r.get(0))?)
        })
        .await
    }

    async fn completion(&self, study_uid: &str) -> Result<Option<(i64, i64)>, IndexError> {
        let study = study_uid.to_owned();
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT instances, completed_at FROM study_completions WHERE study_uid = ?1",
            )?
            .query_row([study], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
        .await
    }

    async fn totals(&self) -> Result<Totals, IndexError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT count(*) FROM studies), (SELECT count(*) FROM series),
                        (SELECT count(*) FROM instances)",
                [],
                |r| {
                    Ok(Totals {
                        studies: r.get(0)?,
                        series: r.get(1)?,
                        instances: r.get(2)?,
                    })
                },
            )?)
        })
        .await
    }
}
