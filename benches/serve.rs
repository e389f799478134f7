//! Serve benchmark (issue 10): time to first byte and time to the full body
//! of every dashboard tab, the lineage page and a model page, as `lake serve`
//! answers them with a warm cache, on two lakes built from the repo's own
//! project on the embedded default:
//!
//! - `sample`: the committed 3-hour source sample (`data/source`);
//! - `24h`: 24 hours from `lake generate --sessions-per-hour N` (default
//!   2000, ~16,000 page views per hour; the real count is printed).
//!
//! Each lake is built with `lake run --schedule hourly` (repeated until every
//! hour is loaded), then `lake serve --port 0` is started in it. Per page: one
//! warm-up request, then 20 timed `GET`s over a plain `TcpStream` (HTTP/1.1,
//! `Connection: close`, a new connection each, timed from `connect`). The
//! pages are self-contained (CSS inline, charts as server-rendered SVG), so
//! the full body is the full render. The warm-up request is reported too
//! ("first request"): it fills the per-snapshot caches. Each table ends with
//! the share of the cores other processes used while it was timed, so a
//! result says whether the machine was quiet.
//!
//! Run: `cargo bench --bench serve` (both lakes), `-- sample` or `-- 24h` for
//! one, a number for the 24-hour lake's sessions per hour (`-- 24h 2700`).
//! `LAKE_BENCH_KEEP=1` keeps the built projects.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Timed requests per page, after one warm-up.
const RUNS: usize = 20;
/// The dashboard `lake serve` shows in the repo's project.
const DASHBOARD: &str = "browser_events";
const TABS: [&str; 5] = ["events", "products", "conversions", "campaigns", "users"];
/// How long the server may take to print its address and serve a first page.
const STARTUP: Duration = Duration::from_secs(120);

#[path = "../tests/util/command.rs"]
mod command;
#[path = "../tests/util/rows.rs"]
mod rows;

use command::{extension_dir, lake_command as lake};

/// Runs `lake args` in `dir`, returning wall seconds; panics on failure.
fn lake_ok(dir: &Path, args: &[&str]) -> f64 {
    let start = Instant::now();
    let out = lake(dir).args(args).output().expect("spawn lake");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "lake {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

/// Copies the repo's `rel` (file or folder) into `to`.
fn copy_from_repo(to: &Path, rel: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in walkdir::WalkDir::new(root.join(rel)) {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(root).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Reads the embedded lake in this process, read-only (not through lake),
/// every value as text.
fn lake_rows(dir: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    let attach = rows::attach_embedded_sql(&extension_dir(), dir, true);
    conn.execute_batch(&format!("{attach} USE lake"))
        .expect("attach the lake");
    rows::text_rows(&conn, sql)
}

/// What was loaded: hours, page views (raw browser events), hourly event rows in
/// the events mart.
struct Loaded {
    hours: usize,
    page_views: usize,
    mart_rows: usize,
}

fn loaded(dir: &Path) -> Loaded {
    let r = lake_rows(
        dir,
        "select (select count(distinct date_trunc('hour', event_timestamp)) from raw.browser_events), \
                (select count(*) from raw.browser_events), \
                (select count(*) from mart.events_distribution_hourly)",
    );
    let n = |i: usize| r[0][i].parse::<usize>().unwrap();
    Loaded {
        hours: n(0),
        page_views: n(1),
        mart_rows: n(2),
    }
}

/// A copy of the repo's project in a temp dir; `source` says where its hourly
/// source comes from.
fn project(source: &Source) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for rel in ["project.yml", "models", "macros", "seeds", "tests/sql"] {
        copy_from_repo(dir.path(), rel);
    }
    match source {
        Source::Sample => copy_from_repo(dir.path(), "data/source"),
        Source::Generated { hours, sessions } => {
            let secs = lake_ok(
                dir.path(),
                &[
                    "generate",
                    "--to",
                    "data/source",
                    "--start",
                    "2024-05-01T00:00",
                    "--hours",
                    &hours.to_string(),
                    "--sessions-per-hour",
                    &sessions.to_string(),
                ],
            );
            eprintln!("generated {hours} hours in {secs:.1} s");
        }
    }
    dir
}

/// Runs the hourly schedule until every source hour is loaded (it catches up
/// at most `max-hours` hours per run).
fn build(dir: &Path, hours: usize) -> Loaded {
    let mut last = 0;
    for run in 1.. {
        let secs = lake_ok(dir, &["run", "--schedule", "hourly"]);
        let now = loaded(dir);
        eprintln!(
            "lake run --schedule hourly #{run}: {secs:.1} s, {} of {hours} hours loaded",
            now.hours
        );
        if now.hours >= hours {
            return now;
        }
        assert!(now.hours > last, "the hourly run stopped loading new hours");
        last = now.hours;
    }
    unreachable!()
}

/// One answer: status, time to the first byte, time to the last, body bytes.
struct Answer {
    status: u16,
    ttfb: Duration,
    total: Duration,
    body: Vec<u8>,
}

/// `GET path` on a new connection, read until the server closes it.
fn get(port: u16, path: &str) -> std::io::Result<Answer> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_nodelay(true)?;
    stream.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )?;
    let mut raw = Vec::with_capacity(64 * 1024);
    let mut buf = [0u8; 64 * 1024];
    let mut ttfb = None;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ttfb.get_or_insert_with(|| start.elapsed());
        raw.extend_from_slice(&buf[..n]);
    }
    let total = start.elapsed();
    let ttfb = ttfb.ok_or_else(|| std::io::Error::other("empty answer"))?;
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    let mut body = raw[head_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok(Answer {
        status,
        ttfb,
        total,
        body,
    })
}

/// The payload of a chunked body (sizes and trailers dropped).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol]).unwrap_or("0");
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
    out
}

/// A running `lake serve` that is stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Stops the server and panics with `why` and what it printed on stderr.
    fn fail(&mut self, dir: &Path, stderr: &mpsc::Receiver<String>, why: String) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        panic!("lake serve in {}: {why}\nstderr:\n{stderr}", dir.display());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lake serve --port 0` in `dir` and waits (with a deadline) until
/// `/health` answers and `first_page` returns 200.
fn serve(dir: &Path, first_page: &str) -> (Server, Duration) {
    let start = Instant::now();
    let mut child = lake(dir)
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lake serve");
    // stderr is kept to say why, should the server not come up.
    let stderr = child.stderr.take().unwrap();
    let (err_tx, err_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        let _ = err_tx.send(text);
    });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        // Drain the rest so the server never blocks on a full pipe.
        for _ in lines {}
    });
    let mut server = Server { child, port: 0 };
    let line = match rx.recv_timeout(STARTUP) {
        Ok(line) => line,
        Err(_) => server.fail(dir, &err_rx, "no address printed".into()),
    };
    let port = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse::<u16>().ok());
    server.port = match port {
        Some(p) => p,
        None => server.fail(dir, &err_rx, format!("first line has no address: {line:?}")),
    };
    for path in ["/health", first_page] {
        let mut pause = Duration::from_millis(10);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                server.fail(dir, &err_rx, format!("exited with {status}"));
            }
            match get(server.port, path) {
                Ok(a) if a.status == 200 => break,
                Ok(a) if start.elapsed() > STARTUP => server.fail(
                    dir,
                    &err_rx,
                    format!(
                        "{path} still answers {}: {}",
                        a.status,
                        String::from_utf8_lossy(&a.body)
                    ),
                ),
                Err(e) if start.elapsed() > STARTUP => {
                    server.fail(dir, &err_rx, format!("{path} does not answer: {e}"))
                }
                _ => {}
            }
            // Poll again soon, backing off a little.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }
    let ready = start.elapsed();
    (server, ready)
}

/// Median and p95 (nearest rank) of `v`, in ms.
fn median_p95(v: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let p95 = ms[(ms.len() * 95).div_ceil(100) - 1];
    (ms[ms.len() / 2], p95)
}

/// Where a lake's hourly source comes from.
enum Source {
    Sample,
    Generated { hours: usize, sessions: usize },
}

/// The load average, as the kernel reports it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Busy CPU time of the whole machine (all cores, steal included), in clock ticks.
fn machine_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu = stat.lines().next().unwrap_or_default();
    // user nice system idle iowait irq softirq steal ...
    let f: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| f.get(i)).sum()
}

/// User plus system CPU time of one process, in clock ticks.
fn process_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0)
}

/// How busy the machine was with other work while the pages were timed: the
/// load average still counts this benchmark's own `lake run` for a minute
/// after it, so it cannot say that alone.
struct Quiet {
    start: Instant,
    machine: u64,
    ours: u64,
    serve_pid: u32,
}

impl Quiet {
    fn start(serve_pid: u32) -> Quiet {
        Quiet {
            start: Instant::now(),
            machine: machine_ticks(),
            ours: process_ticks(serve_pid) + process_ticks(std::process::id()),
            serve_pid,
        }
    }

    /// Share of all cores (0-100%) busy with processes other than the server
    /// and this benchmark since `start`.
    fn others_percent(&self) -> f64 {
        // SAFETY: sysconf only reads a constant of the system.
        let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let ours = process_ticks(self.serve_pid) + process_ticks(std::process::id());
        let others = machine_ticks()
            .saturating_sub(self.machine)
            .saturating_sub(ours.saturating_sub(self.ours));
        let capacity = self.start.elapsed().as_secs_f64() * tick * cores;
        100.0 * others as f64 / capacity.max(1.0)
    }
}

fn measure(label: &str, source: Source) {
    let hours = match source {
        Source::Sample => 3,
        Source::Generated { hours, .. } => hours,
    };
    let dir = project(&source);
    let l = build(dir.path(), hours);
    let browser = lake_rows(
        dir.path(),
        "select browser_name from mart.events_distribution_hourly \
         group by all order by sum(cnt) desc, browser_name limit 1",
    )[0][0]
        .clone();
    let tab = |t: &str| format!("/dashboards/{DASHBOARD}/{t}");
    let mut pages: Vec<String> = TABS.iter().map(|t| tab(t)).collect();
    pages.push(format!(
        "{}?from=2024-05-01&to=2024-05-01&browser_name={}",
        tab("events"),
        form_urlencoded::byte_serialize(browser.as_bytes()).collect::<String>()
    ));
    pages.push("/lineage".into());
    pages.push("/models/events_distribution_hourly".into());

    let (server, ready) = serve(dir.path(), &pages[0]);
    println!();
    println!(
        "### {label}: {} hours, {} page views ({:.0} per hour), {} rows in mart.events_distribution_hourly",
        l.hours,
        l.page_views,
        l.page_views as f64 / l.hours as f64,
        l.mart_rows
    );
    println!();
    println!(
        "`lake serve` up and serving the first tab {:.0} ms after start.",
        ready.as_secs_f64() * 1000.0,
    );
    println!();
    println!(
        "| page | charts | size (KB) | first request (ms) | TTFB median (ms) | TTFB p95 (ms) | full median (ms) | full p95 (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let quiet = Quiet::start(server.child.id());
    for page in &pages {
        let warm = get(server.port, page).expect("warm-up request");
        assert_eq!(
            warm.status,
            200,
            "{page}: {}",
            String::from_utf8_lossy(&warm.body)
        );
        let answers: Vec<Answer> = (0..RUNS)
            .map(|_| {
                let a = get(server.port, page).expect("request");
                assert_eq!(a.status, 200, "{page}");
                a
            })
            .collect();
        let (ttfb, ttfb95) = median_p95(&answers.iter().map(|a| a.ttfb).collect::<Vec<_>>());
        let (full, full95) = median_p95(&answers.iter().map(|a| a.total).collect::<Vec<_>>());
        let size = answers.iter().map(|a| a.body.len()).max().unwrap_or(0);
        let charts = String::from_utf8_lossy(&warm.body)
            .matches("<section class=\"chart ")
            .count();
        println!(
            "| `{page}` | {charts} | {:.1} | {:.1} | {ttfb:.1} | {ttfb95:.1} | {full:.1} | {full95:.1} |",
            size as f64 / 1024.0,
            warm.total.as_secs_f64() * 1000.0
        );
    }
    println!();
    println!(
        "While timing, other processes kept {:.0}% of the {} cores busy (load average {}).",
        quiet.others_percent(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    drop(server);
    if std::env::var_os("LAKE_BENCH_KEEP").is_some() {
        eprintln!("kept the {label} project at {}", dir.keep().display());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sessions = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(2000);
    let only = |name: &str| {
        !args.iter().any(|a| a == "sample" || a == "24h") || args.iter().any(|a| a == name)
    };
    if only("sample") {
        measure("3-hour sample (`data/source`)", Source::Sample);
    }
    if only("24h") {
        measure(
            &format!("24 hours, `lake generate --sessions-per-hour {sessions}`"),
            Source::Generated {
                hours: 24,
                sessions,
            },
        );
    }
}
