//! The build state, kept in the lake itself (`<db>._lake.node_state`):
//! one row per node, written in the same transaction as the node's data,
//! so every machine on the catalog shares it and it can never claim a
//! build that did not commit. Which snapshot committed a row is
//! DuckLake's own `snapshot_id` virtual column, not something lake has
//! to guess before it commits.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::plan::ledger::ledger_table;
use crate::sql::string_literal;
use crate::warehouse::{Session, WarehouseError};

/// `<db>._lake.node_state`.
pub fn table(database: &str) -> String {
    ledger_table(database, "node_state")
}

/// Creates the state table if missing (no snapshot when it exists).
pub fn ddl(database: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (unique_id VARCHAR, fingerprint VARCHAR, \
         inputs VARCHAR, watermark BIGINT, run_id VARCHAR, recomputed VARCHAR)",
        table(database)
    )
}

/// What one node's last successful build recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The node's [`super::fingerprint`] then.
    pub fingerprint: String,
    /// Every relation it read (`schema.name`), with the snapshot that
    /// last changed it as the build saw it; `None`: it was written in the
    /// same commit, before this node read it.
    pub inputs: BTreeMap<String, Option<i64>>,
    /// The snapshot the build's transaction started from: changes after
    /// it are new to the node (a microbatch model's watermark).
    pub watermark: i64,
    /// The snapshot that committed the build.
    pub built_in: i64,
}

/// A row to write for a node that was just built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The node.
    pub unique_id: String,
    /// See [`Built`].
    pub fingerprint: String,
    /// See [`Built`].
    pub inputs: BTreeMap<String, Option<i64>>,
    /// See [`Built`].
    pub watermark: i64,
    /// What a microbatch build recomputed, for the record.
    pub recomputed: Option<String>,
}

/// Every node's last build; empty when the table does not exist yet.
/// `existing` is the lake's relations, as `history::read::current_relations`
/// lists them.
pub fn read(
    session: &Session,
    database: &str,
    existing: &HashSet<(String, String)>,
) -> Result<HashMap<String, Built>, WarehouseError> {
    let exists = existing.contains(&(
        crate::plan::ledger::LEDGER_SCHEMA.into(),
        "node_state".into(),
    ));
    if !exists {
        return Ok(HashMap::new());
    }
    let rows = session.query(&format!(
        "SELECT unique_id, fingerprint, inputs, watermark, snapshot_id FROM {}",
        table(database)
    ))?;
    Ok(rows
        .rows
        .into_iter()
        .filter_map(|r| {
            let text = |i: usize| r.get(i).cloned().flatten();
            let built = Built {
                fingerprint: text(1)?,
                inputs: serde_json::from_str(&text(2)?).ok()?,
                watermark: text(3)?.parse().ok()?,
                built_in: text(4)?.parse().ok()?,
            };
            Some((text(0)?, built))
        })
        .collect())
}

/// Replaces the rows of `records`' nodes in one DELETE and one INSERT
/// (creating the table the first time: a run that builds nothing leaves
/// the lake as it was).
pub fn write(database: &str, records: &[Record], run_id: &str) -> Vec<String> {
    let ids: Vec<String> = records
        .iter()
        .map(|r| string_literal(&r.unique_id))
        .collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let mut sql = vec![
        crate::plan::ledger::ensure_tables(database)[0].clone(),
        ddl(database),
        format!(
            "DELETE FROM {} WHERE unique_id IN ({})",
            table(database),
            ids.join(", ")
        ),
    ];
    {
        let values: Vec<String> = records
            .iter()
            .map(|r| {
                format!(
                    "({}, {}, {}, {}, {}, {})",
                    string_literal(&r.unique_id),
                    string_literal(&r.fingerprint),
                    string_literal(&serde_json::to_string(&r.inputs).unwrap_or_default()),
                    r.watermark,
                    string_literal(run_id),
                    r.recomputed
                        .as_deref()
                        .map_or("NULL".into(), string_literal)
                )
            })
            .collect();
        sql.push(format!(
            "INSERT INTO {} VALUES {}",
            table(database),
            values.join(", ")
        ));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_delete_and_one_insert_for_many_nodes() {
        let record = |id: &str| Record {
            unique_id: id.into(),
            fingerprint: "f".into(),
            inputs: BTreeMap::from([
                ("raw.x".to_string(), Some(3)),
                ("stage.y".to_string(), None),
            ]),
            watermark: 7,
            recomputed: None,
        };
        let sql = write("lake", &[record("model.p.a"), record("model.p.b")], "r1");
        assert_eq!(sql.len(), 4);
        assert!(sql[1].starts_with("CREATE TABLE IF NOT EXISTS lake._lake.node_state"));
        assert_eq!(
            sql[2],
            "DELETE FROM lake._lake.node_state WHERE unique_id IN ('model.p.a', 'model.p.b')"
        );
        assert!(
            sql[3].contains(r#"('model.p.a', 'f', '{"raw.x":3,"stage.y":null}', 7, 'r1', NULL)"#)
        );
        assert!(write("lake", &[], "r").is_empty());
    }
}
