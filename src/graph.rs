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
use crate::nodes::Node;

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
    // Kahn's algorithm with a min-heap on unique id: a stable order.
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

    /// Groups nodes into layers that can run in parallel: each node sits one
    /// layer after its deepest parent.
    pub fn topo_layers(&self) -> Vec<Vec<usize>> {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut layers: Vec<Vec<usize>> = Vec::new();
        for i in 0..self.nodes.len() {
            let d = self
                .parents(i)
                .iter()
                .map(|&p| depth[p] + 1)
                .max()
                .unwrap_or(0);
            depth[i] = d;
            if layers.len() <= d {
                layers.resize_with(d + 1, Vec::new);
            }
            layers[d].push(i);
        }
        layers
    }
}

#[cfg(test)]
mod tests {
    use super::permute_in_place;

    #[test]
    fn permutes_every_item_to_its_destination() {
        let mut v = vec!["a", "b", "c", "d", "e"];
        permute_in_place(&mut v, vec![3, 0, 4, 1, 2]);
        assert_eq!(v, ["b", "d", "e", "a", "c"]);
    }
}
