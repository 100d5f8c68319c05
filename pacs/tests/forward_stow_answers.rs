//! A DICOMweb destination's answer decides what was delivered, not its
//! status code alone. `pacs` forwards to a small HTTP server that answers
//! STOW-RS as a misconfigured destination would: 200 with nginx's welcome
//! page, or 200 with a store response that names only some instances.
//! Neither may count the rest as delivered. A 409 saying it already holds
//! every instance, on the other hand, is a delivery. Behind a proxy that
//! limits request sizes (nginx's `client_max_body_size`), a real `pacs`
//! gets the study one instance a request, and an instance too large for
//! the proxy, or one this archive cannot read, holds back only itself.
//! Plain delivery to a real `pacs` is covered in `forward.rs`.

mod common;
#[path = "common/dicomweb_fixtures.rs"]
mod fixtures;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Server, ct_files};
use dicom_samples::{CtSpec, SampleTransferSyntax};
use scu::wait_for;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(90);
const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

const NGINX_WELCOME: &str = "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n\
    </head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server \
    is successfully installed and working.</p>\n</body>\n</html>\n";

/// An HTTP server on a loopback port that reads each request whole and
/// gives every one the same answer; counts the POSTs it was sent.
struct Destination {
    port: u16,
    posts: Arc<AtomicUsize>,
}

impl Destination {
    fn answering(content_type: &'static str, body: String) -> Destination {
        Destination::answering_with("200 OK", content_type, body)
    }

    fn answering_with(
        status: &'static str,
        content_type: &'static str,
        body: String,
    ) -> Destination {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let posts = Arc::new(AtomicUsize::new(0));
        let counted = posts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let Ok(reading) = stream.try_clone() else {
                    continue;
                };
                let head = read_request(&mut BufReader::new(reading));
                if head.starts_with("POST ") {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Destination { port, posts }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web", self.port)
    }

    fn posts(&self) -> usize {
        self.posts.load(Ordering::SeqCst)
    }
}

/// Reads a request's head and body (sized or chunked); returns the head.
fn read_request(reader: &mut impl BufRead) -> String {
    read_request_and_body(reader).0
}

/// Reads a request's head and its body (sized or chunked).
fn read_request_and_body(reader: &mut impl BufRead) -> (String, Vec<u8>) {
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    let mut body = Vec::new();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0u8; n + 2];
            if reader.read_exact(&mut chunk).is_err() || n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        let _ = reader.read_exact(&mut body);
    }
    (head, body)
}

/// An edge forwarding every study to `url`, giving up after two attempts
/// a fraction of a second apart.
fn edge(dir: &Path, url: &str) -> Server {
    edge_settling(dir, url, 1)
}

/// [`edge`], forwarding a study once it has had no new instance for
/// `stable_secs`.
fn edge_settling(dir: &Path, url: &str, stable_secs: u32) -> Server {
    let config = dir.join("edge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [[forward.destinations]]
            name = "centre"
            dicomweb_url = "{url}"
            max_attempts = 2
            retry_initial_secs = 0.2
            retry_max_secs = 0.5

            [[forward.rules]]
            to = ["centre"]
            stable_secs = {stable_secs}
            "#
        ),
    )
    .expect("config written");
    Server::start_with(&dir.join("edge"), Some(&config), &["--log-json"])
}

/// A CT series of `slices` to send, and its files' bytes.
fn study(dir: &Path, slices: u32, seed: u64) -> (CtSpec, Vec<Vec<u8>>) {
    let (spec, files) = ct_files(
        dir,
        slices,
        seed,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    (spec, fixtures::read_all(&files))
}

/// The one job to `centre`, once it has stopped moving: delivered, or
/// given up on.
fn settled_job(edge: &Server) -> Value {
    wait_for(LIMIT, "the forwarding job to settle", || {
        let jobs: Value = common::http()
            .get(edge.url("/api/forwarding/jobs"))
            .send()
            .expect("jobs")
            .json()
            .expect("JSON");
        let jobs = jobs.as_array().expect("a list");
        assert!(jobs.len() <= 1, "one study, one job: {jobs:?}");
        jobs.first()
            .filter(|j| j["state"] == "delivered" || j["state"] == "failed")
            .cloned()
    })
}

/// The job was given up on after its last attempt, with a WARN line that
/// an operator logging at warn sees, naming the destination and study.
fn assert_given_up_and_warned(edge: &Server, job: &Value, study: &str) {
    assert_eq!(job["attempts"], 2, "{job}");
    let log = edge.log_text();
    let warned = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .any(|line| {
            line["level"] == "WARN"
                && line["fields"]["destination"] == "centre"
                && line["fields"]["study"] == study
                && line["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("dead-letter"))
        });
    assert!(warned, "a WARN line names the lost study:\n{log}");
}

#[test]
fn a_destination_answering_200_with_a_web_page_gets_nothing_counted_as_delivered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (spec, files) = study(&dir.path().join("outgoing"), 3, 61);
    let nginx = Destination::answering("text/html", NGINX_WELCOME.to_owned());
    let edge = edge(dir.path(), &nginx.url());
    web::stow_ok(&edge, &fixtures::refs(&files));

    let job = settled_job(&edge);
    assert_eq!(job["state"], "failed", "nothing was stored: {job}");
    assert_eq!(job["instances_sent"], 0, "{job}");
    assert_eq!(job["study_uid"], spec.study.study_uid.as_str());
    assert_eq!(nginx.posts(), 2, "each attempt reached the destination");
    let error = job["last_error"].as_str().expect("a reason");
    for words in [
        "answered 200 OK but not with a DICOM store response",
        "text/html",
        "Welcome to nginx!",
        "nothing is counted as delivered",
        "dicomweb_url",
        &nginx.url(),
    ] {
        assert!(error.contains(words), "{words:?} in {error:?}");
    }
    assert_given_up_and_warned(&edge, &job, &spec.study.study_uid);
    edge.stop();
}

#[test]
fn instances_a_store_response_does_not_reference_are_not_counted_as_delivered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (spec, files) = study(&dir.path().join("outgoing"), 3, 62);
    // The destination names only the first instance as stored, and none
    // as failed.
    let first = spec.sop_instance_uid(0);
    let answer = json!({
        "00081190": {"vr": "UR", "Value": [format!("http://centre/studies/{}", spec.study.study_uid)]},
        "00081199": {"vr": "SQ", "Value": [{
            "00081150": {"vr": "UI", "Value": [CT_IMAGE_STORAGE]},
            "00081155": {"vr": "UI", "Value": [first]},
        }]},
    });
    let centre = Destination::answering("application/dicom+json", answer.to_string());
    let edge = edge(dir.path(), &centre.url());
    web::stow_ok(&edge, &fixtures::refs(&files));

    let job = settled_job(&edge);
    assert_eq!(
        job["state"], "failed",
        "two instances were not stored: {job}"
    );
    assert_eq!(job["instances_total"], 3, "{job}");
    assert_eq!(job["instances_sent"], 1, "only the referenced one: {job}");
    let error = job["last_error"].as_str().expect("a reason");
    assert!(
        error.contains("2 instance(s) not delivered")
            && error.contains("lists it neither as stored nor as failed"),
        "{error}"
    );
    let unreferenced = [spec.sop_instance_uid(1), spec.sop_instance_uid(2)];
    assert!(
        unreferenced.iter().any(|sop| error.contains(sop.as_str())),
        "an unreferenced instance is named: {error}"
    );
    assert_given_up_and_warned(&edge, &job, &spec.study.study_uid);
    edge.stop();
}

/// A resend after a lost answer meets a destination that refuses a second
/// POST of what it already holds (409, each instance failed as a
/// Duplicate SOP Instance): delivered, not a refusal to retry for hours.
#[test]
fn instances_the_destination_already_holds_count_as_delivered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (spec, files) = study(&dir.path().join("outgoing"), 2, 63);
    let failed: Vec<Value> = (0..2)
        .map(|k| {
            json!({
                "00081150": {"vr": "UI", "Value": [CT_IMAGE_STORAGE]},
                "00081155": {"vr": "UI", "Value": [spec.sop_instance_uid(k)]},
                "00081197": {"vr": "US", "Value": [0x0111]},
            })
        })
        .collect();
    let answer = json!({ "00081198": {"vr": "SQ", "Value": failed} });
    let centre =
        Destination::answering_with("409 Conflict", "application/dicom+json", answer.to_string());
    let edge = edge(dir.path(), &centre.url());
    web::stow_ok(&edge, &fixtures::refs(&files));

    let job = settled_job(&edge);
    assert_eq!(job["state"], "delivered", "{job}");
    assert_eq!(job["instances_sent"], 2, "{job}");
    assert_eq!(centre.posts(), 1, "one attempt was enough");
    edge.stop();
}

/// A reverse proxy before a real `pacs`, as nginx with a
/// `client_max_body_size`: a request whose body is over `limit` bytes is
/// answered 413 with nginx's page; any other goes on to `upstream`, whose
/// answer comes back. Counts the requests it let through and refused.
struct SizeLimitingProxy {
    port: u16,
    passed: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

impl SizeLimitingProxy {
    fn start(upstream: &Server, limit: usize) -> SizeLimitingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (passed, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (passes, refusals) = (passed.clone(), refused.clone());
        let upstream = upstream.url("");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let Ok(reading) = stream.try_clone() else {
                    continue;
                };
                let (head, body) = read_request_and_body(&mut BufReader::new(reading));
                let answer = if body.len() > limit {
                    refusals.fetch_add(1, Ordering::SeqCst);
                    let page = "<html><head><title>413 Request Entity Too Large</title></head>\
                        <body><center><h1>413 Request Entity Too Large</h1></center></body></html>";
                    format!(
                        "HTTP/1.1 413 Request Entity Too Large\r\ncontent-type: text/html\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{page}",
                        page.len()
                    )
                    .into_bytes()
                } else {
                    passes.fetch_add(1, Ordering::SeqCst);
                    pass_on(&upstream, &head, body)
                };
                let _ = stream.write_all(&answer);
            }
        });
        SizeLimitingProxy {
            port,
            passed,
            refused,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web", self.port)
    }

    /// Requests let through and refused so far.
    fn counts(&self) -> (usize, usize) {
        (
            self.passed.load(Ordering::SeqCst),
            self.refused.load(Ordering::SeqCst),
        )
    }
}

/// Sends the POST in `head` with `body` to `upstream` (a base URL); its
/// answer, as bytes to write back.
fn pass_on(upstream: &str, head: &str, body: Vec<u8>) -> Vec<u8> {
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let mut request = common::http()
        .post(format!("{}{path}", upstream.trim_end_matches('/')))
        .body(body);
    for name in ["content-type", "accept", "authorization"] {
        if let Some(value) = header(name) {
            request = request.header(name, value);
        }
    }
    let response = request.send().expect("the upstream answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let answer = response.bytes().expect("the upstream's answer");
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        answer.len()
    )
    .into_bytes();
    out.extend_from_slice(&answer);
    out
}

/// The SOP Instance UIDs of `study` that `server` holds.
fn held(server: &Server, study: &str) -> BTreeSet<String> {
    web::qido(server, &format!("/instances?StudyInstanceUID={study}"))
        .iter()
        .filter_map(|i| i["00080018"]["Value"][0].as_str().map(str::to_owned))
        .collect()
}

/// A CT study of `slices`, the first of them made larger than the others
/// by `padding` bytes of a private element (as a vendor's raw data can
/// be); the spec and the files' bytes.
fn study_with_a_large_first_instance(
    dir: &Path,
    slices: u32,
    seed: u64,
    padding: usize,
) -> (CtSpec, Vec<Vec<u8>>) {
    use dicom_core::{PrimitiveValue, Tag, VR};
    use dicom_object::mem::InMemElement;
    let (spec, files) = ct_files(
        dir,
        slices,
        seed,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let mut first = dicom_object::open_file(&files[0]).expect("open the slice");
    first.put(InMemElement::new(
        Tag(0x0009, 0x0010),
        VR::LO,
        PrimitiveValue::from("PACS TEST RAW"),
    ));
    first.put(InMemElement::new(
        Tag(0x0009, 0x1000),
        VR::OB,
        PrimitiveValue::from(vec![0x5Au8; padding]),
    ));
    first.write_to_file(&files[0]).expect("write the slice");
    (spec, fixtures::read_all(&files))
}

/// A proxy that lets through one instance a request but not the several
/// of a batch: the batch is refused whole, and its instances then go one
/// by one, each stored at the real destination, in a single attempt.
#[test]
fn behind_a_proxy_limiting_request_size_the_study_goes_one_instance_a_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let centre = Server::start(&dir.path().join("centre"));
    let (spec, files) = study(&dir.path().join("outgoing"), 6, 64);
    let largest = files.iter().map(Vec::len).max().expect("files");
    let proxy = SizeLimitingProxy::start(&centre, largest + 4096);
    let edge = edge(dir.path(), &proxy.url());
    web::stow_ok(&edge, &fixtures::refs(&files));

    let job = settled_job(&edge);
    assert_eq!(job["state"], "delivered", "{job}");
    assert_eq!(job["instances_sent"], 6, "{job}");
    assert_eq!(job["attempts"], 0, "no attempt failed: {job}");
    assert_eq!(
        proxy.counts(),
        (6, 1),
        "one batch refused, then one a request"
    );
    let sent: BTreeSet<String> = (0..6).map(|k| spec.sop_instance_uid(k)).collect();
    assert_eq!(held(&centre, &spec.study.study_uid), sent);
    edge.stop();
    centre.stop();
}

/// One instance larger than the proxy lets through is refused; every
/// other instance of its study is delivered, and the job ends naming the
/// one left and why.
#[test]
fn an_instance_too_large_for_the_proxy_holds_back_only_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let centre = Server::start(&dir.path().join("centre"));
    let (spec, files) =
        study_with_a_large_first_instance(&dir.path().join("outgoing"), 4, 65, 256 * 1024);
    let small = files[1..].iter().map(Vec::len).max().expect("files");
    assert!(files[0].len() > small * 2, "the first is the large one");
    let proxy = SizeLimitingProxy::start(&centre, small + 4096);
    let edge = edge(dir.path(), &proxy.url());
    web::stow_ok(&edge, &fixtures::refs(&files));

    let job = settled_job(&edge);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["instances_sent"], 3, "{job}");
    let large = spec.sop_instance_uid(0);
    let error = job["last_error"].as_str().expect("a reason");
    for words in ["1 instance(s) not delivered", large.as_str(), "413"] {
        assert!(error.contains(words), "{words:?} in {error:?}");
    }
    let sent: BTreeSet<String> = (1..4).map(|k| spec.sop_instance_uid(k)).collect();
    assert_eq!(held(&centre, &spec.study.study_uid), sent);
    assert_given_up_and_warned(&edge, &job, &spec.study.study_uid);
    edge.stop();
    centre.stop();
}

/// An instance whose stored copy this archive cannot read (its file lost
/// to a disk fault) is named as not delivered; the rest of its study
/// reaches the destination.
#[test]
fn an_instance_that_cannot_be_read_here_holds_back_only_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let centre = Server::start(&dir.path().join("centre"));
    let (spec, files) = study(&dir.path().join("outgoing"), 3, 66);
    // Settling for long enough to lose the file before the first attempt.
    let edge = edge_settling(dir.path(), &centre.base(), 4);
    web::stow_ok(&edge, &fixtures::refs(&files));
    let lost = spec.sop_instance_uid(1);
    let file = stored_file(&dir.path().join("edge"), &lost).expect("the stored copy");
    std::fs::remove_file(&file).expect("lose the stored copy");

    let job = settled_job(&edge);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["instances_sent"], 2, "{job}");
    let error = job["last_error"].as_str().expect("a reason");
    for words in [lost.as_str(), "has lost its stored copy"] {
        assert!(error.contains(words), "{words:?} in {error:?}");
    }
    let sent: BTreeSet<String> = [0, 2].map(|k| spec.sop_instance_uid(k)).into();
    assert_eq!(held(&centre, &spec.study.study_uid), sent);
    edge.stop();
    centre.stop();
}

/// The file under `data` holding the stored copy of `sop`.
fn stored_file(data: &Path, sop: &str) -> Option<std::path::PathBuf> {
    let prefix = format!("{sop}.");
    web::files_under(data).into_iter().find(|path| {
        path.file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with(&prefix))
    })
}
