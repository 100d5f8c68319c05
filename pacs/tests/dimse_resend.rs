//! An instance sent again in another transfer syntax, through dcmtk:
//! re-encoded by dcmconv, compressed losslessly by dcmcjpls, dcmcrle and
//! dcmcjpeg, it holds what is stored and is acknowledged as a duplicate;
//! compressed lossily, or with one attribute changed, it is other content
//! and refused. The stored object never changes.

mod common;
#[path = "common/readback.rs"]
mod readback;
#[path = "common/scu.rs"]
mod scu;

use std::path::{Path, PathBuf};

use common::{Server, ct_files, sha256};
use dicom_samples::SampleTransferSyntax;
use readback::{retrieve, study_instance_count, transfer_syntax_of};
use scu::{store_responses, storescu};

const SUCCESS: u16 = 0x0000;
const DUPLICATE_WITH_DIFFERENT_CONTENT: u16 = 0x0111;
const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";

/// Runs a dcmtk tool making `out` from `input`.
fn convert(tool: &str, args: &[&str], input: &Path, out: PathBuf) -> PathBuf {
    let mut all: Vec<&str> = args.to_vec();
    all.extend([input.to_str().expect("path"), out.to_str().expect("path")]);
    let done = common::dcmtk(tool, &all);
    assert!(
        done.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    out
}

/// The one status storescu got for sending `file` with `extra` options.
fn status_of_sending(server: &Server, extra: &[&str], file: &Path) -> (u16, String) {
    let done = storescu(server, extra, &[file.to_path_buf()]);
    let responses = store_responses(&done.text);
    assert_eq!(responses.len(), 1, "one response expected:\n{}", done.text);
    (responses[0].status, done.text)
}

#[test]
fn an_instance_sent_again_in_another_syntax_is_a_duplicate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = ct_files(
        &dir.path().join("source"),
        1,
        57,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    // What modalities add and encodings treat differently: a sequence
    // (its lengths are written anew by each encoder) and a private
    // element, which has its VR in explicit VR and none in implicit VR.
    let original = files[0].clone();
    scu::dcmodify(
        &original,
        &[
            "-i",
            "(0008,1140)[0].(0008,1150)=1.2.840.10008.5.1.4.1.1.2",
            "-i",
            "(0008,1140)[0].(0008,1155)=1.2.826.0.1.3680043.2.1143.7",
            "-i",
            "(0029,0010)=SIEMENS CSA HEADER",
            "-i",
            "(0029,1008)=IMAGE NUM 4",
        ],
    );
    let (status, text) = status_of_sending(&server, &["-xe"], &original);
    assert_eq!(status, SUCCESS, "first store:\n{text}");
    let (study, series) = (spec.study.study_uid.clone(), spec.series_uid.clone());
    let sop = spec.sop_instance_uid(0);
    let stored = retrieve(&server, &study, &series, &sop);
    assert_eq!(transfer_syntax_of(&stored), EXPLICIT_VR_LITTLE_ENDIAN);
    let stored_digest = sha256(&stored.body);

    let variants = dir.path().join("variants");
    std::fs::create_dir_all(&variants).expect("dir");
    let out = |name: &str| variants.join(name);
    // Each proposed first in the syntax it is in (-xt JPEG-LS lossless,
    // -xr RLE, -xs JPEG lossless SV1, -xx JPEG extended); -xi and -xb
    // have storescu convert the original as it sends.
    let same_content = [
        ("implicit VR", vec!["-xi"], original.clone()),
        (
            "explicit VR big endian",
            vec!["-xb"],
            convert("dcmconv", &["+tb"], &original, out("big.dcm")),
        ),
        (
            "JPEG-LS lossless",
            vec!["-xt"],
            convert("dcmcjpls", &["+el"], &original, out("jls.dcm")),
        ),
        (
            "RLE",
            vec!["-xr"],
            convert("dcmcrle", &[], &original, out("rle.dcm")),
        ),
        (
            "JPEG lossless",
            vec!["-xs"],
            convert("dcmcjpeg", &["+e1"], &original, out("jpeg.dcm")),
        ),
    ];
    for (what, extra, file) in &same_content {
        let (status, text) = status_of_sending(&server, extra, file);
        assert_eq!(
            status, SUCCESS,
            "the instance again as {what} holds what is stored:\n{text}"
        );
    }

    let renamed = convert("dcmconv", &["+ti"], &original, out("renamed.dcm"));
    scu::dcmodify(&renamed, &["-m", "(0010,0010)=Other^Name"]);
    let other_content = [
        (
            "JPEG extended (lossy)",
            &["-xx"][..],
            convert("dcmcjpeg", &["+ee", "+un"], &original, out("lossy.dcm")),
        ),
        ("implicit VR with another patient name", &["-xi"], renamed),
    ];
    for (what, propose, file) in &other_content {
        let (status, text) = status_of_sending(&server, propose, file);
        assert_eq!(
            status, DUPLICATE_WITH_DIFFERENT_CONTENT,
            "{what} is other content under a stored SOP Instance UID:\n{text}"
        );
    }

    let after = retrieve(&server, &study, &series, &sop);
    assert_eq!(
        sha256(&after.body),
        stored_digest,
        "the stored object is the first one, unchanged"
    );
    assert_eq!(study_instance_count(&server, &study), Some(1));
    let objects = scu::files_below(&server.data_dir.join("objects"));
    assert_eq!(objects.len(), 1, "one object kept: {objects:?}");
}
