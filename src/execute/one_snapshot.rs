//! A run published as ONE DuckLake snapshot. Every selected model, seed
//! and test runs on one connection inside one transaction, in DAG order,
//! committed once at the end: readers see all of a run or none of it, and
//! one commit (~35 ms on an embedded catalog) replaces hundreds.
//!
//! DuckDB has no savepoints, and a failed statement can abort the whole
//! transaction. So a failing node rolls everything back; the transaction
//! then runs again without that node and its descendants, until one
//! commits or nothing is left. A conflict at commit with another writer
//! (a second machine on a PostgreSQL catalog) is retried with backoff a
//! bounded number of times. Loads commit one landed file at a time (their
//! exactly-once ledger) and run first, before the transaction opens.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::node_runner::NodeRunner;
use super::scheduler::{Event, NodeResult, Outcome, Status, Timing};
use crate::history::message::{CommitKind, Stamp};
use crate::project::Materialization;
use crate::sql::identifier;

/// How many times a commit that conflicted with another writer is tried
/// again (after 1 s, 2 s, 4 s) before the run reports it.
pub const COMMIT_RETRIES: u32 = 3;

/// What a one-snapshot run needs besides its nodes.
pub struct Options<'a> {
    /// Stop after the first failure: publish what succeeded before it.
    pub fail_fast: bool,
    /// Set by Ctrl-C: roll back, publish nothing.
    pub cancel: &'a AtomicBool,
    /// Stamped on the snapshot.
    pub stamp: &'a Stamp,
    /// Statements run first in every attempt (`CREATE SCHEMA IF NOT
    /// EXISTS`), so even a first run adds one snapshot.
    pub prelude: Vec<String>,
}

/// What the run published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publication {
    /// The snapshot the run's transaction committed; `None` when nothing
    /// was written (only tests, or everything failed) or nothing committed.
    pub snapshot: Option<i64>,
    /// Relations the snapshot holds.
    pub relations: usize,
    /// Transactions tried (1 when nothing failed).
    pub attempts: usize,
}

/// How one attempt ended.
enum Attempt {
    /// Every remaining node ran: commit.
    Finished(HashMap<usize, NodeResult>),
    /// Node `.0` failed (message, outcome, seconds); roll back.
    Failed(usize, String, Box<Outcome>, f64, HashMap<usize, NodeResult>),
    /// The transaction could not even start.
    Broken(String),
}

/// Runs `selected` (ascending = topological) as one snapshot.
pub fn execute(
    selected: &[usize],
    parents: &dyn Fn(usize) -> Vec<usize>,
    runner: &NodeRunner<'_>,
    opts: &Options<'_>,
    on_event: &dyn Fn(Event<'_>),
) -> (Vec<NodeResult>, Publication) {
    let mut book = Book::new(selected, parents, on_event);
    book.run_loads(runner, opts.cancel);
    let mut publication = Publication::default();
    let mut conflicts = 0;
    loop {
        publication.attempts += 1;
        match book.attempt(runner, opts) {
            Attempt::Failed(i, message, outcome, seconds, done) => {
                rollback(runner);
                if opts.cancel.load(Ordering::SeqCst) {
                    book.interrupted(Some((i, message, *outcome, seconds)), done);
                    break;
                }
                book.failed(i, message, *outcome, seconds);
                if opts.fail_fast {
                    book.stop_after_failure(&done);
                }
            }
            Attempt::Broken(message) => {
                rollback(runner);
                book.not_published(HashMap::new(), &message);
                break;
            }
            Attempt::Finished(done) if opts.cancel.load(Ordering::SeqCst) => {
                rollback(runner);
                book.interrupted(None, done);
                break;
            }
            Attempt::Finished(done) => match commit(runner, opts.stamp, &done, book.all_ok()) {
                Ok(snapshot) => {
                    publication.relations = published(runner, &done).len();
                    publication.snapshot = snapshot;
                    book.keep(done);
                    break;
                }
                Err(e) if is_conflict(&e) && conflicts < COMMIT_RETRIES => {
                    rollback(runner);
                    let wait = Duration::from_secs(1 << conflicts);
                    conflicts += 1;
                    crate::stderrln!(
                        "commit conflicted with another writer; trying the run's transaction again in {}s ({conflicts} of {COMMIT_RETRIES})",
                        wait.as_secs()
                    );
                    std::thread::sleep(wait);
                }
                Err(e) => {
                    rollback(runner);
                    book.not_published(done, &format!("the run's commit failed: {e}"));
                    break;
                }
            },
        }
    }
    (book.results(), publication)
}

/// Ends a transaction that will not commit; "no transaction" is fine.
fn rollback(runner: &NodeRunner<'_>) {
    let _ = runner.session().execute_batch("ROLLBACK");
}

/// DuckLake's words for a commit that lost to another writer.
fn is_conflict(message: &str) -> bool {
    message.to_lowercase().contains("conflict")
}

/// What node results say a snapshot publishes.
fn published(
    runner: &NodeRunner<'_>,
    done: &HashMap<usize, NodeResult>,
) -> Vec<crate::history::message::Published> {
    let mut ids: Vec<&usize> = done.keys().collect();
    ids.sort();
    ids.into_iter()
        .filter(|i| done[i].status == Status::Success)
        .filter_map(|&i| runner.published(i, &done[&i].outcome))
        .collect()
}

/// Tags the open transaction with the run's message and commits it;
/// returns the snapshot it made (`None` when nothing changed).
fn commit(
    runner: &NodeRunner<'_>,
    stamp: &Stamp,
    done: &HashMap<usize, NodeResult>,
    decided_ok: bool,
) -> Result<Option<i64>, String> {
    let session = runner.session();
    let database = runner.database();
    let current = || {
        session
            .query(&format!(
                "SELECT id FROM {}.current_snapshot()",
                identifier(database)
            ))
            .ok()
            .and_then(|r| r.rows.first()?.first()?.as_deref()?.parse::<i64>().ok())
    };
    let before = current();
    let mut info = stamp.commit(CommitKind::Run);
    info.nodes = published(runner, done);
    let all_ok = decided_ok && done.values().all(|r| r.status.ok());
    info.status = Some(if all_ok { "success" } else { "partial" }.into());
    let fail = |e: crate::warehouse::WarehouseError| e.message;
    let records: Vec<crate::state::Record> = done
        .values()
        .filter(|r| r.status.ok())
        .filter_map(|r| r.outcome.record.clone())
        .collect();
    for sql in crate::state::store::write(database, &records, &stamp.run_id) {
        session.execute(&sql).map_err(fail)?;
    }
    if let Some(tag) = info.statement(database) {
        session.execute(&tag).map_err(fail)?;
    }
    session.execute_batch("COMMIT").map_err(fail)?;
    let after = current();
    Ok(after.filter(|a| Some(*a) != before))
}

/// Results across attempts: what is decided for good, and what was
/// printed, so a node is announced once however often it runs.
struct Book<'a> {
    order: Vec<usize>,
    parents: &'a dyn Fn(usize) -> Vec<usize>,
    children: HashMap<usize, Vec<usize>>,
    on_event: &'a dyn Fn(Event<'_>),
    /// Decided: loads, failures, skips. Never run again.
    decided: BTreeMap<usize, NodeResult>,
    started: HashSet<usize>,
    ended: HashSet<usize>,
}

impl<'a> Book<'a> {
    fn new(
        selected: &[usize],
        parents: &'a dyn Fn(usize) -> Vec<usize>,
        on_event: &'a dyn Fn(Event<'_>),
    ) -> Self {
        let chosen: HashSet<usize> = selected.iter().copied().collect();
        let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
        for &i in selected {
            for p in parents(i) {
                if chosen.contains(&p) && p != i {
                    children.entry(p).or_default().push(i);
                }
            }
        }
        Book {
            order: run_order(selected, parents, &children),
            parents,
            children,
            on_event,
            decided: BTreeMap::new(),
            started: HashSet::new(),
            ended: HashSet::new(),
        }
    }

    fn start(&mut self, i: usize) {
        if self.started.insert(i) {
            (self.on_event)(Event::Start(i));
        }
    }

    fn end(&mut self, r: &NodeResult) {
        if self.ended.insert(r.index) {
            (self.on_event)(Event::End(r));
        }
    }

    /// The first selected parent of `i` that did not succeed.
    fn blocked_by(&self, i: usize, done: &HashMap<usize, NodeResult>) -> Option<usize> {
        (self.parents)(i).into_iter().find(|p| {
            let r = self.decided.get(p).or_else(|| done.get(p));
            r.is_some_and(|r| !r.status.ok())
        })
    }

    /// Decides `result` for good and prints it.
    fn decide(&mut self, result: NodeResult) {
        self.end(&result);
        self.decided.insert(result.index, result);
    }

    /// Loads first, each file its own commit. They take turns: each
    /// reports its wait for the loads before it as queue time.
    fn run_loads(&mut self, runner: &NodeRunner<'_>, cancel: &AtomicBool) {
        let phase = Instant::now();
        let loads: Vec<usize> = self
            .order
            .iter()
            .copied()
            .filter(|&i| runner.dag.nodes[i].config.materialized == Materialization::Load)
            .collect();
        for i in loads {
            if cancel.load(Ordering::SeqCst) {
                return;
            }
            if let Some(p) = self.blocked_by(i, &HashMap::new()) {
                self.skip(i, p);
                continue;
            }
            self.start(i);
            let clock = Instant::now();
            let r = runner.run_one(i);
            let mut result = NodeResult::of_work(i, r, Timing::work(clock.elapsed().as_secs_f64()));
            result.queued = clock.duration_since(phase).as_secs_f64();
            let failed = !result.status.ok();
            self.decide(result);
            if failed {
                self.skip_descendants(i);
            }
        }
    }

    /// One transaction over every node not decided yet.
    fn attempt(&mut self, runner: &NodeRunner<'_>, opts: &Options<'_>) -> Attempt {
        let session = runner.session();
        if let Err(e) = session.execute_batch("BEGIN TRANSACTION") {
            return Attempt::Broken(e.message);
        }
        for sql in &opts.prelude {
            if let Err(e) = session.execute_batch(sql) {
                return Attempt::Broken(e.message);
            }
        }
        let pending: Vec<usize> = self
            .order
            .iter()
            .copied()
            .filter(|i| !self.decided.contains_key(i))
            .collect();
        if let Err(e) = runner.begin_attempt(&pending) {
            return Attempt::Broken(e);
        }
        let mut done: HashMap<usize, NodeResult> = HashMap::new();
        for i in self.order.clone() {
            if self.decided.contains_key(&i) {
                continue;
            }
            if opts.cancel.load(Ordering::SeqCst) {
                break;
            }
            if let Some(p) = self.blocked_by(i, &done) {
                self.skip(i, p);
                continue;
            }
            self.start(i);
            let clock = Instant::now();
            let r = runner.run_in_open_transaction(i);
            let seconds = clock.elapsed().as_secs_f64();
            match r {
                Ok(_) => {
                    let result = NodeResult::of_work(i, r, Timing::work(seconds));
                    self.end(&result);
                    done.insert(i, result);
                }
                Err(failed) => {
                    let (message, outcome) = *failed;
                    return Attempt::Failed(i, message, Box::new(outcome), seconds, done);
                }
            }
        }
        Attempt::Finished(done)
    }

    /// Node `i` failed: it and its descendants are decided.
    fn failed(&mut self, i: usize, message: String, outcome: Outcome, seconds: f64) {
        let failure = Err(Box::new((message, outcome)));
        self.decide(NodeResult::of_work(i, failure, Timing::work(seconds)));
        self.skip_descendants(i);
    }

    fn skip(&mut self, i: usize, cause: usize) {
        self.decide(NodeResult::skipped(i, Some(cause), None));
    }

    fn skip_descendants(&mut self, failed: usize) {
        let mut stack = self.children.get(&failed).cloned().unwrap_or_default();
        while let Some(c) = stack.pop() {
            if self.decided.contains_key(&c) {
                continue;
            }
            self.skip(c, failed);
            stack.extend(self.children.get(&c).cloned().unwrap_or_default());
        }
    }

    /// `--fail-fast`: only what succeeded before the failure runs again.
    fn stop_after_failure(&mut self, done: &HashMap<usize, NodeResult>) {
        let reason = "run stopped after a failure (--fail-fast)";
        for i in self.order.clone() {
            if !self.decided.contains_key(&i) && !done.contains_key(&i) {
                self.decide(NodeResult::skipped(i, None, Some(reason)));
            }
        }
    }

    /// Ctrl-C: nothing of the transaction was published.
    fn interrupted(
        &mut self,
        running: Option<(usize, String, Outcome, f64)>,
        done: HashMap<usize, NodeResult>,
    ) {
        if let Some((i, message, outcome, seconds)) = running {
            self.failed(i, message, outcome, seconds);
        }
        self.not_published(
            done,
            "run interrupted: rolled back, nothing of it was published",
        );
        for i in self.order.clone() {
            if !self.decided.contains_key(&i) {
                self.decide(NodeResult::skipped(i, None, Some("run interrupted")));
            }
        }
    }

    /// Nodes that ran in a transaction that did not commit.
    fn not_published(&mut self, done: HashMap<usize, NodeResult>, why: &str) {
        for (i, mut r) in done {
            if r.status.ok() {
                r.status = Status::Error;
                r.message = Some(why.to_string());
            }
            self.decided.insert(i, r);
        }
        for i in self.order.clone() {
            if !self.decided.contains_key(&i) {
                self.decide(NodeResult::skipped(i, None, Some(why)));
            }
        }
    }

    /// Whether every node decided so far succeeded (loads, skips, errors).
    fn all_ok(&self) -> bool {
        self.decided.values().all(|r| r.status.ok())
    }

    /// The committed attempt's results join the decided ones.
    fn keep(&mut self, done: HashMap<usize, NodeResult>) {
        self.decided.extend(done);
    }

    fn results(self) -> Vec<NodeResult> {
        self.decided.into_values().collect()
    }
}

/// `selected` in an order where each node comes after every selected
/// parent `parents` names (in `build`, the tests of its parents too):
/// Kahn's algorithm, smallest position first.
fn run_order(
    selected: &[usize],
    parents: &dyn Fn(usize) -> Vec<usize>,
    children: &HashMap<usize, Vec<usize>>,
) -> Vec<usize> {
    let chosen: HashSet<usize> = selected.iter().copied().collect();
    let mut waiting: HashMap<usize, usize> = selected
        .iter()
        .map(|&i| {
            let n = parents(i)
                .into_iter()
                .filter(|p| *p != i && chosen.contains(p))
                .count();
            (i, n)
        })
        .collect();
    let mut ready: std::collections::BTreeSet<usize> = selected
        .iter()
        .copied()
        .filter(|i| waiting[i] == 0)
        .collect();
    let mut order = Vec::with_capacity(selected.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for c in children.get(&i).into_iter().flatten() {
            let n = waiting.get_mut(c).expect("children are selected");
            *n -= 1;
            if *n == 0 {
                ready.insert(*c);
            }
        }
    }
    // A cycle would leave nodes out; they run last rather than vanish.
    let placed: HashSet<usize> = order.iter().copied().collect();
    order.extend(selected.iter().filter(|i| !placed.contains(i)));
    order
}
