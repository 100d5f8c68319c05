//! Failed sign-ins, per user name and client address (`sign_in_failures`),
//! for [`crate::workflow::Workflow::login_attempt`]: run inside the index
//! writer's transaction, so that attempts sent at once are counted one
//! after another.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::IndexError;
use crate::forward::{Millis, millis};
use crate::workflow::SignInLimits;

/// The longest user name kept with a failed sign-in: no account has a
/// longer one, and a guesser's megabyte-long names are not stored whole.
const MAX_NAME_KEPT: usize = 256;

/// `username` as failed sign-ins keep it: at most [`MAX_NAME_KEPT`] characters.
fn name_kept(username: &str) -> String {
    username.chars().take(MAX_NAME_KEPT).collect()
}

/// Counts an attempt under `username` from `address` (see the trait).
pub(super) fn attempt(
    tx: &Transaction<'_>,
    username: &str,
    address: &str,
    now: Millis,
    limits: SignInLimits,
) -> Result<Result<Option<Millis>, Millis>, IndexError> {
    let username = name_kept(username);
    let lock_for = millis(limits.lock_for);
    // What is older than a lock is forgotten: this also bounds the table
    // under a flood of made-up names.
    tx.prepare_cached("DELETE FROM sign_in_failures WHERE last_at < ?1")?
        .execute([now.saturating_sub(lock_for)])?;
    let (failures, locked): (i64, Millis) = tx
        .prepare_cached(
            "SELECT failures, locked_until FROM sign_in_failures
             WHERE username = ?1 AND address = ?2",
        )?
        .query_row(params![username, address], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, 0));
    if locked > now {
        return Ok(Err(locked));
    }
    let (from_address, newest): (i64, Option<Millis>) = tx
        .prepare_cached(
            "SELECT coalesce(sum(failures), 0), max(last_at) FROM sign_in_failures
             WHERE address = ?1",
        )?
        .query_row([address], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let capped = limits.per_address > 0;
    if capped && from_address >= i64::from(limits.per_address) {
        return Ok(Err(newest.unwrap_or(now).saturating_add(lock_for)));
    }
    let until = now.saturating_add(lock_for);
    let name_locked = failures + 1 >= i64::from(limits.per_name);
    let address_locked = capped && from_address + 1 >= i64::from(limits.per_address);
    tx.prepare_cached(
        "INSERT INTO sign_in_failures (username, address, failures, last_at, locked_until)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (username, address) DO UPDATE SET failures = excluded.failures,
            last_at = excluded.last_at, locked_until = excluded.locked_until",
    )?
    .execute(params![
        username,
        address,
        failures + 1,
        now,
        if name_locked { until } else { 0 }
    ])?;
    Ok(Ok((name_locked || address_locked).then_some(until)))
}

/// A correct password: the failures under the name from the address go.
pub(super) fn succeeded(
    tx: &Transaction<'_>,
    username: &str,
    address: &str,
) -> Result<(), IndexError> {
    tx.prepare_cached("DELETE FROM sign_in_failures WHERE username = ?1 AND address = ?2")?
        .execute(params![name_kept(username), address])?;
    Ok(())
}

/// A new password: every lock on the name ends, from wherever.
pub(super) fn forget(tx: &Transaction<'_>, username: &str) -> Result<(), IndexError> {
    tx.prepare_cached("DELETE FROM sign_in_failures WHERE username = ?1")?
        .execute([name_kept(username)])?;
    Ok(())
}
