//! `pacs serve` with its objects in S3, on a real Garage server
//! (`test_support::garage`): instances come back bit-exact, before and
//! after a restart; a bucket that cannot be used is refused at startup
//! with a message that says why; the secret key never reaches a log.

mod common;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dicom_samples::{SampleTransferSyntax, ct_slice_pixels};
use test_support::garage::{self, Garage};

use common::{Server, ct_files, sha256};
use web::{DICOM_ANY_TS, Dicom, OCTET_STREAM, get};

/// A bucket name no other test (or earlier run) uses.
fn unique_bucket(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("pacs-{tag}-{}-{nanos:x}", std::process::id())
}

/// A configuration file for S3 storage on `garage`, in `bucket`. The keys
/// are not in it: they come from the environment.
fn write_config(dir: &Path, garage: &Garage, bucket: &str) -> PathBuf {
    let path = dir.join(format!("{bucket}.toml"));
    let text = format!(
        r#"[storage]
backend = "s3"

[storage.s3]
endpoint = "{}"
bucket = "{bucket}"
region = "{}"
path_style = true
"#,
        garage.endpoint, garage.region
    );
    std::fs::write(&path, text).expect("write the configuration");
    path
}

fn secrets<'a>(access_key_id: &'a str, secret: &'a str) -> [(&'static str, &'a str); 2] {
    [
        ("PACS_S3_ACCESS_KEY_ID", access_key_id),
        ("PACS_S3_SECRET_ACCESS_KEY", secret),
    ]
}

/// What was stored, to check against after every start.
struct Stored {
    spec: dicom_samples::CtSpec,
    files: Vec<Vec<u8>>,
    /// A JPEG-LS instance from dcmcjpls (encapsulated frames are ranged
    /// reads of the object), when dcmtk is installed: its path below
    /// `/dicom-web`, its file and its source pixels.
    jls: Option<(String, Vec<u8>, Vec<u8>)>,
}

fn check_served(server: &Server, stored: &Stored) {
    let spec = &stored.spec;
    for (i, file) in stored.files.iter().enumerate() {
        let url = format!(
            "{}/studies/{}/series/{}/instances/{}",
            server.base(),
            spec.study.study_uid,
            spec.series_uid,
            spec.sop_instance_uid(i as u32)
        );
        let parts = get(&url, Some(DICOM_ANY_TS)).parts();
        assert_eq!(
            sha256(&parts[0].body),
            sha256(file),
            "instance {i} bit-exact"
        );
        let frame = get(&format!("{url}/frames/1"), Some(OCTET_STREAM)).parts();
        assert_eq!(
            frame[0].body,
            web::words_le(&ct_slice_pixels(spec, i as u32)),
            "frame of instance {i}"
        );
    }
    let series = web::qido(server, &format!("/studies/{}/series", spec.study.study_uid));
    assert_eq!(
        web::int_value(&series[0], "00201209"),
        Some(stored.files.len() as i64)
    );
    if let Some((path, file, pixels)) = &stored.jls {
        let url = format!("{}{path}", server.base());
        let parts = get(&url, Some(DICOM_ANY_TS)).parts();
        assert_eq!(sha256(&parts[0].body), sha256(file), "JPEG-LS bit-exact");
        let bitstream = get(
            &format!("{url}/frames/1"),
            Some(r#"multipart/related; type="image/jls""#),
        )
        .parts();
        assert!(
            bitstream[0].body == Dicom::read(file).encapsulated_bitstream(),
            "JPEG-LS frame as stored"
        );
        let decoded = get(&format!("{url}/frames/1"), Some(OCTET_STREAM)).parts();
        assert!(&decoded[0].body == pixels, "JPEG-LS frame decoded");
    }
}

/// The object count `garage bucket info` reports.
fn bucket_objects(garage: &Garage, bucket: &str) -> Option<usize> {
    let info = garage.cli(&["bucket", "info", bucket]).ok()?;
    info.lines()
        .find_map(|l| l.trim().strip_prefix("Objects:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Waits until the bucket holds `n` objects (Garage updates its counters
/// asynchronously), failing after a deadline.
fn wait_for_bucket_objects(garage: &Garage, bucket: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let count = bucket_objects(garage, bucket);
        if count == Some(n) {
            return;
        }
        if Instant::now() > deadline {
            panic!("the bucket holds {count:?} objects, not one per instance ({n})");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Instances stored through STOW-RS live in the bucket (not on local disk),
/// come back bit-exact with their frames, and are still there after the
/// server restarts; neither run logs the secret key.
#[test]
fn s3_storage_serves_instances_bit_exact_across_a_restart() {
    const TEST: &str = "s3_storage_serves_instances_bit_exact_across_a_restart";
    let Some(garage) = garage::shared_or_skip(TEST) else {
        return;
    };
    let bucket = unique_bucket("web");
    garage.create_bucket(&bucket).expect("create a bucket");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), garage, &bucket);
    let env = secrets(&garage.access_key_id, &garage.secret_access_key);
    let data = dir.path().join("data");

    let server = Server::start_with_env(&data, Some(&config), &[], &env);
    let (spec, paths) = ct_files(
        &dir.path().join("ct"),
        3,
        200,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let files: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    web::stow_ok(
        &server,
        &files.iter().map(Vec::as_slice).collect::<Vec<_>>(),
    );
    let jls = web::tool_or_skip("/usr/bin/dcmcjpls", TEST).then(|| {
        let (other, other_paths) = ct_files(
            &dir.path().join("jls-source"),
            1,
            201,
            SampleTransferSyntax::ExplicitVrLittleEndian,
        );
        let out = dir.path().join("jls.dcm");
        let mut cmd = Command::new("/usr/bin/dcmcjpls");
        cmd.arg(&other_paths[0]).arg(&out);
        web::run_bounded(cmd, Duration::from_secs(60));
        let file = std::fs::read(&out).expect("encoded file");
        web::stow_ok(&server, &[&file]);
        let path = format!(
            "/studies/{}/series/{}/instances/{}",
            other.study.study_uid,
            other.series_uid,
            other.sop_instance_uid(0)
        );
        (path, file, web::words_le(&ct_slice_pixels(&other, 0)))
    });
    let stored = Stored { spec, files, jls };
    check_served(&server, &stored);
    assert!(
        web::files_under(&data.join("objects")).is_empty(),
        "objects were written to local disk: {:?}",
        web::files_under(&data.join("objects"))
    );
    let instances = 3 + usize::from(stored.jls.is_some());
    wait_for_bucket_objects(garage, &bucket, instances);
    let first_log = server.log_text();
    assert!(first_log.contains("s3:"), "the log names the S3 storage");
    assert!(server.stop().success(), "clean stop");

    // A new process on the same data directory and bucket.
    let server = Server::start_with_env(&data, Some(&config), &[], &env);
    check_served(&server, &stored);
    let second_log = server.log_text();
    assert!(server.stop().success(), "clean stop");

    // Every instance checked in the bucket, byte for byte.
    let report = pacs_cli(&data, &config, &env, &["verify", "--quiet"]);
    assert!(
        report.contains(&format!("{instances} instances intact"))
            && report.contains("0 with problems / 0 objects unindexed"),
        "{report}"
    );

    // `pacs refresh` reads every object back from the bucket: nothing
    // to change in what the index holds.
    let refreshed = pacs_cli(&data, &config, &env, &["refresh", "--quiet"]);
    let studies = 1 + usize::from(stored.jls.is_some());
    assert!(
        refreshed.contains(&format!(
            "{studies} studies, {instances} instances read: 0 studies' attributes / 0 series' \
             / 0 instances' metadata changed; 0 failed"
        )),
        "{refreshed}"
    );

    // The index is lost with the server stopped: `--reindex` rebuilds it
    // from the bucket's listing at once, and the archive serves it all.
    for name in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(data.join(name));
    }
    let report = pacs_cli(&data, &config, &env, &["verify", "--quiet", "--reindex"]);
    assert!(
        report.contains("nothing else uses")
            && report.contains(&format!("reindexed {instances} / left alone 0 / failed 0")),
        "{report}"
    );
    let server = Server::start_with_env(&data, Some(&config), &[], &env);
    check_served(&server, &stored);
    assert!(server.stop().success(), "clean stop");

    for (what, text) in [("first log", &first_log), ("second log", &second_log)] {
        assert!(
            !text.contains(&garage.secret_access_key),
            "the {what} holds the secret key"
        );
    }
}

/// Runs a `pacs` command on `data` with the S3 configuration and keys,
/// which must succeed; its standard output.
fn pacs_cli(data: &Path, config: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pacs"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .envs(env.iter().copied())
        .output()
        .expect("pacs runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "pacs {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The outcome of a `pacs serve` that must refuse to start.
struct Refusal {
    stderr: String,
}

/// Runs `pacs serve` that must exit with an error before it is ready.
fn serve_must_fail(data: &Path, config: &Path, env: &[(&str, &str)]) -> Refusal {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacs"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(["--http-addr", "127.0.0.1:0", "--dicom-addr", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pacs");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("pacs ready") {
                let _ = ready_tx.send(line);
            }
        }
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if let Ok(line) = ready_rx.try_recv() {
            let _ = child.kill();
            let _ = child.wait();
            let log = err.join().unwrap_or_default();
            panic!("pacs started ({line}) with storage it cannot use; its log:\n{log}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pacs neither started nor refused within two minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = err.join().unwrap_or_default();
    assert!(!status.success(), "pacs exited successfully: {stderr}");
    Refusal { stderr }
}

/// A missing bucket or a wrong secret stops `pacs serve` at startup with a
/// message naming the problem, and the secret is not in it. (The startup
/// probe was a HEAD of an object, whose 404 cannot tell a missing bucket
/// from a missing object: the server started on a bucket that did not
/// exist and failed every store.)
#[test]
fn s3_startup_refuses_a_missing_bucket_and_a_wrong_secret() {
    const TEST: &str = "s3_startup_refuses_a_missing_bucket_and_a_wrong_secret";
    let Some(garage) = garage::shared_or_skip(TEST) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");

    let missing = unique_bucket("missing");
    let config = write_config(dir.path(), garage, &missing);
    let env = secrets(&garage.access_key_id, &garage.secret_access_key);
    let refused = serve_must_fail(&dir.path().join("data-missing"), &config, &env);
    assert!(
        refused.stderr.contains(&missing) && refused.stderr.contains("does not exist"),
        "the refusal names the missing bucket:\n{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains(&garage.secret_access_key),
        "the log holds the secret key"
    );

    let bucket = unique_bucket("badkey");
    garage.create_bucket(&bucket).expect("create a bucket");
    let config = write_config(dir.path(), garage, &bucket);
    let mut wrong = garage.secret_access_key.clone();
    let last = wrong.pop();
    wrong.push(if last == Some('0') { '1' } else { '0' });
    let env = secrets(&garage.access_key_id, &wrong);
    let refused = serve_must_fail(&dir.path().join("data-badkey"), &config, &env);
    assert!(
        refused.stderr.contains("secret"),
        "the refusal says to check the keys:\n{}",
        refused.stderr
    );
    for secret in [&garage.secret_access_key, &wrong] {
        assert!(
            !refused.stderr.contains(secret.as_str()),
            "the log holds a secret key:\n{}",
            refused.stderr
        );
    }
}
