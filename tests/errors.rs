//! The error texts analysts see, pinned with insta: each names the file,
//! the line, and what to do.

mod util;
use util::TempProject;

fn failing(p: &TempProject, args: &[&str]) -> String {
    let out = p.lake(args);
    assert_eq!(
        out.code, 1,
        "expected project error, got {}: {}{}",
        out.code, out.stdout, out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "nothing printed to stdout on error: {}",
        out.stdout
    );
    assert!(
        !p.path().join("target/manifest.json").exists(),
        "no artifacts on error"
    );
    out.stderr
}

#[test]
fn unknown_ref_suggests_the_nearest_model() {
    let p = TempProject::new();
    p.file("models/stage/c_model.sql", "select 1 as id\n").file(
        "models/stage/b.sql",
        "select *\nfrom {{ ref('c_model') }}\njoin {{ ref('c_modle') }} using (id)\n",
    );
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn cycle_prints_the_whole_cycle_with_files() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select * from {{ ref('c') }}\n")
        .file("models/stage/b.sql", "select * from {{ ref('a') }}\n")
        .file("models/mart/c.sql", "select * from {{ ref('b') }}\n")
        .file("models/mart/d.sql", "select * from {{ ref('c') }}\n");
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn yaml_typo_in_project_file_points_at_the_key() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nprofle: demo\nmodels:\n  stage:\n    +materialized: table\n",
    )
    .file("models/stage/a.sql", "select 1\n");
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn yaml_typo_in_folder_config_points_at_the_key() {
    let p = TempProject::new();
    p.file("project.yml", "name: demo\nmodels:\n  stage:\n    +materialised: table\n  mart:\n    +materialized: tabel\n")
        .file("models/stage/a.sql", "select 1\n");
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn yaml_typo_in_properties_file_points_at_the_key() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n").file(
        "models/stage/a.yml",
        "models:\n  - name: a\n    colums:\n      - name: id\n",
    );
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn undefined_jinja_variable_names_model_and_line() {
    let p = TempProject::new();
    p.file(
        "models/stage/a.sql",
        "select 1 as id,\n  {{ colum_name }} as x\nfrom t\n",
    );
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn unknown_macro_suggests_the_nearest_macro() {
    let p = TempProject::new();
    p.file(
        "macros/money.sql",
        "{% macro cents_to_dollars(c) %}({{ c }} / 100){% endmacro %}\n",
    )
    .file(
        "models/stage/a.sql",
        "select\n  {{ cents_to_dolars('amount') }} as usd\nfrom t\n",
    );
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn jinja_syntax_error_names_model_and_line() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1\n{% if true %}\nwhere x\n");
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn duplicate_model_name_names_both_files() {
    let p = TempProject::new();
    p.file("models/stage/events.sql", "select 1\n")
        .file("models/mart/events.sql", "select 2\n");
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn missing_required_var_explains_how_to_set_it() {
    let p = TempProject::new();
    p.file(
        "models/stage/a.sql",
        "select *\nfrom t\nwhere day = '{{ var(\"start_day\") }}'\n",
    );
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn unknown_source_suggests_the_declared_one() {
    let p = TempProject::new();
    p.file(
        "models/raw/src.yml",
        "sources:\n  - name: landing\n    tables:\n      - name: events\n",
    )
    .file(
        "models/raw/a.sql",
        "select * from {{ source('landing', 'event') }}\n",
    );
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn invalid_config_call_in_model_names_the_line() {
    let p = TempProject::new();
    p.file(
        "models/stage/a.sql",
        "{{ config(materialized='incremental', incremental_strategy='upsert') }}\nselect 1\n",
    );
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn bad_selector_is_a_usage_error() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1\n");
    let out = p.lake(&["ls", "--select", "tga:hourly"]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.stderr);
    let out = p.lake(&["ls", "--select", "@+a"]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!("bad_selector_at_and_plus", out.stderr);
}

#[test]
fn invalid_schedule_cron_and_hook_are_reported() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nschedules:\n  hourly:\n    cron: \"0 * * *\"\n    select: [mart+]\n    pre-hooks:\n      - extrat: {}\n",
    )
    .file("models/mart/a.sql", "select 1\n");
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

#[test]
fn several_errors_are_reported_in_one_run() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select * from {{ ref('nope') }}\n")
        .file("models/stage/b.sql", "select {{ nope }}\n");
    let err = failing(&p, &["compile"]);
    assert!(
        err.contains("error[L001]") && err.contains("error[L021]"),
        "{err}"
    );
    assert!(err.contains("2 errors found"), "{err}");
}

// An empty model used to compile and fail only at run time, with DuckDB's
// parser error about `CREATE TABLE .. AS` with no query and no file named.
#[test]
fn empty_model_is_a_compile_error_naming_the_file() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n")
        .file("models/stage/empty.sql", "")
        .file(
            "models/stage/todo.sql",
            "{{ config(materialized='table') }}\n-- todo: write me\n",
        );
    insta::assert_snapshot!(failing(&p, &["compile"]));
}

// DuckDB quotes `LINE 4:` of the CREATE statement lake built, which the
// analyst never wrote: the error now also names the model file and line.
#[test]
fn runtime_sql_error_points_at_the_model_file_and_line() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as x\n").file(
        "models/stage/b.sql",
        "{{ config(materialized='table') }}\nselect\n  x,\n  no_such_column\nfrom {{ ref('a') }}\n",
    );
    let out = p.lake(&["run"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let error: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.contains("ERROR model stage.b"))
        .skip(1)
        .take_while(|l| l.starts_with("   "))
        .collect();
    insta::assert_snapshot!(error.join("\n"));
}

// A quoted YAML value may span lines, so an unclosed quote was reported
// where the parser gave up (the end of the file, or the next quote many
// lines down) instead of on the line that opens it.
#[test]
fn unclosed_yaml_quote_points_at_the_line_that_opens_it() {
    let columns: String = (1..=10)
        .map(|i| format!("      - name: c{i}\n        description: column {i}\n"))
        .collect();
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n").file(
        "models/stage/a.yml",
        &format!("models:\n  - name: a\n    description: \"Orders, one row per order\n    columns:\n{columns}"),
    );
    insta::assert_snapshot!(
        "unclosed_yaml_quote_at_end_of_file",
        failing(&p, &["compile"])
    );
    p.file(
        "models/stage/a.yml",
        &format!("models:\n  - name: a\n    description: \"Orders, one row per order\n    columns:\n{columns}      - name: status\n        tests:\n          - accepted_values:\n              values: [\"open\", \"closed\"]\n"),
    );
    insta::assert_snapshot!(
        "unclosed_yaml_quote_before_a_quote",
        failing(&p, &["compile"])
    );
}

#[test]
fn unclosed_quote_in_a_selector_is_a_usage_error() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1\n");
    let out = p.lake(&["ls", "--select", "'my model+"]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.stderr);
}
