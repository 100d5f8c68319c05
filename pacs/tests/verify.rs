//! `pacs verify` against a real archive on disk: intact instances pass; a
//! damaged data set, a damaged file meta group, a truncated object and a
//! deleted one are each named with their instance; an object no index
//! entry names is listed; and all of it beside a running server, which
//! goes on serving the intact instances. `--reindex` brings back studies
//! an index restored from an older backup lacks.

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use cli::{import_ct, pacs, text};
use common::{Server, ct_files};
use dicom_samples::SampleTransferSyntax;

/// The object file of the instance `sop`.
fn object_of(data: &Path, sop: &str) -> PathBuf {
    web::files_under(&data.join("objects").join("dicom"))
        .into_iter()
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{sop}.")))
        })
        .unwrap_or_else(|| panic!("no object for {sop}"))
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("object read");
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).expect("object written");
}

#[test]
fn verify_names_every_damaged_or_missing_instance_and_unindexed_objects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let (spec, files) = import_ct(&data, &dir.path().join("ct"), 6, 61);
    let out = pacs(&data, &["verify", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 studies: 6 instances intact"),
        "{}",
        text(&out)
    );

    let sops: Vec<String> = files
        .iter()
        .map(|f| {
            let o = dicom_object::open_file(f).expect("sample readable");
            o.meta()
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0')
                .to_owned()
        })
        .collect();
    // A bit flipped in the pixels, one in the file meta group (the
    // implementation version name, near its end), a truncated object and
    // a deleted one.
    let pixels = object_of(&data, &sops[0]);
    let len = std::fs::metadata(&pixels).expect("size").len() as usize;
    flip_byte(&pixels, len - 100);
    let meta = object_of(&data, &sops[1]);
    let meta_end = std::fs::read(&meta).expect("read")[..1024]
        .windows(4)
        .position(|w| w == [0x08, 0x00, 0x05, 0x00])
        .expect("the data set's first element");
    flip_byte(&meta, meta_end - 2);
    let truncated = object_of(&data, &sops[2]);
    let bytes = std::fs::read(&truncated).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("truncated");
    std::fs::remove_file(object_of(&data, &sops[3])).expect("deleted");
    // A copy under a name no index entry has, in a study the index does
    // not know.
    let stray = data
        .join("objects/dicom/1.2.3.999/1.2.3.999.1")
        .join("1.2.3.999.1.1.0123456789abcdef01234567.dcm");
    std::fs::create_dir_all(stray.parent().unwrap()).expect("dirs");
    std::fs::copy(object_of(&data, &sops[4]), &stray).expect("copied");

    // Beside a running server.
    let server = Server::start(&data);
    let out = pacs(&data, &["verify", "--quiet"]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(2), "{report}");
    let line = |sop: &str| {
        report
            .lines()
            .find(|l| l.contains(&format!(" {sop} ")))
            .unwrap_or_else(|| panic!("{sop} is not reported:\n{report}"))
            .to_owned()
    };
    assert!(line(&sops[0]).starts_with("damaged"), "{report}");
    assert!(
        line(&sops[0]).contains("SHA-256 of its data set"),
        "{report}"
    );
    assert!(line(&sops[1]).starts_with("damaged"), "{report}");
    assert!(line(&sops[1]).contains("file meta group"), "{report}");
    assert!(line(&sops[2]).starts_with("damaged"), "{report}");
    assert!(line(&sops[2]).contains("bytes"), "{report}");
    assert!(line(&sops[3]).starts_with("missing"), "{report}");
    assert!(
        !report.contains(&format!(" {} ", sops[4])) && !report.contains(&format!(" {} ", sops[5])),
        "intact instances are not reported: {report}"
    );
    assert!(
        report.contains(
            "unindexed dicom/1.2.3.999/1.2.3.999.1/1.2.3.999.1.1.0123456789abcdef01234567.dcm"
        ),
        "{report}"
    );
    assert!(
        report.contains("1 studies: 2 instances intact")
            && report.contains("4 with problems / 1 objects unindexed"),
        "{report}"
    );

    // One study only; and the server still serves what is intact.
    let out = pacs(
        &data,
        &["verify", "--quiet", "--study", &spec.study.study_uid],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("0 objects unindexed"),
        "only the study's objects are listed: {}",
        text(&out)
    );
    assert!(stray.exists(), "verify removes nothing");
    let intact = common::http()
        .get(server.url(&format!(
            "/dicom-web/studies/{}/series/{}/instances/{}",
            spec.study.study_uid, spec.series_uid, sops[4]
        )))
        .header("accept", "multipart/related; type=\"application/dicom\"")
        .send()
        .expect("retrieve");
    assert_eq!(intact.status().as_u16(), 200);
    server.stop();
}

/// Every file below `dir`, with its bytes.
fn files_with_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = web::files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("object read");
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// The index's journal files, which a restored copy must not meet.
fn remove_index_journals(data: &Path) {
    for name in ["index.sqlite-wal", "index.sqlite-shm"] {
        match std::fs::remove_file(data.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("{name}: {e}"),
            _ => {}
        }
    }
}

/// The index is backed up while the archive serves, and restored from
/// that backup after a site's study arrived: verify lists that study's
/// objects as unindexed; `--reindex`
/// leaves them while they might belong to a store under way, then indexes
/// them as the site's (from the AE title they were sent with), named as
/// they are rather than copied; it leaves an object whose instance the
/// index holds under another key. The archive then serves the study, and
/// the site's reading task is back on the worklist.
#[test]
fn reindex_brings_back_studies_an_older_index_backup_lacks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    common::accounts::pacs_cli(
        &data,
        &["site", "add", "fergana", "--aet", "FERGANA_CT"],
        "",
    );
    let (_, first) = import_ct(&data, &dir.path().join("first"), 3, 71);

    // The nightly backup of the index, while the archive serves; a
    // backup that cannot be written says why.
    let server = Server::start(&data);
    let backup = dir.path().join("backup").join("index.sqlite");
    let out = pacs(&data, &["backup", "--to", "/nonexistent/dir/index.sqlite"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("cannot"), "{}", text(&out));
    // Never over the live index, nor anywhere in the data directory.
    for inside in [
        data.join("index.sqlite"),
        data.join("objects").join("b.sqlite"),
    ] {
        let out = pacs(&data, &["backup", "--to", inside.to_str().unwrap()]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("inside the data directory"),
            "{}",
            text(&out)
        );
    }
    std::fs::create_dir_all(backup.parent().unwrap()).expect("backup dir");
    let out = pacs(&data, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 studies, 3 instances"),
        "{}",
        text(&out)
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup)
            .expect("backup")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "password hashes are in it");
    }
    let leftovers: Vec<_> = std::fs::read_dir(backup.parent().unwrap())
        .expect("backup dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    // The site sends a study; then the index is lost and the backup put back.
    let (spec, second) = ct_files(
        &dir.path().join("second"),
        4,
        72,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let sent = scu::run(
        scu::storescu_command(&server, "FERGANA_CT", &[], &second),
        Duration::from_secs(60),
    );
    assert!(sent.success(), "{}", sent.text);
    server.stop();
    let study_dir = data.join("objects/dicom").join(&spec.study.study_uid);
    let stored = files_with_bytes(&study_dir);
    assert_eq!(stored.len(), 4);
    let out = pacs(&data, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    // Back in service at once; the studies since the backup come back
    // beside it.
    let server = Server::start(&data);

    // An older copy of an instance the index holds, under another key.
    let kept = object_of(&data, &sop_of_file(&first[0]));
    let name = kept.file_name().unwrap().to_str().unwrap();
    let (sop, _) = name.strip_suffix(".dcm").unwrap().rsplit_once('.').unwrap();
    let leftover = kept.with_file_name(format!("{sop}.00000000000000000000000000000000.dcm"));
    std::fs::copy(&kept, &leftover).expect("copied");

    let out = pacs(&data, &["verify", "--quiet"]);
    let report = text(&out);
    assert!(out.status.success(), "nothing indexed is damaged: {report}");
    assert!(
        report.contains("1 studies: 3 instances intact") && report.contains("5 objects unindexed"),
        "{report}"
    );

    // Just written (as far as the clock goes), beside a server: left to
    // their stores.
    let out = pacs(&data, &["verify", "--quiet", "--reindex"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("is in use (a server or an import)")
            && report.contains("reindexed 0 / left alone 5 / failed 0"),
        "{report}"
    );
    assert!(
        report.contains("its store may still be under way"),
        "{report}"
    );

    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for (path, _) in &stored {
        let f = std::fs::File::options()
            .write(true)
            .open(path)
            .expect("open");
        f.set_modified(an_hour_ago).expect("mtime");
    }
    let out = pacs(&data, &["verify", "--quiet", "--reindex"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("reindexed 4 / left alone 1 / failed 0"),
        "{report}"
    );
    assert_eq!(
        report.matches("(site fergana)").count(),
        4,
        "the site comes from the AE title the study was sent with: {report}"
    );
    let leftover_key = leftover.strip_prefix(data.join("objects")).unwrap();
    assert!(
        report.contains(&format!(
            "unindexed {}: left alone, the index holds",
            leftover_key.display()
        )),
        "{report}"
    );
    // Named where they lie, not copied; and nothing was removed.
    assert_eq!(files_with_bytes(&study_dir), stored);
    assert!(leftover.exists());

    let out = pacs(&data, &["verify", "--quiet"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("2 studies: 7 instances intact") && report.contains("1 objects unindexed"),
        "{report}"
    );

    let found: serde_json::Value = common::http()
        .get(server.url(&format!(
            "/dicom-web/studies?StudyInstanceUID={}&includefield=00201208",
            spec.study.study_uid
        )))
        .send()
        .expect("search")
        .json()
        .expect("json");
    assert_eq!(found[0]["00201208"]["Value"][0], 4, "{found}");
    let sop = sop_of_file(&second[0]);
    let retrieved = common::http()
        .get(server.url(&format!(
            "/dicom-web/studies/{}/series/{}/instances/{sop}",
            spec.study.study_uid, spec.series_uid
        )))
        .header(
            "accept",
            "multipart/related; type=\"application/dicom\"; transfer-syntax=*",
        )
        .send()
        .expect("retrieve");
    assert_eq!(retrieved.status().as_u16(), 200);
    let body = retrieved.bytes().expect("body");
    let object = stored
        .iter()
        .find(|(p, _)| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{sop}."))
        })
        .expect("its object");
    assert!(
        body.windows(object.1.len())
            .any(|w| w == object.1.as_slice()),
        "the retrieved instance is the object as sent"
    );
    // The task keeps its place in the queue: it is as old as the study's
    // objects, not as the reindex.
    let worklist: serde_json::Value = common::http()
        .get(server.url("/api/worklist"))
        .send()
        .expect("worklist")
        .json()
        .expect("json");
    let task = worklist["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["study_uid"] == spec.study.study_uid.as_str())
        .unwrap_or_else(|| panic!("no task for the study: {worklist}"));
    assert_eq!(task["site"], "fergana", "{task}");
    let received = chrono::DateTime::parse_from_rfc3339(task["received_at"].as_str().unwrap())
        .expect("a time");
    let sent = chrono::DateTime::<chrono::Utc>::from(an_hour_ago);
    assert!(
        (received.timestamp() - sent.timestamp()).abs() <= 1,
        "received {received}, written {sent}: {task}"
    );
    server.stop();
}

fn sop_of_file(path: &Path) -> String {
    dicom_object::open_file(path)
        .expect("sample readable")
        .meta()
        .media_storage_sop_instance_uid()
        .trim_end_matches('\0')
        .to_owned()
}

/// An index lost with the server stopped (the disk it lay on replaced,
/// no backup): `--reindex` takes the data directory whole, so no store
/// can be under way, and indexes every object at once, however new.
#[test]
fn reindex_with_nothing_else_running_indexes_every_object_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let (spec, files) = import_ct(&data, &dir.path().join("ct"), 3, 73);
    let study_dir = data.join("objects/dicom").join(&spec.study.study_uid);
    let stored = files_with_bytes(&study_dir);
    std::fs::remove_file(data.join("index.sqlite")).expect("index lost");
    remove_index_journals(&data);
    let out = pacs(&data, &["verify", "--quiet", "--reindex"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    // It held the directory as a server would (which `data_lock`'s own
    // tests show refuses a server meanwhile), and says whose it was.
    let holder = std::fs::read_to_string(data.join("pacs.lock")).expect("pacs.lock");
    assert!(
        holder.contains("pacs verify --reindex, process"),
        "{holder}"
    );
    assert!(
        report.contains("nothing else uses")
            && report.contains("reindexed 3 / left alone 0 / failed 0"),
        "{report}"
    );
    assert_eq!(files_with_bytes(&study_dir), stored, "named where they lie");

    let report = text(&pacs(&data, &["verify", "--quiet"]));
    let whole = ["1 studies: 3 instances intact", "0 objects unindexed"];
    assert!(whole.iter().all(|w| report.contains(w)), "{report}");
    let server = Server::start(&data);
    let found = web::qido(
        &server,
        &format!("/studies/{}/series", spec.study.study_uid),
    );
    assert_eq!(
        web::int_value(&found[0], "00201209"),
        Some(files.len() as i64)
    );
    server.stop();
}

/// An object reindexing refuses (its series belongs to another study in
/// the index) is reported, makes verify fail, and stays exactly where it
/// was: it may be the only copy of what a modality sent.
#[test]
fn an_object_reindexing_refuses_stays_where_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let (indexed, _) = import_ct(&data, &dir.path().join("indexed"), 2, 81);

    // Another study that reuses the indexed series' UID, stored by another
    // archive; its object then turns up in this one's storage.
    let mut clash = dicom_samples::CtSpec::chest(dicom_samples::Patient::ivanov_iso_ir_144(), 82)
        .with_slices(1)
        .with_matrix(64, 64);
    clash.series_uid = indexed.series_uid.clone();
    let clash_dir = dir.path().join("clash");
    dicom_samples::write_ct_series(
        &clash,
        &clash_dir,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )
    .expect("clash written");
    let renamed = Command::new(scu::DCMODIFY)
        .args(["-nb", "-m", "(0008,0018)=1.2.826.0.1.3680043.10.1453.99.1"])
        .args(web::files_under(&clash_dir))
        .output()
        .expect("dcmodify runs");
    assert!(renamed.status.success(), "{renamed:?}");
    let other = dir.path().join("other");
    let out = pacs(&other, &["import", "--quiet", clash_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let (source, bytes) = files_with_bytes(&other.join("objects/dicom"))
        .pop()
        .expect("its object");
    let key = source.strip_prefix(other.join("objects")).unwrap();
    let placed = data.join("objects").join(key);
    std::fs::create_dir_all(placed.parent().unwrap()).expect("dirs");
    std::fs::write(&placed, &bytes).expect("placed");
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&placed)
        .expect("open")
        .set_modified(an_hour_ago)
        .expect("mtime");

    let out = pacs(&data, &["verify", "--quiet", "--reindex"]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(2), "{report}");
    assert!(
        report.contains(&format!("unindexed {}: cannot reindex it", key.display())),
        "{report}"
    );
    assert!(
        report.contains("reindexed 0 / left alone 0 / failed 1"),
        "{report}"
    );
    assert_eq!(
        std::fs::read(&placed).expect("still there"),
        bytes,
        "the object is left as it was"
    );
}

/// An instance whose file meta group carries more private information
/// than a first read covers is still checked, and found intact.
#[test]
fn an_instance_with_a_long_file_meta_group_verifies_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let spec = dicom_samples::CtSpec::chest(dicom_samples::Patient::ivanov_iso_ir_144(), 83)
        .with_slices(1)
        .with_matrix(64, 64);
    let mut slice = dicom_samples::ct_slice(&spec, 0).expect("slice");
    slice.meta_mut().private_information_creator_uid = Some("1.2.826.0.1.3680043.10.1453.7".into());
    slice.meta_mut().private_information = Some(vec![0x5A; 70_000]);
    slice.meta_mut().update_information_group_length();
    let bytes = dicom_samples::to_bytes(&mut slice, SampleTransferSyntax::ExplicitVrLittleEndian)
        .expect("encode");
    let file = dir.path().join("long-meta.dcm");
    std::fs::write(&file, &bytes).expect("written");
    let out = pacs(&data, &["import", "--quiet", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = pacs(&data, &["verify", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 studies: 1 instances intact"),
        "{}",
        text(&out)
    );
}

/// Reindexing after a restore, with `duplicate_policy = "replace"`: an
/// instance replaced since the backup has an entry naming the removed
/// copy, and is indexed again from its newer object; an upload over
/// DICOMweb comes back without a site even when its own file meta group
/// names a site's AE title (only a C-STORE's caller is the archive's to
/// trust).
#[test]
fn reindex_after_a_restore_takes_the_newer_copy_and_trusts_only_dimse_callers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = dir.path().join("pacs.toml");
    std::fs::write(&config, "[ingest]\nduplicate_policy = \"replace\"\n").expect("config");
    let with_config = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", config.to_str().unwrap()]);
        pacs(&data, &all)
    };
    common::accounts::pacs_cli(
        &data,
        &["site", "add", "fergana", "--aet", "FERGANA_CT"],
        "",
    );
    let (_, old) = ct_files(
        &dir.path().join("old"),
        1,
        97,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let out = with_config(&[
        "import",
        "--quiet",
        dir.path().join("old").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let backup = dir.path().join("index-backup.sqlite");
    let out = pacs(&data, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    // Since the backup: the instance corrected, and another study uploaded
    // with a file meta group naming the site's AE title.
    let corrected = dir.path().join("corrected.dcm");
    std::fs::copy(&old[0], &corrected).expect("copy");
    let out = common::dcmtk(
        "dcmodify",
        &[
            "-nb",
            "-m",
            "(0008,103E)=corrected",
            corrected.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let spec = dicom_samples::CtSpec::chest(dicom_samples::Patient::ivanov_iso_ir_144(), 98)
        .with_slices(1)
        .with_matrix(64, 64);
    let mut upload = dicom_samples::ct_slice(&spec, 0).expect("slice");
    upload.meta_mut().source_application_entity_title = Some("FERGANA_CT".into());
    upload.meta_mut().update_information_group_length();
    let upload = dicom_samples::to_bytes(&mut upload, SampleTransferSyntax::ExplicitVrLittleEndian)
        .expect("encode");
    let server = Server::start_with(&data, Some(&config), &[]);
    let corrected_bytes = std::fs::read(&corrected).expect("read");
    for bytes in [&corrected_bytes, &upload] {
        let r = web::stow(&server, None, &[bytes.as_slice()]);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    server.stop();
    std::fs::copy(&backup, data.join("index.sqlite")).expect("restored");
    remove_index_journals(&data);
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for (path, _) in files_with_bytes(&data.join("objects/dicom")) {
        let f = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        f.set_modified(an_hour_ago).expect("mtime");
    }

    let out = with_config(&["verify", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the old copy is gone: {}",
        text(&out)
    );
    let out = with_config(&["verify", "--quiet", "--reindex"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("reindexed 2 / left alone 0 / failed 0"),
        "{report}"
    );
    assert_eq!(report.matches("(no site)").count(), 2, "{report}");
    assert!(!report.contains("site fergana"), "{report}");
    let out = with_config(&["verify", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("2 studies: 2 instances intact"),
        "{}",
        text(&out)
    );
    let sop = sop_of_file(&corrected);
    let (_, bytes) = files_with_bytes(&data.join("objects/dicom"))
        .into_iter()
        .find(|(p, _)| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{sop}.")))
        })
        .expect("the instance's object");
    assert_eq!(
        bytes, corrected_bytes,
        "the corrected copy is the one indexed"
    );
}

/// Only one `pacs serve` may use a data directory, and `pacs restore`
/// waits for it to stop. A restore checks the copy before anything is
/// moved, keeps the index it replaces, and the archive then serves what
/// the backup held.
#[test]
fn restore_waits_for_the_server_and_keeps_the_index_it_replaces() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let (before, _) = import_ct(&data, &dir.path().join("before"), 2, 73);
    let backup = dir.path().join("index-backup.sqlite");
    let out = pacs(&data, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let (after, _) = import_ct(&data, &dir.path().join("after"), 1, 74);

    // A second server on the same directory is refused, naming the first.
    let out = pacs(
        &data,
        &[
            "serve",
            "--http-addr",
            "127.0.0.1:0",
            "--dicom-addr",
            "127.0.0.1:0",
        ],
    );
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("in use by another pacs"), "{said}");
    assert!(
        said.contains(&format!("pacs serve, process {}", server.pid())),
        "{said}"
    );
    // So is a restore while it serves.
    let out = pacs(&data, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("in use by another pacs"),
        "{}",
        text(&out)
    );
    server.stop();

    // A file that is not an index changes nothing.
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, b"not a database at all").expect("junk");
    let index_before = std::fs::read(data.join("index.sqlite")).expect("index");
    let out = pacs(&data, &["restore", "--from", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("cannot restore"), "{}", text(&out));
    assert!(
        std::fs::read(data.join("index.sqlite")).expect("index") == index_before,
        "the index is untouched"
    );

    let out = pacs(&data, &["restore", "--from", backup.to_str().unwrap()]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 studies, 2 instances"), "{said}");
    let kept: Vec<String> = std::fs::read_dir(&data)
        .expect("data dir")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("index.sqlite.before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1, "the replaced index is kept: {kept:?}");
    assert!(said.contains(&kept[0]), "{said}");

    // The archive serves what the backup held (what came after it is for
    // `verify --reindex`, tested above).
    let server = Server::start(&data);
    let studies = web::qido(&server, "/studies");
    let uids: Vec<String> = studies
        .iter()
        .filter_map(|s| web::string_value(s, "0020000D"))
        .collect();
    assert_eq!(uids, vec![before.study.study_uid.clone()]);
    assert!(!uids.contains(&after.study.study_uid));
    server.stop();
}
