//! `lake run`/`seed`/`test`/`build` on the real DuckDB + DuckLake, checked by
//! reading the lake with an independent connection. The same test code runs
//! on both targets (`embedded::*` and `prod::*`), so they cannot drift apart.

#[macro_use]
mod util;
use util::{statuses, Lake, TempProject};

fn s(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter().map(|r| r.join("|")).collect()
}

fn view_table_and_ephemeral_materializations(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("models/raw/numbers.sql", "{{ config(materialized='table') }}select range as n from range(5)\n")
        .file("models/stage/evens.sql", "{{ config(materialized='ephemeral') }}select n from {{ ref('numbers') }} where n % 2 = 0\n")
        .file("models/mart/even_view.sql", "select n * 10 as n10 from {{ ref('evens') }}\n");
    let out = p.lake_ok(&["run"]);
    out.assert_stdout_has("PASS=3 FAIL=0 ERROR=0 SKIP=0");
    assert_eq!(
        s(&p.rows("select n from lake.raw.numbers order by n")),
        ["0", "1", "2", "3", "4"]
    );
    assert_eq!(
        s(&p.rows("select n10 from lake.mart.even_view order by 1")),
        ["0", "20", "40"]
    );
    assert_eq!(
        s(&p.rows("select table_type from information_schema.tables where table_catalog = 'lake' and table_name = 'even_view'")),
        ["VIEW"]
    );
    assert!(
        p.rows("select 1 from information_schema.tables where table_name = 'evens'")
            .is_empty(),
        "ephemeral is not built"
    );
    let results = p.run_results();
    assert_eq!(results["results"].as_array().unwrap().len(), 3);
    let numbers = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == "model.demo.numbers")
        .unwrap();
    assert_eq!(numbers["status"], "success");
    assert_eq!(numbers["rows_affected"], 5);
    assert!(p
        .read("target/run/raw/numbers.sql")
        .contains("CREATE OR REPLACE TABLE lake.raw.numbers AS"));
}

fn incremental_append_merge_and_full_refresh(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("seeds/src.csv", "id,v\n1,a\n2,b\n")
        .file(
            "models/stage/appended.sql",
            "{{ config(materialized='incremental') }}\nselect id, v from {{ ref('src') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}\n",
        )
        .file(
            "models/stage/merged.sql",
            "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\nselect id, v from {{ ref('src') }}\n",
        );
    p.lake_ok(&["build"]);
    assert_eq!(
        s(&p.rows("select id, v from lake.stage.appended order by id")),
        ["1|a", "2|b"]
    );
    // New and changed rows arrive.
    p.file("seeds/src.csv", "id,v\n1,a\n2,B\n3,c\n");
    p.lake_ok(&["build"]);
    assert_eq!(
        s(&p.rows("select id, v from lake.stage.appended order by id")),
        ["1|a", "2|b", "3|c"],
        "append adds only new rows"
    );
    assert_eq!(
        s(&p.rows("select id, v from lake.stage.merged order by id")),
        ["1|a", "2|B", "3|c"],
        "merge updates changed keys"
    );
    let results = p.run_results();
    let appended = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == "model.demo.appended")
        .unwrap();
    assert_eq!(appended["action"], "incremental (append)");
    assert_eq!(appended["rows_affected"], 1);
    // A full refresh rebuilds from scratch.
    p.lake_ok(&["run", "--full-refresh", "--select", "appended"]);
    assert_eq!(
        s(&p.rows("select id, v from lake.stage.appended order by id")),
        ["1|a", "2|B", "3|c"]
    );
}

fn schema_change_fails_clearly_when_asked_to(lake: Lake) {
    let p = TempProject::on(lake);
    p.file(
        "models/stage/inc.sql",
        "{{ config(materialized='incremental', on_schema_change='fail') }}select 1 as id\n",
    );
    p.lake_ok(&["run"]);
    p.file("models/stage/inc.sql", "{{ config(materialized='incremental', on_schema_change='fail') }}select 2 as id, 'x' as extra\n");
    let out = p.lake(&["run"]);
    assert_eq!(out.code, 1);
    out.assert_stdout_has("the columns of lake.stage.inc changed (new columns extra)");
    assert_eq!(
        s(&p.rows("select * from lake.stage.inc")),
        ["1"],
        "nothing half-written"
    );
    p.file("models/stage/inc.sql", "{{ config(materialized='incremental', on_schema_change='append_new_columns') }}select 2 as id, 'x' as extra\n");
    p.lake_ok(&["run"]);
    assert_eq!(
        s(&p.rows("select id, extra from lake.stage.inc order by id")),
        ["1|NULL", "2|x"]
    );
}

fn a_failing_model_skips_exactly_its_descendants(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("models/stage/a.sql", "select 1 as x\n")
        .file(
            "models/stage/b.sql",
            "select x, no_such_column from {{ ref('a') }}\n",
        )
        .file("models/mart/c.sql", "select * from {{ ref('b') }}\n")
        .file("models/mart/d.sql", "select * from {{ ref('a') }}\n");
    let out = p.lake(&["run"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        statuses(&p.run_results()),
        [
            ("model.demo.a".into(), "success".into()),
            ("model.demo.b".into(), "error".into()),
            ("model.demo.c".into(), "skipped".into()),
            ("model.demo.d".into(), "success".into())
        ]
    );
    assert!(
        out.stdout.contains("no_such_column"),
        "the error is shown: {}",
        out.stdout
    );
    out.assert_stdout_has("SKIP  model mart.c [model stage.b did not succeed]");
    out.assert_stdout_has("PASS=2 FAIL=0 ERROR=1 SKIP=1 TOTAL=4");
}

fn failing_tests_report_their_row_count_and_build_skips_dependents(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("models/stage/people.sql", "{{ config(materialized='table') }}select * from (values (1, 'a'), (1, 'b'), (null, 'c')) t(id, name)\n")
        .file("models/stage/people.yml", "models:\n  - name: people\n    columns:\n      - name: id\n        tests: [unique, not_null]\n")
        .file("models/mart/report.sql", "select count(*) as n from {{ ref('people') }}\n")
        .file("tests/sql/names_are_short.sql", "select * from {{ ref('people') }} where length(name) > 5\n");
    p.lake_ok(&["run", "--select", "people"]);
    let out = p.lake(&["test"]);
    assert_eq!(out.code, 1);
    out.assert_stdout_has("FAIL  test unique_people_id [1 failing rows");
    out.assert_stdout_has("FAIL  test not_null_people_id [1 failing rows");
    out.assert_stdout_has("PASS  test names_are_short");
    let results = p.run_results();
    let unique = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == "test.demo.unique_people_id")
        .unwrap();
    assert_eq!(
        (unique["status"].as_str(), unique["failures"].as_u64()),
        (Some("fail"), Some(1))
    );
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 1);
    let st = statuses(&p.run_results());
    assert!(
        st.contains(&("model.demo.report".into(), "skipped".into())),
        "{st:?}"
    );
    // people did not change since `lake run` built it; its failing tests
    // run again (only a passing test is reused).
    assert!(
        st.contains(&("model.demo.people".into(), "reused".into())),
        "{st:?}"
    );
}

/// `store_failures`: a test keeps its failing rows in schema `audit` (or
/// its own `schema`/`alias`), replaced each time it runs, so they can be
/// read after the run; `store_failures_as: view` keeps the query instead.
fn failing_rows_are_stored_where_the_test_config_says(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("seeds/people.csv", "id,name\n1,ann\n1,bob\n2,christopher\n")
        .file("seeds/people.yml", "seeds:\n  - name: people\n    columns:\n      - name: id\n        tests:\n          - unique:\n              config:\n                store_failures: true\n          - not_null:\n              config:\n                store_failures_as: view\n")
        .file("tests/sql/names_are_short.sql", "{{ config(store_failures=true, severity='warn', schema='checks', alias='long_names') }}\nselect * from {{ ref('people') }} where length(name) > 5\n")
        .file("tests/sql/ids_positive.sql", "select * from {{ ref('people') }} where id < 0\n");
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    out.assert_stdout_has("FAIL  test unique_people_id [1 failing rows");
    out.assert_stdout_has("its failing rows: select * from lake.audit.unique_people_id");
    out.assert_stdout_has("WARN  test names_are_short [1 failing rows");
    assert_eq!(
        s(&p.rows("select unique_field, n_records from lake.audit.unique_people_id")),
        ["1|2"]
    );
    assert_eq!(
        s(&p.rows("select id, name from lake.checks.long_names")),
        ["2|christopher"]
    );
    assert_eq!(
        s(&p.rows("select table_name, table_type from information_schema.tables where table_catalog = 'lake' and table_schema in ('audit', 'checks') order by 1")),
        ["long_names|BASE TABLE", "not_null_people_id|VIEW", "unique_people_id|BASE TABLE"]
    );
    // Fixed data: the next run replaces the stored rows with none (here
    // with per-node commits: the test's write commits on its own).
    p.file("seeds/people.csv", "id,name\n1,ann\n2,bo\n");
    p.lake_ok(&["build", "--commit", "per-node"]);
    assert!(p
        .rows("select * from lake.audit.unique_people_id")
        .is_empty());
    assert!(p.rows("select * from lake.checks.long_names").is_empty());
    // --store-failures stores a test whose config is silent (it runs again
    // rather than being reused: where it stores is part of its build).
    assert!(p
        .rows("select 1 from information_schema.tables where table_name = 'ids_positive'")
        .is_empty());
    p.lake_ok(&["test", "--store-failures"]);
    assert_eq!(
        s(&p.rows("select count(*) from lake.audit.ids_positive")),
        ["0"]
    );
    // A view's failures become a table: the view is dropped first.
    p.file("seeds/people.yml", "seeds:\n  - name: people\n    columns:\n      - name: id\n        tests:\n          - not_null:\n              config:\n                store_failures_as: table\n");
    p.lake_ok(&["build"]);
    assert_eq!(
        s(&p.rows("select table_type from information_schema.tables where table_name = 'not_null_people_id'")),
        ["BASE TABLE"]
    );
}

fn seeds_load_with_typed_columns(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("seeds/countries.csv", "code,joined,population\nDE,2024-01-05,84\nFR,2023-12-31,68\n")
        .file("seeds/props.yml", "seeds:\n  - name: countries\n    config:\n      column_types:\n        code: VARCHAR\n        population: BIGINT\n");
    let out = p.lake_ok(&["seed"]);
    out.assert_stdout_has("OK    seed main.countries [seed, 2 rows");
    assert_eq!(
        s(&p.rows("select typeof(code), typeof(joined), typeof(population), sum(population) over () from lake.main.countries limit 1")),
        ["VARCHAR|DATE|BIGINT|152"]
    );
}

fn hooks_run_before_and_after(lake: Lake) {
    let p = TempProject::on(lake);
    p.file(
        "project.yml",
        "name: demo\non-run-start:\n  - create schema if not exists {{ target.database }}.audit\n  - create table if not exists {{ target.database }}.audit.runs (n int)\non-run-end: insert into {{ target.database }}.audit.runs values (1)\n",
    )
    .file(
        "models/stage/a.sql",
        "{{ config(materialized='table', post_hook='insert into {{ this }} values (42)') }}select 1 as x\n",
    );
    p.lake_ok(&["run"]);
    p.lake_ok(&["run"]);
    assert_eq!(s(&p.rows("select count(*) from lake.audit.runs")), ["2"]);
    assert_eq!(
        s(&p.rows("select x from lake.stage.a order by x")),
        ["1", "42"]
    );
}

fn show_and_query_print_rows(lake: Lake) {
    let p = TempProject::on(lake);
    p.file("models/stage/t.sql", "{{ config(materialized='table') }}select range as n, 'v' || range as label from range(3)\n");
    p.lake_ok(&["run"]);
    let out = p.lake_ok(&["show", "t", "--limit", "2"]);
    out.assert_stdout_has("v0");
    out.assert_stdout_has("v1");
    assert!(!out.stdout.contains("v2"), "{}", out.stdout);
    out.assert_stdout_has("2 rows");
    let out = p.lake_ok(&["query", "select sum(n) as total from {{ ref('t') }}"]);
    out.assert_stdout_has("total");
    out.assert_stdout_has("3");
    let out = p.lake(&["show", "tt"]);
    assert_eq!(out.code, 2);
    out.assert_stderr_has("did you mean `t`?");
}

#[test]
fn debug_names_each_piece() {
    let p = TempProject::new();
    p.file("models/a.sql", "select 1\n");
    let out = p.lake_ok(&["debug"]);
    out.assert_stdout_has("embedded default (no profiles.yml)");
    out.assert_stdout_has("extensions OK");
    out.assert_stdout_has("All checks passed.");
}

#[test]
fn the_readme_first_command_runs_the_hourly_job_on_a_fresh_checkout() {
    // The README's first command, on a copy of the repo's own project and its
    // committed sample hours, with no profiles.yml anywhere: the embedded
    // default must just work, and say where to look.
    let p = TempProject::new();
    let root = util::repo_root();
    util::copy_from_repo(
        p.path(),
        &["models", "macros", "seeds", "tests/sql", "data/source"],
    );
    p.file(
        "project.yml",
        &std::fs::read_to_string(root.join("project.yml")).unwrap(),
    );
    let out = p.lake_ok(&["run", "--schedule", "hourly"]);
    out.assert_stdout_has("landed 12 of 12 files (3 hours");
    out.assert_stdout_has("ERROR=0 SKIP=0");
    out.assert_stdout_has("lake show ");
    for mart in util::lakehouse::MARTS {
        let n = &p.rows(&format!("select count(*) from lake.mart.{mart}"))[0][0];
        assert_ne!(n, "0", "{mart} is empty");
    }
}

fn one_bad_model_in_a_group_commit_does_not_take_its_neighbours_down(lake: Lake) {
    // Independent ready models share one transaction; when one fails the
    // group rolls back and every model runs again on its own.
    let p = TempProject::on(lake);
    for i in 0..10 {
        p.file(
            &format!("models/stage/m{i}.sql"),
            &format!("{{{{ config(materialized='table') }}}}select {i} as n\n"),
        );
    }
    p.file(
        "models/stage/m5.sql",
        "{{ config(materialized='table') }}select cast('x' as integer) as n\n",
    );
    let out = p.lake(&["run", "--threads", "1"]);
    assert_eq!(out.code, 1);
    out.assert_stdout_has("PASS=9 FAIL=0 ERROR=1 SKIP=0");
    assert_eq!(
        s(&p.rows("select count(*) from information_schema.tables where table_catalog = 'lake' and table_schema = 'stage'")),
        ["9"]
    );
    assert_eq!(s(&p.rows("select n from lake.stage.m9")), ["9"]);
}

on_both_targets!(
    view_table_and_ephemeral_materializations,
    incremental_append_merge_and_full_refresh,
    schema_change_fails_clearly_when_asked_to,
    a_failing_model_skips_exactly_its_descendants,
    failing_tests_report_their_row_count_and_build_skips_dependents,
    failing_rows_are_stored_where_the_test_config_says,
    seeds_load_with_typed_columns,
    hooks_run_before_and_after,
    show_and_query_print_rows,
    one_bad_model_in_a_group_commit_does_not_take_its_neighbours_down,
);

/// `--fail-fast` starts nothing after the first failure (per-node commits:
/// the parallel scheduler; tests/one_snapshot.rs has the default). With one thread,
/// `a_bad` and `b` run in one turn; `a_bad` fails and `b` succeeds, which
/// makes `after_b` ready: without the flag it is built, with it the run
/// stops and skips it. `after_bad` is skipped either way, for its parent.
#[test]
fn fail_fast_starts_nothing_after_the_first_failure() {
    let p = TempProject::new();
    let table = "{{ config(materialized='table') }}";
    p.file(
        "models/stage/a_bad.sql",
        &format!("{table}select cast('x' as integer) as n\n"),
    )
    .file("models/stage/b.sql", &format!("{table}select 1 as n\n"))
    .file(
        "models/mart/after_b.sql",
        &format!("{table}select n + 1 as n from {{{{ ref('b') }}}}\n"),
    )
    .file(
        "models/mart/after_bad.sql",
        &format!("{table}select n from {{{{ ref('a_bad') }}}}\n"),
    );
    let tables = || {
        s(&p.rows(
            "select table_schema || '.' || table_name from information_schema.tables \
             where table_catalog = 'lake' and table_schema in ('stage', 'mart') order by 1",
        ))
    };

    let out = p.lake(&[
        "run",
        "--threads",
        "1",
        "--fail-fast",
        "--commit",
        "per-node",
    ]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let results = p.run_results();
    assert_eq!(
        statuses(&results),
        [
            ("model.demo.a_bad".to_string(), "error".to_string()),
            ("model.demo.after_b".into(), "skipped".into()),
            ("model.demo.after_bad".into(), "skipped".into()),
            ("model.demo.b".into(), "success".into()),
        ]
    );
    assert_eq!(tables(), ["stage.b"], "only b was built");
    // The reporter indents the error's blank line too: no trailing blanks
    // in the pinned text.
    let placeholders = p.placeholders().durations().pattern(r"(?m)[ \t]+$", "");
    placeholders.bind(|| {
        insta::assert_snapshot!(out.stdout, @r#"
        Running 4 models on target `dev` with 1 thread, committing per node
          START model stage.a_bad
          START model stage.b
           1 of 4 ERROR model stage.a_bad [[T]s]
                 Conversion Error: Could not convert string 'x' to INT32

                 LINE 2: select cast('x' as integer) as n
                                ^
                   --> models/stage/a_bad.sql:1
           2 of 4 SKIP  model mart.after_bad [model stage.a_bad did not succeed]
           3 of 4 OK    model stage.b [table, 1 rows in [T]s]
           4 of 4 SKIP  model mart.after_b [run stopped after a failure (--fail-fast)]

        Done in [T]s. PASS=1 FAIL=0 ERROR=1 SKIP=2 TOTAL=4
        Built lake.stage (1). Look at the results: `lake show b`, `lake query "select * from {{ ref('b') }}"`
        "#);
    });

    // Without the flag the independent model is built.
    let out = p.lake(&["run", "--threads", "1"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(tables(), ["mart.after_b", "stage.b"]);
    assert_eq!(s(&p.rows("select n from lake.mart.after_b")), ["2"]);
}
