//! C-GET transfer syntaxes against the real `pacs serve`, with pynetdicom
//! as the retrieving peer: a peer that proposes a lossy syntax beside a
//! lossless one gets the instances without loss, and one that takes only
//! a lossy syntax gets a failed sub-operation, never a lossy copy under
//! the original's UID (PS3.3 C.7.6.1.1.5).

mod common;
#[path = "common/qr_archive.rs"]
mod qr_archive;
#[path = "common/scu.rs"]
mod scu;

use dicom_dictionary_std::{tags, uids};
use dicom_object::OpenFileOptions;
use qr_archive::{archive, files_by_sop, pynetdicom};
use serde_json::Value;

/// A C-GET of Karimov's CT series proposing `syntaxes` (in order, one
/// context): what arrived, then the responses.
fn get_series(
    server: &common::Server,
    karimov: &dicom_samples::CtSpec,
    syntaxes: &str,
) -> (Vec<Value>, Vec<Value>) {
    let args = [
        "study",
        "SERIES",
        syntaxes,
        &format!("StudyInstanceUID={}", karimov.study.study_uid),
        &format!("SeriesInstanceUID={}", karimov.series_uid),
    ];
    let env = [("CANCEL_AFTER_FIRST", "0"), ("NO_ROLE", "0")];
    pynetdicom(server, "get.py", &args, &env)
        .into_iter()
        .partition(|l| l.get("stored").is_some())
}

#[test]
fn a_retrieving_peer_never_gets_a_lossy_copy() {
    let (dir, server, _ivanov, karimov) = archive();
    let originals = files_by_sop(&dir.path().join("karimov"));
    let pixels_of = |sop: &str| {
        let original = OpenFileOptions::new()
            .from_reader(&originals[sop][..])
            .expect("original readable");
        common::sha256(
            &original
                .element(tags::PIXEL_DATA)
                .expect("pixel data")
                .to_bytes()
                .expect("pixel bytes"),
        )
    };

    // JPEG Baseline (8 bits, lossy) proposed before explicit VR little
    // endian for 12-bit CT: the lossless one is accepted, the pixels
    // arrive as stored.
    for lossy in [
        uids::JPEG_BASELINE8_BIT,
        uids::JPEG_EXTENDED12_BIT,
        uids::JPEG2000,
    ] {
        let (stored, responses) = get_series(&server, &karimov, &format!("{lossy},explicit"));
        assert_eq!(stored.len(), 2, "{lossy}: {stored:?} {responses:?}");
        for s in &stored {
            assert_eq!(
                s["transfer_syntax"],
                uids::EXPLICIT_VR_LITTLE_ENDIAN,
                "{lossy}"
            );
            let sop = s["stored"].as_str().expect("uid");
            assert_eq!(s["pixel_sha256"], pixels_of(sop), "{lossy}: {sop}");
        }
        let last = responses.last().expect("a final response");
        assert_eq!(last["status"], "0x0000", "{lossy}: {responses:?}");
        assert_eq!(last["completed"], 2);
    }

    // Only JPEG Baseline: nothing is sent, each instance a failed
    // sub-operation, and the log says why.
    let (stored, responses) = get_series(&server, &karimov, uids::JPEG_BASELINE8_BIT);
    assert!(stored.is_empty(), "{stored:?}");
    let last = responses.last().expect("a final response");
    assert_eq!(last["status"], "0xA702", "{responses:?}");
    assert_eq!(last["failed"], 2, "{responses:?}");
    let log = server.log_text();
    assert_eq!(
        log.matches("would lose image information").count(),
        2,
        "{log}"
    );
    server.stop();
}
