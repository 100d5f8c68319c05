//! The report as the reading workflow hands it over: who, which study, what
//! was signed and when. Everything here is plain data; the outputs
//! (`pdf`, `dicom`, `fhir`) only read it.

use serde::{Deserialize, Serialize};

use crate::ReportError;

/// The language a report is written in. It picks the section titles, the
/// labels of the PDF and the templates; it never translates what the
/// radiologist wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Ru,
    /// Uzbek in Latin script (oʻ, gʻ and ʼ as U+02BB and U+02BC).
    Uz,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ru, Lang::Uz];

    /// The language for a BCP 47 tag or an Accept-Language entry (`ru`,
    /// `ru-RU`, `uz-Latn`, `EN`), matched on its primary subtag. Anything
    /// else gets English, the language every reader of this product shares.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        match primary.to_ascii_lowercase().as_str() {
            "ru" => Lang::Ru,
            "uz" => Lang::Uz,
            _ => Lang::En,
        }
    }

    /// BCP 47 tag, as FHIR's `language` and the narrative's `lang` want it.
    pub fn bcp47(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Uz => "uz-Latn",
        }
    }
}

/// The five parts of a radiology report, in reading order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sections {
    pub clinical_information: String,
    pub technique: String,
    pub comparison: String,
    pub findings: String,
    pub impression: String,
}

/// Stable keys of the five sections, in reading order; `section_titles`
/// pairs each with its title.
pub const SECTION_KEYS: [&str; 5] = [
    "clinical_information",
    "technique",
    "comparison",
    "findings",
    "impression",
];

impl Sections {
    /// The sections with their keys, in reading order.
    pub fn entries(&self) -> [(&'static str, &str); 5] {
        [
            (SECTION_KEYS[0], &self.clinical_information),
            (SECTION_KEYS[1], &self.technique),
            (SECTION_KEYS[2], &self.comparison),
            (SECTION_KEYS[3], &self.findings),
            (SECTION_KEYS[4], &self.impression),
        ]
    }
}

/// A prefilled normal report for one kind of study, for the radiologist to edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// Stable across languages: `ct-head`, `ct-chest`, `ct-abdomen`,
    /// `chest-xray`, `extremity-xray`.
    pub id: String,
    pub name: String,
    pub sections: Sections,
}

/// Unix time in milliseconds, UTC. Shown to readers in the document's
/// `utc_offset_minutes`.
pub type UnixMillis = i64;

/// Everything the three outputs need about one signed report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDocument {
    /// DICOM PN, e.g. `Ivanov^Ivan`; shown as "Ivanov, Ivan".
    pub patient_name: String,
    pub patient_id: String,
    /// DICOM DA, `YYYYMMDD`.
    pub patient_birth_date: Option<String>,
    /// DICOM CS: `M`, `F` or `O`.
    pub patient_sex: Option<String>,
    pub study_uid: String,
    pub accession_number: Option<String>,
    /// DICOM DA, `YYYYMMDD`.
    pub study_date: Option<String>,
    /// DICOM TM, `HHMMSS` with optional fraction.
    pub study_time: Option<String>,
    pub study_description: Option<String>,
    pub modalities: Vec<String>,
    /// DICOM PN.
    pub referring_physician: Option<String>,
    pub site: Option<String>,
    pub institution_name: Option<String>,
    pub language: Lang,
    /// The site's offset from UTC, in minutes, used for every time a reader
    /// sees (sign times in the PDF, DICOM Content Time, FHIR instants).
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// In signing order, numbered from 1: the report (preliminary and then
    /// final, or final alone), then addenda.
    pub versions: Vec<SignedVersion>,
    pub key_images: Vec<KeyImage>,
    pub critical: Option<CriticalFinding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionKind {
    /// Signed for early communication; a final report is still to come.
    Preliminary,
    Final,
    /// Text added after the final report, with its reason.
    Addendum,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVersion {
    pub version: u32,
    pub kind: VersionKind,
    /// Present on preliminary and final versions.
    pub sections: Option<Sections>,
    /// Why an addendum was written.
    pub reason: Option<String>,
    /// The addendum's text.
    pub text: Option<String>,
    /// Display name of the signer.
    pub signed_by: String,
    pub signed_at: UnixMillis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyImage {
    pub caption: String,
    /// 8-bit greyscale or RGB PNG, as the archive renders frames.
    pub png: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticalFinding {
    pub note: String,
    pub flagged_by: String,
    pub flagged_at: UnixMillis,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<UnixMillis>,
}

/// The identifiers a new DICOM instance needs, supplied by the caller (who
/// owns the UID root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUids {
    pub series_uid: String,
    pub sop_uid: String,
}

/// What FHIR calls the report's status, derived from its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Preliminary,
    Final,
    /// Final with at least one addendum.
    Amended,
}

impl ReportDocument {
    /// Checks the invariants every output relies on: versions numbered 1, 2,
    /// … in order; the first one carries sections; preliminary and final
    /// versions carry sections; addenda carry text and follow a final
    /// version; no preliminary version after the final one.
    pub fn validate(&self) -> Result<(), ReportError> {
        if self.versions.is_empty() {
            return Err(ReportError::NotSigned);
        }
        let mut final_seen = false;
        for (i, v) in self.versions.iter().enumerate() {
            let expected = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if v.version != expected {
                return Err(ReportError::VersionOrder {
                    expected,
                    found: v.version,
                });
            }
            match v.kind {
                VersionKind::Preliminary | VersionKind::Final => {
                    if v.sections.is_none() {
                        return Err(ReportError::MissingSections { version: v.version });
                    }
                    if final_seen {
                        return Err(ReportError::ReportAfterFinal { version: v.version });
                    }
                    final_seen = v.kind == VersionKind::Final;
                }
                VersionKind::Addendum => {
                    if !final_seen {
                        return Err(ReportError::AddendumBeforeFinal { version: v.version });
                    }
                    if v.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                        return Err(ReportError::EmptyAddendum { version: v.version });
                    }
                }
            }
        }
        Ok(())
    }

    /// The version whose sections are the report: the last preliminary or
    /// final one.
    pub fn report_version(&self) -> Option<&SignedVersion> {
        self.versions
            .iter()
            .rev()
            .find(|v| v.kind != VersionKind::Addendum && v.sections.is_some())
    }

    /// The sections of [`report_version`](Self::report_version).
    pub fn sections(&self) -> Option<&Sections> {
        self.report_version().and_then(|v| v.sections.as_ref())
    }

    /// Addenda in signing order.
    pub fn addenda(&self) -> impl Iterator<Item = &SignedVersion> {
        self.versions
            .iter()
            .filter(|v| v.kind == VersionKind::Addendum)
    }

    /// The last signature of any kind: when the report as it stands was issued.
    pub fn last_signed(&self) -> Option<&SignedVersion> {
        self.versions.last()
    }

    pub fn status(&self) -> ReportStatus {
        match self.report_version().map(|v| v.kind) {
            Some(VersionKind::Final) if self.addenda().next().is_some() => ReportStatus::Amended,
            Some(VersionKind::Final) => ReportStatus::Final,
            _ => ReportStatus::Preliminary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(version: u32, kind: VersionKind) -> SignedVersion {
        let report = kind != VersionKind::Addendum;
        SignedVersion {
            version,
            kind,
            sections: report.then(Sections::default),
            reason: None,
            text: (!report).then(|| "More.".to_string()),
            signed_by: "Dr A".into(),
            signed_at: i64::from(version) * 1000,
        }
    }

    fn doc(versions: Vec<SignedVersion>) -> ReportDocument {
        ReportDocument {
            patient_name: "Ivanov^Ivan".into(),
            patient_id: "P1".into(),
            patient_birth_date: None,
            patient_sex: None,
            study_uid: "1.2.3".into(),
            accession_number: None,
            study_date: None,
            study_time: None,
            study_description: None,
            modalities: vec![],
            referring_physician: None,
            site: None,
            institution_name: None,
            language: Lang::Ru,
            utc_offset_minutes: 0,
            versions,
            key_images: vec![],
            critical: None,
        }
    }

    #[test]
    fn status_from_versions() {
        use VersionKind::*;
        let d = doc(vec![version(1, Final)]);
        assert!(d.validate().is_ok());
        assert_eq!(d.status(), ReportStatus::Final);
        let d = doc(vec![
            version(1, Final),
            version(2, Addendum),
            version(3, Addendum),
        ]);
        assert!(d.validate().is_ok());
        assert_eq!(d.status(), ReportStatus::Amended);
        assert_eq!(d.addenda().count(), 2);
        assert_eq!(d.last_signed().map(|v| v.version), Some(3));
        assert_eq!(d.report_version().map(|v| v.version), Some(1));
        let d = doc(vec![version(1, Preliminary)]);
        assert_eq!(d.status(), ReportStatus::Preliminary);
        let d = doc(vec![version(1, Preliminary), version(2, Final)]);
        assert!(d.validate().is_ok());
        assert_eq!(d.report_version().map(|v| v.version), Some(2));
        assert_eq!(d.status(), ReportStatus::Final);
    }

    #[test]
    fn invalid_version_histories() {
        use VersionKind::*;
        let err = |versions| doc(versions).validate().err().map(|e| e.to_string());
        assert!(matches!(
            doc(vec![]).validate(),
            Err(ReportError::NotSigned)
        ));
        assert!(err(vec![version(2, Final)]).is_some_and(|e| e.contains("expected 1, found 2")));
        assert!(matches!(
            doc(vec![version(1, Addendum)]).validate(),
            Err(ReportError::AddendumBeforeFinal { version: 1 })
        ));
        assert!(matches!(
            doc(vec![version(1, Preliminary), version(2, Addendum)]).validate(),
            Err(ReportError::AddendumBeforeFinal { version: 2 })
        ));
        assert!(matches!(
            doc(vec![version(1, Final), version(2, Final)]).validate(),
            Err(ReportError::ReportAfterFinal { version: 2 })
        ));
        let mut no_sections = version(1, Final);
        no_sections.sections = None;
        assert!(matches!(
            doc(vec![no_sections]).validate(),
            Err(ReportError::MissingSections { version: 1 })
        ));
        let mut blank = version(2, Addendum);
        blank.text = Some("  \n".into());
        assert!(matches!(
            doc(vec![version(1, Final), blank]).validate(),
            Err(ReportError::EmptyAddendum { version: 2 })
        ));
    }

    #[test]
    fn languages_from_tags() {
        assert_eq!(Lang::from_tag("ru"), Lang::Ru);
        assert_eq!(Lang::from_tag("ru-RU"), Lang::Ru);
        assert_eq!(Lang::from_tag(" UZ-Latn "), Lang::Uz);
        assert_eq!(Lang::from_tag("uz_UZ"), Lang::Uz);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
        assert_eq!(Lang::from_tag("de"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
        for lang in Lang::ALL {
            assert_eq!(Lang::from_tag(lang.bcp47()), lang);
        }
    }

    #[test]
    fn json_shape() {
        let d = doc(vec![version(1, VersionKind::Final)]);
        let mut value = serde_json::to_value(&d).expect("serialize");
        assert_eq!(value["language"], "ru");
        assert_eq!(value["versions"][0]["kind"], "final");
        assert_eq!(value["versions"][0]["signed_at"], 1000);
        // The offset may be left out and defaults to UTC.
        value
            .as_object_mut()
            .map(|o| o.remove("utc_offset_minutes"));
        let back: ReportDocument = serde_json::from_value(value).expect("deserialize");
        assert_eq!(back, d);
    }
}
