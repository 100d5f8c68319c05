//! The FHIR R4 DiagnosticReport: its fields and values, and a narrative that
//! is well-formed XHTML whatever the radiologist typed.

mod common;

use base64::Engine;
use common::*;
use reports::{Lang, Sections, VersionKind, fhir_diagnostic_report, pdf};
use serde_json::json;

#[test]
fn amended_report_with_its_pdf() {
    let doc = russian_report();
    let pdf_bytes = pdf(&doc).expect("pdf");
    let r = fhir_diagnostic_report(&doc, Some("https://pacs.example.uz/"), Some(&pdf_bytes))
        .expect("fhir");

    assert_eq!(r["resourceType"], "DiagnosticReport");
    assert_eq!(r["language"], "ru");
    // A final report with an addendum.
    assert_eq!(r["status"], "amended");
    assert_eq!(
        r["category"],
        json!([{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
            "code": "RAD",
            "display": "Radiology",
        }] }])
    );
    assert_eq!(r["code"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(r["code"]["coding"][0]["code"], "18748-4");
    assert_eq!(r["code"]["text"], "КТ органов грудной клетки");
    assert_eq!(
        r["subject"],
        json!({
            "identifier": { "system": "https://pacs.example.uz/patient-id", "value": "P-000123" },
            "display": "Иванов, Иван Петрович",
        })
    );
    assert_eq!(r["identifier"][0]["value"], "A2026-0042");
    assert_eq!(
        r["identifier"][0]["system"],
        "https://pacs.example.uz/accession"
    );
    assert_eq!(r["identifier"][0]["type"]["coding"][0]["code"], "ACSN");
    // Study date and time are the site's local time.
    assert_eq!(r["effectiveDateTime"], "2026-03-01T08:45:12+05:00");
    // Issued when the addendum was signed.
    assert_eq!(r["issued"], "2026-03-01T15:05:07+05:00");
    assert_eq!(r["performer"], json!([{ "display": "Д-р Петров А. В." }]));
    assert_eq!(
        r["resultsInterpreter"],
        json!([{ "display": "Д-р Петров А. В." }])
    );
    assert_eq!(r["conclusion"], IMPRESSION_RU);
    assert_eq!(
        r["imagingStudy"][0]["identifier"],
        json!({ "system": "urn:dicom:uid", "value": format!("urn:oid:{STUDY_UID}") })
    );

    let form = &r["presentedForm"][0];
    assert_eq!(form["contentType"], "application/pdf");
    assert_eq!(form["language"], "ru");
    assert_eq!(
        form["title"],
        "Протокол лучевого исследования: Иванов, Иван Петрович"
    );
    let data = base64::engine::general_purpose::STANDARD
        .decode(form["data"].as_str().expect("data"))
        .expect("base64");
    assert_eq!(data, pdf_bytes);

    let div = r["text"]["div"].as_str().expect("div");
    assert_eq!(r["text"]["status"], "generated");
    let xml = roxmltree::Document::parse(div).expect("well-formed XHTML");
    let root = xml.root_element();
    assert_eq!(root.tag_name().name(), "div");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/1999/xhtml")
    );
    let text: String = root
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ");
    for expected in [
        "Описание",
        "Заключение",
        IMPRESSION_RU,
        CRITICAL_NOTE_RU,
        "Дополнение 1",
        ADDENDUM_REASON_RU,
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {div}");
    }
    // Empty sections are left out.
    assert!(!div.contains("<h3>Сравнение</h3>"), "{div}");
}

#[test]
fn markup_typed_into_the_report_stays_text() {
    let mut doc = russian_report();
    doc.language = Lang::En;
    let hostile = "Mass <5 mm & \"benign\" <script>alert('x')</script>\n</div><p>injected";
    doc.versions[0].sections = Some(Sections {
        findings: hostile.into(),
        impression: "A > B & C < D".into(),
        ..Sections::default()
    });
    doc.versions[1].reason = Some("<b>bold</b>".into());
    doc.critical.as_mut().expect("critical").note = "]]><!-- x".into();
    let r = fhir_diagnostic_report(&doc, None, None).expect("fhir");
    let div = r["text"]["div"].as_str().expect("div");
    let xml = roxmltree::Document::parse(div).expect("well-formed XHTML");
    // Only the elements the narrative itself writes.
    for node in xml.descendants().filter(|n| n.is_element()) {
        assert!(
            ["div", "h2", "h3", "p", "b", "br"].contains(&node.tag_name().name()),
            "unexpected <{}> in {div}",
            node.tag_name().name()
        );
    }
    assert_eq!(
        xml.root_element()
            .children()
            .filter(|n| n.has_tag_name("script"))
            .count(),
        0
    );
    let text: String = xml.descendants().filter_map(|n| n.text()).collect();
    assert!(text.contains("Mass <5 mm & \"benign\" <script>alert('x')</script>"));
    assert!(text.contains("</div><p>injected"));
    assert!(text.contains("<b>bold</b>"));
    assert!(text.contains("]]><!-- x"));
    assert_eq!(r["conclusion"], "A > B & C < D");
    // No base URL: identifiers without a system; no PDF: no presentedForm.
    assert_eq!(r["subject"]["identifier"], json!({ "value": "P-000123" }));
    assert!(r.get("presentedForm").is_none());
}

#[test]
fn status_follows_the_versions() {
    let mut doc = russian_report();
    doc.versions.truncate(1);
    let r = fhir_diagnostic_report(&doc, None, None).expect("fhir");
    assert_eq!(r["status"], "final");
    assert_eq!(r["issued"], "2026-03-01T14:05:07+05:00");

    doc.versions[0].kind = VersionKind::Preliminary;
    let r = fhir_diagnostic_report(&doc, None, None).expect("fhir");
    assert_eq!(r["status"], "preliminary");

    // Preliminary by a resident, then final by the attending: both interpreted.
    let mut final_version = doc.versions[0].clone();
    final_version.version = 2;
    final_version.kind = VersionKind::Final;
    final_version.signed_by = "Dr Attending".into();
    final_version.signed_at += 60_000;
    doc.versions.push(final_version);
    let r = fhir_diagnostic_report(&doc, None, None).expect("fhir");
    assert_eq!(r["status"], "final");
    assert_eq!(r["performer"], json!([{ "display": "Dr Attending" }]));
    assert_eq!(
        r["resultsInterpreter"],
        json!([{ "display": "Д-р Петров А. В." }, { "display": "Dr Attending" }])
    );

    // Without a study time, only the date; without a date, no effective time.
    doc.study_time = None;
    let r = fhir_diagnostic_report(&doc, None, None).expect("fhir");
    assert_eq!(r["effectiveDateTime"], "2026-03-01");
    doc.study_date = None;
    let r = fhir_diagnostic_report(&doc, None, None).expect("fhir");
    assert!(r.get("effectiveDateTime").is_none());

    doc.versions.clear();
    assert!(fhir_diagnostic_report(&doc, None, None).is_err());
}
