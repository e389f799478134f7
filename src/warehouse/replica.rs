//! A read-only copy of some of the lake's tables, taken at one snapshot, in
//! an in-memory DuckDB: what `lake serve` answers pages from. Taking a copy
//! holds an embedded catalog for a moment only, so a reader never keeps the
//! hourly run waiting; while a run writes, the previous copy keeps answering.

use std::collections::BTreeMap;
use std::sync::Mutex;

use duckdb::types::Value;

use super::{sql_str, OpenError, Rows, Warehouse, WarehouseError};
use crate::nodes::{quote, Relation};
use crate::project::Target;

/// The copy, and what the lake looked like when it was taken.
pub struct Replica {
    warehouse: Mutex<Warehouse>,
    /// DuckLake snapshot the copy was taken at.
    pub snapshot: i64,
    /// When it was taken.
    pub taken_at: jiff::Timestamp,
    /// Columns and types of every table in the lake (`schema.table` -> columns),
    /// copied or not: model pages show them.
    pub columns: BTreeMap<String, Vec<(String, String)>>,
}

/// What [`Replica::take`] found.
pub enum Taken {
    /// The lake is still at the snapshot of the current copy.
    Unchanged,
    /// A new copy.
    New(Box<Replica>),
}

impl Replica {
    /// Copies `tables` (those that exist) out of the lake, unless the lake is
    /// still at snapshot `known`. An embedded lake being written by a run is
    /// [`OpenError::CatalogBusy`] at once: the caller keeps its copy.
    pub fn take(
        target: &Target,
        tables: &[Relation],
        known: Option<i64>,
    ) -> Result<Taken, OpenError> {
        let mut wh = Warehouse::open_reader(target)?.0;
        let db = wh.database().to_string();
        let snapshot = current_snapshot(&wh, &db)?;
        if known == Some(snapshot) {
            return Ok(Taken::Unchanged);
        }
        let columns = lake_columns(&wh, &db)?;
        for t in tables {
            let key = format!("{}.{}", t.schema, t.identifier);
            if !columns.contains_key(&key) {
                continue;
            }
            let (schema, name) = (quote(&t.schema), quote(&t.identifier));
            wh.exec(&format!(
                "CREATE SCHEMA IF NOT EXISTS memory.{schema};
                 CREATE OR REPLACE TABLE memory.{schema}.{name} AS SELECT * FROM {}.{schema}.{name}",
                quote(&db)
            ))?;
        }
        wh.exec(&format!("USE memory; DETACH {}", quote(&db)))?;
        wh.session_setup.clear();
        Ok(Taken::New(Box::new(Replica {
            warehouse: Mutex::new(wh),
            snapshot,
            taken_at: jiff::Timestamp::now(),
            columns,
        })))
    }

    /// Whether `schema.table` was in the lake when the copy was taken.
    pub fn has_table(&self, schema: &str, table: &str) -> bool {
        self.columns.contains_key(&format!("{schema}.{table}"))
    }

    /// Runs a query on the copy with bound text parameters; every value
    /// comes back as text (numbers and timestamps in DuckDB's own format).
    pub fn query(&self, sql: &str, params: &[String]) -> Result<Rows, WarehouseError> {
        let wh = self.warehouse.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = wh.conn.prepare(sql).map_err(|e| wh.error(e))?;
        let values: Vec<Value> = params.iter().cloned().map(Value::Text).collect();
        let mut rows = stmt
            .query(duckdb::params_from_iter(values))
            .map_err(|e| wh.error(e))?;
        let columns = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| wh.error(e))? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(text_of(row.get::<_, Value>(i).map_err(|e| wh.error(e))?));
            }
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }
}

/// The lake's current snapshot id.
fn current_snapshot(wh: &Warehouse, db: &str) -> Result<i64, WarehouseError> {
    let rows = wh.session()?.query(&format!(
        "SELECT max(snapshot_id) FROM ducklake_snapshots('{}')",
        sql_str(db)
    ))?;
    let id = rows.rows.first().and_then(|r| r.first().cloned().flatten());
    Ok(id.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Every table's columns, in order.
fn lake_columns(
    wh: &Warehouse,
    db: &str,
) -> Result<BTreeMap<String, Vec<(String, String)>>, WarehouseError> {
    let rows = wh.session()?.query(&format!(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()
         WHERE database_name = '{}' ORDER BY schema_name, table_name, column_index",
        sql_str(db)
    ))?;
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in rows.rows {
        let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        out.entry(format!("{}.{}", text(0), text(1)))
            .or_default()
            .push((text(2), text(3)));
    }
    Ok(out)
}

/// A value as text; NULL stays `None`.
fn text_of(v: Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Boolean(b) => b.to_string(),
        Value::TinyInt(n) => n.to_string(),
        Value::SmallInt(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::BigInt(n) => n.to_string(),
        Value::HugeInt(n) => n.to_string(),
        Value::UTinyInt(n) => n.to_string(),
        Value::USmallInt(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::UBigInt(n) => n.to_string(),
        Value::UHugeInt(n) => n.to_string(),
        Value::Float(n) => n.to_string(),
        Value::Double(n) => n.to_string(),
        Value::Text(s) => s,
        other => format!("{other:?}"),
    })
}
