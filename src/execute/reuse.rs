//! The node runner's side of build state: deciding that a node's last
//! build still stands (status `reused`), recording a new build with its
//! data, and planning a microbatch model's recompute from what changed.

use super::microbatch::{delta_table, Affected, Ctx, Delta, Partial, TxMemory};
use super::node_runner::{NodeRunner, Refusal, Work, WritePlan};
use super::scheduler::Outcome;
use crate::nodes::{NodeKind, Relation, Relationship};
use crate::plan;
use crate::plan::microbatch::Batching;
use crate::plan::test_slice::relationship_in_two_steps;
use crate::project::config::{IncrementalStrategy, TestScope};
use crate::project::Materialization;
use crate::state::fingerprint::fingerprint;
use crate::state::volatile::volatility;
use crate::state::{relation_key, Record, Versions};

impl NodeRunner<'_> {
    /// Node `i`'s fingerprint (tests run on the whole table).
    fn fingerprint_of(&self, i: usize) -> String {
        fingerprint(&self.dag.nodes[i], "")
    }

    /// Whether node `i`'s last build still stands, so it need not run.
    pub(super) fn reusable(&self, i: usize) -> bool {
        let node = &self.dag.nodes[i];
        let kind_reuses = match node.kind {
            NodeKind::Seed | NodeKind::Test => true,
            NodeKind::Model => !matches!(
                node.config.materialized,
                Materialization::Load | Materialization::Ephemeral
            ),
            NodeKind::Source => false,
        };
        let whole_tests = node.kind == NodeKind::Test && self.test_scope == TestScope::All;
        if !self.reuse || !kind_reuses || whole_tests {
            return false;
        }
        let memory = self.memory.borrow();
        let reason =
            self.state
                .borrow()
                .must_run(self.dag, i, &self.fingerprint_of(i), &memory.written);
        tracing::debug!(node = %node.unique_id, reason = ?reason, "reuse");
        reason.is_none()
    }

    /// Reads the lake's relation versions again (a node of its own
    /// transaction, or a new attempt) and forgets the last transaction.
    pub(super) fn refresh(&self) -> Result<(), String> {
        *self.memory.borrow_mut() = TxMemory::default();
        if !self.snapshots {
            return Ok(());
        }
        let versions = Versions::read(&self.session, self.database(), self.metadata_schema)
            .map_err(|e| e.message)?;
        self.state.borrow_mut().versions = versions;
        Ok(())
    }

    /// At the start of a run's transaction, before anything is written:
    /// reads versions and every microbatch model's committed changes.
    pub fn begin_attempt(&self, order: &[usize]) -> Result<(), String> {
        self.refresh()?;
        for &i in order {
            if !is_microbatch(&self.dag.nodes[i]) {
                continue;
            }
            let partial = self.committed_part(i)?;
            self.memory.borrow_mut().committed.insert(i, partial);
        }
        Ok(())
    }

    fn committed_part(&self, i: usize) -> Result<Partial, String> {
        let state = self.state.borrow();
        let ctx = Ctx {
            session: &self.session,
            dag: self.dag,
            state: &state,
            memory: &self.memory,
        };
        ctx.committed(i, &self.fingerprint_of(i))
    }

    /// A successful write of node `i`: nodes after it in the transaction
    /// see its relation as rewritten.
    pub(super) fn note_written(&self, i: usize, delta: Delta) {
        if let Some(key) = relation_key(&self.dag.nodes[i]) {
            let mut memory = self.memory.borrow_mut();
            memory.written.insert(key.clone());
            memory.deltas.insert(key, delta);
        }
    }

    /// The state row recording node `i`'s build; `None` for a node that
    /// reads what lake cannot see changing (said in its action).
    pub(super) fn record(&self, i: usize, outcome: &mut Outcome) -> Option<Record> {
        let node = &self.dag.nodes[i];
        let load =
            node.config.materialized == Materialization::Load && node.kind == NodeKind::Model;
        if load || !self.snapshots {
            return None;
        }
        let fingerprint = self.fingerprint_of(i);
        // The same SQL was recorded before, so it was found stable then.
        let known_stable = self
            .state
            .borrow()
            .built
            .get(&node.unique_id)
            .is_some_and(|b| b.fingerprint == fingerprint);
        let volatile = match node.config.batch.volatile {
            Some(true) => Some("config volatile: true".to_string()),
            Some(false) => None,
            None if known_stable => None,
            None => node
                .compiled_sql
                .as_deref()
                .and_then(|sql| volatility(&self.session, sql)),
        };
        if let Some(reason) = volatile {
            outcome.action = format!("{}, rebuilt every run: {reason}", outcome.action);
            return None;
        }
        let state = self.state.borrow();
        Some(Record {
            unique_id: node.unique_id.clone(),
            fingerprint,
            inputs: state.seen(self.dag, i, &self.memory.borrow().written),
            watermark: state.versions.current,
            recomputed: outcome.recomputed.clone(),
        })
    }

    /// Test `i`'s SQL under `test-scope: changed`: the model under test
    /// is read only for its rows written since the test last passed (with
    /// the same SQL). Whole tables on its first run, with `test-scope:
    /// all`, for views and singular tests.
    pub(super) fn test_slice(&self, i: usize, sql: &str, outcome: &mut Outcome) -> String {
        let node = &self.dag.nodes[i];
        let tested = node
            .attached_node
            .as_deref()
            .and_then(|id| self.dag.position(id));
        let Some(tested) = tested.map(|t| &self.dag.nodes[t]) else {
            return sql.to_string();
        };
        let state = self.state.borrow();
        let last = state.built.get(&node.unique_id);
        match (&tested.relation, last) {
            (Some(rel), Some(last))
                if stored(tested)
                    && self.test_scope == TestScope::Changed
                    && last.fingerprint == self.fingerprint_of(i)
                    && last.watermark >= state.versions.oldest =>
            {
                outcome.action = format!("test (rows written since snapshot {})", last.watermark);
                let slice = plan::microbatch::rows_since(rel, last.watermark, last.built_in);
                match self.stored_parent(i) {
                    Some((r, parent)) => {
                        let recent =
                            plan::microbatch::rows_since(parent, last.watermark, last.built_in);
                        relationship_in_two_steps(r, &slice, &recent)
                    }
                    None => plan::microbatch::replace_relation(sql, &rel.to_string(), &slice),
                }
            }
            _ => sql.to_string(),
        }
    }

    /// A `relationships` test's sides and its parent's table, when the
    /// parent stores rows lake can tell new ones of.
    fn stored_parent(&self, i: usize) -> Option<(&Relationship, &Relation)> {
        let r = self.dag.nodes[i].relationship.as_ref()?;
        self.dag.parents(i).into_iter().find_map(|p| {
            let parent = &self.dag.nodes[p];
            let rel = parent.relation.as_ref()?;
            (stored(parent) && rel.to_string() == r.parent).then_some((r, rel))
        })
    }

    /// A microbatch model: the batches its parents' changes touch, deleted
    /// and inserted again; in full when asked, on its first build, or
    /// when its changes cannot be mapped to batches.
    pub(super) fn prepare_microbatch(
        &self,
        i: usize,
        rel: &Relation,
        sql: &str,
        full_refresh: bool,
        outcome: &mut Outcome,
    ) -> Result<Work, Refusal> {
        let node = &self.dag.nodes[i];
        let batching = Batching::of(node)?;
        let state = self.state.borrow();
        let ctx = Ctx {
            session: &self.session,
            dag: self.dag,
            state: &state,
            memory: &self.memory,
        };
        let affected = self.affected(&ctx, i, rel, full_refresh)?;
        let (write, delta) = match affected {
            Affected::Full(reason) => {
                outcome.recomputed = Some(format!("everything: {reason}"));
                outcome.action = format!("microbatch (in full: {reason})");
                (plan::table(node, rel, sql), Delta::Replaced)
            }
            Affected::Batches(set) if set.is_empty() => {
                outcome.recomputed = Some("nothing".into());
                outcome.action = "microbatch (no parent row changed)".into();
                return Ok(Work::Nothing);
            }
            Affected::Batches(set) => {
                let what = batching.describe(set.count);
                outcome.action = match &set.appended {
                    Some(a) => format!(
                        "microbatch ({what}, from the rows appended to {})",
                        a.relation
                    ),
                    None => format!("microbatch ({what})"),
                };
                outcome.recomputed = Some(what);
                let delta = delta_table(i);
                let parents = ctx.parent_filters(i);
                let write =
                    plan::microbatch::recompute(node, rel, sql, &batching, &set, &parents, &delta);
                (write, Delta::Rows(delta))
            }
        };
        Ok(Work::Write(WritePlan {
            write,
            cleanup: None,
            delta,
        }))
    }
}

impl NodeRunner<'_> {
    /// What microbatch model `i` recomputes: everything when asked or on
    /// its first build, else the batches its parents' changes touch.
    fn affected(
        &self,
        ctx: &Ctx<'_>,
        i: usize,
        rel: &Relation,
        full_refresh: bool,
    ) -> Result<Affected, String> {
        if full_refresh {
            return Ok(Affected::Full("--full-refresh".into()));
        }
        let key = (rel.schema.clone(), rel.identifier.clone());
        if !self.existing.contains(&key) {
            return Ok(Affected::Full("its table does not exist yet".into()));
        }
        let precomputed = self.memory.borrow_mut().committed.remove(&i);
        let partial = match precomputed {
            Some(p) => p,
            None => ctx.committed(i, &self.fingerprint_of(i))?,
        };
        ctx.affected(i, partial, &self.memory.borrow())
    }
}

fn is_microbatch(node: &crate::nodes::Node) -> bool {
    node.kind == NodeKind::Model
        && node.config.materialized == Materialization::Incremental
        && node.config.strategy() == IncrementalStrategy::Microbatch
}

/// Whether `node`'s relation is a lake table (whose rows carry the
/// snapshot that wrote them), not a view, an ephemeral CTE or a source.
fn stored(node: &crate::nodes::Node) -> bool {
    !matches!(
        node.config.materialized,
        Materialization::View | Materialization::Ephemeral
    ) && node.kind != NodeKind::Source
}
