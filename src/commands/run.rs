//! `lake run`, `lake seed`, `lake test`, `lake build`: render against the
//! lake's current state, run the selection, write run artifacts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{apply_selection, load, now_rfc3339, render_and_graph, warehouse_failure, Failure};
use crate::artifacts::{write_compiled, write_manifest, write_run_results};
use std::time::Duration;

use crate::cli::{GlobalArgs, RunArgs, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_OK};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::execute::node_runner::NodeRunner;
use crate::execute::report::{summary, Reporter};
use crate::execute::scheduler::{execute, Options};
use crate::execute::Status;
use crate::hooks::{hook_name, run_hook, HookEnv, HookResult};
use crate::lock::{self, LockError};
use crate::nodes::NodeKind;
use crate::project::profiles::Catalog;
use crate::project::{Hook, Project, Schedule};
use crate::render::{render_snippets, RenderOptions};
use crate::storage::{BlockingStore, Store};
use crate::warehouse::{OpenError, Warehouse};

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

/// Finds `--schedule NAME` in project.yml.
fn find_schedule<'p>(project: &'p Project, name: &str) -> Result<&'p Schedule, Failure> {
    project
        .schedules
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = project.schedules.iter().map(|s| s.name.as_str()).collect();
            let d = Diagnostic::new(
                Code::BadSelector,
                format!("no schedule `{name}` in project.yml"),
            );
            Failure::Usage(match did_you_mean(name, names.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None if names.is_empty() => {
                    d.with_help("add a `schedules:` section to project.yml")
                }
                None => d.with_help(format!("schedules: {}", names.join(", "))),
            })
        })
}

/// Runs hooks in order, recording each in `out`; `Err` carries the message
/// of the hook that stopped the run.
fn run_hooks(
    env: &HookEnv<'_>,
    hooks: &[Hook],
    when: &'static str,
    out: &mut Vec<HookResult>,
) -> Result<(), String> {
    for (n, hook) in hooks.iter().enumerate() {
        if env.cancel.load(Ordering::SeqCst) {
            return Ok(());
        }
        let clock = Instant::now();
        let result = run_hook(env, hook);
        let seconds = clock.elapsed().as_secs_f64();
        let mut record = HookResult {
            when,
            index: n + 1,
            hook: hook_name(hook).to_string(),
            status: "success",
            message: String::new(),
            problems: Vec::new(),
            execution_time: (seconds * 1000.0).round() / 1000.0,
        };
        match result {
            Ok(report) => {
                crate::stdoutln!(
                    "{when} {}/{} {} [{seconds:.2}s]",
                    n + 1,
                    hooks.len(),
                    report.summary
                );
                for p in &report.problems {
                    crate::stderrln!("error: {p}");
                }
                if !report.problems.is_empty() {
                    record.status = "error";
                }
                record.message = report.summary;
                record.problems = report.problems;
                out.push(record);
            }
            Err(e) => {
                let message = format!("{when} {}: {e}", n + 1);
                record.status = "error";
                record.message = message.clone();
                out.push(record);
                return Err(message);
            }
        }
    }
    Ok(())
}

/// Runs one of the executing commands.
pub fn run(global: &GlobalArgs, mode: Mode, args: &RunArgs) -> Result<u8, Failure> {
    let clock = Instant::now();
    let started_at = now_rfc3339();
    let project = load(global)?;
    let schedule = args
        .schedule
        .as_deref()
        .map(|name| find_schedule(&project, name))
        .transpose()?;
    // A schedule is a job: it builds its selection (seeds, models and their
    // tests, in DAG order), as `lake build` does.
    let mode = if schedule.is_some() {
        Mode::Build
    } else {
        mode
    };
    let mut args = args.clone();
    if let Some(s) = schedule {
        args.select.select = s.select.clone();
        args.select.exclude = s.exclude.clone();
        args.full_refresh |= s.full_refresh;
        args.threads = args.threads.or(s.threads);
    }
    let args = &args;
    // Locked before the lake is opened: a second process could not attach
    // an embedded catalog, and two first attaches of a Postgres catalog race
    // to create it. One `--wait` budget covers the run lock and the catalog.
    let deadline = lock::Deadline::after(Duration::from_secs(args.wait));
    let _lock = match lock::acquire(&project.target, &deadline) {
        Ok(l) => l,
        Err(LockError::Busy { what, waited }) => {
            Diagnostic::new(
                Code::Locked,
                format!(
                    "another lake run is using this lake (lock: {what}); waited {:.0}s, did nothing",
                    waited.as_secs_f64()
                ),
            )
            .with_help(lock::WAIT_HELP)
            .emit_stderr();
            return Ok(EXIT_LOCKED);
        }
        Err(LockError::Failed(m)) => {
            // The catalog itself is probably unreachable: the warehouse's
            // diagnostics say exactly why, and how to fix it.
            if matches!(project.target.catalog, Catalog::Postgres { .. }) {
                Warehouse::open(&project.target).map_err(warehouse_failure)?;
            }
            return Err(
                Diagnostic::new(Code::Warehouse, format!("cannot take the run lock: {m}")).into(),
            );
        }
    };
    // An embedded catalog may still be open in a reader (`lake query`, a
    // notebook): wait for it within what is left of the budget.
    let mut waiting = |holder: &lock::CatalogHolder, left: Duration| {
        crate::stderrln!(
            "waiting up to {:.0}s for another process to close the lake's catalog ({holder})",
            left.as_secs_f64().ceil()
        )
    };
    let readers = deadline.at_least(lock::READER_GRACE);
    let wh = match Warehouse::open_for_run(&project.target, &readers, &mut waiting) {
        Ok(wh) => wh,
        Err(OpenError::CatalogBusy(busy)) => {
            busy.diagnostic().emit_stderr();
            return Ok(EXIT_LOCKED);
        }
        Err(OpenError::Failed(e)) => return Err(warehouse_failure(e)),
    };
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
    // A schedule without `select` runs only its hooks.
    let selected: Vec<usize> = if schedule.is_some_and(|s| s.select.is_empty()) {
        Vec::new()
    } else {
        apply_selection(&dag, &args.select)?
            .nodes
            .iter()
            .copied()
            .filter(|&i| mode.runs(dag.nodes[i].kind))
            .collect()
    };
    let no_hooks: Vec<Hook> = Vec::new();
    let (pre_hooks, post_hooks) = schedule
        .map(|s| (&s.pre_hooks, &s.post_hooks))
        .unwrap_or((&no_hooks, &no_hooks));

    let threads = args.threads.or(project.target.threads).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    if selected.is_empty() && pre_hooks.is_empty() && post_hooks.is_empty() {
        crate::stdoutln!("Nothing to do: the selection holds no {}.", noun(mode));
        return Ok(EXIT_OK);
    }
    match schedule {
        Some(s) => crate::stdoutln!(
            "Schedule `{}`: {} hook{}, {} {} on target `{}` with {threads} thread{}",
            s.name,
            pre_hooks.len() + post_hooks.len(),
            if pre_hooks.len() + post_hooks.len() == 1 {
                ""
            } else {
                "s"
            },
            selected.len(),
            noun(mode),
            project.target.name,
            if threads == 1 { "" } else { "s" }
        ),
        None => crate::stdoutln!(
            "Running {} {} on target `{}` with {threads} thread{}",
            selected.len(),
            noun(mode),
            project.target.name,
            if threads == 1 { "" } else { "s" }
        ),
    }

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        let interrupter = wh.interrupter();
        // A second signal while stopping is ignored: the run ends as soon as
        // the interrupted statements have rolled back.
        let _ = ctrlc::set_handler(move || {
            if !cancel.swap(true, Ordering::SeqCst) {
                crate::stderrln!(
                    "\ninterrupted: stopping running statements, nothing half-written is kept"
                );
                interrupter.interrupt_all();
            }
        });
    }

    let hooks_apply = matches!(mode, Mode::Run | Mode::Build);
    if hooks_apply && !project.on_run_start.is_empty() {
        for sql in render_snippets(&project, &opts, &project.on_run_start)? {
            main.execute_batch(&sql)
                .map_err(|e| warehouse_failure(e.with_context("on-run-start hook")))?;
        }
    }

    let hook_env = HookEnv {
        project: &project,
        session: &main,
        render: &opts,
        cancel: &cancel,
    };
    let mut hook_results = Vec::new();
    if let Err(e) = run_hooks(&hook_env, pre_hooks, "pre-hook", &mut hook_results) {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let elapsed = clock.elapsed().as_secs_f64();
        write_run_results(
            &project,
            &dag,
            &[],
            &hook_results,
            &started_at,
            elapsed,
            &argv,
        )?;
        Diagnostic::new(Code::Hook, e)
            .with_note("the run stopped before any model")
            .emit_stderr();
        return Ok(EXIT_ERROR);
    }

    // Load models need the landing store and the ledger.
    let loads = selected
        .iter()
        .any(|&i| dag.nodes[i].config.materialized == crate::project::Materialization::Load);
    let landing = if loads {
        for sql in crate::plan::load::ensure_ledger(wh.database()) {
            main.execute_batch(&sql).map_err(warehouse_failure)?;
        }
        Some(BlockingStore::new(
            Store::open(
                &project.target.landing_path,
                project.target.s3.as_ref(),
                &project.root,
            )
            .map_err(|e| {
                Failure::from(Diagnostic::new(
                    Code::Warehouse,
                    format!("landing path: {e}"),
                ))
            })?,
        ))
    } else {
        None
    };

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

    // In `build`, a node also waits for the tests of its parents.
    // A test with several parents (relationships) belongs to the one built
    // last, as in dbt: nodes are in run order, so the test's parents all
    // come before whatever waits on it, and no node waits on its own test.
    let tests_of: Vec<Vec<usize>> = (0..dag.nodes.len())
        .map(|i| {
            dag.children(i)
                .into_iter()
                .filter(|&c| dag.nodes[c].kind == NodeKind::Test)
                .filter(|&c| dag.parents(c).into_iter().max() == Some(i))
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
    let results = if selected.is_empty() {
        Vec::new()
    } else {
        execute(
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
                    landing: landing.as_ref(),
                    cancel: &cancel,
                })
            },
            &|e| reporter.event(e),
        )
    };

    let mut hook_error = None;
    if !cancel.load(Ordering::SeqCst) {
        if let Err(e) = run_hooks(&hook_env, post_hooks, "post-hook", &mut hook_results) {
            hook_error = Some(e);
        }
    }
    let interrupted = cancel.load(Ordering::SeqCst);
    if hooks_apply && !interrupted && !project.on_run_end.is_empty() {
        match render_snippets(&project, &opts, &project.on_run_end) {
            Ok(sqls) => {
                for sql in sqls {
                    if let Err(e) = main.execute_batch(&sql) {
                        hook_error = Some(format!("on-run-end hook failed: {}", e.message));
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
    write_run_results(
        &project,
        &dag,
        &results,
        &hook_results,
        &started_at,
        elapsed,
        &argv,
    )?;
    if let Some(e) = &hook_error {
        Diagnostic::new(Code::Hook, e.clone()).emit_stderr();
    }
    crate::stdoutln!("\n{}", summary(&results, elapsed));
    if let Some(hint) = crate::execute::report::where_to_look(&dag, &results) {
        crate::stdoutln!("{hint}");
    }
    let failed = results.iter().any(|r| {
        matches!(r.status, Status::Error | Status::Fail) || !r.outcome.problems.is_empty()
    }) || hook_error.is_some()
        || hook_results.iter().any(|h| h.status != "success");
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
