//! `lake rollback` (issue 12): a bad run is undone in one new snapshot,
//! every relation it changed back to its rows before the run, checked
//! against an independent DuckDB read `AT (VERSION => n)`; the rollback
//! can itself be rolled back; loads of an hourly run go with their ledger
//! rows, so the next hourly run loads those hours again; expired history
//! is refused with nothing changed; SIGKILL leaves the lake before or
//! after, never between.

#[macro_use]
mod util;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use util::lakehouse::Lakehouse;
use util::{Lake, TempProject};

on_both_targets!(
    a_bad_run_is_undone_and_the_undo_can_be_undone,
    a_dry_run_prints_the_plan_and_changes_nothing,
    expired_history_is_refused_and_nothing_changes,
    an_hourly_run_rolled_back_loads_its_hours_again,
    sigkill_during_a_rollback_leaves_before_or_after,
);

/// Every table and view of the lake, `_lake` included, with its rows
/// (one line each, sorted).
type State = BTreeMap<String, String>;

/// The lake's tables and views now, and whether each is a table.
fn relations(p: &TempProject) -> Vec<(String, bool)> {
    p.rows(
        "select schema_name || '.' || table_name, true from duckdb_tables() where database_name = 'lake' \
         union all select schema_name || '.' || view_name, false from duckdb_views() \
         where database_name = 'lake' and not internal order by 1",
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1] == "true"))
    .collect()
}

/// The rows of each of `relations` as of `version` (now when `None`), in
/// one query: one independent connection, not one per relation.
fn rows_of(p: &TempProject, relations: &[String], version: Option<i64>) -> State {
    if relations.is_empty() {
        return State::new();
    }
    let at = version.map_or(String::new(), |n| format!(" AT (VERSION => {n})"));
    let sql = relations
        .iter()
        .map(|rel| {
            format!(
                "select '{rel}' as rel, (select coalesce(string_agg(t::varchar, chr(10) \
                 order by t::varchar), '') from (select * from lake.{rel}{at}) t) as rows"
            )
        })
        .collect::<Vec<_>>()
        .join(" union all ");
    p.rows(&sql)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

/// The lake's relations and rows, read by an independent connection.
fn state(p: &TempProject) -> State {
    let names: Vec<String> = relations(p).into_iter().map(|(r, _)| r).collect();
    rows_of(p, &names, None)
}

/// The target's name in snapshot files: both targets print the same
/// text, and one test process runs both.
fn target(lake: Lake) -> &'static str {
    match lake {
        Lake::Embedded => "embedded",
        Lake::Prod => "prod",
    }
}

/// The current snapshot id.
fn snapshot(p: &TempProject) -> i64 {
    p.rows("select max(snapshot_id) from lake.snapshots()")[0][0]
        .parse()
        .unwrap()
}

/// The lake holds exactly `want` (the lake as it was at snapshot `n`),
/// and every table equals its rows read `AT (VERSION => n)`.
#[track_caller]
fn assert_lake_is(p: &TempProject, want: &State, n: i64) {
    assert_eq!(&state(p), want, "the lake as it was at snapshot {n}");
    let tables: Vec<String> = relations(p)
        .into_iter()
        .filter(|(_, table)| *table)
        .map(|(r, _)| r)
        .collect();
    assert_eq!(
        rows_of(p, &tables, None),
        rows_of(p, &tables, Some(n)),
        "tables against their rows at snapshot {n}"
    );
}

/// A table, an append-only incremental model, a view over them.
fn project(lake: Lake) -> TempProject {
    let p = TempProject::on(lake);
    p.file(
        "models/stage/nums.sql",
        "{{ config(materialized='table') }}\nselect range as n from range(10)\n",
    )
    .file(
        "models/mart/total.sql",
        "{{ config(materialized='table') }}\nselect sum(n) as s from {{ ref('nums') }}\n",
    )
    .file(
        "models/mart/seen.sql",
        "{{ config(materialized='incremental') }}\nselect n from {{ ref('nums') }}\n\
         {% if is_incremental() %}where n > (select max(n) from {{ this }}){% endif %}\n",
    )
    .file(
        "models/mart/big.sql",
        "select * from {{ ref('nums') }} where n > 5\n",
    );
    p
}

/// The bad change: `nums` writes wrong rows, a new model appears.
fn break_it(p: &TempProject) {
    p.file(
        "models/stage/nums.sql",
        "{{ config(materialized='table') }}\nselect range * 100 as n from range(3)\n",
    )
    .file(
        "models/mart/extra.sql",
        "{{ config(materialized='table') }}\nselect 1 as x\n",
    );
}

fn a_bad_run_is_undone_and_the_undo_can_be_undone(lake: Lake) {
    let p = project(lake);
    p.lake_ok(&["run"]);
    let (good, good_at) = (state(&p), snapshot(&p));
    let run_id = |p: &TempProject| {
        p.run_results()["metadata"]["run_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let good_run = run_id(&p);
    break_it(&p);
    p.lake_ok(&["run"]);
    let (bad, bad_at) = (state(&p), snapshot(&p));
    assert_ne!(good, bad);
    assert!(bad.contains_key("mart.extra"));

    // The good run cannot be undone alone: the bad one came after it.
    let refused = p.lake(&["rollback", &good_run]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    refused.assert_stderr_has(&format!("the lake changed after it, in run {}", run_id(&p)));
    refused.assert_stderr_has(&format!("lake rollback --to-snapshot {}", good_at - 1));
    assert_eq!(snapshot(&p), bad_at);

    let out = p.lake_ok(&["rollback"]);
    out.assert_stdout_has("remove new rows  mart.seen");
    out.assert_stdout_has("drop             mart.extra");
    assert_eq!(snapshot(&p), bad_at + 1, "one new snapshot");
    assert_lake_is(&p, &good, good_at);
    assert!(
        !state(&p).contains_key("mart.extra"),
        "the new model is gone"
    );
    // The rollback's snapshot says what it undid.
    let info = p.rows(&format!(
        "select commit_extra_info from lake.snapshots() where snapshot_id = {}",
        bad_at + 1
    ));
    let info: serde_json::Value = serde_json::from_str(&info[0][0]).unwrap();
    assert_eq!(info["kind"], "rollback");
    assert_eq!(info["undoes"]["to_snapshot"], good_at);
    assert_eq!(info["undoes"]["from_snapshot"], bad_at);

    // Rolling back the rollback brings the bad run's lake back.
    p.lake_ok(&["rollback"]);
    assert_lake_is(&p, &bad, bad_at);
}

fn a_dry_run_prints_the_plan_and_changes_nothing(lake: Lake) {
    let p = project(lake);
    p.lake_ok(&["run"]);
    break_it(&p);
    p.lake_ok(&["run"]);
    let (bad, bad_at) = (state(&p), snapshot(&p));
    let out = p.lake_ok(&["rollback", "--dry-run"]);
    assert_eq!(snapshot(&p), bad_at);
    assert_eq!(state(&p), bad);
    p.placeholders()
        .pattern(r"\d{8}T\d{6}Z-[0-9a-f]{4}", "[RUN]")
        .bind(|| insta::assert_snapshot!(format!("dry_run_{}", target(lake)), out.stdout));
}

/// A project whose `daily` schedule expires every snapshot it may.
fn with_cleanup(lake: Lake, keep_runs: u32) -> TempProject {
    let p = project(lake);
    p.file(
        "project.yml",
        &format!(
            "name: demo\nschedules:\n  daily:\n    cron: \"0 0 * * *\"\n    select: []\n    post-hooks:\n      \
             - cleanup: {{ retention: 0 seconds, keep-runs: {keep_runs} }}\n"
        ),
    );
    p
}

fn expired_history_is_refused_and_nothing_changes(lake: Lake) {
    let p = with_cleanup(lake, 1);
    p.lake_ok(&["run"]);
    let first = snapshot(&p);
    break_it(&p);
    p.lake_ok(&["run"]);
    let before_last = snapshot(&p);
    p.lake_ok(&["run", "--full-refresh"]);
    let out = p.lake_ok(&["run", "--schedule", "daily"]);
    out.assert_stdout_has("kept the snapshots of the last 1 run: ");
    out.assert_stdout_has(&format!(
        "rollback reaches back 1 run, to snapshot {before_last} ("
    ));
    let (now, now_at) = (state(&p), snapshot(&p));

    let refused = p.lake(&["rollback", "--to-snapshot", &first.to_string()]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert_eq!(snapshot(&p), now_at, "snapshot id unchanged");
    assert_eq!(state(&p), now);
    p.placeholders()
        .bind(|| insta::assert_snapshot!(format!("expired_{}", target(lake)), refused.stderr));

    // The last run is still within reach.
    p.lake_ok(&["rollback", "--dry-run"])
        .assert_stdout_has(&format!("to snapshot {before_last}:"));
}

fn an_hourly_run_rolled_back_loads_its_hours_again(lake: Lake) {
    let h = match lake {
        Lake::Embedded => Lakehouse::new(lake).with_committed_sample(),
        Lake::Prod => {
            let h = Lakehouse::new(lake);
            h.generate(0, 3, &[]);
            h
        }
    };
    h.schedule_ok("hourly");
    let (before, before_at) = (state(&h.p), snapshot(&h.p));
    let ledger_before = h.ledger_files();
    h.generate(3, 2, &[]);
    h.schedule_ok("hourly");
    let ledger_after = h.ledger_files();
    assert_eq!(ledger_after.len(), ledger_before.len() + 8);

    let out = h.lake(&["rollback"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out.assert_stdout_has("_lake.loaded_files");
    assert_lake_is(&h.p, &before, before_at);
    assert_eq!(h.ledger_files(), ledger_before);

    // The next hourly run loads the two hours again, exactly once.
    h.schedule_ok("hourly")
        .assert_stdout_has("landed 8 of 8 files (2 hours");
    assert_eq!(h.ledger_files(), ledger_after);
    h.assert_matches(&h.reference());
}

/// Thirty tables of `rows` rows each, so the rollback's transaction
/// takes a while.
fn write_many(p: &TempProject, rows: u32) {
    for i in 0..30 {
        p.file(
            &format!("models/stage/t{i:02}.sql"),
            &format!(
                "{{{{ config(materialized='table') }}}}\nselect range + {i} as n from range({rows})\n"
            ),
        );
    }
}

fn sigkill_during_a_rollback_leaves_before_or_after(lake: Lake) {
    let p = TempProject::on(lake);
    write_many(&p, 1000);
    p.lake_ok(&["run"]);
    let (good, good_at) = (state(&p), snapshot(&p));
    write_many(&p, 7);
    p.lake_ok(&["run"]);
    let (bad, bad_at) = (state(&p), snapshot(&p));

    let mut child = p
        .command(&["rollback"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Killed once the first relation was put back inside the transaction.
    for line in lines.by_ref() {
        if line.unwrap().starts_with("  recreate") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let now_at = snapshot(&p);
    eprintln!("after SIGKILL: snapshot {now_at} (bad run {bad_at})");
    if now_at == bad_at {
        assert_lake_is(&p, &bad, bad_at);
    } else {
        assert_eq!(now_at, bad_at + 1);
        assert_lake_is(&p, &good, good_at);
    }
    // A rollback after the kill finishes the job.
    if now_at == bad_at {
        p.lake_ok(&["rollback"]);
        assert_lake_is(&p, &good, good_at);
    }
}
