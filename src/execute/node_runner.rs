//! Builds nodes on one session. A write to the lake is prepared first (an
//! incremental model stages its new rows outside the transaction), then
//! its statements run inside a transaction. Independent nodes that are
//! ready together share one transaction (group commit): a DuckLake commit
//! costs ~35 ms on the embedded catalog, the statements themselves a few.
//! If anything in a group fails, the group rolls back and each node runs
//! again on its own, so one bad model never takes its neighbours down.
//!
//! A model with an enforced contract has its query's columns checked
//! (`DESCRIBE`, which binds the query without running it) before anything
//! is staged or written: a model that breaks its contract fails with the
//! differences listed, and its table stays as it was.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use super::microbatch::{Delta, TxMemory};
use super::scheduler::{Outcome, Status, Timing, Worker};
use crate::graph::Dag;
use crate::history::message::{CommitKind, Published, Stamp};
use crate::nodes::{Contract, Node, NodeKind, Relation};
use crate::plan;
use crate::project::test_config::Verdict;
use crate::project::Materialization;
use crate::query_port::LiveRender;
use crate::warehouse::Session;

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
    /// Where `load` models find landed files.
    pub landing: Option<&'a crate::storage::BlockingStore>,
    /// Set on Ctrl-C / SIGTERM: a statement that fails then was
    /// interrupted, not wrong (a landed file is not quarantined for it).
    pub cancel: &'a std::sync::atomic::AtomicBool,
    /// The run's identity, stamped on every snapshot this worker commits.
    pub stamp: &'a Stamp,
    /// Earlier builds and the lake's relation versions, refreshed when a
    /// transaction starts.
    pub state: RefCell<crate::state::BuildState>,
    /// Whether unchanged nodes are reused (off: `--no-reuse`,
    /// `--full-refresh`).
    pub reuse: bool,
    /// What data tests read: rows changed since they last passed, or all.
    pub test_scope: crate::project::config::TestScope,
    /// What the open transaction rewrote so far.
    pub memory: RefCell<TxMemory>,
    /// A PostgreSQL catalog's metadata schema (to read versions).
    pub metadata_schema: Option<&'a str>,
    /// Whether the target is a DuckLake, with relation versions and build
    /// state; a plain DuckDB database has neither, so every node runs.
    pub snapshots: bool,
}

type RunResult = super::scheduler::WorkResult;

/// A prepared write: the plan's statements (run inside a transaction the
/// runner opens), and what to drop once it committed or failed.
pub(super) struct WritePlan {
    pub(super) write: plan::Write,
    pub(super) cleanup: Option<String>,
    /// What the write does to the node's relation, for the nodes after it
    /// in the same transaction.
    pub(super) delta: Delta,
}

/// Why a node could not be prepared.
pub(super) enum Refusal {
    /// DuckDB or the plan refused the model's SQL; the runner adds where
    /// in the model file.
    Sql(String),
    /// The query breaks the model's contract; the message already points
    /// at the properties file that declares it.
    Contract(String),
    /// The model's Jinja failed when it rendered at run time; the message
    /// already points at the line.
    Rendered(String),
}

impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Refusal::Sql(message)
    }
}

/// What [`NodeRunner::build`] returns: a failure says who is to blame.
type Built = Result<(Status, Outcome), Box<(Refusal, Outcome)>>;

/// What one node needs.
pub(super) enum Work {
    /// Nothing: its last build still stands.
    Reused,
    /// Statements inside a transaction.
    Write(WritePlan),
    /// Nothing to write (ephemeral, source); already successful.
    Nothing,
    /// A test: store (when it keeps them) and count failing rows.
    Test(plan::TestRun),
    /// Landed files to append, one transaction each.
    Load,
}

impl NodeRunner<'_> {
    fn exists(&self, rel: &Relation) -> bool {
        self.existing
            .contains(&(rel.schema.clone(), rel.identifier.clone()))
    }

    /// Checks the columns `sql` returns against `node`'s contract.
    fn check_contract(
        &self,
        node: &Node,
        contract: &Contract,
        sql: &str,
        outcome: &mut Outcome,
    ) -> Result<(), Refusal> {
        let describe = plan::contract::describe(sql);
        outcome.statements.push(describe.clone());
        let returned = self.session.describe(&describe).map_err(|e| e.message)?;
        let differences = plan::contract::compare(contract, &returned);
        if differences.is_empty() {
            return Ok(());
        }
        Err(Refusal::Contract(plan::contract::violation(
            node,
            contract,
            &differences,
        )))
    }

    /// Decides what node `i` runs; stages incremental rows on the way.
    fn prepare(&self, i: usize, outcome: &mut Outcome) -> Result<Work, Refusal> {
        let node = &self.dag.nodes[i];
        if self.reusable(i) {
            outcome.action = "reused".into();
            return Ok(Work::Reused);
        }
        let live_sql;
        let sql = match &node.live {
            Some(live) => {
                live_sql = self.render_live(live, outcome)?;
                live_sql.as_str()
            }
            None => node.compiled_sql.as_deref().unwrap_or(""),
        };
        let write = |write| {
            Ok(Work::Write(WritePlan {
                write,
                cleanup: None,
                delta: Delta::Replaced,
            }))
        };
        if let (NodeKind::Model, Some(contract)) = (node.kind, &node.contract) {
            // Before anything is staged or written.
            self.check_contract(node, contract, sql, outcome)?;
        }
        match (node.kind, &node.relation) {
            (NodeKind::Model, Some(rel)) => match node.config.materialized {
                Materialization::View => {
                    outcome.action = "view".into();
                    write(plan::view(node, rel, sql))
                }
                Materialization::Table | Materialization::Seed => {
                    outcome.action = "table".into();
                    write(plan::table(node, rel, sql))
                }
                Materialization::Load => {
                    outcome.action = "load".into();
                    Ok(Work::Load)
                }
                Materialization::Ephemeral => {
                    outcome.action = "ephemeral (inlined)".into();
                    Ok(Work::Nothing)
                }
                Materialization::Incremental => self.prepare_incremental(i, rel, sql, outcome),
            },
            (NodeKind::Seed, Some(rel)) => {
                outcome.action = "seed".into();
                write(plan::seed(node, rel, &self.root.join(&node.path)))
            }
            (NodeKind::Test, _) => {
                outcome.action = "test".into();
                let sql = self.test_slice(i, sql, outcome);
                let other_kind = self.stored_as_other_kind(node)?;
                Ok(Work::Test(plan::test(node, &sql, other_kind)))
            }
            _ => {
                outcome.action = "source".into();
                Ok(Work::Nothing)
            }
        }
    }

    /// Renders a model that reads the warehouse while it renders again,
    /// now that its parents are built, its queries running on this
    /// session (inside the run's transaction); they are logged with the
    /// model's statements.
    fn render_live(&self, live: &LiveRender, outcome: &mut Outcome) -> Result<String, Refusal> {
        live.render_with(|sql| {
            outcome.statements.push(sql.to_string());
            self.session.query_table(sql).map_err(|e| e.message)
        })
        .map_err(Refusal::Rendered)
    }

    /// An incremental model: a full build when asked or when its table is
    /// missing; otherwise its new rows are staged (outside the
    /// transaction) and merged per its strategy and `on_schema_change`.
    /// A `microbatch` model recomputes what its parents' changes touch
    /// (`super::reuse`).
    fn prepare_incremental(
        &self,
        i: usize,
        rel: &Relation,
        sql: &str,
        outcome: &mut Outcome,
    ) -> Result<Work, Refusal> {
        let node = &self.dag.nodes[i];
        let full = node.config.full_refresh.unwrap_or(self.full_refresh);
        if node.config.strategy() == crate::project::config::IncrementalStrategy::Microbatch {
            return self.prepare_microbatch(i, rel, sql, full, outcome);
        }
        if full || !self.exists(rel) {
            outcome.action = "incremental (full build)".into();
            return Ok(Work::Write(WritePlan {
                write: plan::table(node, rel, sql),
                cleanup: None,
                delta: Delta::Replaced,
            }));
        }
        outcome.action = format!("incremental ({})", node.config.strategy());
        let stage = plan::stage_incremental(node, sql);
        outcome.statements.push(stage.clone());
        self.session.execute(&stage).map_err(|e| e.message)?;
        let cleanup = plan::drop_staging(node);
        let planned = (|| {
            let describe = |what: &str| self.session.columns(what).map_err(|e| e.message);
            let existing = describe(&rel.to_string())?;
            let new = describe(&crate::sql::identifier(&plan::staging_table(node)))?;
            plan::merge_incremental(node, rel, &existing, &new)
        })();
        match planned {
            Ok(write) => Ok(Work::Write(WritePlan {
                write,
                cleanup: Some(cleanup),
                delta: Delta::Replaced,
            })),
            Err(e) => {
                let _ = self.session.execute_batch(&cleanup);
                Err(e.into())
            }
        }
    }

    /// Runs writes of several nodes in one transaction. `Err` carries the
    /// failing node's message; everything is rolled back then.
    fn commit_group(&self, plans: &mut [(usize, WritePlan, Outcome)]) -> Result<(), String> {
        self.session
            .in_transaction(|| {
                let mut records = Vec::new();
                for (i, plan, outcome) in plans.iter_mut() {
                    self.write_one(&plan.write, outcome, true)?;
                    outcome.record = self.record(*i, outcome);
                    records.extend(outcome.record.clone());
                }
                for sql in crate::state::store::write(self.database(), &records, &self.stamp.run_id)
                {
                    self.session.execute(&sql)?;
                }
                let mut info = self.stamp.commit(CommitKind::Run);
                info.nodes = plans
                    .iter()
                    .filter_map(|(i, _, outcome)| self.published(*i, outcome))
                    .collect();
                if let Some(tag) = info.statement(self.database()) {
                    self.session.execute(&tag)?;
                }
                Ok(())
            })
            .map_err(|e: crate::warehouse::WarehouseError| e.message)
    }

    /// The record of node `i` in a commit message, when it wrote a relation.
    pub fn published(&self, i: usize, outcome: &Outcome) -> Option<Published> {
        let node = &self.dag.nodes[i];
        let rel = node.relation.as_ref()?;
        let writes = matches!(node.kind, NodeKind::Model | NodeKind::Seed)
            && node.config.materialized != Materialization::Ephemeral;
        writes.then(|| Published {
            unique_id: node.unique_id.clone(),
            relation: format!("{}.{}", rel.schema, rel.identifier),
            rows: outcome.rows,
        })
    }

    /// The name the lake is attached as (every relation carries it).
    pub fn database(&self) -> &str {
        self.dag
            .nodes
            .iter()
            .find_map(|n| n.relation.as_ref())
            .map_or("lake", |r| r.database.as_str())
    }

    /// Runs one node's statements inside the open transaction, logging
    /// them in `outcome` as that node's transaction, and records the rows
    /// its row-writing statements reported.
    /// `own_transaction`: the node's log shows its statements framed by
    /// BEGIN/COMMIT (per-node commits); in a run's one transaction it shows
    /// them alone.
    fn write_one(
        &self,
        write: &plan::Write,
        outcome: &mut Outcome,
        own_transaction: bool,
    ) -> Result<(), crate::warehouse::WarehouseError> {
        if own_transaction {
            outcome.statements.push(plan::BEGIN.into());
        }
        let mut counts = Vec::with_capacity(write.statements.len());
        for statement in &write.statements {
            outcome.statements.push(statement.sql.clone());
            counts.push(self.session.execute(&statement.sql)?);
        }
        outcome.rows = write.rows_written(&counts);
        if own_transaction {
            outcome.statements.push(plan::COMMIT.into());
        }
        Ok(())
    }

    /// Runs a test: stores its failing rows first when it keeps them (in
    /// the open transaction, or, `in_open` false, in one of their own
    /// with the run's commit message), then counts them.
    fn count_failures(
        &self,
        run: &plan::TestRun,
        outcome: &mut Outcome,
        in_open: bool,
    ) -> Result<u64, crate::warehouse::WarehouseError> {
        match &run.store {
            Some(write) if in_open => self.write_one(write, outcome, false)?,
            Some(write) => self.session.in_transaction(|| {
                self.write_one(write, outcome, true)?;
                let info = self.stamp.commit(CommitKind::Run);
                if let Some(tag) = info.statement(self.database()) {
                    self.session.execute(&tag)?;
                }
                Ok::<(), crate::warehouse::WarehouseError>(())
            })?,
            None => {}
        }
        // Failing rows are counted, not written.
        outcome.rows = None;
        outcome.statements.push(run.count.clone());
        self.session.query_count(&run.count)
    }

    /// Whether test `node`'s stored failures exist as the other kind (a
    /// table where a view goes now, or the reverse): DuckDB replaces a
    /// relation only by one of its own kind.
    fn stored_as_other_kind(&self, node: &Node) -> Result<bool, Refusal> {
        let Some(stored) = &node.stored_failures else {
            return Ok(false);
        };
        let rel = &stored.relation;
        let found = self
            .session
            .query(&format!(
                "SELECT table_type FROM information_schema.tables WHERE table_catalog = {} AND table_schema = {} AND table_name = {}",
                crate::sql::string_literal(&rel.database),
                crate::sql::string_literal(&rel.schema),
                crate::sql::string_literal(&rel.identifier)
            ))
            .map_err(|e| e.message)?;
        let kind = found
            .rows
            .first()
            .and_then(|r| r.first().cloned().flatten());
        Ok(match kind.as_deref() {
            Some("VIEW") => !stored.view,
            Some(_) => stored.view,
            None => false,
        })
    }

    fn cleanup(&self, plan: &WritePlan) {
        if let Some(c) = &plan.cleanup {
            let _ = self.session.execute_batch(c);
        }
    }
}

impl NodeRunner<'_> {
    /// Runs node `i` with its own commits (per-node mode, and loads, which
    /// commit one landed file at a time).
    pub fn run_one(&self, i: usize) -> RunResult {
        self.build(i).map_err(|failed| {
            let (e, outcome) = *failed;
            Box::new((self.locate(i, e, &outcome), outcome))
        })
    }

    /// The error text of a refusal, pointing at the file to fix.
    fn locate(&self, i: usize, refusal: Refusal, outcome: &Outcome) -> String {
        match refusal {
            Refusal::Sql(message) => self.point_at_file(i, message, outcome),
            Refusal::Contract(message) | Refusal::Rendered(message) => message,
        }
    }

    /// Adds `--> models/x.sql:3` to an error: DuckDB quotes the line of the
    /// statement it ran, which the analyst never wrote.
    fn point_at_file(&self, i: usize, message: String, outcome: &Outcome) -> String {
        let node = &self.dag.nodes[i];
        let source = match node.compiled_sql {
            Some(_) => std::fs::read_to_string(self.root.join(&node.path)).unwrap_or_default(),
            None => String::new(),
        };
        let at = crate::render::error_location(
            &message,
            outcome.statements.last().map_or("", String::as_str),
            node.compiled_sql.as_deref().unwrap_or(""),
            &node.path,
            &source,
        );
        format!("{message}\n  --> {at}")
    }

    fn build(&self, i: usize) -> Built {
        let mut outcome = Outcome::default();
        match self.prepare(i, &mut outcome) {
            Err(e) => Err(Box::new((e, outcome))),
            Ok(Work::Nothing) => Ok((Status::Success, outcome)),
            Ok(Work::Reused) => Ok((Status::Reused, outcome)),
            Ok(Work::Load) => {
                let node = &self.dag.nodes[i];
                let (Some(rel), Some(landing)) = (&node.relation, self.landing) else {
                    return Err(Box::new((
                        Refusal::Sql("no landing location for a load model".into()),
                        outcome,
                    )));
                };
                let sql = node.compiled_sql.as_deref().unwrap_or("");
                let existed = self.exists(rel);
                if node.config.full_refresh.unwrap_or(self.full_refresh) {
                    // Landed files are deleted once loaded: dropping the table
                    // could not be undone by reloading them.
                    tracing::warn!(
                        "{rel} is a `load` model: --full-refresh keeps its rows and appends new files as usual"
                    );
                }
                let env = super::load::LoadEnv {
                    session: &self.session,
                    landing,
                    cancel: self.cancel,
                    stamp: self.stamp,
                };
                match super::load::load_landed(&env, node, rel, sql, existed, &mut outcome) {
                    Ok(s) => Ok((s, outcome)),
                    Err(e) => Err(Box::new((e.into(), outcome))),
                }
            }
            Ok(Work::Test(run)) => match self.count_failures(&run, &mut outcome, false) {
                Ok(n) => {
                    outcome.failures = Some(n);
                    Ok((self.judge(i, n), outcome))
                }
                Err(e) => Err(Box::new((e.message.into(), outcome))),
            },
            Ok(Work::Write(plan)) => {
                let mut group = vec![(i, plan, outcome)];
                let r = self.commit_group(&mut group);
                let (_, plan, outcome) = group.pop().expect("one");
                self.cleanup(&plan);
                match r {
                    Ok(()) => Ok((Status::Success, outcome)),
                    Err(e) => Err(Box::new((e.into(), outcome))),
                }
            }
        }
    }
}

impl NodeRunner<'_> {
    /// How test `i` ends with `failures` failing rows (its `warn_if`,
    /// `error_if` and `severity`; any failure fails a test without them).
    fn judge(&self, i: usize, failures: u64) -> Status {
        let config = self.dag.nodes[i].config.test.clone().unwrap_or_default();
        match config.judge(failures) {
            Verdict::Pass => Status::Pass,
            Verdict::Warn => Status::Warn,
            Verdict::Fail => Status::Fail,
        }
    }

    /// Runs node `i` inside the transaction the caller opened (a run's one
    /// snapshot): its writes commit or roll back with everyone else's.
    /// Loads commit per file and do not come here.
    pub fn run_in_open_transaction(&self, i: usize) -> RunResult {
        let mut outcome = Outcome::default();
        let built = match self.prepare(i, &mut outcome) {
            Err(e) => Err(e),
            Ok(Work::Write(plan)) => {
                let r = self.write_one(&plan.write, &mut outcome, false);
                self.cleanup(&plan);
                if r.is_ok() {
                    self.note_written(i, plan.delta);
                    outcome.record = self.record(i, &mut outcome);
                }
                r.map(|()| Status::Success).map_err(|e| e.message.into())
            }
            Ok(Work::Test(run)) => {
                let counted = self.count_failures(&run, &mut outcome, true);
                if let Ok(0) = counted {
                    outcome.record = self.record(i, &mut outcome);
                }
                counted
                    .map(|n| {
                        outcome.failures = Some(n);
                        self.judge(i, n)
                    })
                    .map_err(|e| e.message.into())
            }
            Ok(Work::Nothing) => Ok(Status::Success),
            Ok(Work::Reused) => Ok(Status::Reused),
            Ok(Work::Load) => Err(Refusal::Sql(
                "a load model commits per landed file; it cannot run inside the run's transaction"
                    .into(),
            )),
        };
        match built {
            Ok(status) => Ok((status, outcome)),
            Err(e) => Err(Box::new((self.locate(i, e, &outcome), outcome))),
        }
    }

    /// The connection this runner works on.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

impl Worker for NodeRunner<'_> {
    fn batchable(&self, index: usize) -> bool {
        self.dag.nodes[index].config.materialized != Materialization::Load
    }

    fn run(&mut self, i: usize) -> RunResult {
        let _turn = self.session.write_lock();
        if let Err(e) = self.refresh() {
            return Err(Box::new((e, Outcome::default())));
        }
        self.run_one(i)
    }

    // Every lake access takes turns, reads included: with writes from one
    // connection and reads from another in the same process, DuckLake 1.5.5
    // lost tables (seen at 1,000 models and 2 threads: `lake.raw.raw_61`
    // missing, "did you mean stage.raw_61"). DuckDB still uses every core
    // inside each statement.
    fn run_batch(&mut self, batch: &[usize]) -> Vec<(usize, RunResult, Timing)> {
        // Workers take turns on the lake: the wait is reported apart from
        // the work, so per-node times add up to the wall time.
        let asked = Instant::now();
        let _turn = self.session.write_lock();
        let queued = asked.elapsed().as_secs_f64();
        if let Err(e) = self.refresh() {
            let failed = |i: usize| {
                (
                    i,
                    Err(Box::new((e.clone(), Outcome::default()))),
                    Timing::default(),
                )
            };
            return batch.iter().map(|&i| failed(i)).collect();
        }
        let mut results = self.run_batch_in_turn(batch);
        for (_, _, timing) in &mut results {
            timing.queued += queued;
        }
        results
    }
}

impl NodeRunner<'_> {
    /// [`Worker::run_batch`] once this worker's turn on the lake has come.
    fn run_batch_in_turn(&self, batch: &[usize]) -> Vec<(usize, RunResult, Timing)> {
        if batch.len() == 1 {
            let start = Instant::now();
            let r = self.run_one(batch[0]);
            return vec![(batch[0], r, Timing::work(start.elapsed().as_secs_f64()))];
        }
        let start = Instant::now();
        // Nodes run one after another: each waits for those before it.
        let timing = |t: Instant| Timing {
            seconds: t.elapsed().as_secs_f64(),
            queued: t.duration_since(start).as_secs_f64(),
        };
        let mut done = Vec::new();
        let mut writes = Vec::new();
        for &i in batch {
            let t = Instant::now();
            let mut outcome = Outcome::default();
            match self.prepare(i, &mut outcome) {
                Ok(Work::Write(plan)) => writes.push((i, plan, outcome)),
                // Reads and no-ops do not need the group.
                Ok(_) => done.push((i, self.run_one(i), timing(t))),
                Err(e) => {
                    let e = self.locate(i, e, &outcome);
                    done.push((i, Err(Box::new((e, outcome))), timing(t)));
                }
            }
        }
        if writes.is_empty() {
            return done;
        }
        match self.commit_group(&mut writes) {
            Ok(()) => {
                let share = start.elapsed().as_secs_f64() / batch.len() as f64;
                for (i, plan, outcome) in writes {
                    self.cleanup(&plan);
                    done.push((i, Ok((Status::Success, outcome)), Timing::work(share)));
                }
            }
            Err(_) => {
                // Find the culprit: every node again, on its own.
                for (i, plan, _) in writes {
                    self.cleanup(&plan);
                    let t = Instant::now();
                    done.push((i, self.run_one(i), timing(t)));
                }
            }
        }
        done
    }
}
