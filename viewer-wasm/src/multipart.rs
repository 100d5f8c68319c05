//! Reading the `multipart/related` bodies WADO-RS answers frame requests
//! with (PS3.18 §8.7.3): one part per requested frame, each with its own
//! `Content-Type` (which carries the part's `transfer-syntax`).
//!
//! A whole body is split into byte ranges ([`split`]), so a 500 kB frame
//! is never copied before it is decoded; a body that streams in (a
//! series' pixel data in one response) is read part by part as it arrives
//! ([`PartReader`]).

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
/// response's `content_type`. A body that is not multipart is one part of
/// its own type.
pub fn split(content_type: &str, body: &[u8]) -> Result<Vec<Part>, MultipartError> {
    if !is_multipart(content_type) {
        return Ok(vec![Part {
            content_type: Some(content_type.to_owned()),
            body: 0..body.len(),
        }]);
    }
    let boundary = boundary(content_type)?;
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

fn is_multipart(content_type: &str) -> bool {
    content_type
        .trim_start()
        .get(..10)
        .is_some_and(|t| t.eq_ignore_ascii_case("multipart/"))
}

fn boundary(content_type: &str) -> Result<String, MultipartError> {
    media_type_param(content_type, "boundary")
        .filter(|b| !b.is_empty())
        .ok_or_else(|| MultipartError::NoBoundary(content_type.to_owned()))
}

/// Most bytes before the first delimiter, or of one part's headers,
/// that a streamed body may hold: past this it is not what it claims.
const MAX_HEAD: usize = 64 * 1024;

/// A part read from a streamed body: its headers of interest and a copy
/// of its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPart {
    pub content_type: Option<String>,
    /// Where the part's resource lives (WADO-RS names each instance's
    /// pixel data or frame this way).
    pub content_location: Option<String>,
    pub body: Vec<u8>,
}

/// Reads the parts of a `multipart/related` body as its bytes arrive:
/// each [`PartReader::push`] returns the parts its bytes completed. It
/// holds at most one unfinished part (and the bytes of one chunk).
#[derive(Debug)]
pub struct PartReader {
    dash_boundary: Vec<u8>,
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    /// Where the next part starts (just after a delimiter), once the
    /// first delimiter was found.
    pos: Option<usize>,
    /// Where to look for the delimiter ending the current part: the bytes
    /// before were searched already.
    scan_from: usize,
    closed: bool,
}

impl PartReader {
    /// A reader for a body of type `content_type`, which must name its
    /// boundary.
    pub fn new(content_type: &str) -> Result<PartReader, MultipartError> {
        let boundary = boundary(content_type)?;
        Ok(PartReader {
            dash_boundary: format!("--{boundary}").into_bytes(),
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            buf: Vec::new(),
            pos: None,
            scan_from: 0,
            closed: false,
        })
    }

    /// Adds the next bytes of the body; returns the parts they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<OwnedPart>, MultipartError> {
        if self.closed {
            return Ok(Vec::new());
        }
        self.buf.extend_from_slice(bytes);
        let mut parts = Vec::new();
        let mut pos = match self.pos {
            Some(pos) => pos,
            None => {
                let opening = if self.buf.starts_with(&self.dash_boundary) {
                    Some(self.dash_boundary.len())
                } else {
                    find(&self.buf, &self.delimiter, 0).map(|at| at + self.delimiter.len())
                };
                match opening {
                    Some(pos) => pos,
                    None if self.buf.len() > MAX_HEAD => return Err(MultipartError::NoFirstPart),
                    None => return Ok(parts),
                }
            }
        };
        loop {
            let rest = &self.buf[pos..];
            if rest.len() < 2 {
                break;
            }
            if rest.starts_with(b"--") {
                self.closed = true;
                break;
            }
            // The line after the delimiter, then the headers.
            let Some(line_end) = find(&self.buf, b"\r\n", pos) else {
                break;
            };
            let headers_start = line_end + 2;
            let (headers, body_start) = if self.buf[headers_start..].starts_with(b"\r\n") {
                (String::new(), headers_start + 2)
            } else {
                match find(&self.buf, b"\r\n\r\n", headers_start) {
                    Some(end) => (
                        String::from_utf8_lossy(&self.buf[headers_start..end]).into_owned(),
                        end + 4,
                    ),
                    None if self.buf.len() - headers_start > MAX_HEAD => {
                        return Err(MultipartError::UnterminatedHeaders);
                    }
                    None => break,
                }
            };
            let from = self.scan_from.max(body_start);
            let Some(body_end) = find(&self.buf, &self.delimiter, from) else {
                // Next time, look only where the delimiter may still start.
                self.scan_from = self
                    .buf
                    .len()
                    .saturating_sub(self.delimiter.len())
                    .max(body_start);
                break;
            };
            parts.push(OwnedPart {
                content_type: header_value(&headers, "content-type"),
                content_location: header_value(&headers, "content-location"),
                body: self.buf[body_start..body_end].to_vec(),
            });
            pos = body_end + self.delimiter.len();
            self.scan_from = 0;
        }
        // Drop what was read; keep the part in progress.
        self.buf.drain(..pos);
        self.scan_from = self.scan_from.saturating_sub(pos);
        self.pos = Some(0);
        Ok(parts)
    }

    /// Whether the closing delimiter was read: a body that ends before it
    /// was cut short.
    pub fn is_complete(&self) -> bool {
        self.closed
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
    fn a_body_that_is_not_multipart_is_one_part() {
        let ct = "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1";
        let parts = split(ct, b"abcd").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body, 0..4);
        assert_eq!(
            parts[0].transfer_syntax().as_deref(),
            Some("1.2.840.10008.1.2.1")
        );
    }

    /// A body with Content-Location headers, as a series' bulk data.
    fn located_body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = b"preamble".to_vec();
        for (location, payload) in parts {
            body.extend_from_slice(b"\r\n--XyZ\r\nContent-Type: application/octet-stream\r\n");
            body.extend_from_slice(format!("Content-Location: {location}\r\n\r\n").as_bytes());
            body.extend_from_slice(payload);
        }
        body.extend_from_slice(b"\r\n--XyZ--\r\n");
        body
    }

    #[test]
    fn streamed_parts_come_out_whatever_the_chunks() {
        let one: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        // Bytes that look like the start of a delimiter.
        let two: &[u8] = b"\r\n--Xy\r\n-";
        let three: &[u8] = b"";
        let body = located_body(&[("/a/1", &one), ("/a/2", two), ("/a/3", three)]);
        for chunk in [1, 2, 3, 7, 64, 1000, body.len()] {
            let mut reader = PartReader::new(CT).unwrap();
            let mut parts = Vec::new();
            for piece in body.chunks(chunk) {
                parts.extend(reader.push(piece).unwrap());
            }
            assert!(reader.is_complete(), "chunks of {chunk}");
            let got: Vec<(Option<&str>, &[u8])> = parts
                .iter()
                .map(|p| (p.content_location.as_deref(), p.body.as_slice()))
                .collect();
            assert_eq!(
                got,
                [
                    (Some("/a/1"), one.as_slice()),
                    (Some("/a/2"), two),
                    (Some("/a/3"), three)
                ],
                "chunks of {chunk}"
            );
            assert_eq!(
                parts[0].content_type.as_deref(),
                Some("application/octet-stream")
            );
        }
    }

    #[test]
    fn a_streamed_body_cut_short_is_incomplete() {
        let body = located_body(&[("/a/1", b"abcdef"), ("/a/2", b"ghijkl")]);
        let mut reader = PartReader::new(CT).unwrap();
        let parts = reader.push(&body[..body.len() - 14]).unwrap();
        assert_eq!(parts.len(), 1, "only the first part is whole");
        assert!(!reader.is_complete());
        // Not a multipart body at all.
        let mut reader = PartReader::new(CT).unwrap();
        assert_eq!(
            reader.push(&vec![b'x'; MAX_HEAD + 1]),
            Err(MultipartError::NoFirstPart)
        );
        assert!(matches!(
            PartReader::new("application/octet-stream"),
            Err(MultipartError::NoBoundary(_))
        ));
    }

    #[test]
    fn media_type_parameters_are_case_insensitive_and_unquoted() {
        let ct = "multipart/related; Type=\"image/jls\"; BOUNDARY=\"a b\"";
        assert_eq!(media_type_param(ct, "boundary").as_deref(), Some("a b"));
        assert_eq!(media_type_param(ct, "type").as_deref(), Some("image/jls"));
        assert_eq!(media_type_param(ct, "start"), None);
    }
}
