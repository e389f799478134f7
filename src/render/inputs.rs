//! Seeds and sources: the nodes models read from, which need no rendering.

use super::contract;
use super::places::{seed_relation, source_relation};
use crate::diagnostic::Diagnostics;
use crate::nodes::{Node, NodeKind, SeedTypes};
use crate::project::{Conventions, NodeConfig, Project};

/// A node per seed; a seed that claims a contract is reported in `diags`.
pub fn seed_nodes(project: &Project, diags: &mut Diagnostics) -> Vec<Node> {
    let mut nodes = Vec::with_capacity(project.seeds.len());
    for s in &project.seeds {
        if let Some(d) = contract::refuse_on_seed(&s.name, &s.config, &s.path) {
            diags.push(d);
        }
        let mut fqn = s.folders.clone();
        fqn.push(s.name.clone());
        nodes.push(Node {
            unique_id: format!("seed.{}.{}", project.name, s.name),
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
            relationship: None,
            seed_types: match project.conventions {
                Conventions::Lake => SeedTypes::Duckdb,
                Conventions::Dbt => SeedTypes::Dbt,
            },
            stored_failures: None,
            live: None,
            contract: None,
        });
    }
    nodes
}

/// A node per declared source table.
pub fn source_nodes(project: &Project) -> Vec<Node> {
    project
        .sources
        .iter()
        .map(|src| {
            let name = format!("{}.{}", src.source_name, src.name);
            Node {
                unique_id: format!("source.{}.{name}", project.name),
                name,
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
                relationship: None,
                seed_types: Default::default(),
                stored_failures: None,
                live: None,
                contract: None,
            }
        })
        .collect()
}
