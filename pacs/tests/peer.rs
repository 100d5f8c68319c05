//! Peer transfer between two real `pacs` processes over a poor link made
//! by the tests (`test_support::link`): a 300-slice CT crosses a 2 Mbit/s
//! link with a 300 ms round trip, 2 % loss and a 30 s outage midway, and
//! arrives whole, bit-exact, declared complete, in under a third of its
//! raw pixel bytes, no instance sent twice; a sender killed with kill -9
//! mid-upload resumes where it stopped.

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, write_ct_series};
use pacs_core::index::Index;
use pacs_core::{Archive, SqliteIndex, Uid};
use scu::{data_set_of_file, dicom_files_below, storescu_command, wait_for};
use serde_json::Value;
use storage::{FsStore, ObjectStore};
use test_support::link::{Link, LinkSpec};

const MATRIX: u16 = 256;

fn ct(dir: &Path, slices: u32, seed: u64) -> (CtSpec, Vec<PathBuf>) {
    let spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), seed)
        .with_slices(slices)
        .with_matrix(MATRIX, MATRIX);
    let files = write_ct_series(&spec, dir, SampleTransferSyntax::ExplicitVrLittleEndian)
        .expect("CT written");
    (spec, files)
}

fn edge_config(path: &Path, link: &Link) -> PathBuf {
    edge_config_to(path, link.port, "")
}

/// An edge forwarding everything to the centre at `port`, with `extra`
/// lines for the destination.
fn edge_config_to(path: &Path, port: u16, extra: &str) -> PathBuf {
    std::fs::write(
        path,
        format!(
            r#"
            [[forward.destinations]]
            name = "centre"
            peer_url = "http://127.0.0.1:{port}"
            retry_initial_secs = 1
            retry_max_secs = 4
            {extra}

            [[forward.rules]]
            to = ["centre"]
            stable_secs = 1
            "#
        ),
    )
    .expect("config written");
    path.to_owned()
}

fn get_json(url: &str) -> Value {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
        .get(url)
        .send()
        .expect("answer")
        .json()
        .expect("JSON")
}

fn job(edge: &Server) -> Option<Value> {
    get_json(&edge.url("/api/forwarding/jobs"))
        .as_array()
        .and_then(|jobs| jobs.first().cloned())
}

fn store(edge: &Server, files: &[PathBuf]) {
    let done = scu::run(
        storescu_command(edge, "CT_DH1", &[], files),
        scu::TOOL_LIMIT,
    );
    assert!(done.success(), "storescu failed:\n{}", done.text);
}

/// Data sets below `dir` by SOP Instance UID.
fn data_sets(dir: &Path) -> HashMap<String, Vec<u8>> {
    dicom_files_below(dir)
        .into_iter()
        .map(|(sop, bytes)| (sop, data_set_of_file(&bytes).to_vec()))
        .collect()
}

/// The total size of the packages of every instance the stopped server at
/// `data` holds: what the link must carry, each instance once.
fn packages_size(data: &Path, study: &str) -> u64 {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let index: Arc<dyn Index> =
            Arc::new(SqliteIndex::open(data.join("index.sqlite")).expect("index"));
        let store: Arc<dyn ObjectStore> =
            Arc::new(FsStore::open(data.join("objects")).expect("store"));
        let archive = Archive::new(store, index.clone());
        let uid = Uid::parse(study).expect("UID");
        let mut total = 0;
        for i in index.instances(&uid, None, None).await.expect("instances") {
            let object = archive.object(&i).await.expect("object");
            total += pacs_core::wire::pack(&object, &i.pixel, i.image.as_ref())
                .bytes
                .len() as u64;
        }
        total
    })
}

/// The centre holds the study whole, declared complete, each data set as
/// it left the modality.
fn assert_arrived(centre: &Server, spec: &CtSpec, outgoing: &Path) {
    let study = &spec.study.study_uid;
    let completion = get_json(&centre.url(&format!("/api/peer/studies/{study}")));
    assert_eq!(completion["complete"], true, "{completion}");
    assert_eq!(completion["instances"], spec.slices);
    let sent = data_sets(outgoing);
    let arrived = data_sets(&centre.data_dir.join("objects"));
    assert_eq!(arrived.len(), sent.len());
    for (sop, data_set) in &sent {
        assert!(
            arrived.get(sop) == Some(data_set),
            "{sop} differs or is missing"
        );
    }
}

#[test]
fn a_ct_study_crosses_a_bad_link_whole_and_small_through_an_outage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let centre = Server::start(&dir.path().join("centre"));
    let link = Link::start(
        centre.http,
        LinkSpec::new(2.0, Duration::from_millis(300), 0.02),
    )
    .expect("link");
    let config = edge_config(&dir.path().join("edge.toml"), &link);
    let edge_data = dir.path().join("edge");
    let edge = Server::start_with(&edge_data, Some(&config), &[]);
    let outgoing = dir.path().join("outgoing");
    let (spec, files) = ct(&outgoing, 300, 61);
    let raw_pixels = u64::from(spec.slices) * u64::from(MATRIX) * u64::from(MATRIX) * 2;
    let started = Instant::now();
    store(&edge, &files);

    // Midway, the link drops for 30 s.
    wait_for(
        Duration::from_secs(300),
        "a third of the study on the wire",
        || (link.upstream_bytes() > raw_pixels / 9).then_some(()),
    );
    link.set_down(true);
    std::thread::sleep(Duration::from_secs(30));
    link.set_down(false);

    let delivered = wait_for(Duration::from_secs(600), "the study delivered", || {
        job(&edge).filter(|j| j["state"] == "delivered")
    });
    let took = started.elapsed();
    assert_eq!(delivered["instances_sent"], 300);
    assert!(
        delivered["attempts"].as_i64() <= Some(1),
        "progress after the outage resets the count: {delivered}"
    );
    assert_arrived(&centre, &spec, &outgoing);

    let wire = link.upstream_bytes();
    edge.stop();
    let packages = packages_size(&edge_data, &spec.study.study_uid);
    println!(
        "300-slice CT: raw pixels {raw_pixels} B, packages {packages} B, on the wire {wire} B \
         ({:.2}x smaller than raw), {took:?}",
        raw_pixels as f64 / wire as f64
    );
    assert!(
        wire * 3 <= raw_pixels,
        "wire {wire} B, raw pixels {raw_pixels} B"
    );
    // Each instance once: the packages, requests and the little that was
    // in flight when the link dropped.
    assert!(
        wire <= packages + packages / 20 + 300 * 1024,
        "wire {wire} B for {packages} B of packages: something went twice"
    );
    centre.stop();
}

#[test]
fn a_sender_killed_mid_upload_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let centre = Server::start(&dir.path().join("centre"));
    let link = Link::start(
        centre.http,
        LinkSpec::new(1.0, Duration::from_millis(100), 0.0),
    )
    .expect("link");
    let config = edge_config(&dir.path().join("edge.toml"), &link);
    let edge_data = dir.path().join("edge");
    let edge = Server::start_with(&edge_data, Some(&config), &[]);
    let outgoing = dir.path().join("outgoing");
    let (spec, files) = ct(&outgoing, 40, 62);
    store(&edge, &files);
    let raw_pixels = u64::from(spec.slices) * u64::from(MATRIX) * u64::from(MATRIX) * 2;
    // About 1.5 MB of packages at 125 kB/s: kill it after a third.
    wait_for(
        Duration::from_secs(120),
        "part of the study on the wire",
        || (link.upstream_bytes() > raw_pixels / 10).then_some(()),
    );
    edge.kill9();

    let edge = Server::start_with(&edge_data, Some(&config), &[]);
    wait_for(Duration::from_secs(300), "the study delivered", || {
        job(&edge).filter(|j| j["state"] == "delivered")
    });
    assert_arrived(&centre, &spec, &outgoing);
    let wire = link.upstream_bytes();
    edge.stop();
    let packages = packages_size(&edge_data, &spec.study.study_uid);
    println!("killed and restarted: packages {packages} B, on the wire {wire} B");
    assert!(
        wire <= packages + packages / 10 + 40 * 1024,
        "wire {wire} B for {packages} B of packages: the restart sent again what had arrived"
    );
    centre.stop();
}

#[test]
fn a_centre_told_to_store_jpeg_ls_keeps_every_pixel_and_the_completion_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let centre = Server::start(&dir.path().join("centre"));
    let config = edge_config_to(
        &dir.path().join("edge.toml"),
        centre.http.port(),
        r#"store_as = "1.2.840.10008.1.2.4.80""#,
    );
    let edge = Server::start_with(&dir.path().join("edge"), Some(&config), &[]);
    let outgoing = dir.path().join("outgoing");
    let (spec, files) = ct(&outgoing, 5, 63);
    store(&edge, &files);
    wait_for(Duration::from_secs(120), "the study delivered", || {
        job(&edge).filter(|j| j["state"] == "delivered")
    });
    let study = &spec.study.study_uid;
    let completion = get_json(&centre.url(&format!("/api/peer/studies/{study}")));
    assert_eq!(completion["complete"], true, "{completion}");

    // Stored as JPEG-LS lossless; converted back, every pixel is the same.
    let stored = dicom_files_below(&centre.data_dir.join("objects"));
    assert_eq!(stored.len(), 5);
    for (sop, bytes) in &stored {
        assert_eq!(
            web::Dicom::read(bytes).transfer_syntax,
            "1.2.840.10008.1.2.4.80",
            "{sop}"
        );
    }
    for file in &files {
        let original = web::Dicom::read(&std::fs::read(file).expect("readable"));
        let sop = original.text(0x0008, 0x0018).expect("SOP Instance UID");
        let series = original.text(0x0020, 0x000E).expect("Series Instance UID");
        let reply = web::get(
            &format!(
                "{}/studies/{study}/series/{series}/instances/{sop}",
                centre.base()
            ),
            Some("multipart/related; type=\"application/dicom\""),
        );
        let parts = reply.parts();
        assert_eq!(parts.len(), 1);
        assert_eq!(
            web::Dicom::read(&parts[0].body).native_pixels(),
            original.native_pixels(),
            "{sop}"
        );
    }
    edge.stop();
    centre.stop();
}
