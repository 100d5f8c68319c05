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
    /// Where the time to the first image went (resource timings).
    timeline: String,
}

/// The first image's path through the page, from the browser's resource
/// timings and the page's own marks (GPU opened, metadata read, first
/// slice decoded): what happened when, in milliseconds from navigation.
const TIMELINE: &str = "
    const all = performance.getEntriesByType('resource');
    const first = f => all.find(e => f(e.name));
    const span = (label, e) => e ? `${label} ${e.startTime.toFixed(0)}–${e.responseEnd.toFixed(0)}` : `${label} –`;
    const mark = (label, name) => {
        const m = performance.getEntriesByName(name)[0];
        return `${label} ${m ? m.startTime.toFixed(0) : '–'}`;
    };
    const nav = performance.getEntriesByType('navigation')[0];
    return [
        `page ${nav ? nav.responseEnd.toFixed(0) : '–'}`,
        span('script', first(n => n.endsWith('.js') && !n.includes('worker'))),
        span('wasm', first(n => n.endsWith('.wasm'))),
        mark('GPU ready', 'pacs:gpu-ready'),
        span('series list', first(n => n.endsWith('/series'))),
        span('metadata', first(n => n.includes('/metadata'))),
        mark('read', 'pacs:metadata-read'),
        span('first frame', first(n => n.includes('/frames/'))),
        mark('decoded', 'pacs:first-slice-decoded'),
        mark('first image', 'pacs:first-image'),
    ].join(', ');";

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
    let timeline = browser::eval(client, TIMELINE, vec![]).await;
    Ok(Opening {
        first_image_ms: marks[0].as_f64().context("no first-image mark")?,
        series_loaded_ms: marks[1].as_f64().context("no series-loaded mark")?,
        timeline: timeline.as_str().unwrap_or_default().to_owned(),
    })
}

/// Frame rate while `kind` events are sent, and where the page's main
/// thread spent its time per redraw meanwhile.
struct FrameRate {
    per_second: f64,
    gpu_ms_per_redraw: f64,
    overlay_ms_per_redraw: f64,
}

/// Frames drawn per second while `kind` events are sent, one per
/// animation frame: the viewer must keep up with the display.
async fn frames_per_second(client: &fantoccini::Client, kind: &str) -> Result<FrameRate> {
    let script = "return (async (kind, steps) => {
        const canvas = document.getElementById('viewer-canvas');
        const r = canvas.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        const frame = () => new Promise(f => requestAnimationFrame(f));
        const drawn = () => window.pacsViewer.state().framesDrawn;
        const cost = () => window.pacsViewer.state().redrawCost;
        await frame();
        const before = drawn(), costBefore = cost(), t0 = performance.now();
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
        const costAfter = cost();
        const redraws = Math.max(1, costAfter.redraws - costBefore.redraws);
        return {
            frames: drawn() - before,
            seconds,
            gpuMs: (costAfter.gpuMs - costBefore.gpuMs) / redraws,
            overlayMs: (costAfter.overlayMs - costBefore.overlayMs) / redraws,
        };
    })(arguments[0], arguments[1]);";
    let v = browser::eval(client, script, vec![json!(kind), json!(STEPS)]).await;
    let frames = v["frames"]
        .as_f64()
        .context("the page does not count frames (pacsViewer.state().framesDrawn)")?;
    let seconds = v["seconds"].as_f64().context("no duration")?;
    Ok(FrameRate {
        per_second: frames.min(f64::from(STEPS)) / seconds,
        gpu_ms_per_redraw: v["gpuMs"].as_f64().unwrap_or(f64::NAN),
        overlay_ms_per_redraw: v["overlayMs"].as_f64().unwrap_or(f64::NAN),
    })
}

/// The browser's own ceilings, with no application at all: frames per
/// second of a bare WebGL2 canvas as large as the viewer's, (1) cleared
/// each animation frame, (2) covered by a minimal windowed 16-bit image
/// shader. Under software rendering these bound what any viewer can reach
/// on the machine.
async fn plain_canvas_fps(
    client: &fantoccini::Client,
    width: f64,
    height: f64,
) -> Result<(f64, f64)> {
    let script = "return (async (width, height, steps) => {
        document.body.innerHTML = '';
        document.body.style.margin = '0';
        const canvas = document.createElement('canvas');
        canvas.width = width; canvas.height = height;
        document.body.appendChild(canvas);
        const gl = canvas.getContext('webgl2');
        if (!gl) return null;
        const frame = () => new Promise(f => requestAnimationFrame(f));
        const rate = async draw => {
            await frame();
            const t0 = performance.now();
            for (let i = 0; i < steps; i++) { draw(i); await frame(); }
            return steps / ((performance.now() - t0) / 1000);
        };
        const clear = await rate(i => {
            gl.clearColor((i % 50) / 50, 0.5, 0.5, 1);
            gl.clear(gl.COLOR_BUFFER_BIT);
        });
        // A 512x512 16-bit image drawn over the whole canvas with four
        // integer texel reads, bilinear weights and a linear window: the
        // least a medical image viewer's fragment shader does.
        const vs = `#version 300 es
            void main() { vec2 p = vec2(float((gl_VertexID & 1) * 4 - 1), float((gl_VertexID >> 1) * 4 - 1));
                          gl_Position = vec4(p, 0.0, 1.0); }`;
        const fs = `#version 300 es
            precision highp float; precision highp isampler2D;
            uniform isampler2D image; uniform vec2 scale; uniform float centre;
            out vec4 colour;
            float at(ivec2 p) { return float(texelFetch(image, clamp(p, ivec2(0), ivec2(511)), 0).x); }
            void main() {
                vec2 u = gl_FragCoord.xy * scale - 0.5; vec2 b = floor(u); vec2 t = u - b; ivec2 p = ivec2(b);
                float v = mix(mix(at(p), at(p + ivec2(1, 0)), t.x), mix(at(p + ivec2(0, 1)), at(p + ivec2(1, 1)), t.x), t.y);
                float g = clamp((v - 1024.0 - (centre - 0.5)) / 399.0 + 0.5, 0.0, 1.0);
                colour = vec4(vec3(round(g * 255.0) / 255.0), 1.0);
            }`;
        const shader = (type, src) => { const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s); return s; };
        const prog = gl.createProgram();
        gl.attachShader(prog, shader(gl.VERTEX_SHADER, vs));
        gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, fs));
        gl.linkProgram(prog);
        if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) return { clear, shaded: null };
        gl.useProgram(prog);
        const tex = gl.createTexture();
        gl.bindTexture(gl.TEXTURE_2D, tex);
        const pixels = new Int16Array(512 * 512).map((_, i) => (i * 7) % 2000);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.R16I, 512, 512, 0, gl.RED_INTEGER, gl.SHORT, pixels);
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
        gl.uniform2f(gl.getUniformLocation(prog, 'scale'), 512 / width, 512 / height);
        const centre = gl.getUniformLocation(prog, 'centre');
        gl.viewport(0, 0, width, height);
        const shaded = await rate(i => {
            gl.uniform1f(centre, 40 + (i % 40));
            gl.drawArrays(gl.TRIANGLES, 0, 3);
        });
        return { clear, shaded };
    })(arguments[0], arguments[1], arguments[2]);";
    let v = browser::eval(
        client,
        script,
        vec![json!(width), json!(height), json!(STEPS)],
    )
    .await;
    let clear = v["clear"]
        .as_f64()
        .context("no WebGL2 context for a plain canvas")?;
    let shaded = v["shaded"]
        .as_f64()
        .context("the reference shader did not build")?;
    Ok((clear, shaded))
}

/// What the browser's network path allows, measured from the viewer's
/// page with no decoding or drawing: seconds to fetch every frame of the
/// study's first series as the viewer does (one request per frame, six at
/// a time), and to fetch the same pixel data in one streamed series-level
/// request. The first bounds how soon a viewer loading slice by slice can
/// have the whole series; the second is what one request per series
/// would allow.
async fn network_ceilings(client: &fantoccini::Client, study: &str) -> Result<(f64, f64)> {
    let script = "return (async (study) => {
        const json = async url => (await fetch(url, {headers: {Accept: 'application/dicom+json'}})).json();
        const base = `/dicom-web/studies/${study}`;
        const series = (await json(`${base}/series`))[0]['0020000E'].Value[0];
        const instances = await json(`${base}/series/${series}/instances?limit=100000`);
        const urls = instances.map(i => `${base}/series/${series}/instances/${i['00080018'].Value[0]}/frames/1`);
        const accept = {Accept: 'multipart/related; type=\"application/octet-stream\"'};
        let next = 0, bytes = 0;
        const t0 = performance.now();
        const worker = async () => {
            while (next < urls.length) {
                const response = await fetch(urls[next++], {headers: accept});
                const body = await response.arrayBuffer();
                bytes += body.byteLength;
            }
        };
        await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
        const perFrame = (performance.now() - t0) / 1000;
        const t1 = performance.now();
        const response = await fetch(`${base}/series/${series}`, {headers: accept});
        const reader = response.body.getReader();
        let streamed = 0;
        for (;;) {
            const {done, value} = await reader.read();
            if (done) break;
            streamed += value.byteLength;
        }
        const bulk = (performance.now() - t1) / 1000;
        return {perFrame, bulk, frames: urls.length, bytes, streamed};
    })(arguments[0]);";
    let v = browser::eval(client, script, vec![json!(study)]).await;
    let per_frame = v["perFrame"].as_f64().context("no per-frame figure")?;
    let bulk = v["bulk"].as_f64().context("no streamed figure")?;
    let (bytes, streamed) = (
        v["bytes"].as_f64().unwrap_or(0.0),
        v["streamed"].as_f64().unwrap_or(0.0),
    );
    if bytes <= 0.0 || streamed < bytes {
        bail!("the network probe fetched {bytes} bytes of frames and {streamed} streamed");
    }
    Ok((per_frame, bulk))
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
        println!("    {}", o.timeline);
        openings.push(o);
    }
    let state = browser::state(&client).await;
    println!("  backend in use: {}", state["backend"]);
    let scroll = frames_per_second(&client, "scroll").await;
    let drag = frames_per_second(&client, "drag").await;
    for (label, rate) in [("stack scroll", &scroll), ("window/level drag", &drag)] {
        if let Ok(rate) = rate {
            println!(
                "  {label}: main thread per redraw {:.1} ms recording and submitting GPU work, {:.1} ms updating overlays",
                rate.gpu_ms_per_redraw, rate.overlay_ms_per_redraw
            );
        }
    }
    let scroll = scroll.map(|r| r.per_second);
    let drag = drag.map(|r| r.per_second);
    let memory = memory_bytes(&client).await;
    let canvas = &state["canvas"];
    let (cw, ch) = (
        canvas["width"].as_f64().unwrap_or(1280.0),
        canvas["height"].as_f64().unwrap_or(900.0),
    );
    let network = network_ceilings(&client, &ct.study_uid).await;
    match &network {
        Ok((per_frame, bulk)) => println!(
            "  network in this browser, no decoding: every frame one request each, 6 at a time, {per_frame:.2} s; \
             the series' pixel data in one streamed request, {bulk:.2} s"
        ),
        Err(e) => println!("  network probe: {e:#}"),
    }
    let plain = plain_canvas_fps(&client, cw, ch).await;
    match &plain {
        Ok((clear, shaded)) => println!(
            "  bare WebGL2 canvas {cw}×{ch}: cleared {clear:.0} frames/s, minimal image shader {shaded:.0} frames/s"
        ),
        Err(e) => println!("  bare WebGL2 canvas: {e:#}"),
    }
    let plain = plain.map(|(_, shaded)| shaded);
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
            reference: measured(
                &network
                    .as_ref()
                    .map(|(per_frame, _)| *per_frame)
                    .map_err(|e| anyhow::anyhow!("{e:#}")),
            ),
        },
        Row {
            figure: "stack scroll, frames".into(),
            unit: Unit::PerSecond,
            pacs: measured(&scroll),
            target: Some(60.0 * 0.95),
            reference: measured(&plain),
        },
        Row {
            figure: "window/level drag, frames".into(),
            unit: Unit::PerSecond,
            pacs: measured(&drag),
            target: Some(60.0 * 0.95),
            reference: measured(&plain),
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
    println!(
        "reference for the whole series: the same frames fetched by the page one request each, 6 at a time, with nothing decoded or drawn"
    );
    println!(
        "reference for frames: a bare WebGL2 canvas of the viewer's size ({cw}×{ch} device pixels) drawn each frame by a minimal windowed 16-bit image shader, in the same browser: the machine's ceiling"
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
