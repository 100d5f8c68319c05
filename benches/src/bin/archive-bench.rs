//! `archive-bench [--quick]`: the archive's figures against its targets and
//! against the reference (Orthanc) measured in the same run on the same data.
//!
//! ```text
//! cargo run --release -p benches --bin archive-bench -- [--quick]
//!     [--pacs-bin PATH] [--no-reference] [--work-dir DIR] [--slices N] [--studies N]
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use benches::bench::{self, Settings};
use benches::{dimse, figures, orthanc, pacs, report};

struct Args {
    quick: bool,
    pacs_bin: Option<PathBuf>,
    no_reference: bool,
    work_dir: Option<PathBuf>,
    slices: Option<u32>,
    studies: Option<u64>,
}

const USAGE: &str = "usage: archive-bench [--quick] [--pacs-bin PATH] [--no-reference] \
                     [--work-dir DIR] [--slices N] [--studies N]";

fn parse_args() -> Result<Args> {
    let mut args = Args {
        quick: false,
        pacs_bin: None,
        no_reference: false,
        work_dir: None,
        slices: None,
        studies: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--no-reference" => args.no_reference = true,
            "--pacs-bin" => args.pacs_bin = Some(value("--pacs-bin")?.into()),
            "--work-dir" => args.work_dir = Some(value("--work-dir")?.into()),
            "--slices" => args.slices = Some(value("--slices")?.parse()?),
            "--studies" => args.studies = Some(value("--studies")?.parse()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

async fn main_inner() -> Result<bool> {
    let args = parse_args()?;
    if !dimse::storescu_installed() {
        bail!(
            "dcmtk's {} is required for the C-STORE figures (Debian package dcmtk)",
            dimse::STORESCU
        );
    }
    let pacs_bin = match args.pacs_bin {
        Some(p) => p,
        None => pacs::build_release(&workspace_root())?,
    };
    let installed = orthanc::installed();
    let work_parent = args.work_dir.unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&work_parent)?;
    let work = tempfile::Builder::new()
        .prefix("archive-bench-")
        .tempdir_in(&work_parent)
        .context("cannot create the work directory")?;
    let settings = Settings {
        quick: args.quick,
        slices: args.slices.unwrap_or(if args.quick { 60 } else { 300 }),
        studies: args
            .studies
            .unwrap_or(if args.quick { 10_000 } else { 100_000 }),
        pacs_bin,
        reference: installed && !args.no_reference,
        work: work.path().to_owned(),
    };
    println!(
        "archive-bench{}: {} CT slices, {} studies, work in {}",
        if settings.quick { " --quick" } else { "" },
        settings.slices,
        bench::group_thousands(settings.studies),
        settings.work.display()
    );
    if !installed {
        println!("reference not installed (Debian packages orthanc and orthanc-dicomweb)");
    } else if args.no_reference {
        println!("reference turned off (--no-reference)");
    } else {
        println!("reference: /usr/sbin/Orthanc with the DICOMweb plugin, started by this run");
    }

    print_load("before");
    let outcome = bench::run(&settings).await?;
    print_load("after");
    let rows = figures::rows(&outcome, &settings);
    println!();
    print!("{}", report::table(&rows));
    println!(
        "ratio: pacs speed / reference speed, or reference time (or memory) / pacs time; above 1 is better for pacs"
    );
    if let (Ok(run), Some(disk)) = (&outcome.pacs.ingest4, outcome.disk) {
        print_cpu_ceiling(run, disk.parallel_mb_per_s() * figures::DISK_SHARE);
    }
    Ok(report::verdict(&rows))
}

/// Where the four-association run stood against the processors: the CPU
/// time the server and the sending `storescu`s spent per instance, and
/// the rate at which that time fills every core. A disk target above
/// this rate is out of reach on this machine whatever the disk offers.
fn print_cpu_ceiling(run: &benches::dimse::IngestRun, disk_target_mb_per_s: f64) {
    let (Some(server), Some(client)) = (run.server_cpu, run.client_cpu) else {
        return;
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let per_instance = |c: benches::process::CpuTimes| (c.user + c.system) / run.instances as f64;
    let (server_s, client_s) = (per_instance(server), per_instance(client));
    let ceiling = cores / (server_s + client_s);
    let bytes_per_instance = run.bytes as f64 / run.instances as f64;
    println!(
        "CPU ceiling, 4 associations: server {:.2} ms + storescu {:.2} ms of CPU per instance on {cores} cores \
         allow at most {ceiling:.0} instances/s ({:.0} MB/s); the disk target ({disk_target_mb_per_s:.0} MB/s) \
         needs {:.0}/s",
        server_s * 1e3,
        client_s * 1e3,
        ceiling * bytes_per_instance / 1e6,
        disk_target_mb_per_s * 1e6 / bytes_per_instance,
    );
}

/// Other work on the machine skews every figure: say how busy it was.
fn print_load(when: &str) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let one_minute = load.split_whitespace().next().unwrap_or("?");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("load average {when} the run: {one_minute} on {cores} cores");
}

#[tokio::main]
async fn main() -> ExitCode {
    match main_inner().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("archive-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}
