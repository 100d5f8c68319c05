//! Walking encoded element headers: hand-written byte sequences.
use super::*;

fn explicit_le() -> Encoding {
    Encoding {
        explicit_vr: true,
        little_endian: true,
    }
}

fn element(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&tag.0.to_le_bytes());
    out.extend_from_slice(&tag.1.to_le_bytes());
    out.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

#[test]
fn finds_native_pixel_data_after_an_undefined_length_sequence() {
    let mut ds = element((0x0008, 0x0016), b"UI", b"1.2\0");
    // (0008,1140) SQ undefined length with one undefined-length item
    ds.extend_from_slice(&[
        0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    ds.extend(element((0x0008, 0x1150), b"UI", b"1.2\0"));
    ds.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    ds.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    let pixel_header_at = ds.len();
    ds.extend(element((0x7FE0, 0x0010), b"OW", &[1, 2, 3, 4, 5, 6, 7, 8]));
    let layout = locate_pixel_data(&ds, explicit_le(), 1000, 2).unwrap();
    assert_eq!(
        layout,
        PixelLayout::Native {
            value: Span {
                offset: 1000 + pixel_header_at as u64 + 12,
                length: 8
            },
            frame_length: 4
        }
    );
}

#[test]
fn finds_fragments_per_frame() {
    let mut ds = Vec::new();
    ds.extend_from_slice(&[
        0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    // offset table: two frames, second starts 12 bytes after the first item
    ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 8, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0]);
    let f1 = ds.len() + 8;
    ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD]);
    let f2 = ds.len() + 8;
    ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 2, 0, 0, 0, 0xEE, 0xFF]);
    let f3 = ds.len() + 8;
    ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 2, 0, 0, 0, 0x11, 0x22]);
    ds.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    let layout = locate_pixel_data(&ds, explicit_le(), 0, 2).unwrap();
    let span = |o: usize, l| Span {
        offset: o as u64,
        length: l,
    };
    assert_eq!(
        layout,
        PixelLayout::Encapsulated {
            frames: vec![vec![span(f1, 4)], vec![span(f2, 2), span(f3, 2)]]
        }
    );
}

#[test]
fn absurd_lengths_are_errors_not_panics() {
    let mut ds = element((0x0008, 0x0016), b"UI", b"1.2\0");
    ds.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, b'P', b'N', 0xFF, 0xFF]);
    assert!(matches!(
        locate_pixel_data(&ds, explicit_le(), 0, 1),
        Err(LayoutError::LengthOverrun { .. })
    ));
    for cut in 0..ds.len() {
        let _ = locate_pixel_data(&ds[..cut], explicit_le(), 0, 1);
    }
}

#[test]
fn nested_lengths_inside_a_defined_length_sequence_are_checked() {
    // (0008,1140) SQ of 24 bytes: one item of 16 bytes holding a UN
    // element that claims 0xFFFFFFF0 bytes.
    let mut ds = vec![0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0, 24, 0, 0, 0];
    ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 16, 0, 0, 0]);
    ds.extend_from_slice(&[
        0x09, 0x00, 0x10, 0x00, b'U', b'N', 0, 0, 0xF0, 0xFF, 0xFF, 0xFF,
    ]);
    ds.extend_from_slice(&[0, 0, 0, 0]);
    assert!(matches!(
        locate_pixel_data(&ds, explicit_le(), 0, 1),
        Err(LayoutError::LengthOverrun { .. })
    ));
    // implicit VR: the dictionary says (0008,1140) is a sequence
    let mut ds = vec![0x08, 0x00, 0x40, 0x11, 20, 0, 0, 0];
    ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 12, 0, 0, 0]);
    ds.extend_from_slice(&[0x08, 0x00, 0x50, 0x11, 0xF0, 0xFF, 0xFF, 0xFF]);
    ds.extend_from_slice(&[0, 0, 0, 0]);
    let implicit = Encoding {
        explicit_vr: false,
        little_endian: true,
    };
    assert!(matches!(
        locate_pixel_data(&ds, implicit, 0, 1),
        Err(LayoutError::LengthOverrun { .. })
    ));
}

#[test]
fn part10_header_is_read() {
    let mut f = vec![0u8; 128];
    f.extend_from_slice(b"DICM");
    f.extend(element((0x0002, 0x0002), b"UI", b"1.2.3\0"));
    f.extend(element((0x0002, 0x0003), b"UI", b"4.5\0"));
    f.extend(element((0x0002, 0x0010), b"UI", b"1.2.840.10008.1.2.1\0"));
    let ds_at = f.len();
    f.extend(element((0x0008, 0x0016), b"UI", b"1.2.3\0"));
    let h = read_part10_header(&f).unwrap();
    assert_eq!(h.media_storage_sop_class_uid, "1.2.3");
    assert_eq!(h.media_storage_sop_instance_uid, "4.5");
    assert_eq!(h.transfer_syntax_uid, "1.2.840.10008.1.2.1");
    assert_eq!(h.dataset_offset, ds_at);
    assert!(read_part10_header(&f[..100]).is_err());
}
