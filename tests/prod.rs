//! The production target: DuckLake catalog in PostgreSQL, data in an
//! S3-compatible server, both real and on 127.0.0.1 (started by
//! `.ci/services up`). Each test gets its own catalog schema and bucket
//! prefix, so tests run in parallel.

mod util;
use util::{Lake, TempProject};

/// Connection settings of the test servers, from `.ci/services`' env file.
struct Services {
    pg_port: String,
    pg_password: String,
    s3_key: String,
    s3_secret: String,
    bucket: String,
}

/// The servers' settings from the environment. Every `lake` command
/// inherits them (the test profile reads them with `env_var()`), so a test
/// passes only the one it changes.
fn services() -> Services {
    let get = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("{k} is not set: start the test servers with `bash .ci/services up && source ~/.cache/lake/services/env` (or run `bash .ci/run`)")
        })
    };
    Services {
        pg_port: get("LAKE_TEST_PG_PORT"),
        pg_password: get("LAKE_TEST_PG_PASSWORD"),
        s3_key: get("LAKE_TEST_S3_KEY_ID"),
        s3_secret: get("LAKE_TEST_S3_SECRET"),
        bucket: get("LAKE_TEST_S3_BUCKET"),
    }
}

/// A query against Postgres with psql, an independent client.
fn psql(s: &Services, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &s.pg_port,
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tA",
            "-c",
            sql,
        ])
        .env("PGPASSWORD", &s.pg_password)
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn read_back(p: &TempProject, sql: &str, s3_endpoint: Option<&str>) -> Vec<String> {
    p.rows_at(sql, s3_endpoint)
        .into_iter()
        .map(|r| r.join("|"))
        .collect()
}

#[test]
fn writes_land_in_postgres_and_the_bucket_and_read_back() {
    let s = services();
    let p = TempProject::on(Lake::Prod);
    let unique = p.unique.clone();
    p.file("seeds/colors.csv", "id,name\n1,red\n2,green\n")
        .file("models/stage/numbers.sql", "{{ config(materialized='table') }}select range as n from range(1000)\n")
        .file("models/mart/summary.sql", "{{ config(materialized='table') }}select count(*) as c, sum(n) as s from {{ ref('numbers') }}\n");
    let out = p.lake(&["build"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // The catalog, seen by psql.
    assert_eq!(
        psql(&s, &format!("select string_agg(table_name, ',' order by table_name) from {unique}.ducklake_table where end_snapshot is null")),
        "colors,node_state,numbers,summary"
    );
    // The data, listed with an S3 client.
    // aws-sdk-s3: a client independent of lake and DuckDB.
    let keys = util::s3::list_objects(&format!("{unique}/"));
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("{unique}/stage/numbers/")) && k.ends_with(".parquet")),
        "{keys:?}"
    );
    // summary (1 row) and colors (2 rows) are small enough for DuckLake to
    // inline into the catalog: no parquet file for them.
    assert!(
        !keys.iter().any(|k| k.contains("/mart/summary/")),
        "{keys:?}"
    );
    // And read back through a second DuckDB.
    assert_eq!(
        read_back(&p, "select c, s from lake.mart.summary", None),
        ["1000|499500"]
    );
    assert_eq!(
        read_back(&p, "select name from lake.main.colors order by id", None),
        ["red", "green"]
    );
}

#[test]
fn wrong_postgres_password_is_clear_and_secret_free() {
    let p = TempProject::on(Lake::Prod);
    p.file("models/stage/a.sql", "select 1\n");
    let e = [("LAKE_TEST_PG_PASSWORD", "not-the-pg-password-42")];
    let out = p.lake_env(&["run"], &e);
    assert_eq!(out.code, 1);
    out.assert_stderr_has("password authentication failed for user \"postgres\"");
    out.assert_stderr_has("error[L060]: cannot attach the PostgreSQL catalog");
    assert!(
        !out.stderr.contains("not-the-pg-password-42")
            && !out.stdout.contains("not-the-pg-password-42")
    );
}

#[test]
fn wrong_s3_secret_is_clear_secret_free_and_publishes_nothing() {
    let s = services();
    let p = TempProject::on(Lake::Prod);
    let unique = p.unique.clone();
    // Enough rows that DuckLake writes a parquet file instead of inlining.
    p.file(
        "models/stage/a.sql",
        "{{ config(materialized='table') }}select range as x from range(100)\n",
    );
    let e = [("LAKE_TEST_S3_SECRET", "not-the-s3-secret-43")];
    let out = p.lake_env(&["run"], &e);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("SignatureDoesNotMatch") || out.stdout.contains("403"),
        "{}",
        out.stdout
    );
    let all = format!(
        "{}{}{}",
        out.stdout,
        out.stderr,
        p.read("target/run_results.json")
    );
    assert!(!all.contains("not-the-s3-secret-43"), "secret leaked");
    assert_eq!(
        psql(&s, &format!("select count(*) from {unique}.ducklake_table")),
        "0",
        "no table published"
    );
}

#[test]
fn unreachable_postgres_is_a_clear_error() {
    let p = TempProject::on(Lake::Prod);
    p.file("models/stage/a.sql", "select 1\n");
    let e = [("LAKE_TEST_PG_PORT", "1")];
    let out = p.lake_env(&["run"], &e);
    assert_eq!(out.code, 1);
    out.assert_stderr_has("cannot attach the PostgreSQL catalog postgres on 127.0.0.1:1");
    out.assert_stderr_has("Connection refused");
}

#[test]
fn s3_server_stopped_mid_run_fails_clearly_and_published_tables_stay_unchanged() {
    // A private S3 server for this test only, so stopping it disturbs no
    // other test.
    let s = services();
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join(&s.bucket)).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let start = || {
        let child = std::process::Command::new("nanio")
            .args([
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--no-access-log",
                "--log-level",
                "error",
                "--data-dir",
            ])
            .arg(data.path())
            .env("NANIO_ACCESS_KEY", &s.s3_key)
            .env("NANIO_SECRET_KEY", &s.s3_secret)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nanio (installed by .ci/services)");
        util::wait_until(&format!("the S3 server on port {port}"), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        child
    };
    let p = TempProject::on(Lake::Prod);
    let endpoint = format!("127.0.0.1:{port}");
    let e = [("LAKE_TEST_S3_ENDPOINT", endpoint.as_str())];
    p.file(
        "models/stage/big.sql",
        "{{ config(materialized='table') }}select range as n from range(100)\n",
    );
    let mut server = start();
    assert_eq!(p.lake_env(&["run"], &e).code, 0);
    // Rebuild with a model that computes for a while before writing, and
    // stop the S3 server while it computes: the write then fails.
    p.file(
        "models/stage/big.sql",
        "{{ config(materialized='table') }}select range * 2 as n from range(100)\n\
         where (select count(*) from range(30000) a, range(30000) b where (a.range * b.range) % 7 = 3) > 0\n",
    );
    let mut run = p
        .command(&["run"])
        .envs(e)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(run.stdout.take().unwrap()));
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let started = line.contains("START model stage.big");
        seen.push(line);
        if started {
            break;
        }
    }
    // The statement computes (the server is not needed until it writes).
    util::wait_until_computing(&mut run, 0.3);
    server.kill().unwrap();
    server.wait().unwrap();
    seen.extend(lines.map(|l| l.unwrap()));
    let status = run.wait().unwrap();
    let stdout = seen.join("\n");
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ERROR model stage.big"), "{stdout}");
    assert!(
        stdout.contains("Connection refused")
            || stdout.contains("Could not establish connection")
            || stdout.contains("HTTP"),
        "the error names the S3 failure: {stdout}"
    );

    let mut server = start();
    assert_eq!(
        read_back(
            &p,
            "select sum(n) from lake.stage.big",
            Some(&format!("127.0.0.1:{port}"))
        ),
        ["4950"],
        "previous table unchanged"
    );
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn debug_checks_each_piece_and_names_the_failing_one() {
    let p = TempProject::on(Lake::Prod);
    p.file("models/stage/a.sql", "select 1\n");
    let out = p.lake(&["debug"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for line in [
        "extensions OK",
        "postgres  OK  reachable and authenticated",
        "is reachable",
        "All checks passed.",
    ] {
        assert!(
            out.stdout.contains(line),
            "missing `{line}`:\n{}",
            out.stdout
        );
    }
    let e = [("LAKE_TEST_S3_SECRET", "debug-wrong-secret-77")];
    let out = p.lake_env(&["debug"], &e);
    assert_eq!(out.code, 1);
    out.assert_stdout_has("data path FAIL");
    out.assert_stdout_has("fix: the S3 server refused the credentials");
    assert!(
        !out.stdout.contains("debug-wrong-secret-77")
            && !out.stderr.contains("debug-wrong-secret-77")
    );
}

#[test]
fn a_postgres_password_with_spaces_quotes_and_backslashes_works_and_never_prints() {
    // Regression: the catalog connection string left values unquoted, so a
    // password with a space was cut at the space (and a quote broke it).
    let s = services();
    let role = format!("lake_odd_{}", std::process::id());
    let password = r#"it's a "pass" \ word"#;
    psql(
        &s,
        &format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD '{}'; GRANT CREATE ON DATABASE postgres TO {role};",
            password.replace('\'', "''")
        ),
    );
    let p = TempProject::on(Lake::Prod);
    let profile = p
        .read("profiles.yml")
        .replace("user: postgres", &format!("user: {role}"))
        .replace(
            "env_var('LAKE_TEST_PG_PASSWORD')",
            "env_var('ODD_PG_PASSWORD')",
        );
    p.file("profiles.yml", &profile)
        .file("models/stage/a.sql", "select 42 as answer\n");
    let e = [("ODD_PG_PASSWORD", password)];
    let out = p.lake_env(&["run"], &e);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("pass\" \\") && !out.stderr.contains("pass\" \\"));
    // A wrong odd password is refused and not echoed in any form.
    let e = [("ODD_PG_PASSWORD", r#"wrong 'sesame' \ secret"#)];
    let out = p.lake_env(&["run"], &e);
    assert_eq!(out.code, 1);
    out.assert_stderr_has("password authentication failed");
    assert!(
        !out.stderr.contains("sesame") && !out.stdout.contains("sesame"),
        "{}",
        out.stderr
    );
}
