//! Query strings: percent-encoding for the values the viewer sends to
//! QIDO-RS and puts in its own links, and parsing of `location.search`.
//!
//! Patient names arrive in Cyrillic and Uzbek Latin (`Oʻrinboyeva`), so
//! values are encoded as UTF-8 bytes; nothing here assumes ASCII.

/// Percent-encodes `value` for a query component: unreserved characters
/// (RFC 3986 §2.3) and the DICOM wildcard `*` stay as they are, everything
/// else becomes `%XX` of its UTF-8 bytes.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'*' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a
/// space and `%XX` a byte. Malformed escapes are kept literally and
/// invalid UTF-8 is replaced, so a hand-edited address never fails.
pub fn decode_component(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The decoded `key=value` pairs of a query string, with or without its
/// leading `?`, in order; empty segments are skipped and a key without
/// `=` has an empty value.
pub fn parse_query(search: &str) -> Vec<(String, String)> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.split_once('=') {
            Some((key, value)) => (decode_component(key), decode_component(value)),
            None => (decode_component(segment), String::new()),
        })
        .collect()
}

/// The first value of `key` in parsed query pairs, if present and not
/// empty.
pub fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// Builds `key=value&...` from pairs, encoding both sides; pairs with an
/// empty value are left out.
pub fn build_query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.as_ref().is_empty())
        .map(|(k, v)| {
            format!(
                "{}={}",
                encode_component(k.as_ref()),
                encode_component(v.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_cyrillic_as_utf8_bytes_and_keeps_wildcards() {
        // "Ив" is U+0418 U+0432: UTF-8 D0 98 D0 B2.
        assert_eq!(encode_component("Ив*"), "%D0%98%D0%B2*");
        assert_eq!(encode_component("a b&c=d"), "a%20b%26c%3Dd");
        // U+02BB MODIFIER LETTER TURNED COMMA is CA BB in UTF-8.
        assert_eq!(encode_component("Oʻ"), "O%CA%BB");
    }

    #[test]
    fn decoding_reverses_encoding() {
        for value in [
            "Иванов^Иван",
            "Oʻrinboyeva Gʻuncha",
            "20240101-20241231",
            "a+b=c&d",
        ] {
            assert_eq!(decode_component(&encode_component(value)), value);
        }
    }

    #[test]
    fn decoding_tolerates_malformed_escapes() {
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz1"), "%zz1");
        assert_eq!(decode_component("a+b"), "a b");
        assert_eq!(decode_component("%4"), "%4");
        assert_eq!(decode_component("%41"), "A");
    }

    #[test]
    fn parses_search_strings() {
        let pairs = parse_query("?study=1.2.3&lang=ru&&flag&backend=webgl2");
        assert_eq!(query_value(&pairs, "study"), Some("1.2.3"));
        assert_eq!(query_value(&pairs, "lang"), Some("ru"));
        assert_eq!(query_value(&pairs, "backend"), Some("webgl2"));
        assert_eq!(query_value(&pairs, "flag"), None);
        assert_eq!(query_value(&pairs, "missing"), None);
        assert_eq!(pairs.len(), 4);
    }

    #[test]
    fn builds_queries_without_empty_values() {
        let query = build_query(&[("PatientName", "Ив*"), ("PatientID", ""), ("limit", "25")]);
        assert_eq!(query, "PatientName=%D0%98%D0%B2*&limit=25");
    }
}
