//! Sharing a study: with a referrer's account (`study_shares`), and by
//! read-only links (share sessions in `sessions`).

use rusqlite::{Connection, Transaction, params};

use crate::error::IndexError;
use crate::forward::Millis;
use crate::workflow::ShareLinkInfo;

/// The live read-only links to study ?1, made by ?2 (anyone's when NULL),
/// at time ?3.
const LIVE_SHARE_LINKS: &str = "kind = 'share' AND study_uid = ?1
    AND (?2 IS NULL OR username = ?2) AND revoked_at IS NULL
    AND (expires_at IS NULL OR expires_at > ?3)";

pub(super) fn share(
    tx: &Transaction<'_>,
    study_uid: &str,
    username: &str,
    by: &str,
    now: Millis,
) -> Result<(), IndexError> {
    tx.execute(
        "INSERT OR IGNORE INTO study_shares (study_uid, username, shared_by, shared_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![study_uid, username, by, now],
    )?;
    Ok(())
}

/// Withdraws `username`'s shares of the study that `shared_by` made, or
/// everyone's for `None`; how many.
pub(super) fn unshare(
    tx: &Transaction<'_>,
    study_uid: &str,
    username: &str,
    shared_by: Option<&str>,
) -> Result<u64, IndexError> {
    let n = tx.execute(
        "DELETE FROM study_shares
         WHERE study_uid = ?1 AND username = ?2 AND (?3 IS NULL OR shared_by = ?3)",
        params![study_uid, username, shared_by],
    )?;
    Ok(n as u64)
}

pub(super) fn links(
    c: &Connection,
    study_uid: &str,
    created_by: Option<&str>,
    now: Millis,
) -> Result<Vec<ShareLinkInfo>, IndexError> {
    Ok(c.prepare_cached(&format!(
        "SELECT id, study_uid, username, created_at, expires_at FROM sessions
         WHERE {LIVE_SHARE_LINKS} ORDER BY id"
    ))?
    .query_map(params![study_uid, created_by, now], |r| {
        Ok(ShareLinkInfo {
            id: r.get(0)?,
            study_uid: r.get(1)?,
            created_by: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            created_at: r.get(3)?,
            expires_at: r.get(4)?,
        })
    })?
    .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn withdraw_links(
    tx: &Transaction<'_>,
    study_uid: &str,
    created_by: Option<&str>,
    now: Millis,
) -> Result<u64, IndexError> {
    Ok(tx.execute(
        &format!("UPDATE sessions SET revoked_at = ?3 WHERE {LIVE_SHARE_LINKS}"),
        params![study_uid, created_by, now],
    )? as u64)
}
