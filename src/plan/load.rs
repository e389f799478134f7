//! SQL of exactly-once raw loads, pure like the rest of `plan`: one landed
//! file's rows and its ledger row are written in one DuckLake transaction,
//! so a file is either loaded and recorded, or neither. The ledger's table
//! is `<db>._lake.loaded_files` (see [`super::ledger`]).

use super::ledger::loaded_files_table as ledger;
use crate::nodes::{Relation, LANDED_FILE_MARKER};
use crate::sql::{string_contents, string_literal};

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
        .replace(LANDED_FILE_MARKER, &string_contents(url));
    if table_exists {
        format!("INSERT INTO {rel} BY NAME\n{sql}")
    } else {
        format!("CREATE TABLE {rel} AS\n{sql}")
    }
}

/// The ledger row recording that `file` was loaded into `rel`.
pub fn record_load(database: &str, rel: &Relation, file: &str, rows: u64, at: &str) -> String {
    format!(
        "INSERT INTO {} VALUES ({}, {}, {rows}, TIMESTAMP {})",
        ledger(database),
        string_literal(&ledger_name(rel)),
        string_literal(file),
        string_literal(at)
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
        let sql = format!("select * from {};", crate::nodes::landed_file_sql());
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
