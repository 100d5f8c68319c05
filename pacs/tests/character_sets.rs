//! Names in the character sets equipment sends, against the real server:
//! ISO 2022 code extensions written by pydicom (Cyrillic, and the Japanese
//! and Korean examples of PS3.5), and windows-1251 text that names no
//! character set, read as the archive is configured to. Searches and
//! metadata must say what pydicom reads, and a name is found by any of its
//! forms; the stored objects stay byte for byte as sent. Studies that
//! arrived before the archive was told what undeclared text is are read
//! again by `pacs refresh`, beside the running server.

mod common;
#[path = "common/qr_archive.rs"]
mod qr_archive;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use serde_json::Value;

use common::{Server, accounts};
use web::{DICOM_ANY_TS, get, python_or_skip, qido, run_python, stow_ok};

/// The person name groups of a DICOM JSON PN value.
fn name_groups(obj: &Value) -> Vec<String> {
    let name = &obj["00100010"]["Value"][0];
    ["Alphabetic", "Ideographic", "Phonetic"]
        .iter()
        .filter_map(|g| name[g].as_str().map(str::to_owned))
        .collect()
}

/// A temporary directory with the files `charset_files.py` writes, and
/// its cases by name: `file`, `study`, `name` groups and `description`
/// as pydicom reads them. `None` where Python is missing and allowed to be.
fn charset_cases(test: &str) -> Option<(tempfile::TempDir, serde_json::Map<String, Value>)> {
    let python = python_or_skip(test)?;
    let dir = tempfile::tempdir().expect("temp dir");
    let files = dir.path().join("files");
    let cases = run_python(
        &python,
        "charset_files.py",
        &[files.to_str().expect("utf-8 path")],
    );
    let cases = cases.as_object().expect("cases").clone();
    assert_eq!(cases.len(), 4);
    Some((dir, cases))
}

/// A configuration, in `dir`, saying that undeclared text is windows-1251.
fn windows_1251_config(dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("pacs.toml");
    std::fs::write(
        &config,
        "[ingest]\nundeclared_character_set = \"windows-1251\"\n",
    )
    .expect("config");
    config
}

#[test]
fn names_in_code_extensions_and_undeclared_code_pages_read_as_written() {
    let Some((dir, cases)) =
        charset_cases("names_in_code_extensions_and_undeclared_code_pages_read_as_written")
    else {
        return;
    };
    let config = windows_1251_config(dir.path());
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

    // A console queries in the character set it stores in: code
    // extensions, or its code page named nowhere.
    let found = |env: &[(&str, &str)], name: &str| -> Vec<String> {
        let keys = [format!("PatientName={name}"), "PatientID=".to_owned()];
        let args: Vec<&str> = ["study", "STUDY"]
            .into_iter()
            .chain(keys.iter().map(String::as_str))
            .collect();
        let responses = qr_archive::pynetdicom(&server, "find.py", &args, env);
        assert_eq!(
            responses.last().map(|r| r["status"].clone()),
            Some("0x0000".into()),
            "{responses:?}"
        );
        responses
            .iter()
            .filter_map(|r| web::string_value(&r["identifier"], "00100020"))
            .collect()
    };
    let code_extensions = [("QUERY_CHARSET", "\\ISO 2022 IR 144")];
    assert_eq!(found(&code_extensions, "Иван*"), vec!["cyrillic"]);
    assert_eq!(found(&code_extensions, "Иванов^Иван"), vec!["cyrillic"]);
    let latin_and_cyrillic = [("QUERY_CHARSET", "ISO 2022 IR 6\\ISO 2022 IR 144")];
    assert_eq!(found(&latin_and_cyrillic, "иванов^иван"), vec!["cyrillic"]);
    let code_page = [("QUERY_UNDECLARED", "cp1251")];
    assert_eq!(found(&code_page, "Петров*"), vec!["undeclared"]);
    assert!(server.stop().success());
}

/// Runs `pacs refresh --quiet ARGS` on `data`: its exit code and output.
fn refresh(data: &std::path::Path, args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pacs"))
        .args(["refresh", "--quiet", "--data-dir"])
        .arg(data)
        .args(args)
        .output()
        .expect("pacs refresh runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn pacs_refresh_reads_names_stored_before_the_archive_knew_their_code_page() {
    let Some((dir, cases)) =
        charset_cases("pacs_refresh_reads_names_stored_before_the_archive_knew_their_code_page")
    else {
        return;
    };
    let data = dir.path().join("data");
    let file_of =
        |case: &str| std::fs::read(cases[case]["file"].as_str().expect("file")).expect("readable");
    let study_of = |case: &str| cases[case]["study"].as_str().expect("study").to_owned();
    let undeclared = study_of("undeclared");
    let sent = file_of("undeclared");

    // Stored while the archive did not know what undeclared text is.
    let server = Server::start(&data);
    let all: Vec<Vec<u8>> = ["cyrillic", "japanese", "korean", "undeclared"]
        .iter()
        .map(|c| file_of(c))
        .collect();
    stow_ok(&server, &all.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let listed = |server: &Server| -> Vec<String> {
        let found = qido(
            server,
            &format!("/studies?StudyInstanceUID={undeclared}&includefield=00081030"),
        );
        assert_eq!(found.len(), 1);
        let mut values = name_groups(&found[0]);
        values.extend(web::string_value(&found[0], "00081030"));
        values
    };
    let garbled = listed(&server);
    assert_ne!(garbled[0], "Петров^Пётр");
    assert!(qido(&server, "/studies?PatientName=Петров*").is_empty());
    assert!(server.stop().success());

    // Told now; the server serves while the stored studies are read again.
    let config = windows_1251_config(dir.path());
    let server = Server::start_with(&data, Some(&config), &[]);
    assert_eq!(listed(&server), garbled, "the index holds the old reading");
    let with_config = [std::ffi::OsStr::new("--config"), config.as_os_str()];
    // Without the configuration it would read as before: it says so.
    let (code, out) = refresh(&data, &[std::ffi::OsStr::new("--dry-run")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("undeclared_character_set is not set"), "{out}");
    assert!(!out.contains("refresh study"), "{out}");
    // A dry run says what would change, and changes nothing.
    let (code, out) = refresh(
        &data,
        &[&with_config[..], &[std::ffi::OsStr::new("--dry-run")]].concat(),
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("read as windows-1251"), "{out}");
    assert!(
        out.contains(&format!(
            "would refresh study {undeclared}: PatientName, StudyDescription"
        )),
        "{out}"
    );
    assert_eq!(listed(&server), garbled, "a dry run changes nothing");
    let (code, out) = refresh(&data, &with_config);
    assert_eq!(code, Some(0), "{out}");
    let changed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("refreshed study"))
        .collect();
    assert_eq!(
        changed,
        vec![format!(
            "refreshed study {undeclared}: PatientName, StudyDescription"
        )],
        "only the study that was misread: {out}"
    );
    assert!(
        out.contains("4 studies, 4 instances read: 1 studies' attributes / 0 series' / 1 instances' metadata changed; 0 failed"),
        "{out}"
    );
    assert_eq!(
        listed(&server),
        vec!["Петров^Пётр", "Рентгенография грудной клетки"]
    );
    let found = qido(
        &server,
        "/studies?PatientName=петров*&includefield=00100020",
    );
    assert_eq!(found.len(), 1);
    assert_eq!(
        web::string_value(&found[0], "00100020").as_deref(),
        Some("undeclared")
    );
    let reply = get(
        &server.url(&format!("/dicom-web/studies/{undeclared}/metadata")),
        Some("application/dicom+json"),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(name_groups(&reply.json()[0]), vec!["Петров^Пётр"]);
    let parts = get(
        &server.url(&format!("/dicom-web/studies/{undeclared}")),
        Some(DICOM_ANY_TS),
    )
    .parts();
    assert!(
        parts.len() == 1 && parts[0].body == sent,
        "stored byte for byte"
    );

    // Read again, nothing is new.
    let (code, out) = refresh(&data, &with_config);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("0 studies' attributes / 0 series' / 0 instances' metadata changed; 0 failed"),
        "{out}"
    );

    // (An instance to damage below, found while no account is needed.)
    let cyrillic = qido(
        &server,
        &format!("/studies/{}/instances", study_of("cyrillic")),
    );
    let sop = web::string_value(&cyrillic[0], "00080018").expect("SOP Instance UID");

    // The change is on the audit trail, by the operator at the console.
    accounts::add_user(&data, "admin", "admin", &[]);
    let token = accounts::login(&common::http(), &server.url(""), "admin");
    let events: Value = common::http()
        .get(server.url("/api/audit?action=study_refreshed"))
        .bearer_auth(&token)
        .send()
        .expect("audit request")
        .json()
        .expect("audit JSON");
    let events = events["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["study_uid"], undeclared.as_str());
    assert!(
        events[0]["user"]
            .as_str()
            .is_some_and(|u| u.starts_with("(console ")),
        "{events:?}"
    );
    assert_eq!(
        events[0]["detail"],
        "read again from the stored objects: PatientName, StudyDescription; 0 series' attributes; 1 instances' metadata"
    );

    // An object damaged on disk is named, left as indexed, and the rest
    // is read.
    let object = web::files_under(&data.join("objects").join("dicom"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&sop))
        .expect("the object on disk");
    let mut bytes = std::fs::read(&object).expect("object");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&object, bytes).expect("object damaged");
    let (code, out) = refresh(&data, &with_config);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("failed {sop}")) && l.contains("pacs verify")),
        "{out}"
    );
    assert!(out.contains("4 studies, 4 instances read"), "{out}");
    assert!(server.stop().success());
}
