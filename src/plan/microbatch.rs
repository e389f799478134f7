//! The SQL of a change-driven incremental model (`incremental_strategy:
//! microbatch`): which batches a parent's changed rows touch, and the
//! delete+insert of exactly those batches. Pure: the runner
//! (`execute::microbatch`) decides which parents changed and runs this.
//!
//! A recomputed batch holds exactly the rows a full rebuild would give it:
//! the model's whole query runs with the batches as a filter on its
//! output, which DuckDB pushes down to the parents' scans (a time range
//! prunes whole files by their min/max statistics).

use super::{change, rows, Statement, Write};
use crate::nodes::{Node, Relation};
use crate::project::BatchSize;
use crate::sql::{identifier, string_literal};

/// How a microbatch model's rows fall into batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batching {
    /// By the hour (day, ...) of a time column: dbt's `event_time`.
    Time {
        /// The model's time column.
        column: String,
        /// The grain.
        size: BatchSize,
    },
    /// By the value of a key column (`unique_key`): one session.
    Key {
        /// The model's key column.
        column: String,
    },
}

impl Batching {
    /// The batching a microbatch model's config asks for.
    pub fn of(node: &Node) -> Result<Batching, String> {
        let batch = &node.config.batch;
        match (&batch.event_time, node.config.unique_key.as_slice()) {
            (Some(column), _) => Ok(Batching::Time {
                column: column.clone(),
                size: batch.batch_size.unwrap_or_default(),
            }),
            (None, [column]) => Ok(Batching::Key {
                column: column.clone(),
            }),
            _ => Err(format!(
                "model `{}` uses incremental_strategy `microbatch` but sets neither `event_time` \
                 (batches of time) nor one `unique_key` column (batches of keys)",
                node.name
            )),
        }
    }

    /// The model's column its batches are read from.
    pub fn column(&self) -> &str {
        match self {
            Batching::Time { column, .. } | Batching::Key { column } => column,
        }
    }

    /// The batch of a row whose time (or key) is `expr`.
    pub fn batch_of(&self, expr: &str) -> String {
        match self {
            Batching::Time { size, .. } => format!("date_trunc('{}', {expr})", size.as_str()),
            Batching::Key { .. } => expr.to_string(),
        }
    }

    /// `12 hours`, `1,840 sessions`: what a recompute covered.
    pub fn describe(&self, count: usize) -> String {
        let noun = match self {
            Batching::Time { size, .. } => size.as_str().to_string(),
            Batching::Key { column } => column.strip_suffix("_id").unwrap_or(column).to_string(),
        };
        let plural = if count == 1 { "" } else { "s" };
        format!("{} {noun}{plural}", thousands(count))
    }
}

/// `1840` → `1,840`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The batches to recompute: a temporary table (column `b`) with what
/// lake learnt about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchSet {
    /// The temporary table holding one row per batch.
    pub table: String,
    /// How many batches (NULL included).
    pub count: usize,
    /// Whether rows without a batch value (NULL time or key) are affected.
    pub null: bool,
    /// For time batches: the first and last batch as typed SQL literals,
    /// so the filter is also a range that prunes files by their statistics.
    pub range: Option<(String, String)>,
    /// When the only change is rows appended to the one parent of a
    /// distinct row-by-row model: those rows, which with the batches' old
    /// rows are all a recompute needs to read.
    pub appended: Option<Appended>,
}

/// Rows appended to a model's one parent since the model last read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The parent's relation, as the compiled SQL names it.
    pub relation: String,
    /// A subquery of the appended rows, with the parent's columns.
    pub rows: String,
}

impl BatchSet {
    /// Whether there is nothing to recompute.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The rows of these batches, as a `WHERE` condition on `expr` (a
    /// column of the model, or a parent's batch expression).
    pub fn filter(&self, batching: &Batching, expr: &str) -> String {
        let mut t = format!(
            "{} IN (SELECT b FROM {})",
            batching.batch_of(expr),
            identifier(&self.table)
        );
        if let (Some((first, last)), Batching::Time { size, .. }) = (&self.range, batching) {
            t = format!(
                "{t} AND {expr} >= {first} AND {expr} < {last} + INTERVAL 1 {}",
                size.as_str()
            );
        }
        match self.null {
            true => format!("(({t}) OR {expr} IS NULL)"),
            false => format!("({t})"),
        }
    }
}

/// A parent whose rows a recompute reads only for the batches at hand,
/// as dbt's microbatch filters the refs of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentFilter {
    /// The parent's relation, as the compiled SQL names it.
    pub relation: String,
    /// Its rows' batch (a column or expression over its columns).
    pub expr: String,
}

/// Recomputes `batches` of `rel` in place. `delta` (a temporary table)
/// receives the batches' old rows and then their new ones, so models
/// downstream in the same transaction see what changed. The query reads
/// each parent of `parents` only for these batches, and its output is
/// filtered to them too; with [`BatchSet::appended`] it reads the
/// batches' old rows and the parent's appended rows instead. The new rows
/// are computed once into a temporary table of their own (`{delta}_new`),
/// so neither the insert nor `delta` reads the model's table again (a
/// whole-column scan of it at a month of history).
pub fn recompute(
    node: &Node,
    rel: &Relation,
    sql: &str,
    batching: &Batching,
    batches: &BatchSet,
    parents: &[ParentFilter],
    delta: &str,
) -> Write {
    let filter = batches.filter(batching, &identifier(batching.column()));
    let fresh = identifier(&format!("{delta}_new"));
    let delta = identifier(delta);
    let query = batch_query(sql, batches, batching, parents, &delta);
    let body: Vec<Statement> = vec![
        change(format!(
            "CREATE OR REPLACE TEMP TABLE {delta} AS SELECT * FROM {rel} WHERE {filter}"
        )),
        change(format!(
            "CREATE OR REPLACE TEMP TABLE {fresh} AS\nSELECT * FROM (\n{query}\n) AS batch WHERE {filter}"
        )),
        change(format!("DELETE FROM {rel} WHERE {filter}")),
        rows(format!("INSERT INTO {rel} SELECT * FROM {fresh}")),
        change(format!("INSERT INTO {delta} SELECT * FROM {fresh}")),
        change(format!("DROP TABLE {fresh}")),
    ];
    Write::new(rel, &node.config, body)
}

/// The model's query for the batches at hand: over the batches' old rows
/// (in `delta`) and the parent's appended rows, or with each parent of
/// `parents` read only for these batches.
fn batch_query(
    sql: &str,
    batches: &BatchSet,
    batching: &Batching,
    parents: &[ParentFilter],
    delta: &str,
) -> String {
    let body = super::body(sql);
    match &batches.appended {
        Some(a) => format!(
            "SELECT * FROM {delta}\nUNION\nSELECT * FROM (\n{}\n) AS appended",
            replace_relation(body, &a.relation, &a.rows)
        ),
        None => parents.iter().fold(body.to_string(), |query, p| {
            let slice = format!(
                "(SELECT * FROM {} WHERE {})",
                p.relation,
                batches.filter(batching, &p.expr)
            );
            replace_relation(&query, &p.relation, &slice)
        }),
    }
}

/// `sql` with every mention of relation `name` (not a longer name, nor a
/// column qualified by it) replaced by `with`.
pub fn replace_relation(sql: &str, name: &str, with: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + name.len()..].chars().next();
        let ident = |c: Option<char>| {
            c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '"')
        };
        out.push_str(&rest[..at]);
        if ident(before) || ident(after) {
            out.push_str(name);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// The batches of a parent's changed rows (`changes`: a subquery or
/// table with the parent's columns), each row's batch read from `expr`.
pub fn batches_of_changes(batching: &Batching, expr: &str, changes: &str) -> String {
    format!(
        "SELECT {} AS b FROM {changes} AS c",
        batching.batch_of(expr)
    )
}

/// The batches of rows of `via` (its batch in `via_expr`) that share
/// column `on` with a changed row of another parent.
pub fn batches_through(
    batching: &Batching,
    via: &Relation,
    via_expr: &str,
    on: &str,
    changes: &str,
) -> String {
    let on = identifier(on);
    format!(
        "SELECT {} AS b FROM {via} AS v WHERE v.{on} IN (SELECT c.{on} FROM {changes} AS c)",
        batching.batch_of(via_expr)
    )
}

/// Relation `rel`'s rows written since snapshot `since` (those written
/// in snapshot `checked` excepted: a test saw them in its own run), and
/// those the open transaction wrote (DuckLake's `snapshot_id` is NULL on
/// them until the commit).
pub fn rows_since(rel: &Relation, since: i64, checked: i64) -> String {
    format!(
        "(SELECT * FROM {rel} WHERE snapshot_id IS NULL OR (snapshot_id > {since} AND snapshot_id <> {checked}))"
    )
}

/// A parent's committed changes between two snapshots (both included):
/// DuckLake's `table_changes`, as a table function call.
pub fn table_changes(rel: &Relation, from: i64, to: i64) -> String {
    format!(
        "ducklake_table_changes({}, {}, {}, {from}, {to})",
        string_literal(&rel.database),
        string_literal(&rel.schema),
        string_literal(&rel.identifier)
    )
}

/// The changes in `table` (read with [`table_changes`]) but those of
/// snapshot `skip` (the model's own last build, whose parent changes it
/// already consumed).
pub fn committed_changes(table: &str, skip: i64) -> String {
    format!("(SELECT * FROM {table} WHERE snapshot_id <> {skip})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> Batching {
        Batching::Time {
            column: "event_timestamp".into(),
            size: BatchSize::Hour,
        }
    }

    #[test]
    fn time_batches_filter_by_hour_and_by_range() {
        let set = BatchSet {
            table: "__lake_batches_3".into(),
            count: 2,
            null: false,
            range: Some((
                "CAST('2024-05-01 01:00:00' AS TIMESTAMP)".into(),
                "CAST('2024-05-01 03:00:00' AS TIMESTAMP)".into(),
            )),
            appended: None,
        };
        assert_eq!(
            set.filter(&hours(), "event_timestamp"),
            "(date_trunc('hour', event_timestamp) IN (SELECT b FROM __lake_batches_3) \
             AND event_timestamp >= CAST('2024-05-01 01:00:00' AS TIMESTAMP) \
             AND event_timestamp < CAST('2024-05-01 03:00:00' AS TIMESTAMP) + INTERVAL 1 hour)"
        );
    }

    #[test]
    fn key_batches_with_a_null_key() {
        let keys = Batching::Key {
            column: "session_id".into(),
        };
        let set = BatchSet {
            table: "t".into(),
            count: 2,
            null: true,
            range: None,
            appended: None,
        };
        assert_eq!(
            set.filter(&keys, "session_id"),
            "((session_id IN (SELECT b FROM t)) OR session_id IS NULL)"
        );
        assert_eq!(keys.describe(1840), "1,840 sessions");
        assert_eq!(hours().describe(1), "1 hour");
    }

    #[test]
    fn only_whole_relation_names_are_replaced() {
        let sql =
            "select lake.raw.x.a from lake.raw.x b join lake.raw.xy c using (k) join lake.raw.x";
        assert_eq!(
            replace_relation(sql, "lake.raw.x", "(S)"),
            "select lake.raw.x.a from (S) b join lake.raw.xy c using (k) join (S)"
        );
    }
}
