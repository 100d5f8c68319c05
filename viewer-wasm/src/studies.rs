//! One row of the study list, read from a QIDO-RS study result.

use viewer_core::dicom_json::{Attributes, format_date, format_time};
use viewer_core::tags;

/// What the study list shows of a study.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StudyRow {
    pub study_uid: String,
    pub patient_name: String,
    pub patient_id: String,
    /// `YYYY-MM-DD`, empty when unknown.
    pub birth_date: String,
    pub sex: String,
    /// `YYYY-MM-DD`, empty when unknown.
    pub study_date: String,
    /// `HH:MM`, empty when unknown.
    pub study_time: String,
    /// Raw `YYYYMMDDHHMMSS` used for ordering (newest first).
    sort_key: String,
    pub modalities: String,
    pub description: String,
    pub accession: String,
    pub series_count: Option<i64>,
    pub instance_count: Option<i64>,
}

impl StudyRow {
    /// The row for one QIDO-RS result; `None` without a Study Instance
    /// UID (nothing could be opened from it).
    pub fn from_attributes(a: &Attributes) -> Option<StudyRow> {
        let study_uid = a.string(tags::STUDY_INSTANCE_UID)?;
        let date = a.string(tags::STUDY_DATE).unwrap_or_default();
        let time = a.string(tags::STUDY_TIME).unwrap_or_default();
        let sort_key = format!("{:0<8}{:0<6}", date, time.split('.').next().unwrap_or(""));
        Some(StudyRow {
            study_uid,
            patient_name: a.person_name(tags::PATIENT_NAME).unwrap_or_default(),
            patient_id: a.string(tags::PATIENT_ID).unwrap_or_default(),
            birth_date: a
                .string(tags::PATIENT_BIRTH_DATE)
                .and_then(|d| format_date(&d))
                .unwrap_or_default(),
            sex: a.string(tags::PATIENT_SEX).unwrap_or_default(),
            study_date: format_date(&date).unwrap_or_default(),
            study_time: format_time(&time)
                .map(|t| t.chars().take(5).collect())
                .unwrap_or_default(),
            sort_key,
            modalities: a.strings(tags::MODALITIES_IN_STUDY).join(", "),
            description: a.string(tags::STUDY_DESCRIPTION).unwrap_or_default(),
            accession: a.string(tags::ACCESSION_NUMBER).unwrap_or_default(),
            series_count: a.int(tags::NUMBER_OF_STUDY_RELATED_SERIES),
            instance_count: a.int(tags::NUMBER_OF_STUDY_RELATED_INSTANCES),
        })
    }
}

/// Rows of a QIDO-RS page, newest study first (studies without a date
/// last), ties broken by UID so the order is stable between reloads.
pub fn rows_newest_first(results: &[Attributes]) -> Vec<StudyRow> {
    let mut rows: Vec<StudyRow> = results
        .iter()
        .filter_map(StudyRow::from_attributes)
        .collect();
    rows.sort_by(|a, b| {
        b.sort_key
            .cmp(&a.sort_key)
            .then_with(|| a.study_uid.cmp(&b.study_uid))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn study(uid: &str, date: &str, time: &str) -> Attributes {
        Attributes::new(json!({
            "0020000D": {"vr": "UI", "Value": [uid]},
            "00080020": {"vr": "DA", "Value": [date]},
            "00080030": {"vr": "TM", "Value": [time]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Иванов^Иван^Петрович"}]},
            "00100020": {"vr": "LO", "Value": ["UZ-TAS-000101"]},
            "00100030": {"vr": "DA", "Value": ["19680314"]},
            "00100040": {"vr": "CS", "Value": ["M"]},
            "00080061": {"vr": "CS", "Value": ["CT", "SR"]},
            "00201206": {"vr": "IS", "Value": [2]},
            "00201208": {"vr": "IS", "Value": ["121"]}
        }))
        .unwrap()
    }

    #[test]
    fn a_row_reads_the_study_and_patient() {
        let row = StudyRow::from_attributes(&study("1.2.3", "20261110", "162523.5")).unwrap();
        assert_eq!(row.patient_name, "Иванов Иван Петрович");
        assert_eq!(row.patient_id, "UZ-TAS-000101");
        assert_eq!(row.birth_date, "1968-03-14");
        assert_eq!(row.study_date, "2026-11-10");
        assert_eq!(row.study_time, "16:25");
        assert_eq!(row.modalities, "CT, SR");
        assert_eq!(row.series_count, Some(2));
        assert_eq!(row.instance_count, Some(121));
    }

    #[test]
    fn a_result_without_uid_is_skipped() {
        let a = Attributes::new(json!({"00080020": {"vr": "DA", "Value": ["20260101"]}})).unwrap();
        assert_eq!(StudyRow::from_attributes(&a), None);
    }

    #[test]
    fn rows_are_sorted_newest_first_undated_last() {
        let results = vec![
            study("1", "20240101", "080000"),
            study("2", "20261110", "090000"),
            study("3", "20261110", "100000"),
            Attributes::new(json!({"0020000D": {"vr": "UI", "Value": ["4"]}})).unwrap(),
        ];
        let order: Vec<String> = rows_newest_first(&results)
            .into_iter()
            .map(|r| r.study_uid)
            .collect();
        assert_eq!(order, ["3", "2", "1", "4"]);
    }
}
