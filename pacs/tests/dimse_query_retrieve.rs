//! Query/retrieve against the real `pacs serve`: dcmtk's `findscu` and
//! pynetdicom query patients, studies, series and images of studies stored
//! with `storescu`, a hand-written peer cancels a query, and dcmtk's
//! `getscu` and pynetdicom retrieve studies with C-GET. C-MOVE is in
//! `dimse_move.rs`.

mod common;
#[path = "common/qr_archive.rs"]
mod qr_archive;
#[path = "common/raw_peer.rs"]
mod raw_peer;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{AE_TITLE, Server};
use dicom_dictionary_std::tags;
use dicom_object::{OpenFileOptions, mem::InMemDicomObject};
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, XrayKind, XraySpec, write_xray};
use dimse::command::{Command as DimseCommand, CommandField, DATA_SET_PRESENT};
use qr_archive::{archive, files_by_sop, pynetdicom, text};
use raw_peer::{Answer, P_DATA_TF, PC_FIND, RawPeer, STUDY_ROOT_FIND, p_data};
use scu::{TOOL_LIMIT, data_set_of_file, run, storescu};

const FINDSCU: &str = "/usr/bin/findscu";
const GETSCU: &str = "/usr/bin/getscu";
const DCMCJPEG: &str = "/usr/bin/dcmcjpeg";

/// Runs `findscu` (`-S` Study Root or `-P` Patient Root) with `keys`,
/// extracting each response identifier into `out`; returns them in order.
fn findscu(server: &Server, out: &Path, model: &str, keys: &[&str]) -> Vec<InMemDicomObject> {
    std::fs::create_dir_all(out).expect("output dir");
    let mut command = Command::new(FINDSCU);
    command
        .args([model, "-aet", "FINDSCU", "-aec", AE_TITLE, "-X", "-od"])
        .arg(out)
        .args(["-to", "30", "-ta", "30", "-td", "30"]);
    for key in keys {
        command.args(["-k", key]);
    }
    command.arg("127.0.0.1").arg(server.dicom_port());
    let done = run(command, TOOL_LIMIT);
    assert!(done.success(), "findscu failed:\n{}", done.text);
    let mut files: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("responses")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            OpenFileOptions::new()
                .open_file(f)
                .unwrap_or_else(|e| panic!("{f:?}: {e}"))
                .into_inner()
        })
        .collect()
}

#[test]
fn findscu_queries_every_level_of_both_models() {
    let (dir, server, ivanov, karimov) = archive();

    // Study Root, STUDY: a Cyrillic wildcard on the name; the archive
    // holds the name as ISO_IR 144 and answers in UTF-8.
    let studies = findscu(
        &server,
        &dir.path().join("studies"),
        "-S",
        &[
            "SpecificCharacterSet=ISO_IR 192",
            "QueryRetrieveLevel=STUDY",
            "PatientName=Иван*",
            "StudyInstanceUID",
            "NumberOfStudyRelatedInstances",
            "ModalitiesInStudy",
            "PatientAge",
            "InstitutionName",
        ],
    );
    assert_eq!(studies.len(), 1, "only Ivanov's study matches");
    let study = &studies[0];
    assert_eq!(text(study, tags::QUERY_RETRIEVE_LEVEL), "STUDY");
    assert_eq!(text(study, tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
    assert_eq!(text(study, tags::PATIENT_NAME), "Иванов^Иван^Петрович");
    assert_eq!(
        text(study, tags::STUDY_INSTANCE_UID),
        ivanov.study.study_uid
    );
    assert_eq!(text(study, tags::NUMBER_OF_STUDY_RELATED_INSTANCES), "3");
    assert_eq!(text(study, tags::MODALITIES_IN_STUDY), "CT");
    assert!(
        !text(study, tags::PATIENT_AGE).is_empty(),
        "an attribute without an index column comes from the stored metadata"
    );
    assert_eq!(text(study, tags::RETRIEVE_AE_TITLE), AE_TITLE);
    assert!(
        study.element(tags::ACCESSION_NUMBER).is_err(),
        "only the keys asked for come back"
    );

    // Universal matching: both studies.
    let all = findscu(
        &server,
        &dir.path().join("all"),
        "-S",
        &["QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientID"],
    );
    let mut uids: Vec<String> = all
        .iter()
        .map(|o| text(o, tags::STUDY_INSTANCE_UID))
        .collect();
    uids.sort();
    let mut expected = vec![
        ivanov.study.study_uid.clone(),
        karimov.study.study_uid.clone(),
    ];
    expected.sort();
    assert_eq!(uids, expected);

    // SERIES of one study.
    let series = findscu(
        &server,
        &dir.path().join("series"),
        "-S",
        &[
            "QueryRetrieveLevel=SERIES",
            &format!("StudyInstanceUID={}", karimov.study.study_uid),
            "SeriesInstanceUID",
            "Modality",
            "NumberOfSeriesRelatedInstances",
        ],
    );
    assert_eq!(series.len(), 1);
    assert_eq!(
        text(&series[0], tags::SERIES_INSTANCE_UID),
        karimov.series_uid
    );
    assert_eq!(text(&series[0], tags::MODALITY), "CT");
    assert_eq!(
        text(&series[0], tags::NUMBER_OF_SERIES_RELATED_INSTANCES),
        "2"
    );

    // IMAGE of one series, and a single instance by its number.
    let images = findscu(
        &server,
        &dir.path().join("images"),
        "-S",
        &[
            "QueryRetrieveLevel=IMAGE",
            &format!("StudyInstanceUID={}", ivanov.study.study_uid),
            &format!("SeriesInstanceUID={}", ivanov.series_uid),
            "SOPInstanceUID",
            "InstanceNumber",
        ],
    );
    let mut sops: Vec<String> = images
        .iter()
        .map(|o| text(o, tags::SOP_INSTANCE_UID))
        .collect();
    sops.sort();
    let mut expected: Vec<String> = (0..3).map(|i| ivanov.sop_instance_uid(i)).collect();
    expected.sort();
    assert_eq!(sops, expected);
    let second = findscu(
        &server,
        &dir.path().join("second"),
        "-S",
        &[
            "QueryRetrieveLevel=IMAGE",
            &format!("StudyInstanceUID={}", ivanov.study.study_uid),
            &format!("SeriesInstanceUID={}", ivanov.series_uid),
            "SOPInstanceUID",
            "InstanceNumber=2",
        ],
    );
    assert_eq!(second.len(), 1);
    assert_eq!(text(&second[0], tags::INSTANCE_NUMBER), "2");

    // Patient Root, PATIENT: one answer per patient with its totals.
    let patients = findscu(
        &server,
        &dir.path().join("patients"),
        "-P",
        &[
            "QueryRetrieveLevel=PATIENT",
            "PatientID",
            "PatientName",
            "NumberOfPatientRelatedStudies",
            "NumberOfPatientRelatedInstances",
        ],
    );
    assert_eq!(patients.len(), 2);
    let karimov_row = patients
        .iter()
        .find(|o| text(o, tags::PATIENT_ID) == karimov.patient.id)
        .expect("Karimov listed");
    assert_eq!(
        text(karimov_row, tags::NUMBER_OF_PATIENT_RELATED_STUDIES),
        "1"
    );
    assert_eq!(
        text(karimov_row, tags::NUMBER_OF_PATIENT_RELATED_INSTANCES),
        "2"
    );

    // Dates match as ranges: none of the studies is from 1990.
    let none = findscu(
        &server,
        &dir.path().join("none"),
        "-S",
        &["QueryRetrieveLevel=STUDY", "StudyDate=19900101-19901231"],
    );
    assert!(none.is_empty());
    server.stop();
}

/// pynetdicom's C-FIND: every response with its status, then the final one.
fn pynetdicom_find(
    server: &Server,
    model: &str,
    level: &str,
    keys: &[&str],
) -> Vec<serde_json::Value> {
    let args: Vec<&str> = [model, level]
        .into_iter()
        .chain(keys.iter().copied())
        .collect();
    pynetdicom(server, "find.py", &args, &[])
}

#[test]
fn pynetdicom_queries_and_bad_identifiers_get_failure_statuses() {
    let (_dir, server, ivanov, _karimov) = archive();
    let responses = pynetdicom_find(
        &server,
        "study",
        "SERIES",
        &[
            &format!("StudyInstanceUID={}", ivanov.study.study_uid),
            "SeriesInstanceUID=",
            "SeriesDescription=",
            "PatientName=",
        ],
    );
    let statuses: Vec<&str> = responses
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["0xFF00", "0x0000"], "{responses:?}");
    let series = &responses[0]["identifier"];
    assert_eq!(series["0020000E"]["Value"][0], ivanov.series_uid.as_str());
    assert_eq!(
        series["00100010"]["Value"][0]["Alphabetic"], "Иванов^Иван^Петрович",
        "{series}"
    );

    // PATIENT level is not part of the Study Root model.
    let refused = pynetdicom_find(&server, "study", "PATIENT", &["PatientID="]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["status"], "0xA900");
    // A date that is not a date.
    let refused = pynetdicom_find(&server, "study", "STUDY", &["StudyDate=yesterday"]);
    assert_eq!(refused[0]["status"], "0xA900");

    // The association served them all and the archive is unchanged.
    let again = pynetdicom_find(&server, "patient", "PATIENT", &["PatientID="]);
    assert_eq!(
        again.len(),
        3,
        "two patients and the final status: {again:?}"
    );
    server.stop();
}

/// A query cancelled before any match was sent: the C-CANCEL-RQ arrives
/// in the same write as the C-FIND-RQ, so the server has it before it
/// could send anything, and answers Cancel (FE00) with no pending
/// response; the association goes on serving, and a second cancel of the
/// same query, late, stops nothing.
#[test]
fn a_cancelled_query_ends_with_the_cancel_status() {
    let (_dir, server, _ivanov, _karimov) = archive();
    let mut peer = RawPeer::associate(&server, "RAWFIND");

    let mut find = DimseCommand::new(CommandField::CFindRq);
    find.affected_sop_class_uid = Some(STUDY_ROOT_FIND.into());
    find.message_id = Some(7);
    find.priority = Some(0);
    find.command_data_set_type = DATA_SET_PRESENT;
    let mut identifier = InMemDicomObject::new_empty();
    for (tag, vr, value) in [
        (tags::QUERY_RETRIEVE_LEVEL, dicom_core::VR::CS, "IMAGE"),
        (tags::SOP_INSTANCE_UID, dicom_core::VR::UI, ""),
    ] {
        identifier.put(dicom_core::DataElement::new(
            tag,
            vr,
            dicom_core::PrimitiveValue::from(value),
        ));
    }
    let identifier_bytes = pacs_core::find::write_identifier(&identifier, raw_peer::EXPLICIT_VR_LE)
        .expect("identifier encoded");
    let mut cancel = DimseCommand::new(CommandField::CCancelRq);
    cancel.message_id_being_responded_to = Some(7);

    let mut bytes = p_data(PC_FIND, true, true, &find.encode());
    bytes.extend(p_data(PC_FIND, false, true, &identifier_bytes));
    bytes.extend(p_data(PC_FIND, true, true, &cancel.encode()));
    peer.send(&bytes);

    let response = match peer.receive(Duration::from_secs(30)) {
        Answer::Pdu(P_DATA_TF, body) => DimseCommand::decode(&body[6..]).expect("a command"),
        other => panic!("no C-FIND response: {other:?}"),
    };
    assert_eq!(response.command_field, CommandField::CFindRsp);
    assert_eq!(response.message_id_being_responded_to, Some(7));
    assert_eq!(
        response.status,
        Some(dimse::Status::CANCEL),
        "the first answer is the final Cancel, not a match"
    );

    // Still associated: the same query gets all 5 images, though a late
    // cancel of the query already answered arrives while they are sent.
    let mut again = find.clone();
    again.message_id = Some(8);
    let mut bytes = p_data(PC_FIND, true, true, &again.encode());
    bytes.extend(p_data(PC_FIND, false, true, &identifier_bytes));
    bytes.extend(p_data(PC_FIND, true, true, &cancel.encode()));
    peer.send(&bytes);
    let mut pending = 0;
    loop {
        // Each pending response is a command PDU then an identifier PDU.
        let Answer::Pdu(P_DATA_TF, body) = peer.receive(Duration::from_secs(30)) else {
            panic!("the association ended");
        };
        // PDV item: length (4), context (1), control header (1), data.
        let command = body[5] & 1 == 1;
        if !command {
            continue;
        }
        let response = DimseCommand::decode(&body[6..]).expect("a command");
        match response.status {
            Some(dimse::Status::PENDING) => pending += 1,
            Some(dimse::Status::SUCCESS) => break,
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!(pending, 5);
    server.stop();
}

/// More matches than one page of the index: the query walks the pages
/// and answers each match exactly once.
#[test]
fn a_query_matching_many_pages_answers_each_match_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(&dir.path().join("data"), None, &[]);
    let spec = CtSpec::chest(Patient::karimov_ascii(), 31)
        .with_slices(1_205)
        .with_matrix(8, 8);
    let files = dicom_samples::write_ct_series(
        &spec,
        &dir.path().join("series"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("series written");
    let done = storescu(&server, &[], &files);
    assert!(done.success(), "storescu failed:\n{}", done.text);

    let answers = findscu(
        &server,
        &dir.path().join("answers"),
        "-S",
        &[
            "QueryRetrieveLevel=IMAGE",
            &format!("StudyInstanceUID={}", spec.study.study_uid),
            &format!("SeriesInstanceUID={}", spec.series_uid),
            "SOPInstanceUID",
        ],
    );
    let mut uids: Vec<String> = answers
        .iter()
        .map(|a| text(a, tags::SOP_INSTANCE_UID))
        .collect();
    uids.sort();
    uids.dedup();
    assert_eq!(answers.len(), 1_205, "one answer per instance");
    assert_eq!(uids.len(), 1_205, "no instance answered twice");
    server.stop();
}

#[test]
fn getscu_retrieves_a_study_bit_exact() {
    let (dir, server, ivanov, _karimov) = archive();
    let out = dir.path().join("retrieved");
    std::fs::create_dir_all(&out).expect("output dir");
    let mut command = Command::new(GETSCU);
    command
        .args(["-S", "-aet", "GETSCU", "-aec", AE_TITLE, "-od"])
        .arg(&out)
        .args(["-to", "30", "-ta", "30", "-td", "30"])
        .args(["-k", "QueryRetrieveLevel=STUDY"])
        .args([
            "-k",
            &format!("StudyInstanceUID={}", ivanov.study.study_uid),
        ])
        .arg("127.0.0.1")
        .arg(server.dicom_port());
    let done = run(command, TOOL_LIMIT);
    assert!(done.success(), "getscu failed:\n{}", done.text);

    let retrieved = files_by_sop(&out);
    let originals = files_by_sop(&dir.path().join("ivanov"));
    assert_eq!(
        retrieved.len(),
        3,
        "the study's three instances:\n{}",
        done.text
    );
    for (sop, bytes) in &retrieved {
        let original = originals
            .get(sop)
            .unwrap_or_else(|| panic!("{sop} was not sent"));
        assert!(
            data_set_of_file(bytes) == data_set_of_file(original),
            "{sop}: the retrieved data set differs from the one stored"
        );
    }
    server.stop();
}

/// pynetdicom's C-GET: what arrived, then the responses.
fn pynetdicom_get(
    server: &Server,
    level: &str,
    transfer_syntax: &str,
    keys: &[&str],
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    pynetdicom_get_with(server, level, transfer_syntax, keys, 0)
}

/// [`pynetdicom_get`], sending a C-CANCEL-RQ that names message `cancel`
/// while the first instance arrives (the C-GET is message 1; 0 sends
/// none).
fn pynetdicom_get_with(
    server: &Server,
    level: &str,
    transfer_syntax: &str,
    keys: &[&str],
    cancel: u16,
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let args: Vec<&str> = ["study", level, transfer_syntax]
        .into_iter()
        .chain(keys.iter().copied())
        .collect();
    let cancel = cancel.to_string();
    let env = [("CANCEL_AFTER_FIRST", cancel.as_str()), ("NO_ROLE", "0")];
    let lines = pynetdicom(server, "get.py", &args, &env);
    lines.into_iter().partition(|l| l.get("stored").is_some())
}

#[test]
fn pynetdicom_retrieves_in_the_syntax_it_accepts() {
    let (dir, server, ivanov, karimov) = archive();
    let originals = files_by_sop(&dir.path().join("karimov"));

    // Stored in explicit VR little endian, asked for in implicit only: the
    // archive converts, the pixels stay the same.
    let (stored, responses) = pynetdicom_get(
        &server,
        "SERIES",
        "implicit",
        &[
            &format!("StudyInstanceUID={}", karimov.study.study_uid),
            &format!("SeriesInstanceUID={}", karimov.series_uid),
        ],
    );
    assert_eq!(stored.len(), 2, "{stored:?} {responses:?}");
    for s in &stored {
        assert_eq!(s["transfer_syntax"], "1.2.840.10008.1.2");
        let sop = s["stored"].as_str().expect("uid");
        let original = OpenFileOptions::new()
            .from_reader(&originals[sop][..])
            .expect("original readable");
        let pixels = original
            .element(tags::PIXEL_DATA)
            .expect("pixel data")
            .to_bytes()
            .expect("pixel bytes");
        assert_eq!(s["pixel_sha256"], common::sha256(&pixels), "{sop}");
    }
    let last = responses.last().expect("a final response");
    assert_eq!(last["status"], "0x0000", "{responses:?}");
    assert_eq!(last["completed"], 2);
    assert_eq!(last["failed"], 0);
    let pending: Vec<_> = responses
        .iter()
        .filter(|r| r["status"] == "0xFF00")
        .collect();
    assert_eq!(
        pending.len(),
        1,
        "a pending response between the two: {responses:?}"
    );
    assert_eq!(pending[0]["remaining"], 1);

    // No unique key: refused rather than sending the whole archive.
    let (stored, responses) = pynetdicom_get(&server, "STUDY", "explicit", &["PatientName=*"]);
    assert!(stored.is_empty());
    assert_eq!(responses.last().expect("a response")["status"], "0xA900");

    // A study that is not here: nothing to send, success with no counts.
    let (stored, responses) = pynetdicom_get(
        &server,
        "STUDY",
        "explicit",
        &["StudyInstanceUID=1.2.826.0.1.3680043.10.1453.404"],
    );
    assert!(stored.is_empty());
    let last = responses.last().expect("a response");
    assert_eq!(last["status"], "0x0000");
    assert_eq!(last["completed"], 0);

    // Cancelled while the first of three instances arrives: that one is
    // completed, the other two are not sent.
    let (stored, responses) = pynetdicom_get_with(
        &server,
        "STUDY",
        "explicit",
        &[&format!("StudyInstanceUID={}", ivanov.study.study_uid)],
        1,
    );
    assert_eq!(stored.len(), 1, "{stored:?} {responses:?}");
    let last = responses.last().expect("a final response");
    assert_eq!(last["status"], "0xFE00", "{responses:?}");
    assert_eq!(last["completed"], 1);
    assert_eq!(last["remaining"], 2);
    // A cancel naming no operation in progress stops nothing.
    let (stored, responses) = pynetdicom_get_with(
        &server,
        "STUDY",
        "explicit",
        &[&format!("StudyInstanceUID={}", ivanov.study.study_uid)],
        9,
    );
    assert_eq!(stored.len(), 3, "{stored:?} {responses:?}");
    let last = responses.last().expect("a final response");
    assert_eq!(last["status"], "0x0000", "{responses:?}");
    assert_eq!(last["completed"], 3);

    // A CT context proposed without taking the SCP role for it: the
    // archive may not store to the peer there (PS3.4 C.4.3.1), so the
    // instances are failed sub-operations, none sent.
    let args = [
        "study",
        "STUDY",
        "explicit",
        &format!("StudyInstanceUID={}", karimov.study.study_uid),
    ];
    let lines = pynetdicom(
        &server,
        "get.py",
        &args,
        &[("CANCEL_AFTER_FIRST", "0"), ("NO_ROLE", "1")],
    );
    let (stored, responses): (Vec<_>, Vec<_>) =
        lines.into_iter().partition(|l| l.get("stored").is_some());
    assert!(stored.is_empty(), "{stored:?}");
    let last = responses.last().expect("a final response");
    assert_eq!(last["status"], "0xA702", "{responses:?}");
    assert_eq!(last["failed"], 2, "{responses:?}");
    assert_eq!(last["failed_uids"].as_array().map(Vec::len), Some(2));
    // Failed by the archive, not by the peer refusing what it was sent.
    let log = server.log_text();
    assert_eq!(log.matches("did not take the SCP role").count(), 2, "{log}");

    // The other patient's study, in the stored syntax.
    let (stored, _) = pynetdicom_get(
        &server,
        "STUDY",
        "explicit",
        &[&format!("StudyInstanceUID={}", ivanov.study.study_uid)],
    );
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .all(|s| s["patient_name"] == "Иванов^Иван^Петрович")
    );
    server.stop();
}

/// A 12-bit lossy JPEG (as older CR and CT send it), retrieved with C-GET
/// by a peer that accepts only explicit VR little endian: the archive
/// decodes it for the peer, to the samples its WADO-RS frames give.
#[test]
fn a_12_bit_lossy_jpeg_is_decoded_for_a_peer_that_cannot_take_it() {
    if !web::tool_or_skip(DCMCJPEG, "a_12_bit_lossy_jpeg_is_decoded") {
        return;
    }
    let (dir, server, _ivanov, karimov) = archive();
    let source = dir.path().join("source.dcm");
    let karimov_files = files_by_sop(&dir.path().join("karimov"));
    let first = karimov_files.values().next().expect("a file");
    std::fs::write(&source, first).expect("source written");
    let lossy_dir = dir.path().join("extended");
    std::fs::create_dir_all(&lossy_dir).expect("dir");
    let extended = lossy_dir.join("extended.dcm");
    let mut command = Command::new(DCMCJPEG);
    command.args(["+ee", "+sr"]).arg(&source).arg(&extended);
    let done = run(command, TOOL_LIMIT);
    assert!(done.success(), "dcmcjpeg failed:\n{}", done.text);
    let sop = files_by_sop(&lossy_dir)
        .into_keys()
        .next()
        .expect("its UID");
    let done = storescu(&server, &["-xx", "-R"], std::slice::from_ref(&extended));
    assert!(done.success(), "storescu failed:\n{}", done.text);

    let (stored, responses) = pynetdicom_get(
        &server,
        "IMAGE",
        "explicit",
        &[
            &format!("StudyInstanceUID={}", karimov.study.study_uid),
            &format!("SeriesInstanceUID={}", karimov.series_uid),
            &format!("SOPInstanceUID={sop}"),
        ],
    );
    assert_eq!(stored.len(), 1, "{stored:?} {responses:?}");
    assert_eq!(stored[0]["transfer_syntax"], "1.2.840.10008.1.2.1");
    let frame = web::get(
        &format!(
            "{}/studies/{}/series/{}/instances/{sop}/frames/1",
            server.base(),
            karimov.study.study_uid,
            karimov.series_uid
        ),
        Some(web::OCTET_STREAM),
    )
    .parts();
    assert_eq!(stored[0]["pixel_sha256"], common::sha256(&frame[0].body));
    server.stop();
}

#[test]
fn sequence_keys_return_matching_items_with_the_attributes_asked_for() {
    let (dir, server, _, _) = archive();
    let dx = XraySpec::chest(XrayKind::Dx, Patient::karimov_ascii(), 31).with_matrix(64, 48);
    let file = write_xray(
        &dx,
        &dir.path().join("dx"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("DX written");
    let coded = common::dcmtk(
        "dcmodify",
        &[
            "-nb",
            "-i",
            "(0008,1032)[0].(0008,0100)=CHESTPA",
            "-i",
            "(0008,1032)[0].(0008,0102)=LOCAL",
            file.to_str().expect("path"),
        ],
    );
    assert!(coded.status.success(), "dcmodify: {coded:?}");
    let done = storescu(&server, &[], &[file]);
    assert!(done.success(), "storescu failed:\n{}", done.text);
    let study = format!("StudyInstanceUID={}", dx.study.study_uid);

    // A study's own sequence decides a STUDY query's match; what belongs
    // to an image is no study's and comes back empty.
    for (code, answers) in [("CHESTPA", 1), ("NOPE", 0)] {
        let studies = findscu(
            &server,
            &dir.path().join(format!("study-{code}")),
            "-S",
            &[
                "QueryRetrieveLevel=STUDY",
                &study,
                &format!("ProcedureCodeSequence[0].CodeValue={code}"),
                "SOPInstanceUID",
                "Rows",
            ],
        );
        assert_eq!(studies.len(), answers, "{code}");
        if let Some(found) = studies.first() {
            let codes = found
                .element(tags::PROCEDURE_CODE_SEQUENCE)
                .expect("the sequence")
                .items()
                .expect("items")
                .to_vec();
            assert_eq!(codes.len(), 1);
            assert_eq!(text(&codes[0], tags::CODE_VALUE), "CHESTPA");
            for tag in [tags::SOP_INSTANCE_UID, tags::ROWS] {
                let empty = found.element(tag).expect("asked for").to_str();
                assert_eq!(empty.as_deref().unwrap_or(""), "", "{tag}");
            }
        }
    }

    // The view's meaning only, and the region with code 51185008 (the
    // chest) with its code only: not the coding scheme, not the meaning.
    let images = findscu(
        &server,
        &dir.path().join("chest"),
        "-S",
        &[
            "QueryRetrieveLevel=IMAGE",
            &study,
            "SOPInstanceUID",
            "ViewCodeSequence[0].CodeMeaning",
            "AnatomicRegionSequence[0].CodeValue=51185008",
        ],
    );
    assert_eq!(images.len(), 1);
    let items = |tag| {
        images[0]
            .element(tag)
            .unwrap_or_else(|_| panic!("{tag} missing"))
            .items()
            .expect("a sequence")
            .to_vec()
    };
    let view = items(tags::VIEW_CODE_SEQUENCE);
    assert_eq!(view.len(), 1);
    assert_eq!(text(&view[0], tags::CODE_MEANING), "postero-anterior");
    assert!(view[0].element(tags::CODE_VALUE).is_err(), "not asked for");
    let region = items(tags::ANATOMIC_REGION_SEQUENCE);
    assert_eq!(region.len(), 1);
    assert_eq!(text(&region[0], tags::CODE_VALUE), "51185008");
    assert!(region[0].element(tags::CODING_SCHEME_DESIGNATOR).is_err());
    assert!(region[0].element(tags::CODE_MEANING).is_err());

    // An item value no stored item has: no match.
    let none = findscu(
        &server,
        &dir.path().join("knee"),
        "-S",
        &[
            "QueryRetrieveLevel=IMAGE",
            &study,
            "SOPInstanceUID",
            "AnatomicRegionSequence[0].CodeValue=72696002",
        ],
    );
    assert!(none.is_empty(), "{} answered", none.len());
}
