//! The Encapsulated PDF instance as dcmtk and dicom3tools read it, and as
//! dicom-rs reads it back.

mod common;

use std::process::Command;

use common::*;
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject, OpenFileOptions};
use reports::{
    ENCAPSULATED_PDF_STORAGE, Lang, NewUids, ReportError, encapsulated_pdf, pdf, to_part10_bytes,
};

const SERIES_UID: &str = "1.2.826.0.1.3680043.8.498.1234567890.9999";
const SOP_UID: &str = "1.2.826.0.1.3680043.8.498.1234567890.9999.1";
/// 2026-03-01T10:10:00Z.
const NOW: i64 = 1_772_359_800_000;

fn ids() -> NewUids {
    NewUids {
        series_uid: SERIES_UID.into(),
        sop_uid: SOP_UID.into(),
    }
}

fn read_back(bytes: &[u8]) -> FileDicomObject<InMemDicomObject> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("report.dcm");
    std::fs::write(&file, bytes).expect("write");
    OpenFileOptions::new().open_file(&file).expect("read back")
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .unwrap_or_else(|_| panic!("{tag} missing"))
        .to_str()
        .expect("text")
        .trim_end_matches(['\0', ' '])
        .to_string()
}

#[test]
fn encapsulated_pdf_keeps_the_document_and_the_study() {
    let doc = russian_report();
    let pdf_bytes = pdf(&doc).expect("pdf");
    let obj = encapsulated_pdf(&doc, &pdf_bytes, &ids(), NOW).expect("instance");
    let bytes = to_part10_bytes(&obj).expect("part 10");
    assert_eq!(&bytes[128..132], b"DICM");

    let back = read_back(&bytes);
    assert_eq!(
        back.meta().transfer_syntax().trim_end_matches('\0'),
        "1.2.840.10008.1.2.1"
    );
    assert_eq!(
        back.meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0'),
        ENCAPSULATED_PDF_STORAGE
    );
    let ds: &InMemDicomObject = &back;
    let embedded = ds
        .element(tags::ENCAPSULATED_DOCUMENT)
        .expect("document")
        .to_bytes()
        .expect("bytes")
        .to_vec();
    assert_eq!(embedded.len() % 2, 0);
    let unpadded = if embedded.len() == pdf_bytes.len() + 1 {
        assert_eq!(embedded.last(), Some(&0));
        &embedded[..pdf_bytes.len()]
    } else {
        &embedded[..]
    };
    assert_eq!(unpadded, &pdf_bytes[..]);
    let length: u32 = ds
        .element(tags::ENCAPSULATED_DOCUMENT_LENGTH)
        .expect("length")
        .to_int()
        .expect("int");
    assert_eq!(length as usize, pdf_bytes.len());

    for (tag, expected) in [
        (tags::SOP_CLASS_UID, ENCAPSULATED_PDF_STORAGE),
        (tags::SOP_INSTANCE_UID, SOP_UID),
        (tags::STUDY_INSTANCE_UID, STUDY_UID),
        (tags::SERIES_INSTANCE_UID, SERIES_UID),
        (tags::SPECIFIC_CHARACTER_SET, "ISO_IR 192"),
        (tags::PATIENT_NAME, "Иванов^Иван^Петрович"),
        (tags::PATIENT_ID, "P-000123"),
        (tags::PATIENT_BIRTH_DATE, "19650412"),
        (tags::PATIENT_SEX, "M"),
        (tags::STUDY_DATE, "20260301"),
        (tags::STUDY_TIME, "084512"),
        (tags::ACCESSION_NUMBER, "A2026-0042"),
        (tags::REFERRING_PHYSICIAN_NAME, "Karimova^Oʻgʻiloy"),
        (tags::MODALITY, "DOC"),
        (tags::SERIES_NUMBER, "9999"),
        (tags::SERIES_DESCRIPTION, "Radiology report"),
        (tags::INSTANCE_NUMBER, "2"),
        (tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT, "application/pdf"),
        (tags::BURNED_IN_ANNOTATION, "YES"),
        (
            tags::DOCUMENT_TITLE,
            "Протокол лучевого исследования: КТ органов грудной клетки",
        ),
        // Tashkent time of NOW.
        (tags::CONTENT_DATE, "20260301"),
        (tags::CONTENT_TIME, "151000"),
        (tags::TIMEZONE_OFFSET_FROM_UTC, "+0500"),
        (tags::ACQUISITION_DATE_TIME, "20260301150507+0500"),
    ] {
        assert_eq!(text(ds, tag), expected, "{tag}");
    }
    // LO holds 64 bytes: the long Cyrillic name is cut at a character.
    let institution = text(ds, tags::INSTITUTION_NAME);
    assert!(institution.len() <= 64, "{institution}");
    assert!(institution.starts_with("Республиканский диагностический"));

    let concept = ds
        .element(tags::CONCEPT_NAME_CODE_SEQUENCE)
        .expect("concept name")
        .items()
        .expect("sequence");
    assert_eq!(concept.len(), 1);
    assert_eq!(text(&concept[0], tags::CODE_VALUE), "18748-4");
    assert_eq!(text(&concept[0], tags::CODING_SCHEME_DESIGNATOR), "LN");
    assert_eq!(
        text(&concept[0], tags::CODE_MEANING),
        "Diagnostic imaging study"
    );
}

#[test]
fn dcmtk_and_dicom3tools_accept_the_instance() {
    let Some(dcmdump) = tool("dcmdump", "dcmtk") else {
        return;
    };
    let doc = russian_report();
    let pdf_bytes = pdf(&doc).expect("pdf");
    let obj = encapsulated_pdf(&doc, &pdf_bytes, &ids(), NOW).expect("instance");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("report.dcm");
    std::fs::write(&file, to_part10_bytes(&obj).expect("part 10")).expect("write");

    let out = Command::new(&dcmdump)
        .arg("+U8")
        .arg(&file)
        .output()
        .expect("dcmdump");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dcmdump failed: {stderr}");
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(
            !line.starts_with("W:") && !line.starts_with("E:"),
            "dcmdump: {line}"
        );
    }
    assert!(
        stdout.contains("(0042,0012) LO [application/pdf]"),
        "{stdout}"
    );
    assert!(stdout.contains("Иванов^Иван^Петрович"), "{stdout}");

    // dicom3tools checks the instance against the Encapsulated PDF IOD.
    let Some(dciodvfy) = tool("dciodvfy", "dicom3tools") else {
        return;
    };
    let out = Command::new(&dciodvfy)
        .arg("-new")
        .arg(&file)
        .output()
        .expect("dciodvfy");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Study ID is type 2 and the report does not know the modality's:
    // empty is valid, and only a DICOMDIR would want it.
    let problems: Vec<_> = report
        .lines()
        .filter(|l| l.starts_with("Error") || l.starts_with("Warning"))
        .filter(|l| !(l.contains("StudyID(0020,0010)") && l.contains("DICOMDIR")))
        .collect();
    assert!(problems.is_empty(), "dciodvfy:\n{report}");
    assert!(report.contains("EncapsulatedPDF"), "{report}");
}

#[test]
fn an_ascii_report_declares_no_character_set() {
    let mut doc = russian_report();
    doc.language = Lang::En;
    doc.patient_name = "Smith^John".into();
    doc.referring_physician = Some("Brown^Anna".into());
    doc.institution_name = Some("City Hospital".into());
    doc.study_description = Some("CT chest".into());
    let obj = encapsulated_pdf(&doc, b"%PDF-1.7 tiny", &ids(), NOW).expect("instance");
    assert!(obj.element(tags::SPECIFIC_CHARACTER_SET).is_err());
    assert_eq!(
        text(&obj, tags::DOCUMENT_TITLE),
        "Radiology report: CT chest"
    );
    // An odd-length document gets one pad byte.
    let back = read_back(&to_part10_bytes(&obj).expect("part 10"));
    let embedded = back
        .element(tags::ENCAPSULATED_DOCUMENT)
        .expect("document")
        .to_bytes()
        .expect("bytes")
        .to_vec();
    assert_eq!(embedded, b"%PDF-1.7 tiny\0");
}

#[test]
fn bad_identifiers_and_documents_are_refused() {
    let doc = russian_report();
    let bad = NewUids {
        series_uid: "1.2.03".into(),
        sop_uid: SOP_UID.into(),
    };
    let err = encapsulated_pdf(&doc, b"%PDF-1.7", &bad, NOW).expect_err("bad UID");
    assert!(
        matches!(
            err,
            ReportError::InvalidUid {
                what: "Series Instance UID",
                ..
            }
        ),
        "{err}"
    );
    let err = encapsulated_pdf(&doc, b"<html>", &ids(), NOW).expect_err("not a PDF");
    assert!(matches!(err, ReportError::NotPdf), "{err}");
    let mut unsigned = doc;
    unsigned.versions.clear();
    assert!(encapsulated_pdf(&unsigned, b"%PDF-1.7", &ids(), NOW).is_err());
}
