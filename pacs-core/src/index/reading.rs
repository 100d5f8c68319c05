//! Reading tasks and reports in SQLite: the worklist query, lease locks
//! taken through the one writer (so two radiologists can never both win
//! a claim), drafts, signed versions and what travels with them.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

use crate::error::IndexError;
use crate::forward::{Millis, Priority};
use crate::workflow::{
    Addendum, Critical, Draft, KeyImageRef, LockError, ReadingLock, ReadingStatus, ReportRecord,
    Sections, SignedVersion, StudyScope, Task, TaskFilter, VersionBody,
};

/// The SQL condition limiting studies (aliased `st`) to `scope`, with its
/// parameters appended to `params`; `None` for every study.
pub(super) fn scope_condition(
    c: &Connection,
    scope: &StudyScope,
    params: &mut Vec<Value>,
) -> Result<Option<String>, IndexError> {
    let mut ph = |v: &str| {
        params.push(Value::Text(v.to_owned()));
        format!("?{}", params.len())
    };
    Ok(match scope {
        StudyScope::All => None,
        StudyScope::Sites(sites) if sites.is_empty() => Some("0".into()),
        StudyScope::Sites(sites) => {
            let list: Vec<String> = sites.iter().map(|s| ph(s)).collect();
            Some(format!(
                "EXISTS (SELECT 1 FROM study_sites ss WHERE ss.study_uid = st.study_uid AND ss.site IN ({}))",
                list.join(", ")
            ))
        }
        StudyScope::Referrer {
            username,
            physician_key,
        } => {
            let key = physician_key.as_deref().filter(|k| !k.is_empty());
            Some(referrer_condition(c, username, key, params)?)
        }
        StudyScope::Study(uid) => Some(format!("st.study_uid = {}", ph(uid))),
    })
}

/// Studies counted for a referring physician before the count stops:
/// below it they referred few, at or above it many.
pub(super) const FEW_REFERRED: i64 = 500;

/// The studies a referring physician sees: those naming them as the
/// Referring Physician (by `key`, the upper-case name; the study's name
/// may carry ideographic or phonetic groups after the alphabetic one the
/// account names), and those shared with `username` by an account still
/// enabled.
///
/// A doctor who referred many is checked study by study while the newest
/// are walked; one who referred few has their studies found from the
/// referrer index. Walking would read every study of the archive for a
/// doctor with a handful (0.25 to 0.6 s over 100 000 studies), and the
/// index would list every study of one with thousands, so which way is
/// decided by a bounded count.
fn referrer_condition(
    c: &Connection,
    username: &str,
    key: Option<&str>,
    params: &mut Vec<Value>,
) -> Result<String, IndexError> {
    let mut ph = |v: String| {
        params.push(Value::Text(v));
        format!("?{}", params.len())
    };
    let many = match key {
        Some(key) => {
            let referred: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM (SELECT 1 FROM studies
                     WHERE referring_physician_key = ?1
                        OR (referring_physician_key >= ?2 AND referring_physician_key < ?3)
                     LIMIT ?4)",
                )?
                .query_row(
                    params![
                        key,
                        format!("{key}="),
                        format!("{key}=\u{10FFFF}"),
                        FEW_REFERRED
                    ],
                    |r| r.get(0),
                )?;
            referred >= FEW_REFERRED
        }
        None => false,
    };
    let user = ph(username.to_owned());
    // The name itself, then the range of names with further groups.
    let names = key.map(|key| {
        let exact = ph(key.to_owned());
        (
            exact,
            ph(format!("{key}=")),
            ph(format!("{key}=\u{10FFFF}")),
        )
    });
    Ok(match names {
        Some((exact, from, to)) if many => format!(
            "(st.referring_physician_key = {exact}
              OR (st.referring_physician_key >= {from} AND st.referring_physician_key < {to})
              OR EXISTS (SELECT 1 FROM study_shares sh JOIN accounts sa ON sa.username = sh.shared_by
                         WHERE sh.study_uid = st.study_uid AND sh.username = {user}
                           AND sa.disabled = 0))"
        ),
        names => {
            let referred = names
                .map(|(exact, from, to)| {
                    format!(
                        "SELECT r.pk FROM studies r WHERE r.referring_physician_key = {exact}
                         UNION ALL
                         SELECT r.pk FROM studies r
                         WHERE r.referring_physician_key >= {from} AND r.referring_physician_key < {to}
                         UNION ALL "
                    )
                })
                .unwrap_or_default();
            format!(
                "st.pk IN ({referred}SELECT r.pk FROM study_shares sh
                     JOIN accounts sa ON sa.username = sh.shared_by
                     JOIN studies r ON r.study_uid = sh.study_uid
                     WHERE sh.username = {user} AND sa.disabled = 0)"
            )
        }
    })
}

/// Whether `site` may add an instance to `study_uid`: a new study, or one
/// the site already sent.
pub(super) fn may_add_to(
    c: &rusqlite::Connection,
    study_uid: &str,
    site: &str,
) -> Result<bool, IndexError> {
    let belongs: Option<bool> = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM study_sites ss WHERE ss.study_uid = ?1 AND ss.site = ?2)
             FROM studies WHERE study_uid = ?1",
        )?
        .query_row(params![study_uid, site], |r| r.get(0))
        .optional()?;
    Ok(belongs.unwrap_or(true))
}

/// Whether the study holding series `series_pk` is `site`'s.
pub(super) fn series_belongs_to(
    tx: &Transaction<'_>,
    series_pk: i64,
    site: &str,
) -> Result<bool, IndexError> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM series se JOIN studies st ON st.pk = se.study_pk
                JOIN study_sites ss ON ss.study_uid = st.study_uid
             WHERE se.pk = ?1 AND ss.site = ?2)",
        )?
        .query_row(params![series_pk, site], |r| r.get(0))?)
}

/// Records a newly indexed instance against its study's reading task,
/// inside the insert transaction: the first instance makes the task (at
/// the sending site's priority); a later one on a reported study flags it.
/// The task is as old as the earliest instance `arrived` (before `now`
/// only for an object indexed where it lies).
pub(super) fn on_instance(
    tx: &Transaction<'_>,
    study_uid: &str,
    site: Option<&str>,
    source: &str,
    arrived: Millis,
    now: Millis,
) -> Result<(), IndexError> {
    if let Some(site) = site {
        tx.prepare_cached("INSERT OR IGNORE INTO study_sites (study_uid, site) VALUES (?1, ?2)")?
            .execute(params![study_uid, site])?;
    }
    // The archive's own report objects do not make the study new again.
    if source.starts_with("report:") {
        return Ok(());
    }
    let priority: i64 = match site {
        Some(site) => tx
            .prepare_cached("SELECT priority FROM sites WHERE name = ?1")?
            .query_row([site], |r| r.get(0))
            .optional()?
            .unwrap_or(Priority::Routine.rank()),
        None => Priority::Routine.rank(),
    };
    tx.prepare_cached(
        "INSERT INTO reading_tasks (study_uid, site, priority, status, received_at, updated_at)
         VALUES (?1, ?2, ?3, 'scheduled', ?4, ?5)
         ON CONFLICT (study_uid) DO UPDATE SET
            new_images = CASE WHEN status IN ('preliminary', 'final', 'amended') THEN 1 ELSE new_images END,
            site = coalesce(site, excluded.site),
            received_at = min(received_at, excluded.received_at),
            updated_at = excluded.updated_at",
    )?
    .execute(params![study_uid, site, priority, arrived, now])?;
    Ok(())
}

const TASK_COLUMNS: &str = "st.study_uid, st.patient_name, st.patient_id, st.accession_number,
    st.study_date, st.study_time, st.study_description, st.referring_physician_name,
    st.modalities, st.num_instances, t.site, t.priority, t.status, t.received_at, t.assigned_to,
    t.lock_holder, t.lock_until, coalesce(a.display_name, t.lock_holder), t.new_images,
    EXISTS (SELECT 1 FROM critical_findings c WHERE c.study_uid = st.study_uid AND c.acknowledged_at IS NULL),
    st.patient_birth_date, st.patient_sex";

const TASK_FROM: &str = "reading_tasks t JOIN studies st ON st.study_uid = t.study_uid
    LEFT JOIN accounts a ON a.username = t.lock_holder";

fn task_row(r: &rusqlite::Row<'_>, now: Millis) -> rusqlite::Result<Task> {
    let modalities: String = r.get(8)?;
    let lock_holder: Option<String> = r.get(15)?;
    let lock_until: Option<Millis> = r.get(16)?;
    let lock = match (lock_holder, lock_until) {
        (Some(holder), Some(until)) if until > now => Some(ReadingLock {
            holder,
            holder_name: r.get(17)?,
            until,
        }),
        _ => None,
    };
    let status: String = r.get(12)?;
    Ok(Task {
        study_uid: r.get(0)?,
        patient_name: r.get(1)?,
        patient_id: r.get(2)?,
        accession_number: r.get(3)?,
        study_date: r.get(4)?,
        study_time: r.get(5)?,
        study_description: r.get(6)?,
        referring_physician_name: r.get(7)?,
        modalities: modalities
            .split('\\')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
        num_instances: r.get(9)?,
        site: r.get(10)?,
        priority: Priority::from_rank(r.get(11)?),
        status: ReadingStatus::parse(&status).unwrap_or(ReadingStatus::Scheduled),
        received_at: r.get(13)?,
        assigned_to: r.get(14)?,
        lock,
        new_images: r.get::<_, i64>(18)? != 0,
        critical_open: r.get(19)?,
        patient_birth_date: r.get(20)?,
        patient_sex: r.get(21)?,
    })
}

pub(super) fn tasks(
    c: &Connection,
    scope: &StudyScope,
    f: &TaskFilter,
    now: Millis,
) -> Result<(u64, Vec<Task>), IndexError> {
    let mut params: Vec<Value> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    if let Some(cond) = scope_condition(c, scope, &mut params)? {
        conds.push(cond);
    }
    let ph = |params: &mut Vec<Value>, v: Value| {
        params.push(v);
        format!("?{}", params.len())
    };
    match &f.statuses {
        // To be read: not signed, or signed and sent new images since.
        None => conds.push("(t.status NOT IN ('final', 'amended') OR t.new_images = 1)".into()),
        Some(list) if list.is_empty() => {}
        Some(list) => {
            let phs: Vec<String> = list
                .iter()
                .map(|s| ph(&mut params, Value::Text(s.as_str().into())))
                .collect();
            conds.push(format!("t.status IN ({})", phs.join(", ")));
        }
    }
    if let Some(site) = &f.site {
        let p = ph(&mut params, Value::Text(site.clone()));
        conds.push(format!(
            "EXISTS (SELECT 1 FROM study_sites ss WHERE ss.study_uid = st.study_uid AND ss.site = {p})"
        ));
    }
    if let Some(modality) = &f.modality {
        let p = ph(&mut params, Value::Text(modality.clone()));
        conds.push(format!(
            "EXISTS (SELECT 1 FROM series ms WHERE ms.study_pk = st.pk AND ms.modality = {p})"
        ));
    }
    if let Some(user) = &f.mine {
        let p = ph(&mut params, Value::Text(user.clone()));
        let n = ph(&mut params, Value::Integer(now));
        conds.push(format!(
            "(t.assigned_to = {p} OR (t.lock_holder = {p} AND t.lock_until > {n}))"
        ));
    }
    let where_sql = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let total: i64 = c.query_row(
        &format!("SELECT count(*) FROM {TASK_FROM} {where_sql}"),
        params_from_iter(params.iter()),
        |r| r.get(0),
    )?;
    let order = if f.newest_first {
        "ORDER BY t.received_at DESC, st.pk DESC"
    } else {
        "ORDER BY t.priority, t.received_at, st.pk"
    };
    let limit = ph(&mut params, Value::Integer(f.limit.max(1) as i64));
    let offset = ph(
        &mut params,
        Value::Integer(i64::try_from(f.offset).unwrap_or(i64::MAX)),
    );
    let mut stmt = c.prepare(&format!(
        "SELECT {TASK_COLUMNS} FROM {TASK_FROM} {where_sql} {order} LIMIT {limit} OFFSET {offset}"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| task_row(r, now))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total as u64, rows))
}

pub(super) fn task(
    c: &Connection,
    study_uid: &str,
    now: Millis,
) -> Result<Option<Task>, IndexError> {
    Ok(c.prepare_cached(&format!(
        "SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.study_uid = ?1"
    ))?
    .query_row([study_uid], |r| task_row(r, now))
    .optional()?)
}

/// The task's lock holder and status, for the checks writes make.
fn lock_state(
    tx: &Transaction<'_>,
    study_uid: &str,
    now: Millis,
) -> Result<Option<(Option<String>, ReadingStatus)>, IndexError> {
    let row: Option<(Option<String>, Option<Millis>, String)> = tx
        .prepare_cached(
            "SELECT lock_holder, lock_until, status FROM reading_tasks WHERE study_uid = ?1",
        )?
        .query_row([study_uid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.map(|(holder, until, status)| {
        let live = holder.filter(|_| until.is_some_and(|u| u > now));
        (
            live,
            ReadingStatus::parse(&status).unwrap_or(ReadingStatus::Scheduled),
        )
    }))
}

pub(super) fn claim(
    tx: &Transaction<'_>,
    study_uid: &str,
    user: &str,
    now: Millis,
    until: Millis,
) -> Result<Result<(), LockError>, IndexError> {
    let Some((holder, status)) = lock_state(tx, study_uid, now)? else {
        return Ok(Err(LockError::NoStudy));
    };
    // A signed report is not read again: it takes addenda, which need no
    // lock, and a lock would only keep colleagues' addenda out.
    if status.is_signed() {
        return Ok(Err(LockError::Signed));
    }
    if let Some(holder) = holder.filter(|h| h != user) {
        let holder_name: String = tx
            .prepare_cached("SELECT display_name FROM accounts WHERE username = ?1")?
            .query_row([&holder], |r| r.get(0))
            .optional()?
            .unwrap_or_else(|| holder.clone());
        return Ok(Err(LockError::HeldBy {
            holder,
            holder_name,
        }));
    }
    tx.prepare_cached(
        "UPDATE reading_tasks SET lock_holder = ?2, lock_until = ?3, updated_at = ?4,
            lock_active_at = ?4,
            status = CASE status WHEN 'scheduled' THEN 'in_progress' ELSE status END
         WHERE study_uid = ?1",
    )?
    .execute(params![study_uid, user, until, now])?;
    Ok(Ok(()))
}

/// A renewal: the lease's new end, when the renewing page was last used,
/// and how long the holder's pages may all go unused.
#[derive(Debug, Clone, Copy)]
pub(super) struct Renewal {
    pub until: Millis,
    pub used: Millis,
    pub idle_limit: Option<Millis>,
}

pub(super) fn renew(
    tx: &Transaction<'_>,
    study_uid: &str,
    user: &str,
    now: Millis,
    renewal: Renewal,
) -> Result<Result<(), LockError>, IndexError> {
    let Some((holder, _)) = lock_state(tx, study_uid, now)? else {
        return Ok(Err(LockError::NoStudy));
    };
    if holder.as_deref() != Some(user) {
        return Ok(Err(LockError::NotHeld));
    }
    // The latest use of any of the holder's pages: one page left open
    // does not give the study away from under the reader at another.
    let active_at: Millis = tx
        .prepare_cached(
            "UPDATE reading_tasks SET lock_active_at = max(coalesce(lock_active_at, 0), ?2)
             WHERE study_uid = ?1 RETURNING lock_active_at",
        )?
        .query_row(params![study_uid, renewal.used.min(now)], |r| r.get(0))?;
    if let Some(limit) = renewal.idle_limit
        && now.saturating_sub(active_at) >= limit
    {
        release(tx, study_uid, Some(user), now)?;
        let minutes = u64::try_from(now.saturating_sub(active_at) / 60_000).unwrap_or(0);
        return Ok(Err(LockError::Idle { minutes }));
    }
    tx.prepare_cached(
        "UPDATE reading_tasks SET lock_until = ?2, updated_at = ?3 WHERE study_uid = ?1",
    )?
    .execute(params![study_uid, renewal.until, now])?;
    Ok(Ok(()))
}

pub(super) fn release(
    tx: &Transaction<'_>,
    study_uid: &str,
    user: Option<&str>,
    now: Millis,
) -> Result<(), IndexError> {
    tx.prepare_cached(
        "UPDATE reading_tasks SET lock_holder = NULL, lock_until = NULL, updated_at = ?3,
            status = CASE WHEN status = 'in_progress'
                AND NOT EXISTS (SELECT 1 FROM report_drafts d WHERE d.study_uid = ?1)
                THEN 'scheduled' ELSE status END
         WHERE study_uid = ?1 AND (?2 IS NULL OR lock_holder = ?2)",
    )?
    .execute(params![study_uid, user, now])?;
    Ok(())
}

/// Refuses unless `user` holds the live lock and the report is unsigned.
pub(super) fn require_lock(
    tx: &Transaction<'_>,
    study_uid: &str,
    user: &str,
    now: Millis,
) -> Result<Result<(), LockError>, IndexError> {
    match lock_state(tx, study_uid, now)? {
        None => Ok(Err(LockError::NoStudy)),
        Some((_, status)) if status.is_signed() => Ok(Err(LockError::Signed)),
        Some((Some(holder), _)) if holder == user => Ok(Ok(())),
        Some(_) => Ok(Err(LockError::NotHeld)),
    }
}

/// A draft, or an issued preliminary, from (template, language, sections,
/// author, time).
fn draft_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Draft> {
    Ok(Draft {
        template: r.get(0)?,
        language: r.get(1)?,
        sections: decode_sections(&r.get::<_, String>(2)?),
        author: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

fn encode_sections(s: &Sections) -> Result<String, IndexError> {
    serde_json::to_string(s)
        .map_err(|e| IndexError::Database(format!("cannot encode report sections: {e}")))
}

fn decode_sections(s: &str) -> Sections {
    serde_json::from_str(s).unwrap_or_default()
}

pub(super) fn save_draft(
    tx: &Transaction<'_>,
    study_uid: &str,
    d: &Draft,
    now: Millis,
) -> Result<Result<(), LockError>, IndexError> {
    if let Err(e) = require_lock(tx, study_uid, &d.author, now)? {
        return Ok(Err(e));
    }
    tx.prepare_cached(
        "INSERT INTO report_drafts (study_uid, author, template, language, sections, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (study_uid) DO UPDATE SET author = excluded.author,
            template = excluded.template, language = excluded.language,
            sections = excluded.sections, updated_at = excluded.updated_at",
    )?
    .execute(params![
        study_uid,
        d.author,
        d.template,
        d.language,
        encode_sections(&d.sections)?,
        now
    ])?;
    Ok(Ok(()))
}

pub(super) fn mark_preliminary(
    tx: &Transaction<'_>,
    study_uid: &str,
    user: &str,
    now: Millis,
) -> Result<Result<(), LockError>, IndexError> {
    if let Err(e) = require_lock(tx, study_uid, user, now)? {
        return Ok(Err(e));
    }
    // The text as issued is kept apart from the draft, which goes on
    // changing as the radiologist types.
    let issued = tx
        .prepare_cached(
            "INSERT INTO report_preliminaries
                (study_uid, issued_at, issued_by, template, language, sections)
             SELECT study_uid, ?2, ?3, template, language, sections
             FROM report_drafts WHERE study_uid = ?1
             ON CONFLICT (study_uid, issued_at) DO NOTHING",
        )?
        .execute(params![study_uid, now, user])?;
    let drafted: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM report_drafts WHERE study_uid = ?1)")?
        .query_row([study_uid], |r| r.get(0))?;
    if issued == 0 && !drafted {
        return Ok(Err(LockError::NoDraft));
    }
    tx.prepare_cached(
        "UPDATE reading_tasks SET status = 'preliminary', updated_at = ?2 WHERE study_uid = ?1",
    )?
    .execute(params![study_uid, now])?;
    Ok(Ok(()))
}

fn next_version(tx: &Transaction<'_>, study_uid: &str) -> Result<u32, IndexError> {
    let last: Option<i64> = tx
        .prepare_cached("SELECT max(version) FROM report_versions WHERE study_uid = ?1")?
        .query_row([study_uid], |r| r.get(0))?;
    Ok(last.unwrap_or(0) as u32 + 1)
}

pub(super) fn sign(
    tx: &Transaction<'_>,
    study_uid: &str,
    user: &str,
    now: Millis,
) -> Result<Result<u32, LockError>, IndexError> {
    if let Err(e) = require_lock(tx, study_uid, user, now)? {
        return Ok(Err(e));
    }
    let draft: Option<(String, String)> = tx
        .prepare_cached("SELECT language, sections FROM report_drafts WHERE study_uid = ?1")?
        .query_row([study_uid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((language, sections)) = draft else {
        return Ok(Err(LockError::NoDraft));
    };
    let version = next_version(tx, study_uid)?;
    tx.prepare_cached(
        "INSERT INTO report_versions (study_uid, version, kind, language, sections, signed_by,
            signed_by_name, signed_at)
         VALUES (?1, ?2, 'final', ?3, ?4, ?5,
            coalesce((SELECT display_name FROM accounts WHERE username = ?5), ?5), ?6)",
    )?
    .execute(params![study_uid, version, language, sections, user, now])?;
    tx.prepare_cached("DELETE FROM report_drafts WHERE study_uid = ?1")?
        .execute([study_uid])?;
    tx.prepare_cached(
        "UPDATE reading_tasks SET status = 'final', lock_holder = NULL, lock_until = NULL,
            new_images = 0, updated_at = ?2 WHERE study_uid = ?1",
    )?
    .execute(params![study_uid, now])?;
    Ok(Ok(version))
}

pub(super) fn add_addendum(
    tx: &Transaction<'_>,
    study_uid: &str,
    user: &str,
    addendum: &Addendum,
    now: Millis,
) -> Result<Result<u32, LockError>, IndexError> {
    match lock_state(tx, study_uid, now)? {
        None => return Ok(Err(LockError::NoStudy)),
        Some((_, status)) if !status.is_signed() => return Ok(Err(LockError::NotSigned)),
        Some(_) => {}
    }
    let version = next_version(tx, study_uid)?;
    let latest = version - 1;
    if addendum.after_version.is_some_and(|seen| seen < latest) {
        let by: String = tx
            .prepare_cached(
                "SELECT signed_by_name FROM report_versions WHERE study_uid = ?1 AND version = ?2",
            )?
            .query_row(params![study_uid, latest], |r| r.get(0))?;
        return Ok(Err(LockError::Superseded {
            version: latest,
            by,
        }));
    }
    let (reason, text) = (&addendum.reason, &addendum.text);
    tx.prepare_cached(
        "INSERT INTO report_versions (study_uid, version, kind, reason, body, signed_by,
            signed_by_name, signed_at)
         VALUES (?1, ?2, 'addendum', ?3, ?4, ?5,
            coalesce((SELECT display_name FROM accounts WHERE username = ?5), ?5), ?6)",
    )?
    .execute(params![study_uid, version, reason, text, user, now])?;
    tx.prepare_cached(
        "UPDATE reading_tasks SET status = 'amended', new_images = 0, updated_at = ?2
         WHERE study_uid = ?1",
    )?
    .execute(params![study_uid, now])?;
    Ok(Ok(version))
}

pub(super) fn versions(c: &Connection, study_uid: &str) -> Result<Vec<SignedVersion>, IndexError> {
    let mut stmt = c.prepare_cached(
        "SELECT version, kind, language, sections, reason, body, signed_by, signed_by_name,
            signed_at
         FROM report_versions WHERE study_uid = ?1 ORDER BY version",
    )?;
    let rows = stmt
        .query_map([study_uid], |r| {
            let kind: String = r.get(1)?;
            let body = if kind == "final" {
                VersionBody::Final {
                    language: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    sections: decode_sections(&r.get::<_, Option<String>>(3)?.unwrap_or_default()),
                }
            } else {
                VersionBody::Addendum {
                    reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    text: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                }
            };
            Ok(SignedVersion {
                version: r.get::<_, i64>(0)? as u32,
                body,
                signed_by: r.get(6)?,
                signed_by_name: r.get(7)?,
                signed_at: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn report(
    c: &Connection,
    study_uid: &str,
    now: Millis,
) -> Result<Option<ReportRecord>, IndexError> {
    let Some(task) = task(c, study_uid, now)? else {
        return Ok(None);
    };
    let draft = c
        .prepare_cached(
            "SELECT template, language, sections, author, updated_at FROM report_drafts WHERE study_uid = ?1",
        )?
        .query_row([study_uid], draft_row)
        .optional()?;
    let preliminary = c
        .prepare_cached(
            "SELECT template, language, sections, issued_by, issued_at FROM report_preliminaries
             WHERE study_uid = ?1 ORDER BY issued_at DESC LIMIT 1",
        )?
        .query_row([study_uid], draft_row)
        .optional()?;
    let key_images = c
        .prepare_cached(
            "SELECT series_uid, sop_uid, frame FROM key_images WHERE study_uid = ?1 ORDER BY added_at, sop_uid, frame",
        )?
        .query_map([study_uid], |r| {
            Ok(KeyImageRef {
                series_uid: r.get(0)?,
                sop_uid: r.get(1)?,
                frame: r.get::<_, i64>(2)? as u32,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let critical = critical(c, study_uid)?;
    Ok(Some(ReportRecord {
        versions: versions(c, study_uid)?,
        task,
        draft,
        preliminary,
        key_images,
        critical,
    }))
}

pub(super) fn critical(c: &Connection, study_uid: &str) -> Result<Option<Critical>, IndexError> {
    Ok(c.prepare_cached(
        "SELECT note, flagged_by, flagged_at, acknowledged_by, acknowledged_at
             FROM critical_findings WHERE study_uid = ?1",
    )?
    .query_row([study_uid], |r| {
        Ok(Critical {
            note: r.get(0)?,
            flagged_by: r.get(1)?,
            flagged_at: r.get(2)?,
            acknowledged_by: r.get(3)?,
            acknowledged_at: r.get(4)?,
        })
    })
    .optional()?)
}

pub(super) fn open_criticals(
    c: &Connection,
    scope: &StudyScope,
    now: Millis,
) -> Result<Vec<(Task, Critical)>, IndexError> {
    let mut params = Vec::new();
    let cond = scope_condition(c, scope, &mut params)?
        .map(|c| format!("AND {c}"))
        .unwrap_or_default();
    let uids: Vec<String> = c
        .prepare(&format!(
            "SELECT cf.study_uid FROM critical_findings cf JOIN studies st ON st.study_uid = cf.study_uid
             WHERE cf.acknowledged_at IS NULL {cond} ORDER BY cf.flagged_at"
        ))?
        .query_map(params_from_iter(params.iter()), |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    for uid in uids {
        if let (Some(t), Some(cr)) = (task(c, &uid, now)?, critical(c, &uid)?) {
            out.push((t, cr));
        }
    }
    Ok(out)
}

pub(super) fn study_visible(
    c: &Connection,
    scope: &StudyScope,
    study_uid: &str,
) -> Result<bool, IndexError> {
    let mut params = vec![Value::Text(study_uid.to_owned())];
    let cond = scope_condition(c, scope, &mut params)?
        .map(|c| format!("AND {c}"))
        .unwrap_or_default();
    Ok(c.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM studies st WHERE st.study_uid = ?1 {cond})"),
        params_from_iter(params.iter()),
        |r| r.get(0),
    )?)
}
