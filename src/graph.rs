//! The project graph (petgraph): nodes are models, seeds, sources and tests,
//! edges point from a parent to the node that reads it. Building it checks
//! for cycles (reported whole, with files) and fixes one deterministic
//! topological order that every later stage iterates in.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::diagnostic::{display_path, Code, Diagnostic, Diagnostics};
use crate::nodes::{Node, NodeKind};

/// The checked graph. `nodes` are in topological order (parents first,
/// ties broken by unique id), and node indices follow that order.
#[derive(Debug)]
pub struct Dag {
    /// Nodes, topologically sorted.
    pub nodes: Vec<Node>,
    graph: DiGraph<(), ()>,
    index: HashMap<String, usize>,
}

/// Builds the graph, or reports every cycle.
pub fn build_dag(nodes: Vec<Node>) -> Result<Dag, Diagnostics> {
    let mut graph = DiGraph::<(), ()>::with_capacity(nodes.len(), nodes.len() * 2);
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.unique_id.as_str(), i))
        .collect();
    for _ in &nodes {
        graph.add_node(());
    }
    for (i, n) in nodes.iter().enumerate() {
        for d in &n.depends_on {
            if let Some(&p) = index.get(d.as_str()) {
                graph.add_edge(NodeIndex::new(p), NodeIndex::new(i), ());
            }
        }
    }
    let mut diags = Diagnostics::default();
    for scc in tarjan_scc(&graph) {
        let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
        if scc.len() > 1 || self_loop {
            diags.push(cycle_diagnostic(&nodes, &graph, &scc));
        }
    }
    diags.0.sort_by(|a, b| a.message.cmp(&b.message));
    if !diags.is_empty() {
        return Err(diags);
    }
    let order = stable_order(&nodes, &graph);
    // Reorder in place and renumber the edges: no second copy of the nodes
    // and no second round of id lookups. pos[old] = new position.
    let mut pos = vec![0usize; order.len()];
    for (new, &old) in order.iter().enumerate() {
        pos[old] = new;
    }
    let edges: Vec<(usize, usize)> = graph
        .raw_edges()
        .iter()
        .map(|e| (pos[e.source().index()], pos[e.target().index()]))
        .collect();
    let mut nodes = nodes;
    permute_in_place(&mut nodes, pos);
    let mut graph = DiGraph::<(), ()>::with_capacity(nodes.len(), edges.len());
    for _ in &nodes {
        graph.add_node(());
    }
    for (p, c) in edges {
        graph.add_edge(NodeIndex::new(p), NodeIndex::new(c), ());
    }
    let index = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.unique_id.clone(), i))
        .collect();
    Ok(Dag {
        nodes,
        graph,
        index,
    })
}

/// A topological order with ties broken by unique id (Kahn's algorithm
/// with a min-heap), so every run and snapshot sees the same order.
fn stable_order(nodes: &[Node], graph: &DiGraph<(), ()>) -> Vec<usize> {
    let mut indegree: Vec<usize> = (0..nodes.len())
        .map(|i| {
            graph
                .neighbors_directed(NodeIndex::new(i), Direction::Incoming)
                .count()
        })
        .collect();
    let mut heap: BinaryHeap<Reverse<(&str, usize)>> = indegree
        .iter()
        .enumerate()
        .filter(|(_, d)| **d == 0)
        .map(|(i, _)| Reverse((nodes[i].unique_id.as_str(), i)))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse((_, i))) = heap.pop() {
        order.push(i);
        for c in graph.neighbors_directed(NodeIndex::new(i), Direction::Outgoing) {
            let c = c.index();
            indegree[c] -= 1;
            if indegree[c] == 0 {
                heap.push(Reverse((nodes[c].unique_id.as_str(), c)));
            }
        }
    }
    order
}

/// Moves `items[i]` to `items[dest[i]]` for every i, by swapping along cycles.
fn permute_in_place<T>(items: &mut [T], mut dest: Vec<usize>) {
    for i in 0..items.len() {
        while dest[i] != i {
            let j = dest[i];
            items.swap(i, j);
            dest.swap(i, j);
        }
    }
}

/// Finds one concrete cycle inside a strongly connected component, starting
/// at its smallest unique id, and names every file on it.
fn cycle_diagnostic(nodes: &[Node], graph: &DiGraph<(), ()>, scc: &[NodeIndex]) -> Diagnostic {
    let members: BTreeSet<usize> = scc.iter().map(|n| n.index()).collect();
    let start = *members
        .iter()
        .min_by_key(|&&i| &nodes[i].unique_id)
        .expect("non-empty");
    // Breadth-first search inside the component back to `start`.
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut end = None;
    'search: while let Some(cur) = queue.pop_front() {
        let mut next: Vec<usize> = graph
            .neighbors_directed(NodeIndex::new(cur), Direction::Outgoing)
            .map(|n| n.index())
            .filter(|n| members.contains(n))
            .collect();
        next.sort_by_key(|&n| &nodes[n].unique_id);
        for n in next {
            if n == start {
                end = Some(cur);
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(n) {
                e.insert(cur);
                queue.push_back(n);
            }
        }
    }
    let mut path = vec![start];
    let mut cur = end.unwrap_or(start);
    let mut tail = Vec::new();
    while cur != start {
        tail.push(cur);
        cur = prev[&cur];
    }
    tail.reverse();
    path.extend(tail);
    path.push(start);
    let chain = path
        .iter()
        .map(|&i| nodes[i].name.as_str())
        .collect::<Vec<_>>()
        .join(" -> ");
    let mut d = Diagnostic::new(Code::Cycle, format!("dependency cycle: {chain}"));
    for w in path.windows(2) {
        let (from, to) = (&nodes[w[0]], &nodes[w[1]]);
        d = d.with_note(format!(
            "{} ({}) is read by {}",
            from.name,
            display_path(&from.path),
            to.name
        ));
    }
    d.with_help("a model cannot depend on itself, directly or through others: remove one ref() on the cycle")
}

impl Dag {
    /// Position of a node by unique id.
    pub fn position(&self, unique_id: &str) -> Option<usize> {
        self.index.get(unique_id).copied()
    }

    /// Direct parents of node `i`, ascending.
    pub fn parents(&self, i: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(i), Direction::Incoming)
            .map(|n| n.index())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Direct children of node `i`, ascending.
    pub fn children(&self, i: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(i), Direction::Outgoing)
            .map(|n| n.index())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Nodes reachable from `start` in `dir` within `depth` steps (None: any).
    pub fn reach(&self, start: usize, dir: Direction, depth: Option<usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut frontier = vec![start];
        let mut level = 0;
        while !frontier.is_empty() && depth.is_none_or(|d| level < d) {
            let mut next = Vec::new();
            for f in frontier {
                for n in self.graph.neighbors_directed(NodeIndex::new(f), dir) {
                    if seen.insert(n.index()) {
                        next.push(n.index());
                    }
                }
            }
            frontier = next;
            level += 1;
        }
        seen
    }

    /// The tests that gate each node in `lake build`: a node also waits
    /// for the tests of its parents, so a failing test skips what depends
    /// on the tested node. A test with several parents (relationships)
    /// belongs to the one built last, as in dbt: nodes are in run order, so
    /// the test's parents all come before whatever waits on it, and no
    /// node waits on its own test.
    pub fn test_gates(&self) -> TestGates {
        let owned = (0..self.nodes.len())
            .map(|i| {
                self.children(i)
                    .into_iter()
                    .filter(|&c| self.nodes[c].kind == NodeKind::Test)
                    .filter(|&c| self.parents(c).into_iter().max() == Some(i))
                    .collect()
            })
            .collect();
        TestGates { owned }
    }
}

/// Build-mode edges from tests to the nodes downstream of what they test
/// (see [`Dag::test_gates`]).
#[derive(Debug)]
pub struct TestGates {
    /// The tests each node owns, by position.
    owned: Vec<Vec<usize>>,
}

impl TestGates {
    /// What node `i` waits for in `lake build`: its parents, and (unless it
    /// is a test itself) the tests those parents own.
    pub fn parents(&self, dag: &Dag, i: usize) -> Vec<usize> {
        let mut p = dag.parents(i);
        if dag.nodes[i].kind != NodeKind::Test {
            let gates: Vec<usize> = p
                .iter()
                .flat_map(|&q| self.owned[q].iter().copied())
                .collect();
            p.extend(gates);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::{build_dag, permute_in_place};
    use crate::nodes::{Node, NodeKind};

    fn node(kind: NodeKind, name: &str, depends_on: &[&str]) -> Node {
        Node {
            unique_id: format!("{kind:?}.{name}").to_lowercase(),
            name: name.to_string(),
            kind,
            path: format!("{name}.sql").into(),
            fqn: vec![name.to_string()],
            relation: None,
            config: Default::default(),
            compiled_sql: None,
            checksum: None,
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            description: None,
            columns: Vec::new(),
            attached_node: None,
            relationship: None,
            seed_types: Default::default(),
            stored_failures: None,
            live: None,
            contract: None,
        }
    }

    #[test]
    fn build_waits_for_the_tests_of_parents_and_a_shared_test_belongs_to_the_last_parent() {
        let dag = build_dag(vec![
            node(NodeKind::Model, "a", &[]),
            node(NodeKind::Model, "b", &["model.a"]),
            node(NodeKind::Model, "c", &["model.b"]),
            node(NodeKind::Test, "t", &["model.a"]),
            node(NodeKind::Test, "rel", &["model.a", "model.b"]),
        ])
        .unwrap();
        let at = |id: &str| dag.position(id).unwrap();
        let gates = dag.test_gates();
        let names = |v: Vec<usize>| -> Vec<String> {
            let mut n: Vec<String> = v.into_iter().map(|i| dag.nodes[i].name.clone()).collect();
            n.sort();
            n
        };
        // b waits for a and a's own test; the shared test is b's, so c waits on it.
        assert_eq!(names(gates.parents(&dag, at("model.b"))), ["a", "t"]);
        assert_eq!(names(gates.parents(&dag, at("model.c"))), ["b", "rel"]);
        // A test waits only for what it reads: no test waits on a test.
        assert_eq!(names(gates.parents(&dag, at("test.rel"))), ["a", "b"]);
    }

    #[test]
    fn permutes_every_item_to_its_destination() {
        let mut v = vec!["a", "b", "c", "d", "e"];
        permute_in_place(&mut v, vec![3, 0, 4, 1, 2]);
        assert_eq!(v, ["b", "d", "e", "a", "c"]);
    }
}
