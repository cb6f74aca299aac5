//! Headless Chromium under a chromedriver of its own, for one test.
//!
//! Every test gets a fresh profile and a chromedriver on a free port, started in its own
//! process group so that dropping [`Browser`] ends chromedriver and every Chromium process,
//! also when the test panics half-way. The machine may have no internet: the flags keep
//! Chromium from calling home, which would otherwise stall it on refused connections.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use super::cdp::Cdp;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const STARTUP: Duration = Duration::from_secs(20);
const PAGE_LOAD: Duration = Duration::from_secs(20);

/// A program path: the environment variable if set (other systems keep Chromium
/// elsewhere), the Debian path otherwise. Missing means the test fails, never skips.
fn program(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found: the browser-tests feature needs a real browser. Install it with \
         `apt-get install chromium chromium-driver` (Debian), or set {variable} to its path.",
        path.display()
    );
    path
}

/// chromedriver and the Chromium it starts, ended together on drop.
#[derive(Debug)]
struct Driver {
    child: Child,
    log: PathBuf,
}

impl Driver {
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        log.get(start..).unwrap_or(&log).to_owned()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver, Chromium and its helpers.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on the loopback interface. Another process could take it before
/// chromedriver binds it; then chromedriver exits and the test says so.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub(crate) struct Browser {
    client: Client,
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn launch() -> Browser {
        let chromedriver = program("CHROMEDRIVER", CHROMEDRIVER);
        let chromium = program("CHROMIUM", CHROMIUM);
        let profile = tempfile::tempdir().unwrap();
        let port = free_port();
        let driver = start_driver(&chromedriver, port, profile.path()).await;
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(&chromium, &profile.path().join("profile")))
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "could not start {} through chromedriver: {e}\n{}",
                    chromium.display(),
                    driver.log_tail()
                )
            });
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(PAGE_LOAD),
                Some(PAGE_LOAD),
                Some(Duration::ZERO),
            ))
            .await
            .unwrap();
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Ends the WebDriver session (Chromium quits), then chromedriver.
    pub(crate) async fn close(self) {
        let Browser {
            client,
            driver,
            _profile,
        } = self;
        client.close().await.unwrap();
        drop(driver);
    }

    pub(crate) async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
        self.check_page().await;
    }

    pub(crate) async fn find(&self, css: &str) -> Element {
        let url = self.path().await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on {url}: {e}"))
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub(crate) async fn fill(&self, css: &str, value: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    pub(crate) async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Clicks a button that submits a form and waits for the page the server answers
    /// with (after its redirect), then checks that page.
    pub(crate) async fn submit(&self, css: &str) {
        self.client
            .execute("document.documentElement.dataset.left = 'no';", vec![])
            .await
            .unwrap();
        self.click(css).await;
        let started = Instant::now();
        loop {
            let loaded = self
                .client
                .execute(
                    "return document.readyState === 'complete' \
                     && document.documentElement.dataset.left === undefined;",
                    vec![],
                )
                .await
                .unwrap();
            if loaded == json!(true) {
                break;
            }
            assert!(
                started.elapsed() < PAGE_LOAD,
                "clicking {css} led to no new page"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.check_page().await;
    }

    /// The path and query of the page shown.
    pub(crate) async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub(crate) async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client.get_all_cookies().await.unwrap()
    }

    pub(crate) async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.unwrap()
    }

    /// Runs a script in the page (only to spoil a page on purpose: the shop has none).
    pub(crate) async fn run(&self, script: &str) {
        self.client.execute(script, vec![]).await.unwrap();
    }

    /// Whether the image `css` finds has loaded and decoded to a picture, waiting up to
    /// 5 s for it.
    pub(crate) async fn image_shows(&self, css: &str) -> bool {
        let script = "const i = document.querySelector(arguments[0]); \
                      return !!i && i.complete && i.naturalWidth > 0;";
        for _ in 0..50 {
            let shown = self
                .client
                .execute(script, vec![Value::from(css)])
                .await
                .unwrap();
            if shown == Value::Bool(true) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    pub(crate) async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// A Chrome DevTools command.
    pub(crate) async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// The viewport of a desktop browser or of a phone (touch, mobile layout).
    pub(crate) async fn viewport(&self, width: u32, height: u32, phone: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": phone }),
        )
        .await;
    }

    /// Emulates `prefers-color-scheme`.
    pub(crate) async fn color_scheme(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": value }] }),
        )
        .await;
    }

    /// The whole page (not just the viewport) as a PNG file.
    pub(crate) async fn screenshot(&self, path: &Path) {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1 },
                }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// The page's accessibility problems in light and in dark mode (see `audit.js`).
    pub(crate) async fn audit(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for dark in [false, true] {
            self.color_scheme(dark).await;
            let found = self
                .client
                .execute(include_str!("audit.js"), vec![])
                .await
                .unwrap();
            let mode = if dark { "dark" } else { "light" };
            for problem in found.as_array().unwrap() {
                problems.push(format!("{mode}: {}", problem.as_str().unwrap()));
            }
        }
        self.color_scheme(false).await;
        problems
    }

    /// Every page: no error page, nothing that runs or loads from elsewhere, and no
    /// cookie that scripts could read.
    async fn check_page(&self) {
        let found = self
            .client
            .execute(
                r"
                const origin = location.origin;
                const foreign = [];
                for (const entry of performance.getEntriesByType('resource')) {
                    if (new URL(entry.name).origin !== origin) foreign.push(entry.name);
                }
                for (const el of document.querySelectorAll('[src], link[href]')) {
                    const url = new URL(el.getAttribute('src') ?? el.getAttribute('href'), location.href);
                    if (url.origin !== origin) foreign.push(url.href);
                }
                const error = document.getElementById('error-message');
                return {
                    scripts: document.querySelectorAll('script').length,
                    embedded: document.querySelectorAll('iframe, frame, object, embed').length,
                    foreign: foreign,
                    script_cookies: document.cookie,
                    error: error ? error.textContent : null,
                };
                ",
                vec![],
            )
            .await
            .unwrap();
        let path = self.path().await;
        assert_eq!(found["error"], Value::Null, "error page at {path}");
        assert_eq!(found["scripts"], 0, "scripts on {path}");
        assert_eq!(found["embedded"], 0, "embedded documents on {path}");
        assert_eq!(
            found["foreign"],
            json!([]),
            "third-party resources on {path}"
        );
        assert_eq!(
            found["script_cookies"], "",
            "cookies readable by scripts on {path}"
        );
    }
}

async fn start_driver(chromedriver: &Path, port: u16, dir: &Path) -> Driver {
    let log = dir.join("chromedriver.log");
    let out = File::create(&log).unwrap();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", chromedriver.display()));
    let mut driver = Driver { child, log };
    let started = Instant::now();
    loop {
        if let Some(status) = driver.child.try_wait().unwrap() {
            panic!(
                "{} exited with {status} before listening on port {port}:\n{}",
                chromedriver.display(),
                driver.log_tail()
            );
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        assert!(
            started.elapsed() < STARTUP,
            "{} did not listen on port {port} within {STARTUP:?}:\n{}",
            chromedriver.display(),
            driver.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn capabilities(chromium: &Path, profile: &Path) -> serde_json::Map<String, Value> {
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}
