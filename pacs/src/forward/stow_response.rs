//! What a STOW-RS store response (PS3.18 §10.5.3) says of the instances
//! sent. An instance counts as stored only where the response names it in
//! its Referenced SOP Sequence: a 200 alone proves nothing, since a proxy's
//! login page or a web server's welcome page answers 200 to any POST.

use serde_json::Value;

/// Referenced SOP Sequence: the instances the destination stored.
const REFERENCED_SOP_SEQUENCE: &str = "00081199";
/// Failed SOP Sequence: the instances it refused, each with a reason.
const FAILED_SOP_SEQUENCE: &str = "00081198";
const REFERENCED_SOP_CLASS_UID: &str = "00081150";
const REFERENCED_SOP_INSTANCE_UID: &str = "00081155";
const FAILURE_REASON: &str = "00081197";

/// The instances a store response accounts for.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct StoreResponse {
    /// SOP Instance UID and, where the destination gave it, SOP Class UID.
    stored: Vec<(String, Option<String>)>,
    /// SOP Instance UID and failure reason (`0110H`, or `unknown`).
    failed: Vec<(String, String)>,
}

/// What a store response says of one instance.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fate<'a> {
    Stored,
    /// In the Failed SOP Sequence, with its reason.
    Failed(&'a str),
    /// Stored, says the destination, but as an instance of another class:
    /// not the object that was sent.
    OtherClass(&'a str),
    /// In neither sequence.
    Unaccounted,
}

impl StoreResponse {
    /// Reads a store response: a DICOM JSON data set (or a one-item array
    /// of one) holding a Referenced or a Failed SOP Sequence. `None` for
    /// anything else: not JSON, or JSON without either sequence.
    pub fn parse(body: &str) -> Option<StoreResponse> {
        let json = serde_json::from_str::<Value>(body).ok()?;
        let data_set = match &json {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        let data_set = data_set.as_object()?;
        let sequence = |tag: &str| data_set.get(tag).map(items_of);
        let (stored, failed) = (
            sequence(REFERENCED_SOP_SEQUENCE),
            sequence(FAILED_SOP_SEQUENCE),
        );
        if stored.is_none() && failed.is_none() {
            return None;
        }
        Some(StoreResponse {
            stored: stored
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let uid = first_string(item, REFERENCED_SOP_INSTANCE_UID)?;
                    Some((uid, first_string(item, REFERENCED_SOP_CLASS_UID)))
                })
                .collect(),
            failed: failed.into_iter().flatten().filter_map(failure).collect(),
        })
    }

    /// The failed instances of any body, for an answer that stored nothing
    /// (409), where only the reasons matter.
    pub fn failures_in(body: &str) -> Vec<(String, String)> {
        StoreResponse::parse(body)
            .map(|r| r.failed)
            .unwrap_or_default()
    }

    /// What the response says of the instance `sop_instance_uid` of class
    /// `sop_class_uid`. A failure wins over a reference to the same
    /// instance: it was not stored as sent.
    pub fn fate(&self, sop_class_uid: &str, sop_instance_uid: &str) -> Fate<'_> {
        if let Some((_, reason)) = self.failed.iter().find(|(u, _)| u == sop_instance_uid) {
            return Fate::Failed(reason);
        }
        let mut other = None;
        for (_, class) in self.stored.iter().filter(|(u, _)| u == sop_instance_uid) {
            match class.as_deref() {
                Some(c) if c != sop_class_uid => other = other.or(Some(c)),
                _ => return Fate::Stored,
            }
        }
        other.map_or(Fate::Unaccounted, Fate::OtherClass)
    }
}

/// Whether a failure reason says the destination already holds the
/// instance: 0111H, Duplicate SOP Instance (PS3.7 C.4.2.1.4), or
/// B00EH, which some cloud DICOM services give a second POST of an
/// instance. A resend after a lost answer (routine on a flaky link) meets
/// it; sending again can change nothing, so it is no refusal.
pub(super) fn already_held(reason: &str) -> bool {
    matches!(reason, "0111H" | "B00EH")
}

/// The items of a sequence attribute; none where it has no `Value` (an
/// empty sequence may leave it out).
fn items_of(attribute: &Value) -> Vec<&Value> {
    attribute
        .get("Value")
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default()
}

/// The first value of a string attribute, without the padding some
/// encoders carry over from binary DICOM.
fn first_string(item: &Value, tag: &str) -> Option<String> {
    let value = item.get(tag)?.get("Value")?.get(0)?.as_str()?;
    let value = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!value.is_empty()).then(|| value.to_owned())
}

fn failure(item: &Value) -> Option<(String, String)> {
    let uid = first_string(item, REFERENCED_SOP_INSTANCE_UID)?;
    let reason = item
        .get(FAILURE_REASON)
        .and_then(|r| r.get("Value")?.get(0)?.as_u64())
        .map_or_else(|| "unknown".into(), |r| format!("{r:04X}H"));
    Some((uid, reason))
}

/// Whether a `Content-Type` may carry DICOM JSON: `application/dicom+json`,
/// `application/json`, another `+json` type, or none given.
pub(super) fn is_json(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Why an answer to a STOW-RS request is no store response, for an
/// operator: what came back instead, and the likely cause.
pub(super) fn not_a_store_response(
    url: &str,
    status: impl std::fmt::Display,
    content_type: Option<&str>,
    body: &str,
) -> String {
    let detail = match content_type {
        Some(ct) if is_json(Some(ct)) => format!(
            "{ct} without a Referenced or Failed SOP Sequence: {}",
            gist(body)
        ),
        Some(ct) => format!("{ct}: {}", gist(body)),
        None => format!("no Content-Type: {}", gist(body)),
    };
    format!(
        "STOW-RS to {url}: the destination answered {status} but not with a DICOM store \
         response ({detail}); nothing is counted as delivered; is dicomweb_url right?"
    )
}

/// A few words of a body to recognise it by: an HTML page's title, or
/// its start.
fn gist(body: &str) -> String {
    const MAX_CHARS: usize = 120;
    let lower = body.to_ascii_lowercase();
    let title = lower.find("<title>").and_then(|start| {
        let start = start + "<title>".len();
        let end = start + lower[start..].find("</title>")?;
        body.get(start..end)
    });
    let text = title
        .unwrap_or(body)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut gist = text.chars().take(MAX_CHARS).collect::<String>();
    gist.truncate(gist.trim_end().len());
    if gist.len() < text.len() {
        gist.push('…');
    }
    match (title, gist.is_empty()) {
        (_, true) => "an empty body".into(),
        (Some(_), false) => format!("a page titled \"{gist}\""),
        (None, false) => format!("\"{gist}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
    const MR: &str = "1.2.840.10008.5.1.4.1.1.4";

    #[test]
    fn failures_are_read_from_a_stow_response() {
        let body = r#"{
            "00081198": {"vr": "SQ", "Value": [
                {"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                 "00081155": {"vr": "UI", "Value": ["1.2.3.4"]},
                 "00081197": {"vr": "US", "Value": [272]}}
            ]},
            "00081199": {"vr": "SQ", "Value": []}
        }"#;
        assert_eq!(
            StoreResponse::failures_in(body),
            vec![("1.2.3.4".to_owned(), "0110H".to_owned())]
        );
        let response = StoreResponse::parse(body).expect("a store response");
        assert_eq!(response.fate(CT, "1.2.3.4"), Fate::Failed("0110H"));
        assert_eq!(response.fate(CT, "1.2.3.5"), Fate::Unaccounted);
        assert!(StoreResponse::failures_in("{}").is_empty());
        assert!(StoreResponse::failures_in("<NativeDicomModel/>").is_empty());
    }

    #[test]
    fn only_referenced_instances_count_as_stored() {
        let body = r#"{
            "00081190": {"vr": "UR", "Value": ["https://centre/studies/1.2"]},
            "00081199": {"vr": "SQ", "Value": [
                {"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                 "00081155": {"vr": "UI", "Value": ["1.2.3.1"]}},
                {"00081155": {"vr": "UI", "Value": ["1.2.3.2\u0000"]}},
                {"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                 "00081155": {"vr": "UI", "Value": ["1.2.3.3"]}}
            ]}
        }"#;
        let response = StoreResponse::parse(body).expect("a store response");
        assert_eq!(response.fate(CT, "1.2.3.1"), Fate::Stored);
        // No class given: the UID alone matches.
        assert_eq!(response.fate(MR, "1.2.3.2"), Fate::Stored);
        assert_eq!(response.fate(MR, "1.2.3.3"), Fate::OtherClass(CT));
        assert_eq!(response.fate(CT, "1.2.3.4"), Fate::Unaccounted);
        // Some servers wrap the data set in an array, as for QIDO-RS.
        let wrapped = format!("[{body}]");
        let response = StoreResponse::parse(&wrapped).expect("a store response");
        assert_eq!(response.fate(CT, "1.2.3.1"), Fate::Stored);
    }

    #[test]
    fn a_body_without_either_sequence_is_no_store_response() {
        for body in [
            "",
            "<html><body><h1>Welcome to nginx!</h1></body></html>",
            "{}",
            r#"{"status": "ok"}"#,
            r#"[{}, {}]"#,
            "null",
        ] {
            assert_eq!(StoreResponse::parse(body), None, "{body:?}");
        }
        // An empty Referenced SOP Sequence is a response that stored nothing.
        let empty = StoreResponse::parse(r#"{"00081199": {"vr": "SQ"}}"#).expect("a response");
        assert_eq!(empty.fate(CT, "1.2.3.1"), Fate::Unaccounted);
    }

    #[test]
    fn json_content_types_are_told_from_others() {
        for json in [
            None,
            Some("application/dicom+json"),
            Some("Application/DICOM+JSON; charset=utf-8"),
            Some("application/json"),
        ] {
            assert!(is_json(json), "{json:?}");
        }
        for other in [
            "text/html",
            "text/html; charset=utf-8",
            "application/dicom+xml",
            "",
        ] {
            assert!(!is_json(Some(other)), "{other:?}");
        }
    }

    #[test]
    fn an_operator_is_told_what_came_back_instead() {
        let nginx = "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n\
                     <style>html { color-scheme: light dark; }</style></head>\n\
                     <body><h1>Welcome to nginx!</h1></body></html>";
        assert_eq!(
            not_a_store_response(
                "http://centre/dicom-web/studies",
                "200 OK",
                Some("text/html"),
                nginx
            ),
            "STOW-RS to http://centre/dicom-web/studies: the destination answered 200 OK but \
             not with a DICOM store response (text/html: a page titled \"Welcome to nginx!\"); \
             nothing is counted as delivered; is dicomweb_url right?"
        );
        let json = not_a_store_response("u", "200 OK", Some("application/json"), "{\"ok\": true}");
        assert!(
            json.contains(
                "(application/json without a Referenced or Failed SOP Sequence: \"{\"ok\": true}\")"
            ),
            "{json}"
        );
        let empty = not_a_store_response("u", "202 Accepted", None, " ");
        assert!(
            empty.contains("(no Content-Type: an empty body)"),
            "{empty}"
        );
        let long = not_a_store_response("u", "200 OK", Some("text/plain"), &"word ".repeat(100));
        assert!(long.contains("word word…\")"), "{long}");
    }
}
