//! What the index keeps of an instance's header: its study's and
//! series' attributes, matched and returned by searches without opening
//! an instance, and what decoding and rendering its frames needs.

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::index::{RequestItem, SeriesFields, StudyFields};
use crate::parse::{float_values, int_value, text_value};
use crate::render::ImageHeader;

pub(super) fn study_fields(h: &InMemDicomObject, study_uid: &str) -> StudyFields {
    StudyFields {
        study_uid: study_uid.to_owned(),
        patient_id: text_value(h, tags::PATIENT_ID),
        patient_name: text_value(h, tags::PATIENT_NAME),
        patient_birth_date: text_value(h, tags::PATIENT_BIRTH_DATE),
        patient_sex: text_value(h, tags::PATIENT_SEX),
        study_date: text_value(h, tags::STUDY_DATE),
        study_time: text_value(h, tags::STUDY_TIME),
        accession_number: text_value(h, tags::ACCESSION_NUMBER),
        study_id: text_value(h, tags::STUDY_ID),
        study_description: text_value(h, tags::STUDY_DESCRIPTION),
        referring_physician_name: text_value(h, tags::REFERRING_PHYSICIAN_NAME),
    }
}

pub(super) fn series_fields(h: &InMemDicomObject, series_uid: &str) -> SeriesFields {
    SeriesFields {
        series_uid: series_uid.to_owned(),
        modality: text_value(h, tags::MODALITY),
        series_number: int_value(h, tags::SERIES_NUMBER),
        series_description: text_value(h, tags::SERIES_DESCRIPTION),
        body_part_examined: text_value(h, tags::BODY_PART_EXAMINED),
        performed_procedure_step_start_date: text_value(
            h,
            tags::PERFORMED_PROCEDURE_STEP_START_DATE,
        ),
        performed_procedure_step_start_time: text_value(
            h,
            tags::PERFORMED_PROCEDURE_STEP_START_TIME,
        ),
        requests: request_items(h),
    }
}

/// The items of the Request Attributes Sequence that name a requested
/// procedure or a scheduled step: the orders the series was acquired for
/// (several where one acquisition answered several orders).
fn request_items(h: &InMemDicomObject) -> Vec<RequestItem> {
    let Some(items) = h
        .get(tags::REQUEST_ATTRIBUTES_SEQUENCE)
        .and_then(|e| e.items())
    else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| RequestItem {
            requested_procedure_id: text_value(item, tags::REQUESTED_PROCEDURE_ID),
            scheduled_procedure_step_id: text_value(item, tags::SCHEDULED_PROCEDURE_STEP_ID),
        })
        .filter(|r| r.requested_procedure_id.is_some() || r.scheduled_procedure_step_id.is_some())
        .collect()
}

/// Image attributes, when the instance is an image.
pub fn image_attributes(h: &InMemDicomObject, transfer_syntax_uid: &str) -> Option<ImageHeader> {
    let rows = int_value(h, tags::ROWS)?;
    let columns = int_value(h, tags::COLUMNS)?;
    let bits_allocated = int_value(h, tags::BITS_ALLOCATED).unwrap_or(16);
    let u16_of = |v: i64| u16::try_from(v).unwrap_or(0);
    let photometric_interpretation =
        text_value(h, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| "MONOCHROME2".into());
    let palette = if photometric_interpretation == "PALETTE COLOR" {
        crate::render::palette::from_header(h)
            .inspect_err(|e| tracing::warn!(error = %e, "palette colour image cannot be rendered"))
            .ok()
    } else {
        None
    };
    Some(ImageHeader {
        transfer_syntax_uid: transfer_syntax_uid.to_owned(),
        rows: u16_of(rows),
        columns: u16_of(columns),
        samples_per_pixel: u16_of(int_value(h, tags::SAMPLES_PER_PIXEL).unwrap_or(1)),
        bits_allocated: u16_of(bits_allocated),
        bits_stored: u16_of(int_value(h, tags::BITS_STORED).unwrap_or(bits_allocated)),
        high_bit: u16_of(int_value(h, tags::HIGH_BIT).unwrap_or(bits_allocated - 1)),
        pixel_representation: u16_of(int_value(h, tags::PIXEL_REPRESENTATION).unwrap_or(0)),
        photometric_interpretation,
        planar_configuration: u16_of(int_value(h, tags::PLANAR_CONFIGURATION).unwrap_or(0)),
        number_of_frames: int_value(h, tags::NUMBER_OF_FRAMES)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1)
            .max(1),
        rescale_slope: float_values(h, tags::RESCALE_SLOPE)
            .first()
            .copied()
            .unwrap_or(1.0),
        rescale_intercept: float_values(h, tags::RESCALE_INTERCEPT)
            .first()
            .copied()
            .unwrap_or(0.0),
        window_centers: float_values(h, tags::WINDOW_CENTER),
        window_widths: float_values(h, tags::WINDOW_WIDTH),
        voi_lut_function: text_value(h, tags::VOILUT_FUNCTION),
        palette,
    })
}
