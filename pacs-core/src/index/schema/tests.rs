//! Upgrades of an index made by an earlier version.

use super::*;

/// What an index of version 13 lacks.
const BACK_TO_V13: &str = "ALTER TABLE reading_tasks DROP COLUMN lock_active_at;
    ALTER TABLE forward_jobs DROP COLUMN waits_for_link;";
/// What an index of version 11 lacks.
const BACK_TO_V11: &str = "ALTER TABLE reading_tasks DROP COLUMN lock_active_at;
    ALTER TABLE forward_jobs DROP COLUMN waits_for_link;
    DROP TABLE series_requests;
    ALTER TABLE series DROP COLUMN pps_start_time;";
/// What an index of version 10 lacks.
const BACK_TO_V10: &str = "ALTER TABLE reading_tasks DROP COLUMN lock_active_at;
    ALTER TABLE forward_jobs DROP COLUMN waits_for_link;
    DROP TABLE series_requests;
    ALTER TABLE series DROP COLUMN pps_start_time;
    DROP TABLE study_referrer_groups;";
/// Undoes versions 8 and later on a fresh database: its tables as version 7 had them.
const BACK_TO_V7: &str = "ALTER TABLE reading_tasks DROP COLUMN lock_active_at;
    ALTER TABLE forward_jobs DROP COLUMN waits_for_link;
    DROP TABLE series_requests;
    ALTER TABLE series DROP COLUMN pps_start_time;
    DROP TABLE study_referrer_groups;
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

/// An index of the version that matched names word for word as typed:
/// names with apostrophes, spaces or `Ё` and the accounts of referring
/// doctors are keyed anew, their groups too.
#[test]
fn upgrading_rekeys_names_by_their_words() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate(&mut conn).unwrap();
    conn.execute_batch(BACK_TO_V13).unwrap();
    conn.execute_batch(
        "PRAGMA user_version = 12;
         INSERT INTO studies (study_uid, patient_name, patient_name_key,
                              referring_physician_name, referring_physician_key)
         VALUES ('1.2.1', 'Oʻrinboyeva^Dilnoza=Оринбоева Дилноза',
                 'OʻRINBOYEVA^DILNOZA=ОРИНБОЕВА ДИЛНОЗА',
                 'Karimov Aziz=Каримов Азиз', 'KARIMOV AZIZ=КАРИМОВ АЗИЗ'),
                ('1.2.2', 'Фёдоров^Артём', 'ФЁДОРОВ^АРТЁМ', NULL, NULL);
         INSERT INTO study_name_groups (study_pk, key)
         VALUES (1, 'OʻRINBOYEVA^DILNOZA'), (1, 'ОРИНБОЕВА ДИЛНОЗА');
         INSERT INTO study_referrer_groups (study_pk, key)
         VALUES (1, 'KARIMOV AZIZ'), (1, 'КАРИМОВ АЗИЗ');
         INSERT INTO accounts (username, display_name, role, physician_name, physician_key)
         VALUES ('karimov', 'Dr Karimov', 'referrer', 'Karimov Aziz', 'KARIMOV AZIZ');",
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    let keys = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get::<_, Option<String>>(0))
            .unwrap()
            .map(|k| k.unwrap().unwrap_or_default())
            .collect()
    };
    assert_eq!(
        keys("SELECT patient_name_key FROM studies ORDER BY pk"),
        ["ORINBOYEVA^DILNOZA=ОРИНБОЕВА^ДИЛНОЗА", "ФЕДОРОВ^АРТЕМ"]
    );
    assert_eq!(
        keys("SELECT referring_physician_key FROM studies ORDER BY pk"),
        ["KARIMOV^AZIZ=КАРИМОВ^АЗИЗ", ""]
    );
    assert_eq!(
        keys("SELECT key FROM study_name_groups ORDER BY key"),
        ["ORINBOYEVA^DILNOZA", "ОРИНБОЕВА^ДИЛНОЗА"]
    );
    assert_eq!(
        keys("SELECT key FROM study_referrer_groups ORDER BY key"),
        ["KARIMOV^AZIZ", "КАРИМОВ^АЗИЗ"]
    );
    assert_eq!(keys("SELECT physician_key FROM accounts"), ["KARIMOV^AZIZ"]);
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

/// An index of the version before the Request Attributes Sequence was
/// matched: each series takes its keys from its earliest instance's
/// stored metadata.
#[test]
fn upgrading_indexes_the_request_attributes_of_series_already_stored() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate(&mut conn).unwrap();
    conn.execute_batch(BACK_TO_V11).unwrap();
    let first = r#"{"00400245": {"vr": "TM", "Value": ["101500"]},
        "00400275": {"vr": "SQ", "Value": [
            {"00400009": {"vr": "SH", "Value": ["SPS-1"]},
             "00401001": {"vr": "SH", "Value": ["RP-100"]}},
            {"00401001": {"vr": "SH", "Value": ["RP-200"]}},
            {"00321060": {"vr": "LO", "Value": ["no IDs"]}}]}}"#;
    let later = r#"{"00400275": {"vr": "SQ", "Value": [
            {"00401001": {"vr": "SH", "Value": ["RP-999"]}}]}}"#;
    let instance = |pk: i64, series: i64, metadata: &str| {
        conn.execute(
            "INSERT INTO instances (pk, series_pk, sop_uid, sop_class_uid, transfer_syntax_uid,
                 object_key, size, sha256, pixel, metadata, source)
             VALUES (?1, ?2, ?3, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1',
                     'k', 1, 'h', '{}', ?4, 'test')",
            rusqlite::params![pk, series, format!("1.2.3.{pk}"), metadata.as_bytes()],
        )
        .unwrap();
    };
    conn.execute_batch(
        "PRAGMA user_version = 11;
         INSERT INTO studies (pk, study_uid) VALUES (1, '1.2.1');
         INSERT INTO series (pk, study_pk, series_uid) VALUES (1, 1, '1.2.1.1'), (2, 1, '1.2.1.2');",
    )
    .unwrap();
    instance(1, 1, first);
    instance(2, 1, later);
    instance(3, 2, "{}");
    migrate(&mut conn).unwrap();
    let requests: Vec<(i64, Option<String>, Option<String>)> = conn
        .prepare(
            "SELECT series_pk, requested_procedure_id, scheduled_step_id
             FROM series_requests ORDER BY rowid",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        requests,
        vec![
            (1, Some("RP-100".to_owned()), Some("SPS-1".to_owned())),
            (1, Some("RP-200".to_owned()), None),
        ]
    );
    let times: Vec<Option<String>> = conn
        .prepare("SELECT pps_start_time FROM series ORDER BY pk")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(times, vec![Some("101500".to_owned()), None]);
}

/// Jobs of an older index backing off went at the next delivery to their
/// destination, whatever had failed: after the upgrade they still do,
/// while later failures say whether the destination was out of reach.
#[test]
fn upgrading_keeps_backed_off_jobs_going_at_the_next_delivery() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate(&mut conn).unwrap();
    conn.execute_batch(BACK_TO_V13).unwrap();
    conn.execute_batch(
        "PRAGMA user_version = 13;
         INSERT INTO forward_jobs (pk, study_uid, destination, priority, state,
                                   settle_until, retry_at, created_at, updated_at)
         VALUES (1, '1.2.1', 'centre', 2, 'queued', 0, 5000, 0, 0),
                (2, '1.2.2', 'centre', 2, 'queued', 0, 0, 0, 0),
                (3, '1.2.3', 'centre', 2, 'delivered', 0, 0, 0, 0);
         UPDATE forward_jobs SET last_error =
             'STOW-RS to https://edge:s3cret@centre.example.org/dicom-web/studies failed'
         WHERE pk = 1;
         INSERT INTO forward_events (job_pk, at, event, detail)
         VALUES (1, 0, 'failed', 'http://edge:p@ss@10.0.0.1:8042/x: 401; see https://h/doc');",
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    let waiting: Vec<(i64, bool)> = conn
        .prepare("SELECT pk, waits_for_link FROM forward_jobs ORDER BY pk")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(waiting, vec![(1, true), (2, false), (3, false)]);
    // Passwords older versions wrote into errors are gone.
    let error: String = conn
        .query_row(
            "SELECT last_error FROM forward_jobs WHERE pk = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        error,
        "STOW-RS to https://centre.example.org/dicom-web/studies failed"
    );
    let detail: String = conn
        .query_row(
            "SELECT detail FROM forward_events WHERE job_pk = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(detail, "http://10.0.0.1:8042/x: 401; see https://h/doc");
}

/// Locks held in an older index count as used when it is upgraded: none
/// is given back at once for want of a record of use.
#[test]
fn upgrading_counts_held_locks_as_used_at_their_last_change() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate(&mut conn).unwrap();
    conn.execute_batch(
        "ALTER TABLE reading_tasks DROP COLUMN lock_active_at;
         PRAGMA user_version = 14;
         INSERT INTO reading_tasks (study_uid, priority, status, received_at, updated_at,
                                    lock_holder, lock_until)
         VALUES ('1.2.1', 1, 'in_progress', 10, 500, 'rad1', 9000),
                ('1.2.2', 1, 'scheduled', 10, 20, NULL, NULL);",
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    let active: Vec<Option<i64>> = conn
        .prepare("SELECT lock_active_at FROM reading_tasks ORDER BY study_uid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(active, vec![Some(500), None]);
}

#[test]
fn upgrading_puts_the_study_date_in_the_name_index() {
    let conn = upgraded_from(
        15,
        "DROP INDEX studies_by_patient_name;
         CREATE INDEX studies_by_patient_name ON studies (patient_name_key);",
    );
    assert_eq!(
        index_columns(&conn, "studies_by_patient_name"),
        ["patient_name_key", "study_date", "study_time"]
    );
}

#[test]
fn upgrading_indexes_studies_by_their_referrer() {
    let conn = upgraded_from(16, "DROP INDEX studies_by_referrer;");
    assert_eq!(
        index_columns(&conn, "studies_by_referrer"),
        ["referring_physician_key"]
    );
}

#[test]
fn upgrading_puts_the_modality_in_the_series_index() {
    let conn = upgraded_from(
        17,
        "DROP INDEX series_by_study;
         CREATE INDEX series_by_study ON series (study_pk, series_number);",
    );
    assert_eq!(
        index_columns(&conn, "series_by_study"),
        ["study_pk", "series_number", "modality"]
    );
}

/// An index of today's schema taken back to schema `version` by `sql`
/// (which undoes what later versions did), then upgraded again.
fn upgraded_from(version: i64, sql: &str) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate(&mut conn).unwrap();
    conn.execute_batch(sql).unwrap();
    conn.pragma_update(None, "user_version", version).unwrap();
    migrate(&mut conn).unwrap();
    conn
}

/// The columns of index `name`, in order.
fn index_columns(conn: &Connection, name: &str) -> Vec<String> {
    conn.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
        .unwrap()
        .query_map([name], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}
