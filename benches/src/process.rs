//! Server processes started by the benchmark: one handle for the archive
//! and the reference alike, stopped at the end and killed if dropped.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Which system a server process is; they differ in how they report
/// their totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// The archive under test.
    Pacs,
    /// The reference archive.
    Orthanc,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::Pacs => "pacs",
            System::Orthanc => "Orthanc",
        }
    }
}

/// A running server with its HTTP and DICOM endpoints.
pub struct Server {
    pub system: System,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub http_base: String,
    /// Root of the DICOMweb API, without a trailing slash.
    pub dicomweb: String,
    pub dicom_port: u16,
    pub called_aet: String,
    /// Where the server's own log goes.
    pub log: PathBuf,
}

impl Server {
    pub(crate) fn new(
        system: System,
        child: Child,
        http_port: u16,
        dicom_port: u16,
        called_aet: &str,
        log: PathBuf,
    ) -> Server {
        let http_base = format!("http://127.0.0.1:{http_port}");
        Server {
            system,
            child: Some(child),
            dicomweb: format!("{http_base}/dicom-web"),
            http_base,
            dicom_port,
            called_aet: called_aet.to_owned(),
            log,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Peak resident set size so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time the process has used so far.
    pub fn cpu_times(&self) -> Option<CpuTimes> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?)).ok()?;
        CpuTimes::from_stat(&stat, 11)
    }

    /// Fails when the process has already exited, naming its log.
    pub(crate) fn check_alive(&mut self) -> Result<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            bail!(
                "{} exited early ({status}); last lines of {}:\n{}",
                self.system.name(),
                self.log.display(),
                log_tail(&self.log)
            );
        }
        Ok(())
    }

    /// Asks the server to stop (SIGTERM), waits up to `grace`, then kills it.
    pub fn stop(mut self, grace: Duration) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = std::process::Command::new("/bin/kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!(
            "{} did not stop within {grace:?} and was killed",
            self.system.name()
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// User and system CPU time, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub user: f64,
    pub system: f64,
}

impl CpuTimes {
    /// Two consecutive tick counts of `/proc/PID/stat`, starting at field
    /// `first` after the command name (11: the process's own time, 13:
    /// that of its children waited for).
    pub fn from_stat(stat: &str, first: usize) -> Option<CpuTimes> {
        // The command name is in parentheses and may hold spaces.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let mut fields = rest.split_whitespace().skip(first);
        let user: f64 = fields.next()?.parse().ok()?;
        let system: f64 = fields.next()?.parse().ok()?;
        // USER_HZ is 100 on Linux.
        Some(CpuTimes {
            user: user / 100.0,
            system: system / 100.0,
        })
    }

    /// The time spent between `earlier` and `self`.
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

impl std::fmt::Display for CpuTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} s (user {:.2}, system {:.2})",
            self.user + self.system,
            self.user,
            self.system
        )
    }
}

/// The last lines of a log file, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// A TCP port on loopback that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until `url` answers 200, the process is still alive, or `limit` passes.
pub(crate) async fn wait_http_ready(server: &mut Server, url: &str, limit: Duration) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let deadline = Instant::now() + limit;
    loop {
        server.check_alive()?;
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} did not answer {url} within {limit:?}; last lines of {}:\n{}",
                server.system.name(),
                server.log.display(),
                log_tail(&server.log)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Number of instances the server holds, as it reports it.
pub async fn instance_count(server: &Server) -> Result<u64> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let (url, pointer) = match server.system {
        System::Pacs => (format!("{}/healthz", server.http_base), "/totals/instances"),
        System::Orthanc => (
            format!("{}/statistics", server.http_base),
            "/CountInstances",
        ),
    };
    let body: serde_json::Value = client.get(&url).send().await?.json().await?;
    body.pointer(pointer)
        .and_then(serde_json::Value::as_u64)
        .with_context(|| format!("{url} did not report {pointer}: {body}"))
}
