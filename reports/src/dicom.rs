//! The report's PDF as a DICOM Encapsulated PDF instance (PS3.3 A.45.1),
//! filed in the imaging study it reports on, so that any viewer or PACS
//! that shows the images shows the report beside them.

use dicom_core::value::{C, DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, InMemDicomObject};

use crate::ReportError;
use crate::format::{Civil, parse_da, parse_tm};
use crate::labels::labels;
use crate::model::{NewUids, ReportDocument, UnixMillis};

/// Encapsulated PDF Storage SOP Class.
pub const ENCAPSULATED_PDF_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.104.1";
const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
/// Identifies this writer in the file meta group.
const IMPLEMENTATION_CLASS_UID: &str = "2.25.119583081529320837069416468991684416052";
const IMPLEMENTATION_VERSION_NAME: &str = "PACS_REPORTS_1";
/// Far above the modality's series numbers, so the report sorts last.
const SERIES_NUMBER: i32 = 9999;

/// Builds the Encapsulated PDF instance for `pdf`, the bytes [`crate::pdf`]
/// produced for `doc`.
///
/// The instance joins the study (same Study Instance UID, patient copied
/// from `doc`) in a series of its own (`ids.series_uid`, modality DOC).
/// Its Instance Number is the report's latest version, so a report
/// re-issued after an addendum is told apart from the one it replaces.
/// Content Date and Time are `now` at the site's offset from UTC.
pub fn encapsulated_pdf(
    doc: &ReportDocument,
    pdf: &[u8],
    ids: &NewUids,
    now: UnixMillis,
) -> Result<FileDicomObject<InMemDicomObject>, ReportError> {
    doc.validate()?;
    if !pdf.starts_with(b"%PDF-") {
        return Err(ReportError::NotPdf);
    }
    for (what, uid) in [
        ("Study Instance UID", doc.study_uid.as_str()),
        ("Series Instance UID", ids.series_uid.as_str()),
        ("SOP Instance UID", ids.sop_uid.as_str()),
    ] {
        if !is_valid_uid(uid) {
            return Err(ReportError::InvalidUid {
                what,
                uid: uid.to_string(),
            });
        }
    }
    let created = Civil::at(now, doc.utc_offset_minutes);
    let last = doc.last_signed().ok_or(ReportError::NotSigned)?;
    let signed = Civil::at(last.signed_at, doc.utc_offset_minutes);
    let l = labels(doc.language);

    let mut obj = InMemDicomObject::new_empty();

    // SOP Common
    put(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        ENCAPSULATED_PDF_STORAGE,
    );
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, &ids.sop_uid);
    put(
        &mut obj,
        tags::INSTANCE_CREATION_DATE,
        VR::DA,
        &created.dicom_date(),
    );
    put(
        &mut obj,
        tags::INSTANCE_CREATION_TIME,
        VR::TM,
        &created.dicom_time(),
    );
    put(
        &mut obj,
        tags::TIMEZONE_OFFSET_FROM_UTC,
        VR::SH,
        &created.dicom_offset(),
    );

    // Patient
    put(
        &mut obj,
        tags::PATIENT_NAME,
        VR::PN,
        doc.patient_name.trim(),
    );
    put(&mut obj, tags::PATIENT_ID, VR::LO, doc.patient_id.trim());
    let birth = doc
        .patient_birth_date
        .as_deref()
        .filter(|d| parse_da(d).is_some())
        .unwrap_or("");
    put(&mut obj, tags::PATIENT_BIRTH_DATE, VR::DA, birth.trim());
    let sex = doc
        .patient_sex
        .as_deref()
        .map(str::trim)
        .filter(|s| matches!(*s, "M" | "F" | "O"))
        .unwrap_or("");
    put(&mut obj, tags::PATIENT_SEX, VR::CS, sex);

    // General Study
    put(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, &doc.study_uid);
    let study_date = doc
        .study_date
        .as_deref()
        .filter(|d| parse_da(d).is_some())
        .unwrap_or("");
    put(&mut obj, tags::STUDY_DATE, VR::DA, study_date.trim());
    let study_time = doc
        .study_time
        .as_deref()
        .filter(|t| parse_tm(t).is_some())
        .unwrap_or("");
    put(&mut obj, tags::STUDY_TIME, VR::TM, study_time.trim());
    put(
        &mut obj,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        doc.referring_physician.as_deref().unwrap_or("").trim(),
    );
    put(&mut obj, tags::STUDY_ID, VR::SH, "");
    put(
        &mut obj,
        tags::ACCESSION_NUMBER,
        VR::SH,
        &truncate(doc.accession_number.as_deref().unwrap_or(""), 16),
    );
    if let Some(d) = doc
        .study_description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        put(&mut obj, tags::STUDY_DESCRIPTION, VR::LO, &truncate(d, 64));
    }

    // Encapsulated Document Series
    put(&mut obj, tags::MODALITY, VR::CS, "DOC");
    put(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, &ids.series_uid);
    put(
        &mut obj,
        tags::SERIES_NUMBER,
        VR::IS,
        &SERIES_NUMBER.to_string(),
    );
    put(
        &mut obj,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        "Radiology report",
    );

    // General Equipment and SC Equipment
    put(&mut obj, tags::MANUFACTURER, VR::LO, "");
    if let Some(name) = doc
        .institution_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        put(
            &mut obj,
            tags::INSTITUTION_NAME,
            VR::LO,
            &truncate(name, 64),
        );
    }
    put(&mut obj, tags::CONVERSION_TYPE, VR::CS, "WSD");

    // Encapsulated Document
    put(
        &mut obj,
        tags::INSTANCE_NUMBER,
        VR::IS,
        &last.version.to_string(),
    );
    put(&mut obj, tags::CONTENT_DATE, VR::DA, &created.dicom_date());
    put(&mut obj, tags::CONTENT_TIME, VR::TM, &created.dicom_time());
    put(
        &mut obj,
        tags::ACQUISITION_DATE_TIME,
        VR::DT,
        &format!(
            "{}{}{}",
            signed.dicom_date(),
            signed.dicom_time(),
            signed.dicom_offset()
        ),
    );
    // The PDF shows the patient's name and ID on every page.
    put(&mut obj, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    put(&mut obj, tags::RECOGNIZABLE_VISUAL_FEATURES, VR::CS, "NO");
    let title = match doc.study_description.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => format!("{}: {d}", l.report_title),
        _ => l.report_title.to_string(),
    };
    put(&mut obj, tags::DOCUMENT_TITLE, VR::ST, &title);
    put(
        &mut obj,
        tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        VR::LO,
        "application/pdf",
    );

    let code = InMemDicomObject::from_element_iter([
        DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from("18748-4")),
        DataElement::new(
            tags::CODING_SCHEME_DESIGNATOR,
            VR::SH,
            PrimitiveValue::from("LN"),
        ),
        DataElement::new(
            tags::CODE_MEANING,
            VR::LO,
            PrimitiveValue::from("Diagnostic imaging study"),
        ),
    ]);
    obj.put(DataElement::new(
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![code]),
    ));

    // The value must have even length: pad with one NUL, and record the
    // true length so that readers can strip it.
    let length = u32::try_from(pdf.len())
        .map_err(|_| ReportError::Dicom(format!("a PDF of {} bytes is too large", pdf.len())))?;
    let mut document = pdf.to_vec();
    if document.len() % 2 == 1 {
        document.push(0);
    }
    obj.put(DataElement::new(
        tags::ENCAPSULATED_DOCUMENT_LENGTH,
        VR::UL,
        PrimitiveValue::from(length),
    ));
    obj.put(DataElement::new(
        tags::ENCAPSULATED_DOCUMENT,
        VR::OB,
        PrimitiveValue::U8(C::from_vec(document)),
    ));

    if needs_utf8(&obj) {
        obj.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from("ISO_IR 192"),
        ));
    }

    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(ENCAPSULATED_PDF_STORAGE)
        .media_storage_sop_instance_uid(&ids.sop_uid)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    obj.with_meta(meta)
        .map_err(|e| ReportError::Dicom(e.to_string()))
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// The instance as a Part 10 file (preamble, `DICM`, file meta group,
/// Explicit VR Little Endian data set), ready for the archive's ingest.
pub fn to_part10_bytes(obj: &FileDicomObject<InMemDicomObject>) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    obj.write_all(&mut out)
        .map_err(|e| ReportError::Dicom(e.to_string()))?;
    Ok(out)
}

/// Whether any text value goes beyond the default repertoire (ASCII), in
/// which case the data set must declare UTF-8.
fn needs_utf8(obj: &InMemDicomObject) -> bool {
    obj.iter()
        .any(|e| e.vr() != VR::OB && e.to_str().is_ok_and(|s| !s.is_ascii()))
}

/// `s` trimmed and cut to at most `max` bytes at a character boundary.
/// PS3.5 counts a VR's limit (SH 16, LO 64) in characters, but validators
/// and many readers count bytes, and UTF-8 Cyrillic takes two per
/// character; fitting in bytes satisfies both.
fn truncate(s: &str, max: usize) -> String {
    let s = s.trim();
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].trim_end().to_string()
}

/// A UID as PS3.5 9.1 allows: at most 64 characters, dot-separated numeric
/// components without leading zeros.
fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids() {
        assert!(is_valid_uid("1.2.840.10008.5.1.4.1.1.104.1"));
        assert!(is_valid_uid(IMPLEMENTATION_CLASS_UID));
        assert!(is_valid_uid("1.0.2"));
        assert!(!is_valid_uid(""));
        assert!(!is_valid_uid("1..2"));
        assert!(!is_valid_uid("1.02"));
        assert!(!is_valid_uid("1.2."));
        assert!(!is_valid_uid("1.2.a"));
        assert!(!is_valid_uid(&format!("1.{}", "2".repeat(63))));
    }

    #[test]
    fn truncation_counts_bytes_and_keeps_characters_whole() {
        assert_eq!(truncate("  Иванов Иван  ", 12), "Иванов");
        assert_eq!(truncate("Иванов", 5), "Ив");
        assert_eq!(truncate("A123", 16), "A123");
        assert_eq!(truncate("abc def", 4), "abc");
    }
}
