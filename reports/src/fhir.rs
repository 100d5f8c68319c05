//! The report as a FHIR R4 DiagnosticReport for the hospital's record
//! system: structured header, the impression as `conclusion`, a readable
//! narrative, and the PDF itself as `presentedForm`.

use base64::Engine;
use serde_json::{Value, json};

use crate::format::{Civil, parse_da, parse_tm, person_name};
use crate::labels::labels;
use crate::model::{ReportDocument, ReportStatus};
use crate::templates::section_titles;
use crate::{ReportError, normalize_text};

const LOINC: &str = "http://loinc.org";
const V2_0074: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// Builds the DiagnosticReport for `doc`.
///
/// `base_url`, the archive's public base URL, namespaces the identifiers it
/// issues (`{base}/patient-id`, `{base}/accession`); without it they carry
/// no `system`. `pdf`, when given, is embedded as the `presentedForm`.
/// Status is `preliminary`, `final`, or `amended` once a final report has
/// addenda. Times are at the site's offset from UTC.
pub fn fhir_diagnostic_report(
    doc: &ReportDocument,
    base_url: Option<&str>,
    pdf: Option<&[u8]>,
) -> Result<Value, ReportError> {
    doc.validate()?;
    let report = doc.report_version().ok_or(ReportError::NotSigned)?;
    let last = doc.last_signed().ok_or(ReportError::NotSigned)?;
    let base = base_url.map(|b| b.trim_end_matches('/'));
    let l = labels(doc.language);
    let issued = Civil::at(last.signed_at, doc.utc_offset_minutes).rfc3339();

    let mut r = json!({
        "resourceType": "DiagnosticReport",
        "language": doc.language.bcp47(),
        "text": {
            "status": "generated",
            "div": narrative(doc),
        },
        "status": match doc.status() {
            ReportStatus::Preliminary => "preliminary",
            ReportStatus::Final => "final",
            ReportStatus::Amended => "amended",
        },
        "category": [{
            "coding": [{ "system": V2_0074, "code": "RAD", "display": "Radiology" }],
        }],
        "code": {
            "coding": [{ "system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study" }],
        },
        "subject": {
            "identifier": identifier(base, "patient-id", doc.patient_id.trim()),
            "display": person_name(&doc.patient_name),
        },
        "issued": issued,
        "performer": [{ "display": normalize_text(&report.signed_by) }],
        "resultsInterpreter": interpreters(doc),
        "imagingStudy": [{
            "identifier": { "system": "urn:dicom:uid", "value": format!("urn:oid:{}", doc.study_uid) },
        }],
    });

    if let Some(text) = doc
        .study_description
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        r["code"]["text"] = json!(text);
        r["imagingStudy"][0]["display"] = json!(text);
    }
    if let Some(acc) = doc
        .accession_number
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let mut id = identifier(base, "accession", acc);
        id["type"] = json!({ "coding": [{ "system": V2_0203, "code": "ACSN" }] });
        r["identifier"] = json!([id]);
    }
    if let Some(effective) = effective(doc) {
        r["effectiveDateTime"] = json!(effective);
    }
    if let Some(sections) = doc.sections() {
        let impression = normalize_text(&sections.impression);
        if !impression.trim().is_empty() {
            r["conclusion"] = json!(impression.trim());
        }
    }
    if let Some(pdf) = pdf {
        r["presentedForm"] = json!([{
            "contentType": "application/pdf",
            "language": doc.language.bcp47(),
            "data": base64::engine::general_purpose::STANDARD.encode(pdf),
            "title": format!("{}: {}", l.report_title, person_name(&doc.patient_name)),
            "creation": issued,
        }]);
    }
    Ok(r)
}

fn identifier(base: Option<&str>, kind: &str, value: &str) -> Value {
    match base {
        Some(base) => json!({ "system": format!("{base}/{kind}"), "value": value }),
        None => json!({ "value": value }),
    }
}

/// Everyone who signed a version, once each, in signing order.
fn interpreters(doc: &ReportDocument) -> Value {
    let mut names: Vec<String> = Vec::new();
    for v in &doc.versions {
        let name = normalize_text(&v.signed_by);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Value::Array(names.into_iter().map(|n| json!({ "display": n })).collect())
}

/// When the study was done: its date, with the time and the site's offset
/// when the time is known (FHIR wants a zone on any dateTime with a time).
fn effective(doc: &ReportDocument) -> Option<String> {
    let (y, m, d) = parse_da(doc.study_date.as_deref()?)?;
    let date = format!("{y:04}-{m:02}-{d:02}");
    let Some((h, mi, s)) = doc.study_time.as_deref().and_then(parse_tm) else {
        return Some(date);
    };
    let offset = doc.utc_offset_minutes;
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.unsigned_abs();
        format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
    };
    Some(format!("{date}T{h:02}:{mi:02}:{s:02}{zone}"))
}

/// The human-readable narrative: the critical finding, the sections with
/// their titles, and the addenda. All text from the report is escaped.
fn narrative(doc: &ReportDocument) -> String {
    let l = labels(doc.language);
    let lang = doc.language.bcp47();
    let mut div =
        format!("<div xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"{lang}\" xml:lang=\"{lang}\">");
    div.push_str(&format!("<h2>{}</h2>", escape(l.report_title)));
    if let Some(c) = &doc.critical {
        div.push_str(&format!(
            "<p><b>{}:</b> {}</p>",
            escape(l.critical),
            paragraph(&c.note)
        ));
    }
    if let Some(sections) = doc.sections() {
        for ((_, title), (_, text)) in section_titles(doc.language).iter().zip(sections.entries()) {
            if text.trim().is_empty() {
                continue;
            }
            div.push_str(&format!(
                "<h3>{}</h3><p>{}</p>",
                escape(title),
                paragraph(text)
            ));
        }
    }
    for (n, v) in doc.addenda().enumerate() {
        div.push_str(&format!("<h3>{} {}</h3>", escape(l.addendum), n + 1));
        if let Some(reason) = v.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            div.push_str(&format!(
                "<p><b>{}:</b> {}</p>",
                escape(l.reason),
                paragraph(reason)
            ));
        }
        div.push_str(&format!(
            "<p>{}</p>",
            paragraph(v.text.as_deref().unwrap_or(""))
        ));
        div.push_str(&format!(
            "<p>{}: {}</p>",
            escape(l.signed_by),
            escape(&normalize_text(&v.signed_by))
        ));
    }
    div.push_str("</div>");
    div
}

/// Report text as XHTML: escaped, line breaks kept as `<br/>`.
fn paragraph(text: &str) -> String {
    normalize_text(text)
        .trim()
        .lines()
        .map(escape)
        .collect::<Vec<_>>()
        .join("<br/>")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(paragraph("a < b\r\nc > d\n"), "a &lt; b<br/>c &gt; d");
    }
}
