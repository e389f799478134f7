//! Rendering, the second pipeline stage: every model, singular test and
//! generic test becomes compiled SQL, and every `ref()`/`source()` call
//! becomes a dependency. Macros from `macros/` are callable everywhere,
//! as in dbt. Templates render in parallel; the output order is the input
//! order, so results are deterministic.

mod compiled;
mod contract;
mod diagnose;
mod ephemeral;
mod functions;
mod generic_tests;
mod relation;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{context, Environment, UndefinedBehavior};

pub use compiled::error_location;
pub use diagnose::MacroMap;
pub use functions::{env_var, LakeError};
use functions::{Capture, Resolver};
use relation::JinjaRelation;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::nodes::{Node, NodeKind, Relation};
use crate::project::{Materialization, ModelFile, NodeConfig, Project, TestedNode};

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
}

/// Renders the whole project into graph nodes, or every problem found.
pub fn render_project(project: &Project, opts: &RenderOptions) -> Result<Vec<Node>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let macros = combine_macros(project);
    let static_relations: Vec<Relation> = project
        .models
        .iter()
        .map(|m| model_relation(project, m, &m.config))
        .collect();
    let mut resolver = Arc::new(build_resolver(project, &static_relations));
    let mut env = build_env(project, opts, &macros, resolver.clone())?;
    let names = export_names(&env, &mut diags);
    let prefix = import_prefix(&names);
    let macro_map = MacroMap {
        names: names.clone(),
        ..macros.clone()
    };

    let all: Vec<usize> = (0..project.models.len()).collect();
    let mut rendered = render_models(
        &env,
        project,
        opts,
        &static_relations,
        &prefix,
        &all,
        &macro_map,
    );

    // A model may move itself with config(schema=..)/config(alias=..); re-render
    // the models that ref it so they point at the final place.
    let mut finals: Vec<Relation> = static_relations.clone();
    let mut configs: Vec<NodeConfig> = project.models.iter().map(|m| m.config.clone()).collect();
    let mut changed = HashSet::new();
    for (i, r) in rendered.iter().enumerate() {
        if let Ok((_, cap)) = r {
            apply_capture(&mut configs[i], cap);
            finals[i] = model_relation(project, &project.models[i], &configs[i]);
            if finals[i] != static_relations[i]
                || configs[i].materialized != project.models[i].config.materialized
            {
                changed.insert(project.models[i].name.clone());
            }
        }
    }
    if !changed.is_empty() {
        resolver = Arc::new(build_resolver_with(project, &finals, &configs));
        env = build_env(project, opts, &macros, resolver.clone())?;
        let redo: Vec<usize> = rendered
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                changed.contains(&project.models[*i].name)
                    || matches!(r, Ok((_, cap)) if cap.refs.iter().any(|n| changed.contains(n)))
            })
            .map(|(i, _)| i)
            .collect();
        let again = render_models(&env, project, opts, &finals, &prefix, &redo, &macro_map);
        for (slot, r) in redo.into_iter().zip(again) {
            rendered[slot] = r;
        }
    }

    let mut nodes = Vec::with_capacity(
        project.models.len()
            + project.seeds.len()
            + project.sources.len()
            + project.singular_tests.len()
            + project.generic_tests.len(),
    );
    let id = |kind: &str, name: &str| format!("{kind}.{}.{name}", project.name);
    let mut model_sql: HashMap<String, String> = HashMap::new();
    let mut model_refs: HashMap<String, Vec<String>> = HashMap::new();
    for (i, (m, r)) in project.models.iter().zip(rendered).enumerate() {
        let (sql, cap) = match r {
            Ok(ok) => ok,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        if !compiled::has_statement(&sql) {
            diags.push(empty_model(m));
            continue;
        }
        // Only ephemeral SQL is needed again, to inline into children.
        if configs[i].materialized == Materialization::Ephemeral {
            model_sql.insert(m.name.clone(), sql.clone());
        }
        let depends_on = dependencies(project, &cap);
        model_refs.insert(m.name.clone(), cap.refs);
        let mut config = configs[i].clone();
        if !config.pre_hook.is_empty() || !config.post_hook.is_empty() {
            // Hooks are Jinja too, with the model's `this`.
            let this = Value::from_object(JinjaRelation {
                relation: finals[i].clone(),
                cte: None,
                external: None,
            });
            let mut render_hooks = |hooks: &mut Vec<String>| {
                for h in hooks.iter_mut() {
                    match env.render_str(&format!("{prefix}{h}"), context! { this => this.clone() })
                    {
                        Ok(out) => *h = out,
                        Err(e) => {
                            let mut d =
                                diagnose::diagnose(&e, &m.file.path, &m.file.text, 0, &macro_map);
                            d.message =
                                format!("in a pre/post hook of `{}`: {}", m.name, d.message);
                            if let Some(l) = d.location.as_mut() {
                                l.span = None;
                            }
                            diags.push(d);
                        }
                    }
                }
            };
            render_hooks(&mut config.pre_hook);
            render_hooks(&mut config.post_hook);
        }
        let contract = match contract::resolve(project, m, &config) {
            Ok(c) => c,
            Err(problems) => {
                for d in problems {
                    diags.push(d);
                }
                continue;
            }
        };
        let mut fqn = m.folders.clone();
        fqn.push(m.name.clone());
        nodes.push(Node {
            unique_id: id("model", &m.name),
            name: m.name.clone(),
            kind: NodeKind::Model,
            path: m.file.path.clone(),
            fqn,
            relation: Some(finals[i].clone()),
            config,
            compiled_sql: Some(sql),
            checksum: Some(m.checksum.clone()),
            depends_on,
            description: m.description.clone(),
            columns: m.columns.clone(),
            attached_node: None,
            contract,
        });
    }
    inline_ephemerals(&mut nodes, &model_sql, &model_refs);

    for s in &project.seeds {
        if let Some(d) = contract::refuse_on_seed(&s.name, &s.config, &s.path) {
            diags.push(d);
        }
        let mut fqn = s.folders.clone();
        fqn.push(s.name.clone());
        nodes.push(Node {
            unique_id: id("seed", &s.name),
            name: s.name.clone(),
            kind: NodeKind::Seed,
            path: s.path.clone(),
            fqn,
            relation: Some(seed_relation(project, s)),
            config: s.config.clone(),
            compiled_sql: None,
            checksum: Some(s.checksum.clone()),
            depends_on: Vec::new(),
            description: s.description.clone(),
            columns: s.columns.clone(),
            attached_node: None,
            contract: None,
        });
    }
    for src in &project.sources {
        nodes.push(Node {
            unique_id: id("source", &format!("{}.{}", src.source_name, src.name)),
            name: format!("{}.{}", src.source_name, src.name),
            kind: NodeKind::Source,
            path: src.defined_in.clone(),
            fqn: vec![src.source_name.clone(), src.name.clone()],
            relation: Some(source_relation(project, src)),
            config: NodeConfig {
                tags: src.tags.clone(),
                ..NodeConfig::default()
            },
            compiled_sql: None,
            checksum: None,
            depends_on: Vec::new(),
            description: src.description.clone(),
            columns: src.columns.clone(),
            attached_node: None,
            contract: None,
        });
    }

    // Singular tests: SQL files returning failing rows.
    for t in &project.singular_tests {
        let name = t
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = crate::diagnostic::display_path(&t.path);
        let source = format!("{prefix}{}", t.text);
        let result = env
            .template_from_named_str(&shown, &source)
            .and_then(|tmpl| tmpl.render_captured(context! { __lake_exists => false }))
            .map(|c| {
                let cap = c
                    .state()
                    .get_extension::<Capture>()
                    .cloned()
                    .unwrap_or_default();
                (c.into_output(), cap)
            });
        match result {
            Ok((sql, cap)) => {
                let deps = dependencies(project, &cap);
                nodes.push(Node {
                    unique_id: id("test", &name),
                    name: name.clone(),
                    kind: NodeKind::Test,
                    path: t.path.clone(),
                    fqn: vec![name.clone()],
                    relation: None,
                    config: NodeConfig::default(),
                    compiled_sql: Some(sql),
                    checksum: None,
                    attached_node: deps.first().cloned(),
                    depends_on: deps,
                    description: None,
                    columns: Vec::new(),
                    contract: None,
                });
            }
            Err(e) => diags.push(diagnose::diagnose(
                &e,
                &t.path,
                &t.text,
                prefix.len(),
                &macro_map,
            )),
        }
    }

    // Generic tests from properties files.
    for t in &project.generic_tests {
        let (attached_id, relation) = match &t.attached_to {
            TestedNode::Node(n) => (
                node_id(project, n),
                resolver.nodes.get(n).map(render_relation),
            ),
            TestedNode::Source(s, tb) => (
                id("source", &format!("{s}.{tb}")),
                resolver
                    .sources
                    .get(&(s.clone(), tb.clone()))
                    .map(render_relation),
            ),
        };
        let Some(relation) = relation else { continue };
        let mut deps = vec![attached_id.clone()];
        let mut to_relation = None;
        if let Some(to) = t.args.get("to").and_then(|v| v.as_str()) {
            let expr = format!("{{{{ {to} }}}}");
            let shown = crate::diagnostic::display_path(&t.defined_in);
            let r = env
                .template_from_named_str(&shown, &expr)
                .and_then(|tmpl| tmpl.render_captured(()))
                .map(|c| {
                    (
                        c.state()
                            .get_extension::<Capture>()
                            .cloned()
                            .unwrap_or_default(),
                        c.into_output(),
                    )
                });
            match r {
                Ok((cap, out)) => {
                    deps.extend(dependencies(project, &cap));
                    to_relation = Some(out);
                }
                Err(e) => {
                    let text = std::fs::read_to_string(project.root.join(&t.defined_in))
                        .unwrap_or_default();
                    let mut d = diagnose::diagnose(&e, &t.defined_in, &text, 0, &macro_map);
                    d.message = format!("relationships test `{}`: {}", t.name, d.message);
                    if let Some(loc) = d.location.as_mut() {
                        loc.span = text
                            .find(to)
                            .map(|s| crate::diagnostic::Span::Bytes(s..s + to.len()));
                    }
                    diags.push(d);
                    continue;
                }
            }
        }
        deps.sort();
        deps.dedup();
        nodes.push(Node {
            unique_id: id("test", &t.name),
            name: t.name.clone(),
            kind: NodeKind::Test,
            path: t.defined_in.clone(),
            fqn: vec![t.name.clone()],
            relation: None,
            config: NodeConfig::default(),
            compiled_sql: Some(generic_tests::test_sql(
                t,
                &relation,
                to_relation.as_deref(),
            )),
            checksum: None,
            depends_on: deps,
            description: None,
            columns: Vec::new(),
            attached_node: Some(attached_id),
            contract: None,
        });
    }
    diags.into_result(nodes)
}

/// Renders free-standing SQL (project hooks, `lake query`) with the
/// project's macros, `ref()` and `source()`.
pub fn render_snippets(
    project: &Project,
    opts: &RenderOptions,
    snippets: &[String],
) -> Result<Vec<String>, Diagnostics> {
    let macros = combine_macros(project);
    let relations: Vec<Relation> = project
        .models
        .iter()
        .map(|m| model_relation(project, m, &m.config))
        .collect();
    let env = build_env(
        project,
        opts,
        &macros,
        Arc::new(build_resolver(project, &relations)),
    )?;
    let mut diags = Diagnostics::default();
    let names = export_names(&env, &mut diags);
    let prefix = import_prefix(&names);
    let macro_map = MacroMap { names, ..macros };
    let mut out = Vec::new();
    for s in snippets {
        match env.render_str(&format!("{prefix}{s}"), context! { __lake_exists => false }) {
            Ok(sql) => out.push(sql),
            Err(e) => {
                let mut d =
                    diagnose::diagnose(&e, &project.project_file.path, s, prefix.len(), &macro_map);
                d.location = None;
                d.message = format!("in `{s}`: {}", d.message);
                diags.push(d);
            }
        }
    }
    diags.into_result(out)
}

type RenderResult = Result<(String, Capture), Diagnostic>;

/// Renders the models at `indices` in parallel; results in `indices` order.
fn render_models(
    env: &Environment<'_>,
    project: &Project,
    opts: &RenderOptions,
    relations: &[Relation],
    prefix: &str,
    indices: &[usize],
    macros: &MacroMap,
) -> Vec<RenderResult> {
    // Importing the macros costs a template evaluation per render: only
    // models that mention a macro by name pay it.
    let prefixes: Vec<&str> = indices
        .iter()
        .map(|&i| {
            let text = &project.models[i].file.text;
            if macros.names.iter().any(|n| text.contains(n.as_str())) {
                prefix
            } else {
                ""
            }
        })
        .collect();
    let sources: Vec<std::borrow::Cow<'_, str>> = indices
        .iter()
        .zip(&prefixes)
        .map(|(&i, p)| {
            let text = project.models[i].file.text.as_str();
            if p.is_empty() {
                text.into()
            } else {
                format!("{p}{text}").into()
            }
        })
        .collect();
    let names: Vec<String> = indices
        .iter()
        .map(|&i| crate::diagnostic::display_path(&project.models[i].file.path))
        .collect();
    let positions: Vec<usize> = (0..indices.len()).collect();
    crate::parallel::map_in_order(&positions, 256, |&k| -> RenderResult {
        let i = indices[k];
        let m = &project.models[i];
        let rel = JinjaRelation {
            relation: relations[i].clone(),
            cte: None,
            external: None,
        };
        let ctx = context! {
            this => Value::from_object(rel),
            model => context! {
                name => m.name.clone(),
                unique_id => format!("model.{}.{}", project.name, m.name),
                path => names[k].clone(),
                schema => relations[i].schema.clone(),
            },
            __lake_exists => opts.existing.contains(&(relations[i].schema.clone(), relations[i].identifier.clone())),
            __lake_static_incremental => m.config.materialized == Materialization::Incremental,
            __lake_full_refresh => m.config.full_refresh.unwrap_or(opts.full_refresh),
        };
        env.template_from_named_str(&names[k], &sources[k])
            .and_then(|tmpl| tmpl.render_captured(ctx))
            .map(|c| {
                let cap = c
                    .state()
                    .get_extension::<Capture>()
                    .cloned()
                    .unwrap_or_default();
                (c.into_output(), cap)
            })
            .map_err(|e| {
                diagnose::diagnose(&e, &m.file.path, &m.file.text, prefixes[k].len(), macros)
            })
    })
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

fn apply_capture(config: &mut NodeConfig, cap: &Capture) {
    for (k, v) in &cap.config {
        // Validated inside config() already.
        let _ = config.apply(k, v);
    }
}

fn dependencies(project: &Project, cap: &Capture) -> Vec<String> {
    let mut deps: Vec<String> = cap
        .refs
        .iter()
        .map(|n| node_id(project, n))
        .chain(
            cap.sources
                .iter()
                .map(|(s, t)| format!("source.{}.{s}.{t}", project.name)),
        )
        .collect();
    deps.sort();
    deps.dedup();
    deps
}

/// Unique id of the model or seed that `ref(name)` points at.
fn node_id(project: &Project, name: &str) -> String {
    let kind = if project.seeds.iter().any(|s| s.name == name) {
        "seed"
    } else {
        "model"
    };
    format!("{kind}.{}.{name}", project.name)
}

fn model_relation(project: &Project, m: &ModelFile, config: &NodeConfig) -> Relation {
    Relation {
        database: project.target.database.clone(),
        schema: config
            .schema
            .clone()
            .or_else(|| m.folders.first().cloned())
            .unwrap_or_else(|| project.target.schema.clone()),
        identifier: config.alias.clone().unwrap_or_else(|| m.name.clone()),
    }
}

fn seed_relation(project: &Project, s: &crate::project::SeedFile) -> Relation {
    Relation {
        database: project.target.database.clone(),
        schema: s
            .config
            .schema
            .clone()
            .unwrap_or_else(|| project.target.schema.clone()),
        identifier: s.config.alias.clone().unwrap_or_else(|| s.name.clone()),
    }
}

fn source_relation(project: &Project, s: &crate::project::SourceTable) -> Relation {
    Relation {
        database: s
            .database
            .clone()
            .unwrap_or_else(|| project.target.database.clone()),
        schema: s.schema.clone(),
        identifier: s.identifier.clone(),
    }
}

/// What a relation renders as in SQL (the object's own `render`).
fn render_relation(r: &Value) -> String {
    r.to_string()
}

fn build_resolver(project: &Project, relations: &[Relation]) -> Resolver {
    let configs: Vec<NodeConfig> = project.models.iter().map(|m| m.config.clone()).collect();
    build_resolver_with(project, relations, &configs)
}

fn build_resolver_with(
    project: &Project,
    relations: &[Relation],
    configs: &[NodeConfig],
) -> Resolver {
    let mut r = Resolver {
        vars: project.vars.clone(),
        ..Resolver::default()
    };
    for ((m, rel), cfg) in project.models.iter().zip(relations).zip(configs) {
        let cte =
            (cfg.materialized == Materialization::Ephemeral).then(|| ephemeral::cte_name(&m.name));
        r.nodes.insert(
            m.name.clone(),
            Value::from_object(JinjaRelation {
                relation: rel.clone(),
                cte,
                external: None,
            }),
        );
    }
    for s in &project.seeds {
        r.nodes.insert(
            s.name.clone(),
            Value::from_object(JinjaRelation {
                relation: seed_relation(project, s),
                cte: None,
                external: None,
            }),
        );
    }
    for s in &project.sources {
        r.sources.insert(
            (s.source_name.clone(), s.name.clone()),
            Value::from_object(JinjaRelation {
                relation: source_relation(project, s),
                cte: None,
                external: s.external_location.clone(),
            }),
        );
    }
    r
}

/// Concatenates every macro file into one template so macros can call each
/// other across files, remembering where each file starts.
fn combine_macros(project: &Project) -> MacroMap {
    let mut files = Vec::new();
    let mut line = 1;
    for m in &project.macros {
        files.push((line, m.path.clone(), m.text.clone()));
        line += m.text.matches('\n').count() + usize::from(!m.text.ends_with('\n'));
    }
    MacroMap {
        files,
        names: Vec::new(),
    }
}

fn build_env(
    project: &Project,
    opts: &RenderOptions,
    macros: &MacroMap,
    resolver: Arc<Resolver>,
) -> Result<Environment<'static>, Diagnostics> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    // Python string/list/dict methods (`.startswith`, `.upper()`, `.items()`),
    // which dbt macros use everywhere.
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    // SQL is never escaped, whatever the template's file name says (minijinja
    // would JSON-escape templates named *.yml, like relationships targets).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    functions::register(&mut env, resolver);
    let t = &project.target;
    env.add_global(
        "target",
        context! {
            name => t.name.clone(),
            schema => t.schema.clone(),
            database => t.database.clone(),
            type => "ducklake",
            catalog_type => t.catalog_type(),
            threads => t.threads,
            profile_name => t.profile.clone(),
        },
    );
    env.add_global("run_started_at", opts.run_started_at.clone());
    env.add_global("project_name", project.name.clone());
    env.add_global("project_root", project.root.display().to_string());
    if !macros.files.is_empty() {
        let mut text = String::new();
        for (_, _, t) in &macros.files {
            text.push_str(t);
            if !t.ends_with('\n') {
                text.push('\n');
            }
        }
        if let Err(e) = env.add_template_owned(diagnose::MACROS_TEMPLATE, text) {
            let (path, text) = (PathBuf::from(""), String::new());
            return Err(diagnose::diagnose(&e, &path, &text, 0, macros).into());
        }
    }
    Ok(env)
}

/// Names of all macros, found by evaluating the macro template once.
fn export_names(env: &Environment<'_>, diags: &mut Diagnostics) -> Vec<String> {
    let Ok(tmpl) = env.get_template(diagnose::MACROS_TEMPLATE) else {
        return Vec::new();
    };
    match tmpl.render_captured(()) {
        Ok(c) => {
            let mut names: Vec<String> = c
                .state()
                .exports()
                .into_iter()
                .map(str::to_string)
                .collect();
            names.sort();
            names
        }
        Err(e) => {
            diags.push(
                Diagnostic::new(Code::RenderError, format!("macros cannot be loaded: {e}"))
                    .with_help("macro files should hold only {% macro %} blocks"),
            );
            Vec::new()
        }
    }
}

/// `{% from "__lake_macros__" import a, b %}` with no newline, so line
/// numbers in models stay true.
fn import_prefix(names: &[String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    format!(
        "{{% from \"{}\" import {} %}}",
        diagnose::MACROS_TEMPLATE,
        names.join(", ")
    )
}

/// Prepends, to every model that refs ephemeral models, their SQL as CTEs.
fn inline_ephemerals(
    nodes: &mut [Node],
    sql: &HashMap<String, String>,
    refs: &HashMap<String, Vec<String>>,
) {
    let ephemeral: HashSet<&str> = nodes
        .iter()
        .filter(|n| n.config.materialized == Materialization::Ephemeral)
        .map(|n| n.name.as_str())
        .collect::<HashSet<_>>();
    if ephemeral.is_empty() {
        return;
    }
    let ephemeral: HashSet<String> = ephemeral.into_iter().map(str::to_string).collect();
    fn collect(
        name: &str,
        refs: &HashMap<String, Vec<String>>,
        eph: &HashSet<String>,
        seen: &mut HashSet<String>,
        out: &mut Vec<String>,
    ) {
        for r in refs.get(name).into_iter().flatten() {
            if eph.contains(r) && seen.insert(r.clone()) {
                collect(r, refs, eph, seen, out);
                out.push(r.clone());
            }
        }
    }
    for n in nodes.iter_mut() {
        let mut order = Vec::new();
        collect(&n.name, refs, &ephemeral, &mut HashSet::new(), &mut order);
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
    }
}
