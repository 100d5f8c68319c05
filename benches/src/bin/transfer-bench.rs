//! `transfer-bench`: what forwarding a study to another `pacs` costs on a
//! poor link.
//!
//! 1. Bytes on the wire per CT study (300 slices, 512×512) and per X-ray
//!    study (a DX and a CR chest radiograph), packed as peer transfer packs
//!    them (JPEG-LS pixels, zstd rest), against the raw objects, against
//!    gzip (what Orthanc's transfers accelerator sends; it reports 2–3×),
//!    and against each lossless codec alone: deflate, zstd, JPEG-LS, HTJ2K
//!    and JPEG 2000 (the pure-Rust encoder the viewer's decoder comes
//!    with), and JPEG 2000 by gdcmconv where installed.
//! 2. Time to deliver the CT from one `pacs` to another through a 10 Mbit/s
//!    link (`test_support::link`), against the packed bytes divided by the
//!    bandwidth (target: within 1.1×).
//!
//! ```text
//! cargo run --release -p benches --bin transfer-bench -- [--slices N] [--mbit M] [--pacs-bin PATH]
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use dicom_samples::{
    CtSpec, Patient, SampleTransferSyntax, XrayKind, XraySpec, to_bytes, write_ct_series,
    xray_image,
};
use pacs_core::index::{Index, StoredInstance};
use pacs_core::{Archive, Incoming, Ingest, IngestConfig, SqliteIndex, Uid};
use storage::{FsStore, ObjectStore};
use test_support::link::{Link, LinkSpec};

struct Args {
    slices: u32,
    mbit: f64,
    pacs_bin: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        slices: 300,
        mbit: 10.0,
        pacs_bin: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--slices" => args.slices = value("--slices")?.parse()?,
            "--mbit" => args.mbit = value("--mbit")?.parse()?,
            "--pacs-bin" => args.pacs_bin = Some(value("--pacs-bin")?.into()),
            other => bail!(
                "unknown argument {other:?}\nusage: transfer-bench [--slices N] [--mbit M] [--pacs-bin PATH]"
            ),
        }
    }
    Ok(args)
}

/// Studies stored in a scratch archive: each instance's row and object.
struct Study {
    instances: Vec<(StoredInstance, Bytes)>,
    raw_pixels: u64,
}

async fn stored(objects: Vec<Vec<u8>>, dir: &Path) -> Result<Study> {
    let store: Arc<dyn ObjectStore> = Arc::new(FsStore::open(dir.join("objects"))?);
    let index: Arc<dyn Index> = Arc::new(SqliteIndex::open(dir.join("index.sqlite"))?);
    let ingest = Ingest::new(store.clone(), index.clone(), IngestConfig::default());
    let archive = Archive::new(store, index.clone());
    let mut studies: Vec<String> = Vec::new();
    for object in objects {
        let study = ingest
            .ingest(Incoming::Part10(Bytes::from(object)), "bench", None)
            .await?
            .study_instance_uid;
        if !studies.contains(&study) {
            studies.push(study);
        }
    }
    let mut instances = Vec::new();
    let mut raw_pixels = 0;
    for study in &studies {
        for i in index.instances(&Uid::parse(study)?, None, None).await? {
            if let pacs_core::layout::PixelLayout::Native { value, .. } = &i.pixel {
                raw_pixels += value.length;
            }
            let object = archive.object(&i).await?;
            instances.push((i, object));
        }
    }
    Ok(Study {
        instances,
        raw_pixels,
    })
}

/// Bytes and seconds of one way of coding a study.
struct Coded {
    name: &'static str,
    bytes: Option<u64>,
    seconds: f64,
    note: String,
}

fn timed(name: &'static str, study: &Study, f: impl Fn(&StoredInstance, &[u8]) -> usize) -> Coded {
    let start = Instant::now();
    let bytes = study.instances.iter().map(|(i, o)| f(i, o) as u64).sum();
    Coded {
        name,
        bytes: Some(bytes),
        seconds: start.elapsed().as_secs_f64(),
        note: String::new(),
    }
}

fn gzip(data: &[u8], level: u32) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    let _ = e.write_all(data);
    e.finish().map(|v| v.len()).unwrap_or(data.len())
}

/// The pixels of one instance as JPEG-LS alone (via the packer).
fn jpeg_ls_only(i: &StoredInstance, o: &[u8]) -> usize {
    pacs_core::wire::pack(o, &i.pixel, i.image.as_ref())
        .bytes
        .len()
}

/// The pixels of one native greyscale instance as a lossless JPEG 2000
/// codestream (HTJ2K block coding when `ht`), by the pure-Rust encoder.
/// The header is not counted: compare with "vs pixels".
fn wavelet(i: &StoredInstance, o: &[u8], ht: bool) -> Option<usize> {
    let image = i.image.as_ref()?;
    let pacs_core::layout::PixelLayout::Native { value, .. } = &i.pixel else {
        return None;
    };
    let start = usize::try_from(value.offset).ok()?;
    let pixels = o.get(start..start + usize::try_from(value.length).ok()?)?;
    let options = dicom_toolkit_jpeg2000::EncodeOptions {
        use_ht_block_coding: ht,
        ..Default::default()
    };
    dicom_toolkit_jpeg2000::encode(
        pixels,
        u32::from(image.columns),
        u32::from(image.rows),
        1,
        u8::try_from(image.bits_stored).ok()?,
        image.pixel_representation == 1,
        &options,
    )
    .ok()
    .map(|c| c.len())
}

/// JPEG 2000 lossless by gdcmconv, file by file, when it is installed.
fn j2k(study: &Study, dir: &Path) -> Coded {
    let gdcm = Path::new("/usr/bin/gdcmconv");
    if !gdcm.is_file() {
        return Coded {
            name: "JPEG 2000 lossless",
            bytes: None,
            seconds: 0.0,
            note: "gdcmconv not installed".into(),
        };
    }
    let start = Instant::now();
    let mut total = 0u64;
    for (n, (_, object)) in study.instances.iter().enumerate() {
        let input = dir.join(format!("in{n}.dcm"));
        let output = dir.join(format!("out{n}.dcm"));
        if std::fs::write(&input, object).is_err() {
            continue;
        }
        let ok = Command::new(gdcm)
            .arg("--j2k")
            .arg(&input)
            .arg(&output)
            .status()
            .is_ok_and(|s| s.success());
        total += if ok {
            std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0)
        } else {
            object.len() as u64
        };
        let _ = std::fs::remove_file(&input);
        let _ = std::fs::remove_file(&output);
    }
    Coded {
        name: "JPEG 2000 lossless",
        bytes: Some(total),
        seconds: start.elapsed().as_secs_f64(),
        note: "gdcmconv, process per file".into(),
    }
}

fn report_sizes(title: &str, study: &Study, dir: &Path) -> (u64, u64) {
    let raw: u64 = study.instances.iter().map(|(_, o)| o.len() as u64).sum();
    let rows = vec![
        timed("gzip -6 (Orthanc's accelerator)", study, |_, o| gzip(o, 6)),
        timed("deflate -9", study, |_, o| gzip(o, 9)),
        timed("zstd -3", study, |_, o| {
            zstd::bulk::compress(o, 3)
                .map(|v| v.len())
                .unwrap_or(o.len())
        }),
        timed("zstd -19", study, |_, o| {
            zstd::bulk::compress(o, 19)
                .map(|v| v.len())
                .unwrap_or(o.len())
        }),
        timed("JPEG-LS + zstd rest (pacs peer)", study, jpeg_ls_only),
        j2k(study, dir),
        timed("HTJ2K lossless, pixels only", study, |i, o| {
            wavelet(i, o, true).unwrap_or(o.len())
        }),
        timed("JPEG 2000 lossless, pixels only", study, |i, o| {
            wavelet(i, o, false).unwrap_or(o.len())
        }),
    ];
    println!(
        "\n{title}: {} instances, {raw} bytes, {} bytes of raw pixels",
        study.instances.len(),
        study.raw_pixels
    );
    println!(
        "  {:<34} {:>12} {:>9} {:>11} {:>9}  note",
        "coding", "bytes", "vs raw", "vs pixels", "ms/inst"
    );
    let gzip_bytes = rows[0].bytes.unwrap_or(raw);
    let mut packed = raw;
    for r in &rows {
        match r.bytes {
            Some(b) => {
                if r.name.contains("pacs peer") {
                    packed = b;
                }
                println!(
                    "  {:<34} {:>12} {:>8.2}× {:>10.2}× {:>9.1}  {}",
                    r.name,
                    b,
                    raw as f64 / b as f64,
                    study.raw_pixels as f64 / b as f64,
                    r.seconds * 1e3 / study.instances.len() as f64,
                    r.note
                );
            }
            None => println!("  {:<34} {:>12}  {}", r.name, "-", r.note),
        }
    }
    println!(
        "  pacs peer packs {:.2}× smaller than gzip (Orthanc's transfers accelerator)",
        gzip_bytes as f64 / packed as f64
    );
    (raw, packed)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

async fn delivery(args: &Args, ct_files: &[PathBuf], packed: u64, work: &Path) -> Result<bool> {
    let bin = match &args.pacs_bin {
        Some(b) => b.clone(),
        None => benches::pacs::build_release(&workspace_root())?,
    };
    let centre = benches::pacs::start(&bin, &work.join("centre"), work.join("centre.log")).await?;
    let centre_addr: std::net::SocketAddr = centre
        .http_base
        .trim_start_matches("http://")
        .parse()
        .context("centre address")?;
    let link = Link::start(
        centre_addr,
        LinkSpec::new(args.mbit, Duration::from_millis(20), 0.0),
    )
    .map_err(anyhow::Error::msg)?;
    let config = work.join("edge.toml");
    std::fs::write(
        &config,
        format!(
            "[[forward.destinations]]\nname = \"centre\"\npeer_url = \"http://127.0.0.1:{}\"\n\
             [[forward.rules]]\nto = [\"centre\"]\nstable_secs = 1\n",
            link.port
        ),
    )?;
    let edge_dir = work.join("edge");
    // Imported before the edge starts: the job is queued with the
    // instances, and the clock below starts when sending starts.
    let status = Command::new(&bin)
        .arg("import")
        .arg("--quiet")
        .arg("--data-dir")
        .arg(&edge_dir)
        .arg("--config")
        .arg(&config)
        .args(ct_files)
        .status()?;
    if !status.success() {
        bail!("pacs import failed");
    }
    let edge =
        benches::pacs::start_with_config(&bin, &edge_dir, work.join("edge.log"), Some(&config))
            .await?;
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(3600);
    let job = loop {
        let jobs: serde_json::Value = http
            .get(format!("{}/api/forwarding/jobs", edge.http_base))
            .send()
            .await?
            .json()
            .await?;
        if let Some(j) = jobs.as_array().and_then(|a| a.first())
            && j["state"] == "delivered"
        {
            break j.clone();
        }
        if Instant::now() > deadline {
            bail!("the study was not delivered within an hour");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let history: serde_json::Value = http
        .get(format!(
            "{}/api/forwarding/jobs/{}",
            edge.http_base, job["id"]
        ))
        .send()
        .await?
        .json()
        .await?;
    let at = |event: &str| {
        history["events"]
            .as_array()
            .and_then(|e| e.iter().find(|x| x["event"] == event))
            .and_then(|x| x["at"].as_i64())
    };
    let (Some(start), Some(end)) = (at("sending"), at("delivered")) else {
        bail!("the job's history lacks its start or end: {history}");
    };
    let seconds = (end - start) as f64 / 1e3;
    let wire = link.upstream_bytes();
    let rate = args.mbit * 1e6 / 8.0;
    let ideal = packed as f64 / rate;
    let ratio = seconds / ideal;
    println!(
        "\ndelivery of the CT over {} Mbit/s (20 ms round trip): {seconds:.1} s; \
         packed bytes / bandwidth {ideal:.1} s; ratio {ratio:.3} (target ≤ 1.1); \
         on the wire {wire} bytes ({:.3} of the packed bytes)",
        args.mbit,
        wire as f64 / packed as f64
    );
    edge.stop(Duration::from_secs(30))?;
    centre.stop(Duration::from_secs(30))?;
    Ok(ratio <= 1.1)
}

async fn run(args: Args) -> Result<bool> {
    let work = tempfile::tempdir()?;
    let ct_dir = work.path().join("ct");
    let ct = CtSpec::chest(Patient::karimov_ascii(), 42).with_slices(args.slices);
    eprintln!("writing a {}-slice CT", args.slices);
    let ct_files = write_ct_series(&ct, &ct_dir, SampleTransferSyntax::ExplicitVrLittleEndian)?;
    let ct_objects = ct_files
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<Vec<_>>>()?;
    let ct_study = stored(ct_objects, &work.path().join("ct-archive")).await?;
    let (_, ct_packed) = report_sizes("CT study", &ct_study, work.path());

    let xray_objects = [XrayKind::Dx, XrayKind::Cr]
        .into_iter()
        .map(|kind| {
            let mut o = xray_image(&XraySpec::chest(kind, Patient::karimov_ascii(), 43))?;
            Ok(to_bytes(
                &mut o,
                SampleTransferSyntax::ExplicitVrLittleEndian,
            )?)
        })
        .collect::<Result<Vec<_>>>()?;
    let xray_study = stored(xray_objects, &work.path().join("xray-archive")).await?;
    report_sizes(
        "X-ray (a DX and a CR chest radiograph)",
        &xray_study,
        work.path(),
    );

    delivery(&args, &ct_files, ct_packed, work.path()).await
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => {
            println!("every target with a figure is met");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("targets missed: delivery time over the link");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("transfer-bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
