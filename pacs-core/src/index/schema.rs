//! The SQLite schema, versioned with `PRAGMA user_version`.

use rusqlite::Connection;

use crate::error::IndexError;

pub(super) const VERSION: i64 = 18;

const SCHEMA_V1: &str = r#"
CREATE TABLE studies (
    pk INTEGER PRIMARY KEY,
    study_uid TEXT NOT NULL UNIQUE,
    patient_id TEXT,
    patient_name TEXT,
    patient_name_key TEXT,
    patient_birth_date TEXT,
    patient_sex TEXT,
    study_date TEXT,
    study_time TEXT,
    accession_number TEXT,
    study_id TEXT,
    study_description TEXT,
    referring_physician_name TEXT,
    referring_physician_key TEXT,
    modalities TEXT NOT NULL DEFAULT '',
    num_series INTEGER NOT NULL DEFAULT 0,
    num_instances INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX studies_by_date ON studies (study_date, study_time);
CREATE INDEX studies_by_patient_id ON studies (patient_id);
CREATE INDEX studies_by_patient_name ON studies (patient_name_key);
CREATE INDEX studies_by_accession ON studies (accession_number);

CREATE TABLE series (
    pk INTEGER PRIMARY KEY,
    study_pk INTEGER NOT NULL REFERENCES studies (pk),
    series_uid TEXT NOT NULL UNIQUE,
    modality TEXT,
    series_number INTEGER,
    series_description TEXT,
    body_part_examined TEXT,
    pps_start_date TEXT,
    num_instances INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX series_by_study ON series (study_pk, series_number);
CREATE INDEX series_by_modality ON series (modality);

CREATE TABLE instances (
    pk INTEGER PRIMARY KEY,
    series_pk INTEGER NOT NULL REFERENCES series (pk),
    sop_uid TEXT NOT NULL UNIQUE,
    sop_class_uid TEXT NOT NULL,
    instance_number INTEGER,
    transfer_syntax_uid TEXT NOT NULL,
    number_of_frames INTEGER,
    rows INTEGER,
    columns INTEGER,
    object_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    pixel TEXT NOT NULL,
    image TEXT,
    metadata BLOB NOT NULL,
    source TEXT NOT NULL,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX instances_by_series ON instances (series_pk, instance_number);
"#;

/// The forwarding outbox: one job per study and destination, the
/// instances each destination has acknowledged, and each job's history.
/// Times are milliseconds since the Unix epoch, given by the caller.
const SCHEMA_V2: &str = r#"
CREATE TABLE forward_jobs (
    pk INTEGER PRIMARY KEY,
    study_uid TEXT NOT NULL,
    destination TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    settle_until INTEGER NOT NULL,
    retry_at INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    bytes_sent INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    delivered_at INTEGER,
    UNIQUE (study_uid, destination)
);
CREATE INDEX forward_jobs_due ON forward_jobs (state, priority, settle_until);
CREATE INDEX forward_jobs_by_destination ON forward_jobs (destination, state);

CREATE TABLE forward_sent (
    job_pk INTEGER NOT NULL REFERENCES forward_jobs (pk) ON DELETE CASCADE,
    sop_uid TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (job_pk, sop_uid, sha256)
) WITHOUT ROWID;

CREATE TABLE forward_events (
    pk INTEGER PRIMARY KEY,
    job_pk INTEGER NOT NULL REFERENCES forward_jobs (pk) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX forward_events_by_job ON forward_events (job_pk, at);
"#;

/// Studies another archive has declared whole (peer transfer's completion
/// commit); a later instance of the study removes the record.
const SCHEMA_V3: &str = r#"
CREATE TABLE study_completions (
    study_uid TEXT PRIMARY KEY,
    instances INTEGER NOT NULL,
    completed_at INTEGER NOT NULL,
    declared_by TEXT NOT NULL
);
"#;

/// Instances a peer sent with other content than is stored (the receiver
/// was told to store them in another transfer syntax): the data set hash
/// as sent, so the sender's status and completion checks still match.
const SCHEMA_V4: &str = r#"
CREATE TABLE peer_received (
    sop_uid TEXT PRIMARY KEY,
    sent_sha256 TEXT NOT NULL
);
"#;

/// The reading workflow: sites and who sent which study, accounts,
/// sessions and machine tokens (by the SHA-256 of their secret), one
/// reading task per study with its lease lock, drafts, signed report
/// versions (immutable), key images, critical findings, shares, the audit
/// trail (append-only) and OIDC sign-ins under way. Times are
/// milliseconds since the Unix epoch.
const SCHEMA_V5: &str = r#"
CREATE TABLE sites (
    name TEXT PRIMARY KEY,
    ae_titles TEXT NOT NULL,
    addresses TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 2
);

CREATE TABLE study_sites (
    study_uid TEXT NOT NULL,
    site TEXT NOT NULL,
    PRIMARY KEY (study_uid, site)
) WITHOUT ROWID;
CREATE INDEX study_sites_by_site ON study_sites (site, study_uid);

CREATE TABLE accounts (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    site TEXT,
    reading_sites TEXT NOT NULL DEFAULT '',
    physician_name TEXT,
    physician_key TEXT,
    password_hash TEXT,
    oidc_subject TEXT UNIQUE,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX accounts_by_physician ON accounts (physician_key);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    username TEXT,
    site TEXT,
    study_uid TEXT,
    label TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE reading_tasks (
    study_uid TEXT PRIMARY KEY,
    site TEXT,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'scheduled',
    received_at INTEGER NOT NULL,
    assigned_to TEXT,
    lock_holder TEXT,
    lock_until INTEGER,
    new_images INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
CREATE INDEX reading_tasks_in_order ON reading_tasks (status, priority, received_at);

CREATE TABLE report_drafts (
    study_uid TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    template TEXT,
    language TEXT NOT NULL,
    sections TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE report_versions (
    study_uid TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    language TEXT,
    sections TEXT,
    reason TEXT,
    body TEXT,
    signed_by TEXT NOT NULL,
    signed_by_name TEXT NOT NULL,
    signed_at INTEGER NOT NULL,
    PRIMARY KEY (study_uid, version)
);
CREATE TRIGGER report_versions_are_immutable BEFORE UPDATE ON report_versions
BEGIN SELECT RAISE(ABORT, 'a signed report cannot be changed; add an addendum'); END;
CREATE TRIGGER report_versions_are_kept BEFORE DELETE ON report_versions
BEGIN SELECT RAISE(ABORT, 'a signed report cannot be deleted'); END;

CREATE TABLE key_images (
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    sop_uid TEXT NOT NULL,
    frame INTEGER NOT NULL,
    added_by TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (study_uid, sop_uid, frame)
);

CREATE TABLE critical_findings (
    study_uid TEXT PRIMARY KEY,
    note TEXT NOT NULL,
    flagged_by TEXT NOT NULL,
    flagged_at INTEGER NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at INTEGER
);

CREATE TABLE study_shares (
    study_uid TEXT NOT NULL,
    username TEXT NOT NULL,
    shared_by TEXT NOT NULL,
    shared_at INTEGER NOT NULL,
    PRIMARY KEY (study_uid, username)
) WITHOUT ROWID;
CREATE INDEX study_shares_by_user ON study_shares (username);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    username TEXT,
    role TEXT,
    action TEXT NOT NULL,
    study_uid TEXT,
    detail TEXT,
    address TEXT,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit_events (at);
CREATE INDEX audit_by_study ON audit_events (study_uid, at);
CREATE TRIGGER audit_is_append_only BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_is_kept BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

CREATE TABLE pending_logins (
    state TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

INSERT INTO reading_tasks (study_uid, priority, status, received_at, updated_at)
SELECT study_uid, 2, 'scheduled',
       CAST((julianday(created_at) - 2440587.5) * 86400000 AS INTEGER),
       CAST((julianday(created_at) - 2440587.5) * 86400000 AS INTEGER)
FROM studies;
"#;

/// The component groups of patients' names that have several (a Cyrillic
/// or Japanese form beside the Latin one), each on its own, so that a
/// name is found by whichever form is typed.
const SCHEMA_V6: &str = r#"
CREATE TABLE study_name_groups (
    study_pk INTEGER NOT NULL REFERENCES studies(pk),
    key TEXT NOT NULL
);
CREATE INDEX study_name_groups_by_key ON study_name_groups (key);
CREATE INDEX study_name_groups_by_study ON study_name_groups (study_pk);
"#;

/// Each preliminary report as it was issued: the requesting side reads
/// the last one while the radiologist goes on editing the draft, and none
/// is ever changed.
const SCHEMA_V7: &str = r#"
CREATE TABLE report_preliminaries (
    study_uid TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    issued_by TEXT NOT NULL,
    template TEXT,
    language TEXT NOT NULL,
    sections TEXT NOT NULL,
    PRIMARY KEY (study_uid, issued_at)
);
CREATE TRIGGER report_preliminaries_are_immutable BEFORE UPDATE ON report_preliminaries
BEGIN SELECT RAISE(ABORT, 'an issued preliminary report cannot be changed; issue another'); END;
"#;

/// Failed sign-ins are counted per name and client address, not per
/// account: anyone could otherwise lock every account out by guessing,
/// and a lock on known names only would tell which names exist.
const SCHEMA_V8: &str = r#"
CREATE TABLE sign_in_failures (
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (username, address)
) WITHOUT ROWID;
CREATE INDEX sign_in_failures_by_address ON sign_in_failures (address);
CREATE INDEX sign_in_failures_by_age ON sign_in_failures (last_at);
ALTER TABLE accounts DROP COLUMN failed_logins;
ALTER TABLE accounts DROP COLUMN locked_until;
"#;

/// Version 9: the browsers each name signed in from (by the SHA-256 of a
/// long-lived cookie's secret). Guessing one name from many addresses is
/// refused once it has failed too often, except from these browsers, so
/// that the person keeps signing in from their own while it goes on.
const SCHEMA_V9: &str = r#"
CREATE TABLE sign_in_devices (
    token_hash TEXT NOT NULL,
    username TEXT NOT NULL,
    last_used INTEGER NOT NULL,
    PRIMARY KEY (token_hash, username)
) WITHOUT ROWID;
CREATE INDEX sign_in_devices_by_name ON sign_in_devices (username, last_used);
"#;

/// The component groups of referring physicians' names that have
/// several, each on its own, as for patients' names: a doctor is found
/// by the Cyrillic form of the name as well as by the Latin one.
const SCHEMA_V11: &str = r#"
CREATE TABLE study_referrer_groups (
    study_pk INTEGER NOT NULL REFERENCES studies(pk),
    key TEXT NOT NULL
);
CREATE INDEX study_referrer_groups_by_key ON study_referrer_groups (key);
CREATE INDEX study_referrer_groups_by_study ON study_referrer_groups (study_pk);
"#;

/// Version 12: the series matching keys PS3.18 requires beside those of
/// version 1 (Table 10.6.1-5): the Performed Procedure Step Start Time,
/// and the Requested Procedure and Scheduled Procedure Step IDs of the
/// items of the Request Attributes Sequence, one row per item.
const SCHEMA_V12: &str = r#"
ALTER TABLE series ADD COLUMN pps_start_time TEXT;
CREATE TABLE series_requests (
    series_pk INTEGER NOT NULL REFERENCES series (pk),
    requested_procedure_id TEXT,
    scheduled_step_id TEXT
);
CREATE INDEX series_requests_by_series ON series_requests (series_pk);
CREATE INDEX series_requests_by_procedure ON series_requests (requested_procedure_id);
CREATE INDEX series_requests_by_step ON series_requests (scheduled_step_id);
"#;

/// Version 14: whether a queued job waits out a back-off because its
/// destination could not be reached (and so goes as soon as the
/// destination takes another study), or because the destination refused
/// some of its instances. Jobs already backing off keep going at the next
/// delivery, as they did.
const SCHEMA_V14: &str = r#"
ALTER TABLE forward_jobs ADD COLUMN waits_for_link INTEGER NOT NULL DEFAULT 0;
UPDATE forward_jobs SET waits_for_link = 1 WHERE state = 'queued' AND retry_at > 0;
"#;

/// Version 15: when the holder of a reading lock last used any page
/// reading the study, so that a page forgotten open gives the study back
/// to the worklist without taking it from the same reader at work on
/// another page.
const SCHEMA_V15: &str = r#"
ALTER TABLE reading_tasks ADD COLUMN lock_active_at INTEGER;
"#;

/// Version 16: the name index carries each study's date and time, so a
/// search by name orders its matches newest first from the index alone.
/// Reading every matching study for its date took most of the time of a
/// search by a prefix many patients share (2 500 of 100 000 studies).
const SCHEMA_V16: &str = r#"
DROP INDEX studies_by_patient_name;
CREATE INDEX studies_by_patient_name ON studies (patient_name_key, study_date, study_time);
"#;

/// Version 17: studies by their referring physician's name, so that a
/// referring doctor who sent a handful of studies has them found without
/// a walk through every study (see `reading::referrer_condition`).
const SCHEMA_V17: &str = r#"
CREATE INDEX IF NOT EXISTS studies_by_referrer ON studies (referring_physician_key);
"#;

/// Version 18: a study's series index also holds their modality, so that
/// a search by modality checks each study's series without reading them
/// (a name prefix and a modality together took 15-20 ms over 100 000
/// studies, most of it reading series rows; see
/// `search::study_has_modality`).
const SCHEMA_V18: &str = r#"
DROP INDEX IF EXISTS series_by_study;
CREATE INDEX series_by_study ON series (study_pk, series_number, modality);
"#;

/// Version 14: earlier versions wrote destination URLs into forwarding
/// errors with any user and password written in them; those are taken
/// out of what is kept (and shown by the forwarding API).
fn scrub_stored_passwords(tx: &rusqlite::Transaction<'_>) -> Result<(), IndexError> {
    for (table, column) in [("forward_jobs", "last_error"), ("forward_events", "detail")] {
        let rows: Vec<(i64, String)> = tx
            .prepare(&format!(
                "SELECT rowid, {column} FROM {table} WHERE {column} LIKE '%://%@%'"
            ))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (rowid, text) in rows {
            tx.execute(
                &format!("UPDATE {table} SET {column} = ?2 WHERE rowid = ?1"),
                rusqlite::params![rowid, without_userinfo(&text)],
            )?;
        }
    }
    Ok(())
}

/// `text` with the user information (`user:password@`) taken out of every
/// URL in it.
fn without_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(userinfo_end) => out.push_str(&authority[userinfo_end + 1..]),
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Upgrades the schema to version `to` in one transaction by `step`,
/// unless it is there already (`version`).
fn upgrade(
    conn: &mut Connection,
    version: i64,
    to: i64,
    step: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    if version < to {
        let tx = conn.transaction()?;
        step(&tx)?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
    }
    Ok(())
}

/// Creates or upgrades the schema.
pub fn migrate(conn: &mut Connection) -> Result<(), IndexError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Err(IndexError::Corrupt(format!(
            "the index database has schema version {version}, newer than this program's {VERSION}; upgrade pacs"
        )));
    }
    upgrade(conn, version, 1, |tx| Ok(tx.execute_batch(SCHEMA_V1)?))?;
    upgrade(conn, version, 2, |tx| Ok(tx.execute_batch(SCHEMA_V2)?))?;
    upgrade(conn, version, 3, |tx| Ok(tx.execute_batch(SCHEMA_V3)?))?;
    upgrade(conn, version, 4, |tx| Ok(tx.execute_batch(SCHEMA_V4)?))?;
    upgrade(conn, version, 5, |tx| Ok(tx.execute_batch(SCHEMA_V5)?))?;
    upgrade(conn, version, 6, |tx| {
        tx.execute_batch(SCHEMA_V6)?;
        let named: Vec<(i64, String)> = tx
            .prepare("SELECT pk, patient_name FROM studies WHERE patient_name LIKE '%=%'")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (pk, name) in named {
            super::sqlite::index_name_groups(tx, super::sqlite::NameGroups::Patient, pk, &name)?;
        }
        Ok(())
    })?;
    upgrade(conn, version, 7, |tx| {
        tx.execute_batch(SCHEMA_V7)?;
        // A preliminary already issued is kept as its draft stands now.
        tx.execute(
            "INSERT INTO report_preliminaries
                (study_uid, issued_at, issued_by, template, language, sections)
             SELECT d.study_uid, t.updated_at, d.author, d.template, d.language, d.sections
             FROM report_drafts d JOIN reading_tasks t ON t.study_uid = d.study_uid
             WHERE t.status = 'preliminary'",
            [],
        )?;
        Ok(())
    })?;
    // A lock still running on an account is not carried over: it
    // cannot be told which address earned it.
    upgrade(conn, version, 8, |tx| Ok(tx.execute_batch(SCHEMA_V8)?))?;
    upgrade(conn, version, 9, |tx| Ok(tx.execute_batch(SCHEMA_V9)?))?;
    upgrade(conn, version, 10, rekey_person_names)?;
    upgrade(conn, version, 11, |tx| {
        tx.execute_batch(SCHEMA_V11)?;
        index_referrer_groups(tx)?;
        Ok(())
    })?;
    upgrade(conn, version, 12, |tx| {
        tx.execute_batch(SCHEMA_V12)?;
        index_series_requests(tx)?;
        Ok(())
    })?;
    // Person names are matched by words and without apostrophes (see
    // `person_name_key`): every stored key is made anew.
    upgrade(conn, version, 13, |tx| {
        rekey_person_names(tx)?;
        tx.execute("DELETE FROM study_referrer_groups", [])?;
        index_referrer_groups(tx)?;
        Ok(())
    })?;
    upgrade(conn, version, 14, |tx| {
        tx.execute_batch(SCHEMA_V14)?;
        scrub_stored_passwords(tx)?;
        Ok(())
    })?;
    // Locks held now count as used at the upgrade.
    upgrade(conn, version, 15, |tx| {
        tx.execute_batch(SCHEMA_V15)?;
        tx.execute(
            "UPDATE reading_tasks SET lock_active_at = updated_at WHERE lock_holder IS NOT NULL",
            [],
        )?;
        Ok(())
    })?;
    upgrade(conn, version, 16, |tx| Ok(tx.execute_batch(SCHEMA_V16)?))?;
    upgrade(conn, version, 17, |tx| Ok(tx.execute_batch(SCHEMA_V17)?))?;
    upgrade(conn, version, 18, |tx| Ok(tx.execute_batch(SCHEMA_V18)?))?;
    Ok(())
}

/// Version 12: the new series keys of the series already stored, read
/// from the stored metadata of each series' earliest instance (whose
/// attributes the series row holds, see `refresh`).
fn index_series_requests(tx: &rusqlite::Transaction<'_>) -> Result<(), IndexError> {
    let earliest: Vec<(i64, Vec<u8>)> = tx
        .prepare(
            "SELECT i.series_pk, i.metadata FROM instances i
             WHERE i.pk IN (SELECT MIN(pk) FROM instances GROUP BY series_pk)",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)?
            .get("Value")?
            .get(0)?
            .as_str()
            .map(str::to_owned)
    };
    for (series_pk, metadata) in earliest {
        let Ok(m) = serde_json::from_slice::<serde_json::Value>(&metadata) else {
            continue;
        };
        tx.execute(
            "UPDATE series SET pps_start_time = ?2 WHERE pk = ?1",
            rusqlite::params![series_pk, text(&m, "00400245")],
        )?;
        let items = m
            .get("00400275")
            .and_then(|s| s.get("Value"))
            .and_then(|v| v.as_array());
        for item in items.into_iter().flatten() {
            let requested = text(item, "00401001");
            let scheduled = text(item, "00400009");
            if requested.is_some() || scheduled.is_some() {
                tx.execute(
                    "INSERT INTO series_requests
                        (series_pk, requested_procedure_id, scheduled_step_id)
                     VALUES (?1, ?2, ?3)",
                    rusqlite::params![series_pk, requested, scheduled],
                )?;
            }
        }
    }
    Ok(())
}

/// Version 11: the groups of referring physicians' names already stored
/// are indexed on their own.
fn index_referrer_groups(tx: &rusqlite::Transaction<'_>) -> Result<(), IndexError> {
    use super::sqlite::{NameGroups, index_name_groups};
    let studies: Vec<(i64, String)> = tx
        .prepare(
            "SELECT pk, referring_physician_name FROM studies
             WHERE referring_physician_name LIKE '%=%'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (pk, name) in studies {
        index_name_groups(tx, NameGroups::Referrer, pk, &name)?;
    }
    Ok(())
}

/// Version 10: person names are matched without the empty components
/// and groups a sender may pad them with (`Yusupov^Akmal^^^`), and a
/// referring doctor's account on the alphabetic group of the study's
/// name; the keys already stored are made anew that way.
fn rekey_person_names(tx: &rusqlite::Transaction<'_>) -> Result<(), IndexError> {
    use super::sqlite::{NameGroups, index_name_groups, name_key};
    let studies: Vec<(i64, Option<String>, Option<String>)> = tx
        .prepare("SELECT pk, patient_name, referring_physician_name FROM studies")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    tx.execute("DELETE FROM study_name_groups", [])?;
    for (pk, patient, physician) in studies {
        tx.prepare_cached(
            "UPDATE studies SET patient_name_key = ?2, referring_physician_key = ?3 WHERE pk = ?1",
        )?
        .execute(rusqlite::params![
            pk,
            patient.as_deref().map(name_key),
            physician.as_deref().map(name_key)
        ])?;
        if let Some(name) = patient.as_deref().filter(|n| n.contains('=')) {
            index_name_groups(tx, NameGroups::Patient, pk, name)?;
        }
    }
    let physicians: Vec<(String, String)> = tx
        .prepare("SELECT username, physician_name FROM accounts WHERE physician_name IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (username, name) in physicians {
        tx.execute(
            "UPDATE accounts SET physician_key = ?2 WHERE username = ?1",
            rusqlite::params![username, crate::workflow::physician_key(&name)],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
