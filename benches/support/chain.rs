//! The deep-DAG project of issue 12: one long chain of table models, each
//! reading the one before it, so no two nodes are ever ready together and a
//! runner that commits per node pays the DuckLake commit latency (~35 ms on
//! the embedded catalog) once per model. Written as dbt's Jinja with a
//! `dbt_project.yml`, so dbt-core runs the same folder.

use super::write;
use std::fmt::Write as _;
use std::path::Path;

/// Writes a chain of `n` table models into `root`: `stg_0000` reads 1,000
/// generated rows, every later `stg_i` transforms `stg_{i-1}` (a macro, a
/// filter, a derived column), so the DAG is `n` levels deep.
pub fn generate_chain(root: &Path, n: usize) {
    let config = "models:\n  stage:\n    +materialized: table\n";
    write(
        root,
        "project.yml",
        &format!("name: chain\nprofile: bench\n{config}"),
    );
    write(
        root,
        "dbt_project.yml",
        "name: chain\nprofile: bench\nconfig-version: 2\nmodels:\n  chain:\n    stage:\n      +materialized: table\n",
    );
    write(
        root,
        "macros/helpers.sql",
        "{% macro cents_to_dollars(col, scale=2) %}round({{ col }} / 100.0, {{ scale }}){% endmacro %}\n",
    );
    write(
        root,
        "models/stage/stg_0000.sql",
        "select range as id, (range * 37) % 1000 as amount_cents,\n  \
         timestamp '2024-01-02' + to_hours(range) as created_at\nfrom range(1000)\n",
    );
    for i in 1..n {
        let mut sql = String::new();
        let _ = write!(
            sql,
            "select id, (amount_cents + {i}) % 1000 as amount_cents, created_at,\n  \
             {{{{ cents_to_dollars('amount_cents') }}}} as amount\n\
             from {{{{ ref('stg_{:04}') }}}}\nwhere id >= 0\n",
            i - 1
        );
        write(root, &format!("models/stage/stg_{i:04}.sql"), &sql);
    }
}
