//! Interoperability with dcmtk (`/usr/bin/echoscu`, `/usr/bin/storescu`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dicom_dictionary_std::uids;
use dimse::Status;
use dimse::server::negotiation::EXPLICIT_VR_BIG_ENDIAN;

use crate::support::*;

#[tokio::test]
async fn echo_succeeds() {
    let server = TestServer::start(config(), Arc::new(Recorder::new())).await;
    let out = run_tool(
        ECHOSCU,
        &[
            "-v",
            "-aet",
            SCU_AE,
            "-aec",
            OUR_AE,
            "127.0.0.1",
            &server.port(),
        ],
    )
    .await;
    assert!(out.success, "echoscu failed:\n{}", out.text);
    server.stop().await;
}

#[tokio::test]
async fn stores_exact_data_sets_in_three_transfer_syntaxes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let handler = Arc::new(Recorder::new());
    let server = TestServer::start(config(), handler.clone()).await;
    let cases = [
        (
            "-xe",
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            "1.2.826.0.1.3680043.10.543.2.1",
        ),
        (
            "-xi",
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
            "1.2.826.0.1.3680043.10.543.2.2",
        ),
        (
            "-xb",
            EXPLICIT_VR_BIG_ENDIAN,
            "1.2.826.0.1.3680043.10.543.2.3",
        ),
    ];
    for (flag, ts, instance) in cases {
        let (path, data_set) = write_ct(dir.path(), &format!("{instance}.dcm"), ts, instance, 64);
        let out = storescu(&server, &[flag, "-R"], &[path]).await;
        assert!(out.success, "storescu {flag} failed:\n{}", out.text);
        let received = handler.take();
        assert_eq!(received.len(), 1, "one C-STORE for {ts}");
        let request = &received[0].request;
        assert_eq!(received[0].calling_ae_title, SCU_AE);
        assert_eq!(request.affected_sop_class_uid, uids::CT_IMAGE_STORAGE);
        assert_eq!(request.affected_sop_instance_uid, instance);
        assert_eq!(request.transfer_syntax_uid, ts);
        assert!(request.move_originator_ae_title.is_none());
        assert_eq!(
            request.dataset.len(),
            data_set.len(),
            "data set length for {ts}"
        );
        assert!(
            request.dataset[..] == data_set[..],
            "data set bytes for {ts}"
        );
    }
    server.stop().await;
}

/// A handler that takes data sets as they arrive gets every piece, in
/// order, the pieces make up the data set exactly, and the sink comes back
/// with the request; small PDUs make many pieces.
#[tokio::test]
async fn data_sets_reach_a_sink_piece_by_piece() {
    let dir = tempfile::tempdir().expect("temp dir");
    let handler = Arc::new(Recorder::streaming());
    let mut config = config();
    config.max_pdu_length = 4096;
    let server = TestServer::start(config, handler.clone()).await;
    let instance = "1.2.826.0.1.3680043.10.543.9.1";
    let (path, data_set) = write_ct(
        dir.path(),
        "streamed.dcm",
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        instance,
        256,
    );
    let out = storescu(&server, &["-xe", "-R"], &[path]).await;
    assert!(out.success, "storescu failed:\n{}", out.text);
    let received = handler.take();
    assert_eq!(received.len(), 1);
    let (announced, pieces) = received[0]
        .streamed
        .as_ref()
        .expect("the sink came back with the request");
    assert_eq!(announced.affected_sop_instance_uid, instance);
    assert_eq!(announced.affected_sop_class_uid, uids::CT_IMAGE_STORAGE);
    assert_eq!(
        announced.transfer_syntax_uid,
        uids::EXPLICIT_VR_LITTLE_ENDIAN
    );
    assert!(
        pieces.len() >= data_set.len() / 4096,
        "{} pieces for {} bytes in PDUs of 4 KiB",
        pieces.len(),
        data_set.len()
    );
    assert!(pieces.iter().all(|p| p.len() <= 4096));
    let joined: Vec<u8> = pieces.concat();
    assert!(joined == data_set, "the pieces joined are the data set");
    assert!(received[0].request.dataset[..] == data_set[..]);
    assert_eq!(
        handler
            .sinks_dropped
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    server.stop().await;
}

/// Files encoded by dcmtk itself (RLE, JPEG lossless, JPEG-LS, deflate) go
/// through unchanged in their own transfer syntax.
#[tokio::test]
async fn stores_dcmtk_encoded_syntaxes_as_received() {
    let dir = tempfile::tempdir().expect("temp dir");
    let handler = Arc::new(Recorder::new());
    let server = TestServer::start(config(), handler.clone()).await;
    let cases = [
        ("/usr/bin/dcmcrle", vec![], "-xr", uids::RLE_LOSSLESS),
        ("/usr/bin/dcmcjpeg", vec![], "-xs", uids::JPEG_LOSSLESS_SV1),
        ("/usr/bin/dcmcjpls", vec![], "-xt", uids::JPEGLS_LOSSLESS),
        (
            "/usr/bin/dcmconv",
            vec!["+td"],
            "-xd",
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        ),
    ];
    for (index, (encoder, options, flag, ts)) in cases.into_iter().enumerate() {
        let instance = format!("1.2.826.0.1.3680043.10.543.7.{index}");
        let (source, _) = write_ct(
            dir.path(),
            "source.dcm",
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            &instance,
            64,
        );
        let encoded = dir.path().join(format!("encoded-{index}.dcm"));
        let (source, target) = (source.display().to_string(), encoded.display().to_string());
        let mut args = options.clone();
        args.extend([source.as_str(), target.as_str()]);
        let out = run_tool(encoder, &args).await;
        assert!(out.success, "{encoder} failed:\n{}", out.text);
        let file = std::fs::read(&encoded).expect("encoded file");

        let out = storescu(&server, &[flag, "-R"], &[encoded]).await;
        assert!(out.success, "storescu {flag} failed:\n{}", out.text);
        let received = handler.take();
        assert_eq!(received.len(), 1, "one C-STORE for {ts}");
        assert_eq!(received[0].request.transfer_syntax_uid, ts);
        let (got, sent) = (&received[0].request.dataset[..], data_set_of_file(&file));
        if ts == uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN {
            // storescu deflates afresh: compare what the streams inflate to.
            assert!(inflate(got) == inflate(sent), "inflated data set for {ts}");
        } else {
            assert!(got == sent, "data set bytes for {ts}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn handler_status_reaches_storescu() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, _) = write_ct(
        dir.path(),
        "ct.dcm",
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        "1.2.826.0.1.3680043.10.543.3",
        16,
    );
    for (status, expected) in [
        (Status::REFUSED_OUT_OF_RESOURCES, "0xa700"),
        (Status::CANNOT_UNDERSTAND, "0xc000"),
        (Status::WARNING_COERCION_OF_DATA_ELEMENTS, "0xb000"),
    ] {
        let handler = Arc::new(Recorder::answering(status, "told by the test handler"));
        let server = TestServer::start(config(), handler.clone()).await;
        let out = storescu(&server, &["-d", "-R"], std::slice::from_ref(&path)).await;
        let text = out.text.to_lowercase();
        assert!(
            text.contains(expected),
            "storescu output lacks {expected}:\n{}",
            out.text
        );
        if status.is_failure() {
            assert!(
                text.contains("told by the test handler"),
                "error comment missing:\n{}",
                out.text
            );
        }
        assert_eq!(handler.count(), 1);
        server.stop().await;
    }
}

#[tokio::test]
async fn unknown_calling_ae_cannot_associate() {
    let mut handler = Recorder::new();
    handler.admit_only = Some(SCU_AE.to_string());
    let server = TestServer::start(config(), Arc::new(handler)).await;
    let out = run_tool(
        ECHOSCU,
        &[
            "-aet",
            "INTRUDER",
            "-aec",
            OUR_AE,
            "127.0.0.1",
            &server.port(),
        ],
    )
    .await;
    assert!(
        !out.success,
        "echoscu associated as INTRUDER:\n{}",
        out.text
    );
    assert!(
        out.text.contains("Rejected"),
        "no rejection reported:\n{}",
        out.text
    );
    let out = run_tool(
        ECHOSCU,
        &["-aet", SCU_AE, "-aec", OUR_AE, "127.0.0.1", &server.port()],
    )
    .await;
    assert!(out.success, "admitted peer failed:\n{}", out.text);
    server.stop().await;
}

#[tokio::test]
async fn wrong_called_ae_is_rejected_unless_configured() {
    let server = TestServer::start(config(), Arc::new(Recorder::new())).await;
    let out = run_tool(
        ECHOSCU,
        &[
            "-aet",
            SCU_AE,
            "-aec",
            "SOMEONE",
            "127.0.0.1",
            &server.port(),
        ],
    )
    .await;
    assert!(
        !out.success,
        "echoscu associated with a foreign called AE:\n{}",
        out.text
    );
    server.stop().await;

    let mut lenient = config();
    lenient.require_called_ae_title = false;
    let server = TestServer::start(lenient, Arc::new(Recorder::new())).await;
    let out = run_tool(
        ECHOSCU,
        &[
            "-aet",
            SCU_AE,
            "-aec",
            "SOMEONE",
            "127.0.0.1",
            &server.port(),
        ],
    )
    .await;
    assert!(out.success, "lenient server refused:\n{}", out.text);
    server.stop().await;
}

#[tokio::test]
async fn eight_parallel_storescu_associations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let handler = Arc::new(Recorder::new());
    let server = TestServer::start(config(), handler.clone()).await;
    let mut runs = Vec::new();
    for peer in 0..8 {
        let files: Vec<String> = (0..5)
            .map(|i| {
                let uid = format!("1.2.826.0.1.3680043.10.543.4.{peer}.{i}");
                let name = format!("{uid}.dcm");
                let (path, _) =
                    write_ct(dir.path(), &name, uids::EXPLICIT_VR_LITTLE_ENDIAN, &uid, 64);
                path.display().to_string()
            })
            .collect();
        let port = server.port();
        runs.push(tokio::spawn(async move {
            let mut args = vec!["-R", "-aet", SCU_AE, "-aec", OUR_AE, "127.0.0.1", &port];
            args.extend(files.iter().map(String::as_str));
            run_tool(STORESCU, &args).await
        }));
    }
    for run in runs {
        let out = run.await.expect("storescu task");
        assert!(out.success, "a storescu failed:\n{}", out.text);
    }
    let mut uids: Vec<String> = handler
        .take()
        .into_iter()
        .map(|r| r.request.affected_sop_instance_uid)
        .collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 40);
    server.stop().await;
}

#[tokio::test]
async fn association_limit_rejects_transiently() {
    let mut limited = config();
    limited.max_associations = 1;
    let server = TestServer::start(limited, Arc::new(Recorder::new())).await;
    let (_holder, answer) = RawPeer::associate(&server, SCU_AE).await;
    assert!(
        matches!(answer, dicom_ul::Pdu::AssociationAC(_)),
        "{answer:?}"
    );
    let out = run_tool(
        ECHOSCU,
        &["-aet", SCU_AE, "-aec", OUR_AE, "127.0.0.1", &server.port()],
    )
    .await;
    assert!(!out.success, "second association accepted:\n{}", out.text);
    assert!(
        out.text.to_lowercase().contains("transient"),
        "not transient:\n{}",
        out.text
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_store_in_progress_finish() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, _) = write_ct(
        dir.path(),
        "ct.dcm",
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        "1.2.826.0.1.3680043.10.543.5",
        16,
    );
    let mut slow = Recorder::new();
    slow.delay = Some(Duration::from_millis(700));
    let handler = Arc::new(slow);
    let server = TestServer::start(config(), handler.clone()).await;
    let first_store = handler.first_store.clone();
    let shutdown = server.shutdown.clone();
    let files = [path];
    let run = storescu(&server, &["-R"], &files);
    let stop = async move {
        first_store.cancelled().await;
        shutdown.cancel();
    };
    let (out, ()) = tokio::join!(run, stop);
    // The store was answered with success although shutdown came first.
    assert!(
        out.text.contains("Success"),
        "store not answered:\n{}",
        out.text
    );
    assert_eq!(handler.count(), 1);
    tokio::time::timeout(Duration::from_secs(10), server.task)
        .await
        .expect("serve returns")
        .expect("no panic");
}

/// Throughput of one association with a fast handler: 512 KiB instances.
/// Gated: set DIMSE_PERF=1 (and build with --release for real numbers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_of_one_association() {
    if std::env::var_os("DIMSE_PERF").is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // 4096 rows × 64 columns × 2 bytes = 512 KiB of pixel data.
    let (path, _) = write_ct(
        dir.path(),
        "big.dcm",
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        "1.2.826.0.1.3680043.10.543.6",
        4096,
    );
    let mut fast = Recorder::new();
    fast.discard_data = true;
    let handler = Arc::new(fast);
    let server = TestServer::start(config(), handler.clone()).await;
    let count: usize = std::env::var("DIMSE_PERF_COUNT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    let started = Instant::now();
    let cpu_before = own_cpu_ticks();
    let out = storescu(&server, &["-R", "--repeat", &count.to_string()], &[path]).await;
    let elapsed = started.elapsed();
    assert!(out.success, "storescu failed:\n{}", out.text);
    assert_eq!(handler.count(), count);
    let rate = count as f64 / elapsed.as_secs_f64();
    let cpu_ms = (own_cpu_ticks() - cpu_before) as f64 * 10.0;
    eprintln!(
        "{count} × 512 KiB in {elapsed:?}: {rate:.0} instances/s; server CPU {:.3} ms per instance",
        cpu_ms / count as f64
    );
    server.stop().await;
}

/// User and system CPU time of this process in clock ticks (1/100 s on
/// Linux), from /proc/self/stat; 0 where unavailable.
fn own_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    tick(11) + tick(12)
}

fn inflate(deflated: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .read_to_end(&mut out)
        .expect("valid deflate stream");
    out
}
