//! Real headless Chromium driven over WebDriver (chromedriver), for the
//! viewer's end-to-end tests and benchmark: start, open a page, wait for
//! conditions, read the page's state, act with keys and the mouse, take
//! screenshots. Panics on failure: its callers are tests and benchmarks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Which GPU path the page is told to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    WebGpu,
    WebGl2,
}

impl Backend {
    pub fn param(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::WebGl2 => "webgl2",
        }
    }
}

/// Where the built viewer is: `PACS_VIEWER_DIR`, else `target/viewer/` of
/// this workspace (where `scripts/build-viewer.sh` puts it).
pub fn viewer_dir() -> PathBuf {
    std::env::var_os("PACS_VIEWER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/viewer"))
}

/// The viewer's built files, or `None` (with a loud notice) when they are
/// missing outside CI; in CI (or with PACS_REQUIRE_BROWSER=1) a missing
/// viewer, browser or driver fails the test.
pub fn viewer_dir_or_skip(test: &str) -> Option<PathBuf> {
    let required = std::env::var_os("CI").is_some()
        || std::env::var("PACS_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let dir = viewer_dir();
    let missing: Vec<String> = [
        (!dir.join("index.html").is_file()).then(|| {
            format!(
                "viewer files in {} (run scripts/build-viewer.sh)",
                dir.display()
            )
        }),
        (!Path::new(CHROMIUM).exists()).then(|| CHROMIUM.to_owned()),
        (!Path::new(CHROMEDRIVER).exists()).then(|| CHROMEDRIVER.to_owned()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let message = format!("{test}: missing {}", missing.join(", "));
    if required {
        panic!("{message}");
    }
    eprintln!("\n*** SKIPPED {message} ***\n");
    None
}

/// chromedriver on a free loopback port, in a process group of its own
/// with the Chromium it starts: dropping it kills the whole group, so a
/// test that panics before closing its session leaves no browser behind.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start() -> Driver {
        use std::os::unix::process::CommandExt;
        // Two tests starting at once can be handed the same free port; the
        // chromedriver that loses the bind exits, and its test would talk
        // to the other's, which dies with that other test. So a driver
        // counts as started only once it listens and is still alive.
        for _ in 0..5 {
            let port = crate::free_port().expect("a free port");
            let mut child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts");
            let url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut exited = false;
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    exited = true;
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("chromedriver did not listen");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !exited {
                std::thread::sleep(Duration::from_millis(200));
                exited = matches!(child.try_wait(), Ok(Some(_)));
            }
            if !exited {
                return Driver { child, url };
            }
            let _ = child.wait();
        }
        panic!("chromedriver did not stay up on any of five ports");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid; Chromium and its helpers
        // inherited the group.
        let _ = Command::new("/bin/kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `check` in a headless Chromium session with a window of
/// `width` × `height`, on a runtime of its own, and closes the session
/// afterwards: the frame of a browser test.
pub fn in_session<F: std::future::Future<Output = ()>>(
    width: u32,
    height: u32,
    check: impl FnOnce(Client) -> F,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the browser session");
    runtime.block_on(async {
        let driver = Driver::start();
        let client = open(&driver, width, height).await;
        check(client.clone()).await;
        let _ = client.close().await;
    });
}

/// A headless Chromium session with software WebGL2 (SwiftShader) and a
/// software WebGPU adapter whose canvas shows in screenshots.
pub async fn open(driver: &Driver, width: u32, height: u32) -> Client {
    open_with(driver, width, height, true).await
}

/// A headless Chromium session that offers WebGL2 but no WebGPU, as many
/// browsers in use still do.
pub async fn open_without_webgpu(driver: &Driver, width: u32, height: u32) -> Client {
    open_with(driver, width, height, false).await
}

async fn open_with(driver: &Driver, width: u32, height: u32, webgpu: bool) -> Client {
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--use-angle=swiftshader".to_owned(),
        "--enable-unsafe-swiftshader".to_owned(),
        "--force-device-scale-factor=1".to_owned(),
        // performance.memory with real figures, for the benchmark.
        "--enable-precise-memory-info".to_owned(),
        format!("--window-size={width},{height}"),
    ];
    if webgpu {
        args.extend(
            [
                "--enable-unsafe-webgpu",
                "--enable-features=Vulkan",
                "--use-vulkan=swiftshader",
                "--ignore-gpu-blocklist",
            ]
            .map(str::to_owned),
        );
    } else {
        args.push("--disable-features=WebGPU".to_owned());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Evaluates `script` (a function body; `arguments` are `args`).
pub async fn eval(client: &Client, script: &str, args: Vec<Value>) -> Value {
    client
        .execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Polls `condition` (a function body returning a boolean) until true.
pub async fn wait_until(client: &Client, what: &str, condition: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if eval(client, condition, vec![]).await == Value::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            let state = eval(
                client,
                "const e = document.getElementById('viewer-error');
                 return { state: document.documentElement.dataset.state || null,
                          error: e ? e.textContent : null,
                          marks: performance.getEntriesByType('mark').map(m => m.name) };",
                vec![],
            )
            .await;
            panic!("timed out after {limit:?} waiting for {what}; page: {state}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Makes the browser fail every request whose URL matches one of
/// `patterns` (`*` for any text), as a dropped link fails it; an empty
/// list lets every request through again. Through chromedriver's Chrome
/// DevTools Protocol endpoint (`Network.setBlockedURLs`).
pub async fn block_urls(client: &Client, patterns: &[&str]) {
    devtools(client, "Network.enable", json!({})).await;
    devtools(
        client,
        "Network.setBlockedURLs",
        json!({ "urls": patterns }),
    )
    .await;
}

/// Sends a Chrome DevTools Protocol command to the session's page.
async fn devtools(client: &Client, command: &'static str, params: Value) {
    client
        .issue_cmd(DevTools { command, params })
        .await
        .unwrap_or_else(|e| panic!("DevTools {command} failed: {e}"));
}

/// chromedriver's `goog/cdp/execute` command.
#[derive(Debug)]
struct DevTools {
    command: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// `window.pacsViewer.state()`.
pub async fn state(client: &Client) -> Value {
    eval(client, "return window.pacsViewer.state();", vec![]).await
}

/// Where image pixel (col, row) is on the page, in CSS pixels from the
/// top-left of the viewport.
pub async fn image_to_page(client: &Client, col: f64, row: f64) -> (f64, f64) {
    let v = eval(
        client,
        "const [x, y] = window.pacsViewer.imageToScreen(arguments[0], arguments[1]);
         const r = document.getElementById('viewer-canvas').getBoundingClientRect();
         return [r.left + x, r.top + y];",
        vec![json!(col), json!(row)],
    )
    .await;
    (v[0].as_f64().expect("x"), v[1].as_f64().expect("y"))
}

/// The page as the user sees it, decoded.
pub async fn screenshot(client: &Client) -> image::RgbaImage {
    let png = client.screenshot().await.expect("a screenshot");
    image::load_from_memory(&png)
        .expect("a PNG screenshot")
        .to_rgba8()
}

/// Presses keys with the page focused (the viewer listens on the document).
pub async fn press(client: &Client, keys: &str) {
    let body = client.find(Locator::Css("body")).await.expect("body");
    body.send_keys(keys).await.expect("keys sent");
}

/// A left-button drag between two page points.
pub async fn drag(client: &Client, from: (f64, f64), to: (f64, f64)) {
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: from.0,
            y: from.1,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(100)),
            x: (from.0 + to.0) / 2.0,
            y: (from.1 + to.1) / 2.0,
        })
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(100)),
            x: to.0,
            y: to.1,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client
        .perform_actions(mouse)
        .await
        .expect("pointer actions");
    let _ = client.release_actions().await;
}

/// Moves the pointer to a page point, as a reader's hand on the mouse does.
pub async fn move_pointer(client: &Client, to: (f64, f64)) {
    let mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveTo {
        duration: Some(Duration::from_millis(50)),
        x: to.0,
        y: to.1,
    });
    client
        .perform_actions(mouse)
        .await
        .expect("pointer actions");
    let _ = client.release_actions().await;
}

/// Signs `user` in from the page `client` is on (any page of the
/// archive), as the sign-in form's request does, and waits for it.
pub async fn sign_in_by_fetch(client: &Client, user: &str, password: &str) {
    eval(
        client,
        "const [user, password] = arguments;
         window.signedIn = null;
         fetch('/api/auth/login', {
           method: 'POST',
           headers: { 'content-type': 'application/json' },
           body: JSON.stringify({ username: user, password }),
         }).then(r => { window.signedIn = r.status; });",
        vec![Value::from(user), Value::from(password)],
    )
    .await;
    wait_until(
        client,
        "the sign-in",
        "return window.signedIn === 200;",
        Duration::from_secs(90),
    )
    .await;
}
