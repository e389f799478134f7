//! Planning: the SQL each node runs, as a pure function of the node and a
//! few facts about the lake (does the table exist, what columns do old and
//! new rows have). No I/O here, so every materialization is snapshot-tested
//! without a database.
//!
//! Every write to the lake runs in one transaction, so readers see the old
//! table or the new one, never a missing or half-written one.

pub mod contract;
pub mod load;
pub mod quarantine;

use std::path::Path;

use crate::nodes::{Node, Relation};
use crate::project::NodeConfig;

/// `CREATE SCHEMA IF NOT EXISTS` for a relation's schema.
pub fn create_schema(rel: &Relation) -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS {}.{}",
        crate::nodes::quote(&rel.database),
        crate::nodes::quote(&rel.schema)
    )
}

fn transaction(rel: &Relation, config: &NodeConfig, body: Vec<String>) -> Vec<String> {
    let mut v = vec!["BEGIN TRANSACTION".to_string(), create_schema(rel)];
    v.extend(config.pre_hook.iter().cloned());
    v.extend(body);
    v.extend(config.post_hook.iter().cloned());
    v.push("COMMIT".to_string());
    v
}

/// The statements between `BEGIN TRANSACTION` and `COMMIT`, so several
/// nodes can share one transaction.
pub fn inside_transaction(statements: &[String]) -> &[String] {
    match statements {
        [first, inner @ .., last] if first == "BEGIN TRANSACTION" && last == "COMMIT" => inner,
        all => all,
    }
}

fn body(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

/// A view, replaced atomically.
pub fn view(node: &Node, rel: &Relation, sql: &str) -> Vec<String> {
    transaction(
        rel,
        &node.config,
        vec![format!("CREATE OR REPLACE VIEW {rel} AS\n{}", body(sql))],
    )
}

/// A table (or an incremental model built from scratch), replaced atomically.
pub fn table(node: &Node, rel: &Relation, sql: &str) -> Vec<String> {
    transaction(
        rel,
        &node.config,
        vec![format!("CREATE OR REPLACE TABLE {rel} AS\n{}", body(sql))],
    )
}

/// The temporary table an incremental run stages its new rows in (per
/// connection, outside the lake).
pub fn staging_table(node: &Node) -> String {
    format!("__lake_new_{}", node.name)
}

/// Step one of an incremental run on an existing table: stage the new rows.
pub fn stage_incremental(node: &Node, sql: &str) -> String {
    format!(
        "CREATE OR REPLACE TEMP TABLE {} AS\n{}",
        crate::nodes::quote(&staging_table(node)),
        body(sql)
    )
}

/// Step two: merge the staged rows into the existing table, handling
/// schema changes per `on_schema_change`. `Err` explains a refused change.
pub fn merge_incremental(
    node: &Node,
    rel: &Relation,
    existing: &[(String, String)],
    new: &[(String, String)],
) -> Result<Vec<String>, String> {
    let staged = crate::nodes::quote(&staging_table(node));
    let added: Vec<&(String, String)> = new
        .iter()
        .filter(|(n, _)| !existing.iter().any(|(e, _)| e == n))
        .collect();
    let removed: Vec<&(String, String)> = existing
        .iter()
        .filter(|(e, _)| !new.iter().any(|(n, _)| n == e))
        .collect();
    let retyped: Vec<String> = new
        .iter()
        .filter_map(|(n, t)| {
            existing
                .iter()
                .find(|(e, _)| e == n)
                .filter(|(_, et)| et != t)
                .map(|(_, et)| format!("{n} ({et} -> {t})"))
        })
        .collect();
    let mode = node.config.on_schema_change.as_deref().unwrap_or("ignore");
    let mut statements = Vec::new();
    let changed = !added.is_empty() || !removed.is_empty() || !retyped.is_empty();
    if changed && mode == "fail" {
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!(
                "new columns {}",
                added
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !removed.is_empty() {
            parts.push(format!(
                "missing columns {}",
                removed
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !retyped.is_empty() {
            parts.push(format!("changed types {}", retyped.join(", ")));
        }
        return Err(format!(
            "the columns of {rel} changed ({}) and on_schema_change is `fail`; run with --full-refresh, or set on_schema_change to append_new_columns or sync_all_columns",
            parts.join("; ")
        ));
    }
    let mut columns: Vec<&str> = new
        .iter()
        .filter(|(n, _)| existing.iter().any(|(e, _)| e == n))
        .map(|(n, _)| n.as_str())
        .collect();
    if mode == "append_new_columns" || mode == "sync_all_columns" {
        for (n, t) in &added {
            statements.push(format!(
                "ALTER TABLE {rel} ADD COLUMN {} {t}",
                crate::nodes::quote(n)
            ));
            columns.push(n);
        }
    }
    if mode == "sync_all_columns" {
        for (n, _) in &removed {
            statements.push(format!(
                "ALTER TABLE {rel} DROP COLUMN {}",
                crate::nodes::quote(n)
            ));
        }
    }
    let strategy = node.config.incremental_strategy.as_deref().unwrap_or(
        if node.config.unique_key.is_empty() {
            "append"
        } else {
            "merge"
        },
    );
    if strategy != "append" {
        if node.config.unique_key.is_empty() {
            return Err(format!("incremental_strategy `{strategy}` needs a unique_key; set config(unique_key='...') or use `append`"));
        }
        let cond = node
            .config
            .unique_key
            .iter()
            .map(|k| {
                format!(
                    "s.{k} IS NOT DISTINCT FROM t.{k}",
                    k = crate::nodes::quote(k)
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        statements.push(format!(
            "DELETE FROM {rel} AS t WHERE EXISTS (SELECT 1 FROM {staged} AS s WHERE {cond})"
        ));
    }
    let cols = columns
        .iter()
        .map(|c| crate::nodes::quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    statements.push(format!(
        "INSERT INTO {rel} ({cols}) SELECT {cols} FROM {staged}"
    ));
    Ok(transaction(rel, &node.config, statements))
}

/// Step three: drop the staging table.
pub fn drop_staging(node: &Node) -> String {
    format!(
        "DROP TABLE IF EXISTS {}",
        crate::nodes::quote(&staging_table(node))
    )
}

/// A seed: the CSV read by DuckDB's reader, typed per `column_types`.
pub fn seed(node: &Node, rel: &Relation, csv: &Path) -> Vec<String> {
    let mut opts = vec!["header = true".to_string()];
    if !node.config.column_types.is_empty() {
        let types = node
            .config
            .column_types
            .iter()
            .map(|(c, t)| format!("'{}': '{}'", sql_str(c), sql_str(t)))
            .collect::<Vec<_>>()
            .join(", ");
        opts.push(format!("types = {{{types}}}"));
    }
    if let Some(d) = &node.config.delimiter {
        opts.push(format!("delim = '{}'", sql_str(d)));
    }
    let select = format!(
        "SELECT * FROM read_csv('{}', {})",
        sql_str(&csv.display().to_string()),
        opts.join(", ")
    );
    transaction(
        rel,
        &node.config,
        vec![format!("CREATE OR REPLACE TABLE {rel} AS\n{select}")],
    )
}

/// A data test: the number of failing rows.
pub fn test_count(sql: &str) -> String {
    format!("SELECT count(*) FROM (\n{}\n) AS __lake_test", body(sql))
}

fn sql_str(s: &str) -> String {
    s.replace('\'', "''")
}

/// `s` as a SQL string literal, quotes doubled.
pub fn string_literal(s: &str) -> String {
    format!("'{}'", sql_str(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::NodeKind;
    use crate::project::Materialization;

    fn node(config: NodeConfig) -> (Node, Relation) {
        let rel = Relation {
            database: "lake".into(),
            schema: "stage".into(),
            identifier: "events".into(),
        };
        let n = Node {
            unique_id: "model.demo.events".into(),
            name: "events".into(),
            kind: NodeKind::Model,
            path: "models/stage/events.sql".into(),
            fqn: vec!["stage".into(), "events".into()],
            relation: Some(rel.clone()),
            config,
            compiled_sql: None,
            checksum: None,
            depends_on: vec![],
            description: None,
            columns: vec![],
            attached_node: None,
            contract: None,
        };
        (n, rel)
    }

    #[test]
    fn table_is_replaced_in_one_transaction_with_hooks() {
        let (n, rel) = node(NodeConfig {
            materialized: Materialization::Table,
            pre_hook: vec!["SET threads = 2".into()],
            post_hook: vec!["ANALYZE".into()],
            ..NodeConfig::default()
        });
        insta::assert_snapshot!(table(&n, &rel, "select 1 as id;\n").join(";\n"));
    }

    #[test]
    fn merge_deletes_matching_keys_then_inserts_and_adds_new_columns() {
        let (n, rel) = node(NodeConfig {
            materialized: Materialization::Incremental,
            unique_key: vec!["id".into(), "day".into()],
            incremental_strategy: Some("merge".into()),
            on_schema_change: Some("append_new_columns".into()),
            ..NodeConfig::default()
        });
        let existing = vec![
            ("id".into(), "INTEGER".into()),
            ("day".into(), "DATE".into()),
            ("old".into(), "VARCHAR".into()),
        ];
        let new = vec![
            ("id".into(), "INTEGER".into()),
            ("day".into(), "DATE".into()),
            ("Extra".into(), "DOUBLE".into()),
        ];
        insta::assert_snapshot!(merge_incremental(&n, &rel, &existing, &new)
            .unwrap()
            .join(";\n"));
    }

    #[test]
    fn schema_change_refused_with_the_columns_named() {
        let (n, rel) = node(NodeConfig {
            materialized: Materialization::Incremental,
            on_schema_change: Some("fail".into()),
            ..NodeConfig::default()
        });
        let existing = vec![("id".into(), "INTEGER".into())];
        let new = vec![
            ("id".into(), "BIGINT".into()),
            ("x".into(), "INTEGER".into()),
        ];
        assert_eq!(
            merge_incremental(&n, &rel, &existing, &new).unwrap_err(),
            "the columns of lake.stage.events changed (new columns x; changed types id (INTEGER -> BIGINT)) and on_schema_change is `fail`; run with --full-refresh, or set on_schema_change to append_new_columns or sync_all_columns"
        );
    }

    #[test]
    fn seeds_read_csv_with_declared_types() {
        let (mut n, rel) = node(NodeConfig::default());
        n.config.column_types.insert("id".into(), "BIGINT".into());
        insta::assert_snapshot!(seed(&n, &rel, Path::new("/p/seeds/events.csv")).join(";\n"));
    }
}
