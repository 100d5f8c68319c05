//! The DIMSE side of the real `pacs serve`, driven by dcmtk, pynetdicom
//! and a hand-written upper-layer peer, with every outcome read back over
//! DICOMweb.

mod common;
#[path = "common/raw_peer.rs"]
mod raw_peer;
#[path = "common/readback.rs"]
mod readback;
#[path = "common/scu.rs"]
mod scu;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Server, ct_files, sha256};
use dicom_samples::{CtSpec, SampleTransferSyntax, ct_slice_pixels};
use dimse::command::{Command, CommandField};
use raw_peer::{PC_CT, RawPeer};
use readback::{frame, retrieve, study_instance_count, totals, transfer_syntax_of};
use scu::{
    Finished, data_set_of_file, meta_of_file, pynetdicom_store, store_responses, storescu, wait_for,
};

const SUCCESS: u16 = 0x0000;
const DUPLICATE_WITH_DIFFERENT_CONTENT: u16 = 0x0111;
const DOES_NOT_MATCH_SOP_CLASS: u16 = 0xA900;
const CANNOT_UNDERSTAND: u16 = 0xC000;

/// A fresh archive in a temporary directory: the server, and the
/// directory (which holds `data/`, `data.log` and the test's own files).
fn archive(config: Option<&str>) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = config.map(|text| scu::write_config(&data, text));
    let server = Server::start_with(&data, config.as_deref(), &[]);
    (dir, server)
}

/// Asserts that storescu succeeded and that every response was `status`;
/// returns the responses.
fn assert_all(done: &Finished, count: usize, status: u16) -> Vec<scu::StoreResponse> {
    let responses = store_responses(&done.text);
    assert_eq!(
        responses.len(),
        count,
        "storescu got {} responses, expected {count}:\n{}",
        responses.len(),
        done.text
    );
    for r in &responses {
        assert_eq!(
            r.status, status,
            "status of {}:\n{}",
            r.sop_instance_uid, done.text
        );
    }
    responses
}

/// The UIDs (study, series, SOP instance) of slice `index` of `spec`.
fn uids(spec: &CtSpec, index: u32) -> (String, String, String) {
    (
        spec.study.study_uid.clone(),
        spec.series_uid.clone(),
        spec.sop_instance_uid(index),
    )
}

/// The pixel words of a slice as little endian bytes, as an uncompressed
/// frame is served.
fn pixel_bytes(spec: &CtSpec, index: u32) -> Vec<u8> {
    ct_slice_pixels(spec, index)
        .into_iter()
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn copy_to(source: &Path, dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let target = dir.join(name);
    std::fs::copy(source, &target).expect("copy");
    target
}

#[test]
fn echoscu_succeeds() {
    let (_dir, server) = archive(None);
    let done = scu::echoscu(&server, "ECHOSCU", common::AE_TITLE);
    assert!(done.success(), "echoscu failed:\n{}", done.text);
    assert!(
        done.text.contains("Received Echo Response (Success)"),
        "{}",
        done.text
    );
}

/// A 20-slice CT series sent by storescu in the syntax of its files is
/// stored with its data set unchanged, pixel data included, for each of
/// the uncompressed syntaxes.
#[test]
fn ct_series_is_stored_byte_for_byte_in_each_uncompressed_syntax() {
    let (dir, server) = archive(None);
    let cases = [
        (SampleTransferSyntax::ExplicitVrLittleEndian, "-xe", 11),
        (SampleTransferSyntax::ImplicitVrLittleEndian, "-xi", 12),
        (SampleTransferSyntax::ExplicitVrBigEndian, "-xb", 13),
    ];
    for (ts, propose, seed) in cases {
        let source = dir.path().join(ts.cli_name());
        let (spec, files) = ct_files(&source, 20, seed, ts);
        let done = storescu(&server, &[propose, "-R", "+sd", "+r"], &[source]);
        assert!(done.success(), "storescu {propose} failed:\n{}", done.text);
        assert_all(&done, 20, SUCCESS);
        assert_eq!(
            study_instance_count(&server, &spec.study.study_uid),
            Some(20),
            "QIDO counts every instance of the {ts:?} study"
        );
        for (i, file) in files.iter().enumerate() {
            let (study, series, sop) = uids(&spec, i as u32);
            let part = retrieve(&server, &study, &series, &sop);
            assert_eq!(
                transfer_syntax_of(&part),
                ts.uid(),
                "stored syntax of {sop}"
            );
            let sent = std::fs::read(file).expect("source file");
            assert!(
                data_set_of_file(&part.body) == data_set_of_file(&sent),
                "the stored data set of slice {i} ({ts:?}) differs from the file's"
            );
        }
    }
}

/// Compressed data sets (encoded by dcmtk and GDCM) sent in their own
/// syntax are stored as received, and their first frame decodes to the
/// source pixels.
#[test]
fn compressed_syntaxes_are_stored_as_received_and_decode_to_the_source_pixels() {
    let (dir, server) = archive(None);
    let (spec, files) = ct_files(
        &dir.path().join("source"),
        4,
        21,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let cases: [(&str, &[&str], &str, &str); 4] = [
        (
            "/usr/bin/dcmcjpeg",
            &["+e1"],
            "-xs",
            "1.2.840.10008.1.2.4.70",
        ),
        (
            "/usr/bin/dcmcjpls",
            &["+el"],
            "-xt",
            "1.2.840.10008.1.2.4.80",
        ),
        ("/usr/bin/dcmcrle", &[], "-xr", "1.2.840.10008.1.2.5"),
        (
            "/usr/bin/gdcmconv",
            &["--j2k"],
            "-xv",
            "1.2.840.10008.1.2.4.90",
        ),
    ];
    for (i, (encoder, options, propose, ts)) in cases.into_iter().enumerate() {
        let encoded = dir.path().join(format!("encoded-{i}.dcm"));
        let mut command = std::process::Command::new(encoder);
        command.args(options).arg(&files[i]).arg(&encoded);
        let done = scu::run(command, scu::TOOL_LIMIT);
        assert!(done.success(), "{encoder} failed:\n{}", done.text);
        let sent = std::fs::read(&encoded).expect("encoded file");

        let done = storescu(&server, &[propose, "-R"], &[encoded]);
        assert!(done.success(), "storescu {propose} failed:\n{}", done.text);
        assert_all(&done, 1, SUCCESS);

        let (study, series, sop) = uids(&spec, i as u32);
        let part = retrieve(&server, &study, &series, &sop);
        assert_eq!(transfer_syntax_of(&part), ts, "{encoder}: retrieved syntax");
        assert!(
            data_set_of_file(&part.body) == data_set_of_file(&sent),
            "{encoder}: the stored data set differs from what was sent"
        );
        let pixels = frame(&server, &study, &series, &sop, 1);
        assert!(
            pixels == pixel_bytes(&spec, i as u32),
            "{encoder}: frame 1 ({} bytes) does not decode to the source pixels",
            pixels.len()
        );
    }
}

/// The same instance twice is a success both times and stays one
/// instance; different content under a stored SOP Instance UID is
/// refused with 0x0111 and leaves the first object as it was.
#[test]
fn duplicates_keep_the_first_instance() {
    let (dir, server) = archive(None);
    let (spec, files) = ct_files(
        &dir.path().join("source"),
        1,
        31,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    for attempt in 1..=2 {
        let done = storescu(&server, &["-R"], &files);
        assert!(done.success(), "send {attempt} failed:\n{}", done.text);
        assert_all(&done, 1, SUCCESS);
    }
    assert_eq!(
        study_instance_count(&server, &spec.study.study_uid),
        Some(1)
    );
    let (study, series, sop) = uids(&spec, 0);
    let before = sha256(&retrieve(&server, &study, &series, &sop).body);

    let changed = copy_to(&files[0], &dir.path().join("changed"), "changed.dcm");
    scu::dcmodify(&changed, &["-m", "(0010,0010)=Other^Name"]);
    let done = storescu(&server, &["-R"], &[changed]);
    assert!(
        !done.success(),
        "storescu reports the refusal:\n{}",
        done.text
    );
    let responses = assert_all(&done, 1, DUPLICATE_WITH_DIFFERENT_CONTENT);
    assert_eq!(responses[0].sop_instance_uid, sop);
    assert!(
        done.text.contains("0x0111"),
        "status visible in storescu's output"
    );

    let after = sha256(&retrieve(&server, &study, &series, &sop).body);
    assert_eq!(before, after, "the first object is unchanged");
    // The resent and the changed copies were written as they arrived, then
    // dropped: one object is left, and no temp file.
    files_below_objects_become(&server, 1);
    assert_eq!(
        study_instance_count(&server, &spec.study.study_uid),
        Some(1)
    );
    let found = readback::qido(&server, &format!("/studies?StudyInstanceUID={study}"));
    let name = &found[0]["00100010"]["Value"][0]["Alphabetic"];
    assert_ne!(
        name, "Other^Name",
        "the index still describes the first instance"
    );
}

/// The same data set sent from another calling AE title is the same
/// instance, although the file meta group written for it records the
/// calling AE title (0002,0016): duplicates are judged on the data set.
#[test]
fn identical_data_set_from_another_ae_title_is_a_duplicate() {
    let (dir, server) = archive(None);
    let (spec, files) = ct_files(
        &dir.path().join("source"),
        1,
        32,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    for calling in ["MODALITY_A", "MODALITY_B"] {
        let command = scu::storescu_command(&server, calling, &["-R"], &files);
        let done = scu::run(command, scu::TOOL_LIMIT);
        assert_all(&done, 1, SUCCESS);
    }
    assert_eq!(
        study_instance_count(&server, &spec.study.study_uid),
        Some(1)
    );
}

/// UIDs that are not UIDs (letters, path traversal) and a missing Study
/// Instance UID are refused with 0xA900, and nothing is indexed or
/// written anywhere.
#[test]
fn invalid_or_missing_uids_are_refused_and_nothing_is_written() {
    let (dir, server) = archive(None);
    let (_, files) = ct_files(
        &dir.path().join("source"),
        1,
        41,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let bad_dir = dir.path().join("bad");
    let edits: [(&str, &[&str]); 6] = [
        ("letters", &["-m", "(0008,0018)=1.2.abc"]),
        ("passwd", &["-m", "(0008,0018)=../../etc/passwd"]),
        // Five levels up from objects/dicom/STUDY/SERIES is the test's
        // temporary directory: where a traversal would land.
        ("escape-sop", &["-m", "(0008,0018)=../../../../../escaped"]),
        (
            "escape-study",
            &["-m", "(0020,000D)=../../../escaped-study"],
        ),
        (
            "escape-series",
            &["-m", "(0020,000E)=../../../escaped-series"],
        ),
        ("no-study", &["-e", "(0020,000D)"]),
    ];
    let mut bad = Vec::new();
    for (name, args) in edits {
        let file = copy_to(&files[0], &bad_dir, &format!("{name}.dcm"));
        scu::dcmodify(&file, args);
        bad.push(file);
    }
    // -nh: go on after a refusal, all in one association.
    let done = storescu(&server, &["-R", "-nh"], &bad);
    assert_all(&done, bad.len(), DOES_NOT_MATCH_SOP_CLASS);

    assert_eq!(totals(&server), (0, 0, 0), "nothing indexed");
    assert!(readback::qido(&server, "/studies").is_empty());
    let objects = scu::files_below(&server.data_dir.join("objects"));
    assert!(objects.is_empty(), "objects written: {objects:?}");
    let allowed = |p: &Path| {
        p.starts_with(dir.path().join("source"))
            || p.starts_with(&bad_dir)
            || p.starts_with(&server.data_dir)
            || p == server.log
    };
    let strays: Vec<PathBuf> = scu::files_below(dir.path())
        .into_iter()
        .filter(|p| !allowed(p))
        .collect();
    assert!(
        strays.is_empty(),
        "files written outside the archive: {strays:?}"
    );
    let in_etc: Vec<String> = std::fs::read_dir("/etc")
        .expect("/etc")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("passwd.") && n.ends_with(".dcm"))
        .collect();
    assert!(in_etc.is_empty(), "written into /etc: {in_etc:?}");
}

/// A data set cut in the middle of an element, random bytes, and a data
/// set whose SOP Instance UID is not the command's are refused (0xC000,
/// 0xC000, 0xA900) on a live association, which then still answers.
#[test]
fn malformed_data_sets_are_refused_and_the_association_goes_on() {
    let (dir, server) = archive(None);
    let (spec, files) = ct_files(
        &dir.path().join("source"),
        3,
        51,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let first = std::fs::read(&files[0]).expect("file");
    let second = std::fs::read(&files[1]).expect("file");
    let (meta, data_set) = (meta_of_file(&first), data_set_of_file(&first));
    let raw_dir = dir.path().join("raw");
    std::fs::create_dir_all(&raw_dir).expect("dir");
    let write = |name: &str, parts: &[&[u8]]| {
        let path = raw_dir.join(name);
        std::fs::write(&path, parts.concat()).expect("write");
        path
    };
    // Three bytes into the Modality element's header.
    let modality = find(data_set, &[0x08, 0x00, 0x60, 0x00]).expect("Modality in the data set");
    let cut_in_header = write("cut-in-header.dcm", &[meta, &data_set[..modality + 3]]);
    // In the middle of the pixel data value.
    let cut_in_pixels = write(
        "cut-in-pixels.dcm",
        &[meta, &data_set[..data_set.len() - 1000]],
    );
    let noise: Vec<u8> = (0u32..4096)
        .scan(0x2545_F491u32, |s, _| {
            *s ^= *s << 13;
            *s ^= *s >> 17;
            *s ^= *s << 5;
            Some(*s as u8)
        })
        .collect();
    let random = write("random.dcm", &[meta, &noise]);
    // The command names the first slice, the data set is the second.
    let mismatch = write("mismatch.dcm", &[meta, data_set_of_file(&second)]);

    let started = Instant::now();
    let sent = [cut_in_header, cut_in_pixels, random, mismatch];
    let (statuses, echo, text) = pynetdicom_store(&server, &sent);
    assert_eq!(
        statuses,
        [
            Some(CANNOT_UNDERSTAND),
            Some(CANNOT_UNDERSTAND),
            Some(CANNOT_UNDERSTAND),
            Some(DOES_NOT_MATCH_SOP_CLASS)
        ],
        "{text}"
    );
    assert_eq!(
        echo,
        Some(SUCCESS),
        "the association still answers:\n{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refusing four small data sets took {:?}",
        started.elapsed()
    );
    assert_eq!(totals(&server).2, 0, "nothing indexed");

    // The server goes on storing, the second slice included.
    let done = storescu(&server, &["-R"], &files[1..2]);
    assert_all(&done, 1, SUCCESS);
    assert_eq!(
        study_instance_count(&server, &spec.study.study_uid),
        Some(1)
    );
}

/// Regression: an element announcing far more bytes than the data set
/// holds made ingest allocate (and zero) the announced length before
/// noticing, so a 4 KiB C-STORE cost gigabytes of memory and tens of
/// seconds. It must be refused at once, without the allocation.
#[test]
fn element_longer_than_its_data_set_is_refused_without_allocating_it() {
    let (dir, server) = archive(None);
    let (_, files) = ct_files(
        &dir.path().join("source"),
        1,
        61,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let file = std::fs::read(&files[0]).expect("file");
    let (meta, data_set) = (meta_of_file(&file), data_set_of_file(&file));
    let modality = find(data_set, &[0x08, 0x00, 0x60, 0x00]).expect("Modality");
    let header = &data_set[..modality];
    // The header up to Modality, then a private element that claims almost
    // 4 GiB: as UN, and with a VR no one knows, which a decoder reads as UN
    // (two reserved bytes, then a 32-bit length).
    let mut as_un = vec![0x09, 0x00, 0x10, 0x10, b'U', b'N', 0, 0];
    as_un.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let mut unknown_vr = vec![0x09, 0x00, 0x10, 0x10, b'Z', b'Z', 4, 0];
    unknown_vr.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let padding = [0u8; 4000];
    let mut sent = Vec::new();
    for (name, claim) in [("un", as_un), ("unknown-vr", unknown_vr)] {
        let path = dir.path().join(format!("claims-4-gib-{name}.dcm"));
        std::fs::write(&path, [meta, header, &claim, &padding].concat()).expect("write");
        sent.push(path);
    }

    let started = Instant::now();
    let (statuses, echo, text) = pynetdicom_store(&server, &sent);
    assert_eq!(statuses, [Some(CANNOT_UNDERSTAND); 2], "{text}");
    assert_eq!(echo, Some(SUCCESS), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let peak_mib = scu::peak_rss_kib(server.pid()) / 1024;
    assert!(
        peak_mib < 1024,
        "the server's peak memory reached {peak_mib} MiB"
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn callers_outside_the_configured_sites_are_rejected() {
    let (_dir, server) = archive(Some(
        r#"
        [[sites]]
        name = "d1"
        ae_titles = ["CT_D1"]
        "#,
    ));
    let known = scu::echoscu(&server, "CT_D1", common::AE_TITLE);
    assert!(
        known.success(),
        "CT_D1 is a configured site:\n{}",
        known.text
    );
    let unknown = scu::echoscu(&server, "OTHER", common::AE_TITLE);
    assert!(
        !unknown.success(),
        "OTHER is not configured:\n{}",
        unknown.text
    );
    assert!(
        unknown.text.contains("Calling AE Title Not Recognized"),
        "{}",
        unknown.text
    );
}

#[test]
fn wrong_called_ae_title_is_rejected() {
    let (_dir, server) = archive(None);
    let wrong = scu::echoscu(&server, "ECHOSCU", "NOT_PACS");
    assert!(!wrong.success(), "{}", wrong.text);
    assert!(
        wrong.text.contains("Called AE Title Not Recognized"),
        "{}",
        wrong.text
    );
    let right = scu::echoscu(&server, "ECHOSCU", common::AE_TITLE);
    assert!(right.success(), "{}", right.text);
}

/// Eight storescu processes at once, each with its own study: every one
/// succeeds and QIDO shows every instance.
#[test]
fn eight_parallel_storescu_processes_all_store() {
    let (dir, server) = archive(None);
    let series: Vec<(CtSpec, PathBuf)> = (0..8u64)
        .map(|i| {
            let source = dir.path().join(format!("series-{i}"));
            let (spec, _) = ct_files(&source, 10, 70 + i, SampleTransferSyntax::default());
            (spec, source)
        })
        .collect();
    let running: Vec<scu::Running> = series
        .iter()
        .enumerate()
        .map(|(i, (_, source))| {
            scu::Running::spawn(scu::storescu_command(
                &server,
                &format!("PARALLEL{i}"),
                &["-R", "+sd", "+r"],
                std::slice::from_ref(source),
            ))
        })
        .collect();
    for (i, run) in running.into_iter().enumerate() {
        let done = run.finish(scu::TOOL_LIMIT);
        assert!(done.success(), "storescu {i} failed:\n{}", done.text);
        assert_all(&done, 10, SUCCESS);
    }
    for (spec, _) in &series {
        assert_eq!(
            study_instance_count(&server, &spec.study.study_uid),
            Some(10)
        );
    }
    assert_eq!(totals(&server), (8, 8, 80));
}

/// A connection that sends nothing, and an association that goes quiet,
/// are closed once the configured idle timeout has passed.
#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    let (_dir, server) = archive(Some("[dimse]\nidle_timeout_secs = 2\n"));
    let idle = Duration::from_secs(2);
    let limit = Duration::from_secs(20);

    let mut silent = RawPeer::connect(&server);
    let took = silent.expect_end_within(limit);
    assert!(
        took >= idle - Duration::from_millis(200),
        "closed after {took:?}"
    );

    let mut quiet = RawPeer::associate(&server, "QUIET");
    let took = quiet.expect_end_within(limit);
    assert!(
        took >= idle - Duration::from_millis(200),
        "aborted after {took:?}"
    );

    let done = scu::echoscu(&server, "ECHOSCU", common::AE_TITLE);
    assert!(done.success(), "{}", done.text);
}

/// A PDU that announces 0xFFFFFFF0 bytes, whether as the first PDU or
/// inside an association, is aborted at once (the idle timeout is the
/// default two minutes) and costs no memory.
#[test]
fn absurd_pdu_length_is_aborted_and_the_server_goes_on() {
    let (_dir, server) = archive(None);
    let limit = Duration::from_secs(10);

    let mut associated = RawPeer::associate(&server, "HUGE_PDU");
    associated.send(&[raw_peer::P_DATA_TF, 0, 0xFF, 0xFF, 0xFF, 0xF0, 0, 0, 0, 0]);
    associated.expect_end_within(limit);

    let mut first = RawPeer::connect(&server);
    first.send(&[0x01, 0, 0xFF, 0xFF, 0xFF, 0xF0, 0, 1, 0, 0]);
    first.expect_end_within(limit);

    let done = scu::echoscu(&server, "ECHOSCU", common::AE_TITLE);
    assert!(done.success(), "{}", done.text);
    let peak_mib = scu::peak_rss_kib(server.pid()) / 1024;
    assert!(
        peak_mib < 1024,
        "the server's peak memory reached {peak_mib} MiB"
    );
}

/// Peers that send part of a data set and disappear leave nothing
/// behind: not after a complete PDU that is not the last fragment, not
/// in the middle of a PDU.
#[test]
fn peer_vanishing_mid_data_set_leaves_nothing_indexed() {
    // One association at a time: once echoscu gets in again, the
    // vanished peers' associations have been fully dealt with.
    let (dir, server) = archive(Some("[dimse]\nmax_associations = 1\n"));
    let (spec, files) = ct_files(
        &dir.path().join("source"),
        2,
        81,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let data_sets: Vec<Vec<u8>> = files
        .iter()
        .map(|f| data_set_of_file(&std::fs::read(f).expect("file")).to_vec())
        .collect();

    // A whole PDU holding the first half of the data set, not marked last.
    let mut peer = RawPeer::associate(&server, "VANISH1");
    peer.send_store_command(&spec.sop_instance_uid(0));
    let half = &data_sets[0][..data_sets[0].len() / 2];
    peer.send_pdv(PC_CT, false, false, half);
    peer.vanish();
    wait_until_echo_gets_in(&server);

    // A PDU announcing the whole data set, cut in the middle.
    let mut peer = RawPeer::associate(&server, "VANISH2");
    peer.send_store_command(&spec.sop_instance_uid(1));
    let whole = raw_peer::p_data(PC_CT, false, true, &data_sets[1]);
    peer.send(&whole[..whole.len() / 2]);
    peer.vanish();
    wait_until_echo_gets_in(&server);

    assert_eq!(totals(&server), (0, 0, 0), "nothing indexed");
    // The data sets were being written as they arrived: what was written
    // goes once the association is gone (removing it may lag a moment).
    files_below_objects_become(&server, 0);

    // Sent in full, both are new instances (no half copy is in the way).
    let done = storescu(&server, &["-R"], &files);
    assert_all(&done, 2, SUCCESS);
    assert_eq!(
        study_instance_count(&server, &spec.study.study_uid),
        Some(2)
    );
}

/// Waits until `count` files are left below the object store's root,
/// temp files included: staged copies nobody will name are removed in the
/// background, a moment after their store ended.
fn files_below_objects_become(server: &Server, count: usize) {
    let objects = server.data_dir.join("objects");
    let mut left = Vec::new();
    let settled = (0..100).any(|_| {
        left = scu::files_below(&objects);
        left.len() == count || {
            std::thread::sleep(Duration::from_millis(50));
            false
        }
    });
    assert!(settled, "files below objects/, expected {count}: {left:?}");
}

fn wait_until_echo_gets_in(server: &Server) {
    wait_for(Duration::from_secs(30), "an association slot", || {
        scu::echoscu(server, "ECHOSCU", common::AE_TITLE)
            .success()
            .then_some(())
    });
}

/// A data set larger than the archive accepts is refused with 0xA700
/// (out of resources) once it has arrived, without being held in memory
/// or written: the association goes on and stores the next instance.
#[test]
fn a_data_set_over_the_size_limit_is_refused_with_a700_and_the_association_goes_on() {
    let (dir, server) = archive(Some("[ingest]\nmax_instance_size = 1048576\n"));
    let big = CtSpec::chest(dicom_samples::Patient::ivanov_iso_ir_144(), 33)
        .with_slices(1)
        .with_matrix(1024, 1024);
    let big_files = dicom_samples::write_ct_series(
        &big,
        &dir.path().join("big"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("big slice");
    let (small, small_files) = ct_files(
        &dir.path().join("small"),
        1,
        34,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    // dcmtk's storescu stops at an out-of-resources status: the same
    // association then goes on with pynetdicom.
    let done = storescu(&server, &["-R"], &[big_files[0].clone()]);
    let responses = store_responses(&done.text);
    assert_eq!(responses.len(), 1, "{}", done.text);
    assert_eq!(responses[0].sop_instance_uid, big.sop_instance_uid(0));
    assert_eq!(responses[0].status, 0xA700, "{}", done.text);
    assert!(done.text.contains("1048576 bytes"), "{}", done.text);
    let sent = [big_files[0].clone(), small_files[0].clone()];
    let (statuses, echo, text) = pynetdicom_store(&server, &sent);
    assert_eq!(statuses, vec![Some(0xA700), Some(SUCCESS)], "{text}");
    assert_eq!(echo, Some(SUCCESS), "{text}");
    assert_eq!(
        study_instance_count(&server, &small.study.study_uid),
        Some(1)
    );
    assert_eq!(study_instance_count(&server, &big.study.study_uid), None);
    files_below_objects_become(&server, 1);
}

/// C-STOREs arriving at once share one memory budget: a data set it
/// cannot cover while another association holds most of it is refused
/// with 0xA700 (out of resources: send it again), the associations go on,
/// and once the first is stored the refused one goes through.
#[test]
fn c_stores_beyond_the_shared_memory_budget_wait_their_turn() {
    let (dir, server) = archive(Some(
        "[ingest]\nmax_instance_size = 2097152\nmemory_budget_mb = 3\n",
    ));
    // Two slices of about 1.85 MB: the budget holds one, never two.
    let slice = |seed: u64| {
        let spec = CtSpec::chest(dicom_samples::Patient::ivanov_iso_ir_144(), seed)
            .with_slices(1)
            .with_matrix(960, 960);
        let files = dicom_samples::write_ct_series(
            &spec,
            &dir.path().join(seed.to_string()),
            SampleTransferSyntax::ExplicitVrLittleEndian,
        )
        .expect("slice written");
        (spec, files)
    };
    let (held, held_files) = slice(41);
    let (waiting, waiting_files) = slice(42);

    // The first association sends all of its data set but the end.
    let data_set = data_set_of_file(&std::fs::read(&held_files[0]).expect("file")).to_vec();
    let (most, end) = data_set.split_at(data_set.len() - 1000);
    let mut peer = RawPeer::associate(&server, "HOLDING");
    peer.send_store_command(&held.sop_instance_uid(0));
    for chunk in most.chunks(256 * 1024) {
        peer.send_pdv(PC_CT, false, false, chunk);
    }
    // A C-ECHO on the same association is answered only once the server
    // has taken in every fragment sent before it.
    let mut echo = Command::new(CommandField::CEchoRq);
    echo.affected_sop_class_uid = Some(raw_peer::VERIFICATION.into());
    echo.message_id = Some(2);
    echo.command_data_set_type = dimse::command::NO_DATA_SET;
    peer.send_pdv(raw_peer::PC_VERIFICATION, true, true, &echo.encode());
    assert_eq!(response_status(&mut peer), SUCCESS, "the echo");

    // Meanwhile another modality sends a whole one: refused, and why.
    let done = storescu(&server, &["-R"], &waiting_files);
    let responses = store_responses(&done.text);
    assert_eq!(responses.len(), 1, "{}", done.text);
    assert_eq!(responses[0].status, 0xA700, "{}", done.text);
    assert!(done.text.contains("memory allows"), "{}", done.text);

    // The first completes and is stored; then the second gets through.
    peer.send_pdv(PC_CT, false, true, end);
    assert_eq!(response_status(&mut peer), SUCCESS, "the held C-STORE");
    let done = storescu(&server, &["-R"], &waiting_files);
    assert_all(&done, 1, SUCCESS);
    for spec in [&held, &waiting] {
        assert_eq!(
            study_instance_count(&server, &spec.study.study_uid),
            Some(1)
        );
    }
    let stored = retrieve(
        &server,
        &held.study.study_uid,
        &held.series_uid,
        &held.sop_instance_uid(0),
    );
    assert!(
        data_set_of_file(&stored.body) == data_set.as_slice(),
        "stored byte for byte"
    );
}

/// The status of the next DIMSE response on `peer` (one PDU, one PDV).
fn response_status(peer: &mut RawPeer) -> u16 {
    match peer.receive(Duration::from_secs(30)) {
        raw_peer::Answer::Pdu(raw_peer::P_DATA_TF, body) => {
            let command = Command::decode(&body[6..]).expect("a command");
            command.status.expect("a status").0
        }
        other => panic!("expected a response, got {other:?}"),
    }
}
