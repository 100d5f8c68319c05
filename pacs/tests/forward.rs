//! Store and forward between real processes: `pacs` forwards what dcmtk
//! `storescu` sends it to dcmtk `storescp` (C-STORE) and to a second
//! `pacs` (STOW-RS); retries an unreachable node until its attempts run
//! out, then an operator's retry delivers; a kill -9 mid-study resumes
//! without sending the study again; a STAT study overtakes a routine one.

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Server, ct_files};
use dicom_samples::SampleTransferSyntax;
use scu::{StoreScp, data_set_of_file, dicom_files_below, storescu_command, wait_for};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(90);

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn jobs(server: &Server) -> Vec<Value> {
    let body: Value = http()
        .get(server.url("/api/forwarding/jobs"))
        .send()
        .expect("jobs")
        .json()
        .expect("JSON");
    body.as_array().expect("a list").clone()
}

fn job(server: &Server, id: i64) -> (Value, Vec<String>) {
    let body: Value = http()
        .get(server.url(&format!("/api/forwarding/jobs/{id}")))
        .send()
        .expect("job")
        .json()
        .expect("JSON");
    let events = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event"].as_str().expect("event").to_owned())
        .collect();
    (body["job"].clone(), events)
}

/// Waits until every job of `destination` is delivered (and there is
/// one); returns them. A dead-lettered job ends the wait at once, with its
/// reason.
fn delivered(server: &Server, destination: &str, limit: Duration) -> Vec<Value> {
    wait_for(limit, &format!("delivery to {destination}"), || {
        let mine: Vec<Value> = jobs(server)
            .into_iter()
            .filter(|j| j["destination"] == destination)
            .collect();
        if let Some(failed) = mine.iter().find(|j| j["state"] == "failed") {
            panic!("a job to {destination} was dead-lettered: {failed}");
        }
        (!mine.is_empty() && mine.iter().all(|j| j["state"] == "delivered")).then_some(mine)
    })
}

fn send(server: &Server, calling: &str, files: &[PathBuf]) {
    let done = scu::run(
        storescu_command(server, calling, &[], files),
        scu::TOOL_LIMIT,
    );
    assert!(done.success(), "storescu failed:\n{}", done.text);
}

fn write_config(path: &Path, text: &str) {
    std::fs::write(path, text).expect("config written");
}

/// Data sets of the DICOM files below `dir`, by SOP Instance UID.
fn data_sets_below(dir: &Path) -> HashMap<String, Vec<u8>> {
    dicom_files_below(dir)
        .into_iter()
        .map(|(sop, bytes)| (sop, data_set_of_file(&bytes).to_vec()))
        .collect()
}

#[test]
fn a_study_reaches_a_dicom_node_and_a_dicomweb_endpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let received = dir.path().join("received");
    let node = StoreScp::start(&received, "WORKSTATION");
    let centre = Server::start(&dir.path().join("centre"));
    let (_spec, files) = ct_files(
        &dir.path().join("outgoing"),
        5,
        31,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let config = dir.path().join("edge.toml");
    write_config(
        &config,
        &format!(
            r#"
            [[dicom_nodes]]
            ae_title = "WORKSTATION"
            host = "127.0.0.1"
            port = {port}

            [[forward.destinations]]
            name = "workstation"
            dicom_node = "WORKSTATION"

            [[forward.destinations]]
            name = "centre"
            dicomweb_url = "{centre}"

            [[forward.rules]]
            to = ["workstation", "centre"]
            modalities = ["CT"]
            stable_secs = 1
            "#,
            port = node.port,
            centre = centre.base(),
        ),
    );
    let edge = Server::start_with_env(
        &dir.path().join("edge"),
        Some(&config),
        &[],
        &[("PACS_FORWARD_TOKEN_CENTRE", "not-checked-yet")],
    );
    send(&edge, "CT_D1", &files);

    let expected = data_sets_below(&dir.path().join("outgoing"));
    assert_eq!(expected.len(), 5);
    for destination in ["workstation", "centre"] {
        let jobs = delivered(&edge, destination, LIMIT);
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert_eq!(jobs[0]["instances_total"], 5);
        assert_eq!(jobs[0]["instances_sent"], 5);
        assert!(jobs[0]["bytes_sent"].as_i64().expect("bytes") > 5 * 128 * 128 * 2);
        let (_, events) = job(&edge, jobs[0]["id"].as_i64().expect("id"));
        assert_eq!(events, ["queued", "sending", "delivered"]);
    }

    // The DICOM node has every data set exactly as it was sent.
    assert_eq!(data_sets_below(&received), expected);

    // So has the DICOMweb endpoint.
    for (sop, data_set) in &expected {
        let reply = web::get(
            &format!(
                "{}/studies/{}/series/{}/instances/{sop}",
                centre.base(),
                jobs(&edge)[0]["study_uid"].as_str().expect("study"),
                series_of(&centre, sop),
            ),
            Some("multipart/related; type=\"application/dicom\"; transfer-syntax=*"),
        );
        let parts = reply.parts();
        assert_eq!(parts.len(), 1);
        assert_eq!(data_set_of_file(&parts[0].body), &data_set[..]);
    }
    edge.stop();
    centre.stop();
}

/// Forwarding rules name sites wherever they were defined: here one
/// added with `pacs site add` rather than in the configuration file.
#[test]
fn a_rule_follows_a_site_added_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let received = dir.path().join("received");
    let node = StoreScp::start(&received, "WORKSTATION");
    let data = dir.path().join("edge");
    for (name, aet) in [("north", "NORTH_CT"), ("south", "SOUTH_CT")] {
        common::accounts::pacs_cli(
            &data,
            &["site", "add", name, "--aet", aet, "--priority", "stat"],
            "",
        );
    }
    let config = dir.path().join("edge.toml");
    write_config(
        &config,
        &format!(
            r#"
            [[dicom_nodes]]
            ae_title = "WORKSTATION"
            host = "127.0.0.1"
            port = {port}

            [[forward.destinations]]
            name = "workstation"
            dicom_node = "WORKSTATION"

            [[forward.rules]]
            to = ["workstation"]
            sites = ["north"]
            stable_secs = 1
            "#,
            port = node.port,
        ),
    );
    let edge = Server::start_with(&data, Some(&config), &[]);
    let (_, north) = ct_files(
        &dir.path().join("north"),
        3,
        51,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let (_, south) = ct_files(
        &dir.path().join("south"),
        2,
        52,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    send(&edge, "SOUTH_CT", &south);
    send(&edge, "NORTH_CT", &north);

    let jobs = delivered(&edge, "workstation", LIMIT);
    assert_eq!(jobs.len(), 1, "only north's study is forwarded: {jobs:?}");
    assert_eq!(jobs[0]["instances_total"], 3);
    assert_eq!(jobs[0]["priority"], "stat", "at the site's priority");
    assert_eq!(
        data_sets_below(&received),
        data_sets_below(&dir.path().join("north"))
    );
    edge.stop();
}

fn series_of(server: &Server, sop: &str) -> String {
    let found = web::qido(server, &format!("/instances?SOPInstanceUID={sop}"));
    web::string_value(&found[0], "0020000E").expect("series UID")
}

#[test]
fn an_unreachable_node_is_retried_then_dead_lettered_and_an_operator_retry_delivers() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Down until the test starts it, and nobody else's meanwhile.
    let down = test_support::ClosedPort::new().expect("a held port");
    let port = down.port();
    let (_spec, files) = ct_files(
        &dir.path().join("outgoing"),
        2,
        32,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let config = dir.path().join("edge.toml");
    write_config(
        &config,
        &format!(
            r#"
            [[dicom_nodes]]
            ae_title = "WORKSTATION"
            host = "127.0.0.1"
            port = {port}

            [[forward.destinations]]
            name = "workstation"
            dicom_node = "WORKSTATION"
            max_attempts = 3
            retry_initial_secs = 0.2
            retry_max_secs = 0.5

            [[forward.rules]]
            to = ["workstation"]
            send = "each-instance"
            "#
        ),
    );
    let edge = Server::start_with(&dir.path().join("edge"), Some(&config), &[]);
    send(&edge, "CT_D1", &files);

    let failed = wait_for(LIMIT, "the dead-letter list", || {
        jobs(&edge).into_iter().find(|j| j["state"] == "failed")
    });
    assert_eq!(failed["attempts"], 3);
    assert_eq!(failed["instances_sent"], 0);
    let error = failed["last_error"].as_str().expect("a reason");
    assert!(
        error.contains("127.0.0.1"),
        "the reason names the node: {error}"
    );
    let id = failed["id"].as_i64().expect("id");
    let (_, events) = job(&edge, id);
    let failures = events.iter().filter(|e| *e == "failed").count();
    assert_eq!(failures, 2, "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some("dead-letter"));

    // The node comes up; the dead letter stays put until an operator acts.
    let received = dir.path().join("received");
    let _node = StoreScp::start_on(&received, "WORKSTATION", down.release(), &[]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(job(&edge, id).0["state"], "failed");
    let reply = http()
        .post(edge.url(&format!("/api/forwarding/jobs/{id}/retry")))
        .send()
        .expect("retry");
    assert_eq!(reply.status(), 200);
    delivered(&edge, "workstation", LIMIT);
    assert_eq!(dicom_files_below(&received).len(), 2);

    // A delivered job cannot be cancelled; an unknown one is not found.
    let reply = http()
        .post(edge.url(&format!("/api/forwarding/jobs/{id}/cancel")))
        .send()
        .expect("cancel");
    assert_eq!(reply.status(), 409);
    let reply = http()
        .post(edge.url("/api/forwarding/jobs/999999/retry"))
        .send()
        .expect("retry");
    assert_eq!(reply.status(), 404);
    // Nor is one named by something that is no job number.
    for (method, path) in [
        (reqwest::Method::POST, "/api/forwarding/jobs/abc/retry"),
        (reqwest::Method::GET, "/api/forwarding/jobs/abc"),
    ] {
        let reply = http()
            .request(method, edge.url(path))
            .send()
            .expect("request");
        assert_eq!(reply.status(), 404, "{path}");
        assert!(
            reply.text().unwrap_or_default().contains("numbered"),
            "{path}"
        );
    }
    edge.stop();
}

/// A CT series sent slowly (a bandwidth cap) to `storescp +uf`, which
/// keeps every data set it receives in a file of its own.
fn slow_node_config(port: u16, rate: &str, concurrency: usize) -> String {
    format!(
        r#"
        [[dicom_nodes]]
        ae_title = "WORKSTATION"
        host = "127.0.0.1"
        port = {port}

        [[sites]]
        name = "ward"
        ae_titles = ["WARD"]

        [[sites]]
        name = "emergency"
        ae_titles = ["ER_CT"]
        priority = "stat"

        [[forward.destinations]]
        name = "workstation"
        dicom_node = "WORKSTATION"
        concurrency = {concurrency}
        bandwidth = [{{ max_rate = "{rate}" }}]

        [[forward.rules]]
        to = ["workstation"]
        stable_secs = 1
        "#
    )
}

#[test]
fn a_sender_killed_mid_study_resumes_without_sending_it_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = test_support::free_port().expect("a free port");
    let received = dir.path().join("received");
    let _node = StoreScp::start_on(&received, "WORKSTATION", port, &["+uf"]);
    let (_spec, files) = ct_files(
        &dir.path().join("outgoing"),
        40,
        33,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let config = dir.path().join("edge.toml");
    // About 33 kB per slice at 200 kB/s: some six seconds for the series.
    write_config(&config, &slow_node_config(port, "1.6 Mbit/s", 1));
    let data = dir.path().join("edge");
    let edge = Server::start_with(&data, Some(&config), &[]);
    send(&edge, "WARD", &files);
    wait_for(LIMIT, "part of the study to arrive", || {
        jobs(&edge)
            .into_iter()
            .find(|j| j["instances_sent"].as_i64().is_some_and(|n| n >= 10))
    });
    edge.kill9();

    let edge = Server::start_with(&data, Some(&config), &[]);
    let jobs = delivered(&edge, "workstation", LIMIT);
    assert_eq!(jobs[0]["instances_sent"], 40);
    let arrived = dicom_files_below(&received);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (sop, _) in &arrived {
        *counts.entry(sop.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 40, "every slice arrived");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= 1,
        "only the slice in flight at the kill may go twice: {twice:?}"
    );
    let (_, events) = job(&edge, jobs[0]["id"].as_i64().expect("id"));
    assert!(events.contains(&"requeued".to_owned()), "{events:?}");
    edge.stop();
}

#[test]
fn a_stat_study_overtakes_a_routine_one_on_a_busy_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = test_support::free_port().expect("a free port");
    let received = dir.path().join("received");
    let _node = StoreScp::start_on(&received, "WORKSTATION", port, &[]);
    let (_routine, routine_files) = ct_files(
        &dir.path().join("routine"),
        30,
        34,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let (_stat, stat_files) = ct_files(
        &dir.path().join("stat"),
        2,
        35,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let config = dir.path().join("edge.toml");
    write_config(&config, &slow_node_config(port, "1.6 Mbit/s", 1));
    let edge = Server::start_with(&dir.path().join("edge"), Some(&config), &[]);
    send(&edge, "WARD", &routine_files);
    wait_for(LIMIT, "the routine study to be under way", || {
        jobs(&edge)
            .into_iter()
            .find(|j| j["state"] == "sending" && j["instances_sent"].as_i64() >= Some(3))
    });
    send(&edge, "ER_CT", &stat_files);

    let done = delivered(&edge, "workstation", LIMIT);
    assert_eq!(done.len(), 2);
    let by_priority = |p: &str| {
        done.iter()
            .find(|j| j["priority"] == p)
            .unwrap_or_else(|| panic!("a {p} job in {done:?}"))
    };
    let (stat, routine) = (by_priority("stat"), by_priority("routine"));
    assert!(
        stat["delivered_at"].as_i64() < routine["delivered_at"].as_i64(),
        "STAT delivered first: {stat} / {routine}"
    );
    let (_, events) = job(&edge, routine["id"].as_i64().expect("id"));
    assert!(
        events.contains(&"requeued".to_owned()),
        "the routine job gave way: {events:?}"
    );
    assert_eq!(dicom_files_below(&received).len(), 32);
    edge.stop();
}

/// A DICOMweb endpoint that only records what it is sent: the request
/// line and headers of each STOW-RS request, answered 200 with a store
/// response naming `stored` (the one instance the test sends) as stored.
fn recording_endpoint(stored: &str) -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (tx, rx) = std::sync::mpsc::channel();
    let answer = serde_json::json!({
        "00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": [stored]}}]},
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            if head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked")
            {
                // Read chunks until the last one.
                loop {
                    let mut size = String::new();
                    if reader.read_line(&mut size).unwrap_or(0) == 0 {
                        break;
                    }
                    let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                    let mut chunk = vec![0u8; n + 2];
                    let _ = reader.read_exact(&mut chunk);
                    if n == 0 {
                        break;
                    }
                }
            } else {
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
            }
            let _ = tx.send(head);
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/dicom+json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                )
                .as_bytes(),
            );
        }
    });
    (port, rx)
}

#[test]
fn a_dicomweb_destination_gets_the_bearer_token_and_never_sees_it_logged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (spec, files) = ct_files(
        &dir.path().join("outgoing"),
        1,
        36,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let (port, requests) = recording_endpoint(&spec.sop_instance_uid(0));
    let token = dir.path().join("centre.token");
    std::fs::write(&token, "s3cret-token-value\n").expect("token written");
    let config = dir.path().join("edge.toml");
    write_config(
        &config,
        &format!(
            r#"
            [[forward.destinations]]
            name = "centre"
            dicomweb_url = "http://127.0.0.1:{port}/dicom-web"
            token_file = "{}"

            [[forward.rules]]
            to = ["centre"]
            send = "each-instance"
            "#,
            token.display()
        ),
    );
    let edge = Server::start_with(&dir.path().join("edge"), Some(&config), &[]);
    send(&edge, "CT_D1", &files);
    let head = requests
        .recv_timeout(Duration::from_secs(60))
        .expect("a STOW-RS request");
    assert!(head.starts_with("POST /dicom-web/studies "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer s3cret-token-value"),
        "{head}"
    );
    delivered(&edge, "centre", LIMIT);
    let log = edge.log_text();
    edge.stop();
    assert!(
        !log.contains("s3cret-token-value"),
        "the token is never logged"
    );
}
