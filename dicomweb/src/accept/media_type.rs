//! Media types with parameters (RFC 9110 §8.3.1): the grammar shared by
//! `Content-Type`, `Accept` and the PS3.18 `accept` query parameter.
//!
//! Type, subtype and parameter names are case-insensitive and kept
//! lower-cased; parameter values keep their case (a multipart boundary is
//! case-sensitive). The parser is lenient where real DICOMweb clients are
//! sloppy: unquoted values may contain `/` and `+` (PS3.18 itself writes
//! `type=application/dicom` unquoted), and whitespace around `;` and `=` is
//! accepted.

use std::fmt;
use std::str::FromStr;

/// A media type that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed media type {input:?}: {reason}")]
pub struct MediaTypeError {
    /// The text that was rejected.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A media type such as `multipart/related; type="application/dicom"`, or a
/// media range such as `image/*` when it comes from an `Accept` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    main: String,
    sub: String,
    params: Vec<(String, String)>,
}

impl MediaType {
    /// A media type without parameters; `main` and `sub` are lower-cased.
    pub fn new(main: &str, sub: &str) -> Self {
        Self {
            main: main.to_ascii_lowercase(),
            sub: sub.to_ascii_lowercase(),
            params: Vec::new(),
        }
    }

    /// The same media type with parameter `name` set to `value` (replacing
    /// any earlier value of that name).
    pub fn with_param(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        let value = value.into();
        match self.params.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.params.push((name, value)),
        }
        self
    }

    /// Parses one media type (no list): `type/subtype *( ";" name=value )`.
    pub fn parse(input: &str) -> Result<Self, MediaTypeError> {
        let fail = |reason| MediaTypeError {
            input: input.to_owned(),
            reason,
        };
        let trimmed = input.trim_matches(is_ows);
        let (essence, rest) = match trimmed.find(';') {
            Some(at) => (&trimmed[..at], &trimmed[at..]),
            None => (trimmed, ""),
        };
        let essence = essence.trim_matches(is_ows);
        if essence.is_empty() {
            return Err(fail("no type/subtype"));
        }
        let (main, sub) = essence
            .split_once('/')
            .ok_or_else(|| fail("no '/' between type and subtype"))?;
        let (main, sub) = (main.trim_matches(is_ows), sub.trim_matches(is_ows));
        if !is_token(main) || !is_token(sub) {
            return Err(fail("type and subtype must be non-empty tokens"));
        }
        if main == "*" && sub != "*" {
            return Err(fail("a wildcard type needs a wildcard subtype"));
        }
        let params = parse_params(rest).map_err(fail)?;
        Ok(Self {
            main: main.to_ascii_lowercase(),
            sub: sub.to_ascii_lowercase(),
            params,
        })
    }

    /// The top-level type, lower-cased (`*` in a wildcard range).
    pub fn main_type(&self) -> &str {
        &self.main
    }

    /// The subtype, lower-cased (`*` in a wildcard range).
    pub fn subtype(&self) -> &str {
        &self.sub
    }

    /// Whether type and subtype are `main`/`sub`, ignoring case and
    /// parameters.
    pub fn is(&self, main: &str, sub: &str) -> bool {
        self.main.eq_ignore_ascii_case(main) && self.sub.eq_ignore_ascii_case(sub)
    }

    /// The value of parameter `name` (case-insensitive name), unquoted.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All parameters in order, names lower-cased, values unquoted.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Removes parameter `name` and returns its value.
    pub(crate) fn take_param(&mut self, name: &str) -> Option<String> {
        let at = self
            .params
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(self.params.remove(at).1)
    }
}

impl fmt::Display for MediaType {
    /// Writes `type/subtype; name=value`, quoting values that are not
    /// tokens (so `type="application/dicom"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.main, self.sub)?;
        for (name, value) in &self.params {
            if is_token(value) {
                write!(f, "; {name}={value}")?;
            } else {
                f.write_str("; ")?;
                f.write_str(name)?;
                f.write_str("=\"")?;
                for c in value.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")?;
            }
        }
        Ok(())
    }
}

impl FromStr for MediaType {
    type Err = MediaTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Splits a header list (`Accept`) at the commas that are outside quoted
/// strings.
pub(crate) fn split_list(input: &str) -> impl Iterator<Item = &str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in input.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                pieces.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&input[start..]);
    pieces.into_iter()
}

/// Optional whitespace (RFC 9110 OWS).
fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty RFC 9110 token.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Parses `*( OWS ";" OWS name OWS "=" OWS value )`; empty parameters
/// (`;;`) are skipped.
fn parse_params(input: &str) -> Result<Vec<(String, String)>, &'static str> {
    let bytes = input.as_bytes();
    let mut params = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i] == b' ' || bytes[*i] == b'\t') {
            *i += 1;
        }
    };
    loop {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b';') {
            i += 1;
        }
        if i == bytes.len() {
            return Ok(params);
        }
        let name_start = i;
        while i < bytes.len() && is_tchar(bytes[i]) {
            i += 1;
        }
        if i == name_start {
            return Err("parameter without a name");
        }
        let name = input[name_start..i].to_ascii_lowercase();
        skip_ws(&mut i);
        if bytes.get(i) != Some(&b'=') {
            return Err("parameter without '='");
        }
        i += 1;
        skip_ws(&mut i);
        let value = if bytes.get(i) == Some(&b'"') {
            let (value, end) = quoted_string(input, i + 1)?;
            i = end;
            value
        } else {
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b';' | b' ' | b'\t' | b'"') {
                i += 1;
            }
            if i == start {
                return Err("parameter without a value");
            }
            input[start..i].to_owned()
        };
        skip_ws(&mut i);
        if i < bytes.len() && bytes[i] != b';' {
            return Err("unexpected text after a parameter value");
        }
        params.push((name, value));
    }
}

/// Reads a quoted string whose content starts at `start` (just after the
/// opening quote); returns the unescaped content and the index after the
/// closing quote.
fn quoted_string(input: &str, start: usize) -> Result<(String, usize), &'static str> {
    let mut value = String::new();
    let mut chars = input[start..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '"' => return Ok((value, start + offset + 1)),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            _ => value.push(c),
        }
    }
    Err("unterminated quoted string")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> MediaType {
        match MediaType::parse(s) {
            Ok(m) => m,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    #[test]
    fn parses_dicom_multipart_with_quoted_and_bare_values() {
        let m = parse(r#"Multipart/Related; TYPE="application/dicom"; transfer-syntax=*"#);
        assert!(m.is("multipart", "related"));
        assert_eq!(m.param("type"), Some("application/dicom"));
        assert_eq!(m.param("Transfer-Syntax"), Some("*"));

        let m = parse("multipart/related;type=application/dicom+json ;boundary = abc");
        assert_eq!(m.param("type"), Some("application/dicom+json"));
        assert_eq!(m.param("boundary"), Some("abc"));
    }

    #[test]
    fn quoted_values_unescape_and_keep_case_and_separators() {
        let m = parse(r#"text/plain; x="a;b,c \"q\" \\"; Boundary="AbC""#);
        assert_eq!(m.param("x"), Some(r#"a;b,c "q" \"#));
        assert_eq!(m.param("boundary"), Some("AbC"));
    }

    #[test]
    fn display_quotes_values_that_are_not_tokens() {
        let m = MediaType::new("Multipart", "Related")
            .with_param("type", "application/dicom")
            .with_param("transfer-syntax", "1.2.840.10008.1.2.1");
        assert_eq!(
            m.to_string(),
            r#"multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1"#
        );
        assert_eq!(parse(&m.to_string()), m);
        let odd = MediaType::new("a", "b").with_param("x", r#"say "hi"\"#);
        assert_eq!(parse(&odd.to_string()), odd);
    }

    #[test]
    fn rejects_malformed_media_types() {
        for bad in [
            "",
            "   ",
            "application",
            "/json",
            "application/",
            "*/json",
            "app lication/json",
            "application/json; q",
            "application/json; =1",
            "application/json; a=",
            "application/json; a=\"open",
            "application/json; a=\"x\"y",
            "application/json; a=b c",
        ] {
            assert!(MediaType::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn split_list_ignores_commas_in_quotes() {
        let items: Vec<_> = split_list(r#"a/b; x="1,2", c/d,e/f; y="\",""#).collect();
        assert_eq!(items, vec![r#"a/b; x="1,2""#, " c/d", r#"e/f; y="\",""#]);
    }
}
