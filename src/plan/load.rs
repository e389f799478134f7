//! SQL of exactly-once raw loads, pure like the rest of `plan`: one landed
//! file's rows and its ledger row are written in one DuckLake transaction,
//! so a file is either loaded and recorded, or neither. The ledger lives in
//! the lake itself (`<db>._lake.loaded_files`), so it can never disagree
//! with the tables it describes, whatever the catalog.

use crate::nodes::{quote, Relation};

/// Schema of lake's own bookkeeping tables.
pub const LEDGER_SCHEMA: &str = "_lake";

/// What `landed_file()` renders to; the loader replaces it with each file.
pub const LANDED_FILE_MARKER: &str = "__lake_landed_file__";

/// The table function `landed_file()` stands for in a `load` model: every
/// JSON line of one landed file. Types are inferred from the whole file and
/// then cast by the model's select list.
pub fn landed_file_sql() -> String {
    format!("read_json('{LANDED_FILE_MARKER}', format = 'newline_delimited', sample_size = -1)")
}

/// `<db>._lake.<table>`: one of lake's own bookkeeping tables.
pub fn ledger_table(database: &str, table: &str) -> String {
    format!("{}.{}.{table}", quote(database), quote(LEDGER_SCHEMA))
}

fn ledger(database: &str) -> String {
    ledger_table(database, "loaded_files")
}

/// Creates the ledger, the quarantine and the landed-file origins if
/// missing.
pub fn ensure_ledger(database: &str) -> Vec<String> {
    let mut sql = vec![
        format!(
            "CREATE SCHEMA IF NOT EXISTS {}.{}",
            quote(database),
            quote(LEDGER_SCHEMA)
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (relation VARCHAR, file VARCHAR, row_count BIGINT, loaded_at TIMESTAMP)",
            ledger(database)
        ),
    ];
    sql.extend(super::quarantine::ensure_tables(database));
    sql
}

/// Landed files already loaded: `(relation, file)`.
pub fn loaded_files(database: &str) -> String {
    format!(
        "SELECT relation, file FROM {} ORDER BY 1, 2",
        ledger(database)
    )
}

/// `schema.name`, as the ledger names a relation.
pub fn ledger_name(rel: &Relation) -> String {
    format!("{}.{}", rel.schema, rel.identifier)
}

/// The write of one landed file's rows (first statement of the transaction).
pub fn load_file(rel: &Relation, sql: &str, url: &str, table_exists: bool) -> String {
    let sql = sql
        .trim()
        .trim_end_matches(';')
        .replace(LANDED_FILE_MARKER, &url.replace('\'', "''"));
    if table_exists {
        format!("INSERT INTO {rel} BY NAME\n{sql}")
    } else {
        format!("CREATE TABLE {rel} AS\n{sql}")
    }
}

/// The ledger row recording that `file` was loaded into `rel`.
pub fn record_load(database: &str, rel: &Relation, file: &str, rows: u64, at: &str) -> String {
    let s = |v: &str| v.replace('\'', "''");
    format!(
        "INSERT INTO {} VALUES ('{}', '{}', {rows}, TIMESTAMP '{}')",
        ledger(database),
        s(&ledger_name(rel)),
        s(file),
        s(at)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_landed_file_is_loaded_and_recorded() {
        let rel = Relation {
            database: "lake".into(),
            schema: "raw".into(),
            identifier: "geo_events".into(),
        };
        let sql = format!("select * from {};", landed_file_sql());
        let url = "s3://b/landing/geo_events/2024-5-01-H00.jsonl";
        insta::assert_snapshot!(load_file(&rel, &sql, url, false), @r#"
        CREATE TABLE lake.raw.geo_events AS
        select * from read_json('s3://b/landing/geo_events/2024-5-01-H00.jsonl', format = 'newline_delimited', sample_size = -1)
        "#);
        assert!(load_file(&rel, &sql, url, true)
            .starts_with("INSERT INTO lake.raw.geo_events BY NAME\n"));
        insta::assert_snapshot!(
            record_load("lake", &rel, "geo_events/2024-5-01-H00.jsonl", 12, "2026-11-30 08:00:00"),
            @r#"INSERT INTO lake._lake.loaded_files VALUES ('raw.geo_events', 'geo_events/2024-5-01-H00.jsonl', 12, TIMESTAMP '2026-11-30 08:00:00')"#
        );
    }
}
