//! One run, one DuckLake snapshot (issue 12): a run's models, seeds and
//! tests commit together, tagged with the run's id; a failing node is left
//! out with its descendants and the rest is published; SIGKILL publishes
//! nothing; `--commit per-node` keeps a commit per group of nodes. Every
//! snapshot lake writes carries a commit message free of secrets.

#[macro_use]
mod util;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use util::{Lake, TempProject};

const TABLE: &str = "{{ config(materialized='table') }}";

/// A chain stage.a -> stage.b -> mart.c, plus mart.d beside c, each
/// writing `var('v')` so a rebuild is visible.
fn chain(lake: Lake) -> TempProject {
    let p = TempProject::on(lake);
    p.file(
        "models/stage/a.sql",
        &format!("{TABLE}select {{{{ var('v', 1) }}}} as n\n"),
    )
    .file(
        "models/stage/b.sql",
        &format!("{TABLE}select n from {{{{ ref('a') }}}}\n"),
    )
    .file(
        "models/mart/c.sql",
        &format!("{TABLE}select n from {{{{ ref('b') }}}}\n"),
    )
    .file(
        "models/mart/d.sql",
        &format!("{TABLE}select n * 10 as n from {{{{ ref('b') }}}}\n"),
    );
    p
}

fn one(rows: Vec<Vec<String>>) -> String {
    rows.into_iter().flatten().collect::<Vec<_>>().join("|")
}

fn snapshot_count(p: &TempProject) -> i64 {
    one(p.rows("select count(*) from lake.snapshots()"))
        .parse()
        .unwrap()
}

fn latest_snapshot(p: &TempProject) -> i64 {
    one(p.rows("select max(snapshot_id) from lake.snapshots()"))
        .parse()
        .unwrap()
}

/// The values of every table of the chain, `a|b|c|d`.
fn chain_values(p: &TempProject) -> String {
    one(p.rows(
        "select (select n from lake.stage.a) || '|' || (select n from lake.stage.b) || '|' || \
         (select n from lake.mart.c) || '|' || (select n from lake.mart.d)",
    ))
}

/// The newest snapshot's `extra_info`, parsed.
fn latest_info(p: &TempProject) -> serde_json::Value {
    let text = one(
        p.rows("select commit_extra_info from lake.snapshots() order by snapshot_id desc limit 1")
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn a_run_adds_exactly_one_snapshot_tagged_with_its_run_id(lake: Lake) {
    let p = chain(lake);
    // The first run creates the schemas too: still one snapshot after the
    // catalog's own first (DuckLake's snapshot 0).
    let out = p.lake_ok(&["run"]);
    assert_eq!(snapshot_count(&p), 2, "{}", out.stdout);
    let before = snapshot_count(&p);
    let out = p.lake_ok(&["run", "--vars", "{v: 2}"]);
    assert_eq!(snapshot_count(&p), before + 1, "{}", out.stdout);
    assert_eq!(chain_values(&p), "2|2|2|20");

    let run_id = p.run_results()["metadata"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let info = latest_info(&p);
    assert_eq!(info["run_id"], run_id.as_str());
    assert_eq!(info["kind"], "run");
    assert_eq!(info["status"], "success");
    let published: Vec<&str> = info["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["relation"].as_str().unwrap())
        .collect();
    assert_eq!(published, ["stage.a", "stage.b", "mart.c", "mart.d"]);
    let snapshot = latest_snapshot(&p);
    assert_eq!(p.run_results()["metadata"]["snapshot"], snapshot);
    out.assert_stdout_has(&format!(
        "Published 4 relations in snapshot {snapshot} (run {run_id})."
    ));
}

fn a_failing_mart_publishes_everything_else_in_one_snapshot(lake: Lake) {
    let p = chain(lake);
    p.lake_ok(&["run"]);
    p.file(
        "models/mart/c.sql",
        &format!("{TABLE}select cast('x' || n as integer) as n from {{{{ ref('b') }}}}\n"),
    )
    .file(
        "models/mart/after_c.sql",
        &format!("{TABLE}select n from {{{{ ref('c') }}}}\n"),
    );
    let before = snapshot_count(&p);
    let out = p.lake(&["run", "--vars", "{v: 3}"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    out.assert_stdout_has("ERROR model mart.c");
    out.assert_stdout_has("SKIP  model mart.after_c [model mart.c did not succeed]");
    out.assert_stdout_has("PASS=3 FAIL=0 ERROR=1 SKIP=1 TOTAL=5");
    assert_eq!(
        snapshot_count(&p),
        before + 1,
        "one snapshot: {}",
        out.stdout
    );
    // Everything else is the new run's; c keeps its old rows.
    assert_eq!(chain_values(&p), "3|3|1|30");
    let info = latest_info(&p);
    assert_eq!(info["status"], "partial");
    assert_eq!(info["nodes"].as_array().unwrap().len(), 3);
    assert!(p
        .rows("select * from information_schema.tables where table_name = 'after_c'")
        .is_empty());
}

/// A run whose last model computes for many seconds.
fn start_slow_run(p: &TempProject) -> std::process::Child {
    p.file(
        "models/mart/slow.sql",
        &format!(
            "{TABLE}select count(*) as n from {{{{ ref('c') }}}}, range(20000) a, range(20000) b \
             where (a.range * b.range) % 7 = 3\n"
        ),
    );
    let mut child = p
        .command(&["run", "--vars", "{v: 5}"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("START model mart.slow") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    util::wait_until_computing(&mut child, 0.5);
    child
}

fn sigkill_mid_run_publishes_nothing(lake: Lake) {
    let p = chain(lake);
    p.lake_ok(&["run"]);
    let snapshot = latest_snapshot(&p);
    let mut child = start_slow_run(&p);
    // a, b, c and d were rebuilt inside the transaction before `slow` began.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert_eq!(latest_snapshot(&p), snapshot, "no new snapshot");
    assert_eq!(chain_values(&p), "1|1|1|10", "tables as before the run");
    assert!(p
        .rows("select * from information_schema.tables where table_name = 'slow'")
        .is_empty());
}

fn per_node_commits_publish_as_they_go(lake: Lake) {
    let p = chain(lake);
    p.lake_ok(&["run"]);
    let before = snapshot_count(&p);
    let out = p.lake_ok(&[
        "run",
        "--commit",
        "per-node",
        "--threads",
        "1",
        "--no-reuse",
    ]);
    out.assert_stdout_has("with 1 thread, committing per node");
    // a, then b, then c and d together: three groups.
    assert_eq!(snapshot_count(&p), before + 3, "{}", out.stdout);
    assert_eq!(p.run_results()["metadata"]["commit"], "per-node");
    let run_id = p.run_results()["metadata"]["run_id"].clone();
    let tagged = one(p.rows(&format!(
        "select count(*) from lake.snapshots() where commit_extra_info::json->>'run_id' = '{}'",
        run_id.as_str().unwrap()
    )));
    assert_eq!(tagged, "3");
}

fn no_secret_reaches_a_commit_message(lake: Lake) {
    let p = chain(lake);
    p.file(
        "project.yml",
        "name: demo\non-run-start:\n  - \"create schema if not exists {{ target.database }}.extra\"\n",
    );
    let secret = "hunter2-do-not-log";
    let out = p.lake_ok(&[
        "run",
        "--vars",
        &format!("{{v: 2, api_password: {secret}}}"),
    ]);
    let mut secrets = vec![secret.to_string()];
    if lake == Lake::Prod {
        for k in [
            "LAKE_TEST_PG_PASSWORD",
            "LAKE_TEST_S3_SECRET",
            "LAKE_TEST_S3_KEY_ID",
        ] {
            secrets.push(std::env::var(k).unwrap());
        }
    }
    let messages = one(p.rows(
        "select string_agg(coalesce(author, '') || ' ' || coalesce(commit_message, '') || ' ' || \
         coalesce(commit_extra_info, ''), ' ') from lake.snapshots()",
    ));
    assert!(messages.contains("lake run --vars"), "{messages}");
    let results = p.read("target/run_results.json");
    for s in &secrets {
        assert!(
            !messages.contains(s.as_str()),
            "a secret in the catalog: {messages}"
        );
        assert!(
            !results.contains(s.as_str()),
            "a secret in run_results.json"
        );
        assert!(!out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()));
    }
}

on_both_targets!(
    a_run_adds_exactly_one_snapshot_tagged_with_its_run_id,
    a_failing_mart_publishes_everything_else_in_one_snapshot,
    sigkill_mid_run_publishes_nothing,
    per_node_commits_publish_as_they_go,
    no_secret_reaches_a_commit_message,
);

/// Another writer (a notebook, a second machine) commits to a table of
/// the run while the run's transaction is open: the run's commit conflicts,
/// is tried again, and publishes its own rows.
#[test]
fn a_commit_conflict_with_another_writer_is_retried() {
    let p = chain(Lake::Prod);
    p.lake_ok(&["run"]);
    let mut child = start_slow_run(&p);
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let attach = util::rows::attach_prod_sql(&util::extension_dir(), &p.unique, None, false);
    conn.execute_batch(&attach).unwrap();
    conn.execute_batch("CREATE OR REPLACE TABLE lake.stage.a AS SELECT 99 AS n")
        .unwrap();
    let mut stderr = String::new();
    let status = child.wait().unwrap();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
    }
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("commit conflicted with another writer; trying the run's transaction again in 1s (1 of 3)"),
        "{stderr}"
    );
    assert_eq!(chain_values(&p), "5|5|5|50");
    assert_eq!(
        latest_info(&p)["run_id"],
        p.run_results()["metadata"]["run_id"]
    );
}

/// `--fail-fast` in one snapshot: the run stops at the first failure and
/// publishes what succeeded before it.
#[test]
fn fail_fast_publishes_what_succeeded_before_the_failure() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", &format!("{TABLE}select 1 as n\n"))
        .file(
            "models/stage/b_bad.sql",
            &format!("{TABLE}select cast('x' as integer) as n\n"),
        )
        .file("models/stage/c.sql", &format!("{TABLE}select 3 as n\n"));
    let out = p.lake(&["run", "--fail-fast"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    out.assert_stdout_has("SKIP  model stage.c [run stopped after a failure (--fail-fast)]");
    assert_eq!(
        one(p.rows(
            "select string_agg(table_name, ',' order by table_name) from information_schema.tables \
             where table_catalog = 'lake' and table_schema = 'stage'"
        )),
        "a"
    );
}
