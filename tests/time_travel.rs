//! Time travel for readers (issue 12): `lake show <model> --at` and `lake
//! query --at` read the lake as it was after a run, at a snapshot, or at a
//! time, `ref()` included, while the lake itself has moved on; and a point
//! that is not in the lake (any more) is a clear error, exit 1.

#[macro_use]
mod util;

use util::{Lake, TempProject};

/// `numbers` with `n` rows, and `total` counting them through `ref()`.
fn write_models(p: &TempProject, n: u32) {
    p.file(
        "models/stage/numbers.sql",
        &format!("{{{{ config(materialized='table') }}}}\nselect range as id from range({n})\n"),
    )
    .file(
        "models/mart/total.sql",
        "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('numbers') }}\n",
    );
}

/// The run id `lake run` wrote to `run_results.json`.
fn run(p: &TempProject) -> String {
    p.lake_ok(&["run"]);
    p.run_results()["metadata"]["run_id"]
        .as_str()
        .expect("metadata.run_id")
        .to_string()
}

/// The lake's newest snapshot and its time (UTC, as DuckDB prints a
/// timestamp), read by an independent DuckDB.
fn newest_snapshot(p: &TempProject) -> (String, String) {
    let r = p.rows(
        "select snapshot_id, make_timestamp(epoch_us(snapshot_time)) \
         from lake.snapshots() order by snapshot_id desc limit 1",
    );
    (r[0][0].clone(), r[0][1].clone())
}

fn csv(p: &TempProject, args: &[&str]) -> String {
    let mut args = args.to_vec();
    args.extend(["--format", "csv"]);
    p.lake_ok(&args).stdout
}

/// A lake with two runs: `numbers` had 3 rows after the first, 5 now,
/// and `later` was made by the second. Returns the first run's id,
/// snapshot and the snapshot's time.
fn two_runs(lake: Lake) -> (TempProject, String, String, String) {
    let p = TempProject::on(lake);
    write_models(&p, 3);
    let first = run(&p);
    let (snapshot, time) = newest_snapshot(&p);
    write_models(&p, 5);
    p.file("models/mart/later.sql", "select 1 as one\n");
    run(&p);
    (p, first, snapshot, time)
}

on_both_targets!(
    show_and_query_read_the_lake_as_it_was,
    points_not_in_the_lake_are_clear_errors,
);

fn show_and_query_read_the_lake_as_it_was(lake: Lake) {
    let (p, first, snapshot, time) = two_runs(lake);
    let now = "id\n0\n1\n2\n3\n4\n";
    let then = "id\n0\n1\n2\n";
    assert_eq!(csv(&p, &["show", "numbers"]), now);
    // The same old rows whichever way the point is named.
    for at in [first.as_str(), snapshot.as_str(), time.as_str()] {
        assert_eq!(csv(&p, &["show", "numbers", "--at", at]), then, "--at {at}");
    }
    // ref() inside a query, and a model reading another, at that version.
    let count = "select count(*) as n from {{ ref('numbers') }}";
    assert_eq!(csv(&p, &["query", count, "--at", &first]), "n\n3\n");
    assert_eq!(csv(&p, &["query", count]), "n\n5\n");
    assert_eq!(csv(&p, &["show", "total", "--at", &first]), "n\n3\n");
    // Plain names too, and an independent reader agrees on the old rows.
    let plain = "select count(*) as n from mart.total where n = 3";
    assert_eq!(csv(&p, &["query", plain, "--at", &snapshot]), "n\n1\n");
    let old = p.rows(&format!(
        "select count(*) from lake.stage.numbers at (version => {snapshot})"
    ));
    assert_eq!(old, [["3"]]);
    // Where it read from goes to stderr, never into the data.
    let out = p.lake_ok(&["show", "numbers", "--at", &first, "--format", "json"]);
    out.assert_stderr_has(&format!("as of snapshot {snapshot}"));
    out.assert_stderr_has(&first);
    // The pinned lake is read-only, as every reader's.
    let write = p.lake(&["query", "create table stage.x as select 1", "--at", &first]);
    assert_eq!(write.code, 1, "{}", write.stderr);
    write.assert_stderr_has("read-only");
}

fn points_not_in_the_lake_are_clear_errors(lake: Lake) {
    let (p, first, _, _) = two_runs(lake);
    let mut typo = first.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == '0' { '1' } else { '0' });
    let cases = [
        ("unknown_run", typo.as_str()),
        ("snapshot_after_the_newest", "999"),
        ("unparsable", "yesterday"),
        ("before_the_first_snapshot", "2001-01-01 00:00"),
    ];
    let placeholders = p
        .placeholders()
        .literal(&first, "[RUN_ID]")
        .literal(&typo, "[TYPO]")
        .pattern(r"20[2-9]\d-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?", "[TIME]")
        .pattern(r"the newest is \d+", "the newest is [N]");
    for (name, at) in cases {
        let out = p.lake(&["show", "numbers", "--at", at]);
        assert_eq!(out.code, 1, "--at {at}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(out.stdout, "", "--at {at}");
        placeholders.bind(|| insta::assert_snapshot!(format!("at_{name}"), out.stderr));
    }
    let out = p.lake(&["query", "select 1", "--at", "999"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // A model the first run had not made yet.
    let out = p.lake(&["show", "later", "--at", &first]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    out.assert_stderr_has("`later` was not in the lake at snapshot");
    out.assert_stderr_has("`lake history --model later` lists its versions");
}

/// Snapshots the cleanup hook expired cannot be read any more: the error
/// says so and names the retention setting, for a snapshot id and for a
/// run whose snapshots are gone.
#[test]
fn expired_snapshots_are_named_as_expired() {
    let (p, first, snapshot, _) = two_runs(Lake::Embedded);
    {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        conn.execute_batch(&util::rows::attach_embedded_sql(
            &util::extension_dir(),
            p.path(),
            false,
        ))
        .unwrap();
        conn.execute_batch(&format!(
            "CALL ducklake_expire_snapshots('lake', versions => [0, {snapshot}])"
        ))
        .unwrap();
    }
    let placeholders = p
        .placeholders()
        .literal(&first, "[RUN_ID]")
        .pattern(r"20[2-9]\d-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?", "[TIME]")
        .pattern(r"snapshot kept is \d+", "snapshot kept is [N]")
        .pattern(r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b", "[OTHER_RUN_ID]");
    for (name, at) in [
        ("expired_snapshot", snapshot.as_str()),
        ("expired_run", &first),
    ] {
        let out = p.lake(&["show", "numbers", "--at", at]);
        assert_eq!(out.code, 1, "--at {at}: {}\n{}", out.stdout, out.stderr);
        placeholders.bind(|| insta::assert_snapshot!(format!("at_{name}"), out.stderr));
    }
}
