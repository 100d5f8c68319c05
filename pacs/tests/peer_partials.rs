//! Unfinished uploads left at a centre that cannot be the start of the
//! package a site sends: one longer than the package (the transfer once
//! stuck for good on it, every attempt refused until dead-lettered), and
//! one another site left under the same hash (it must neither be resumed
//! into this site's package nor be dropped by it). Real servers on both
//! ends; the partials are planted with raw HTTP PUTs, as a stray or
//! hostile client would leave them.

mod common;
#[path = "common/scu.rs"]
mod scu;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::Server;
use common::accounts::{add_site, site_token};
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, write_ct_series};
use pacs_core::index::Index;
use pacs_core::{Archive, SqliteIndex, Uid};
use scu::{data_set_of_file, dicom_files_below, storescu_command, wait_for};
use serde_json::{Value, json};
use storage::{FsStore, ObjectStore};

/// One CT slice of a few MB, as the reviewer's package was.
fn one_slice(dir: &Path) -> (CtSpec, PathBuf) {
    let spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), 71)
        .with_slices(1)
        .with_matrix(1400, 1400);
    let mut files = write_ct_series(&spec, dir, SampleTransferSyntax::ExplicitVrLittleEndian)
        .expect("CT written");
    (spec, files.remove(0))
}

/// The SOP Instance UID and data set hash (what uploads are named by) of
/// a Part 10 file.
fn sop_and_sha(file: &Path) -> (String, String) {
    let dir = file.parent().expect("folder");
    let (sop, bytes) = dicom_files_below(dir)
        .into_iter()
        .next()
        .expect("a DICOM file");
    (sop, common::sha256(data_set_of_file(&bytes)))
}

/// A centre with accounts and two sites; their gateway tokens.
fn centre(dir: &Path) -> (Server, String, String) {
    let data = dir.join("centre");
    std::fs::create_dir_all(&data).expect("centre folder");
    add_site(&data, "andijan", "ANDIJAN_CT", "routine");
    add_site(&data, "fergana", "FERGANA_CT", "routine");
    let andijan = site_token(&data, "andijan");
    let fergana = site_token(&data, "fergana");
    (Server::start(&data), andijan, fergana)
}

/// A site forwarding everything to `centre` with `token`.
fn edge(dir: &Path, centre: &Server, token: &str) -> Server {
    let token_file = dir.join("centre.token");
    std::fs::write(&token_file, format!("{token}\n")).expect("token written");
    let config = dir.join("edge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [[forward.destinations]]
            name = "centre"
            peer_url = "http://{}"
            token_file = "{}"
            retry_initial_secs = 1
            retry_max_secs = 4

            [[forward.rules]]
            to = ["centre"]
            stable_secs = 1
            "#,
            centre.http,
            token_file.display()
        ),
    )
    .expect("config written");
    Server::start_with(&dir.join("edge"), Some(&config), &[])
}

fn store(edge: &Server, file: &Path) {
    let done = scu::run(
        storescu_command(edge, "CT_DH1", &[], &[file.to_owned()]),
        scu::TOOL_LIMIT,
    );
    assert!(done.success(), "storescu failed:\n{}", done.text);
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// What the reviewer did with curl: an upload of `junk` from offset 0 of a
/// `size`-byte package, left unfinished.
fn plant(centre: &Server, token: &str, sha: &str, sop: &str, junk: Vec<u8>, size: u64) {
    let held = junk.len();
    let reply = http()
        .put(centre.url(&format!(
            "/api/peer/uploads/{sha}?sop={sop}&offset=0&size={size}"
        )))
        .bearer_auth(token)
        .body(junk)
        .send()
        .expect("upload answered");
    let status = reply.status();
    let body: Value = reply.json().expect("JSON");
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["offset"], held, "{body}");
}

/// Where the centre says `token`'s upload of `sha` stands.
fn offset_at(centre: &Server, token: &str, sop: &str, sha: &str) -> Value {
    let reply = http()
        .post(centre.url("/api/peer/status"))
        .bearer_auth(token)
        .json(&json!({ "instances": [{ "sop_instance_uid": sop, "sha256": sha }] }))
        .send()
        .expect("status answered");
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().expect("JSON");
    body["instances"][0].clone()
}

/// The unfinished uploads at the centre.
fn partials(centre: &Server) -> Vec<PathBuf> {
    std::fs::read_dir(centre.data_dir.join("peer-uploads"))
        .expect("upload folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "part"))
        .collect()
}

/// The edge's job delivered, within a bound that a stuck transfer misses.
fn delivered(edge: &Server) -> Value {
    wait_for(Duration::from_secs(120), "the study delivered", || {
        let jobs: Value = http()
            .get(edge.url("/api/forwarding/jobs"))
            .send()
            .ok()?
            .json()
            .ok()?;
        jobs.as_array()?
            .first()
            .filter(|j| j["state"] == "delivered")
            .cloned()
    })
}

/// The centre holds `sop` with the data set the modality sent.
fn assert_stored(centre: &Server, sop: &str, file: &Path) {
    let sent = dicom_files_below(file.parent().expect("folder"));
    let arrived = dicom_files_below(&centre.data_dir.join("objects"));
    let find = |all: &[(String, Vec<u8>)]| {
        all.iter()
            .find(|(s, _)| s == sop)
            .map(|(_, b)| data_set_of_file(b).to_vec())
    };
    assert!(find(&arrived).is_some(), "{sop} is not at the centre");
    assert_eq!(find(&arrived), find(&sent), "{sop} arrived changed");
}

/// The package size of the one instance the stopped server at `data`
/// holds: what a site declares when it uploads it.
fn package_size(data: &Path, study: &str) -> u64 {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let index: Arc<dyn Index> =
            Arc::new(SqliteIndex::open(data.join("index.sqlite")).expect("index"));
        let store: Arc<dyn ObjectStore> =
            Arc::new(FsStore::open(data.join("objects")).expect("store"));
        let archive = Archive::new(store, index.clone());
        let uid = Uid::parse(study).expect("UID");
        let instances = index.instances(&uid, None, None).await.expect("instances");
        assert_eq!(instances.len(), 1);
        let i = &instances[0];
        let object = archive.object(i).await.expect("object");
        pacs_core::wire::pack(&object, &i.pixel, i.image.as_ref())
            .bytes
            .len() as u64
    })
}

#[test]
fn a_partial_longer_than_the_package_is_dropped_and_the_upload_delivered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (centre, andijan, _) = centre(dir.path());
    let (_, file) = one_slice(&dir.path().join("outgoing"));
    let (sop, sha) = sop_and_sha(&file);
    let file_size = std::fs::metadata(&file).expect("file").len();
    // Longer than any lossless package of this file, started for another
    // size, by the very site that will send it.
    let junk: Vec<u8> = (0..file_size + (1 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    plant(&centre, &andijan, &sha, &sop, junk, 3 * file_size);
    assert_eq!(partials(&centre).len(), 1);

    let edge = edge(dir.path(), &centre, &andijan);
    store(&edge, &file);
    let job = delivered(&edge);
    assert_eq!(job["instances_sent"], 1, "{job}");
    assert_stored(&centre, &sop, &file);
    assert_eq!(
        partials(&centre),
        Vec::<PathBuf>::new(),
        "the stale partial is still there"
    );
    let status = offset_at(&centre, &andijan, &sop, &sha);
    assert_eq!(status["stored"], true, "{status}");
    edge.stop();
    centre.stop();
}

#[test]
fn another_sites_partial_of_the_same_hash_is_neither_resumed_nor_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (centre, andijan, fergana) = centre(dir.path());
    let (spec, file) = one_slice(&dir.path().join("outgoing"));
    let (sop, sha) = sop_and_sha(&file);
    // The real package size, from an archive that holds the slice, so
    // that Fergana's junk looks like the start of Andijan's package.
    let scratch_data = dir.path().join("scratch");
    let scratch = Server::start(&scratch_data);
    store(&scratch, &file);
    scratch.stop();
    let size = package_size(&scratch_data, &spec.study.study_uid);
    plant(&centre, &fergana, &sha, &sop, vec![0x5a; 100_000], size);

    let edge = edge(dir.path(), &centre, &andijan);
    store(&edge, &file);
    let job = delivered(&edge);
    assert_eq!(job["instances_sent"], 1, "{job}");
    assert_stored(&centre, &sop, &file);
    // Fergana's is Fergana's: it stands as it was left.
    let left = partials(&centre);
    assert_eq!(left.len(), 1, "{left:?}");
    let held = std::fs::metadata(&left[0]).expect("partial").len();
    assert!(held >= 100_000, "Fergana's partial shrank to {held} B");
    edge.stop();
    centre.stop();
}

#[test]
fn an_upload_sent_from_the_wrong_offset_is_told_where_the_upload_stands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (centre, andijan, _) = centre(dir.path());
    let sop = "1.2.826.0.1.3680043.10.1";
    let sha = "ab".repeat(32);
    let size = 4_000_000u64;
    plant(&centre, &andijan, &sha, sop, vec![0x5a; 100_000], size);

    // A sender that lost track starts again from 0 with the whole package
    // in one body, writing it all before it reads the answer (reqwest
    // does): it must get the answer, and nothing of the body is kept.
    let reply = http()
        .put(centre.url(&format!(
            "/api/peer/uploads/{sha}?sop={sop}&offset=0&size={size}"
        )))
        .bearer_auth(&andijan)
        .body(vec![0x5a; size as usize])
        .send()
        .expect("an answer, not a broken pipe");
    assert_eq!(reply.status(), 409);
    let body: Value = reply.json().expect("JSON");
    assert_eq!(body["offset"], 100_000, "{body}");
    assert_eq!(
        offset_at(&centre, &andijan, sop, &sha)["offset"],
        100_000,
        "the misplaced body was not kept"
    );
    centre.stop();
}
