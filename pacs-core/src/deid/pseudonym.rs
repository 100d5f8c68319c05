//! Keyed, deterministic replacements: UIDs, patient pseudonyms and the
//! per-patient date offset.
//!
//! Everything is an HMAC-SHA256 under the archive's secret, so the same
//! input always gets the same replacement (references stay consistent
//! across instances, studies and re-runs) while someone without the
//! secret cannot recover the input by hashing guesses, as they could from
//! a plain hash of a Patient ID.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The root of UIDs derived from a UUID (PS3.5 B.2).
const UUID_ROOT: &str = "2.25.";

/// Well-known UIDs defined by the standard; they identify no patient.
const DICOM_ROOT: &str = "1.2.840.10008.";

fn hmac(secret: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The replacement for `uid`: `2.25.` followed by the decimal form of a
/// UUID made of 122 bits of HMAC-SHA256(secret, uid) with the version
/// (8, custom) and variant bits of RFC 9562 set, so the result is a valid
/// UUID-derived UID of at most 44 characters.
///
/// Trailing NUL or space padding is ignored. UIDs under the standard's
/// own root (`1.2.840.10008.`, e.g. a well-known SOP instance) identify
/// nobody and are returned unchanged.
pub fn pseudonym_uid(secret: &[u8], uid: &str) -> String {
    let uid = uid.trim_matches(['\0', ' ']);
    if uid.starts_with(DICOM_ROOT) {
        return uid.to_owned();
    }
    let digest = hmac(secret, &[uid.as_bytes()]);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0F) | 0x80;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    format!("{UUID_ROOT}{}", u128::from_be_bytes(bytes))
}

/// What a patient is called in every de-identified copy made with one
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatientPseudonym {
    /// Patient ID (LO): `ANON-` and 16 upper-case hex digits.
    pub id: String,
    /// Patient's Name (PN): `ANON^` and the first 8 of those digits.
    pub name: String,
    /// Days added to every date when dates are shifted: between one and
    /// ten years back, never zero.
    pub date_offset_days: i32,
}

/// The earliest and latest shift, in days back.
const SHIFT_DAYS: std::ops::RangeInclusive<u32> = 366..=3653;

impl PatientPseudonym {
    /// The pseudonym for the patient known by `key` (the original Patient
    /// ID).
    pub fn derive(secret: &[u8], key: &str) -> PatientPseudonym {
        let key = key.trim_matches(['\0', ' ']).as_bytes();
        // The labels contain letters, so no input here is also a UID.
        let id = hmac(secret, &[b"patient-id\0", key]);
        let hex = hex::encode_upper(&id[..8]);
        let shift = hmac(secret, &[b"date-offset\0", key]);
        let span = SHIFT_DAYS.end() - SHIFT_DAYS.start() + 1;
        let back = SHIFT_DAYS.start()
            + u32::from_be_bytes([shift[0], shift[1], shift[2], shift[3]]) % span;
        PatientPseudonym {
            id: format!("ANON-{hex}"),
            name: format!("ANON^{}", &hex[..8]),
            date_offset_days: -(back as i32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uid::Uid;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn uid_pseudonyms_are_valid_deterministic_and_keyed() {
        let a = pseudonym_uid(b"secret one secret", "1.2.826.0.1.3680043.2.1125.1");
        assert_eq!(
            a,
            pseudonym_uid(b"secret one secret", "1.2.826.0.1.3680043.2.1125.1\0")
        );
        assert_ne!(
            a,
            pseudonym_uid(b"secret two secret", "1.2.826.0.1.3680043.2.1125.1")
        );
        assert_ne!(
            a,
            pseudonym_uid(b"secret one secret", "1.2.826.0.1.3680043.2.1125.2")
        );
        assert!(a.starts_with("2.25."));
        assert!(a.len() <= 44);
        assert_eq!(Uid::parse(&a).map(|u| u.to_string()), Ok(a.clone()));
        let n: u128 = a["2.25.".len()..].parse().unwrap();
        assert_eq!((n >> 76) & 0xF, 8, "UUID version");
        assert_eq!((n >> 62) & 0x3, 0b10, "UUID variant");
    }

    #[test]
    fn well_known_uids_are_kept() {
        let storage_commitment = "1.2.840.10008.1.20.1.1";
        assert_eq!(pseudonym_uid(b"k", storage_commitment), storage_commitment);
    }

    #[test]
    fn patient_pseudonyms_follow_the_key_and_the_secret() {
        let p = PatientPseudonym::derive(b"archive secret 1", "UZ-TAS-000101");
        assert_eq!(
            p,
            PatientPseudonym::derive(b"archive secret 1", "UZ-TAS-000101 ")
        );
        assert_ne!(
            p.id,
            PatientPseudonym::derive(b"archive secret 2", "UZ-TAS-000101").id
        );
        assert_ne!(
            p.id,
            PatientPseudonym::derive(b"archive secret 1", "UZ-TAS-000102").id
        );
        assert!(p.id.starts_with("ANON-") && p.id.len() == 21);
        assert_eq!(p.name, format!("ANON^{}", &p.id[5..13]));
        assert!((-3653..=-366).contains(&p.date_offset_days));
    }

    #[test]
    fn date_offsets_spread_over_the_range() {
        let offsets: std::collections::HashSet<i32> = (0..200)
            .map(|i| PatientPseudonym::derive(b"archive secret", &format!("P{i}")).date_offset_days)
            .collect();
        assert!(offsets.len() > 150);
        assert!(offsets.iter().all(|d| (-3653..=-366).contains(d)));
    }
}
