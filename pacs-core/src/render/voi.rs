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

/// VOI LUT Function (0028,1056): the viewer's definition, so the server
/// and the viewer window alike.
pub use viewer_core::voi::VoiFunction;

/// The output of `function` for modality value `x`, in `0.0..=255.0`: the
/// formulas of `viewer_core::voi::Window::apply`, scaled to eight bits.
pub fn apply(function: VoiFunction, window: Window, x: f64) -> f64 {
    viewer_core::voi::Window::new(window.center, window.width, function).apply(x) * 255.0
}

/// Whether `window` is finite and satisfies `function`'s constraint on the
/// width (at least 1 for LINEAR, above 0 otherwise).
pub fn accepts(function: VoiFunction, window: Window) -> bool {
    window.center.is_finite() && window.width.is_finite() && window.width >= function.min_width()
}

/// The window mapping modality values `min` to 0 and `max` to full scale
/// (for SIGMOID, the LINEAR_EXACT window over that range).
pub fn min_max_window(function: VoiFunction, min: f64, max: f64) -> Window {
    match function {
        VoiFunction::Linear => {
            let w = viewer_core::voi::Window::from_range(min, max);
            Window {
                center: w.center,
                width: w.width,
            }
        }
        VoiFunction::LinearExact | VoiFunction::Sigmoid => Window {
            center: (min + max) / 2.0,
            width: (max - min).max(function.min_width()),
        },
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
            let grey = to_grey(apply(function, window, x));
            if invert { 255 - grey } else { grey }
        })
        .collect()
}

/// Checks a window a client asked for.
pub(crate) fn check_requested(window: Window, function: VoiFunction) -> Result<(), RenderError> {
    if accepts(function, window) {
        Ok(())
    } else {
        Err(RenderError::InvalidWindow {
            center: window.center,
            width: window.width,
            function: function.as_str(),
        })
    }
}
