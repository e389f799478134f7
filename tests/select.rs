//! dbt's selector grammar against a small known graph, through `lake ls`.
//!
//! Run order is topological with ties broken by unique id, so nodes
//! ready early (stg_users has no parents) come first.
//!
//! Graph:  src(landing.events) -> raw_events -> stg_events -> fct_daily -> rpt_kpis
//!                                  seed(countries) ------------^
//!         stg_users (tag:pii) -> fct_daily ; orphan (no edges, incremental)

mod util;
use util::TempProject;

fn project() -> TempProject {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nmodels:\n  demo:\n    stage:\n      +materialized: table\n      +tags: [hourly]\n    mart:\n      +materialized: table\n",
    )
    .file("models/raw/src.yml", "sources:\n  - name: landing\n    tables:\n      - name: events\n")
    .file("models/raw/raw_events.sql", "select * from {{ source('landing', 'events') }}\n")
    .file("models/stage/stg_events.sql", "select * from {{ ref('raw_events') }}\n")
    .file("models/stage/stg_users.sql", "{{ config(tags=['pii']) }}select 1 as id\n")
    .file(
        "models/mart/fct_daily.sql",
        "select * from {{ ref('stg_events') }} join {{ ref('stg_users') }} using (id) join {{ ref('countries') }} using (c)\n",
    )
    .file("models/mart/reports/rpt_kpis.sql", "select * from {{ ref('fct_daily') }}\n")
    .file("models/orphan.sql", "{{ config(materialized='incremental') }}select 1\n")
    .file("seeds/countries.csv", "c,name\nde,Germany\n");
    p
}

#[test]
fn everything_in_run_order_without_a_selector() {
    assert_eq!(
        project().ls(&[]),
        [
            "orphan",
            "stg_users",
            "raw_events",
            "stg_events",
            "fct_daily",
            "rpt_kpis"
        ]
    );
}

#[test]
fn model_name_and_graph_operators() {
    let p = project();
    assert_eq!(p.ls(&["stg_events"]), ["stg_events"]);
    assert_eq!(
        p.ls(&["stg_events+"]),
        ["stg_events", "fct_daily", "rpt_kpis"]
    );
    assert_eq!(
        p.ls(&["+fct_daily"]),
        ["stg_users", "raw_events", "stg_events", "fct_daily"]
    );
    assert_eq!(
        p.ls(&["1+fct_daily"]),
        ["stg_users", "stg_events", "fct_daily"]
    );
    assert_eq!(p.ls(&["raw_events+1"]), ["raw_events", "stg_events"]);
    assert_eq!(p.ls(&["1+rpt_kpis"]), ["fct_daily", "rpt_kpis"]);
    assert_eq!(
        p.ls(&["2+rpt_kpis"]),
        ["stg_users", "stg_events", "fct_daily", "rpt_kpis"]
    );
    assert_eq!(
        p.ls(&["@stg_users"]),
        [
            "stg_users",
            "raw_events",
            "stg_events",
            "fct_daily",
            "rpt_kpis"
        ]
    );
    assert_eq!(
        p.ls(&["3+rpt_kpis"]),
        [
            "stg_users",
            "raw_events",
            "stg_events",
            "fct_daily",
            "rpt_kpis"
        ]
    );
}

// `@x` is dbt's select_childrens_parents: x, its descendants and the
// ancestors of all of those, x's own included. On a model without
// children it used to select the model alone.
#[test]
fn at_includes_the_ancestors_of_a_model_without_children() {
    let p = project();
    let ancestry = [
        "stg_users",
        "raw_events",
        "stg_events",
        "fct_daily",
        "rpt_kpis",
    ];
    assert_eq!(p.ls(&["@rpt_kpis"]), ancestry);
    assert_eq!(p.ls(&["@rpt_kpis"]), p.ls(&["+rpt_kpis"]));
    assert_eq!(p.ls(&["@fct_daily"]), ancestry);
    assert_eq!(p.ls(&["@orphan"]), ["orphan"]);
    let out = p.lake(&[
        "ls",
        "--select",
        "@rpt_kpis",
        "--resource-type",
        "seed",
        "source",
    ]);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["countries", "landing.events"]
    );
}

// A doubled or misplaced operator names the selector, what is wrong and
// what to write instead (`@@x` used to say "misplaced `+` or `@`").
#[test]
fn malformed_operators_say_what_to_write() {
    let p = project();
    let mut report = String::new();
    for selector in [
        "@@rpt_kpis",
        "+@rpt_kpis",
        "rpt_kpis@",
        "++rpt_kpis",
        "2++rpt_kpis",
        "rpt_kpis++",
        "rpt_kpis++1",
        "stg+users",
        "@",
        "@+rpt_kpis",
    ] {
        let out = p.lake(&["ls", "--select", selector]);
        assert_eq!(out.code, 2, "{selector}: {}", out.stderr);
        report.push_str(&format!(
            "$ lake ls --select {selector}\n{}\n\n",
            out.stderr.trim_end()
        ));
    }
    insta::assert_snapshot!("malformed_operators", report);
}

#[test]
fn layer_folder_and_path_selection() {
    let p = project();
    assert_eq!(p.ls(&["mart"]), ["fct_daily", "rpt_kpis"]);
    assert_eq!(p.ls(&["mart+"]), ["fct_daily", "rpt_kpis"]);
    assert_eq!(
        p.ls(&["stage+"]),
        ["stg_users", "stg_events", "fct_daily", "rpt_kpis"]
    );
    assert_eq!(p.ls(&["path:models/stage"]), ["stg_users", "stg_events"]);
    assert_eq!(p.ls(&["models/mart/reports"]), ["rpt_kpis"]);
    assert_eq!(p.ls(&["path:models/mart/fct_daily.sql"]), ["fct_daily"]);
    assert_eq!(p.ls(&["fqn:mart.reports"]), ["rpt_kpis"]);
}

#[test]
fn methods_tags_config_sources_and_wildcards() {
    let p = project();
    assert_eq!(p.ls(&["tag:hourly"]), ["stg_users", "stg_events"]);
    assert_eq!(p.ls(&["tag:pii"]), ["stg_users"]);
    assert_eq!(p.ls(&["config.materialized:incremental"]), ["orphan"]);
    assert_eq!(
        p.ls(&["config.materialized:table"]),
        ["stg_users", "stg_events", "fct_daily", "rpt_kpis"]
    );
    assert_eq!(p.ls(&["config.schema:mart"]), ["fct_daily", "rpt_kpis"]);
    assert_eq!(
        p.ls(&["source:landing+"]),
        ["raw_events", "stg_events", "fct_daily", "rpt_kpis"]
    );
    assert_eq!(p.ls(&["stg_*"]), ["stg_users", "stg_events"]);
    assert_eq!(p.ls(&["*_daily+"]), ["fct_daily", "rpt_kpis"]);
}

#[test]
fn union_intersection_and_exclude() {
    let p = project();
    assert_eq!(p.ls(&["stg_users orphan"]), ["orphan", "stg_users"]);
    assert_eq!(p.ls(&["stg_users", "orphan"]), ["orphan", "stg_users"]);
    assert_eq!(p.ls(&["tag:hourly,stg_e*"]), ["stg_events"]);
    assert_eq!(p.ls(&["+rpt_kpis,stage"]), ["stg_users", "stg_events"]);
    let out = p.lake(&[
        "ls",
        "--resource-type",
        "model",
        "--select",
        "stage+",
        "--exclude",
        "tag:pii",
        "rpt_kpis",
    ]);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["stg_events", "fct_daily"]
    );
}

#[test]
fn tests_follow_their_model_and_sources_and_seeds_are_listed() {
    let p = project();
    p.file(
        "models/stage/props.yml",
        "models:\n  - name: stg_users\n    columns:\n      - name: id\n        tests: [unique]\n",
    );
    let out = p.lake(&["ls", "--select", "stg_users"]);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["stg_users", "unique_stg_users_id"]
    );
    let out = p.lake(&[
        "ls",
        "--select",
        "+fct_daily",
        "--resource-type",
        "seed",
        "source",
    ]);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["countries", "landing.events"]
    );
    let out = p.lake(&["ls", "--select", "resource_type:test"]);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["unique_stg_users_id"]
    );
}

#[test]
fn output_formats() {
    let p = project();
    let out = p.lake(&["ls", "--select", "stg_events", "--output", "path"]);
    assert_eq!(out.stdout, "models/stage/stg_events.sql\n");
    let out = p.lake(&["ls", "--select", "stg_events", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["unique_id"], "model.demo.stg_events");
    assert_eq!(v["relation"], "lake.stage.stg_events");
    assert_eq!(v["materialized"], "table");
    assert_eq!(
        v["depends_on"],
        serde_json::json!(["model.demo.raw_events"])
    );
}

#[test]
fn unmatched_selector_warns_with_suggestion_and_succeeds() {
    let p = project();
    let out = p.lake(&["ls", "--select", "stg_event"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "warning: selector `stg_event` matched no node; did you mean `stg_events`?\n"
    );
}

#[test]
fn dag_renders_dot_and_mermaid() {
    let p = project();
    let out = p.lake(&["dag", "--select", "+fct_daily"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("dag_dot", out.stdout);
    let out = p.lake(&["dag", "--format", "mermaid", "--select", "stage+"]);
    insta::assert_snapshot!("dag_mermaid", out.stdout);
}

// A space separates selector terms (as in dbt), so `--select "my model"`
// looked for `my` and `model`; quotes inside the value keep a name whole.
#[test]
fn quoted_selector_names_keep_their_spaces() {
    let p = project();
    p.file("models/stage/my model.sql", "select 1 as id\n")
        .file(
            "models/mart/say \"hi\".sql",
            "select * from {{ ref('my model') }}\n",
        );
    assert_eq!(
        p.ls(&["'my model'+ orphan"]),
        ["my model", "orphan", "say \"hi\""]
    );
    assert_eq!(p.ls(&["'say \"hi\"'"]), ["say \"hi\""]);
    // The whole argument naming a node is that node, as a shell user means it.
    assert_eq!(p.ls(&["my model"]), ["my model"]);
    assert_eq!(
        p.ls(&["my model+"]).len(),
        0,
        "`my` and `model+` match nothing"
    );
}

// Names come from file names: DOT ids and Mermaid labels with spaces or
// quotes used to break out of their quotes and make the graph unreadable.
#[test]
fn dag_quotes_hostile_names() {
    let p = TempProject::new();
    p.file("models/stage/my model.sql", "select 1 as id\n")
        .file(
            "models/mart/say \"hi\".sql",
            "select * from {{ ref('my model') }}\n",
        );
    let out = p.lake(&["dag"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("dag_dot_hostile_names", out.stdout);
    let out = p.lake(&["dag", "--format", "mermaid"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("dag_mermaid_hostile_names", out.stdout);
}
