//! What a report becomes outside the viewer: the PDF
//! (`/api/studies/{study}/report.pdf`), a FHIR DiagnosticReport
//! (`.../report/fhir`), key images as PNG, and a DICOM Encapsulated PDF
//! stored back into the study when the report is signed or amended, so
//! that any PACS the study travels to carries its report.

use std::sync::Arc;

use pacs_core::forward::now_millis;
use pacs_core::render::{ImageFormat, RenderParams};
use pacs_core::workflow::{ReadingStatus, ReportRecord, VersionBody};
use pacs_core::{Incoming, Uid};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, header};
use warp::reply::{Reply, Response};

use super::{ApiError, ApiState, principal, with_state};
use crate::access::Action;
use crate::auth::{AuthError, Principal};

/// The UID root of objects the archive makes itself (`2.25` plus a
/// random 128-bit integer, PS3.5 §B.2): no registered root is needed.
fn new_uid() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    format!("2.25.{}", u128::from_be_bytes(bytes))
}

pub fn lang(tag: &str) -> reports::Lang {
    reports::Lang::from_tag(tag)
}

fn sections(s: &pacs_core::workflow::Sections) -> reports::Sections {
    reports::Sections {
        clinical_information: s.clinical_information.clone(),
        technique: s.technique.clone(),
        comparison: s.comparison.clone(),
        findings: s.findings.clone(),
        impression: s.impression.clone(),
    }
}

/// The report as the output crate takes it, key images rendered.
/// This server's offset from UTC at `at`, in minutes: its time zone as
/// the system sets it (`TZ`, `/etc/localtime`), summer time included.
fn server_offset_minutes(at: pacs_core::forward::Millis) -> i32 {
    use chrono::{Offset, TimeZone};
    chrono::Local
        .timestamp_millis_opt(at)
        .single()
        .map_or(0, |t| t.offset().fix().local_minus_utc() / 60)
}

async fn document(state: &ApiState, r: &ReportRecord) -> Result<reports::ReportDocument, ApiError> {
    let t = &r.task;
    let mut versions = Vec::new();
    let mut language = "en".to_owned();
    for v in &r.versions {
        versions.push(match &v.body {
            VersionBody::Final {
                language: l,
                sections: s,
            } => {
                language = l.clone();
                reports::SignedVersion {
                    version: v.version,
                    kind: reports::VersionKind::Final,
                    sections: Some(sections(s)),
                    reason: None,
                    text: None,
                    signed_by: v.signed_by_name.clone(),
                    signed_at: v.signed_at,
                }
            }
            VersionBody::Addendum { reason, text } => reports::SignedVersion {
                version: v.version,
                kind: reports::VersionKind::Addendum,
                sections: None,
                reason: Some(reason.clone()),
                text: Some(text.clone()),
                signed_by: v.signed_by_name.clone(),
                signed_at: v.signed_at,
            },
        });
    }
    // A preliminary report as it was last issued, marked as such; not the
    // draft being edited since.
    if versions.is_empty()
        && t.status == ReadingStatus::Preliminary
        && let Some(d) = &r.preliminary
    {
        language = d.language.clone();
        let author = match state.store.account(&d.author).await? {
            Some(a) => a.display_name,
            None => d.author.clone(),
        };
        versions.push(reports::SignedVersion {
            version: 1,
            kind: reports::VersionKind::Preliminary,
            sections: Some(sections(&d.sections)),
            reason: None,
            text: None,
            signed_by: author,
            signed_at: d.updated_at,
        });
    }
    let Some(signed_at) = versions.last().map(|v| v.signed_at) else {
        return Err(ApiError::NotFound(
            "this study has no issued report yet".into(),
        ));
    };
    let mut key_images = Vec::new();
    for k in &r.key_images {
        match key_image_png(
            state,
            &t.study_uid,
            &k.series_uid,
            &k.sop_uid,
            k.frame,
            1024,
        )
        .await
        {
            Ok(png) => key_images.push(reports::KeyImage {
                caption: format!("{} · {}", k.sop_uid, k.frame),
                png,
            }),
            Err(error) => {
                tracing::warn!(study_uid = %t.study_uid, sop_uid = %k.sop_uid, %error, "cannot render a key image for the report");
            }
        }
    }
    Ok(reports::ReportDocument {
        patient_name: t.patient_name.clone().unwrap_or_default(),
        patient_id: t.patient_id.clone().unwrap_or_default(),
        patient_birth_date: t.patient_birth_date.clone(),
        patient_sex: t.patient_sex.clone(),
        study_uid: t.study_uid.clone(),
        accession_number: t.accession_number.clone(),
        study_date: t.study_date.clone(),
        study_time: t.study_time.clone(),
        study_description: t.study_description.clone(),
        modalities: t.modalities.clone(),
        referring_physician: t.referring_physician_name.clone(),
        site: t.site.clone(),
        institution_name: state.institution.clone(),
        language: lang(&language),
        utc_offset_minutes: state
            .utc_offset_minutes
            .unwrap_or_else(|| server_offset_minutes(signed_at)),
        versions,
        key_images,
        critical: r.critical.as_ref().map(|c| reports::CriticalFinding {
            note: c.note.clone(),
            flagged_by: c.flagged_by.clone(),
            flagged_at: c.flagged_at,
            acknowledged_by: c.acknowledged_by.clone(),
            acknowledged_at: c.acknowledged_at,
        }),
    })
}

/// A key image rendered to PNG, at most `size` pixels on its longer side.
async fn key_image_png(
    state: &ApiState,
    study: &str,
    series: &str,
    sop: &str,
    frame: u32,
    size: u32,
) -> Result<Vec<u8>, ApiError> {
    let parse = |u: &str| Uid::parse(u).map_err(|e| ApiError::BadRequest(e.to_string()));
    let instance = state
        .archive
        .instance(&parse(study)?, &parse(series)?, &parse(sop)?)
        .await
        .map_err(|e| ApiError::NotFound(e.to_string()))?;
    state
        .archive
        .rendered(
            &instance,
            frame.max(1),
            RenderParams {
                window: None,
                voi_function: None,
                viewport: Some((size, size)),
                region: None,
                format: ImageFormat::Png,
            },
        )
        .await
        .map_err(|e| ApiError::Internal(format!("cannot render the key image: {e}")))
}

async fn pdf_bytes(state: &ApiState, r: &ReportRecord) -> Result<Vec<u8>, ApiError> {
    let doc = document(state, r).await?;
    tokio::task::spawn_blocking(move || reports::pdf(&doc))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("cannot make the report's PDF: {e}")))
}

/// Stores the signed report into its study as a DICOM Encapsulated PDF.
/// A failure is logged and audited; the signature stands regardless.
pub async fn store_in_study(state: &ApiState, study: &str, who: &Principal) {
    let result = async {
        let record = super::reports::current(state, study).await?;
        let pdf = pdf_bytes(state, &record).await?;
        let doc = document(state, &record).await?;
        let ids = reports::NewUids {
            series_uid: new_uid(),
            sop_uid: new_uid(),
        };
        let bytes = reports::to_part10_bytes(
            &reports::encapsulated_pdf(&doc, &pdf, &ids, now_millis())
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        state
            .ingest
            .ingest(
                Incoming::Part10(bytes.into()),
                &format!("report:{}", who.actor()),
                None,
            )
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok::<String, ApiError>(ids.sop_uid)
    }
    .await;
    match result {
        Ok(sop) => {
            state
                .auth
                .audit(
                    Some(who),
                    "export",
                    Some(study),
                    Some(format!("report stored in the study as DICOM {sop}")),
                    "ok",
                )
                .await
        }
        Err(error) => {
            tracing::error!(study_uid = study, %error, "cannot store the signed report in its study");
            state
                .auth
                .audit(
                    Some(who),
                    "export",
                    Some(study),
                    Some(error.to_string()),
                    "failed",
                )
                .await
        }
    }
}

async fn pdf(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
) -> Result<Response, ApiError> {
    let who = state
        .caller_on(who, Action::ReadReport, &study, "export")
        .await?;
    let record = super::reports::current(&state, &study).await?;
    let bytes = pdf_bytes(&state, &record).await?;
    state
        .auth
        .audit(
            Some(&who),
            "export",
            Some(&study),
            Some("report PDF".into()),
            "ok",
        )
        .await;
    let mut response = Response::new(bytes.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"report-{study}.pdf\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn fhir(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
) -> Result<Response, ApiError> {
    let who = state
        .caller_on(who, Action::ReadReport, &study, "export")
        .await?;
    let record = super::reports::current(&state, &study).await?;
    let pdf = pdf_bytes(&state, &record).await?;
    let doc = document(&state, &record).await?;
    let resource = reports::fhir_diagnostic_report(&doc, None, Some(&pdf))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .auth
        .audit(
            Some(&who),
            "export",
            Some(&study),
            Some("FHIR DiagnosticReport".into()),
            "ok",
        )
        .await;
    let mut response = warp::reply::json(&resource).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    Ok(response)
}

async fn key_image(
    state: Arc<ApiState>,
    who: Result<Principal, AuthError>,
    study: String,
    sop: String,
    frame: String,
) -> Result<Response, ApiError> {
    let who = state
        .caller_on(who, Action::ReadReport, &study, "study_view")
        .await?;
    let frame: u32 = frame
        .strip_suffix(".png")
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| ApiError::NotFound("key images are at .../{sop}/{frame}.png".into()))?;
    let record = super::reports::current(&state, &study).await?;
    let key = super::reports::shown_key_images(who.role, &record)
        .iter()
        .find(|k| k.sop_uid == sop && k.frame == frame)
        .ok_or_else(|| ApiError::NotFound("that image is not a key image of this report".into()))?;
    let png = key_image_png(&state, &study, &key.series_uid, &sop, frame, 512).await?;
    // The study's pixels, seen outside the viewer: a view like any other.
    state
        .auth
        .audit(
            Some(&who),
            "study_view",
            Some(&study),
            Some(format!("key image {sop} frame {frame}")),
            "ok",
        )
        .await;
    let mut response = Response::new(png.into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(response)
}

fn done(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(ApiError::into_response)
}

pub fn routes(state: Arc<ApiState>) -> BoxedFilter<(Response,)> {
    let who = principal(state.auth.clone());
    let pdf = warp::path!("api" / "studies" / String / "report.pdf")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .then(|study, s, w| async move { done(pdf(s, w, study).await) });
    let fhir = warp::path!("api" / "studies" / String / "report" / "fhir")
        .and(crate::http::get())
        .and(with_state(state.clone()))
        .and(who.clone())
        .then(|study, s, w| async move { done(fhir(s, w, study).await) });
    let key = warp::path!("api" / "studies" / String / "key-images" / String / String)
        .and(crate::http::get())
        .and(with_state(state))
        .and(who)
        .then(
            |study, sop, frame, s, w| async move { done(key_image(s, w, study, sop, frame).await) },
        );
    pdf.or(fhir).unify().or(key).unify().boxed()
}
