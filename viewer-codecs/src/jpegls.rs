//! JPEG-LS (ITU-T T.87) frames: lossless (1.2.840.10008.1.2.4.80) and
//! near-lossless (.4.81), through `pure_jpegls`.
//!
//! That decoder handles one component only, which covers the grey images
//! that make up nearly all JPEG-LS in radiology; colour JPEG-LS frames fail
//! with an error for which [`DecodeError::needs_server_decoding`] holds.

use std::borrow::Cow;

use crate::jpeg::first_frame_segment;
use crate::layout::{Layout, Samples};
use crate::{DecodeError, Pixels};

pub(crate) fn decode(layout: &Layout<'_>, data: &[u8]) -> Result<Pixels, DecodeError> {
    let (marker, segment) =
        first_frame_segment(data).map_err(|m| DecodeError::Corrupt(format!("JPEG-LS: {m}")))?;
    if marker != 0xF7 {
        return Err(DecodeError::Corrupt(format!(
            "JPEG-LS: the frame header is SOF marker 0xFF{marker:02X}, not SOF55 (0xFFF7)"
        )));
    }
    if segment.len() < 6 {
        return Err(DecodeError::Corrupt(
            "JPEG-LS: the frame header is too short".into(),
        ));
    }
    let precision = u16::from(segment[0]);
    let rows = usize::from(u16::from_be_bytes([segment[1], segment[2]]));
    let columns = usize::from(u16::from_be_bytes([segment[3], segment[4]]));
    let components = usize::from(segment[5]);
    if layout.is_colour() && components == 3 {
        return Err(layout.unsupported("colour JPEG-LS"));
    }
    layout.expect_codec_shape("JPEG-LS", columns, rows, components, precision)?;
    let data = without_fill_before_eoi(data);
    let (words, width, height) = jpegls::decode(&data, columns as u32, rows as u32)
        .map_err(|e| DecodeError::Corrupt(format!("JPEG-LS: {e}")))?;
    if (width as usize, height as usize) != (columns, rows) {
        return Err(DecodeError::Mismatch(format!(
            "the JPEG-LS stream decoded to {width}×{height}, its header says {columns}×{rows}"
        )));
    }
    layout.monochrome(Samples::U16(words))
}

/// The stream without 0xFF fill bytes between the scan and the final EOI
/// marker. T.87 (like T.81) allows any number of them before a marker, and
/// dcmtk's encoder writes one, but `pure_jpegls` expects EOI right after
/// the scan. A 0xFF that is scan data is always followed by a byte below
/// 0x80, so an 0xFF directly before `FF D9` can only be fill.
fn without_fill_before_eoi(data: &[u8]) -> Cow<'_, [u8]> {
    // DICOM pads odd-length fragments with one zero byte after EOI.
    let end = data.len() - usize::from(data.last() == Some(&0));
    let Some(eoi) = end.checked_sub(2).filter(|&e| data[e..end] == [0xFF, 0xD9]) else {
        return Cow::Borrowed(data);
    };
    let mut scan_end = eoi;
    while scan_end > 0 && data[scan_end - 1] == 0xFF {
        scan_end -= 1;
    }
    if scan_end == eoi {
        return Cow::Borrowed(data);
    }
    let mut joined = Vec::with_capacity(scan_end + 2);
    joined.extend_from_slice(&data[..scan_end]);
    joined.extend_from_slice(&[0xFF, 0xD9]);
    Cow::Owned(joined)
}

#[cfg(test)]
mod tests {
    use crate::{DecodeError, FrameDescriptor, decode};

    const JPEG_LS: &str = "1.2.840.10008.1.2.4.80";

    fn sof55(rows: u16, columns: u16, components: u8) -> Vec<u8> {
        let mut s = vec![0xFF, 0xD8, 0xFF, 0xF7];
        s.extend_from_slice(&(8 + 3 * u16::from(components)).to_be_bytes());
        s.push(8);
        s.extend_from_slice(&rows.to_be_bytes());
        s.extend_from_slice(&columns.to_be_bytes());
        s.push(components);
        for c in 0..components {
            s.extend_from_slice(&[c + 1, 0x11, 0]);
        }
        s
    }

    #[test]
    fn fill_bytes_before_the_final_marker_are_dropped() {
        use super::without_fill_before_eoi as strip;
        assert_eq!(&*strip(&[1, 0xFF, 0xFF, 0xFF, 0xD9]), [1, 0xFF, 0xD9]);
        assert_eq!(&*strip(&[1, 0xFF, 0xFF, 0xD9, 0]), [1, 0xFF, 0xD9]);
        // Scan data ending in a stuffed byte, and streams without EOI, stay.
        assert_eq!(&*strip(&[0xFF, 0x7F, 0xFF, 0xD9]), [0xFF, 0x7F, 0xFF, 0xD9]);
        assert_eq!(&*strip(&[0xFF, 0xFF]), [0xFF, 0xFF]);
        assert_eq!(&*strip(&[0xD9]), [0xD9]);
        assert_eq!(&*strip(&[]), [0u8; 0]);
    }

    #[test]
    fn colour_is_refused_politely_and_headers_are_checked() {
        let rgb = FrameDescriptor {
            rows: 4,
            columns: 4,
            samples_per_pixel: 3,
            bits_allocated: 8,
            bits_stored: 8,
            pixel_representation: 0,
            photometric: "RGB".into(),
            planar_configuration: 0,
        };
        let err = decode(JPEG_LS, &sof55(4, 4, 3), &rgb).unwrap_err();
        assert!(err.needs_server_decoding(), "{err}");
        let grey = FrameDescriptor {
            samples_per_pixel: 1,
            photometric: "MONOCHROME2".into(),
            ..rgb
        };
        assert!(matches!(
            decode(JPEG_LS, &sof55(4, 5, 1), &grey),
            Err(DecodeError::Mismatch(_))
        ));
        // A JPEG (SOF0) stream under a JPEG-LS transfer syntax.
        let mut jpeg = sof55(4, 4, 1);
        jpeg[3] = 0xC0;
        assert!(matches!(
            decode(JPEG_LS, &jpeg, &grey),
            Err(DecodeError::Corrupt(_))
        ));
        // A matching header and no scan.
        assert!(matches!(
            decode(JPEG_LS, &sof55(4, 4, 1), &grey),
            Err(DecodeError::Corrupt(_))
        ));
    }
}
