//! The scheduler: runs selected nodes on N worker threads in dependency
//! order. A node starts when every selected parent succeeded; a failure
//! skips exactly its descendants while independent branches go on;
//! `--fail-fast` and cancellation (Ctrl-C) stop new starts. It knows
//! nothing of DuckDB: a [`Worker`] does the work.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use serde::Serialize;

/// How one node ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Built.
    Success,
    /// Failed to build.
    Error,
    /// Not started: a parent failed, or the run was stopped.
    Skipped,
    /// Test found no failing rows.
    Pass,
    /// Test found failing rows.
    Fail,
    /// Test found failing rows, but only enough for a warning (its
    /// `severity`, `warn_if`, `error_if`): what depends on it runs.
    Warn,
    /// Not run: its last build still stands (nothing it reads changed).
    Reused,
}

impl Status {
    /// True when descendants may run.
    pub fn ok(self) -> bool {
        matches!(
            self,
            Status::Success | Status::Pass | Status::Warn | Status::Reused
        )
    }
}

/// What a worker reports for one node.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Rows written (models, seeds).
    pub rows: Option<u64>,
    /// Failing rows (tests).
    pub failures: Option<u64>,
    /// The statements that ran, for `target/run/`.
    pub statements: Vec<String>,
    /// Short description, e.g. `table` or `incremental (merge)`.
    pub action: String,
    /// Problems that did not stop the node (a landed file quarantined
    /// among many loaded): descendants run, the run exits 1.
    pub problems: Vec<String>,
    /// What a microbatch model recomputed (`12 hours`, or `everything:
    /// <why>`), for the log and run_results.json.
    pub recomputed: Option<String>,
    /// The build state to record with the node's data when it commits.
    pub record: Option<crate::state::Record>,
}

/// How long a node took: its own work, and the wait for its turn before.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// Wall seconds of work.
    pub seconds: f64,
    /// Seconds waiting for a turn on the lake (or for earlier nodes of its
    /// batch) before the work started.
    pub queued: f64,
}

impl Timing {
    /// Work that started at once and took `seconds`.
    pub fn work(seconds: f64) -> Timing {
        Timing {
            seconds,
            queued: 0.0,
        }
    }
}

/// One node's result, in the order nodes finished.
#[derive(Debug, Clone)]
pub struct NodeResult {
    /// Position in the DAG.
    pub index: usize,
    /// How it ended.
    pub status: Status,
    /// Worker details (absent for skipped nodes).
    pub outcome: Outcome,
    /// Error text, or why a node was skipped.
    pub message: Option<String>,
    /// For a node skipped after a failure: the failed node it depends on.
    pub cause: Option<usize>,
    /// Wall time of the work.
    pub seconds: f64,
    /// Wait before the work started.
    pub queued: f64,
}

/// A node's result as a worker reports it.
pub type WorkResult = Result<(Status, Outcome), Box<(String, Outcome)>>;

impl NodeResult {
    /// The result of node `index` from what its worker reported.
    pub fn of_work(index: usize, work: WorkResult, timing: Timing) -> NodeResult {
        let (status, outcome, message) = match work {
            Ok((status, outcome)) => (status, outcome, None),
            Err(failed) => {
                let (message, outcome) = *failed;
                (Status::Error, outcome, Some(message))
            }
        };
        NodeResult {
            index,
            status,
            outcome,
            message,
            cause: None,
            seconds: timing.seconds,
            queued: timing.queued,
        }
    }

    /// Node `index` never ran: `cause` is the failed node it depends on,
    /// `reason` says why otherwise (stopped, interrupted).
    pub fn skipped(index: usize, cause: Option<usize>, reason: Option<&str>) -> NodeResult {
        NodeResult {
            index,
            status: Status::Skipped,
            outcome: Outcome::default(),
            message: reason.map(str::to_string),
            cause,
            seconds: 0.0,
            queued: 0.0,
        }
    }
}

/// Does the work for nodes on one thread.
pub trait Worker {
    /// Runs node `index`; `Err` carries a message for the person.
    fn run(&mut self, index: usize) -> WorkResult;

    /// Whether node `index` may share a batch with others. Nodes that
    /// commit on their own (raw loads, one transaction per file) run alone,
    /// so each reports as it finishes and its wait shows as queue time.
    fn batchable(&self, _index: usize) -> bool {
        true
    }

    /// Runs nodes that are ready together (none depends on another);
    /// returns each with its wall seconds. A worker may share work between
    /// them, e.g. one transaction.
    fn run_batch(&mut self, batch: &[usize]) -> Vec<(usize, WorkResult, Timing)> {
        batch
            .iter()
            .map(|&i| {
                let start = Instant::now();
                let r = self.run(i);
                (i, r, Timing::work(start.elapsed().as_secs_f64()))
            })
            .collect()
    }
}

/// The next batch from `ready`: the first ready node alone when it may
/// not share a batch, else up to `take` nodes that may.
fn pick_batch(
    ready: &BTreeSet<usize>,
    take: usize,
    batchable: impl Fn(usize) -> bool,
) -> Vec<usize> {
    match ready.first() {
        Some(&first) if !batchable(first) => vec![first],
        _ => ready
            .iter()
            .copied()
            .filter(|&i| batchable(i))
            .take(take)
            .collect(),
    }
}

/// Lifecycle events for the console.
pub enum Event<'a> {
    /// A node started.
    Start(usize),
    /// A node ended (or was skipped).
    End(&'a NodeResult),
}

/// Scheduler settings.
pub struct Options {
    /// Worker threads.
    pub threads: usize,
    /// Stop starting nodes after the first failure.
    pub fail_fast: bool,
    /// Set by Ctrl-C: start nothing more.
    pub cancel: Arc<AtomicBool>,
    /// Most nodes a worker takes at once (1: one at a time).
    pub batch: usize,
}

struct State {
    waiting: Vec<usize>,
    ready: BTreeSet<usize>,
    running: usize,
    done: Vec<NodeResult>,
    finished: Vec<bool>,
    stop: bool,
}

/// Runs `selected` (positions ascending = topological). `parents[i]` lists
/// the selected nodes node `i` waits for.
pub fn execute<W, F>(
    selected: &[usize],
    parents: &dyn Fn(usize) -> Vec<usize>,
    opts: &Options,
    make_worker: F,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<NodeResult>
where
    W: Worker,
    F: Fn() -> Result<W, String> + Sync,
{
    let max = selected.iter().copied().max().map_or(0, |m| m + 1);
    let mut in_sel = vec![false; max];
    for &i in selected {
        in_sel[i] = true;
    }
    let mut waiting = vec![0usize; max];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); max];
    for &i in selected {
        for p in parents(i) {
            if p < max && in_sel[p] && p != i {
                waiting[i] += 1;
                children[p].push(i);
            }
        }
    }
    let ready: BTreeSet<usize> = selected
        .iter()
        .copied()
        .filter(|&i| waiting[i] == 0)
        .collect();
    let state = Mutex::new(State {
        waiting,
        ready,
        running: 0,
        done: Vec::new(),
        finished: vec![false; max],
        stop: false,
    });
    let wake = Condvar::new();
    let threads = opts.threads.max(1).min(selected.len().max(1));

    let finish = |st: &mut State, result: NodeResult| {
        let i = result.index;
        st.finished[i] = true;
        let ok = result.status.ok();
        on_event(Event::End(&result));
        st.done.push(result);
        if !ok && opts.fail_fast {
            st.stop = true;
        }
        // Skip every descendant of a failure; release children of a success.
        let mut stack: Vec<usize> = Vec::new();
        if ok {
            for &c in &children[i] {
                st.waiting[c] -= 1;
                if st.waiting[c] == 0 && !st.finished[c] {
                    st.ready.insert(c);
                }
            }
        } else {
            stack.extend(children[i].iter().copied());
        }
        while let Some(c) = stack.pop() {
            if st.finished[c] {
                continue;
            }
            st.finished[c] = true;
            st.ready.remove(&c);
            let skipped = NodeResult::skipped(c, Some(i), None);
            on_event(Event::End(&skipped));
            st.done.push(skipped);
            stack.extend(children[c].iter().copied());
        }
    };

    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut worker = match make_worker() {
                    Ok(w) => Some(w),
                    Err(e) => {
                        tracing::error!("cannot start a worker: {e}");
                        None
                    }
                };
                loop {
                    let next: Vec<usize> = {
                        let mut st = state.lock().expect("scheduler poisoned");
                        loop {
                            if opts.cancel.load(Ordering::SeqCst) {
                                st.stop = true;
                            }
                            if st.stop || worker.is_none() {
                                break Vec::new();
                            }
                            if !st.ready.is_empty() {
                                // Big groups: lake writes take turns anyway, and
                                // each commit has a fixed cost.
                                let take = opts.batch.max(1);
                                let w = worker.as_ref().expect("checked above");
                                let picked = pick_batch(&st.ready, take, |i| w.batchable(i));
                                for i in &picked {
                                    st.ready.remove(i);
                                }
                                st.running += picked.len();
                                break picked;
                            }
                            if st.running == 0 {
                                break Vec::new();
                            }
                            st = wake.wait(st).expect("scheduler poisoned");
                        }
                    };
                    if next.is_empty() {
                        wake.notify_all();
                        return;
                    }
                    for &i in &next {
                        on_event(Event::Start(i));
                    }
                    let results = worker.as_mut().expect("checked").run_batch(&next);
                    let mut st = state.lock().expect("scheduler poisoned");
                    st.running -= next.len();
                    for (i, r, timing) in results {
                        let result = NodeResult::of_work(i, r, timing);
                        finish(&mut st, result);
                    }
                    drop(st);
                    wake.notify_all();
                }
            });
        }
    });

    // Whatever never ran (stopped, cancelled, or no worker) is skipped.
    let mut st = state.into_inner().expect("scheduler poisoned");
    let reason = if opts.cancel.load(Ordering::SeqCst) {
        "run interrupted"
    } else {
        "run stopped after a failure (--fail-fast)"
    };
    for &i in selected {
        if !st.finished[i] {
            st.finished[i] = true;
            let skipped = NodeResult::skipped(i, None, Some(reason));
            on_event(Event::End(&skipped));
            st.done.push(skipped);
        }
    }
    st.done
}

#[cfg(test)]
mod tests {
    use super::*;

    /// a(0) -> b(1) -> c(2); d(3) independent; b fails.
    struct Fake;
    impl Worker for Fake {
        fn run(&mut self, index: usize) -> WorkResult {
            if index == 1 {
                Err(Box::new(("boom".into(), Outcome::default())))
            } else {
                Ok((Status::Success, Outcome::default()))
            }
        }
    }

    fn parents(i: usize) -> Vec<usize> {
        match i {
            1 => vec![0],
            2 => vec![1],
            _ => vec![],
        }
    }

    fn run(fail_fast: bool, threads: usize) -> Vec<(usize, Status)> {
        let opts = Options {
            threads,
            fail_fast,
            cancel: Arc::new(AtomicBool::new(false)),
            batch: 3,
        };
        let mut r: Vec<(usize, Status)> =
            execute(&[0, 1, 2, 3], &parents, &opts, || Ok(Fake), &|_| {})
                .into_iter()
                .map(|r| (r.index, r.status))
                .collect();
        r.sort_by_key(|x| x.0);
        r
    }

    #[test]
    fn failure_skips_exactly_its_descendants() {
        // Batches of up to 3: nodes 0 and 3 are ready together.
        for threads in [1, 4] {
            assert_eq!(
                run(false, threads),
                [
                    (0, Status::Success),
                    (1, Status::Error),
                    (2, Status::Skipped),
                    (3, Status::Success)
                ]
            );
        }
    }

    #[test]
    fn cancelled_runs_start_nothing() {
        let opts = Options {
            threads: 2,
            fail_fast: false,
            cancel: Arc::new(AtomicBool::new(true)),
            batch: 1,
        };
        let r = execute(&[0, 3], &parents, &opts, || Ok(Fake), &|_| {});
        assert!(r.iter().all(|r| r.status == Status::Skipped));
    }
}
