//! Profile lookup and targets: the embedded default with no profiles.yml,
//! env_var interpolation, lookup order, and secrets that never print.

mod util;
use util::TempProject;

const PROFILES: &str = "\
demo:
  target: dev
  outputs:
    dev:
      type: ducklake
      catalog:
        type: duckdb
        path: .lake/dev.ducklake
      data_path: .lake/dev_data
    prod:
      type: ducklake
      database: lakehouse
      catalog:
        type: postgres
        host: \"{{ env_var('LAKE_T_PG_HOST', '127.0.0.1') }}\"
        port: \"{{ env_var('LAKE_T_PG_PORT', '5432') }}\"
        database: ducklake_catalog
        user: lake
        password: \"{{ env_var('LAKE_T_PG_PASSWORD') }}\"
      data_path: s3://ducklake/lake/
      s3:
        endpoint: 127.0.0.1:9000
        url_style: path
        use_ssl: false
        key_id: \"{{ env_var('LAKE_T_KEY') }}\"
        secret: \"{{ env_var('LAKE_T_SECRET') }}\"
";

fn manifest(p: &TempProject) -> serde_json::Value {
    serde_json::from_str(&p.read("target/manifest.json")).unwrap()
}

#[test]
fn no_profiles_file_means_the_embedded_default() {
    let p = TempProject::new();
    p.file(
        "models/a.sql",
        "select '{{ target.name }} {{ target.catalog_type }} {{ target.database }}' as t\n",
    );
    let out = p.lake(&["compile"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        p.read("target/compiled/a.sql"),
        "select 'dev duckdb lake' as t\n"
    );
    assert_eq!(manifest(&p)["metadata"]["catalog_type"], "duckdb");
}

#[test]
fn target_flag_and_env_var_interpolation() {
    let p = TempProject::new();
    p.file("profiles.yml", PROFILES).file(
        "models/a.sql",
        "select '{{ target.name }} {{ target.catalog_type }}' as t from {{ this }}\n",
    );
    let env = [
        ("LAKE_T_PG_PASSWORD", "pg-s3cret-value"),
        ("LAKE_T_KEY", "AKIAKEYVALUE"),
        ("LAKE_T_SECRET", "s3-s3cret-value"),
    ];
    let out = p.lake_env(&["compile", "--target", "prod", "-vvv"], &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        p.read("target/compiled/a.sql"),
        "select 'prod postgres' as t from lakehouse.main.a\n"
    );
    let everything = format!(
        "{}{}{}",
        out.stdout,
        out.stderr,
        p.read("target/manifest.json")
    );
    for secret in ["pg-s3cret-value", "AKIAKEYVALUE", "s3-s3cret-value"] {
        assert!(!everything.contains(secret), "secret leaked: {secret}");
    }
}

#[test]
fn missing_env_var_names_the_variable_not_a_value() {
    let p = TempProject::new();
    p.file("profiles.yml", PROFILES)
        .file("models/a.sql", "select 1\n");
    let out = p.lake_env(
        &["compile", "--target", "prod"],
        &[("LAKE_T_KEY", "AKIAKEYVALUE"), ("LAKE_T_SECRET", "x")],
    );
    assert_eq!(out.code, 1);
    insta::assert_snapshot!(out.stderr);
    assert!(!out.stderr.contains("AKIAKEYVALUE"));
}

#[test]
fn unknown_target_suggests_the_nearest() {
    let p = TempProject::new();
    p.file("profiles.yml", PROFILES)
        .file("models/a.sql", "select 1\n");
    let out = p.lake(&["compile", "--target", "prd"]);
    assert_eq!(out.code, 1);
    insta::assert_snapshot!(out.stderr);
}

#[test]
fn typo_in_profiles_points_at_the_key() {
    let p = TempProject::new();
    p.file(
        "profiles.yml",
        "demo:\n  outputs:\n    dev:\n      type: ducklake\n      data_pth: x\n",
    )
    .file("models/a.sql", "select 1\n");
    let out = p.lake(&["compile"]);
    assert_eq!(out.code, 1);
    insta::assert_snapshot!(out.stderr);
}

#[test]
fn lookup_order_flag_then_env_then_project_then_home() {
    let p = TempProject::new();
    let named = |db: &str| format!("demo:\n  outputs:\n    dev:\n      database: {db}\n");
    p.file("models/a.sql", "select '{{ target.database }}' as d\n")
        .file("home/.lake/profiles.yml", &named("from_home"));
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut full = vec!["compile"];
        full.extend_from_slice(args);
        let out = p.lake_env(&full, env);
        assert_eq!(out.code, 0, "{}", out.stderr);
        p.read("target/compiled/a.sql")
    };
    assert_eq!(run(&[], &[]), "select 'from_home' as d\n");
    p.file("profiles.yml", &named("from_project"));
    assert_eq!(run(&[], &[]), "select 'from_project' as d\n");
    p.file("envdir/profiles.yml", &named("from_env"));
    let envdir = p.path().join("envdir");
    assert_eq!(
        run(&[], &[("LAKE_PROFILES_DIR", envdir.to_str().unwrap())]),
        "select 'from_env' as d\n"
    );
    p.file("flagdir/profiles.yml", &named("from_flag"));
    let flagdir = p.path().join("flagdir");
    assert_eq!(
        run(
            &["--profiles-dir", flagdir.to_str().unwrap()],
            &[("LAKE_PROFILES_DIR", envdir.to_str().unwrap())]
        ),
        "select 'from_flag' as d\n"
    );
}

#[test]
fn the_example_profiles_file_is_valid_for_every_target() {
    let p = TempProject::new();
    let example = std::fs::read_to_string(util::repo_root().join("profiles.yml.example")).unwrap();
    p.file("project.yml", "name: browser_events\n")
        .file("profiles.yml", &example)
        .file(
            "models/a.sql",
            "select '{{ target.name }} {{ target.catalog_type }}' as t\n",
        );
    let env = [
        ("LAKE_PG_PASSWORD", "pw"),
        ("LAKE_S3_KEY_ID", "id"),
        ("LAKE_S3_SECRET", "secret"),
    ];
    for (target, expected) in [("dev", "dev duckdb"), ("prod", "prod postgres")] {
        let out = p.lake_env(&["compile", "--target", target], &env);
        assert_eq!(out.code, 0, "{target}: {}", out.stderr);
        assert_eq!(
            p.read("target/compiled/a.sql"),
            format!("select '{expected}' as t\n")
        );
    }
}
