//! Frames compressed at test time by dcmtk and GDCM, decoded here: lossless
//! syntaxes must give back the source's stored values exactly; lossy ones
//! must stay close to the source and closer still to what the same tool
//! kit's own decoder makes of the stream.

mod common;

use std::path::Path;

use common::{Source, difference, first_difference, read_frame, run, tool, values};
use dicom_samples::CtPixelEncoding;
use viewer_codecs::{DecodeError, Pixels, can_decode, decode};

const DCMCJPEG: (&str, &str) = ("/usr/bin/dcmcjpeg", "dcmtk");
const DCMDJPEG: (&str, &str) = ("/usr/bin/dcmdjpeg", "dcmtk");
const DCMCJPLS: (&str, &str) = ("/usr/bin/dcmcjpls", "dcmtk");
const DCMCRLE: (&str, &str) = ("/usr/bin/dcmcrle", "dcmtk");
const GDCMCONV: (&str, &str) = ("/usr/bin/gdcmconv", "libgdcm-tools");

const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
const JPEG_LOSSLESS: &str = "1.2.840.10008.1.2.4.57";
const JPEG_LOSSLESS_SV1: &str = "1.2.840.10008.1.2.4.70";
const JPEG_LS: &str = "1.2.840.10008.1.2.4.80";
const JPEG_LS_NEAR: &str = "1.2.840.10008.1.2.4.81";
const J2K_LOSSLESS: &str = "1.2.840.10008.1.2.4.90";
const J2K: &str = "1.2.840.10008.1.2.4.91";
const RLE: &str = "1.2.840.10008.1.2.5";

/// One encoder invocation and the transfer syntax it must produce.
struct Case {
    tool: (&'static str, &'static str),
    args: &'static [&'static str],
    syntax: &'static str,
}

const fn case(
    tool: (&'static str, &'static str),
    args: &'static [&'static str],
    syntax: &'static str,
) -> Case {
    Case { tool, args, syntax }
}

/// Every lossless encoding both tool kits offer for any image.
const LOSSLESS: &[Case] = &[
    case(DCMCJPEG, &["+e1"], JPEG_LOSSLESS_SV1),
    case(DCMCJPEG, &["+el"], JPEG_LOSSLESS),
    // The frame split over 1 KiB fragments, which decode joins.
    case(DCMCJPEG, &["+e1", "+fs", "1"], JPEG_LOSSLESS_SV1),
    case(DCMCRLE, &[], RLE),
    case(GDCMCONV, &["--jpeg"], JPEG_LOSSLESS_SV1),
    case(GDCMCONV, &["--rle"], RLE),
    case(GDCMCONV, &["--j2k"], J2K_LOSSLESS),
];

/// JPEG-LS: lossless for grey images; colour is refused (see below).
const JPEG_LS_LOSSLESS: &[Case] = &[
    case(DCMCJPLS, &["+el"], JPEG_LS),
    case(DCMCJPLS, &["+el", "+fs", "1"], JPEG_LS),
    case(GDCMCONV, &["--jpegls"], JPEG_LS),
];

/// Compresses `source` with `case` and returns what the viewer would get,
/// or `None` when the tool is not installed (outside CI).
fn compress(source: &Source, case: &Case, dir: &Path) -> Option<common::Frame> {
    let tool = tool(case.tool.0, case.tool.1)?;
    let name = format!(
        "{}{}.dcm",
        case.tool.1,
        case.args.join("").replace(['+', '-'], "_")
    );
    let output = dir.join(name);
    run(tool, case.args, &source.path, &output);
    let frame = read_frame(&output);
    assert_eq!(
        frame.transfer_syntax, case.syntax,
        "{} {:?} wrote another transfer syntax",
        case.tool.0, case.args
    );
    assert!(can_decode(&frame.transfer_syntax));
    Some(frame)
}

fn assert_lossless(source: &Source, cases: &[Case], dir: &Path) {
    for case in cases {
        let Some(frame) = compress(source, case, dir) else {
            continue;
        };
        let pixels = decode(&frame.transfer_syntax, &frame.data, &frame.descriptor)
            .unwrap_or_else(|e| panic!("{} {:?}: {e}", case.tool.0, case.args));
        let decoded = values(&pixels);
        assert_eq!(
            decoded.len(),
            source.values.len(),
            "{} {:?}",
            case.tool.0,
            case.args
        );
        if let Some((i, got, want)) = first_difference(&decoded, &source.values) {
            panic!(
                "{} {:?} ({}): sample {i} (row {}, column {}) decoded {got}, source {want}",
                case.tool.0,
                case.args,
                case.syntax,
                i / source.columns,
                i % source.columns
            );
        }
    }
}

#[test]
fn ct_12_bit_unsigned_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let source = common::ct(dir.path(), CtPixelEncoding::UnsignedOffset, 12);
    // The native frame itself, as /frames would send it.
    let native = read_frame(&source.path);
    let pixels = decode(&native.transfer_syntax, &native.data, &native.descriptor).unwrap();
    assert!(matches!(pixels, Pixels::U16(_)));
    assert_eq!(values(&pixels), source.values);
    assert_lossless(&source, LOSSLESS, dir.path());
    assert_lossless(&source, JPEG_LS_LOSSLESS, dir.path());
}

#[test]
fn ct_12_bit_signed_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let source = common::ct(dir.path(), CtPixelEncoding::SignedHu, 12);
    assert!(
        source.values.iter().any(|&v| v < -500),
        "air in the phantom"
    );
    let native = read_frame(&source.path);
    let pixels = decode(&native.transfer_syntax, &native.data, &native.descriptor).unwrap();
    assert!(matches!(pixels, Pixels::I16(_)));
    assert_eq!(values(&pixels), source.values);
    assert_lossless(&source, LOSSLESS, dir.path());
    assert_lossless(&source, JPEG_LS_LOSSLESS, dir.path());
}

#[test]
fn ct_16_bit_signed_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let source = common::ct(dir.path(), CtPixelEncoding::SignedHu, 16);
    assert_lossless(&source, LOSSLESS, dir.path());
    assert_lossless(&source, JPEG_LS_LOSSLESS, dir.path());
}

#[test]
fn grey_and_colour_8_bit_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let grey = common::grey8(dir.path());
    assert_lossless(&grey, LOSSLESS, dir.path());
    assert_lossless(&grey, JPEG_LS_LOSSLESS, dir.path());
    let rgb = common::rgb8(dir.path());
    assert_lossless(&rgb, LOSSLESS, dir.path());
}

#[test]
fn colour_jpeg_ls_asks_for_the_uncompressed_frame() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = common::rgb8(dir.path());
    for case in JPEG_LS_LOSSLESS {
        let Some(frame) = compress(&rgb, case, dir.path()) else {
            continue;
        };
        let err = decode(&frame.transfer_syntax, &frame.data, &frame.descriptor).unwrap_err();
        assert!(
            matches!(err, DecodeError::UnsupportedImage { .. }),
            "{} {:?}: {err}",
            case.tool.0,
            case.args
        );
    }
}

#[test]
fn jpeg_ls_near_lossless_stays_within_near() {
    let dir = tempfile::tempdir().unwrap();
    let source = common::ct(dir.path(), CtPixelEncoding::UnsignedOffset, 12);
    // +en codes with NEAR = 2: T.87 bounds every sample's error by NEAR.
    let case = case(DCMCJPLS, &["+en"], JPEG_LS_NEAR);
    let Some(frame) = compress(&source, &case, dir.path()) else {
        return;
    };
    let pixels = decode(&frame.transfer_syntax, &frame.data, &frame.descriptor).unwrap();
    let (mean, max) = difference(&values(&pixels), &source.values);
    assert!(max <= 2, "near-lossless error {max} exceeds NEAR = 2");
    assert!(mean > 0.0, "+en should have lost something");
}

/// How close a lossy decode must be to the tool kit's own decoder.
#[derive(Clone, Copy)]
enum Agreement {
    /// Every sample within this many units (same transform, rounding aside).
    Within(i32),
    /// The mean error against the source no more than this factor of the
    /// reference decoder's, plus one unit.
    NoWorseThan(f64),
}

/// Compresses lossily, decodes here and with `reference` (a decompressor
/// of the same tool kit), and checks the distance to the source and the
/// agreement with the reference.
fn assert_lossy(
    source: &Source,
    case: &Case,
    reference: (&'static str, &'static str, &'static [&'static str]),
    dir: &Path,
    to_source: (f64, i32),
    agreement: Agreement,
) {
    let Some(frame) = compress(source, case, dir) else {
        return;
    };
    let pixels = decode(&frame.transfer_syntax, &frame.data, &frame.descriptor)
        .unwrap_or_else(|e| panic!("{} {:?}: {e}", case.tool.0, case.args));
    let decoded = values(&pixels);
    let (mean, max) = difference(&decoded, &source.values);
    assert!(
        mean <= to_source.0 && max <= to_source.1,
        "{} {:?}: mean error {mean:.2} (limit {}), max {max} (limit {})",
        case.tool.0,
        case.args,
        to_source.0,
        to_source.1
    );
    let Some(decompressor) = tool(reference.0, reference.1) else {
        return;
    };
    let compressed = dir.join("lossy.dcm");
    let expanded = dir.join("expanded.dcm");
    run(case.tool.0, case.args, &source.path, &compressed);
    run(decompressor, reference.2, &compressed, &expanded);
    let native = read_frame(&expanded);
    let theirs = values(
        &decode(&native.transfer_syntax, &native.data, &native.descriptor)
            .expect("the reference decoder's native frame"),
    );
    let (between_mean, between_max) = difference(&decoded, &theirs);
    match agreement {
        Agreement::Within(limit) => assert!(
            between_max <= limit,
            "{} {:?}: differs from {} by up to {between_max} (mean {between_mean:.3})",
            case.tool.0,
            case.args,
            reference.0
        ),
        Agreement::NoWorseThan(factor) => {
            let (their_mean, _) = difference(&theirs, &source.values);
            assert!(
                mean <= factor * their_mean + 1.0,
                "{} {:?}: mean error {mean:.2}, {} has {their_mean:.2}",
                case.tool.0,
                case.args,
                reference.0
            );
        }
    }
}

/// dcmdjpeg converting YCbCr to RGB, as a viewer shows it.
const DJPEG: (&str, &str, &[&str]) = (DCMDJPEG.0, DCMDJPEG.1, &["+cp"]);
/// GDCM decompressing to Explicit VR Little Endian (OpenJPEG inside).
const GDCM_RAW: (&str, &str, &[&str]) = (GDCMCONV.0, GDCMCONV.1, &["--raw"]);

#[test]
fn jpeg_baseline_grey_is_close() {
    let dir = tempfile::tempdir().unwrap();
    let grey = common::grey8(dir.path());
    let baseline = case(DCMCJPEG, &["+eb", "+q", "90"], JPEG_BASELINE);
    assert_lossy(
        &grey,
        &baseline,
        DJPEG,
        dir.path(),
        (3.0, 24),
        Agreement::Within(2),
    );
}

#[test]
fn jpeg_baseline_colour_is_close_in_every_colour_model() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = common::rgb8(dir.path());
    let close = Agreement::Within(3);
    // dcmtk's default: YCbCr with 4:2:2 chroma, written as YBR_FULL_422.
    let ybr_422 = case(DCMCJPEG, &["+eb", "+q", "90"], JPEG_BASELINE);
    if let Some(frame) = compress(&rgb, &ybr_422, dir.path()) {
        assert_eq!(frame.descriptor.photometric, "YBR_FULL_422");
    }
    assert_lossy(&rgb, &ybr_422, DJPEG, dir.path(), (3.0, 40), close);
    // YCbCr without subsampling (YBR_FULL), and RGB coded as is.
    let ybr_444 = case(DCMCJPEG, &["+eb", "+q", "90", "+s4"], JPEG_BASELINE);
    assert_lossy(&rgb, &ybr_444, DJPEG, dir.path(), (3.0, 40), close);
    let as_rgb = case(DCMCJPEG, &["+eb", "+q", "90", "+cr"], JPEG_BASELINE);
    if let Some(frame) = compress(&rgb, &as_rgb, dir.path()) {
        assert_eq!(frame.descriptor.photometric, "RGB");
    }
    assert_lossy(&rgb, &as_rgb, DJPEG, dir.path(), (3.0, 40), close);
}

#[test]
fn jpeg_extended_12_bit_matches_dcmtk() {
    let dir = tempfile::tempdir().unwrap();
    let extended = case(DCMCJPEG, &["+ee", "+q", "90"], JPEG_EXTENDED);
    // dcmtk's lossy encoder rescales the pixel range first, so its own
    // decoder also lands ~60 units (1.5 % of 12 bits) off the source; the
    // tight check is the agreement with dcmdjpeg.
    let off_by_rescaling = (100.0, 250);
    let dx = common::xray(dir.path());
    if let Some(frame) = compress(&dx, &extended, dir.path()) {
        assert_eq!(frame.descriptor.bits_stored, 12, "a 12-bit stream");
    }
    assert_lossy(
        &dx,
        &extended,
        DJPEG,
        dir.path(),
        off_by_rescaling,
        Agreement::Within(2),
    );
    // (Not the CT: dcmtk folds its Rescale Intercept into the lossy
    // samples, so stored values cannot be compared with the source's.)
}

#[test]
fn jpeg_2000_lossy_is_about_as_close_as_openjpeg() {
    let dir = tempfile::tempdir().unwrap();
    // Rate 10: a tenth of the source's size, with the irreversible wavelet.
    let lossy = case(GDCMCONV, &["--j2k", "--lossy", "-r", "10"], J2K);
    let as_openjpeg = Agreement::NoWorseThan(1.5);
    let dx = common::xray(dir.path());
    assert_lossy(&dx, &lossy, GDCM_RAW, dir.path(), (60.0, 400), as_openjpeg);
    let ct = common::ct(dir.path(), CtPixelEncoding::SignedHu, 12);
    assert_lossy(&ct, &lossy, GDCM_RAW, dir.path(), (60.0, 400), as_openjpeg);
    let rgb = common::rgb8(dir.path());
    assert_lossy(&rgb, &lossy, GDCM_RAW, dir.path(), (6.0, 60), as_openjpeg);
}
