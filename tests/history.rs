//! `lake history` (issue 12): runs read back from the catalog's snapshots,
//! not from local files: each run with its run id (the one in
//! `run_results.json`), what it published and how many rows; the versions
//! of one model's table; snapshots lake did not write shown as such; and
//! all of it from a second checkout that never ran anything.

#[macro_use]
mod util;

use serde_json::Value;
use util::{Lake, TempProject};

/// Two chained tables; `numbers` holds `n` rows.
fn project(lake: Lake, n: u32) -> TempProject {
    let p = TempProject::on(lake);
    p.file(
        "models/stage/numbers.sql",
        &format!("{{{{ config(materialized='table') }}}}\nselect range as id from range({n})\n"),
    )
    .file(
        "models/mart/total.sql",
        "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('numbers') }}\n",
    );
    p
}

/// `lake run`, then the run id it wrote to `target/run_results.json`.
fn run(p: &TempProject) -> String {
    p.lake_ok(&["run"]);
    p.run_results()["metadata"]["run_id"]
        .as_str()
        .expect("metadata.run_id in run_results.json")
        .to_string()
}

fn json(p: &TempProject, args: &[&str]) -> Vec<Value> {
    let out = p.lake_ok(args);
    match serde_json::from_str(&out.stdout) {
        Ok(Value::Array(items)) => items,
        other => panic!("not a JSON array ({other:?}):\n{}", out.stdout),
    }
}

/// `(relation, rows)` a history entry says its run published.
fn published(entry: &Value) -> Vec<(String, u64)> {
    entry["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let relation = n["relation"].as_str().unwrap().to_string();
            (relation, n["rows"].as_u64().unwrap())
        })
        .collect()
}

/// What changes lakes output between machines and runs.
fn placeholders(p: &TempProject) -> util::Placeholders {
    p.placeholders()
        .pattern(r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b", "[RUN_ID]")
        .pattern(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?", "[TIME]")
        .pattern(r"target (dev|prod)", "target [TARGET]")
        .pattern(r"lake \d+\.\d+\.\d+\S*", "lake [VERSION]")
}

on_both_targets!(
    history_lists_every_run_newest_first_with_what_it_published,
    history_of_a_model_lists_the_versions_of_its_table,
);

fn history_lists_every_run_newest_first_with_what_it_published(lake: Lake) {
    let p = project(lake, 3);
    let first = run(&p);
    p.file(
        "models/stage/numbers.sql",
        "{{ config(materialized='table') }}\nselect range as id from range(5)\n",
    );
    let second = run(&p);
    assert_ne!(first, second);

    let entries = json(&p, &["history", "--json"]);
    let runs: Vec<&Value> = entries
        .iter()
        .filter(|e| e["written_by"] == "lake")
        .collect();
    let ids: Vec<&str> = runs.iter().map(|e| e["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str(), first.as_str()]);
    for (e, rows) in runs.iter().zip([5, 3]) {
        assert_eq!(e["command"], "lake run");
        assert_eq!(e["status"], "success");
        assert_eq!(
            published(e),
            [
                ("stage.numbers".to_string(), rows),
                ("mart.total".to_string(), 1)
            ]
        );
        // One snapshot per run, and it is the one the nodes name.
        let snapshots = e["snapshots"].as_array().unwrap();
        assert_eq!(snapshots.len(), 1, "{e:#}");
        assert_eq!(snapshots[0]["kind"], "run");
        assert_eq!(e["nodes"][0]["snapshot"], snapshots[0]["id"]);
        // DuckLake's record of the change, catalog ids named.
        let changes = snapshots[0]["changes"].to_string();
        assert!(changes.contains("stage.numbers"), "{changes}");
    }
    // The lake's snapshots by an independent reader: every one listed once.
    let all: Vec<String> = p
        .rows("select snapshot_id from lake.snapshots() order by snapshot_id desc")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let listed: Vec<String> = entries
        .iter()
        .flat_map(|e| e["snapshots"].as_array().unwrap().iter().rev())
        .map(|s| s["id"].to_string())
        .collect();
    assert_eq!(listed, all);

    let out = p.lake_ok(&["history", "--limit", "1"]);
    placeholders(&p).bind(|| insta::assert_snapshot!("history_latest_run", out.stdout));
}

fn history_of_a_model_lists_the_versions_of_its_table(lake: Lake) {
    let p = project(lake, 3);
    let first = run(&p);
    p.file(
        "models/stage/numbers.sql",
        "{{ config(materialized='table') }}\nselect range as id from range(5)\n",
    );
    let second = run(&p);
    // A run that leaves `numbers` alone is no version of it (`total` is
    // rebuilt although nothing it reads changed).
    p.lake_ok(&["run", "--select", "total", "--no-reuse"]);

    let versions = json(&p, &["history", "--model", "numbers", "--json"]);
    let seen: Vec<(&str, &str, u64)> = versions
        .iter()
        .map(|v| {
            (
                v["written_by"].as_str().unwrap(),
                v["run_id"].as_str().unwrap(),
                v["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("lake", second.as_str(), 5), ("lake", first.as_str(), 3)]
    );
    // Each version reads back as the rows it was written with.
    for v in &versions {
        let at = v["snapshot"].as_i64().unwrap();
        let rows = p.rows(&format!(
            "select count(*) from lake.stage.numbers at (version => {at})"
        ));
        assert_eq!(rows[0][0], v["rows"].to_string());
    }
    let total = json(&p, &["history", "--model", "total", "--json"]);
    assert_eq!(total.len(), 3, "{total:#?}");

    let out = p.lake(&["history", "--model", "numbrs"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!("history_unknown_model", out.stderr);
}

/// A write by hand (a notebook, a script) is listed as one, with what
/// DuckLake says it changed, between the runs and among the versions.
#[test]
fn snapshots_lake_did_not_write_are_shown_as_written_outside_lake() {
    let p = project(Lake::Embedded, 3);
    let first = run(&p);
    {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        conn.execute_batch(&util::rows::attach_embedded_sql(
            &util::extension_dir(),
            p.path(),
            false,
        ))
        .unwrap();
        conn.execute_batch("INSERT INTO lake.stage.numbers VALUES (100)")
            .unwrap();
    }
    let entries = json(&p, &["history", "--json"]);
    assert_eq!(entries[0]["written_by"], "outside");
    assert_eq!(entries[0]["run_id"], Value::Null);
    let changes = &entries[0]["snapshots"][0]["changes"];
    assert_eq!(
        changes["inlined_insert"],
        serde_json::json!(["stage.numbers"])
    );
    assert_eq!(entries[1]["run_id"], first.as_str());

    let out = p.lake_ok(&["history", "--limit", "2"]);
    let versions = p.lake_ok(&["history", "--model", "numbers"]);
    placeholders(&p).bind(|| {
        insta::assert_snapshot!("history_outside_write", out.stdout);
        insta::assert_snapshot!("history_model_outside_write", versions.stdout);
    });
}

/// The acceptance test of issue 12: a second checkout of the project,
/// which never ran anything, lists the first one's runs from the shared
/// PostgreSQL catalog.
#[test]
fn a_second_checkout_lists_the_runs_of_the_first() {
    let first = project(Lake::Prod, 3);
    let one = run(&first);
    first.file(
        "models/stage/numbers.sql",
        "{{ config(materialized='table') }}\nselect range as id from range(4)\n",
    );
    let two = run(&first);

    let mut second = project(Lake::Embedded, 3);
    second.file("profiles.yml", &first.read("profiles.yml"));
    second.lake = Lake::Prod;
    second.unique = first.unique.clone();
    assert!(!second.path().join("target").exists());

    let entries = json(&second, &["history", "--json"]);
    let ids: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["run_id"].as_str())
        .collect();
    assert_eq!(ids, [two.as_str(), one.as_str()]);
    let versions = json(&second, &["history", "--model", "numbers", "--json"]);
    let rows: Vec<u64> = versions
        .iter()
        .map(|v| v["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [4, 3]);
    // Reading never wrote: no snapshot was added by the second checkout.
    assert!(!second.path().join("target/run_results.json").exists());
    assert_eq!(json(&second, &["history", "--json"]).len(), entries.len());
}
