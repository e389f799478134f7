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
    crate::stdout!("{}", render_dag(&c.dag, &shown, format));
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
                    "  {} [label={}, shape={shape}];",
                    dot_string(&dag.nodes[i].unique_id),
                    dot_string(&label(i))
                );
            }
            for &i in &set {
                for c in dag.children(i).into_iter().filter(|c| set.contains(c)) {
                    let _ = writeln!(
                        s,
                        "  {} -> {};",
                        dot_string(&dag.nodes[i].unique_id),
                        dot_string(&dag.nodes[c].unique_id)
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
                let _ = writeln!(s, "  n{i}{open}{}{close}", mermaid_label(&label(i)));
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

/// A Graphviz double-quoted string: names come from file names, which may
/// hold spaces, quotes and backslashes.
fn dot_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A quoted Mermaid label. Mermaid has no backslash escapes: characters that
/// would end the label or read as markup become entity codes (`#quot;`).
/// Node ids stay `n<position>`, which needs no quoting.
fn mermaid_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_inside_their_quotes() {
        assert_eq!(
            dot_string(r#"my "odd" \ model"#),
            r#""my \"odd\" \\ model""#
        );
        assert_eq!(dot_string("a\nb"), r#""a\nb""#);
        assert_eq!(
            mermaid_label(r#"say "hi" #1 <b>"#),
            r#""say #quot;hi#quot; #35;1 #lt;b#gt;""#
        );
    }
}
