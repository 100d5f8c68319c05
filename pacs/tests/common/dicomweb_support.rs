//! Helpers for the DICOMweb integration tests: multipart bodies both ways,
//! STOW-RS and WADO-RS over reqwest, the Python dicomweb-client snippets in
//! `tests/python/`, external encoders, and reading DICOM and PNG bytes
//! back without trusting the server's own code.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Server, http};

pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub const DICOM_ANY_TS: &str = r#"multipart/related; type="application/dicom"; transfer-syntax=*"#;
pub const DICOM_DEFAULT: &str = r#"multipart/related; type="application/dicom""#;
pub const OCTET_STREAM: &str = r#"multipart/related; type="application/octet-stream""#;

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every `Warning` header of the response, joined by newlines (empty
    /// when there is none).
    pub fn warnings(&self) -> String {
        self.headers
            .get_all("warning")
            .iter()
            .filter_map(|w| w.to_str().ok())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The parts of a 200 multipart/related response.
    pub fn parts(&self) -> Vec<Part> {
        assert_eq!(self.status, 200, "expected 200, got: {}", self.text());
        parse_multipart(&self.content_type, &self.body)
    }
}

/// One part of a multipart response.
#[derive(Debug, Clone)]
pub struct Part {
    pub content_type: String,
    /// The part's `Content-Location`, where it has one.
    pub content_location: Option<String>,
    pub body: Vec<u8>,
}

/// GET with an optional `Accept`.
pub fn get(url: &str, accept: Option<&str>) -> Reply {
    let mut req = http().get(url);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    reply(req.send().unwrap_or_else(|e| panic!("GET {url}: {e}")))
}

fn reply(r: reqwest::blocking::Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = r.bytes().expect("response body").to_vec();
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

/// A `multipart/related` body with one part per `(content type, bytes)`.
pub fn multipart_body(parts: &[(&str, &[u8])], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (ct, bytes) in parts {
        out.extend_from_slice(format!("--{boundary}\r\nContent-Type: {ct}\r\n\r\n").as_bytes());
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

pub const BOUNDARY: &str = "pacs-test-boundary-7f3a9c";

/// The STOW-RS `Content-Type` for [`multipart_body`] with [`BOUNDARY`].
pub fn stow_content_type() -> String {
    format!(r#"multipart/related; type="application/dicom"; boundary={BOUNDARY}"#)
}

/// STOW-RS of whole Part 10 files (as `application/dicom` parts) to
/// `/studies` or `/studies/{study}`.
pub fn stow(server: &Server, study: Option<&str>, files: &[&[u8]]) -> Reply {
    let parts: Vec<(&str, &[u8])> = files.iter().map(|f| ("application/dicom", *f)).collect();
    stow_raw(
        server,
        study,
        &stow_content_type(),
        multipart_body(&parts, BOUNDARY),
    )
}

/// STOW-RS with a given `Content-Type` and body.
pub fn stow_raw(server: &Server, study: Option<&str>, content_type: &str, body: Vec<u8>) -> Reply {
    let url = match study {
        Some(s) => format!("{}/studies/{s}", server.base()),
        None => format!("{}/studies", server.base()),
    };
    let r = http()
        .post(&url)
        .header("Content-Type", content_type)
        .header("Accept", "application/dicom+json")
        .body(body)
        .send()
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    reply(r)
}

/// STOW-RS that must store every file: asserts 200 and returns the SOP
/// Instance UIDs of the ReferencedSOPSequence.
pub fn stow_ok(server: &Server, files: &[&[u8]]) -> Vec<String> {
    let r = stow(server, None, files);
    assert_eq!(r.status, 200, "STOW-RS failed: {}", r.text());
    let body = r.json();
    let stored = referenced_sops(&body);
    assert_eq!(stored.len(), files.len(), "{body}");
    stored
}

/// SOP Instance UIDs in a STOW-RS response's ReferencedSOPSequence.
pub fn referenced_sops(body: &Value) -> Vec<String> {
    items(body, "00081199")
        .iter()
        .map(|i| string_value(i, "00081155").expect("ReferencedSOPInstanceUID"))
        .collect()
}

/// (SOP Instance UID if given, FailureReason) of each FailedSOPSequence item.
pub fn failed_sops(body: &Value) -> Vec<(Option<String>, u64)> {
    items(body, "00081198")
        .iter()
        .map(|i| {
            let reason = i["00081197"]["Value"][0]
                .as_u64()
                .unwrap_or_else(|| panic!("FailureReason missing in {i}"));
            (string_value(i, "00081155"), reason)
        })
        .collect()
}

/// The items of a sequence attribute of a DICOM JSON object.
pub fn items<'a>(obj: &'a Value, tag: &str) -> Vec<&'a Value> {
    obj[tag]["Value"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The first value of a string attribute of a DICOM JSON object.
pub fn string_value(obj: &Value, tag: &str) -> Option<String> {
    obj[tag]["Value"][0].as_str().map(str::to_owned)
}

/// The Alphabetic group of the first PatientName of a DICOM JSON object.
pub fn alphabetic(obj: &Value) -> Option<&str> {
    obj["00100010"]["Value"][0]["Alphabetic"].as_str()
}

/// The first value of a numeric attribute of a DICOM JSON object.
pub fn int_value(obj: &Value, tag: &str) -> Option<i64> {
    obj[tag]["Value"][0].as_i64()
}

/// QIDO-RS over reqwest: `path_and_query` below `/dicom-web`.
pub fn qido(server: &Server, path_and_query: &str) -> Vec<Value> {
    let r = get(
        &format!("{}{path_and_query}", server.base()),
        Some("application/dicom+json"),
    );
    assert_eq!(r.status, 200, "QIDO {path_and_query}: {}", r.text());
    match r.json() {
        Value::Array(a) => a,
        other => panic!("QIDO {path_and_query} answered {other}"),
    }
}

/// SOP Instance UIDs of every instance the archive lists, sorted.
pub fn all_instances(server: &Server) -> Vec<String> {
    let mut uids: Vec<String> = qido(server, "/instances?limit=10000")
        .iter()
        .map(|i| string_value(i, "00080018").expect("SOPInstanceUID"))
        .collect();
    uids.sort();
    uids
}

/// The parts of a `multipart/related` body (RFC 2046 framing).
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Vec<Part> {
    let boundary = media_param(content_type, "boundary")
        .unwrap_or_else(|| panic!("no boundary in {content_type:?}"));
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut data = b"\r\n".to_vec();
    data.extend_from_slice(body);
    let mut at = find(&data, &delimiter, 0).expect("no first delimiter");
    let mut parts = Vec::new();
    loop {
        let after = at + delimiter.len();
        if data[after..].starts_with(b"--") {
            return parts;
        }
        let next = find(&data, &delimiter, after).expect("the body has no close delimiter");
        let line_end = find(&data, b"\r\n", after).expect("delimiter line end") + 2;
        let segment = &data[line_end..next];
        let (headers, content) = match find(segment, b"\r\n\r\n", 0) {
            Some(h) => (&segment[..h], &segment[h + 4..]),
            // No header fields: the blank line comes first.
            None if segment.starts_with(b"\r\n") => (&segment[..0], &segment[2..]),
            None => panic!("a part has no header terminator"),
        };
        let headers = String::from_utf8_lossy(headers);
        let header = |name: &str| {
            headers
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        parts.push(Part {
            content_type: header("content-type").unwrap_or_default(),
            content_location: header("content-location"),
            body: content.to_vec(),
        });
        at = next;
    }
}

/// A parameter of a media type (`boundary`, `type`, `transfer-syntax`),
/// unquoted.
pub fn media_param(media_type: &str, name: &str) -> Option<String> {
    media_type.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Pixel words as little-endian bytes.
pub fn words_le(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A Part 10 file read with dicom-object (an implementation other than the
/// archive's own parser of stored objects).
pub struct Dicom {
    pub transfer_syntax: String,
    obj: dicom_object::DefaultDicomObject,
}

impl Dicom {
    pub fn read(bytes: &[u8]) -> Dicom {
        let obj = dicom_object::OpenFileOptions::new()
            .read_preamble(dicom_object::file::ReadPreamble::Always)
            .from_reader(bytes)
            .unwrap_or_else(|e| panic!("not a readable DICOM file: {e}"));
        let transfer_syntax = obj
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_owned();
        Dicom {
            transfer_syntax,
            obj,
        }
    }

    /// A text attribute, trimmed.
    pub fn text(&self, group: u16, element: u16) -> Option<String> {
        let e = self.obj.element(dicom_object::Tag(group, element)).ok()?;
        let s = e.to_str().ok()?;
        Some(s.trim_matches(|c: char| c == '\0' || c == ' ').to_owned())
    }

    /// Native pixel data as little-endian bytes.
    pub fn native_pixels(&self) -> Vec<u8> {
        let e = self
            .obj
            .element(dicom_object::Tag(0x7FE0, 0x0010))
            .expect("Pixel Data");
        e.to_bytes().expect("native pixel data").into_owned()
    }

    /// The fragments of encapsulated pixel data, concatenated (the
    /// bitstream of a single-frame image).
    pub fn encapsulated_bitstream(&self) -> Vec<u8> {
        let e = self
            .obj
            .element(dicom_object::Tag(0x7FE0, 0x0010))
            .expect("Pixel Data");
        let fragments = e.value().fragments().expect("encapsulated pixel data");
        fragments.concat()
    }
}

/// Width, height, bit depth and colour type of a PNG, after checking its
/// signature, chunk CRCs, IHDR first and IEND last.
pub fn png_info(bytes: &[u8]) -> (u32, u32, u8, u8) {
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG: {:02x?}",
        &bytes[..bytes.len().min(16)]
    );
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let mut at = 8;
    let mut chunks = Vec::new();
    let mut ihdr = None;
    while at < bytes.len() {
        assert!(at + 12 <= bytes.len(), "truncated PNG chunk at {at}");
        let len = be32(&bytes[at..]) as usize;
        let kind = &bytes[at + 4..at + 8];
        assert!(at + 12 + len <= bytes.len(), "PNG chunk overruns the file");
        let data = &bytes[at + 8..at + 8 + len];
        let crc = be32(&bytes[at + 8 + len..]);
        assert_eq!(
            crc32(&bytes[at + 4..at + 8 + len]),
            crc,
            "bad CRC in a PNG chunk"
        );
        if kind == b"IHDR" {
            ihdr = Some(data.to_vec());
        }
        chunks.push(String::from_utf8_lossy(kind).into_owned());
        at += 12 + len;
    }
    assert_eq!(
        chunks.first().map(String::as_str),
        Some("IHDR"),
        "{chunks:?}"
    );
    assert_eq!(
        chunks.last().map(String::as_str),
        Some("IEND"),
        "{chunks:?}"
    );
    assert!(chunks.iter().any(|c| c == "IDAT"), "{chunks:?}");
    let h = ihdr.expect("IHDR");
    (be32(&h[0..]), be32(&h[4..]), h[8], h[9])
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Width and height from a JPEG's SOF0..SOF3 marker.
pub fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    let mut at = 2;
    while at + 9 < bytes.len() {
        assert_eq!(bytes[at], 0xFF, "JPEG marker expected at {at}");
        let marker = bytes[at + 1];
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        if matches!(marker, 0xC0..=0xC3) {
            let h = u16::from_be_bytes([bytes[at + 5], bytes[at + 6]]);
            let w = u16::from_be_bytes([bytes[at + 7], bytes[at + 8]]);
            return (u32::from(w), u32::from(h));
        }
        at += 2 + len;
    }
    panic!("no SOF marker in the JPEG");
}

/// Runs a command, bounded in time, and returns its stdout; panics with
/// its stderr when it fails.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Vec<u8> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    assert!(
        status.success(),
        "{shown} failed ({status}):\n{}\n{}",
        String::from_utf8_lossy(&err),
        String::from_utf8_lossy(&out)
    );
    out
}

/// Whether a missing prerequisite must fail the test rather than skip it.
fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

fn skip_notice(test: &str, what: &str, how: &str) {
    // Straight to stderr: libtest captures eprintln! of passing tests.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "!!!! SKIPPED {test}: {what} ({how})"
    );
}

/// The Python with dicomweb-client, pydicom and Pillow, or `None` after a
/// loud notice when there is none. On CI, or when `PACS_TEST_PYTHON` names
/// an interpreter that lacks them, the test fails instead.
pub fn python_or_skip(test: &str) -> Option<String> {
    static CHECK: OnceLock<Result<String, String>> = OnceLock::new();
    let how = "create it with `python3 -m venv ~/.cache/pacs-test-venv && ~/.cache/pacs-test-venv/bin/pip install dicomweb-client pynetdicom pydicom numpy requests` and set PACS_TEST_PYTHON=~/.cache/pacs-test-venv/bin/python";
    let checked = CHECK.get_or_init(|| {
        let py = crate::common::python();
        let ok = Command::new(&py)
            .args(["-c", "import dicomweb_client, pydicom, PIL, numpy"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok { Ok(py) } else { Err(py) }
    });
    match checked {
        Ok(py) => Some(py.clone()),
        Err(py) => {
            if required() || std::env::var_os("PACS_TEST_PYTHON").is_some() {
                panic!("{test}: {py} cannot import dicomweb_client, pydicom, PIL and numpy; {how}");
            }
            skip_notice(
                test,
                &format!("{py} lacks dicomweb-client/pydicom/Pillow"),
                how,
            );
            None
        }
    }
}

/// Runs `tests/python/{script}` with `args`; its stdout is JSON.
pub fn run_python(python: &str, script: &str, args: &[&str]) -> Value {
    let path = python_dir().join(script);
    let mut cmd = Command::new(python);
    // No __pycache__ next to the scripts in the source tree.
    cmd.env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(&path)
        .args(args);
    let out = run_bounded(cmd, Duration::from_secs(180));
    serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out)
        )
    })
}

pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

/// Whether an external tool (by absolute path) is installed; a loud skip
/// notice when not (a failure on CI).
pub fn tool_or_skip(path: &str, test: &str) -> bool {
    let how = "install dcmtk and libgdcm-tools (apt-get install dcmtk libgdcm-tools)";
    installed_or_skip(path, test, how)
}

/// Whether the file at `path` (a program or plugin) is installed; when it
/// is not, fails on CI and otherwise prints a skip notice saying `how` to
/// install it.
pub fn installed_or_skip(path: &str, test: &str, how: &str) -> bool {
    if Path::new(path).is_file() {
        return true;
    }
    if required() {
        panic!("{test}: {path} is required on CI but missing; {how}");
    }
    skip_notice(test, &format!("{path} is not installed"), how);
    false
}

/// Every regular file under `root`, leaving out `.tmp` directories (the
/// file store's uploads in progress).
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.file_name().is_some_and(|n| n == ".tmp") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// LINEAR VOI (PS3.3 C.11.2.1.2.1), before rounding to a grey level.
pub fn linear_voi(x: f64, center: f64, width: f64) -> f64 {
    let (c, w) = (center - 0.5, width - 1.0);
    if x <= c - w / 2.0 {
        0.0
    } else if x > c + w / 2.0 {
        255.0
    } else {
        ((x - c) / w + 0.5) * 255.0
    }
}
