//! [`Workflow`] on SQLite: the accounts of `accounts.rs`, sites,
//! sessions, the reading tasks and reports of `reading.rs` and the audit
//! trail of `audit.rs`. Writes go through the index's one writer thread,
//! reads through its reader pool.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::accounts::{self, ACCOUNT_COLUMNS, account_row, split_list};
use super::sign_in::OwnedAttempt;
use super::sqlite::SqliteIndex;
use super::{audit, reading, sharing, sign_in};
use crate::error::IndexError;
use crate::forward::{Millis, Priority, millis};
use crate::workflow::{
    Account, Acknowledgement, Addendum, AuditEvent, AuditFilter, Critical, Draft, KeyImageRef,
    LockError, ProviderSignIn, ReportRecord, Session, SessionKind, ShareLinkInfo, SignInAttempt,
    SignInLimits, SignInVerdict, SignedVersion, SiteRecord, StudyScope, Task, TaskFilter,
    TokenInfo, Workflow,
};

impl SqliteIndex {
    async fn task_after(&self, study_uid: &str, now: Millis) -> Result<Option<Task>, IndexError> {
        let uid = study_uid.to_owned();
        self.read(move |c| reading::task(c, &uid, now)).await
    }

    /// Runs `lock` (a claim or a renewal) in one transaction and returns
    /// the task as it then stands.
    async fn take_lock<F>(
        &self,
        study_uid: &str,
        now: Millis,
        lock: F,
    ) -> Result<Result<Task, LockError>, IndexError>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<Result<(), LockError>, IndexError>
            + Send
            + 'static,
    {
        if let Err(e) = self.write(lock).await? {
            return Ok(Err(e));
        }
        Ok(self
            .task_after(study_uid, now)
            .await?
            .ok_or(LockError::NoStudy))
    }

    async fn version(&self, study_uid: &str, version: u32) -> Result<SignedVersion, IndexError> {
        let uid = study_uid.to_owned();
        let all = self.read(move |c| reading::versions(c, &uid)).await?;
        all.into_iter()
            .find(|v| v.version == version)
            .ok_or_else(|| IndexError::Database("a signed version vanished".into()))
    }
}

#[async_trait]
impl Workflow for SqliteIndex {
    async fn add_account(&self, a: Account) -> Result<(), IndexError> {
        let now = crate::forward::now_millis();
        self.write(move |tx| accounts::put(tx, &a, now)).await
    }

    async fn sign_in_from_provider(&self, a: Account) -> Result<ProviderSignIn, IndexError> {
        self.write(move |tx| accounts::put_from_provider(tx, &a))
            .await
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, IndexError> {
        let username = username.to_owned();
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = ?1"
            ))?
            .query_row([username], account_row)
            .optional()?)
        })
        .await
    }

    async fn accounts(&self) -> Result<Vec<Account>, IndexError> {
        self.read(|c| {
            Ok(c.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY username"
            ))?
            .query_map([], account_row)?
            .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn account_count(&self) -> Result<u64, IndexError> {
        self.read(|c| {
            // Asked by every request to an archive without accounts.
            Ok(c.prepare_cached("SELECT count(*) FROM accounts")?
                .query_row([], |r| r.get::<_, i64>(0))? as u64)
        })
        .await
    }

    async fn set_password(&self, username: &str, hash: &str) -> Result<bool, IndexError> {
        let (username, hash) = (username.to_owned(), hash.to_owned());
        let now = crate::forward::now_millis();
        self.write(move |tx| accounts::set_password(tx, &username, &hash, now))
            .await
    }

    async fn disable_account(&self, username: &str, now: Millis) -> Result<bool, IndexError> {
        let username = username.to_owned();
        self.write(move |tx| accounts::disable(tx, &username, now))
            .await
    }

    async fn login_attempt(
        &self,
        attempt: SignInAttempt<'_>,
        now: Millis,
        limits: SignInLimits,
    ) -> Result<SignInVerdict, IndexError> {
        let owned = OwnedAttempt::of(attempt);
        self.write(move |tx| sign_in::attempt(tx, owned.borrow(), now, limits))
            .await
    }

    async fn login_succeeded(
        &self,
        attempt: SignInAttempt<'_>,
        now: Millis,
    ) -> Result<(), IndexError> {
        let owned = OwnedAttempt::of(attempt);
        self.write(move |tx| sign_in::succeeded(tx, owned.borrow(), now))
            .await
    }

    async fn failures_by_name(&self) -> Result<Vec<(String, u64, Millis)>, IndexError> {
        self.read(|c| {
            Ok(c.prepare(
                "SELECT username, sum(failures), max(last_at) FROM sign_in_failures
                 GROUP BY username",
            )?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn put_site(&self, site: SiteRecord) -> Result<(), IndexError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sites (name, ae_titles, addresses, priority) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET ae_titles = excluded.ae_titles,
                    addresses = excluded.addresses, priority = excluded.priority",
                params![
                    site.name,
                    site.ae_titles.join(","),
                    site.addresses.join(","),
                    site.priority.rank()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn sites(&self) -> Result<Vec<SiteRecord>, IndexError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT name, ae_titles, addresses, priority FROM sites ORDER BY name",
            )?
            .query_map([], |r| {
                Ok(SiteRecord {
                    name: r.get(0)?,
                    ae_titles: split_list(&r.get::<_, String>(1)?),
                    addresses: split_list(&r.get::<_, String>(2)?),
                    priority: Priority::from_rank(r.get(3)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn add_session(
        &self,
        token_hash: &str,
        kind: SessionKind,
        now: Millis,
        expires_at: Option<Millis>,
    ) -> Result<i64, IndexError> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            let (k, username, site, study, label) = match kind {
                SessionKind::User { username } => ("user", Some(username), None, None, None),
                SessionKind::Machine { site, label } => {
                    ("machine", None, Some(site), None, Some(label))
                }
                SessionKind::Share {
                    study_uid,
                    created_by,
                } => ("share", Some(created_by), None, Some(study_uid), None),
            };
            tx.execute(
                "INSERT INTO sessions (token_hash, kind, username, site, study_uid, label,
                    created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![token_hash, k, username, site, study, label, now, expires_at],
            )?;
            Ok(tx.last_insert_rowid())
        })
        .await
    }

    async fn session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>, IndexError> {
        let token_hash = token_hash.to_owned();
        let found = self
            .read(move |c| {
                Ok(c.prepare_cached(
                    "SELECT s.id, s.kind, s.username, s.site, s.study_uid, s.label, s.expires_at
                     FROM sessions s LEFT JOIN accounts a ON a.username = s.username
                     WHERE s.token_hash = ?1 AND s.revoked_at IS NULL
                       AND (s.expires_at IS NULL OR s.expires_at > ?2)
                       AND (s.kind = 'machine' OR (a.username IS NOT NULL AND a.disabled = 0))",
                )?
                .query_row(params![token_hash, now], |r| {
                    let kind: String = r.get(1)?;
                    let username: Option<String> = r.get(2)?;
                    let kind = match kind.as_str() {
                        "machine" => SessionKind::Machine {
                            site: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                            label: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        },
                        "share" => SessionKind::Share {
                            study_uid: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                            created_by: username.unwrap_or_default(),
                        },
                        _ => SessionKind::User {
                            username: username.unwrap_or_default(),
                        },
                    };
                    Ok(Session {
                        id: r.get(0)?,
                        kind,
                        expires_at: r.get(6)?,
                    })
                })
                .optional()?)
            })
            .await?;
        // Machine tokens say when they were last used; a person's session
        // does not need a write on every request.
        if let Some(Session {
            id,
            kind: SessionKind::Machine { .. },
            ..
        }) = &found
        {
            let id = *id;
            self.write(move |tx| {
                tx.execute(
                    "UPDATE sessions SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60000)",
                    params![id, now],
                )?;
                Ok(())
            })
            .await?;
        }
        Ok(found)
    }

    async fn revoke_session(&self, token_hash: &str, now: Millis) -> Result<bool, IndexError> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            Ok(tx.execute(
                "UPDATE sessions SET revoked_at = ?2
                 WHERE token_hash = ?1 AND kind = 'user' AND revoked_at IS NULL",
                params![token_hash, now],
            )? > 0)
        })
        .await
    }

    async fn revoke_token(&self, id: i64, now: Millis) -> Result<bool, IndexError> {
        self.write(move |tx| {
            Ok(tx.execute(
                "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND kind = 'machine' AND revoked_at IS NULL",
                params![id, now],
            )? > 0)
        })
        .await
    }

    async fn machine_tokens(&self) -> Result<Vec<TokenInfo>, IndexError> {
        self.read(|c| {
            Ok(c.prepare(
                "SELECT id, site, label, created_at, last_used_at, revoked_at FROM sessions
                 WHERE kind = 'machine' ORDER BY id",
            )?
            .query_map([], |r| {
                Ok(TokenInfo {
                    id: r.get(0)?,
                    site: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    label: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    created_at: r.get(3)?,
                    last_used_at: r.get(4)?,
                    revoked_at: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn study_visible(&self, scope: &StudyScope, study_uid: &str) -> Result<bool, IndexError> {
        let (scope, uid) = (scope.clone(), study_uid.to_owned());
        self.read(move |c| reading::study_visible(c, &scope, &uid))
            .await
    }

    async fn share(
        &self,
        study_uid: &str,
        username: &str,
        by: &str,
        now: Millis,
    ) -> Result<(), IndexError> {
        let (uid, user, by) = (study_uid.to_owned(), username.to_owned(), by.to_owned());
        self.write(move |tx| sharing::share(tx, &uid, &user, &by, now))
            .await
    }

    async fn unshare(
        &self,
        study_uid: &str,
        username: &str,
        shared_by: Option<&str>,
    ) -> Result<u64, IndexError> {
        let (uid, user) = (study_uid.to_owned(), username.to_owned());
        let by = shared_by.map(str::to_owned);
        self.write(move |tx| sharing::unshare(tx, &uid, &user, by.as_deref()))
            .await
    }

    async fn share_links(
        &self,
        study_uid: &str,
        created_by: Option<&str>,
        now: Millis,
    ) -> Result<Vec<ShareLinkInfo>, IndexError> {
        let (uid, by) = (study_uid.to_owned(), created_by.map(str::to_owned));
        self.read(move |c| sharing::links(c, &uid, by.as_deref(), now))
            .await
    }

    async fn withdraw_share_links(
        &self,
        study_uid: &str,
        created_by: Option<&str>,
        now: Millis,
    ) -> Result<u64, IndexError> {
        let (uid, by) = (study_uid.to_owned(), created_by.map(str::to_owned));
        self.write(move |tx| sharing::withdraw_links(tx, &uid, by.as_deref(), now))
            .await
    }

    async fn tasks(
        &self,
        scope: &StudyScope,
        filter: &TaskFilter,
        now: Millis,
    ) -> Result<(u64, Vec<Task>), IndexError> {
        let (scope, filter) = (scope.clone(), filter.clone());
        self.read(move |c| reading::tasks(c, &scope, &filter, now))
            .await
    }

    async fn task(&self, study_uid: &str, now: Millis) -> Result<Option<Task>, IndexError> {
        self.task_after(study_uid, now).await
    }

    async fn renew(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
        lease: Duration,
        used: Millis,
        idle_limit: Option<Duration>,
    ) -> Result<Result<Task, LockError>, IndexError> {
        let (uid, user) = (study_uid.to_owned(), user.to_owned());
        let renewal = reading::Renewal {
            until: now.saturating_add(millis(lease)),
            used,
            idle_limit: idle_limit.map(millis),
        };
        self.take_lock(study_uid, now, move |tx| {
            reading::renew(tx, &uid, &user, now, renewal)
        })
        .await
    }

    async fn claim(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
        lease: Duration,
    ) -> Result<Result<Task, LockError>, IndexError> {
        let (uid, user) = (study_uid.to_owned(), user.to_owned());
        let until = now.saturating_add(millis(lease));
        self.take_lock(study_uid, now, move |tx| {
            reading::claim(tx, &uid, &user, now, until)
        })
        .await
    }

    async fn release(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
    ) -> Result<Option<Task>, IndexError> {
        let (uid, user) = (study_uid.to_owned(), user.to_owned());
        self.write(move |tx| reading::release(tx, &uid, Some(&user), now))
            .await?;
        self.task_after(study_uid, now).await
    }

    async fn break_lock(&self, study_uid: &str, now: Millis) -> Result<Option<Task>, IndexError> {
        let uid = study_uid.to_owned();
        self.write(move |tx| reading::release(tx, &uid, None, now))
            .await?;
        self.task_after(study_uid, now).await
    }

    async fn assign(
        &self,
        study_uid: &str,
        user: Option<&str>,
        now: Millis,
    ) -> Result<Option<Task>, IndexError> {
        let (uid, user) = (study_uid.to_owned(), user.map(str::to_owned));
        self.write(move |tx| {
            tx.execute(
                "UPDATE reading_tasks SET assigned_to = ?2, updated_at = ?3 WHERE study_uid = ?1",
                params![uid, user, now],
            )?;
            Ok(())
        })
        .await?;
        self.task_after(study_uid, now).await
    }

    async fn set_priority(
        &self,
        study_uid: &str,
        priority: Priority,
        now: Millis,
    ) -> Result<Option<Task>, IndexError> {
        let uid = study_uid.to_owned();
        self.write(move |tx| {
            tx.execute(
                "UPDATE reading_tasks SET priority = ?2, updated_at = ?3 WHERE study_uid = ?1",
                params![uid, priority.rank(), now],
            )?;
            Ok(())
        })
        .await?;
        self.task_after(study_uid, now).await
    }

    async fn attach_site(&self, study_uid: &str, site: &str) -> Result<(), IndexError> {
        let (uid, site) = (study_uid.to_owned(), site.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO study_sites (study_uid, site) VALUES (?1, ?2)",
                params![uid, site],
            )?;
            tx.execute(
                "UPDATE reading_tasks SET site = coalesce(site, ?2) WHERE study_uid = ?1",
                params![uid, site],
            )?;
            Ok(())
        })
        .await
    }

    async fn report(
        &self,
        study_uid: &str,
        now: Millis,
    ) -> Result<Option<ReportRecord>, IndexError> {
        let uid = study_uid.to_owned();
        self.read(move |c| reading::report(c, &uid, now)).await
    }

    async fn save_draft(
        &self,
        study_uid: &str,
        draft: Draft,
        now: Millis,
    ) -> Result<Result<(), LockError>, IndexError> {
        let uid = study_uid.to_owned();
        self.write(move |tx| reading::save_draft(tx, &uid, &draft, now))
            .await
    }

    async fn mark_preliminary(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
    ) -> Result<Result<(), LockError>, IndexError> {
        let (uid, user) = (study_uid.to_owned(), user.to_owned());
        self.write(move |tx| reading::mark_preliminary(tx, &uid, &user, now))
            .await
    }

    async fn sign(
        &self,
        study_uid: &str,
        user: &str,
        now: Millis,
    ) -> Result<Result<SignedVersion, LockError>, IndexError> {
        let (uid, user) = (study_uid.to_owned(), user.to_owned());
        match self
            .write(move |tx| reading::sign(tx, &uid, &user, now))
            .await?
        {
            Ok(version) => Ok(Ok(self.version(study_uid, version).await?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn add_addendum(
        &self,
        study_uid: &str,
        user: &str,
        addendum: &Addendum,
        now: Millis,
    ) -> Result<Result<SignedVersion, LockError>, IndexError> {
        let (uid, user, addendum) = (study_uid.to_owned(), user.to_owned(), addendum.clone());
        match self
            .write(move |tx| reading::add_addendum(tx, &uid, &user, &addendum, now))
            .await?
        {
            Ok(version) => Ok(Ok(self.version(study_uid, version).await?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn set_key_image(
        &self,
        study_uid: &str,
        image: &KeyImageRef,
        user: &str,
        present: bool,
        now: Millis,
    ) -> Result<Result<(), LockError>, IndexError> {
        let (uid, image, user) = (study_uid.to_owned(), image.clone(), user.to_owned());
        self.write(move |tx| {
            if let Err(e) = reading::require_lock(tx, &uid, &user, now)? {
                return Ok(Err(e));
            }
            if present {
                tx.execute(
                    "INSERT OR IGNORE INTO key_images (study_uid, series_uid, sop_uid, frame, added_by, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![uid, image.series_uid, image.sop_uid, image.frame, user, now],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM key_images WHERE study_uid = ?1 AND sop_uid = ?2 AND frame = ?3",
                    params![uid, image.sop_uid, image.frame],
                )?;
            }
            Ok(Ok(()))
        })
        .await
    }

    async fn flag_critical(
        &self,
        study_uid: &str,
        user: &str,
        note: &str,
        now: Millis,
    ) -> Result<(), IndexError> {
        let (uid, user, note) = (study_uid.to_owned(), user.to_owned(), note.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO critical_findings (study_uid, note, flagged_by, flagged_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (study_uid) DO UPDATE
                    SET note = critical_findings.note || char(10) || excluded.note,
                    flagged_by = excluded.flagged_by, flagged_at = excluded.flagged_at,
                    acknowledged_by = NULL, acknowledged_at = NULL",
                params![uid, note, user, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn acknowledge_critical(
        &self,
        study_uid: &str,
        user: &str,
        seen: Option<&str>,
        now: Millis,
    ) -> Result<Acknowledgement, IndexError> {
        let (uid, user) = (study_uid.to_owned(), user.to_owned());
        let seen = seen.map(str::to_owned);
        self.write(move |tx| {
            let open: Option<String> = tx
                .query_row(
                    "SELECT note FROM critical_findings
                     WHERE study_uid = ?1 AND acknowledged_at IS NULL",
                    [&uid],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(note) = open else {
                return Ok(Acknowledgement::NoneOpen);
            };
            if seen.is_some_and(|seen| seen != note) {
                return Ok(Acknowledgement::Changed);
            }
            tx.execute(
                "UPDATE critical_findings SET acknowledged_by = ?2, acknowledged_at = ?3
                 WHERE study_uid = ?1 AND acknowledged_at IS NULL",
                params![uid, user, now],
            )?;
            Ok(Acknowledgement::Done { note })
        })
        .await
    }

    async fn open_criticals(
        &self,
        scope: &StudyScope,
        now: Millis,
    ) -> Result<Vec<(Task, Critical)>, IndexError> {
        let scope = scope.clone();
        self.read(move |c| reading::open_criticals(c, &scope, now))
            .await
    }

    async fn audit(&self, e: AuditEvent) -> Result<(), IndexError> {
        self.write(move |tx| audit::record(tx, &e)).await
    }

    async fn audit_events(&self, f: &AuditFilter) -> Result<(u64, Vec<AuditEvent>), IndexError> {
        let f = f.clone();
        self.read(move |c| audit::events(c, &f)).await
    }

    async fn put_pending_login(
        &self,
        state: &str,
        data: &str,
        now: Millis,
    ) -> Result<(), IndexError> {
        let (state, data) = (state.to_owned(), data.to_owned());
        self.write(move |tx| {
            // Sign-ins abandoned for an hour are forgotten.
            tx.execute(
                "DELETE FROM pending_logins WHERE created_at < ?1",
                [now - 3_600_000],
            )?;
            tx.execute(
                "INSERT INTO pending_logins (state, data, created_at) VALUES (?1, ?2, ?3)",
                params![state, data, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_pending_login(&self, state: &str) -> Result<Option<String>, IndexError> {
        let state = state.to_owned();
        self.write(move |tx| {
            let data: Option<String> = tx
                .query_row(
                    "SELECT data FROM pending_logins WHERE state = ?1",
                    [&state],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute("DELETE FROM pending_logins WHERE state = ?1", [&state])?;
            Ok(data)
        })
        .await
    }
}
