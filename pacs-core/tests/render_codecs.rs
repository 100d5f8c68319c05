//! Decoding frames compressed by other people's encoders (dcmtk and GDCM,
//! run at test time from /usr/bin): lossless codecs must give back the source
//! samples exactly, lossy JPEG must come close, and rendering a decoded
//! compressed frame must equal rendering the native one.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, open_file};
use pacs_core::render::{
    DecodedFrame, FrameData, ImageFormat, ImageHeader, Photometric, RenderParams, Samples,
    decode_frame, native_little_endian, render, render_pixels,
};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

/// A source image: attributes and samples (interleaved for colour).
struct Source {
    rows: u16,
    columns: u16,
    samples_per_pixel: u16,
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
    photometric: &'static str,
    /// Stored values, one per sample.
    values: Vec<i32>,
}

/// A small deterministic generator, so that the images have noise to code.
fn noise(seed: u32) -> impl FnMut() -> u32 {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        state >> 8
    }
}

/// 96 rows × 128 columns (not square, so a rows/columns mix-up shows),
/// a gradient plus noise spanning the stored range.
fn grey_source(bits_allocated: u16, bits_stored: u16, signed: bool) -> Source {
    let (rows, columns) = (96u16, 128u16);
    let span = 1i64 << bits_stored;
    let min = if signed { -(span / 2) } else { 0 };
    let mut rand = noise(u32::from(bits_stored) * 31 + u32::from(signed));
    let values = (0..i64::from(rows) * i64::from(columns))
        .map(|i| {
            let (y, x) = (i / i64::from(columns), i % i64::from(columns));
            let gradient = (x * span / i64::from(columns) + y * 7) % span;
            let jitter = i64::from(rand() % 64);
            let v = (gradient + jitter).min(span - 1) + min;
            // Extremes of the range at the corners.
            let v = if i == 0 {
                min
            } else if i == 1 {
                min + span - 1
            } else {
                v
            };
            v as i32
        })
        .collect();
    Source {
        rows,
        columns,
        samples_per_pixel: 1,
        bits_allocated,
        bits_stored,
        signed,
        photometric: "MONOCHROME2",
        values,
    }
}

/// 8-bit RGB: smooth colour ramps (no wrap-around edges, which 4:2:2 chroma
/// subsampling would smear) with some noise.
fn rgb_source() -> Source {
    let (rows, columns) = (64u16, 80u16);
    let mut rand = noise(7);
    let values = (0..usize::from(rows) * usize::from(columns))
        .flat_map(|i| {
            let (y, x) = (i / usize::from(columns), i % usize::from(columns));
            let n = rand() % 8;
            [(x * 3 + n as usize) as i32, (y * 4) as i32, (x + y) as i32]
        })
        .collect();
    Source {
        rows,
        columns,
        samples_per_pixel: 3,
        bits_allocated: 8,
        bits_stored: 8,
        signed: false,
        photometric: "RGB",
        values,
    }
}

impl Source {
    fn pixel_data(&self) -> PrimitiveValue {
        if self.bits_allocated == 16 {
            let mask = ((1u32 << self.bits_stored) - 1) as i32;
            PrimitiveValue::U16(self.values.iter().map(|&v| (v & mask) as u16).collect())
        } else {
            PrimitiveValue::U8(self.values.iter().map(|&v| v as u8).collect())
        }
    }

    /// Writes the image as Explicit VR Little Endian Secondary Capture.
    fn write(&self, path: &Path) {
        let mut obj = InMemDicomObject::new_empty();
        let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
        let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
        obj.put(text(tags::SOP_CLASS_UID, VR::UI, SECONDARY_CAPTURE));
        obj.put(text(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.2.1143.9.1",
        ));
        obj.put(text(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.2.1143.9.2",
        ));
        obj.put(text(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.2.1143.9.3",
        ));
        obj.put(text(tags::MODALITY, VR::CS, "OT"));
        obj.put(text(tags::PATIENT_ID, VR::LO, "RENDER-TEST"));
        obj.put(us(tags::SAMPLES_PER_PIXEL, self.samples_per_pixel));
        obj.put(text(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            self.photometric,
        ));
        if self.samples_per_pixel == 3 {
            obj.put(us(tags::PLANAR_CONFIGURATION, 0));
        }
        obj.put(us(tags::ROWS, self.rows));
        obj.put(us(tags::COLUMNS, self.columns));
        obj.put(us(tags::BITS_ALLOCATED, self.bits_allocated));
        obj.put(us(tags::BITS_STORED, self.bits_stored));
        obj.put(us(tags::HIGH_BIT, self.bits_stored - 1));
        obj.put(us(tags::PIXEL_REPRESENTATION, u16::from(self.signed)));
        let vr = if self.bits_allocated == 16 {
            VR::OW
        } else {
            VR::OB
        };
        obj.put(DataElement::new(tags::PIXEL_DATA, vr, self.pixel_data()));
        let file = obj
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(EXPLICIT_LE)
                    .media_storage_sop_class_uid(SECONDARY_CAPTURE)
                    .media_storage_sop_instance_uid("1.2.826.0.1.3680043.2.1143.9.1"),
            )
            .expect("file meta");
        file.write_to_file(path).expect("write source file");
    }
}

/// Runs an encoder; panics with its output if it fails.
fn run(tool: &str, args: &[&str], input: &Path, output: &Path) {
    let result = Command::new(tool)
        .args(args)
        .arg(input)
        .arg(output)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(
        result.status.success(),
        "{tool} {args:?} failed: {}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// What a caller would pass: the header parsed from the (compressed) file and
/// frame 1's fragments, offset table excluded.
fn read_frame(path: &Path) -> (ImageHeader, FrameData) {
    let obj = open_file(path).expect("open compressed file");
    let int = |tag| -> u16 {
        let element = obj.element(tag).unwrap_or_else(|e| panic!("{tag}: {e}"));
        element
            .to_int::<u16>()
            .unwrap_or_else(|e| panic!("{tag}: {e}"))
    };
    let opt_int = |tag| {
        obj.element_opt(tag)
            .ok()
            .flatten()
            .and_then(|e| e.to_int::<u16>().ok())
    };
    let text = |tag| {
        let element = obj.element(tag).unwrap_or_else(|e| panic!("{tag}: {e}"));
        let value = element.to_str().unwrap_or_else(|e| panic!("{tag}: {e}"));
        value.trim().to_owned()
    };
    let header = ImageHeader {
        transfer_syntax_uid: obj
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_owned(),
        rows: int(tags::ROWS),
        columns: int(tags::COLUMNS),
        samples_per_pixel: int(tags::SAMPLES_PER_PIXEL),
        bits_allocated: int(tags::BITS_ALLOCATED),
        bits_stored: int(tags::BITS_STORED),
        high_bit: int(tags::HIGH_BIT),
        pixel_representation: int(tags::PIXEL_REPRESENTATION),
        photometric_interpretation: text(tags::PHOTOMETRIC_INTERPRETATION),
        planar_configuration: opt_int(tags::PLANAR_CONFIGURATION).unwrap_or(0),
        number_of_frames: 1,
        rescale_slope: 1.0,
        rescale_intercept: 0.0,
        window_centers: vec![],
        window_widths: vec![],
        voi_lut_function: None,
        palette: None,
    };
    let pixel_data = obj.element(tags::PIXEL_DATA).expect("pixel data");
    let fragments = pixel_data
        .value()
        .fragments()
        .expect("encapsulated pixel data")
        .iter()
        .map(|f| Bytes::copy_from_slice(f))
        .collect();
    (header, FrameData::Encapsulated(fragments))
}

struct Case {
    tool: &'static str,
    args: &'static [&'static str],
    expected_ts: &'static str,
}

fn compress(source: &Source, case: &Case, dir: &Path) -> (ImageHeader, FrameData, PathBuf) {
    let input = dir.join("source.dcm");
    let output = dir.join(format!(
        "{}-{}.dcm",
        case.tool.rsplit('/').next().unwrap_or("out"),
        case.args.join("").replace(['-', '+', ' '], "")
    ));
    source.write(&input);
    run(case.tool, case.args, &input, &output);
    let (header, frame) = read_frame(&output);
    assert_eq!(
        header.transfer_syntax_uid, case.expected_ts,
        "{} {:?} wrote another transfer syntax",
        case.tool, case.args
    );
    (header, frame, output)
}

fn stored_values(frame: &DecodedFrame) -> Vec<i32> {
    (0..frame.samples().len())
        .map(|i| frame.stored_value(i).expect("in range"))
        .collect()
}

/// Compresses `source` with each lossless case and checks every sample.
fn assert_lossless(source: &Source, cases: &[Case]) {
    let dir = tempfile::tempdir().expect("temp dir");
    for case in cases {
        let (header, data, _) = compress(source, case, dir.path());
        let frame = decode_frame(&header, data).unwrap_or_else(|e| {
            panic!("{} {:?} ({}): {e}", case.tool, case.args, case.expected_ts)
        });
        assert_eq!(
            (frame.rows(), frame.columns(), frame.samples_per_pixel()),
            (source.rows, source.columns, source.samples_per_pixel)
        );
        let decoded = stored_values(&frame);
        let first_difference = decoded.iter().zip(&source.values).position(|(a, b)| a != b);
        assert_eq!(
            first_difference, None,
            "{} {:?} ({}): sample differs",
            case.tool, case.args, case.expected_ts
        );
        assert_eq!(decoded.len(), source.values.len());
    }
}

const JPEG_LOSSLESS_SV1: &str = "1.2.840.10008.1.2.4.70";
const JPEG_LOSSLESS: &str = "1.2.840.10008.1.2.4.57";
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
const JPEG_LS_LOSSLESS: &str = "1.2.840.10008.1.2.4.80";
const JPEG_2000_LOSSLESS: &str = "1.2.840.10008.1.2.4.90";
const RLE: &str = "1.2.840.10008.1.2.5";

const DCMCJPEG: &str = "/usr/bin/dcmcjpeg";
const DCMCJPLS: &str = "/usr/bin/dcmcjpls";
const DCMCRLE: &str = "/usr/bin/dcmcrle";
const GDCMCONV: &str = "/usr/bin/gdcmconv";

/// Lossless encodings of both tool kits, for monochrome and colour.
fn lossless_cases() -> Vec<Case> {
    let case = |tool, args, expected_ts| Case {
        tool,
        args,
        expected_ts,
    };
    vec![
        case(DCMCJPEG, &["+e1"], JPEG_LOSSLESS_SV1),
        case(DCMCJPEG, &["+el"], JPEG_LOSSLESS),
        // Frame split over 1 KiB fragments.
        case(DCMCJPEG, &["+e1", "+fs", "1"], JPEG_LOSSLESS_SV1),
        case(DCMCJPLS, &["+el"], JPEG_LS_LOSSLESS),
        case(DCMCJPLS, &["+el", "+fs", "1"], JPEG_LS_LOSSLESS),
        case(DCMCRLE, &[], RLE),
        case(GDCMCONV, &["--j2k"], JPEG_2000_LOSSLESS),
        case(GDCMCONV, &["--jpegls"], JPEG_LS_LOSSLESS),
        case(GDCMCONV, &["--jpeg"], JPEG_LOSSLESS_SV1),
        case(GDCMCONV, &["--rle"], RLE),
    ]
}

#[test]
fn ct_16_bit_signed_12_stored_round_trips_losslessly() {
    assert_lossless(&grey_source(16, 12, true), &lossless_cases());
}

#[test]
fn mr_16_bit_unsigned_16_stored_round_trips_losslessly() {
    assert_lossless(&grey_source(16, 16, false), &lossless_cases());
}

#[test]
fn ct_16_bit_signed_16_stored_round_trips_losslessly() {
    assert_lossless(&grey_source(16, 16, true), &lossless_cases());
}

#[test]
fn grey_8_bit_round_trips_losslessly() {
    assert_lossless(&grey_source(8, 8, false), &lossless_cases());
}

#[test]
fn rgb_8_bit_round_trips_losslessly() {
    let mut cases = lossless_cases();
    cases.extend([
        Case {
            tool: DCMCJPLS,
            args: &["+el", "+in"],
            expected_ts: JPEG_LS_LOSSLESS,
        },
        Case {
            tool: DCMCJPLS,
            args: &["+el", "+is"],
            expected_ts: JPEG_LS_LOSSLESS,
        },
    ]);
    assert_lossless(&rgb_source(), &cases);
}

fn assert_close(source: &Source, frame: &DecodedFrame, mean_limit: f64, max_limit: i32) {
    let decoded = stored_values(frame);
    assert_eq!(decoded.len(), source.values.len());
    let diffs: Vec<i32> = decoded
        .iter()
        .zip(&source.values)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
    let max = diffs.iter().copied().max().unwrap_or(0);
    assert!(
        mean <= mean_limit && max <= max_limit,
        "lossy difference: mean {mean:.2}, max {max}"
    );
}

#[test]
fn jpeg_baseline_grey_and_colour_decode_close_to_the_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let baseline = Case {
        tool: DCMCJPEG,
        args: &["+eb", "+q", "95"],
        expected_ts: JPEG_BASELINE,
    };
    let grey = grey_source(8, 8, false);
    let (header, data, _) = compress(&grey, &baseline, dir.path());
    let frame = decode_frame(&header, data).expect("grey baseline");
    assert_close(&grey, &frame, 3.0, 40);

    // dcmtk writes colour baseline as YBR_FULL_422; the decoder hands back RGB.
    let rgb = rgb_source();
    let (header, data, _) = compress(&rgb, &baseline, dir.path());
    assert_eq!(header.photometric_interpretation, "YBR_FULL_422");
    let frame = decode_frame(&header, data).expect("colour baseline");
    assert_eq!(*frame.photometric(), Photometric::Rgb);
    assert_close(&rgb, &frame, 4.0, 40);
    // And /rendered shows it as RGB too.
    let pixels = render_pixels(&header, &frame, &RenderParams::default()).expect("render");
    assert_eq!(pixels.channels, 3);
    let rendered = pixels.data.iter().map(|&v| i32::from(v));
    let mean = rendered
        .zip(&rgb.values)
        .map(|(a, b)| f64::from((a - b).abs()))
        .sum::<f64>()
        / rgb.values.len() as f64;
    assert!(
        mean <= 4.0,
        "rendered colour differs by {mean:.2} on average"
    );
}

/// 12-bit lossy JPEG (processes 2 and 4), which jpeg-decoder refuses:
/// decoded by the archive's own path, close to the source (`+sr` keeps
/// dcmtk from rescaling the stored values; dcmtk writes no signed lossy
/// JPEG, it shifts such samples to unsigned).
#[test]
fn jpeg_extended_12_bit_decodes_close_to_the_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let extended = Case {
        tool: DCMCJPEG,
        args: &["+ee", "+sr", "+q", "95"],
        expected_ts: JPEG_EXTENDED,
    };
    let grey = grey_source(16, 12, false);
    let (header, data, _) = compress(&grey, &extended, dir.path());
    let frame = decode_frame(&header, data).expect("12-bit JPEG");
    assert_close(&grey, &frame, 12.0, 160);
}

#[test]
fn rendering_a_compressed_frame_equals_rendering_the_native_one() {
    let source = grey_source(16, 12, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("native.dcm");
    source.write(&input);
    let obj = open_file(&input).expect("open native");
    let native = obj
        .element(tags::PIXEL_DATA)
        .expect("pixel data")
        .to_bytes()
        .expect("bytes")
        .into_owned();
    let case = Case {
        tool: DCMCJPLS,
        args: &["+el"],
        expected_ts: JPEG_LS_LOSSLESS,
    };
    let (mut header, data, _) = compress(&source, &case, dir.path());
    header.rescale_intercept = -1024.0;
    header.window_centers = vec![-600.0];
    header.window_widths = vec![1500.0];
    let compressed = decode_frame(&header, data).expect("decode jpeg-ls");
    let mut native_header = header.clone();
    native_header.transfer_syntax_uid = EXPLICIT_LE.to_owned();
    let native = decode_frame(&native_header, FrameData::Native(native.into())).expect("native");
    assert_eq!(
        native_little_endian(&compressed),
        native_little_endian(&native)
    );
    for format in [ImageFormat::Png, ImageFormat::Jpeg { quality: 80 }] {
        let params = RenderParams {
            viewport: Some((64, 64)),
            format,
            ..Default::default()
        };
        assert_eq!(
            render(&header, &compressed, &params).expect("render compressed"),
            render(&native_header, &native, &params).expect("render native"),
        );
    }
}

#[test]
fn a_truncated_codestream_is_an_error_not_a_panic() {
    let source = grey_source(16, 12, true);
    let dir = tempfile::tempdir().expect("temp dir");
    for case in lossless_cases() {
        let (header, data, _) = compress(&source, &case, dir.path());
        let FrameData::Encapsulated(fragments) = data else {
            unreachable!("read_frame returns fragments")
        };
        let whole: Vec<u8> = fragments.concat();
        for cut in [0, 2, 20, whole.len() / 2] {
            let broken = FrameData::Encapsulated(vec![Bytes::copy_from_slice(&whole[..cut])]);
            // A codec may fill missing data rather than fail; it must not panic.
            if let Err(e) = decode_frame(&header, broken) {
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

#[test]
fn decoded_samples_are_stored_as_16_bit_words_for_16_bit_sources() {
    let source = grey_source(16, 16, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let case = Case {
        tool: GDCMCONV,
        args: &["--j2k"],
        expected_ts: JPEG_2000_LOSSLESS,
    };
    let (header, data, _) = compress(&source, &case, dir.path());
    let frame = decode_frame(&header, data).expect("decode j2k");
    let Samples::U16(words) = frame.samples() else {
        panic!("expected 16-bit samples")
    };
    assert_eq!(words[1], u16::MAX);
}

#[test]
fn ybr_full_stays_ybr_full_through_lossless_codecs_and_renders_as_rgb() {
    // Codecs without a colour transform hand back the stored YCbCr; the frame
    // must say so (not RGB), and rendering converts it.
    let mut source = rgb_source();
    source.photometric = "YBR_FULL";
    let cases = [
        Case {
            tool: DCMCRLE,
            args: &[],
            expected_ts: RLE,
        },
        Case {
            tool: DCMCJPLS,
            args: &["+el"],
            expected_ts: JPEG_LS_LOSSLESS,
        },
    ];
    assert_lossless(&source, &cases);
    let dir = tempfile::tempdir().expect("temp dir");
    for case in &cases {
        let (header, data, _) = compress(&source, case, dir.path());
        let frame = decode_frame(&header, data).expect("decode");
        assert_eq!(*frame.photometric(), Photometric::YbrFull, "{}", case.tool);
        let pixels = render_pixels(&header, &frame, &RenderParams::default()).expect("render");
        // Mid-grey YCbCr (128, 128, 128) would be grey; check one pixel by formula.
        let (y, cb, cr) = (
            f64::from(source.values[0]),
            f64::from(source.values[1]) - 128.0,
            f64::from(source.values[2]) - 128.0,
        );
        let r = (y + 1.402 * cr).round().clamp(0.0, 255.0) as u8;
        let b = (y + 1.772 * cb).round().clamp(0.0, 255.0) as u8;
        assert!(pixels.data[0].abs_diff(r) <= 1 && pixels.data[2].abs_diff(b) <= 1);
    }
}

/// HTJ2K has no encoder in dcmtk or GDCM here; OpenJPH (through Python's
/// imagecodecs) is used when `PACS_TEST_HTJ2K_PYTHON` names a Python that has it.
#[test]
fn htj2k_lossless_round_trips_when_an_encoder_is_configured() {
    let Some(python) = std::env::var_os("PACS_TEST_HTJ2K_PYTHON") else {
        eprintln!("PACS_TEST_HTJ2K_PYTHON is not set: HTJ2K decoding not exercised");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for source in [
        grey_source(16, 12, true),
        grey_source(16, 16, false),
        rgb_source(),
    ] {
        let raw = dir.path().join("raw.bin");
        let j2c = dir.path().join("frame.j2c");
        let bytes: Vec<u8> = if source.bits_allocated == 16 {
            source
                .values
                .iter()
                .flat_map(|&v| (v as i16).to_le_bytes())
                .collect()
        } else {
            source.values.iter().map(|&v| v as u8).collect()
        };
        std::fs::write(&raw, bytes).expect("write raw");
        let dtype = match (source.bits_allocated, source.signed) {
            (16, true) => "<i2",
            (16, false) => "<u2",
            _ => "u1",
        };
        let script = format!(
            "import sys, numpy, imagecodecs\n\
             a = numpy.fromfile(sys.argv[1], dtype='{dtype}').reshape({rows}, {columns}, {spp})\n\
             a = a[:, :, 0] if {spp} == 1 else a\n\
             open(sys.argv[2], 'wb').write(imagecodecs.htj2k_encode(a, reversible=True))\n",
            rows = source.rows,
            columns = source.columns,
            spp = source.samples_per_pixel,
        );
        let status = Command::new(&python)
            .args(["-c", &script])
            .arg(&raw)
            .arg(&j2c)
            .status()
            .expect("run the HTJ2K encoder");
        assert!(status.success(), "HTJ2K encoder failed");
        let codestream = std::fs::read(&j2c).expect("read codestream");
        let header = ImageHeader {
            transfer_syntax_uid: "1.2.840.10008.1.2.4.201".to_owned(),
            samples_per_pixel: source.samples_per_pixel,
            photometric_interpretation: source.photometric.to_owned(),
            ..ImageHeader::monochrome(
                "",
                source.rows,
                source.columns,
                source.bits_allocated,
                source.bits_stored,
                source.signed,
            )
        };
        let frame = decode_frame(
            &header,
            FrameData::Encapsulated(vec![Bytes::from(codestream)]),
        )
        .expect("decode HTJ2K");
        assert_eq!(
            stored_values(&frame),
            source.values,
            "{}",
            source.photometric
        );
    }
}
