//! What the archive has acknowledged survives: a crash (SIGKILL) after or
//! during a stream of C-STOREs, an orderly stop (SIGTERM) while one is
//! under way; and `pacs import` of a folder, repeated, then served.

mod common;
#[path = "common/readback.rs"]
mod readback;
#[path = "common/scu.rs"]
mod scu;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, ct_files};
use dicom_samples::{CtSpec, SampleTransferSyntax};
use readback::{all_instances, retrieve, study_instance_count, totals};
use scu::{ResponseParser, Running, data_set_of_file, store_responses, storescu};

const SUCCESS: u16 = 0x0000;

/// A series on disk: its spec, its directory, and its files by SOP
/// Instance UID.
struct Series {
    spec: CtSpec,
    dir: PathBuf,
    files: HashMap<String, PathBuf>,
}

fn series(root: &Path, slices: u32, seed: u64) -> Series {
    let dir = root.join("source");
    let (spec, paths) = ct_files(
        &dir,
        slices,
        seed,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let files = paths
        .into_iter()
        .enumerate()
        .map(|(i, p)| (spec.sop_instance_uid(i as u32), p))
        .collect();
    Series { spec, dir, files }
}

/// The SOP Instance UIDs storescu saw acknowledged with success.
fn acknowledged(text: &str) -> BTreeSet<String> {
    store_responses(text)
        .into_iter()
        .filter(|r| r.status == SUCCESS)
        .map(|r| r.sop_instance_uid)
        .collect()
}

/// Starts storescu on the whole series and returns once `count` stores
/// have been acknowledged, with storescu still sending. It calls with the
/// same AE title as [`storescu`], so that a second send of the same files
/// is the same objects (the calling AE title is recorded in the stored
/// file meta group).
fn stream_until_acknowledged(server: &Server, series: &Series, count: usize) -> Running {
    let mut run = Running::spawn(scu::storescu_command(
        server,
        "STORESCU",
        &["-R", "+sd", "+r"],
        std::slice::from_ref(&series.dir),
    ));
    let deadline = Instant::now() + scu::TOOL_LIMIT;
    let mut parser = ResponseParser::default();
    let mut acked = 0;
    while acked < count {
        let line = run
            .next_line(deadline)
            .unwrap_or_else(|| panic!("storescu stopped after {acked} acknowledged stores"));
        if let Some(response) = parser.line(&line) {
            assert_eq!(response.status, SUCCESS, "{response:?}");
            acked += 1;
        }
    }
    run
}

/// Every instance in `expected` is indexed and its stored data set is the
/// file's; every indexed instance is one of the series' files, retrieves,
/// and is bit-exact. Returns the indexed SOP Instance UIDs.
fn check_archive(
    server: &Server,
    series: &Series,
    expected: &BTreeSet<String>,
) -> BTreeSet<String> {
    let indexed = all_instances(server);
    let indexed_uids: BTreeSet<String> = indexed.iter().map(|(_, _, sop)| sop.clone()).collect();
    let missing: Vec<&String> = expected.difference(&indexed_uids).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    for (study, series_uid, sop) in &indexed {
        assert_eq!(study, &series.spec.study.study_uid);
        assert_eq!(series_uid, &series.spec.series_uid);
        let file = series
            .files
            .get(sop)
            .unwrap_or_else(|| panic!("indexed instance {sop} was never sent"));
        let sent = std::fs::read(file).expect("source file");
        let stored = retrieve(server, study, series_uid, sop);
        assert!(
            data_set_of_file(&stored.body) == data_set_of_file(&sent),
            "the stored data set of {sop} differs from what was sent"
        );
    }
    assert_eq!(
        totals(server).2,
        indexed.len() as u64,
        "every instance row is listed"
    );
    indexed_uids
}

/// Sends the whole series again: every instance is acknowledged (new or
/// identical duplicate) and the study then holds all of them.
fn send_everything_again(server: &Server, series: &Series) {
    let done = storescu(
        server,
        &["-R", "+sd", "+r"],
        std::slice::from_ref(&series.dir),
    );
    assert!(done.success(), "second send failed:\n{}", done.text);
    let responses = store_responses(&done.text);
    assert_eq!(responses.len(), series.files.len());
    assert!(
        responses.iter().all(|r| r.status == SUCCESS),
        "{responses:?}"
    );
    assert_eq!(
        study_instance_count(server, &series.spec.study.study_uid),
        Some(series.files.len() as u64)
    );
}

#[test]
fn kill_9_after_acknowledged_stores_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let series = series(dir.path(), 20, 101);
    let server = Server::start(&data);
    let done = storescu(
        &server,
        &["-R", "+sd", "+r"],
        std::slice::from_ref(&series.dir),
    );
    assert!(done.success(), "storescu failed:\n{}", done.text);
    let acked = acknowledged(&done.text);
    assert_eq!(acked.len(), 20, "{}", done.text);
    server.kill9();

    let server = Server::start(&data);
    let indexed = check_archive(&server, &series, &acked);
    assert_eq!(indexed, acked);
    assert_eq!(
        study_instance_count(&server, &series.spec.study.study_uid),
        Some(20)
    );
}

/// SIGKILL while storescu streams 200 instances: whatever was
/// acknowledged is there and intact, whatever is indexed has its object,
/// and everything can be sent again.
#[test]
fn kill_9_during_a_stream_keeps_every_acknowledged_instance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let series = series(dir.path(), 200, 102);
    let server = Server::start(&data);
    let run = stream_until_acknowledged(&server, &series, 50);
    server.kill9();
    let done = run.finish(scu::TOOL_LIMIT);
    assert!(
        !done.success(),
        "storescu cannot have finished:\n{}",
        done.text
    );
    let acked = acknowledged(&done.text);
    assert!(
        (50..200).contains(&acked.len()),
        "{} acknowledged: the kill was not in the middle",
        acked.len()
    );

    let server = Server::start(&data);
    let indexed = check_archive(&server, &series, &acked);
    assert!(indexed.len() >= acked.len());
    send_everything_again(&server, &series);
    check_archive(&server, &series, &series.files.keys().cloned().collect());
}

/// SIGTERM while storescu streams: the server exits 0 promptly, and every
/// acknowledged instance is there after a restart.
#[test]
fn sigterm_during_a_stream_exits_cleanly_and_keeps_every_acknowledged_instance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let series = series(dir.path(), 200, 103);
    let server = Server::start(&data);
    let run = stream_until_acknowledged(&server, &series, 30);
    let asked = Instant::now();
    let status = server.stop();
    let took = asked.elapsed();
    assert!(status.success(), "the server exited with {status}");
    assert!(took < Duration::from_secs(30), "stopping took {took:?}");
    let done = run.finish(scu::TOOL_LIMIT);
    let acked = acknowledged(&done.text);
    assert!(
        (30..200).contains(&acked.len()),
        "{} acknowledged: the stop was not in the middle",
        acked.len()
    );

    let server = Server::start(&data);
    check_archive(&server, &series, &acked);
    send_everything_again(&server, &series);
}

fn pacs_import(data: &Path, folder: &Path) -> scu::Finished {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pacs"));
    command
        .arg("import")
        .arg("--data-dir")
        .arg(data)
        .arg("--quiet")
        .arg(folder)
        .env("RUST_LOG", "warn")
        .env_remove("PACS_CONFIG")
        .env_remove("PACS_DATA_DIR");
    scu::run(command, scu::TOOL_LIMIT)
}

/// `pacs import` takes a folder recursively, names each file it rejects
/// and why, exits 2 when it rejected any, recognises a second import as
/// duplicates, and `pacs serve` then serves what it stored, byte for byte.
#[test]
fn import_of_a_folder_reports_rejects_and_duplicates_and_is_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let folder = dir.path().join("import");
    let (spec, files) = ct_files(
        &folder,
        5,
        104,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let notes = folder.join("notes").join("readme.txt");
    std::fs::create_dir_all(notes.parent().expect("parent")).expect("dir");
    std::fs::write(&notes, "not a DICOM file\n").expect("write");
    let truncated = folder.join("broken").join("truncated.dcm");
    std::fs::create_dir_all(truncated.parent().expect("parent")).expect("dir");
    let whole = std::fs::read(&files[0]).expect("file");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).expect("write");

    let first = pacs_import(&data, &folder);
    assert_eq!(first.status.code(), Some(2), "{}", first.text);
    assert!(
        first
            .text
            .lines()
            .any(|l| l == "stored 5 / duplicate 0 / rejected 2"),
        "{}",
        first.text
    );
    for rejected in [&notes, &truncated] {
        let prefix = format!("rejected {}: ", rejected.display());
        let line = first
            .text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line for {}:\n{}", rejected.display(), first.text));
        assert!(line.len() > prefix.len(), "a reason is given: {line}");
    }
    assert_eq!(
        first
            .text
            .lines()
            .filter(|l| l.starts_with("rejected "))
            .count(),
        2,
        "{}",
        first.text
    );

    let second = pacs_import(&data, &folder);
    assert_eq!(second.status.code(), Some(2), "{}", second.text);
    assert!(
        second
            .text
            .lines()
            .any(|l| l == "stored 0 / duplicate 5 / rejected 2"),
        "{}",
        second.text
    );

    let server = Server::start(&data);
    assert_eq!(totals(&server), (1, 1, 5));
    for (i, file) in files.iter().enumerate() {
        let sop = spec.sop_instance_uid(i as u32);
        let stored = retrieve(&server, &spec.study.study_uid, &spec.series_uid, &sop);
        let sent = std::fs::read(file).expect("file");
        assert!(
            stored.body == sent,
            "imported file {i} is served byte for byte"
        );
    }
}

/// `pacs import` of what a hospital's disc or USB disk holds: the disc's
/// DICOMDIR is skipped, not a failure; a file that cannot be an instance
/// is refused from its size or first bytes, never read whole; an empty
/// folder is an error, not an import of nothing; and an instance whose
/// stored copy was lost comes back from the file.
#[test]
fn import_skips_a_dicomdir_refuses_unread_and_repairs_a_lost_copy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let folder = dir.path().join("disc");
    let (_, files) = ct_files(
        &folder.join("ct"),
        3,
        105,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    std::fs::create_dir_all(folder.join("DICOM")).expect("dir");
    std::fs::copy(&files[0], folder.join("DICOM").join("IM0")).expect("copy");
    let out = common::dcmtk(
        "dcmmkdir",
        &[
            "+r",
            "+id",
            folder.to_str().expect("path"),
            "+D",
            folder.join("DICOMDIR").to_str().expect("path"),
            "DICOM",
        ],
    );
    assert!(out.status.success(), "dcmmkdir: {out:?}");
    // A film on the same disk, larger than any instance may be (sparse:
    // it takes no room here).
    let film = folder.join("video").join("film.mp4");
    std::fs::create_dir_all(film.parent().expect("parent")).expect("dir");
    std::fs::File::create(&film)
        .and_then(|f| f.set_len(3 << 30))
        .expect("film");

    let first = pacs_import(&data, &folder);
    assert_eq!(first.status.code(), Some(2), "{}", first.text);
    let lines: Vec<&str> = first.text.lines().collect();
    assert!(
        lines.contains(&"stored 3 / duplicate 1 / rejected 1"),
        "{}",
        first.text
    );
    let skipped = format!("skipped {}: a DICOMDIR", folder.join("DICOMDIR").display());
    assert!(
        lines.iter().any(|l| l.starts_with(&skipped)),
        "{}",
        first.text
    );
    let refused = format!("rejected {}: ", film.display());
    let line = lines
        .iter()
        .find(|l| l.starts_with(&refused))
        .unwrap_or_else(|| panic!("{}", first.text));
    assert!(
        line.contains("larger than the largest instance accepted"),
        "{line}"
    );

    // The stored copy of one instance is lost; importing the disc again
    // puts it back.
    let objects: Vec<PathBuf> = walk_files(&data.join("objects").join("dicom"));
    assert_eq!(objects.len(), 3);
    std::fs::remove_file(&objects[0]).expect("remove");
    std::fs::remove_file(&film).expect("film");
    let second = pacs_import(&data, &folder);
    assert_eq!(second.status.code(), Some(0), "{}", second.text);
    let lines: Vec<&str> = second.text.lines().collect();
    assert!(
        lines.contains(&"stored 0 / duplicate 3 / rejected 0"),
        "{}",
        second.text
    );
    assert!(
        lines.iter().any(|l| l.starts_with("repaired 1: ")),
        "{}",
        second.text
    );
    assert!(objects[0].is_file());

    let empty = dir.path().join("unmounted");
    std::fs::create_dir_all(&empty).expect("dir");
    let nothing = pacs_import(&data, &empty);
    assert_eq!(nothing.status.code(), Some(1), "{}", nothing.text);
    assert!(
        nothing.text.contains("nothing to import"),
        "{}",
        nothing.text
    );
}

/// Regular files under `dir`, recursively, sorted.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk_files(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// `pacs import` follows symbolic links (a folder given as a link, links
/// inside folders, a link loop walked once) and names a link to nothing
/// among the rejects instead of skipping it unseen.
#[test]
fn import_follows_links_and_names_a_dangling_one() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let (_, files) = ct_files(
        &dir.path().join("cd/series"),
        3,
        105,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let folder = dir.path().join("folder");
    std::fs::create_dir_all(&folder).expect("dir");
    symlink(dir.path().join("cd"), folder.join("cdrom")).expect("link to a folder");
    symlink(&files[0], folder.join("first.dcm")).expect("link to a file");
    symlink(&folder, folder.join("loop")).expect("a loop");
    let gone = folder.join("gone.dcm");
    symlink(dir.path().join("nowhere.dcm"), &gone).expect("a dangling link");
    let given = dir.path().join("given");
    symlink(&folder, &given).expect("the folder given as a link");

    let out = pacs_import(&data, &given);
    assert_eq!(out.status.code(), Some(2), "{}", out.text);
    assert!(
        out.text
            .lines()
            .any(|l| l == "stored 3 / duplicate 1 / rejected 1"),
        "{}",
        out.text
    );
    let dangling = format!("rejected {}: ", given.join("gone.dcm").display());
    assert!(
        out.text.lines().any(|l| l.starts_with(&dangling)),
        "{}",
        out.text
    );
}

/// A folder that cannot be listed (an unreadable `System Volume
/// Information` on a USB disk) is rejected with its reason, and the rest
/// of the import goes ahead. Run as an unprivileged user, for whom
/// permissions count.
#[test]
fn import_takes_what_it_can_list_and_names_a_folder_it_cannot() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let open = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    open(dir.path(), 0o777);
    let folder = dir.path().join("usb");
    ct_files(
        &folder.join("a"),
        2,
        106,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let locked = folder.join("System Volume Information");
    std::fs::create_dir_all(&locked).expect("dir");
    std::fs::write(locked.join("IndexerVolumeGuid"), "x").expect("write");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("dir");
    open(&data, 0o777);
    open(&locked, 0o000);

    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let pacs = dir.path().join("pacs");
    std::fs::copy(env!("CARGO_BIN_EXE_pacs"), &pacs).expect("copy pacs");
    open(&pacs, 0o755);
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&pacs);
        c
    } else {
        Command::new(&pacs)
    };
    command
        .arg("import")
        .arg("--data-dir")
        .arg(&data)
        .arg("--quiet")
        .arg(&folder)
        .env("RUST_LOG", "warn")
        .env_remove("PACS_CONFIG")
        .env_remove("PACS_DATA_DIR");
    let out = scu::run(command, scu::TOOL_LIMIT);
    open(&locked, 0o755);
    assert_eq!(out.status.code(), Some(2), "{}", out.text);
    assert!(
        out.text
            .lines()
            .any(|l| l == "stored 2 / duplicate 0 / rejected 1"),
        "{}",
        out.text
    );
    let named = format!("rejected {}: cannot list the folder", locked.display());
    assert!(
        out.text.lines().any(|l| l.starts_with(&named)),
        "{}",
        out.text
    );
}

/// A client that opens an HTTP connection and stalls inside its request
/// headers is disconnected, and others are served meanwhile.
#[test]
fn a_stalled_http_client_is_disconnected() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pacs.toml");
    std::fs::write(&config, "[server]\nhttp_header_timeout_secs = 1\n").unwrap();
    let server = common::Server::start_with(&dir.path().join("data"), Some(&config), &[]);
    let mut stalled = std::net::TcpStream::connect(server.http).unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stalled
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let started = std::time::Instant::now();
    // meanwhile another client is served
    let health = common::http().get(server.url("/healthz")).send().unwrap();
    assert!(health.status().is_success());
    let mut rest = Vec::new();
    let closed = stalled.read_to_end(&mut rest);
    assert!(
        closed.is_ok(),
        "the server closed the stalled connection: {closed:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(15),
        "closed after {waited:?}"
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(
        rest.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}
