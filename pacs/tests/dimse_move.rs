//! C-MOVE against the real `pacs serve`: dcmtk's `movescu` and pynetdicom
//! move studies to a configured node (dcmtk's `storescp`), an unknown
//! destination is refused and a switched-off one fails the move.

mod common;
#[path = "common/qr_archive.rs"]
mod qr_archive;
#[path = "common/scu.rs"]
mod scu;

use std::process::Command;

use common::{AE_TITLE, Server};
use qr_archive::{archive_with, files_by_sop, pynetdicom};
use scu::{StoreScp, TOOL_LIMIT, data_set_of_file, run};

const MOVESCU: &str = "/usr/bin/movescu";

/// `movescu` asking for `study` to be sent to `destination`; what it
/// printed.
fn movescu(server: &Server, destination: &str, study: &str) -> scu::Finished {
    let mut command = Command::new(MOVESCU);
    command
        .args([
            "-S",
            "-v",
            "-aet",
            "MOVESCU",
            "-aec",
            AE_TITLE,
            "-aem",
            destination,
        ])
        .args(["-to", "30", "-ta", "30", "-td", "60"])
        .args(["-k", "QueryRetrieveLevel=STUDY"])
        .args(["-k", &format!("StudyInstanceUID={study}")])
        .arg("127.0.0.1")
        .arg(server.dicom_port());
    run(command, TOOL_LIMIT)
}

#[test]
fn movescu_sends_a_study_to_a_configured_node_bit_exact() {
    let scp_dir = tempfile::tempdir().expect("temp dir");
    let workstation = StoreScp::start(scp_dir.path(), "WORKSTATION");
    let switched_off = test_support::ClosedPort::new().expect("a held port");
    let down_port = switched_off.port();
    let config = format!(
        "[[dicom_nodes]]\nae_title = \"WORKSTATION\"\nhost = \"127.0.0.1\"\nport = {}\n\n\
         [[dicom_nodes]]\nae_title = \"SWITCHED_OFF\"\nhost = \"127.0.0.1\"\nport = {down_port}\n",
        workstation.port
    );
    let (dir, server, ivanov, karimov) = archive_with(Some(&config));

    let done = movescu(&server, "WORKSTATION", &ivanov.study.study_uid);
    assert!(done.success(), "movescu failed:\n{}", done.text);
    let received = files_by_sop(scp_dir.path());
    let originals = files_by_sop(&dir.path().join("ivanov"));
    assert_eq!(
        received.len(),
        3,
        "the study's three instances:\n{}",
        done.text
    );
    for (sop, bytes) in &received {
        let original = originals
            .get(sop)
            .unwrap_or_else(|| panic!("{sop} was not sent"));
        assert!(
            data_set_of_file(bytes) == data_set_of_file(original),
            "{sop}: the data set the node received differs from the one stored"
        );
    }

    // Only configured nodes receive anything.
    let unknown = movescu(&server, "STRANGER", &ivanov.study.study_uid);
    assert!(
        unknown.text.contains("MoveDestinationUnknown"),
        "an unknown destination is refused with A801:\n{}",
        unknown.text
    );
    // A configured node that is switched off: refused with A702 (unable
    // to perform sub-operations) at once, and the archive goes on serving.
    let down = movescu(&server, "SWITCHED_OFF", &ivanov.study.study_uid);
    assert!(
        down.text.contains("OutOfResourcesSubOperations"),
        "an unreachable destination fails the move:\n{}",
        down.text
    );
    assert_eq!(
        files_by_sop(scp_dir.path()).len(),
        3,
        "nothing more was received"
    );
    // The trail names where each move sent the study.
    let audit: serde_json::Value = common::http()
        .get(server.url(&format!(
            "/api/audit?action=retrieve&study={}",
            ivanov.study.study_uid
        )))
        .send()
        .expect("audit")
        .json()
        .expect("audit JSON");
    let mut details: Vec<&str> = audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    details.sort();
    assert_eq!(
        details,
        ["C-MOVE to SWITCHED_OFF", "C-MOVE to WORKSTATION"],
        "{audit}"
    );
    // pynetdicom moves the other patient's series there too, with a
    // pending response after each of its two instances but the last.
    let study = format!("StudyInstanceUID={}", karimov.study.study_uid);
    let series = format!("SeriesInstanceUID={}", karimov.series_uid);
    let responses = pynetdicom(
        &server,
        "move.py",
        &["WORKSTATION", "SERIES", &study, &series],
        &[],
    );
    let statuses: Vec<&str> = responses
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(statuses, ["0xFF00", "0x0000"], "{responses:?}");
    assert_eq!(responses[1]["completed"], 2);
    assert_eq!(
        files_by_sop(scp_dir.path()).len(),
        5,
        "Ivanov's 3 and Karimov's 2"
    );
    // To the switched-off node, asked by pynetdicom: the failure names
    // each instance that was not sent.
    let responses = pynetdicom(
        &server,
        "move.py",
        &["SWITCHED_OFF", "SERIES", &study, &series],
        &[],
    );
    let last = responses.last().expect("a final response");
    assert_eq!(last["status"], "0xA702", "{responses:?}");
    assert_eq!(last["failed"], 2, "{responses:?}");
    let mut failed: Vec<&str> = last["failed_uids"]
        .as_array()
        .expect("a failed list")
        .iter()
        .filter_map(|u| u.as_str())
        .collect();
    failed.sort_unstable();
    let karimov_files = files_by_sop(&dir.path().join("karimov"));
    let mut expected: Vec<&str> = karimov_files.keys().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(failed, expected);
    server.stop();
}

/// A pynetdicom node that answers associations but takes no storage SOP
/// class, stopped when dropped.
struct PickyNode {
    child: std::process::Child,
    port: u16,
}

impl PickyNode {
    fn start() -> PickyNode {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/picky_scp.py");
        let child = Command::new(common::python())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg(script)
            .args([&port.to_string(), "PICKY"])
            .spawn()
            .expect("start the picky node");
        let node = PickyNode { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the picky node never listened"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        node
    }
}

impl Drop for PickyNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A destination that answers but takes none of the study's SOP classes:
/// A702 with every instance named, and a comment that says so rather than
/// that the node cannot be reached.
#[test]
fn a_destination_that_takes_none_of_the_sop_classes_is_named_for_it() {
    let picky = PickyNode::start();
    let config = format!(
        "[[dicom_nodes]]\nae_title = \"PICKY\"\nhost = \"127.0.0.1\"\nport = {}\n",
        picky.port
    );
    let (_dir, server, ivanov, _karimov) = archive_with(Some(&config));
    let study = format!("StudyInstanceUID={}", ivanov.study.study_uid);
    let responses = pynetdicom(&server, "move.py", &["PICKY", "STUDY", &study], &[]);
    let last = responses.last().expect("a final response");
    assert_eq!(last["status"], "0xA702", "{responses:?}");
    assert_eq!(last["failed"], 3, "{responses:?}");
    let comment = last["comment"].as_str().unwrap_or_default();
    assert!(
        comment.contains("PICKY") && comment.contains("SOP class"),
        "{responses:?}"
    );
}
