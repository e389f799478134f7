//! `lake dag`: the graph as Graphviz dot or a Mermaid flowchart (tests left
//! out: they would double the picture without showing data flow).

use std::fmt::Write;

use super::{apply_selection, compile_project, Failure};
use crate::cli::{DagFormat, GlobalArgs, SelectArgs, EXIT_OK};
use crate::graph::Dag;
use crate::nodes::NodeKind;

/// Runs `lake dag`.
pub fn run(global: &GlobalArgs, select: &SelectArgs, format: DagFormat) -> Result<u8, Failure> {
    let c = compile_project(global)?;
    let sel = apply_selection(&c.dag, select)?;
    let shown: Vec<usize> = sel
        .nodes
        .iter()
        .copied()
        .filter(|&i| c.dag.nodes[i].kind != NodeKind::Test)
        .collect();
    print!("{}", render_dag(&c.dag, &shown, format));
    super::exit_fast(c);
    Ok(EXIT_OK)
}

/// Draws the nodes at `shown` and the edges between them.
pub fn render_dag(dag: &Dag, shown: &[usize], format: DagFormat) -> String {
    let set: std::collections::BTreeSet<usize> = shown.iter().copied().collect();
    let mut s = String::new();
    let label = |i: usize| {
        let n = &dag.nodes[i];
        match &n.relation {
            Some(r) if n.kind != NodeKind::Source => format!("{}.{}", r.schema, n.name),
            _ => n.name.clone(),
        }
    };
    match format {
        DagFormat::Dot => {
            s.push_str("digraph lake {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
            for &i in &set {
                let shape = match dag.nodes[i].kind {
                    NodeKind::Source => "cylinder",
                    NodeKind::Seed => "note",
                    _ => "box",
                };
                let _ = writeln!(
                    s,
                    "  \"{}\" [label=\"{}\", shape={shape}];",
                    dag.nodes[i].unique_id,
                    label(i)
                );
            }
            for &i in &set {
                for c in dag.children(i).into_iter().filter(|c| set.contains(c)) {
                    let _ = writeln!(
                        s,
                        "  \"{}\" -> \"{}\";",
                        dag.nodes[i].unique_id, dag.nodes[c].unique_id
                    );
                }
            }
            s.push_str("}\n");
        }
        DagFormat::Mermaid => {
            s.push_str("flowchart LR\n");
            for &i in &set {
                let (open, close) = match dag.nodes[i].kind {
                    NodeKind::Source => ("[(", ")]"),
                    NodeKind::Seed => ("[/", "/]"),
                    _ => ("[", "]"),
                };
                let _ = writeln!(s, "  n{i}{open}\"{}\"{close}", label(i));
            }
            for &i in &set {
                for c in dag.children(i).into_iter().filter(|c| set.contains(c)) {
                    let _ = writeln!(s, "  n{i} --> n{c}");
                }
            }
        }
    }
    s
}
