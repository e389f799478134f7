//! dbt projects, unchanged: lake reads `dbt_project.yml`, puts relations
//! where dbt puts them, and builds the same relations as dbt-core +
//! dbt-duckdb (recorded by `tests/dbt/conformance.sh --record` into each
//! project's `expected.json`: names, kinds, column types, rows, test
//! statuses). Constructs lake does not support yet are errors at their
//! file and line.

mod util;

use std::path::Path;

use serde_json::{json, Value};
use util::rows::attach_embedded_sql;
use util::{extension_dir, lake_command, repo_root, text_rows, TempProject};

/// Where a build left its relations, and the catalog name they are under.
fn open_embedded(root: &Path) -> (duckdb::Connection, String) {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    conn.execute_batch(&attach_embedded_sql(&extension_dir(), root, true))
        .expect("attach the lake");
    (conn, "lake".into())
}

/// A plain DuckDB file, read-only, under the name DuckDB gives it (its
/// stem): views in it name their catalog.
fn open_file(path: &Path) -> (duckdb::Connection, String) {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    conn.execute_batch(&format!("ATTACH '{}' (READ_ONLY)", path.display()))
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let stem = path.file_stem().unwrap().to_string_lossy();
    (conn, stem.split('.').next().unwrap().to_string())
}

/// A DuckLake (metadata file, data folder) attached read-only as `alias`.
fn open_ducklake(metadata: &Path, data: &Path, alias: &str) -> (duckdb::Connection, String) {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    conn.execute_batch(&format!(
        "SET autoinstall_known_extensions = false; SET extension_directory = '{}'; LOAD ducklake; \
         ATTACH 'ducklake:{}' AS {alias} (DATA_PATH '{}/', READ_ONLY)",
        extension_dir().display(),
        metadata.display(),
        data.display()
    ))
    .expect("attach the DuckLake");
    (conn, alias.into())
}

/// Every relation under `catalog` (names starting `_` are lake's own), and
/// each data test's status of the build in `root`, in
/// `tests/dbt/relations.py`'s shape.
fn relations((conn, catalog): (duckdb::Connection, String), root: &Path) -> Value {
    let listed = text_rows(
        &conn,
        &format!(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables \
             WHERE table_catalog = '{catalog}' AND table_schema NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1, 2"
        ),
    );
    let mut out = Vec::new();
    for r in listed {
        let (schema, name) = (&r[0], &r[1]);
        let columns = text_rows(
            &conn,
            &format!(
                "SELECT column_name, data_type FROM information_schema.columns \
                 WHERE table_catalog = '{catalog}' AND table_schema = '{schema}' \
                 AND table_name = '{name}' ORDER BY ordinal_position"
            ),
        );
        let mut rows = text_rows(
            &conn,
            &format!("SELECT * FROM \"{catalog}\".\"{schema}\".\"{name}\""),
        );
        rows.sort();
        let kind = if r[2] == "VIEW" { "view" } else { "table" };
        out.push(
            json!({"schema": schema, "name": name, "kind": kind, "columns": columns, "rows": rows}),
        );
    }
    json!({"relations": out, "tests": test_statuses(root)})
}

fn test_statuses(root: &Path) -> Value {
    let text = std::fs::read_to_string(root.join("target/run_results.json")).expect("run_results");
    let results: Value = serde_json::from_str(&text).expect("json");
    let mut statuses = serde_json::Map::new();
    for r in results["results"].as_array().expect("results") {
        let id = r["unique_id"].as_str().expect("unique_id");
        if let Some(name) = id.strip_prefix("test.").and_then(|t| t.split('.').nth(1)) {
            statuses.insert(name.to_string(), r["status"].clone());
        }
    }
    Value::Object(statuses)
}

/// A copy of `tests/dbt/<name>` (its recorded results left behind).
fn dbt_project(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let from = repo_root().join("tests/dbt").join(name);
    for entry in walkdir::WalkDir::new(&from) {
        let entry = entry.expect("walk");
        let dest = dir.path().join(entry.path().strip_prefix(&from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else if entry.file_name() != "expected.json" {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
    dir
}

/// How a conformance project is built by lake.
#[derive(Debug, Clone, Copy)]
enum Way {
    /// The project's own profiles.yml, as cloned.
    OwnProfile,
    /// No profile: the embedded DuckLake.
    Embedded,
    /// A dbt-duckdb profile: a plain DuckDB file, as dbt builds it.
    DuckdbFile,
    /// A dbt-duckdb profile whose database is a DuckLake `attach:` entry.
    DucklakeAttach,
}

/// The `profile:` a dbt_project.yml names.
fn profile_name(project: &Path) -> String {
    let text = std::fs::read_to_string(project.join("dbt_project.yml")).expect("dbt_project.yml");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("profile:"))
        .expect("a profile: line");
    line.trim().trim_matches(['\'', '"']).to_string()
}

/// The database file a project's own profiles.yml names (its first `path:`).
fn own_database(project: &Path) -> String {
    let text = std::fs::read_to_string(project.join("profiles.yml")).expect("profiles.yml");
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("path:"))
        .expect("a path: line");
    line.trim().trim_matches(['\'', '"']).to_string()
}

/// Builds `name` the given way; the relations it left, with test statuses.
fn build(name: &str, way: Way) -> (Value, bool, String) {
    let project = dbt_project(name);
    let root = project.path();
    let profile = profile_name(root);
    let write_profile = |target: &str| {
        let text = format!(
            "{profile}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n{target}"
        );
        std::fs::write(root.join("profiles.yml"), text).unwrap();
    };
    match way {
        Way::OwnProfile | Way::Embedded => {}
        Way::DuckdbFile => write_profile("      path: dbt.duckdb\n      threads: 1\n"),
        Way::DucklakeAttach => write_profile(
            "      database: lk\n      attach:\n        - path: 'ducklake:lk.ducklake'\n          alias: lk\n          options:\n            data_path: lk_files\n",
        ),
    }
    let out = lake_command(root)
        .arg("build")
        .output()
        .expect("lake build");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let opened = match way {
        Way::Embedded => open_embedded(root),
        Way::DuckdbFile => open_file(&root.join("dbt.duckdb")),
        Way::OwnProfile => open_file(&root.join(own_database(root))),
        Way::DucklakeAttach => {
            open_ducklake(&root.join("lk.ducklake"), &root.join("lk_files"), "lk")
        }
    };
    (relations(opened, root), out.status.success(), log)
}

/// Each `tests/dbt` project, built by lake every way that applies, equals
/// what dbt-core + dbt-duckdb built (its recorded `expected.json`):
/// relation names, kinds, column types, rows, and data test statuses.
#[test]
fn every_dbt_project_builds_what_dbt_built() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo_root().join("tests/dbt")).expect("tests/dbt") {
        let path = entry.expect("entry").path();
        let Ok(expected) = std::fs::read_to_string(path.join("expected.json")) else {
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected: Value = serde_json::from_str(&expected).expect("expected.json");
        let ways: &[Way] = if path.join("profiles.yml").exists() {
            &[Way::OwnProfile]
        } else {
            &[Way::Embedded, Way::DuckdbFile, Way::DucklakeAttach]
        };
        for &way in ways {
            let (got, ok, log) = build(&name, way);
            same_as_dbt(&format!("{name} ({way:?})"), &got, ok, &log, &expected);
            checked += 1;
        }
    }
    assert!(checked > 0, "no tests/dbt project has an expected.json");
}

/// `got` equals dbt's `expected`, relation by relation; the build failed
/// exactly when a dbt test failed.
fn same_as_dbt(name: &str, got: &Value, ok: bool, log: &str, expected: &Value) {
    let failing = expected["tests"]
        .as_object()
        .is_some_and(|t| t.values().any(|s| s == "fail" || s == "error"));
    assert_eq!(ok, !failing, "{name}: lake build:\n{log}");
    let names = |v: &Value| -> Vec<String> {
        let list = v["relations"].as_array().expect("relations");
        list.iter()
            .map(|r| format!("{}.{}", r["schema"], r["name"]))
            .collect()
    };
    assert_eq!(names(got), names(expected), "{name}: relations\n{log}");
    for (g, e) in got["relations"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected["relations"].as_array().unwrap())
    {
        assert_eq!(
            g, e,
            "{name}: {}.{} differs from dbt's",
            e["schema"], e["name"]
        );
    }
    assert_eq!(
        got["tests"], expected["tests"],
        "{name}: data test statuses"
    );
}

/// A project folder holding only what `files` gives (no project.yml).
fn dbt_files(files: &[(&str, &str)]) -> TempProject {
    let p = TempProject::new();
    std::fs::remove_file(p.path().join("project.yml")).unwrap();
    for (path, text) in files {
        p.file(path, text);
    }
    p
}

const DBT_PROJECT: &str = "name: shop\nconfig-version: 2\nprofile: shop\n";

fn refused(p: &TempProject) -> String {
    let out = p.lake(&["compile"]);
    assert_eq!(
        out.code, 1,
        "expected a project error: {}{}",
        out.stdout, out.stderr
    );
    out.stderr
        .replace(&p.path().display().to_string(), "[PROJECT]")
}

#[test]
fn a_folder_without_either_project_file_is_refused() {
    let p = dbt_files(&[("models/a.sql", "select 1 as id\n")]);
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn a_snapshots_config_tree_is_refused_at_its_line() {
    let p = dbt_files(&[
        (
            "dbt_project.yml",
            &format!("{DBT_PROJECT}snapshots:\n  shop:\n    +target_schema: snapshots\n"),
        ),
        ("models/a.sql", "select 1 as id\n"),
    ]);
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn a_generate_schema_name_override_is_refused_at_its_line() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id\n"),
        (
            "macros/schemas.sql",
            "-- custom schemas without the target's prefix\n{% macro generate_schema_name(custom_schema_name, node) -%}\n  {{ custom_schema_name or target.schema }}\n{%- endmacro %}\n",
        ),
    ]);
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn a_snapshot_is_refused_at_its_file() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id\n"),
        (
            "snapshots/orders_history.sql",
            "{% snapshot orders_history %}select 1{% endsnapshot %}\n",
        ),
    ]);
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn dbt_only_keys_load_and_models_go_to_the_target_schema() {
    let p = dbt_files(&[
        (
            "dbt_project.yml",
            "name: shop\nversion: '1.0.0'\nconfig-version: 2\nrequire-dbt-version: '>=1.5.0'\nprofile: shop\n\
             analysis-paths: [analyses]\nclean-targets: [target]\nflags:\n  send_anonymous_usage_stats: false\n\
             models:\n  shop:\n    +materialized: table\n    staging:\n      +materialized: view\n    finance:\n      +schema: finance\n",
        ),
        ("models/staging/stg_a.sql", "select 1 as id\n"),
        ("models/finance/revenue.sql", "select id from {{ ref('stg_a') }}\n"),
        ("models/b.sql", "select id from {{ ref('revenue') }}\n"),
    ]);
    p.lake_ok(&["build"]);
    let listed = p.rows(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables \
         WHERE table_catalog = 'lake' AND table_schema NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1, 2",
    );
    assert_eq!(
        listed,
        [
            ["main", "b", "BASE TABLE"],
            ["main", "stg_a", "VIEW"],
            ["main_finance", "revenue", "BASE TABLE"],
        ]
    );
}

#[test]
fn run_query_outside_a_model_is_refused_at_the_line_that_calls_it() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id\n"),
        (
            "tests/a_is_small.sql",
            "{% set methods = run_query('select distinct method from payments') %}\nselect * from {{ ref('a') }} where id > 9\n",
        ),
    ]);
    insta::assert_snapshot!(refused(&p));
}

/// The lines under `ERROR model <name>` of a failed build's output.
fn build_error(p: &TempProject, model: &str) -> String {
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let error: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.contains(&format!("ERROR model {model}")))
        .skip(1)
        .take_while(|l| l.starts_with("   "))
        .collect();
    assert!(!error.is_empty(), "{}", out.stdout);
    error
        .join("\n")
        .replace(&p.path().display().to_string(), "[PROJECT]")
}

// A model that queries renders once with `execute` false (dbt's parse),
// then again just before it is built: what it asks runs then, on the
// run's connection, so it sees the table built before it.
#[test]
fn a_model_queries_what_the_run_built_before_it() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/kinds.sql", "{{ config(materialized='table') }}\nselect * from (values ('a', 1), ('b', 2)) t(kind, n)\n"),
        (
            "models/pivot.sql",
            "-- depends_on: {{ ref('kinds') }}\n{% set r = run_query('select kind, n from ' ~ ref('kinds') ~ ' order by 1') %}\nselect {{ execute }} as executed\n{%- if execute %}{% for row in r.rows %}, {{ row.n }} as {{ row['kind'] }}{% endfor %}{% endif %}\n",
        ),
    ]);
    let compiled = p.lake(&["compile"]);
    assert_eq!(compiled.code, 0, "{}", compiled.stderr);
    let sql = p.read("target/compiled/pivot.sql");
    assert!(sql.ends_with("select False as executed\n"), "{sql}");
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let (conn, catalog) = open_embedded(p.path());
    let rows = text_rows(&conn, &format!("SELECT * FROM {catalog}.main.pivot"));
    assert_eq!(rows, [["true", "1", "2"]]);
    let columns = text_rows(
        &conn,
        &format!("SELECT column_name FROM information_schema.columns WHERE table_catalog = '{catalog}' AND table_name = 'pivot' ORDER BY ordinal_position"),
    );
    assert_eq!(columns, [["executed"], ["a"], ["b"]]);
    drop(conn);
    // Nothing changed, yet the querying model would build again: what its
    // queries return is in no fingerprint.
    let changed = p.lake(&["ls", "--select", "state:changed"]);
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    assert_eq!(changed.stdout.trim(), "pivot", "{}", changed.stderr);
}

#[test]
fn a_ref_seen_only_at_run_time_is_refused_with_dbts_hint() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id\n"),
        (
            "models/b.sql",
            "{% if execute %}\nselect * from {{ ref('a') }}\n{% else %}\nselect 1 as id\n{% endif %}\n",
        ),
    ]);
    insta::assert_snapshot!(build_error(&p, "main.b"));
}

// The body of a statement block is not rendered in the first render (as
// in dbt): its query must not run before the relation it names is built.
#[test]
fn a_ref_in_a_statement_block_is_refused_before_its_query_runs() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as v\n"),
        (
            "models/b.sql",
            "{% call statement('q', fetch_result=True) %}\nselect sum(v) from {{ ref('a') }}\n{% endcall %}\nselect {{ load_result('q')['data'][0][0] if execute else 0 }} as total\n",
        ),
    ]);
    insta::assert_snapshot!(build_error(&p, "main.b"));
}

#[test]
fn a_failing_query_points_at_the_line_that_asked_it() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        (
            "models/a.sql",
            "{% if execute %}\n  {% set r = run_query('select * from no_such_table') %}\n{% endif %}\nselect 1 as id\n",
        ),
    ]);
    insta::assert_snapshot!(build_error(&p, "main.a"));
}

/// A dbt-duckdb profile in the project folder, with `target` below `dev:`.
fn with_duckdb_profile(target: &str) -> TempProject {
    dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id\n"),
        (
            "profiles.yml",
            &format!("shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n{target}"),
        ),
    ])
}

#[test]
fn a_dbt_duckdb_plugin_is_refused_at_its_line() {
    let p =
        with_duckdb_profile("      path: shop.duckdb\n      plugins:\n        - module: excel\n");
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn lake_keys_in_a_duckdb_target_are_refused_at_their_line() {
    let p = with_duckdb_profile("      path: shop.duckdb\n      data_path: lake_files\n");
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn a_database_naming_neither_path_nor_attach_is_refused() {
    let p = with_duckdb_profile("      path: shop.duckdb\n      database: elsewhere\n");
    insta::assert_snapshot!(refused(&p));
}

/// A plain DuckDB target keeps no snapshots: what reads them says so and
/// changes nothing; a build goes on working.
#[test]
fn history_on_a_plain_duckdb_target_is_refused() {
    let p = with_duckdb_profile("      path: shop.duckdb\n");
    p.lake_ok(&["build"]);
    let before = std::fs::read(p.path().join("shop.duckdb")).unwrap();
    let out = p.lake(&["history"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!(out.stderr);
    assert_eq!(std::fs::read(p.path().join("shop.duckdb")).unwrap(), before);
    assert!(
        !p.path().join(".lake").exists(),
        "an embedded lake was made"
    );
}

/// A dbt project with no profile has nothing to migrate but to a new
/// DuckLake: plain `lake migrate` says so and writes nothing.
#[test]
fn migrating_without_a_profile_asks_for_to_ducklake() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id\n"),
    ]);
    let out = p.lake(&["migrate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("run `lake migrate --to-ducklake`"),
        "{}",
        out.stderr
    );
    assert!(!p.path().join("project.yml").exists());
    assert!(!p.path().join("profiles.yml").exists());
    p.lake_ok(&["migrate", "--to-ducklake"]);
    p.lake_ok(&["build"]);
    assert!(p.path().join(".lake/catalog.ducklake").is_file());
}

/// No dbt project under tests/dbt, with any one file deleted or cut in
/// half, makes lake panic: each is built, and ends with exit 0 or 1.
#[test]
fn no_panic_with_a_file_deleted_or_truncated() {
    let mut tried = 0;
    for entry in std::fs::read_dir(repo_root().join("tests/dbt")).expect("tests/dbt") {
        let path = entry.expect("entry").path();
        if !path.join("dbt_project.yml").is_file() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let files: Vec<_> = walkdir::WalkDir::new(&path)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file() && e.file_name() != "expected.json")
            .map(|e| e.path().strip_prefix(&path).unwrap().to_path_buf())
            .collect();
        for file in files {
            for damage in ["deleted", "truncated"] {
                let project = dbt_project(&name);
                let target = project.path().join(&file);
                if damage == "deleted" {
                    std::fs::remove_file(&target).unwrap();
                } else {
                    let text = std::fs::read(&target).unwrap();
                    std::fs::write(&target, &text[..text.len() / 2]).unwrap();
                }
                let out = lake_command(project.path())
                    .arg("build")
                    .output()
                    .expect("lake build");
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    matches!(out.status.code(), Some(0 | 1)) && !stderr.contains("panicked"),
                    "{name} with {} {damage}: exit {:?}\n{stderr}",
                    file.display(),
                    out.status.code()
                );
                tried += 1;
            }
        }
    }
    assert!(tried > 20, "only {tried} damaged projects were tried");
}

/// `lake migrate --to-ducklake` turns the cloned project into a lake
/// project (project.yml, profiles.yml with a new default DuckLake target)
/// whose build still equals dbt's, relation for relation; the dbt profile
/// is kept beside it, and a second migrate refuses to overwrite.
#[test]
fn a_migrated_project_builds_what_dbt_built() {
    let name = "cloned_as_is";
    let project = dbt_project(name);
    let root = project.path();
    let out = lake_command(root)
        .args(["migrate", "--to-ducklake"])
        .output()
        .expect("lake migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project_yml = std::fs::read_to_string(root.join("project.yml")).unwrap();
    assert!(
        project_yml.contains("\nconventions: dbt\n"),
        "{project_yml}"
    );
    assert!(root.join("profiles.yml.dbt").is_file());
    let built = lake_command(root)
        .arg("build")
        .output()
        .expect("lake build");
    let log = String::from_utf8_lossy(&built.stderr).into_owned();
    let ducklake = open_ducklake(
        &root.join(".lake/catalog.ducklake"),
        &root.join(".lake/data"),
        "lake",
    );
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo_root()
                .join("tests/dbt")
                .join(name)
                .join("expected.json"),
        )
        .unwrap(),
    )
    .unwrap();
    same_as_dbt(
        "migrated",
        &relations(ducklake, root),
        built.status.success(),
        &log,
        &expected,
    );
    assert!(
        !root.join("cloned.duckdb").exists(),
        "the dbt database was written"
    );
    let again = lake_command(root).args(["migrate"]).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&again.stderr));
}

/// A `tests:` tree in dbt_project.yml configures the tests below its
/// folders (the project-name level as dbt writes it); a test's own config
/// wins; `+enabled: false` drops the tests it covers.
#[test]
fn a_tests_tree_configures_the_tests_below_it() {
    let p = dbt_files(&[
        (
            "dbt_project.yml",
            &format!(
                "{DBT_PROJECT}tests:\n  shop:\n    +severity: warn\n    staging:\n      +enabled: false\n"
            ),
        ),
        ("models/a.sql", "select null::int as id\n"),
        ("models/staging/s.sql", "select null::int as id\n"),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - not_null\n          - unique:\n              config:\n                severity: error\n                error_if: '>5'\n",
        ),
        (
            "models/staging/schema.yml",
            "version: 2\nmodels:\n  - name: s\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
        ),
    ]);
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out.assert_stdout_has("WARN  test not_null_a_id");
    out.assert_stdout_has("PASS  test unique_a_id");
    assert!(!out.stdout.contains("not_null_s_id"), "{}", out.stdout);
}

/// A test entry's `name:` names the test, in both of dbt's forms, and
/// the names stay out of the arguments (and so out of the SQL).
#[test]
fn a_test_entry_s_name_names_the_test() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id, 'x' as kind\n"),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - unique:\n              name: ids_are_unique\n      - name: kind\n        data_tests:\n          - name: kinds_are_known\n            test_name: accepted_values\n            values: [x, y]\n",
        ),
    ]);
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out.assert_stdout_has("PASS  test ids_are_unique");
    out.assert_stdout_has("PASS  test kinds_are_known");
}

#[test]
fn two_tests_with_one_name_are_refused_at_the_second() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id\n"),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - unique:\n              name: id_ok\n          - not_null:\n              name: id_ok\n",
        ),
    ]);
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn a_singular_test_s_bad_config_is_refused_at_its_line() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select 1 as id\n"),
        (
            "tests/a_check.sql",
            "-- checks a\n{{ config(store_failures_as='parquet') }}\nselect * from {{ ref('a') }} where id < 0\n",
        ),
    ]);
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn a_dbt_package_is_refused_at_its_entry() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        (
            "models/a.sql",
            "select {{ dbt_utils.generate_surrogate_key(['id']) }} as k\n",
        ),
        (
            "packages.yml",
            "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
        ),
    ]);
    insta::assert_snapshot!(refused(&p));
}

/// A `{% set x = [...] %}` becomes a list that changes in place (its
/// literal is wrapped before parsing): an error after it still points at
/// the line and column the author wrote.
#[test]
fn an_error_after_a_list_literal_points_where_the_author_wrote_it() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        (
            "models/a.sql",
            "{% set cols = ['a', 'b'] %}{% do cols.append('c') %}\nselect {{ cols | length }} as n,\n  {{ no_such_macro() }} as b\n",
        ),
    ]);
    let err = refused(&p);
    assert!(err.contains("models/a.sql:3:6"), "{err}");
}

/// A password inside an `attach:` path (a PostgreSQL connection string)
/// reaches DuckDB, and never the statements lake prints or records.
#[test]
fn an_attach_password_is_used_but_never_shown() {
    let password = std::env::var("LAKE_TEST_PG_PASSWORD").expect(
        "LAKE_TEST_PG_PASSWORD is not set: start the test servers with `bash .ci/services up && . ~/.cache/lake/services/env`",
    );
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        (
            "models/pg_schemas.sql",
            "select count(*) > 0 as seen from pg.information_schema.schemata\n",
        ),
        (
            "profiles.yml",
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: shop.duckdb\n      attach:\n        - path: \"dbname=postgres host=127.0.0.1 port={{ env_var('LAKE_TEST_PG_PORT') }} user=postgres password={{ env_var('LAKE_TEST_PG_PASSWORD') }}\"\n          type: postgres\n          alias: pg\n          read_only: true\n",
        ),
    ]);
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let shown = p.lake_ok(&["debug", "--print-attach"]);
    assert!(
        shown
            .stdout
            .contains("password=<attach password from profiles.yml>"),
        "{}",
        shown.stdout
    );
    let mut printed = format!(
        "{}{}{}{}",
        out.stdout, out.stderr, shown.stdout, shown.stderr
    );
    for file in walkdir::WalkDir::new(p.path().join("target"))
        .into_iter()
        .flatten()
    {
        if file.file_type().is_file() {
            printed.push_str(&std::fs::read_to_string(file.path()).unwrap_or_default());
        }
    }
    assert!(!printed.contains(&password), "the password was shown");
}

#[test]
fn raise_compiler_error_stops_at_the_line_that_raises_it() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        (
            "macros/checks.sql",
            "{% macro positive(x) %}\n  {%- if x <= 0 -%}\n    {{ exceptions.raise_compiler_error('expected a positive number, got ' ~ x) }}\n  {%- endif -%}\n  {{- return(x) -}}\n{% endmacro %}\n",
        ),
        ("models/a.sql", "select {{ positive(3) }} as ok,\n  {{ positive(-1) }} as bad\n"),
    ]);
    insta::assert_snapshot!(refused(&p));
}

#[test]
fn a_dispatch_without_a_macro_names_the_macros_it_looked_for() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        (
            "models/a.sql",
            "select {{ adapter.dispatch('cents', 'dbt_utils')('x') }} as c\n",
        ),
    ]);
    insta::assert_snapshot!(refused(&p));
}

/// `invocation_id` is the run's id, the one run_results.json records.
#[test]
fn invocation_id_is_the_run_s_id() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "select '{{ invocation_id }}' as id\n"),
    ]);
    p.lake_ok(&["build"]);
    let results = p.run_results();
    let id = results["metadata"]["invocation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!id.is_empty());
    let built = p.read("target/compiled/a.sql");
    assert!(built.contains(&format!("'{id}' as id")), "{built}");
}

/// Tests of an ephemeral model read it as a CTE (it has no relation), and
/// a model-level test's `column_name:` is an expression, as in dbt.
#[test]
fn tests_on_ephemeral_models_and_column_name_expressions_run() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        (
            "models/eph.sql",
            "{{ config(materialized='ephemeral') }}\nselect * from (values (1, 'a'), (2, 'b'), (2, 'c')) t(id, kind)\n",
        ),
        ("models/a.sql", "select * from {{ ref('eph') }}\n"),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: eph\n    columns:\n      - name: id\n        data_tests:\n          - not_null\n          - unique:\n              config: {severity: warn}\n  - name: a\n    data_tests:\n      - unique:\n          column_name: \"id || '-' || kind\"\n",
        ),
    ]);
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out.assert_stdout_has("PASS  test not_null_eph_id");
    out.assert_stdout_has("WARN  test unique_eph_id [1 failing rows");
    out.assert_stdout_has("PASS  test unique_a_id_kind");
}

#[test]
fn stored_failures_may_not_replace_a_model() {
    let p = dbt_files(&[
        ("dbt_project.yml", DBT_PROJECT),
        ("models/a.sql", "{{ config(schema='checks') }}\nselect 1 as id\n"),
        (
            "tests/a_check.sql",
            "{{ config(store_failures=true, schema='checks', alias='a') }}\nselect * from {{ ref('a') }} where id < 0\n",
        ),
    ]);
    insta::assert_snapshot!(refused(&p));
}
