//! The SQLite schema, versioned with `PRAGMA user_version`.

use rusqlite::Connection;

use crate::error::IndexError;

pub(super) const VERSION: i64 = 11;

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

/// Creates or upgrades the schema.
pub fn migrate(conn: &mut Connection) -> Result<(), IndexError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Err(IndexError::Corrupt(format!(
            "the index database has schema version {version}, newer than this program's {VERSION}; upgrade pacs"
        )));
    }
    if version < 1 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V1)?;
        tx.pragma_update(None, "user_version", 1)?;
        tx.commit()?;
    }
    if version < 2 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V2)?;
        tx.pragma_update(None, "user_version", 2)?;
        tx.commit()?;
    }
    if version < 3 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V3)?;
        tx.pragma_update(None, "user_version", 3)?;
        tx.commit()?;
    }
    if version < 4 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V4)?;
        tx.pragma_update(None, "user_version", 4)?;
        tx.commit()?;
    }
    if version < 5 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V5)?;
        tx.pragma_update(None, "user_version", 5)?;
        tx.commit()?;
    }
    if version < 6 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V6)?;
        let named: Vec<(i64, String)> = tx
            .prepare("SELECT pk, patient_name FROM studies WHERE patient_name LIKE '%=%'")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (pk, name) in named {
            super::sqlite::index_name_groups(&tx, super::sqlite::NameGroups::Patient, pk, &name)?;
        }
        tx.pragma_update(None, "user_version", 6)?;
        tx.commit()?;
    }
    if version < 7 {
        let tx = conn.transaction()?;
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
        tx.pragma_update(None, "user_version", 7)?;
        tx.commit()?;
    }
    if version < 8 {
        // A lock still running on an account is not carried over: it
        // cannot be told which address earned it.
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V8)?;
        tx.pragma_update(None, "user_version", 8)?;
        tx.commit()?;
    }
    if version < 9 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V9)?;
        tx.pragma_update(None, "user_version", 9)?;
        tx.commit()?;
    }
    if version < 10 {
        let tx = conn.transaction()?;
        rekey_person_names(&tx)?;
        tx.pragma_update(None, "user_version", 10)?;
        tx.commit()?;
    }
    if version < 11 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA_V11)?;
        index_referrer_groups(&tx)?;
        tx.pragma_update(None, "user_version", 11)?;
        tx.commit()?;
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
mod tests {
    use super::*;

    /// Undoes versions 8 and 9 on a fresh database: its tables as version 7 had them.
    /// What an index of version 10 lacks.
    const BACK_TO_V10: &str = "DROP TABLE study_referrer_groups;";
    const BACK_TO_V7: &str = "DROP TABLE study_referrer_groups;
        DROP TABLE sign_in_devices; DROP TABLE sign_in_failures;
        ALTER TABLE accounts ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE accounts ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;";

    /// An index of the version before name groups had studies whose
    /// names have several groups: the upgrade indexes each group.
    #[test]
    fn upgrading_indexes_the_groups_of_names_already_stored() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(BACK_TO_V7).unwrap();
        conn.execute_batch(
            "DROP TABLE study_name_groups;
             DROP TABLE report_preliminaries;
             PRAGMA user_version = 5;
             INSERT INTO studies (study_uid, patient_name, patient_name_key)
             VALUES ('1.2.1', 'Ivanov^Ivan=Иванов^Иван', 'IVANOV^IVAN=ИВАНОВ^ИВАН'),
                    ('1.2.2', 'Karimov^Otabek', 'KARIMOV^OTABEK');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let groups: Vec<String> = conn
            .prepare("SELECT key FROM study_name_groups ORDER BY key")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(groups, vec!["IVANOV^IVAN", "ИВАНОВ^ИВАН"]);
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
    }

    /// An index of the version that matched names as sent: padded names
    /// and referring doctors' accounts are keyed anew.
    #[test]
    fn upgrading_rekeys_padded_names() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(BACK_TO_V10).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 9;
             INSERT INTO studies (study_uid, patient_name, patient_name_key,
                                  referring_physician_name, referring_physician_key)
             VALUES ('1.2.1', 'Ivanov^Ivan^^=Иванов^Иван^^', 'IVANOV^IVAN^^=ИВАНОВ^ИВАН^^',
                     'Yusupov^Akmal^^^', 'YUSUPOV^AKMAL^^^');
             INSERT INTO accounts (username, display_name, role, physician_name, physician_key)
             VALUES ('yusupov', 'Dr Yusupov', 'referrer', 'Yusupov^Akmal^=Юсупов^Акмал',
                     'YUSUPOV^AKMAL^=ЮСУПОВ^АКМАЛ');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (patient, physician): (String, String) = conn
            .query_row(
                "SELECT patient_name_key, referring_physician_key FROM studies",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(patient, "IVANOV^IVAN=ИВАНОВ^ИВАН");
        assert_eq!(physician, "YUSUPOV^AKMAL");
        let groups: Vec<String> = conn
            .prepare("SELECT key FROM study_name_groups ORDER BY key")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(groups, vec!["IVANOV^IVAN", "ИВАНОВ^ИВАН"]);
        let account: String = conn
            .query_row("SELECT physician_key FROM accounts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(account, "YUSUPOV^AKMAL");
    }

    /// An index of the version that indexed only patients' name groups:
    /// the groups of referring physicians' names already stored are
    /// indexed too.
    #[test]
    fn upgrading_indexes_the_groups_of_referrers_names() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(BACK_TO_V10).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 10;
             INSERT INTO studies (study_uid, referring_physician_name, referring_physician_key)
             VALUES ('1.2.1', 'Yusupov^Akmal=Юсупов^Акмал', 'YUSUPOV^AKMAL=ЮСУПОВ^АКМАЛ'),
                    ('1.2.2', 'Karimov^Otabek', 'KARIMOV^OTABEK');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let groups: Vec<(String, String)> = conn
            .prepare(
                "SELECT s.study_uid, g.key FROM study_referrer_groups g
                 JOIN studies s ON s.pk = g.study_pk ORDER BY g.key",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            groups,
            vec![
                ("1.2.1".to_owned(), "YUSUPOV^AKMAL".to_owned()),
                ("1.2.1".to_owned(), "ЮСУПОВ^АКМАЛ".to_owned())
            ]
        );
    }

    /// An index of the version before preliminaries were kept apart: a
    /// preliminary already issued is kept as its draft stands, and the
    /// kept text cannot be changed.
    #[test]
    fn upgrading_keeps_a_preliminary_already_issued() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(BACK_TO_V7).unwrap();
        conn.execute_batch(
            "DROP TABLE report_preliminaries;
             PRAGMA user_version = 6;
             INSERT INTO reading_tasks (study_uid, priority, status, received_at, updated_at)
             VALUES ('1.2.1', 1, 'preliminary', 10, 20), ('1.2.2', 1, 'in_progress', 10, 30);
             INSERT INTO report_drafts (study_uid, author, language, sections, updated_at)
             VALUES ('1.2.1', 'rad1', 'ru', '{\"impression\":\"A\"}', 15),
                    ('1.2.2', 'rad1', 'ru', '{\"impression\":\"B\"}', 25);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let kept: Vec<(String, i64, String)> = conn
            .prepare("SELECT study_uid, issued_at, sections FROM report_preliminaries")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            kept,
            vec![("1.2.1".into(), 20, "{\"impression\":\"A\"}".into())]
        );
        let changed = conn.execute("UPDATE report_preliminaries SET sections = '{}'", []);
        assert!(changed.is_err(), "an issued preliminary is never changed");
    }

    /// An index of the version that locked accounts: its accounts stay,
    /// and failures are counted per name and address from then on.
    #[test]
    fn upgrading_moves_sign_in_failures_off_the_accounts() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(BACK_TO_V7).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 7;
             INSERT INTO accounts (username, display_name, role, failed_logins, locked_until)
             VALUES ('rad1', 'Dr One', 'radiologist', 5, 99999999999999);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let name: String = conn
            .query_row(
                "SELECT display_name FROM accounts WHERE username = 'rad1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(name, "Dr One");
        let old = conn.prepare("SELECT locked_until FROM accounts");
        assert!(old.is_err(), "the account-wide lock is gone");
        conn.execute(
            "INSERT INTO sign_in_failures (username, address, failures, last_at)
             VALUES ('rad1', '127.0.0.1', 1, 10)",
            [],
        )
        .unwrap();
    }
}
