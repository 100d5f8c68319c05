//! Content negotiation for DICOMweb (PS3.18 §8.7, RFC 9110 §12.5.1).
//!
//! The requested media ranges come from the `Accept` header or, when
//! present, the PS3.18 `accept` query parameter, which overrides it
//! ([`requested_ranges`]). A malformed range is ignored, as RFC 9110
//! suggests; when nothing acceptable remains the helpers return `None` or
//! [`NotAcceptable`] and the route answers 406.
//!
//! [`choose`] is the generic pick among the media types a route can send;
//! [`negotiate_instance`] and [`negotiate_frames`] make the WADO-RS
//! transfer syntax decisions.

mod media_type;
mod transfer_syntax;

pub use media_type::{MediaType, MediaTypeError};
pub use transfer_syntax::{
    EXPLICIT_VR_LITTLE_ENDIAN, FrameRendition, InstanceTransferSyntax, NotAcceptable, Packaging,
    default_transfer_syntax, media_type_for_transfer_syntax, names_transfer_syntax,
    negotiate_frames, negotiate_instance, negotiate_one_instance, transfer_syntaxes_for_media_type,
};

use media_type::split_list;

/// The highest quality value, in thousandths.
const Q_MAX: u16 = 1000;

/// One requested media range with its quality value (`q`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRange {
    media_type: MediaType,
    /// Quality in thousandths (0..=1000), exact where a float would not be.
    q: u16,
}

impl MediaRange {
    /// `*/*`: what a request without `Accept` asks for.
    pub fn any() -> Self {
        Self {
            media_type: MediaType::new("*", "*"),
            q: Q_MAX,
        }
    }

    /// Parses one element of an `Accept` list, such as
    /// `multipart/related; type="application/dicom"; transfer-syntax=*; q=0.5`.
    /// The `q` parameter is taken out; the others stay on the media type.
    pub fn parse(input: &str) -> Result<Self, MediaTypeError> {
        let mut media_type = MediaType::parse(input)?;
        let q = match media_type.take_param("q") {
            None => Q_MAX,
            Some(value) => parse_q(&value).ok_or_else(|| MediaTypeError {
                input: input.to_owned(),
                reason: "q must be a number from 0 to 1 with at most 3 decimals",
            })?,
        };
        Ok(Self { media_type, q })
    }

    /// The range without its `q`: type and subtype may be `*`.
    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    /// The quality value, 0.0 (not acceptable) to 1.0.
    pub fn q(&self) -> f32 {
        f32::from(self.q) / f32::from(Q_MAX)
    }

    /// Whether this range covers `offered` (ignoring `q`).
    pub fn matches(&self, offered: &MediaType) -> bool {
        match_specificity(&self.media_type, offered, None).is_some()
    }
}

/// Parses an `Accept` header value. Malformed ranges are skipped; an
/// empty result means nothing is acceptable (406).
pub fn parse_accept(header: &str) -> Vec<MediaRange> {
    parse_list(header, false)
}

/// Parses the PS3.18 `accept` query parameter (already percent-decoded):
/// the same comma-separated grammar as the header. A `+` left unencoded in
/// the URL is decoded as a space by form decoders, so a space between two
/// letters or digits is read back as `+` (`application/dicom json` is
/// `application/dicom+json`).
pub fn parse_accept_query(value: &str) -> Vec<MediaRange> {
    parse_list(value, true)
}

/// The ranges a request asks for: the `accept` query parameter values if
/// any is given (PS3.18 §8.3.3.1: it overrides the header), otherwise the
/// `Accept` header fields, otherwise `*/*`. Blank values count as absent.
pub fn requested_ranges<'a>(
    accept_headers: impl IntoIterator<Item = &'a str>,
    accept_query: impl IntoIterator<Item = &'a str>,
) -> Vec<MediaRange> {
    let query: Vec<&str> = accept_query
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .collect();
    if !query.is_empty() {
        return query.into_iter().flat_map(parse_accept_query).collect();
    }
    let headers: Vec<&str> = accept_headers
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .collect();
    if headers.is_empty() {
        return vec![MediaRange::any()];
    }
    headers.into_iter().flat_map(parse_accept).collect()
}

/// The offered media type the client prefers: highest `q`, then the most
/// specific matching range, then the earliest in `offered` (the server's
/// preference). For each offer the most specific matching range decides its
/// `q`, so `*/*, image/png;q=0` excludes PNG. `None` means 406.
///
/// Parameters in a range must be present and equal in the offer (`*` as a
/// value matches anything); parameters only in the offer are ignored.
pub fn choose<'a>(ranges: &[MediaRange], offered: &'a [MediaType]) -> Option<&'a MediaType> {
    best_offer(ranges, offered, |range, offer| {
        match_specificity(range.media_type(), offer, None)
    })
    .map(|at| &offered[at])
}

/// Index of the best acceptable offer under `score`, which gives a range's
/// specificity for an offer, or `None` when it does not match.
pub(crate) fn best_offer<T>(
    ranges: &[MediaRange],
    offered: &[T],
    score: impl Fn(&MediaRange, &T) -> Option<u32>,
) -> Option<usize> {
    let mut best: Option<(u16, u32, usize)> = None;
    for (at, offer) in offered.iter().enumerate() {
        // The most specific range decides; among equals, the first.
        let mut decisive: Option<(u32, u16)> = None;
        for range in ranges {
            match score(range, offer) {
                Some(spec) if decisive.is_none_or(|(s, _)| spec > s) => {
                    decisive = Some((spec, range.q));
                }
                _ => {}
            }
        }
        if let Some((spec, q)) = decisive {
            let better = best.is_none_or(|(bq, bs, _)| (q, spec) > (bq, bs));
            if q > 0 && better {
                best = Some((q, spec, at));
            }
        }
    }
    best.map(|(_, _, at)| at)
}

/// How specifically `range` matches `offered`, or `None` if it does not.
/// A concrete type outweighs any parameters; a concrete parameter value
/// outweighs a `*` value. Parameter `skip` is left out (the caller judges
/// it).
pub(crate) fn match_specificity(
    range: &MediaType,
    offered: &MediaType,
    skip: Option<&str>,
) -> Option<u32> {
    let mut score = 0;
    if range.main_type() != "*" {
        if range.main_type() != offered.main_type() {
            return None;
        }
        score += 10_000;
    }
    if range.subtype() != "*" {
        if range.subtype() != offered.subtype() {
            return None;
        }
        score += 1_000;
    }
    for (name, value) in range.params() {
        if skip.is_some_and(|s| s.eq_ignore_ascii_case(name)) {
            continue;
        }
        if value == "*" {
            score += 1;
            continue;
        }
        let matched = offered.param(name).is_some_and(|have| {
            if name == "type" {
                media_essence_matches(value, have)
            } else {
                value.eq_ignore_ascii_case(have)
            }
        });
        if !matched {
            return None;
        }
        score += 10;
    }
    Some(score)
}

/// Whether `type/subtype` (possibly `image/*` or `*/*`) covers `have`.
fn media_essence_matches(want: &str, have: &str) -> bool {
    let split = |s: &str| {
        let (a, b) = s.split_once('/').unwrap_or((s, ""));
        (a.trim().to_ascii_lowercase(), b.trim().to_ascii_lowercase())
    };
    let ((wm, ws), (hm, hs)) = (split(want), split(have));
    (wm == "*" || wm == hm) && (ws == "*" || ws == hs)
}

fn parse_list(input: &str, from_query: bool) -> Vec<MediaRange> {
    split_list(input)
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .filter_map(|item| {
            let parsed = if from_query {
                MediaRange::parse(&restore_plus(item))
            } else {
                MediaRange::parse(item)
            };
            parsed
                .inspect_err(|e| tracing::debug!(error = %e, "ignoring malformed media range"))
                .ok()
        })
        .collect()
}

/// Turns a space between two alphanumerics back into the `+` that URL form
/// decoding made of it.
fn restore_plus(item: &str) -> String {
    let bytes = item.as_bytes();
    let mut out = String::with_capacity(item.len());
    for (i, c) in item.char_indices() {
        let between_alnum = c == ' '
            && i > 0
            && bytes[i - 1].is_ascii_alphanumeric()
            && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric);
        out.push(if between_alnum { '+' } else { c });
    }
    out
}

/// RFC 9110 `qvalue`: `0[.ddd]` or `1[.000]`, in thousandths.
fn parse_q(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(Q_MAX),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(s: &str) -> MediaType {
        MediaType::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn offers(list: &[&str]) -> Vec<MediaType> {
        list.iter().map(|s| media(s)).collect()
    }

    fn pick(accept: &str, offered: &[&str]) -> Option<String> {
        let offered = offers(offered);
        choose(&parse_accept(accept), &offered).map(ToString::to_string)
    }

    #[test]
    fn parses_the_dicomweb_media_ranges() {
        let header = r#"multipart/related; type="application/dicom"; transfer-syntax=*, application/dicom+json;q=0.9,
            application/json; q=0.8, */*;q=0.1, image/png, image/jpeg;q=0.5, application/octet-stream,
            multipart/related; type="application/octet-stream", multipart/related; type="image/jls";q=0"#;
        let ranges = parse_accept(header);
        let shown: Vec<(String, f32)> = ranges
            .iter()
            .map(|r| (r.media_type().to_string(), r.q()))
            .collect();
        let want = [
            (
                r#"multipart/related; type="application/dicom"; transfer-syntax=*"#,
                1.0,
            ),
            ("application/dicom+json", 0.9),
            ("application/json", 0.8),
            ("*/*", 0.1),
            ("image/png", 1.0),
            ("image/jpeg", 0.5),
            ("application/octet-stream", 1.0),
            (r#"multipart/related; type="application/octet-stream""#, 1.0),
            (r#"multipart/related; type="image/jls""#, 0.0),
        ];
        let want: Vec<(String, f32)> = want.iter().map(|(m, q)| (m.to_string(), *q)).collect();
        assert_eq!(shown, want);
        assert_eq!(ranges[0].media_type().param("transfer-syntax"), Some("*"));
        assert!(ranges[0].media_type().param("q").is_none());
    }

    #[test]
    fn names_and_q_are_case_insensitive() {
        let ranges = parse_accept(
            "APPLICATION/DICOM+JSON; Q=0.5, Multipart/Related; TYPE=Application/Dicom",
        );
        assert_eq!(ranges.len(), 2);
        assert!(ranges[0].media_type().is("application", "dicom+json"));
        assert_eq!(ranges[0].q(), 0.5);
        assert!(ranges[1].matches(&media(r#"multipart/related; type="application/dicom""#)));
    }

    #[test]
    fn q_values_follow_rfc_9110() {
        for (q, want) in [
            ("0", 0),
            ("0.", 0),
            ("0.5", 500),
            ("0.123", 123),
            ("1", 1000),
            ("1.", 1000),
            ("1.000", 1000),
        ] {
            assert_eq!(parse_q(q), Some(want), "{q}");
        }
        for bad in ["", "2", "1.001", "0.1234", "-0", ".5", "0.a", "01", "0,5"] {
            assert_eq!(parse_q(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn malformed_ranges_are_ignored() {
        let ranges = parse_accept(
            "text/html;q=2, garbage, , */json, image/png;q=0.x, application/dicom+json,",
        );
        assert_eq!(ranges.len(), 1);
        assert!(ranges[0].media_type().is("application", "dicom+json"));
        assert!(parse_accept("nonsense, ;;").is_empty());
        assert_eq!(pick("nonsense", &["application/dicom+json"]), None);
    }

    #[test]
    fn q_zero_excludes_even_under_a_wildcard() {
        assert_eq!(
            pick("*/*, image/png;q=0", &["image/png", "image/jpeg"]).as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(
            pick("image/*;q=0, */*;q=0.1", &["image/png", "application/json"]).as_deref(),
            Some("application/json")
        );
        assert_eq!(pick("image/png;q=0", &["image/png"]), None);
        assert_eq!(pick("", &["image/png"]), None);
    }

    #[test]
    fn choose_by_q_then_specificity_then_server_order() {
        let json = ["application/dicom+json", "application/json"];
        assert_eq!(
            pick("application/json, application/dicom+json", &json).as_deref(),
            Some("application/dicom+json")
        );
        assert_eq!(
            pick("application/dicom+json;q=0.5, application/json", &json).as_deref(),
            Some("application/json")
        );
        assert_eq!(
            pick("application/*;q=0.9, application/json", &json).as_deref(),
            Some("application/json")
        );
        assert_eq!(
            pick("*/*", &["image/png", "image/jpeg"]).as_deref(),
            Some("image/png")
        );
        assert_eq!(
            pick("image/*, image/jpeg", &["image/png", "image/jpeg"]).as_deref(),
            Some("image/jpeg")
        );
        // The most specific range decides an offer's q.
        let mr = [r#"multipart/related; type="application/dicom""#];
        assert_eq!(
            pick(
                r#"multipart/related; type="application/dicom"; q=0, multipart/*"#,
                &mr
            ),
            None
        );
        assert_eq!(
            pick(
                r#"multipart/related; type="image/jls", multipart/*;q=0.2"#,
                &mr
            )
            .as_deref(),
            Some(mr[0])
        );
    }

    #[test]
    fn parameters_must_match_the_offer() {
        let offered = [
            r#"multipart/related; type="application/dicom""#,
            r#"multipart/related; type="application/octet-stream""#,
        ];
        assert_eq!(
            pick(
                r#"multipart/related; type="application/octet-stream""#,
                &offered
            )
            .as_deref(),
            Some(offered[1])
        );
        assert_eq!(
            pick(r#"multipart/related; type="image/jls""#, &offered),
            None
        );
        assert_eq!(
            pick("multipart/related; type=application/*", &offered).as_deref(),
            Some(offered[0])
        );
        assert_eq!(
            pick("multipart/related; transfer-syntax=*", &offered).as_deref(),
            Some(offered[0])
        );
        assert_eq!(pick("multipart/related; charset=utf-8", &offered), None);
    }

    #[test]
    fn query_parameter_overrides_header_and_restores_plus() {
        let ranges = parse_accept_query(
            "application/dicom json, multipart/related; type=application/dicom; transfer-syntax=*",
        );
        assert_eq!(ranges.len(), 2);
        assert!(ranges[0].media_type().is("application", "dicom+json"));
        assert_eq!(
            ranges[1].media_type().param("type"),
            Some("application/dicom")
        );

        let from = |headers: &[&str], query: &[&str]| {
            requested_ranges(headers.iter().copied(), query.iter().copied())
                .iter()
                .map(|r| r.media_type().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            from(&["application/json"], &["application/dicom+json"]),
            vec!["application/dicom+json"]
        );
        assert_eq!(
            from(&["application/json", "image/png"], &[]),
            vec!["application/json", "image/png"]
        );
        assert_eq!(from(&[], &[]), vec!["*/*"]);
        assert_eq!(from(&["  "], &[""]), vec!["*/*"]);
        assert!(from(&["application/json"], &["bogus"]).is_empty());
        assert_eq!(
            from(&[], &["image/png", "image/jpeg;q=0.5"]),
            vec!["image/png", "image/jpeg"]
        );
    }
}
