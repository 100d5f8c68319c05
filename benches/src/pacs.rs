//! Building and starting the archive under test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::process::{Server, System, log_tail, wait_http_ready};

/// The AE title the archive answers to in the benchmark.
pub const AET: &str = "PACS";

/// Builds the server in release mode and returns the binary's path.
pub fn build_release(workspace: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building the server: cargo build --release -p pacs");
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "pacs"])
        .current_dir(workspace)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release -p pacs failed ({status})");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let bin = target.join("release").join("pacs");
    if !bin.is_file() {
        bail!("the build succeeded but {} is missing", bin.display());
    }
    Ok(bin)
}

/// Starts `pacs serve` on free loopback ports with a fresh `data_dir`, and
/// waits for its ready line and its health check.
pub async fn start(bin: &Path, data_dir: &Path, log: PathBuf) -> Result<Server> {
    start_with_config(bin, data_dir, log, None).await
}

/// [`start`] with a configuration file.
pub async fn start_with_config(
    bin: &Path,
    data_dir: &Path,
    log: PathBuf,
    config: Option<&Path>,
) -> Result<Server> {
    std::fs::create_dir_all(data_dir)?;
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--http-addr", "127.0.0.1:0", "--dicom-addr", "127.0.0.1:0"])
        .args(["--aet", AET])
        .args(
            config
                .map(|c| vec![std::ffi::OsStr::new("--config"), c.as_os_str()])
                .unwrap_or_default(),
        )
        .env_remove("PACS_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().context("no stdout from pacs")?;
    let (tx, rx) = mpsc::channel();
    // Reads the ready line, then keeps draining stdout so the server never blocks on it.
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && line.starts_with("pacs ready ") {
                let _ = tx.send(line);
                sent = true;
            }
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "pacs printed no ready line within 60 s; last lines of {}:\n{}",
                log.display(),
                log_tail(&log)
            );
        }
    };
    let (http, dicom) =
        parse_ready(&line).with_context(|| format!("unexpected ready line from pacs: {line:?}"))?;
    let mut server = Server::new(System::Pacs, child, http, dicom, AET, log);
    let health = format!("{}/healthz", server.http_base);
    wait_http_ready(&mut server, &health, Duration::from_secs(30)).await?;
    Ok(server)
}

/// Ports from `pacs ready http=ADDR dicom=ADDR`.
fn parse_ready(line: &str) -> Option<(u16, u16)> {
    let port_of = |key: &str| -> Option<u16> {
        let value = line.split_whitespace().find_map(|w| w.strip_prefix(key))?;
        value.rsplit(':').next()?.parse().ok()
    };
    Some((port_of("http=")?, port_of("dicom=")?))
}

#[cfg(test)]
mod tests {
    use super::parse_ready;

    #[test]
    fn ready_line_gives_both_ports() {
        assert_eq!(
            parse_ready("pacs ready http=127.0.0.1:41234 dicom=127.0.0.1:40001"),
            Some((41234, 40001))
        );
        assert_eq!(parse_ready("pacs ready http=127.0.0.1:1"), None);
    }
}
