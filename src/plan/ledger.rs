//! lake's own bookkeeping tables, kept in the lake itself (`<db>._lake`)
//! so they can never disagree with the tables they describe, whatever the
//! catalog: which landed files were loaded, which are quarantined, and
//! which source object each landed file came from. Their names and DDL
//! live here, so the loads ([`super::load`]) and the quarantine
//! ([`super::quarantine`]) share them without importing each other.

use crate::sql::identifier;

/// Schema of lake's own bookkeeping tables.
pub const LEDGER_SCHEMA: &str = "_lake";

/// `<db>._lake.<table>`: one of lake's own bookkeeping tables.
pub fn ledger_table(database: &str, table: &str) -> String {
    format!(
        "{}.{}.{table}",
        identifier(database),
        identifier(LEDGER_SCHEMA)
    )
}

/// Landed files loaded, one row per file and relation.
pub fn loaded_files_table(database: &str) -> String {
    ledger_table(database, "loaded_files")
}

/// Files stopped at extract or load, with the reason.
pub fn quarantine_table(database: &str) -> String {
    ledger_table(database, "quarantine")
}

/// The source object each landed file came from, and its line count.
pub fn landed_files_table(database: &str) -> String {
    ledger_table(database, "landed_files")
}

/// Creates the schema and every bookkeeping table if missing.
pub fn ensure_tables(database: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE SCHEMA IF NOT EXISTS {}.{}",
            identifier(database),
            identifier(LEDGER_SCHEMA)
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (relation VARCHAR, file VARCHAR, row_count BIGINT, loaded_at TIMESTAMP)",
            loaded_files_table(database)
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (file VARCHAR, source VARCHAR, source_size BIGINT, \
             source_version VARCHAR, stage VARCHAR, reason VARCHAR, line BIGINT, \
             quarantined_at TIMESTAMP, dropped BOOLEAN)",
            quarantine_table(database)
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (file VARCHAR, source VARCHAR, source_size BIGINT, \
             source_version VARCHAR, row_count BIGINT, landed_at TIMESTAMP)",
            landed_files_table(database)
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_live_in_the_lake_schema_quoted_as_needed() {
        assert_eq!(quarantine_table("My Lake"), "\"My Lake\"._lake.quarantine");
        let ddl = ensure_tables("lake");
        assert_eq!(ddl[0], "CREATE SCHEMA IF NOT EXISTS lake._lake");
        assert_eq!(ddl.len(), 4);
    }
}
