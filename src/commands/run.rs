//! `lake run`, `lake seed`, `lake test`, `lake build`: render against the
//! lake's current state, run the selection, write run artifacts.
//!
//! [`execute_run`] is the outline: the settings are resolved once from the
//! flags, the schedule and the profile ([`RunSettings`]); the lake is
//! taken (run lock, then catalog); the project is rendered against it and
//! every hook prepared; then the hook phases and the nodes run in order.
//! Everything that can be checked without the lake (the schedule's name,
//! hook arguments, selectors) is checked before the lock is taken.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{apply_selection, load, now_rfc3339, render_and_graph, warehouse_failure, Failure};
use crate::artifacts::{write_compiled, write_manifest, write_run_results, RunMeta};
use crate::cli::{
    GlobalArgs, RunArgs, SelectArgs, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_OK,
};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::execute::node_runner::NodeRunner;
use crate::execute::one_snapshot::{self, Publication};
use crate::execute::report::{summary, where_to_look, Reporter};
use crate::execute::scheduler::{execute, Event, Options};
use crate::execute::{NodeResult, Status};
use crate::graph::Dag;
use crate::history::message::{redacted_args, CommitKind, Stamp};
use crate::hooks::{prepare, run_phase, HookEnv, HookResult, Phase, RunHooks};
use crate::lock::{self, LockError, RunLock};
use crate::nodes::NodeKind;
use crate::project::profiles::Catalog;
use crate::project::{CommitMode, Materialization, Project, Schedule};
use crate::render::RenderOptions;
use crate::storage::{BlockingStore, Store};
use crate::warehouse::{OpenError, Session, Warehouse};

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

    fn noun(self) -> &'static str {
        match self {
            Mode::Run => "models",
            Mode::Seed => "seeds",
            Mode::Test => "tests",
            Mode::Build => "nodes",
        }
    }
}

/// What a run was asked to do, resolved once from the flags, the schedule
/// (`--schedule`) and the profile; nothing below reads the flags again.
struct RunSettings<'p> {
    /// A schedule always builds (seeds, models and their tests in DAG
    /// order), as `lake build` does.
    mode: Mode,
    /// The schedule, with its hooks.
    schedule: Option<&'p Schedule>,
    /// The selection: the flags', or the schedule's.
    select: SelectArgs,
    /// A schedule without `select` runs only its hooks.
    hooks_only: bool,
    full_refresh: bool,
    /// Unchanged nodes are reused (not with --no-reuse or --full-refresh).
    reuse: bool,
    /// Flag, else schedule, else `changed`.
    test_scope: crate::project::config::TestScope,
    /// Flag, else schedule, else profile, else the core count.
    threads: usize,
    fail_fast: bool,
    /// One budget for the run lock and the embedded catalog.
    wait: Duration,
    /// Flag, else schedule, else project.yml, else one snapshot per run.
    commit: CommitMode,
}

impl<'p> RunSettings<'p> {
    fn resolve(project: &'p Project, mode: Mode, args: &RunArgs) -> Result<Self, Failure> {
        let schedule = args
            .schedule
            .as_deref()
            .map(|name| find_schedule(project, name))
            .transpose()?;
        let mut select = args.select.clone();
        if let Some(s) = schedule {
            select.select = s.select.clone();
            select.exclude = s.exclude.clone();
        }
        let threads = args
            .threads
            .or(schedule.and_then(|s| s.threads))
            .or(project.target.threads)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(RunSettings {
            mode: if schedule.is_some() {
                Mode::Build
            } else {
                mode
            },
            schedule,
            select,
            hooks_only: schedule.is_some_and(|s| s.select.is_empty()),
            full_refresh: args.full_refresh || schedule.is_some_and(|s| s.full_refresh),
            reuse: project.target.catalog.is_ducklake()
                && !(args.no_reuse
                    || args.full_refresh
                    || schedule.is_some_and(|s| s.full_refresh)),
            test_scope: args
                .test_scope
                .or(schedule.and_then(|s| s.test_scope))
                .unwrap_or_default(),
            threads,
            fail_fast: args.fail_fast,
            wait: Duration::from_secs(args.wait),
            commit: args
                .commit
                .or(schedule.and_then(|s| s.commit))
                .unwrap_or(project.commit),
        })
    }

    /// Whether project.yml's on-run-start/end apply: dbt runs them for
    /// `run` and `build` only.
    fn project_hooks(&self) -> bool {
        matches!(self.mode, Mode::Run | Mode::Build)
    }

    /// How many pre- and post-hooks the schedule has.
    fn schedule_hooks(&self) -> usize {
        self.schedule
            .map_or(0, |s| s.pre_hooks.len() + s.post_hooks.len())
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

/// Runs one of the executing commands.
pub fn execute_run(global: &GlobalArgs, mode: Mode, args: &RunArgs) -> Result<u8, Failure> {
    let clock = Instant::now();
    let started_at = now_rfc3339();
    let project = load(global)?;
    let settings = RunSettings::resolve(&project, mode, args)?;
    let Some((_lock, wh)) = take_lake(&project, settings.wait)? else {
        return Ok(EXIT_LOCKED);
    };
    let stamp = Stamp::new(
        &project.root,
        &project.target,
        settings.schedule.map(|s| s.name.as_str()),
        wh.secrets(),
    );
    let main = wh.session().map_err(warehouse_failure)?;
    let metadata_schema = project.target.catalog.metadata_schema();
    let existing = crate::history::read::current_relations(&main, wh.database(), metadata_schema)
        .map_err(warehouse_failure)?;
    let opts = RenderOptions {
        run_started_at: started_at.clone(),
        existing,
        full_refresh: settings.full_refresh,
        store_failures: args.store_failures,
        invocation_id: stamp.run_id.clone(),
    };
    let dag = render_and_graph(&project, &opts)?;
    let selected = select(&dag, &settings)?;
    refuse_without_snapshots(&project, &dag, &selected, settings.schedule)?;
    if selected.is_empty() && settings.schedule_hooks() == 0 {
        crate::stdoutln!(
            "Nothing to do: the selection holds no {}.",
            settings.mode.noun()
        );
        return Ok(EXIT_OK);
    }
    let hooks = prepare(&project, &opts, settings.schedule, settings.project_hooks())?;
    let built = crate::state::BuildState {
        built: crate::state::store::read(&main, wh.database(), &opts.existing)
            .map_err(warehouse_failure)?,
        versions: Default::default(),
    };
    announce(&project, &settings, selected.len());
    let cancel = stop_on_interrupt(&wh);
    Run {
        project: &project,
        settings: &settings,
        wh: &wh,
        main,
        dag,
        existing: &opts.existing,
        selected,
        hooks,
        cancel,
        clock,
        started_at,
        stamp,
        built,
    }
    .go()
}

/// Takes the run lock, then opens the lake. `None`: another process has
/// it (already reported; exit 75).
///
/// Locked before the lake is opened: a second process could not attach
/// an embedded catalog, and two first attaches of a Postgres catalog race
/// to create it. One `--wait` budget covers the run lock and the catalog.
pub(super) fn take_lake(
    project: &Project,
    wait: Duration,
) -> Result<Option<(RunLock, Warehouse)>, Failure> {
    let deadline = lock::Deadline::after(wait);
    let run_lock = match lock::acquire(&project.target, &deadline) {
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
            return Ok(None);
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
    match Warehouse::open_for_run(&project.target, &readers, &mut waiting) {
        Ok(wh) => Ok(Some((run_lock, wh))),
        Err(OpenError::CatalogBusy(busy)) => {
            busy.diagnostic().emit_stderr();
            Ok(None)
        }
        Err(OpenError::Failed(e)) => Err(warehouse_failure(e)),
    }
}

/// On a plain DuckDB target, what needs DuckLake's snapshots and change
/// feeds (load and microbatch models, the extract and cleanup hooks) is an
/// error before anything runs.
fn refuse_without_snapshots(
    project: &Project,
    dag: &Dag,
    selected: &[usize],
    schedule: Option<&Schedule>,
) -> Result<(), Failure> {
    if project.target.catalog.is_ducklake() {
        return Ok(());
    }
    let nodes = selected.iter().map(|&i| &dag.nodes[i]);
    let node = nodes
        .clone()
        .find(|n| n.config.materialized == Materialization::Load);
    let what = match node {
        Some(n) => Some(format!("`{}` (materialized: load)", n.unique_id)),
        None => nodes
            .clone()
            .find(|n| {
                n.kind == NodeKind::Model
                    && n.config.strategy()
                        == crate::project::config::IncrementalStrategy::Microbatch
            })
            .map(|n| format!("`{}` (incremental_strategy: microbatch)", n.unique_id)),
    };
    let hooks = schedule
        .into_iter()
        .flat_map(|s| s.pre_hooks.iter().chain(&s.post_hooks));
    let what = what.or_else(|| {
        hooks
            .map(|h| h.name())
            .find(|&name| name != "sql")
            .map(|name| format!("the `{name}` hook"))
    });
    match what {
        None => Ok(()),
        Some(what) => Err(Diagnostic::new(
            Code::Unsupported,
            format!(
                "{what} needs a DuckLake target; target `{}` is a plain DuckDB database",
                project.target.name
            ),
        )
        .with_help("point the target at a DuckLake (`path: ducklake:<file>` in a dbt profile, or `type: ducklake`), or deselect it")
        .into()),
    }
}

/// The nodes the run executes, in run order.
fn select(dag: &Dag, settings: &RunSettings<'_>) -> Result<Vec<usize>, Failure> {
    if settings.hooks_only {
        return Ok(Vec::new());
    }
    Ok(apply_selection(dag, &settings.select)?
        .nodes
        .iter()
        .copied()
        .filter(|&i| settings.mode.runs(dag.nodes[i].kind))
        .collect())
}

/// The run's first console line.
fn announce(project: &Project, settings: &RunSettings<'_>, nodes: usize) {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let threads = settings.threads;
    let how = match settings.commit {
        CommitMode::Run if !project.target.catalog.is_ducklake() => {
            "as one transaction".to_string()
        }
        CommitMode::Run => "as one snapshot".to_string(),
        CommitMode::PerNode => format!(
            "with {threads} thread{}, committing per node",
            plural(threads)
        ),
    };
    let what = format!(
        "{nodes} {} on target `{}` {how}",
        settings.mode.noun(),
        project.target.name,
    );
    match settings.schedule {
        Some(s) => {
            let hooks = settings.schedule_hooks();
            crate::stdoutln!(
                "Schedule `{}`: {hooks} hook{}, {what}",
                s.name,
                plural(hooks)
            )
        }
        None => crate::stdoutln!("Running {what}"),
    }
}

/// Ctrl-C (or SIGTERM) sets the returned flag and interrupts the lake's
/// running statements. A second signal while stopping is ignored: the run
/// ends as soon as the interrupted statements have rolled back.
fn stop_on_interrupt(wh: &Warehouse) -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let interrupter = wh.interrupter();
    let _ = ctrlc::set_handler(move || {
        if !flag.swap(true, Ordering::SeqCst) {
            crate::stderrln!(
                "\ninterrupted: stopping running statements, nothing half-written is kept"
            );
            interrupter.interrupt_all();
        }
    });
    cancel
}

/// A run with the lake taken, its project rendered and its hooks ready.
struct Run<'a> {
    project: &'a Project,
    settings: &'a RunSettings<'a>,
    wh: &'a Warehouse,
    /// The main connection: hooks, schemas, the load ledger.
    main: Session,
    dag: Dag,
    /// Tables that existed when the run started.
    existing: &'a HashSet<(String, String)>,
    selected: Vec<usize>,
    hooks: RunHooks,
    cancel: Arc<AtomicBool>,
    clock: Instant,
    started_at: String,
    /// Run id and the rest of what each snapshot of this run carries.
    stamp: Stamp,
    /// Each node's last build, as the lake recorded it.
    built: crate::state::BuildState,
}

impl Run<'_> {
    /// Hook phases and nodes in order, then the artifacts and exit code.
    fn go(self) -> Result<u8, Failure> {
        let env = HookEnv {
            project: self.project,
            session: &self.main,
            cancel: &self.cancel,
            stamp: &self.stamp,
        };
        let mut hook_results = Vec::new();
        if self.hooks.extracts() {
            self.ensure_ledger()?;
        }
        for phase in [Phase::OnRunStart, Phase::PreHook] {
            let steps = self.hooks.steps(phase);
            if let Err(e) = run_phase(&env, phase, steps, &mut hook_results) {
                return self.stopped_before_models(&hook_results, e);
            }
        }
        let (results, published) = self.run_nodes()?;
        let mut hook_errors = Vec::new();
        for phase in [Phase::PostHook, Phase::OnRunEnd] {
            if self.cancel.load(Ordering::SeqCst) {
                break;
            }
            let steps = self.hooks.steps(phase);
            if let Err(e) = run_phase(&env, phase, steps, &mut hook_results) {
                hook_errors.push(e);
            }
        }
        self.finish(&results, published.as_ref(), &hook_results, &hook_errors)
    }

    /// A hook before the models failed: say so, record what ran, exit 1.
    fn stopped_before_models(&self, hooks: &[HookResult], error: String) -> Result<u8, Failure> {
        self.write_results(&[], hooks, None)?;
        Diagnostic::new(Code::Hook, error)
            .with_note("the run stopped before any model")
            .emit_stderr();
        Ok(EXIT_ERROR)
    }

    /// Runs the selected nodes: as one snapshot, or committing per node.
    fn run_nodes(&self) -> Result<(Vec<NodeResult>, Option<Publication>), Failure> {
        if self.selected.is_empty() {
            return Ok((Vec::new(), None));
        }
        let landing = self.landing()?;
        let dag = &self.dag;
        // In `build`, a node also waits for the tests of its parents.
        let gates = (self.settings.mode == Mode::Build).then(|| dag.test_gates());
        let parents = |i: usize| match &gates {
            Some(g) => g.parents(dag, i),
            None => dag.parents(i),
        };
        let reporter = Reporter::new(dag, self.selected.len());
        let on_event = |e: Event<'_>| reporter.event(e);
        match self.settings.commit {
            CommitMode::Run => {
                let session = self.wh.session().map_err(warehouse_failure)?;
                let runner = self.runner_parts(&landing).with(session);
                let options = one_snapshot::Options {
                    fail_fast: self.settings.fail_fast,
                    cancel: &self.cancel,
                    stamp: &self.stamp,
                    prelude: self.schema_statements(),
                };
                let (results, published) =
                    one_snapshot::execute(&self.selected, &parents, &runner, &options, &on_event);
                Ok((results, Some(published)))
            }
            CommitMode::PerNode => {
                self.create_schemas()?;
                let results = self.run_per_node(&parents, &landing, &on_event)?;
                Ok((results, None))
            }
        }
    }

    /// What every node runner of this run shares (all but its connection).
    fn runner_parts<'r>(&'r self, landing: &'r Option<BlockingStore>) -> RunnerParts<'r> {
        RunnerParts {
            dag: &self.dag,
            root: &self.project.root,
            existing: self.existing,
            full_refresh: self.settings.full_refresh,
            landing: landing.as_ref(),
            cancel: &self.cancel,
            stamp: &self.stamp,
            state: &self.built,
            reuse: self.settings.reuse,
            test_scope: self.settings.test_scope,
            metadata_schema: self.project.target.catalog.metadata_schema(),
            snapshots: self.project.target.catalog.is_ducklake(),
        }
    }

    /// `--commit per-node`: nodes in parallel, one connection per worker,
    /// each group of ready nodes committed as it finishes.
    fn run_per_node(
        &self,
        parents: &(dyn Fn(usize) -> Vec<usize> + Sync),
        landing: &Option<BlockingStore>,
        on_event: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<Vec<NodeResult>, Failure> {
        let options = Options {
            threads: self.settings.threads,
            fail_fast: self.settings.fail_fast,
            cancel: self.cancel.clone(),
            // Group commit: up to 64 independent ready nodes share one
            // transaction (see execute::node_runner).
            batch: 64,
        };
        // One connection per worker, opened here: the DuckDB instance
        // itself stays on this thread.
        let sessions = (0..self.settings.threads.min(self.selected.len()))
            .map(|_| self.wh.session())
            .collect::<Result<Vec<_>, _>>()
            .map_err(warehouse_failure)?;
        let sessions = Mutex::new(sessions);
        // Shared by the worker threads: only these parts (the main
        // connection is not Sync).
        let parts = self.runner_parts(landing);
        let worker = || -> Result<NodeRunner<'_>, String> {
            let session = sessions
                .lock()
                .map_err(|_| "sessions poisoned")?
                .pop()
                .ok_or("no connection left")?;
            Ok(parts.with(session))
        };
        Ok(execute(&self.selected, parents, &options, worker, on_event))
    }

    /// Load models need the landing store and the ledger.
    fn landing(&self) -> Result<Option<BlockingStore>, Failure> {
        let loads = self
            .selected
            .iter()
            .any(|&i| self.dag.nodes[i].config.materialized == Materialization::Load);
        if !loads {
            return Ok(None);
        }
        self.ensure_ledger()?;
        let target = &self.project.target;
        let store = Store::open(&target.landing_path, target.s3.as_ref(), &self.project.root)
            .map_err(|e| Diagnostic::new(Code::Warehouse, format!("landing path: {e}")))?;
        Ok(Some(BlockingStore::new(store)))
    }

    /// Creates the ledger tables (loads, extract) in one transaction that
    /// says which run made them; nothing is committed when they exist.
    fn ensure_ledger(&self) -> Result<(), Failure> {
        let mut info = self.stamp.commit(CommitKind::Hook);
        info.hook = Some("ledger tables".into());
        let mut sql = crate::plan::ledger::ensure_tables(self.wh.database());
        sql.extend(info.statement(self.wh.database()));
        self.main
            .execute_in_transaction(&sql)
            .map_err(warehouse_failure)
    }

    /// `CREATE SCHEMA IF NOT EXISTS` for every schema the selection writes.
    fn schema_statements(&self) -> Vec<String> {
        let nodes = &self.dag.nodes;
        let mut schemas: Vec<&crate::nodes::Relation> = self
            .selected
            .iter()
            .filter(|&&i| matches!(nodes[i].kind, NodeKind::Model | NodeKind::Seed))
            .filter(|&&i| nodes[i].config.materialized != Materialization::Ephemeral)
            .filter_map(|&i| nodes[i].relation.as_ref())
            .collect();
        schemas.sort_by(|a, b| a.schema.cmp(&b.schema));
        schemas.dedup_by(|a, b| a.schema == b.schema);
        schemas
            .into_iter()
            .map(crate::plan::create_schema)
            .collect()
    }

    /// Creates every target schema and the build-state table up front
    /// (per-node commits): two workers creating the same schema or table
    /// at once would conflict at commit.
    fn create_schemas(&self) -> Result<(), Failure> {
        let db = self.wh.database();
        let state_table = [
            crate::plan::ledger::ensure_tables(db)[0].clone(),
            crate::state::store::ddl(db),
        ];
        // A plain database keeps no build state (nothing to prove reuse by).
        let state_table = state_table
            .into_iter()
            .filter(|_| self.project.target.catalog.is_ducklake());
        for sql in self.schema_statements().into_iter().chain(state_table) {
            self.main.execute_batch(&sql).map_err(warehouse_failure)?;
        }
        Ok(())
    }

    /// Writes run_results.json (nodes and hooks).
    fn write_results(
        &self,
        results: &[NodeResult],
        hooks: &[HookResult],
        published: Option<&Publication>,
    ) -> Result<(), Failure> {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let args = redacted_args(&argv, self.wh.secrets());
        let meta = RunMeta {
            started_at: &self.started_at,
            elapsed: self.clock.elapsed().as_secs_f64(),
            args: &args,
            run_id: &self.stamp.run_id,
            commit: match self.settings.commit {
                CommitMode::Run => "run",
                CommitMode::PerNode => "per-node",
            },
            snapshot: published.and_then(|p| p.snapshot),
        };
        write_run_results(self.project, &self.dag, results, hooks, &meta)?;
        Ok(())
    }

    /// Artifacts, the summary, and the exit code.
    fn finish(
        &self,
        results: &[NodeResult],
        published: Option<&Publication>,
        hooks: &[HookResult],
        hook_errors: &[String],
    ) -> Result<u8, Failure> {
        write_compiled(self.project, &self.dag, Some(&self.selected))?;
        write_manifest(self.project, &self.dag, &self.started_at)?;
        self.write_results(results, hooks, published)?;
        for e in hook_errors {
            Diagnostic::new(Code::Hook, e.clone()).emit_stderr();
        }
        let elapsed = self.clock.elapsed().as_secs_f64();
        crate::stdoutln!("\n{}", summary(results, elapsed));
        // A plain DuckDB database has no snapshots to name.
        let snapshots = self.project.target.catalog.is_ducklake();
        if let Some(p) = published.filter(|_| snapshots) {
            crate::stdoutln!("{}", publication_line(p, &self.stamp.run_id));
        }
        if let Some(hint) = where_to_look(&self.dag, results) {
            crate::stdoutln!("{hint}");
        }
        let failed = results.iter().any(|r| {
            matches!(r.status, Status::Error | Status::Fail | Status::Skipped)
                || !r.outcome.problems.is_empty()
        }) || !hook_errors.is_empty()
            || hooks.iter().any(|h| h.status != "success");
        Ok(if self.cancel.load(Ordering::SeqCst) {
            EXIT_INTERRUPTED
        } else if failed {
            EXIT_ERROR
        } else {
            EXIT_OK
        })
    }
}

/// What a one-snapshot run published, and under which run id: the
/// handle for `lake history`, `lake rollback` and `--at`.
fn publication_line(p: &Publication, run_id: &str) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match p.snapshot {
        Some(id) => format!(
            "Published {} relation{} in snapshot {id} (run {run_id}).",
            p.relations,
            plural(p.relations)
        ),
        None => format!("Nothing new published (run {run_id})."),
    }
}

/// A node runner without its connection: one per worker thread is made
/// from it.
#[derive(Clone, Copy)]
struct RunnerParts<'r> {
    dag: &'r Dag,
    root: &'r std::path::Path,
    existing: &'r HashSet<(String, String)>,
    full_refresh: bool,
    landing: Option<&'r BlockingStore>,
    cancel: &'r AtomicBool,
    stamp: &'r Stamp,
    state: &'r crate::state::BuildState,
    reuse: bool,
    test_scope: crate::project::config::TestScope,
    metadata_schema: Option<&'r str>,
    snapshots: bool,
}

impl<'r> RunnerParts<'r> {
    fn with(self, session: Session) -> NodeRunner<'r> {
        NodeRunner {
            session,
            dag: self.dag,
            root: self.root,
            existing: self.existing,
            full_refresh: self.full_refresh,
            landing: self.landing,
            cancel: self.cancel,
            stamp: self.stamp,
            state: std::cell::RefCell::new(self.state.clone()),
            reuse: self.reuse,
            test_scope: self.test_scope,
            memory: Default::default(),
            metadata_schema: self.metadata_schema,
            snapshots: self.snapshots,
        }
    }
}
