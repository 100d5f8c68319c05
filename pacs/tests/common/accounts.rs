//! Accounts for tests: created with the real `pacs user|site|token`
//! commands (passwords on standard input), and signed in over the real
//! HTTP API.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery";

/// Runs `pacs ARGS --data-dir DIR` with `stdin` on standard input;
/// panics with its output unless it succeeds. Returns standard output.
pub fn pacs_cli(data_dir: &Path, args: &[&str], stdin: &str) -> String {
    let out = pacs_cli_output(data_dir, args, stdin);
    assert!(
        out.status.success(),
        "pacs {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `pacs ARGS --data-dir DIR` with `stdin` on standard input, and
/// returns how it ended, whatever that was.
pub fn pacs_cli_output(data_dir: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacs"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pacs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("pacs output")
}

pub fn add_site(data_dir: &Path, name: &str, aet: &str, priority: &str) {
    pacs_cli(
        data_dir,
        &["site", "add", name, "--aet", aet, "--priority", priority],
        "",
    );
}

/// `pacs user add NAME --role ROLE [extra...]` with [`PASSWORD`].
pub fn add_user(data_dir: &Path, name: &str, role: &str, extra: &[&str]) {
    let mut args = vec!["user", "add", name, "--role", role];
    args.extend_from_slice(extra);
    pacs_cli(data_dir, &args, &format!("{PASSWORD}\n"));
}

/// A machine token for a site's gateway.
pub fn site_token(data_dir: &Path, site: &str) -> String {
    pacs_cli(data_dir, &["token", "create", "--site", site], "")
        .trim()
        .to_owned()
}

/// Signs in; returns the bearer token.
pub fn login(client: &reqwest::blocking::Client, base: &str, user: &str) -> String {
    let reply = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": user, "password": PASSWORD }))
        .send()
        .expect("login request");
    let status = reply.status();
    let text = reply.text().expect("login reply");
    assert_eq!(status, 200, "login of {user}: {text}");
    let body: Value = serde_json::from_str(&text).expect("login JSON");
    body["token"].as_str().expect("token").to_owned()
}
