//! The level of the query/retrieve hierarchy an attribute belongs to
//! (PS3.3's modules by information entity), for the attributes a search
//! answers from one stored instance's metadata rather than from the
//! index: a study result must not carry one instance's Rows, nor a series
//! result one instance's SOP Instance UID (PS3.18 §10.6.3.3, PS3.4
//! C.4.1.1.3). Only attributes whose level is known are listed; what is
//! not listed (private attributes, rarer ones) is left to the caller.

use crate::query::Level;

/// Study-level attributes outside the Patient group (General Study,
/// Patient Study, and the study's request).
const STUDY: &[&str] = &[
    "00080020", // Study Date
    "00080030", // Study Time
    "00080050", // Accession Number
    "00080051", // Issuer of Accession Number Sequence
    "00080090", // Referring Physician's Name
    "00080096", // Referring Physician Identification Sequence
    "00081030", // Study Description
    "00081032", // Procedure Code Sequence
    "00081048", // Physician(s) of Record
    "00081049", // Physician(s) of Record Identification Sequence
    "00081060", // Name of Physician(s) Reading Study
    "00081062", // Physician(s) Reading Study Identification Sequence
    "00081080", // Admitting Diagnoses Description
    "00081084", // Admitting Diagnoses Code Sequence
    "00081110", // Referenced Study Sequence
    "00081120", // Referenced Patient Sequence
    "00080080", // Institution Name (as most archives answer it per study)
    "00080081", // Institution Address
    "0020000D", // Study Instance UID
    "00200010", // Study ID
    "00321032", // Requesting Physician
    "00321034", // Requesting Service Code Sequence
    "00321060", // Requested Procedure Description
    "00321064", // Requested Procedure Code Sequence
    "00324000", // Study Comments
];

/// Series-level attributes (General Series, General Equipment, Frame of
/// Reference, the performed procedure step and the request it answers).
const SERIES: &[&str] = &[
    "00080021", // Series Date
    "00080031", // Series Time
    "00080060", // Modality
    "00080070", // Manufacturer
    "00081010", // Station Name
    "0008103E", // Series Description
    "0008103F", // Series Description Code Sequence
    "00081050", // Performing Physician's Name
    "00081052", // Performing Physician Identification Sequence
    "00081070", // Operators' Name
    "00081072", // Operator Identification Sequence
    "00081090", // Manufacturer's Model Name
    "00081111", // Referenced Performed Procedure Step Sequence
    "00180015", // Body Part Examined
    "00181000", // Device Serial Number
    "00181020", // Software Versions
    "00181030", // Protocol Name
    "00185100", // Patient Position
    "0020000E", // Series Instance UID
    "00200011", // Series Number
    "00200052", // Frame of Reference UID
    "00200060", // Laterality
    "00400244", // Performed Procedure Step Start Date
    "00400245", // Performed Procedure Step Start Time
    "00400253", // Performed Procedure Step ID
    "00400254", // Performed Procedure Step Description
    "00400260", // Performed Protocol Code Sequence
    "00400275", // Request Attributes Sequence
];

/// Instance-level attributes outside the image pixel groups.
const INSTANCE: &[&str] = &[
    "00080008", // Image Type
    "00080016", // SOP Class UID
    "00080018", // SOP Instance UID
    "00080022", // Acquisition Date
    "00080023", // Content Date
    "00080032", // Acquisition Time
    "00080033", // Content Time
    "00082111", // Derivation Description
    "00180050", // Slice Thickness
    "00200012", // Acquisition Number
    "00200013", // Instance Number
    "00200020", // Patient Orientation
    "00200032", // Image Position (Patient)
    "00200037", // Image Orientation (Patient)
    "00201041", // Slice Location
];

/// The level attribute `key` (DICOM JSON, `GGGGEEEE`) belongs to, where
/// it is known.
pub fn level_of(key: &str) -> Option<Level> {
    let key = key.to_ascii_uppercase();
    let group = key.get(..4)?;
    if group == "0010" {
        return Some(Level::Patient);
    }
    if STUDY.contains(&key.as_str()) {
        return Some(Level::Study);
    }
    if SERIES.contains(&key.as_str()) {
        return Some(Level::Series);
    }
    // Image Pixel, Pixel Measures, VOI LUT, Modality LUT and the rest of
    // group 0028 describe one image.
    if group == "0028" || group == "7FE0" || INSTANCE.contains(&key.as_str()) {
        return Some(Level::Instance);
    }
    None
}

/// Whether attribute `key` may be answered in a result at `level`: it
/// belongs there or above. An attribute of unknown level may, where
/// `unknown_allowed`.
pub fn answers_at(key: &str, level: Level, unknown_allowed: bool) -> bool {
    match level_of(key) {
        Some(own) => own <= level,
        None => unknown_allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_fall_in_their_levels() {
        assert_eq!(level_of("00100010"), Some(Level::Patient));
        assert_eq!(level_of("00081032"), Some(Level::Study));
        assert_eq!(level_of("00400275"), Some(Level::Series));
        assert_eq!(level_of("00280010"), Some(Level::Instance));
        assert_eq!(level_of("00080018"), Some(Level::Instance));
        assert_eq!(level_of("00091001"), None);
        assert!(answers_at("00081030", Level::Series, false));
        assert!(!answers_at("0008103E", Level::Study, true));
        assert!(!answers_at("00280010", Level::Series, true));
        assert!(answers_at("00091001", Level::Study, true));
        assert!(!answers_at("00091001", Level::Study, false));
    }
}
