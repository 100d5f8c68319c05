//! Prefilled normal reports and section titles in each report language.
//!
//! Clinical information is left empty in every template: it comes from the
//! referral, and a template that invented it would be signed unread sooner
//! or later.

mod en;
mod ru;
mod uz;

use crate::model::{Lang, SECTION_KEYS, Sections, Template};

/// One template's text, as written in the language files.
struct Text {
    id: &'static str,
    name: &'static str,
    technique: &'static str,
    comparison: &'static str,
    findings: &'static str,
    impression: &'static str,
}

/// Template ids, the same in every language.
pub const TEMPLATE_IDS: [&str; 5] = [
    "ct-head",
    "ct-chest",
    "ct-abdomen",
    "chest-xray",
    "extremity-xray",
];

/// The normal-study templates in `lang`, in the order of [`TEMPLATE_IDS`].
pub fn templates(lang: Lang) -> Vec<Template> {
    let texts = match lang {
        Lang::En => &en::TEMPLATES,
        Lang::Ru => &ru::TEMPLATES,
        Lang::Uz => &uz::TEMPLATES,
    };
    texts
        .iter()
        .map(|t| Template {
            id: t.id.to_string(),
            name: t.name.to_string(),
            sections: Sections {
                clinical_information: String::new(),
                technique: t.technique.to_string(),
                comparison: t.comparison.to_string(),
                findings: t.findings.to_string(),
                impression: t.impression.to_string(),
            },
        })
        .collect()
}

/// The template with `id` in `lang`.
pub fn template(lang: Lang, id: &str) -> Option<Template> {
    templates(lang).into_iter().find(|t| t.id == id)
}

/// Section keys (as in [`SECTION_KEYS`]) with their titles in `lang`, in
/// reading order.
pub fn section_titles(lang: Lang) -> [(&'static str, &'static str); 5] {
    let titles = match lang {
        Lang::En => [
            "Clinical information",
            "Technique",
            "Comparison",
            "Findings",
            "Impression",
        ],
        Lang::Ru => [
            "Клинические данные",
            "Методика исследования",
            "Сравнение",
            "Описание",
            "Заключение",
        ],
        Lang::Uz => [
            "Klinik maʼlumotlar",
            "Tekshiruv usuli",
            "Taqqoslash",
            "Tavsif",
            "Xulosa",
        ],
    };
    [
        (SECTION_KEYS[0], titles[0]),
        (SECTION_KEYS[1], titles[1]),
        (SECTION_KEYS[2], titles[2]),
        (SECTION_KEYS[3], titles[3]),
        (SECTION_KEYS[4], titles[4]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_template_with_normal_text() {
        for lang in Lang::ALL {
            let ts = templates(lang);
            let ids: Vec<_> = ts.iter().map(|t| t.id.as_str()).collect();
            assert_eq!(ids, TEMPLATE_IDS, "{lang:?}");
            for t in &ts {
                let s = &t.sections;
                assert!(!t.name.trim().is_empty(), "{lang:?} {}", t.id);
                assert!(s.clinical_information.is_empty(), "{lang:?} {}", t.id);
                for (key, text) in [
                    ("technique", &s.technique),
                    ("comparison", &s.comparison),
                    ("findings", &s.findings),
                    ("impression", &s.impression),
                ] {
                    assert!(!text.trim().is_empty(), "{lang:?} {} {key}", t.id);
                    assert_eq!(text.trim(), text, "{lang:?} {} {key}: stray space", t.id);
                    assert!(
                        !text.contains("  "),
                        "{lang:?} {} {key}: double space",
                        t.id
                    );
                }
                // A findings skeleton: one organ system per line, "System: text".
                let lines: Vec<_> = s.findings.lines().collect();
                assert!(lines.len() >= 3, "{lang:?} {}", t.id);
                for line in lines {
                    let (system, text) = line
                        .split_once(": ")
                        .unwrap_or_else(|| panic!("{lang:?} {}: {line:?}", t.id));
                    assert!(!system.is_empty() && !text.is_empty(), "{line:?}");
                }
            }
        }
    }

    #[test]
    fn same_skeleton_in_every_language() {
        let en = templates(Lang::En);
        for lang in [Lang::Ru, Lang::Uz] {
            for (a, b) in en.iter().zip(templates(lang)) {
                assert_eq!(
                    a.sections.findings.lines().count(),
                    b.sections.findings.lines().count(),
                    "{lang:?} {}",
                    a.id
                );
                assert_ne!(a.sections.impression, b.sections.impression);
            }
        }
    }

    #[test]
    fn script_matches_language() {
        let cyrillic = |s: &str| s.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c));
        for t in templates(Lang::Ru) {
            assert!(cyrillic(&t.sections.findings), "{}", t.id);
        }
        for lang in [Lang::En, Lang::Uz] {
            for t in templates(lang) {
                let all = format!("{} {}", t.name, t.sections.findings);
                assert!(!cyrillic(&all), "{lang:?} {}", t.id);
            }
        }
        // Uzbek oʻ and gʻ are U+02BB, not an apostrophe or a quotation mark.
        for t in templates(Lang::Uz) {
            let all = format!(
                "{} {} {}",
                t.name, t.sections.technique, t.sections.findings
            );
            assert!(!all.contains(['\'', '‘', '’', '`']), "{}", t.id);
        }
        assert!(templates(Lang::Uz)[0].sections.findings.contains("oʻ"));
    }

    #[test]
    fn titles_differ_per_language() {
        let en = section_titles(Lang::En);
        let ru = section_titles(Lang::Ru);
        let uz = section_titles(Lang::Uz);
        for i in 0..5 {
            assert_eq!(en[i].0, SECTION_KEYS[i]);
            assert_eq!(ru[i].0, SECTION_KEYS[i]);
            assert_eq!(uz[i].0, SECTION_KEYS[i]);
            assert_ne!(en[i].1, ru[i].1);
            assert_ne!(en[i].1, uz[i].1);
            assert_ne!(ru[i].1, uz[i].1);
        }
        let mut distinct: Vec<_> = ru.iter().map(|t| t.1).collect();
        distinct.dedup();
        assert_eq!(distinct.len(), 5);
    }

    #[test]
    fn lookup_by_id() {
        let t = template(Lang::Ru, "chest-xray").expect("chest-xray");
        assert!(t.sections.technique.contains("Рентгенография"));
        assert!(template(Lang::En, "mri-knee").is_none());
    }
}
