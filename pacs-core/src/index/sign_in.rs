//! Failed sign-ins, per user name and client address (`sign_in_failures`),
//! and the browsers each name signed in from (`sign_in_devices`), for
//! [`crate::workflow::Workflow::login_attempt`]: run inside the index
//! writer's transaction, so that attempts sent at once are counted one
//! after another.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::IndexError;
use crate::forward::{Millis, millis};
use crate::workflow::{LockScope, SignInAttempt, SignInLimits, SignInLock, SignInVerdict};

/// The longest user name kept with a failed sign-in: no account has a
/// longer one, and a guesser's megabyte-long names are not stored whole.
const MAX_NAME_KEPT: usize = 256;

/// `username` as failed sign-ins keep it: at most [`MAX_NAME_KEPT`] characters.
fn name_kept(username: &str) -> String {
    username.chars().take(MAX_NAME_KEPT).collect()
}

/// How long a browser stays one a name signs in from, unused.
const DEVICE_KEPT: Millis = 180 * 24 * 60 * 60 * 1000;

/// The most browsers remembered per name: the ones used last.
const DEVICES_PER_NAME: i64 = 32;

/// Counts an attempt (see the trait).
pub(super) fn attempt(
    tx: &Transaction<'_>,
    attempt: SignInAttempt<'_>,
    now: Millis,
    limits: SignInLimits,
) -> Result<SignInVerdict, IndexError> {
    let username = name_kept(attempt.username);
    let address = attempt.address;
    let lock_for = millis(limits.lock_for);
    let lock = |until, scope| SignInLock { until, scope };
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
        return Ok(SignInVerdict::Refused(lock(
            locked,
            LockScope::NameFromAddress,
        )));
    }
    let (from_address, newest): (i64, Option<Millis>) = tx
        .prepare_cached(
            "SELECT coalesce(sum(failures), 0), max(last_at) FROM sign_in_failures
             WHERE address = ?1",
        )?
        .query_row([address], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let capped = limits.per_address > 0;
    if capped && from_address >= i64::from(limits.per_address) {
        let until = newest.unwrap_or(now).saturating_add(lock_for);
        return Ok(SignInVerdict::Refused(lock(until, LockScope::Address)));
    }
    // Many addresses guessing one name: refused, except from the browsers
    // the name has signed in from, which its person is likely at.
    let mut under_name = None;
    if limits.per_account > 0 && !known_device(tx, &username, attempt.device)? {
        let (count, newest): (i64, Option<Millis>) = tx
            .prepare_cached(
                "SELECT coalesce(sum(failures), 0), max(last_at) FROM sign_in_failures
                 WHERE username = ?1",
            )?
            .query_row([&username], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if count >= i64::from(limits.per_account) {
            let until = newest.unwrap_or(now).saturating_add(lock_for);
            return Ok(SignInVerdict::Refused(lock(until, LockScope::Name)));
        }
        under_name = Some(count);
    }
    let until = now.saturating_add(lock_for);
    let name_locked = failures + 1 >= i64::from(limits.per_name);
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
    let reached = |count: i64, limit: u32| limit > 0 && count + 1 >= i64::from(limit);
    let scope = if name_locked {
        Some(LockScope::NameFromAddress)
    } else if reached(from_address, limits.per_address) {
        Some(LockScope::Address)
    } else if under_name.is_some_and(|count| reached(count, limits.per_account)) {
        Some(LockScope::Name)
    } else {
        None
    };
    Ok(SignInVerdict::Check {
        lock_if_wrong: scope.map(|scope| lock(until, scope)),
    })
}

/// Whether `device` (a cookie's SHA-256) is a browser `username` signed
/// in from.
fn known_device(
    tx: &Transaction<'_>,
    username: &str,
    device: Option<&str>,
) -> Result<bool, IndexError> {
    let Some(device) = device else {
        return Ok(false);
    };
    Ok(tx
        .prepare_cached("SELECT 1 FROM sign_in_devices WHERE token_hash = ?1 AND username = ?2")?
        .query_row(params![device, username], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A correct password: the failures under the name from the address go,
/// and the browser is remembered as one the name signs in from.
pub(super) fn succeeded(
    tx: &Transaction<'_>,
    attempt: SignInAttempt<'_>,
    now: Millis,
) -> Result<(), IndexError> {
    let username = name_kept(attempt.username);
    tx.prepare_cached("DELETE FROM sign_in_failures WHERE username = ?1 AND address = ?2")?
        .execute(params![username, attempt.address])?;
    let Some(device) = attempt.device else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT INTO sign_in_devices (token_hash, username, last_used) VALUES (?1, ?2, ?3)
         ON CONFLICT (token_hash, username) DO UPDATE SET last_used = excluded.last_used",
    )?
    .execute(params![device, username, now])?;
    tx.prepare_cached("DELETE FROM sign_in_devices WHERE last_used < ?1")?
        .execute([now.saturating_sub(DEVICE_KEPT)])?;
    tx.prepare_cached(
        "DELETE FROM sign_in_devices WHERE username = ?1 AND token_hash NOT IN
            (SELECT token_hash FROM sign_in_devices WHERE username = ?1
             ORDER BY last_used DESC LIMIT ?2)",
    )?
    .execute(params![username, DEVICES_PER_NAME])?;
    Ok(())
}

/// A new password, or an account disabled: every lock on the name ends,
/// from wherever, and the name is to sign in anew before any browser is
/// one it signs in from (an intruder's among them).
pub(super) fn forget(tx: &Transaction<'_>, username: &str) -> Result<(), IndexError> {
    let username = name_kept(username);
    tx.prepare_cached("DELETE FROM sign_in_failures WHERE username = ?1")?
        .execute([&username])?;
    tx.prepare_cached("DELETE FROM sign_in_devices WHERE username = ?1")?
        .execute([&username])?;
    Ok(())
}

/// A [`SignInAttempt`] that owns its strings, to hand to the index writer.
pub(super) struct OwnedAttempt {
    username: String,
    address: String,
    device: Option<String>,
}

impl OwnedAttempt {
    pub(super) fn of(attempt: SignInAttempt<'_>) -> OwnedAttempt {
        OwnedAttempt {
            username: attempt.username.to_owned(),
            address: attempt.address.to_owned(),
            device: attempt.device.map(str::to_owned),
        }
    }

    pub(super) fn borrow(&self) -> SignInAttempt<'_> {
        SignInAttempt {
            username: &self.username,
            address: &self.address,
            device: self.device.as_deref(),
        }
    }
}
