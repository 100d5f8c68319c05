//! Grey-scale pipeline of PS3.3 C.11: modality LUT (rescale), then VOI
//! (window with the LINEAR, LINEAR_EXACT or SIGMOID function), as one lookup
//! table from stored bits to 8-bit output.

use super::RenderError;
use super::frame::{DecodedFrame, Samples, StoredBits};

/// A VOI window in modality units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Window Center.
    pub center: f64,
    /// Window Width.
    pub width: f64,
}

/// VOI LUT Function (0028,1056).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiFunction {
    /// `LINEAR`, C.11.2.1.2.1: the "center − 0.5, width − 1" form.
    #[default]
    Linear,
    /// `LINEAR_EXACT`, C.11.2.1.3.2.
    LinearExact,
    /// `SIGMOID`, C.11.2.1.3.1.
    Sigmoid,
}

impl VoiFunction {
    /// Parses a defined term (case-insensitive); `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_uppercase().as_str() {
            "LINEAR" => Some(VoiFunction::Linear),
            "LINEAR_EXACT" => Some(VoiFunction::LinearExact),
            "SIGMOID" => Some(VoiFunction::Sigmoid),
            _ => None,
        }
    }

    /// The defined term.
    pub fn as_str(self) -> &'static str {
        match self {
            VoiFunction::Linear => "LINEAR",
            VoiFunction::LinearExact => "LINEAR_EXACT",
            VoiFunction::Sigmoid => "SIGMOID",
        }
    }

    /// Whether `window` satisfies this function's constraint on the width
    /// (at least 1 for LINEAR, above 0 otherwise) and is finite.
    pub fn accepts(self, window: Window) -> bool {
        let finite = window.center.is_finite() && window.width.is_finite();
        finite
            && match self {
                VoiFunction::Linear => window.width >= 1.0,
                VoiFunction::LinearExact | VoiFunction::Sigmoid => window.width > 0.0,
            }
    }

    /// The window mapping modality values `min` to 0 and `max` to full scale
    /// (for SIGMOID, the LINEAR_EXACT window over that range).
    pub fn min_max_window(self, min: f64, max: f64) -> Window {
        match self {
            VoiFunction::Linear => Window {
                center: (min + max) / 2.0 + 0.5,
                width: (max - min + 1.0).max(1.0),
            },
            VoiFunction::LinearExact | VoiFunction::Sigmoid => Window {
                center: (min + max) / 2.0,
                width: (max - min).max(f64::MIN_POSITIVE),
            },
        }
    }

    /// The output of this function for modality value `x`, in `0.0..=255.0`.
    /// The window must satisfy [`Self::accepts`].
    pub fn apply(self, window: Window, x: f64) -> f64 {
        const Y_MAX: f64 = 255.0;
        let Window {
            center: c,
            width: w,
        } = window;
        match self {
            VoiFunction::Linear => {
                if w <= 1.0 {
                    // Width 1: a threshold at c − 0.5.
                    return if x <= c - 0.5 { 0.0 } else { Y_MAX };
                }
                if x <= c - 0.5 - (w - 1.0) / 2.0 {
                    0.0
                } else if x > c - 0.5 + (w - 1.0) / 2.0 {
                    Y_MAX
                } else {
                    ((x - (c - 0.5)) / (w - 1.0) + 0.5) * Y_MAX
                }
            }
            VoiFunction::LinearExact => {
                if x <= c - w / 2.0 {
                    0.0
                } else if x > c + w / 2.0 {
                    Y_MAX
                } else {
                    ((x - c) / w + 0.5) * Y_MAX
                }
            }
            VoiFunction::Sigmoid => Y_MAX / (1.0 + (-4.0 * (x - c) / w).exp()),
        }
    }
}

/// Rounds a VOI output to the 8-bit grey level (nearest, halves away from zero).
#[inline]
pub fn to_grey(y: f64) -> u8 {
    y.round().clamp(0.0, 255.0) as u8
}

/// Modality LUT: rescale slope and intercept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rescale {
    pub slope: f64,
    pub intercept: f64,
}

impl Rescale {
    #[inline]
    pub fn apply(self, stored: i32) -> f64 {
        f64::from(stored) * self.slope + self.intercept
    }
}

/// The smallest and largest stored value of a single-sample frame.
pub(crate) fn stored_min_max(frame: &DecodedFrame) -> (i32, i32) {
    let bits = StoredBits::of(frame);
    // Mark which indices occur, then read the extremes off the table: this is
    // as fast as a min/max pass and gets signed order right without branches.
    let mut seen = vec![false; 1usize << bits.bits];
    match &frame.samples {
        Samples::U8(v) => v
            .iter()
            .for_each(|&w| seen[bits.index(u32::from(w))] = true),
        Samples::U16(v) => v
            .iter()
            .for_each(|&w| seen[bits.index(u32::from(w))] = true),
    }
    let mut min = i32::MAX;
    let mut max = i32::MIN;
    for (index, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
        let value = bits.value_of_index(index);
        min = min.min(value);
        max = max.max(value);
    }
    if min > max { (0, 0) } else { (min, max) }
}

/// A table from stored bits (see [`StoredBits::index`]) to grey level:
/// rescale, then VOI, then inversion for MONOCHROME1.
pub(crate) fn grey_lut(
    frame: &DecodedFrame,
    rescale: Rescale,
    function: VoiFunction,
    window: Window,
    invert: bool,
) -> Vec<u8> {
    let bits = StoredBits::of(frame);
    (0..1usize << bits.bits)
        .map(|index| {
            let x = rescale.apply(bits.value_of_index(index));
            let grey = to_grey(function.apply(window, x));
            if invert { 255 - grey } else { grey }
        })
        .collect()
}

/// Checks a window a client asked for.
pub(crate) fn check_requested(window: Window, function: VoiFunction) -> Result<(), RenderError> {
    if function.accepts(window) {
        Ok(())
    } else {
        Err(RenderError::InvalidWindow {
            center: window.center,
            width: window.width,
            function: function.as_str(),
        })
    }
}
