//! The times a signed report gives, against the real server: the study's
//! time as the modality wrote it and the signing time, both in the
//! reading centre's offset from UTC (`[reading] utc_offset`, or the
//! server's own time zone), never local times labelled as UTC.

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/two_sites.rs"]
mod two_sites;
#[path = "common/dicomweb_support.rs"]
mod web;

use chrono::DateTime;
use serde_json::{Value, json};
use two_sites::{World, world_with};

/// Signs a report on Andijan's study and returns (the signed report, its
/// FHIR DiagnosticReport, the PDF).
fn sign(w: &World) -> (Value, Value, Vec<u8>) {
    let a = &w.andijan;
    let rad = w.token("rad1");
    assert_eq!(
        w.post(&format!("/api/worklist/{a}/claim"), &rad, json!({}))
            .0,
        200
    );
    let (status, body) = w.call(
        reqwest::Method::PUT,
        &format!("/api/studies/{a}/report/draft"),
        Some(&rad),
        Some(json!({"language": "en", "sections": {"findings": "Clear lungs.", "impression": "Normal."}})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, signed) = w.post(&format!("/api/studies/{a}/report/sign"), &rad, json!({}));
    assert_eq!(status, 200, "{signed}");
    let (status, fhir) = w.get(&format!("/api/studies/{a}/report/fhir"), Some(&rad));
    assert_eq!(status, 200, "{fhir}");
    let pdf = w
        .client
        .get(w.server.url(&format!("/api/studies/{a}/report.pdf")))
        .bearer_auth(&rad)
        .send()
        .unwrap();
    assert_eq!(pdf.status(), 200);
    (signed, fhir, pdf.bytes().unwrap().to_vec())
}

/// The study's date and time as stored (`YYYY-MM-DDTHH:MM:SS`).
fn study_time(w: &World) -> String {
    let (status, found) = w.get(
        &format!(
            "/dicom-web/studies?StudyInstanceUID={}&includefield=00080030",
            w.andijan
        ),
        Some(&w.token("admin")),
    );
    assert_eq!(status, 200, "{found}");
    let date = web::string_value(&found[0], "00080020").unwrap();
    let time = web::string_value(&found[0], "00080030").unwrap();
    format!(
        "{}-{}-{}T{}:{}:{}",
        &date[..4],
        &date[4..6],
        &date[6..8],
        &time[..2],
        &time[2..4],
        &time[4..6]
    )
}

/// Checks that the outputs give the study time as written and the
/// signing instant, both with `offset`.
fn check(w: &World, offset: &str, pdf_offset: &str) {
    let (signed, fhir, pdf) = sign(w);
    assert_eq!(
        fhir["effectiveDateTime"],
        format!("{}{offset}", study_time(w)),
        "{fhir}"
    );
    let issued = fhir["issued"].as_str().unwrap();
    assert!(issued.ends_with(offset), "{issued}");
    let signed_at = signed["versions"][0]["signed_at"].as_str().unwrap();
    assert_eq!(
        DateTime::parse_from_rfc3339(issued).unwrap().timestamp(),
        DateTime::parse_from_rfc3339(signed_at).unwrap().timestamp(),
        "the same instant: {issued} against {signed_at}"
    );
    let pdf = String::from_utf8_lossy(&pdf);
    assert!(
        pdf.contains(&format!("{pdf_offset})")),
        "the PDF's dates carry {pdf_offset}"
    );
}

#[test]
fn a_configured_offset_is_used_whatever_the_servers_zone() {
    let w = world_with(
        "[reading]\nutc_offset = \"+05:00\"\n",
        &[("TZ", "America/New_York")],
    );
    check(&w, "+05:00", "+05'00");
}

#[test]
fn without_one_the_servers_time_zone_is_used() {
    let w = world_with("", &[("TZ", "Asia/Tashkent")]);
    check(&w, "+05:00", "+05'00");
    let w = world_with("", &[("TZ", "UTC")]);
    check(&w, "Z", "Z");
}
