//! Browser and server harness for the `lake serve` acceptance tests: the
//! system Chromium driven over the DevTools protocol (`headless_chrome`),
//! and `lake serve --port 0` as a child process that dies with the test.
//!
//! Everything waits for a condition it can observe (an element, a URL, a
//! port, a line on stdout) up to a deadline; nothing sleeps a fixed time.
//! Every page records the console errors and uncaught exceptions it
//! produced, so a test can insist there were none.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::{Emulation, Page as Cdp, Runtime};
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde::de::DeserializeOwned;

use super::lakehouse::{Lakehouse, MARTS, SEED, SESSIONS};
use super::Lake;

/// How long a page, an element or a condition may take before the test
/// fails. Generous: two busy cores, and a first page may copy the marts.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The window every screenshot is taken in.
pub const WINDOW: (u32, u32) = (1280, 900);

/// The Chromium to drive: `$LAKE_TEST_CHROMIUM` (set by `.ci/run`), else
/// Debian's `/usr/bin/chromium`.
pub fn chromium_path() -> PathBuf {
    let path = std::env::var_os("LAKE_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "no Chromium at {}: install it with `apt-get install -y chromium` (as `.ci/run` does) \
         or point LAKE_TEST_CHROMIUM at one",
        path.display()
    );
    path
}

/// A headless Chromium for one test; closed when dropped.
pub struct Chrome {
    browser: Browser,
}

impl Chrome {
    /// Starts the system Chromium: headless, no sandbox (tests run as
    /// root in CI), a 1280x900 window.
    pub fn launch() -> Chrome {
        let options = LaunchOptions::default_builder()
            .path(Some(chromium_path()))
            .headless(true)
            .sandbox(false)
            .window_size(Some(WINDOW))
            // A test may compute expectations between two pages; the
            // browser must not hang up meanwhile.
            .idle_browser_timeout(Duration::from_secs(600))
            .args(vec![
                std::ffi::OsStr::new("--hide-scrollbars"),
                std::ffi::OsStr::new("--force-device-scale-factor=1"),
                std::ffi::OsStr::new("--lang=en-US"),
            ])
            .build()
            .expect("Chromium launch options");
        let browser = Browser::new(options)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium_path().display()));
        Chrome { browser }
    }

    /// A new tab that records console errors and exceptions.
    pub fn page(&self) -> Page {
        let tab = self.browser.new_tab().expect("new tab");
        tab.set_default_timeout(DEADLINE);
        let problems = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&problems);
        tab.add_event_listener(Arc::new(
            move |event: &headless_chrome::protocol::cdp::types::Event| {
                if let Some(problem) = console_problem(event) {
                    sink.lock().unwrap().push(problem);
                }
            },
        ))
        .expect("console listener");
        // The page gets the whole 1280x900 (headless Chromium keeps some of
        // the window for simulated browser chrome otherwise).
        tab.call_method(Emulation::SetDeviceMetricsOverride {
            width: WINDOW.0,
            height: WINDOW.1,
            device_scale_factor: 1.0,
            mobile: false,
            scale: None,
            screen_width: None,
            screen_height: None,
            position_x: None,
            position_y: None,
            dont_set_visible_size: None,
            screen_orientation: None,
            viewport: None,
            display_feature: None,
            device_posture: None,
        })
        .expect("Emulation.setDeviceMetricsOverride");
        tab.enable_runtime().expect("Runtime.enable");
        tab.enable_log().expect("Log.enable");
        Page { tab, problems }
    }
}

/// A console error, an uncaught exception or a browser-logged error (a
/// failed sub-resource, a CSP violation), as one line; None for the rest.
fn console_problem(event: &headless_chrome::protocol::cdp::types::Event) -> Option<String> {
    use headless_chrome::protocol::cdp::types::Event;
    use headless_chrome::protocol::cdp::Log::LogEntryLevel;
    use Runtime::ConsoleAPICalledEventTypeOption as Kind;
    match event {
        Event::RuntimeConsoleAPICalled(e) => {
            if !matches!(e.params.Type, Kind::Error | Kind::Assert) {
                return None;
            }
            let args: Vec<String> = e
                .params
                .args
                .iter()
                .map(|a| match &a.value {
                    Some(v) => v.to_string(),
                    None => a.description.clone().unwrap_or_default(),
                })
                .collect();
            Some(format!("console.{:?}: {}", e.params.Type, args.join(" ")))
        }
        Event::RuntimeExceptionThrown(e) => {
            let d = &e.params.exception_details;
            let what = d
                .exception
                .as_ref()
                .and_then(|x| x.description.clone())
                .unwrap_or_else(|| d.text.clone());
            Some(format!(
                "uncaught exception at {}:{}: {what}",
                d.url.clone().unwrap_or_default(),
                d.line_number
            ))
        }
        Event::LogEntryAdded(e) if matches!(e.params.entry.level, LogEntryLevel::Error) => {
            Some(format!(
                "browser log ({:?}): {} {}",
                e.params.entry.source,
                e.params.entry.text,
                e.params.entry.url.clone().unwrap_or_default()
            ))
        }
        _ => None,
    }
}

/// One browser tab.
pub struct Page {
    pub tab: Arc<Tab>,
    problems: Arc<Mutex<Vec<String>>>,
}

impl Page {
    /// Navigates to `url` and waits until the document has loaded.
    pub fn open(&self, url: &str) {
        self.tab
            .navigate_to(url)
            .and_then(|t| t.wait_until_navigated())
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.wait_until(
            &format!("{url} to finish loading"),
            "document.readyState === 'complete'",
        );
    }

    /// The page's current URL (`location.href`).
    pub fn url(&self) -> String {
        self.eval("location.href")
    }

    /// Evaluates a JavaScript expression and returns its value, passed
    /// through `JSON.stringify`. A thrown exception fails the test.
    pub fn eval<T: DeserializeOwned>(&self, expr: &str) -> T {
        self.try_eval(expr)
            .unwrap_or_else(|e| panic!("evaluating `{expr}`: {e}"))
    }

    /// Like [`eval`](Self::eval), with the error (a thrown exception, a
    /// context destroyed by a navigation) returned instead.
    pub fn try_eval<T: DeserializeOwned>(&self, expr: &str) -> Result<T, String> {
        let out = self
            .tab
            .call_method(Runtime::Evaluate {
                expression: format!("JSON.stringify(({expr}))"),
                return_by_value: Some(true),
                generate_preview: Some(false),
                // The harness's own polling must not count as page errors.
                silent: Some(true),
                await_promise: Some(false),
                include_command_line_api: Some(false),
                user_gesture: Some(false),
                object_group: None,
                context_id: None,
                throw_on_side_effect: None,
                timeout: None,
                disable_breaks: None,
                repl_mode: None,
                allow_unsafe_eval_blocked_by_csp: None,
                unique_context_id: None,
                serialization_options: None,
            })
            .map_err(|e| e.to_string())?;
        if let Some(ex) = out.exception_details {
            let what = ex.exception.and_then(|x| x.description).unwrap_or(ex.text);
            return Err(what);
        }
        let text = match out.result.value {
            Some(serde_json::Value::String(s)) => s,
            // `JSON.stringify(undefined)` is undefined.
            _ => "null".to_string(),
        };
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// Waits until the JavaScript condition `cond` is truthy, up to
    /// [`DEADLINE`]. Errors while it is evaluated (a page still
    /// navigating) count as "not yet".
    pub fn wait_until(&self, what: &str, cond: &str) {
        let start = Instant::now();
        loop {
            let last = match self.try_eval::<bool>(&format!("!!({cond})")) {
                Ok(true) => return,
                Ok(false) => "false".to_string(),
                Err(e) => e,
            };
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {what} (`{cond}`: {last}); page at {}",
                self.try_eval::<String>("location.href").unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for an element matching `selector`.
    pub fn wait_for(&self, selector: &str) {
        self.wait_until(
            &format!("element {selector}"),
            &format!("document.querySelector({})", js_string(selector)),
        );
    }

    /// How many elements match `selector`.
    pub fn count(&self, selector: &str) -> usize {
        self.eval(&format!(
            "document.querySelectorAll({}).length",
            js_string(selector)
        ))
    }

    /// An attribute of the first element matching `selector`, if any.
    pub fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.eval(&format!(
            "document.querySelector({})?.getAttribute({}) ?? null",
            js_string(selector),
            js_string(name)
        ))
    }

    /// Trimmed text of the first element matching `selector`.
    pub fn text(&self, selector: &str) -> String {
        self.wait_for(selector);
        self.eval(&format!(
            "document.querySelector({}).textContent.trim()",
            js_string(selector)
        ))
    }

    /// Clicks the element matching `selector` with the mouse, as a user
    /// would (scrolled into view, pressed at its centre).
    pub fn click(&self, selector: &str) {
        self.wait_for(selector);
        self.tab
            .find_element(selector)
            .and_then(|e| e.click().map(|_| ()))
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    /// Sets an input's value as typing would leave it (firing `input` and
    /// `change`) and returns what the control then holds: a date input
    /// refuses a malformed value by holding "".
    pub fn fill(&self, selector: &str, value: &str) -> String {
        self.wait_for(selector);
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({s}); e.focus(); e.value = {v};
               e.dispatchEvent(new Event('input', {{bubbles: true}}));
               e.dispatchEvent(new Event('change', {{bubbles: true}}));
               return e.value; }})()",
            s = js_string(selector),
            v = js_string(value)
        ))
    }

    /// Selects exactly `values` in the `<select>` matching `selector`
    /// (others unselected), firing `change`; panics if one is not offered.
    pub fn select(&self, selector: &str, values: &[&str]) {
        self.wait_for(selector);
        let wanted = serde_json::to_string(values).unwrap();
        let picked: Vec<String> = self.eval(&format!(
            "(() => {{ const s = document.querySelector({s}); const want = {wanted};
               for (const o of s.options) o.selected = want.includes(o.value);
               s.dispatchEvent(new Event('input', {{bubbles: true}}));
               s.dispatchEvent(new Event('change', {{bubbles: true}}));
               return [...s.selectedOptions].map(o => o.value); }})()",
            s = js_string(selector)
        ));
        let mut want: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let mut got = picked;
        want.sort();
        got.sort();
        assert_eq!(got, want, "{selector} does not offer every value asked for");
    }

    /// A PNG of the whole page (beyond the window when it is taller).
    pub fn screenshot(&self) -> Vec<u8> {
        let (w, h): (f64, f64) = self.eval(
            "[Math.max(document.documentElement.scrollWidth, innerWidth),
              Math.max(document.documentElement.scrollHeight, innerHeight)]",
        );
        let shot = self
            .tab
            .call_method(Cdp::CaptureScreenshot {
                format: Some(Cdp::CaptureScreenshotFormatOption::Png),
                quality: None,
                clip: Some(Cdp::Viewport {
                    x: 0.0,
                    y: 0.0,
                    width: w,
                    height: h,
                    scale: 1.0,
                }),
                from_surface: Some(true),
                capture_beyond_viewport: Some(true),
                optimize_for_speed: None,
            })
            .expect("Page.captureScreenshot");
        base64_decode(&shot.data)
    }

    /// Console errors and exceptions since the last call (and forgets them).
    pub fn take_problems(&self) -> Vec<String> {
        std::mem::take(&mut *self.problems.lock().unwrap())
    }

    /// Records in `f` any error the page logged or threw since the last
    /// check.
    pub fn check_console(&self, f: &Findings, context: &str) {
        let problems = self.take_problems();
        f.check(problems.is_empty(), || {
            format!(
                "{context}: the page logged errors:\n{}",
                problems.join("\n")
            )
        });
    }

    /// Fails the test if the page logged an error or threw since the last
    /// check.
    pub fn assert_no_console_errors(&self, context: &str) {
        let problems = self.take_problems();
        assert!(
            problems.is_empty(),
            "{context}: the page logged errors:\n{}",
            problems.join("\n")
        );
    }
}

/// A JavaScript string literal for `s`.
pub fn js_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Standard base64 (what DevTools returns screenshots in).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a') as u32 + 26,
            b'0'..=b'9' => (c - b'0') as u32 + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    };
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        let produced = chunk.len() * 6 / 8;
        out.extend_from_slice(&n.to_be_bytes()[1..1 + produced]);
    }
    out
}

/// What a screenshot holds, to tell a real page from a blank one.
#[derive(Debug)]
pub struct PixelStats {
    pub width: u32,
    pub height: u32,
    /// Standard deviation of luminance (0-255) over all pixels.
    pub luminance_stddev: f64,
    /// Share of pixels that differ from the most common colour.
    pub non_background: f64,
    /// Distinct colours (capped at 100,000).
    pub colours: usize,
}

/// Decodes a PNG and measures its pixel variance.
pub fn pixel_stats(png_bytes: &[u8]) -> PixelStats {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()].chunks(channels);
    let mut counts = std::collections::HashMap::<u32, u64>::new();
    let (mut n, mut sum, mut sum_sq) = (0f64, 0f64, 0f64);
    for p in pixels {
        let (r, g, b) = match channels {
            1 | 2 => (p[0], p[0], p[0]),
            _ => (p[0], p[1], p[2]),
        };
        let y = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
        n += 1.0;
        sum += y;
        sum_sq += y * y;
        let key = u32::from_be_bytes([0, r, g, b]);
        if counts.len() < 100_000 || counts.contains_key(&key) {
            *counts.entry(key).or_default() += 1;
        }
    }
    let mean = sum / n;
    let top = counts.values().max().copied().unwrap_or(0) as f64;
    PixelStats {
        width: info.width,
        height: info.height,
        luminance_stddev: (sum_sq / n - mean * mean).max(0.0).sqrt(),
        non_background: 1.0 - top / n,
        colours: counts.len(),
    }
}

/// Failed checks collected over a long acceptance test, reported together
/// at the end: one slow setup then shows every contract breach at once.
/// Conditions a test cannot go on without stay plain assertions.
#[derive(Default)]
pub struct Findings {
    failed: std::cell::RefCell<Vec<String>>,
}

impl Findings {
    /// Records `what` unless `ok`.
    pub fn check(&self, ok: bool, what: impl FnOnce() -> String) -> bool {
        if !ok {
            let what = what();
            eprintln!("FAILED CHECK: {what}");
            self.failed.borrow_mut().push(what);
        }
        ok
    }

    /// Records a difference between `got` and `want`.
    pub fn eq<T: PartialEq + std::fmt::Debug>(&self, got: T, want: T, what: &str) -> bool {
        let ok = got == want;
        self.check(ok, || format!("{what}:\n   got: {got:?}\n  want: {want:?}"))
    }

    /// Fails the test if any check failed.
    pub fn finish(self) {
        let failed = self.failed.into_inner();
        assert!(
            failed.is_empty(),
            "{} checks failed:\n- {}",
            failed.len(),
            failed.join("\n- ")
        );
    }
}

/// The cargo target folder (`$CARGO_TARGET_DIR` or `target/`), found from
/// the `lake` binary cargo built for this test run.
pub fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_lake"));
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/lake")
        .to_path_buf()
}

/// The repo's project on the embedded default, built by `lake run
/// --schedule hourly` from the committed 3-hour sample plus three hours
/// that cross midnight (2024-05-01 23:00 to 2024-05-02 01:00), so a date
/// range has two days to choose from.
pub fn sample_lake() -> Lakehouse {
    let h = Lakehouse::new(Lake::Embedded).with_committed_sample();
    let source = h.source_url();
    let out = h.lake(&[
        "generate",
        "--to",
        &source,
        "--start",
        "2024-05-01T23:00",
        "--hours",
        "3",
        "--seed",
        SEED,
        "--sessions-per-hour",
        SESSIONS,
    ]);
    assert_eq!(out.code, 0, "generate: {}", out.stderr);
    h.schedule_ok("hourly");
    h
}

/// The test's own copy of the marts, taken with an independent DuckDB
/// connection (read-only, not through lake) and then detached, so the
/// test can ask it anything while `lake serve` or `lake run` hold the lake.
pub struct Marts {
    conn: duckdb::Connection,
}

impl Marts {
    /// Copies every mart of the embedded lake of `h` into memory. Retries
    /// the read-only attach up to [`DEADLINE`] (a writer may hold the lake).
    pub fn copy(h: &Lakehouse) -> Marts {
        let root = h.p.path();
        let start = Instant::now();
        loop {
            let conn = duckdb::Connection::open_in_memory().expect("duckdb");
            let mut sql = super::rows::attach_embedded_sql(&super::extension_dir(), root, true);
            for m in MARTS {
                sql.push_str(&format!(
                    "CREATE TABLE memory.main.{m} AS SELECT * FROM lake.mart.{m};"
                ));
            }
            sql.push_str("USE memory; DETACH lake;");
            match conn.execute_batch(&sql) {
                Ok(()) => return Marts { conn },
                Err(e) if start.elapsed() < DEADLINE => {
                    eprintln!("copying the marts: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("copying the marts for {DEADLINE:?}: {e}"),
            }
        }
    }

    /// Rows of `sql` over the copied marts, every value as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        super::text_rows(&self.conn, sql)
    }

    /// The single number `sql` returns; None for NULL.
    pub fn number(&self, sql: &str) -> Option<f64> {
        let rows = self.rows(sql);
        let v = &rows[0][0];
        (v != "NULL").then(|| v.parse().unwrap_or_else(|_| panic!("{sql}: {v:?}")))
    }

    /// A SQL string literal.
    pub fn quote(v: &str) -> String {
        format!("'{}'", v.replace('\'', "''"))
    }

    /// Whether `mart` has `column`.
    pub fn has_column(&self, mart: &str, column: &str) -> bool {
        self.columns(mart).iter().any(|(c, _)| c == column)
    }

    /// (name, type) of every column of `mart`, in order.
    pub fn columns(&self, mart: &str) -> Vec<(String, String)> {
        self.rows(&format!(
            "select column_name, data_type from duckdb_columns() \
             where database_name = 'memory' and table_name = {} order by column_index",
            Marts::quote(mart)
        ))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
    }

    /// The distinct non-NULL values of `column` in `mart`, as text, sorted.
    pub fn distinct(&self, mart: &str, column: &str) -> Vec<String> {
        self.rows(&format!(
            "select distinct {column}::VARCHAR as v from {mart} where {column} is not null order by v"
        ))
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
    }

    /// First and last day of `date_part` in `mart` (YYYY-MM-DD).
    pub fn day_range(&self, mart: &str) -> (String, String) {
        let r = self.rows(&format!(
            "select min(date_part)::DATE, max(date_part)::DATE from {mart}"
        ));
        (r[0][0].clone(), r[0][1].clone())
    }
}

/// A running `lake serve`; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, without the trailing slash.
    pub base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// `lake serve --port 0 <extra>` in the project of `h`, with `env`
    /// added (the inherited LAKE_SERVE_TOKEN is gone: see
    /// [`super::lake_command`]).
    pub fn start(h: &Lakehouse, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut args = vec!["serve", "--port", "0"];
        args.extend_from_slice(extra);
        let mut cmd = h.command(&args);
        cmd.envs(env.iter().copied());
        Server::spawn(cmd)
    }

    /// Spawns `cmd` (a `lake serve --port 0`), reads the URL from its first
    /// stdout line and waits until the port accepts connections.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lake serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (first_tx, first_rx) = mpsc::channel();
        {
            let out = child.stdout.take().unwrap();
            let sink = Arc::clone(&stdout);
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let _ = first_tx.send(line.clone());
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        {
            let mut err = child.stderr.take().unwrap();
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let start = Instant::now();
        let first = loop {
            match first_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => break line,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("wait lake serve");
                    panic!(
                        "lake serve exited ({status}) before printing its URL:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            }
            if let Some(status) = child.try_wait().unwrap() {
                // Give the reader thread the chance to deliver the line.
                if let Ok(line) = first_rx.recv_timeout(Duration::from_secs(1)) {
                    break line;
                }
                panic!(
                    "lake serve exited ({status}) before printing its URL:\n{}",
                    stderr.lock().unwrap()
                );
            }
            if start.elapsed() > DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "lake serve printed nothing for {DEADLINE:?}:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        let base = first
            .find("http://")
            .map(|i| {
                first[i..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string()
            })
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("the first stdout line of lake serve holds no http:// URL: {first:?}")
            });
        let mut server = Server {
            child,
            base,
            stdout,
            stderr,
        };
        let authority = server.base.trim_start_matches("http://").to_string();
        assert!(
            !authority.ends_with(":0") && authority.starts_with("127.0.0.1:"),
            "lake serve --port 0 should print the port it bound on 127.0.0.1: {first:?}"
        );
        super::wait_until(&format!("{authority} to accept connections"), || {
            server.assert_running();
            std::net::TcpStream::connect(&authority).is_ok()
        });
        server
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server printed so far, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- lake serve stdout\n{}--- lake serve stderr\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// Fails the test if the server exited or panicked.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("lake serve exited ({status})\n{}", self.logs());
        }
        let stderr = self.stderr.lock().unwrap().clone();
        assert!(
            !stderr.contains("panicked"),
            "lake serve panicked:\n{stderr}"
        );
    }

    /// Sends SIGTERM and waits (up to [`DEADLINE`]) for the exit.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if let Some(status) = self.child.try_wait().unwrap() {
            return Some(status);
        }
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.stop().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
