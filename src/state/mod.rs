//! Build state: which nodes' last builds still stand, so a run rebuilds
//! only what changed. A model, seed or test is reused when its
//! fingerprint (SQL, config, materialization) is the one its last
//! successful build recorded, every relation it reads is at the version
//! that build read, its own table is still the one that build wrote, and
//! it reads nothing lake cannot see changing ([`volatile`]).
//!
//! The state lives in the lake ([`store`]), written in the same
//! transaction as the data; versions come from DuckLake's snapshot
//! changes ([`versions`]). Nothing here reads a row of a user's table.

pub mod fingerprint;
pub mod store;
pub mod versions;
pub mod volatile;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::graph::Dag;
use crate::nodes::{Node, NodeKind};
use crate::project::Materialization;

pub use store::{Built, Record};
pub use versions::Versions;

/// What a run knows about earlier builds.
#[derive(Debug, Clone, Default)]
pub struct BuildState {
    /// Each node's last successful build, by unique id.
    pub built: HashMap<String, Built>,
    /// The lake's relation versions when the run (or attempt) started.
    pub versions: Versions,
}

/// `schema.name` of a relation, as [`Versions`] names it.
pub fn relation_key(node: &Node) -> Option<String> {
    let rel = node.relation.as_ref()?;
    Some(format!("{}.{}", rel.schema, rel.identifier))
}

/// Whether the node keeps a table or view of its own in the lake.
pub fn writes_relation(node: &Node) -> bool {
    matches!(node.kind, NodeKind::Model | NodeKind::Seed)
        && !matches!(
            node.config.materialized,
            Materialization::Ephemeral | Materialization::Load
        )
}

/// The relations node `i` reads: its refs and sources, and those read
/// through the ephemeral models inlined into it and the views it reads.
pub fn inputs(dag: &Dag, i: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<&String> = dag.nodes[i].depends_on.iter().collect();
    let mut seen = HashSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(p) = dag.position(id) else { continue };
        let parent = &dag.nodes[p];
        let model = parent.kind == NodeKind::Model;
        // A view stores no rows: reading it reads what it reads.
        let see_through = model
            && matches!(
                parent.config.materialized,
                Materialization::Ephemeral | Materialization::View
            );
        if see_through {
            stack.extend(parent.depends_on.iter());
        }
        if parent.config.materialized != Materialization::Ephemeral || !model {
            out.extend(relation_key(parent));
        }
    }
    out.sort();
    out.dedup();
    out
}

impl BuildState {
    /// Why node `i` must run, or `None` when its last build stands.
    /// `fingerprint` is its current one; `written` holds relations this
    /// run has already rewritten (not yet committed).
    pub fn must_run(
        &self,
        dag: &Dag,
        i: usize,
        fingerprint: &str,
        written: &HashSet<String>,
    ) -> Option<String> {
        let node = &dag.nodes[i];
        // What its queries return is in no fingerprint.
        if node.live.is_some() {
            return Some("it queries the warehouse while it renders".into());
        }
        let Some(built) = self.built.get(&node.unique_id) else {
            return Some("no earlier build recorded".into());
        };
        if built.fingerprint != fingerprint {
            return Some("its SQL or config changed".into());
        }
        if built.built_in < self.versions.oldest {
            return Some(format!(
                "its build is older than the kept history (snapshot {})",
                self.versions.oldest
            ));
        }
        let inputs = inputs(dag, i);
        if let Some(changed) = inputs.iter().find(|r| written.contains(*r)) {
            return Some(format!("{changed} was rebuilt in this run"));
        }
        for input in &inputs {
            // Written in the same commit: as that commit left it.
            let same = match built.inputs.get(input) {
                None => false,
                Some(None) => self.versions.untouched_after(input, built.built_in),
                Some(Some(seen)) => self.versions.unchanged(input, *seen),
            };
            if !same {
                return Some(format!("{input} changed"));
            }
        }
        let own = relation_key(node).filter(|_| writes_relation(node));
        match own {
            Some(own) if !self.versions.untouched_after(&own, built.built_in) => {
                Some(format!("{own} was changed since lake built it"))
            }
            _ => None,
        }
    }

    /// The nodes a run would build rather than reuse, in DAG order: those
    /// whose last build no longer stands, and those downstream of one
    /// that rewrites its relation. Load models are not listed: every run
    /// loads whatever has landed, and a run with nothing landed changes
    /// nothing.
    pub fn would_run(&self, dag: &Dag) -> std::collections::BTreeSet<usize> {
        let mut written = HashSet::new();
        let mut out = std::collections::BTreeSet::new();
        for (i, node) in dag.nodes.iter().enumerate() {
            let runs = match (node.kind, node.config.materialized) {
                (NodeKind::Source, _)
                | (NodeKind::Model, Materialization::Ephemeral | Materialization::Load) => false,
                _ => {
                    let fp = fingerprint::fingerprint(node, "");
                    let reason = self.must_run(dag, i, &fp, &written);
                    tracing::debug!(node = %node.unique_id, reason = ?reason, "would run");
                    if reason.is_some() {
                        written.extend(relation_key(node).filter(|_| writes_relation(node)));
                    }
                    reason.is_some()
                }
            };
            if runs {
                out.insert(i);
            }
        }
        out
    }

    /// The versions node `i`'s inputs have as it runs now, for its record:
    /// `None` for those this run rewrote (they commit with it).
    pub fn seen(
        &self,
        dag: &Dag,
        i: usize,
        written: &HashSet<String>,
    ) -> BTreeMap<String, Option<i64>> {
        inputs(dag, i)
            .into_iter()
            .map(|r| {
                let v = (!written.contains(&r)).then(|| self.versions.seen(&r));
                (r, v)
            })
            .collect()
    }
}
