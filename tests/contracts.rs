//! Enforced model contracts (dbt's `contract: {enforced: true}`, issue 10):
//! a model whose query returns other columns than its properties declare
//! fails before anything is written, every difference named, its table or
//! view left as it was and its children skipped; a contract that cannot be
//! checked is a project error with file and line.

#[macro_use]
mod util;

use util::{Lake, TempProject};

const PROPERTIES: &str = "\
version: 2
models:
  - name: report
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: int
      - name: total
        data_type: hugeint
  - name: report_view
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
      - name: label
        data_type: text
  - name: report_inc
    config:
      contract: {enforced: true}
      materialized: incremental
    columns:
      - name: id
        data_type: int4
      - name: n
        data_type: int8
";

/// A table, a view and an incremental model, each with a contract its
/// query meets, and a child of the table.
fn project(lake: Lake) -> TempProject {
    let p = TempProject::on(lake);
    p.file(
        "models/stage/numbers.sql",
        "{{ config(materialized='table') }}\nselect 1 as id, 2::bigint as n\n",
    )
    .file(
        "models/mart/report.sql",
        "{{ config(materialized='table') }}\nselect id, sum(n) as total\nfrom {{ ref('numbers') }}\ngroup by id\n",
    )
    .file(
        "models/mart/report_view.sql",
        "select id, 'one' as label from {{ ref('numbers') }}\n",
    )
    .file(
        "models/mart/report_inc.sql",
        "select id, n from {{ ref('numbers') }}\n",
    )
    .file(
        "models/mart/downstream.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('report') }}\n",
    )
    .file("models/mart/_mart.yml", PROPERTIES);
    p
}

/// The error lines under `ERROR model <label>` in `lake run`'s output
/// (indented under the node's line; the next node's line is less so).
fn error_of(stdout: &str, label: &str) -> String {
    let lines: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains(&format!("ERROR model {label} ")))
        .skip(1)
        .take_while(|l| l.starts_with("         "))
        .collect();
    assert!(!lines.is_empty(), "no error for {label}:\n{stdout}");
    lines.join("\n")
}

on_both_targets!(a_model_that_breaks_its_contract_fails_and_leaves_the_lake_as_it_was);

fn a_model_that_breaks_its_contract_fails_and_leaves_the_lake_as_it_was(lake: Lake) {
    let p = project(lake);
    p.lake_ok(&["run"]);
    let before = |sql: &str| p.rows(sql);
    let report = before("select id, total from lake.mart.report");
    assert_eq!(report, [["1", "2"]]);

    // Each model now breaks its contract another way, and the data changed
    // so a rebuild would show.
    p.file(
        "models/stage/numbers.sql",
        "{{ config(materialized='table') }}\nselect 7 as id, 70::bigint as n\n",
    )
    // A wrong type, a missing column and an undeclared one.
    .file(
        "models/mart/report.sql",
        "{{ config(materialized='table') }}\nselect id::bigint as id, 42 as extra\nfrom {{ ref('numbers') }}\n",
    )
    // The declared columns, in the wrong order.
    .file(
        "models/mart/report_view.sql",
        "select 'seven' as label, id from {{ ref('numbers') }}\n",
    )
    // A type that only differs where a cast was forgotten.
    .file(
        "models/mart/report_inc.sql",
        "select id, n::double as n from {{ ref('numbers') }}\n",
    );
    let out = p.lake(&["run"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    insta::assert_snapshot!(
        "contract_broken_table",
        error_of(&out.stdout, "mart.report")
    );
    insta::assert_snapshot!(
        "contract_broken_view",
        error_of(&out.stdout, "mart.report_view")
    );
    insta::assert_snapshot!(
        "contract_broken_incremental",
        error_of(&out.stdout, "mart.report_inc")
    );
    out.assert_stdout_has("SKIP  model mart.downstream [model mart.report did not succeed]");
    // numbers was rebuilt; nothing of the three broken models was.
    assert_eq!(
        p.rows("select id, n from lake.stage.numbers"),
        [["7", "70"]]
    );
    assert_eq!(p.rows("select * from lake.mart.report"), report);
    assert_eq!(
        p.rows("select column_name, column_type from (describe lake.mart.report)"),
        [["id", "INTEGER"], ["total", "HUGEINT"]]
    );
    assert_eq!(
        p.rows("select column_name from (describe lake.mart.report_view)"),
        [["id"], ["label"]]
    );
    // The view's old definition reads the new `numbers`.
    assert_eq!(
        p.rows("select * from lake.mart.report_view"),
        [["7", "one"]]
    );
    assert_eq!(p.rows("select * from lake.mart.report_inc"), [["1", "2"]]);
    assert_eq!(p.rows("select * from lake.mart.downstream"), [["1", "2"]]);

    // Fixed, the models build again.
    p.file(
        "models/mart/report.sql",
        "{{ config(materialized='table') }}\nselect id, sum(n) as total\nfrom {{ ref('numbers') }}\ngroup by id\n",
    );
    p.lake_ok(&["run", "--select", "report+"]);
    assert_eq!(p.rows("select * from lake.mart.downstream"), [["7", "70"]]);
}

/// `lake compile`'s error output, which must fail.
fn compile_error(p: &TempProject) -> String {
    let out = p.lake(&["compile"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    out.stderr
}

#[test]
fn a_contract_column_without_data_type_is_a_project_error_at_its_line() {
    let p = project(Lake::Embedded);
    p.file(
        "models/mart/_mart.yml",
        &PROPERTIES.replace("        data_type: text\n", ""),
    );
    insta::assert_snapshot!("contract_column_without_data_type", compile_error(&p));
}

#[test]
fn a_contract_without_columns_is_a_project_error() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n").file(
        "models/stage/a.yml",
        "models:\n  - name: a\n    description: No columns yet.\n    config:\n      contract: {enforced: true}\n",
    );
    insta::assert_snapshot!("contract_without_columns", compile_error(&p));
    // Enforced from the model's own config() call, with no properties file.
    p.file(
        "models/stage/a.sql",
        "{{ config(contract={'enforced': true}) }}\nselect 1 as id\n",
    )
    .file("models/stage/a.yml", "models: []\n");
    insta::assert_snapshot!("contract_without_properties", compile_error(&p));
}

#[test]
fn an_ephemeral_model_cannot_enforce_a_contract() {
    let p = TempProject::new();
    p.file(
        "models/stage/a.sql",
        "{{ config(materialized='ephemeral') }}\nselect 1 as id\n",
    )
    .file(
        "models/stage/a.yml",
        "models:\n  - name: a\n    config:\n      contract: {enforced: true}\n    columns:\n      - name: id\n        data_type: int\n",
    );
    insta::assert_snapshot!("contract_on_ephemeral", compile_error(&p));
}
