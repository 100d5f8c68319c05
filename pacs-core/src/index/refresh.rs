//! Bringing what the index holds of a stored instance up to date with a
//! new reading of its unchanged object (`pacs refresh`): after a version
//! that reads some text differently (character sets), or a change of the
//! `[ingest]` settings that decide how text is read.
//!
//! A study's attributes are those of the instance that created its row;
//! here, of the earliest stored instance the study still holds (its
//! creator, unless that one was replaced). A series' likewise.

use rusqlite::{OptionalExtension, Transaction, params};

use super::sqlite::{set_series_requests, set_study_fields};
use super::{NewInstance, RequestItem, SeriesFields, StudyFields};
use crate::error::IndexError;

/// What a refresh changed in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// The instance's metadata, image attributes or instance number.
    pub instance: bool,
    /// Its series' attributes (it is the series' earliest instance).
    pub series: bool,
    /// Its study's patient and study attributes (it is the study's
    /// earliest instance), each changed attribute by its keyword.
    pub study: Vec<&'static str>,
}

/// Refreshes `n` where the index still names its object with its
/// content; `None` when it does not (replaced or removed meanwhile).
/// Without `apply`, says what would change and changes nothing.
pub(super) fn refresh(
    tx: &Transaction<'_>,
    n: &NewInstance,
    apply: bool,
) -> Result<Option<Refreshed>, IndexError> {
    let row: Option<(i64, i64, i64)> = tx
        .query_row(
            "SELECT i.pk, i.series_pk, se.study_pk FROM instances i
             JOIN series se ON se.pk = i.series_pk
             WHERE i.sop_uid = ?1 AND i.object_key = ?2 AND i.sha256 = ?3",
            params![n.sop_instance_uid, n.object_key, n.sha256],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((pk, series_pk, study_pk)) = row else {
        return Ok(None);
    };
    let mut refreshed = Refreshed {
        instance: refresh_instance(tx, pk, n, apply)?,
        ..Refreshed::default()
    };
    let first_of_series: i64 = tx
        .prepare_cached("SELECT MIN(pk) FROM instances WHERE series_pk = ?1")?
        .query_row([series_pk], |r| r.get(0))?;
    if first_of_series == pk {
        refreshed.series = refresh_series(tx, series_pk, study_pk, &n.series, apply)?;
    }
    let first_of_study: i64 = tx
        .prepare_cached(
            "SELECT MIN(i.pk) FROM instances i JOIN series se ON se.pk = i.series_pk
             WHERE se.study_pk = ?1",
        )?
        .query_row([study_pk], |r| r.get(0))?;
    if first_of_study == pk {
        refreshed.study = refresh_study(tx, study_pk, &n.study, apply)?;
    }
    Ok(Some(refreshed))
}

fn refresh_instance(
    tx: &Transaction<'_>,
    pk: i64,
    n: &NewInstance,
    apply: bool,
) -> Result<bool, IndexError> {
    let encode = |what: &str, e: serde_json::Error| {
        IndexError::Database(format!("cannot encode the {what}: {e}"))
    };
    let pixel = serde_json::to_string(&n.pixel).map_err(|e| encode("pixel layout", e))?;
    let image = n
        .image
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| encode("image attributes", e))?;
    let values = params![
        pk,
        n.instance_number,
        n.image.as_ref().map(|i| i.number_of_frames),
        n.image.as_ref().map(|i| i.rows),
        n.image.as_ref().map(|i| i.columns),
        pixel,
        image,
        n.metadata,
    ];
    let unchanged: bool = tx
        .prepare_cached(
            "SELECT instance_number IS ?2 AND number_of_frames IS ?3 AND rows IS ?4
                AND columns IS ?5 AND pixel IS ?6 AND image IS ?7 AND metadata IS ?8
             FROM instances WHERE pk = ?1",
        )?
        .query_row(values, |r| r.get(0))?;
    if !unchanged && apply {
        tx.prepare_cached(
            "UPDATE instances SET instance_number = ?2, number_of_frames = ?3, rows = ?4,
                columns = ?5, pixel = ?6, image = ?7, metadata = ?8
             WHERE pk = ?1",
        )?
        .execute(values)?;
    }
    Ok(!unchanged)
}

fn refresh_series(
    tx: &Transaction<'_>,
    series_pk: i64,
    study_pk: i64,
    se: &SeriesFields,
    apply: bool,
) -> Result<bool, IndexError> {
    let values = params![
        series_pk,
        se.modality,
        se.series_number,
        se.series_description,
        se.body_part_examined,
        se.performed_procedure_step_start_date,
        se.performed_procedure_step_start_time,
    ];
    let columns_unchanged: bool = tx
        .prepare_cached(
            "SELECT modality IS ?2 AND series_number IS ?3 AND series_description IS ?4
                AND body_part_examined IS ?5 AND pps_start_date IS ?6 AND pps_start_time IS ?7
             FROM series WHERE pk = ?1",
        )?
        .query_row(values, |r| r.get(0))?;
    let requests: Vec<RequestItem> = tx
        .prepare_cached(
            "SELECT requested_procedure_id, scheduled_step_id FROM series_requests
             WHERE series_pk = ?1 ORDER BY rowid",
        )?
        .query_map([series_pk], |r| {
            Ok(RequestItem {
                requested_procedure_id: r.get(0)?,
                scheduled_procedure_step_id: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let unchanged = columns_unchanged && requests == se.requests;
    if unchanged || !apply {
        return Ok(!unchanged);
    }
    tx.prepare_cached(
        "UPDATE series SET modality = ?2, series_number = ?3, series_description = ?4,
            body_part_examined = ?5, pps_start_date = ?6, pps_start_time = ?7
         WHERE pk = ?1",
    )?
    .execute(values)?;
    set_series_requests(tx, series_pk, &se.requests)?;
    // ModalitiesInStudy is the set of its series' modalities.
    let mut modalities: Vec<String> = tx
        .prepare_cached(
            "SELECT DISTINCT modality FROM series
             WHERE study_pk = ?1 AND modality IS NOT NULL AND modality != ''",
        )?
        .query_map([study_pk], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    modalities.sort_unstable();
    tx.prepare_cached("UPDATE studies SET modalities = ?1 WHERE pk = ?2")?
        .execute(params![modalities.join("\\"), study_pk])?;
    Ok(true)
}

/// The study attributes by keyword, as indexed and as read now.
fn study_columns(s: &StudyFields) -> [(&'static str, &Option<String>); 10] {
    [
        ("PatientID", &s.patient_id),
        ("PatientName", &s.patient_name),
        ("PatientBirthDate", &s.patient_birth_date),
        ("PatientSex", &s.patient_sex),
        ("StudyDate", &s.study_date),
        ("StudyTime", &s.study_time),
        ("AccessionNumber", &s.accession_number),
        ("StudyID", &s.study_id),
        ("StudyDescription", &s.study_description),
        ("ReferringPhysicianName", &s.referring_physician_name),
    ]
}

fn refresh_study(
    tx: &Transaction<'_>,
    study_pk: i64,
    s: &StudyFields,
    apply: bool,
) -> Result<Vec<&'static str>, IndexError> {
    let indexed = tx
        .prepare_cached(
            "SELECT patient_id, patient_name, patient_birth_date, patient_sex, study_date,
                study_time, accession_number, study_id, study_description,
                referring_physician_name
             FROM studies WHERE pk = ?1",
        )?
        .query_row([study_pk], |r| {
            Ok(StudyFields {
                study_uid: s.study_uid.clone(),
                patient_id: r.get(0)?,
                patient_name: r.get(1)?,
                patient_birth_date: r.get(2)?,
                patient_sex: r.get(3)?,
                study_date: r.get(4)?,
                study_time: r.get(5)?,
                accession_number: r.get(6)?,
                study_id: r.get(7)?,
                study_description: r.get(8)?,
                referring_physician_name: r.get(9)?,
            })
        })?;
    let changed: Vec<&'static str> = study_columns(&indexed)
        .into_iter()
        .zip(study_columns(s))
        .filter(|((_, was), (_, now))| was != now)
        .map(|((keyword, _), _)| keyword)
        .collect();
    if changed.is_empty() || !apply {
        return Ok(changed);
    }
    set_study_fields(tx, study_pk, s)?;
    Ok(changed)
}

/// See [`super::Index::relocate`].
pub(super) fn relocate(
    tx: &Transaction<'_>,
    old_key: &str,
    n: &NewInstance,
) -> Result<bool, IndexError> {
    let pixel = serde_json::to_string(&n.pixel)
        .map_err(|e| IndexError::Database(format!("cannot encode the pixel layout: {e}")))?;
    let changed = tx
        .prepare_cached(
            "UPDATE instances SET object_key = ?4, size = ?5, transfer_syntax_uid = ?6, pixel = ?7
             WHERE sop_uid = ?1 AND sha256 = ?2 AND object_key = ?3",
        )?
        .execute(params![
            n.sop_instance_uid,
            n.sha256,
            old_key,
            n.object_key,
            n.size as i64,
            n.transfer_syntax_uid,
            pixel,
        ])?;
    Ok(changed == 1)
}
