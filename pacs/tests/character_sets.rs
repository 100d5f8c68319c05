//! Names in the character sets equipment sends, against the real server:
//! ISO 2022 code extensions written by pydicom (Cyrillic, and the Japanese
//! and Korean examples of PS3.5), and windows-1251 text that names no
//! character set, read as the archive is configured to. Searches and
//! metadata must say what pydicom reads, and a name is found by any of its
//! forms; the stored objects stay byte for byte as sent.

mod common;
#[path = "common/dicomweb_support.rs"]
mod web;

use serde_json::Value;

use common::Server;
use web::{DICOM_ANY_TS, get, python_or_skip, qido, run_python, stow_ok};

/// The person name groups of a DICOM JSON PN value.
fn name_groups(obj: &Value) -> Vec<String> {
    let name = &obj["00100010"]["Value"][0];
    ["Alphabetic", "Ideographic", "Phonetic"]
        .iter()
        .filter_map(|g| name[g].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn names_in_code_extensions_and_undeclared_code_pages_read_as_written() {
    let Some(python) =
        python_or_skip("names_in_code_extensions_and_undeclared_code_pages_read_as_written")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let files = dir.path().join("files");
    let cases = run_python(
        &python,
        "charset_files.py",
        &[files.to_str().expect("utf-8 path")],
    );
    let cases = cases.as_object().expect("cases");
    assert_eq!(cases.len(), 4);
    let config = dir.path().join("pacs.toml");
    std::fs::write(
        &config,
        "[ingest]\nundeclared_character_set = \"windows-1251\"\n",
    )
    .expect("config");
    let server = Server::start_with(&dir.path().join("data"), Some(&config), &[]);
    let bytes: Vec<Vec<u8>> = cases
        .values()
        .map(|c| std::fs::read(c["file"].as_str().expect("file")).expect("readable"))
        .collect();
    stow_ok(
        &server,
        &bytes.iter().map(Vec::as_slice).collect::<Vec<_>>(),
    );

    for ((case, want), sent) in cases.iter().zip(&bytes) {
        let study = want["study"].as_str().expect("study");
        let names: Vec<String> = want["name"]
            .as_array()
            .expect("name groups")
            .iter()
            .map(|g| g.as_str().expect("a group").to_owned())
            .collect();
        let found = qido(
            &server,
            &format!("/studies?StudyInstanceUID={study}&includefield=00081030"),
        );
        assert_eq!(found.len(), 1, "{case}");
        assert_eq!(name_groups(&found[0]), names, "{case}: the study list");
        assert_eq!(
            found[0]["00081030"]["Value"][0], want["description"],
            "{case}: the study description"
        );
        // The metadata a viewer reads says the same.
        let reply = get(
            &server.url(&format!("/dicom-web/studies/{study}/metadata")),
            Some("application/dicom+json"),
        );
        assert_eq!(reply.status, 200, "{case}: {}", reply.text());
        let metadata = reply.json();
        assert_eq!(name_groups(&metadata[0]), names, "{case}: metadata");
        // What is stored is what was sent.
        let parts = get(
            &server.url(&format!("/dicom-web/studies/{study}")),
            Some(DICOM_ANY_TS),
        )
        .parts();
        assert_eq!(parts.len(), 1, "{case}");
        assert!(&parts[0].body == sent, "{case}: stored byte for byte");
    }

    // A name is found by what a person types, in whichever of its forms,
    // case aside.
    let patient_of = |query: &str| -> Vec<String> {
        qido(
            &server,
            &format!("/studies?PatientName={query}&includefield=00100020"),
        )
        .iter()
        .filter_map(|s| web::string_value(s, "00100020"))
        .collect()
    };
    for (query, patient) in [
        ("Петров*", "undeclared"),
        ("Ivanov^Ivan", "cyrillic"),
        ("иванов^иван", "cyrillic"),
        ("Иван*", "cyrillic"),
        ("山田*", "japanese"),
        ("やまだ^たろう", "japanese"),
        ("yamada*", "japanese"),
        ("홍^길동", "korean"),
        ("洪*", "korean"),
    ] {
        assert_eq!(patient_of(query), vec![patient], "{query}");
    }
    assert!(patient_of("Ivanov^Ivan=Иванов^Иван").contains(&"cyrillic".to_owned()));
    assert!(server.stop().success());
}
