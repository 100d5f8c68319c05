//! Other people's DICOM peers, run as child processes with time limits:
//! dcmtk's `storescu` and `echoscu` (always by absolute path: pip's
//! pynetdicom installs programs with the same names), the pynetdicom
//! sender in `store_raw.py`, and `pacs import`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{AE_TITLE, Server};

pub const STORESCU: &str = "/usr/bin/storescu";
pub const ECHOSCU: &str = "/usr/bin/echoscu";
pub const DCMODIFY: &str = "/usr/bin/dcmodify";
pub const STORESCP: &str = "/usr/bin/storescp";

/// Time any single tool run may take before the test fails.
pub const TOOL_LIMIT: Duration = Duration::from_secs(120);

/// What a finished child process did.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// stdout and stderr, in the order lines arrived.
    pub text: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// A child whose output lines are collected as they arrive.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    what: String,
}

impl Running {
    /// Starts `command` with stdout and stderr captured line by line.
    pub fn spawn(mut command: Command) -> Running {
        let what = format!("{command:?}");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout piped");
        let err = child.stderr.take().expect("stderr piped");
        forward_lines(out, tx.clone());
        forward_lines(err, tx);
        Running {
            child,
            lines: rx,
            seen: Vec::new(),
            what,
        }
    }

    /// The next output line, waiting at most until `deadline`; `None` once
    /// the child closed its output or the deadline passed.
    pub fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(_) => None,
        }
    }

    /// Waits for the child to exit (killing it and failing the test after
    /// `limit`) and returns everything it printed.
    pub fn finish(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                while let Ok(line) = self.lines.try_recv() {
                    self.seen.push(line);
                }
                panic!(
                    "{} did not finish within {limit:?}; its output:\n{}",
                    self.what,
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The readers end when the pipes close, shortly after exit.
        let drain_deadline = Instant::now() + Duration::from_secs(10);
        while let Some(_line) = self.next_line(drain_deadline) {}
        Finished {
            status,
            text: self.seen.join("\n"),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn forward_lines(stream: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

/// Runs `command` to completion within `limit`.
pub fn run(command: Command, limit: Duration) -> Finished {
    Running::spawn(command).finish(limit)
}

/// `storescu -d` to `server` as `calling` with `extra` options, sending
/// `paths` (files, or directories with `+sd +r` in `extra`).
pub fn storescu_command(
    server: &Server,
    calling: &str,
    extra: &[&str],
    paths: &[PathBuf],
) -> Command {
    let mut command = Command::new(STORESCU);
    // -d: every response is logged with its status in hex.
    command
        .args(["-d", "-aet", calling, "-aec", AE_TITLE])
        // Fail rather than hang if the server stops answering.
        .args(["-ta", "30", "-td", "60", "-to", "30"])
        .args(extra)
        .arg("127.0.0.1")
        .arg(server.dicom_port())
        .args(paths);
    command
}

pub fn storescu(server: &Server, extra: &[&str], paths: &[PathBuf]) -> Finished {
    run(
        storescu_command(server, "STORESCU", extra, paths),
        TOOL_LIMIT,
    )
}

/// `echoscu` with the given calling and called AE titles; whether it
/// succeeded, and what it printed.
pub fn echoscu(server: &Server, calling: &str, called: &str) -> Finished {
    let mut command = Command::new(ECHOSCU);
    command
        .args([
            "-v", "-aet", calling, "-aec", called, "-to", "30", "-ta", "30", "-td", "30",
        ])
        .arg("127.0.0.1")
        .arg(server.dicom_port());
    run(command, TOOL_LIMIT)
}

/// One C-STORE response as storescu logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreResponse {
    pub sop_instance_uid: String,
    pub status: u16,
}

/// Reads C-STORE responses out of `storescu -d` output, line by line.
#[derive(Default)]
pub struct ResponseParser {
    in_response: bool,
    is_store_rsp: bool,
    sop: Option<String>,
    status: Option<u16>,
}

impl ResponseParser {
    /// Feeds one line; returns a response when the line completes one.
    pub fn line(&mut self, line: &str) -> Option<StoreResponse> {
        let body = line.strip_prefix("D: ").unwrap_or(line);
        if body.contains("INCOMING DIMSE MESSAGE") {
            *self = ResponseParser {
                in_response: true,
                ..ResponseParser::default()
            };
            return None;
        }
        if !self.in_response {
            return None;
        }
        if body.contains("END DIMSE MESSAGE") {
            self.in_response = false;
            if self.is_store_rsp {
                return Some(StoreResponse {
                    sop_instance_uid: self.sop.take().unwrap_or_default(),
                    status: self.status.take().expect("a C-STORE RSP has a status"),
                });
            }
            return None;
        }
        let (key, value) = body.split_once(':')?;
        let value = value.trim();
        match key.trim() {
            "Message Type" => self.is_store_rsp = value == "C-STORE RSP",
            "Affected SOP Instance UID" => self.sop = Some(value.to_owned()),
            "DIMSE Status" => {
                let hex = value
                    .strip_prefix("0x")
                    .and_then(|v| v.get(..4))
                    .unwrap_or_else(|| panic!("unexpected status line {line:?}"));
                self.status = Some(u16::from_str_radix(hex, 16).expect("hex status"));
            }
            _ => {}
        }
        None
    }
}

/// Every C-STORE response in `storescu -d` output, in order.
pub fn store_responses(text: &str) -> Vec<StoreResponse> {
    let mut parser = ResponseParser::default();
    text.lines().filter_map(|l| parser.line(l)).collect()
}

/// Runs pynetdicom (`store_raw.py`) to send `files` over one association:
/// each data set exactly as it is in its file, under the SOP Class and
/// Instance UIDs of the file's meta group. Returns the status per file
/// (`None`: no response) and the status of a C-ECHO sent afterwards on the
/// same association (`None`: the association was gone).
pub fn pynetdicom_store(
    server: &Server,
    files: &[PathBuf],
) -> (Vec<Option<u16>>, Option<u16>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/store_raw.py");
    let mut command = Command::new(crate::common::python());
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(script)
        .arg("127.0.0.1")
        .arg(server.dicom_port())
        .arg(AE_TITLE)
        .arg("PYNETDICOM")
        .args(files);
    let done = run(command, TOOL_LIMIT);
    assert!(
        done.success(),
        "pynetdicom could not send (is PACS_TEST_PYTHON set to a Python with pynetdicom?):\n{}",
        done.text
    );
    let parse = |v: &str| match v {
        "none" => None,
        v => Some(u16::from_str_radix(v.trim_start_matches("0x"), 16).expect("hex status")),
    };
    let mut statuses = Vec::new();
    let mut echo = None;
    for line in done.text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["status", _file, status] => statuses.push(parse(status)),
            ["echo", status] => echo = parse(status),
            _ => {}
        }
    }
    assert_eq!(
        statuses.len(),
        files.len(),
        "one status per file:\n{}",
        done.text
    );
    (statuses, echo, done.text)
}

/// `dcmodify -nb` with `args`, on `file` in place.
pub fn dcmodify(file: &Path, args: &[&str]) {
    let mut command = Command::new(DCMODIFY);
    command.arg("-nb").args(args).arg(file);
    let done = run(command, TOOL_LIMIT);
    assert!(done.success(), "dcmodify {args:?} failed:\n{}", done.text);
}

/// Writes a configuration file next to `data_dir` and returns its path.
pub fn write_config(data_dir: &Path, toml: &str) -> PathBuf {
    let path = data_dir.with_extension("toml");
    std::fs::write(&path, toml).expect("config written");
    path
}

/// The data set of a Part 10 file: what follows the file meta group,
/// whose first element is its group length (explicit VR LE, at byte 132).
pub fn data_set_of_file(bytes: &[u8]) -> &[u8] {
    assert!(
        bytes.len() > 144 && &bytes[128..132] == b"DICM",
        "not a Part 10 file"
    );
    let group_length = u32::from_le_bytes([bytes[140], bytes[141], bytes[142], bytes[143]]);
    &bytes[144 + group_length as usize..]
}

/// The file meta group of a Part 10 file, preamble included.
pub fn meta_of_file(bytes: &[u8]) -> &[u8] {
    let data_set = data_set_of_file(bytes).len();
    &bytes[..bytes.len() - data_set]
}

/// Every DICOM file below `dir` as (SOP Instance UID, bytes); files that
/// are not DICOM are skipped.
pub fn dicom_files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
    use dicom_dictionary_std::tags;
    files_below(dir)
        .into_iter()
        .filter_map(|path| {
            let object = dicom_object::OpenFileOptions::new().open_file(&path).ok()?;
            let sop = object
                .element(tags::SOP_INSTANCE_UID)
                .ok()?
                .to_str()
                .ok()?
                .trim_end_matches(['\0', ' '])
                .to_owned();
            Some((sop, std::fs::read(&path).expect("readable")))
        })
        .collect()
}

/// Polls `check` until it returns `Some`, failing the test after `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every regular file below `dir`, recursively.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Peak resident memory of a process in KiB (VmHWM), from /proc.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// dcmtk's `storescp` on a free loopback port, writing into `dir`; killed
/// when dropped.
pub struct StoreScp {
    child: std::process::Child,
    pub port: u16,
}

impl StoreScp {
    pub fn start(dir: &Path, ae_title: &str) -> StoreScp {
        let port = test_support::free_port().expect("a free port");
        StoreScp::start_on(dir, ae_title, port, &[])
    }

    /// On a chosen port, with extra options (`+uf`: every received data
    /// set in a file of its own, so a duplicate shows).
    pub fn start_on(dir: &Path, ae_title: &str, port: u16, extra: &[&str]) -> StoreScp {
        std::fs::create_dir_all(dir).expect("storescp dir");
        let child = Command::new(STORESCP)
            .args(["-aet", ae_title])
            .args(extra)
            .arg("-od")
            .arg(dir)
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("storescp starts (is dcmtk installed?)");
        let mut scp = StoreScp { child, port };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            scp.assert_running();
            assert!(
                std::time::Instant::now() < deadline,
                "storescp did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Something answers on the port; make sure it is this storescp
        // and not another server that took the port first.
        std::thread::sleep(Duration::from_millis(100));
        scp.assert_running();
        scp
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "storescp on port {} exited ({status}); was the port taken?",
                self.port
            );
        }
    }
}

impl Drop for StoreScp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
