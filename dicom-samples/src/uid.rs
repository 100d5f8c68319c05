//! Deterministic DICOM unique identifiers.
//!
//! Every UID is `2.25.<decimal>` where the decimal is a 128-bit value
//! derived from a seed, a purpose label and an index. The `2.25` root is
//! reserved for UUID-derived identifiers, needs no registered organisation
//! and yields at most 44 characters, well under the 64-character limit.
//! Decimal renderings of integers never carry leading zeros, so every UID is
//! valid by construction.

/// The root under which all sample UIDs are minted.
pub const UID_ROOT: &str = "2.25";

/// SplitMix64 finaliser: a cheap bijective mixer with good avalanche.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash arbitrary bytes (FNV-1a, then mixed) into 64 bits.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix64(h)
}

/// Combine a seed with a label and an index into a sub-seed.
pub(crate) fn derive_seed(seed: u64, label: &str, index: u64) -> u64 {
    mix64(mix64(seed ^ hash_bytes(label.as_bytes())).wrapping_add(mix64(index)))
}

/// A UID unique to `(seed, purpose, index)`.
///
/// `purpose` separates the kinds of identifiers minted from one seed
/// (for example `"study"`, `"series"`, `"sop"`), so that a series UID never
/// equals an instance UID of the same study.
pub fn uid_for(seed: u64, purpose: &str, index: u64) -> String {
    let hi = derive_seed(seed, purpose, index);
    let lo = mix64(hi ^ derive_seed(!seed, purpose, index.rotate_left(17)));
    let value = (u128::from(hi) << 64) | u128::from(lo);
    format!("{UID_ROOT}.{value}")
}

/// Whether `uid` is a syntactically valid DICOM UID: at most 64 characters,
/// dot-separated numeric components, no empty component and no leading zero
/// in a multi-digit component.
pub fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && !(c.len() > 1 && c.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..20 {
            for purpose in ["study", "series", "sop"] {
                for i in 0..50 {
                    let u = uid_for(seed, purpose, i);
                    assert!(is_valid_uid(&u), "{u}");
                    assert!(seen.insert(u));
                }
            }
        }
    }

    #[test]
    fn validator_rejects_bad_uids() {
        for bad in ["", "1..2", "1.02", "1.a", ".1", "1.", &"1.".repeat(40)] {
            assert!(!is_valid_uid(bad), "{bad}");
        }
        assert!(is_valid_uid("1.2.840.10008.5.1.4.1.1.2"));
        assert!(is_valid_uid("2.25.0"));
    }
}
