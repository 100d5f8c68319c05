//! Reading back what the archive holds, over its DICOMweb API: QIDO-RS
//! searches and WADO-RS retrieves, with a small multipart/related reader.
#![allow(dead_code)]

use serde_json::Value;

use crate::common::{Server, http};

/// Accept header for a retrieve of the stored object, in any syntax.
pub const AS_STORED: &str = r#"multipart/related; type="application/dicom"; transfer-syntax=*"#;
/// Accept header for uncompressed frames.
pub const OCTET_FRAMES: &str = r#"multipart/related; type="application/octet-stream""#;

/// One part of a multipart/related body.
#[derive(Debug)]
pub struct Part {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A QIDO-RS search (`path` below `/dicom-web`, query included); the
/// results as JSON objects.
pub fn qido(server: &Server, path: &str) -> Vec<Value> {
    let url = format!("{}{path}", server.base());
    let response = http()
        .get(&url)
        .header("Accept", "application/dicom+json")
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    if status == reqwest::StatusCode::NO_CONTENT {
        return Vec::new();
    }
    let text = response.text().expect("QIDO body");
    assert!(status.is_success(), "GET {url}: {status}: {text}");
    if text.trim().is_empty() {
        return Vec::new();
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("QIDO JSON from {url}: {e}: {text}"))
}

/// The first value of attribute `tag` (e.g. `"00201208"`) of a QIDO result.
pub fn first_value<'a>(result: &'a Value, tag: &str) -> Option<&'a Value> {
    result.get(tag)?.get("Value")?.get(0)
}

/// The string value of attribute `tag` of a QIDO result.
pub fn text(result: &Value, tag: &str) -> Option<String> {
    first_value(result, tag)?.as_str().map(str::to_owned)
}

/// NumberOfStudyRelatedInstances of `study`, or `None` when QIDO does not
/// know the study.
pub fn study_instance_count(server: &Server, study: &str) -> Option<u64> {
    let found = qido(server, &format!("/studies?StudyInstanceUID={study}"));
    assert!(found.len() <= 1, "one study per UID: {found:?}");
    let study = found.first()?;
    let count = first_value(study, "00201208").expect("NumberOfStudyRelatedInstances");
    Some(
        count
            .as_u64()
            .or_else(|| count.as_str().and_then(|s| s.trim().parse().ok()))
            .expect("a number"),
    )
}

/// Every instance the index knows, as (study, series, SOP instance) UIDs.
pub fn all_instances(server: &Server) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = qido(server, "/instances?limit=10000")
        .iter()
        .map(|r| {
            (
                text(r, "0020000D").expect("study UID"),
                text(r, "0020000E").expect("series UID"),
                text(r, "00080018").expect("SOP instance UID"),
            )
        })
        .collect();
    out.sort();
    out
}

/// Splits a multipart/related body by the boundary in `content_type`.
pub fn multipart(content_type: &str, body: &[u8]) -> Vec<Part> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .unwrap_or_else(|| panic!("no boundary in {content_type}"))
        .trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut starts = find_all(body, &delimiter);
    // Each part runs from after a delimiter line to the CRLF before the next.
    starts.push(body.len());
    for window in starts.windows(2) {
        let (start, end) = (window[0] + delimiter.len(), window[1]);
        let chunk = &body[start..end];
        if chunk.starts_with(b"--") {
            break; // closing delimiter
        }
        let chunk = chunk.strip_prefix(b"\r\n").expect("CRLF after a boundary");
        let header_end = find_all(chunk, b"\r\n\r\n")
            .first()
            .copied()
            .expect("part headers end");
        let headers = String::from_utf8_lossy(&chunk[..header_end]).into_owned();
        let content_type = headers
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default();
        let mut payload = &chunk[header_end + 4..];
        payload = payload.strip_suffix(b"\r\n").unwrap_or(payload);
        parts.push(Part {
            content_type,
            body: payload.to_vec(),
        });
    }
    parts
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        if &haystack[i..i + needle.len()] == needle {
            out.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// GET `url` with `accept`; the parts of the multipart answer.
pub fn get_parts(url: &str, accept: &str) -> Vec<Part> {
    let response = http()
        .get(url)
        .header("Accept", accept)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.bytes().expect("body").to_vec();
    assert!(
        status.is_success(),
        "GET {url}: {status}: {}",
        String::from_utf8_lossy(&body)
    );
    multipart(&content_type, &body)
}

/// The stored object of one instance, as retrieved with
/// `transfer-syntax=*`: its part's content type and bytes.
pub fn retrieve(server: &Server, study: &str, series: &str, sop: &str) -> Part {
    let url = format!(
        "{}/studies/{study}/series/{series}/instances/{sop}",
        server.base()
    );
    let mut parts = get_parts(&url, AS_STORED);
    assert_eq!(parts.len(), 1, "one part for one instance");
    parts.remove(0)
}

/// Frame `n` of an instance as uncompressed bytes.
pub fn frame(server: &Server, study: &str, series: &str, sop: &str, n: u32) -> Vec<u8> {
    let url = format!(
        "{}/studies/{study}/series/{series}/instances/{sop}/frames/{n}",
        server.base()
    );
    let mut parts = get_parts(&url, OCTET_FRAMES);
    assert_eq!(parts.len(), 1, "one part for one frame");
    parts.remove(0).body
}

/// The value of the `transfer-syntax` parameter of a part's content type.
pub fn transfer_syntax_of(part: &Part) -> String {
    part.content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("transfer-syntax="))
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

/// `GET /healthz` totals: (studies, series, instances).
pub fn totals(server: &Server) -> (u64, u64, u64) {
    let body: Value = http()
        .get(server.url("/healthz"))
        .send()
        .expect("healthz")
        .json()
        .expect("healthz JSON");
    let t = &body["totals"];
    let n = |k: &str| {
        t[k].as_u64()
            .unwrap_or_else(|| panic!("totals.{k} in {body}"))
    };
    (n("studies"), n("series"), n("instances"))
}
