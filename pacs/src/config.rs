//! Configuration: a TOML file (all optional), overridden by environment
//! variables, overridden by command-line flags, validated once into
//! [`Config`]. Secrets come from the environment or from files and are
//! never logged (`Config`'s `Debug` leaves them out).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use pacs_core::DuplicatePolicy;
use pacs_core::forward::Priority;

use crate::forward::config::{ForwardConfig, RawForward};
use serde::Deserialize;

/// The file as written by an operator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub dimse: RawDimse,
    #[serde(default)]
    pub storage: RawStorage,
    #[serde(default)]
    pub ingest: RawIngest,
    #[serde(default)]
    pub sites: Vec<Site>,
    #[serde(default)]
    pub dicom_nodes: Vec<DicomNode>,
    #[serde(default)]
    pub viewer: RawViewer,
    #[serde(default)]
    pub forward: RawForward,
    #[serde(default)]
    pub auth: RawAuth,
    #[serde(default)]
    pub reading: RawReading,
}

/// `[auth]`: sessions, lock-out, and an optional identity provider.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// How long a sign-in lasts (default 12 h).
    pub session_hours: Option<u64>,
    /// Failed sign-ins in a row under one name from one client address
    /// before that name is locked for that address (default 5).
    pub max_failures: Option<u32>,
    /// Failed sign-ins under any names from one client address before
    /// that address is refused (default 0: no such limit).
    pub max_failures_per_address: Option<u32>,
    /// Failed sign-ins under one name from all addresses together before
    /// that name is refused to browsers it has not signed in from
    /// (default 20; 0: no such limit).
    pub max_failures_per_account: Option<u32>,
    /// How long a lock lasts (default 15 min).
    pub lockout_minutes: Option<u64>,
    pub oidc: Option<crate::auth::oidc::RawOidc>,
}

/// `[reading]`: turnaround times and what reports say of the archive.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReading {
    pub stat_hours: Option<f64>,
    pub urgent_hours: Option<f64>,
    pub routine_hours: Option<f64>,
    /// How long a reading lock lasts without a heartbeat (default 5 min).
    pub lock_minutes: Option<u64>,
    /// How long a reading page may stand unused before the study goes
    /// back to the worklist (default 20 min; 0 for never).
    pub idle_minutes: Option<f64>,
    /// The reading centre's name, printed on reports.
    pub institution: Option<String>,
    /// The offset from UTC of the times reports give (`+05:00`): study
    /// times as the modalities wrote them, and signing times. Default:
    /// this server's own time zone.
    pub utc_offset: Option<String>,
    /// De-identified copies: `shift` dates per patient (default), `keep`
    /// them, or `remove` them.
    pub deidentify_dates: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawViewer {
    /// The web viewer's files (`scripts/build-viewer.sh` output). Default:
    /// `viewer/` beside the executable or one directory up.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub http_addr: Option<SocketAddr>,
    pub dicom_addr: Option<SocketAddr>,
    pub ae_title: Option<String>,
    /// Public URL of the server (e.g. `https://pacs.example.org`), for links.
    pub public_url: Option<String>,
    /// How long an HTTP client may take to send a request's headers.
    pub http_header_timeout_secs: Option<u64>,
    /// How long an upload may send nothing before it is ended.
    pub http_body_timeout_secs: Option<u64>,
    /// Reverse proxies (addresses or CIDR networks) whose
    /// `X-Forwarded-For` names the client.
    pub trusted_proxies: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDimse {
    pub max_pdu_length: Option<u32>,
    pub idle_timeout_secs: Option<u64>,
    pub max_associations: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    /// `fs` (default) or `s3`.
    pub backend: Option<String>,
    #[serde(default)]
    pub s3: RawS3,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawS3 {
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub path_style: Option<bool>,
    pub access_key_id: Option<String>,
    pub access_key_id_file: Option<PathBuf>,
    pub secret_access_key_file: Option<PathBuf>,
    pub multipart_threshold: Option<u64>,
    pub part_size: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngest {
    pub duplicate_policy: Option<DuplicatePolicy>,
    pub max_instance_size: Option<u64>,
    /// What non-ASCII text is in data sets that name no character set.
    pub undeclared_character_set: Option<String>,
    /// Memory for instances still arriving, all uploads together, in MiB.
    pub memory_budget_mb: Option<u64>,
}

/// A sending site: its calling AE titles and, optionally, the addresses
/// it connects from. Once any site is configured, callers that match none
/// are refused.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub name: String,
    pub ae_titles: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<std::net::IpAddr>,
    /// The reading priority of the site's studies (default: routine).
    pub priority: Option<Priority>,
}

/// Another DICOM node (a workstation, another archive): where C-MOVE may
/// send instances, by its AE title. Only configured nodes receive any.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DicomNode {
    pub ae_title: String,
    /// Host name or IP address.
    pub host: String,
    pub port: u16,
}

/// Where instances are kept.
pub enum StorageConfig {
    Fs { root: PathBuf },
    S3(storage::S3Config),
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageConfig::Fs { root } => write!(f, "fs:{}", root.display()),
            StorageConfig::S3(c) => write!(f, "{c:?}"),
        }
    }
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub dicom_addr: SocketAddr,
    pub ae_title: String,
    pub public_url: Option<String>,
    pub http_header_timeout: Duration,
    pub trusted_proxies: crate::client_address::TrustedProxies,
    /// An upload that sends nothing for this long is ended.
    pub http_body_timeout: Duration,
    pub max_pdu_length: u32,
    pub idle_timeout: Duration,
    pub max_associations: usize,
    pub storage: StorageConfig,
    pub duplicate_policy: DuplicatePolicy,
    pub max_instance_size: u64,
    /// What non-ASCII text is in data sets that name no character set
    /// (older equipment writing its code page); `None` reads it as the
    /// standard says, ISO 8859-1.
    pub undeclared_character_set: Option<pacs_core::charset::Undeclared>,
    /// Bytes that instances still arriving (C-STORE data sets, STOW-RS
    /// parts) may hold in memory, all together; beyond it they are
    /// refused with 0xA700, to be sent again.
    pub memory_budget: u64,
    pub sites: Vec<Site>,
    pub dicom_nodes: Vec<DicomNode>,
    /// Where the web viewer's files are; `None` looks beside the executable.
    pub viewer_dir: Option<PathBuf>,
    pub forward: ForwardConfig,
    pub auth: crate::auth::AuthSettings,
    pub oidc: Option<crate::auth::oidc::OidcSettings>,
    pub turnaround: pacs_core::workflow::Turnaround,
    pub institution: Option<String>,
    /// `[reading] utc_offset` in minutes; `None` for the server's zone.
    pub utc_offset_minutes: Option<i32>,
    pub deidentify_dates: pacs_core::deid::DateHandling,
}

/// Values given on the command line; they win over file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub http_addr: Option<SocketAddr>,
    pub dicom_addr: Option<SocketAddr>,
    pub ae_title: Option<String>,
    pub viewer_dir: Option<PathBuf>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn read_secret(path: &Path) -> Result<String> {
    let s = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the secret file {}", path.display()))?;
    Ok(s.trim().to_owned())
}

/// AE titles: 1 to 16 characters of the default repertoire, no backslash,
/// not only spaces.
pub fn valid_ae_title(aet: &str) -> bool {
    let t = aet.trim();
    !t.is_empty() && t.len() <= 16 && t.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'\\')
}

impl Config {
    /// Loads `file` (if any), applies environment overrides (`PACS_*`), then
    /// `flags`, and validates.
    pub fn load(file: Option<&Path>, flags: Overrides) -> Result<Config> {
        Config::from_raw(read_file(file)?, flags)
    }

    pub fn from_raw(raw: RawConfig, flags: Overrides) -> Result<Config> {
        let parse_addr = |name: &str| -> Result<Option<SocketAddr>> {
            env(name)
                .map(|v| {
                    v.parse()
                        .with_context(|| format!("{name}={v} is not HOST:PORT"))
                })
                .transpose()
        };
        let data_dir = flags
            .data_dir
            .or_else(|| env("PACS_DATA_DIR").map(PathBuf::from))
            .or(raw.data_dir)
            .context("no data directory: pass --data-dir DIR (or set data_dir in the configuration file)")?;
        let http_addr = flags
            .http_addr
            .or(parse_addr("PACS_HTTP_ADDR")?)
            .or(raw.server.http_addr)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8042)));
        let dicom_addr = flags
            .dicom_addr
            .or(parse_addr("PACS_DICOM_ADDR")?)
            .or(raw.server.dicom_addr)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 11112)));
        let ae_title = our_ae_title(flags.ae_title, raw.server.ae_title)?;
        for site in &raw.sites {
            if site.ae_titles.is_empty() {
                bail!("site {:?} lists no AE titles", site.name);
            }
            if let Some(bad) = site.ae_titles.iter().find(|a| !valid_ae_title(a)) {
                bail!("site {:?} has an invalid AE title {bad:?}", site.name);
            }
        }
        validate_nodes(&raw.dicom_nodes)?;
        let backend = env("PACS_STORAGE")
            .or(raw.storage.backend)
            .unwrap_or_else(|| "fs".into());
        let storage = match backend.as_str() {
            "fs" => StorageConfig::Fs {
                root: data_dir.join("objects"),
            },
            "s3" => StorageConfig::S3(s3_config(raw.storage.s3)?),
            other => bail!("storage backend {other:?} is unknown: use \"fs\" or \"s3\""),
        };
        let max_pdu_length = raw
            .dimse
            .max_pdu_length
            .unwrap_or(dimse::server::DEFAULT_MAX_PDU_LENGTH);
        if !(4096..=(64 << 20)).contains(&max_pdu_length) {
            bail!("dimse.max_pdu_length must be between 4096 and 67108864 bytes");
        }
        let max_instance_size = raw.ingest.max_instance_size.unwrap_or(2 << 30);
        let memory_budget = match raw.ingest.memory_budget_mb {
            Some(mb) => {
                let bytes = mb.saturating_mul(1 << 20);
                if bytes < max_instance_size {
                    bail!(
                        "ingest.memory_budget_mb ({mb} MiB) is less than ingest.max_instance_size \
                         ({max_instance_size} bytes): an instance that large could never be received"
                    );
                }
                bytes
            }
            None => default_memory_budget(max_instance_size),
        };
        let forward = ForwardConfig::from_raw(raw.forward, &raw.dicom_nodes)?;
        let public_url = env("PACS_PUBLIC_URL").or(raw.server.public_url);
        let defaults = crate::auth::AuthSettings::default();
        let auth = crate::auth::AuthSettings {
            session_lifetime: raw
                .auth
                .session_hours
                .map_or(defaults.session_lifetime, |h| {
                    Duration::from_secs(h.max(1) * 3600)
                }),
            max_failures: raw
                .auth
                .max_failures
                .unwrap_or(defaults.max_failures)
                .max(1),
            max_address_failures: raw
                .auth
                .max_failures_per_address
                .unwrap_or(defaults.max_address_failures),
            max_account_failures: raw
                .auth
                .max_failures_per_account
                .unwrap_or(defaults.max_account_failures),
            lockout: raw
                .auth
                .lockout_minutes
                .map_or(defaults.lockout, |m| Duration::from_secs(m * 60)),
            secure_cookie: public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            lock_lease: raw
                .reading
                .lock_minutes
                .map_or(defaults.lock_lease, |m| Duration::from_secs(m.max(1) * 60)),
            lock_idle: match raw.reading.idle_minutes {
                None => defaults.lock_idle,
                Some(0.0) => None,
                Some(m) if m > 0.0 && m.is_finite() => Some(
                    Duration::try_from_secs_f64(m * 60.0)
                        .with_context(|| format!("reading.idle_minutes {m} is too long"))?,
                ),
                Some(m) => {
                    bail!("reading.idle_minutes {m} must be a positive number (0 for never)")
                }
            },
        };
        let oidc = match raw.auth.oidc {
            None => None,
            Some(o) => Some(oidc_config(o, public_url.as_deref())?),
        };
        let hours = |h: Option<f64>, default: Duration| -> Result<Duration> {
            match h {
                None => Ok(default),
                Some(h) if h > 0.0 && h.is_finite() => Duration::try_from_secs_f64(h * 3600.0)
                    .with_context(|| format!("reading turnaround {h} h is too long")),
                Some(h) => bail!("reading turnaround {h} h must be a positive number of hours"),
            }
        };
        let default_turnaround = pacs_core::workflow::Turnaround::default();
        let turnaround = pacs_core::workflow::Turnaround {
            stat: hours(raw.reading.stat_hours, default_turnaround.stat)?,
            urgent: hours(raw.reading.urgent_hours, default_turnaround.urgent)?,
            routine: hours(raw.reading.routine_hours, default_turnaround.routine)?,
        };
        let proxies: Vec<String> = match env("PACS_TRUSTED_PROXIES") {
            Some(list) => list.split(',').map(str::to_owned).collect(),
            None => raw.server.trusted_proxies.unwrap_or_default(),
        };
        let trusted_proxies = crate::client_address::TrustedProxies::parse(&proxies)
            .map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))?;
        let deidentify_dates = match raw.reading.deidentify_dates.as_deref() {
            None | Some("shift") => pacs_core::deid::DateHandling::Shift,
            Some("keep") => pacs_core::deid::DateHandling::Keep,
            Some("remove") => pacs_core::deid::DateHandling::Remove,
            Some(other) => bail!("reading.deidentify_dates {other:?}: use shift, keep or remove"),
        };
        let utc_offset_minutes = match raw.reading.utc_offset.as_deref() {
            None => None,
            Some(text) => Some(utc_offset_minutes(text).with_context(|| {
                format!("reading.utc_offset {text:?}: write it as +05:00 or -03:30")
            })?),
        };
        Ok(Config {
            auth,
            oidc,
            turnaround,
            institution: raw.reading.institution,
            utc_offset_minutes,
            deidentify_dates,
            forward,
            data_dir,
            http_addr,
            dicom_addr,
            ae_title: ae_title.trim().to_owned(),
            public_url,
            http_header_timeout: Duration::from_secs(
                raw.server.http_header_timeout_secs.unwrap_or(30).max(1),
            ),
            trusted_proxies,
            http_body_timeout: Duration::from_secs(
                raw.server.http_body_timeout_secs.unwrap_or(60).max(1),
            ),
            max_pdu_length,
            idle_timeout: Duration::from_secs(raw.dimse.idle_timeout_secs.unwrap_or(120).max(1)),
            max_associations: raw.dimse.max_associations.unwrap_or(64).max(1),
            storage,
            duplicate_policy: raw.ingest.duplicate_policy.unwrap_or_default(),
            max_instance_size,
            memory_budget,
            undeclared_character_set: raw
                .ingest
                .undeclared_character_set
                .as_deref()
                .map(pacs_core::charset::Undeclared::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("[ingest] undeclared_character_set: {e}"))?,
            sites: raw.sites,
            dicom_nodes: raw.dicom_nodes,
            viewer_dir: flags
                .viewer_dir
                .or_else(|| env("PACS_VIEWER_DIR").map(PathBuf::from))
                .or(raw.viewer.dir),
        })
    }
}

/// The identity provider's settings; the client secret from its file or
/// `PACS_OIDC_CLIENT_SECRET`.
fn oidc_config(
    o: crate::auth::oidc::RawOidc,
    public_url: Option<&str>,
) -> Result<crate::auth::oidc::OidcSettings> {
    let secret = match (&o.client_secret_file, env("PACS_OIDC_CLIENT_SECRET")) {
        (Some(path), _) => read_secret(path)?,
        (None, Some(s)) => s,
        (None, None) => bail!(
            "auth.oidc needs the client secret: client_secret_file or PACS_OIDC_CLIENT_SECRET"
        ),
    };
    let redirect = match (o.redirect_url, public_url) {
        (Some(r), _) => r,
        (None, Some(u)) => format!("{}/api/auth/oidc/callback", u.trim_end_matches('/')),
        (None, None) => bail!("auth.oidc needs redirect_url (or server.public_url)"),
    };
    let mut config = oidc::OidcConfig::new(o.issuer, o.client_id, secret, redirect);
    if let Some(c) = o.username_claim {
        config.username_claim = c;
    }
    if let Some(c) = o.roles_claim {
        config.roles_claim = c;
    }
    config.site_claim = o.site_claim;
    let label = o
        .label
        .unwrap_or_else(|| "Sign in with the hospital account".into());
    Ok(crate::auth::oidc::OidcSettings {
        provider: config,
        label,
        role_prefix: o
            .role_prefix
            .map_or_else(|| "pacs-".into(), |p| p.trim().to_owned()),
    })
}

/// Minutes east of UTC for `+HH:MM`, `-HH:MM`, `+HHMM` or `Z`: the
/// offsets in use run from -12:00 to +14:00.
fn utc_offset_minutes(text: &str) -> Result<i32> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return Ok(0);
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => bail!("it needs a sign"),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let well_formed = digits.len() == 4
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (rest.len() == 4 || rest.find(':') == Some(2));
    if !well_formed {
        bail!("it needs hours and minutes");
    }
    let hours: i32 = digits[..2].parse()?;
    let minutes: i32 = digits[2..].parse()?;
    let total = sign * (hours * 60 + minutes);
    if minutes >= 60 || !(-12 * 60..=14 * 60).contains(&total) {
        bail!("no place on Earth keeps that time");
    }
    Ok(total)
}

/// The configuration file's contents; all defaults without a file.
fn read_file(file: Option<&Path>) -> Result<RawConfig> {
    let Some(path) = file else {
        return Ok(RawConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("the configuration file {} is invalid", path.display()))
}

/// Our AE title: flag, then `PACS_AE_TITLE`, then the file, then `PACS`.
fn our_ae_title(flag: Option<String>, file: Option<String>) -> Result<String> {
    let ae_title = flag
        .or_else(|| env("PACS_AE_TITLE"))
        .or(file)
        .unwrap_or_else(|| "PACS".into());
    if !valid_ae_title(&ae_title) {
        bail!("AE title {ae_title:?} is invalid: 1 to 16 printable ASCII characters, no backslash");
    }
    Ok(ae_title)
}

fn validate_nodes(nodes: &[DicomNode]) -> Result<()> {
    for node in nodes {
        if !valid_ae_title(&node.ae_title) {
            bail!("DICOM node {:?}: the AE title is invalid", node.ae_title);
        }
        if node.host.trim().is_empty() || node.port == 0 {
            bail!("DICOM node {:?} needs a host and a port", node.ae_title);
        }
    }
    Ok(())
}

/// What `pacs send` needs: no data directory, only who we are and where
/// the configured nodes are.
#[derive(Debug)]
pub struct SendConfig {
    pub ae_title: String,
    pub dicom_nodes: Vec<DicomNode>,
    /// Forwarding destinations, which may be named as where to send.
    pub forward: ForwardConfig,
    pub max_pdu_length: u32,
    /// Bound on associating and on each store.
    pub timeout: Duration,
}

impl SendConfig {
    pub fn load(file: Option<&Path>, ae_title: Option<String>) -> Result<SendConfig> {
        let raw = read_file(file)?;
        validate_nodes(&raw.dicom_nodes)?;
        let forward = ForwardConfig::from_raw(raw.forward, &raw.dicom_nodes)?;
        Ok(SendConfig {
            forward,
            ae_title: our_ae_title(ae_title, raw.server.ae_title)?
                .trim()
                .to_owned(),
            dicom_nodes: raw.dicom_nodes,
            max_pdu_length: raw
                .dimse
                .max_pdu_length
                .unwrap_or(dimse::server::DEFAULT_MAX_PDU_LENGTH),
            timeout: Duration::from_secs(raw.dimse.idle_timeout_secs.unwrap_or(120).max(1)),
        })
    }
}

fn s3_config(raw: RawS3) -> Result<storage::S3Config> {
    let bucket = env("PACS_S3_BUCKET")
        .or(raw.bucket)
        .context("storage.s3.bucket (or PACS_S3_BUCKET) is required for S3 storage")?;
    let access_key_id = match env("PACS_S3_ACCESS_KEY_ID").or_else(|| env("AWS_ACCESS_KEY_ID")) {
        Some(k) => k,
        None => match (&raw.access_key_id, &raw.access_key_id_file) {
            (Some(k), _) => k.clone(),
            (None, Some(f)) => read_secret(f)?,
            (None, None) => bail!(
                "no S3 access key: set PACS_S3_ACCESS_KEY_ID or storage.s3.access_key_id(_file)"
            ),
        },
    };
    let secret_access_key = match env("PACS_S3_SECRET_ACCESS_KEY")
        .or_else(|| env("AWS_SECRET_ACCESS_KEY"))
    {
        Some(s) => s,
        None => match &raw.secret_access_key_file {
            Some(f) => read_secret(f)?,
            None => bail!(
                "no S3 secret key: set PACS_S3_SECRET_ACCESS_KEY or storage.s3.secret_access_key_file \
                     (the secret itself is never read from the configuration file)"
            ),
        },
    };
    let endpoint = env("PACS_S3_ENDPOINT").or(raw.endpoint);
    let region = env("PACS_S3_REGION")
        .or(raw.region)
        .unwrap_or_else(|| "us-east-1".into());
    let mut c = storage::S3Config::new("", bucket, region, access_key_id, secret_access_key);
    c.path_style = raw.path_style.unwrap_or(endpoint.is_some());
    c.endpoint = endpoint;
    if let Some(t) = raw.multipart_threshold {
        c.multipart_threshold = t;
    }
    if let Some(p) = raw.part_size {
        c.part_size = p;
    }
    Ok(c)
}

/// Half the memory this process may use (the machine's, or its control
/// group's limit where that is less: a container), and never less than
/// one instance of the largest size accepted (with room for the protocol
/// around it); 4 GiB where neither says how much there is.
fn default_memory_budget(max_instance_size: u64) -> u64 {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let machine = read("/proc/meminfo").and_then(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    });
    // cgroup v2, then v1; "max" (or a v1 limit near u64::MAX) is none.
    let group = read("/sys/fs/cgroup/memory.max")
        .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&limit| limit < 1 << 60);
    let total = match (machine, group) {
        (Some(m), Some(g)) => Some(m.min(g)),
        (m, g) => m.or(g),
    };
    let half = total.map_or(4 << 30, |t| t / 2);
    half.max(max_instance_size + (64 << 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_need_only_a_data_dir() {
        let c = Config::from_raw(
            RawConfig::default(),
            Overrides {
                data_dir: Some("/tmp/x".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert!(c.http_addr.ip().is_loopback());
        assert!(c.dicom_addr.ip().is_loopback());
        assert!(matches!(c.storage, StorageConfig::Fs { .. }));
    }

    #[test]
    fn viewer_directory_comes_from_flag_over_file() {
        let raw: RawConfig = toml::from_str("[viewer]\ndir = \"/srv/viewer\"\n").unwrap();
        let flags = Overrides {
            data_dir: Some("/tmp/x".into()),
            ..Overrides::default()
        };
        let c = Config::from_raw(raw, flags.clone()).unwrap();
        // The environment sits between the two (the test command sets it).
        let expected = env("PACS_VIEWER_DIR").unwrap_or_else(|| "/srv/viewer".into());
        assert_eq!(c.viewer_dir.as_deref(), Some(Path::new(&expected)));
        let raw: RawConfig = toml::from_str("[viewer]\ndir = \"/srv/viewer\"\n").unwrap();
        let c = Config::from_raw(
            raw,
            Overrides {
                viewer_dir: Some("/opt/v".into()),
                ..flags
            },
        )
        .unwrap();
        assert_eq!(c.viewer_dir.as_deref(), Some(Path::new("/opt/v")));
        assert!(toml::from_str::<RawConfig>("[viewer]\ndirectory = \"x\"\n").is_err());
    }

    #[test]
    fn file_is_parsed_and_validated() {
        let raw: RawConfig = toml::from_str(
            r#"
            data_dir = "/var/lib/pacs"
            [server]
            ae_title = "READING"
            [[dicom_nodes]]
            ae_title = "WS1"
            host = "10.0.0.7"
            port = 104

            [[sites]]
            name = "district-1"
            ae_titles = ["CT_D1", "DX_D1"]
            addresses = ["10.1.2.3"]
            "#,
        )
        .unwrap();
        let c = Config::from_raw(raw, Overrides::default()).unwrap();
        assert_eq!(c.ae_title, "READING");
        assert_eq!(c.sites[0].ae_titles.len(), 2);
        assert_eq!(c.dicom_nodes[0].port, 104);
        let bad: Result<RawConfig, _> = toml::from_str("[server]\nsecret = 1");
        assert!(bad.is_err(), "unknown keys are refused");
    }

    #[test]
    fn the_reports_utc_offset_is_read_with_its_sign() {
        let with = |offset: &str| {
            let raw: RawConfig = toml::from_str(&format!(
                "data_dir = \"/srv/pacs\"\n[reading]\nutc_offset = \"{offset}\"\n"
            ))
            .unwrap();
            Config::from_raw(raw, Overrides::default()).map(|c| c.utc_offset_minutes)
        };
        assert_eq!(with("+05:00").unwrap(), Some(300));
        assert_eq!(with("+0530").unwrap(), Some(330));
        assert_eq!(with("-03:30").unwrap(), Some(-210));
        assert_eq!(with("Z").unwrap(), Some(0));
        for bad in [
            "5", "05:00", "+5:00", "+05:60", "+15:00", "+05:0a", "+0:500",
        ] {
            let error = format!("{:#}", with(bad).err().unwrap());
            assert!(error.contains("reading.utc_offset"), "{bad}: {error}");
        }
        let raw: RawConfig = toml::from_str("data_dir = \"/srv/pacs\"\n").unwrap();
        let c = Config::from_raw(raw, Overrides::default()).unwrap();
        assert_eq!(c.utc_offset_minutes, None, "the server's own zone");
    }

    #[test]
    fn the_undeclared_character_set_is_checked_at_start() {
        let with = |name: &str| {
            let raw: RawConfig = toml::from_str(&format!(
                "data_dir = \"/srv/pacs\"\n[ingest]\nundeclared_character_set = \"{name}\"\n"
            ))
            .unwrap();
            Config::from_raw(raw, Overrides::default())
        };
        let c = with("cp1251").unwrap();
        assert_eq!(
            c.undeclared_character_set.map(|u| u.name()),
            Some("windows-1251")
        );
        let error = with("klingon").err().unwrap().to_string();
        assert!(error.contains("undeclared_character_set"), "{error}");
    }

    #[test]
    fn the_memory_budget_holds_at_least_the_largest_instance() {
        let with = |ingest: &str| {
            let raw: RawConfig =
                toml::from_str(&format!("data_dir = \"/srv/pacs\"\n[ingest]\n{ingest}")).unwrap();
            Config::from_raw(raw, Overrides::default())
        };
        let c = with("max_instance_size = 1048576\nmemory_budget_mb = 64\n").unwrap();
        assert_eq!(c.memory_budget, 64 << 20);
        let error = with("max_instance_size = 104857600\nmemory_budget_mb = 64\n")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("memory_budget_mb"), "{error}");
        let c = with("max_instance_size = 1048576\n").unwrap();
        assert!(
            c.memory_budget >= (1 << 20) + (64 << 20),
            "{}",
            c.memory_budget
        );
    }
}
