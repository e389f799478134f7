//! Data tests as graph nodes: singular tests (SQL files returning failing
//! rows, rendered like models) and generic tests from properties files
//! (`unique`, `not_null`, ... on a model, seed or source).

use indexmap::IndexMap;
use minijinja::context;

use super::places::{dependencies, node_id};
use super::templates::Templates;
use super::{diagnose, generic_tests};
use crate::diagnostic::{display_path, Diagnostic, Diagnostics, Span};
use crate::nodes::{Node, NodeKind, Relationship};
use crate::project::{GenericTest, NodeConfig, Project, SourceFile, TestedNode};

/// Nodes of the singular tests that render; the others' problems go to `diags`.
pub fn singular(project: &Project, templates: &Templates, diags: &mut Diagnostics) -> Vec<Node> {
    let mut nodes = Vec::new();
    for t in &project.singular_tests {
        match singular_test(project, templates, t) {
            Ok(node) => nodes.push(node),
            Err(d) => diags.push(d),
        }
    }
    nodes
}

fn singular_test(
    project: &Project,
    templates: &Templates,
    t: &SourceFile,
) -> Result<Node, Diagnostic> {
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
            context! { __lake_exists => false },
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
    node.config.test = Some(project.test_tree.config_for(&t.path, &IndexMap::new()));
    Ok(node)
}

/// Nodes of the generic tests whose node exists (a test of a disabled
/// model is dropped with it); problems go to `diags`.
pub fn generic(project: &Project, templates: &Templates, diags: &mut Diagnostics) -> Vec<Node> {
    let mut nodes = Vec::new();
    for t in &project.generic_tests {
        match generic_test(project, templates, t) {
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
            let (sql, mut to_deps) = relationships_target(project, templates, t, to)?;
            deps.append(&mut to_deps);
            Some(sql)
        }
        None => None,
    };
    deps.sort();
    deps.dedup();
    let config = project.test_tree.config_for(&t.defined_in, &t.config);
    if !config.enabled {
        return Ok(None);
    }
    // dbt tests a `where`-filtered relation in place of the relation.
    let relation = match &config.where_sql {
        Some(w) => format!("(select * from {relation} where {w}) dbt_subquery"),
        None => relation,
    };
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
    node.config.test = Some(config);
    Ok(Some(node))
}

/// A relationships test's `to: ref('x')`, rendered, with what it depends on.
fn relationships_target(
    project: &Project,
    templates: &Templates,
    t: &GenericTest,
    to: &str,
) -> Result<(String, Vec<String>), Diagnostic> {
    let expr = format!("{{{{ {to} }}}}");
    match templates.render_captured(&display_path(&t.defined_in), &expr, context! {}) {
        Ok((sql, cap)) => Ok((sql, dependencies(project, &cap))),
        Err(e) => {
            let text =
                std::fs::read_to_string(project.root.join(&t.defined_in)).unwrap_or_default();
            let mut d = diagnose::diagnose(&e, &t.defined_in, &text, 0, &templates.macros);
            d.message = format!("relationships test `{}`: {}", t.name, d.message);
            if let Some(loc) = d.location.as_mut() {
                loc.span = text.find(to).map(|s| Span::Bytes(s..s + to.len()));
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
    }
}
