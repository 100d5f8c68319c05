//! QIDO-RS against the real `pacs` binary: the searches a viewer makes,
//! through the Python dicomweb-client (`tests/python/`), on studies stored
//! with it.

mod common;
#[path = "common/dicomweb_fixtures.rs"]
mod fixtures;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::collections::BTreeSet;
use std::path::PathBuf;

use dicom_samples::{
    CtSpec, Date, Patient, SampleTransferSyntax, XrayKind, XraySpec, write_ct_series, write_xray,
};
use serde_json::{Value, json};

use common::{Server, ct_files};
use fixtures::{IVANOV, instance_url};
use web::{alphabetic, failed_sops, int_value, referenced_sops, string_value};

const IVANOVA: &str = "Иванова^Мария^Сергеевна";

fn study_uids(results: &Value) -> BTreeSet<String> {
    results
        .as_array()
        .unwrap_or_else(|| panic!("not a result list: {results}"))
        .iter()
        .map(|r| string_value(r, "0020000D").expect("StudyInstanceUID"))
        .collect()
}

fn set<const N: usize>(uids: [&str; N]) -> BTreeSet<String> {
    uids.iter().map(|s| s.to_string()).collect()
}

/// STOW-RS with dicomweb-client, then every QIDO-RS search a viewer makes,
/// on a Cyrillic patient written in ISO_IR 144 next to a UTF-8 one with
/// the same family-name prefix and an ASCII one from another year.
#[test]
fn dicomweb_client_stores_and_finds_a_cyrillic_study() {
    let Some(py) = web::python_or_skip("dicomweb_client_stores_and_finds_a_cyrillic_study") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));

    let (ivanov, ivanov_files) = ct_files(
        &dir.path().join("ivanov"),
        10,
        11,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let ivanova = CtSpec::head(Patient::ivanova_utf8(), 12)
        .with_slices(3)
        .with_matrix(64, 64);
    let ivanova_files = write_ct_series(
        &ivanova,
        &dir.path().join("ivanova"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("write Ivanova");
    let mut karimov =
        XraySpec::chest(XrayKind::Dx, Patient::karimov_ascii(), 13).with_matrix(64, 52);
    karimov.study.date = Date {
        year: 2019,
        month: 6,
        day: 1,
    };
    let karimov_file = write_xray(
        &karimov,
        &dir.path().join("karimov"),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("write Karimov");

    let base = server.base();
    let stow_py = |files: &[PathBuf]| -> Value {
        let mut args = vec![base.clone(), String::new()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        web::run_python(&py, "stow.py", &args)
    };
    let response = stow_py(&ivanov_files);
    let mut stored = referenced_sops(&response);
    stored.sort();
    let mut expected: Vec<String> = (0..10).map(|i| ivanov.sop_instance_uid(i)).collect();
    expected.sort();
    assert_eq!(stored, expected, "ReferencedSOPSequence: {response}");
    assert!(failed_sops(&response).is_empty(), "{response}");
    assert_eq!(
        string_value(&response, "00081190"),
        Some(format!("{base}/studies/{}", ivanov.study.study_uid)),
        "the response's RetrieveURL is the study"
    );
    assert_eq!(referenced_sops(&stow_py(&ivanova_files)).len(), 3);
    assert_eq!(referenced_sops(&stow_py(&[karimov_file])).len(), 1);

    let (a, b, c) = (
        ivanov.study.study_uid.as_str(),
        ivanova.study.study_uid.as_str(),
        karimov.study.study_uid.as_str(),
    );
    let queries = json!([
        {"level": "studies", "filters": {"PatientName": "Иван*"}},
        {"level": "studies", "filters": {"PatientName": IVANOV}},
        {"level": "studies", "filters": {"PatientName": "иванов^*"}},
        {"level": "studies", "filters": {"PatientID": "UZ-TAS-000101"}},
        {"level": "studies", "filters": {"StudyDate": "20200101-20301231"}},
        {"level": "studies", "filters": {"ModalitiesInStudy": "CT"}},
        {"level": "studies", "limit": 1, "offset": 0},
        {"level": "studies", "limit": 1, "offset": 1},
        {"level": "studies", "limit": 1, "offset": 2},
        {"level": "studies", "limit": 1, "offset": 3},
        {"level": "studies", "filters": {"PatientID": "UZ-TAS-000101"},
         "fields": ["InstitutionName", "SliceThickness"]},
        {"level": "series", "study": a},
        {"level": "series", "filters": {"Modality": "CT"}},
        {"level": "instances", "study": a, "series": ivanov.series_uid},
        {"level": "instances", "study": a, "series": ivanov.series_uid, "limit": 3, "offset": 8},
        {"level": "studies", "filters": {"PatientName": "Петров*"}},
        {"level": "studies", "filters": {"ModalitiesInStudy": "C*"}},
        {"level": "studies", "filters": {"ModalitiesInStudy": "?X"}},
        {"level": "instances", "study": a, "series": ivanov.series_uid, "limit": 1,
         "fields": ["SliceThickness"]},
    ]);
    let r = web::run_python(&py, "qido.py", &[&base, &queries.to_string()]);
    let r = r.as_array().expect("one result list per query");

    assert_eq!(study_uids(&r[0]), set([a, b]), "PatientName=Иван*");
    assert_eq!(study_uids(&r[1]), set([a]), "exact PatientName");
    assert_eq!(study_uids(&r[2]), set([a]), "PN matching ignores case");
    assert_eq!(study_uids(&r[3]), set([a]), "PatientID");
    assert_eq!(study_uids(&r[4]), set([a, b]), "StudyDate range");
    assert_eq!(study_uids(&r[5]), set([a, b]), "ModalitiesInStudy=CT");
    let mut paged = BTreeSet::new();
    for page in &r[6..9] {
        let uids = study_uids(page);
        assert_eq!(uids.len(), 1, "limit=1 gives one study: {page}");
        paged.extend(uids);
    }
    assert_eq!(paged, set([a, b, c]), "pages are disjoint and cover all");
    assert!(study_uids(&r[9]).is_empty(), "offset past the end");
    assert!(study_uids(&r[15]).is_empty(), "no match");
    assert_eq!(study_uids(&r[16]), set([a, b]), "ModalitiesInStudy=C*");
    assert_eq!(study_uids(&r[17]), set([c]), "ModalitiesInStudy=?X");

    for study in r[0].as_array().expect("studies") {
        let uid = string_value(study, "0020000D").expect("study UID");
        let (want_name, want_instances) = if uid == a { (IVANOV, 10) } else { (IVANOVA, 3) };
        assert_eq!(alphabetic(study), Some(want_name), "decoded name: {study}");
        assert_eq!(int_value(study, "00201206"), Some(1), "{study}");
        assert_eq!(
            int_value(study, "00201208"),
            Some(want_instances),
            "{study}"
        );
        assert_eq!(study["00080061"]["Value"], json!(["CT"]), "{study}");
        assert_eq!(string_value(study, "00080020").as_deref(), Some("20250115"));
        assert_eq!(
            string_value(study, "00081190"),
            Some(format!("{base}/studies/{uid}"))
        );
    }
    let dx = r[6..9]
        .iter()
        .map(|p| &p[0])
        .find(|s| string_value(s, "0020000D").as_deref() == Some(c))
        .expect("Karimov's study on a page");
    assert_eq!(dx["00080061"]["Value"], json!(["DX"]), "{dx}");
    assert_eq!(alphabetic(dx), Some("Karimov^Rustam"));

    let included = &r[10][0];
    assert_eq!(
        string_value(included, "00080080").as_deref(),
        Some("Nukus District Hospital"),
        "includefield=InstitutionName: {included}"
    );
    // An image's attribute is no study's (PS3.18 §10.6.3.3.1): asked for
    // in a study search, it is left out; in an instance search it is there.
    assert!(
        included.get("00180050").is_none(),
        "includefield=SliceThickness in a study: {included}"
    );
    let image = &r[18][0];
    assert_eq!(
        image["00180050"]["Value"][0].as_f64(),
        Some(1.25),
        "includefield=SliceThickness: {image}"
    );

    let series = r[11].as_array().expect("series");
    assert_eq!(series.len(), 1, "{series:?}");
    assert_eq!(
        string_value(&series[0], "0020000E").as_deref(),
        Some(ivanov.series_uid.as_str())
    );
    assert_eq!(string_value(&series[0], "00080060").as_deref(), Some("CT"));
    assert_eq!(int_value(&series[0], "00201209"), Some(10));
    assert_eq!(int_value(&series[0], "00200011"), Some(2));
    assert_eq!(
        r[12].as_array().map(Vec::len),
        Some(2),
        "CT series of all studies"
    );

    let instances = r[13].as_array().expect("instances");
    let listed: Vec<String> = instances
        .iter()
        .map(|i| string_value(i, "00080018").expect("SOPInstanceUID"))
        .collect();
    let in_order: Vec<String> = (0..10).map(|i| ivanov.sop_instance_uid(i)).collect();
    assert_eq!(listed, in_order, "instances in Instance Number order");
    for (n, i) in instances.iter().enumerate() {
        assert_eq!(int_value(i, "00200013"), Some(n as i64 + 1));
        assert_eq!(int_value(i, "00280010"), Some(128));
        // Bits Allocated: of PS3.18's instance-level defaults.
        assert_eq!(int_value(i, "00280100"), Some(16), "{i}");
        assert_eq!(
            string_value(i, "00081190"),
            Some(instance_url(&server, &ivanov, n as u32))
        );
    }
    let tail: Vec<String> = r[14]
        .as_array()
        .expect("page")
        .iter()
        .map(|i| string_value(i, "00080018").expect("SOPInstanceUID"))
        .collect();
    assert_eq!(tail, in_order[8..].to_vec(), "limit=3&offset=8 of 10");
    assert!(server.stop().success());
}

/// Writes a small DX of Karimov's made from `seed` under `dir`; its spec
/// and file.
fn write_dx(dir: &std::path::Path, seed: u64) -> (XraySpec, std::path::PathBuf) {
    write_dx_of(dir, Patient::karimov_ascii(), seed)
}

/// Writes a small DX of `patient`'s made from `seed` under `dir`.
fn write_dx_of(
    dir: &std::path::Path,
    patient: Patient,
    seed: u64,
) -> (XraySpec, std::path::PathBuf) {
    let spec = XraySpec::chest(XrayKind::Dx, patient, seed).with_matrix(32, 26);
    let file = write_xray(
        &spec,
        &dir.join(format!("dx{seed}")),
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("write a DX");
    (spec, file)
}

/// A name is found however a person at a district hospital's console
/// types it: words apart with spaces instead of `^`, the Uzbek okina as
/// any apostrophe or none, `е` for `ё`, in any case; in the name's
/// Latin and Cyrillic groups alike.
#[test]
fn names_are_found_however_they_are_typed() {
    let Some(py) = web::python_or_skip("names_are_found_however_they_are_typed") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let birth = Date {
        year: 1979,
        month: 4,
        day: 2,
    };
    let patients = [
        Patient::orinboyeva_utf8(),
        Patient::ivanov_iso_ir_144(),
        Patient::new(
            "Fyodorov^Artyom=Фёдоров^Артём",
            "UZ-TAS-000555",
            birth,
            dicom_samples::Sex::Male,
            dicom_samples::CharacterSet::Utf8,
        ),
    ];
    let studies: Vec<String> = patients
        .into_iter()
        .zip(41..)
        .map(|(patient, seed)| {
            let (spec, file) = write_dx_of(dir.path(), patient, seed);
            web::stow_ok(&server, &[&std::fs::read(file).expect("read")]);
            spec.study.study_uid.clone()
        })
        .collect();
    let (orinboyeva, ivanov, fyodorov) = (&studies[0], &studies[1], &studies[2]);
    let cases: &[(&str, Option<&String>)] = &[
        ("O'rinboyeva*", Some(orinboyeva)),
        ("O\u{2019}rinboyeva G\u{2018}uncha", Some(orinboyeva)),
        ("orinboyeva guncha", Some(orinboyeva)),
        ("Oʻrinboyeva^Gʻuncha", Some(orinboyeva)),
        ("Иванов Иван*", Some(ivanov)),
        ("иванов иван петрович", Some(ivanov)),
        ("Иванов^Иван Петрович", Some(ivanov)),
        ("Федоров Артем", Some(fyodorov)),
        ("Fyodorov Artyom", Some(fyodorov)),
        ("Иванов Пётр*", None),
        ("Orinboyev", None),
    ];
    let queries: Vec<Value> = cases
        .iter()
        .map(|(name, _)| json!({"level": "studies", "filters": {"PatientName": name}}))
        .collect();
    let base = server.base();
    let r = web::run_python(&py, "qido.py", &[&base, &Value::from(queries).to_string()]);
    let r = r.as_array().expect("one result list per query");
    for ((name, want), found) in cases.iter().zip(r) {
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(study_uids(found), want, "PatientName={name}");
    }
    assert!(server.stop().success());
}

/// Stores a small DX of Karimov's made from `seed`, its Study Time
/// rewritten to `time` as a modality may write it (fraction and all);
/// its Study and SOP Instance UIDs.
fn store_dx(
    server: &Server,
    dir: &std::path::Path,
    seed: u64,
    time: Option<&str>,
) -> (String, String) {
    let (spec, file) = write_dx(dir, seed);
    if let Some(time) = time {
        let mut object = dicom_object::open_file(&file).expect("open the DX");
        object.put(dicom_object::mem::InMemElement::new(
            dicom_core::Tag(0x0008, 0x0030),
            dicom_core::VR::TM,
            dicom_core::PrimitiveValue::from(time),
        ));
        object.write_to_file(&file).expect("write the DX");
    }
    let sops = web::stow_ok(server, &[&std::fs::read(file).expect("read")]);
    (spec.study.study_uid.clone(), sops[0].clone())
}

/// Study Time matches by time, not by text: a fraction's trailing zeros
/// change nothing, and a time matches any stored time within its last
/// unit (a second, a minute), however precisely the modality wrote it;
/// the same for both ends of a range. A malformed time is a 400.
#[test]
fn study_time_matches_by_time_whatever_its_precision() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let stored: Vec<String> = [(21, "164332"), (22, "093015.250000")]
        .into_iter()
        .map(|(seed, time)| store_dx(&server, dir.path(), seed, Some(time)).0)
        .collect();
    let (afternoon, morning) = (stored[0].as_str(), stored[1].as_str());
    for (query, want) in [
        ("164332", vec![afternoon]),
        ("164332.000", vec![afternoon]),
        ("16:43:32", vec![afternoon]),
        ("1643", vec![afternoon]),
        ("164332.000-164333", vec![afternoon]),
        ("093015", vec![morning]),
        ("093015.25", vec![morning]),
        ("093015.3", vec![]),
        ("0930-1000", vec![morning]),
        ("-0930", vec![morning]),
        ("093016-", vec![afternoon]),
        ("0800-2000", vec![morning, afternoon]),
    ] {
        let found = study_uids(&Value::from(web::qido(
            &server,
            &format!("/studies?StudyTime={query}"),
        )));
        assert_eq!(
            found,
            want.into_iter().map(str::to_owned).collect(),
            "StudyTime={query}"
        );
    }
    let bad = web::get(
        &format!("{}/studies?StudyTime=1643.5", server.base()),
        Some("application/dicom+json"),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(bad.text().contains("HHMMSS"), "{}", bad.text());
    assert!(server.stop().success());
}

/// A page that is not the whole answer says so in a Warning, with the
/// offset to ask for next; a limit above the archive's most is clipped
/// and said; a key of a lower level than the search's, which the archive
/// does not match on, is named as ignored rather than silently matching
/// everything.
#[test]
fn partial_answers_and_ignored_keys_are_said_in_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let sops: Vec<String> = [31, 32, 33]
        .into_iter()
        .map(|seed| store_dx(&server, dir.path(), seed, None).1)
        .collect();
    let search = |query: &str| {
        let r = web::get(
            &format!("{}{query}", server.base()),
            Some("application/dicom+json"),
        );
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        let n = r.json().as_array().map_or(0, Vec::len);
        (n, r.warnings())
    };

    let (n, warnings) = search("/studies?limit=2");
    assert_eq!(n, 2);
    assert!(
        warnings.contains("There are additional results") && warnings.contains("offset=2"),
        "{warnings}"
    );
    let (n, warnings) = search("/studies?limit=2&offset=2");
    assert_eq!(n, 1);
    assert!(warnings.is_empty(), "{warnings}");
    let (n, warnings) = search("/studies?limit=3");
    assert_eq!(n, 3);
    assert!(warnings.is_empty(), "the whole answer: {warnings}");
    // An offset beyond what the database counts is past the end too,
    // never back at the start.
    for level in ["studies", "series", "instances"] {
        for offset in ["9223372036854775808", "18446744073709551615"] {
            let (n, warnings) = search(&format!("/{level}?limit=2&offset={offset}"));
            assert_eq!(n, 0, "{level} from offset {offset}");
            assert!(warnings.is_empty(), "{warnings}");
        }
    }

    let (n, warnings) = search("/studies?limit=20000");
    assert_eq!(n, 3);
    assert!(
        warnings.contains("limit 20000 is more than the 10000"),
        "{warnings}"
    );

    let (n, warnings) = search(&format!("/studies?SOPInstanceUID={}", sops[0]));
    assert_eq!(n, 3, "not matched on");
    assert!(
        warnings.contains("matching on SOPInstanceUID (of each instance) is not supported"),
        "{warnings}"
    );
    // Text other than names matches case-sensitively, by prefix or
    // anywhere alike (as an exact match does).
    let id = string_value(&web::qido(&server, "/studies?limit=1")[0], "00100020").expect("ID");
    assert!(
        id.len() > 4 && id.chars().any(|c| c.is_ascii_uppercase()),
        "{id}"
    );
    let (head, middle) = (&id[..2], &id[1..id.len() - 1]);
    for (pattern, want) in [
        (format!("{head}*"), 3),
        (format!("{}*", head.to_lowercase()), 0),
        (format!("*{middle}*"), 3),
        (format!("*{}*", middle.to_lowercase()), 0),
        (format!("{}?*", &id[..id.len() - 1]), 3),
    ] {
        let (n, _) = search(&format!("/studies?PatientID={pattern}"));
        assert_eq!(n, want, "PatientID={pattern}");
    }
    // A series' modality at study level is matched, and not warned of.
    let (n, warnings) = search("/studies?Modality=CT");
    assert_eq!(n, 0);
    assert!(warnings.is_empty(), "{warnings}");
    // Several values match any of them, at every level: separated by a
    // backslash, or for code strings (Modality) by a comma too.
    let accessions: Vec<String> = web::qido(&server, "/studies")
        .iter()
        .map(|s| string_value(s, "00080050").expect("accession"))
        .collect();
    for (query, want) in [
        ("/series?Modality=CT%5CDX".to_owned(), 3),
        ("/series?Modality=CT,DX".to_owned(), 3),
        ("/series?Modality=CT%5CMR".to_owned(), 0),
        ("/series?Modality=CT%5CD*".to_owned(), 3),
        ("/instances?Modality=CR%5CDX".to_owned(), 3),
        (format!("/studies?PatientID=UNKNOWN%5C{id}"), 3),
        (
            format!(
                "/studies?AccessionNumber={}%5C{}",
                accessions[0], accessions[1]
            ),
            2,
        ),
        (
            format!(
                "/studies?AccessionNumber={},{}",
                accessions[0], accessions[1]
            ),
            0,
        ),
    ] {
        let (n, warnings) = search(&query);
        assert_eq!(n, want, "{query}");
        assert!(warnings.is_empty(), "{query}: {warnings}");
    }
    assert!(server.stop().success());
}

/// Stores a small DX of Karimov's made from `seed` whose series was
/// acquired for the orders `requests` (Requested Procedure ID, Scheduled
/// Procedure Step ID) and whose step started at `started`; its Series
/// Instance UID.
fn store_ordered_dx(
    server: &Server,
    dir: &std::path::Path,
    seed: u64,
    requests: &[(Option<&str>, Option<&str>)],
    started: Option<&str>,
) -> String {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{Length, PrimitiveValue, Tag, VR};
    use dicom_object::InMemDicomObject;
    use dicom_object::mem::InMemElement;

    let (spec, file) = write_dx(dir, seed);
    let mut object = dicom_object::open_file(&file).expect("open the DX");
    let sh = |tag: Tag, value: &str| InMemElement::new(tag, VR::SH, PrimitiveValue::from(value));
    let items: Vec<InMemDicomObject> = requests
        .iter()
        .map(|(requested, scheduled)| {
            let mut item = InMemDicomObject::new_empty();
            if let Some(id) = requested {
                item.put(sh(Tag(0x0040, 0x1001), id));
            }
            if let Some(id) = scheduled {
                item.put(sh(Tag(0x0040, 0x0009), id));
            }
            item
        })
        .collect();
    if !items.is_empty() {
        object.put(InMemElement::new(
            Tag(0x0040, 0x0275),
            VR::SQ,
            DataSetSequence::new(items, Length::UNDEFINED),
        ));
    }
    if let Some(time) = started {
        object.put(InMemElement::new(
            Tag(0x0040, 0x0245),
            VR::TM,
            PrimitiveValue::from(time),
        ));
    }
    object.write_to_file(&file).expect("write the DX");
    web::stow_ok(server, &[&std::fs::read(file).expect("read")]);
    spec.series_uid.clone()
}

/// The series keys PS3.18 requires (Table 10.6.1-5) beside the plain
/// ones: the Requested Procedure and Scheduled Procedure Step IDs of the
/// Request Attributes Sequence, by keyword or tag path, both within one
/// item, and the step's start time; the series answer with their items.
/// A sequence path the archive does not match on is ignored with a
/// warning; one that names no attribute is refused.
#[test]
fn series_are_found_by_the_orders_they_were_acquired_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let two_orders = store_ordered_dx(
        &server,
        dir.path(),
        41,
        &[(Some("RP-100"), Some("SPS-1")), (Some("RP-200"), None)],
        Some("101500"),
    );
    let one_order = store_ordered_dx(
        &server,
        dir.path(),
        42,
        &[(Some("RP-300"), Some("SPS-9"))],
        Some("143000.5"),
    );
    let no_order = store_ordered_dx(&server, dir.path(), 43, &[], None);
    let series = |query: &str| -> BTreeSet<String> {
        web::qido(&server, &format!("/series?{query}"))
            .iter()
            .map(|r| string_value(r, "0020000E").expect("SeriesInstanceUID"))
            .collect()
    };
    for (query, want) in [
        (
            "RequestAttributesSequence.RequestedProcedureID=RP-200",
            vec![&two_orders],
        ),
        ("00400275.00401001=RP-300", vec![&one_order]),
        (
            "RequestAttributesSequence.00401001=RP-*",
            vec![&two_orders, &one_order],
        ),
        ("00400275.ScheduledProcedureStepID=SPS-9", vec![&one_order]),
        (
            "RequestAttributesSequence.RequestedProcedureID=RP-100\
             &RequestAttributesSequence.ScheduledProcedureStepID=SPS-1",
            vec![&two_orders],
        ),
        // one item must hold both
        (
            "RequestAttributesSequence.RequestedProcedureID=RP-200\
             &RequestAttributesSequence.ScheduledProcedureStepID=SPS-1",
            vec![],
        ),
        (
            "RequestAttributesSequence.RequestedProcedureID=rp-100",
            vec![],
        ),
        (
            "PerformedProcedureStepStartTime=1000-1100",
            vec![&two_orders],
        ),
        ("00400245=1430", vec![&one_order]),
        (
            "RequestAttributesSequence.RequestedProcedureID=*",
            vec![&two_orders, &one_order, &no_order],
        ),
    ] {
        let want: BTreeSet<String> = want.into_iter().cloned().collect();
        assert_eq!(series(query), want, "{query}");
    }

    let found = web::qido(&server, &format!("/series?SeriesInstanceUID={two_orders}"));
    let items = web::items(&found[0], "00400275");
    let ids: Vec<(Option<String>, Option<String>)> = items
        .iter()
        .map(|i| (string_value(i, "00401001"), string_value(i, "00400009")))
        .collect();
    assert_eq!(
        ids,
        vec![
            (Some("RP-100".into()), Some("SPS-1".into())),
            (Some("RP-200".into()), None)
        ]
    );
    assert_eq!(
        string_value(&found[0], "00400245").as_deref(),
        Some("101500")
    );
    let plain = web::qido(&server, &format!("/series?SeriesInstanceUID={no_order}"));
    assert!(plain[0].get("00400275").is_none(), "{}", plain[0]);

    let ask = |path: &str| {
        web::get(
            &format!("{}{path}", server.base()),
            Some("application/dicom+json"),
        )
    };
    let ignored =
        ask("/series?ReferencedPerformedProcedureStepSequence.ReferencedSOPInstanceUID=1.2.3");
    assert_eq!(ignored.status, 200, "{}", ignored.text());
    assert_eq!(ignored.json().as_array().map(Vec::len), Some(3));
    assert!(
        ignored.warnings().contains("not supported"),
        "{}",
        ignored.warnings()
    );
    let at_study_level = ask("/studies?RequestAttributesSequence.RequestedProcedureID=RP-200");
    assert_eq!(at_study_level.status, 200, "{}", at_study_level.text());
    assert!(
        at_study_level
            .warnings()
            .contains("not supported in a search for studies"),
        "{}",
        at_study_level.warnings()
    );
    let typo = ask("/series?RequestAttributesSequense.RequestedProcedureID=1");
    assert_eq!(typo.status, 400, "{}", typo.text());
    assert!(server.stop().success());
}
