//! A throwaway single-node Garage server for tests that need a real
//! S3-compatible service.
//!
//! [`Garage::start`] runs one private server (own temp dir, own loopback
//! ports, random RPC secret) with one bucket and one key allowed on it.
//! [`shared`] starts one per test process and hands it to every test;
//! [`shared_or_skip`] adds the policy for machines without Garage.

use std::env;
use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long the server may take to answer and to accept the layout.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running single-node Garage. Dropping it kills the server and removes
/// its data. Invariant: while it exists, `endpoint` serves S3 path-style
/// requests for `bucket`, signed with `access_key_id`/`secret_access_key`
/// in `region`, and the key may read, write and own the bucket.
pub struct Garage {
    /// S3 endpoint URL, e.g. `http://127.0.0.1:39123`.
    pub endpoint: String,
    /// Signing region; always `garage`.
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Admin API URL.
    pub admin_endpoint: String,
    binary: PathBuf,
    config: PathBuf,
    server: Child,
    /// Keeps the watchdog waiting; when this process dies without running
    /// `Drop` (a `static`), the pipe closes and the watchdog stops the
    /// server and removes the directory.
    watchdog: Option<(Child, ChildStdin)>,
    dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Garage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Garage")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where the `garage` binary is: `$GARAGE_BIN`, else `garage` on `PATH`,
/// else `~/.cargo/bin/garage`; `None` when none of those is a file.
pub fn find_binary() -> Option<PathBuf> {
    if let Some(bin) = env::var_os("GARAGE_BIN") {
        let bin = PathBuf::from(bin);
        return bin.is_file().then_some(bin);
    }
    if let Some(path) = env::var_os("PATH")
        && let Some(bin) = env::split_paths(&path)
            .map(|dir| dir.join("garage"))
            .find(|p| p.is_file())
    {
        return Some(bin);
    }
    let home = env::var_os("HOME")?;
    let bin = Path::new(&home).join(".cargo/bin/garage");
    bin.is_file().then_some(bin)
}

/// Whether a missing Garage must fail the S3 tests rather than skip them:
/// on CI (`CI` set) or when `PACS_REQUIRE_S3=1`.
pub fn required() -> bool {
    env::var_os("CI").is_some_and(|v| !v.is_empty())
        || env::var("PACS_REQUIRE_S3").is_ok_and(|v| v == "1")
}

/// One server for the whole test process, started on first use. Later
/// calls return the same server, or the same startup error.
pub fn shared() -> Result<&'static Garage, String> {
    static SHARED: OnceLock<Result<Garage, String>> = OnceLock::new();
    SHARED
        .get_or_init(Garage::start)
        .as_ref()
        .map_err(Clone::clone)
}

/// The shared server, or `None` after a loud notice when Garage is not
/// installed and not [`required`].
///
/// # Panics
/// When Garage is installed but will not start, or is missing and
/// required: a test calling this then fails with the reason.
pub fn shared_or_skip(test: &str) -> Option<&'static Garage> {
    if find_binary().is_none() {
        let how = "install it with `cargo install garage --locked` or point GARAGE_BIN at it";
        if required() {
            panic!(
                "{test}: the S3 tests are required (CI or PACS_REQUIRE_S3=1) but no garage binary was found; {how}"
            );
        }
        // Straight to stderr: the test harness captures `eprintln!` of
        // passing tests, and a skip must be seen.
        static BANNER: OnceLock<()> = OnceLock::new();
        let mut err = std::io::stderr().lock();
        BANNER.get_or_init(|| {
            let _ = writeln!(
                err,
                "\n!!!! garage not found: the S3 backend is NOT being tested ({how}; set PACS_REQUIRE_S3=1 to make this a failure) !!!!"
            );
        });
        let _ = writeln!(err, "!!!! SKIPPED {test} (no garage)");
        return None;
    }
    match shared() {
        Ok(garage) => Some(garage),
        Err(e) => panic!("{test}: garage is installed but did not start: {e}"),
    }
}

impl Garage {
    /// Starts a fresh server with one bucket and one key; see the type's
    /// invariants. Errors say what failed, with the server's log tail.
    pub fn start() -> Result<Garage, String> {
        let binary = find_binary()
            .ok_or_else(|| "garage not found (GARAGE_BIN, PATH, ~/.cargo/bin/garage)".to_owned())?;
        let dir = tempfile::Builder::new()
            .prefix("garage-test-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir for garage: {e}"))?;
        let ports = crate::free_ports(3)?;
        let (rpc, s3, admin) = (ports[0], ports[1], ports[2]);
        let secret: [u8; 32] = rand::random();
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let root = dir.path();
        let config = root.join("garage.toml");
        let text = format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
            meta = root.join("meta").display(),
            data = root.join("data").display(),
        );
        fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        let log_path = root.join("server.log");
        let log = fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot reopen {}: {e}", log_path.display()))?;
        let server = Command::new(&binary)
            .arg("-c")
            .arg(&config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let watchdog = spawn_watchdog(server.id(), root);
        let mut garage = Garage {
            endpoint: format!("http://127.0.0.1:{s3}"),
            region: "garage".into(),
            bucket: "pacs-test".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            admin_endpoint: format!("http://127.0.0.1:{admin}"),
            binary,
            config,
            server,
            watchdog,
            dir: Some(dir),
        };
        garage
            .provision(s3)
            .map_err(|e| format!("{e}\n--- garage log tail ---\n{}", log_tail(&log_path)))?;
        Ok(garage)
    }

    /// Waits for the server, then sets the layout, bucket and key.
    fn provision(&mut self, s3_port: u16) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let node = loop {
            if let Ok(Some(status)) = self.server.try_wait() {
                return Err(format!("garage server exited at startup ({status})"));
            }
            match self.cli(&["node", "id", "-q"]) {
                Ok(out) => break out,
                Err(e) if Instant::now() > deadline => {
                    return Err(format!(
                        "garage did not answer within {STARTUP_TIMEOUT:?}: {e}"
                    ));
                }
                Err(_) => sleep(Duration::from_millis(100)),
            }
        };
        let node_id = node
            .trim()
            .split('@')
            .next()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| format!("unexpected `garage node id` output: {node:?}"))?
            .to_owned();
        // `node id` reads the key from disk and can answer before the RPC
        // port listens: retry the first commands that need the server.
        retry(deadline, || {
            self.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node_id])
        })?;
        retry(deadline, || {
            self.cli(&["layout", "apply", "--version", "1"])
        })?;
        // The layout takes a moment to apply; retry until buckets work.
        retry(deadline, || self.cli(&["bucket", "create", &self.bucket]))?;
        let key = self.cli(&["key", "create", "pacs-test-key"])?;
        self.access_key_id = field(&key, "Key ID")?;
        self.secret_access_key = field(&key, "Secret key")?;
        self.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            &self.bucket,
            "--key",
            "pacs-test-key",
        ])?;
        retry(deadline, || {
            TcpStream::connect((Ipv4Addr::LOCALHOST, s3_port))
                .map(drop)
                .map_err(|e| format!("S3 port {s3_port} not accepting: {e}"))
        })
    }

    /// Runs a `garage` CLI command against this server; returns stdout.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run garage {}: {e}", args.join(" ")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "garage {} failed ({}): {}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The directory holding this server's config, data and `server.log`;
    /// removed on drop.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(tempfile::TempDir::path)
    }

    /// Creates another bucket the test key may read, write and own.
    pub fn create_bucket(&self, name: &str) -> Result<(), String> {
        self.cli(&["bucket", "create", name])?;
        self.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            name,
            "--key",
            "pacs-test-key",
        ])
        .map(drop)
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        if let Some((mut watchdog, stdin)) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
            drop(stdin);
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

/// Starts a shell that waits for EOF on its stdin, then kills `pid` and
/// removes `dir`. Holding its stdin open keeps it waiting; the pipe closes
/// when this process exits however it exits. `None` when `sh` is missing
/// (then only `Drop` cleans up).
fn spawn_watchdog(pid: u32, dir: &Path) -> Option<(Child, ChildStdin)> {
    let script = format!(
        "cat >/dev/null; kill {pid} 2>/dev/null; sleep 2; kill -9 {pid} 2>/dev/null; rm -rf '{}'",
        dir.display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    // Nothing is ever read; a write failure only means the shell is gone.
    let _ = stdin.flush();
    Some((child, stdin))
}

fn retry<T>(deadline: Instant, mut f: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => sleep(Duration::from_millis(200)),
        }
    }
}

/// The value of a `Name: value` line in `garage key create` output.
fn field(output: &str, name: &str) -> Result<String, String> {
    output
        .lines()
        .filter_map(|line| line.trim().split_once(':'))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("no {name:?} in `garage key create` output"))
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    text.get(start..).unwrap_or(&text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_create_output() -> Result<(), String> {
        let out = "==== ACCESS KEY INFORMATION ====\nKey ID:              GK31c2f218a2e44f485b94239e\nKey name:            pacs-test-key\nSecret key:          b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835\nCreated:             2025-01-01\n";
        assert_eq!(field(out, "Key ID")?, "GK31c2f218a2e44f485b94239e");
        assert_eq!(
            field(out, "Secret key")?,
            "b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835"
        );
        assert!(field(out, "Missing").is_err());
        Ok(())
    }
}
