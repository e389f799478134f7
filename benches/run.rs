//! Run benchmark: a generated 1,000-model project (small data) through
//! `lake run` on the embedded DuckLake, reporting lake's own overhead (wall
//! time minus the summed per-node execution time from run_results.json, at
//! one thread so the two are comparable), and the same project through
//! dbt-core + dbt-duckdb attached to an identical DuckLake, side by side.
//!
//! Run: `cargo bench --bench run` (add a model count, e.g. `-- 200`).
//! dbt is taken from `$LAKE_BENCH_DBT`, else `~/.cache/lake/dbt-venv/bin/dbt`
//! (make it with `python3 -m venv ~/.cache/lake/dbt-venv && ~/.cache/lake/dbt-venv/bin/pip
//! install 'dbt-core~=1.11.0' 'dbt-duckdb~=1.11.0' duckdb==1.5.5`); without it
//! only lake is measured.

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

fn lake_run(dir: &Path, threads: usize) -> (f64, f64) {
    let wall = timed(
        dir,
        lake_command(dir).args(["run", "--threads", &threads.to_string()]),
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    let busy: f64 = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["execution_time"].as_f64().unwrap())
        .sum();
    (wall, busy)
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

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000);
    let dir = tempfile::tempdir().unwrap();
    support::generate(dir.path(), n, true);
    println!(
        "| {n} models | wall (s) | summed node time (s) | overhead (s) | overhead per model (ms) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for label in [
        "lake run --threads 1 (creates the lake)",
        "lake run --threads 1 (replaces every model)",
    ] {
        let (wall, busy) = lake_run(dir.path(), 1);
        let overhead = wall - busy;
        println!(
            "| `{label}` | {wall:.2} | {busy:.2} | {overhead:.2} | {:.2} |",
            overhead * 1000.0 / n as f64
        );
    }
    for threads in [2, 4, 8] {
        let (wall, _) = lake_run(dir.path(), threads);
        println!("| `lake run --threads {threads}` (replaces every model) | {wall:.2} | | | |");
    }
    let dbt = std::env::var_os("LAKE_BENCH_DBT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/lake/dbt-venv/bin/dbt")
        });
    if !dbt.is_file() {
        eprintln!(
            "dbt not found at {}: skipped (see the header of benches/run.rs)",
            dbt.display()
        );
        return;
    }
    dbt_profile(dir.path());
    for label in [
        "dbt run --threads 1 (creates the lake)",
        "dbt run --threads 1 (replaces every model)",
    ] {
        let wall = timed(
            dir.path(),
            Command::new(&dbt).args([
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
        );
        println!("| `{label}` | {wall:.2} | | | |");
    }
    if std::env::var_os("LAKE_BENCH_KEEP").is_some() {
        eprintln!("kept the project at {}", dir.keep().display());
    }
}
