//! Run benchmark, two generated projects (small data), each run by `lake run`
//! on the embedded DuckLake and by dbt-core + dbt-duckdb attached to an
//! identical DuckLake, side by side, and lake's reuse of unchanged nodes:
//!
//! - **layered** (issue 3): 1,000 models raw -> stage -> mart, reporting lake's
//!   own overhead (wall time minus the summed per-node execution time from
//!   run_results.json, at one thread so the two are comparable).
//! - **chain** (issue 12): 200 and 1,000 table models, each reading the one
//!   before it, rebuilt at one thread by lake publishing one snapshot per run
//!   (the default), by lake with `--commit per-node`, and by dbt: the deep DAG
//!   where DuckLake's per-commit latency decides the wall time.
//! - **reuse** (issue 13): the layered project of 1,000 models, once rebuilt
//!   in full (`--no-reuse`) and once run with nothing changed, where every
//!   node is `reused`: the no-change run's share of a full rebuild (target:
//!   at most 5%).
//!
//! - **dbt-build** (issue 14): dbt projects run unchanged. `lake build` and
//!   `dbt build` on the same folder through the same dbt-duckdb profile (a
//!   plain DuckDB file each, in two copies): the largest `tests/dbt`
//!   project, and the layered 1,000-model project with its `project.yml`
//!   removed (a dbt project). Each tool creates its database, then builds
//!   again over it; end to end, process start to exit.
//!
//! lake reuses a node whose SQL, config and inputs did not change since its
//! last build, so every timed lake run meant to rebuild models passes
//! `--no-reuse` (the run creating a lake has nothing to reuse anyway).
//!
//! Run: `cargo bench --bench run`; `-- chain`, `-- layered` or `-- reuse`
//! runs one shape, model counts replace the defaults (`-- chain 200`,
//! `-- reuse 1000`). Timed runs repeat `$LAKE_BENCH_REPEAT` times (default 3)
//! and report medians.
//! dbt is taken from `$LAKE_BENCH_DBT`, else `~/.cache/lake/dbt-venv/bin/dbt`
//! (make it with `python3 -m venv ~/.cache/lake/dbt-venv && ~/.cache/lake/dbt-venv/bin/pip
//! install 'dbt-core~=1.11.0' 'dbt-duckdb~=1.11.0' duckdb==1.5.5`); without it
//! only lake is measured. `$LAKE_BENCH_BIN` times another lake binary.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "../tests/util/command.rs"]
mod command;

use command::{extension_dir, lake_command};

/// Runs a command in `dir`, returning wall seconds; panics on failure.
fn timed(dir: &Path, cmd: &mut Command) -> f64 {
    let start = Instant::now();
    let out = cmd.current_dir(dir).output().expect("spawn");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

/// `lake` as the tests start it, or `$LAKE_BENCH_BIN` in its place (a copy
/// of the binary, so a build finishing beside a long benchmark cannot swap
/// the program between two timed runs).
fn lake(dir: &Path) -> Command {
    let cmd = lake_command(dir);
    let Some(bin) = std::env::var_os("LAKE_BENCH_BIN") else {
        return cmd;
    };
    let mut copy = Command::new(bin);
    copy.current_dir(dir);
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => copy.env(key, value),
            None => copy.env_remove(key),
        };
    }
    copy
}

/// `lake run --threads N` plus `extra` arguments: wall seconds and the
/// run's run_results.json.
fn lake_run(dir: &Path, threads: usize, extra: &[&str]) -> (f64, serde_json::Value) {
    let wall = timed(
        dir,
        lake(dir)
            .args(["run", "--threads", &threads.to_string()])
            .args(extra),
    );
    let results = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    (wall, results)
}

/// Summed per-node execution seconds of a run_results.json.
fn busy(results: &serde_json::Value) -> f64 {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["execution_time"].as_f64().unwrap())
        .sum()
}

fn dbt_profile(dir: &Path) {
    let lake = dir.join("dbt_lake");
    std::fs::create_dir_all(lake.join("data")).unwrap();
    support::write(
        dir,
        "dbt_profiles/profiles.yml",
        &format!(
            "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ':memory:'\n      threads: 1\n      \
             config_options:\n        extension_directory: '{ext}'\n        autoinstall_known_extensions: false\n      \
             attach:\n        - path: 'ducklake:{lake}/catalog.ducklake'\n          alias: lake\n          options:\n            data_path: '{lake}/data/'\n      \
             database: lake\n      schema: main\n",
            ext = extension_dir().display(),
            lake = lake.display()
        ),
    );
}

/// The dbt executable, if there is one (see the header).
fn dbt_binary() -> Option<PathBuf> {
    let dbt = std::env::var_os("LAKE_BENCH_DBT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/lake/dbt-venv/bin/dbt")
        });
    if dbt.is_file() {
        return Some(dbt);
    }
    eprintln!(
        "dbt not found at {}: skipped (see the header of benches/run.rs)",
        dbt.display()
    );
    None
}

/// `dbt run --threads 1` on the project in `dir` (its DuckLake beside it):
/// wall seconds.
fn dbt_run(dir: &Path, dbt: &Path) -> f64 {
    timed(
        dir,
        Command::new(dbt).args([
            "run",
            "--threads",
            "1",
            "--profiles-dir",
            "dbt_profiles",
            "--target-path",
            "dbt_target",
            "--log-path",
            "dbt_logs",
        ]),
    )
}

/// The issue-3 table: the layered project of `n` models.
fn layered(n: usize, dbt: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    support::generate(dir.path(), n, true);
    println!(
        "| {n} models | wall (s) | summed node time (s) | overhead (s) | overhead per model (ms) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (label, extra) in [
        ("lake run --threads 1 (creates the lake)", &[][..]),
        (
            "lake run --threads 1 --no-reuse (replaces every model)",
            &["--no-reuse"][..],
        ),
    ] {
        let (wall, results) = lake_run(dir.path(), 1, extra);
        let overhead = wall - busy(&results);
        println!(
            "| `{label}` | {wall:.2} | {:.2} | {overhead:.2} | {:.2} |",
            busy(&results),
            overhead * 1000.0 / n as f64
        );
    }
    for threads in [2, 4, 8] {
        let (wall, _) = lake_run(dir.path(), threads, &["--no-reuse"]);
        println!(
            "| `lake run --threads {threads} --no-reuse` (replaces every model) | {wall:.2} | | | |"
        );
    }
    if let Some(dbt) = dbt {
        dbt_profile(dir.path());
        for label in [
            "dbt run --threads 1 (creates the lake)",
            "dbt run --threads 1 (replaces every model)",
        ] {
            let wall = dbt_run(dir.path(), dbt);
            println!("| `{label}` | {wall:.2} | | | |");
        }
    }
    keep(dir);
}

/// The median: one slow round on a shared machine must not move the result.
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    if xs.len().is_multiple_of(2) {
        (xs[m - 1] + xs[m]) / 2.0
    } else {
        xs[m]
    }
}

/// Wall seconds of each timed rebuild of one chain, per runner.
#[derive(Default)]
struct ChainTimes {
    one_snapshot: Vec<f64>,
    per_node: Vec<f64>,
    dbt: Vec<f64>,
}

/// A one-snapshot rebuild of every model (`--no-reuse`): wall seconds and
/// the snapshot it published, checked to be the only one after `before`
/// when that is given.
fn one_snapshot_run(dir: &Path, before: Option<i64>) -> (f64, i64) {
    let (wall, results) = lake_run(dir, 1, &["--no-reuse"]);
    assert_eq!(results["metadata"]["commit"], "run");
    let snapshot = results["metadata"]["snapshot"].as_i64().unwrap();
    if let Some(before) = before {
        assert_eq!(
            snapshot,
            before + 1,
            "a run published more than one snapshot"
        );
    }
    (wall, snapshot)
}

/// Rebuilds the chain `repeat` times with each runner, interleaved so load
/// changes on the machine hit all three alike; each runner built its lake
/// once before (untimed), and every timed lake run passes `--no-reuse`, so
/// every timed run replaces every model. The first timed one-snapshot run
/// must follow the creating run's snapshot directly (later ones follow the
/// per-node runs' many commits).
fn time_chain(dir: &Path, dbt: Option<&Path>, repeat: usize) -> ChainTimes {
    let mut t = ChainTimes::default();
    let (_, created) = one_snapshot_run(dir, None);
    if let Some(dbt) = dbt {
        dbt_profile(dir);
        eprintln!("dbt created its lake in {:.2} s", dbt_run(dir, dbt));
    }
    for i in 0..repeat {
        let (wall, _) = one_snapshot_run(dir, (i == 0).then_some(created));
        t.one_snapshot.push(wall);
        let (wall, results) = lake_run(dir, 1, &["--commit", "per-node", "--no-reuse"]);
        assert_eq!(results["metadata"]["commit"], "per-node");
        t.per_node.push(wall);
        if let Some(dbt) = dbt {
            t.dbt.push(dbt_run(dir, dbt));
        }
        // Each round as it ends, so a benchmark stopped early still tells.
        eprintln!(
            "round {}/{repeat} (s): one snapshot {:.2}, per-node {:.2}, dbt {}",
            i + 1,
            t.one_snapshot[i],
            t.per_node[i],
            t.dbt.get(i).map_or("-".into(), |d| format!("{d:.2}"))
        );
    }
    t
}

/// The issue-12 table: chains of each size in `sizes`.
fn chain(sizes: &[usize], dbt: Option<&Path>, repeat: usize) {
    println!(
        "| chained models | lake, one snapshot (s) | lake, --commit per-node (s) | dbt-duckdb (s) | dbt / lake | per-node / one snapshot |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let dir = tempfile::tempdir().unwrap();
        support::chain::generate_chain(dir.path(), n);
        let mut t = time_chain(dir.path(), dbt, repeat);
        eprintln!(
            "{n} chained models, seconds per run: one snapshot {:.2?}, per-node {:.2?}, dbt {:.2?}",
            t.one_snapshot, t.per_node, t.dbt
        );
        let one = median(&mut t.one_snapshot);
        let per_node = median(&mut t.per_node);
        let (dbt_cell, ratio) = if t.dbt.is_empty() {
            ("-".to_string(), "-".to_string())
        } else {
            let d = median(&mut t.dbt);
            (format!("{d:.2}"), format!("{:.1}x", d / one))
        };
        println!(
            "| {n} | {one:.2} | {per_node:.2} | {dbt_cell} | {ratio} | {:.1}x |",
            per_node / one
        );
        keep(dir);
    }
}

/// Checks that every node of a run_results.json was `reused`.
fn assert_all_reused(results: &serde_json::Value) {
    let rows = results["results"].as_array().unwrap();
    let ran: Vec<String> = rows
        .iter()
        .filter(|r| r["status"] != "reused")
        .map(|r| format!("{} {}", r["unique_id"], r["status"]))
        .collect();
    assert!(!rows.is_empty(), "the no-change run reported no node");
    assert!(ran.is_empty(), "not reused with nothing changed: {ran:?}");
}

/// Wall seconds of each timed run of the reuse shape.
#[derive(Default)]
struct ReuseTimes {
    full: Vec<f64>,
    unchanged: Vec<f64>,
}

/// Times `repeat` rounds of a full rebuild (`--no-reuse`) and a run with
/// nothing changed, interleaved so load changes on the machine hit both
/// alike. The project's lake is built twice before, untimed: a dbt-style
/// incremental model's SQL differs on its first build (`is_incremental()`),
/// so its reuse state settles on the second run.
fn time_reuse(dir: &Path, repeat: usize) -> ReuseTimes {
    let mut t = ReuseTimes::default();
    lake_run(dir, 1, &[]);
    lake_run(dir, 1, &[]);
    for i in 0..repeat {
        t.full.push(lake_run(dir, 1, &["--no-reuse"]).0);
        let (wall, results) = lake_run(dir, 1, &[]);
        assert_all_reused(&results);
        t.unchanged.push(wall);
        eprintln!(
            "round {}/{repeat} (s): full rebuild {:.2}, no change {:.2}",
            i + 1,
            t.full[i],
            t.unchanged[i]
        );
    }
    t
}

/// The issue-13 table: the layered project of `n` models, rebuilt in full
/// and run with nothing changed.
fn reuse(n: usize, repeat: usize) {
    let dir = tempfile::tempdir().unwrap();
    support::generate(dir.path(), n, true);
    let mut t = time_reuse(dir.path(), repeat);
    let full = median(&mut t.full);
    let unchanged = median(&mut t.unchanged);
    println!(
        "| {n} models | `lake run --threads 1 --no-reuse` (s) | `lake run --threads 1`, nothing changed (s) | no change / full rebuild |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| medians of {repeat} | {full:.2} | {unchanged:.2} | {:.1}% |",
        unchanged * 100.0 / full
    );
    keep(dir);
}

/// One folder built by lake and by dbt through its dbt profile (in
/// `profiles_dir`), each in its own copy: the median of `repeat` builds
/// after the first (which creates the database), and that first build.
fn build_both(label: &str, from: &Path, profiles_dir: &str, dbt: Option<&Path>, repeat: usize) {
    let copy = || {
        let to = tempfile::tempdir().unwrap();
        copy_dir(from, to.path());
        to
    };
    let lake_dir = copy();
    let args = ["build", "--profiles-dir", profiles_dir];
    let first = timed(lake_dir.path(), lake(lake_dir.path()).args(args));
    let mut again: Vec<f64> = (0..repeat)
        .map(|_| timed(lake_dir.path(), lake(lake_dir.path()).args(args)))
        .collect();
    let lake_again = median(&mut again);
    let Some(dbt) = dbt else {
        println!("| {label} | {first:.2} | {lake_again:.2} | | | |");
        return;
    };
    let dbt_dir = copy();
    let dbt_cmd = || {
        let mut c = Command::new(dbt);
        c.args(args)
            .args(["--target-path", "dbt_target", "--log-path", "dbt_logs"]);
        c
    };
    let dbt_first = timed(dbt_dir.path(), &mut dbt_cmd());
    let mut dbt_again: Vec<f64> = (0..repeat)
        .map(|_| timed(dbt_dir.path(), &mut dbt_cmd()))
        .collect();
    let dbt_again = median(&mut dbt_again);
    println!(
        "| {label} | {first:.2} | {lake_again:.2} | {dbt_first:.2} | {dbt_again:.2} | {:.1}x / {:.1}x |",
        dbt_first / first,
        dbt_again / lake_again
    );
}

/// Copies a project folder (files only; no `target/` or databases).
fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let skip = rel.starts_with("target") || rel.starts_with(".lake");
        if skip || entry.file_name() == "expected.json" {
            continue;
        }
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// The issue-14 table: dbt projects, unchanged, built by each tool.
fn dbt_build(n: usize, dbt: Option<&Path>, repeat: usize) {
    println!("| project | lake build, creates (s) | lake build, again (s) | dbt build, creates (s) | dbt build, again (s) | dbt / lake |");
    println!("|---|---:|---:|---:|---:|---:|");
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbt/cloned_as_is");
    build_both("tests/dbt/cloned_as_is (24 nodes)", &shop, ".", dbt, repeat);
    let layered = tempfile::tempdir().unwrap();
    support::generate(layered.path(), n, true);
    std::fs::remove_file(layered.path().join("project.yml")).unwrap();
    let label = format!("layered, {n} models, as a dbt project");
    build_both(&label, layered.path(), "dbt_profiles", dbt, repeat);
}

/// Leaves the project behind when `$LAKE_BENCH_KEEP` is set.
fn keep(dir: tempfile::TempDir) {
    if std::env::var_os("LAKE_BENCH_KEEP").is_some() {
        eprintln!("kept the project at {}", dir.keep().display());
    }
}

fn main() {
    // cargo bench passes `--bench`; words pick a shape, numbers model counts.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let only = |shape: &str| args.iter().any(|a| a == shape);
    let all = !only("chain") && !only("layered") && !only("reuse") && !only("dbt-build");
    let repeat: usize = std::env::var("LAKE_BENCH_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3);
    let dbt = (all || only("layered") || only("chain") || only("dbt-build"))
        .then(dbt_binary)
        .flatten();
    if all || only("layered") {
        layered(sizes.first().copied().unwrap_or(1_000), dbt.as_deref());
        println!();
    }
    if all || only("chain") {
        let sizes = if sizes.is_empty() {
            vec![200, 1_000]
        } else {
            sizes.clone()
        };
        chain(&sizes, dbt.as_deref(), repeat);
        println!();
    }
    if all || only("reuse") {
        reuse(sizes.first().copied().unwrap_or(1_000), repeat);
        println!();
    }
    if all || only("dbt-build") {
        dbt_build(
            sizes.first().copied().unwrap_or(1_000),
            dbt.as_deref(),
            repeat,
        );
    }
}
