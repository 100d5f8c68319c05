//! DICOM unique identifiers (PS3.5 §9.1).
//!
//! A [`Uid`] is syntactically valid by construction: 1 to 64 characters,
//! dot-separated components of decimal digits, no empty component and no
//! leading zero in a component of more than one digit. Such a string
//! cannot contain `/`, `..` or anything else that could reach outside an
//! object key prefix, which is why object keys may be built from it.

use std::fmt;

/// A syntactically valid UID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(String);

/// Why a string is not a valid UID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid UID: {reason}")]
pub struct InvalidUid {
    pub value: String,
    pub reason: &'static str,
}

impl Uid {
    /// Validates `value`, after trimming the trailing NUL or space padding
    /// that an even-length UI value may carry.
    pub fn parse(value: &str) -> Result<Uid, InvalidUid> {
        let trimmed = value.trim_end_matches(['\0', ' ']);
        let fail = |reason| InvalidUid {
            value: value.chars().take(80).collect(),
            reason,
        };
        if trimmed.is_empty() {
            return Err(fail("it is empty"));
        }
        if trimmed.len() > 64 {
            return Err(fail("it is longer than 64 characters"));
        }
        for component in trimmed.split('.') {
            if component.is_empty() {
                return Err(fail("it has an empty component"));
            }
            if !component.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail("it has a character other than digits and dots"));
            }
            if component.len() > 1 && component.starts_with('0') {
                return Err(fail("a component has a leading zero"));
            }
        }
        Ok(Uid(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Uid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_uids_and_trims_padding() {
        assert_eq!(
            Uid::parse("1.2.840.10008.1.2").unwrap().as_str(),
            "1.2.840.10008.1.2"
        );
        assert_eq!(Uid::parse("1.2.3\0").unwrap().as_str(), "1.2.3");
        assert_eq!(Uid::parse("0.1").unwrap().as_str(), "0.1");
    }

    #[test]
    fn refuses_traversal_and_other_tricks() {
        for bad in [
            "",
            "..",
            "1..2",
            "1.2.",
            ".1.2",
            "../../etc/passwd",
            "1.2/3",
            "1.2\\3",
            "1.02",
            "1.2.3a",
            "1 .2",
            "1.2%2e",
            "１.２",
            "1.2\0.3",
        ] {
            assert!(Uid::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Uid::parse(&"1.".repeat(40)).is_err());
    }
}
