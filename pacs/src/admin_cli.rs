//! `pacs user`, `pacs site` and `pacs token`: accounts, sending sites and
//! gateway tokens, written straight to the index database (also while the
//! server runs). Passwords come on standard input, never as arguments,
//! so they stay out of shell history and process lists. Every change is
//! on the audit trail, made by the operator at the server's console.

use std::io::BufRead;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use pacs_core::SqliteIndex;
use pacs_core::forward::{Priority, now_millis};
use pacs_core::workflow::{Account, AuditEvent, Role, SessionKind, SiteRecord, Workflow};

use crate::auth::{hash_password, new_secret, secret_hash};
use crate::config::{Config, valid_ae_title};
use crate::data_lock::DataDirLock;

/// The shortest password accepted.
const MIN_PASSWORD: usize = 10;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create or update an account; the password is read from standard
    /// input. A new password signs out the account's sessions.
    Add {
        name: String,
        /// site, radiologist, referrer or admin.
        #[arg(long)]
        role: String,
        /// The site a site account belongs to.
        #[arg(long)]
        site: Option<String>,
        /// The name shown in the viewer and on signed reports (default: NAME).
        #[arg(long)]
        display_name: Option<String>,
        /// For radiologists: the sites whose studies they read (default: all).
        #[arg(long = "reads", value_delimiter = ',')]
        reads: Vec<String>,
        /// For referrers: their name as modalities write it (Family^Given).
        #[arg(long)]
        physician: Option<String>,
    },
    /// Set a new password, read from standard input; ends the sign-in
    /// locks on the name, from every address.
    Passwd { name: String },
    /// Disable an account: its password is cleared, its sessions and the
    /// read-only links it made stop working at once and for good (`user
    /// add` enables it again, with a new password).
    Disable { name: String },
    /// List the accounts.
    List,
}

#[derive(Subcommand)]
pub enum SiteCommand {
    /// Create or update a sending site.
    Add {
        name: String,
        /// The calling AE titles of the site's modalities and gateway.
        #[arg(long = "aet", required = true, num_args = 1..)]
        ae_titles: Vec<String>,
        /// Addresses the site connects from (default: any).
        #[arg(long = "address")]
        addresses: Vec<IpAddr>,
        /// Reading priority of the site's studies: stat, urgent or routine.
        #[arg(long, default_value = "routine")]
        priority: String,
    },
    /// List the sites.
    List,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a long-lived token for a site's gateway; printed once.
    Create {
        #[arg(long)]
        site: String,
        /// What the token is for (shown in listings and the audit trail).
        #[arg(long, default_value = "gateway")]
        label: String,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token by its number.
    Revoke { id: i64 },
}

/// The index, and the lock that keeps a restore from replacing it
/// meanwhile.
async fn open(config: &Config) -> Result<(DataDirLock, Arc<SqliteIndex>)> {
    let lock = DataDirLock::use_index(&config.data_dir)?;
    let index = SqliteIndex::open(config.data_dir.join("index.sqlite"))
        .context("cannot open the index database")?;
    Ok((lock, Arc::new(index)))
}

/// Puts a change made here on the audit trail. Its author is the
/// operating-system account at the console (in parentheses, so no account
/// of the archive can be mistaken for it). The change is made by then:
/// if the trail cannot take it, the command says so and fails.
async fn audit(db: &SqliteIndex, action: &str, detail: String) -> Result<()> {
    console_audit(db, action, None, detail).await
}

/// [`audit`] for any command run at the console, about `study_uid` where
/// the change is one study's.
pub(crate) async fn console_audit(
    workflow: &dyn Workflow,
    action: &str,
    study_uid: Option<String>,
    detail: String,
) -> Result<()> {
    let operator = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    workflow
        .audit(AuditEvent {
            id: 0,
            at: now_millis(),
            user: Some(format!("(console {operator})")),
            role: Some("operator".into()),
            action: action.into(),
            study_uid,
            detail: Some(detail),
            address: None,
            outcome: "ok".into(),
        })
        .await
        .context("the change is made, but the audit trail could not record it")
}

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < MIN_PASSWORD {
        bail!(
            "the password must have at least {MIN_PASSWORD} characters (give it on standard input)"
        );
    }
    Ok(password)
}

pub async fn user(config: &Config, command: UserCommand) -> Result<ExitCode> {
    let (_lock, db) = open(config).await?;
    match command {
        UserCommand::Add {
            name,
            role,
            site,
            display_name,
            reads,
            physician,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("role {role:?}: use site, radiologist, referrer or admin")
            })?;
            if name.trim().is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                bail!("a user name has no spaces or control characters");
            }
            if role == Role::Site {
                let site = site
                    .as_deref()
                    .context("a site account needs --site SITE")?;
                if !db.sites().await?.iter().any(|s| s.name == site) {
                    bail!("no site {site:?}: add it first with `pacs site add`");
                }
            }
            // An empty list reads every site, so an empty or unknown name
            // (a script's unset variable, a typo) must not fall through to it.
            let reads: Vec<String> = reads.iter().map(|s| s.trim().to_owned()).collect();
            if role == Role::Radiologist && !reads.is_empty() {
                let sites = db.sites().await?;
                for name in &reads {
                    if name.is_empty() {
                        bail!(
                            "--reads has an empty site name; leave --reads out to read every site"
                        );
                    }
                    if !sites.iter().any(|s| &s.name == name) {
                        bail!("--reads: no site {name:?}: add it first with `pacs site add`");
                    }
                }
            } else if !reads.is_empty() {
                bail!("--reads is for radiologists' accounts");
            }
            let password = read_password()?;
            let hash = tokio::task::spawn_blocking(move || hash_password(&password))
                .await?
                .map_err(|e| anyhow::anyhow!(e))?;
            db.add_account(Account {
                display_name: display_name.unwrap_or_else(|| name.clone()),
                username: name.clone(),
                role,
                site: if role == Role::Site { site } else { None },
                reading_sites: reads,
                physician_name: physician,
                password_hash: Some(hash),
                oidc_subject: None,
                disabled: false,
                locked_until: 0,
            })
            .await?;
            audit(&db, "account_saved", format!("{name} ({})", role.as_str())).await?;
            println!("account {name} ({}) saved", role.as_str());
        }
        UserCommand::Passwd { name } => {
            let password = read_password()?;
            let hash = tokio::task::spawn_blocking(move || hash_password(&password))
                .await?
                .map_err(|e| anyhow::anyhow!(e))?;
            if !db.set_password(&name, &hash).await? {
                bail!("no account {name:?}");
            }
            audit(&db, "password_set", name.clone()).await?;
            println!("password of {name} changed");
        }
        UserCommand::Disable { name } => {
            if !db.disable_account(&name, now_millis()).await? {
                bail!("no account {name:?}");
            }
            audit(&db, "account_disabled", name.clone()).await?;
            println!("account {name} disabled, its sessions and shared links revoked");
        }
        UserCommand::List => {
            for a in db.accounts().await? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    a.username,
                    a.role.as_str(),
                    what_it_sees(&a),
                    a.display_name,
                    if a.disabled { "\t(disabled)" } else { "" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Which studies an account sees, as `pacs user list` says it: a site's,
/// the sites a radiologist reads, a referring doctor's name.
fn what_it_sees(a: &Account) -> String {
    match a.role {
        Role::Site => format!("site {}", a.site.as_deref().unwrap_or("-")),
        Role::Radiologist if a.reading_sites.is_empty() => "reads every site".into(),
        Role::Radiologist => format!("reads {}", a.reading_sites.join(",")),
        Role::Referrer => format!("physician {}", a.physician_name.as_deref().unwrap_or("-")),
        Role::Admin => "everything".into(),
    }
}

pub async fn site(config: &Config, command: SiteCommand) -> Result<ExitCode> {
    let (_lock, db) = open(config).await?;
    match command {
        SiteCommand::Add {
            name,
            ae_titles,
            addresses,
            priority,
        } => {
            if name.trim().is_empty() || name.contains(',') {
                bail!("a site name is not empty and has no commas");
            }
            if let Some(bad) = ae_titles.iter().find(|a| !valid_ae_title(a)) {
                bail!("invalid AE title {bad:?}: 1 to 16 characters, no backslash");
            }
            db.put_site(SiteRecord {
                name: name.clone(),
                ae_titles: ae_titles.iter().map(|a| a.trim().to_owned()).collect(),
                addresses: addresses.iter().map(|a| a.to_string()).collect(),
                priority: Priority::parse(&priority).with_context(|| {
                    format!("priority {priority:?}: use stat, urgent or routine")
                })?,
            })
            .await?;
            audit(
                &db,
                "site_saved",
                format!("{name} ({})", ae_titles.join(", ")),
            )
            .await?;
            println!("site {name} saved ({})", ae_titles.join(", "));
        }
        SiteCommand::List => {
            for s in db.sites().await? {
                println!(
                    "{}\t{}\t{}",
                    s.name,
                    s.ae_titles.join(","),
                    if s.addresses.is_empty() {
                        "any address".into()
                    } else {
                        s.addresses.join(",")
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(config: &Config, command: TokenCommand) -> Result<ExitCode> {
    let (_lock, db) = open(config).await?;
    match command {
        TokenCommand::Create { site, label } => {
            if !db.sites().await?.iter().any(|s| s.name == site) {
                bail!("no site {site:?}: add it first with `pacs site add`");
            }
            let secret = new_secret();
            let id = db
                .add_session(
                    &secret_hash(&secret),
                    SessionKind::Machine {
                        site: site.clone(),
                        label,
                    },
                    now_millis(),
                    None,
                )
                .await?;
            eprintln!(
                "token {id} for site {site} (shown once; keep it in the gateway's configuration):"
            );
            // Shown before it is recorded: the token is active either way.
            println!("{secret}");
            audit(&db, "token_issued", format!("token {id} for site {site}")).await?;
        }
        TokenCommand::List => {
            for t in db.machine_tokens().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.id,
                    t.site,
                    t.label,
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !db.revoke_token(id, now_millis()).await? {
                bail!("no active token {id}");
            }
            audit(&db, "token_revoked", format!("token {id}")).await?;
            println!("token {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
