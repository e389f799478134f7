//! `lake compile` end to end: rendering in dbt's vocabulary, config
//! inheritance, ephemeral inlining, compiled files and the manifest.

mod util;
use util::TempProject;

fn compile_ok(p: &TempProject, args: &[&str]) {
    let mut full = vec!["compile"];
    full.extend_from_slice(args);
    let out = p.lake(&full);
    assert_eq!(out.code, 0, "compile failed:\n{}", out.stderr);
}

#[test]
fn renders_dbt_vocabulary_into_compiled_sql() {
    let p = TempProject::new();
    p.file("project.yml", "name: shop\nvars:\n  currency: EUR\n  min_amount: 5\nmodels:\n  stage:\n    +materialized: table\n")
        .file("macros/money.sql", "{% macro cents_to_dollars(col) %}({{ col }} / 100.0){% endmacro %}\n")
        .file("macros/wrap.sql", "{% macro dollars_of(col) %}{{ cents_to_dollars(col) }}::decimal(18,2){% endmacro %}\n")
        .file("models/raw/orders.sql", "select 1 as id, 250 as amount_cents\n")
        .file(
            "models/stage/stg_orders.sql",
            "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\n\
             {% set cols = ['id', 'amount_cents'] %}\
             select {% for c in cols %}{{ c }}, {% endfor %}{{ dollars_of('amount_cents') }} as amount,\n\
             \x20 '{{ var('currency') }}' as currency, '{{ env_var('LAKE_TEST_REGION', 'eu') }}' as region,\n\
             \x20 '{{ target.name }}/{{ target.type }}/{{ this.schema }}.{{ this.identifier }}' as lineage\n\
             from {{ ref('orders') }}\n\
             where amount_cents >= {{ var('min_amount') }} and {{ var('missing', 'true') }}\n\
             {% if is_incremental() %}and id > (select max(id) from {{ this }}){% endif %}\n",
        );
    compile_ok(&p, &["--vars", "{min_amount: 7}"]);
    insta::assert_snapshot!(p.read("target/compiled/stage/stg_orders.sql"));
    let out = p.lake_env(&["compile"], &[("LAKE_TEST_REGION", "us")]);
    assert_eq!(out.code, 0);
    assert!(p
        .read("target/compiled/stage/stg_orders.sql")
        .contains("'us' as region"));
}

#[test]
fn config_inherits_from_folders_then_properties_then_model() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nmodels:\n  +tags: [all]\n  stage:\n    +materialized: table\n    +tags: stage\n    web:\n      +schema: web_stage\n",
    )
    .file("models/stage/web/clicks.sql", "select 1\n")
    .file("models/stage/web/views.sql", "{{ config(materialized='view', tags=['own']) }}select 1\n")
    .file("models/stage/web/props.yml", "models:\n  - name: clicks\n    config:\n      alias: web_clicks\n      materialized: incremental\n");
    compile_ok(&p, &[]);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let clicks = &manifest["nodes"]["model.demo.clicks"];
    assert_eq!(clicks["config"]["materialized"], "incremental");
    assert_eq!(
        clicks["config"]["tags"],
        serde_json::json!(["all", "stage"])
    );
    assert_eq!(clicks["relation_name"], "lake.web_stage.web_clicks");
    let views = &manifest["nodes"]["model.demo.views"];
    assert_eq!(views["config"]["materialized"], "view");
    assert_eq!(
        views["config"]["tags"],
        serde_json::json!(["all", "stage", "own"])
    );
    assert_eq!(views["relation_name"], "lake.web_stage.views");
}

#[test]
fn config_schema_in_the_model_moves_its_refs_too() {
    let p = TempProject::new();
    p.file(
        "models/stage/a.sql",
        "{{ config(schema='elsewhere', alias='a_final') }}select 1 as x\n",
    )
    .file("models/mart/b.sql", "select * from {{ ref('a') }}\n");
    compile_ok(&p, &[]);
    assert_eq!(
        p.read("target/compiled/mart/b.sql"),
        "select * from lake.elsewhere.a_final\n"
    );
}

#[test]
fn ephemeral_models_are_inlined_as_ctes() {
    let p = TempProject::new();
    p.file(
        "models/stage/base.sql",
        "{{ config(materialized='ephemeral') }}select 1 as id\n",
    )
    .file(
        "models/stage/mid.sql",
        "{{ config(materialized='ephemeral') }}select id from {{ ref('base') }}\n",
    )
    .file(
        "models/mart/top.sql",
        "with x as (select * from {{ ref('mid') }})\nselect * from x\n",
    );
    compile_ok(&p, &[]);
    insta::assert_snapshot!(p.read("target/compiled/mart/top.sql"));
}

#[test]
fn manifest_holds_nodes_edges_and_checksums() {
    let p = TempProject::new();
    p.file("models/raw/src.yml", "sources:\n  - name: landing\n    schema: landing_zone\n    tables:\n      - name: events\n        identifier: events_v2\n")
        .file("models/raw/r.sql", "select * from {{ source('landing', 'events') }}\n")
        .file("models/stage/s.sql", "select * from {{ ref('r') }}\n")
        .file("models/stage/s.yml", "models:\n  - name: s\n    description: Stage\n    columns:\n      - name: id\n        tests:\n          - accepted_values:\n              values: [1, 'b']\n")
        .file("tests/sql/no_negatives.sql", "select * from {{ ref('s') }} where id < 0\n");
    compile_ok(&p, &[]);
    let m: serde_json::Value = serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    assert_eq!(m["metadata"]["project_name"], "demo");
    let ids: Vec<&str> = m["nodes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        ids,
        [
            "model.demo.r",
            "model.demo.s",
            "source.demo.landing.events",
            "test.demo.accepted_values_s_id",
            "test.demo.no_negatives"
        ]
    );
    assert_eq!(
        m["nodes"]["source.demo.landing.events"]["relation_name"],
        "lake.landing_zone.events_v2"
    );
    assert_eq!(
        m["parent_map"]["model.demo.s"],
        serde_json::json!(["model.demo.r"])
    );
    assert_eq!(
        m["child_map"]["model.demo.s"],
        serde_json::json!(["test.demo.accepted_values_s_id", "test.demo.no_negatives"])
    );
    let sum = m["nodes"]["model.demo.s"]["checksum"].as_str().unwrap();
    assert_eq!(sum.len(), 64);
    assert_eq!(
        m["nodes"]["model.demo.s"]["compiled_path"],
        "target/compiled/stage/s.sql"
    );
    insta::assert_snapshot!(p.read("target/compiled/tests/accepted_values_s_id.sql"));
    assert_eq!(
        p.read("target/compiled/tests/no_negatives.sql"),
        "select * from lake.stage.s where id < 0\n"
    );
}

#[test]
fn deleted_models_leave_no_stale_compiled_files() {
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1\n")
        .file("models/stage/b.sql", "select 2\n");
    compile_ok(&p, &[]);
    std::fs::remove_file(p.path().join("models/stage/b.sql")).unwrap();
    compile_ok(&p, &[]);
    assert!(!p.path().join("target/compiled/stage/b.sql").exists());
    assert!(p.path().join("target/compiled/stage/a.sql").exists());
}

#[test]
fn disabled_models_are_left_out() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nmodels:\n  legacy:\n    +enabled: false\n",
    )
    .file("models/legacy/old.sql", "select * from {{ ref('gone') }}\n")
    .file("models/stage/a.sql", "select 1\n");
    compile_ok(&p, &[]);
    assert!(!p.path().join("target/compiled/legacy/old.sql").exists());
}

#[test]
fn the_repository_project_compiles() {
    let p = TempProject::new();
    let root = util::repo_root();
    for dir in ["models", "macros", "seeds", "tests/sql"] {
        for entry in walkdir::WalkDir::new(root.join(dir))
            .into_iter()
            .filter_map(Result::ok)
        {
            if entry.file_type().is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(&root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                p.file(&rel, &std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    p.file(
        "project.yml",
        &std::fs::read_to_string(root.join("project.yml")).unwrap(),
    );
    compile_ok(&p, &[]);
    let marts = p.lake(&["ls", "--select", "mart", "--resource-type", "model"]);
    assert!(marts.stdout.lines().count() >= 3, "{}", marts.stdout);
}

#[test]
fn relationships_target_is_not_escaped_because_it_lives_in_a_yml_file() {
    // Regression: minijinja JSON-escapes templates whose name ends in .yml,
    // so `to: ref('a')` compiled to "lake.stage.a" (quoted) and the test failed.
    let p = TempProject::new();
    p.file("models/stage/a.sql", "select 1 as id\n")
        .file("models/stage/b.sql", "select 1 as a_id\n")
        .file(
            "models/stage/b.yml",
            "models:\n  - name: b\n    columns:\n      - name: a_id\n        tests:\n          - relationships:\n              to: ref('a')\n              field: id\n",
        );
    compile_ok(&p, &[]);
    assert!(p
        .read("target/compiled/tests/relationships_b_a_id.sql")
        .contains("left join lake.stage.a as parent on child.a_id = parent.id"));
}
