//! Which batches a change-driven incremental model recomputes: from its
//! parents' changes since the snapshot it last consumed (its watermark),
//! read with DuckLake's `table_changes`, plus the rows parents rewrote
//! earlier in the same transaction (kept in temporary tables, since
//! `table_changes` cannot see a transaction's own writes). A parent that
//! was replaced, or whose changes cannot be mapped to batches, makes the
//! model rebuild in full, and the run says why.
//!
//! Committed changes are read when the transaction starts, before any
//! write: DuckLake 1.5.5's `table_changes` on a table the transaction
//! already wrote returns only the transaction's rows.

use std::collections::{HashMap, HashSet};

use super::shape::is_distinct_projection;
use crate::graph::Dag;
use crate::nodes::{Node, Relation};
use crate::plan::microbatch::{
    batches_of_changes, batches_through, committed_changes, table_changes, Appended, BatchSet,
    Batching, ParentFilter,
};
use crate::project::{BatchFrom, Materialization};
use crate::sql::{identifier, string_literal};
use crate::state::{relation_key, BuildState};
use crate::warehouse::Session;

/// How a relation changed earlier in the open transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    /// Only some batches: their old and new rows are in this temporary
    /// table.
    Rows(String),
    /// Rebuilt in full: its children rebuild in full too.
    Replaced,
}

/// What the parents' committed changes mean for one microbatch model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partial {
    /// Rebuild in full, for this reason.
    Full(String),
    /// The batches are in this temporary table (column `b`).
    Batches {
        /// The temporary table.
        table: String,
        /// The one parent's appended rows, when they are the only change
        /// and the model is a distinct row-by-row projection of it.
        appended: Option<Appended>,
    },
    /// No parent changed since the watermark.
    Nothing,
}

/// What one node must recompute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    /// Everything, for this reason.
    Full(String),
    /// These batches (possibly none).
    Batches(BatchSet),
}

/// What the open transaction has done so far, for the nodes after.
#[derive(Debug, Default)]
pub struct TxMemory {
    /// Relations (`schema.name`) rewritten so far.
    pub written: HashSet<String>,
    /// How each rewritten relation changed.
    pub deltas: HashMap<String, Delta>,
    /// Microbatch models' committed parent changes, read at the start.
    pub committed: HashMap<usize, Partial>,
    /// The temporary table holding a parent's (`schema.name`) committed
    /// changes since a snapshot: models with the same watermark share one
    /// `table_changes` read (~0.05 s each at a week of history).
    pub changes: HashMap<(String, i64), String>,
}

/// What reading changes needs.
pub struct Ctx<'a> {
    /// The connection (inside the run's transaction, or before a node's).
    pub session: &'a Session,
    /// The graph.
    pub dag: &'a Dag,
    /// Earlier builds and relation versions.
    pub state: &'a BuildState,
    /// The open transaction's memory (for the changes read so far).
    pub memory: &'a std::cell::RefCell<TxMemory>,
}

/// The temporary table a microbatch model's changed rows go to.
pub fn delta_table(i: usize) -> String {
    format!("__lake_delta_{i}")
}

impl Ctx<'_> {
    /// The batches node `i`'s parents' committed changes touch. Call it
    /// before the transaction writes anything.
    pub fn committed(&self, i: usize, fingerprint: &str) -> Result<Partial, String> {
        let node = &self.dag.nodes[i];
        let batching = Batching::of(node)?;
        let Some(built) = self.state.built.get(&node.unique_id) else {
            return Ok(Partial::Full("no earlier build recorded".into()));
        };
        if built.fingerprint != fingerprint {
            return Ok(Partial::Full("its SQL or config changed".into()));
        }
        if built.watermark < self.state.versions.oldest {
            return Ok(Partial::Full(format!(
                "its watermark, snapshot {}, was expired by cleanup",
                built.watermark
            )));
        }
        let mut changed = Vec::new();
        for p in self.dag.parents(i) {
            match self.committed_query(i, &batching, p, built)? {
                Ok(Some((changes, query))) => changed.push((p, changes, query)),
                Ok(None) => {}
                Err(reason) => return Ok(Partial::Full(reason)),
            }
        }
        if changed.is_empty() {
            return Ok(Partial::Nothing);
        }
        let table = format!("__lake_committed_{i}");
        let queries: Vec<String> = changed.iter().map(|(_, _, q)| q.clone()).collect();
        self.distinct_batches(&table, &queries)?;
        let appended = match (&batching, changed.as_slice()) {
            (Batching::Key { .. }, [(p, changes, _)]) => self.appended(i, *p, changes)?,
            _ => None,
        };
        Ok(Partial::Batches { table, appended })
    }

    /// Parent `p`'s appended rows (`changes` of only inserts), when it is
    /// node `i`'s one parent and `i` a distinct row-by-row projection of
    /// it (`shape`), so a recompute of key batches need not read all of it.
    fn appended(&self, i: usize, p: usize, changes: &str) -> Result<Option<Appended>, String> {
        let node = &self.dag.nodes[i];
        let (Some(rel), Some(sql)) = (&self.dag.nodes[p].relation, &node.compiled_sql) else {
            return Ok(None);
        };
        if self.dag.parents(i).len() != 1 {
            return Ok(None);
        }
        let others = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {changes} AS c WHERE change_type <> 'insert' LIMIT 1)"
        );
        if self.session.query_count(&others).map_err(|e| e.message)? > 0
            || !is_distinct_projection(self.session, sql)
        {
            return Ok(None);
        }
        Ok(Some(Appended {
            relation: rel.to_string(),
            rows: format!(
                "(SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM {changes} AS c \
                 WHERE change_type = 'insert')"
            ),
        }))
    }

    /// The batches of parent `p`'s changes since the model's watermark
    /// (with the changes themselves): `Ok(None)` when it did not change,
    /// `Err(why)` when they cannot be mapped to batches (the model
    /// rebuilds in full).
    fn committed_query(
        &self,
        i: usize,
        batching: &Batching,
        p: usize,
        built: &crate::state::Built,
    ) -> Result<Result<Option<(String, String)>, String>, String> {
        let (w, versions) = (built.watermark, &self.state.versions);
        if let Some(reason) = self.unmappable_change(p, w) {
            return Ok(Err(reason));
        }
        let parent = &self.dag.nodes[p];
        let (Some(key), Some(rel)) = (relation_key(parent), parent.relation.as_ref()) else {
            return Ok(Ok(None));
        };
        if versions.of(&key).is_none_or(|v| v <= w) {
            return Ok(Ok(None));
        }
        let created = versions.created(&key).unwrap_or_default();
        if created > w && created != built.built_in {
            return Ok(Err(format!("{key} was replaced")));
        }
        let from = (w + 1).max(created);
        let table = self.changes_table(&key, rel, from)?;
        let changes = committed_changes(&table, built.built_in);
        match self.batch_query(i, batching, p, &changes) {
            Ok(q) => Ok(Ok(Some((changes, q)))),
            // Unmappable changes matter only if there are any: its newest
            // version may be the model's own last commit.
            Err(reason) if self.any_row(&changes)? => Ok(Err(reason)),
            Err(_) => Ok(Ok(None)),
        }
    }

    /// The temporary table of `rel`'s (`key`) committed changes from
    /// snapshot `from` to the current one, read once per run.
    fn changes_table(&self, key: &str, rel: &Relation, from: i64) -> Result<String, String> {
        let id = (key.to_string(), from);
        if let Some(table) = self.memory.borrow().changes.get(&id) {
            return Ok(table.clone());
        }
        let table = format!("__lake_changes_{}", self.memory.borrow().changes.len());
        let to = self.state.versions.current;
        self.session
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {}",
                table_changes(rel, from, to)
            ))
            .map_err(|e| e.message)?;
        self.memory.borrow_mut().changes.insert(id, table.clone());
        Ok(table)
    }

    /// Keeps the distinct batches `queries` give in temporary `table`.
    fn distinct_batches(&self, table: &str, queries: &[String]) -> Result<(), String> {
        self.session
            .execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE {table} AS SELECT DISTINCT b FROM ({}) AS q",
                queries.join("\nUNION ALL\n")
            ))
            .map_err(|e| e.message)
    }

    /// The batches node `i` recomputes: its committed part (`partial`)
    /// and what its parents rewrote earlier in this transaction.
    pub fn affected(
        &self,
        i: usize,
        partial: Partial,
        memory: &TxMemory,
    ) -> Result<Affected, String> {
        let batching = Batching::of(&self.dag.nodes[i])?;
        let mut sources = Vec::new();
        let mut appended = None;
        match partial {
            Partial::Full(reason) => return Ok(Affected::Full(reason)),
            Partial::Batches { table, appended: a } => {
                sources.push(format!("SELECT b FROM {table}"));
                appended = a;
            }
            Partial::Nothing => {}
        }
        let committed_only = sources.len();
        for p in self.dag.parents(i) {
            let Some(key) = relation_key(&self.dag.nodes[p]) else {
                continue;
            };
            let query = match memory.deltas.get(&key) {
                Some(Delta::Replaced) => Err(format!("{key} was rebuilt in full in this run")),
                Some(Delta::Rows(table)) => self.batch_query(i, &batching, p, &identifier(table)),
                None => continue,
            };
            match query {
                Ok(q) => sources.push(q),
                Err(reason) => return Ok(Affected::Full(reason)),
            }
        }
        if sources.is_empty() {
            return Ok(Affected::Batches(BatchSet::default()));
        }
        // Rows rewritten earlier in this transaction are not appended ones.
        let appended = appended.filter(|_| sources.len() == committed_only);
        let table = format!("__lake_batches_{i}");
        self.distinct_batches(&table, &sources)?;
        let set = self.batch_set(table, &batching)?;
        Ok(Affected::Batches(BatchSet { appended, ..set }))
    }

    /// What lake needs to know of the batches in `table`: how many, NULL
    /// among them, and for time batches the first and last.
    fn batch_set(&self, table: String, batching: &Batching) -> Result<BatchSet, String> {
        let summary = self
            .session
            .query(&format!(
                "SELECT count(*), count(*) - count(b), CAST(min(b) AS VARCHAR), \
                 CAST(max(b) AS VARCHAR), typeof(min(b)) FROM {table}"
            ))
            .map_err(|e| e.message)?;
        let row = summary.rows.into_iter().next().unwrap_or_default();
        let text = |k: usize| row.get(k).cloned().flatten();
        let ty = text(4).unwrap_or_default();
        let literal = |v: String| format!("CAST({} AS {ty})", string_literal(&v));
        let range = match batching {
            Batching::Time { .. } => text(2).map(literal).zip(text(3).map(literal)),
            Batching::Key { .. } => None,
        };
        Ok(BatchSet {
            count: text(0).and_then(|n| n.parse().ok()).unwrap_or(0),
            null: text(1).is_some_and(|n| n != "0"),
            table,
            range,
            appended: None,
        })
    }

    /// The parents a recompute of node `i` reads only for its batches:
    /// those whose rows carry the batch (not those looked up through
    /// another parent, nor those lake cannot map).
    pub fn parent_filters(&self, i: usize) -> Vec<ParentFilter> {
        let Ok(batching) = Batching::of(&self.dag.nodes[i]) else {
            return Vec::new();
        };
        let model = &self.dag.nodes[i];
        self.dag
            .parents(i)
            .into_iter()
            .filter(|&p| {
                !matches!(
                    model.config.batch.batch_from.get(&self.dag.nodes[p].name),
                    Some(BatchFrom::Via { .. })
                )
            })
            .filter_map(|p| {
                let expr = self.direct(model, &batching, p).ok()?;
                let relation = self.dag.nodes[p].relation.as_ref()?.to_string();
                Some(ParentFilter { relation, expr })
            })
            .collect()
    }

    /// A view or ephemeral parent `p` holds no rows of its own, so
    /// `table_changes` cannot say what changed in it: when anything it
    /// reads changed after snapshot `w`, the model rebuilds in full.
    fn unmappable_change(&self, p: usize, w: i64) -> Option<String> {
        let parent = &self.dag.nodes[p];
        let rowless = parent.kind == crate::nodes::NodeKind::Model
            && matches!(
                parent.config.materialized,
                Materialization::View | Materialization::Ephemeral
            );
        if !rowless {
            return None;
        }
        let versions = &self.state.versions;
        let changed = crate::state::inputs(self.dag, p)
            .into_iter()
            .chain(relation_key(parent))
            .find(|r| versions.of(r).is_some_and(|v| v > w))?;
        Some(format!(
            "it reads {} ({}), which stores no rows: lake cannot tell which batches {changed} changed",
            parent.name,
            parent.config.materialized.as_str()
        ))
    }

    /// Whether a changes query has a row.
    fn any_row(&self, changes: &str) -> Result<bool, String> {
        self.session
            .query_count(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM {changes} AS c LIMIT 1)"
            ))
            .map(|n| n > 0)
            .map_err(|e| e.message)
    }

    /// The query giving the batches of parent `p`'s changed rows
    /// (`changes`); `Err` says why they cannot be mapped to batches.
    fn batch_query(
        &self,
        i: usize,
        batching: &Batching,
        p: usize,
        changes: &str,
    ) -> Result<String, String> {
        let model = &self.dag.nodes[i];
        let parent = &self.dag.nodes[p];
        match model.config.batch.batch_from.get(&parent.name) {
            Some(BatchFrom::Via { via, on }) => {
                let q = self
                    .dag
                    .parents(i)
                    .into_iter()
                    .find(|&q| self.dag.nodes[q].name == *via)
                    .ok_or_else(|| {
                        format!(
                            "batch_from of `{}` looks up `{via}`, which it does not ref()",
                            parent.name
                        )
                    })?;
                let expr = self.direct(model, batching, q)?;
                let rel = self.dag.nodes[q].relation.as_ref().ok_or("no relation")?;
                Ok(batches_through(batching, rel, &expr, on, changes))
            }
            _ => Ok(batches_of_changes(
                batching,
                &self.direct(model, batching, p)?,
                changes,
            )),
        }
    }

    /// Where parent `p`'s rows keep the model's batch: `batch_from`, a
    /// column of the same name, or (for time batches) its `event_time`.
    fn direct(&self, model: &Node, batching: &Batching, p: usize) -> Result<String, String> {
        let parent = &self.dag.nodes[p];
        if let Some(BatchFrom::Expr(e)) = model.config.batch.batch_from.get(&parent.name) {
            return Ok(e.clone());
        }
        let key = relation_key(parent).unwrap_or_default();
        if parent.config.materialized == Materialization::Ephemeral {
            return Err(format!(
                "it reads ephemeral model {key}, whose changes lake cannot see"
            ));
        }
        let column = batching.column();
        let rel = parent.relation.as_ref().ok_or("no relation")?;
        let columns = self
            .session
            .columns(&rel.to_string())
            .map_err(|e| e.message)?;
        if columns.iter().any(|(c, _)| c.eq_ignore_ascii_case(column)) {
            return Ok(identifier(column));
        }
        match (batching, &parent.config.batch.event_time) {
            (Batching::Time { .. }, Some(time)) => Ok(identifier(time)),
            _ => Err(format!(
                "{key} changed, and it has no column `{column}` to tell which batches \
                 (map it with batch_from)"
            )),
        }
    }
}
