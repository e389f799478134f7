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

/// The relations node `i` reads: its refs and sources, and those of the
/// ephemeral models inlined into it.
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
        if parent.config.materialized == Materialization::Ephemeral
            && parent.kind == NodeKind::Model
        {
            stack.extend(parent.depends_on.iter());
        } else if let Some(key) = relation_key(parent) {
            out.push(key);
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
            let seen = built
                .inputs
                .get(input)
                .copied()
                .flatten()
                .unwrap_or(built.built_in);
            if !built.inputs.contains_key(input) || !self.versions.unchanged(input, seen) {
                return Some(format!("{input} changed"));
            }
        }
        let own = relation_key(node).filter(|_| writes_relation(node));
        match own {
            Some(own) if !self.versions.unchanged(&own, built.built_in) => {
                Some(format!("{own} was changed since lake built it"))
            }
            _ => None,
        }
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
