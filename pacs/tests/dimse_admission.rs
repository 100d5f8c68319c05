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
