//! The viewer's figures in real headless Chromium on loopback: time from
//! opening a CT study to its first rendered slice and to the whole series,
//! frames per second while scrolling the stack and dragging the window,
//! and memory (JS heap plus wasm) against the series' pixel bytes.
//!
//! `cargo run --release -p benches --bin viewer-bench -- [--slices N] [--runs N] [--backend webgpu|webgl2|auto]`
//!
//! Needs the built viewer (`scripts/build-viewer.sh`), dcmtk's storescu,
//! chromium and chromedriver. Exits 1 when a target is missed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use benches::report::{self, Row, Unit, Value, table};
use benches::{data, dimse, pacs};
use serde_json::json;
use test_support::browser::{self, Driver};

const USAGE: &str = "usage: viewer-bench [--slices N] [--runs N] [--backend webgpu|webgl2|auto]";

/// Steps of each interaction measured for frames per second.
const STEPS: u32 = 120;

struct Args {
    slices: u32,
    runs: u32,
    backend: String,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        slices: 300,
        runs: 3,
        backend: "auto".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--slices" => args.slices = value("--slices")?.parse()?,
            "--runs" => args.runs = value("--runs")?.parse::<u32>()?.max(1),
            "--backend" => args.backend = value("--backend")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if !["auto", "webgpu", "webgl2"].contains(&args.backend.as_str()) {
        bail!("--backend must be auto, webgpu or webgl2");
    }
    Ok(args)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// One opening of the study: milliseconds from navigation to the marks.
struct Opening {
    first_image_ms: f64,
    series_loaded_ms: f64,
}

async fn open_study(client: &fantoccini::Client, url: &str) -> Result<Opening> {
    client
        .goto(url)
        .await
        .context("the viewer page does not open")?;
    browser::wait_until(
        client,
        "the whole series",
        "return performance.getEntriesByName('pacs:series-loaded').length > 0;",
        Duration::from_secs(120),
    )
    .await;
    let marks = browser::eval(
        client,
        "const t = n => performance.getEntriesByName(n)[0].startTime;
         return [t('pacs:first-image'), t('pacs:series-loaded')];",
        vec![],
    )
    .await;
    Ok(Opening {
        first_image_ms: marks[0].as_f64().context("no first-image mark")?,
        series_loaded_ms: marks[1].as_f64().context("no series-loaded mark")?,
    })
}

/// Frames drawn per second while `kind` events are sent, one per
/// animation frame: the viewer must keep up with the display.
async fn frames_per_second(client: &fantoccini::Client, kind: &str) -> Result<f64> {
    let script = "return (async (kind, steps) => {
        const canvas = document.getElementById('viewer-canvas');
        const r = canvas.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        const frame = () => new Promise(f => requestAnimationFrame(f));
        const drawn = () => window.pacsViewer.state().framesDrawn;
        await frame();
        const before = drawn(), t0 = performance.now();
        if (kind === 'drag') {
            canvas.dispatchEvent(new PointerEvent('pointerdown', {clientX: x, clientY: y, button: 0, buttons: 1, pointerId: 1, bubbles: true}));
        }
        for (let i = 0; i < steps; i++) {
            if (kind === 'scroll') {
                const deltaY = (Math.floor(i / 40) % 2 === 0) ? 100 : -100;
                canvas.dispatchEvent(new WheelEvent('wheel', {clientX: x, clientY: y, deltaY, bubbles: true, cancelable: true}));
            } else {
                const dx = (i % 40) * 3 - 60;
                canvas.dispatchEvent(new PointerEvent('pointermove', {clientX: x + dx, clientY: y + dx / 2, buttons: 1, pointerId: 1, bubbles: true}));
            }
            await frame();
        }
        await frame();
        const seconds = (performance.now() - t0) / 1000;
        if (kind === 'drag') {
            canvas.dispatchEvent(new PointerEvent('pointerup', {clientX: x, clientY: y, button: 0, pointerId: 1, bubbles: true}));
        }
        return { frames: drawn() - before, seconds };
    })(arguments[0], arguments[1]);";
    let v = browser::eval(client, script, vec![json!(kind), json!(STEPS)]).await;
    let frames = v["frames"]
        .as_f64()
        .context("the page does not count frames (pacsViewer.state().framesDrawn)")?;
    let seconds = v["seconds"].as_f64().context("no duration")?;
    Ok(frames.min(f64::from(STEPS)) / seconds)
}

/// JS heap plus wasm linear memory, in bytes.
async fn memory_bytes(client: &fantoccini::Client) -> Result<f64> {
    let v = browser::eval(
        client,
        "const s = window.pacsViewer.state();
         const heap = performance.memory ? performance.memory.usedJSHeapSize : null;
         const wasm = s.memory ? s.memory.wasmBytes : null;
         return { heap, wasm };",
        vec![],
    )
    .await;
    let heap = v["heap"].as_f64().context("no JS heap figure")?;
    let wasm = v["wasm"].as_f64().context(
        "the page does not report its wasm memory (pacsViewer.state().memory.wasmBytes)",
    )?;
    Ok(heap + wasm)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measured(r: &Result<f64>) -> Value {
    match r {
        Ok(v) => Value::Measured(*v),
        Err(e) => Value::Absent(format!("failed: {e:#}")),
    }
}

async fn main_inner() -> Result<bool> {
    let args = parse_args()?;
    let viewer = browser::viewer_dir();
    if !viewer.join("index.html").is_file() {
        bail!(
            "no built viewer in {}: run scripts/build-viewer.sh",
            viewer.display()
        );
    }
    if !dimse::storescu_installed() {
        bail!("dcmtk's storescu is required to load the study");
    }
    let bin = pacs::build_release(&workspace_root())?;
    let work = tempfile::Builder::new().prefix("viewer-bench-").tempdir()?;
    let ct = data::write_ct(&work.path().join("ct"), args.slices)?;
    let server = pacs::start(
        &bin,
        &work.path().join("data"),
        work.path().join("pacs.log"),
    )
    .await?;
    let dir = ct.files[0].parent().context("no CT directory")?.to_owned();
    dimse::ingest(&server, &[dir], ct.files.len(), ct.bytes).await?;
    // 512×512 16-bit slices.
    let pixel_bytes = f64::from(args.slices) * 512.0 * 512.0 * 2.0;
    println!(
        "viewer-bench: {} CT slices ({:.0} MB of pixels), backend {}, {} openings",
        args.slices,
        pixel_bytes / 1e6,
        args.backend,
        args.runs
    );

    let driver = Driver::start();
    let client = browser::open(&driver, 1280, 900).await;
    let url = format!(
        "{}/viewer?study={}&backend={}&lang=en",
        server.http_base, ct.study_uid, args.backend
    );
    let mut openings = Vec::new();
    for run in 0..args.runs {
        let o = open_study(&client, &url).await?;
        println!(
            "  opening {}: first image {:.0} ms, series loaded {:.0} ms",
            run + 1,
            o.first_image_ms,
            o.series_loaded_ms
        );
        openings.push(o);
    }
    let state = browser::state(&client).await;
    println!("  backend in use: {}", state["backend"]);
    let scroll = frames_per_second(&client, "scroll").await;
    let drag = frames_per_second(&client, "drag").await;
    let memory = memory_bytes(&client).await;
    let _ = client.close().await;
    server.stop(Duration::from_secs(30))?;

    let first = median(openings.iter().map(|o| o.first_image_ms / 1e3).collect());
    let whole = median(openings.iter().map(|o| o.series_loaded_ms / 1e3).collect());
    let none = || Value::Absent("no reference".into());
    let rows = vec![
        Row {
            figure: format!("open {}-slice CT → first slice, median", args.slices),
            unit: Unit::Milliseconds,
            pacs: Value::Measured(first),
            target: Some(0.3),
            reference: none(),
        },
        Row {
            figure: "→ whole series scrollable, median".into(),
            unit: Unit::Seconds,
            pacs: Value::Measured(whole),
            target: Some(2.0),
            reference: none(),
        },
        Row {
            figure: "stack scroll, frames".into(),
            unit: Unit::PerSecond,
            pacs: measured(&scroll),
            target: Some(60.0 * 0.95),
            reference: none(),
        },
        Row {
            figure: "window/level drag, frames".into(),
            unit: Unit::PerSecond,
            pacs: measured(&drag),
            target: Some(60.0 * 0.95),
            reference: none(),
        },
        Row {
            figure: "JS heap + wasm memory".into(),
            unit: Unit::Mebibytes,
            pacs: measured(&memory.map(|b| b / (1 << 20) as f64)),
            target: Some(2.0 * pixel_bytes / (1 << 20) as f64),
            reference: none(),
        },
    ];
    println!();
    print!("{}", table(&rows));
    println!(
        "frames per second are counted against the display's 60 Hz (one event per animation frame; 95% of them drawn is the target)"
    );
    // A figure that could not be measured is a failure too.
    Ok(report::verdict(&rows) && rows.iter().all(|r| r.met().is_some()))
}

#[tokio::main]
async fn main() -> ExitCode {
    match main_inner().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("viewer-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
