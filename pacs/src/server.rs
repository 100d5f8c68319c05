//! `pacs serve`: the archive's services wired together, and their orderly
//! start and stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dicomweb::{WebConfig, WebState};
use dimse::{DimseServer, ServerConfig};
use memory_budget::MemoryBudget;
use pacs_core::forward::Outbox;
use pacs_core::workflow::{SiteRecord, Workflow};
use pacs_core::{Archive, Index, Ingest, IngestConfig, SqliteIndex};
use storage::{FsStore, ObjectStore, S3Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use warp::Filter;

use crate::access::Action;
use crate::api::gate::WebGate;
use crate::api::{ApiState, guard};
use crate::auth::{AuditOnce, Auth};
use crate::config::{Config, StorageConfig};
use crate::dimse_handler::ArchiveHandler;
use crate::forward::session::Peers;
use crate::forward::{Forwarder, Rules};
use crate::sites::Sites;

/// The archive's shared services.
pub struct Services {
    pub ingest: Arc<Ingest>,
    pub archive: Arc<Archive>,
    pub index: Arc<dyn Index>,
    pub outbox: Arc<dyn Outbox>,
    /// Rung when forwarding jobs are queued.
    pub forward_wake: Arc<Notify>,
    /// Accounts, sites, worklist, reports, audit.
    pub workflow: Arc<dyn Workflow>,
    /// The sites, from the configuration file and `pacs site add`.
    pub sites: Arc<Sites>,
}

/// Opens storage and the index.
pub async fn open(config: &Config) -> Result<Services> {
    crate::data_lock::private_dir(&config.data_dir)?;
    let store: Arc<dyn ObjectStore> = match &config.storage {
        StorageConfig::Fs { root } => {
            // Objects may be kept outside the data directory.
            crate::data_lock::private_dir(root)?;
            Arc::new(
                FsStore::open(root)
                    .with_context(|| format!("cannot open local storage at {}", root.display()))?,
            )
        }
        StorageConfig::S3(c) => {
            let s3 = S3Store::new(c.clone()).context("cannot set up S3 storage")?;
            // A listing, not a HEAD: a HEAD response has no body, so a
            // missing bucket would look like a missing object and pass.
            s3.list("pacs-startup-probe/")
                .await
                .with_context(|| format!("S3 storage {} is not usable", s3.describe()))?;
            Arc::new(s3)
        }
    };
    let sqlite = Arc::new(
        SqliteIndex::open(config.data_dir.join("index.sqlite"))
            .context("cannot open the index database")?,
    );
    let index: Arc<dyn Index> = sqlite.clone();
    let outbox: Arc<dyn Outbox> = sqlite.clone();
    let workflow: Arc<dyn Workflow> = sqlite;
    // Sites of the configuration file are written to the database, where
    // `pacs site add` keeps the others.
    for site in &config.sites {
        workflow
            .put_site(SiteRecord {
                name: site.name.clone(),
                ae_titles: site.ae_titles.iter().map(|a| a.trim().to_owned()).collect(),
                addresses: site.addresses.iter().map(|a| a.to_string()).collect(),
                priority: site.priority.unwrap_or_default(),
            })
            .await
            .with_context(|| format!("cannot record site {}", site.name))?;
    }
    let sites = Sites::load(workflow.clone())
        .await
        .context("cannot read the sites")?;
    for rule in &config.forward.rules {
        for site in rule.sites.iter().filter(|s| !sites.exists(s)) {
            tracing::warn!(
                rule = %rule.name,
                site = %site,
                "a forwarding rule names a site that does not exist (yet): add it to [[sites]] or with `pacs site add`"
            );
        }
    }
    let forward_wake = Arc::new(Notify::new());
    tracing::info!(storage = %store.describe(), data_dir = %config.data_dir.display(), "archive opened");
    let ingest = Ingest::new(
        store.clone(),
        index.clone(),
        IngestConfig {
            duplicate_policy: config.duplicate_policy,
            max_instance_size: config.max_instance_size,
            undeclared_character_set: config.undeclared_character_set,
            ..IngestConfig::default()
        },
    )
    .with_router(Arc::new(Rules {
        config: config.forward.clone(),
        sites: sites.clone(),
        wake: forward_wake.clone(),
    }));
    let archive = Arc::new(Archive::new(store, index.clone()));
    Ok(Services {
        ingest: Arc::new(ingest),
        archive,
        index,
        outbox,
        forward_wake,
        workflow,
        sites,
    })
}

/// Runs the server until SIGTERM or SIGINT, then stops in order: no new
/// associations or requests, stores under way finish, then exit.
pub async fn serve(config: Config, with_samples: bool) -> Result<()> {
    // Held until the server has stopped.
    let _owner = crate::data_lock::DataDirLock::serve(&config.data_dir)?;
    let services = open(&config).await?;
    if with_samples {
        crate::samples::load_if_empty(&config, &services).await?;
    }

    let http = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http_addr))?;
    let dicom = tokio::net::TcpListener::bind(config.dicom_addr)
        .await
        .with_context(|| format!("cannot listen for DICOM on {}", config.dicom_addr))?;
    let http_addr = http.local_addr()?;
    let dicom_addr = dicom.local_addr()?;

    let ready = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();

    let auth = Arc::new(Auth::new(services.workflow.clone(), config.auth.clone()));
    if auth.open().await? {
        if !config.http_addr.ip().is_loopback() {
            bail!(
                "no accounts exist, so the archive would be open to anyone on {}: create an administrator first (pacs user add NAME --role admin)",
                config.http_addr
            );
        }
        // Without accounts or sites every DICOM caller is admitted to
        // every study; a site list admits only its own callers.
        if !config.dicom_addr.ip().is_loopback() && services.workflow.sites().await?.is_empty() {
            bail!(
                "no accounts and no sites exist, so any DICOM caller reaching {} could store, query and retrieve every study: create an administrator first (pacs user add NAME --role admin) or the sites that may call (pacs site add NAME --aet AE_TITLE)",
                config.dicom_addr
            );
        }
        tracing::warn!(
            "no accounts exist: everyone reaching this loopback address is an administrator; create accounts with `pacs user add`"
        );
    }
    let sites = services.sites.clone();
    let sites_task = tokio::spawn(sites.clone().refresh(shutdown.clone()));
    let audit_once = Arc::new(AuditOnce::new(services.workflow.clone()));
    let oidc = match &config.oidc {
        None => None,
        Some(c) => {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .context("cannot set up the HTTP client for the identity provider")?;
            let provider = oidc::Provider::discover(c.provider.clone(), http)
                .await
                .with_context(|| {
                    format!("cannot reach the identity provider {}", c.provider.issuer)
                })?;
            Some(Arc::new(crate::auth::routes::OidcSignIn {
                provider,
                label: c.label.clone(),
                role_prefix: c.role_prefix.clone(),
            }))
        }
    };
    let api = Arc::new(ApiState {
        auth: auth.clone(),
        store: services.workflow.clone(),
        archive: services.archive.clone(),
        ingest: services.ingest.clone(),
        turnaround: config.turnaround,
        institution: config.institution.clone(),
        utc_offset_minutes: config.utc_offset_minutes,
        deid: Some(deid_config(&config)?),
        once: audit_once.clone(),
    });

    let mut dimse_config = ServerConfig::new(config.ae_title.clone());
    dimse_config.max_pdu_length = config.max_pdu_length;
    dimse_config.idle_timeout = config.idle_timeout;
    dimse_config.max_associations = config.max_associations;
    // A data set larger than the archive stores is dropped as it arrives
    // (and refused with 0xA700), not held whole in memory first.
    dimse_config.max_message_size = usize::try_from(config.max_instance_size).unwrap_or(usize::MAX);
    // One budget for all instances still arriving, however they come.
    let memory_budget = MemoryBudget::new(config.memory_budget);
    tracing::info!(
        mib = memory_budget.total() >> 20,
        "memory for instances still arriving"
    );
    dimse_config.memory_budget = Some(memory_budget.clone());
    let handler = Arc::new(ArchiveHandler {
        ingest: services.ingest.clone(),
        index: services.index.clone(),
        archive: services.archive.clone(),
        ae_title: config.ae_title.clone(),
        sites: sites.clone(),
        audit: audit_once.clone(),
        dicom_nodes: config.dicom_nodes.clone(),
        max_pdu_length: config.max_pdu_length,
        node_timeout: config.idle_timeout,
    });
    let dimse_task =
        tokio::spawn(DimseServer::new(dimse_config, handler).serve(dicom, shutdown.clone()));

    let forwarder = Arc::new(Forwarder::new(
        &config.forward,
        services.outbox.clone(),
        services.archive.clone(),
        Peers {
            calling_ae_title: config.ae_title.clone(),
            max_pdu_length: config.max_pdu_length,
            timeout: config.idle_timeout,
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(30))
                // A link that stops acknowledging is let go; a slow one
                // is not (see `forward::watch`).
                .tcp_user_timeout(config.idle_timeout)
                .tcp_keepalive(Duration::from_secs(30))
                .build()
                .context("cannot set up the HTTP client for forwarding")?,
        },
        services.forward_wake.clone(),
    ));
    let forward_task = tokio::spawn(forwarder.run(shutdown.clone()));

    let peer = Arc::new(
        crate::peer::PeerState::new(
            services.ingest.clone(),
            services.index.clone(),
            config.data_dir.join("peer-uploads"),
            config.max_instance_size,
        )
        .with_auth(auth.clone()),
    );
    peer.prepare()
        .context("cannot prepare the directory for peer uploads")?;

    let web = Arc::new(WebState {
        ingest: services.ingest.clone(),
        archive: services.archive.clone(),
        config: WebConfig {
            public_base: config
                .public_url
                .as_ref()
                .map(|u| format!("{}/dicom-web", u.trim_end_matches('/'))),
            max_instance_size: config.max_instance_size,
            body_idle_timeout: config.http_body_timeout,
            memory_budget: Some(memory_budget),
        },
        gate: Arc::new(WebGate {
            auth: auth.clone(),
            once: audit_once.clone(),
        }),
    });
    let viewer_dir = crate::viewer::locate(config.viewer_dir.as_deref());
    match &viewer_dir {
        Some(dir) => tracing::info!(dir = %dir.display(), "serving the web viewer"),
        None => tracing::warn!(
            "no web viewer files found (build them with scripts/build-viewer.sh or pass --viewer-dir); serving DICOMweb only"
        ),
    }
    let routes = health(ready.clone(), services.index.clone(), auth.clone())
        .or(dicomweb::routes(web))
        .unify()
        .or(crate::auth::routes::routes(auth.clone(), oidc))
        .unify()
        .or(crate::api::worklist::routes(api.clone()))
        .unify()
        .or(crate::api::admin::routes(api.clone()))
        .unify()
        .or(crate::api::outputs::routes(api.clone()))
        .unify()
        .or(crate::api::reports::routes(api.clone()))
        .unify()
        .or(guard(auth.clone(), "api/peer", Action::PeerReceive)
            .and(crate::peer::routes(peer.clone())))
        .unify()
        .or(
            guard(auth.clone(), "api/forwarding", Action::Forwarding).and(
                crate::forward::api::routes(
                    services.outbox.clone(),
                    Arc::new(config.forward.clone()),
                    services.forward_wake.clone(),
                ),
            ),
        )
        .unify()
        .or(crate::viewer::routes(viewer_dir.clone()))
        .unify()
        .or(crate::viewer::missing_page(viewer_dir))
        .unify();
    let routes = crate::origin::same_origin_changes(config.public_url.as_deref(), auth.clone())
        .and(routes)
        .with(warp::trace(|info| {
            tracing::info_span!(
                "request",
                method = %info.method(),
                path = %loggable_path(info.path()),
            )
        }))
        .map(warp::Reply::into_response)
        .recover(unmatched)
        .unify();
    let http_task = tokio::spawn(crate::http::serve(
        http,
        routes,
        config.http_header_timeout,
        config.trusted_proxies.clone(),
        shutdown.clone(),
    ));

    ready.store(true, Ordering::Release);
    tracing::info!(%http_addr, %dicom_addr, ae_title = %config.ae_title, "pacs is ready");
    // A stable line on stdout for scripts and tests that start on port 0.
    println!("pacs ready http={http_addr} dicom={dicom_addr}");

    wait_for_signal().await;
    tracing::info!("shutting down: finishing stores under way");
    ready.store(false, Ordering::Release);
    shutdown.cancel();
    let grace = Duration::from_secs(60);
    if tokio::time::timeout(grace, async {
        let _ = dimse_task.await;
        let _ = http_task.await;
        let _ = forward_task.await;
        let _ = sites_task.await;
        services.ingest.shutdown().await;
    })
    .await
    .is_err()
    {
        tracing::warn!("some connections did not finish within {grace:?}; stopping anyway");
    }
    tracing::info!("stopped");
    Ok(())
}

/// A request path as logs may show it: a shared link's secret is a
/// credential and is left out.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/share/") {
        "/share/…"
    } else {
        path
    }
}

/// The de-identification secret: kept in the data directory, made on
/// first use, never logged. Changing it changes every pseudonym.
fn deid_config(config: &Config) -> Result<pacs_core::deid::DeidConfig> {
    let path = config.data_dir.join("deidentify.key");
    let secret = match std::fs::read(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = crate::auth::new_secret().into_bytes();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            use std::io::Write;
            let mut file = options
                .open(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            file.write_all(&secret)?;
            file.sync_all()?;
            secret
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    pacs_core::deid::DeidConfig::new(secret, config.deidentify_dates)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// `GET /healthz` (or `HEAD`, for monitors that ask only for the status):
/// 200 once the archive is ready, 503 while starting or stopping, as
/// JSON. The totals of studies, series and instances are for an
/// administrator (or anyone, on an archive without accounts), not for
/// whoever can reach the port.
fn health(
    ready: Arc<AtomicBool>,
    index: Arc<dyn Index>,
    auth: Arc<Auth>,
) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    warp::path("healthz")
        .and(warp::path::end())
        .and(crate::http::get_or_head())
        .and(warp::header::headers_cloned())
        .and(crate::http::client_addr())
        .then(move |_head: bool, headers, peer| {
            let ready = ready.clone();
            let index = index.clone();
            let auth = auth.clone();
            async move {
                use warp::Reply;
                let status = if ready.load(Ordering::Acquire) {
                    warp::http::StatusCode::OK
                } else {
                    warp::http::StatusCode::SERVICE_UNAVAILABLE
                };
                let body = match index.totals().await {
                    Ok(t) => {
                        let mut body = serde_json::json!({ "ready": status.is_success() });
                        let admin = auth
                            .principal(&headers, peer)
                            .await
                            .is_ok_and(|p| p.role == pacs_core::workflow::Role::Admin);
                        if admin {
                            body["totals"] = serde_json::json!(t);
                        }
                        body
                    }
                    Err(e) => serde_json::json!({ "ready": false, "error": e.to_string() }),
                };
                let status = if body["ready"] == true {
                    status
                } else {
                    warp::http::StatusCode::SERVICE_UNAVAILABLE
                };
                warp::reply::with_status(warp::reply::json(&body), status).into_response()
            }
        })
        .boxed()
}

/// Requests no route matched: a plain-text 404 (or 405) that says where
/// the services are.
async fn unmatched(
    rejection: warp::Rejection,
) -> Result<warp::reply::Response, std::convert::Infallible> {
    use warp::Reply;
    if let Some(refused) = rejection.find::<crate::api::Refused>() {
        return Ok(crate::api::refusal_response(refused));
    }
    // Routes match the path before the method, so a route refusing the
    // method means the path is there (the `Allow` header is added as the
    // answer goes out: `crate::http::Allowed`).
    let wrong_method = rejection.find::<crate::http::WrongMethod>().is_some()
        || rejection.find::<warp::reject::MethodNotAllowed>().is_some();
    let (status, message) = if wrong_method {
        (
            warp::http::StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed here",
        )
    } else {
        (
            warp::http::StatusCode::NOT_FOUND,
            "not found: the viewer is at /, DICOMweb under /dicom-web, forwarding under /api/forwarding, health under /healthz",
        )
    };
    let mut response = warp::reply::with_status(format!("{message}\n"), status).into_response();
    // A browser asking for the same address may get the viewer's page
    // instead (`viewer::missing_page`).
    response.headers_mut().insert(
        warp::http::header::VARY,
        warp::http::HeaderValue::from_static("Accept"),
    );
    Ok(response)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
