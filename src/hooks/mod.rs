//! Hooks: the steps a run takes around its models. project.yml's
//! `on-run-start`/`on-run-end` SQL, and a schedule's pre- and post-hooks:
//! plain SQL (rendered like a model, run on the lake) or one of the
//! built-in steps: [`extract`] lands new hourly source files, and
//! [`cleanup`] runs DuckLake's file maintenance.
//!
//! Built-in arguments are typed when project.yml loads
//! ([`crate::project::HookArgs`]); values written with Jinja
//! (`{{ var(...) }}`, `{{ env_var(...) }}`) are rendered and typed by
//! [`prepare`], with every hook's SQL, before the first hook runs. Then one
//! phase runner, [`run_phase`], runs each phase.

pub mod cleanup;
pub mod extract;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::history::message::CommitKind;
use crate::project::project_file::{BuiltinArgs, CleanupArgs, ExtractArgs, HookArgs};
use crate::project::{Hook, Project, Schedule};
use crate::render::{render_snippets, RenderOptions};
use crate::warehouse::Session;

/// What a hook needs from the run.
pub struct HookEnv<'a> {
    /// The project.
    pub project: &'a Project,
    /// The run's main connection.
    pub session: &'a Session,
    /// Set on Ctrl-C: stop starting new work.
    pub cancel: &'a AtomicBool,
    /// This run's identity, stamped on every snapshot a hook commits.
    pub stamp: &'a crate::history::message::Stamp,
}

/// What a hook did. `problems` are failures that did not stop the step
/// (one bad source object among many): the run goes on and exits 1.
#[derive(Debug, Default)]
pub struct HookReport {
    /// One line for the console.
    pub summary: String,
    /// Each problem, naming its object.
    pub problems: Vec<String>,
}

/// One hook's outcome, for `run_results.json` (cron and CI read it to see
/// what a schedule's steps did, not only its models).
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookResult {
    /// `pre-hook` or `post-hook`.
    pub when: &'static str,
    /// 1-based position in its list.
    pub index: usize,
    /// `sql`, `extract` or `cleanup`.
    pub hook: String,
    /// `success`, or `error` (the step failed, or some of its files did).
    pub status: &'static str,
    /// What it did, or why it stopped.
    pub message: String,
    /// Per-object problems that did not stop the step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Wall seconds.
    pub execution_time: f64,
}

/// When a group of hooks runs, in run order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// project.yml's `on-run-start`, before everything.
    OnRunStart,
    /// The schedule's `pre-hooks`, before its models.
    PreHook,
    /// The schedule's `post-hooks`, after its models.
    PostHook,
    /// project.yml's `on-run-end`, after everything.
    OnRunEnd,
}

impl Phase {
    /// The phase as messages and `run_results.json` name it.
    pub fn label(self) -> &'static str {
        match self {
            Phase::OnRunStart => "on-run-start",
            Phase::PreHook => "pre-hook",
            Phase::PostHook => "post-hook",
            Phase::OnRunEnd => "on-run-end",
        }
    }

    /// Whether each step is printed and recorded in `run_results.json`:
    /// a schedule's steps are (cron reads them); project.yml's
    /// on-run-start/end SQL runs quietly, as in dbt.
    fn reported(self) -> bool {
        matches!(self, Phase::PreHook | Phase::PostHook)
    }
}

/// One hook ready to run: its SQL rendered, its arguments typed.
pub enum Step {
    /// SQL for the lake.
    Sql {
        /// As written, for the console line.
        written: String,
        /// As rendered, to run.
        sql: String,
    },
    /// Land new hourly source files (boxed: it is many times the others' size).
    Extract(Box<ExtractArgs>),
    /// DuckLake file maintenance.
    Cleanup(CleanupArgs),
}

impl Step {
    /// The name a step goes by in results.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Sql { .. } => "sql",
            Step::Extract(_) => ExtractArgs::HOOK,
            Step::Cleanup(_) => CleanupArgs::HOOK,
        }
    }
}

/// Every hook of one run, each phase ready before the first one runs.
#[derive(Default)]
pub struct RunHooks {
    on_run_start: Vec<Step>,
    pre: Vec<Step>,
    post: Vec<Step>,
    on_run_end: Vec<Step>,
}

impl RunHooks {
    /// Whether an `extract` step runs (it needs the ledger tables).
    pub fn extracts(&self) -> bool {
        [Phase::PreHook, Phase::PostHook]
            .iter()
            .any(|&p| self.steps(p).iter().any(|s| matches!(s, Step::Extract(_))))
    }

    /// The steps of one phase, in order.
    pub fn steps(&self, phase: Phase) -> &[Step] {
        match phase {
            Phase::OnRunStart => &self.on_run_start,
            Phase::PreHook => &self.pre,
            Phase::PostHook => &self.post,
            Phase::OnRunEnd => &self.on_run_end,
        }
    }
}

/// Renders every hook of a run and types the built-in ones' templated
/// arguments, so a bad template anywhere (an on-run-end, a post-hook)
/// stops the run before any hook or model runs. `project_hooks` says
/// whether project.yml's on-run-start/end apply to this command.
pub fn prepare(
    project: &Project,
    render: &RenderOptions,
    schedule: Option<&Schedule>,
    project_hooks: bool,
) -> Result<RunHooks, Diagnostics> {
    let sql_hooks = |strings: &[String]| -> Vec<Hook> {
        let strings = if project_hooks { strings } else { &[] };
        strings
            .iter()
            .map(|sql| Hook::Sql { sql: sql.clone() })
            .collect()
    };
    let (pre, post) = schedule.map_or((&[][..], &[][..]), |s| (&s.pre_hooks, &s.post_hooks));
    let phases = [
        sql_hooks(&project.on_run_start),
        pre.to_vec(),
        post.to_vec(),
        sql_hooks(&project.on_run_end),
    ];
    let all: Vec<&Hook> = phases.iter().flatten().collect();
    let mut sql = render_sql(project, render, &all)?.into_iter();
    let mut templates = TemplateRenderer::new(project, render, &all);
    let mut diags = Diagnostics::default();
    let mut ready = |hooks: &[Hook]| -> Vec<Step> {
        let mut steps = Vec::new();
        for hook in hooks {
            match step(hook, &mut sql, &mut templates, project) {
                Ok(s) => steps.push(s),
                Err(d) => d.0.into_iter().for_each(|d| diags.push(d)),
            }
        }
        steps
    };
    let [start, pre, post, end] = phases;
    let hooks = RunHooks {
        on_run_start: ready(&start),
        pre: ready(&pre),
        post: ready(&post),
        on_run_end: ready(&end),
    };
    diags.into_result(hooks)
}

/// Every SQL hook of the run rendered in one go, in order.
fn render_sql(
    project: &Project,
    render: &RenderOptions,
    hooks: &[&Hook],
) -> Result<Vec<String>, Diagnostics> {
    let sql: Vec<String> = hooks
        .iter()
        .filter_map(|h| match h {
            Hook::Sql { sql } => Some(sql.clone()),
            _ => None,
        })
        .collect();
    if sql.is_empty() {
        return Ok(Vec::new());
    }
    render_snippets(project, render, &sql)
}

/// One hook as a ready step, taking its rendered SQL from `sql`.
fn step(
    hook: &Hook,
    sql: &mut impl Iterator<Item = String>,
    templates: &mut TemplateRenderer<'_>,
    project: &Project,
) -> Result<Step, Diagnostics> {
    let file = &project.project_file;
    let mut render = |t: &str| templates.render(t);
    Ok(match hook {
        Hook::Sql { sql: written } => Step::Sql {
            written: written.clone(),
            sql: sql.next().unwrap_or_default(),
        },
        Hook::Extract(args) => Step::Extract(Box::new(args.resolve(file, &mut render)?)),
        Hook::Cleanup(args) => Step::Cleanup(args.resolve(file, &mut render)?),
    })
}

/// Renders the templates in built-in hook arguments: all in one call,
/// and one by one only when that call fails, to say which one did.
struct TemplateRenderer<'a> {
    project: &'a Project,
    options: &'a RenderOptions,
    rendered: HashMap<String, String>,
}

impl<'a> TemplateRenderer<'a> {
    fn new(project: &'a Project, options: &'a RenderOptions, hooks: &[&Hook]) -> Self {
        let templates: Vec<String> = hooks
            .iter()
            .flat_map(|h| match h {
                Hook::Sql { .. } => Vec::new(),
                Hook::Extract(a) => owned(a),
                Hook::Cleanup(a) => owned(a),
            })
            .collect();
        let rendered = match render_snippets(project, options, &templates) {
            Ok(out) if !templates.is_empty() => templates.into_iter().zip(out).collect(),
            _ => HashMap::new(),
        };
        TemplateRenderer {
            project,
            options,
            rendered,
        }
    }

    fn render(&mut self, template: &str) -> Result<String, Diagnostic> {
        if let Some(text) = self.rendered.get(template) {
            return Ok(text.clone());
        }
        let mut out = render_snippets(self.project, self.options, &[template.to_string()])
            .map_err(|d| d.0.into_iter().next().unwrap_or_else(|| unknown(template)))?;
        Ok(out.pop().unwrap_or_default())
    }
}

fn owned<T: BuiltinArgs>(args: &HookArgs<T>) -> Vec<String> {
    args.templates().into_iter().map(str::to_string).collect()
}

fn unknown(template: &str) -> Diagnostic {
    Diagnostic::new(
        crate::diagnostic::Code::RenderError,
        format!("`{template}` did not render"),
    )
}

/// Runs one phase's steps in order, printing and recording each step of a
/// reported phase; `Err` carries the message of the step that stopped the
/// run. Nothing new starts once the run is cancelled.
pub fn run_phase(
    env: &HookEnv<'_>,
    phase: Phase,
    steps: &[Step],
    out: &mut Vec<HookResult>,
) -> Result<(), String> {
    let when = phase.label();
    for (n, step) in steps.iter().enumerate() {
        if env.cancel.load(Ordering::SeqCst) {
            return Ok(());
        }
        let clock = Instant::now();
        let result = run_step(env, step, when);
        let seconds = clock.elapsed().as_secs_f64();
        let mut record = HookResult {
            when,
            index: n + 1,
            hook: step.name().to_string(),
            status: "success",
            message: String::new(),
            problems: Vec::new(),
            execution_time: (seconds * 1000.0).round() / 1000.0,
        };
        let stopped = match result {
            Ok(report) => {
                if phase.reported() {
                    print_report(when, n + 1, steps.len(), seconds, &report);
                }
                if !report.problems.is_empty() {
                    record.status = "error";
                }
                record.message = report.summary;
                record.problems = report.problems;
                None
            }
            Err(e) => {
                record.status = "error";
                record.message = format!("{when} {}: {e}", n + 1);
                Some(record.message.clone())
            }
        };
        if phase.reported() {
            out.push(record);
        }
        if let Some(message) = stopped {
            return Err(message);
        }
    }
    Ok(())
}

fn print_report(when: &str, index: usize, of: usize, seconds: f64, report: &HookReport) {
    crate::stdoutln!("{when} {index}/{of} {} [{seconds:.2}s]", report.summary);
    for p in &report.problems {
        crate::stderrln!("error: {p}");
    }
}

/// Runs one step. `Err` stops the run.
fn run_step(env: &HookEnv<'_>, step: &Step, when: &str) -> Result<HookReport, String> {
    match step {
        Step::Sql { written, sql } => {
            // One transaction, so what the hook writes is one snapshot that
            // says which run and hook wrote it.
            let mut info = env.stamp.commit(CommitKind::Hook);
            info.hook = Some(format!("{when}: sql"));
            let tag = info.statement(&env.project.target.database);
            env.session
                .in_transaction(|| {
                    env.session.execute_batch(sql)?;
                    tag.map_or(Ok(0), |t| env.session.execute(&t))
                })
                .map_err(|e| e.message)?;
            Ok(HookReport {
                summary: format!("sql: {}", one_line(written)),
                ..Default::default()
            })
        }
        Step::Extract(args) => extract::run(env, args),
        Step::Cleanup(args) => cleanup::run(env, args),
    }
}

fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 60 {
        format!("{}...", flat.chars().take(57).collect::<String>())
    } else {
        flat
    }
}
