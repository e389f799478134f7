//! Selection, the stage between the graph and the plan: turns `--select` /
//! `--exclude` expressions into the set of nodes a command acts on, with
//! dbt's meaning (`lake run --select mart+` does what a dbt user expects).

mod parse;

use std::collections::BTreeSet;

use globset::GlobMatcher;
use petgraph::Direction;

pub use parse::{parse_selector, Atom, Method, Selector, SelectorError};

use crate::diagnostic::did_you_mean;
use crate::graph::Dag;
use crate::nodes::{Node, NodeKind};

/// The chosen nodes (positions in [`Dag::nodes`], ascending = topological).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Selected node positions.
    pub nodes: BTreeSet<usize>,
    /// Atoms that matched no node, each with a suggestion if one is close.
    pub unmatched: Vec<(String, Option<String>)>,
}

/// Parses one `--select`/`--exclude` argument. A space separates selectors
/// (dbt's grammar), except when the whole argument is the name of a node:
/// `--select "my model"` is the model `my model` (a file `my model.sql`).
fn parse_argument(dag: &Dag, text: &str) -> Result<Selector, SelectorError> {
    let name = text.trim();
    let whole_name = name.contains(char::is_whitespace)
        && !name.contains('\'')
        && dag.nodes.iter().any(|n| n.name == name);
    if whole_name {
        return parse_selector(&format!("'{name}'"));
    }
    parse_selector(text)
}

/// Applies `select` (all nodes when empty), adds tests whose parent is
/// selected (dbt's eager indirect selection), then removes `exclude`.
pub fn select_nodes(
    dag: &Dag,
    select: &[String],
    exclude: &[String],
) -> Result<Selection, SelectorError> {
    select_with_state(dag, select, exclude, None)
}

/// Whether any of `selectors` names `state:`, which needs the lake.
pub fn uses_state(selectors: &[String]) -> bool {
    selectors.iter().any(|s| s.contains("state:"))
}

/// [`select_nodes`], with `changed` (the nodes a run would build, from
/// the lake's build state) for `state:changed`.
pub fn select_with_state(
    dag: &Dag,
    select: &[String],
    exclude: &[String],
    changed: Option<&BTreeSet<usize>>,
) -> Result<Selection, SelectorError> {
    let state_needed = || SelectorError {
        message: "`state:changed` needs the lake's build state".into(),
        help: Some(
            "use it with `lake ls`, which reads the lake: `lake ls --select state:changed`".into(),
        ),
    };
    if changed.is_none() && (uses_state(select) || uses_state(exclude)) {
        return Err(state_needed());
    }
    let mut unmatched = Vec::new();
    let eval = |dag: &Dag, sel: &Selector, unmatched: &mut Vec<(String, Option<String>)>| {
        eval(dag, sel, unmatched, changed)
    };
    let mut chosen: BTreeSet<usize> = if select.is_empty() {
        (0..dag.nodes.len()).collect()
    } else {
        let mut s = BTreeSet::new();
        for text in select {
            s.extend(eval(dag, &parse_argument(dag, text)?, &mut unmatched));
        }
        s
    };
    let tests: Vec<usize> = (0..dag.nodes.len())
        .filter(|&i| dag.nodes[i].kind == NodeKind::Test && !chosen.contains(&i))
        .filter(|&i| {
            !dag.parents(i).is_empty() && dag.parents(i).iter().all(|p| chosen.contains(p))
        })
        .collect();
    chosen.extend(tests);
    for text in exclude {
        for i in eval(dag, &parse_argument(dag, text)?, &mut unmatched) {
            chosen.remove(&i);
        }
    }
    Ok(Selection {
        nodes: chosen,
        unmatched,
    })
}

fn eval(
    dag: &Dag,
    sel: &Selector,
    unmatched: &mut Vec<(String, Option<String>)>,
    changed: Option<&BTreeSet<usize>>,
) -> BTreeSet<usize> {
    let mut union = BTreeSet::new();
    for term in &sel.terms {
        let mut acc: Option<BTreeSet<usize>> = None;
        for atom in term {
            let set = eval_atom(dag, atom, unmatched, changed);
            acc = Some(match acc {
                None => set,
                Some(prev) => prev.intersection(&set).copied().collect(),
            });
        }
        union.extend(acc.unwrap_or_default());
    }
    union
}

/// One atom's nodes: those its method matches (recorded in `unmatched`
/// when there are none), grown by its graph operators.
fn eval_atom(
    dag: &Dag,
    atom: &Atom,
    unmatched: &mut Vec<(String, Option<String>)>,
    changed: Option<&BTreeSet<usize>>,
) -> BTreeSet<usize> {
    let matcher = Matcher::new(atom);
    let base: BTreeSet<usize> = match (&atom.method, changed) {
        (Method::State, Some(changed)) => changed.clone(),
        _ => (0..dag.nodes.len())
            .filter(|&i| matcher.matches(&dag.nodes[i]))
            .collect(),
    };
    // An empty `state:changed` is an answer, not a typo.
    if base.is_empty() && atom.method != Method::State {
        let names = dag
            .nodes
            .iter()
            .filter(|n| n.kind != NodeKind::Test)
            .map(|n| n.name.as_str());
        let hint = did_you_mean(&atom.value, names).map(str::to_string);
        unmatched.push((atom.raw.clone(), hint));
    }
    apply_graph_operators(dag, atom, base)
}

/// `base` plus what the atom's `+`, `N+`, `+N` and `@` operators reach.
///
/// `@x` is dbt's `select_childrens_parents`: x, its descendants, and the
/// ancestors of all of those, x's own ancestors included (so `@x` on a
/// model without children is `+x`, not x alone).
fn apply_graph_operators(dag: &Dag, atom: &Atom, base: BTreeSet<usize>) -> BTreeSet<usize> {
    let mut out = base.clone();
    if let Some(depth) = atom.parents {
        out.extend(reach_from(dag, &base, Direction::Incoming, depth));
    }
    if let Some(depth) = atom.children {
        out.extend(reach_from(dag, &base, Direction::Outgoing, depth));
    }
    if atom.at {
        let mut family = reach_from(dag, &base, Direction::Outgoing, None);
        family.extend(&base);
        out.extend(reach_from(dag, &family, Direction::Incoming, None));
        out.extend(family);
    }
    out
}

/// Nodes reachable from any of `starts` in `dir` within `depth` steps
/// (None: any), by one breadth-first walk: the union of [`Dag::reach`] of
/// each start, without walking shared ancestry once per start.
fn reach_from(
    dag: &Dag,
    starts: &BTreeSet<usize>,
    dir: Direction,
    depth: Option<usize>,
) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut frontier: Vec<usize> = starts.iter().copied().collect();
    let mut level = 0;
    while !frontier.is_empty() && depth.is_none_or(|d| level < d) {
        let mut next = Vec::new();
        for f in frontier {
            let step = match dir {
                Direction::Incoming => dag.parents(f),
                Direction::Outgoing => dag.children(f),
            };
            next.extend(step.into_iter().filter(|&n| seen.insert(n)));
        }
        frontier = next;
        level += 1;
    }
    seen
}

/// Matches one atom's method and value against nodes.
struct Matcher<'a> {
    atom: &'a Atom,
    glob: Option<GlobMatcher>,
    segments: Vec<Pattern>,
}

enum Pattern {
    Exact(String),
    Glob(GlobMatcher),
}

impl Pattern {
    fn new(s: &str) -> Pattern {
        if s.contains(['*', '?', '[']) {
            match globset::Glob::new(s) {
                Ok(g) => Pattern::Glob(g.compile_matcher()),
                Err(_) => Pattern::Exact(s.to_string()),
            }
        } else {
            Pattern::Exact(s.to_string())
        }
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Exact(e) => e == s,
            Pattern::Glob(g) => g.is_match(s),
        }
    }
}

impl<'a> Matcher<'a> {
    fn new(atom: &'a Atom) -> Self {
        let glob = globset::GlobBuilder::new(&atom.value)
            .literal_separator(false)
            .build()
            .ok()
            .map(|g| g.compile_matcher());
        let segments = atom.value.split('.').map(Pattern::new).collect();
        Matcher {
            atom,
            glob,
            segments,
        }
    }

    fn value_matches(&self, s: &str) -> bool {
        self.atom.value == s || self.glob.as_ref().is_some_and(|g| g.is_match(s))
    }

    fn fqn_matches(&self, fqn: &[String]) -> bool {
        self.segments.len() <= fqn.len()
            && self.segments.iter().zip(fqn).all(|(p, s)| p.is_match(s))
    }

    fn path_matches(&self, node: &Node) -> bool {
        let path = crate::diagnostic::display_path(&node.path);
        let want = self.atom.value.trim_end_matches('/');
        path == want || path.starts_with(&format!("{want}/")) || self.value_matches(&path)
    }

    fn matches(&self, node: &Node) -> bool {
        let v = self.atom.value.as_str();
        match &self.atom.method {
            Method::Default => {
                if v.contains('/') || v.ends_with(".sql") || v.ends_with(".csv") {
                    return self.path_matches(node);
                }
                self.value_matches(&node.name)
                    || (node.kind != NodeKind::Source && self.fqn_matches(&node.fqn))
            }
            Method::Fqn => self.fqn_matches(&node.fqn),
            Method::Path => self.path_matches(node),
            Method::Tag => node.config.tags.iter().any(|t| self.value_matches(t)),
            Method::ResourceType => node.kind.as_str() == v,
            Method::Source => node.kind == NodeKind::Source && self.fqn_matches(&node.fqn),
            Method::State => false,
            Method::Config(key) => {
                if node.kind == NodeKind::Source || node.kind == NodeKind::Test {
                    return false;
                }
                let c = &node.config;
                match key.as_str() {
                    "materialized" => self.value_matches(c.materialized.as_str()),
                    "schema" => node
                        .relation
                        .as_ref()
                        .is_some_and(|r| self.value_matches(&r.schema)),
                    "alias" => node
                        .relation
                        .as_ref()
                        .is_some_and(|r| self.value_matches(&r.identifier)),
                    "tags" => c.tags.iter().any(|t| self.value_matches(t)),
                    "unique_key" => c.unique_key.iter().any(|t| self.value_matches(t)),
                    "incremental_strategy" => c
                        .incremental_strategy
                        .as_deref()
                        .is_some_and(|s| self.value_matches(s)),
                    "on_schema_change" => c
                        .on_schema_change
                        .as_deref()
                        .is_some_and(|s| self.value_matches(s)),
                    "enabled" => self.value_matches(&c.enabled.to_string()),
                    "full_refresh" => c
                        .full_refresh
                        .is_some_and(|b| self.value_matches(&b.to_string())),
                    other => c.meta.get(other).is_some_and(|m| match m {
                        serde_json::Value::String(s) => self.value_matches(s),
                        other => self.value_matches(&other.to_string()),
                    }),
                }
            }
        }
    }
}
