//! `lake ls`: print what a selection picks, in run order.

use std::io::Write;

use super::{apply_selection, compile_project, Failure};
use crate::cli::{GlobalArgs, LsOutput, ResourceType, SelectArgs, EXIT_OK};
use crate::nodes::NodeKind;

/// Runs `lake ls`.
pub fn run(
    global: &GlobalArgs,
    select: &SelectArgs,
    output: LsOutput,
    kinds: &[ResourceType],
) -> Result<u8, Failure> {
    let c = compile_project(global)?;
    let sel = apply_selection(&c.dag, select)?;
    let wanted = |k: NodeKind| {
        kinds.is_empty()
            || kinds.iter().any(|r| {
                matches!(
                    (r, k),
                    (ResourceType::Model, NodeKind::Model)
                        | (ResourceType::Seed, NodeKind::Seed)
                        | (ResourceType::Source, NodeKind::Source)
                        | (ResourceType::Test, NodeKind::Test)
                )
            })
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for &i in &sel.nodes {
        let n = &c.dag.nodes[i];
        if !wanted(n.kind) {
            continue;
        }
        let line = match output {
            LsOutput::Name => n.name.clone(),
            LsOutput::Path => crate::diagnostic::display_path(&n.path),
            LsOutput::Json => serde_json::json!({
                "name": n.name,
                "resource_type": n.kind,
                "unique_id": n.unique_id,
                "path": crate::diagnostic::display_path(&n.path),
                "relation": n.relation.as_ref().map(ToString::to_string),
                "materialized": (n.kind == NodeKind::Model).then(|| n.config.materialized.as_str()),
                "tags": n.config.tags,
                "depends_on": n.depends_on,
            })
            .to_string(),
        };
        // A closed pipe (`lake ls | head`) is not an error.
        if writeln!(out, "{line}").is_err() {
            return Ok(EXIT_OK);
        }
    }
    let _ = out.flush();
    super::exit_fast(c);
    Ok(EXIT_OK)
}
