//! Reading the `multipart/related` bodies WADO-RS answers frame requests
//! with (PS3.18 §8.7.3): one part per requested frame, each with its own
//! `Content-Type` (which carries the part's `transfer-syntax`).
//!
//! Parts are returned as byte ranges into the body, so a 500 kB frame is
//! never copied before it is decoded.

use std::ops::Range;

/// Why a frame response could not be split into its parts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MultipartError {
    /// The response's Content-Type names no boundary.
    #[error("the server's frame response has no multipart boundary (Content-Type: {0})")]
    NoBoundary(String),
    /// The body does not contain the opening delimiter.
    #[error("the server's frame response does not start a multipart part")]
    NoFirstPart,
    /// A part's headers never end.
    #[error("a part of the server's frame response has unterminated headers")]
    UnterminatedHeaders,
    /// A part is not closed by a delimiter (the body was cut short).
    #[error("the server's frame response ended in the middle of a part")]
    Truncated,
}

/// One body part: its content type (if it declared one) and where its
/// bytes are in the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The part's Content-Type header value, as sent.
    pub content_type: Option<String>,
    /// The part's payload within the body.
    pub body: Range<usize>,
}

impl Part {
    /// The `transfer-syntax` parameter of the part's content type.
    pub fn transfer_syntax(&self) -> Option<String> {
        self.content_type
            .as_deref()
            .and_then(|ct| media_type_param(ct, "transfer-syntax"))
    }
}

/// The value of parameter `name` in a media type such as
/// `multipart/related; type="application/octet-stream"; boundary=abc`,
/// with surrounding quotes removed; names compare case-insensitively.
pub fn media_type_param(content_type: &str, name: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Splits `body` into its parts, using the boundary named in the
/// response's `content_type`.
pub fn split(content_type: &str, body: &[u8]) -> Result<Vec<Part>, MultipartError> {
    let boundary = media_type_param(content_type, "boundary")
        .filter(|b| !b.is_empty())
        .ok_or_else(|| MultipartError::NoBoundary(content_type.to_owned()))?;
    let dash_boundary = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");

    // The first delimiter may be preceded by a preamble, or be the very
    // first bytes (no CRLF before it).
    let mut pos = if body.starts_with(dash_boundary.as_bytes()) {
        dash_boundary.len()
    } else {
        find(body, delimiter.as_bytes(), 0).ok_or(MultipartError::NoFirstPart)? + delimiter.len()
    };

    let mut parts = Vec::new();
    loop {
        // After a delimiter: "--" closes the body, otherwise CRLF and headers.
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        let line_end = find(body, b"\r\n", pos).ok_or(MultipartError::Truncated)?;
        let headers_start = line_end + 2;
        let (headers, body_start) = if body[headers_start..].starts_with(b"\r\n") {
            ("", headers_start + 2)
        } else {
            let end = find(body, b"\r\n\r\n", headers_start)
                .ok_or(MultipartError::UnterminatedHeaders)?;
            (
                std::str::from_utf8(&body[headers_start..end]).unwrap_or(""),
                end + 4,
            )
        };
        let body_end =
            find(body, delimiter.as_bytes(), body_start).ok_or(MultipartError::Truncated)?;
        parts.push(Part {
            content_type: header_value(headers, "content-type"),
            body: body_start..body_end,
        });
        pos = body_end + delimiter.len();
    }
}

/// The value of header `name` in a block of CRLF-separated header lines.
fn header_value(headers: &str, name: &str) -> Option<String> {
    headers.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The first index at or after `from` where `needle` starts.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= haystack.len() {
        match haystack[i..].iter().position(|&b| b == first) {
            None => return None,
            Some(offset) => {
                let start = i + offset;
                if start + needle.len() > haystack.len() {
                    return None;
                }
                if &haystack[start..start + needle.len()] == needle {
                    return Some(start);
                }
                i = start + 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/related; type=\"application/octet-stream\"; boundary=XyZ";

    fn body_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (content_type, payload) in parts {
            body.extend_from_slice(b"--XyZ\r\nContent-Type: ");
            body.extend_from_slice(content_type.as_bytes());
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(payload);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        body
    }

    #[test]
    fn splits_frames_and_reads_their_transfer_syntax() {
        // The payloads contain CRLF and "--" so only the full delimiter may
        // end a part.
        let one: &[u8] = &[0x23, 0x00, b'\r', b'\n', b'-', b'-', 0xff];
        let two: &[u8] = &[1, 2, 3, 4];
        let body = body_of(&[
            (
                "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1",
                one,
            ),
            ("image/jls; transfer-syntax=\"1.2.840.10008.1.2.4.80\"", two),
        ]);
        let parts = split(CT, &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(&body[parts[0].body.clone()], one);
        assert_eq!(&body[parts[1].body.clone()], two);
        assert_eq!(
            parts[0].transfer_syntax().as_deref(),
            Some("1.2.840.10008.1.2.1")
        );
        assert_eq!(
            parts[1].transfer_syntax().as_deref(),
            Some("1.2.840.10008.1.2.4.80")
        );
    }

    #[test]
    fn accepts_a_preamble_and_parts_without_headers() {
        let body = b"preamble\r\n--XyZ\r\n\r\nabc\r\n--XyZ--";
        let parts = split(CT, body).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(&body[parts[0].body.clone()], b"abc");
        assert_eq!(parts[0].content_type, None);
    }

    #[test]
    fn reports_missing_boundary_and_truncation() {
        assert!(matches!(
            split("multipart/related", b""),
            Err(MultipartError::NoBoundary(_))
        ));
        let body = body_of(&[("application/octet-stream", b"abcdef")]);
        let cut = &body[..body.len() - 12];
        assert_eq!(split(CT, cut), Err(MultipartError::Truncated));
        assert_eq!(split(CT, b"nothing here"), Err(MultipartError::NoFirstPart));
    }

    #[test]
    fn media_type_parameters_are_case_insensitive_and_unquoted() {
        let ct = "multipart/related; Type=\"image/jls\"; BOUNDARY=\"a b\"";
        assert_eq!(media_type_param(ct, "boundary").as_deref(), Some("a b"));
        assert_eq!(media_type_param(ct, "type").as_deref(), Some("image/jls"));
        assert_eq!(media_type_param(ct, "start"), None);
    }
}
