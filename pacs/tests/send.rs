//! `pacs send` to dcmtk's `storescp`: a folder of CT slices arrives
//! byte-for-byte, a file that is not DICOM is reported and does not stop
//! the others, and destinations must be configured nodes or AET@HOST:PORT.

mod common;
#[path = "common/scu.rs"]
mod scu;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::ct_files;
use dicom_samples::SampleTransferSyntax;
use scu::{Finished, StoreScp, TOOL_LIMIT, data_set_of_file, dicom_files_below, run};

fn pacs_send(args: &[&str], paths: &[&Path]) -> Finished {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pacs"));
    command.arg("send").arg("--quiet").args(args).args(paths);
    run(command, TOOL_LIMIT)
}

/// Every file under `dir`, by SOP Instance UID.
fn by_sop(dir: &Path) -> HashMap<String, Vec<u8>> {
    dicom_files_below(dir).into_iter().collect()
}

#[test]
fn a_folder_reaches_a_dicom_node_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let received = dir.path().join("received");
    let node = StoreScp::start(&received, "WORKSTATION");
    let (_spec, _files) = ct_files(
        &dir.path().join("outgoing"),
        4,
        21,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    std::fs::write(dir.path().join("outgoing/notes.txt"), "not DICOM").expect("written");

    let to = format!("WORKSTATION@127.0.0.1:{}", node.port);
    let done = pacs_send(&["--to", &to], &[&dir.path().join("outgoing")]);
    assert_eq!(
        done.status.code(),
        Some(2),
        "a file failed, so the exit code says so:\n{}",
        done.text
    );
    assert!(
        done.text
            .contains("sent 4 to WORKSTATION / with warnings 0 / failed 1"),
        "{}",
        done.text
    );
    assert!(
        done.text.contains("notes.txt: not a DICOM file"),
        "{}",
        done.text
    );
    let originals = by_sop(&dir.path().join("outgoing"));
    let arrived = by_sop(&received);
    assert_eq!(arrived.len(), 4);
    for (sop, bytes) in &arrived {
        assert!(
            data_set_of_file(bytes) == data_set_of_file(&originals[sop]),
            "{sop} arrived changed"
        );
    }

    // By the name the configuration gives the node.
    let config = dir.path().join("pacs.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nae_title = \"READING\"\n\n[[dicom_nodes]]\nae_title = \"WORKSTATION\"\nhost = \"127.0.0.1\"\nport = {}\n",
            node.port
        ),
    )
    .expect("config written");
    let config = config.to_str().expect("utf-8").to_owned();
    let one = dir.path().join("outgoing");
    let done = pacs_send(&["--config", &config, "--to", "WORKSTATION"], &[&one]);
    assert!(done.text.contains("sent 4 to WORKSTATION"), "{}", done.text);

    // Unknown destinations and unreachable nodes are errors, said plainly.
    let done = pacs_send(&["--config", &config, "--to", "ELSEWHERE"], &[&one]);
    assert_eq!(done.status.code(), Some(1));
    assert!(
        done.text
            .contains("ELSEWHERE is not a configured DICOM node"),
        "{}",
        done.text
    );
    let closed = test_support::ClosedPort::new().expect("a held port");
    let done = pacs_send(
        &["--to", &format!("NOBODY@127.0.0.1:{}", closed.port())],
        &[&one],
    );
    assert_eq!(done.status.code(), Some(1));
    assert!(
        done.text.contains("cannot associate with NOBODY"),
        "{}",
        done.text
    );
}

#[test]
fn a_folder_reaches_a_dicomweb_endpoint_in_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let centre = common::Server::start(&dir.path().join("centre"));
    let (_spec, _files) = ct_files(
        &dir.path().join("outgoing"),
        6,
        22,
        SampleTransferSyntax::DeflatedExplicitVrLittleEndian,
    );
    let done = pacs_send(&["--to", &centre.base()], &[&dir.path().join("outgoing")]);
    assert!(done.status.success(), "{}", done.text);
    assert!(
        done.text.contains(&format!(
            "sent 6 to {} / with warnings 0 / failed 0",
            centre.base()
        )),
        "{}",
        done.text
    );
    // What arrived is each file as it was, compressed transfer syntax kept.
    let originals = by_sop(&dir.path().join("outgoing"));
    let stored = by_sop(&dir.path().join("centre"));
    assert_eq!(stored.len(), 6);
    for (sop, bytes) in &originals {
        assert_eq!(
            data_set_of_file(&stored[sop]),
            data_set_of_file(bytes),
            "{sop}"
        );
    }

    // A refused request is the whole batch's failure, said plainly.
    let closed = test_support::ClosedPort::new().expect("a held port");
    let done = pacs_send(
        &[
            "--to",
            &format!("http://127.0.0.1:{}/dicom-web", closed.port()),
        ],
        &[&dir.path().join("outgoing")],
    );
    assert_eq!(done.status.code(), Some(2), "{}", done.text);
    assert!(done.text.contains("failed 6"), "{}", done.text);
    assert!(done.text.contains("STOW-RS to"), "{}", done.text);
    centre.stop();
}
