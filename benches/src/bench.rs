//! The benchmark's plan: the same data through the same clients, first to
//! the archive, then to the reference, one server running at a time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::data::{self, CtSeriesFiles};
use crate::dimse::{self, IngestRun};
use crate::process::{Server, System};
use crate::qido::{self, Load};
use crate::stats::Latencies;
use crate::{disk, orthanc, pacs, web};

/// What to run and where.
#[derive(Debug, Clone)]
pub struct Settings {
    pub quick: bool,
    pub slices: u32,
    pub studies: u64,
    pub pacs_bin: PathBuf,
    /// Run the reference too (it is installed and not turned off).
    pub reference: bool,
    pub work: PathBuf,
}

/// A figure, or why it is missing.
pub type Fig<T> = Result<T, String>;

/// Everything measured on one system.
#[derive(Debug, Clone)]
pub struct Measured {
    pub ingest1: Fig<IngestRun>,
    pub ingest4: Fig<IngestRun>,
    pub metadata: Fig<Latencies>,
    pub frames: Fig<Latencies>,
    pub retrieve: Fig<Latencies>,
    pub load: Fig<Load>,
    pub searches: Fig<Vec<Latencies>>,
    pub finds: Fig<Vec<Latencies>>,
}

impl Measured {
    fn absent(why: &str) -> Measured {
        Measured {
            ingest1: Err(why.to_owned()),
            ingest4: Err(why.to_owned()),
            metadata: Err(why.to_owned()),
            frames: Err(why.to_owned()),
            retrieve: Err(why.to_owned()),
            load: Err(why.to_owned()),
            searches: Err(why.to_owned()),
            finds: Err(why.to_owned()),
        }
    }
}

/// The run's data and both systems' figures.
pub struct Outcome {
    pub disk: Option<disk::Disk>,
    pub ct_bytes: u64,
    pub pacs: Measured,
    pub reference: Measured,
}

pub const METADATA_REQUESTS: usize = 20;
pub const FRAME_WORKERS: usize = 4;
pub const FRAMES_PER_WORKER: usize = 100;
pub const RETRIEVES: usize = 5;
pub const SEARCH_ROUNDS: usize = 40;
/// Tiny studies per STOW-RS request, and requests in flight.
pub const STOW_BATCH: u64 = 500;
pub const STOW_PARALLEL: usize = 8;
/// The reference is loaded for the search figures only if that takes at most this.
pub const REFERENCE_LOAD_BUDGET: Duration = Duration::from_secs(240);

fn failed<T>(what: &str, system: System, e: anyhow::Error) -> Fig<T> {
    eprintln!("{} {what} failed: {e:#}", system.name());
    Err("failed".into())
}

async fn start(system: System, s: &Settings, name: &str) -> Result<Server> {
    let dir = s
        .work
        .join(format!("{}-{name}", system.name().to_lowercase()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    match system {
        System::Pacs => {
            pacs::start(&s.pacs_bin, &dir, s.work.join(format!("pacs-{name}.log"))).await
        }
        System::Orthanc => orthanc::start(&dir, dimse::CALLING_AET).await,
    }
}

fn print_ingest(system: System, run: &IngestRun) {
    println!(
        "  {:<7} C-STORE, {} association(s): {} instances in {:.2} s = {:.0}/s, {:.0} MB/s; CPU: server {}, storescu {}; peak RSS {}",
        system.name(),
        run.associations,
        run.instances,
        run.seconds,
        run.instances_per_s(),
        run.mb_per_s(),
        run.server_cpu
            .map(|c| c.to_string())
            .unwrap_or_else(|| "?".into()),
        run.client_cpu
            .map(|c| c.to_string())
            .unwrap_or_else(|| "?".into()),
        run.peak_rss_kib
            .map(|k| format!("{} MiB", k / 1024))
            .unwrap_or_else(|| "?".into()),
    );
}

fn print_latencies(system: System, what: &str, l: &Latencies) {
    println!(
        "  {:<7} {what}: median {:.2} ms, p95 {:.2} ms over {} requests",
        system.name(),
        l.median() * 1e3,
        l.p95() * 1e3,
        l.len()
    );
}

/// The C-STORE figures and the WADO-RS figures of one system, each ingest
/// on a fresh server with a fresh data directory.
async fn ingest_and_read(
    system: System,
    s: &Settings,
    ct: &CtSeriesFiles,
    one_dir: &Path,
    four_dirs: &[PathBuf],
    m: &mut Measured,
) -> Result<()> {
    let server = start(system, s, "one-association").await?;
    m.ingest1 = match dimse::ingest(&server, &[one_dir.to_owned()], ct.files.len(), ct.bytes).await
    {
        Ok(run) => {
            print_ingest(system, &run);
            Ok(run)
        }
        Err(e) => failed("C-STORE over one association", system, e),
    };
    server.stop(Duration::from_secs(60))?;

    let server = start(system, s, "four-associations").await?;
    m.ingest4 = match dimse::ingest(&server, four_dirs, ct.files.len(), ct.bytes).await {
        Ok(run) => {
            print_ingest(system, &run);
            Ok(run)
        }
        Err(e) => failed("C-STORE over four associations", system, e),
    };
    if m.ingest4.is_err() {
        server.stop(Duration::from_secs(60))?;
        return Ok(());
    }
    let base = server.dicomweb.clone();
    m.metadata = match web::series_metadata(&base, ct, METADATA_REQUESTS).await {
        Ok(l) => {
            print_latencies(system, "series /metadata", &l);
            Ok(l)
        }
        Err(e) => failed("series /metadata", system, e),
    };
    let frame_bytes = 512 * 512 * 2;
    m.frames = match web::frames(&base, ct, frame_bytes, FRAME_WORKERS, FRAMES_PER_WORKER).await {
        Ok(l) => {
            print_latencies(system, "/frames/1, 4 concurrent clients", &l);
            Ok(l)
        }
        Err(e) => failed("/frames/1", system, e),
    };
    m.retrieve = match web::study_retrieve(&base, ct, RETRIEVES).await {
        Ok(l) => {
            print_latencies(system, "whole-study retrieve", &l);
            Ok(l)
        }
        Err(e) => failed("whole-study retrieve", system, e),
    };
    server.stop(Duration::from_secs(60))?;
    Ok(())
}

/// Loads the tiny studies into a fresh server and times the searches. For
/// the reference, a first slice of the load decides whether the rest fits
/// in [`REFERENCE_LOAD_BUDGET`].
async fn load_and_search(
    system: System,
    s: &Settings,
    bodies: &[bytes::Bytes],
    m: &mut Measured,
) -> Result<()> {
    let server = start(system, s, "search").await?;
    let cpu_before = server.cpu_times();
    let load = if system == System::Orthanc {
        let probe_bodies = bodies.len().min(4);
        let hard_deadline = Instant::now() + REFERENCE_LOAD_BUDGET * 3 / 2;
        let probe = qido::stow_load(
            &server.dicomweb,
            &bodies[..probe_bodies],
            STOW_BATCH,
            s.studies,
            STOW_PARALLEL,
            None,
        )
        .await?;
        let estimate = s.studies as f64 / probe.per_s();
        println!(
            "  {:<7} STOW-RS probe: {} studies at {:.0}/s; all {} would take about {:.0} s",
            system.name(),
            probe.studies,
            probe.per_s(),
            s.studies,
            estimate
        );
        m.load = Ok(probe);
        if estimate > REFERENCE_LOAD_BUDGET.as_secs_f64() {
            println!(
                "  {:<7} skipped: loading {} studies into the reference takes too long ({:.0} studies/s measured, about {:.0} min)",
                system.name(),
                group_thousands(s.studies),
                probe.per_s(),
                estimate / 60.0
            );
            m.searches = Err(format!("skipped: load at {:.0}/s too slow", probe.per_s()));
            m.finds = m.searches.clone();
            server.stop(Duration::from_secs(60))?;
            return Ok(());
        }
        let rest = qido::stow_load(
            &server.dicomweb,
            &bodies[probe_bodies..],
            STOW_BATCH,
            s.studies,
            STOW_PARALLEL,
            Some(hard_deadline),
        )
        .await?;
        let load = Load {
            studies: probe.studies + rest.studies,
            seconds: probe.seconds + rest.seconds,
        };
        if load.studies < s.studies {
            println!(
                "  {:<7} skipped: loading {} studies into the reference takes too long (only {} in {:.0} s, {:.0} studies/s measured)",
                system.name(),
                group_thousands(s.studies),
                group_thousands(load.studies),
                load.seconds,
                load.per_s()
            );
            m.load = Ok(load);
            m.searches = Err(format!("skipped: load at {:.0}/s too slow", load.per_s()));
            m.finds = m.searches.clone();
            server.stop(Duration::from_secs(60))?;
            return Ok(());
        }
        load
    } else {
        qido::stow_load(
            &server.dicomweb,
            bodies,
            STOW_BATCH,
            s.studies,
            STOW_PARALLEL,
            None,
        )
        .await?
    };
    let held = crate::process::instance_count(&server).await?;
    anyhow::ensure!(
        held == s.studies,
        "{} holds {held} instances after the STOW-RS load, expected {}",
        system.name(),
        s.studies
    );
    println!(
        "  {:<7} STOW-RS load: {} tiny studies in {:.1} s = {:.0}/s ({} per request, {} requests in flight); server CPU {}",
        system.name(),
        load.studies,
        load.seconds,
        load.per_s(),
        STOW_BATCH,
        STOW_PARALLEL,
        match (cpu_before, server.cpu_times()) {
            (Some(a), Some(b)) => b.since(a).to_string(),
            _ => "?".into(),
        }
    );
    m.load = Ok(load);
    m.searches = match qido::searches(&server.dicomweb, s.studies, SEARCH_ROUNDS).await {
        Ok(all) => {
            for (kind, l) in qido::KINDS.iter().zip(&all) {
                print_latencies(system, &format!("QIDO-RS {kind}"), l);
            }
            Ok(all)
        }
        Err(e) => failed("QIDO-RS searches", system, e),
    };
    m.finds = match crate::cfind::searches(
        server.dicom_port,
        dimse::CALLING_AET,
        &server.called_aet,
        s.studies,
        SEARCH_ROUNDS,
    )
    .await
    {
        Ok(all) => {
            for (kind, l) in crate::cfind::KINDS.iter().zip(&all) {
                print_latencies(system, &format!("C-FIND {kind}"), l);
            }
            Ok(all)
        }
        Err(e) => failed("C-FIND searches", system, e),
    };
    server.stop(Duration::from_secs(60))?;
    Ok(())
}

/// `100 000` for 100000.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Runs every phase; a phase that fails leaves its figures marked failed
/// and the others still run.
pub async fn run(s: &Settings) -> Result<Outcome> {
    let mut pacs_m = Measured::absent("not measured");
    let mut ref_m = Measured::absent(if s.reference {
        "not measured"
    } else {
        "reference not installed"
    });

    let t = Instant::now();
    let ct = data::write_ct(&s.work.join("ct"), s.slices)?;
    println!(
        "data: {} CT slices, 512×512×16 bit, {:.1} MB, written in {:.1} s",
        ct.files.len(),
        ct.bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let one_dir = ct.files[0]
        .parent()
        .context("the CT files have no directory")?
        .to_owned();
    let four_dirs = data::split_into_dirs(&ct.files, &s.work.join("split"), 4)?;
    // The files just written are still being written back: left alone,
    // that traffic would slow the servers' own fsyncs during the ingest.
    rustix::fs::sync();

    println!("C-STORE and WADO-RS:");
    if let Err(e) = ingest_and_read(System::Pacs, s, &ct, &one_dir, &four_dirs, &mut pacs_m).await {
        eprintln!("pacs phase failed: {e:#}");
    }
    if s.reference
        && let Err(e) =
            ingest_and_read(System::Orthanc, s, &ct, &one_dir, &four_dirs, &mut ref_m).await
    {
        eprintln!("reference phase failed: {e:#}");
    }

    // Measured after the ingests, not before: the probe creates and removes
    // hundreds of files, and a filesystem without a journal (ext4 here)
    // then searches longer for free inodes for a while, which would slow
    // the server's first ingest.
    let disk = match disk::measure(&s.work, 200, 256 << 20) {
        Ok(d) => {
            println!(
                "disk: 512 KiB file + fsync + rename + directory fsync: {:.0}/s sequential ({:.2} ms each), \
                 {:.0}/s by {} writers ({:.0} MB/s); 4 KiB append + fsync: {:.0}/s ({:.2} ms each); \
                 streaming with one fsync: {:.0} MB/s",
                d.durable_files_per_s,
                1e3 / d.durable_files_per_s,
                d.parallel_files_per_s,
                disk::Disk::WRITERS,
                d.parallel_mb_per_s(),
                d.commits_per_s,
                1e3 / d.commits_per_s,
                d.streaming_mb_per_s
            );
            Some(d)
        }
        Err(e) => {
            eprintln!("disk probe failed: {e:#}");
            None
        }
    };

    let t = Instant::now();
    let bodies = data::tiny_stow_bodies(s.studies, STOW_BATCH)?;
    println!(
        "QIDO-RS: {} tiny studies generated in {:.1} s ({:.0} MB of STOW-RS bodies)",
        group_thousands(s.studies),
        t.elapsed().as_secs_f64(),
        bodies.iter().map(|b| b.len()).sum::<usize>() as f64 / 1e6
    );
    if let Err(e) = load_and_search(System::Pacs, s, &bodies, &mut pacs_m).await {
        eprintln!("pacs search phase failed: {e:#}");
        if pacs_m.load.is_err() {
            pacs_m.load = Err("failed".into());
        }
        pacs_m.searches = Err("failed".into());
    }
    if s.reference {
        if s.quick {
            ref_m.load = Err("not in --quick".into());
            ref_m.searches = Err("not in --quick".into());
        } else if let Err(e) = load_and_search(System::Orthanc, s, &bodies, &mut ref_m).await {
            eprintln!("reference search phase failed: {e:#}");
            ref_m.searches = Err("failed".into());
        }
    }
    Ok(Outcome {
        disk,
        ct_bytes: ct.bytes,
        pacs: pacs_m,
        reference: ref_m,
    })
}
