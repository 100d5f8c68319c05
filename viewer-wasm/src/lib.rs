//! The web viewer. It is compiled to `wasm32-unknown-unknown` and served by
//! `pacs serve`; it reads studies over the archive's DICOMweb API only.
//!
//! For now this crate holds the pure window/level arithmetic that the viewer
//! and the server's `/rendered` endpoint must agree on.

/// Maps a modality value to an 8-bit grey level with the linear VOI LUT
/// function of PS3.3 C.11.2.1.2.1.
pub fn window_linear(value: f64, center: f64, width: f64) -> u8 {
    let width = width.max(1.0);
    let low = center - 0.5 - (width - 1.0) / 2.0;
    let high = center - 0.5 + (width - 1.0) / 2.0;
    if value <= low {
        0
    } else if value > high {
        255
    } else {
        (((value - (center - 0.5)) / (width - 1.0) + 0.5) * 255.0).round() as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_clamps_and_centres() {
        assert_eq!(window_linear(-1000.0, 40.0, 400.0), 0);
        assert_eq!(window_linear(1000.0, 40.0, 400.0), 255);
        let mid = window_linear(40.0, 40.0, 400.0);
        assert!((127..=129).contains(&mid), "{mid}");
    }
}
