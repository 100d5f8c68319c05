//! Prior studies of the same patient (QIDO-RS by Patient ID), listed in
//! the series strip and offered first when a layout gains a viewport, so
//! that the reader compares the current study with the last one side by
//! side.

use super::loader::series_entries;
use super::state::{SeriesEntry, Shared, Viewer};
use super::strip;
use crate::studies::rows_newest_first;
use crate::url::build_query;
use crate::web::net::{self, DICOMWEB, NetError};
use viewer_core::dicom_json::Attributes;

/// Priors looked at: the newest few are what a reader compares with.
const MAX_PRIORS: usize = 4;

/// Another study of the patient, with its series.
#[derive(Debug, Clone)]
pub struct PriorStudy {
    pub study_uid: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub description: String,
    pub series: Vec<SeriesEntry>,
}

/// Finds the patient's earlier studies (newest first) and lists them in the
/// strip. A request the link broke is sent again until it passes, as a
/// slice's is, so a dropped connection does not silently cost the reader
/// the comparison; other failures only leave the strip without priors
/// (or without that prior): the current study is what was asked for.
pub async fn find(shared: Shared) {
    let (patient_id, current, current_date) = {
        let v = shared.borrow();
        let info = v.panes.first().and_then(|p| p.info());
        let id = info.as_ref().and_then(|i| i.patient_id.clone());
        let date = info
            .and_then(|i| i.study_date)
            .and_then(|d| viewer_core::dicom_json::format_date(&d))
            .unwrap_or_default();
        (id, v.study_uid.clone(), date)
    };
    let Some(patient_id) = patient_id else { return };
    let query = build_query(&[
        ("PatientID", patient_id.as_str()),
        ("includefield", "00081030,00080061"),
        ("fuzzymatching", "false"),
        ("limit", "20"),
    ]);
    let Ok(list) = get_retrying(&format!("{DICOMWEB}/studies?{query}")).await else {
        return;
    };
    let rows: Vec<_> = rows_newest_first(&list)
        .into_iter()
        // Earlier studies only (ISO dates compare as text); an undated
        // study is offered too, as it may well be earlier.
        .filter(|r| r.study_uid != current)
        .filter(|r| {
            current_date.is_empty() || r.study_date.is_empty() || r.study_date <= current_date
        })
        .take(MAX_PRIORS)
        .collect();
    let mut priors = Vec::new();
    for row in rows {
        let url = format!(
            "{DICOMWEB}/studies/{}/series",
            crate::url::encode_component(&row.study_uid)
        );
        let Ok(list) = get_retrying(&url).await else {
            continue;
        };
        let Some(series) = series_entries(&row.study_uid, &list) else {
            continue;
        };
        let series: Vec<SeriesEntry> = series
            .into_iter()
            .filter(super::loader::is_image_series)
            .collect();
        if series.is_empty() {
            continue;
        }
        priors.push(PriorStudy {
            study_uid: row.study_uid,
            date: row.study_date,
            description: row.description,
            series,
        });
    }
    if priors.is_empty() {
        return;
    }
    shared.borrow_mut().priors = priors;
    strip::build(&shared);
}

/// [`net::get_attributes`], asked again while it fails in a way that
/// may pass.
async fn get_retrying(url: &str) -> Result<Vec<Attributes>, NetError> {
    net::retrying(url, async || net::get_attributes(url).await, net::transient).await
}

/// The series a new viewport should show first: the first series of each
/// prior study, newest prior first.
pub fn candidates(v: &Viewer) -> Vec<SeriesEntry> {
    v.priors
        .iter()
        .filter_map(|p| p.series.first().cloned())
        .collect()
}
