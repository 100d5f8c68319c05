//! Attributes shared by every generated image: the Patient, General Study,
//! General Series, General Equipment and SOP Common modules, and the file
//! meta group.

use dicom_core::value::{C, DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, InMemDicomObject};

use crate::date::Date;
use crate::error::SamplesError;
use crate::patient::{CharacterSet, Patient};
use crate::uid::{derive_seed, uid_for};
use crate::write::SampleTransferSyntax;

/// Implementation Class UID written in the file meta group of every sample.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.148522108340296498218632451187553627714";
/// Implementation Version Name written in the file meta group (≤ 16 chars).
pub const IMPLEMENTATION_VERSION_NAME: &str = "PACS_SAMPLES_01";

/// Study-level attributes (General Study module) shared by all series of a study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyInfo {
    /// Study Instance UID.
    pub study_uid: String,
    /// Accession Number (SH, ≤ 16 characters).
    pub accession_number: String,
    /// Study ID (SH, ≤ 16 characters).
    pub study_id: String,
    /// Study Date.
    pub date: Date,
    /// Study Time as `HHMMSS`.
    pub time: String,
    /// Study Description.
    pub description: String,
    /// Referring Physician's Name (PN); must fit the patient's character set.
    pub referring_physician: String,
}

impl StudyInfo {
    /// Study attributes derived deterministically from `seed`.
    pub fn generated(seed: u64, date: Date, description: impl Into<String>) -> StudyInfo {
        let h = derive_seed(seed, "study-info", 0);
        let hour = 8 + (h % 10);
        let minute = (h >> 8) % 60;
        let second = (h >> 16) % 60;
        StudyInfo {
            study_uid: uid_for(seed, "study", 0),
            accession_number: format!("A{:09}", (h >> 20) % 1_000_000_000),
            study_id: format!("{}", 1 + (h >> 40) % 9999),
            date,
            time: format!("{hour:02}{minute:02}{second:02}"),
            description: description.into(),
            referring_physician: "Yusupov^Akmal".to_string(),
        }
    }

    pub(crate) fn validate(&self, charset: CharacterSet) -> Result<(), SamplesError> {
        if !crate::uid::is_valid_uid(&self.study_uid) {
            return Err(SamplesError::InvalidSpec(format!(
                "Study Instance UID {:?} is not a valid UID",
                self.study_uid
            )));
        }
        for (what, v) in [
            ("Accession Number", &self.accession_number),
            ("Study ID", &self.study_id),
        ] {
            if v.len() > 16 || !v.is_ascii() {
                return Err(SamplesError::InvalidSpec(format!(
                    "{what} {v:?} must be at most 16 ASCII characters"
                )));
            }
        }
        let time_ok = self.time.len() == 6 && self.time.bytes().all(|b| b.is_ascii_digit());
        if !time_ok {
            return Err(SamplesError::InvalidSpec(format!(
                "Study Time {:?} must be HHMMSS",
                self.time
            )));
        }
        for text in [&self.referring_physician, &self.description] {
            if charset.encode(text).is_none() {
                return Err(SamplesError::Unencodable {
                    name: text.clone(),
                    charset: charset.defined_term().unwrap_or("ISO_IR 6"),
                });
            }
        }
        Ok(())
    }
}

/// The device that "acquired" the images (General Equipment module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equipment {
    /// Manufacturer.
    pub manufacturer: String,
    /// Manufacturer's Model Name.
    pub model: String,
    /// Station Name.
    pub station: String,
    /// Institution Name.
    pub institution: String,
    /// Device Serial Number.
    pub serial_number: String,
    /// Software Versions.
    pub software_version: String,
}

impl Equipment {
    /// A CT scanner at a district hospital.
    pub fn district_ct() -> Equipment {
        Equipment {
            manufacturer: "SyntheticMed".into(),
            model: "Phantom CT 64".into(),
            station: "CT01".into(),
            institution: "Nukus District Hospital".into(),
            serial_number: "CT-0042".into(),
            software_version: "samples 1.0".into(),
        }
    }

    /// A radiography room at a district hospital.
    pub fn district_xray() -> Equipment {
        Equipment {
            manufacturer: "SyntheticMed".into(),
            model: "Phantom DR 43".into(),
            station: "XR01".into(),
            institution: "Nukus District Hospital".into(),
            serial_number: "XR-0017".into(),
            software_version: "samples 1.0".into(),
        }
    }
}

/// Series-level attributes written by every generator.
pub(crate) struct SeriesAttrs<'a> {
    pub modality: &'a str,
    pub series_uid: &'a str,
    pub series_number: u32,
    pub description: &'a str,
    pub body_part: &'a str,
}

/// Small helpers so the generators read like attribute tables.
pub(crate) trait PutExt {
    fn text(&mut self, tag: Tag, vr: VR, value: &str);
    fn texts(&mut self, tag: Tag, vr: VR, values: &[&str]);
    fn us(&mut self, tag: Tag, value: u16);
    fn ds(&mut self, tag: Tag, values: &[f64]);
    fn is(&mut self, tag: Tag, value: i64);
    fn fd(&mut self, tag: Tag, value: f64);
    fn seq(&mut self, tag: Tag, items: Vec<InMemDicomObject>);
}

impl PutExt for InMemDicomObject {
    fn text(&mut self, tag: Tag, vr: VR, value: &str) {
        self.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }

    fn texts(&mut self, tag: Tag, vr: VR, values: &[&str]) {
        let v: C<String> = values.iter().map(|s| (*s).to_string()).collect();
        self.put(DataElement::new(tag, vr, PrimitiveValue::Strs(v)));
    }

    fn us(&mut self, tag: Tag, value: u16) {
        self.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
    }

    fn ds(&mut self, tag: Tag, values: &[f64]) {
        let v: C<String> = values.iter().map(|x| format_ds(*x)).collect();
        self.put(DataElement::new(tag, VR::DS, PrimitiveValue::Strs(v)));
    }

    fn is(&mut self, tag: Tag, value: i64) {
        self.put(DataElement::new(
            tag,
            VR::IS,
            PrimitiveValue::from(value.to_string()),
        ));
    }

    fn fd(&mut self, tag: Tag, value: f64) {
        self.put(DataElement::new(tag, VR::FD, PrimitiveValue::from(value)));
    }

    fn seq(&mut self, tag: Tag, items: Vec<InMemDicomObject>) {
        self.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
    }
}

/// Render a decimal string (DS) that fits in 16 characters.
pub fn format_ds(x: f64) -> String {
    let x = if x == 0.0 { 0.0 } else { x }; // no "-0"
    for decimals in (0..=6).rev() {
        let mut s = format!("{x:.decimals$}");
        if s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        if s == "-0" {
            s = "0".into();
        }
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{x:.6e}")
}

/// Write the Patient, General Study, General Series, General Equipment and
/// SOP Common attributes.
pub(crate) fn put_common(
    obj: &mut InMemDicomObject,
    patient: &Patient,
    study: &StudyInfo,
    series: &SeriesAttrs<'_>,
    equipment: &Equipment,
    sop_class_uid: &str,
    sop_instance_uid: &str,
) {
    if let Some(term) = patient.charset.defined_term() {
        obj.text(tags::SPECIFIC_CHARACTER_SET, VR::CS, term);
    }
    let date = study.date.to_dicom();
    obj.text(tags::SOP_CLASS_UID, VR::UI, sop_class_uid);
    obj.text(tags::SOP_INSTANCE_UID, VR::UI, sop_instance_uid);
    obj.text(tags::INSTANCE_CREATION_DATE, VR::DA, &date);
    obj.text(tags::INSTANCE_CREATION_TIME, VR::TM, &study.time);
    // Patient
    obj.text(tags::PATIENT_NAME, VR::PN, &patient.name);
    obj.text(tags::PATIENT_ID, VR::LO, &patient.id);
    obj.text(tags::ISSUER_OF_PATIENT_ID, VR::LO, "NUKUS-DH");
    obj.text(
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        &patient.birth_date.to_dicom(),
    );
    obj.text(tags::PATIENT_SEX, VR::CS, patient.sex.code());
    obj.text(tags::PATIENT_AGE, VR::AS, &patient.age_string(study.date));
    // General Study
    obj.text(tags::STUDY_INSTANCE_UID, VR::UI, &study.study_uid);
    obj.text(tags::STUDY_DATE, VR::DA, &date);
    obj.text(tags::STUDY_TIME, VR::TM, &study.time);
    obj.text(tags::ACCESSION_NUMBER, VR::SH, &study.accession_number);
    obj.text(
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        &study.referring_physician,
    );
    obj.text(tags::STUDY_ID, VR::SH, &study.study_id);
    obj.text(tags::STUDY_DESCRIPTION, VR::LO, &study.description);
    // General Series
    obj.text(tags::MODALITY, VR::CS, series.modality);
    obj.text(tags::SERIES_INSTANCE_UID, VR::UI, series.series_uid);
    obj.is(tags::SERIES_NUMBER, i64::from(series.series_number));
    obj.text(tags::SERIES_DESCRIPTION, VR::LO, series.description);
    obj.text(tags::SERIES_DATE, VR::DA, &date);
    obj.text(tags::SERIES_TIME, VR::TM, &study.time);
    obj.text(tags::BODY_PART_EXAMINED, VR::CS, series.body_part);
    // General Equipment
    obj.text(tags::MANUFACTURER, VR::LO, &equipment.manufacturer);
    obj.text(tags::INSTITUTION_NAME, VR::LO, &equipment.institution);
    obj.text(tags::STATION_NAME, VR::SH, &equipment.station);
    obj.text(tags::MANUFACTURER_MODEL_NAME, VR::LO, &equipment.model);
    obj.text(tags::DEVICE_SERIAL_NUMBER, VR::LO, &equipment.serial_number);
    obj.text(tags::SOFTWARE_VERSIONS, VR::LO, &equipment.software_version);
    // General Image / Acquisition timing
    obj.text(tags::CONTENT_DATE, VR::DA, &date);
    obj.text(tags::CONTENT_TIME, VR::TM, &study.time);
    obj.text(tags::ACQUISITION_DATE, VR::DA, &date);
    obj.text(tags::ACQUISITION_TIME, VR::TM, &study.time);
}

/// Put 16-bit pixel words as Pixel Data (OW), so that every transfer syntax
/// (including big endian) writes them in its own byte order.
pub(crate) fn put_pixel_words(obj: &mut InMemDicomObject, words: Vec<u16>) {
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(C::from_vec(words)),
    ));
}

/// Wrap a data set with a file meta group (Explicit VR Little Endian).
pub(crate) fn into_file(
    obj: InMemDicomObject,
    sop_class_uid: &str,
    sop_instance_uid: &str,
) -> Result<FileDicomObject<InMemDicomObject>, SamplesError> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(SampleTransferSyntax::default().uid())
        .media_storage_sop_class_uid(sop_class_uid)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    obj.with_meta(meta)
        .map_err(|e| SamplesError::Meta(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_fits() {
        assert_eq!(format_ds(0.703125), "0.703125");
        assert_eq!(format_ds(-179.6484375), "-179.648438");
        assert_eq!(format_ds(-0.0), "0");
        assert_eq!(format_ds(1.25), "1.25");
        assert_eq!(format_ds(-1024.0), "-1024");
        assert!(format_ds(1.0 / 3.0 * 1e9).len() <= 16);
        assert!(crate::uid::is_valid_uid(IMPLEMENTATION_CLASS_UID));
    }
}
