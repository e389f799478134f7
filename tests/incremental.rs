//! Cost that follows new data (issue 13): unchanged nodes are reused, and
//! the browser-events stage and hourly marts recompute only the batches
//! (hours, sessions) their parents' changes touch. Every check compares
//! with a full rebuild computed independently of lake's incremental path:
//! the original system's mart SQL over the generated JSONL, and each
//! table's own query run in full over the same inputs.

#[macro_use]
mod util;

#[path = "../benches/support/mod.rs"]
mod support;

use util::lakehouse::{Lakehouse, MARTS};
use util::{Lake, TempProject};

const STAGE: [&str; 8] = [
    "events",
    "transitions",
    "session_info",
    "devices",
    "geo",
    "conversion",
    "purchases",
    "product_views_hourly",
];

/// `run_results.json`'s entry of model `name` (the repo's project).
fn result_of(p: &TempProject, name: &str) -> serde_json::Value {
    result_of_id(p, &format!("model.browser_events.{name}"))
}

/// `run_results.json`'s entry of node `id`.
fn result_of_id(p: &TempProject, id: &str) -> serde_json::Value {
    p.run_results()["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not in run_results.json"))
}

/// Rows in one of `a`, `b` and not the other (as multisets).
fn difference_sql(a: &str, b: &str) -> String {
    format!(
        "select count(*) from ((select * from {a} except all select * from {b}) \
         union all (select * from {b} except all select * from {a}))"
    )
}

/// Every stage and mart table holds exactly what its model's query gives
/// when run in full over the same tables now: by induction from raw, the
/// lake equals a full rebuild.
fn assert_each_table_is_its_full_query(p: &TempProject, context: &str) {
    let marts = MARTS.iter().map(|m| ("mart", *m));
    let checks: Vec<String> = STAGE
        .iter()
        .map(|s| ("stage", *s))
        .chain(marts)
        .map(|(schema, name)| {
            let sql = p.read(&format!("target/compiled/{schema}/{name}.sql"));
            let query = format!("({})", sql.trim().trim_end_matches(';'));
            let diff = difference_sql(&format!("lake.{schema}.{name}"), &query);
            format!("select '{schema}.{name}' as t, ({diff}) as n")
        })
        .collect();
    // One reader for every table (a Prod attach costs a second).
    let differing = p.rows(&format!(
        "select t, n from ({}) where n <> 0",
        checks.join(" union all ")
    ));
    assert!(
        differing.is_empty(),
        "{context}: tables differ from a full rebuild (table, rows): {differing:?}"
    );
}

/// 30 hours arrive one at a time; hour 7 arrives late (after hour 12), and
/// the run after hour 20 is missed. After every run, raw and the marts
/// equal the reference over all JSONL delivered so far, every table equals
/// its full query, and stage.events recomputed exactly the hours that
/// arrived.
fn thirty_hours_one_at_a_time_equal_a_full_rebuild(lake: Lake) {
    let h = Lakehouse::new(lake);
    let (late, late_after, missed) = (7, 12, 20);
    for hour in 0..30 {
        if hour != late {
            h.generate(hour, 1, &[]);
        }
        if hour == late_after {
            h.generate(late, 1, &[]);
        }
        if hour == missed {
            continue;
        }
        h.schedule_ok("hourly");
        let context = format!("after hour {hour}");
        assert_each_table_is_its_full_query(&h.p, &context);
        // The original system's SQL over every JSONL delivered so far, at
        // the turns that matter (it reads everything again: not each hour).
        if [0, late_after, missed + 1, 29].contains(&hour) {
            h.assert_matches(&h.reference());
        }
        let events = result_of(&h.p, "events");
        let want = match hour {
            0 => "everything: its table does not exist yet",
            // Nothing arrived: nothing to recompute, the table is reused.
            h if h == late => {
                assert_eq!(events["status"], "reused", "{context}: {events}");
                continue;
            }
            h if h == late_after || h == missed + 1 => "2 hours",
            _ => "1 hour",
        };
        assert_eq!(events["recomputed"], want, "{context}: stage.events");
        let sessions = result_of(&h.p, "devices")["recomputed"].clone();
        if hour > 0 {
            assert!(
                sessions.as_str().unwrap().ends_with(" sessions"),
                "{context}: stage.devices recomputed {sessions}"
            );
        }
    }
}

/// A run in which no new hour arrived reuses every stage and mart model
/// and their tests, and publishes no snapshot at all.
fn no_new_hour_reuses_everything_and_publishes_nothing(lake: Lake) {
    let h = Lakehouse::new(lake);
    h.generate(0, 2, &[]);
    h.schedule_ok("hourly");
    let snapshots = h.p.rows("select max(snapshot_id) from lake.snapshots()");
    let out = h.schedule_ok("hourly");
    out.assert_stdout_has("Nothing new published");
    assert_eq!(
        h.p.rows("select max(snapshot_id) from lake.snapshots()"),
        snapshots,
        "a run without new data added a snapshot:\n{}",
        out.stdout
    );
    assert!(h.p.ls(&["state:changed"]).is_empty());
    let results = h.p.run_results();
    for (id, status) in util::statuses(&results) {
        let loads = id.starts_with("model.browser_events.") && id.ends_with("_events");
        let want = if loads { "success" } else { "reused" };
        assert_eq!(status, want, "{id}\n{}", out.stdout);
    }
}

/// Reading the clock or a file makes a model run every time (its action
/// says why); `volatile: false` lets one be reused; a plain model is.
#[test]
fn clock_and_files_rebuild_every_run() {
    let p = TempProject::new();
    p.file("data.csv", "n\n1\n2\n")
        .file(
            "models/stage/clock.sql",
            "{{ config(materialized='table') }}select now() as at\n",
        )
        .file(
            "models/stage/file.sql",
            "{{ config(materialized='table') }}select * from read_csv('data.csv')\n",
        )
        .file(
            "models/stage/pinned.sql",
            "{{ config(materialized='table', volatile=false) }}select random() as r\n",
        )
        .file(
            "models/stage/plain.sql",
            "{{ config(materialized='table') }}select 1 as n\n",
        );
    let first = p.lake_ok(&["run"]);
    first.assert_stdout_has("rebuilt every run: calls now()");
    first.assert_stdout_has("rebuilt every run: reads read_csv(...)");
    let second = p.lake_ok(&["run"]);
    let statuses = util::statuses(&p.run_results());
    assert_eq!(
        statuses,
        vec![
            ("model.demo.clock".to_string(), "success".to_string()),
            ("model.demo.file".to_string(), "success".to_string()),
            ("model.demo.pinned".to_string(), "reused".to_string()),
            ("model.demo.plain".to_string(), "reused".to_string()),
        ],
        "{}",
        second.stdout
    );
    let third = p.lake_ok(&["run", "--no-reuse"]);
    assert!(
        util::statuses(&p.run_results())
            .iter()
            .all(|(_, s)| s == "success"),
        "--no-reuse: {}",
        third.stdout
    );
}

/// Source `ext`: `tables` in schema `landing`, which another process
/// writes (see [`write_elsewhere`]).
fn external_source(tables: &[&str]) -> String {
    let entries: String = tables
        .iter()
        .map(|t| format!("      - name: {t}\n"))
        .collect();
    format!("version: 2\nsources:\n  - name: ext\n    schema: landing\n    tables:\n{entries}")
}

/// Writes to the lake from outside lake, as a second checkout would.
fn write_elsewhere(p: &TempProject, sql: &str) {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let ext = util::extension_dir();
    let attach = match p.lake {
        Lake::Embedded => util::rows::attach_embedded_sql(&ext, p.path(), false),
        Lake::Prod => util::rows::attach_prod_sql(&ext, &p.unique, None, false),
    };
    conn.execute_batch(&attach)
        .unwrap_or_else(|e| panic!("attaching the lake: {e}"));
    conn.execute_batch(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A table lake reads but another process writes: when it changes, the
/// models reading it rebuild; the others stay reused.
fn a_parent_rewritten_elsewhere_rebuilds_its_children(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("models/sources.yml", &external_source(&["orders"]))
        .file(
            "models/stage/orders.sql",
            "{{ config(materialized='table') }}select n from {{ source('ext', 'orders') }}\n",
        )
        .file(
            "models/stage/other.sql",
            "{{ config(materialized='table') }}select 1 as n\n",
        );
    // The other process makes the lake first.
    std::fs::create_dir_all(p.path().join(".lake/data")).unwrap();
    write_elsewhere(
        &p,
        "CREATE SCHEMA lake.landing; CREATE TABLE lake.landing.orders AS SELECT 1 AS n",
    );
    p.lake_ok(&["run"]);
    p.lake_ok(&["run"]);
    assert!(util::statuses(&p.run_results())
        .iter()
        .all(|(_, s)| s == "reused"));
    write_elsewhere(&p, "INSERT INTO lake.landing.orders VALUES (2)");
    let out = p.lake_ok(&["run"]);
    assert_eq!(
        util::statuses(&p.run_results()),
        vec![
            ("model.demo.orders".to_string(), "success".to_string()),
            ("model.demo.other".to_string(), "reused".to_string()),
        ],
        "{}",
        out.stdout
    );
    assert_eq!(
        p.rows("select sum(n) from lake.stage.orders"),
        vec![vec!["3".to_string()]]
    );
}

/// `relationships` on new rows: each new child key is looked up in the
/// parent's new rows first, then (only if missing there) in the whole
/// parent, so a key only old parent rows hold passes and a key no parent
/// row holds fails, with the same failing rows as a whole-table test.
fn a_relationships_test_on_new_rows_still_sees_the_whole_parent(lake: Lake) {
    let p = TempProject::on(lake);
    let batched = |source: &str| {
        format!(
            "{{{{ config(materialized='incremental', incremental_strategy='microbatch', \
             event_time='ts') }}}}select ts, k from {{{{ source('ext', '{source}') }}}}\n"
        )
    };
    p.file("models/sources.yml", &external_source(&["parents", "children"]))
        .file("models/stage/parent.sql", &batched("parents"))
    .file("models/stage/child.sql", &batched("children"))
    .file(
        "models/stage/_stage.yml",
        "version: 2\nmodels:\n  - name: child\n    columns:\n      - name: k\n        tests:\n          \
         - relationships: {to: ref('parent'), field: k}\n",
    );
    std::fs::create_dir_all(p.path().join(".lake/data")).unwrap();
    write_elsewhere(
        &p,
        "CREATE SCHEMA lake.landing; \
         CREATE TABLE lake.landing.parents AS SELECT TIMESTAMP '2024-05-01 00:10' AS ts, 1 AS k; \
         CREATE TABLE lake.landing.children AS SELECT TIMESTAMP '2024-05-01 00:20' AS ts, 1 AS k",
    );
    p.lake_ok(&["build"]);
    // A new hour: key 2 is in the parent's new rows, key 1 only in its old.
    write_elsewhere(
        &p,
        "INSERT INTO lake.landing.parents VALUES (TIMESTAMP '2024-05-01 01:10', 2); \
         INSERT INTO lake.landing.children VALUES \
           (TIMESTAMP '2024-05-01 01:20', 2), (TIMESTAMP '2024-05-01 01:30', 1)",
    );
    let out = p.lake_ok(&["build"]);
    let test = test_result(&p);
    assert_eq!(test["status"], "pass", "{}", out.stdout);
    assert_sliced(&test);
    // Key 9 is in no parent row: the test fails on exactly that row.
    write_elsewhere(
        &p,
        "INSERT INTO lake.landing.children VALUES \
           (TIMESTAMP '2024-05-01 02:20', 9), (TIMESTAMP '2024-05-01 02:30', 1)",
    );
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let test = test_result(&p);
    assert_eq!(test["status"], "fail", "{}", out.stdout);
    assert_eq!(test["failures"], 1, "{}", out.stdout);
    assert_sliced(&test);
}

/// `run_results.json`'s entry of the one relationships test.
fn test_result(p: &TempProject) -> serde_json::Value {
    p.run_results()["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == "test.demo.relationships_child_k")
        .cloned()
        .expect("the relationships test's result")
}

/// The test read only the child's new rows (else it proves nothing).
fn assert_sliced(test: &serde_json::Value) {
    let action = test["action"].as_str().unwrap_or_default();
    assert!(
        action.starts_with("test (rows written since snapshot"),
        "{test}"
    );
}

/// A distinct row-by-row model of one parent recomputes its key batches
/// from the parent's appended rows and its own old rows; a deletion
/// upstream makes it read the parent's rows of those keys again.
fn a_distinct_model_reads_only_appended_rows_until_one_is_deleted(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("models/sources.yml", &external_source(&["hits"]))
        .file(
        "models/stage/keys.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='k') }}\
         select distinct k, upper(v) as v from {{ source('ext', 'hits') }} where v <> 'skip'\n",
    );
    std::fs::create_dir_all(p.path().join(".lake/data")).unwrap();
    write_elsewhere(
        &p,
        "CREATE SCHEMA lake.landing; \
         CREATE TABLE lake.landing.hits AS SELECT * FROM (VALUES (1, 'a'), (1, 'a'), (2, 'b')) t(k, v)",
    );
    p.lake_ok(&["run"]);
    let keys = || p.rows("select k, v from lake.stage.keys order by all");
    let row = |k: &str, v: &str| vec![k.to_string(), v.to_string()];
    write_elsewhere(
        &p,
        "INSERT INTO lake.landing.hits VALUES (1, 'a'), (1, 'c'), (3, 'skip'), (4, 'd')",
    );
    let out = p.lake_ok(&["run"]);
    assert_eq!(
        result_of_id(&p, "model.demo.keys")["action"],
        "microbatch (3 ks, from the rows appended to lake.landing.hits)",
        "{}",
        out.stdout
    );
    assert_eq!(
        keys(),
        vec![row("1", "A"), row("1", "C"), row("2", "B"), row("4", "D")]
    );
    write_elsewhere(&p, "DELETE FROM lake.landing.hits WHERE v = 'a'");
    let out = p.lake_ok(&["run"]);
    assert_eq!(
        result_of_id(&p, "model.demo.keys")["action"],
        "microbatch (1 k)",
        "{}",
        out.stdout
    );
    assert_eq!(keys(), vec![row("1", "C"), row("2", "B"), row("4", "D")]);
}

on_both_targets!(
    a_distinct_model_reads_only_appended_rows_until_one_is_deleted,
    thirty_hours_one_at_a_time_equal_a_full_rebuild,
    no_new_hour_reuses_everything_and_publishes_nothing,
    a_parent_rewritten_elsewhere_rebuilds_its_children,
    a_relationships_test_on_new_rows_still_sees_the_whole_parent,
);

/// In the generated 1,000-model project, changing one model's SQL runs
/// exactly it and its descendants; the rest is reused, and every table
/// equals its full query.
#[test]
fn one_changed_model_of_a_thousand_runs_with_its_descendants_only() {
    let p = TempProject::new();
    support::generate(p.path(), 1000, true);
    // Twice: an incremental model's SQL differs on its first build
    // (`is_incremental()`), so the state settles on the second run.
    p.lake_ok(&["run"]);
    p.lake_ok(&["run"]);
    let changed = "stg_101";
    let path = format!("models/stage/{changed}.sql");
    let sql = p
        .read(&path)
        .replace("from unioned", "from unioned where id >= 1");
    p.file(&path, &sql);
    let want: std::collections::BTreeSet<String> = p
        .ls(&[&format!("{changed}+")])
        .into_iter()
        .map(|name| format!("model.bench.{name}"))
        .collect();
    assert!(want.len() > 1, "{changed} has descendants: {want:?}");
    // What the next run would build (the changed model and what reads
    // it), read from the lake's build state.
    let listed: std::collections::BTreeSet<String> = p
        .ls(&["state:changed"])
        .into_iter()
        .map(|name| format!("model.bench.{name}"))
        .collect();
    assert_eq!(listed, want);
    let out = p.lake_ok(&["run"]);
    let statuses = util::statuses(&p.run_results());
    let ran: std::collections::BTreeSet<String> = statuses
        .iter()
        .filter(|(_, s)| s != "reused")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(ran, want, "{}", out.stdout);
    assert_eq!(statuses.len(), 1000);
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let attach = util::rows::attach_embedded_sql(&util::extension_dir(), p.path(), true);
    conn.execute_batch(&attach).unwrap();
    for (id, _) in &statuses {
        let name = id.trim_start_matches("model.bench.");
        let layer = &name[..name.find('_').unwrap()];
        let schema = match layer {
            "raw" => "raw",
            "stg" => "stage",
            _ => "mart",
        };
        let compiled = p.read(&format!("target/compiled/{schema}/{name}.sql"));
        // dbt-style incremental models keep rows their query no longer
        // returns; lake runs them as dbt does.
        if compiled.contains("max(created_at) from") {
            continue;
        }
        let query = format!("({})", compiled.trim().trim_end_matches(';'));
        // The project sums doubles: the last bits depend on the order the
        // threads added them in, so amounts compare to 6 decimals.
        let rounded = |from: &str| {
            format!(
                "(select columns(c -> c not similar to '(amount|avg_amount).*'), \
                 round(columns(c -> c similar to '(amount|avg_amount).*'), 6) from {from})"
            )
        };
        let rows = util::rows::text_rows(
            &conn,
            &difference_sql(&rounded(&format!("lake.{schema}.{name}")), &rounded(&query)),
        );
        assert_eq!(
            rows[0][0], "0",
            "{schema}.{name} differs from a full rebuild"
        );
    }
}

/// A microbatch model whose watermark snapshot the daily cleanup expired
/// cannot read the changes since: it rebuilds in full, and says so.
#[test]
fn an_expired_watermark_rebuilds_in_full_and_says_so() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nschedules:\n  daily:\n    cron: \"0 0 * * *\"\n    select: []\n    post-hooks:\n      \
         - cleanup: { retention: 0 seconds, keep-runs: 1 }\n",
    )
    .file(
        "models/stage/hits.sql",
        "{{ config(materialized='table') }}\
         select timestamp '2024-05-01' + to_hours(range) as ts from range({{ var('n', 3) }})\n",
    )
    .file(
        "models/mart/per_hour.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts') }}\
         select ts, count(*) as n from {{ ref('hits') }} group by all\n",
    );
    p.lake_ok(&["run"]);
    for n in ["{n: 4}", "{n: 5}"] {
        p.lake_ok(&["run", "--select", "hits", "--vars", n]);
    }
    p.lake_ok(&["run", "--schedule", "daily"]);
    let out = p.lake_ok(&["run", "--select", "per_hour"]);
    out.assert_stdout_has("microbatch (in full: its watermark, snapshot");
    out.assert_stdout_has("was expired by cleanup");
    assert_eq!(
        p.rows("select count(*), sum(n) from lake.mart.per_hour"),
        vec![vec!["5".to_string(), "5".to_string()]]
    );
}
