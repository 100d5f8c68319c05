//! Object keys that are safe to use as relative paths on any backend.

use std::fmt;

/// Longest key accepted, in bytes. S3 allows 1024 bytes of key.
pub const MAX_KEY_LEN: usize = 1024;

/// A validated object key.
///
/// Invariants, checked once in [`ObjectKey::new`]:
/// - one or more `/`-separated segments, none empty (so no leading,
///   trailing or doubled `/`);
/// - every segment is made only of ASCII `A-Z a-z 0-9 . _ -` and is never
///   `.` or `..`;
/// - at most [`MAX_KEY_LEN`] bytes in total.
///
/// A key therefore always names a path strictly below a store's root,
/// whatever string it was built from: no absolute paths, no traversal, no
/// backslashes, NUL, percent-escapes or non-ASCII lookalikes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey(String);

/// Why a string is not a valid [`ObjectKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKey {
    #[error("object key is empty")]
    Empty,
    #[error("object key is {len} bytes long, more than the {max} allowed")]
    TooLong { len: usize, max: usize },
    #[error("object key {key:?} has an empty segment (leading, trailing or doubled '/')")]
    EmptySegment { key: String },
    #[error("object key {key:?} has a '.' or '..' segment")]
    DotSegment { key: String },
    #[error(
        "object key {key:?} contains {found:?}; only ASCII letters, digits, '.', '_', '-' and '/' are allowed"
    )]
    ForbiddenChar { key: String, found: char },
}

impl ObjectKey {
    /// Validates `key`; see the type's invariants.
    pub fn new(key: &str) -> Result<ObjectKey, InvalidKey> {
        validate(key)?;
        Ok(ObjectKey(key.to_owned()))
    }

    /// The key as text, `/`-separated.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments of the key, in order; never empty.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// This key with `segment` appended. `segment` may itself contain `/`;
    /// the result is validated as a whole.
    pub fn join(&self, segment: &str) -> Result<ObjectKey, InvalidKey> {
        ObjectKey::new(&format!("{}/{}", self.0, segment))
    }
}

fn validate(key: &str) -> Result<(), InvalidKey> {
    if key.is_empty() {
        return Err(InvalidKey::Empty);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(InvalidKey::TooLong {
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    if let Some(found) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
    {
        return Err(InvalidKey::ForbiddenChar {
            key: printable(key),
            found,
        });
    }
    for segment in key.split('/') {
        match segment {
            "" => {
                return Err(InvalidKey::EmptySegment {
                    key: key.to_owned(),
                });
            }
            "." | ".." => {
                return Err(InvalidKey::DotSegment {
                    key: key.to_owned(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// A bounded copy of a rejected key for error messages.
fn printable(key: &str) -> String {
    key.chars().take(128).collect()
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for ObjectKey {
    type Err = InvalidKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ObjectKey::new(s)
    }
}

impl TryFrom<&str> for ObjectKey {
    type Error = InvalidKey;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        ObjectKey::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_keys() {
        for k in [
            "a",
            "studies/1.2.840.10008/series/1.2.3/instances/4.5.6.dcm",
            "x_y-z.bin",
            "..a",
            "a..",
            "...",
            ".hidden",
        ] {
            let key = ObjectKey::new(k).unwrap_or_else(|e| panic!("{k:?} rejected: {e}"));
            assert_eq!(key.as_str(), k);
            assert_eq!(key.to_string(), k);
        }
    }

    #[test]
    fn rejects_traversal_and_absolute_paths() {
        let cases = [
            ("", InvalidKey::Empty),
            ("../x", InvalidKey::DotSegment { key: "../x".into() }),
            (
                "a/../../b",
                InvalidKey::DotSegment {
                    key: "a/../../b".into(),
                },
            ),
            ("./a", InvalidKey::DotSegment { key: "./a".into() }),
            ("a/.", InvalidKey::DotSegment { key: "a/.".into() }),
            ("..", InvalidKey::DotSegment { key: "..".into() }),
            (
                "/etc/passwd",
                InvalidKey::EmptySegment {
                    key: "/etc/passwd".into(),
                },
            ),
            ("a/", InvalidKey::EmptySegment { key: "a/".into() }),
            ("a//b", InvalidKey::EmptySegment { key: "a//b".into() }),
            ("/", InvalidKey::EmptySegment { key: "/".into() }),
        ];
        for (k, want) in cases {
            assert_eq!(ObjectKey::new(k), Err(want), "{k:?}");
        }
    }

    #[test]
    fn rejects_characters_outside_the_safe_set() {
        for k in [
            "..\\x",
            "a\\..\\b",
            "C:\\Windows",
            "a\0b",
            "a/..%2fb",
            "%2e%2e/x",
            "a b",
            "a:b",
            "a\nb",
            "~/x",
            // Unicode lookalikes of '.', '/' and '\'.
            "\u{2024}\u{2024}/x",
            "a\u{2215}..\u{2215}b",
            "a\u{ff0f}b",
            "\u{ff0e}\u{ff0e}",
            "a\u{29f5}b",
            "caf\u{e9}",
        ] {
            assert!(
                matches!(ObjectKey::new(k), Err(InvalidKey::ForbiddenChar { .. })),
                "{k:?} accepted"
            );
        }
    }

    #[test]
    fn length_limit_is_inclusive() {
        let ok = "a".repeat(MAX_KEY_LEN);
        assert!(ObjectKey::new(&ok).is_ok());
        let long = "a".repeat(MAX_KEY_LEN + 1);
        assert_eq!(
            ObjectKey::new(&long),
            Err(InvalidKey::TooLong {
                len: MAX_KEY_LEN + 1,
                max: MAX_KEY_LEN
            })
        );
    }

    #[test]
    fn join_validates_the_result() -> Result<(), InvalidKey> {
        let base = ObjectKey::new("studies/1.2.3")?;
        assert_eq!(base.join("series")?.as_str(), "studies/1.2.3/series");
        assert_eq!(base.join("a/b")?.as_str(), "studies/1.2.3/a/b");
        assert!(base.join("..").is_err());
        assert!(base.join("../../etc").is_err());
        assert!(base.join("").is_err());
        assert!(base.join("/abs").is_err());
        assert!(base.join("a\\b").is_err());
        Ok(())
    }

    #[test]
    fn segments_split_on_slash() -> Result<(), InvalidKey> {
        let key = ObjectKey::new("a/b.c/d")?;
        assert_eq!(key.segments().collect::<Vec<_>>(), ["a", "b.c", "d"]);
        Ok(())
    }
}
