//! Rendering, the second pipeline stage: every model, singular test and
//! generic test becomes compiled SQL, and every `ref()`/`source()` call
//! becomes a dependency. Macros from `macros/` are callable everywhere,
//! as in dbt. Templates render in parallel; the output order is the input
//! order, so results are deterministic.
//!
//! A model's place in the lake is known only once it rendered (its own
//! `{{ config(schema=...) }}` may move it), so rendering goes: every model
//! once, again those that ref a moved model, then the tests, all with one
//! resolver built from the final places. Free-standing SQL
//! ([`render_snippets`]) resolves `ref()` with that same resolver.

mod agate;
mod compiled;
mod contract;
mod data_tests;
mod dbt_context;
mod diagnose;
mod ephemeral;
mod functions;
mod generic_tests;
mod inputs;
mod live;
mod models;
mod mutable;
mod places;
mod py_datetime;
mod relation;
mod templates;

use std::collections::HashSet;

use minijinja::context;

pub use compiled::error_location;
pub use diagnose::MacroMap;
use places::Placement;
use templates::Templates;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::nodes::Node;
use crate::project::Project;

/// Per-invocation inputs that are not part of the project files.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Timestamp exposed as `run_started_at`.
    pub run_started_at: String,
    /// `(schema, name)` of tables that already exist in the lake; empty for
    /// `lake compile`. `is_incremental()` is true for an incremental model
    /// whose table is here, unless a full refresh was asked for.
    pub existing: HashSet<(String, String)>,
    /// `--full-refresh`.
    pub full_refresh: bool,
    /// `--store-failures`: every data test keeps its failing rows unless
    /// its config says otherwise.
    pub store_failures: bool,
    /// `invocation_id`: the run's id, as run_results.json records it.
    pub invocation_id: String,
}

/// Renders the whole project into graph nodes, or every problem found.
pub fn render_project(project: &Project, opts: &RenderOptions) -> Result<Vec<Node>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let first = Templates::new(project, opts, configured_resolver(project), &mut diags)?;
    let models::Placed {
        placement,
        rendered,
        templates,
    } = models::place(project, opts, first)?;
    let templates = std::sync::Arc::new(templates);
    let mut nodes =
        models::model_nodes(project, opts, &templates, &placement, rendered, &mut diags);
    nodes.extend(inputs::seed_nodes(project, &mut diags));
    nodes.extend(inputs::source_nodes(project));
    let store = opts.store_failures;
    nodes.extend(data_tests::singular(project, &templates, store, &mut diags));
    nodes.extend(data_tests::generic(project, &templates, store, &mut diags));
    data_tests::inline_ephemerals(&mut nodes);
    data_tests::check_stored_failures(&nodes, &mut diags);
    diags.into_result(nodes)
}

/// Renders free-standing SQL (project and schedule hooks, `lake query`)
/// with the project's macros, `ref()` and `source()`. `ref()` points where
/// the models' own `ref()` does: when a snippet may call it, the models
/// render once first, to apply their `config()` calls.
pub fn render_snippets(
    project: &Project,
    opts: &RenderOptions,
    snippets: &[String],
) -> Result<Vec<String>, Diagnostics> {
    if snippets.is_empty() {
        return Ok(Vec::new());
    }
    let mut diags = Diagnostics::default();
    let mut templates = Templates::new(project, opts, configured_resolver(project), &mut diags)?;
    if may_call_ref(snippets, &templates) {
        let placement = models::first_pass(project, opts, &templates).placement;
        templates = templates.with_resolver(project, opts, placement.resolver(project))?;
    }
    let mut out = Vec::with_capacity(snippets.len());
    for s in snippets {
        match render_snippet(project, &templates, s) {
            Ok(sql) => out.push(sql),
            Err(d) => diags.push(d),
        }
    }
    diags.into_result(out)
}

/// `ref()` resolving by the folder and YAML config alone: what the first
/// render of the models needs, and all a snippet that never calls `ref()`
/// needs.
fn configured_resolver(project: &Project) -> functions::Resolver {
    Placement::from_config(project).resolver(project)
}

/// Whether rendering `snippets` may call `ref()`: directly, or through a
/// macro, which the snippet then names.
fn may_call_ref(snippets: &[String], templates: &Templates) -> bool {
    snippets.iter().any(|s| {
        s.contains("ref")
            || templates
                .macros
                .names
                .iter()
                .any(|m| s.contains(m.as_str()))
    })
}

fn render_snippet(project: &Project, templates: &Templates, s: &str) -> Result<String, Diagnostic> {
    let source = format!("{}{s}", templates.prefix);
    templates
        .render_str(&source, context! { __lake_exists => false })
        .map_err(|e| {
            let mut d = diagnose::diagnose(
                &e,
                &project.project_file.path,
                s,
                templates.prefix.len(),
                &templates.macros,
            );
            d.location = None;
            d.message = format!("in `{s}`: {}", d.message);
            d
        })
}
