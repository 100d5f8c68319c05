//! VOI windows: how modality values (HU for CT) become grey levels.
//!
//! The formulas are PS3.3 C.11.2.1.2 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT)
//! and C.11.2.1.3.1 (SIGMOID) with the output range `y_min = 0`,
//! `y_max = 1`. The renderer's fragment shader implements exactly
//! [`Window::apply`]; a pixel with grey level `g` is displayed as the byte
//! `round(g × 255)`, inverted (`1 − g`) for MONOCHROME1 or a user invert.

use crate::i18n::{Lang, t_with};
use crate::image::ImageInfo;

/// The VOI LUT Function (0028,1056).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VoiFunction {
    /// `LINEAR`, the default: the historical formula with its half-unit
    /// offsets, so that a window of width `w` has `w` distinct input
    /// integers between black and white.
    #[default]
    Linear,
    /// `LINEAR_EXACT`: the straight line from `c − w/2` to `c + w/2`.
    LinearExact,
    /// `SIGMOID`: a logistic curve through `(c, 0.5)` whose slope there is
    /// `1/w`; it never reaches 0 or 1.
    Sigmoid,
}

impl VoiFunction {
    /// Parses the defined terms of (0028,1056); `None` for anything else.
    pub fn parse(term: &str) -> Option<VoiFunction> {
        match term.trim().to_ascii_uppercase().as_str() {
            "LINEAR" => Some(VoiFunction::Linear),
            "LINEAR_EXACT" => Some(VoiFunction::LinearExact),
            "SIGMOID" => Some(VoiFunction::Sigmoid),
            _ => None,
        }
    }

    /// The defined term, as written in the attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            VoiFunction::Linear => "LINEAR",
            VoiFunction::LinearExact => "LINEAR_EXACT",
            VoiFunction::Sigmoid => "SIGMOID",
        }
    }

    /// The smallest width the function accepts: PS3.3 requires `w ≥ 1` for
    /// LINEAR and `w > 0` for the others.
    pub fn min_width(self) -> f64 {
        match self {
            VoiFunction::Linear => 1.0,
            VoiFunction::LinearExact | VoiFunction::Sigmoid => f64::MIN_POSITIVE,
        }
    }
}

/// A window centre and width in modality units, with its function.
///
/// Invariant kept by every constructor here: `width ≥ function.min_width()`
/// and both numbers finite. [`Window::apply`] also clamps the width itself,
/// so a hand-built window cannot divide by zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub center: f64,
    pub width: f64,
    pub function: VoiFunction,
    /// Window Center & Width Explanation (0028,1055), e.g. "BONE".
    pub explanation: Option<String>,
}

impl Window {
    /// A LINEAR window; the width is raised to 1 if smaller.
    pub fn linear(center: f64, width: f64) -> Window {
        Window::new(center, width, VoiFunction::Linear)
    }

    /// A window with the given function; the width is raised to the
    /// function's minimum if smaller.
    pub fn new(center: f64, width: f64, function: VoiFunction) -> Window {
        Window {
            center,
            width: width.max(function.min_width()),
            function,
            explanation: None,
        }
    }

    /// The grey level in `0.0..=1.0` for a modality value `x`, with
    /// `c = center`, `w = width`:
    ///
    /// - LINEAR (`w` taken as at least 1):
    ///   `x ≤ c − 0.5 − (w−1)/2` → 0;
    ///   `x > c − 0.5 + (w−1)/2` → 1;
    ///   otherwise `(x − (c − 0.5)) / (w − 1) + 0.5`.
    ///   With `w = 1` the two tests cover every `x` (a threshold at
    ///   `c − 0.5`), so the division never happens.
    /// - LINEAR_EXACT: `x ≤ c − w/2` → 0; `x > c + w/2` → 1; otherwise
    ///   `(x − c) / w + 0.5`.
    /// - SIGMOID: `1 / (1 + exp(−4 (x − c) / w))`.
    ///
    /// NaN input gives 0.
    pub fn apply(&self, x: f64) -> f64 {
        let c = self.center;
        let w = self.width.max(self.function.min_width());
        let y = match self.function {
            VoiFunction::Linear => {
                if x <= c - 0.5 - (w - 1.0) / 2.0 {
                    0.0
                } else if x > c - 0.5 + (w - 1.0) / 2.0 {
                    1.0
                } else {
                    (x - (c - 0.5)) / (w - 1.0) + 0.5
                }
            }
            VoiFunction::LinearExact => {
                if x <= c - w / 2.0 {
                    0.0
                } else if x > c + w / 2.0 {
                    1.0
                } else {
                    (x - c) / w + 0.5
                }
            }
            VoiFunction::Sigmoid => 1.0 / (1.0 + (-4.0 * (x - c) / w).exp()),
        };
        if y.is_nan() { 0.0 } else { y.clamp(0.0, 1.0) }
    }

    /// The window after a mouse drag of `(dx, dy)` screen pixels:
    /// horizontal motion changes the width (right widens: less contrast),
    /// vertical motion the centre (down raises it: darker), each by
    /// `sensitivity` modality units per pixel. The width never drops below
    /// 1; the explanation is dropped because the window is no longer the
    /// file's.
    pub fn adjusted_by_drag(&self, dx: f64, dy: f64, sensitivity: f64) -> Window {
        let width = self.width + dx * sensitivity;
        let center = self.center + dy * sensitivity;
        Window {
            center: if center.is_finite() {
                center
            } else {
                self.center
            },
            width: if width.is_finite() {
                width.max(1.0)
            } else {
                self.width
            },
            function: self.function,
            explanation: None,
        }
    }

    /// The overlay text, e.g. `"W 400 L 40"`, with both numbers written by
    /// [`format_value`].
    pub fn overlay_text(&self, lang: Lang) -> String {
        let (width, center) = (format_value(self.width), format_value(self.center));
        t_with(
            lang,
            "overlay.window",
            &[("width", &width), ("center", &center)],
        )
    }

    /// The LINEAR window that maps `min` to black and `max` to white
    /// exactly: `w = max − min + 1`, `c = (min + max + 1) / 2`, so that
    /// `c − 0.5 − (w−1)/2 = min` and `c − 0.5 + (w−1)/2 = max`.
    pub fn from_range(min: f64, max: f64) -> Window {
        let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
        Window::linear((lo + hi + 1.0) / 2.0, hi - lo + 1.0)
    }
}

/// A window (or any modality) number as a reader expects to see it:
/// integral values without decimals (`"40"`, `"-600"`), others rounded to
/// two decimals with trailing zeros dropped (`"40.5"`, `"0.25"`); never
/// `"-0"`.
pub fn format_value(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let rounded = (x * 100.0).round() / 100.0;
    if rounded == 0.0 {
        return "0".to_owned();
    }
    let text = format!("{rounded:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A named CT window, chosen from a menu or with a digit key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// Stable identifier, e.g. `"lung"`.
    pub id: &'static str,
    /// The [`crate::i18n`] key of its name.
    pub label_key: &'static str,
    pub center: f64,
    pub width: f64,
    /// The keyboard digit that selects it.
    pub shortcut: char,
}

impl Preset {
    /// The preset as a LINEAR window.
    pub fn window(&self) -> Window {
        Window::linear(self.center, self.width)
    }
}

static CT_PRESETS: [Preset; 5] = [
    Preset {
        id: "soft_tissue",
        label_key: "preset.soft_tissue",
        center: 40.0,
        width: 400.0,
        shortcut: '1',
    },
    Preset {
        id: "lung",
        label_key: "preset.lung",
        center: -600.0,
        width: 1500.0,
        shortcut: '2',
    },
    Preset {
        id: "bone",
        label_key: "preset.bone",
        center: 400.0,
        width: 1800.0,
        shortcut: '3',
    },
    Preset {
        id: "brain",
        label_key: "preset.brain",
        center: 40.0,
        width: 80.0,
        shortcut: '4',
    },
    Preset {
        id: "liver",
        label_key: "preset.liver",
        center: 60.0,
        width: 150.0,
        shortcut: '5',
    },
];

/// The CT presets in HU, on keys 1–5: soft tissue 40/400 (1), lung
/// −600/1500 (2), bone 400/1800 (3), brain 40/80 (4), liver 60/150 (5).
pub fn ct_presets() -> &'static [Preset] {
    &CT_PRESETS
}

/// The preset a digit key selects, if any.
pub fn preset_for_key(key: char) -> Option<&'static Preset> {
    CT_PRESETS.iter().find(|p| p.shortcut == key)
}

/// The window an image opens with: the first window in the file (with its
/// function and explanation); else the frame's range, which the caller
/// passes as `(min, max)` **in modality units**; else the full range the
/// stored bits can hold, through the rescale.
pub fn default_window(info: &ImageInfo, frame_min_max: Option<(f64, f64)>) -> Window {
    if let Some(window) = info.windows.first() {
        return window.clone();
    }
    if let Some((min, max)) = frame_min_max.filter(|(a, b)| a.is_finite() && b.is_finite()) {
        return Window::from_range(min, max);
    }
    let (lo, hi) = info.stored_range();
    let (a, b) = (info.to_modality(lo as f64), info.to_modality(hi as f64));
    Window::from_range(a.min(b), a.max(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_matches_the_standard_at_its_edges() {
        // c = 40, w = 400: black up to c − 0.5 − 199.5 = −160,
        // white above c − 0.5 + 199.5 = 239.
        let w = Window::linear(40.0, 400.0);
        assert_eq!(w.apply(-1000.0), 0.0);
        assert_eq!(w.apply(-160.0), 0.0);
        // Just above the lower edge: (−159 − 39.5)/399 + 0.5 = 1/399 + ...
        // (−159 + 160)/399 = 0.0025062…
        assert!((w.apply(-159.0) - 1.0 / 399.0).abs() < 1e-12);
        // At c − 0.5 the output is exactly one half.
        assert_eq!(w.apply(39.5), 0.5);
        // At the upper edge 239: (239 − 39.5)/399 + 0.5 = 1.
        assert!((w.apply(239.0) - 1.0).abs() < 1e-12);
        assert_eq!(w.apply(239.0001), 1.0);
        assert_eq!(w.apply(3000.0), 1.0);
    }

    #[test]
    fn linear_with_width_one_is_a_threshold_at_c_minus_half() {
        let w = Window::linear(100.0, 1.0);
        assert_eq!(w.apply(99.5), 0.0);
        assert_eq!(w.apply(99.0), 0.0);
        assert_eq!(w.apply(99.500_001), 1.0);
        assert_eq!(w.apply(100.0), 1.0);
        // A hand-built width below 1 behaves as width 1, never NaN.
        let bad = Window {
            width: 0.0,
            ..w.clone()
        };
        assert_eq!(bad.apply(99.0), 0.0);
        assert_eq!(bad.apply(100.0), 1.0);
    }

    #[test]
    fn linear_exact_is_the_straight_line() {
        // c = 0, w = 100: black at ≤ −50, white above 50, (x/100 + 0.5) between.
        let w = Window::new(0.0, 100.0, VoiFunction::LinearExact);
        assert_eq!(w.apply(-50.0), 0.0);
        assert_eq!(w.apply(-25.0), 0.25);
        assert_eq!(w.apply(0.0), 0.5);
        assert_eq!(w.apply(50.0), 1.0);
        assert_eq!(w.apply(50.1), 1.0);
        // Widths below 1 are legal for LINEAR_EXACT.
        let narrow = Window::new(1.0, 0.5, VoiFunction::LinearExact);
        assert_eq!(narrow.width, 0.5);
        assert_eq!(narrow.apply(1.125), 0.75);
    }

    #[test]
    fn sigmoid_passes_the_centre_at_half() {
        let w = Window::new(40.0, 400.0, VoiFunction::Sigmoid);
        assert_eq!(w.apply(40.0), 0.5);
        // x = c + w/4: 1/(1 + e^−1) = 0.731058578630…
        assert!((w.apply(140.0) - 0.731_058_578_630_004_9).abs() < 1e-12);
        // Symmetric: f(c − d) = 1 − f(c + d).
        assert!((w.apply(-60.0) - (1.0 - 0.731_058_578_630_004_9)).abs() < 1e-12);
        assert!(w.apply(-1e6) >= 0.0 && w.apply(1e6) <= 1.0);
    }

    #[test]
    fn nan_is_black() {
        assert_eq!(Window::linear(0.0, 10.0).apply(f64::NAN), 0.0);
    }

    #[test]
    fn drag_changes_width_horizontally_and_centre_vertically() {
        let w = Window::linear(40.0, 400.0);
        let d = w.adjusted_by_drag(10.0, -5.0, 2.0);
        assert_eq!((d.center, d.width), (30.0, 420.0));
        let narrow = w.adjusted_by_drag(-1000.0, 0.0, 1.0);
        assert_eq!(narrow.width, 1.0);
        assert_eq!(narrow.center, 40.0);
    }

    #[test]
    fn from_range_maps_min_to_black_and_max_to_white() {
        let w = Window::from_range(-1024.0, 3071.0);
        assert_eq!((w.center, w.width), (1024.0, 4096.0));
        assert_eq!(w.apply(-1024.0), 0.0);
        assert!((w.apply(3071.0) - 1.0).abs() < 1e-12);
        assert!(w.apply(-1023.0) > 0.0);
        assert!(w.apply(3070.0) < 1.0);
    }

    #[test]
    fn window_numbers_read_as_written() {
        assert_eq!(format_value(40.0), "40");
        assert_eq!(format_value(-600.0), "-600");
        assert_eq!(format_value(1500.0), "1500");
        assert_eq!(format_value(40.5), "40.5");
        assert_eq!(format_value(0.254), "0.25");
        assert_eq!(format_value(-0.001), "0");
        assert_eq!(format_value(99.999), "100");
        assert_eq!(
            Window::linear(40.0, 400.0).overlay_text(Lang::En),
            "W 400 L 40"
        );
        assert_eq!(
            Window::linear(-600.5, 1500.0).overlay_text(Lang::Uz),
            "W 1500 L -600.5"
        );
    }

    #[test]
    fn presets_are_the_documented_windows_on_keys_one_to_five() {
        let expected = [
            ('1', 40.0, 400.0),
            ('2', -600.0, 1500.0),
            ('3', 400.0, 1800.0),
            ('4', 40.0, 80.0),
            ('5', 60.0, 150.0),
        ];
        for (key, c, w) in expected {
            let p = preset_for_key(key).unwrap();
            assert_eq!((p.center, p.width), (c, w), "preset on key {key}");
        }
        assert_eq!(ct_presets().len(), 5);
        assert!(preset_for_key('6').is_none());
    }

    #[test]
    fn function_terms_round_trip() {
        for f in [
            VoiFunction::Linear,
            VoiFunction::LinearExact,
            VoiFunction::Sigmoid,
        ] {
            assert_eq!(VoiFunction::parse(f.as_str()), Some(f));
        }
        assert_eq!(VoiFunction::parse(" sigmoid "), Some(VoiFunction::Sigmoid));
        assert_eq!(VoiFunction::parse("LOG"), None);
    }
}
