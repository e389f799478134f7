//! `lake run`, `lake seed`, `lake test`, `lake build`: render against the
//! lake's current state, run the selection, write run artifacts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{apply_selection, load, now_rfc3339, render_and_graph, warehouse_failure, Failure};
use crate::artifacts::{write_compiled, write_manifest, write_run_results};
use crate::cli::{GlobalArgs, RunArgs, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use crate::execute::node_runner::NodeRunner;
use crate::execute::report::{summary, Reporter};
use crate::execute::scheduler::{execute, Options};
use crate::execute::Status;
use crate::nodes::NodeKind;
use crate::render::{render_snippets, RenderOptions};
use crate::warehouse::Warehouse;

/// Which kinds of node a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Models.
    Run,
    /// Seeds.
    Seed,
    /// Data tests.
    Test,
    /// Seeds, models and tests in DAG order; a failing test skips what
    /// depends on the tested node.
    Build,
}

impl Mode {
    fn runs(self, kind: NodeKind) -> bool {
        match self {
            Mode::Run => kind == NodeKind::Model,
            Mode::Seed => kind == NodeKind::Seed,
            Mode::Test => kind == NodeKind::Test,
            Mode::Build => kind != NodeKind::Source,
        }
    }
}

/// Runs one of the executing commands.
pub fn run(global: &GlobalArgs, mode: Mode, args: &RunArgs) -> Result<u8, Failure> {
    let clock = Instant::now();
    let started_at = now_rfc3339();
    let project = load(global)?;
    let wh = Warehouse::open(&project.target).map_err(warehouse_failure)?;
    let main = wh.session().map_err(warehouse_failure)?;
    let existing = main
        .existing_relations(wh.database())
        .map_err(warehouse_failure)?;
    let opts = RenderOptions {
        run_started_at: started_at.clone(),
        existing: existing.clone(),
        full_refresh: args.full_refresh,
    };
    let dag = render_and_graph(&project, &opts)?;
    let selection = apply_selection(&dag, &args.select)?;
    let selected: Vec<usize> = selection
        .nodes
        .iter()
        .copied()
        .filter(|&i| mode.runs(dag.nodes[i].kind))
        .collect();

    let threads = args.threads.or(project.target.threads).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    if selected.is_empty() {
        println!("Nothing to do: the selection holds no {}.", noun(mode));
        return Ok(EXIT_OK);
    }
    println!(
        "Running {} {} on target `{}` with {threads} thread{}",
        selected.len(),
        noun(mode),
        project.target.name,
        if threads == 1 { "" } else { "s" }
    );

    let hooks_apply = matches!(mode, Mode::Run | Mode::Build);
    if hooks_apply && !project.on_run_start.is_empty() {
        for sql in render_snippets(&project, &opts, &project.on_run_start)? {
            main.execute_batch(&sql)
                .map_err(|e| warehouse_failure(e.with_context("on-run-start hook")))?;
        }
    }

    // Create every target schema up front: two workers creating the same
    // schema at once would conflict at commit in DuckLake.
    let mut schemas: Vec<&crate::nodes::Relation> = selected
        .iter()
        .filter(|&&i| matches!(dag.nodes[i].kind, NodeKind::Model | NodeKind::Seed))
        .filter(|&&i| {
            dag.nodes[i].config.materialized != crate::project::Materialization::Ephemeral
        })
        .filter_map(|&i| dag.nodes[i].relation.as_ref())
        .collect();
    schemas.sort_by(|a, b| a.schema.cmp(&b.schema));
    schemas.dedup_by(|a, b| a.schema == b.schema);
    for rel in schemas {
        main.execute_batch(&crate::plan::create_schema(rel))
            .map_err(warehouse_failure)?;
    }

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        let interrupter = wh.interrupter();
        // A second signal while stopping is ignored: the run ends as soon as
        // the interrupted statements have rolled back.
        let _ = ctrlc::set_handler(move || {
            if !cancel.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "\ninterrupted: stopping running statements, nothing half-written is kept"
                );
                interrupter.interrupt_all();
            }
        });
    }

    // In `build`, a node also waits for the tests of its parents.
    let tests_of: Vec<Vec<usize>> = (0..dag.nodes.len())
        .map(|i| {
            dag.children(i)
                .into_iter()
                .filter(|&c| dag.nodes[c].kind == NodeKind::Test)
                .collect()
        })
        .collect();
    let parents = |i: usize| -> Vec<usize> {
        let mut p = dag.parents(i);
        if mode == Mode::Build && dag.nodes[i].kind != NodeKind::Test {
            let extra: Vec<usize> = p
                .iter()
                .flat_map(|&q| tests_of[q].iter().copied())
                .collect();
            p.extend(extra);
        }
        p
    };
    let reporter = Reporter::new(&dag, selected.len());
    let scheduler = Options {
        threads,
        fail_fast: args.fail_fast,
        cancel: cancel.clone(),
        // Group commit: up to 64 independent ready nodes share one
        // transaction (see execute::node_runner).
        batch: 64,
    };
    let root = project.root.clone();
    // One connection per worker, opened here: the DuckDB instance itself
    // stays on this thread.
    let sessions = (0..threads.min(selected.len()))
        .map(|_| wh.session())
        .collect::<Result<Vec<_>, _>>()
        .map_err(warehouse_failure)?;
    let sessions = std::sync::Mutex::new(sessions);
    let results = execute(
        &selected,
        &parents,
        &scheduler,
        || {
            let session = sessions
                .lock()
                .expect("sessions poisoned")
                .pop()
                .ok_or("no connection left")?;
            Ok(NodeRunner {
                session,
                dag: &dag,
                root: &root,
                existing: &existing,
                full_refresh: args.full_refresh,
            })
        },
        &|e| reporter.event(e),
    );

    let interrupted = cancel.load(Ordering::SeqCst);
    let mut hook_error = None;
    if hooks_apply && !interrupted && !project.on_run_end.is_empty() {
        match render_snippets(&project, &opts, &project.on_run_end) {
            Ok(sqls) => {
                for sql in sqls {
                    if let Err(e) = main.execute_batch(&sql) {
                        hook_error = Some(e.message);
                        break;
                    }
                }
            }
            Err(d) => return Err(d.into()),
        }
    }

    let elapsed = clock.elapsed().as_secs_f64();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    write_compiled(&project, &dag, Some(&selected))?;
    write_manifest(&project, &dag, &started_at)?;
    write_run_results(&project, &dag, &results, &started_at, elapsed, &argv)?;
    if let Some(e) = &hook_error {
        eprintln!("error[L060]: on-run-end hook failed: {e}");
    }
    println!("\n{}", summary(&results, elapsed));
    let failed = results
        .iter()
        .any(|r| matches!(r.status, Status::Error | Status::Fail))
        || hook_error.is_some();
    Ok(if interrupted {
        EXIT_INTERRUPTED
    } else if failed || results.iter().any(|r| r.status == Status::Skipped) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

fn noun(mode: Mode) -> &'static str {
    match mode {
        Mode::Run => "models",
        Mode::Seed => "seeds",
        Mode::Test => "tests",
        Mode::Build => "nodes",
    }
}
