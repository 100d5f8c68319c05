//! The image attributes that decoding and rendering need, and their checks.

use super::RenderError;

/// Explicit VR Big Endian: the only transfer syntax whose native samples are big endian.
pub const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// Image attributes needed to interpret one frame, taken from the instance's
/// header by the caller (which has them parsed already).
///
/// Optional attributes use their DICOM defaults: `rescale_slope` 1,
/// `rescale_intercept` 0, `planar_configuration` 0, `number_of_frames` 1, no window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageHeader {
    /// Transfer syntax UID of the stored instance.
    pub transfer_syntax_uid: String,
    /// Rows (0028,0010).
    pub rows: u16,
    /// Columns (0028,0011).
    pub columns: u16,
    /// Samples per Pixel (0028,0002): 1 or 3.
    pub samples_per_pixel: u16,
    /// Bits Allocated (0028,0100): 1, 8 or 16 are handled.
    pub bits_allocated: u16,
    /// Bits Stored (0028,0101).
    pub bits_stored: u16,
    /// High Bit (0028,0102).
    pub high_bit: u16,
    /// Pixel Representation (0028,0103): 0 unsigned, 1 two's complement.
    pub pixel_representation: u16,
    /// Photometric Interpretation (0028,0004), e.g. `MONOCHROME2`.
    pub photometric_interpretation: String,
    /// Planar Configuration (0028,0006): 0 interleaved, 1 colour-by-plane.
    pub planar_configuration: u16,
    /// Number of Frames (0028,0008); 1 when absent.
    pub number_of_frames: u32,
    /// Rescale Slope (0028,1053); 1 when absent.
    pub rescale_slope: f64,
    /// Rescale Intercept (0028,1052); 0 when absent.
    pub rescale_intercept: f64,
    /// Window Center (0028,1050) values.
    pub window_centers: Vec<f64>,
    /// Window Width (0028,1051) values.
    pub window_widths: Vec<f64>,
    /// VOI LUT Function (0028,1056), e.g. `SIGMOID`.
    pub voi_lut_function: Option<String>,
    /// The colour table of a `PALETTE COLOR` image; `None` for other
    /// images, and where the file's table cannot be used (rendering then
    /// says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub palette: Option<super::palette::PaletteLut>,
}

impl ImageHeader {
    /// A monochrome header with DICOM defaults for everything optional; a
    /// starting point for callers and tests.
    pub fn monochrome(
        transfer_syntax_uid: &str,
        rows: u16,
        columns: u16,
        bits_allocated: u16,
        bits_stored: u16,
        signed: bool,
    ) -> Self {
        ImageHeader {
            transfer_syntax_uid: transfer_syntax_uid.to_owned(),
            rows,
            columns,
            samples_per_pixel: 1,
            bits_allocated,
            bits_stored,
            high_bit: bits_stored.saturating_sub(1),
            pixel_representation: u16::from(signed),
            photometric_interpretation: "MONOCHROME2".to_owned(),
            planar_configuration: 0,
            number_of_frames: 1,
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            window_centers: Vec::new(),
            window_widths: Vec::new(),
            voi_lut_function: None,
            palette: None,
        }
    }

    /// The photometric interpretation, parsed.
    pub fn photometric(&self) -> Photometric {
        Photometric::parse(&self.photometric_interpretation)
    }

    /// Number of pixels in one frame.
    pub fn pixel_count(&self) -> usize {
        usize::from(self.rows) * usize::from(self.columns)
    }

    /// Number of samples in one frame.
    pub fn sample_count(&self) -> usize {
        self.pixel_count() * usize::from(self.samples_per_pixel)
    }

    /// Checks what decoding relies on, so that later steps can index without failing.
    pub(crate) fn validate(&self) -> Result<(), RenderError> {
        let invalid = |what: String| Err(RenderError::InvalidHeader(what));
        if self.rows == 0 || self.columns == 0 {
            return invalid(format!(
                "image is {}×{} (rows × columns)",
                self.rows, self.columns
            ));
        }
        if self.samples_per_pixel != 1 && self.samples_per_pixel != 3 {
            return Err(RenderError::UnsupportedPixelFormat(format!(
                "SamplesPerPixel {} (only 1 and 3 are handled)",
                self.samples_per_pixel
            )));
        }
        if !matches!(self.bits_allocated, 1 | 8 | 16) {
            return Err(RenderError::UnsupportedPixelFormat(format!(
                "BitsAllocated {} (only 1, 8 and 16 are handled)",
                self.bits_allocated
            )));
        }
        if self.bits_allocated == 1 && self.samples_per_pixel != 1 {
            return invalid("BitsAllocated 1 with more than one sample per pixel".to_owned());
        }
        if self.bits_stored == 0 || self.bits_stored > self.bits_allocated {
            return invalid(format!(
                "BitsStored {} with BitsAllocated {}",
                self.bits_stored, self.bits_allocated
            ));
        }
        if self.high_bit >= self.bits_allocated {
            return invalid(format!(
                "HighBit {} with BitsAllocated {}",
                self.high_bit, self.bits_allocated
            ));
        }
        if self.pixel_representation > 1 {
            return invalid(format!("PixelRepresentation {}", self.pixel_representation));
        }
        let photometric = self.photometric();
        let known = !matches!(photometric, Photometric::Other(_));
        if known && photometric.is_colour() != (self.samples_per_pixel == 3) {
            return invalid(format!(
                "PhotometricInterpretation {} with SamplesPerPixel {}",
                self.photometric_interpretation, self.samples_per_pixel
            ));
        }
        Ok(())
    }
}

/// Photometric Interpretation (0028,0004) values this module knows by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Photometric {
    /// Grey, minimum value shown white.
    Monochrome1,
    /// Grey, minimum value shown black.
    Monochrome2,
    /// Indices into a palette colour LUT.
    PaletteColor,
    /// Red, green, blue.
    Rgb,
    /// Full-range YCbCr.
    YbrFull,
    /// Full-range YCbCr with horizontally halved chroma.
    YbrFull422,
    /// Studio-range YCbCr, chroma halved horizontally (retired).
    YbrPartial422,
    /// Studio-range YCbCr, chroma halved both ways (MPEG).
    YbrPartial420,
    /// JPEG 2000 irreversible colour transform.
    YbrIct,
    /// JPEG 2000 reversible colour transform.
    YbrRct,
    /// Anything else, as written.
    Other(String),
}

impl Photometric {
    /// Parses a defined term, ignoring surrounding spaces and case.
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_uppercase().as_str() {
            "MONOCHROME1" => Photometric::Monochrome1,
            "MONOCHROME2" => Photometric::Monochrome2,
            "PALETTE COLOR" => Photometric::PaletteColor,
            "RGB" => Photometric::Rgb,
            "YBR_FULL" => Photometric::YbrFull,
            "YBR_FULL_422" => Photometric::YbrFull422,
            "YBR_PARTIAL_422" => Photometric::YbrPartial422,
            "YBR_PARTIAL_420" => Photometric::YbrPartial420,
            "YBR_ICT" => Photometric::YbrIct,
            "YBR_RCT" => Photometric::YbrRct,
            other => Photometric::Other(other.to_owned()),
        }
    }

    /// The defined term.
    pub fn as_str(&self) -> &str {
        match self {
            Photometric::Monochrome1 => "MONOCHROME1",
            Photometric::Monochrome2 => "MONOCHROME2",
            Photometric::PaletteColor => "PALETTE COLOR",
            Photometric::Rgb => "RGB",
            Photometric::YbrFull => "YBR_FULL",
            Photometric::YbrFull422 => "YBR_FULL_422",
            Photometric::YbrPartial422 => "YBR_PARTIAL_422",
            Photometric::YbrPartial420 => "YBR_PARTIAL_420",
            Photometric::YbrIct => "YBR_ICT",
            Photometric::YbrRct => "YBR_RCT",
            Photometric::Other(other) => other,
        }
    }

    /// Whether pixels of this interpretation have three samples (true for unknown terms).
    pub fn is_colour(&self) -> bool {
        !matches!(
            self,
            Photometric::Monochrome1 | Photometric::Monochrome2 | Photometric::PaletteColor
        )
    }
}

impl std::fmt::Display for Photometric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
