//! Numbers as the overlays print them. The window overlay must show the
//! window exactly as it is applied (a reader compares it with the value a
//! colleague dictated), so it never rounds; everything else is rounded to
//! what a reader can use.

/// A window value exactly: integers without a decimal point (`400`,
/// `-600`), other values in the shortest form that reads back as the same
/// number (`40.5`). Negative zero prints as `0`.
pub fn exact(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    format!("{value}")
}

/// A value with at most `decimals` decimals, trailing zeros dropped
/// (`2.50` → `2.5`, `3.00` → `3`).
pub fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" { "0".to_owned() } else { text }
}

/// Zoom as a percentage of one image pixel per screen pixel (`150%`).
pub fn zoom_percent(zoom: f64) -> String {
    format!("{}%", (zoom * 100.0).round())
}

/// A window value after a drag: whole numbers when the image's modality
/// values are whole (CT in HU, most radiographs), else three decimals.
/// Keeps the overlay short and the window reproducible.
pub fn round_window_value(value: f64, integral_values: bool) -> f64 {
    let rounded = if integral_values {
        value.round()
    } else {
        (value * 1000.0).round() / 1000.0
    };
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// How many modality units one pixel of window/level drag is worth: the
/// value range over 1024 (a full-range sweep across a wide screen), at
/// least one unit for whole-number images.
pub fn window_drag_sensitivity(range: f64, integral_values: bool) -> f64 {
    let per_pixel = (range / 1024.0).abs();
    let per_pixel = if per_pixel.is_finite() && per_pixel > 0.0 {
        per_pixel
    } else {
        1.0
    };
    if integral_values {
        per_pixel.max(1.0)
    } else {
        per_pixel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_values_are_exact_and_integers_when_integral() {
        assert_eq!(exact(400.0), "400");
        assert_eq!(exact(-600.0), "-600");
        assert_eq!(exact(40.5), "40.5");
        assert_eq!(exact(-0.0), "0");
        assert_eq!(exact(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn trimmed_values_drop_trailing_zeros() {
        assert_eq!(trimmed(2.5, 2), "2.5");
        assert_eq!(trimmed(3.0, 2), "3");
        assert_eq!(trimmed(148.75, 1), "148.8");
        assert_eq!(trimmed(-0.01, 1), "0");
        assert_eq!(trimmed(120.0, 0), "120");
    }

    #[test]
    fn zoom_reads_as_percent() {
        assert_eq!(zoom_percent(1.0), "100%");
        assert_eq!(zoom_percent(1.5625), "156%");
    }

    #[test]
    fn dragged_windows_stay_whole_for_whole_number_images() {
        assert_eq!(round_window_value(40.4, true), 40.0);
        assert_eq!(round_window_value(-0.4, true), 0.0);
        assert_eq!(round_window_value(0.12345, false), 0.123);
        // A 12-bit CT range (4096 values) moves 4 HU per pixel; a tiny
        // range still moves a whole unit; fractional images move freely.
        assert_eq!(window_drag_sensitivity(4096.0, true), 4.0);
        assert_eq!(window_drag_sensitivity(255.0, true), 1.0);
        assert_eq!(window_drag_sensitivity(1.024, false), 0.001);
        assert_eq!(window_drag_sensitivity(f64::NAN, false), 1.0);
    }
}
