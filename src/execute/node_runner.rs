//! Builds one node: picks the plan for its materialization, runs the
//! statements on this thread's session, rolls back on failure.

use std::collections::HashSet;
use std::path::Path;

use super::scheduler::{Outcome, Status, Worker};
use crate::graph::Dag;
use crate::nodes::{NodeKind, Relation};
use crate::plan;
use crate::project::Materialization;
use crate::warehouse::{Session, WarehouseError};

/// A worker bound to one DuckDB connection.
pub struct NodeRunner<'a> {
    /// This thread's connection.
    pub session: Session,
    /// The graph being run.
    pub dag: &'a Dag,
    /// Project root, for seed paths.
    pub root: &'a Path,
    /// Tables that existed when the run started: `(schema, name)`.
    pub existing: &'a HashSet<(String, String)>,
    /// `--full-refresh`.
    pub full_refresh: bool,
}

type RunResult = Result<(Status, Outcome), (String, Outcome)>;

impl NodeRunner<'_> {
    /// Runs statements in order; on failure rolls back an open transaction.
    fn run_all(&self, statements: Vec<String>, outcome: &mut Outcome) -> Result<u64, String> {
        let mut rows = 0;
        let mut in_tx = false;
        let mut guard = None;
        for sql in &statements {
            outcome.statements.push(sql.clone());
            if sql == "BEGIN TRANSACTION" {
                guard = Some(self.session.write_lock());
                in_tx = true;
            }
            match self.session.execute(sql) {
                Ok(n) => {
                    if sql.starts_with("CREATE OR REPLACE TABLE") || sql.starts_with("INSERT") {
                        rows += n;
                    }
                    if sql == "COMMIT" {
                        in_tx = false;
                        guard = None;
                    }
                }
                Err(e) => {
                    if in_tx {
                        let _ = self.session.execute_batch("ROLLBACK");
                    }
                    drop(guard);
                    return Err(e.message);
                }
            }
        }
        Ok(rows)
    }

    fn exists(&self, rel: &Relation) -> bool {
        self.existing
            .contains(&(rel.schema.clone(), rel.identifier.clone()))
    }

    fn incremental(
        &self,
        i: usize,
        rel: &Relation,
        sql: &str,
        outcome: &mut Outcome,
    ) -> Result<u64, String> {
        let node = &self.dag.nodes[i];
        let full = node.config.full_refresh.unwrap_or(self.full_refresh);
        if full || !self.exists(rel) {
            outcome.action = "incremental (full build)".into();
            return self.run_all(plan::table(node, rel, sql), outcome);
        }
        let strategy = node.config.incremental_strategy.clone().unwrap_or_else(|| {
            if node.config.unique_key.is_empty() {
                "append".into()
            } else {
                "merge".into()
            }
        });
        outcome.action = format!("incremental ({strategy})");
        self.run_all(vec![plan::stage_incremental(node, sql)], outcome)?;
        let staged = crate::nodes::quote(&plan::staging_table(node));
        let result = (|| {
            let describe = |what: &str| -> Result<Vec<(String, String)>, String> {
                self.session
                    .columns(what)
                    .map_err(|e: WarehouseError| e.message)?
                    .ok_or_else(|| format!("{what} disappeared during the run"))
            };
            let existing = describe(&rel.to_string())?;
            let new = describe(&staged)?;
            let statements = plan::merge_incremental(node, rel, &existing, &new)?;
            self.run_all(statements, outcome)
        })();
        let _ = self.session.execute_batch(&plan::drop_staging(node));
        result
    }
}

impl Worker for NodeRunner<'_> {
    fn run(&mut self, i: usize) -> RunResult {
        let node = &self.dag.nodes[i];
        let mut outcome = Outcome::default();
        let sql = node.compiled_sql.as_deref().unwrap_or("");
        let result: Result<Status, String> = match (node.kind, &node.relation) {
            (NodeKind::Model, Some(rel)) => {
                let rows = match node.config.materialized {
                    Materialization::View => {
                        outcome.action = "view".into();
                        self.run_all(plan::view(node, rel, sql), &mut outcome)
                            .map(|_| None)
                    }
                    Materialization::Table | Materialization::Seed => {
                        outcome.action = "table".into();
                        self.run_all(plan::table(node, rel, sql), &mut outcome)
                            .map(Some)
                    }
                    Materialization::Incremental => {
                        self.incremental(i, rel, sql, &mut outcome).map(Some)
                    }
                    Materialization::Ephemeral => {
                        outcome.action = "ephemeral (inlined)".into();
                        Ok(None)
                    }
                };
                rows.map(|r| {
                    outcome.rows = r;
                    Status::Success
                })
            }
            (NodeKind::Seed, Some(rel)) => {
                outcome.action = "seed".into();
                self.run_all(
                    plan::seed(node, rel, &self.root.join(&node.path)),
                    &mut outcome,
                )
                .map(|r| {
                    outcome.rows = Some(r);
                    Status::Success
                })
            }
            (NodeKind::Test, _) => {
                outcome.action = "test".into();
                let q = plan::test_count(sql);
                outcome.statements.push(q.clone());
                self.session
                    .query_count(&q)
                    .map_err(|e| e.message)
                    .map(|n| {
                        outcome.failures = Some(n);
                        if n == 0 {
                            Status::Pass
                        } else {
                            Status::Fail
                        }
                    })
            }
            _ => {
                outcome.action = "source".into();
                Ok(Status::Success)
            }
        };
        match result {
            Ok(status) => Ok((status, outcome)),
            Err(message) => Err((message, outcome)),
        }
    }
}
