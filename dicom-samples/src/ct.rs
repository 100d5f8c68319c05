//! CT Image Storage series: one single-frame instance per axial slice.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileDicomObject, InMemDicomObject};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, StandardNormal};

pub use crate::ct_phantom::CtRegion;
use crate::ct_phantom::SliceModel;
use crate::date::Date;
use crate::error::SamplesError;
use crate::modules::{
    Equipment, PutExt, SeriesAttrs, StudyInfo, into_file, put_common, put_pixel_words,
};
use crate::patient::Patient;
use crate::uid::{derive_seed, hash_bytes, is_valid_uid, uid_for};

/// Field of view the default 512 matrix covers, in millimetres.
pub const DEFAULT_FOV_MM: f64 = 360.0;

/// How CT pixel values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CtPixelEncoding {
    /// Unsigned, HU + 1024, Rescale Intercept −1024 (the common default).
    #[default]
    UnsignedOffset,
    /// Signed two's complement HU, Rescale Intercept 0.
    SignedHu,
}

/// Everything needed to generate one CT series, deterministically.
///
/// Build one with [`CtSpec::chest`] or [`CtSpec::head`] and adjust the public
/// fields; [`CtSpec::validate`] is called by every generator.
#[derive(Debug, Clone, PartialEq)]
pub struct CtSpec {
    /// The patient scanned.
    pub patient: Patient,
    /// Study-level attributes (UID, accession number, date...).
    pub study: StudyInfo,
    /// Series Instance UID.
    pub series_uid: String,
    /// Frame of Reference UID shared by all slices.
    pub frame_of_reference_uid: String,
    /// Series Number.
    pub series_number: u32,
    /// Series Description.
    pub series_description: String,
    /// Anatomy of the phantom.
    pub region: CtRegion,
    /// Number of slices (instances).
    pub slices: u32,
    /// Rows of each slice.
    pub rows: u16,
    /// Columns of each slice.
    pub cols: u16,
    /// Slice Thickness in mm.
    pub slice_thickness_mm: f64,
    /// Distance between slice centres in mm (Spacing Between Slices).
    pub slice_spacing_mm: f64,
    /// Square pixel spacing in mm.
    pub pixel_spacing_mm: f64,
    /// Bits Stored: 12 or 16 (Bits Allocated is always 16).
    pub bits_stored: u16,
    /// Signed or offset unsigned pixel values.
    pub pixel_encoding: CtPixelEncoding,
    /// Standard deviation of the Gaussian noise in HU.
    pub noise_sigma_hu: f64,
    /// Pixels outside the circular reconstruction field of view hold the
    /// Pixel Padding Value (the lowest storable value), as scanners write
    /// them; when false, the phantom fills the whole square.
    pub fov_circle: bool,
    /// Tube voltage (KVP).
    pub kvp: f64,
    /// Scanner description.
    pub equipment: Equipment,
    /// Seed for the noise; the same spec always yields the same pixels.
    pub seed: u64,
}

impl CtSpec {
    /// A 300-slice 512×512 chest CT (1.25 mm slices, ~0.7 mm pixels).
    ///
    /// UIDs and study attributes derive from `seed` and the region, so a
    /// chest and a head spec with the same seed are different studies.
    pub fn chest(patient: Patient, seed: u64) -> CtSpec {
        CtSpec::new(CtRegion::Chest, patient, seed)
    }

    /// A 40-slice 512×512 head CT (5 mm slices, 230 mm field of view).
    pub fn head(patient: Patient, seed: u64) -> CtSpec {
        CtSpec::new(CtRegion::Head, patient, seed)
    }

    /// The default protocol for `region`.
    pub fn new(region: CtRegion, patient: Patient, seed: u64) -> CtSpec {
        let (label, description) = match region {
            CtRegion::Chest => ("ct-chest", "CT CHEST W/O CONTRAST"),
            CtRegion::Head => ("ct-head", "CT HEAD W/O CONTRAST"),
        };
        let ns = derive_seed(seed, label, 0);
        let date = Date {
            year: 2025,
            month: 1,
            day: 15,
        };
        let mut spec = CtSpec {
            patient,
            study: StudyInfo::generated(ns, date, description),
            series_uid: uid_for(ns, "series", 1),
            frame_of_reference_uid: uid_for(ns, "frame-of-reference", 1),
            series_number: 2,
            series_description: "Chest 1.25mm".into(),
            region,
            slices: 300,
            rows: 512,
            cols: 512,
            slice_thickness_mm: 1.25,
            slice_spacing_mm: 1.25,
            pixel_spacing_mm: DEFAULT_FOV_MM / 512.0,
            bits_stored: 12,
            pixel_encoding: CtPixelEncoding::UnsignedOffset,
            noise_sigma_hu: 10.0,
            fov_circle: true,
            kvp: 120.0,
            equipment: Equipment::district_ct(),
            seed,
        };
        if region == CtRegion::Head {
            spec.series_description = "Head 5mm".into();
            spec.slices = 40;
            spec.slice_thickness_mm = 5.0;
            spec.slice_spacing_mm = 5.0;
            spec.pixel_spacing_mm = 230.0 / 512.0;
            spec.noise_sigma_hu = 4.0;
        }
        spec
    }

    /// Change the slice count.
    pub fn with_slices(mut self, slices: u32) -> CtSpec {
        self.slices = slices;
        self
    }

    /// Change the matrix size, keeping the field of view (pixel spacing scales).
    pub fn with_matrix(mut self, rows: u16, cols: u16) -> CtSpec {
        let fov = self.pixel_spacing_mm * f64::from(self.cols.max(1));
        self.rows = rows;
        self.cols = cols;
        self.pixel_spacing_mm = fov / f64::from(cols.max(1));
        self
    }

    /// Reject specs that would produce invalid or unreadable objects.
    pub fn validate(&self) -> Result<(), SamplesError> {
        self.patient.validate()?;
        self.study.validate(self.patient.charset)?;
        let bad = |m: String| Err(SamplesError::InvalidSpec(m));
        if self.slices == 0 || self.slices > 100_000 {
            return bad(format!("slice count {} must be 1..=100000", self.slices));
        }
        if self.rows < 8 || self.cols < 8 {
            return bad(format!(
                "matrix {}x{} must be at least 8x8",
                self.rows, self.cols
            ));
        }
        if self.bits_stored != 12 && self.bits_stored != 16 {
            return bad(format!("bits stored {} must be 12 or 16", self.bits_stored));
        }
        for (what, v) in [
            ("slice thickness", self.slice_thickness_mm),
            ("slice spacing", self.slice_spacing_mm),
            ("pixel spacing", self.pixel_spacing_mm),
            ("KVP", self.kvp),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{what} {v} must be a positive number"));
            }
        }
        if !(self.noise_sigma_hu.is_finite() && self.noise_sigma_hu >= 0.0) {
            return bad(format!("noise sigma {} must be ≥ 0", self.noise_sigma_hu));
        }
        for (what, uid) in [
            ("series", &self.series_uid),
            ("frame of reference", &self.frame_of_reference_uid),
        ] {
            if !is_valid_uid(uid) {
                return bad(format!("{what} UID {uid:?} is not a valid UID"));
            }
        }
        Ok(())
    }

    /// SOP Instance UID of slice `index` (0-based), derived from the series UID.
    pub fn sop_instance_uid(&self, index: u32) -> String {
        uid_for(
            hash_bytes(self.series_uid.as_bytes()),
            "ct-sop",
            u64::from(index),
        )
    }

    /// Table position (z, mm) of slice `index`: the scan runs head to feet,
    /// so z decreases with the instance number.
    pub fn slice_z(&self, index: u32) -> f64 {
        let half = f64::from(self.slices.saturating_sub(1)) * self.slice_spacing_mm / 2.0;
        half - f64::from(index) * self.slice_spacing_mm
    }

    /// Image Position (Patient) of slice `index`: the centre of the
    /// top-left pixel, with the volume centred on the isocentre.
    pub fn image_position(&self, index: u32) -> [f64; 3] {
        let ps = self.pixel_spacing_mm;
        [
            -f64::from(self.cols - 1) * ps / 2.0,
            -f64::from(self.rows - 1) * ps / 2.0,
            self.slice_z(index),
        ]
    }

    /// Rescale intercept mapping stored values to HU.
    pub fn rescale_intercept(&self) -> f64 {
        match self.pixel_encoding {
            CtPixelEncoding::UnsignedOffset => -1024.0,
            CtPixelEncoding::SignedHu => 0.0,
        }
    }

    /// Window presets (centre, width, explanation) written to the objects.
    pub fn windows(&self) -> [(f64, f64, &'static str); 2] {
        match self.region {
            CtRegion::Chest => [(40.0, 400.0, "MEDIASTINUM"), (-600.0, 1500.0, "LUNG")],
            CtRegion::Head => [(40.0, 80.0, "BRAIN"), (600.0, 2800.0, "BONE")],
        }
    }

    fn relative_position(&self, index: u32) -> f64 {
        if self.slices <= 1 {
            0.5
        } else {
            f64::from(index) / f64::from(self.slices - 1)
        }
    }
}

impl Default for CtSpec {
    fn default() -> Self {
        CtSpec::chest(Patient::default(), 1)
    }
}

/// Noise-free phantom value in HU at pixel `(row, col)` of slice `index`;
/// outside the reconstruction circle, the padding value's HU.
pub fn ct_phantom_hu(spec: &CtSpec, index: u32, row: u16, col: u16) -> f32 {
    if outside_fov(spec, row, col) {
        return (f64::from(padding_word(spec).1) + spec.rescale_intercept()) as f32;
    }
    let model = SliceModel::new(spec.region, spec.relative_position(index));
    let [x0, y0, _] = spec.image_position(index);
    let ps = spec.pixel_spacing_mm;
    model.hu(x0 + f64::from(col) * ps, y0 + f64::from(row) * ps)
}

/// Whether pixel `(row, col)` lies outside the reconstruction circle.
fn outside_fov(spec: &CtSpec, row: u16, col: u16) -> bool {
    if !spec.fov_circle {
        return false;
    }
    let radius = f64::from(spec.rows.min(spec.cols)) / 2.0;
    let dy = f64::from(row) + 0.5 - f64::from(spec.rows) / 2.0;
    let dx = f64::from(col) + 0.5 - f64::from(spec.cols) / 2.0;
    dx * dx + dy * dy > radius * radius
}

/// The Pixel Padding Value: the stored word and its value (the lowest
/// storable value for the encoding).
fn padding_word(spec: &CtSpec) -> (u16, i32) {
    match (spec.pixel_encoding, spec.bits_stored) {
        (CtPixelEncoding::UnsignedOffset, _) => (0, 0),
        (CtPixelEncoding::SignedHu, 12) => ((-2048i16) as u16, -2048),
        (CtPixelEncoding::SignedHu, _) => ((-32768i16) as u16, -32768),
    }
}

/// The stored pixel words of slice `index` (0-based), row by row, exactly as
/// they appear in Pixel Data. For [`CtPixelEncoding::SignedHu`] the words
/// are two's complement `i16` values.
pub fn ct_slice_pixels(spec: &CtSpec, index: u32) -> Vec<u16> {
    let rows = usize::from(spec.rows);
    let cols = usize::from(spec.cols);
    let model = SliceModel::new(spec.region, spec.relative_position(index));
    let [x0, y0, _] = spec.image_position(index);
    let ps = spec.pixel_spacing_mm;
    let sigma = spec.noise_sigma_hu as f32;
    let mut rng = SmallRng::seed_from_u64(derive_seed(spec.seed, "ct-noise", u64::from(index)));
    let (lo, hi, offset) = match (spec.pixel_encoding, spec.bits_stored) {
        (CtPixelEncoding::UnsignedOffset, 12) => (0.0, 4095.0, 1024.0),
        (CtPixelEncoding::UnsignedOffset, _) => (0.0, 65535.0, 1024.0),
        (CtPixelEncoding::SignedHu, 12) => (-2048.0, 2047.0, 0.0),
        (CtPixelEncoding::SignedHu, _) => (-32768.0, 32767.0, 0.0),
    };
    let signed = spec.pixel_encoding == CtPixelEncoding::SignedHu;
    let padding = padding_word(spec).0;
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        let y = y0 + r as f64 * ps;
        for c in 0..cols {
            let x = x0 + c as f64 * ps;
            // Drawn for every pixel, so the noise inside the circle does
            // not depend on it.
            let n: f32 = StandardNormal.sample(&mut rng);
            if outside_fov(spec, r as u16, c as u16) {
                out.push(padding);
                continue;
            }
            let v = (model.hu(x, y) + sigma * n + offset).round().clamp(lo, hi);
            out.push(if signed { (v as i16) as u16 } else { v as u16 });
        }
    }
    out
}

/// Build the complete instance for slice `index` (0-based; Instance Number
/// is `index + 1`), with Explicit VR Little Endian in its meta group.
pub fn ct_slice(
    spec: &CtSpec,
    index: u32,
) -> Result<FileDicomObject<InMemDicomObject>, SamplesError> {
    spec.validate()?;
    if index >= spec.slices {
        return Err(SamplesError::InvalidSpec(format!(
            "slice index {index} out of range for {} slices",
            spec.slices
        )));
    }
    build_slice(spec, index)
}

fn build_slice(
    spec: &CtSpec,
    index: u32,
) -> Result<FileDicomObject<InMemDicomObject>, SamplesError> {
    let sop_uid = spec.sop_instance_uid(index);
    let mut obj = InMemDicomObject::new_empty();
    let body_part = match spec.region {
        CtRegion::Chest => "CHEST",
        CtRegion::Head => "HEAD",
    };
    put_common(
        &mut obj,
        &spec.patient,
        &spec.study,
        &SeriesAttrs {
            modality: "CT",
            series_uid: &spec.series_uid,
            series_number: spec.series_number,
            description: &spec.series_description,
            body_part,
        },
        &spec.equipment,
        uids::CT_IMAGE_STORAGE,
        &sop_uid,
    );
    obj.texts(tags::IMAGE_TYPE, VR::CS, &["ORIGINAL", "PRIMARY", "AXIAL"]);
    obj.text(tags::PATIENT_POSITION, VR::CS, "HFS");
    obj.text(tags::PROTOCOL_NAME, VR::LO, &spec.series_description);
    // Frame of Reference
    obj.text(
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &spec.frame_of_reference_uid,
    );
    obj.text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    // General Image
    obj.is(tags::INSTANCE_NUMBER, i64::from(index) + 1);
    obj.is(tags::ACQUISITION_NUMBER, 1);
    obj.text(tags::PATIENT_ORIENTATION, VR::CS, "");
    obj.text(tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
    obj.text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    // Image Plane
    let ps = spec.pixel_spacing_mm;
    obj.ds(tags::PIXEL_SPACING, &[ps, ps]);
    obj.ds(
        tags::IMAGE_ORIENTATION_PATIENT,
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    );
    obj.ds(tags::IMAGE_POSITION_PATIENT, &spec.image_position(index));
    obj.ds(tags::SLICE_THICKNESS, &[spec.slice_thickness_mm]);
    obj.ds(tags::SPACING_BETWEEN_SLICES, &[spec.slice_spacing_mm]);
    obj.ds(tags::SLICE_LOCATION, &[spec.slice_z(index)]);
    // Image Pixel
    obj.us(tags::SAMPLES_PER_PIXEL, 1);
    obj.text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    obj.us(tags::ROWS, spec.rows);
    obj.us(tags::COLUMNS, spec.cols);
    obj.us(tags::BITS_ALLOCATED, 16);
    obj.us(tags::BITS_STORED, spec.bits_stored);
    obj.us(tags::HIGH_BIT, spec.bits_stored - 1);
    let signed = spec.pixel_encoding == CtPixelEncoding::SignedHu;
    obj.us(tags::PIXEL_REPRESENTATION, u16::from(signed));
    if spec.fov_circle {
        let (word, value) = padding_word(spec);
        let padding = if signed {
            DataElement::new(
                tags::PIXEL_PADDING_VALUE,
                VR::SS,
                PrimitiveValue::from(value as i16),
            )
        } else {
            DataElement::new(
                tags::PIXEL_PADDING_VALUE,
                VR::US,
                PrimitiveValue::from(word),
            )
        };
        obj.put(padding);
    }
    // CT Image
    obj.ds(tags::RESCALE_INTERCEPT, &[spec.rescale_intercept()]);
    obj.ds(tags::RESCALE_SLOPE, &[1.0]);
    obj.text(tags::RESCALE_TYPE, VR::LO, "HU");
    obj.ds(tags::KVP, &[spec.kvp]);
    let fov = ps * f64::from(spec.cols);
    obj.ds(tags::DATA_COLLECTION_DIAMETER, &[500.0]);
    obj.ds(tags::RECONSTRUCTION_DIAMETER, &[fov]);
    obj.ds(tags::GANTRY_DETECTOR_TILT, &[0.0]);
    obj.ds(tags::TABLE_HEIGHT, &[160.0]);
    obj.text(tags::ROTATION_DIRECTION, VR::CS, "CW");
    obj.is(tags::EXPOSURE_TIME, 500);
    obj.is(tags::X_RAY_TUBE_CURRENT, 250);
    obj.is(tags::EXPOSURE, 125);
    obj.text(
        tags::CONVOLUTION_KERNEL,
        VR::SH,
        match spec.region {
            CtRegion::Chest => "LUNG",
            CtRegion::Head => "BRAIN",
        },
    );
    obj.text(tags::FILTER_TYPE, VR::SH, "BODY");
    obj.fd(tags::REVOLUTION_TIME, 0.5);
    obj.fd(tags::SPIRAL_PITCH_FACTOR, 0.984);
    // VOI LUT
    let windows = spec.windows();
    obj.ds(tags::WINDOW_CENTER, &windows.map(|w| w.0));
    obj.ds(tags::WINDOW_WIDTH, &windows.map(|w| w.1));
    obj.texts(
        tags::WINDOW_CENTER_WIDTH_EXPLANATION,
        VR::LO,
        &windows.map(|w| w.2),
    );
    put_pixel_words(&mut obj, ct_slice_pixels(spec, index));
    into_file(obj, uids::CT_IMAGE_STORAGE, &sop_uid)
}

/// A lazily generated CT series: each `next()` builds one slice, so a
/// 300-slice series never needs more than one slice in memory.
#[derive(Debug, Clone)]
pub struct CtSeries {
    spec: CtSpec,
    next: u32,
}

impl CtSeries {
    /// The spec this series is generated from.
    pub fn spec(&self) -> &CtSpec {
        &self.spec
    }
}

impl Iterator for CtSeries {
    type Item = Result<FileDicomObject<InMemDicomObject>, SamplesError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.spec.slices {
            return None;
        }
        let index = self.next;
        self.next += 1;
        Some(build_slice(&self.spec, index))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.spec.slices - self.next) as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for CtSeries {}

/// Validate `spec` and return an iterator over its slices, in instance order.
pub fn ct_series(spec: &CtSpec) -> Result<CtSeries, SamplesError> {
    spec.validate()?;
    Ok(CtSeries {
        spec: spec.clone(),
        next: 0,
    })
}
