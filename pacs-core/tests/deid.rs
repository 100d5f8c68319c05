//! De-identified copies for second opinions: the Basic Profile applied
//! to generated CT and radiograph instances with Cyrillic names, private
//! blocks and references between instances, checked in memory, in the
//! written Part 10 bytes and by dcmtk.

#![allow(clippy::unwrap_used)]

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::header::Header;
use dicom_core::value::{C, DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags, uids};
use dicom_object::{FileDicomObject, InMemDicomObject, OpenFileOptions};
use dicom_samples::{
    CharacterSet, CtSpec, Date, Patient, XrayKind, XraySpec, ct_slice, xray_image,
};
use pacs_core::deid::profile::{Action, BASIC_PROFILE};
use pacs_core::deid::{DateHandling, DeidConfig, Deidentified, deidentify, pseudonym_uid};
use pacs_core::uid::Uid;

type Obj = FileDicomObject<InMemDicomObject>;

const SECRET: &[u8] = b"integration-test archive secret";

const REFERRING_CYRILLIC: &str = "Петров^Сергей^Ильич";
const ADDRESS: &str = "ул. Навои 12, Ташкент";
const OTHER_ID: &str = "UZ-OLD-775533";
const OPERATOR: &str = "Karimova^Dilnoza";
const PRIVATE_NOTE: &str = "Иванов called back 555-0199";
const INSTITUTION_ADDRESS: &str = "Nukus, Karakalpakstan, Doslyk 7";

fn config(dates: DateHandling) -> DeidConfig {
    DeidConfig::new(SECRET, dates).unwrap()
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    obj.get(tag)
        .map(|e| e.to_str().unwrap().trim_end_matches(['\0', ' ']).to_owned())
}

fn ct_spec(patient: Patient, seed: u64) -> CtSpec {
    let mut spec = CtSpec::chest(patient, seed)
        .with_slices(2)
        .with_matrix(32, 32);
    if spec.patient.charset != CharacterSet::Default {
        spec.study.referring_physician = REFERRING_CYRILLIC.to_owned();
    }
    spec
}

/// A CT slice with the identifying attributes a hospital adds on top of
/// what the modality wrote, a private block (also inside a sequence) and,
/// for slice 1, a reference to slice 0.
fn ct_instance(spec: &CtSpec, index: u32) -> Obj {
    let mut obj = ct_slice(spec, index).unwrap();
    put(&mut obj, Tag(0x0010, 0x1000), VR::LO, OTHER_ID);
    put(&mut obj, tags::PATIENT_ADDRESS, VR::LO, ADDRESS);
    put(
        &mut obj,
        tags::PATIENT_TELEPHONE_NUMBERS,
        VR::SH,
        "+998712345678",
    );
    put(
        &mut obj,
        tags::INSTITUTION_ADDRESS,
        VR::ST,
        INSTITUTION_ADDRESS,
    );
    put(&mut obj, tags::OPERATORS_NAME, VR::PN, OPERATOR);
    put(
        &mut obj,
        tags::PATIENT_COMMENTS,
        VR::LT,
        "Allergic to iodine; brother Иванов Олег",
    );
    put(&mut obj, Tag(0x0029, 0x0010), VR::LO, "ACME CT HEADER");
    put(&mut obj, Tag(0x0029, 0x1010), VR::LT, PRIVATE_NOTE);

    let mut other_id = InMemDicomObject::new_empty();
    put(&mut other_id, tags::PATIENT_ID, VR::LO, OTHER_ID);
    put(
        &mut other_id,
        tags::ISSUER_OF_PATIENT_ID,
        VR::LO,
        "NUKUS-DH-OLD",
    );
    put_seq(&mut obj, tags::OTHER_PATIENT_I_DS_SEQUENCE, vec![other_id]);

    let mut request = InMemDicomObject::new_empty();
    put(
        &mut request,
        tags::ACCESSION_NUMBER,
        VR::SH,
        &spec.study.accession_number,
    );
    put(
        &mut request,
        tags::REQUESTED_PROCEDURE_ID,
        VR::SH,
        "RP-99120",
    );
    put(
        &mut request,
        tags::REQUESTING_PHYSICIAN,
        VR::PN,
        REFERRING_CYRILLIC,
    );
    put(&mut request, Tag(0x0033, 0x0010), VR::LO, "ACME RIS");
    put(&mut request, Tag(0x0033, 0x1001), VR::LO, PRIVATE_NOTE);
    put_seq(&mut obj, tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![request]);

    if index > 0 {
        let mut reference = InMemDicomObject::new_empty();
        put(
            &mut reference,
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            uids::CT_IMAGE_STORAGE,
        );
        put(
            &mut reference,
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            &spec.sop_instance_uid(index - 1),
        );
        put_seq(&mut obj, tags::REFERENCED_IMAGE_SEQUENCE, vec![reference]);
    }
    obj
}

fn bytes_of(obj: &Obj) -> Vec<u8> {
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

fn run(obj: &Obj, dates: DateHandling) -> Deidentified {
    deidentify(obj, &config(dates)).unwrap()
}

/// A value of the dictionary's VR for `tag`, distinct per tag, so that a
/// kept original is recognisable.
fn sample_element(tag: Tag) -> Option<DataElement<InMemDicomObject>> {
    let vr = match StandardDataDictionary.by_tag(tag)?.vr() {
        VirtualVr::Exact(vr) => vr,
        VirtualVr::Xs | VirtualVr::Lt => VR::US,
        VirtualVr::Ox | VirtualVr::Px => VR::OW,
        _ => return None,
    };
    let (g, e) = (tag.group(), tag.element());
    let value: Value<InMemDicomObject> = match vr {
        VR::SQ => {
            let mut item = InMemDicomObject::new_empty();
            put(
                &mut item,
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                &format!("1.2.9.{g}.{e}"),
            );
            put(&mut item, tags::PERSON_NAME, VR::PN, "Secret^Person");
            put(&mut item, Tag(0x0035, 0x0010), VR::LO, "ACME");
            DataSetSequence::from(vec![item]).into()
        }
        VR::UI => PrimitiveValue::from(format!("1.2.9.{g}.{e}")).into(),
        VR::PN => PrimitiveValue::from(format!("Ident^G{g:04X}E{e:04X}")).into(),
        VR::DA => PrimitiveValue::from("20240301").into(),
        VR::TM => PrimitiveValue::from("101010").into(),
        VR::DT => PrimitiveValue::from("20240301101010").into(),
        VR::AS => PrimitiveValue::from("045Y").into(),
        VR::DS => PrimitiveValue::from("1.5").into(),
        VR::IS => PrimitiveValue::from("7").into(),
        VR::UR => PrimitiveValue::from(format!("http://h/{g:04X}{e:04X}")).into(),
        VR::AE | VR::CS | VR::LO | VR::LT | VR::SH | VR::ST | VR::UC | VR::UT => {
            PrimitiveValue::from(format!("ID{g:04X}{e:04X}")).into()
        }
        VR::AT => PrimitiveValue::Tags(C::from_elem(Tag(0x0010, 0x0010), 1)).into(),
        VR::US | VR::OW => PrimitiveValue::U16(C::from_elem(7, 1)).into(),
        VR::SS => PrimitiveValue::I16(C::from_elem(7, 1)).into(),
        VR::UL | VR::OL => PrimitiveValue::U32(C::from_elem(7, 1)).into(),
        VR::SL => PrimitiveValue::I32(C::from_elem(7, 1)).into(),
        VR::UV | VR::OV => PrimitiveValue::U64(C::from_elem(7, 1)).into(),
        VR::SV => PrimitiveValue::I64(C::from_elem(7, 1)).into(),
        VR::FL | VR::OF => PrimitiveValue::F32(C::from_elem(7.0, 1)).into(),
        VR::FD | VR::OD => PrimitiveValue::F64(C::from_elem(7.0, 1)).into(),
        VR::OB | VR::UN => PrimitiveValue::U8(C::from_vec(vec![7, 7])).into(),
    };
    Some(DataElement::new(tag, vr, value))
}

/// Tags whose rows the test fills: all but the command and file meta
/// groups, which never belong in a stored data set, and the identifying
/// UIDs of the instance itself.
fn fillable(tag: Tag) -> bool {
    !matches!(tag.group(), 0x0000 | 0x0002)
        && ![
            tags::SOP_INSTANCE_UID,
            tags::STUDY_INSTANCE_UID,
            tags::SERIES_INSTANCE_UID,
        ]
        .contains(&tag)
}

fn instance_with_every_profile_attribute() -> (Obj, Vec<Tag>) {
    let spec = ct_spec(Patient::karimov_ascii(), 40);
    let mut obj = ct_slice(&spec, 0).unwrap();
    let mut filled = Vec::new();
    for rule in BASIC_PROFILE.iter().filter(|r| fillable(r.tag)) {
        if let Some(element) = sample_element(rule.tag) {
            obj.put(element);
            filled.push(rule.tag);
        }
    }
    (obj, filled)
}

#[test]
fn every_basic_profile_attribute_gets_its_action() {
    let (input, filled) = instance_with_every_profile_attribute();
    assert!(
        filled.len() > 550,
        "only {} rows have a dictionary entry",
        filled.len()
    );
    let done = run(&input, DateHandling::Remove);
    let out = &done.object;
    for rule in BASIC_PROFILE.iter().filter(|r| filled.contains(&r.tag)) {
        let tag = rule.tag;
        let before = input.get(tag).unwrap();
        let after = out.get(tag);
        let what = format!("{tag} ({})", rule.action.code());
        if tag == tags::PATIENT_NAME || tag == tags::PATIENT_ID {
            let value = text(out, tag).unwrap();
            assert!(value.starts_with("ANON"), "{what}: {value}");
            continue;
        }
        match rule.action {
            Action::Remove => assert!(after.is_none(), "{what} kept"),
            Action::Zero | Action::RemoveOrZero => {
                let after = after.unwrap_or_else(|| panic!("{what} missing"));
                let empty = match after.value() {
                    Value::Sequence(seq) => seq.items().is_empty(),
                    Value::Primitive(p) => p.to_multi_str().iter().all(|s| s.trim().is_empty()),
                    Value::PixelSequence(_) => false,
                };
                assert!(empty, "{what} not emptied: {after:?}");
            }
            Action::Dummy
            | Action::ZeroOrDummy
            | Action::RemoveOrDummy
            | Action::RemoveOrZeroOrDummy => {
                let after = after.unwrap_or_else(|| panic!("{what} missing"));
                if let Value::Sequence(seq) = after.value() {
                    assert_cleaned_item(&seq.items()[0], &what);
                } else {
                    assert!(
                        !after.value().primitive().unwrap().to_str().is_empty(),
                        "{what}"
                    );
                    if before.vr() != VR::UI {
                        assert!(is_dummy(after), "{what} not a dummy: {after:?}");
                    }
                }
            }
            Action::Uid | Action::RemoveOrZeroOrUids => {
                let after = after.unwrap_or_else(|| panic!("{what} missing"));
                if let Value::Sequence(seq) = after.value() {
                    assert_cleaned_item(&seq.items()[0], &what);
                } else {
                    let uid = after.to_str().unwrap();
                    assert!(uid.starts_with("2.25."), "{what}: {uid}");
                    assert!(Uid::parse(&uid).is_ok(), "{what}: {uid}");
                    assert_eq!(
                        uid,
                        pseudonym_uid(SECRET, &before.to_str().unwrap()),
                        "{what}"
                    );
                }
            }
        }
    }
}

/// A dummy as the module writes it for each VR.
fn is_dummy(e: &DataElement<InMemDicomObject>) -> bool {
    let value = e.to_str().unwrap();
    match e.vr() {
        VR::DA => value == "19000101",
        VR::TM => value == "000000",
        VR::DT => value == "19000101000000",
        VR::AS => value == "000D",
        VR::DS | VR::IS => value == "0",
        VR::AE | VR::CS | VR::LO | VR::LT | VR::PN | VR::SH | VR::ST | VR::UC | VR::UR | VR::UT => {
            value == "ANONYMIZED"
        }
        _ => e.to_bytes().unwrap().iter().all(|b| *b == 0),
    }
}

fn assert_cleaned_item(item: &InMemDicomObject, what: &str) {
    let uid = text(item, tags::REFERENCED_SOP_INSTANCE_UID).unwrap();
    assert!(uid.starts_with("2.25."), "{what}: item UID {uid}");
    assert_eq!(
        text(item, tags::PERSON_NAME).as_deref(),
        Some("ANONYMIZED"),
        "{what}"
    );
    assert!(
        item.iter().all(|e| e.tag().group() % 2 == 0),
        "{what}: private tag kept"
    );
}

#[test]
fn temporal_attributes_follow_the_longitudinal_options() {
    let (input, filled) = instance_with_every_profile_attribute();
    let keep = run(&input, DateHandling::Keep).object;
    let shift = run(&input, DateHandling::Shift);
    let days = i64::from(shift.patient.date_offset_days);
    let shifted_date = Date::new(2024, 3, 1).unwrap().plus_days(days).to_dicom();
    let mut checked = 0;
    for rule in BASIC_PROFILE
        .iter()
        .filter(|r| r.temporal && filled.contains(&r.tag))
    {
        let before = input.get(rule.tag).unwrap();
        assert_eq!(keep.get(rule.tag), Some(before), "{} not kept", rule.tag);
        let after = text(&shift.object, rule.tag);
        match before.vr() {
            VR::DA => assert_eq!(
                after.as_deref(),
                Some(shifted_date.as_str()),
                "{}",
                rule.tag
            ),
            VR::DT => {
                let expected = format!("{shifted_date}101010");
                assert_eq!(after.as_deref(), Some(expected.as_str()), "{}", rule.tag);
            }
            VR::TM => assert_eq!(after.as_deref(), Some("101010"), "{}", rule.tag),
            _ => continue,
        }
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
}

fn identifying_strings(spec: &CtSpec) -> Vec<String> {
    let mut found = vec![
        spec.patient.id.clone(),
        spec.study.accession_number.clone(),
        spec.study.study_uid.clone(),
        spec.series_uid.clone(),
        spec.frame_of_reference_uid.clone(),
        spec.sop_instance_uid(0),
        spec.sop_instance_uid(1),
        spec.equipment.institution.clone(),
        spec.equipment.serial_number.clone(),
        spec.study.referring_physician.clone(),
        OTHER_ID.to_owned(),
        ADDRESS.to_owned(),
        OPERATOR.to_owned(),
        PRIVATE_NOTE.to_owned(),
        INSTITUTION_ADDRESS.to_owned(),
        "NUKUS-DH".to_owned(),
        "RP-99120".to_owned(),
        "998712345678".to_owned(),
        "Олег".to_owned(),
        spec.study.date.to_dicom(),
        spec.patient.birth_date.to_dicom(),
    ];
    for name in [&spec.patient.name, &spec.study.referring_physician] {
        found.extend(name.split('^').map(str::to_owned));
    }
    found
}

#[test]
fn no_identifying_text_is_left_in_the_written_file() {
    for patient in [Patient::ivanov_iso_ir_144(), Patient::ivanova_utf8()] {
        let spec = ct_spec(patient, 11);
        let charset = spec.patient.charset;
        let original = bytes_of(&ct_instance(&spec, 1));
        let copy = bytes_of(&run(&ct_instance(&spec, 1), DateHandling::Shift).object);
        for needle in identifying_strings(&spec) {
            // As the declared character set writes it, and as UTF-8.
            let encodings: Vec<Vec<u8>> =
                [charset.encode(&needle), Some(needle.clone().into_bytes())]
                    .into_iter()
                    .flatten()
                    .collect();
            assert!(
                encodings.iter().any(|e| contains(&original, e)),
                "{needle:?} is not in the input, so its absence proves nothing"
            );
            for encoded in &encodings {
                assert!(!contains(&copy, encoded), "{needle:?} is left in the copy");
            }
        }
    }
}

#[test]
fn a_study_keeps_its_uids_and_references_across_calls() {
    let spec = ct_spec(Patient::ivanov_iso_ir_144(), 12);
    let first = run(&ct_instance(&spec, 0), DateHandling::Shift);
    let second = run(&ct_instance(&spec, 1), DateHandling::Shift);
    assert_eq!(first.study_uid, second.study_uid);
    assert_eq!(first.series_uid, second.series_uid);
    assert_ne!(first.sop_uid, second.sop_uid);
    assert_ne!(first.study_uid, spec.study.study_uid);
    for done in [&first, &second] {
        let obj = &done.object;
        assert_eq!(
            text(obj, tags::SOP_CLASS_UID).as_deref(),
            Some(uids::CT_IMAGE_STORAGE)
        );
        assert_eq!(
            text(obj, tags::SOP_INSTANCE_UID).as_ref(),
            Some(&done.sop_uid)
        );
        assert_eq!(
            obj.meta()
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0'),
            done.sop_uid
        );
        assert_eq!(
            obj.meta().transfer_syntax().trim_end_matches('\0'),
            uids::EXPLICIT_VR_LITTLE_ENDIAN
        );
        for uid in [&done.study_uid, &done.series_uid, &done.sop_uid] {
            assert!(Uid::parse(uid).is_ok() && uid.starts_with("2.25."), "{uid}");
        }
    }
    assert_eq!(
        text(&first.object, tags::FRAME_OF_REFERENCE_UID),
        text(&second.object, tags::FRAME_OF_REFERENCE_UID)
    );
    let reference = &second
        .object
        .get(tags::REFERENCED_IMAGE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    assert_eq!(
        text(reference, tags::REFERENCED_SOP_INSTANCE_UID),
        Some(first.sop_uid.clone())
    );
    assert_eq!(
        text(reference, tags::REFERENCED_SOP_CLASS_UID).as_deref(),
        Some(uids::CT_IMAGE_STORAGE)
    );
    // Running again gives the very same file.
    let again = run(&ct_instance(&spec, 1), DateHandling::Shift);
    assert_eq!(bytes_of(&again.object), bytes_of(&second.object));
}

#[test]
fn a_patient_keeps_pseudonym_and_date_offset_across_studies() {
    let ct = ct_spec(Patient::ivanov_iso_ir_144(), 13);
    let xray = XraySpec::chest(XrayKind::Dx, Patient::ivanov_iso_ir_144(), 14).with_matrix(40, 32);
    let a = run(&ct_instance(&ct, 0), DateHandling::Shift);
    let b = run(&xray_image(&xray).unwrap(), DateHandling::Shift);
    assert_ne!(a.study_uid, b.study_uid);
    assert_eq!(a.patient, b.patient);
    for tag in [tags::PATIENT_ID, tags::PATIENT_NAME] {
        assert_eq!(text(&a.object, tag), text(&b.object, tag));
    }
    let name = text(&a.object, tags::PATIENT_NAME).unwrap();
    assert!(name.starts_with("ANON^") && name.len() == 13, "{name}");
    let days = i64::from(a.patient.date_offset_days);
    assert!((-3653..=-366).contains(&days));
    for (done, date) in [(&a, ct.study.date), (&b, xray.study.date)] {
        assert_eq!(
            text(&done.object, tags::STUDY_DATE),
            Some(date.plus_days(days).to_dicom())
        );
    }

    let other = run(
        &ct_instance(&ct_spec(Patient::ivanova_utf8(), 13), 0),
        DateHandling::Shift,
    );
    assert_ne!(other.patient.id, a.patient.id);
    assert_ne!(other.patient.name, a.patient.name);
}

#[test]
fn another_secret_gives_other_pseudonyms_and_uids() {
    let spec = ct_spec(Patient::ivanov_iso_ir_144(), 15);
    let obj = ct_instance(&spec, 0);
    let a = run(&obj, DateHandling::Shift);
    let other = DeidConfig::new(b"another archive's secret".to_vec(), DateHandling::Shift).unwrap();
    let b = deidentify(&obj, &other).unwrap();
    assert_ne!(a.patient.id, b.patient.id);
    assert_ne!(a.patient.name, b.patient.name);
    assert_ne!(a.study_uid, b.study_uid);
    assert_ne!(a.sop_uid, b.sop_uid);
}

#[test]
fn shifted_dates_are_valid_and_times_are_kept() {
    let spec = ct_spec(Patient::ivanov_iso_ir_144(), 16);
    let input = ct_instance(&spec, 0);
    let done = run(&input, DateHandling::Shift);
    let days = i64::from(done.patient.date_offset_days);
    let expected = spec.study.date.plus_days(days).to_dicom();
    for tag in [
        tags::STUDY_DATE,
        tags::SERIES_DATE,
        tags::ACQUISITION_DATE,
        tags::CONTENT_DATE,
        tags::INSTANCE_CREATION_DATE,
    ] {
        assert_eq!(
            text(&done.object, tag).as_deref(),
            Some(expected.as_str()),
            "{tag}"
        );
    }
    for tag in [
        tags::STUDY_TIME,
        tags::SERIES_TIME,
        tags::ACQUISITION_TIME,
        tags::CONTENT_TIME,
    ] {
        assert_eq!(text(&done.object, tag), text(&input, tag), "{tag}");
    }
    assert_eq!(
        text(&done.object, tags::PATIENT_BIRTH_DATE).as_deref(),
        Some("")
    );
    assert!(done.object.get(tags::PATIENT_AGE).is_none());
    // Every DA value left anywhere is a real calendar date.
    let mut dates = Vec::new();
    collect_dates(&done.object, &mut dates);
    assert!(dates.len() >= 5);
    for value in dates {
        let ok = value.len() == 8
            && Date::new(
                value[..4].parse().unwrap(),
                value[4..6].parse().unwrap(),
                value[6..].parse().unwrap(),
            )
            .is_some();
        assert!(ok, "{value:?} is not a valid DA value");
    }
}

fn collect_dates(obj: &InMemDicomObject, out: &mut Vec<String>) {
    for e in obj.iter() {
        match e.value() {
            Value::Sequence(seq) => seq.items().iter().for_each(|item| collect_dates(item, out)),
            Value::Primitive(p) if e.vr() == VR::DA => {
                out.extend(p.to_multi_str().iter().filter(|s| !s.is_empty()).cloned())
            }
            _ => {}
        }
    }
}

fn pixel_data(obj: &InMemDicomObject) -> Value<InMemDicomObject> {
    obj.get(tags::PIXEL_DATA).unwrap().value().clone()
}

#[test]
fn pixel_data_is_untouched_native_and_encapsulated() {
    let spec = ct_spec(Patient::ivanov_iso_ir_144(), 17);
    let native = ct_instance(&spec, 0);
    let done = run(&native, DateHandling::Shift);
    assert_eq!(pixel_data(&done.object), pixel_data(&native));
    let written = OpenFileOptions::new()
        .from_reader(&bytes_of(&done.object)[..])
        .unwrap();
    let original = OpenFileOptions::new()
        .from_reader(&bytes_of(&native)[..])
        .unwrap();
    assert_eq!(
        written.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap(),
        original.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap()
    );

    let jpeg_ls =
        pacs_core::transcode::object_to(&bytes_of(&native), uids::JPEGLS_LOSSLESS).unwrap();
    let encapsulated = OpenFileOptions::new().from_reader(&jpeg_ls[..]).unwrap();
    let done = run(&encapsulated, DateHandling::Shift);
    assert_eq!(
        done.object.meta().transfer_syntax().trim_end_matches('\0'),
        uids::JPEGLS_LOSSLESS
    );
    let Value::PixelSequence(fragments) = pixel_data(&done.object) else {
        panic!("pixel data is no longer encapsulated");
    };
    let Value::PixelSequence(expected) = pixel_data(&encapsulated) else {
        panic!("the input is not encapsulated");
    };
    assert_eq!(fragments.fragments(), expected.fragments());
    assert_eq!(fragments.offset_table(), expected.offset_table());
    let reread = OpenFileOptions::new()
        .from_reader(&bytes_of(&done.object)[..])
        .unwrap();
    assert_eq!(pixel_data(&reread), pixel_data(&done.object));
}

#[test]
fn burned_in_annotation_is_reported_not_scrubbed() {
    let spec = XraySpec::chest(XrayKind::Cr, Patient::orinboyeva_utf8(), 18).with_matrix(40, 32);
    let mut image = xray_image(&spec).unwrap();
    let clean = run(&image, DateHandling::Shift);
    assert!(!clean.burned_in_annotation);
    put(&mut image, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    let burned = run(&image, DateHandling::Shift);
    assert!(burned.burned_in_annotation);
    assert_eq!(
        text(&burned.object, tags::BURNED_IN_ANNOTATION).as_deref(),
        Some("YES")
    );
    assert_eq!(pixel_data(&burned.object), pixel_data(&image));
}

#[test]
fn dcmtk_reads_the_copy_without_errors() {
    let dcmdump = std::path::Path::new("/usr/bin/dcmdump");
    if !dcmdump.exists() {
        eprintln!("skipped: /usr/bin/dcmdump is not installed (apt-get install dcmtk)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = ct_spec(Patient::ivanov_iso_ir_144(), 19);
    for (i, dates) in [
        DateHandling::Shift,
        DateHandling::Keep,
        DateHandling::Remove,
    ]
    .into_iter()
    .enumerate()
    {
        let done = run(&ct_instance(&spec, 1), dates);
        let path = dir.path().join(format!("copy-{i}.dcm"));
        done.object.write_to_file(&path).unwrap();
        let out = std::process::Command::new(dcmdump)
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "dcmdump failed: {stderr}");
        let errors: Vec<_> = stdout
            .lines()
            .chain(stderr.lines())
            .filter(|l| l.starts_with("E:"))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(stdout.contains("(0012,0062) CS [YES]"), "{stdout}");
        assert!(stdout.contains("[113100]"), "{stdout}");
        assert!(stdout.contains(&done.sop_uid), "{stdout}");
    }
}
