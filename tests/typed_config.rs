//! Config values that select behaviour (`incremental_strategy`,
//! `on_schema_change`, generic test kinds) are parsed into types when the
//! project loads: a bad value fails `lake compile` with the file and line it
//! came from, the valid values and the nearest one, before any lock is taken
//! or any catalog attached. Before, an unknown test kind compiled into a
//! query that always passed.

mod util;
use util::TempProject;

/// Runs `lake compile`, checks it refused the project the way a load error
/// does (exit 1, nothing on stdout, no lake created), and returns stderr.
fn compile_error(p: &TempProject) -> String {
    let out = p.lake(&["compile"]);
    assert_eq!(
        out.code, 1,
        "expected a project error, got {}: {}{}",
        out.code, out.stdout, out.stderr
    );
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
    assert!(
        !p.path().join(".lake").exists(),
        "compile must not attach the catalog"
    );
    assert!(
        !p.path().join("target/manifest.json").exists(),
        "no artifacts on error"
    );
    out.stderr
}

#[test]
fn unknown_incremental_strategy_in_sql_config() {
    let p = TempProject::new();
    p.file(
        "models/stage/a.sql",
        "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merg') }}\nselect 1 as id\n",
    );
    insta::assert_snapshot!(compile_error(&p));
}

#[test]
fn unknown_incremental_strategy_in_properties_yaml() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n").file(
        "models/stage/a.yml",
        "models:\n  - name: a\n    config:\n      materialized: incremental\n      incremental_strategy: delete_insert\n",
    );
    insta::assert_snapshot!(compile_error(&p));
}

#[test]
fn unknown_incremental_strategy_in_project_folder_config() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nmodels:\n  stage:\n    +materialized: incremental\n    +incremental_strategy: upsert\n",
    )
    .file("models/stage/a.sql", "select 1 as id\n");
    insta::assert_snapshot!(compile_error(&p));
}

#[test]
fn unknown_on_schema_change() {
    let p = TempProject::new();
    p.file(
        "models/stage/a.sql",
        "select 1 as id\n\n{{ config(materialized='incremental', on_schema_change='append_new_column') }}\n",
    );
    insta::assert_snapshot!(compile_error(&p));
}

#[test]
fn unknown_on_schema_change_in_properties_yaml() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n").file(
        "models/stage/a.yml",
        "models:\n  - name: a\n    config:\n      on_schema_change: sync\n",
    );
    insta::assert_snapshot!(compile_error(&p));
}

#[test]
fn unknown_test_kind() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n").file(
        "models/stage/a.yml",
        "models:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - uniqe\n          - not_null\n",
    );
    insta::assert_snapshot!(compile_error(&p));
}

#[test]
fn unknown_test_kind_with_arguments() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n").file(
        "models/stage/a.yml",
        "models:\n  - name: a\n    columns:\n      - name: id\n        tests:\n          - accepted_value:\n              values: [1, 2]\n",
    );
    insta::assert_snapshot!(compile_error(&p));
}
