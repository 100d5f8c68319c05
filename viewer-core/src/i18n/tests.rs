use std::collections::HashSet;

use super::*;
use crate::calibration::{Calibration, SpacingMethod, Unit};
use crate::voi::ct_presets;

#[test]
fn every_key_is_unique_and_has_all_three_languages() {
    let mut seen = HashSet::new();
    for entry in entries() {
        assert!(seen.insert(entry.0), "duplicate key {}", entry.0);
        for lang in Lang::ALL {
            let text = text_of(entry, lang);
            assert!(!text.is_empty(), "{} has no {:?} text", entry.0, lang);
            assert_eq!(text, text.trim(), "{} ({lang:?}) has stray spaces", entry.0);
        }
    }
}

#[test]
fn placeholders_match_across_languages() {
    for entry in entries() {
        let mut english = placeholders(entry.1);
        english.sort_unstable();
        for lang in [Lang::Ru, Lang::Uz] {
            let mut other = placeholders(text_of(entry, lang));
            other.sort_unstable();
            assert_eq!(english, other, "placeholders of {} in {lang:?}", entry.0);
        }
    }
}

#[test]
fn uzbek_uses_the_proper_modifier_letters() {
    for entry in entries() {
        let uz = entry.3;
        // ASCII apostrophes, backticks and quotation marks are the common
        // stand-ins for ʻ and ʼ; none may appear.
        for bad in ['\'', '`', '\u{2018}', '\u{2019}'] {
            assert!(!uz.contains(bad), "{}: {uz:?} uses {bad:?}", entry.0);
        }
        // ʻ (U+02BB) only after o or g (oʻ, gʻ).
        let chars: Vec<char> = uz.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if *c == '\u{02BB}' {
                let before = i.checked_sub(1).map(|j| chars[j].to_ascii_lowercase());
                assert!(
                    matches!(before, Some('o' | 'g')),
                    "{}: ʻ after {before:?} in {uz:?}",
                    entry.0
                );
            }
        }
    }
    assert!(t(Lang::Uz, "tool.clear_measurements").starts_with("O\u{02BB}lchov"));
    assert!(t(Lang::Uz, "column.birth_date").contains("g\u{02BB}"));
    assert!(t(Lang::Uz, "calibration.detector").contains("a\u{02BC}zo"));
}

#[test]
fn keys_named_elsewhere_in_the_crate_exist() {
    let calibrations = [
        Calibration::Pixel {
            row_mm: 1.0,
            col_mm: 1.0,
            method: SpacingMethod::Patient,
        },
        Calibration::Pixel {
            row_mm: 1.0,
            col_mm: 1.0,
            method: SpacingMethod::Geometry,
        },
        Calibration::Pixel {
            row_mm: 1.0,
            col_mm: 1.0,
            method: SpacingMethod::Fiducial,
        },
        Calibration::Pixel {
            row_mm: 1.0,
            col_mm: 1.0,
            method: SpacingMethod::Unspecified,
        },
        Calibration::ImagerPlane {
            row_mm: 1.0,
            col_mm: 1.0,
        },
        Calibration::MagnificationCorrected {
            row_mm: 1.0,
            col_mm: 1.0,
            factor: 1.1,
        },
        Calibration::Uncalibrated,
    ];
    let mut keys: Vec<&str> = calibrations.iter().map(Calibration::describe_key).collect();
    keys.extend(ct_presets().iter().map(|p| p.label_key));
    keys.extend([Unit::Mm, Unit::Mm2, Unit::Px, Unit::Px2].map(Unit::label_key));
    for key in keys {
        assert!(
            entries().any(|e| e.0 == key),
            "{key} is used but not in the table"
        );
    }
}

#[test]
fn lookup_falls_back_to_english_then_to_the_key() {
    assert_eq!(
        t(Lang::Ru, "error.study_not_found"),
        "Исследование не найдено"
    );
    assert_eq!(t(Lang::En, "error.study_not_found"), "Study not found");
    assert_eq!(t(Lang::Uz, "no.such.key"), "no.such.key");
    // An entry with an empty translation reads as English.
    static PARTIAL: &[Entry] = &[("k", "English", "", "Oʻzbekcha")];
    assert_eq!(lookup(&[PARTIAL], Lang::Ru, "k"), "English");
    assert_eq!(lookup(&[PARTIAL], Lang::Uz, "k"), "Oʻzbekcha");
    assert_eq!(lookup(&[PARTIAL], Lang::Uz, "other"), "other");
    // Later tables are searched too.
    assert_eq!(lookup(&[TABLE, PARTIAL], Lang::Uz, "k"), "Oʻzbekcha");
}

#[test]
fn placeholders_are_filled() {
    assert_eq!(
        t_with(
            Lang::Ru,
            "progress.loading",
            &[("n", "3"), ("total", "120")]
        ),
        "Загрузка 3 из 120"
    );
    assert_eq!(
        t_with(
            Lang::En,
            "overlay.window",
            &[("width", "400"), ("center", "40")]
        ),
        "W 400 L 40"
    );
    assert_eq!(
        t_with(Lang::En, "progress.loading", &[("n", "3")]),
        "Loading 3 of {total}"
    );
    assert_eq!(placeholders("a {x} b {yy}{z} {"), ["x", "yy", "z"]);
}

#[test]
fn language_tags() {
    assert_eq!(Lang::from_tag("ru"), Some(Lang::Ru));
    assert_eq!(Lang::from_tag("ru-RU"), Some(Lang::Ru));
    assert_eq!(Lang::from_tag("UZ_latn"), Some(Lang::Uz));
    assert_eq!(Lang::from_tag(" en-GB "), Some(Lang::En));
    assert_eq!(Lang::from_tag("de"), None);
    assert_eq!(Lang::from_tag(""), None);
    assert_eq!(Lang::negotiate(["de-DE", "uz-Latn-UZ", "ru"]), Lang::Uz);
    assert_eq!(Lang::negotiate(["fr"]), Lang::En);
    for lang in Lang::ALL {
        assert_eq!(Lang::from_tag(lang.tag()), Some(lang));
    }
}
