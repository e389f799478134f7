//! The DAG as an SVG graph, layers left to right, each node a link to its page.
//!
//! Pure layout (no I/O) in the spirit of Sugiyama's method, small enough to
//! read: a node's layer is its longest path from a root, so sources and seeds
//! stand at the left and every edge points right; within a layer, nodes are
//! ordered by the barycenter of their neighbours over a few sweeps, which
//! removes most crossings; edges are cubic curves with an arrow. Hand-written
//! SVG because this is a diagram, not a chart.

use std::collections::BTreeSet;

use super::chart::escape_xml;

/// One box in the graph; the page builds these from the project's nodes.
#[derive(Debug, Clone)]
pub struct Node {
    /// Unique id, in `data-node` so a test or a script can find the box.
    pub id: String,
    /// Text in the box; the box is as wide as it.
    pub label: String,
    /// "model", "seed", "source" or "test": chooses the colour.
    pub kind: String,
    /// Where a click goes, usually the model page.
    pub href: String,
}

/// Renders the graph; `edges` are (from, to) indices into `nodes`. Edges that
/// point outside `nodes` or at their own node are ignored, and a cycle (which a
/// valid project cannot have) is cut rather than looped over.
pub fn render(nodes: &[Node], edges: &[(usize, usize)]) -> String {
    if nodes.is_empty() {
        return empty_svg();
    }
    let edges = usable_edges(nodes.len(), edges);
    let boxes = layout(nodes, &edges);
    write_svg(nodes, &edges, &boxes)
}

const NODE_H: f64 = 26.0;
const ROW: f64 = 40.0;
const COLUMN_GAP: f64 = 72.0;
const PAD: f64 = 16.0;
/// Pixels per character at 12px sans-serif: an estimate, there are no font metrics.
const CHAR_W: f64 = 7.0;
const SWEEPS: usize = 4;

/// A node's box in pixels.
#[derive(Debug, Clone, Copy)]
struct NodeBox {
    x: f64,
    y: f64,
    w: f64,
}

fn usable_edges(n: usize, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let set: BTreeSet<(usize, usize)> = edges
        .iter()
        .copied()
        .filter(|&(a, b)| a < n && b < n && a != b)
        .collect();
    set.into_iter().collect()
}

fn layout(nodes: &[Node], edges: &[(usize, usize)]) -> Vec<NodeBox> {
    let graph = Graph::new(nodes.len(), edges);
    let layers = graph.layers();
    let columns = graph.order(&layers);
    place(nodes, &columns)
}

/// Adjacency both ways, in index order so the layout is deterministic.
struct Graph {
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

impl Graph {
    fn new(n: usize, edges: &[(usize, usize)]) -> Graph {
        let mut graph = Graph {
            parents: vec![Vec::new(); n],
            children: vec![Vec::new(); n],
        };
        for &(from, to) in edges {
            graph.children[from].push(to);
            graph.parents[to].push(from);
        }
        graph
    }

    /// Longest path from a root, by Kahn's topological order: a node is placed
    /// once all its parents are. If only a cycle is left, its first node is
    /// placed anyway and the edges back into it are ignored.
    fn layers(&self) -> Vec<usize> {
        let n = self.parents.len();
        let mut waiting: Vec<usize> = self.parents.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> = (0..n).filter(|&v| waiting[v] == 0).collect();
        let mut done = vec![false; n];
        let mut layer = vec![0; n];
        for _ in 0..n {
            let Some(v) = ready.pop_first().or_else(|| (0..n).find(|&v| !done[v])) else {
                break;
            };
            done[v] = true;
            let placed = self.parents[v].iter().filter(|&&p| done[p]);
            layer[v] = placed.map(|&p| layer[p] + 1).max().unwrap_or(0);
            for &c in &self.children[v] {
                waiting[c] = waiting[c].saturating_sub(1);
                if waiting[c] == 0 && !done[c] {
                    ready.insert(c);
                }
            }
        }
        layer
    }

    /// Columns of node indices, each ordered top to bottom by the mean
    /// position of its neighbours: parents on the way right, children on the
    /// way back, a few times over.
    fn order(&self, layers: &[usize]) -> Vec<Vec<usize>> {
        let depth = layers.iter().max().map_or(0, |d| d + 1);
        let mut columns = vec![Vec::new(); depth];
        for (v, &l) in layers.iter().enumerate() {
            columns[l].push(v);
        }
        let mut pos = vec![0.0; layers.len()];
        columns.iter().for_each(|c| set_positions(c, &mut pos));
        for sweep in 0..SWEEPS {
            let rightward = sweep % 2 == 0;
            let (sequence, neighbours): (Vec<usize>, _) = if rightward {
                ((1..depth).collect(), &self.parents)
            } else {
                ((0..depth.saturating_sub(1)).rev().collect(), &self.children)
            };
            for c in sequence {
                sort_by_barycenter(&mut columns[c], neighbours, &pos);
                set_positions(&columns[c], &mut pos);
            }
        }
        columns
    }
}

/// Positions centred on zero, so columns of different heights compare fairly.
fn set_positions(column: &[usize], pos: &mut [f64]) {
    let middle = (column.len() as f64 - 1.0) / 2.0;
    for (i, &v) in column.iter().enumerate() {
        pos[v] = i as f64 - middle;
    }
}

/// A node without neighbours on that side keeps its place as its key.
fn sort_by_barycenter(column: &mut [usize], neighbours: &[Vec<usize>], pos: &[f64]) {
    let key = |v: usize| {
        let around = &neighbours[v];
        if around.is_empty() {
            pos[v]
        } else {
            around.iter().map(|&u| pos[u]).sum::<f64>() / around.len() as f64
        }
    };
    let mut keyed: Vec<(f64, usize)> = column.iter().map(|&v| (key(v), v)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (slot, (_, v)) in column.iter_mut().zip(keyed) {
        *slot = v;
    }
}

fn node_width(label: &str) -> f64 {
    (label.chars().count() as f64 * CHAR_W + 24.0).max(48.0)
}

/// Columns as wide as their widest label, each centred vertically.
fn place(nodes: &[Node], columns: &[Vec<usize>]) -> Vec<NodeBox> {
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0) as f64;
    let mut boxes = vec![
        NodeBox {
            x: 0.0,
            y: 0.0,
            w: 0.0
        };
        nodes.len()
    ];
    let mut x = PAD;
    for column in columns {
        let width = column
            .iter()
            .map(|&v| node_width(&nodes[v].label))
            .fold(0.0, f64::max);
        let top = PAD + (tallest - column.len() as f64) * ROW / 2.0;
        for (i, &v) in column.iter().enumerate() {
            boxes[v] = NodeBox {
                x,
                y: top + i as f64 * ROW,
                w: node_width(&nodes[v].label),
            };
        }
        x += width + COLUMN_GAP;
    }
    boxes
}

/// Fill and outline by kind, so sources, seeds, models and tests read apart.
fn colours(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "source" => ("#fef3c7", "#d97706"),
        "seed" => ("#dcfce7", "#16a34a"),
        "model" => ("#dbeafe", "#2563eb"),
        "test" => ("#f3e8ff", "#9333ea"),
        _ => ("#f3f4f6", "#6b7280"),
    }
}

fn write_svg(nodes: &[Node], edges: &[(usize, usize)], boxes: &[NodeBox]) -> String {
    let width = boxes.iter().map(|b| b.x + b.w).fold(0.0, f64::max) + PAD;
    let height = boxes.iter().map(|b| b.y + NODE_H).fold(0.0, f64::max) + PAD;
    let (w, h) = (width.ceil(), height.ceil());
    let mut out = format!(
        "<svg class=\"lineage\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <defs><marker id=\"lineage-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#9ca3af\"/></marker></defs>\n"
    );
    out.push_str("<g class=\"edges\" fill=\"none\" stroke=\"#9ca3af\" stroke-width=\"1.5\">\n");
    for &(from, to) in edges {
        out.push_str(&edge(&nodes[from], &nodes[to], boxes[from], boxes[to]));
    }
    out.push_str("</g>\n<g class=\"nodes\">\n");
    for (node, b) in nodes.iter().zip(boxes) {
        out.push_str(&node_svg(node, *b));
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// From the middle of the source's right side to the middle of the target's left side.
fn edge(from: &Node, to: &Node, a: NodeBox, b: NodeBox) -> String {
    let (x1, y1) = (a.x + a.w, a.y + NODE_H / 2.0);
    let (x2, y2) = (b.x, b.y + NODE_H / 2.0);
    let bend = ((x2 - x1).abs() / 2.0).max(24.0);
    format!(
        "<path class=\"edge\" data-from=\"{}\" data-to=\"{}\" \
         d=\"M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}\" \
         marker-end=\"url(#lineage-arrow)\"/>\n",
        escape_xml(&from.id),
        escape_xml(&to.id),
        x1 + bend,
        x2 - bend,
    )
}

fn node_svg(node: &Node, b: NodeBox) -> String {
    let (fill, stroke) = colours(&node.kind);
    format!(
        "<a href=\"{}\" class=\"node\" data-node=\"{}\">\
         <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{NODE_H}\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#111827\">{}</text></a>\n",
        escape_xml(&node.href),
        escape_xml(&node.id),
        b.x,
        b.y,
        b.w,
        b.x + 12.0,
        b.y + NODE_H / 2.0 + 4.0,
        escape_xml(&node.label),
    )
}

fn empty_svg() -> String {
    "<svg class=\"lineage\" width=\"320\" height=\"60\" viewBox=\"0 0 320 60\" \
     xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"14\">\n\
     <text x=\"160\" y=\"34\" text-anchor=\"middle\" fill=\"#6b7280\">No nodes to show</text>\n</svg>\n"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::chart::tests::assert_well_formed;

    fn node(id: &str, kind: &str) -> Node {
        Node {
            id: id.into(),
            label: id.into(),
            kind: kind.into(),
            href: format!("/models/{id}"),
        }
    }

    fn nodes(ids: &[&str]) -> Vec<Node> {
        ids.iter().map(|id| node(id, "model")).collect()
    }

    #[test]
    fn one_link_per_node_and_one_path_per_edge() {
        let ns = nodes(&["raw", "stage", "mart", "lonely"]);
        let svg = render(&ns, &[(0, 1), (1, 2), (0, 2), (0, 2)]);
        assert_well_formed(&svg);
        assert_eq!(svg.matches("class=\"node\"").count(), 4);
        assert_eq!(
            svg.matches("class=\"edge\"").count(),
            3,
            "the duplicate edge is drawn once"
        );
        assert!(svg.contains("<a href=\"/models/mart\" class=\"node\" data-node=\"mart\">"));
        assert!(svg.contains("viewBox=\"0 0 "));
    }

    #[test]
    fn layers_grow_along_every_edge() {
        // A shortcut (a -> d) must not pull d left of the long path a -> b -> c -> d.
        let ns = nodes(&["d", "c", "b", "a", "e"]);
        let edges = [(3, 2), (2, 1), (1, 0), (3, 0), (4, 1)];
        let boxes = layout(&ns, &usable_edges(ns.len(), &edges));
        for (from, to) in edges {
            assert!(
                boxes[to].x > boxes[from].x + boxes[from].w,
                "{from} -> {to}"
            );
        }
        assert_eq!(boxes[3].x, boxes[4].x, "roots share the first column");
    }

    #[test]
    fn barycenters_uncross_edges() {
        // Indices put x under a and y under b while the edges go a -> y, b -> x.
        let ns = nodes(&["a", "b", "x", "y"]);
        let boxes = layout(&ns, &[(0, 3), (1, 2)]);
        assert_eq!(boxes[0].y < boxes[1].y, boxes[3].y < boxes[2].y);
    }

    #[test]
    fn text_from_the_project_is_escaped() {
        let evil = Node {
            id: "a\"b".into(),
            label: "<script>alert(1)</script>".into(),
            kind: "<x>".into(),
            href: "/models/a?x=1&y=\"2\"".into(),
        };
        let svg = render(&[evil, node("ok", "seed")], &[(0, 1)]);
        assert_well_formed(&svg);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("href=\"/models/a?x=1&amp;y=&quot;2&quot;\""));
        assert!(svg.contains("data-node=\"a&quot;b\""));
    }

    #[test]
    fn cycles_and_bad_edges_end() {
        let ns = nodes(&["a", "b", "c"]);
        let svg = render(&ns, &[(0, 1), (1, 0), (1, 2), (2, 2), (7, 0), (0, 99)]);
        assert_well_formed(&svg);
        assert_eq!(svg.matches("class=\"node\"").count(), 3);
        assert_eq!(svg.matches("class=\"edge\"").count(), 3);
        let ring: Vec<(usize, usize)> = (0..50).map(|i| (i, (i + 1) % 50)).collect();
        let names: Vec<String> = (0..50).map(|i| format!("n{i}")).collect();
        let many: Vec<Node> = names.iter().map(|n| node(n, "test")).collect();
        assert_well_formed(&render(&many, &ring));
    }

    #[test]
    fn empty_graph_is_a_message() {
        let svg = render(&[], &[(0, 1)]);
        assert_well_formed(&svg);
        assert!(svg.contains("No nodes to show"));
    }

    #[test]
    fn boxes_fit_labels_and_kinds_have_colours() {
        let mut long = node("m", "model");
        long.label = "a_rather_long_model_name".into();
        let boxes = layout(&[long.clone()], &[]);
        assert!(boxes[0].w >= long.label.len() as f64 * CHAR_W);
        let fills: BTreeSet<_> = ["source", "seed", "model", "test"]
            .iter()
            .map(|k| colours(k).0)
            .collect();
        assert_eq!(fills.len(), 4);
    }
}
