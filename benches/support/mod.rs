//! The layered project generator shared by the benchmarks: raw -> stage ->
//! mart, fan-in 1-3, macros, config blocks, some incremental models. It
//! writes only dbt's Jinja, plus a `dbt_project.yml` and
//! `dbt_profiles/profiles.yml`, so dbt-core runs the same folder. The deep
//! chain of issue 12 is in `chain`.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

pub mod chain;

/// A tiny deterministic generator so every run builds the same project.
pub struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Writes a project of `n` models into `root`.
pub fn generate(root: &Path, n: usize, raw_from_range: bool) {
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
        let from = if raw_from_range {
            // Small real data, so the project can run, not just compile.
            format!("(select range as id, (range * 37 + {i}) % 1000 as amount_cents, timestamp '2024-01-02' + to_hours(range) as created_at from range(20))")
        } else {
            format!("{{{{ source('landing', 'src_{i}') }}}}")
        };
        write(
            root,
            &format!("models/raw/raw_{i}.sql"),
            &format!(
                "select id, amount_cents, created_at,\n  {{{{ cents_to_dollars('amount_cents') }}}} as amount\nfrom {from}\nwhere {{{{ since('created_at') }}}}\n"
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
