use dicom_core::value::{C, DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, InMemDicomObject};

use super::*;

const SECRET: &[u8] = b"unit-test archive secret";

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn base() -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    put(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        uids::CT_IMAGE_STORAGE,
    );
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4.1");
    put(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3.4");
    put(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4.0");
    put(&mut obj, tags::PATIENT_ID, VR::LO, "P-1");
    put(&mut obj, tags::PATIENT_NAME, VR::PN, "Doe^Jane");
    obj
}

fn file(obj: InMemDicomObject) -> FileDicomObject<InMemDicomObject> {
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .source_application_entity_title("HOSPITAL_CT1"),
    )
    .unwrap()
}

fn run(obj: InMemDicomObject, dates: DateHandling) -> Deidentified {
    deidentify(&file(obj), &DeidConfig::new(SECRET, dates).unwrap()).unwrap()
}

fn text_of(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    obj.get(tag)
        .map(|e| e.to_str().unwrap().trim_end_matches(['\0', ' ']).to_owned())
}

#[test]
fn weak_secrets_are_refused_and_never_printed() {
    assert!(matches!(
        DeidConfig::new(b"short".to_vec(), DateHandling::Shift),
        Err(DeidError::WeakSecret { len: 5, min: 16 })
    ));
    let config = DeidConfig::new(SECRET, DateHandling::Keep).unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("unit-test"), "{shown}");
    assert!(shown.contains("24 bytes"), "{shown}");
}

#[test]
fn missing_identifying_uids_are_errors() {
    let mut obj = base();
    obj.remove_element(tags::SERIES_INSTANCE_UID);
    let config = DeidConfig::new(SECRET, DateHandling::Shift).unwrap();
    let err = deidentify(&file(obj), &config).unwrap_err();
    assert!(matches!(
        err,
        DeidError::MissingAttribute("Series Instance UID")
    ));
}

#[test]
fn private_curve_and_overlay_groups_are_removed_at_every_depth() {
    let mut obj = base();
    put(&mut obj, Tag(0x0009, 0x0010), VR::LO, "ACME 1.0");
    put(&mut obj, Tag(0x0009, 0x1001), VR::LO, "Jane Doe again");
    put(&mut obj, Tag(0x5000, 0x3000), VR::OW, "");
    obj.put(DataElement::new(
        Tag(0x6000, 0x0010),
        VR::US,
        PrimitiveValue::from(8_u16),
    ));
    put(&mut obj, Tag(0x6002, 0x4000), VR::LT, "Jane Doe");
    let mut item = InMemDicomObject::new_empty();
    put(&mut item, Tag(0x0011, 0x0010), VR::LO, "ACME 1.0");
    put(&mut item, Tag(0x0011, 0x1001), VR::LO, "Jane Doe");
    put(&mut item, tags::CODE_VALUE, VR::SH, "T-D3000");
    obj.put(DataElement::new(
        tags::ANATOMIC_REGION_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item]),
    ));

    let out = run(obj, DateHandling::Shift).object;
    for e in out.iter() {
        let group = e.tag().group();
        assert!(
            group % 2 == 0 && !(0x5000..=0x60FF).contains(&group),
            "{:?}",
            e.tag()
        );
    }
    let seq = out.get(tags::ANATOMIC_REGION_SEQUENCE).unwrap();
    let items = seq.items().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].iter().count(), 1);
    assert_eq!(
        text_of(&items[0], tags::CODE_VALUE).as_deref(),
        Some("T-D3000")
    );
}

#[test]
fn actions_are_applied_inside_sequences_too() {
    let mut item = InMemDicomObject::new_empty();
    put(
        &mut item,
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        uids::CT_IMAGE_STORAGE,
    );
    put(
        &mut item,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        "1.2.3.4.2",
    );
    put(
        &mut item,
        tags::INSTITUTION_NAME,
        VR::LO,
        "General Hospital",
    );
    put(&mut item, tags::OPERATORS_NAME, VR::PN, "Smith^John");
    put(&mut item, tags::STUDY_DATE, VR::DA, "20240301");
    put(&mut item, tags::PATIENT_ID, VR::LO, "OTHER-7");
    put(&mut item, tags::PATIENT_NAME, VR::PN, "Roe^Richard");
    let mut obj = base();
    obj.put(DataElement::new(
        tags::REFERENCED_IMAGE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item]),
    ));

    let done = run(obj, DateHandling::Shift);
    let items = done
        .object
        .get(tags::REFERENCED_IMAGE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap();
    let item = &items[0];
    assert_eq!(
        text_of(item, tags::REFERENCED_SOP_CLASS_UID).as_deref(),
        Some(uids::CT_IMAGE_STORAGE)
    );
    assert_eq!(
        text_of(item, tags::REFERENCED_SOP_INSTANCE_UID),
        Some(pseudonym_uid(SECRET, "1.2.3.4.2"))
    );
    // X/Z/D resolves to a dummy.
    assert_eq!(
        text_of(item, tags::INSTITUTION_NAME).as_deref(),
        Some(DUMMY_TEXT)
    );
    assert_eq!(
        text_of(item, tags::OPERATORS_NAME).as_deref(),
        Some(DUMMY_TEXT)
    );
    let expected = dates::shift_da("20240301", i64::from(done.patient.date_offset_days));
    assert_eq!(text_of(item, tags::STUDY_DATE), expected);
    assert_eq!(
        text_of(item, tags::PATIENT_ID),
        Some(PatientPseudonym::derive(SECRET, "OTHER-7").id)
    );
    assert_eq!(text_of(item, tags::PATIENT_NAME).as_deref(), Some(""));
}

#[test]
fn top_level_identity_and_method_attributes() {
    let done = run(base(), DateHandling::Shift);
    let obj = &done.object;
    let p = PatientPseudonym::derive(SECRET, "P-1");
    assert_eq!(done.patient, p);
    assert_eq!(text_of(obj, tags::PATIENT_ID), Some(p.id));
    assert_eq!(text_of(obj, tags::PATIENT_NAME), Some(p.name));
    assert_eq!(
        text_of(obj, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
        Some("YES")
    );
    assert_eq!(
        text_of(obj, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
        Some("MODIFIED")
    );
    let codes: Vec<_> = obj
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .iter()
        .map(|item| text_of(item, tags::CODE_VALUE).unwrap())
        .collect();
    assert_eq!(codes, ["113100", "113107"]);
    let methods = obj
        .get(tags::DEIDENTIFICATION_METHOD)
        .unwrap()
        .to_multi_str()
        .unwrap();
    assert!(methods.iter().all(|m| m.len() <= 64), "{methods:?}");
    assert_eq!(methods.len(), 2);
}

#[test]
fn each_date_handling_declares_itself() {
    for (dates, temporal, codes) in [
        (DateHandling::Remove, "REMOVED", vec!["113100"]),
        (DateHandling::Keep, "UNMODIFIED", vec!["113100", "113106"]),
        (DateHandling::Shift, "MODIFIED", vec!["113100", "113107"]),
    ] {
        let obj = run(base(), dates).object;
        assert_eq!(
            text_of(&obj, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
            Some(temporal)
        );
        let items = obj
            .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .unwrap();
        let got: Vec<_> = items
            .items()
            .unwrap()
            .iter()
            .map(|i| {
                assert_eq!(
                    text_of(i, tags::CODING_SCHEME_DESIGNATOR).as_deref(),
                    Some("DCM")
                );
                text_of(i, tags::CODE_VALUE).unwrap()
            })
            .collect();
        assert_eq!(got, codes);
    }
}

#[test]
fn dates_follow_the_chosen_handling() {
    let with_dates = || {
        let mut obj = base();
        put(&mut obj, tags::STUDY_DATE, VR::DA, "20240301");
        put(&mut obj, tags::STUDY_TIME, VR::TM, "081500");
        put(
            &mut obj,
            tags::ACQUISITION_DATE_TIME,
            VR::DT,
            "20240301081530.5+0500",
        );
        put(&mut obj, tags::PATIENT_BIRTH_DATE, VR::DA, "19680314");
        // A date the table does not list.
        put(&mut obj, Tag(0x0018, 0x1200), VR::DA, "20240215");
        obj
    };
    let keep = run(with_dates(), DateHandling::Keep).object;
    assert_eq!(
        text_of(&keep, tags::STUDY_DATE).as_deref(),
        Some("20240301")
    );
    assert_eq!(text_of(&keep, tags::STUDY_TIME).as_deref(), Some("081500"));
    assert_eq!(
        text_of(&keep, tags::PATIENT_BIRTH_DATE).as_deref(),
        Some("")
    );

    let shift = run(with_dates(), DateHandling::Shift);
    let days = i64::from(shift.patient.date_offset_days);
    let obj = &shift.object;
    assert_eq!(
        text_of(obj, tags::STUDY_DATE),
        dates::shift_da("20240301", days)
    );
    assert_eq!(text_of(obj, tags::STUDY_TIME).as_deref(), Some("081500"));
    assert_eq!(
        text_of(obj, tags::ACQUISITION_DATE_TIME),
        dates::shift_dt("20240301081530.5+0500", days)
    );
    assert_eq!(
        text_of(obj, Tag(0x0018, 0x1200)),
        dates::shift_da("20240215", days)
    );
    assert_eq!(text_of(obj, tags::PATIENT_BIRTH_DATE).as_deref(), Some(""));

    let remove = run(with_dates(), DateHandling::Remove).object;
    assert_eq!(text_of(&remove, tags::STUDY_DATE).as_deref(), Some(""));
    assert_eq!(text_of(&remove, tags::STUDY_TIME).as_deref(), Some(""));
    assert_eq!(
        text_of(&remove, tags::ACQUISITION_DATE_TIME).as_deref(),
        Some("19000101000000")
    );
    assert!(remove.get(Tag(0x0018, 0x1200)).is_none());
}

#[test]
fn an_invalid_date_is_emptied_not_leaked() {
    let mut obj = base();
    put(&mut obj, tags::STUDY_DATE, VR::DA, "20241345");
    let out = run(obj, DateHandling::Shift).object;
    assert_eq!(text_of(&out, tags::STUDY_DATE).as_deref(), Some(""));
}

#[test]
fn uids_read_as_unknown_bytes_are_replaced() {
    let mut obj = base();
    obj.put(DataElement::new(
        tags::FRAME_OF_REFERENCE_UID,
        VR::UN,
        PrimitiveValue::U8(C::from_vec(b"1.2.3.9\0".to_vec())),
    ));
    let out = run(obj, DateHandling::Shift).object;
    let e = out.get(tags::FRAME_OF_REFERENCE_UID).unwrap();
    assert_eq!(e.vr(), VR::UI);
    assert_eq!(e.to_str().unwrap(), pseudonym_uid(SECRET, "1.2.3.9"));
}

#[test]
fn file_meta_is_rebuilt_without_the_senders_identification() {
    let done = run(base(), DateHandling::Shift);
    let meta = done.object.meta();
    assert_eq!(
        meta.media_storage_sop_instance_uid().trim_end_matches('\0'),
        done.sop_uid
    );
    assert_eq!(
        meta.media_storage_sop_class_uid().trim_end_matches('\0'),
        uids::CT_IMAGE_STORAGE
    );
    assert_eq!(
        meta.transfer_syntax().trim_end_matches('\0'),
        uids::EXPLICIT_VR_LITTLE_ENDIAN
    );
    assert!(meta.source_application_entity_title.is_none());
    assert_eq!(done.sop_uid, pseudonym_uid(SECRET, "1.2.3.4.1"));
    assert_eq!(done.study_uid, pseudonym_uid(SECRET, "1.2.3.4"));
    assert_eq!(done.series_uid, pseudonym_uid(SECRET, "1.2.3.4.0"));
}

#[test]
fn free_text_of_structured_content_gets_a_dummy() {
    let mut item = InMemDicomObject::new_empty();
    put(&mut item, tags::VALUE_TYPE, VR::CS, "TEXT");
    put(
        &mut item,
        tags::TEXT_VALUE,
        VR::UT,
        "Patient Jane Doe, seen at General Hospital",
    );
    let mut obj = base();
    obj.put(DataElement::new(
        tags::CONTENT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item]),
    ));
    let out = run(obj, DateHandling::Shift).object;
    let items = out.get(tags::CONTENT_SEQUENCE).unwrap().items().unwrap();
    assert_eq!(
        text_of(&items[0], tags::VALUE_TYPE).as_deref(),
        Some("TEXT")
    );
    assert_eq!(
        text_of(&items[0], tags::TEXT_VALUE).as_deref(),
        Some(DUMMY_TEXT)
    );
}

#[test]
fn patients_without_an_id_are_keyed_by_name() {
    let mut obj = base();
    obj.remove_element(tags::PATIENT_ID);
    let done = run(obj, DateHandling::Shift);
    assert_eq!(done.patient, PatientPseudonym::derive(SECRET, "Doe^Jane"));
}
