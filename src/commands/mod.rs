//! Commands wire the pipeline stages together; each returns an exit code.
//! Shared here: loading, rendering and graphing a project once, and
//! reporting diagnostics.

mod compile;
mod cron;
mod dag;
mod debug;
mod generate;
mod history;
mod ls;
mod migrate;
mod quarantine;
mod query;
mod rollback;
mod run;
mod serve;

use std::collections::HashSet;

use crate::cli::{Cli, Command, GlobalArgs, SelectArgs, EXIT_ERROR, EXIT_USAGE};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::graph::{build_dag, Dag};
use crate::project::yaml::locate_key;
use crate::project::{load_project, parse_cli_vars, LoadOptions, Project};
use crate::render::{render_project, RenderOptions};
use crate::select::{parse_selector, Selection};

/// Why a command stopped.
#[derive(Debug)]
pub enum Failure {
    /// The project has errors (exit 1).
    Project(Diagnostics),
    /// The command line is wrong (exit 2).
    Usage(Diagnostic),
}

impl From<Diagnostics> for Failure {
    fn from(d: Diagnostics) -> Self {
        Failure::Project(d)
    }
}

impl From<Diagnostic> for Failure {
    fn from(d: Diagnostic) -> Self {
        Failure::Project(d.into())
    }
}

/// Runs the parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> u8 {
    let result = match &cli.command {
        Command::Compile { select } => compile::run(&cli.global, select),
        Command::Ls {
            select,
            output,
            resource_type,
        } => ls::run(&cli.global, select, *output, resource_type),
        Command::Dag { select, format } => dag::run(&cli.global, select, *format),
        Command::Run { args } => run::execute_run(&cli.global, run::Mode::Run, args),
        Command::Seed { args } => run::execute_run(&cli.global, run::Mode::Seed, args),
        Command::Test { args } => run::execute_run(&cli.global, run::Mode::Test, args),
        Command::Build { args } => run::execute_run(&cli.global, run::Mode::Build, args),
        Command::Show {
            model,
            limit,
            format,
            at,
        } => query::show(&cli.global, model, *limit, *format, at.as_deref()),
        Command::Query {
            sql,
            limit,
            format,
            at,
        } => query::query(&cli.global, sql, *limit, *format, at.as_deref()),
        Command::History(args) => history::run(&cli.global, args),
        Command::Rollback(args) => rollback::run(&cli.global, args),
        Command::Debug { print_attach: true } => debug::print_attach(&cli.global),
        Command::Debug {
            print_attach: false,
        } => debug::debug(&cli.global),
        Command::Setup => debug::setup(&cli.global),
        Command::Quarantine { action } => quarantine::run(
            &cli.global,
            action
                .as_ref()
                .unwrap_or(&crate::cli::QuarantineAction::List),
        ),
        Command::Serve(args) => serve::run(&cli.global, args),
        Command::Cron { log_dir } => cron::run(&cli.global, log_dir.as_deref()),
        Command::Migrate { to_ducklake } => migrate::run(&cli.global, *to_ducklake),
        Command::Generate {
            to,
            start,
            hours,
            sessions_per_hour,
            seed,
            skip,
        } => generate::run(
            &cli.global,
            &generate::Request {
                to,
                start,
                hours: *hours,
                sessions_per_hour: *sessions_per_hour,
                seed: *seed,
                skip,
            },
        ),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Project(diags)) => {
            for d in &diags.0 {
                d.emit_stderr();
            }
            let n = diags.0.len();
            crate::stderrln!(
                "\n{n} error{} found; nothing was written",
                if n == 1 { "" } else { "s" }
            );
            EXIT_ERROR
        }
        Err(Failure::Usage(d)) => {
            d.emit_stderr();
            EXIT_USAGE
        }
    }
}

/// A project taken through load, render and graph.
pub struct Compiled {
    /// The loaded project.
    pub project: Project,
    /// Its graph, nodes in run order.
    pub dag: Dag,
    /// When this invocation started (RFC 3339).
    pub started_at: String,
}

/// Now, as `run_started_at` and artifacts show it.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// `what` reads DuckLake's snapshots: on a plain DuckDB target (a
/// dbt-duckdb `path`), an error saying so before anything is opened.
pub fn require_snapshots(target: &crate::project::Target, what: &str) -> Result<(), Failure> {
    if target.catalog.is_ducklake() {
        return Ok(());
    }
    Err(Diagnostic::new(
        Code::Unsupported,
        format!(
            "{what} needs a DuckLake target; target `{}` is a plain DuckDB database, which keeps no snapshots",
            target.name
        ),
    )
    .with_help("point the target at a DuckLake (`path: ducklake:<file>` in a dbt profile, or `type: ducklake`)")
    .into())
}

/// Loads and validates the project the flags point at.
pub fn load(global: &GlobalArgs) -> Result<Project, Failure> {
    let clock = std::time::Instant::now();
    let vars = global
        .vars
        .as_deref()
        .map(parse_cli_vars)
        .transpose()
        .map_err(Failure::Usage)?
        .unwrap_or_default();
    let project = load_project(&LoadOptions {
        project_dir: global.project_dir.clone(),
        profiles_dir: global.profiles_dir.clone(),
        target: global.target.clone(),
        vars,
    })?;
    check_schedule_selectors(&project)?;
    for w in &project.warnings {
        w.emit_stderr();
    }
    tracing::info!(
        models = project.models.len(),
        elapsed_ms = clock.elapsed().as_millis() as u64,
        "project loaded"
    );
    Ok(project)
}

/// Checks every schedule's `select`/`exclude` with the selector grammar,
/// pointing at the key in project.yml. Loading leaves them to this check
/// because the grammar belongs to `select`, a later stage than `project`.
pub fn check_schedule_selectors(project: &Project) -> Result<(), Diagnostics> {
    let file = &project.project_file;
    let mut diags = Diagnostics::default();
    for s in &project.schedules {
        for (key, exprs) in [("select", &s.select), ("exclude", &s.exclude)] {
            for e in exprs {
                let Err(err) = parse_selector(e) else {
                    continue;
                };
                let span = locate_key(&file.text, &["schedules", &s.name, key]);
                let mut d = Diagnostic::new(
                    Code::BadSelector,
                    format!("schedule `{}`: {}", s.name, err.message),
                )
                .at(&file.path, &file.text, span, "in this selector");
                if let Some(h) = err.help {
                    d = d.with_help(h);
                }
                diags.push(d);
            }
        }
    }
    diags.into_result(())
}

/// Renders a loaded project and builds its graph.
pub fn render_and_graph(project: &Project, opts: &RenderOptions) -> Result<Dag, Failure> {
    let clock = std::time::Instant::now();
    let nodes = render_project(project, opts)?;
    tracing::info!(
        nodes = nodes.len(),
        elapsed_ms = clock.elapsed().as_millis() as u64,
        "rendered"
    );
    let clock = std::time::Instant::now();
    let dag = build_dag(nodes)?;
    tracing::info!(
        elapsed_ms = clock.elapsed().as_millis() as u64,
        "graph built"
    );
    Ok(dag)
}

/// Loads, renders and graphs the project, with nothing known of the lake
/// (so `is_incremental()` is false): what compile, ls and dag need.
pub fn compile_project(global: &GlobalArgs) -> Result<Compiled, Failure> {
    let started_at = now_rfc3339();
    let project = load(global)?;
    let opts = RenderOptions {
        run_started_at: started_at.clone(),
        existing: HashSet::new(),
        full_refresh: false,
        store_failures: false,
        invocation_id: crate::history::message::new_run_id(),
    };
    let dag = render_and_graph(&project, &opts)?;
    Ok(Compiled {
        project,
        dag,
        started_at,
    })
}

/// A warehouse failure as a diagnostic.
pub fn warehouse_failure(e: crate::warehouse::WarehouseError) -> Failure {
    let mut d = Diagnostic::new(Code::Warehouse, e.message);
    if let Some(h) = e.help {
        d = d.with_help(h);
    }
    Failure::Project(d.into())
}

/// Applies `--select/--exclude`, warning about selectors that matched nothing.
pub fn apply_selection(dag: &Dag, args: &SelectArgs) -> Result<Selection, Failure> {
    apply_selection_with_state(dag, args, None)
}

/// [`apply_selection`] with what `state:changed` stands for.
pub fn apply_selection_with_state(
    dag: &Dag,
    args: &SelectArgs,
    changed: Option<&std::collections::BTreeSet<usize>>,
) -> Result<Selection, Failure> {
    let sel = crate::select::select_with_state(dag, &args.select, &args.exclude, changed).map_err(
        |e| {
            let mut d = Diagnostic::new(Code::BadSelector, e.message);
            if let Some(h) = e.help {
                d = d.with_help(h);
            }
            Failure::Usage(d)
        },
    )?;
    for (raw, hint) in &sel.unmatched {
        match hint {
            Some(h) => {
                crate::stderrln!("warning: selector `{raw}` matched no node; did you mean `{h}`?")
            }
            None => crate::stderrln!("warning: selector `{raw}` matched no node"),
        }
    }
    Ok(sel)
}

/// Skips freeing a large compiled project when the process is about to exit
/// anyway: on 10,000 models the destructors alone cost tens of milliseconds.
/// The project holds only memory (no files, locks or connections).
pub fn exit_fast(compiled: Compiled) {
    std::mem::forget(compiled);
}
