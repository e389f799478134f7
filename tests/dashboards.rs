//! Dashboard files are project files: a chart naming a missing model or
//! column, or lacking what its kind needs, fails `lake compile` with the file
//! and line, before any page is served.

mod util;
use util::TempProject;

fn project(dashboards: &str) -> TempProject {
    let p = TempProject::new();
    p.file(
        "models/mart/sales.sql",
        "select current_date::timestamp as date_part, 'web' as channel, 3 as cnt\n",
    )
    .file(
        "models/mart/_mart.yml",
        "version: 2\nmodels:\n  - name: sales\n    columns:\n      - name: date_part\n      - name: channel\n      - name: cnt\n",
    )
    .file("models/mart/_dashboards.yml", dashboards);
    p
}

fn compile_error(p: &TempProject) -> String {
    let out = p.lake(&["compile"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    out.stderr
}

const HEAD: &str = "dashboards:\n  - name: shop\n    tabs:\n      - name: sales\n        charts:\n";

#[test]
fn a_chart_on_a_missing_model_names_the_file_line_and_the_nearest_model() {
    let p = project(&format!(
        "{HEAD}          - name: per_hour\n            model: sale\n            kind: line\n            x: date_part\n            y: cnt\n"
    ));
    insta::assert_snapshot!("missing_model", compile_error(&p));
}

#[test]
fn a_chart_on_an_undeclared_column_names_the_column() {
    let p = project(&format!(
        "{HEAD}          - name: per_hour\n            model: sales\n            kind: line\n            x: date_part\n            y: cnt\n            filters: [chanel]\n"
    ));
    insta::assert_snapshot!("unknown_column", compile_error(&p));
}

#[test]
fn a_chart_without_what_its_kind_needs_says_what_to_add() {
    let p = project(&format!(
        "{HEAD}          - name: per_hour\n            model: sales\n            kind: stacked_bar\n            x: date_part\n            y: cnt\n"
    ));
    insta::assert_snapshot!("missing_series", compile_error(&p));
}

#[test]
fn an_unknown_chart_kind_lists_the_kinds() {
    let p = project(&format!(
        "{HEAD}          - name: per_hour\n            model: sales\n            kind: donut\n            x: channel\n            y: cnt\n"
    ));
    insta::assert_snapshot!("unknown_kind", compile_error(&p));
}

#[test]
fn a_valid_dashboard_compiles() {
    let p = project(&format!(
        "{HEAD}          - name: per_hour\n            model: sales\n            kind: bar\n            x: channel\n            y: cnt\n            filters: [channel]\n"
    ));
    let out = p.lake(&["compile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
