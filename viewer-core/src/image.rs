//! What the viewer needs to know about one image instance, read from its
//! DICOM JSON metadata: how to decode it (pixel module), how to turn stored
//! values into modality values and grey levels (rescale, windows), where it
//! lies in the patient (plane), how to measure on it (calibration), and what
//! to print in the corners.

use thiserror::Error;

use crate::calibration::Calibration;
use crate::dicom_json::Attributes;
use crate::geometry::{ImagePlane, Vec3};
use crate::palette::{PaletteError, PaletteSource};
use crate::tags;
use crate::voi::{VoiFunction, Window};

/// Why an instance's metadata cannot describe a displayable image.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InfoError {
    #[error("the image has no {name} ({tag:08X}); it cannot be displayed")]
    Missing { name: &'static str, tag: u32 },
    #[error("the image's {name} ({tag:08X}) is {value:?}, which is not valid: {reason}")]
    Invalid {
        name: &'static str,
        tag: u32,
        value: String,
        reason: &'static str,
    },
    #[error("the image's colour palette cannot be used: {0}")]
    Palette(#[from] PaletteError),
}

/// Photometric Interpretation (0028,0004).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Photometric {
    /// Grey, the lowest value displayed white.
    Monochrome1,
    /// Grey, the lowest value displayed black.
    Monochrome2,
    Rgb,
    PaletteColor,
    YbrFull,
    YbrFull422,
    /// Any other term (YBR_ICT, YBR_RCT… describe compressed data the
    /// decoder turns into RGB), kept as written.
    Other(String),
}

impl Photometric {
    pub fn parse(term: &str) -> Photometric {
        match term.trim().to_ascii_uppercase().as_str() {
            "MONOCHROME1" => Photometric::Monochrome1,
            "MONOCHROME2" => Photometric::Monochrome2,
            "RGB" => Photometric::Rgb,
            "PALETTE COLOR" => Photometric::PaletteColor,
            "YBR_FULL" => Photometric::YbrFull,
            "YBR_FULL_422" => Photometric::YbrFull422,
            other => Photometric::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Photometric::Monochrome1 => "MONOCHROME1",
            Photometric::Monochrome2 => "MONOCHROME2",
            Photometric::Rgb => "RGB",
            Photometric::PaletteColor => "PALETTE COLOR",
            Photometric::YbrFull => "YBR_FULL",
            Photometric::YbrFull422 => "YBR_FULL_422",
            Photometric::Other(s) => s,
        }
    }

    /// Grey images get a modality rescale and a VOI window; colour ones do
    /// not.
    pub fn is_monochrome(&self) -> bool {
        matches!(self, Photometric::Monochrome1 | Photometric::Monochrome2)
    }
}

/// The metadata of one image instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    pub modality: Option<String>,
    pub instance_number: Option<i64>,
    pub rows: u32,
    pub columns: u32,
    /// Number of Frames, 1 for single-frame images; never 0.
    pub number_of_frames: u32,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    /// 0 unsigned, 1 two's complement.
    pub pixel_representation: u16,
    pub photometric: Photometric,
    /// The colour palette of a `PALETTE COLOR` image (its table data may
    /// still have to be fetched).
    pub palette: Option<PaletteSource>,
    pub planar_configuration: u16,
    /// Rescale Slope, 1 when absent.
    pub rescale_slope: f64,
    /// Rescale Intercept, 0 when absent.
    pub rescale_intercept: f64,
    pub rescale_type: Option<String>,
    /// The file's windows, in order; invalid pairs are left out.
    pub windows: Vec<Window>,
    /// Presentation LUT Shape INVERSE: displayed inverted like MONOCHROME1.
    pub presentation_lut_inverse: bool,
    /// Where the image lies in the patient, when the geometry is complete.
    pub plane: Option<ImagePlane>,
    pub frame_of_reference_uid: Option<String>,
    /// Patient Orientation (0020,0020) letters of the row and column
    /// directions (`("L", "F")`), used for projection images with no plane.
    pub patient_orientation: Option<(String, String)>,
    pub calibration: Calibration,
    pub slice_thickness: Option<f64>,
    pub slice_location: Option<f64>,
    /// The transfer syntax the archive holds the instance in (0008,3002).
    pub available_transfer_syntax: Option<String>,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub patient_birth_date: Option<String>,
    pub patient_sex: Option<String>,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub study_description: Option<String>,
    pub series_description: Option<String>,
    pub series_number: Option<i64>,
    pub accession_number: Option<String>,
    pub institution_name: Option<String>,
    pub body_part_examined: Option<String>,
}

impl ImageInfo {
    /// Reads and checks the attributes. Required: the three UIDs, Rows,
    /// Columns and Bits Allocated; the others default as PS3.3 implies
    /// (one sample, bits stored = allocated, high bit = stored − 1,
    /// unsigned, MONOCHROME2 for one sample, slope 1, intercept 0).
    pub fn from_attributes(a: &Attributes) -> Result<ImageInfo, InfoError> {
        let rows = dimension(a, tags::ROWS, "number of rows")?;
        let columns = dimension(a, tags::COLUMNS, "number of columns")?;
        let bits_allocated =
            small(a, tags::BITS_ALLOCATED, "bits allocated")?.ok_or(InfoError::Missing {
                name: "bits allocated",
                tag: tags::BITS_ALLOCATED,
            })?;
        if !matches!(bits_allocated, 1 | 8 | 16 | 32) {
            return Err(invalid(
                "bits allocated",
                tags::BITS_ALLOCATED,
                bits_allocated,
                "expected 1, 8, 16 or 32",
            ));
        }
        let bits_stored = small(a, tags::BITS_STORED, "bits stored")?.unwrap_or(bits_allocated);
        if bits_stored == 0 || bits_stored > bits_allocated {
            return Err(invalid(
                "bits stored",
                tags::BITS_STORED,
                bits_stored,
                "must be between 1 and bits allocated",
            ));
        }
        let high_bit = small(a, tags::HIGH_BIT, "high bit")?.unwrap_or(bits_stored - 1);
        let pixel_representation =
            small(a, tags::PIXEL_REPRESENTATION, "pixel representation")?.unwrap_or(0);
        if pixel_representation > 1 {
            return Err(invalid(
                "pixel representation",
                tags::PIXEL_REPRESENTATION,
                pixel_representation,
                "expected 0 or 1",
            ));
        }
        let samples_per_pixel =
            small(a, tags::SAMPLES_PER_PIXEL, "samples per pixel")?.unwrap_or(1);
        if !matches!(samples_per_pixel, 1 | 3 | 4) {
            return Err(invalid(
                "samples per pixel",
                tags::SAMPLES_PER_PIXEL,
                samples_per_pixel,
                "expected 1, 3 or 4",
            ));
        }
        let photometric = match a.string(tags::PHOTOMETRIC_INTERPRETATION) {
            Some(term) => Photometric::parse(&term),
            None if samples_per_pixel == 1 => Photometric::Monochrome2,
            None => {
                return Err(InfoError::Missing {
                    name: "photometric interpretation",
                    tag: tags::PHOTOMETRIC_INTERPRETATION,
                });
            }
        };
        let palette = match photometric {
            Photometric::PaletteColor => Some(PaletteSource::from_attributes(a)?),
            _ => None,
        };
        let number_of_frames = match a.int(tags::NUMBER_OF_FRAMES) {
            None => 1,
            Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => n as u32,
            Some(n) => {
                return Err(invalid(
                    "number of frames",
                    tags::NUMBER_OF_FRAMES,
                    n,
                    "must be at least 1",
                ));
            }
        };
        let rescale_slope = a
            .f64(tags::RESCALE_SLOPE)
            .filter(|s| *s != 0.0)
            .unwrap_or(1.0);
        let rescale_intercept = a.f64(tags::RESCALE_INTERCEPT).unwrap_or(0.0);
        let modality = a.string(tags::MODALITY);
        Ok(ImageInfo {
            study_instance_uid: uid(a, tags::STUDY_INSTANCE_UID, "study instance UID")?,
            series_instance_uid: uid(a, tags::SERIES_INSTANCE_UID, "series instance UID")?,
            sop_instance_uid: uid(a, tags::SOP_INSTANCE_UID, "SOP instance UID")?,
            instance_number: a.int(tags::INSTANCE_NUMBER),
            rows,
            columns,
            number_of_frames,
            samples_per_pixel,
            bits_allocated,
            bits_stored,
            high_bit,
            pixel_representation,
            photometric,
            palette,
            planar_configuration: small(a, tags::PLANAR_CONFIGURATION, "planar configuration")?
                .unwrap_or(0),
            rescale_slope,
            rescale_intercept,
            rescale_type: a.string(tags::RESCALE_TYPE),
            windows: windows(a),
            presentation_lut_inverse: a
                .string(tags::PRESENTATION_LUT_SHAPE)
                .is_some_and(|s| s.eq_ignore_ascii_case("INVERSE")),
            plane: plane(a, rows, columns),
            frame_of_reference_uid: a.string(tags::FRAME_OF_REFERENCE_UID),
            patient_orientation: match a.strings(tags::PATIENT_ORIENTATION).as_slice() {
                [row, column] if !row.is_empty() && !column.is_empty() => {
                    Some((row.clone(), column.clone()))
                }
                _ => None,
            },
            calibration: Calibration::from_attributes(a, modality.as_deref()),
            slice_thickness: a.f64(tags::SLICE_THICKNESS),
            slice_location: a.f64(tags::SLICE_LOCATION),
            available_transfer_syntax: a.string(tags::AVAILABLE_TRANSFER_SYNTAX_UID),
            patient_name: a.person_name(tags::PATIENT_NAME),
            patient_id: a.string(tags::PATIENT_ID),
            patient_birth_date: a.string(tags::PATIENT_BIRTH_DATE),
            patient_sex: a.string(tags::PATIENT_SEX),
            study_date: a.string(tags::STUDY_DATE),
            study_time: a.string(tags::STUDY_TIME),
            study_description: a.string(tags::STUDY_DESCRIPTION),
            series_description: a.string(tags::SERIES_DESCRIPTION),
            series_number: a.int(tags::SERIES_NUMBER),
            accession_number: a.string(tags::ACCESSION_NUMBER),
            institution_name: a.string(tags::INSTITUTION_NAME),
            body_part_examined: a.string(tags::BODY_PART_EXAMINED),
            modality,
        })
    }

    /// Colour pixels (RGB, YBR, palette): no window, no rescale.
    pub fn is_rgb(&self) -> bool {
        !self.photometric.is_monochrome()
    }

    pub fn is_monochrome(&self) -> bool {
        self.photometric.is_monochrome()
    }

    /// Bytes of one frame's pixels, uncompressed.
    pub fn frame_bytes(&self) -> usize {
        self.rows as usize
            * self.columns as usize
            * usize::from(self.samples_per_pixel)
            * usize::from(self.bits_allocated).div_ceil(8)
    }

    pub fn is_signed(&self) -> bool {
        self.pixel_representation == 1
    }

    /// Whether low values are displayed white: MONOCHROME1, or a
    /// Presentation LUT Shape of INVERSE (not both: they cancel).
    pub fn displays_inverted(&self) -> bool {
        (self.photometric == Photometric::Monochrome1) != self.presentation_lut_inverse
    }

    /// Whether the modality values are Hounsfield units (CT, or a rescale
    /// type that says so), for labelling ROI statistics.
    pub fn is_hounsfield(&self) -> bool {
        match self.rescale_type.as_deref() {
            Some(t) => t.eq_ignore_ascii_case("HU"),
            None => self.modality.as_deref() == Some("CT"),
        }
    }

    /// The smallest and largest stored value the bits can hold:
    /// `0..2^bits − 1` unsigned, `−2^(bits−1)..2^(bits−1) − 1` signed.
    pub fn stored_range(&self) -> (i64, i64) {
        let bits = u32::from(self.bits_stored.clamp(1, 32));
        if self.is_signed() {
            (-(1_i64 << (bits - 1)), (1_i64 << (bits - 1)) - 1)
        } else {
            (0, (1_i64 << bits) - 1)
        }
    }

    /// The Modality LUT: `stored × slope + intercept`.
    pub fn to_modality(&self, stored: f64) -> f64 {
        stored * self.rescale_slope + self.rescale_intercept
    }

    /// Pixels in one frame.
    pub fn pixel_count(&self) -> usize {
        self.rows as usize * self.columns as usize
    }
}

fn uid(a: &Attributes, tag: u32, name: &'static str) -> Result<String, InfoError> {
    a.string(tag).ok_or(InfoError::Missing { name, tag })
}

fn dimension(a: &Attributes, tag: u32, name: &'static str) -> Result<u32, InfoError> {
    match a.int(tag) {
        None => Err(InfoError::Missing { name, tag }),
        Some(n) if (1..=65535).contains(&n) => Ok(n as u32),
        Some(n) => Err(invalid(name, tag, n, "must be between 1 and 65535")),
    }
}

fn small(a: &Attributes, tag: u32, name: &'static str) -> Result<Option<u16>, InfoError> {
    match a.int(tag) {
        None => Ok(None),
        Some(n) => u16::try_from(n)
            .map(Some)
            .map_err(|_| invalid(name, tag, n, "must be between 0 and 65535")),
    }
}

fn invalid(name: &'static str, tag: u32, value: impl ToString, reason: &'static str) -> InfoError {
    InfoError::Invalid {
        name,
        tag,
        value: value.to_string(),
        reason,
    }
}

/// Window Center/Width pairs with the VOI LUT Function (one for all) and
/// each pair's explanation. Pairs whose width the function forbids are left
/// out rather than clamped: they are not what the modality meant.
fn windows(a: &Attributes) -> Vec<Window> {
    let centers = a.f64s(tags::WINDOW_CENTER);
    let widths = a.f64s(tags::WINDOW_WIDTH);
    let explanations = a.strings(tags::WINDOW_CENTER_WIDTH_EXPLANATION);
    let function = a
        .string(tags::VOI_LUT_FUNCTION)
        .and_then(|f| VoiFunction::parse(&f))
        .unwrap_or_default();
    centers
        .iter()
        .zip(&widths)
        .enumerate()
        .filter(|(_, (_, w))| **w >= function.min_width())
        .map(|(i, (&center, &width))| Window {
            center,
            width,
            function,
            explanation: explanations.get(i).filter(|e| !e.is_empty()).cloned(),
        })
        .collect()
}

fn plane(a: &Attributes, rows: u32, columns: u32) -> Option<ImagePlane> {
    let position = a.f64s(tags::IMAGE_POSITION_PATIENT);
    let orientation = a.f64s(tags::IMAGE_ORIENTATION_PATIENT);
    let spacing = a.f64s(tags::PIXEL_SPACING);
    let [x, y, z] = <[f64; 3]>::try_from(position).ok()?;
    let [r0, r1, r2, c0, c1, c2] = <[f64; 6]>::try_from(orientation).ok()?;
    let [row_mm, col_mm] = <[f64; 2]>::try_from(spacing).ok()?;
    ImagePlane::new(
        Vec3::new(x, y, z),
        Vec3::new(r0, r1, r2),
        Vec3::new(c0, c1, c2),
        (row_mm, col_mm),
        rows,
        columns,
    )
}

#[cfg(test)]
mod tests;
