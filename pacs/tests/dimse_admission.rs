//! Who gets an association slot, against the real server and dcmtk's
//! `echoscu`: only connections that have asked to associate.

mod common;
#[path = "common/raw_peer.rs"]
mod raw_peer;
#[path = "common/scu.rs"]
mod scu;

use std::time::Duration;

use common::Server;
use raw_peer::RawPeer;

/// Connections that never ask to associate hold no association slot: with
/// room for one association and several silent connections open, a
/// modality still gets in at once (a host that can reach the port cannot
/// lock modalities out), and a second association beside it is refused
/// as transient, not hung.
#[test]
fn silent_connections_take_no_association_slot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = scu::write_config(&data, "[dimse]\nmax_associations = 1\n");
    let server = Server::start_with(&data, Some(&config), &[]);
    let silent: Vec<std::net::TcpStream> = (0..5)
        .map(|_| std::net::TcpStream::connect(server.dicom).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let echo = scu::echoscu(&server, "ECHOSCU", common::AE_TITLE);
    assert!(echo.success(), "{}", echo.text);

    // The slot is a real limit: one association held open, the next is
    // rejected as transient.
    let _held = RawPeer::associate(&server, "HOLDER");
    let refused = scu::echoscu(&server, "ECHOSCU", common::AE_TITLE);
    assert!(!refused.success());
    assert!(
        refused.text.contains("Rejected") || refused.text.contains("rejected"),
        "{}",
        refused.text
    );
    drop(silent);
}

/// Two hospitals whose modalities share an AE title, told apart by
/// address: a caller from the second's address is admitted as the
/// second's, though the first site listed has the title too; one from
/// neither address is refused.
#[test]
fn a_shared_ae_title_is_admitted_by_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    for (site, address) in [("andijan", "127.0.0.2"), ("fergana", "127.0.0.1")] {
        common::accounts::pacs_cli(
            &data,
            &["site", "add", site, "--aet", "CT", "--address", address],
            "",
        );
    }
    let server = Server::start(&data);
    let echo = scu::echoscu(&server, "CT", common::AE_TITLE);
    assert!(echo.success(), "{}", echo.text);
    let log = server.log_text();
    assert!(!log.contains("not one of its addresses"), "{log}");
    server.stop();

    common::accounts::pacs_cli(
        &data,
        &[
            "site",
            "add",
            "fergana",
            "--aet",
            "CT",
            "--address",
            "127.0.0.3",
        ],
        "",
    );
    let server = Server::start(&data);
    let refused = scu::echoscu(&server, "CT", common::AE_TITLE);
    assert!(!refused.success(), "{}", refused.text);
    server.stop();
}
