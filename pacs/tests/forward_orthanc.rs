//! Forwarding to another vendor's archive: Orthanc (Debian's `orthanc`
//! and `orthanc-dicomweb`) behind HTTP Basic authentication, its user and
//! password written in the destination's URL as such endpoints are
//! usually given. The study arrives whole, and the password shows
//! nowhere: not in the forwarding API's list of destinations, not in the
//! log.

mod common;
#[path = "common/dicomweb_fixtures.rs"]
mod fixtures;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Server, ct_files};
use dicom_samples::SampleTransferSyntax;
use scu::wait_for;
use serde_json::{Value, json};

const ORTHANC: &str = "/usr/sbin/Orthanc";
const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
const LIMIT: Duration = Duration::from_secs(90);
const USER: &str = "edge-dh1";
/// With a colon, which a URL must percent-encode.
const PASSWORD: &str = "kV7:Tashkent-2026";

/// Orthanc on loopback, asking every request for `USER` and `PASSWORD`;
/// stopped when dropped.
struct Orthanc {
    child: Child,
    port: u16,
}

impl Orthanc {
    fn start(dir: &Path) -> Orthanc {
        std::fs::create_dir_all(dir).expect("Orthanc's directory");
        let port = free_port();
        let mut dicom_port = free_port();
        while dicom_port == port {
            dicom_port = free_port();
        }
        let config = json!({
            "Name": "reference",
            "StorageDirectory": dir.join("storage"),
            "IndexDirectory": dir.join("index"),
            "HttpPort": port,
            "DicomPort": dicom_port,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": true,
            "RegisteredUsers": { USER: PASSWORD },
            "DicomAlwaysAllowStore": false,
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": { "Enable": true, "Root": "/dicom-web/" }
        });
        let path = dir.join("orthanc.json");
        std::fs::write(&path, config.to_string()).expect("Orthanc's configuration");
        let log = std::fs::File::create(dir.join("orthanc.log")).expect("Orthanc's log");
        let child = Command::new(ORTHANC)
            .arg(&path)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("Orthanc starts");
        let orthanc = Orthanc { child, port };
        wait_for(Duration::from_secs(60), "Orthanc to answer", || {
            orthanc
                .get("/system")
                .ok()
                .filter(|r| r.status().is_success())
        });
        orthanc
    }

    fn get(&self, path: &str) -> reqwest::Result<reqwest::blocking::Response> {
        common::http()
            .get(format!("http://127.0.0.1:{}{path}", self.port))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", "application/dicom+json")
            .send()
    }

    /// The SOP Instance UIDs of `study` it holds, by its own QIDO-RS.
    fn held(&self, study: &str) -> BTreeSet<String> {
        let answer = self
            .get(&format!("/dicom-web/studies/{study}/instances"))
            .expect("Orthanc's QIDO-RS");
        if answer.status() == reqwest::StatusCode::NO_CONTENT {
            return BTreeSet::new();
        }
        let found: Value = answer.json().expect("DICOM JSON");
        found
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|i| i["00080018"]["Value"][0].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn a_study_reaches_orthanc_through_http_basic_and_the_password_shows_nowhere() {
    let test = "a_study_reaches_orthanc_through_http_basic_and_the_password_shows_nowhere";
    let how = "apt-get install orthanc orthanc-dicomweb";
    if !web::installed_or_skip(ORTHANC, test, how)
        || !web::installed_or_skip(DICOMWEB_PLUGIN, test, how)
    {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let orthanc = Orthanc::start(&dir.path().join("orthanc"));
    // The password as a URL carries it: percent-encoded.
    let encoded = PASSWORD.replace(':', "%3A");
    let config = dir.path().join("edge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [[forward.destinations]]
            name = "reference"
            dicomweb_url = "http://{USER}:{encoded}@127.0.0.1:{}/dicom-web/"
            max_attempts = 2
            retry_initial_secs = 0.2
            retry_max_secs = 0.5

            [[forward.rules]]
            to = ["reference"]
            stable_secs = 1
            "#,
            orthanc.port
        ),
    )
    .expect("config written");
    let edge = Server::start_with(&dir.path().join("edge"), Some(&config), &["--log-json"]);
    let (spec, files) = ct_files(
        &dir.path().join("outgoing"),
        3,
        71,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    web::stow_ok(&edge, &fixtures::refs(&fixtures::read_all(&files)));

    let job = wait_for(LIMIT, "the forwarding job to settle", || {
        let jobs: Value = common::http()
            .get(edge.url("/api/forwarding/jobs"))
            .send()
            .expect("jobs")
            .json()
            .expect("JSON");
        jobs.as_array()
            .and_then(|j| j.first())
            .filter(|j| j["state"] == "delivered" || j["state"] == "failed")
            .cloned()
    });
    assert_eq!(job["state"], "delivered", "{job}");
    let sent: BTreeSet<String> = (0..3).map(|k| spec.sop_instance_uid(k)).collect();
    assert_eq!(orthanc.held(&spec.study.study_uid), sent);

    let destinations = common::http()
        .get(edge.url("/api/forwarding/destinations"))
        .send()
        .expect("destinations")
        .text()
        .expect("text");
    let address = format!("http://127.0.0.1:{}/dicom-web", orthanc.port);
    assert!(destinations.contains(&address), "{destinations}");
    let log = edge.log.clone();
    assert!(edge.stop().success());
    let log = std::fs::read_to_string(log).expect("the edge's log");
    assert!(log.contains("forwarding attempt ended"), "{log}");
    for (what, text) in [("the list of destinations", destinations), ("the log", log)] {
        for secret in [PASSWORD, encoded.as_str()] {
            assert!(!text.contains(secret), "the password in {what}: {text}");
        }
    }
}
