//! `pacs`: the archive server and its command line.

mod access;
mod admin_cli;
mod api;
mod auth;
mod client_address;
mod config;
mod data_lock;
mod dimse_handler;
mod forward;
mod http;
mod import;
mod origin;
mod peer;
mod refresh;
mod samples;
mod send;
mod server;
mod sites;
mod verify;
mod viewer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "pacs",
    version,
    about = "DICOM archive: DIMSE and DICOMweb, object storage, index"
)]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Where the index (and, by default, the objects) live.
    #[arg(long, env = "PACS_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file (storage, sites, limits).
    #[arg(long, env = "PACS_CONFIG", global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the archive: DICOMweb over HTTP and DIMSE over TCP.
    Serve {
        #[command(flatten)]
        common: Common,
        /// HTTP listen address (default 127.0.0.1:8042).
        #[arg(long)]
        http_addr: Option<SocketAddr>,
        /// DICOM listen address (default 127.0.0.1:11112).
        #[arg(long)]
        dicom_addr: Option<SocketAddr>,
        /// Our AE title (default PACS).
        #[arg(long)]
        aet: Option<String>,
        /// Load generated sample studies when the archive is empty.
        #[arg(long)]
        with_samples: bool,
        /// The web viewer's files (default: `viewer/` beside the executable or one level up).
        #[arg(long)]
        viewer_dir: Option<PathBuf>,
    },
    /// Import DICOM files and folders (recursively).
    Import {
        #[command(flatten)]
        common: Common,
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Check every stored instance against the index, byte for byte, and
    /// list stored objects no index entry names. Exits with 2 when an
    /// instance is missing or damaged (or, with --reindex, an object cannot
    /// be indexed). Changes nothing stored: safe beside a running server.
    Verify {
        #[command(flatten)]
        common: Common,
        /// Only this study.
        #[arg(long)]
        study: Option<String>,
        /// Then index the unindexed objects whose instance the index does
        /// not hold, or holds with an object that is gone (an index lost,
        /// or restored from an older backup): where they lie, a C-STORE's
        /// as its caller's site, without forwarding. Beside a server or
        /// an import, objects written in the last 10 minutes are left
        /// (their store may be under way); with nothing else using the
        /// data directory, every one is indexed, and a server started
        /// meanwhile refuses until this is done.
        #[arg(long)]
        reindex: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Read every stored instance again and bring what the index holds of
    /// it (patient and study attributes, series attributes, metadata) up to
    /// date with this version's reading and the [ingest] settings: after
    /// an upgrade that decodes more character sets, or after setting
    /// undeclared_character_set. Objects and signed reports never change;
    /// each study whose attributes change goes on the audit trail. Exits
    /// with 2 when an instance cannot be read. Safe beside a running server.
    /// Give it the server's --config: it reads as that configuration says.
    Refresh {
        #[command(flatten)]
        common: Common,
        /// Only this study.
        #[arg(long)]
        study: Option<String>,
        /// Say what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Write a consistent copy of the index (instances, accounts, sites,
    /// worklist, reports, audit trail, forwarding queue) to a file, while
    /// the server keeps running. `pacs restore` puts one back.
    Backup {
        #[command(flatten)]
        common: Common,
        /// The file to write (replaced only once the new copy is complete
        /// and checked). Keep it off the archive's disk.
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup written by `pacs backup` back as the index, with the
    /// server stopped. The index it replaces is kept beside it, renamed.
    /// Then `pacs verify --reindex` brings back the studies stored since
    /// the backup was taken.
    Restore {
        #[command(flatten)]
        common: Common,
        /// The backup to restore.
        #[arg(long)]
        from: PathBuf,
    },
    /// Send DICOM files and folders (recursively) to another DICOM node
    /// over C-STORE.
    Send {
        /// Where: a DICOMweb base URL (http(s)://…/dicom-web), a configured
        /// forwarding destination's name, a configured node's AE title
        /// (`[[dicom_nodes]]`), or AET@HOST:PORT.
        #[arg(long)]
        to: String,
        /// A file holding the bearer token for a DICOMweb destination
        /// (or set PACS_SEND_TOKEN).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Our (calling) AE title (default: the configured one, else PACS).
        #[arg(long)]
        aet: Option<String>,
        /// TOML configuration file (for the DICOM nodes and our AE title).
        #[arg(long, env = "PACS_CONFIG")]
        config: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Accounts: add (password on standard input), passwd, disable, list.
    User {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: admin_cli::UserCommand,
    },
    /// Sending sites: add, list.
    Site {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: admin_cli::SiteCommand,
    },
    /// Machine tokens for site gateways: create, list, revoke.
    Token {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: admin_cli::TokenCommand,
    },
}

/// The configuration for the commands that only need the data directory.
fn data_config(common: Common) -> Result<Config> {
    Config::load(
        common.config.as_deref(),
        Overrides {
            data_dir: common.data_dir,
            ..Overrides::default()
        },
    )
}

fn init_tracing(json: bool) {
    // The parser warns of every ISO 2022 character set it cannot decode;
    // the archive decodes those itself (`pacs_core::charset`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,aws=warn,hyper=warn,dicom_parser::stateful::decode=error",
        )
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pacs: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pacs: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::User { common, command } => admin_cli::user(&data_config(common)?, command).await,
        Command::Site { common, command } => admin_cli::site(&data_config(common)?, command).await,
        Command::Token { common, command } => {
            admin_cli::token(&data_config(common)?, command).await
        }
        Command::Serve {
            common,
            http_addr,
            dicom_addr,
            aet,
            with_samples,
            viewer_dir,
        } => {
            let config = Config::load(
                common.config.as_deref(),
                Overrides {
                    data_dir: common.data_dir,
                    http_addr,
                    dicom_addr,
                    ae_title: aet,
                    viewer_dir,
                },
            )?;
            server::serve(config, with_samples).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            common,
            paths,
            quiet,
        } => {
            let config = data_config(common)?;
            let _index = data_lock::DataDirLock::use_index(&config.data_dir)?;
            let services = server::open(&config).await?;
            let files = import::collect_files(&paths)?;
            if files.files.is_empty() && files.unlisted.is_empty() {
                services.ingest.shutdown().await;
                anyhow::bail!(
                    "nothing to import: no files under {} (is the disc or disk mounted?)",
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            let summary = import::import(&services.ingest, files, !quiet).await;
            services.ingest.shutdown().await;
            println!(
                "stored {} / duplicate {} / rejected {}",
                summary.stored,
                summary.duplicates,
                summary.rejected.len()
            );
            if summary.repaired > 0 {
                println!(
                    "repaired {}: already indexed, but their stored copies were missing or \
                     damaged; the files took their place",
                    summary.repaired
                );
            }
            for (file, why) in &summary.skipped {
                println!("skipped {}: {why}", file.display());
            }
            for (file, reason) in &summary.rejected {
                println!("rejected {}: {reason}", file.display());
            }
            Ok(if summary.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Verify {
            common,
            study,
            reindex,
            quiet,
        } => {
            let config = data_config(common)?;
            existing_archive(&config.data_dir, !reindex)?;
            // With the directory whole (no server, no import), no store
            // can be under way: every unindexed object may be indexed.
            let alone = match reindex {
                true => data_lock::DataDirLock::alone(&config.data_dir, "verify --reindex")?,
                false => None,
            };
            let min_age = if alone.is_some() {
                std::time::Duration::ZERO
            } else {
                verify::REINDEX_MIN_AGE
            };
            let _lock = match alone {
                Some(lock) => lock,
                None => data_lock::DataDirLock::use_index(&config.data_dir)?,
            };
            let study = study
                .map(|s| pacs_core::Uid::parse(&s).map_err(|e| anyhow::anyhow!("--study: {e}")))
                .transpose()?;
            let services = server::open(&config).await?;
            if let Some(uid) = &study
                && !reindex
                && services
                    .archive
                    .index()
                    .instances(uid, None, None)
                    .await?
                    .is_empty()
            {
                anyhow::bail!(
                    "the index holds no study {uid} (if its objects are still stored, \
                     --reindex indexes them again)"
                );
            }
            let summary = verify::verify(&services.archive, study, !quiet).await?;
            let reindexed = if reindex {
                if min_age.is_zero() {
                    println!(
                        "nothing else uses {}: every unindexed object can be reindexed \
                         (a server refuses to start until this is done)",
                        config.data_dir.display()
                    );
                } else {
                    println!(
                        "{} is in use (a server or an import): objects written in the last {} \
                         minutes are left to their stores",
                        config.data_dir.display(),
                        min_age.as_secs() / 60
                    );
                }
                Some(
                    verify::reindex(
                        &services.archive,
                        &services.ingest,
                        &services.sites,
                        &summary.unindexed,
                        std::time::SystemTime::now(),
                        min_age,
                    )
                    .await,
                )
            } else {
                None
            };
            let mut summary = summary;
            if let Some(outcomes) = &reindexed {
                // An instance whose entry named a missing object and that
                // was indexed again from its newer copy is whole now.
                let whole: std::collections::HashSet<&str> = outcomes
                    .iter()
                    .filter(|(_, o)| matches!(o, verify::Reindexed::Indexed { .. }))
                    .filter_map(|(k, _)| pacs_core::verify::sop_of_key(k.as_str()))
                    .collect();
                summary
                    .problems
                    .retain(|(i, _)| !whole.contains(i.sop_instance_uid.as_str()));
            }
            verify::print(&summary, reindexed.as_deref());
            let failed = reindexed
                .iter()
                .flatten()
                .any(|(_, o)| matches!(o, verify::Reindexed::Failed(_)));
            Ok(if summary.problems.is_empty() && !failed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Refresh {
            common,
            study,
            dry_run,
            quiet,
        } => {
            let config = data_config(common)?;
            existing_archive(&config.data_dir, true)?;
            refresh::print_reading(config.undeclared_character_set.map(|u| u.name()), !dry_run);
            let _index = data_lock::DataDirLock::use_index(&config.data_dir)?;
            let study = study
                .map(|s| pacs_core::Uid::parse(&s).map_err(|e| anyhow::anyhow!("--study: {e}")))
                .transpose()?;
            let services = server::open(&config).await?;
            let summary = refresh::refresh(
                &services.archive,
                &services.ingest,
                services.workflow.as_ref(),
                study,
                !dry_run,
                !quiet,
            )
            .await?;
            refresh::print(&summary, !dry_run);
            Ok(if summary.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Backup { common, to } => {
            let config = data_config(common)?;
            existing_archive(&config.data_dir, true)?;
            let _index = data_lock::DataDirLock::use_index(&config.data_dir)?;
            let index = config.data_dir.join("index.sqlite");
            refuse_backup_inside(&config.data_dir, &to)?;
            let target = to.clone();
            let c = tokio::task::spawn_blocking(move || pacs_core::index::back_up(&index, &target))
                .await?
                .with_context(|| format!("cannot back up the index to {}", to.display()))?;
            println!(
                "index backed up to {}: {} studies, {} instances, {} report versions, {} accounts, {} audit events",
                to.display(),
                c.studies,
                c.instances,
                c.report_versions,
                c.accounts,
                c.audit_events
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { common, from } => {
            let config = data_config(common)?;
            let _owner = data_lock::DataDirLock::restore(&config.data_dir)?;
            let index = config.data_dir.join("index.sqlite");
            let suffix = format!(
                ".before-restore-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
            );
            let source = from.clone();
            let now = pacs_core::forward::now_millis();
            let r = tokio::task::spawn_blocking(move || {
                pacs_core::index::restore(&source, &index, &suffix, now)
            })
            .await?
            .with_context(|| format!("cannot restore the index from {}", from.display()))?;
            println!(
                "index restored from {}: {} studies, {} instances, {} report versions, {} accounts, {} audit events",
                from.display(),
                r.contents.studies,
                r.contents.instances,
                r.contents.report_versions,
                r.contents.accounts,
                r.contents.audit_events
            );
            if let Some(kept) = &r.kept {
                println!("the index it replaced is kept as {}", kept.display());
            }
            println!(
                "{} sign-in sessions and read-only links of the backup ended: everyone signs in again",
                r.sessions_ended
            );
            println!(
                "accounts, passwords and gateway tokens are as they were at the backup: \
                 disable again what was disabled since (pacs user list, pacs token list)"
            );
            println!(
                "next: pacs verify --data-dir {} --reindex indexes the studies stored since the backup",
                config.data_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Send {
            to,
            token_file,
            paths,
            aet,
            config,
            quiet,
        } => {
            let config = config::SendConfig::load(config.as_deref(), aet)?;
            let token = match (std::env::var("PACS_SEND_TOKEN"), token_file) {
                (Ok(t), _) if !t.trim().is_empty() => Some(t.trim().to_owned()),
                (_, Some(path)) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read the token file {}", path.display()))?
                        .trim()
                        .to_owned(),
                ),
                _ => None,
            };
            let destination = send::Destination::parse(
                &to,
                &config,
                token.map(forward::config::Credentials::Bearer),
            )?;
            let files = import::collect_files(&paths)?;
            let peers = forward::session::Peers {
                calling_ae_title: config.ae_title.clone(),
                max_pdu_length: config.max_pdu_length,
                timeout: config.timeout,
                http: reqwest::Client::builder()
                    .connect_timeout(config.timeout)
                    // A link that stops acknowledging is let go; a slow
                    // one is not (see `forward::watch`).
                    .tcp_user_timeout(config.timeout)
                    .tcp_keepalive(std::time::Duration::from_secs(30))
                    .build()
                    .context("cannot set up an HTTP client")?,
            };
            let summary = send::send(files, &destination, &peers, !quiet).await?;
            println!(
                "sent {} to {} / with warnings {} / failed {}",
                summary.sent,
                destination.name,
                summary.warnings.len(),
                summary.failed.len()
            );
            for (file, reason) in &summary.warnings {
                println!("warning {}: {reason}", file.display());
            }
            for (file, reason) in &summary.failed {
                println!("failed {}: {reason}", file.display());
            }
            Ok(if summary.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
    }
}

/// Refuses a data directory that holds no archive (no index, or with
/// `index_needed` unset not even the directory): a mistyped `--data-dir`
/// would otherwise be made into a new, empty archive and reported on as
/// if it were the real one.
fn existing_archive(data_dir: &std::path::Path, index_needed: bool) -> anyhow::Result<()> {
    let index = data_dir.join("index.sqlite");
    if index.is_file() || (!index_needed && data_dir.is_dir()) {
        return Ok(());
    }
    anyhow::bail!(
        "there is no archive at {}: {} is not there (is --data-dir right?)",
        data_dir.display(),
        if data_dir.is_dir() {
            index.display().to_string()
        } else {
            "the directory".to_owned()
        }
    )
}

/// Refuses a backup whose file would be inside the data directory it
/// backs up: lost with the disk it is meant to survive, taken for an
/// unindexed object under `objects/`, or (the index's own name) written
/// over the live index.
fn refuse_backup_inside(
    data_dir: &std::path::Path,
    target: &std::path::Path,
) -> anyhow::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let (Ok(data_dir), Ok(dir)) = (data_dir.canonicalize(), dir.canonicalize()) else {
        // A directory that is not there: the backup itself says so.
        return Ok(());
    };
    if dir.starts_with(&data_dir) {
        anyhow::bail!(
            "{} is inside the data directory {}: a backup there is lost with it (and \
             index.sqlite there is the live index); write it to another disk",
            target.display(),
            data_dir.display()
        );
    }
    Ok(())
}
