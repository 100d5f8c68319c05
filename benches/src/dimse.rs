//! C-STORE ingest with dcmtk's `storescu`, one process per association.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::process::{CpuTimes, Server, instance_count};

/// dcmtk's store SCU, always by absolute path: a Python `storescp`/`storescu`
/// on PATH must not shadow it.
pub const STORESCU: &str = "/usr/bin/storescu";
/// The calling AE title of the benchmark's associations.
pub const CALLING_AET: &str = "BENCH";
const LIMIT: Duration = Duration::from_secs(600);

/// One ingest run: what was sent, how long it took, what the server used.
#[derive(Debug, Clone)]
pub struct IngestRun {
    pub associations: usize,
    pub instances: usize,
    pub bytes: u64,
    pub seconds: f64,
    /// Peak RSS of the server process at the end of the run, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Server CPU time spent during the run.
    pub server_cpu: Option<CpuTimes>,
    /// CPU time of the `storescu` processes.
    pub client_cpu: Option<CpuTimes>,
}

impl IngestRun {
    pub fn instances_per_s(&self) -> f64 {
        self.instances as f64 / self.seconds
    }

    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
}

pub fn storescu_installed() -> bool {
    std::path::Path::new(STORESCU).is_file()
}

/// Sends every file below each of `dirs` over its own association, all at
/// once, and checks that the server then holds `instances` instances.
pub async fn ingest(
    server: &Server,
    dirs: &[PathBuf],
    instances: usize,
    bytes: u64,
) -> Result<IngestRun> {
    let before_cpu = server.cpu_times();
    let before_children = children_cpu_times();
    let start = Instant::now();
    let mut children = Vec::new();
    for dir in dirs {
        let child = tokio::process::Command::new(STORESCU)
            .args(["-aet", CALLING_AET, "-aec", &server.called_aet])
            .args(["+sd", "+r"])
            .arg("127.0.0.1")
            .arg(server.dicom_port.to_string())
            .arg(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start /usr/bin/storescu")?;
        children.push(child.wait_with_output());
    }
    let outputs = tokio::time::timeout(LIMIT, futures::future::join_all(children))
        .await
        .with_context(|| format!("storescu did not finish within {LIMIT:?}"))?;
    let seconds = start.elapsed().as_secs_f64();
    let server_cpu = match (before_cpu, server.cpu_times()) {
        (Some(a), Some(b)) => Some(b.since(a)),
        _ => None,
    };
    let client_cpu = match (before_children, children_cpu_times()) {
        (Some(a), Some(b)) => Some(b.since(a)),
        _ => None,
    };
    for output in outputs {
        let output = output.context("storescu failed to run")?;
        if !output.status.success() {
            bail!(
                "storescu to {} failed ({}): {}",
                server.system.name(),
                output.status,
                tail(&output.stderr)
            );
        }
    }
    let held = instance_count(server).await?;
    if held != instances as u64 {
        bail!(
            "{} holds {held} instances after the C-STORE run, expected {instances}",
            server.system.name()
        );
    }
    Ok(IngestRun {
        associations: dirs.len(),
        instances,
        bytes,
        seconds,
        peak_rss_kib: server.peak_rss_kib(),
        server_cpu,
        client_cpu,
    })
}

/// CPU time of this process's children that have been waited for.
fn children_cpu_times() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    CpuTimes::from_stat(&stat, 13)
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
