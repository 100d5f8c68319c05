//! Test support: the real `pacs` binary on loopback port 0, and helpers
//! for the real peers the tests talk to.
#![allow(dead_code)]

pub mod accounts;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `pacs serve`, stopped (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    pub http: SocketAddr,
    pub dicom: SocketAddr,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

pub const AE_TITLE: &str = "PACS";

impl Server {
    /// Starts the server on `data_dir` with free loopback ports.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, None, &[])
    }

    /// Starts the server with a configuration file and extra flags.
    pub fn start_with(data_dir: &Path, config: Option<&Path>, extra: &[&str]) -> Server {
        Server::start_with_env(data_dir, config, extra, &[])
    }

    /// Starts the server with a configuration file, extra flags and extra
    /// environment variables (secrets that the configuration reads from
    /// the environment).
    pub fn start_with_env(
        data_dir: &Path,
        config: Option<&Path>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let log = data_dir.with_extension("log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pacs"));
        cmd.arg("serve").arg("--data-dir").arg(data_dir);
        // Port 0 unless the test chose an address.
        if !extra.contains(&"--http-addr") {
            cmd.args(["--http-addr", "127.0.0.1:0"]);
        }
        cmd.args(["--dicom-addr", "127.0.0.1:0", "--aet", AE_TITLE])
            .args(extra)
            .env("RUST_LOG", "info,pacs=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .envs(env.iter().copied());
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let mut child = cmd.spawn().expect("start pacs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("pacs ready ") {
                    let _ = tx.send(rest.to_owned());
                }
            }
        });
        let ready = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(r) => r,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "pacs did not become ready; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        let mut http = None;
        let mut dicom = None;
        for kv in ready.split_whitespace() {
            if let Some(v) = kv.strip_prefix("http=") {
                http = v.parse().ok();
            }
            if let Some(v) = kv.strip_prefix("dicom=") {
                dicom = v.parse().ok();
            }
        }
        Server {
            child: Some(child),
            http: http.expect("http address"),
            dicom: dicom.expect("dicom address"),
            data_dir: data_dir.to_owned(),
            log,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}/dicom-web", self.http)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    pub fn dicom_port(&self) -> String {
        self.dicom.port().to_string()
    }

    /// SIGTERM, then waits for a clean exit; returns the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        wait_timeout(&mut child, Duration::from_secs(90))
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("pacs did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
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

/// Runs a dcmtk tool by absolute path (pip's pynetdicom shadows the names).
pub fn dcmtk(tool: &str, args: &[&str]) -> std::process::Output {
    let path = format!("/usr/bin/{tool}");
    Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {path} (is dcmtk installed?): {e}"))
}

/// A blocking HTTP client with a sane timeout.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
}

/// The Python interpreter that has dicomweb-client and pynetdicom.
pub fn python() -> String {
    std::env::var("PACS_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Writes a CT series (small matrix, for speed) with the sample generator;
/// returns its spec and files.
pub fn ct_files(
    dir: &Path,
    slices: u32,
    seed: u64,
    ts: dicom_samples::SampleTransferSyntax,
) -> (dicom_samples::CtSpec, Vec<PathBuf>) {
    let spec = dicom_samples::CtSpec::chest(dicom_samples::Patient::ivanov_iso_ir_144(), seed)
        .with_slices(slices)
        .with_matrix(128, 128);
    let files = dicom_samples::write_ct_series(&spec, dir, ts).expect("write CT series");
    (spec, files)
}

/// SHA-256 of a file's bytes, hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
