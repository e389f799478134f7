//! Planning: the SQL each node runs, as a pure function of the node and a
//! few facts about the lake (does the table exist, what columns do old and
//! new rows have). No I/O here, so every materialization is snapshot-tested
//! without a database.
//!
//! Every write to the lake runs in one transaction, so readers see the old
//! table or the new one, never a missing or half-written one. A node's
//! write is a typed [`Write`]: its statements carry their role (schema,
//! hook, rows, change), and the runner opens and commits the transaction.

pub mod contract;
pub mod ledger;
pub mod load;
pub mod microbatch;
pub mod quarantine;
pub mod test_slice;

use std::path::Path;

use crate::nodes::{Node, Relation};
use crate::project::config::{IncrementalStrategy, OnSchemaChange};
use crate::project::NodeConfig;
use crate::sql;

/// `CREATE SCHEMA IF NOT EXISTS` for a relation's schema.
pub fn create_schema(rel: &Relation) -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS {}.{}",
        sql::identifier(&rel.database),
        sql::identifier(&rel.schema)
    )
}

/// What a statement of a [`Write`] is for: the runner treats each result
/// by this role, never by reading the statement's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Creates the schema the relation lives in.
    Schema,
    /// A user's pre- or post-hook, run inside the node's transaction.
    Hook,
    /// Writes the node's rows: its row count is (part of) the node's result.
    Rows,
    /// Any other change: a view replaced, a column added, rows deleted.
    Change,
}

/// One statement of a write, with its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// What the statement is for.
    pub role: Role,
    /// The SQL, without a trailing `;`.
    pub sql: String,
}

/// Everything one node writes to the lake. Its statements run in one
/// transaction, which the runner opens and commits (possibly shared with
/// other nodes' writes, see `execute::node_runner`): the transaction is a
/// property of the write, not statements in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// In the order they run.
    pub statements: Vec<Statement>,
}

impl Write {
    /// The node's write wrapped by its schema and its hooks.
    fn new(rel: &Relation, config: &NodeConfig, body: Vec<Statement>) -> Write {
        let hooks = |sql: &[String]| {
            sql.iter()
                .map(|s| Statement {
                    role: Role::Hook,
                    sql: s.clone(),
                })
                .collect::<Vec<_>>()
        };
        let mut statements = vec![Statement {
            role: Role::Schema,
            sql: create_schema(rel),
        }];
        statements.extend(hooks(&config.pre_hook));
        statements.extend(body);
        statements.extend(hooks(&config.post_hook));
        Write { statements }
    }

    /// Rows the write wrote, given each statement's reported count in
    /// order: the sum over its [`Role::Rows`] statements, `None` when it
    /// has none (a view).
    pub fn rows_written(&self, counts: &[u64]) -> Option<u64> {
        let mut rows = None;
        for (statement, n) in self.statements.iter().zip(counts) {
            if statement.role == Role::Rows {
                rows = Some(rows.unwrap_or(0) + n);
            }
        }
        rows
    }

    /// The write as one transaction's statements, as a person or a plain
    /// DuckDB client would run it.
    pub fn transaction_text(&self) -> Vec<String> {
        let mut v = vec![BEGIN.to_string()];
        v.extend(self.statements.iter().map(|s| s.sql.clone()));
        v.push(COMMIT.to_string());
        v
    }
}

/// Opens a transaction.
pub const BEGIN: &str = "BEGIN TRANSACTION";
/// Commits one.
pub const COMMIT: &str = "COMMIT";
/// Abandons one.
pub const ROLLBACK: &str = "ROLLBACK";

fn rows(sql: String) -> Statement {
    Statement {
        role: Role::Rows,
        sql,
    }
}

fn change(sql: String) -> Statement {
    Statement {
        role: Role::Change,
        sql,
    }
}

fn body(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

/// A view, replaced atomically.
pub fn view(node: &Node, rel: &Relation, sql: &str) -> Write {
    Write::new(
        rel,
        &node.config,
        vec![change(format!(
            "CREATE OR REPLACE VIEW {rel} AS\n{}",
            body(sql)
        ))],
    )
}

/// A table (or an incremental model built from scratch), replaced atomically.
pub fn table(node: &Node, rel: &Relation, sql: &str) -> Write {
    Write::new(
        rel,
        &node.config,
        vec![rows(format!(
            "CREATE OR REPLACE TABLE {rel} AS\n{}",
            body(sql)
        ))],
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
        sql::identifier(&staging_table(node)),
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
) -> Result<Write, String> {
    let staged = sql::identifier(&staging_table(node));
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
    let mode = node.config.schema_change();
    let mut statements = Vec::new();
    let changed = !added.is_empty() || !removed.is_empty() || !retyped.is_empty();
    if changed && mode == OnSchemaChange::Fail {
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("new columns {}", names(&added)));
        }
        if !removed.is_empty() {
            parts.push(format!("missing columns {}", names(&removed)));
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
    if matches!(
        mode,
        OnSchemaChange::AppendNewColumns | OnSchemaChange::SyncAllColumns
    ) {
        for (n, t) in &added {
            statements.push(change(format!(
                "ALTER TABLE {rel} ADD COLUMN {} {t}",
                sql::identifier(n)
            )));
            columns.push(n);
        }
    }
    if mode == OnSchemaChange::SyncAllColumns {
        for (n, _) in &removed {
            statements.push(change(format!(
                "ALTER TABLE {rel} DROP COLUMN {}",
                sql::identifier(n)
            )));
        }
    }
    let strategy = node.config.strategy();
    if strategy != IncrementalStrategy::Append {
        if node.config.unique_key.is_empty() {
            return Err(format!("incremental_strategy `{strategy}` needs a unique_key; set config(unique_key='...') or use `append`"));
        }
        let cond = node
            .config
            .unique_key
            .iter()
            .map(|k| format!("s.{k} IS NOT DISTINCT FROM t.{k}", k = sql::identifier(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        statements.push(change(format!(
            "DELETE FROM {rel} AS t WHERE EXISTS (SELECT 1 FROM {staged} AS s WHERE {cond})"
        )));
    }
    let cols = columns
        .iter()
        .map(|c| sql::identifier(c))
        .collect::<Vec<_>>()
        .join(", ");
    statements.push(rows(format!(
        "INSERT INTO {rel} ({cols}) SELECT {cols} FROM {staged}"
    )));
    Ok(Write::new(rel, &node.config, statements))
}

/// `a, b`: the names of `(name, type)` columns, for messages.
fn names(columns: &[&(String, String)]) -> String {
    columns
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Step three: drop the staging table.
pub fn drop_staging(node: &Node) -> String {
    format!(
        "DROP TABLE IF EXISTS {}",
        sql::identifier(&staging_table(node))
    )
}

/// A seed: the CSV read by DuckDB's reader, typed per `column_types`.
pub fn seed(node: &Node, rel: &Relation, csv: &Path) -> Write {
    let mut opts = vec!["header = true".to_string()];
    if !node.config.column_types.is_empty() {
        let types = node
            .config
            .column_types
            .iter()
            .map(|(c, t)| format!("{}: {}", sql::string_literal(c), sql::string_literal(t)))
            .collect::<Vec<_>>()
            .join(", ");
        opts.push(format!("types = {{{types}}}"));
    }
    if let Some(d) = &node.config.delimiter {
        opts.push(format!("delim = {}", sql::string_literal(d)));
    }
    if node.seed_types == crate::nodes::SeedTypes::Dbt {
        opts.push(
            "auto_type_candidates = ['BOOLEAN', 'INTEGER', 'DOUBLE', 'DATE', 'TIMESTAMP', 'VARCHAR']"
                .into(),
        );
    }
    let select = format!(
        "SELECT * FROM read_csv({}, {})",
        sql::string_literal(&csv.display().to_string()),
        opts.join(", ")
    );
    Write::new(
        rel,
        &node.config,
        vec![rows(format!("CREATE OR REPLACE TABLE {rel} AS\n{select}"))],
    )
}

/// What a data test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    /// For a test that stores its failing rows: the table or view that
    /// holds them, replaced before they are counted.
    pub store: Option<Write>,
    /// The query counting the failures (from the stored rows, if stored).
    pub count: String,
}

/// A data test whose failing rows `sql` returns: counted directly, or
/// stored first (`store_failures`, at most `limit` rows), as dbt's test
/// materialization does, and counted from where they are stored.
/// `other_kind`: the stored relation exists as the other kind (a view
/// where a table goes, or the reverse) and is dropped first.
pub fn test(node: &Node, sql: &str, other_kind: bool) -> TestRun {
    let config = node.config.test.as_ref();
    let Some(stored) = &node.stored_failures else {
        return TestRun {
            store: None,
            count: test_count(sql, config),
        };
    };
    let rel = &stored.relation;
    let limited = match config.and_then(|c| c.limit) {
        Some(n) => format!("select * from (\n{}\n) limit {n}", body(sql)),
        None => sql.to_string(),
    };
    let mut store = if stored.view {
        view(node, rel, &limited)
    } else {
        table(node, rel, &limited)
    };
    if other_kind {
        let kind = if stored.view { "TABLE" } else { "VIEW" };
        // After the schema statement, before the replacement.
        store
            .statements
            .insert(1, change(format!("DROP {kind} IF EXISTS {rel}")));
    }
    TestRun {
        store: Some(store),
        count: test_count(&format!("select * from {rel}"), config),
    }
}

/// A data test: the number of failing rows.
pub fn test_count(sql: &str, config: Option<&crate::project::TestConfig>) -> String {
    let fail_calc = config.map_or("count(*)", |c| c.fail_calc.as_str());
    let limit = match config.and_then(|c| c.limit) {
        Some(n) => format!("\nlimit {n}"),
        None => String::new(),
    };
    format!(
        "SELECT coalesce({fail_calc}, 0) FROM (\n{}{limit}\n) AS __lake_test",
        body(sql)
    )
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
            relationship: None,
            seed_types: Default::default(),
            stored_failures: None,
            live: None,
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
        insta::assert_snapshot!(table(&n, &rel, "select 1 as id;\n")
            .transaction_text()
            .join(";\n"));
    }

    #[test]
    fn merge_deletes_matching_keys_then_inserts_and_adds_new_columns() {
        let (n, rel) = node(NodeConfig {
            materialized: Materialization::Incremental,
            unique_key: vec!["id".into(), "day".into()],
            incremental_strategy: Some(IncrementalStrategy::Merge),
            on_schema_change: Some(OnSchemaChange::AppendNewColumns),
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
        let write = merge_incremental(&n, &rel, &existing, &new).unwrap();
        insta::assert_snapshot!(write.transaction_text().join(";\n"));
        // Only the INSERT's count is the rows the run reports.
        assert_eq!(write.rows_written(&[0, 0, 7, 3]), Some(3));
    }

    #[test]
    fn schema_change_refused_with_the_columns_named() {
        let (n, rel) = node(NodeConfig {
            materialized: Materialization::Incremental,
            on_schema_change: Some(OnSchemaChange::Fail),
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
        insta::assert_snapshot!(seed(&n, &rel, Path::new("/p/seeds/events.csv"))
            .transaction_text()
            .join(";\n"));
    }
}
