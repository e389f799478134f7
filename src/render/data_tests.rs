//! Data tests as graph nodes: singular tests (SQL files returning failing
//! rows, rendered like models) and generic tests from properties files
//! (`unique`, `not_null`, ... on a model, seed or source).

use indexmap::IndexMap;
use minijinja::context;

use super::places::{dependencies, failures_relation, node_id};
use super::templates::Templates;
use super::{diagnose, generic_tests};
use crate::diagnostic::{display_path, Diagnostic, Diagnostics, Span};
use crate::nodes::{Node, NodeKind, Relationship, StoredFailures};
use crate::project::discovery::failures_identifier;
use crate::project::test_config::StoreAs;
use crate::project::{GenericTest, NodeConfig, Project, SourceFile, TestConfig, TestedNode};
use serde_json::Value as Json;

/// Nodes of the singular tests that render; the others' problems go to `diags`.
/// `store`: `--store-failures`, for tests whose config does not say.
pub fn singular(
    project: &Project,
    templates: &Templates,
    store: bool,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    for t in &project.singular_tests {
        match singular_test(project, templates, t, store) {
            Ok(Some(node)) => nodes.push(node),
            Ok(None) => {}
            Err(d) => diags.push(d),
        }
    }
    nodes
}

/// A singular test's node, configured by the `tests:` tree and its own
/// `{{ config() }}` calls; `None` when that config disables it.
fn singular_test(
    project: &Project,
    templates: &Templates,
    t: &SourceFile,
    store: bool,
) -> Result<Option<Node>, Diagnostic> {
    let name = t
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let source = format!("{}{}", templates.prefix, t.text);
    let (sql, cap) = templates
        .render_captured(
            &display_path(&t.path),
            &source,
            context! { __lake_exists => false, __lake_test => true },
        )
        .map_err(|e| {
            diagnose::diagnose(
                &e,
                &t.path,
                &t.text,
                templates.prefix.len(),
                &templates.macros,
            )
        })?;
    let own: IndexMap<String, Json> = cap.config.iter().cloned().collect();
    let config = project.test_tree.config_for(&t.path, &own);
    if !config.enabled {
        return Ok(None);
    }
    let deps = dependencies(project, &cap);
    let mut node = test_node(
        project,
        &name,
        &t.path,
        sql,
        deps.first().cloned(),
        deps,
        None,
    );
    node.stored_failures = stored_failures(project, &name, &config, store);
    node.config.test = Some(config);
    Ok(Some(node))
}

/// Nodes of the generic tests whose node exists (a test of a disabled
/// model is dropped with it); problems go to `diags`.
/// `store`: `--store-failures`, for tests whose config does not say.
pub fn generic(
    project: &Project,
    templates: &Templates,
    store: bool,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    for t in &project.generic_tests {
        match generic_test(project, templates, t, store) {
            Ok(Some(node)) => nodes.push(node),
            Ok(None) => {}
            Err(d) => diags.push(d),
        }
    }
    nodes
}

fn generic_test(
    project: &Project,
    templates: &Templates,
    t: &GenericTest,
    store: bool,
) -> Result<Option<Node>, Diagnostic> {
    let resolver = &templates.resolver;
    let (attached_id, relation) = match &t.attached_to {
        TestedNode::Node(n) => (node_id(project, n), resolver.nodes.get(n)),
        TestedNode::Source(s, tb) => (
            format!("source.{}.{s}.{tb}", project.name),
            resolver.sources.get(&(s.clone(), tb.clone())),
        ),
    };
    // What a relation renders as in SQL (the object's own `render`).
    let Some(relation) = relation.map(|r| r.to_string()) else {
        return Ok(None);
    };
    let mut deps = vec![attached_id.clone()];
    let to_relation = match t.args.get("to").and_then(|v| v.as_str()) {
        Some(to) => {
            let label = format!("relationships test `{}`", t.name);
            let expr = format!("{{{{ {to} }}}}");
            let (sql, mut to_deps) = render_property(project, templates, t, &label, &expr, to)?;
            deps.append(&mut to_deps);
            Some(sql)
        }
        None => None,
    };
    let config = project.test_tree.config_for(&t.defined_in, &t.config);
    if !config.enabled {
        return Ok(None);
    }
    // dbt tests a `where`-filtered relation in place of the relation, the
    // filter rendered like the test's other properties.
    let relation = match &config.where_sql {
        Some(w) => {
            let label = format!("`where` of data test `{}`", t.name);
            let (w, mut where_deps) = render_property(project, templates, t, &label, w, w)?;
            deps.append(&mut where_deps);
            format!("(select * from {relation} where {w}) dbt_subquery")
        }
        None => relation,
    };
    deps.sort();
    deps.dedup();
    let sql = generic_tests::test_sql(t, &relation, to_relation.as_deref());
    let relationship = to_relation.map(|parent| generic_tests::relationship(t, parent));
    let mut node = test_node(
        project,
        &t.name,
        &t.defined_in,
        sql,
        Some(attached_id),
        deps,
        relationship,
    );
    node.stored_failures = stored_failures(project, &failures_identifier(t), &config, store);
    node.config.test = Some(config);
    Ok(Some(node))
}

/// Where a test keeps its failing rows, when its config (or, where it is
/// silent, `--store-failures`: `store`) says to.
fn stored_failures(
    project: &Project,
    identifier: &str,
    config: &TestConfig,
    store: bool,
) -> Option<StoredFailures> {
    let kind = config.stored_as(store)?;
    Some(StoredFailures {
        relation: failures_relation(project, identifier, config),
        view: kind == StoreAs::View,
    })
}

/// A template from test `t`'s properties (`to: ref('x')`, a `where`),
/// rendered, with what it reads; an error is `label`'s and points at
/// `written`, the property as the file has it.
fn render_property(
    project: &Project,
    templates: &Templates,
    t: &GenericTest,
    label: &str,
    template: &str,
    written: &str,
) -> Result<(String, Vec<String>), Diagnostic> {
    match templates.render_captured(&display_path(&t.defined_in), template, context! {}) {
        Ok((sql, cap)) => Ok((sql, dependencies(project, &cap))),
        Err(e) => {
            let text =
                std::fs::read_to_string(project.root.join(&t.defined_in)).unwrap_or_default();
            let mut d = diagnose::diagnose(&e, &t.defined_in, &text, 0, &templates.macros);
            d.message = format!("{label}: {}", d.message);
            if let Some(loc) = d.location.as_mut() {
                loc.span = text
                    .find(written)
                    .map(|s| Span::Bytes(s..s + written.len()));
            }
            Err(d)
        }
    }
}

fn test_node(
    project: &Project,
    name: &str,
    path: &std::path::Path,
    sql: String,
    attached_node: Option<String>,
    depends_on: Vec<String>,
    relationship: Option<Relationship>,
) -> Node {
    Node {
        unique_id: format!("test.{}.{name}", project.name),
        name: name.to_string(),
        kind: NodeKind::Test,
        path: path.to_path_buf(),
        fqn: vec![name.to_string()],
        relation: None,
        config: NodeConfig::default(),
        compiled_sql: Some(sql),
        checksum: None,
        depends_on,
        description: None,
        columns: Vec::new(),
        attached_node,
        contract: None,
        relationship,
        seed_types: Default::default(),
        stored_failures: None,
        live: None,
    }
}

/// A test of an ephemeral model (or whose `relationships` parent is one)
/// reads it as a CTE, as a model does: ephemeral models have no relation.
pub fn inline_ephemerals(nodes: &mut [Node]) {
    let ephemeral: std::collections::HashMap<String, (String, String)> = nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Model)
        .filter(|n| n.config.materialized == crate::project::Materialization::Ephemeral)
        .map(|n| {
            let sql = n.compiled_sql.clone().unwrap_or_default();
            (
                n.unique_id.clone(),
                (super::ephemeral::cte_name(&n.name), sql),
            )
        })
        .collect();
    if ephemeral.is_empty() {
        return;
    }
    for n in nodes.iter_mut().filter(|n| n.kind == NodeKind::Test) {
        let ctes: Vec<(String, String)> = n
            .depends_on
            .iter()
            .filter_map(|id| ephemeral.get(id).cloned())
            .collect();
        if let Some(sql) = n.compiled_sql.as_mut() {
            *sql = super::ephemeral::inject_ctes(sql, &ctes);
        }
    }
}

/// Stored failures must not replace a model, a seed, another test's
/// failures or lake's own tables (schemas starting with `_`): dbt refuses
/// two resources at one relation too.
pub fn check_stored_failures(nodes: &[Node], diags: &mut Diagnostics) {
    let mut taken: std::collections::HashMap<String, &Node> = nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Model | NodeKind::Seed))
        .filter_map(|n| Some((n.relation.as_ref()?.to_string().to_lowercase(), n)))
        .collect();
    for n in nodes {
        let Some(stored) = &n.stored_failures else {
            continue;
        };
        let rel = &stored.relation;
        let clash = if rel.schema.starts_with('_') {
            Some(format!("schema `{}` is lake's own", rel.schema))
        } else {
            taken
                .get(&rel.to_string().to_lowercase())
                .map(|other| format!("{} `{}` is there", other.kind.as_str(), other.name))
        };
        match clash {
            Some(why) => diags.push(
                Diagnostic::new(
                    crate::diagnostic::Code::InvalidValue,
                    format!(
                        "data test `{}` would store its failures in {rel}, but {why}",
                        n.name
                    ),
                )
                .at(&n.path, "", None, "")
                .with_help("give the test another `alias` or `schema`"),
            ),
            None => {
                taken.insert(rel.to_string().to_lowercase(), n);
            }
        }
    }
}
