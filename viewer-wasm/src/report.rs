//! The report's model: its five sections, the draft, signed versions and
//! addenda, key images and the critical finding as
//! `GET /api/studies/{study}/report` sends them; report templates; and
//! how a template is applied without losing what the radiologist typed.

use serde::{Deserialize, Serialize};

/// The sections of a report, in reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKey {
    ClinicalInformation,
    Technique,
    Comparison,
    Findings,
    Impression,
}

impl SectionKey {
    pub const ALL: [SectionKey; 5] = [
        SectionKey::ClinicalInformation,
        SectionKey::Technique,
        SectionKey::Comparison,
        SectionKey::Findings,
        SectionKey::Impression,
    ];

    /// The API's name, also the text area's id suffix
    /// (`#report-section-findings`).
    pub fn name(self) -> &'static str {
        match self {
            SectionKey::ClinicalInformation => "clinical_information",
            SectionKey::Technique => "technique",
            SectionKey::Comparison => "comparison",
            SectionKey::Findings => "findings",
            SectionKey::Impression => "impression",
        }
    }

    /// The interface string key of the section's title.
    pub fn label_key(self) -> String {
        format!("report.section.{}", self.name())
    }
}

/// The text of the five sections.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sections {
    #[serde(default)]
    pub clinical_information: String,
    #[serde(default)]
    pub technique: String,
    #[serde(default)]
    pub comparison: String,
    #[serde(default)]
    pub findings: String,
    #[serde(default)]
    pub impression: String,
}

impl Sections {
    pub fn get(&self, key: SectionKey) -> &str {
        match key {
            SectionKey::ClinicalInformation => &self.clinical_information,
            SectionKey::Technique => &self.technique,
            SectionKey::Comparison => &self.comparison,
            SectionKey::Findings => &self.findings,
            SectionKey::Impression => &self.impression,
        }
    }

    pub fn set(&mut self, key: SectionKey, text: String) {
        match key {
            SectionKey::ClinicalInformation => self.clinical_information = text,
            SectionKey::Technique => self.technique = text,
            SectionKey::Comparison => self.comparison = text,
            SectionKey::Findings => self.findings = text,
            SectionKey::Impression => self.impression = text,
        }
    }

    /// Whether no section holds anything but white space.
    pub fn is_blank(&self) -> bool {
        SectionKey::ALL
            .iter()
            .all(|&k| self.get(k).trim().is_empty())
    }
}

/// The report being written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Draft {
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub sections: Sections,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
}

impl Draft {
    /// Who wrote the draft, when it was not `me`: a reader who took the
    /// study over continues someone else's words until they save.
    pub fn by_someone_else(&self, me: Option<&str>) -> Option<&str> {
        self.author.as_deref().filter(|author| Some(*author) != me)
    }
}

/// The browser's copy of unsaved text (kept until the server confirms
/// it), with the server's draft it was typed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalCopy {
    pub template: Option<String>,
    pub sections: Sections,
    /// When the server's draft the text was typed over was saved (`None`:
    /// there was none). Absent from copies kept by earlier versions of
    /// the page.
    #[serde(default)]
    pub base: Option<CopyBase>,
}

/// See [`LocalCopy::base`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyBase {
    pub updated_at: Option<String>,
}

impl LocalCopy {
    /// Whether the copy may replace the server's draft `server`: only
    /// while that draft is still the one it was typed over. A colleague
    /// who took the study and saved since wrote newer words, which an
    /// old copy in another browser must never overwrite. A copy that
    /// does not say what it was typed over goes only over no draft, or
    /// over `me`'s own.
    pub fn applies_over(&self, server: Option<&Draft>, me: Option<&str>) -> bool {
        match &self.base {
            Some(base) => {
                server.and_then(|d| d.updated_at.as_deref()) == base.updated_at.as_deref()
            }
            None => server.is_none_or(|d| d.by_someone_else(me).is_none()),
        }
    }
}

/// A signed version: the final report (`kind: final`) or an addendum.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Version {
    pub version: u32,
    pub kind: String,
    #[serde(default)]
    pub sections: Option<Sections>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub signed_by: Option<String>,
    #[serde(default)]
    pub signed_by_name: Option<String>,
    #[serde(default)]
    pub signed_at: Option<String>,
}

impl Version {
    pub fn is_addendum(&self) -> bool {
        self.kind == "addendum"
    }

    /// The signer as people know them.
    pub fn signer(&self) -> &str {
        self.signed_by_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .or(self.signed_by.as_deref())
            .unwrap_or("—")
    }
}

/// An image the radiologist marked as showing the finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyImage {
    pub series_uid: String,
    pub sop_uid: String,
    #[serde(default = "first_frame")]
    pub frame: u32,
}

fn first_frame() -> u32 {
    1
}

/// A critical finding and whether the site has acknowledged it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Critical {
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub flagged_by: Option<String>,
    #[serde(default)]
    pub flagged_at: Option<String>,
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    #[serde(default)]
    pub acknowledged_at: Option<String>,
}

impl Critical {
    pub fn is_open(&self) -> bool {
        self.acknowledged_at.is_none() && self.acknowledged_by.is_none()
    }
}

/// A study's report as the caller may see it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Report {
    #[serde(default)]
    pub study_uid: String,
    pub status: String,
    #[serde(default)]
    pub draft: Option<Draft>,
    #[serde(default)]
    pub versions: Vec<Version>,
    #[serde(default)]
    pub key_images: Vec<KeyImage>,
    #[serde(default)]
    pub critical: Option<Critical>,
    /// The caller holds the lock and the report is not final.
    #[serde(default)]
    pub can_edit: bool,
    #[serde(default)]
    pub can_sign: bool,
    #[serde(default)]
    pub can_amend: bool,
    #[serde(default)]
    pub can_acknowledge: bool,
}

impl Report {
    /// Signed: the sections can no longer change, only be added to.
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "final" | "amended")
    }

    /// The signed versions and addenda in the order they were signed.
    pub fn versions_in_order(&self) -> Vec<&Version> {
        let mut versions: Vec<&Version> = self.versions.iter().collect();
        versions.sort_by_key(|v| v.version);
        versions
    }

    /// The latest signed report (not an addendum), if any.
    pub fn latest_final(&self) -> Option<&Version> {
        self.versions_in_order()
            .into_iter()
            .rev()
            .find(|v| !v.is_addendum() && v.sections.is_some())
    }

    /// The sections the text areas show: the signed text once final, the
    /// draft before, else empty.
    pub fn shown_sections(&self) -> Sections {
        if self.is_final()
            && let Some(sections) = self.latest_final().and_then(|v| v.sections.clone())
        {
            return sections;
        }
        self.draft
            .as_ref()
            .map(|d| d.sections.clone())
            .or_else(|| self.latest_final().and_then(|v| v.sections.clone()))
            .unwrap_or_default()
    }

    /// Whether `key` is among the key images.
    pub fn has_key_image(&self, key: &KeyImage) -> bool {
        self.key_images
            .iter()
            .any(|k| k.sop_uid == key.sop_uid && k.frame == key.frame)
    }
}

/// The body of `PUT /api/studies/{study}/report/draft`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftBody {
    pub template: Option<String>,
    pub language: String,
    pub sections: Sections,
}

/// A report template as `GET /api/templates?lang=` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub sections: Sections,
}

/// A template applied to what is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateMerge {
    /// Empty sections filled from the template; typed ones kept.
    pub sections: Sections,
    /// Sections where the radiologist's own text differs from the
    /// template's: replaced only if they say so.
    pub conflicts: Vec<SectionKey>,
}

/// Applies `template` to `typed`: a section with nothing typed takes the
/// template's text; one with typed text keeps it, and is listed as a
/// conflict when the template has something else to say there.
pub fn merge_template(typed: &Sections, template: &Sections) -> TemplateMerge {
    let mut sections = typed.clone();
    let mut conflicts = Vec::new();
    for key in SectionKey::ALL {
        let mine = typed.get(key);
        let theirs = template.get(key);
        if theirs.trim().is_empty() {
            continue;
        }
        if mine.trim().is_empty() {
            sections.set(key, theirs.to_owned());
        } else if mine.trim() != theirs.trim() {
            conflicts.push(key);
        }
    }
    TemplateMerge {
        sections,
        conflicts,
    }
}

impl TemplateMerge {
    /// The result when the radiologist agrees to replace the conflicting
    /// sections with the template's text.
    pub fn replacing(&self, template: &Sections) -> Sections {
        let mut sections = self.sections.clone();
        for &key in &self.conflicts {
            sections.set(key, template.get(key).to_owned());
        }
        sections
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"{"study_uid": "1.2.3", "status": "amended",
        "draft": null,
        "versions": [
          {"version": 2, "kind": "addendum", "sections": null, "reason": "Сравнение с архивом",
           "text": "Очаг без динамики.", "signed_by": "karimov", "signed_by_name": "Dr Karimov",
           "signed_at": "2026-11-23T08:00:00Z"},
          {"version": 1, "kind": "final", "sections": {"clinical_information": "Головная боль",
            "technique": "КТ без контраста", "comparison": "", "findings": "Норма",
            "impression": "Без патологии"}, "reason": null, "text": null,
           "signed_by": "karimov", "signed_by_name": null, "signed_at": "2026-11-22T19:04:05Z"}
        ],
        "key_images": [{"series_uid": "1.2.3.4", "sop_uid": "1.2.3.4.5", "frame": 1}],
        "critical": {"note": "Кровоизлияние", "flagged_by": "karimov", "flagged_at": "2026-11-22T19:00:00Z",
                     "acknowledged_by": null, "acknowledged_at": null},
        "can_edit": false, "can_sign": false, "can_amend": true, "can_acknowledge": false}"#;

    fn sections(findings: &str, impression: &str) -> Sections {
        Sections {
            findings: findings.into(),
            impression: impression.into(),
            ..Sections::default()
        }
    }

    #[test]
    fn a_signed_report_with_an_addendum_is_read() {
        let report: Report = serde_json::from_str(REPORT).unwrap();
        assert!(report.is_final());
        let order: Vec<u32> = report
            .versions_in_order()
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(order, [1, 2]);
        assert_eq!(report.latest_final().unwrap().signer(), "karimov");
        assert_eq!(report.versions_in_order()[1].signer(), "Dr Karimov");
        assert_eq!(report.shown_sections().findings, "Норма");
        assert!(report.critical.as_ref().unwrap().is_open());
        assert!(report.has_key_image(&KeyImage {
            series_uid: String::new(),
            sop_uid: "1.2.3.4.5".into(),
            frame: 1
        }));
    }

    #[test]
    fn an_unread_study_has_an_empty_report() {
        let report: Report =
            serde_json::from_str(r#"{"study_uid": "1", "status": "scheduled"}"#).unwrap();
        assert!(!report.is_final());
        assert!(report.shown_sections().is_blank());
        assert!(report.versions_in_order().is_empty());
        let drafted: Report = serde_json::from_str(
            r#"{"status": "in_progress", "draft": {"template": "ct-head", "language": "ru",
                "sections": {"findings": "Очаговых изменений нет"}, "updated_at": "2026-11-22T19:04:05Z",
                "author": "karimov"}, "can_edit": true}"#,
        )
        .unwrap();
        assert_eq!(drafted.shown_sections().findings, "Очаговых изменений нет");
        assert_eq!(drafted.shown_sections().impression, "");
        assert!(drafted.can_edit);
        let draft = drafted.draft.unwrap();
        assert_eq!(draft.by_someone_else(Some("rahimova")), Some("karimov"));
        assert_eq!(draft.by_someone_else(Some("karimov")), None);
        // An archive without accounts: nobody's name to compare with.
        assert_eq!(draft.by_someone_else(None), Some("karimov"));
    }

    #[test]
    fn the_draft_body_is_what_the_api_expects() {
        let body = DraftBody {
            template: Some("ct-head".into()),
            language: "uz".into(),
            sections: sections("Oʻchoqli oʻzgarishlar yoʻq", ""),
        };
        let json: serde_json::Value = serde_json::to_value(&body).unwrap();
        assert_eq!(json["template"], "ct-head");
        assert_eq!(json["language"], "uz");
        assert_eq!(json["sections"]["findings"], "Oʻchoqli oʻzgarishlar yoʻq");
        assert_eq!(json["sections"]["clinical_information"], "");
        assert_eq!(json["sections"].as_object().unwrap().len(), 5);
    }

    #[test]
    fn a_template_fills_only_empty_sections() {
        let template = Sections {
            technique: "Non-contrast CT of the head.".into(),
            findings: "No acute intracranial abnormality.".into(),
            impression: "Normal study.".into(),
            ..Sections::default()
        };
        let typed = sections("Hyperdense focus in the left basal ganglia.", "  ");
        let merge = merge_template(&typed, &template);
        assert_eq!(merge.sections.technique, "Non-contrast CT of the head.");
        assert_eq!(
            merge.sections.findings,
            "Hyperdense focus in the left basal ganglia."
        );
        assert_eq!(merge.sections.impression, "Normal study.");
        assert_eq!(merge.conflicts, vec![SectionKey::Findings]);
        // Only when asked does the template's text replace the typed one.
        let replaced = merge.replacing(&template);
        assert_eq!(replaced.findings, "No acute intracranial abnormality.");
        assert_eq!(replaced.impression, "Normal study.");
    }

    #[test]
    fn reapplying_the_same_template_asks_nothing() {
        let template = sections("Норма.", "Без патологии.");
        let once = merge_template(&Sections::default(), &template);
        assert!(once.conflicts.is_empty());
        let twice = merge_template(&once.sections, &template);
        assert!(twice.conflicts.is_empty());
        assert_eq!(twice.sections, once.sections);
        // An empty template section never clears typed text.
        let typed = sections("Своё описание", "Своё заключение");
        let merge = merge_template(&typed, &Sections::default());
        assert_eq!(merge.sections, typed);
        assert!(merge.conflicts.is_empty());
    }

    #[test]
    fn templates_are_read() {
        let list: Vec<Template> = serde_json::from_str(
            r#"[{"id":"ct-head","name":"КТ головы","sections":{"clinical_information":"",
                "technique":"КТ","comparison":"","findings":"","impression":""}}]"#,
        )
        .unwrap();
        assert_eq!(list[0].id, "ct-head");
        assert_eq!(list[0].sections.technique, "КТ");
    }

    #[test]
    fn every_section_has_a_title() {
        use viewer_core::i18n::{Lang, t};
        for key in SectionKey::ALL {
            for lang in Lang::ALL {
                let label = key.label_key();
                assert_ne!(t(lang, &label), label);
            }
        }
    }

    #[test]
    fn a_kept_copy_never_overwrites_a_newer_draft() {
        let draft = |at: &str, author: &str| Draft {
            template: None,
            language: None,
            sections: Sections::default(),
            updated_at: Some(at.to_owned()),
            author: Some(author.to_owned()),
        };
        let copy = |base: Option<Option<&str>>| LocalCopy {
            template: None,
            sections: Sections::default(),
            base: base.map(|at| CopyBase {
                updated_at: at.map(str::to_owned),
            }),
        };
        let mine = draft("2026-11-24T10:00:00Z", "karimov");
        // Typed over the draft the server still has: put back.
        assert!(
            copy(Some(Some("2026-11-24T10:00:00Z"))).applies_over(Some(&mine), Some("karimov"))
        );
        // Typed over no draft, and still none.
        assert!(copy(Some(None)).applies_over(None, Some("karimov")));
        // A colleague saved since: the copy is older than the draft.
        let theirs = draft("2026-11-24T12:00:00Z", "aliyeva");
        assert!(
            !copy(Some(Some("2026-11-24T10:00:00Z"))).applies_over(Some(&theirs), Some("karimov"))
        );
        assert!(!copy(Some(None)).applies_over(Some(&theirs), Some("karimov")));
        // A copy from an earlier page: only over no draft or one's own.
        assert!(copy(None).applies_over(None, Some("karimov")));
        assert!(copy(None).applies_over(Some(&mine), Some("karimov")));
        assert!(!copy(None).applies_over(Some(&theirs), Some("karimov")));
    }
}
