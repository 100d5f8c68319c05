//! The accounts table: who may sign in, with which role and sites, and
//! what a change of password or a disabling ends with it.

use rusqlite::{OptionalExtension, Transaction, params};

use super::sign_in;
use crate::error::IndexError;
use crate::forward::Millis;
use crate::workflow::{Account, ProviderSignIn, Role, physician_key};

pub(super) const ACCOUNT_COLUMNS: &str =
    "username, display_name, role, site, reading_sites, physician_name,
    password_hash, disabled,
    (SELECT coalesce(max(f.locked_until), 0) FROM sign_in_failures f
     WHERE f.username = accounts.username),
    oidc_subject";

pub(super) fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    let role: String = r.get(2)?;
    let reading: String = r.get(4)?;
    Ok(Account {
        username: r.get(0)?,
        display_name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Referrer),
        site: r.get(3)?,
        reading_sites: split_list(&reading),
        physician_name: r.get(5)?,
        password_hash: r.get(6)?,
        disabled: r.get::<_, i64>(7)? != 0,
        locked_until: r.get(8)?,
        oidc_subject: r.get(9)?,
    })
}

pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Signs out a person's sessions (not the read-only links they made).
fn revoke_user_sessions(
    tx: &rusqlite::Transaction<'_>,
    username: &str,
    now: Millis,
) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE sessions SET revoked_at = ?2
         WHERE username = ?1 AND kind = 'user' AND revoked_at IS NULL",
        params![username, now],
    )
}

/// Creates or updates an account; a new password signs out its sessions
/// and ends the locks on its name.
pub(super) fn put(tx: &Transaction<'_>, a: &Account, now: Millis) -> Result<(), IndexError> {
    let old_hash: Option<Option<String>> = tx
        .query_row(
            "SELECT password_hash FROM accounts WHERE username = ?1",
            [&a.username],
            |r| r.get(0),
        )
        .optional()?;
    tx.execute(
        "INSERT INTO accounts (username, display_name, role, site, reading_sites,
                physician_name, physician_key, password_hash, disabled, oidc_subject)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name,
                role = excluded.role, site = excluded.site,
                reading_sites = excluded.reading_sites,
                physician_name = excluded.physician_name,
                physician_key = excluded.physician_key,
                password_hash = coalesce(excluded.password_hash, password_hash),
                disabled = excluded.disabled,
                oidc_subject = coalesce(excluded.oidc_subject, oidc_subject)",
        params![
            a.username,
            a.display_name,
            a.role.as_str(),
            a.site,
            a.reading_sites.join(","),
            a.physician_name,
            a.physician_name.as_deref().map(physician_key),
            a.password_hash,
            a.disabled as i64,
            a.oidc_subject,
        ],
    )?;
    // Whoever knew the old password is signed out.
    if let Some(old_hash) = old_hash
        && a.password_hash.is_some()
        && old_hash != a.password_hash
    {
        revoke_user_sessions(tx, &a.username, now)?;
    }
    // A new password ends the locks on the name.
    if a.password_hash.is_some() {
        sign_in::forget(tx, &a.username)?;
    }
    Ok(())
}

/// A sign-in through the identity provider, as one guarded statement:
/// see [`crate::workflow::Workflow::sign_in_from_provider`].
pub(super) fn put_from_provider(
    tx: &Transaction<'_>,
    a: &Account,
) -> Result<ProviderSignIn, IndexError> {
    let known_as: Option<String> = tx
        .query_row(
            "SELECT username FROM accounts WHERE oidc_subject = ?1 AND username <> ?2",
            params![a.oidc_subject, a.username],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(name) = known_as {
        return Ok(ProviderSignIn::KnownAs(name));
    }
    // The WHERE of the update is checked against the row as it is
    // when written, not as it was read.
    let changed = tx.execute(
        "INSERT INTO accounts (username, display_name, role, site, reading_sites,
                physician_name, physician_key, password_hash, disabled, oidc_subject)
             VALUES (?1, ?2, ?3, ?4, '', NULL, NULL, NULL, 0, ?5)
             ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name,
                role = excluded.role, site = coalesce(excluded.site, accounts.site)
             WHERE accounts.oidc_subject = excluded.oidc_subject
                AND accounts.disabled = 0",
        params![
            a.username,
            a.display_name,
            a.role.as_str(),
            a.site,
            a.oidc_subject,
        ],
    )?;
    Ok(if changed > 0 {
        ProviderSignIn::Saved
    } else {
        ProviderSignIn::Refused
    })
}

/// A new password: the locks on the name end and its sessions too.
pub(super) fn set_password(
    tx: &Transaction<'_>,
    username: &str,
    hash: &str,
    now: Millis,
) -> Result<bool, IndexError> {
    let changed = tx.execute(
        "UPDATE accounts SET password_hash = ?2 WHERE username = ?1",
        params![username, hash],
    )? > 0;
    // A new password ends the locks on the name.
    sign_in::forget(tx, username)?;
    // Whoever knew the old password is signed out.
    revoke_user_sessions(tx, username, now)?;
    Ok(changed)
}

/// Disables an account for good (see
/// [`crate::workflow::Workflow::disable_account`]).
pub(super) fn disable(
    tx: &Transaction<'_>,
    username: &str,
    now: Millis,
) -> Result<bool, IndexError> {
    let found = tx.execute(
        "UPDATE accounts SET disabled = 1, password_hash = NULL WHERE username = ?1",
        [&username],
    )? > 0;
    tx.execute(
        "UPDATE sessions SET revoked_at = ?2
             WHERE username = ?1 AND kind IN ('user', 'share') AND revoked_at IS NULL",
        params![username, now],
    )?;
    sign_in::forget(tx, username)?;
    Ok(found)
}
