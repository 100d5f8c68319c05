//! The study list's search: what the form holds, how it becomes a QIDO-RS
//! query, and how it is kept in the page address so that reload and the
//! back button return to the same results.

use crate::url::{build_query, query_value};

/// Studies shown per page of the list.
pub const PAGE_SIZE: u32 = 25;

/// What the user searches by. Values are as typed; dates are the
/// `YYYY-MM-DD` an `<input type="date">` gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudySearch {
    /// Patient name, matched as a prefix unless it has its own wildcards.
    pub patient_name: String,
    /// Patient ID, matched exactly unless it has wildcards.
    pub patient_id: String,
    /// First study date of the range (inclusive).
    pub date_from: String,
    /// Last study date of the range (inclusive).
    pub date_to: String,
    /// A modality code such as `CT`; empty for all.
    pub modality: String,
    /// Accession number.
    pub accession: String,
    /// Index of the first study of the page.
    pub offset: u32,
}

/// Page-address keys (short, stable: people bookmark these).
const KEYS: [&str; 7] = [
    "name",
    "id",
    "from",
    "to",
    "modality",
    "accession",
    "offset",
];

impl StudySearch {
    /// The search held in the page address's query pairs.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |key: &str| query_value(pairs, key).unwrap_or("").trim().to_owned();
        StudySearch {
            patient_name: get(KEYS[0]),
            patient_id: get(KEYS[1]),
            date_from: get(KEYS[2]),
            date_to: get(KEYS[3]),
            modality: get(KEYS[4]).to_ascii_uppercase(),
            accession: get(KEYS[5]),
            offset: get(KEYS[6]).parse().unwrap_or(0),
        }
    }

    /// The query string of the page address for this search (without `?`).
    pub fn to_page_query(&self) -> String {
        let offset = if self.offset == 0 {
            String::new()
        } else {
            self.offset.to_string()
        };
        let values = [
            &self.patient_name,
            &self.patient_id,
            &self.date_from,
            &self.date_to,
            &self.modality,
            &self.accession,
            &offset,
        ];
        let pairs: Vec<(&str, &str)> = KEYS
            .iter()
            .zip(values)
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        build_query(&pairs)
    }

    /// The QIDO-RS query (without `?`) for this page of the search.
    ///
    /// One more study than a page is asked for, so the list knows whether
    /// a next page exists without a count query.
    pub fn to_qido(&self) -> String {
        let name = prefix_match(&self.patient_name);
        let date = date_range(&self.date_from, &self.date_to);
        let limit = (PAGE_SIZE + 1).to_string();
        let offset = self.offset.to_string();
        build_query(&[
            ("PatientName", name.as_str()),
            ("PatientID", self.patient_id.as_str()),
            ("StudyDate", date.as_str()),
            ("ModalitiesInStudy", self.modality.as_str()),
            ("AccessionNumber", self.accession.as_str()),
            ("includefield", "00081030,00080061,00201206,00201208"),
            ("fuzzymatching", "false"),
            ("limit", limit.as_str()),
            ("offset", offset.as_str()),
        ])
    }

    /// The same search one page further (`forward`) or back.
    pub fn page(&self, forward: bool) -> StudySearch {
        let offset = if forward {
            self.offset.saturating_add(PAGE_SIZE)
        } else {
            self.offset.saturating_sub(PAGE_SIZE)
        };
        StudySearch {
            offset,
            ..self.clone()
        }
    }
}

/// A name typed without wildcards matches names that start with it, which
/// is what people expect from a search box (`Иванов` finds
/// `Иванов^Иван^Петрович`).
fn prefix_match(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() || name.contains(['*', '?']) {
        name.to_owned()
    } else {
        format!("{name}*")
    }
}

/// A DICOM date range (`20240101-20241231`, open on either side) from
/// `YYYY-MM-DD` bounds; an empty string when neither bound is set. Bounds
/// typed the wrong way round mean the days between them (a range that
/// ends before it starts would find nothing and say nothing of why).
fn date_range(from: &str, to: &str) -> String {
    let (mut from, mut to) = (dicom_date(from), dicom_date(to));
    if !from.is_empty() && !to.is_empty() && from > to {
        std::mem::swap(&mut from, &mut to);
    }
    match (from.is_empty(), to.is_empty()) {
        (true, true) => String::new(),
        (false, false) if from == to => from,
        _ => format!("{from}-{to}"),
    }
}

/// `2024-01-31` → `20240131`; anything that is not eight digits once the
/// dashes are gone is dropped rather than sent.
fn dicom_date(date: &str) -> String {
    let digits: String = date.chars().filter(|c| *c != '-').collect();
    if digits.len() == 8 && digits.chars().all(|c| c.is_ascii_digit()) {
        digits
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::parse_query;

    #[test]
    fn names_are_prefix_matched_unless_wildcarded() {
        assert_eq!(prefix_match("Иванов"), "Иванов*");
        assert_eq!(prefix_match("*ова"), "*ова");
        assert_eq!(prefix_match("  "), "");
    }

    #[test]
    fn date_ranges_are_open_on_either_side() {
        assert_eq!(date_range("2024-01-01", "2024-12-31"), "20240101-20241231");
        assert_eq!(date_range("2024-01-01", ""), "20240101-");
        assert_eq!(date_range("", "2024-12-31"), "-20241231");
        assert_eq!(date_range("2024-05-05", "2024-05-05"), "20240505");
        assert_eq!(date_range("", ""), "");
        assert_eq!(date_range("yesterday", ""), "");
    }

    #[test]
    fn date_bounds_the_wrong_way_round_mean_the_days_between() {
        assert_eq!(date_range("2024-12-31", "2024-01-01"), "20240101-20241231");
        assert_eq!(date_range("2024-03-02", "2024-03-01"), "20240301-20240302");
    }

    #[test]
    fn qido_query_carries_every_field_and_asks_one_extra_row() {
        let search = StudySearch {
            patient_name: "Ив".into(),
            patient_id: "UZ-TAS-000101".into(),
            date_from: "2024-01-01".into(),
            date_to: "2024-12-31".into(),
            modality: "CT".into(),
            accession: "A1".into(),
            offset: 50,
        };
        let pairs = parse_query(&search.to_qido());
        let get = |k: &str| query_value(&pairs, k).map(str::to_owned);
        assert_eq!(get("PatientName").as_deref(), Some("Ив*"));
        assert_eq!(get("PatientID").as_deref(), Some("UZ-TAS-000101"));
        assert_eq!(get("StudyDate").as_deref(), Some("20240101-20241231"));
        assert_eq!(get("ModalitiesInStudy").as_deref(), Some("CT"));
        assert_eq!(get("AccessionNumber").as_deref(), Some("A1"));
        assert_eq!(get("limit"), Some((PAGE_SIZE + 1).to_string()));
        assert_eq!(get("offset").as_deref(), Some("50"));
        assert_eq!(get("fuzzymatching").as_deref(), Some("false"));
    }

    #[test]
    fn empty_fields_are_not_sent() {
        let pairs = parse_query(&StudySearch::default().to_qido());
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["includefield", "fuzzymatching", "limit", "offset"]);
    }

    #[test]
    fn page_address_round_trips() {
        let search = StudySearch {
            patient_name: "Oʻrinboyeva".into(),
            modality: "CT".into(),
            offset: 25,
            ..StudySearch::default()
        };
        let back = StudySearch::from_pairs(&parse_query(&search.to_page_query()));
        assert_eq!(back, search);
        assert_eq!(search.page(false).offset, 0);
        assert_eq!(search.page(false).page(false).offset, 0);
        assert_eq!(search.page(true).offset, 50);
    }
}
