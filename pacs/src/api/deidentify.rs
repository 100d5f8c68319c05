//! A de-identified copy of a study for a second opinion (PS3.15 Annex E,
//! Basic Application Level Confidentiality Profile, see
//! [`pacs_core::deid`]): every instance is copied into a new study whose
//! UIDs, names and identifiers are pseudonyms, stored like any other
//! study of the original's site. The original is not touched.

use pacs_core::deid::{DeidConfig, deidentify};
use pacs_core::{Incoming, Uid};
use serde_json::json;
use warp::Reply;
use warp::reply::Response;

use super::{ApiError, ApiState};
use crate::auth::Principal;

fn copy_one(bytes: &[u8], config: &DeidConfig) -> Result<(Vec<u8>, String, bool), String> {
    let object = dicom_object::OpenFileOptions::new()
        .from_reader(bytes)
        .map_err(|e| format!("cannot read a stored instance: {e}"))?;
    let out = deidentify(&object, config).map_err(|e| e.to_string())?;
    let mut written = Vec::with_capacity(bytes.len());
    out.object
        .write_all(&mut written)
        .map_err(|e| format!("cannot write the de-identified instance: {e}"))?;
    Ok((written, out.study_uid, out.burned_in_annotation))
}

pub async fn copy(state: &ApiState, who: &Principal, study: &str) -> Result<Response, ApiError> {
    let config = state
        .deid
        .clone()
        .ok_or_else(|| ApiError::Internal("de-identification has no secret configured".into()))?;
    let uid = Uid::parse(study).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let instances = state
        .archive
        .instances(&uid, None, None)
        .await
        .map_err(|e| ApiError::NotFound(e.to_string()))?;
    // The copy belongs to the original's site, so whoever reads that
    // site's studies can read the copy made for a second opinion; it is
    // not an arrival from the site (not forwarded, not at its priority).
    let site = state
        .store
        .task(study, pacs_core::forward::now_millis())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .and_then(|task| task.site);
    let mut new_study = None;
    let mut burned_in = 0usize;
    let mut copied = 0usize;
    for instance in &instances {
        let bytes = state
            .archive
            .object(instance)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let config = config.clone();
        let (written, study_uid, burned) =
            tokio::task::spawn_blocking(move || copy_one(&bytes, &config))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .map_err(ApiError::Internal)?;
        state
            .ingest
            .ingest(
                Incoming::Part10(written.into()),
                &format!("deidentify:{}", who.actor()),
                None,
            )
            .await
            .map_err(|e| ApiError::Internal(format!("cannot store the de-identified copy: {e}")))?;
        burned_in += usize::from(burned);
        copied += 1;
        new_study = Some(study_uid);
    }
    let new_study = new_study.unwrap_or_default();
    if let Some(site) = &site
        && !new_study.is_empty()
    {
        state
            .store
            .attach_site(&new_study, site)
            .await
            .map_err(|e| ApiError::Internal(format!("cannot give the copy its site: {e}")))?;
    }
    state
        .auth
        .audit(
            Some(who),
            "share",
            Some(study),
            Some(format!(
                "de-identified copy {new_study}: {copied} instances, {burned_in} with burned-in annotation"
            )),
            "ok",
        )
        .await;
    Ok(warp::reply::json(&json!({
        "study_uid": new_study,
        "instances": copied,
        "burned_in_annotation": burned_in,
    }))
    .into_response())
}
