//! Projection radiography: DX (For Presentation) and CR chest images.

use dicom_core::VR;
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileDicomObject, InMemDicomObject};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, StandardNormal};

use crate::date::Date;
use crate::error::SamplesError;
use crate::modules::{
    Equipment, PutExt, SeriesAttrs, StudyInfo, into_file, put_common, put_pixel_words,
};
use crate::patient::Patient;
use crate::uid::{derive_seed, hash_bytes, is_valid_uid, uid_for};
pub use crate::xray_phantom::ChestRegion;
use crate::xray_phantom::{NOMINAL_HEIGHT_MM, NOMINAL_WIDTH_MM, chest_attenuation};

/// Source to detector distance written to the images, in mm.
pub const SOURCE_TO_DETECTOR_MM: f64 = 1800.0;
/// Source to patient distance written to the images, in mm.
pub const SOURCE_TO_PATIENT_MM: f64 = 1650.0;

/// The radiography modality and its storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum XrayKind {
    /// Digital X-Ray Image Storage – For Presentation, MONOCHROME2.
    #[default]
    Dx,
    /// Computed Radiography Image Storage, MONOCHROME1 (bright = low value).
    Cr,
}

impl XrayKind {
    /// The Modality attribute.
    pub fn modality(self) -> &'static str {
        match self {
            XrayKind::Dx => "DX",
            XrayKind::Cr => "CR",
        }
    }

    /// The SOP Class UID.
    pub fn sop_class_uid(self) -> &'static str {
        match self {
            XrayKind::Dx => uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
            XrayKind::Cr => uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE,
        }
    }

    /// The Photometric Interpretation.
    pub fn photometric_interpretation(self) -> &'static str {
        match self {
            XrayKind::Dx => "MONOCHROME2",
            XrayKind::Cr => "MONOCHROME1",
        }
    }
}

/// Everything needed to generate one chest radiograph, deterministically.
#[derive(Debug, Clone, PartialEq)]
pub struct XraySpec {
    /// DX or CR.
    pub kind: XrayKind,
    /// The patient imaged.
    pub patient: Patient,
    /// Study-level attributes.
    pub study: StudyInfo,
    /// Series Instance UID.
    pub series_uid: String,
    /// Series Number.
    pub series_number: u32,
    /// Series Description.
    pub series_description: String,
    /// Rows (detector height direction).
    pub rows: u16,
    /// Columns (detector width direction).
    pub cols: u16,
    /// Imager Pixel Spacing in mm (also written as Pixel Spacing).
    pub pixel_spacing_mm: f64,
    /// Bits Stored, 10–16 (Bits Allocated is always 16).
    pub bits_stored: u16,
    /// Standard deviation of the Gaussian noise, in stored units at 12 bits.
    pub noise_sigma: f64,
    /// Tube voltage.
    pub kvp: f64,
    /// Exposure in mAs.
    pub exposure_mas: u32,
    /// View Position, e.g. `PA`.
    pub view_position: String,
    /// Device description.
    pub equipment: Equipment,
    /// Seed for the noise.
    pub seed: u64,
}

impl XraySpec {
    /// A 2500 × 2048 PA chest at 0.17 mm (a 43 × 35 cm detector).
    ///
    /// UIDs derive from `seed` and the kind, so DX and CR specs with the
    /// same seed are different studies.
    pub fn chest(kind: XrayKind, patient: Patient, seed: u64) -> XraySpec {
        let ns = derive_seed(seed, kind.modality(), 0);
        let date = Date {
            year: 2025,
            month: 1,
            day: 20,
        };
        XraySpec {
            kind,
            study: StudyInfo::generated(ns, date, "XR CHEST PA"),
            patient,
            series_uid: uid_for(ns, "series", 1),
            series_number: 1,
            series_description: "Chest PA".into(),
            rows: 2500,
            cols: 2048,
            pixel_spacing_mm: 0.17,
            bits_stored: 12,
            noise_sigma: 12.0,
            kvp: 120.0,
            exposure_mas: 3,
            view_position: "PA".into(),
            equipment: Equipment::district_xray(),
            seed,
        }
    }

    /// Change the matrix, keeping the detector size (pixel spacing scales).
    pub fn with_matrix(mut self, rows: u16, cols: u16) -> XraySpec {
        let width = self.pixel_spacing_mm * f64::from(self.cols.max(1));
        self.rows = rows;
        self.cols = cols;
        self.pixel_spacing_mm = width / f64::from(cols.max(1));
        self
    }

    /// Reject specs that would produce invalid objects.
    pub fn validate(&self) -> Result<(), SamplesError> {
        self.patient.validate()?;
        self.study.validate(self.patient.charset)?;
        let bad = |m: String| Err(SamplesError::InvalidSpec(m));
        if self.rows < 16 || self.cols < 16 {
            return bad(format!(
                "matrix {}x{} must be at least 16x16",
                self.rows, self.cols
            ));
        }
        if !(10..=16).contains(&self.bits_stored) {
            return bad(format!("bits stored {} must be 10..=16", self.bits_stored));
        }
        if !(self.pixel_spacing_mm.is_finite() && self.pixel_spacing_mm > 0.0) {
            return bad(format!(
                "pixel spacing {} must be positive",
                self.pixel_spacing_mm
            ));
        }
        if !(self.noise_sigma.is_finite() && self.noise_sigma >= 0.0) {
            return bad(format!("noise sigma {} must be ≥ 0", self.noise_sigma));
        }
        if !is_valid_uid(&self.series_uid) {
            return bad(format!(
                "series UID {:?} is not a valid UID",
                self.series_uid
            ));
        }
        if self.view_position.len() > 16 || !self.view_position.is_ascii() {
            return bad(format!(
                "view position {:?} is not a CS value",
                self.view_position
            ));
        }
        Ok(())
    }

    /// SOP Instance UID of the image.
    pub fn sop_instance_uid(&self) -> String {
        uid_for(hash_bytes(self.series_uid.as_bytes()), "xray-sop", 0)
    }

    /// Largest stored value.
    pub fn max_value(&self) -> u16 {
        ((1u32 << self.bits_stored) - 1) as u16
    }
}

impl Default for XraySpec {
    fn default() -> Self {
        XraySpec::chest(XrayKind::Dx, Patient::default(), 1)
    }
}

/// Nominal phantom position (mm) of the centre of pixel `(row, col)`.
fn nominal_position(spec: &XraySpec, row: u16, col: u16) -> (f64, f64) {
    let x = ((f64::from(col) + 0.5) / f64::from(spec.cols) - 0.5) * NOMINAL_WIDTH_MM;
    let y = (f64::from(row) + 0.5) / f64::from(spec.rows) * NOMINAL_HEIGHT_MM;
    (x, y)
}

/// The anatomical region under pixel `(row, col)`, for tests.
pub fn xray_region(spec: &XraySpec, row: u16, col: u16) -> ChestRegion {
    let (x, y) = nominal_position(spec, row, col);
    chest_attenuation(x, y).1
}

/// The stored pixel values, row by row, as they appear in Pixel Data.
///
/// DX (MONOCHROME2) stores high values for dense structures; CR
/// (MONOCHROME1) stores the inverse, so both display alike.
pub fn xray_pixels(spec: &XraySpec) -> Vec<u16> {
    let scale = f64::from(spec.max_value()) / 4095.0;
    let max = f64::from(spec.max_value());
    let mut rng = SmallRng::seed_from_u64(derive_seed(spec.seed, "xray-noise", 0));
    let mut out = Vec::with_capacity(usize::from(spec.rows) * usize::from(spec.cols));
    for r in 0..spec.rows {
        for c in 0..spec.cols {
            let (x, y) = nominal_position(spec, r, c);
            let (a, _) = chest_attenuation(x, y);
            let n: f64 = StandardNormal.sample(&mut rng);
            let v = ((100.0 + 1900.0 * a + spec.noise_sigma * n) * scale)
                .round()
                .clamp(0.0, max);
            out.push(match spec.kind {
                XrayKind::Dx => v as u16,
                XrayKind::Cr => (max - v) as u16,
            });
        }
    }
    out
}

/// Window centre and width covering the 2nd to 98th percentile of the
/// stored values: what a modality's auto-windowing would pick.
pub fn window_from_data(pixels: &[u16]) -> (f64, f64) {
    let mut hist = vec![0usize; 65536];
    for p in pixels {
        hist[usize::from(*p)] += 1;
    }
    let percentile = |q: f64| {
        let target = (q * pixels.len() as f64) as usize;
        let mut acc = 0;
        for (v, n) in hist.iter().enumerate() {
            acc += n;
            if acc > target {
                return v as f64;
            }
        }
        65535.0
    };
    let (lo, hi) = (percentile(0.02), percentile(0.98));
    ((lo + hi) / 2.0, (hi - lo).max(1.0) + 1.0)
}

/// Build the complete radiograph, with Explicit VR Little Endian in its meta group.
pub fn xray_image(spec: &XraySpec) -> Result<FileDicomObject<InMemDicomObject>, SamplesError> {
    spec.validate()?;
    let sop_uid = spec.sop_instance_uid();
    let kind = spec.kind;
    let mut obj = InMemDicomObject::new_empty();
    put_common(
        &mut obj,
        &spec.patient,
        &spec.study,
        &SeriesAttrs {
            modality: kind.modality(),
            series_uid: &spec.series_uid,
            series_number: spec.series_number,
            description: &spec.series_description,
            body_part: "CHEST",
        },
        &spec.equipment,
        kind.sop_class_uid(),
        &sop_uid,
    );
    obj.texts(tags::IMAGE_TYPE, VR::CS, &["ORIGINAL", "PRIMARY"]);
    obj.is(tags::INSTANCE_NUMBER, 1);
    obj.is(tags::ACQUISITION_NUMBER, 1);
    obj.texts(tags::PATIENT_ORIENTATION, VR::CS, &["L", "F"]);
    obj.text(tags::VIEW_POSITION, VR::CS, &spec.view_position);
    obj.text(tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
    obj.text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    obj.ds(tags::KVP, &[spec.kvp]);
    obj.is(tags::EXPOSURE, i64::from(spec.exposure_mas));
    obj.is(tags::EXPOSURE_TIME, 12);
    obj.is(tags::X_RAY_TUBE_CURRENT, 250);
    obj.ds(tags::DISTANCE_SOURCE_TO_DETECTOR, &[SOURCE_TO_DETECTOR_MM]);
    obj.ds(tags::DISTANCE_SOURCE_TO_PATIENT, &[SOURCE_TO_PATIENT_MM]);
    let ps = spec.pixel_spacing_mm;
    obj.ds(tags::IMAGER_PIXEL_SPACING, &[ps, ps]);
    if kind == XrayKind::Dx {
        // DX: Pixel Spacing is corrected for the geometric magnification.
        let magnification = SOURCE_TO_DETECTOR_MM / SOURCE_TO_PATIENT_MM;
        let corrected = ps / magnification;
        obj.ds(
            tags::ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR,
            &[magnification],
        );
        obj.ds(tags::PIXEL_SPACING, &[corrected, corrected]);
        obj.text(tags::PIXEL_SPACING_CALIBRATION_TYPE, VR::CS, "GEOMETRY");
        obj.text(
            tags::PIXEL_SPACING_CALIBRATION_DESCRIPTION,
            VR::LO,
            "Corrected for geometric magnification",
        );
    } else {
        // CR: uncorrected, at the plate.
        obj.ds(tags::PIXEL_SPACING, &[ps, ps]);
    }
    if kind == XrayKind::Dx {
        obj.text(tags::POSITIONER_TYPE, VR::CS, "COLUMN");
        let mut view = InMemDicomObject::new_empty();
        view.text(tags::CODE_VALUE, VR::SH, "399348003");
        view.text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "SCT");
        view.text(tags::CODE_MEANING, VR::LO, "postero-anterior");
        obj.seq(tags::VIEW_CODE_SEQUENCE, vec![view]);
        obj.text(tags::PRESENTATION_INTENT_TYPE, VR::CS, "FOR PRESENTATION");
        obj.text(tags::IMAGE_LATERALITY, VR::CS, "U");
        obj.text(tags::DETECTOR_TYPE, VR::CS, "SCINTILLATOR");
        obj.text(tags::PIXEL_INTENSITY_RELATIONSHIP, VR::CS, "LOG");
        obj.put(dicom_core::DataElement::new(
            tags::PIXEL_INTENSITY_RELATIONSHIP_SIGN,
            VR::SS,
            dicom_core::PrimitiveValue::from(1_i16),
        ));
        obj.ds(tags::RESCALE_INTERCEPT, &[0.0]);
        obj.ds(tags::RESCALE_SLOPE, &[1.0]);
        obj.text(tags::RESCALE_TYPE, VR::LO, "US");
        obj.text(tags::PRESENTATION_LUT_SHAPE, VR::CS, "IDENTITY");
        obj.seq(tags::ACQUISITION_CONTEXT_SEQUENCE, Vec::new());
    }
    let mut region = InMemDicomObject::new_empty();
    region.text(tags::CODE_VALUE, VR::SH, "51185008");
    region.text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "SCT");
    region.text(tags::CODE_MEANING, VR::LO, "Chest");
    obj.seq(tags::ANATOMIC_REGION_SEQUENCE, vec![region]);
    // Image Pixel
    obj.us(tags::SAMPLES_PER_PIXEL, 1);
    obj.text(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        kind.photometric_interpretation(),
    );
    obj.us(tags::ROWS, spec.rows);
    obj.us(tags::COLUMNS, spec.cols);
    obj.us(tags::BITS_ALLOCATED, 16);
    obj.us(tags::BITS_STORED, spec.bits_stored);
    obj.us(tags::HIGH_BIT, spec.bits_stored - 1);
    obj.us(tags::PIXEL_REPRESENTATION, 0);
    let pixels = xray_pixels(spec);
    let (center, width) = window_from_data(&pixels);
    obj.ds(tags::WINDOW_CENTER, &[center]);
    obj.ds(tags::WINDOW_WIDTH, &[width]);
    obj.texts(
        tags::WINDOW_CENTER_WIDTH_EXPLANATION,
        VR::LO,
        &["FROM DATA"],
    );
    put_pixel_words(&mut obj, pixels);
    into_file(obj, kind.sop_class_uid(), &sop_uid)
}
