//! How every connection to the embedded index is opened and configured.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::IndexError;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

pub(super) fn open_connection(path: &Path, read_only: bool) -> Result<Connection, IndexError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -16000)?;
    plan_without_values(&conn)?;
    // Every statement of the insert path and of the reading workflow stays
    // compiled: parsing SQL again for each instance costs more than running it.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Makes the planner choose each statement's plan from its SQL alone.
///
/// By default SQLite plans some statements again whenever a parameter
/// changes value, as if the schema had changed: every join with a
/// `column = ?` condition, for one (the instance lookup behind each
/// C-STORE, WADO-RS request and duplicate check), costing seven times the
/// statement itself each time. Nothing here wants a plan that depends on
/// values: a pattern's text before its wildcards is given as an explicit
/// range (`search::literal_prefix`), statistics are never gathered, and a
/// search keeps the plan its tests check whatever its page size.
pub(super) fn plan_without_values(conn: &Connection) -> Result<(), IndexError> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;
    use crate::index::sqlite::{INSTANCE_COLUMNS, SCOPE_JOIN};

    /// The instance lookup of every C-STORE and WADO-RS request, run for
    /// one instance after another as ingest and retrieval run it.
    #[test]
    fn a_lookup_is_not_planned_again_for_each_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let mut writer = open_connection(&path, false).unwrap();
        crate::index::schema::migrate(&mut writer).unwrap();
        writer
            .execute_batch(
                "INSERT INTO studies (pk, study_uid) VALUES (1, '1.2.3');
                 INSERT INTO series (pk, study_pk, series_uid) VALUES (1, 1, '1.2.3.4');",
            )
            .unwrap();
        for n in 0..3 {
            writer
                .execute(
                    "INSERT INTO instances (series_pk, sop_uid, sop_class_uid, transfer_syntax_uid,
                         object_key, size, sha256, pixel, metadata, source)
                     VALUES (1, ?1, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1',
                         ?1, 0, '', '{}', x'', 'test')",
                    [format!("1.2.3.4.{n}")],
                )
                .unwrap();
        }
        let reader = open_connection(&path, true).unwrap();
        let sql = format!("SELECT {INSTANCE_COLUMNS} FROM {SCOPE_JOIN} WHERE i.sop_uid = ?1");
        for n in 0..3 {
            let mut lookup = reader.prepare_cached(&sql).unwrap();
            let sop: String = lookup
                .query_row([format!("1.2.3.4.{n}")], |r| r.get(2))
                .unwrap();
            assert_eq!(sop, format!("1.2.3.4.{n}"));
            assert_eq!(lookup.get_status(StatementStatus::RePrepare), 0);
        }
    }
}
