//! What `lake rollback` needs to know about the lake at two snapshots,
//! read from DuckLake's own metadata catalog (attached by DuckLake as
//! `__ducklake_metadata_<db>`): the schemas, tables (with their columns)
//! and views live at each, and every change DuckLake recorded in between.
//! Reading the metadata tables, not the attached lake, is what lets a
//! rollback see tables that no longer exist and views as they were
//! written. The planning itself is pure ([`super::rollback`]).

use crate::project::profiles::Catalog;
use crate::sql::identifier;
use crate::warehouse::{Session, WarehouseError};

/// One table live at a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEntry {
    /// DuckLake's `table_id`: the same table keeps it across snapshots
    /// (appends, deletes, renames); `CREATE OR REPLACE` makes a new one.
    pub table_id: i64,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Its columns, `name:type` in column order: a table whose columns
    /// changed cannot get its old rows back in place.
    pub columns: String,
}

/// One view live at a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewEntry {
    /// DuckLake's `view_id`.
    pub view_id: i64,
    /// Schema name.
    pub schema: String,
    /// View name.
    pub name: String,
    /// The SQL as DuckLake stores it (`{DUCKLAKE_CATALOG}` for the lake).
    pub sql: String,
    /// Column aliases, comma-separated as DuckLake stores them (often empty).
    pub aliases: String,
}

/// The schemas, tables and views live at one snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogState {
    /// Schema names.
    pub schemas: Vec<String>,
    /// Tables.
    pub tables: Vec<TableEntry>,
    /// Views.
    pub views: Vec<ViewEntry>,
}

/// One entry of a snapshot's `changes` map, one value each
/// (`tables_inserted_into` → `"12"`, `tables_created` → `"mart.x"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The snapshot that made it.
    pub snapshot: i64,
    /// The kind, as DuckLake names it.
    pub key: String,
    /// A table, view or schema id, or a name for `*_created`.
    pub value: String,
}

/// Where DuckLake keeps its metadata tables for `database`: the attached
/// metadata catalog and, on PostgreSQL, the profile's `metadata_schema`.
pub fn metadata_prefix(database: &str, catalog: &Catalog) -> String {
    let schema = match catalog {
        Catalog::Duckdb { .. } | Catalog::Plain { .. } => "main".to_string(),
        Catalog::Postgres {
            metadata_schema, ..
        } => metadata_schema.clone().unwrap_or_else(|| "public".into()),
    };
    format!(
        "{}.{}",
        identifier(&format!("__ducklake_metadata_{database}")),
        identifier(&schema)
    )
}

/// `alias.begin_snapshot <= n AND (end_snapshot IS NULL OR > n)`: the
/// metadata rows live at snapshot `n`.
fn live(alias: &str, n: i64) -> String {
    format!(
        "{alias}.begin_snapshot <= {n} AND ({alias}.end_snapshot IS NULL OR {alias}.end_snapshot > {n})"
    )
}

/// The schemas, tables and views live at snapshot `n`.
pub fn state_at(session: &Session, meta: &str, n: i64) -> Result<CatalogState, WarehouseError> {
    let text = |r: &Vec<Option<String>>, i: usize| r.get(i).cloned().flatten().unwrap_or_default();
    let id = |r: &Vec<Option<String>>, i: usize| text(r, i).parse::<i64>().unwrap_or_default();
    let schemas = session
        .query(&format!(
            "SELECT s.schema_name FROM {meta}.ducklake_schema s WHERE {} ORDER BY 1",
            live("s", n)
        ))?
        .rows
        .iter()
        .map(|r| text(r, 0))
        .collect();
    let tables = session
        .query(&format!(
            "WITH cols AS (SELECT c.table_id, string_agg(c.column_name || ':' || c.column_type, ',' \
             ORDER BY c.column_order, c.column_id) AS columns FROM {meta}.ducklake_column c \
             WHERE {} GROUP BY c.table_id) \
             SELECT t.table_id, s.schema_name, t.table_name, coalesce(cols.columns, '') \
             FROM {meta}.ducklake_table t JOIN {meta}.ducklake_schema s \
             ON s.schema_id = t.schema_id AND {} LEFT JOIN cols ON cols.table_id = t.table_id \
             WHERE {} ORDER BY 2, 3",
            live("c", n),
            live("s", n),
            live("t", n)
        ))?
        .rows
        .iter()
        .map(|r| TableEntry {
            table_id: id(r, 0),
            schema: text(r, 1),
            name: text(r, 2),
            columns: text(r, 3),
        })
        .collect();
    let views = session
        .query(&format!(
            "SELECT v.view_id, s.schema_name, v.view_name, v.sql, coalesce(v.column_aliases, '') \
             FROM {meta}.ducklake_view v JOIN {meta}.ducklake_schema s \
             ON s.schema_id = v.schema_id AND {} WHERE {} ORDER BY 2, 3",
            live("s", n),
            live("v", n)
        ))?
        .rows
        .iter()
        .map(|r| ViewEntry {
            view_id: id(r, 0),
            schema: text(r, 1),
            name: text(r, 2),
            sql: text(r, 3),
            aliases: text(r, 4),
        })
        .collect();
    Ok(CatalogState {
        schemas,
        tables,
        views,
    })
}

/// Every change DuckLake recorded after snapshot `n`, oldest first.
pub fn changes_after(
    session: &Session,
    database: &str,
    n: i64,
) -> Result<Vec<Change>, WarehouseError> {
    let rows = session.query(&format!(
        "SELECT snapshot_id, e.key AS key, unnest(e.value) AS value FROM \
         (SELECT snapshot_id, unnest(map_entries(changes)) AS e FROM {}.snapshots() \
         WHERE snapshot_id > {n}) ORDER BY snapshot_id",
        identifier(database)
    ))?;
    Ok(rows
        .rows
        .into_iter()
        .map(|r| {
            let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            Change {
                snapshot: text(0).parse().unwrap_or_default(),
                key: text(1),
                value: text(2),
            }
        })
        .collect())
}

/// Rows of `relation` now, or at snapshot `at`.
pub fn row_count(
    session: &Session,
    relation: &str,
    at: Option<i64>,
) -> Result<u64, WarehouseError> {
    let version = at.map_or(String::new(), |n| format!(" AT (VERSION => {n})"));
    session.query_count(&format!("SELECT count(*) FROM {relation}{version}"))
}
