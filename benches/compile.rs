//! Compile benchmark: generates layered projects (raw -> stage -> mart,
//! fan-in 1-3, macros, config blocks, some incremental models) of 1,000 and
//! 10,000 models and times `lake compile` and `lake ls --select x+` on them,
//! reporting wall time and peak RSS of the lake process.
//!
//! Run: `cargo bench --bench compile` (add `-- 1000` for one size only).
//! The generated SQL uses only dbt's Jinja, and a `dbt_project.yml` and
//! `dbt_profiles/profiles.yml` are written beside `project.yml`, so dbt-core can compile
//! the same folder for side-by-side numbers (`LAKE_BENCH_KEEP=1` keeps it).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A tiny deterministic generator so every run builds the same project.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Writes a project of `n` models into `root`.
pub fn generate(root: &Path, n: usize) {
    let mut rng = Lcg(42);
    let raw = n * 3 / 10;
    let stage = n * 4 / 10;
    let mart = n - raw - stage;
    write(
        root,
        "project.yml",
        "name: bench\nprofile: bench\nvars:\n  start_date: '2024-01-01'\nmodels:\n  raw:\n    +materialized: table\n  stage:\n    +materialized: view\n    +tags: [hourly]\n  mart:\n    +materialized: table\n",
    );
    write(
        root,
        "dbt_project.yml",
        "name: bench\nprofile: bench\nconfig-version: 2\nvars:\n  start_date: '2024-01-01'\nmodels:\n  bench:\n    raw:\n      +materialized: table\n    stage:\n      +materialized: view\n      +tags: [hourly]\n    mart:\n      +materialized: table\n",
    );
    // dbt's profile lives apart so lake keeps its embedded default target.
    write(
        root,
        "dbt_profiles/profiles.yml",
        "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: bench.duckdb\n",
    );
    write(
        root,
        "macros/helpers.sql",
        "{% macro cents_to_dollars(col, scale=2) %}round({{ col }} / 100.0, {{ scale }}){% endmacro %}\n\
         {% macro safe_div(a, b) %}case when {{ b }} = 0 then null else {{ a }} / {{ b }} end{% endmacro %}\n\
         {% macro since(col) %}{{ col }} >= '{{ var(\"start_date\") }}'{% endmacro %}\n",
    );
    let mut sources =
        String::from("version: 2\nsources:\n  - name: landing\n    schema: landing\n    tables:\n");
    for i in 0..raw {
        let _ = writeln!(sources, "      - name: src_{i}");
        write(
            root,
            &format!("models/raw/raw_{i}.sql"),
            &format!(
                "select id, amount_cents, created_at,\n  {{{{ cents_to_dollars('amount_cents') }}}} as amount\nfrom {{{{ source('landing', 'src_{i}') }}}}\nwhere {{{{ since('created_at') }}}}\n"
            ),
        );
    }
    write(root, "models/raw/sources.yml", &sources);
    for i in 0..stage {
        let fan = 1 + rng.next(3);
        let mut parents: Vec<String> = (0..fan)
            .map(|_| {
                if i > 0 && rng.next(3) == 0 {
                    format!("stg_{}", rng.next(i))
                } else {
                    format!("raw_{}", rng.next(raw))
                }
            })
            .collect();
        parents.sort();
        parents.dedup();
        let incremental = i % 5 == 0;
        let mut sql = String::new();
        if incremental {
            sql.push_str("{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\n");
        }
        sql.push_str("with unioned as (\n");
        for (k, p) in parents.iter().enumerate() {
            if k > 0 {
                sql.push_str("  union all\n");
            }
            let _ = writeln!(
                sql,
                "  select id, amount, created_at from {{{{ ref('{p}') }}}}"
            );
        }
        sql.push_str(")\nselect id, sum(amount) as amount, max(created_at) as created_at,\n  {{ safe_div('sum(amount)', 'count(*)') }} as avg_amount\nfrom unioned\n");
        if incremental {
            sql.push_str("{% if is_incremental() %}where created_at > (select max(created_at) from {{ this }}){% endif %}\n");
        }
        sql.push_str("group by id\n");
        write(root, &format!("models/stage/stg_{i}.sql"), &sql);
    }
    for i in 0..mart {
        let fan = 1 + rng.next(3);
        let mut parents: Vec<usize> = (0..fan).map(|_| rng.next(stage)).collect();
        parents.sort();
        parents.dedup();
        let mut sql = String::from("{{ config(tags=['daily']) }}\nselect p0.id,\n");
        for (k, _) in parents.iter().enumerate() {
            let _ = writeln!(sql, "  p{k}.amount as amount_{k},");
        }
        let _ = write!(
            sql,
            "  '{{{{ target.name }}}}' as env\nfrom {{{{ ref('stg_{}') }}}} p0\n",
            parents[0]
        );
        for (k, p) in parents.iter().enumerate().skip(1) {
            let _ = writeln!(sql, "left join {{{{ ref('stg_{p}') }}}} p{k} using (id)");
        }
        write(root, &format!("models/mart/fct_{i}.sql"), &sql);
    }
}

struct Measure {
    wall_ms: f64,
    rss_mb: f64,
}

/// Runs `lake args` in `dir`, returning wall time and the child's peak RSS.
/// The child is reaped by `wait4` (which std's `wait` cannot do with rusage).
#[allow(clippy::zombie_processes)]
fn run(dir: &Path, args: &[&str]) -> Measure {
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_lake"))
        .args(args)
        .current_dir(dir)
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
        generate(dir.path(), n);
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
