//! Compile benchmark: generates layered projects (raw -> stage -> mart,
//! fan-in 1-3, macros, config blocks, some incremental models) of 1,000 and
//! 10,000 models and times `lake compile` and `lake ls --select x+` on them,
//! reporting wall time and peak RSS of the lake process.
//!
//! Run: `cargo bench --bench compile` (add `-- 1000` for one size only).
//! The generated SQL uses only dbt's Jinja, and a `dbt_project.yml` and
//! `dbt_profiles/profiles.yml` are written beside `project.yml`, so dbt-core can compile
//! the same folder for side-by-side numbers (`LAKE_BENCH_KEEP=1` keeps it).

#[path = "../tests/util/command.rs"]
mod command;
#[path = "support/mod.rs"]
mod support;

use command::lake_command;

use std::path::Path;
use std::time::Instant;

struct Measure {
    wall_ms: f64,
    rss_mb: f64,
}

/// Runs `lake args` in `dir`, returning wall time and the child's peak RSS.
/// The child is reaped by `wait4` (which std's `wait` cannot do with rusage).
#[allow(clippy::zombie_processes)]
fn run(dir: &Path, args: &[&str]) -> Measure {
    let start = Instant::now();
    let child = lake_command(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("spawn lake");
    let mut status = 0;
    // SAFETY: rusage is plain old data filled in by the kernel; the pid is our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(pid, child.id() as i32);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "lake {args:?} failed"
    );
    Measure {
        wall_ms,
        rss_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect::<Vec<_>>();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    println!("| models | command | median wall (ms) | min wall (ms) | peak RSS (MB) |");
    println!("|---:|---|---:|---:|---:|");
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        support::generate(dir.path(), n, false);
        let target = format!("stg_{}+", n / 10);
        let commands: [(&str, Vec<&str>); 2] = [
            ("lake compile", vec!["compile"]),
            ("lake ls --select stg_N+", vec!["ls", "--select", &target]),
        ];
        for (label, args) in commands {
            run(dir.path(), &args); // warm the page cache
            let runs: Vec<Measure> = (0..7).map(|_| run(dir.path(), &args)).collect();
            let walls: Vec<f64> = runs.iter().map(|m| m.wall_ms).collect();
            let min = walls.iter().copied().fold(f64::MAX, f64::min);
            let rss = runs.iter().map(|m| m.rss_mb).fold(0.0, f64::max);
            println!(
                "| {n} | `{label}` | {:.0} | {:.0} | {:.1} |",
                median(walls),
                min,
                rss
            );
        }
        if std::env::var_os("LAKE_BENCH_KEEP").is_some() {
            let kept = dir.keep();
            eprintln!("kept {n}-model project at {}", kept.display());
        }
    }
}
