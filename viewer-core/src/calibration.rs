//! What a pixel measures in the real world, and on which plane.
//!
//! For cross-sectional images (CT, MR) Pixel Spacing (0028,0030) is in the
//! patient. For projection radiographs the same number can mean different
//! things (PS3.3 10.7.1.1, 10.7.1.3 and C.8.11.7): the spacing at the
//! detector (Imager Pixel Spacing, 0018,1164), which overstates anatomy by
//! the geometric magnification; that spacing divided by the Estimated
//! Radiographic Magnification Factor (0018,1114); or a Pixel Spacing
//! calibrated by geometry or by a fiducial of known size (Pixel Spacing
//! Calibration Type, 0028,0A02). A radiologist must be told which, so
//! every variant has its own description key.
//!
//! Choice, for projection images (an Imager Pixel Spacing present, or a
//! projection modality):
//! 1. Pixel Spacing with Calibration Type GEOMETRY or FIDUCIAL: that.
//! 2. Pixel Spacing with no type, different from Imager Pixel Spacing (or
//!    no Imager Pixel Spacing): calibrated by an unspecified method.
//! 3. Otherwise (no Pixel Spacing, or one equal to Imager Pixel Spacing,
//!    which is the detector's spacing copied): Imager Pixel Spacing,
//!    divided by the ERMF when one is given (> 0).
//! 4. Nothing usable: uncalibrated, measurements in pixels.

use crate::dicom_json::Attributes;
use crate::i18n::{Lang, t};
use crate::tags;

/// Modalities whose images are projections (PS3.3 C.7.3.1.1.1).
const PROJECTION_MODALITIES: [&str; 9] = ["CR", "DX", "MG", "IO", "PX", "RF", "XA", "RG", "DF"];

/// Where a Pixel Spacing value is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpacingMethod {
    /// A cross-sectional image: the spacing is in the patient.
    Patient,
    /// A radiograph calibrated for the geometric magnification.
    Geometry,
    /// A radiograph calibrated against an object of known size.
    Fiducial,
    /// A radiograph whose Pixel Spacing was calibrated somehow, not said how.
    Unspecified,
}

/// The spacing measurements on an image are made with. Spacings are
/// `(row_mm, col_mm)` as in Pixel Spacing: the distance between adjacent
/// rows, then between adjacent columns; both positive and finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Calibration {
    /// Pixel Spacing (0028,0030), valid as `method` says.
    Pixel {
        row_mm: f64,
        col_mm: f64,
        method: SpacingMethod,
    },
    /// Imager Pixel Spacing: true at the detector, magnified in the patient.
    ImagerPlane { row_mm: f64, col_mm: f64 },
    /// Imager Pixel Spacing divided by the Estimated Radiographic
    /// Magnification Factor `factor`: an estimate at the patient's plane.
    MagnificationCorrected {
        row_mm: f64,
        col_mm: f64,
        factor: f64,
    },
    /// No spacing: lengths in pixels.
    Uncalibrated,
}

impl Calibration {
    /// Chooses the calibration as the module documentation describes.
    pub fn from_attributes(a: &Attributes, modality: Option<&str>) -> Calibration {
        let pixel = spacing(a, tags::PIXEL_SPACING);
        let imager = spacing(a, tags::IMAGER_PIXEL_SPACING);
        let projection =
            imager.is_some() || modality.is_some_and(|m| PROJECTION_MODALITIES.contains(&m));
        if !projection {
            return match pixel {
                Some((row_mm, col_mm)) => Calibration::Pixel {
                    row_mm,
                    col_mm,
                    method: SpacingMethod::Patient,
                },
                None => Calibration::Uncalibrated,
            };
        }
        if let Some((row_mm, col_mm)) = pixel {
            let kind = a
                .string(tags::PIXEL_SPACING_CALIBRATION_TYPE)
                .map(|s| s.to_ascii_uppercase());
            let method = match kind.as_deref() {
                Some("GEOMETRY") => Some(SpacingMethod::Geometry),
                Some("FIDUCIAL") => Some(SpacingMethod::Fiducial),
                _ if imager.is_some_and(|i| same_spacing(i, (row_mm, col_mm))) => None,
                _ => Some(SpacingMethod::Unspecified),
            };
            if let Some(method) = method {
                return Calibration::Pixel {
                    row_mm,
                    col_mm,
                    method,
                };
            }
        }
        let Some((row_mm, col_mm)) = imager.or(pixel) else {
            return Calibration::Uncalibrated;
        };
        match a
            .f64(tags::ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR)
            .filter(|f| *f > 0.0)
        {
            Some(factor) => Calibration::MagnificationCorrected {
                row_mm: row_mm / factor,
                col_mm: col_mm / factor,
                factor,
            },
            None => Calibration::ImagerPlane { row_mm, col_mm },
        }
    }

    /// `(row_mm, col_mm)`, or `None` when uncalibrated.
    pub fn spacing(&self) -> Option<(f64, f64)> {
        match *self {
            Calibration::Pixel { row_mm, col_mm, .. }
            | Calibration::ImagerPlane { row_mm, col_mm }
            | Calibration::MagnificationCorrected { row_mm, col_mm, .. } => Some((row_mm, col_mm)),
            Calibration::Uncalibrated => None,
        }
    }

    /// The [`crate::i18n`] key of a sentence saying where measurements are
    /// valid, e.g. `"calibration.detector"` ("measured at the detector
    /// plane") or `"calibration.uncalibrated"`.
    pub fn describe_key(&self) -> &'static str {
        match self {
            Calibration::Pixel {
                method: SpacingMethod::Patient,
                ..
            } => "calibration.patient",
            Calibration::Pixel {
                method: SpacingMethod::Geometry,
                ..
            } => "calibration.geometry",
            Calibration::Pixel {
                method: SpacingMethod::Fiducial,
                ..
            } => "calibration.fiducial",
            Calibration::Pixel {
                method: SpacingMethod::Unspecified,
                ..
            } => "calibration.unspecified",
            Calibration::ImagerPlane { .. } => "calibration.detector",
            Calibration::MagnificationCorrected { .. } => "calibration.magnification",
            Calibration::Uncalibrated => "calibration.uncalibrated",
        }
    }

    /// An image point `(col, row)` scaled to millimetres along the image
    /// axes (unchanged when uncalibrated), for distances and angles.
    pub fn to_physical(&self, (col, row): (f64, f64)) -> (f64, f64) {
        match self.spacing() {
            Some((row_mm, col_mm)) => (col * col_mm, row * row_mm),
            None => (col, row),
        }
    }

    /// The distance between two image points `(col, row)`: in millimetres,
    /// `√((Δcol·col_mm)² + (Δrow·row_mm)²)`, or in pixels when uncalibrated.
    /// Only differences matter, so the pixel-centre convention cancels.
    pub fn length(&self, a: (f64, f64), b: (f64, f64)) -> Measurement {
        let (p, q) = (self.to_physical(a), self.to_physical(b));
        Measurement {
            value: (q.0 - p.0).hypot(q.1 - p.1),
            unit: if self.spacing().is_some() {
                Unit::Mm
            } else {
                Unit::Px
            },
        }
    }

    /// An area given in square pixels, in mm² when calibrated.
    pub fn area(&self, square_pixels: f64) -> Measurement {
        match self.spacing() {
            Some((row_mm, col_mm)) => Measurement {
                value: square_pixels * row_mm * col_mm,
                unit: Unit::Mm2,
            },
            None => Measurement {
                value: square_pixels,
                unit: Unit::Px2,
            },
        }
    }
}

/// A measured quantity with its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    pub value: f64,
    pub unit: Unit,
}

impl Measurement {
    /// The value with `decimals` decimals and the unit in `lang`, e.g.
    /// `"52.3 mm"` or `"52.3 мм"`.
    pub fn display(&self, lang: Lang, decimals: usize) -> String {
        format!(
            "{:.*} {}",
            decimals,
            self.value,
            t(lang, self.unit.label_key())
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Mm,
    Px,
    Mm2,
    Px2,
}

impl Unit {
    /// The [`crate::i18n`] key of the unit's symbol.
    pub fn label_key(self) -> &'static str {
        match self {
            Unit::Mm => "unit.mm",
            Unit::Px => "unit.px",
            Unit::Mm2 => "unit.mm2",
            Unit::Px2 => "unit.px2",
        }
    }

    pub fn is_calibrated(self) -> bool {
        matches!(self, Unit::Mm | Unit::Mm2)
    }
}

/// A spacing pair: two positive finite values (one value is taken as both).
fn spacing(a: &Attributes, tag: u32) -> Option<(f64, f64)> {
    let values = a.f64s(tag);
    let pair = match values.as_slice() {
        [v] => (*v, *v),
        [r, c, ..] => (*r, *c),
        [] => return None,
    };
    (pair.0 > 0.0 && pair.1 > 0.0).then_some(pair)
}

/// Equal up to the precision a DS string keeps.
fn same_spacing(a: (f64, f64), b: (f64, f64)) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-6 * x.abs().max(y.abs());
    close(a.0, b.0) && close(a.1, b.1)
}

#[cfg(test)]
mod tests;
