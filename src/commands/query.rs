//! `lake show <model>` and `lake query "<sql>"`: rows from the lake in the
//! terminal, the notebook use case. SQL may use `ref()` and `source()`; it
//! runs as written (several statements run in order, the last one's rows
//! print), and `--limit` caps the rows fetched, not the SQL text.

use std::collections::HashSet;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::{load, now_rfc3339, render_and_graph, warehouse_failure, Failure};
use crate::cli::{GlobalArgs, EXIT_LOCKED, EXIT_OK};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::nodes::NodeKind;
use crate::project::Project;
use crate::render::{render_snippets, RenderOptions};
use crate::warehouse::{LimitedRows, OpenError, Reader, Warehouse};

/// Runs `lake show`.
pub fn show(global: &GlobalArgs, model: &str, limit: usize) -> Result<u8, Failure> {
    let project = load(global)?;
    let opts = RenderOptions {
        run_started_at: now_rfc3339(),
        existing: HashSet::new(),
        full_refresh: false,
    };
    let dag = render_and_graph(&project, &opts)?;
    let Some(node) = dag
        .nodes
        .iter()
        .find(|n| n.name == model && n.kind != NodeKind::Test)
    else {
        let mut d = Diagnostic::new(
            Code::UnknownRef,
            format!("no model, seed or source named `{model}`"),
        );
        if let Some(s) = did_you_mean(model, dag.nodes.iter().map(|n| n.name.as_str())) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        return Err(Failure::Usage(d));
    };
    let sql = match (&node.relation, node.config.materialized) {
        (_, crate::project::Materialization::Ephemeral) => {
            node.compiled_sql.clone().unwrap_or_default()
        }
        (Some(r), _) => format!("SELECT * FROM {r}"),
        (None, _) => node.compiled_sql.clone().unwrap_or_default(),
    };
    let Some(wh) = open_reader(&project)? else {
        return Ok(EXIT_LOCKED);
    };
    let rows = wh
        .session()
        .and_then(|s| s.query_limited(&sql, limit))
        .map_err(|e| {
            let hint = if e.message.contains("does not exist") {
                format!("build it first: lake run --select {model}")
            } else {
                "check the model's compiled SQL in target/compiled/".to_string()
            };
            warehouse_failure(e.with_help(hint))
        })?;
    print_rows(&rows);
    Ok(EXIT_OK)
}

/// Opens the lake read-only, released before printing (see `Reader`);
/// `None` (reported) when a run is writing an embedded lake: exit 75, as
/// for a second run.
fn open_reader(project: &Project) -> Result<Option<Reader>, Failure> {
    match Warehouse::open_reader(&project.target) {
        Ok(wh) => Ok(Some(wh)),
        Err(OpenError::CatalogBusy(busy)) => {
            busy.diagnostic().emit_stderr();
            Ok(None)
        }
        Err(OpenError::Failed(e)) => Err(warehouse_failure(e)),
    }
}

/// Runs `lake query`.
pub fn query(global: &GlobalArgs, sql: &str, limit: usize) -> Result<u8, Failure> {
    let project = load(global)?;
    let opts = RenderOptions {
        run_started_at: now_rfc3339(),
        existing: HashSet::new(),
        full_refresh: false,
    };
    let rendered = render_snippets(&project, &opts, &[sql.to_string()])?.remove(0);
    let Some(wh) = open_reader(&project)? else {
        return Ok(EXIT_LOCKED);
    };
    // The statement runs as written (no wrapper to break on a trailing
    // comment); the limit is applied while fetching.
    let rows = wh
        .session()
        .and_then(|s| s.query_limited(&rendered, limit))
        .map_err(warehouse_failure)?;
    print_rows(&rows);
    Ok(EXIT_OK)
}

fn print_rows(result: &LimitedRows) {
    let rows = &result.rows;
    if !rows.columns.is_empty() {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_header(&rows.columns);
        for r in &rows.rows {
            table.add_row(r.iter().map(|v| v.clone().unwrap_or_else(|| "NULL".into())));
        }
        crate::stdoutln!("{table}");
    }
    let n = rows.rows.len();
    let plural = if n == 1 { "" } else { "s" };
    if result.more {
        crate::stdoutln!("{n} row{plural} shown; there are more (raise --limit to see them)");
    } else {
        crate::stdoutln!("{n} row{plural}");
    }
}
