//! Schedule hooks: the steps a schedule runs before and after its models.
//! A hook is plain SQL (rendered like a model, run on the lake) or one of
//! the built-in steps: [`extract`] lands new hourly source files, and
//! [`cleanup`] runs DuckLake's file maintenance. Built-in arguments are
//! rendered with Jinja first, so `{{ var(...) }}` and `{{ env_var(...) }}`
//! work in them.

pub mod cleanup;
pub mod extract;

use std::sync::atomic::AtomicBool;

use serde_json::Value as Json;

use crate::project::{Hook, Project};
use crate::render::{render_snippets, RenderOptions};
use crate::warehouse::Session;

/// What a hook needs from the run.
pub struct HookEnv<'a> {
    /// The project.
    pub project: &'a Project,
    /// The run's main connection.
    pub session: &'a Session,
    /// How to render Jinja.
    pub render: &'a RenderOptions,
    /// Set on Ctrl-C: stop starting new work.
    pub cancel: &'a AtomicBool,
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

/// The name a hook goes by in results.
pub fn hook_name(hook: &Hook) -> &str {
    match hook {
        Hook::Sql { .. } => "sql",
        Hook::Builtin { name, .. } => name,
    }
}

/// Runs one hook. `Err` stops the run.
pub fn run_hook(env: &HookEnv<'_>, hook: &Hook) -> Result<HookReport, String> {
    match hook {
        Hook::Sql { sql } => {
            let rendered = render_snippets(env.project, env.render, std::slice::from_ref(sql))
                .map_err(diagnostics_text)?;
            for s in rendered {
                env.session.execute_batch(&s).map_err(|e| e.message)?;
            }
            Ok(HookReport {
                summary: format!("sql: {}", one_line(sql)),
                ..Default::default()
            })
        }
        Hook::Builtin { name, args } => {
            let args = render_args(env, args)?;
            match name.as_str() {
                "extract" => extract::run(env, args),
                "cleanup" => cleanup::run(env, args),
                other => Err(format!("unknown built-in hook `{other}`")),
            }
        }
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

fn diagnostics_text(d: crate::diagnostic::Diagnostics) -> String {
    d.0.iter()
        .map(|d| match &d.help {
            Some(h) => format!("{} ({h})", d.message),
            None => d.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Renders every string in a hook's arguments.
fn render_args(env: &HookEnv<'_>, args: &Json) -> Result<Json, String> {
    let mut strings = Vec::new();
    collect(args, &mut strings);
    let rendered = render_snippets(env.project, env.render, &strings).map_err(diagnostics_text)?;
    let mut it = rendered.into_iter();
    Ok(replace(args, &mut it))
}

fn collect(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::String(s) => out.push(s.clone()),
        Json::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Json::Object(m) => m.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}

fn replace(v: &Json, it: &mut impl Iterator<Item = String>) -> Json {
    match v {
        Json::String(_) => Json::String(it.next().unwrap_or_default()),
        Json::Array(a) => Json::Array(a.iter().map(|x| replace(x, it)).collect()),
        Json::Object(m) => {
            Json::Object(m.iter().map(|(k, x)| (k.clone(), replace(x, it))).collect())
        }
        other => other.clone(),
    }
}

/// Parses a built-in hook's rendered arguments, naming the hook on error.
fn parse_args<T: serde::de::DeserializeOwned>(hook: &str, args: Json) -> Result<T, String> {
    let args = if args.is_null() {
        Json::Object(Default::default())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| format!("`{hook}` hook in project.yml: {e}"))
}
