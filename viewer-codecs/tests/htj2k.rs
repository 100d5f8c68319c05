//! HTJ2K codestreams made at test time by OpenJPH's `ojph_compress` (no
//! DICOM tool here writes HTJ2K yet; the codestream is the whole frame, as
//! in an encapsulated HTJ2K instance), decoded here and compared with the
//! source and with OpenJPH's own `ojph_expand`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{difference, first_difference, values};
use dicom_samples::CtPixelEncoding;
use viewer_codecs::{FrameDescriptor, decode};

const OJPH_COMPRESS: &str = "/usr/bin/ojph_compress";
const OJPH_EXPAND: &str = "/usr/bin/ojph_expand";
const PACKAGE: &str = "openjph-tools";

const HTJ2K_LOSSLESS: &str = "1.2.840.10008.1.2.4.201";
const HTJ2K_LOSSLESS_RPCL: &str = "1.2.840.10008.1.2.4.202";
const HTJ2K: &str = "1.2.840.10008.1.2.4.203";

fn ojph(tool: &str, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn grey_descriptor(rows: u16, columns: u16, signed: bool) -> FrameDescriptor {
    FrameDescriptor {
        rows,
        columns,
        samples_per_pixel: 1,
        bits_allocated: 16,
        bits_stored: 12,
        pixel_representation: u16::from(signed),
        photometric: "MONOCHROME2".into(),
        planar_configuration: 0,
    }
}

/// A binary PGM/PPM (16-bit samples big-endian when maxval > 255).
fn write_netpbm(path: &Path, magic: &str, columns: usize, rows: usize, max: i32, v: &[i32]) {
    let mut bytes = format!("{magic}\n{columns} {rows}\n{max}\n").into_bytes();
    for &s in v {
        if max > 255 {
            bytes.extend_from_slice(&(s as u16).to_be_bytes());
        } else {
            bytes.push(s as u8);
        }
    }
    std::fs::write(path, bytes).expect("write netpbm");
}

/// The samples of a binary PGM that `ojph_expand` wrote.
fn read_pgm(path: &Path) -> Vec<i32> {
    let bytes = std::fs::read(path).expect("read pgm");
    // Header: magic, width, height, maxval, each followed by whitespace.
    let mut fields = 0;
    let mut pos = 0;
    let mut header = String::new();
    while fields < 4 {
        let c = bytes[pos] as char;
        pos += 1;
        if c.is_ascii_whitespace() {
            if !header.ends_with(' ') && !header.is_empty() {
                fields += 1;
                header.push(' ');
            }
        } else {
            header.push(c);
        }
    }
    let max: i32 = header
        .split(' ')
        .nth(3)
        .and_then(|m| m.parse().ok())
        .expect("maxval");
    if max > 255 {
        bytes[pos..]
            .chunks_exact(2)
            .map(|b| i32::from(u16::from_be_bytes([b[0], b[1]])))
            .collect()
    } else {
        bytes[pos..].iter().map(|&b| i32::from(b)).collect()
    }
}

#[test]
fn lossless_grey_and_colour_round_trip_exactly() {
    let (Some(compress), Some(_)) = (
        common::tool(OJPH_COMPRESS, PACKAGE),
        common::tool(OJPH_EXPAND, PACKAGE),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Unsigned 12-bit CT from a 12-bit PGM.
    let ct = common::ct(d, CtPixelEncoding::UnsignedOffset, 12);
    write_netpbm(&d.join("ct.pgm"), "P5", 128, 96, 4095, &ct.values);
    let ct_j2c = d.join("ct.j2c");
    ojph(
        compress,
        &[
            "-i",
            path(&d.join("ct.pgm")),
            "-o",
            path(&ct_j2c),
            "-reversible",
            "true",
        ],
    );
    let stream = std::fs::read(&ct_j2c).unwrap();
    for syntax in [HTJ2K_LOSSLESS, HTJ2K_LOSSLESS_RPCL, HTJ2K] {
        let pixels = decode(syntax, &stream, &grey_descriptor(96, 128, false)).unwrap();
        assert_eq!(
            first_difference(&values(&pixels), &ct.values),
            None,
            "{syntax}"
        );
    }

    // No signed case: OpenJPH 0.9's command-line tools do not round-trip
    // signed raw samples even through their own ojph_expand, so they are no
    // oracle for them. Signed JPEG 2000 is checked with GDCM's encoder.

    // 8-bit RGB, reversible, components coded as they are.
    let rgb = common::rgb8(d);
    write_netpbm(&d.join("rgb.ppm"), "P6", 64, 48, 255, &rgb.values);
    let rgb_j2c = d.join("rgb.j2c");
    ojph(
        compress,
        &[
            "-i",
            path(&d.join("rgb.ppm")),
            "-o",
            path(&rgb_j2c),
            "-reversible",
            "true",
            "-colour_trans",
            "false",
        ],
    );
    let stream = std::fs::read(&rgb_j2c).unwrap();
    let descriptor = FrameDescriptor {
        rows: 48,
        columns: 64,
        samples_per_pixel: 3,
        bits_allocated: 8,
        bits_stored: 8,
        pixel_representation: 0,
        photometric: "RGB".into(),
        planar_configuration: 0,
    };
    let pixels = decode(HTJ2K_LOSSLESS, &stream, &descriptor).unwrap();
    assert_eq!(first_difference(&values(&pixels), &rgb.values), None);

    // With OpenJPH's default reversible colour transform (YBR_RCT) the
    // decoder does not give RGB back, so the frame must be asked for
    // uncompressed rather than shown in wrong colours.
    let rct_j2c = d.join("rct.j2c");
    ojph(
        compress,
        &[
            "-i",
            path(&d.join("rgb.ppm")),
            "-o",
            path(&rct_j2c),
            "-reversible",
            "true",
        ],
    );
    let rct = FrameDescriptor {
        photometric: "YBR_RCT".into(),
        ..descriptor
    };
    let err = decode(HTJ2K_LOSSLESS, &std::fs::read(&rct_j2c).unwrap(), &rct).unwrap_err();
    assert!(err.needs_server_decoding(), "{err}");
}

#[test]
fn lossy_grey_matches_openjph() {
    let (Some(compress), Some(expand)) = (
        common::tool(OJPH_COMPRESS, PACKAGE),
        common::tool(OJPH_EXPAND, PACKAGE),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dx = common::xray(d);
    write_netpbm(&d.join("dx.pgm"), "P5", 112, 80, 4095, &dx.values);
    let j2c = d.join("dx.j2c");
    ojph(
        compress,
        &[
            "-i",
            path(&d.join("dx.pgm")),
            "-o",
            path(&j2c),
            "-qstep",
            "0.005",
        ],
    );
    ojph(expand, &["-i", path(&j2c), "-o", path(&d.join("back.pgm"))]);
    let stream = std::fs::read(&j2c).unwrap();
    let pixels = decode(HTJ2K, &stream, &grey_descriptor(80, 112, false)).unwrap();
    let decoded = values(&pixels);
    let (mean, max) = difference(&decoded, &dx.values);
    assert!(mean > 0.0, "-qstep 0.005 should lose something");
    assert!(
        mean <= 20.0 && max <= 200,
        "mean error {mean:.2}, max {max}"
    );
    let (mean, max) = difference(&decoded, &read_pgm(&d.join("back.pgm")));
    assert!(
        max <= 1,
        "differs from ojph_expand by up to {max} (mean {mean:.3})"
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}
