//! One `ref()` for everything: a model that moves itself with
//! `{{ config(schema=...) }}` in its SQL is found at its final place by
//! other models, by `lake query`, by `on-run-end` and by schedule hooks.
//! Free-standing SQL used to resolve `ref()` from the folder and YAML
//! config alone, so it pointed at the schema the model would have had.

mod util;
use util::TempProject;

fn s(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter().map(|r| r.join("|")).collect()
}

/// `models/stage/m.sql` would live in schema `stage`; its own `config()`
/// moves it to `elsewhere`.
fn moved_model(project_yml: &str) -> TempProject {
    let p = TempProject::new();
    p.file("project.yml", project_yml).file(
        "models/stage/m.sql",
        "{{ config(materialized='table', schema='elsewhere') }}select 7 as x\n",
    );
    p
}

#[test]
fn query_finds_a_model_that_moved_itself() {
    let p = moved_model("name: demo\n");
    p.lake_ok(&["run"]);
    assert_eq!(s(&p.rows("select x from lake.elsewhere.m")), ["7"]);
    let out = p.lake(&[
        "query",
        "select x * 6 as answer from {{ ref('m') }}",
        "--format",
        "csv",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "answer\n42\n");
}

#[test]
fn on_run_end_finds_a_model_that_moved_itself() {
    let p = moved_model(
        "name: demo\non-run-end: create or replace table {{ target.database }}.main.at_end as select x from {{ ref('m') }}\n",
    );
    p.lake_ok(&["run"]);
    assert_eq!(s(&p.rows("select x from lake.main.at_end")), ["7"]);
}

#[test]
fn schedule_hook_finds_a_model_that_moved_itself() {
    let p = moved_model(
        "name: demo\nschedules:\n  nightly:\n    cron: \"0 0 * * *\"\n    select: [m]\n    post-hooks:\n      \
         - create or replace table {{ target.database }}.main.copied as select x + 1 as x from {{ ref('m') }}\n",
    );
    p.lake_ok(&["run", "--schedule", "nightly"]);
    assert_eq!(s(&p.rows("select x from lake.main.copied")), ["8"]);
}
