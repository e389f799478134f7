//! Reading a lake in the test process with DuckDB, independently of lake:
//! the attach statement of an embedded lake and rows as text. Kept free of
//! the rest of `tests/util` so the benchmarks can include it with `#[path]`.
#![allow(dead_code)]

use std::path::Path;

/// The statements that load DuckLake from `extensions` (never downloading)
/// and attach the embedded lake of the project at `root` as `lake`,
/// read-only or not (a read-write attach takes DuckDB's exclusive lock).
pub fn attach_embedded_sql(extensions: &Path, root: &Path, read_only: bool) -> String {
    format!(
        "SET autoinstall_known_extensions = false; SET extension_directory = '{ext}'; LOAD ducklake; \
         ATTACH 'ducklake:{root}/.lake/catalog.ducklake' AS lake (DATA_PATH '{root}/.lake/data/'{ro});",
        ext = extensions.display(),
        root = root.display(),
        ro = if read_only { ", READ_ONLY" } else { "" }
    )
}

/// The statements that attach a `Lake::Prod` project's lake (catalog
/// schema and bucket prefix `unique`) from the test servers' environment;
/// `endpoint` overrides the S3 server's.
pub fn attach_prod_sql(
    extensions: &Path,
    unique: &str,
    endpoint: Option<&str>,
    read_only: bool,
) -> String {
    let v = |k: &str| std::env::var(k).unwrap();
    format!(
        "SET autoinstall_known_extensions = false; SET extension_directory = '{ext}'; LOAD ducklake; \
         LOAD postgres_scanner; LOAD httpfs; \
         CREATE SECRET (TYPE s3, KEY_ID '{key}', SECRET '{secret}', ENDPOINT '{endpoint}', URL_STYLE 'path', USE_SSL false, REGION 'us-east-1'); \
         ATTACH 'ducklake:postgres:dbname=postgres host=127.0.0.1 port={port} user=postgres password={pw}' AS lake \
           (DATA_PATH 's3://{bucket}/{unique}/', METADATA_SCHEMA '{unique}'{ro})",
        key = v("LAKE_TEST_S3_KEY_ID"),
        secret = v("LAKE_TEST_S3_SECRET"),
        endpoint = endpoint.map(str::to_string).unwrap_or_else(|| v("LAKE_TEST_S3_ENDPOINT")),
        port = v("LAKE_TEST_PG_PORT"),
        pw = v("LAKE_TEST_PG_PASSWORD"),
        bucket = v("LAKE_TEST_S3_BUCKET"),
        ext = extensions.display(),
        ro = if read_only { ", READ_ONLY" } else { "" }
    )
}

/// Every value of `sql`'s rows as text; NULL is "NULL".
pub fn text_rows(conn: &duckdb::Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn
        .prepare(&format!("SELECT COLUMNS(*)::VARCHAR FROM ({sql})"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut rows = stmt.query([]).expect("query");
    let n = rows.as_ref().expect("a prepared statement").column_count();
    let mut out = Vec::new();
    while let Some(r) = rows.next().expect("row") {
        out.push(
            (0..n)
                .map(|i| {
                    r.get::<_, Option<String>>(i)
                        .expect("a value as text")
                        .unwrap_or_else(|| "NULL".into())
                })
                .collect(),
        );
    }
    out
}
