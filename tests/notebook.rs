//! The notebook path, as the original notebooks used it: attach the lake,
//! `USE lake`, then `select * from mart.top_performing_products`. On both
//! targets, after an hourly run: `lake query` and `lake show` read with the
//! lake as the default catalog, let any read statement through (DESCRIBE,
//! SUMMARIZE, SHOW, PIVOT, EXPLAIN, FROM-first) and print CSV or JSON; and
//! `lake debug --print-attach` prints statements that a fresh DuckDB runs,
//! placeholders filled in, to read the very same lake, never a secret.
//!
//! The mart columns are read from the lake itself, never written down here:
//! the marts' definitions may change, what must hold is that lake shows
//! what the lake holds.

#[macro_use]
mod util;

use util::lakehouse::{Lakehouse, SAMPLE_HOURS};
use util::Lake;

on_both_targets!(
    a_notebook_reads_the_lake_without_the_catalog_prefix,
    print_attach_opens_the_same_lake_in_a_fresh_duckdb,
    the_first_reader_of_a_new_lake_creates_it_later_ones_only_read,
);

/// The repo's project after one hourly run over the 3-hour sample: the
/// committed one on the embedded lake, the same hours generated with the
/// same seed into the bucket on the production one, so both hold the same
/// rows and print the same CSV.
fn built(lake: Lake) -> Lakehouse {
    let h = match lake {
        Lake::Embedded => Lakehouse::new(lake).with_committed_sample(),
        Lake::Prod => {
            let h = Lakehouse::new(lake);
            h.generate(0, SAMPLE_HOURS, &[]);
            h
        }
    };
    h.schedule_ok("hourly");
    h
}

/// `lake query <sql> --format json`, parsed: one object per row.
fn query_json(h: &Lakehouse, sql: &str) -> Vec<serde_json::Value> {
    let out = h.p.lake_ok(&["query", sql, "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{sql}: not JSON ({e}):\n{}", out.stdout));
    parsed.as_array().expect("a JSON array").clone()
}

/// A mart's column names, in order, read from the lake's own catalog with
/// an independent DuckDB (not through lake, not through DESCRIBE).
fn mart_columns(h: &Lakehouse, mart: &str) -> Vec<String> {
    h.p.rows(&format!(
        "select column_name from duckdb_columns() where database_name = 'lake' \
         and schema_name = 'mart' and table_name = '{mart}' order by column_index"
    ))
    .into_iter()
    .map(|r| r[0].clone())
    .collect()
}

fn a_notebook_reads_the_lake_without_the_catalog_prefix(lake: Lake) {
    let h = built(lake);
    let raw = h.raw_counts();
    assert_eq!(raw, h.raw_counts_of_reference(), "raw row counts");

    // Schema-qualified names resolve in the lake, as after `USE lake`.
    let out =
        h.p.lake_ok(&["query", "select count(*) from raw.browser_events"]);
    out.assert_stdout_has(&format!("│ {} ", raw[0]));
    let out = h.p.lake_ok(&[
        "query",
        "select count(*) as n from raw.browser_events",
        "--format",
        "csv",
    ]);
    assert_eq!(out.stdout, format!("n\n{}\n", raw[0]));
    // ref() and fully qualified names keep working beside them.
    let out = h.p.lake_ok(&[
        "query",
        "select (select count(*) from {{ ref('browser_events') }}) as a, \
             (select count(*) from lake.raw.browser_events) as b",
        "--format",
        "csv",
    ]);
    assert_eq!(out.stdout, format!("a,b\n{0},{0}\n", raw[0]));

    // DESCRIBE lists the mart's columns, in order.
    let columns = mart_columns(&h, "top_performing_products");
    assert!(!columns.is_empty(), "the mart has no columns");
    let described = query_json(&h, "describe mart.top_performing_products");
    let names: Vec<&str> = described
        .iter()
        .map(|c| c["column_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, columns);
    let out =
        h.p.lake_ok(&["query", "describe mart.top_performing_products"]);
    assert!(
        columns.iter().all(|c| out.stdout.contains(c.as_str())),
        "{}",
        out.stdout
    );

    // SUMMARIZE: one object per column, its row count a JSON number.
    let mart = "events_distribution_hourly";
    let columns = mart_columns(&h, mart);
    let rows: u64 = h.p.rows(&format!("select count(*) from lake.mart.{mart}"))[0][0]
        .parse()
        .unwrap();
    let summary = query_json(&h, &format!("summarize mart.{mart}"));
    assert_eq!(summary.len(), columns.len(), "{summary:?}");
    for (object, column) in summary.iter().zip(&columns) {
        assert_eq!(object["column_name"], column.as_str(), "{object}");
        assert_eq!(object["count"].as_u64(), Some(rows), "{object}");
    }

    // Other read statements, run as written.
    let out =
        h.p.lake_ok(&["query", "show all tables", "--format", "csv"]);
    out.assert_stdout_has(",mart,top_performing_products,");
    let out =
        h.p.lake_ok(&["query", "from raw.browser_events select count(*) as n"]);
    out.assert_stdout_has(&format!("│ {} ", raw[0]));
    let out =
        h.p.lake_ok(&["query", "explain select count(*) from raw.browser_events"]);
    out.assert_stdout_has("physical_plan");
    let pivot = query_json(
        &h,
        "pivot (select browser_name from raw.browser_events) on browser_name using count(*)",
    );
    let browsers = h.p.rows(
        "select browser_name, count(*) from lake.raw.browser_events group by all order by all",
    );
    assert_eq!(pivot.len(), 1, "{pivot:?}");
    for b in &browsers {
        assert_eq!(pivot[0][&b[0]].to_string(), b[1], "{pivot:?}");
    }

    // CSV, pinned: the same rows on both targets. A header with a comma is
    // quoted.
    let out = h.p.lake_ok(&[
        "query",
        "select browser_name, count(*) as \"events, all\" from raw.browser_events \
             group by all order by all",
        "--format",
        "csv",
    ]);
    insta::assert_snapshot!("browser_events_csv", out.stdout);

    // `lake show` takes the format too; with more rows than --limit, the
    // notice goes to stderr and stdout stays data.
    let n: usize =
        h.p.rows("select count(*) from lake.mart.events_distribution_hourly")[0][0]
            .parse()
            .unwrap();
    assert!(n > 2, "too few rows to cut: {n}");
    let out = h.p.lake_ok(&[
        "show",
        "events_distribution_hourly",
        "--format",
        "csv",
        "-n",
        "2",
    ]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(lines[0], columns.join(","));
    assert_eq!(
        out.stderr,
        "2 rows shown; there are more (raise --limit to see them)\n"
    );
    let out = h.p.lake_ok(&[
        "show",
        "events_distribution_hourly",
        "--format",
        "json",
        "-n",
        "2",
    ]);
    let parsed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 2);

    // A reader cannot change the lake.
    let out = h.lake(&["query", "create table mart.scratch as select 1 as x"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    out.assert_stderr_has("read-only");
}

/// Replaces each `${NAME}` with the environment variable's value, as
/// `envsubst` or Python's `os.path.expandvars` would.
fn substitute(script: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = script;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').expect("closing brace");
        let name = &rest[start + 2..end];
        let value = env
            .iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("the placeholder names `{name}`, which is not set"));
        out.push_str(&rest[..start]);
        out.push_str(&value.1);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn print_attach_opens_the_same_lake_in_a_fresh_duckdb(lake: Lake) {
    let h = built(lake);
    let out = h.p.lake_ok(&["debug", "--print-attach"]);
    let script = out.stdout;

    // No secret, in any form: the placeholders name where each comes from.
    let env = h.env();
    for key in [
        "LAKE_TEST_PG_PASSWORD",
        "LAKE_TEST_S3_KEY_ID",
        "LAKE_TEST_S3_SECRET",
    ] {
        if let Some((_, value)) = env.iter().find(|(k, _)| k == key) {
            if lake == Lake::Prod {
                assert!(script.contains(&format!("${{{key}}}")), "{script}");
            }
            assert!(!script.contains(value.as_str()), "{key} printed:\n{script}");
        }
    }

    // Pinned, with this machine's paths and ports left out.
    let mut placeholders = util::Placeholders::new()
        .literal(&util::extension_dir().display().to_string(), "[EXTENSIONS]")
        .project(h.p.path());
    if lake == Lake::Prod {
        let value = |key: &str| env.iter().find(|(k, _)| k == key).unwrap().1.clone();
        placeholders = placeholders
            .literal(&h.p.unique, "[UNIQUE]")
            .literal(
                &format!("s3://{}/", value("LAKE_TEST_S3_BUCKET")),
                "s3://[LAKE_TEST_S3_BUCKET]/",
            )
            .literal(&value("LAKE_TEST_S3_ENDPOINT"), "[LAKE_TEST_S3_ENDPOINT]")
            .literal(
                &format!("PORT {},", value("LAKE_TEST_PG_PORT")),
                "PORT [LAKE_TEST_PG_PORT],",
            );
    }
    placeholders.bind(|| {
        insta::assert_snapshot!(format!("print_attach_{lake:?}").to_lowercase(), script);
    });

    // The statements work: a fresh DuckDB, as a notebook opens one, reads
    // the marts and raw tables with the lake as its default catalog.
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(&substitute(&script, &env))
        .unwrap_or_else(|e| panic!("{e}\n{script}"));
    let count = |sql: &str| -> String {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .to_string()
    };
    assert_eq!(
        count("select count(*) from mart.top_performing_products"),
        h.p.rows("select count(*) from lake.mart.top_performing_products")[0][0]
    );
    assert_eq!(
        count("select count(*) from raw.browser_events"),
        h.raw_counts()[0]
    );
    // Read-only, as printed.
    let write = conn.execute_batch("create table mart.scratch as select 1 as x");
    assert!(write.is_err(), "a write went through the printed attach");
}

/// Readers attach read-only, and a catalog that does not exist yet cannot
/// be attached so: the first reader of a never-built lake creates it (as
/// before readers were read-only), every later one reads only.
fn the_first_reader_of_a_new_lake_creates_it_later_ones_only_read(lake: Lake) {
    let h = Lakehouse::new(lake);
    let out =
        h.p.lake_ok(&["query", "select 42 as answer", "--format", "csv"]);
    assert_eq!(out.stdout, "answer\n42\n");
    let out =
        h.p.lake_ok(&["query", "select 43 as answer", "--format", "csv"]);
    assert_eq!(out.stdout, "answer\n43\n");
    let out = h.lake(&["query", "create table main.scratch as select 1 as x"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    out.assert_stderr_has("read-only");
}
