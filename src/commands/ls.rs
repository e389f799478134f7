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
    let sel = if crate::select::uses_state(&select.select)
        || crate::select::uses_state(&select.exclude)
    {
        let Some(changed) = changed_nodes(&c)? else {
            return Ok(crate::cli::EXIT_LOCKED);
        };
        super::apply_selection_with_state(&c.dag, select, Some(&changed))?
    } else {
        apply_selection(&c.dag, select)?
    };
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

/// What `state:changed` stands for: the nodes a run would build now, from
/// the build state and relation versions in the lake (read-only, like
/// `lake query`). `None` (reported): a run holds an embedded lake.
fn changed_nodes(
    c: &super::Compiled,
) -> Result<Option<std::collections::BTreeSet<usize>>, Failure> {
    use crate::warehouse::{OpenError, Warehouse};
    let target = &c.project.target;
    let reader = match Warehouse::open_reader(target) {
        Ok(r) => r,
        Err(OpenError::CatalogBusy(busy)) => {
            busy.diagnostic().emit_stderr();
            return Ok(None);
        }
        Err(OpenError::Failed(e)) => return Err(super::warehouse_failure(e)),
    };
    let metadata_schema = target.catalog.metadata_schema();
    let read = || -> Result<_, crate::warehouse::WarehouseError> {
        let session = reader.catalog()?;
        let db = reader.database();
        let existing = crate::history::read::current_relations(&session, db, metadata_schema)?;
        let state = crate::state::BuildState {
            built: crate::state::store::read(&session, db, &existing)?,
            versions: crate::state::Versions::read(&session, db, metadata_schema)?,
        };
        Ok((state, existing))
    };
    // Rendered as a run renders it: `is_incremental()` is true for tables
    // that exist, and the fingerprint is of that SQL.
    let (state, existing) = read().map_err(super::warehouse_failure)?;
    let opts = crate::render::RenderOptions {
        run_started_at: c.started_at.clone(),
        existing,
        full_refresh: false,
        store_failures: false,
        invocation_id: crate::history::message::new_run_id(),
    };
    let dag = super::render_and_graph(&c.project, &opts)?;
    Ok(Some(state.would_run(&dag)))
}
