//! Compressed instances made at test time by other people's encoders
//! (dcmtk, GDCM), stored through STOW-RS and read back every way WADO-RS
//! offers: as stored, as uncompressed frames, as the stored bitstream,
//! rendered, and transcoded to explicit VR little endian.

mod common;
#[path = "common/dicomweb_support.rs"]
mod web;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dicom_samples::{
    CtPixelEncoding, CtSpec, Patient, SampleTransferSyntax, XrayKind, XraySpec, write_ct_series,
    write_xray,
};
use serde_json::{Value, json};

use common::{Server, sha256};
use web::{
    DICOM_ANY_TS, DICOM_DEFAULT, Dicom, EXPLICIT_LE, OCTET_STREAM, get, linear_voi, media_param,
};

/// One encoder run: which tool, how, and what it must produce.
struct Variant {
    name: &'static str,
    tool: &'static str,
    args: &'static [&'static str],
    /// The transfer syntax the tool writes.
    ts: &'static str,
    /// An Accept that asks for the frames as stored.
    stored_accept: &'static str,
    /// The media type of those frame parts.
    stored_media: &'static str,
    lossless: bool,
    source: Source,
}

#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// Slice n of the unsigned 12-bit CT series.
    Unsigned(usize),
    /// Slice n of the signed 12-bit CT series.
    Signed(usize),
    /// The 8-bit DX radiograph.
    Dx8,
}

const DCMCJPEG: &str = "/usr/bin/dcmcjpeg";
const DCMCJPLS: &str = "/usr/bin/dcmcjpls";
const DCMCRLE: &str = "/usr/bin/dcmcrle";
const GDCMCONV: &str = "/usr/bin/gdcmconv";
const DCMDJPEG: &str = "/usr/bin/dcmdjpeg";

const VARIANTS: &[Variant] = &[
    Variant {
        name: "dcmcjpeg lossless SV1",
        tool: DCMCJPEG,
        args: &["+e1"],
        ts: "1.2.840.10008.1.2.4.70",
        stored_accept: r#"multipart/related; type="image/jpeg""#,
        stored_media: "image/jpeg",
        lossless: true,
        source: Source::Unsigned(0),
    },
    Variant {
        name: "dcmcjpeg lossless process 14 SV6",
        tool: DCMCJPEG,
        args: &["+el", "+sv", "6"],
        ts: "1.2.840.10008.1.2.4.57",
        stored_accept: r#"multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.57"#,
        stored_media: "image/jpeg",
        lossless: true,
        source: Source::Unsigned(1),
    },
    Variant {
        name: "dcmcjpls lossless",
        tool: DCMCJPLS,
        args: &["+el"],
        ts: "1.2.840.10008.1.2.4.80",
        stored_accept: r#"multipart/related; type="image/jls""#,
        stored_media: "image/jls",
        lossless: true,
        source: Source::Unsigned(2),
    },
    Variant {
        name: "dcmcrle",
        tool: DCMCRLE,
        args: &[],
        ts: "1.2.840.10008.1.2.5",
        stored_accept: r#"multipart/related; type="image/dicom-rle""#,
        stored_media: "image/dicom-rle",
        lossless: true,
        source: Source::Unsigned(3),
    },
    Variant {
        name: "gdcmconv --j2k",
        tool: GDCMCONV,
        args: &["--j2k"],
        ts: "1.2.840.10008.1.2.4.90",
        stored_accept: r#"multipart/related; type="image/jp2""#,
        stored_media: "image/jp2",
        lossless: true,
        source: Source::Unsigned(4),
    },
    Variant {
        name: "dcmcjpls lossless, signed",
        tool: DCMCJPLS,
        args: &["+el"],
        ts: "1.2.840.10008.1.2.4.80",
        stored_accept: r#"multipart/related; type="image/jls"; transfer-syntax=*"#,
        stored_media: "image/jls",
        lossless: true,
        source: Source::Signed(0),
    },
    Variant {
        name: "dcmcrle, signed",
        tool: DCMCRLE,
        args: &[],
        ts: "1.2.840.10008.1.2.5",
        stored_accept: r#"multipart/related; type="application/octet-stream"; transfer-syntax=*"#,
        stored_media: "application/octet-stream",
        lossless: true,
        source: Source::Signed(1),
    },
    Variant {
        name: "gdcmconv --j2k, signed",
        tool: GDCMCONV,
        args: &["--j2k"],
        ts: "1.2.840.10008.1.2.4.90",
        stored_accept: r#"multipart/related; type="image/jp2"; transfer-syntax=1.2.840.10008.1.2.4.90"#,
        stored_media: "image/jp2",
        lossless: true,
        source: Source::Signed(2),
    },
    Variant {
        // 12-bit lossy JPEG, as older CR and CT send it. `+sr` keeps the
        // stored values (dcmtk otherwise rescales them to fill 12 bits).
        name: "dcmcjpeg extended, 12-bit",
        tool: DCMCJPEG,
        args: &["+ee", "+sr"],
        ts: "1.2.840.10008.1.2.4.51",
        stored_accept: r#"multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.51"#,
        stored_media: "image/jpeg",
        lossless: false,
        source: Source::Unsigned(5),
    },
    Variant {
        name: "dcmcjpeg baseline, 8-bit DX",
        tool: DCMCJPEG,
        args: &["+eb"],
        ts: "1.2.840.10008.1.2.4.50",
        stored_accept: r#"multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50"#,
        stored_media: "image/jpeg",
        lossless: false,
        source: Source::Dx8,
    },
];

/// The uncompressed sources, written by dicom-samples.
struct Sources {
    unsigned: (CtSpec, Vec<PathBuf>),
    signed: (CtSpec, Vec<PathBuf>),
    dx8: Option<PathBuf>,
}

fn sources(dir: &Path, python: Option<&str>) -> Sources {
    let le = SampleTransferSyntax::ExplicitVrLittleEndian;
    let unsigned = common::ct_files(&dir.join("unsigned"), 6, 100, le);
    let mut spec = CtSpec::chest(Patient::ivanova_utf8(), 101)
        .with_slices(3)
        .with_matrix(96, 128);
    spec.pixel_encoding = CtPixelEncoding::SignedHu;
    let signed_files = write_ct_series(&spec, &dir.join("signed"), le).expect("signed CT");
    let dx8 = python.map(|py| {
        let dx = XraySpec::chest(XrayKind::Dx, Patient::karimov_ascii(), 102).with_matrix(256, 208);
        let sixteen = write_xray(&dx, &dir.join("dx"), le).expect("DX");
        let eight = dir.join("dx8.dcm");
        web::run_python(
            py,
            "to_8bit.py",
            &[&sixteen.display().to_string(), &eight.display().to_string()],
        );
        eight
    });
    Sources {
        unsigned,
        signed: (spec, signed_files),
        dx8,
    }
}

impl Sources {
    fn path(&self, source: Source) -> Option<&Path> {
        match source {
            Source::Unsigned(n) => Some(&self.unsigned.1[n]),
            Source::Signed(n) => Some(&self.signed.1[n]),
            Source::Dx8 => self.dx8.as_deref(),
        }
    }
}

/// Stored sample values as signed or unsigned integers, `bits` wide, from
/// little-endian words or bytes.
fn samples(bytes: &[u8], bits_allocated: u16, bits_stored: u16, signed: bool) -> Vec<i32> {
    let mask = (1u32 << bits_stored) - 1;
    let value = |w: u32| {
        let v = w & mask;
        if signed && v & (1 << (bits_stored - 1)) != 0 {
            v as i32 - (1i32 << bits_stored)
        } else {
            v as i32
        }
    };
    if bits_allocated == 8 {
        bytes.iter().map(|&b| value(u32::from(b))).collect()
    } else {
        bytes
            .chunks_exact(2)
            .map(|c| value(u32::from(u16::from_le_bytes([c[0], c[1]]))))
            .collect()
    }
}

/// Image attributes of a source file, for comparing samples.
#[derive(Clone)]
struct Geometry {
    rows: u32,
    columns: u32,
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
    intercept: f64,
    window: Option<(f64, f64)>,
}

fn geometry(d: &Dicom) -> Geometry {
    let num = |g, e| -> Option<f64> {
        d.text(g, e)?
            .split('\\')
            .next()
            .and_then(|v| v.trim().parse().ok())
    };
    let window = num(0x0028, 0x1050).zip(num(0x0028, 0x1051));
    Geometry {
        rows: num(0x0028, 0x0010).expect("Rows") as u32,
        columns: num(0x0028, 0x0011).expect("Columns") as u32,
        bits_allocated: num(0x0028, 0x0100).expect("BitsAllocated") as u16,
        bits_stored: num(0x0028, 0x0101).expect("BitsStored") as u16,
        signed: num(0x0028, 0x0103) == Some(1.0),
        intercept: num(0x0028, 0x1052).unwrap_or(0.0),
        window,
    }
}

/// Checks decoded pixels against a reference: the source for a lossless
/// codec, equal in every sample (the bits above BitsStored are not
/// compared: encoders keep only the stored bits); dcmtk's decoding of the
/// same file for a lossy codec, within `tolerance` (IDCTs differ in
/// rounding).
fn assert_samples(what: &str, got: &[u8], reference: &[u8], g: &Geometry, tolerance: i32) {
    assert_eq!(got.len(), reference.len(), "{what}: length");
    let a = samples(got, g.bits_allocated, g.bits_stored, g.signed);
    let b = samples(reference, g.bits_allocated, g.bits_stored, g.signed);
    if let Some(n) = (0..a.len()).find(|&n| (a[n] - b[n]).abs() > tolerance) {
        panic!(
            "{what}: sample {n} (row {}, column {}) is {} but the reference has {}",
            n as u32 / g.columns,
            n as u32 % g.columns,
            a[n],
            b[n]
        );
    }
}

/// The mean absolute difference of two sets of samples.
fn mean_error(a: &[u8], b: &[u8], g: &Geometry) -> f64 {
    let a = samples(a, g.bits_allocated, g.bits_stored, g.signed);
    let b = samples(b, g.bits_allocated, g.bits_stored, g.signed);
    let total: f64 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .sum();
    total / a.len().max(1) as f64
}

/// Runs an encoder by absolute path on `input`; returns the output file.
fn encode(v: &Variant, input: &Path, out_dir: &Path, n: usize) -> PathBuf {
    let out = out_dir.join(format!("variant-{n}.dcm"));
    let mut cmd = Command::new(v.tool);
    if v.tool == GDCMCONV {
        cmd.args(v.args).arg("-i").arg(input).arg("-o").arg(&out);
    } else {
        cmd.args(v.args).arg(input).arg(&out);
    }
    web::run_bounded(cmd, Duration::from_secs(120));
    out
}

/// Every encoder's output is stored as received and served every way
/// WADO-RS offers; lossless codecs give back the source samples exactly.
#[test]
fn instances_from_other_encoders_are_served_every_way() {
    const TEST: &str = "instances_from_other_encoders_are_served_every_way";
    let python = web::python_or_skip(TEST);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let sources = sources(dir.path(), python.as_deref());

    let mut rendered_checks = Vec::new();
    let mut tested = Vec::new();
    for (n, v) in VARIANTS.iter().enumerate() {
        let reference_tool = (!v.lossless).then_some(DCMDJPEG);
        let tools_present = [Some(v.tool), reference_tool]
            .into_iter()
            .flatten()
            .all(|tool| web::tool_or_skip(tool, &format!("{TEST}: {}", v.name)));
        if !tools_present {
            continue;
        }
        let Some(source_path) = sources.path(v.source) else {
            eprintln!(
                "{TEST}: {} needs Python for its 8-bit source; skipped",
                v.name
            );
            continue;
        };
        let source = Dicom::read(&std::fs::read(source_path).expect("source"));
        let g = geometry(&source);
        let source_pixels = source.native_pixels();
        let out = encode(v, source_path, dir.path(), n);
        let compressed = std::fs::read(&out).expect("encoded file");
        let encoded = Dicom::read(&compressed);
        assert_eq!(
            encoded.transfer_syntax, v.ts,
            "{} wrote another syntax",
            v.name
        );
        let text = |d: &Dicom, g, e| d.text(g, e).expect("a UID");
        let (st, se, sop) = (
            text(&encoded, 0x0020, 0x000D),
            text(&encoded, 0x0020, 0x000E),
            text(&encoded, 0x0008, 0x0018),
        );
        if v.lossless {
            // (dcmtk gives a lossy result a new SOP Instance UID, rightly)
            assert_eq!(
                sop,
                text(&source, 0x0008, 0x0018),
                "{}: same instance",
                v.name
            );
        }

        // What the pixels must decode to.
        let (reference, tolerance) = if v.lossless {
            (source_pixels.clone(), 0)
        } else {
            let decoded = dir.path().join(format!("variant-{n}-dcmdjpeg.dcm"));
            let mut cmd = Command::new(DCMDJPEG);
            cmd.arg(&out).arg(&decoded);
            web::run_bounded(cmd, Duration::from_secs(60));
            let reference = Dicom::read(&std::fs::read(&decoded).expect("decoded")).native_pixels();
            let error = mean_error(&reference, &source_pixels, &g);
            assert!(
                error < 6.0,
                "{}: the encoder lost too much ({error:.2})",
                v.name
            );
            (reference, 2)
        };

        let stored = web::stow_ok(&server, &[&compressed]);
        assert_eq!(stored, vec![sop.clone()], "{}", v.name);
        let url = format!("{}/studies/{st}/series/{se}/instances/{sop}", server.base());

        // as received
        let parts = get(&url, Some(DICOM_ANY_TS)).parts();
        assert_eq!(parts.len(), 1);
        assert_eq!(
            sha256(&parts[0].body),
            sha256(&compressed),
            "{}: as stored",
            v.name
        );
        assert_eq!(
            media_param(&parts[0].content_type, "transfer-syntax").as_deref(),
            Some(v.ts)
        );

        // a client that names no type gets the default: uncompressed
        for accept in [None, Some("*/*")] {
            let parts = get(&format!("{url}/frames/1"), accept).parts();
            assert!(
                parts[0]
                    .content_type
                    .starts_with("application/octet-stream"),
                "{} with Accept {accept:?}: {}",
                v.name,
                parts[0].content_type
            );
            assert_eq!(parts[0].body.len(), reference.len(), "{}", v.name);
        }

        // uncompressed frame
        let parts = get(&format!("{url}/frames/1"), Some(OCTET_STREAM)).parts();
        assert_eq!(parts.len(), 1);
        assert!(
            parts[0]
                .content_type
                .starts_with("application/octet-stream"),
            "{}: {}",
            v.name,
            parts[0].content_type
        );
        assert_eq!(
            media_param(&parts[0].content_type, "transfer-syntax").as_deref(),
            Some(EXPLICIT_LE)
        );
        assert_samples(
            &format!("{}: uncompressed /frames/1", v.name),
            &parts[0].body,
            &reference,
            &g,
            tolerance,
        );

        // the stored bitstream
        let parts = get(&format!("{url}/frames/1"), Some(v.stored_accept)).parts();
        assert_eq!(parts.len(), 1);
        assert!(
            parts[0].content_type.starts_with(v.stored_media),
            "{}: {}",
            v.name,
            parts[0].content_type
        );
        assert_eq!(
            media_param(&parts[0].content_type, "transfer-syntax").as_deref(),
            Some(v.ts),
            "{}",
            parts[0].content_type
        );
        assert!(
            parts[0].body == encoded.encapsulated_bitstream(),
            "{}: /frames/1 as stored is not the encoder's bitstream ({} bytes, the file holds {})",
            v.name,
            parts[0].body.len(),
            encoded.encapsulated_bitstream().len()
        );

        // the instance as bulk data: in its stored syntax, each frame a part
        // located at its frame URL; uncompressed, its pixel data whole
        let parts = get(&url, Some(v.stored_accept)).parts();
        assert_eq!(parts.len(), 1, "{}", v.name);
        assert_eq!(
            parts[0].content_location.as_deref(),
            Some(format!("{url}/frames/1").as_str()),
            "{}",
            v.name
        );
        assert!(
            parts[0].body == encoded.encapsulated_bitstream(),
            "{}: bulk data as stored",
            v.name
        );
        let parts = get(&url, Some(OCTET_STREAM)).parts();
        assert_eq!(parts.len(), 1, "{}", v.name);
        assert_eq!(
            parts[0].content_location.as_deref(),
            Some(format!("{url}/bulkdata/7FE00010").as_str()),
            "{}",
            v.name
        );
        assert_samples(
            &format!("{}: uncompressed bulk data", v.name),
            &parts[0].body,
            &reference,
            &g,
            tolerance,
        );

        // rendered
        let r = get(&format!("{url}/rendered"), Some("image/png"));
        assert_eq!(r.status, 200, "{}: {}", v.name, r.text());
        assert_eq!(
            web::png_info(&r.body),
            (g.columns, g.rows, 8, 0),
            "{}: rendered PNG",
            v.name
        );
        let thumb = get(
            &format!("{url}/thumbnail?viewport=64,64"),
            Some("image/png"),
        );
        assert_eq!(thumb.status, 200, "{}: {}", v.name, thumb.text());
        let (tw, th, _, _) = web::png_info(&thumb.body);
        assert!(tw <= 64 && th <= 64 && (tw == 64 || th == 64), "{tw}×{th}");
        if v.lossless {
            let op = json!({"op": "rendered", "study": st, "series": se, "sop": sop,
                            "media_type": "image/png"});
            rendered_checks.push((v.name, op, source_pixels.clone(), g.clone()));
        }

        // the default: explicit VR little endian, decoded
        let parts = get(&url, Some(DICOM_DEFAULT)).parts();
        assert_eq!(parts.len(), 1);
        assert_eq!(
            media_param(&parts[0].content_type, "transfer-syntax").as_deref(),
            Some(EXPLICIT_LE),
            "{}",
            v.name
        );
        let transcoded = Dicom::read(&parts[0].body);
        assert_eq!(transcoded.transfer_syntax, EXPLICIT_LE, "{}", v.name);
        assert_samples(
            &format!("{}: default retrieve", v.name),
            &transcoded.native_pixels(),
            &reference,
            &g,
            tolerance,
        );
        tested.push(v.name);
    }
    eprintln!("{TEST}: tested {tested:?}");

    // The rendering of a lossless instance is the LINEAR VOI of its source
    // samples under the file's first window.
    if let Some(py) = python.as_deref() {
        let ops: Vec<Value> = rendered_checks
            .iter()
            .map(|(_, op, _, _)| op.clone())
            .collect();
        let out = web::run_python(
            py,
            "wado.py",
            &[&server.base(), &Value::from(ops).to_string()],
        );
        for (k, (name, _, pixels, g)) in rendered_checks.iter().enumerate() {
            let (center, width) = g.window.expect("a window in the source");
            let values = samples(pixels, g.bits_allocated, g.bits_stored, g.signed);
            let got = out[k]["pixels"].as_array().expect("pixels");
            assert_eq!(got.len(), values.len(), "{name}");
            for (n, (grey, &s)) in got.iter().zip(&values).enumerate() {
                let want = linear_voi(f64::from(s) + g.intercept, center, width);
                let grey = grey.as_f64().expect("grey");
                assert!(
                    (grey - want).abs() <= 0.5 + 1e-9,
                    "{name}: rendered pixel {n} is {grey}, the window gives {want:.2}"
                );
            }
        }
    }
    assert!(server.stop().success());
}

/// An instance whose codestream the archive cannot decode (a JPEG
/// baseline frame damaged at its start, as a failing disk or link leaves
/// it): a retrieve that takes the default syntax gets it as stored, its
/// part saying so (PS3.18 §8.7.3.4 allows the lossy form), beside the
/// study's other instance converted; a client that names explicit VR
/// little endian is told 406 before any body, never a 200 cut short.
#[test]
fn an_instance_the_archive_cannot_decode_is_sent_as_stored_or_refused() {
    const TEST: &str = "an_instance_the_archive_cannot_decode_is_sent_as_stored_or_refused";
    if !web::tool_or_skip(DCMCJPEG, TEST) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (spec, files) = common::ct_files(
        &dir.path().join("ct"),
        1,
        110,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    );
    let source = std::fs::read(&files[0]).expect("source");
    let out = dir.path().join("baseline.dcm");
    let mut cmd = Command::new(DCMCJPEG);
    cmd.arg("+eb").arg(&files[0]).arg(&out);
    web::run_bounded(cmd, Duration::from_secs(60));
    let mut lossy = std::fs::read(&out).expect("encoded file");
    let encoded = Dicom::read(&lossy);
    const BASELINE: &str = "1.2.840.10008.1.2.4.50";
    assert_eq!(encoded.transfer_syntax, BASELINE);
    let lossy_sop = encoded.text(0x0008, 0x0018).expect("SOP");
    // The codestream's SOI and first marker overwritten: same length, so
    // the file stays well formed and is stored; its frame is not decodable.
    let bitstream = encoded.encapsulated_bitstream();
    let at = lossy
        .windows(64)
        .position(|w| w == &bitstream[..64])
        .expect("the bitstream in the file");
    lossy[at..at + 4].fill(0);
    let damaged = Dicom::read(&lossy);
    assert!(damaged.encapsulated_bitstream().starts_with(&[0, 0, 0, 0]));
    web::stow_ok(&server, &[&source, &lossy]);

    let study = format!("{}/studies/{}", server.base(), spec.study.study_uid);
    for accept in [Some(DICOM_DEFAULT), None, Some("*/*")] {
        let parts = get(&study, accept).parts();
        assert_eq!(parts.len(), 2, "{accept:?}: both instances, whole");
        let (mut as_stored, mut converted) = (0, 0);
        for part in &parts {
            match media_param(&part.content_type, "transfer-syntax").as_deref() {
                Some(BASELINE) => {
                    assert_eq!(sha256(&part.body), sha256(&lossy), "{accept:?}");
                    as_stored += 1;
                }
                Some(EXPLICIT_LE) => {
                    assert_eq!(
                        Dicom::read(&part.body).native_pixels(),
                        Dicom::read(&source).native_pixels(),
                        "{accept:?}"
                    );
                    converted += 1;
                }
                other => panic!("{accept:?}: a part in {other:?}"),
            }
        }
        assert_eq!((as_stored, converted), (1, 1), "{accept:?}");
    }

    let instance = format!("{study}/series/{}/instances/{lossy_sop}", spec.series_uid);
    let named =
        r#"multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1"#;
    let refused = get(&instance, Some(named));
    assert_eq!(refused.status, 406, "{}", refused.text());
    assert!(
        refused.text().contains("cannot be converted")
            && refused.text().contains("transfer-syntax=*"),
        "{}",
        refused.text()
    );
    assert!(server.stop().success());
}
