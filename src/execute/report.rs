//! Console progress: a line when a node starts and when it ends (status,
//! rows, seconds), then a summary a person and a CI log can both read.

use std::io::Write;
use std::sync::Mutex;

use super::scheduler::{Event, NodeResult, Status};
use crate::graph::Dag;

/// Prints progress lines for one run.
pub struct Reporter<'a> {
    dag: &'a Dag,
    total: usize,
    counter: Mutex<usize>,
}

impl<'a> Reporter<'a> {
    /// A reporter for `total` selected nodes.
    pub fn new(dag: &'a Dag, total: usize) -> Self {
        Reporter {
            dag,
            total,
            counter: Mutex::new(0),
        }
    }

    fn label(&self, i: usize) -> String {
        let n = &self.dag.nodes[i];
        match &n.relation {
            Some(r) => format!("{} {}.{}", n.kind.as_str(), r.schema, r.identifier),
            None => format!("{} {}", n.kind.as_str(), n.name),
        }
    }

    /// Handles one scheduler event.
    pub fn event(&self, e: super::scheduler::Event<'_>) {
        let mut out = std::io::stdout().lock();
        match e {
            Event::Start(i) => {
                let _ = writeln!(out, "  START {}", self.label(i));
            }
            Event::End(r) => {
                let mut c = self.counter.lock().expect("reporter poisoned");
                *c += 1;
                let _ = writeln!(out, "{:>4} of {} {}", *c, self.total, self.describe(r));
                if let (Status::Error, Some(msg)) = (r.status, &r.message) {
                    for line in msg.lines() {
                        let _ = writeln!(out, "         {line}");
                    }
                }
                let stored = self.dag.nodes[r.index].stored_failures.as_ref();
                if let (Status::Fail | Status::Warn, Some(stored)) = (r.status, stored) {
                    let _ = writeln!(
                        out,
                        "         its failing rows: select * from {}",
                        stored.relation
                    );
                }
                for problem in &r.outcome.problems {
                    for (n, line) in problem.lines().enumerate() {
                        let lead = if n == 0 { "error: " } else { "" };
                        let _ = writeln!(out, "         {lead}{line}");
                    }
                }
            }
        }
    }

    fn describe(&self, r: &NodeResult) -> String {
        let label = self.label(r.index);
        let action = &r.outcome.action;
        let queued = match r.queued {
            q if q >= 0.01 => format!(", queued {q:.2}s"),
            _ => String::new(),
        };
        match r.status {
            Status::Success => match r.outcome.rows {
                Some(n) => format!(
                    "OK    {label} [{action}, {n} rows in {:.2}s{queued}]",
                    r.seconds
                ),
                None => format!("OK    {label} [{action} in {:.2}s{queued}]", r.seconds),
            },
            Status::Pass => format!("PASS  {label} [{:.2}s]", r.seconds),
            Status::Fail => {
                format!(
                    "FAIL  {label} [{} failing rows in {:.2}s]",
                    r.outcome.failures.unwrap_or(0),
                    r.seconds
                )
            }
            Status::Warn => format!(
                "WARN  {label} [{} failing rows in {:.2}s]",
                r.outcome.failures.unwrap_or(0),
                r.seconds
            ),
            Status::Error => format!("ERROR {label} [{:.2}s]", r.seconds),
            Status::Reused => format!("REUSE {label} [unchanged since its last build]"),
            Status::Skipped => match (r.cause, &r.message) {
                (Some(c), _) => format!("SKIP  {label} [{} did not succeed]", self.label(c)),
                (None, Some(m)) => format!("SKIP  {label} [{m}]"),
                (None, None) => format!("SKIP  {label}"),
            },
        }
    }
}

/// `PASS=.. ERROR=.. SKIP=..` for the closing line.
pub fn summary(results: &[NodeResult], seconds: f64) -> String {
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let reused = match count(Status::Reused) {
        0 => String::new(),
        n => format!(" REUSED={n}"),
    };
    let warned = match count(Status::Warn) {
        0 => String::new(),
        n => format!(" WARN={n}"),
    };
    format!(
        "Done in {seconds:.2}s. PASS={}{reused}{warned} FAIL={} ERROR={} SKIP={} TOTAL={}",
        count(Status::Success) + count(Status::Pass),
        count(Status::Fail),
        count(Status::Error),
        count(Status::Skipped),
        results.len()
    )
}

/// Where a person looks next: the schemas that got tables, and one model to
/// `lake show` (the last one built, usually a mart).
pub fn where_to_look(dag: &Dag, results: &[NodeResult]) -> Option<String> {
    let mut schemas: Vec<(String, usize)> = Vec::new();
    let mut last = None;
    for r in results.iter().filter(|r| r.status == Status::Success) {
        let node = &dag.nodes[r.index];
        if node.kind != crate::nodes::NodeKind::Model {
            continue;
        }
        let Some(rel) = &node.relation else { continue };
        let schema = format!("{}.{}", rel.database, rel.schema);
        match schemas.iter_mut().find(|(s, _)| *s == schema) {
            Some((_, n)) => *n += 1,
            None => schemas.push((schema, 1)),
        }
        last = Some(node.name.clone());
    }
    let last = last?;
    let built = schemas
        .iter()
        .map(|(s, n)| format!("{s} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "Built {built}. Look at the results: `lake show {last}`, `lake query \"select * from {{{{ ref('{last}') }}}}\"`"
    ))
}
