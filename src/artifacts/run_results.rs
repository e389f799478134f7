//! `target/run_results.json` (status, timing, rows, error per node) and
//! `target/run/**.sql`, the statements that actually ran.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::compiled_path;
use crate::diagnostic::{display_path, Code, Diagnostic};
use crate::execute::{NodeResult, Status};
use crate::graph::Dag;
use crate::hooks::HookResult;
use crate::project::Project;

#[derive(Serialize)]
struct RunResults<'a> {
    metadata: Metadata<'a>,
    elapsed_time: f64,
    args: &'a [String],
    results: Vec<Entry<'a>>,
    #[serde(skip_serializing_if = "<[HookResult]>::is_empty")]
    hooks: &'a [HookResult],
}

#[derive(Serialize)]
struct Metadata<'a> {
    lake_version: &'static str,
    generated_at: &'a str,
    target_name: &'a str,
    /// The run's id, as in the commit message of every snapshot it wrote.
    run_id: &'a str,
    /// dbt's name for the same id.
    invocation_id: &'a str,
    /// `run` (one snapshot) or `per-node`.
    commit: &'a str,
    /// The snapshot a one-snapshot run published (absent: nothing was).
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot: Option<i64>,
}

/// What run_results.json says about the run as a whole.
pub struct RunMeta<'a> {
    /// Start time, RFC 3339.
    pub started_at: &'a str,
    /// Wall seconds.
    pub elapsed: f64,
    /// The command line after `lake`, secrets blanked.
    pub args: &'a [String],
    /// The run id stamped on its snapshots.
    pub run_id: &'a str,
    /// `run` or `per-node`.
    pub commit: &'a str,
    /// The snapshot the run published, if one.
    pub snapshot: Option<i64>,
}

#[derive(Serialize)]
struct Entry<'a> {
    unique_id: &'a str,
    status: Status,
    /// Seconds of work (waiting for a turn on the lake not included).
    execution_time: f64,
    /// Seconds waiting for a turn on the lake before the work started.
    queue_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows_affected: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failures: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_path: Option<String>,
    /// Problems that did not stop the node (quarantined files).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    problems: &'a [String],
    /// What a microbatch model recomputed: `12 hours`, `1,840 sessions`,
    /// or `everything: <why>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    recomputed: Option<&'a str>,
}

/// Writes run_results.json (node results, then a schedule's hook results)
/// and the executed SQL; returns the results path.
pub fn write_run_results(
    project: &Project,
    dag: &Dag,
    results: &[NodeResult],
    hooks: &[HookResult],
    meta: &RunMeta<'_>,
) -> Result<PathBuf, Diagnostic> {
    let RunMeta {
        started_at,
        elapsed,
        args,
        ..
    } = *meta;
    let io = |p: &Path, e: std::io::Error| {
        Diagnostic::new(Code::Io, format!("cannot write {}: {e}", p.display()))
    };
    let mut entries = Vec::new();
    for r in results {
        let n = &dag.nodes[r.index];
        let mut run_path = None;
        if !r.outcome.statements.is_empty() {
            if let Some(rel) = compiled_path(n) {
                let rel = PathBuf::from("run").join(rel.strip_prefix("compiled").unwrap_or(&rel));
                let path = project.target_dir.join(&rel);
                std::fs::create_dir_all(path.parent().expect("has parent"))
                    .map_err(|e| io(&path, e))?;
                let text = r
                    .outcome
                    .statements
                    .iter()
                    .map(|s| format!("{s};\n"))
                    .collect::<String>();
                std::fs::write(&path, text).map_err(|e| io(&path, e))?;
                run_path = Some(display_path(&Path::new("target").join(rel)));
            }
        }
        let message = match (r.status, r.cause) {
            (Status::Skipped, Some(c)) => Some(format!(
                "skipped: {} did not succeed",
                dag.nodes[c].unique_id
            )),
            _ => r.message.clone(),
        };
        entries.push(Entry {
            unique_id: &n.unique_id,
            status: r.status,
            execution_time: (r.seconds * 1000.0).round() / 1000.0,
            queue_time: (r.queued * 1000.0).round() / 1000.0,
            rows_affected: r.outcome.rows,
            failures: r.outcome.failures,
            message,
            action: (!r.outcome.action.is_empty()).then_some(r.outcome.action.as_str()),
            run_path,
            problems: &r.outcome.problems,
            recomputed: r.outcome.recomputed.as_deref(),
        });
    }
    let doc = RunResults {
        metadata: Metadata {
            lake_version: env!("CARGO_PKG_VERSION"),
            generated_at: started_at,
            target_name: &project.target.name,
            run_id: meta.run_id,
            invocation_id: meta.run_id,
            commit: meta.commit,
            snapshot: meta.snapshot,
        },
        elapsed_time: (elapsed * 1000.0).round() / 1000.0,
        args,
        results: entries,
        hooks,
    };
    std::fs::create_dir_all(&project.target_dir).map_err(|e| io(&project.target_dir, e))?;
    let path = project.target_dir.join("run_results.json");
    let text =
        serde_json::to_string_pretty(&doc).map_err(|e| Diagnostic::new(Code::Io, e.to_string()))?;
    std::fs::write(&path, text.clone() + "\n").map_err(|e| io(&path, e))?;
    keep_in_history(&project.target_dir, started_at, &text);
    Ok(path)
}

/// How many runs `target/runs/` keeps for `lake serve`'s runs page.
pub const RUNS_KEPT: usize = 50;

/// The kept results of past runs (`target/runs/*.json`), oldest first: the
/// file names are start times, so name order is time order.
pub fn run_history(target_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(target_dir.join("runs"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Copies the results to `target/runs/<started>.json` and drops the oldest
/// beyond [`RUNS_KEPT`]. History is a convenience: failing to keep it never
/// fails the run.
fn keep_in_history(target_dir: &Path, started_at: &str, text: &str) {
    let dir = target_dir.join("runs");
    let name: String = started_at
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if std::fs::create_dir_all(&dir).is_err()
        || std::fs::write(dir.join(format!("{name}.json")), text).is_err()
    {
        return;
    }
    let files = run_history(target_dir);
    let excess = files.len().saturating_sub(RUNS_KEPT);
    for old in &files[..excess] {
        let _ = std::fs::remove_file(old);
    }
}
