//! Models: rendered in parallel, placed (a model's own `config()` may move
//! it, and then the models that ref it render again to point at its final
//! place), and turned into graph nodes with their hooks, contract and
//! inlined ephemeral parents.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use minijinja::context;
use minijinja::value::Value;

use super::functions::Capture;
use super::places::{self, Placement};
use super::templates::Templates;
use super::{compiled, contract, diagnose, ephemeral, RenderOptions};
use crate::diagnostic::{display_path, Code, Diagnostic, Diagnostics, Span};
use crate::nodes::{Node, NodeKind};
use crate::project::config::IncrementalStrategy;
use crate::project::{Materialization, ModelFile, Project};
use crate::query_port::LiveRender;

/// One model's compiled SQL and what rendering it discovered.
pub type Rendered = Result<(String, Capture), Diagnostic>;

/// Every model rendered once, with its place once its `config()` calls
/// apply, and the models that moved.
pub struct FirstPass {
    /// Where each model is.
    pub placement: Placement,
    /// Each model's render, in `project.models` order.
    pub rendered: Vec<Rendered>,
    /// Names of the models whose `config()` moved them.
    pub moved: HashSet<String>,
}

/// Renders every model with the places the folder and YAML config give,
/// then applies their `config()` calls.
pub fn first_pass(project: &Project, opts: &RenderOptions, templates: &Templates) -> FirstPass {
    let mut placement = Placement::from_config(project);
    let all: Vec<usize> = (0..project.models.len()).collect();
    let rendered = render_models(templates, project, opts, &placement, &all);
    let mut moved = HashSet::new();
    for (i, r) in rendered.iter().enumerate() {
        if let Ok((_, cap)) = r {
            if placement.apply(project, i, cap) {
                moved.insert(project.models[i].name.clone());
            }
        }
    }
    FirstPass {
        placement,
        rendered,
        moved,
    }
}

/// The models rendered at their final places, with the templates whose
/// `ref()` points there.
pub struct Placed {
    /// Final places and configs.
    pub placement: Placement,
    /// Each model's render, in `project.models` order.
    pub rendered: Vec<Rendered>,
    /// Templates resolving `ref()` to the final places.
    pub templates: Templates,
}

/// Renders every model and, when some moved themselves, renders again
/// those and the models that ref them, with `ref()` pointing at the final
/// places.
pub fn place(
    project: &Project,
    opts: &RenderOptions,
    templates: Templates,
) -> Result<Placed, Diagnostics> {
    let FirstPass {
        placement,
        mut rendered,
        moved,
    } = first_pass(project, opts, &templates);
    if moved.is_empty() {
        return Ok(Placed {
            placement,
            rendered,
            templates,
        });
    }
    let templates = templates.with_resolver(project, opts, placement.resolver(project))?;
    let redo: Vec<usize> = rendered
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            moved.contains(&project.models[*i].name)
                || matches!(r, Ok((_, cap)) if cap.refs.iter().any(|n| moved.contains(n)))
        })
        .map(|(i, _)| i)
        .collect();
    let again = render_models(&templates, project, opts, &placement, &redo);
    for (slot, r) in redo.into_iter().zip(again) {
        rendered[slot] = r;
    }
    Ok(Placed {
        placement,
        rendered,
        templates,
    })
}

/// Renders the models at `indices` in parallel; results in `indices` order.
fn render_models(
    templates: &Templates,
    project: &Project,
    opts: &RenderOptions,
    placement: &Placement,
    indices: &[usize],
) -> Vec<Rendered> {
    let sources: Vec<(String, Cow<'_, str>, usize)> = indices
        .iter()
        .map(|&i| template_source(templates, &project.models[i]))
        .collect();
    let positions: Vec<usize> = (0..indices.len()).collect();
    crate::parallel::map_in_order(&positions, 256, |&k| -> Rendered {
        let i = indices[k];
        let m = &project.models[i];
        let (name, source, prefix_len) = &sources[k];
        let ctx = model_context(project, opts, placement, i, name);
        let (rendered, live) =
            super::live::discovering(|| templates.render_captured(name, source, ctx));
        match rendered {
            Ok((sql, mut capture)) => {
                capture.live = live;
                Ok((sql, capture))
            }
            Err(e) => {
                let d = diagnose::diagnose(
                    &e,
                    &m.file.path,
                    &m.file.text,
                    *prefix_len,
                    &templates.macros,
                );
                Err(if live { d.with_note(DISCOVERY_NOTE) } else { d })
            }
        }
    })
}

/// Said under an error of a model that queries the warehouse: its first
/// render is dbt's parse, where queries give nothing.
const DISCOVERY_NOTE: &str = "lake renders every model once with `execute` false to find the graph, as dbt parses (`run_query` and `load_result` give none then), and again before building it: guard what reads a query's rows with {% if execute %}";

/// What model `i`'s template sees: `this`, `model`, and what
/// `is_incremental()` needs.
fn model_context(
    project: &Project,
    opts: &RenderOptions,
    placement: &Placement,
    i: usize,
    name: &str,
) -> Value {
    let m = &project.models[i];
    let relation = &placement.relations[i];
    context! {
        this => places::this(relation),
        model => context! {
            name => m.name.clone(),
            unique_id => format!("model.{}.{}", project.name, m.name),
            path => name.to_string(),
            schema => relation.schema.clone(),
        },
        __lake_exists => opts.existing.contains(&(relation.schema.clone(), relation.identifier.clone())),
        __lake_static_incremental => m.config.materialized == Materialization::Incremental,
        __lake_full_refresh => m.config.full_refresh.unwrap_or(opts.full_refresh),
    }
}

/// A model's template name and text, and how long the macro import put
/// before it is. Importing the macros costs a template evaluation per
/// render: only models that mention a macro by name pay it.
fn template_source<'m>(templates: &Templates, m: &'m ModelFile) -> (String, Cow<'m, str>, usize) {
    let text = m.file.text.as_str();
    let name = display_path(&m.file.path);
    let parts = jinja_parts(text);
    let names_one_of = |names: &[String]| parts.iter().any(|p| names_a_macro(p, names));
    let builtin = names_one_of(&templates.builtin_names);
    let own = names_one_of(&templates.macros.names);
    let prefix = match (builtin, own) {
        (false, false) => return (name, text.into(), 0),
        (true, true) => templates.prefix.clone(),
        (true, false) => templates.builtin_prefix.clone(),
        (false, true) => templates.project_prefix.clone(),
    };
    (name, format!("{prefix}{text}").into(), prefix.len())
}

/// The Jinja parts of `text` (inside `{{ }}` and `{% %}`): only they can
/// call a macro, and SQL around them may say `cast(` or `date` freely.
fn jinja_parts(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{']) {
        let after = &rest[open + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                rest = after;
                continue;
            }
        };
        let end = after.find(close).unwrap_or(after.len());
        parts.push(&after[1..end.max(1)]);
        rest = &after[end.min(after.len())..];
    }
    parts
}

/// Whether a word of `text` is `dispatch` or one of `names` (sorted, as
/// the macro templates export them): one pass over the text, however many
/// macros there are (a search per name was 15% of compiling 10,000 models).
pub fn names_a_macro(text: &str, names: &[String]) -> bool {
    debug_assert!(names.is_sorted());
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .any(|w| w == "dispatch" || names.binary_search_by(|n| n.as_str().cmp(w)).is_ok())
}

/// The graph nodes of the rendered models, ephemeral parents inlined.
pub fn model_nodes(
    project: &Project,
    opts: &RenderOptions,
    templates: &Arc<Templates>,
    placement: &Placement,
    rendered: Vec<Rendered>,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut nodes = Vec::with_capacity(project.models.len());
    let mut ephemeral_sql: HashMap<String, String> = HashMap::new();
    let mut refs: HashMap<String, Vec<String>> = HashMap::new();
    for (i, (m, r)) in project.models.iter().zip(rendered).enumerate() {
        let (sql, cap) = match r {
            // A model that queries may hold all its SQL under `{% if execute %}`.
            Ok((sql, cap)) if !cap.live && !compiled::has_statement(&sql) => {
                diags.push(empty_model(m));
                continue;
            }
            Ok(ok) => ok,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        // Only ephemeral SQL is needed again, to inline into children.
        if placement.configs[i].materialized == Materialization::Ephemeral {
            ephemeral_sql.insert(m.name.clone(), sql.clone());
        }
        let depends_on = places::dependencies(project, &cap);
        let live = if cap.live {
            match live_render(templates, project, opts, placement, i, &cap) {
                Ok(live) => Some(live),
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            }
        } else {
            None
        };
        refs.insert(m.name.clone(), cap.refs);
        let model = RenderedModel {
            file: m,
            sql,
            depends_on,
            relation: &placement.relations[i],
        };
        let mut config = placement.configs[i].clone();
        render_hooks(templates, &model, &mut config.pre_hook, diags);
        render_hooks(templates, &model, &mut config.post_hook, diags);
        if let Some(mut node) = model.into_node(project, config, diags) {
            node.live = live;
            nodes.push(node);
        }
    }
    inline_ephemerals(&mut nodes, &ephemeral_sql, &refs);
    nodes
}

/// Model `i`'s render at run time, for a model whose first render read
/// `execute` or asked a query; refused where lake needs the model's SQL
/// before the run.
fn live_render(
    templates: &Arc<Templates>,
    project: &Project,
    opts: &RenderOptions,
    placement: &Placement,
    i: usize,
    found: &Capture,
) -> Result<LiveRender, Diagnostic> {
    let m = &project.models[i];
    refuse_live(m, &placement.configs[i])?;
    let (name, source, prefix_len) = template_source(templates, m);
    let source = source.into_owned();
    let ctx = model_context(project, opts, placement, i, &name);
    let found = found.clone();
    let templates = templates.clone();
    let (path, text) = (m.file.path.clone(), m.file.text.clone());
    Ok(LiveRender::new(move |port| {
        let rendered = super::live::answering(port, found.clone(), || {
            templates.render_captured(&name, &source, ctx.clone())
        });
        let (sql, cap) = rendered.map_err(|e| {
            diagnose::diagnose(&e, &path, &text, prefix_len, &templates.macros).render_plain()
        })?;
        match super::live::unseen_dependency(&found, &cap) {
            Some(call) => Err(Diagnostic::new(
                Code::UnknownRef,
                super::live::unseen_message(&call),
            )
            .at(
                &path,
                &text,
                call_span(&text, &call),
                "reached only when `execute` is true",
            )
            .with_help(super::live::depends_on_help(&call))
            .render_plain()),
            None => Ok(sql),
        }
    }))
}

/// Where the model's text makes `call` (`ref('a')`), in either quotes.
fn call_span(text: &str, call: &str) -> Option<Span> {
    [call.to_string(), call.replace('\'', "\"")]
        .iter()
        .find_map(|c| {
            text.find(c.as_str())
                .map(|at| Span::Bytes(at..at + c.len()))
        })
}

/// L013 for the materializations whose SQL lake needs before the run.
fn refuse_live(m: &ModelFile, config: &crate::project::NodeConfig) -> Result<(), Diagnostic> {
    let what = match config.materialized {
        Materialization::Ephemeral => {
            "an ephemeral model (it is inlined into its children before the run)"
        }
        Materialization::Load => "a `load` model",
        Materialization::Incremental if config.strategy() == IncrementalStrategy::Microbatch => {
            "a microbatch model (its batches are planned from its compiled SQL)"
        }
        _ => return Ok(()),
    };
    Err(Diagnostic::new(
        Code::Unsupported,
        format!("lake does not support queries while rendering (`execute`, `run_query`, `statement`) in {what} yet: `{}`", m.name),
    )
    .at(&m.file.path, &m.file.text, None, "")
    .with_help("make it a table, view or incremental model, or compute the values in SQL"))
}

/// A model that rendered, before its hooks and contract are resolved.
struct RenderedModel<'a> {
    file: &'a ModelFile,
    sql: String,
    depends_on: Vec<String>,
    relation: &'a crate::nodes::Relation,
}

impl RenderedModel<'_> {
    /// The node, or `None` (with the reasons in `diags`) when its enforced
    /// contract cannot be checked.
    fn into_node(
        self,
        project: &Project,
        config: crate::project::NodeConfig,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        let m = self.file;
        let contract = match contract::resolve(project, m, &config) {
            Ok(c) => c,
            Err(problems) => {
                problems.into_iter().for_each(|d| diags.push(d));
                return None;
            }
        };
        let mut fqn = m.folders.clone();
        fqn.push(m.name.clone());
        Some(Node {
            unique_id: format!("model.{}.{}", project.name, m.name),
            name: m.name.clone(),
            kind: NodeKind::Model,
            path: m.file.path.clone(),
            fqn,
            relation: Some(self.relation.clone()),
            config,
            compiled_sql: Some(self.sql),
            checksum: Some(m.checksum.clone()),
            depends_on: self.depends_on,
            description: m.description.clone(),
            columns: m.columns.clone(),
            attached_node: None,
            relationship: None,
            seed_types: Default::default(),
            stored_failures: None,
            live: None,
            contract,
        })
    }
}

/// Pre- and post-hooks are Jinja too, with the model's `this`.
fn render_hooks(
    templates: &Templates,
    model: &RenderedModel<'_>,
    hooks: &mut [String],
    diags: &mut Diagnostics,
) {
    let m = model.file;
    for h in hooks.iter_mut() {
        let source = format!("{}{h}", templates.prefix);
        let ctx = context! { this => places::this(model.relation) };
        match templates.render_str(&source, ctx) {
            Ok(out) => *h = out,
            Err(e) => {
                let mut d =
                    diagnose::diagnose(&e, &m.file.path, &m.file.text, 0, &templates.macros);
                d.message = format!("in a pre/post hook of `{}`: {}", m.name, d.message);
                if let Some(l) = d.location.as_mut() {
                    l.span = None;
                }
                diags.push(d);
            }
        }
    }
}

/// A model with no SQL would fail only at run time, with DuckDB's parser
/// error about a statement the user never wrote: say so at compile time.
fn empty_model(m: &ModelFile) -> Diagnostic {
    let text = &m.file.text;
    let what = if text.trim().is_empty() {
        "the file is empty"
    } else {
        "it renders to nothing but whitespace and comments"
    };
    let span = (!text.trim().is_empty()).then(|| {
        let start = text.len() - text.trim_start().len();
        let end = text[start..].find('\n').map_or(text.len(), |e| start + e);
        Span::Bytes(start..end)
    });
    Diagnostic::new(
        Code::EmptyModel,
        format!("model `{}` has no SQL: {what}", m.name),
    )
    .at(
        &m.file.path,
        text,
        span,
        "no select statement in this model",
    )
    .with_help("write the model's select statement, or delete the file if the model is not needed")
}

/// Prepends, to every model that refs ephemeral models, their SQL as CTEs.
fn inline_ephemerals(
    nodes: &mut [Node],
    sql: &HashMap<String, String>,
    refs: &HashMap<String, Vec<String>>,
) {
    let ephemeral: HashSet<String> = nodes
        .iter()
        .filter(|n| n.config.materialized == Materialization::Ephemeral)
        .map(|n| n.name.clone())
        .collect();
    if ephemeral.is_empty() {
        return;
    }
    for n in nodes.iter_mut() {
        let mut order = Vec::new();
        ephemeral_parents(&n.name, refs, &ephemeral, &mut HashSet::new(), &mut order);
        if order.is_empty() {
            continue;
        }
        let ctes: Vec<(String, String)> = order
            .iter()
            .map(|e| {
                (
                    ephemeral::cte_name(e),
                    sql.get(e).cloned().unwrap_or_default(),
                )
            })
            .collect();
        if let Some(s) = n.compiled_sql.as_mut() {
            *s = ephemeral::inject_ctes(s, &ctes);
        }
        if let Some(live) = n.live.take() {
            n.live = Some(live.map_sql(move |s| ephemeral::inject_ctes(&s, &ctes)));
        }
    }
}

/// The ephemeral models `name` reads, directly or through other ephemeral
/// models, parents before children.
fn ephemeral_parents(
    name: &str,
    refs: &HashMap<String, Vec<String>>,
    ephemeral: &HashSet<String>,
    seen: &mut HashSet<String>,
    out: &mut Vec<String>,
) {
    for r in refs.get(name).into_iter().flatten() {
        if ephemeral.contains(r) && seen.insert(r.clone()) {
            ephemeral_parents(r, refs, ephemeral, seen, out);
            out.push(r.clone());
        }
    }
}
