//! Inputs a well-behaved tool never sends, from a raw upper-layer peer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dicom_dictionary_std::uids;
use dicom_ul::Pdu;
use dicom_ul::pdu::PresentationContextResultReason;
use dimse::command::{Command, CommandField, DATA_SET_PRESENT};
use dimse::message::encode_message;

use crate::support::*;

fn quick_idle() -> dimse::ServerConfig {
    let mut config = config();
    config.idle_timeout = Duration::from_secs(1);
    config
}

fn store_rq(instance: &str) -> Command {
    let mut command = Command::new(CommandField::CStoreRq);
    command.affected_sop_class_uid = Some(uids::CT_IMAGE_STORAGE.into());
    command.affected_sop_instance_uid = Some(instance.into());
    command.message_id = Some(1);
    command.command_data_set_type = DATA_SET_PRESENT;
    command
}

#[tokio::test]
async fn silent_tcp_connection_is_closed_after_idle_timeout() {
    let server = TestServer::start(quick_idle(), Arc::new(Recorder::new())).await;
    let mut peer = RawPeer::connect(&server).await;
    let started = Instant::now();
    peer.expect_abort_within(Duration::from_secs(5)).await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    server.stop().await;
}

#[tokio::test]
async fn silent_association_is_aborted_after_idle_timeout() {
    let server = TestServer::start(quick_idle(), Arc::new(Recorder::new())).await;
    let (mut peer, answer) = RawPeer::associate(&server, SCU_AE).await;
    assert!(matches!(answer, Pdu::AssociationAC(_)), "{answer:?}");
    peer.expect_abort_within(Duration::from_secs(5)).await;
    server.stop().await;
}

#[tokio::test]
async fn absurd_pdu_length_is_aborted_without_waiting() {
    let server = TestServer::start(config(), Arc::new(Recorder::new())).await;
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    peer.send_bytes(&[0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xF0, 0, 0])
        .await;
    peer.expect_abort_within(Duration::from_secs(3)).await;

    // The same as the very first PDU.
    let mut peer = RawPeer::connect(&server).await;
    peer.send_bytes(&[0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xF0, 0, 1])
        .await;
    peer.expect_abort_within(Duration::from_secs(3)).await;
    server.stop().await;
}

#[tokio::test]
async fn peer_stopping_mid_message_is_aborted_and_nothing_reaches_the_handler() {
    let handler = Arc::new(Recorder::new());
    let server = TestServer::start(quick_idle(), handler.clone()).await;
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    let data = vec![7u8; 10_000];
    let pdus = encode_message(3, &store_rq("1.2.3.4"), Some(&data), 4096);
    // Everything but the last data fragment.
    for pdu in &pdus[..pdus.len() - 1] {
        peer.send(pdu).await;
    }
    peer.expect_abort_within(Duration::from_secs(5)).await;
    assert_eq!(handler.count(), 0);
    server.stop().await;
}

/// A data set abandoned half way drops the sink that was taking it, and
/// the handler's store is never called.
#[tokio::test]
async fn peer_stopping_mid_data_set_drops_its_sink() {
    let handler = Arc::new(Recorder::streaming());
    let server = TestServer::start(quick_idle(), handler.clone()).await;
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    let data = vec![7u8; 10_000];
    let pdus = encode_message(3, &store_rq("1.2.3.5"), Some(&data), 4096);
    for pdu in &pdus[..pdus.len() - 1] {
        peer.send(pdu).await;
    }
    peer.expect_abort_within(Duration::from_secs(5)).await;
    server.stop().await;
    assert_eq!(handler.count(), 0);
    assert_eq!(
        handler
            .sinks_dropped
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the sink begun for the data set was dropped"
    );
}

#[tokio::test]
async fn protocol_violations_abort() {
    let handler = Arc::new(Recorder::new());
    let server = TestServer::start(config(), handler.clone()).await;
    let pdus = encode_message(3, &store_rq("1.2.3.4"), Some(b"data"), 16_384);

    // A data set fragment before its command.
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    peer.send(&pdus[1]).await;
    peer.expect_abort_within(Duration::from_secs(3)).await;

    // A presentation context that was never negotiated.
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    for pdu in encode_message(5, &store_rq("1.2.3.4"), Some(b"data"), 16_384) {
        peer.send(&pdu).await;
    }
    peer.expect_abort_within(Duration::from_secs(3)).await;

    // A second A-ASSOCIATE-RQ on an established association.
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    peer.send(&associate_rq(
        SCU_AE,
        OUR_AE,
        &[(1, uids::VERIFICATION, &[uids::IMPLICIT_VR_LITTLE_ENDIAN])],
    ))
    .await;
    peer.expect_abort_within(Duration::from_secs(3)).await;
    assert_eq!(handler.count(), 0);
    server.stop().await;
}

#[tokio::test]
async fn oversized_data_set_is_refused_out_of_resources_and_the_association_goes_on() {
    let handler = Arc::new(Recorder::new());
    let mut small = config();
    small.max_message_size = 4096;
    let server = TestServer::start(small, handler.clone()).await;
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    let data = vec![0u8; 20_000];
    let response = exchange(&mut peer, 3, &store_rq("1.2.3.4"), Some(&data)).await;
    assert_eq!(response.command_field, CommandField::CStoreRsp);
    assert_eq!(
        response.status,
        Some(dimse::Status::REFUSED_OUT_OF_RESOURCES)
    );
    assert_eq!(handler.count(), 0, "the handler never saw it");
    let response = exchange(&mut peer, 3, &store_rq("1.2.3.5"), Some(&data[..100])).await;
    assert_eq!(response.status, Some(dimse::Status::SUCCESS));
    assert_eq!(handler.count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn oversized_command_is_aborted() {
    let handler = Arc::new(Recorder::new());
    let mut small = config();
    small.max_message_size = 64;
    let server = TestServer::start(small, handler.clone()).await;
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    for pdu in encode_message(3, &store_rq("1.2.3.4"), Some(b"x"), 2048) {
        peer.send(&pdu).await;
    }
    peer.expect_abort_within(Duration::from_secs(3)).await;
    assert_eq!(handler.count(), 0);
    server.stop().await;
}

#[tokio::test]
async fn negotiation_refuses_non_storage_and_picks_the_first_accepted_syntax() {
    let server = TestServer::start(config(), Arc::new(Recorder::new())).await;
    let mut peer = RawPeer::connect(&server).await;
    peer.send(&associate_rq(
        SCU_AE,
        OUR_AE,
        &[
            (
                1,
                uids::MODALITY_WORKLIST_INFORMATION_MODEL_FIND,
                &[uids::IMPLICIT_VR_LITTLE_ENDIAN],
            ),
            (
                3,
                uids::CT_IMAGE_STORAGE,
                &[
                    "1.2.3.999",
                    uids::JPEG_LOSSLESS_SV1,
                    uids::EXPLICIT_VR_LITTLE_ENDIAN,
                ],
            ),
            (
                5,
                "1.2.840.113619.4.26",
                &[uids::HTJ2K, uids::IMPLICIT_VR_LITTLE_ENDIAN],
            ),
            (7, uids::MR_IMAGE_STORAGE, &["1.2.3.999"]),
            (
                9,
                uids::CT_IMAGE_STORAGE,
                &[uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN],
            ),
        ],
    ))
    .await;
    let Ok(Pdu::AssociationAC(ac)) = peer.receive().await else {
        panic!("association not accepted");
    };
    let result = |id: u8| {
        ac.presentation_contexts
            .iter()
            .find(|pc| pc.id == id)
            .unwrap_or_else(|| panic!("context {id} answered"))
            .clone()
    };
    assert_eq!(
        result(1).reason,
        PresentationContextResultReason::AbstractSyntaxNotSupported
    );
    assert_eq!(
        result(3).reason,
        PresentationContextResultReason::Acceptance
    );
    assert_eq!(
        result(3).transfer_syntax.trim_end_matches('\0'),
        uids::JPEG_LOSSLESS_SV1
    );
    assert_eq!(
        result(5).reason,
        PresentationContextResultReason::Acceptance
    );
    assert_eq!(
        result(5).transfer_syntax.trim_end_matches('\0'),
        uids::HTJ2K
    );
    assert_eq!(
        result(7).reason,
        PresentationContextResultReason::TransferSyntaxesNotSupported
    );
    assert_eq!(
        result(9).reason,
        PresentationContextResultReason::Acceptance
    );
    server.stop().await;
}

/// A request proposing every context a retrieving workstation might (here
/// 120 of them, about 19 KiB) is longer than the smallest maximum PDU
/// length the server may announce; that maximum bounds P-DATA-TF only
/// (PS3.8 9.3.1), so the association is accepted, announces it, and
/// serves.
#[tokio::test]
async fn an_associate_request_longer_than_the_maximum_pdu_is_accepted() {
    let mut config = config();
    config.max_pdu_length = dicom_ul::pdu::MINIMUM_PDU_SIZE;
    let server = TestServer::start(config, Arc::new(Recorder::new())).await;
    let syntaxes: &[&str] = &[
        uids::IMPLICIT_VR_LITTLE_ENDIAN,
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        uids::JPEG_LOSSLESS_SV1,
        uids::JPEG2000_LOSSLESS,
        uids::RLE_LOSSLESS,
    ];
    let classes: Vec<String> = (1..=119)
        .map(|n| format!("1.2.840.10008.5.1.4.1.1.{n}"))
        .collect();
    let mut contexts: Vec<(u8, &str, &[&str])> = vec![(1, uids::VERIFICATION, syntaxes)];
    for (n, class) in classes.iter().enumerate() {
        contexts.push((3 + 2 * n as u8, class, syntaxes));
    }
    let request = associate_rq(SCU_AE, OUR_AE, &contexts);
    let mut bytes = Vec::new();
    dicom_ul::write_pdu(&mut bytes, &request).expect("encodable PDU");
    assert!(bytes.len() > 16_384, "{} bytes", bytes.len());
    let mut peer = RawPeer::connect(&server).await;
    peer.send_bytes(&bytes).await;
    let Ok(Pdu::AssociationAC(ac)) = peer.receive().await else {
        panic!("association not accepted");
    };
    assert!(
        ac.user_variables
            .contains(&dicom_ul::pdu::UserVariableItem::MaxLength(
                dicom_ul::pdu::MINIMUM_PDU_SIZE
            )),
        "{:?}",
        ac.user_variables
    );
    let mut echo = Command::new(CommandField::CEchoRq);
    echo.affected_sop_class_uid = Some(uids::VERIFICATION.into());
    echo.message_id = Some(5);
    for pdu in encode_message(1, &echo, None, dicom_ul::pdu::MINIMUM_PDU_SIZE) {
        peer.send(&pdu).await;
    }
    let Ok(Pdu::PData { data }) = peer.receive().await else {
        panic!("no C-ECHO-RSP");
    };
    let response = Command::decode(&data[0].data).expect("decodable response");
    assert_eq!(response.status, Some(dimse::Status::SUCCESS));
    server.stop().await;
}

#[tokio::test]
async fn echo_and_release_by_hand() {
    let server = TestServer::start(config(), Arc::new(Recorder::new())).await;
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    let mut echo = Command::new(CommandField::CEchoRq);
    echo.affected_sop_class_uid = Some(uids::VERIFICATION.into());
    echo.message_id = Some(11);
    for pdu in encode_message(1, &echo, None, 16_384) {
        peer.send(&pdu).await;
    }
    let Ok(Pdu::PData { data }) = peer.receive().await else {
        panic!("no C-ECHO-RSP");
    };
    let response = Command::decode(&data[0].data).expect("decodable response");
    assert_eq!(response.command_field, CommandField::CEchoRsp);
    assert_eq!(response.message_id_being_responded_to, Some(11));
    assert_eq!(response.status, Some(dimse::Status::SUCCESS));
    peer.send(&Pdu::ReleaseRQ).await;
    assert!(matches!(peer.receive().await, Ok(Pdu::ReleaseRP)));
    server.stop().await;
}

#[tokio::test]
async fn shutdown_aborts_idle_associations_promptly() {
    let server = TestServer::start(config(), Arc::new(Recorder::new())).await;
    let (mut first, _) = RawPeer::associate(&server, SCU_AE).await;
    let (mut second, _) = RawPeer::associate(&server, SCU_AE).await;
    let mut unassociated = RawPeer::connect(&server).await;
    let started = Instant::now();
    server.shutdown.cancel();
    first.expect_abort_within(Duration::from_secs(2)).await;
    second.expect_abort_within(Duration::from_secs(2)).await;
    unassociated
        .expect_abort_within(Duration::from_secs(2))
        .await;
    tokio::time::timeout(Duration::from_secs(2), server.task)
        .await
        .expect("serve returns promptly")
        .expect("no panic");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Sends `command` (and `data`) on context `pc` and returns the response.
async fn exchange(peer: &mut RawPeer, pc: u8, command: &Command, data: Option<&[u8]>) -> Command {
    for pdu in encode_message(pc, command, data, 16_384) {
        peer.send(&pdu).await;
    }
    let Ok(Pdu::PData { data }) = peer.receive().await else {
        panic!("no response");
    };
    Command::decode(&data[0].data).expect("decodable response")
}

#[tokio::test]
async fn unserved_operations_get_failure_statuses() {
    let handler = Arc::new(Recorder::new());
    let server = TestServer::start(config(), handler.clone()).await;
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;

    // N-ACTION-RQ: a normalized service we do not serve.
    let mut action = Command::new(CommandField::Other(0x0130));
    action.requested_sop_class_uid = Some(uids::CT_IMAGE_STORAGE.into());
    action.message_id = Some(2);
    let response = exchange(&mut peer, 3, &action, Some(b"")).await;
    assert_eq!(response.command_field, CommandField::Other(0x8130));
    assert_eq!(response.status, Some(dimse::Status::UNRECOGNIZED_OPERATION));

    // A query or retrieve on a storage context: not a query model.
    let mut find = Command::new(CommandField::CFindRq);
    find.affected_sop_class_uid = Some(uids::CT_IMAGE_STORAGE.into());
    find.message_id = Some(3);
    let response = exchange(&mut peer, 3, &find, Some(b"")).await;
    assert_eq!(response.command_field, CommandField::CFindRsp);
    assert_eq!(
        response.status,
        Some(dimse::Status::SOP_CLASS_NOT_SUPPORTED)
    );
    let mut get = Command::new(CommandField::CGetRq);
    get.affected_sop_class_uid = Some(uids::CT_IMAGE_STORAGE.into());
    get.message_id = Some(4);
    let response = exchange(&mut peer, 3, &get, Some(b"")).await;
    assert_eq!(response.command_field, CommandField::CGetRsp);
    assert_eq!(
        response.status,
        Some(dimse::Status::SOP_CLASS_NOT_SUPPORTED)
    );

    let response = exchange(&mut peer, 1, &store_rq("1.2.3.4"), Some(b"data")).await;
    assert_eq!(response.command_field, CommandField::CStoreRsp);
    assert_eq!(
        response.status,
        Some(dimse::Status::SOP_CLASS_NOT_SUPPORTED)
    );
    assert!(response.error_comment.is_some());

    // The association is still usable.
    let response = exchange(&mut peer, 3, &store_rq("1.2.3.5"), Some(b"data")).await;
    assert_eq!(response.status, Some(dimse::Status::SUCCESS));
    assert_eq!(
        response.affected_sop_instance_uid.as_deref(),
        Some("1.2.3.5")
    );
    assert_eq!(handler.count(), 1);
    server.stop().await;
}

/// Server-side throughput with a sender that costs almost nothing: the
/// same pre-encoded 512 KiB C-STORE over one association, in 1 MiB PDUs.
/// Gated: set DIMSE_PERF=1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_with_a_raw_sender() {
    if std::env::var_os("DIMSE_PERF").is_none() {
        return;
    }
    let mut fast = Recorder::new();
    fast.discard_data = true;
    let handler = Arc::new(fast);
    let server = TestServer::start(config(), handler.clone()).await;
    let (mut peer, _) = RawPeer::associate(&server, SCU_AE).await;
    let data = vec![0x5Au8; 512 * 1024];
    let mut wire = Vec::new();
    for pdu in encode_message(3, &store_rq("1.2.3.4"), Some(&data), 1 << 20) {
        dicom_ul::write_pdu(&mut wire, &pdu).expect("encodable");
    }
    let count = 2000;
    let started = Instant::now();
    for _ in 0..count {
        peer.send_bytes(&wire).await;
        assert!(matches!(peer.receive().await, Ok(Pdu::PData { .. })));
    }
    let elapsed = started.elapsed();
    assert_eq!(handler.count(), count);
    eprintln!(
        "raw sender: {count} × 512 KiB in {elapsed:?}: {:.0} instances/s",
        count as f64 / elapsed.as_secs_f64()
    );
    server.stop().await;
}
