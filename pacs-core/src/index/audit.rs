//! The audit trail in SQLite: events appended through the index's one
//! writer, read back newest first with the filters an auditor uses.

use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, params, params_from_iter};

use crate::error::IndexError;
use crate::workflow::{AuditEvent, AuditFilter};

pub(super) fn record(tx: &Transaction<'_>, e: &AuditEvent) -> Result<(), IndexError> {
    tx.prepare_cached(
        "INSERT INTO audit_events (at, username, role, action, study_uid, detail, address, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.at,
        e.user,
        e.role,
        e.action,
        e.study_uid,
        e.detail,
        e.address,
        e.outcome
    ])?;
    Ok(())
}

/// The events `f` selects, newest first, one page of them, with how many
/// there are in all.
pub(super) fn events(
    c: &Connection,
    f: &AuditFilter,
) -> Result<(u64, Vec<AuditEvent>), IndexError> {
    let mut params: Vec<Value> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    let mut add = |cond: &str, v: Value| {
        params.push(v);
        conds.push(cond.replace('?', &format!("?{}", params.len())));
    };
    if let Some(u) = &f.user {
        add("username = ?", Value::Text(u.clone()));
    }
    if let Some(a) = &f.action {
        add("action = ?", Value::Text(a.clone()));
    }
    if let Some(s) = &f.study_uid {
        add("study_uid = ?", Value::Text(s.clone()));
    }
    if let Some(t) = f.from {
        add("at >= ?", Value::Integer(t));
    }
    if let Some(t) = f.to {
        add("at < ?", Value::Integer(t));
    }
    let where_sql = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let total: i64 = c.query_row(
        &format!("SELECT count(*) FROM audit_events {where_sql}"),
        params_from_iter(params.iter()),
        |r| r.get(0),
    )?;
    params.push(Value::Integer(f.limit.max(1) as i64));
    params.push(Value::Integer(i64::try_from(f.offset).unwrap_or(i64::MAX)));
    let n = params.len();
    let events = c
        .prepare(&format!(
            "SELECT id, at, username, role, action, study_uid, detail, address, outcome
             FROM audit_events {where_sql} ORDER BY id DESC LIMIT ?{} OFFSET ?{n}",
            n - 1
        ))?
        .query_map(params_from_iter(params.iter()), row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total as u64, events))
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.get(0)?,
        at: r.get(1)?,
        user: r.get(2)?,
        role: r.get(3)?,
        action: r.get(4)?,
        study_uid: r.get(5)?,
        detail: r.get(6)?,
        address: r.get(7)?,
        outcome: r.get(8)?,
    })
}
