//! `lake show <model>` and `lake query "<sql>"`: rows from the lake in the
//! terminal or a pipe, the notebook use case. The lake is the default
//! catalog (as after a notebook's `USE lake`), SQL may use `ref()` and
//! `source()`; it runs as written, so any read statement DuckDB takes works
//! (DESCRIBE, SUMMARIZE, SHOW, PIVOT, EXPLAIN, FROM-first; several
//! statements run in order, the last one's rows print), and `--limit` caps
//! the rows fetched, not the SQL text. Rows print as a table, CSV or JSON.
//! `--at` reads the lake as it was after a run, at a snapshot or at a
//! time: the catalog is attached pinned at that snapshot, so every name
//! (and what `ref()` renders to) reads that version.

use std::collections::HashSet;
use std::fmt::Write as _;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::{load, now_rfc3339, render_and_graph, warehouse_failure, Failure};
use crate::cli::{GlobalArgs, RowFormat, EXIT_LOCKED, EXIT_OK};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::history::read::{snapshots, At};
use crate::history::runs::short_time;
use crate::nodes::NodeKind;
use crate::project::Project;
use crate::render::{render_snippets, RenderOptions};
use crate::warehouse::{LimitedRows, OpenError, Reader, Rows, ValueKind, Warehouse};

/// Runs `lake show`.
pub fn show(
    global: &GlobalArgs,
    model: &str,
    limit: usize,
    format: RowFormat,
    at: Option<&str>,
) -> Result<u8, Failure> {
    let at = parse_at(at)?;
    let (project, opts) = load_for_reading(global)?;
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
    let Some((wh, pinned)) = open_reader(&project, at.as_ref())? else {
        return Ok(EXIT_LOCKED);
    };
    let rows = wh
        .session()
        .and_then(|s| s.query_limited(&sql, limit))
        .map_err(|e| {
            let hint = if let (true, Some(id)) = (e.message.contains("does not exist"), pinned) {
                format!(
                    "`{model}` was not in the lake at snapshot {id}: \
                     `lake history --model {model}` lists its versions"
                )
            } else if e.message.contains("does not exist") {
                format!("build it first: lake run --select {model}")
            } else {
                "check the model's compiled SQL in target/compiled/".to_string()
            };
            warehouse_failure(e.with_help(hint))
        })?;
    print_rows(&rows, format);
    Ok(EXIT_OK)
}

/// The project, and how to render it for reading the lake: nothing is
/// built, so `is_incremental()` is false.
fn load_for_reading(global: &GlobalArgs) -> Result<(Project, RenderOptions), Failure> {
    let project = load(global)?;
    let opts = RenderOptions {
        run_started_at: now_rfc3339(),
        existing: HashSet::new(),
        full_refresh: false,
        store_failures: false,
        invocation_id: crate::history::message::new_run_id(),
    };
    Ok((project, opts))
}

/// Reads `--at`, before anything is opened: a typo is reported at once.
fn parse_at(at: Option<&str>) -> Result<Option<At>, Failure> {
    at.map(At::parse)
        .transpose()
        .map_err(|e| Failure::Project(e.diagnostic().into()))
}

/// Opens the lake read-only, released before printing (see `Reader`), as
/// it is or, with `at`, pinned at the snapshot `at` stands for (returned
/// too); `None` (reported) when a run is writing an embedded lake: exit
/// 75, as for a second run.
fn open_reader(
    project: &Project,
    at: Option<&At>,
) -> Result<Option<(Reader, Option<i64>)>, Failure> {
    let Some(reader) = opened(Warehouse::open_reader(&project.target))? else {
        return Ok(None);
    };
    let Some(at) = at else {
        return Ok(Some((reader, None)));
    };
    super::require_snapshots(&project.target, "`--at`")?;
    let all = reader
        .catalog()
        .and_then(|s| snapshots(&s, reader.database()))
        .map_err(warehouse_failure)?;
    let id = at
        .resolve(&all)
        .map_err(|e| Failure::Project(e.diagnostic().into()))?;
    if let Some(s) = all.iter().find(|s| s.id == id) {
        let by = match &s.info {
            Some(info) => format!("run {}", info.run_id),
            None => "a write outside lake".to_string(),
        };
        crate::stderrln!(
            "reading the lake as of snapshot {id} ({} UTC, {by})",
            short_time(&s.time)
        );
    }
    Ok(opened(reader.pin(&project.target, id))?.map(|r| (r, Some(id))))
}

/// An opened reader, or why not: a busy embedded catalog is reported
/// here and is `None` (exit 75).
fn opened(result: Result<Reader, OpenError>) -> Result<Option<Reader>, Failure> {
    match result {
        Ok(wh) => Ok(Some(wh)),
        Err(OpenError::CatalogBusy(busy)) => {
            busy.diagnostic().emit_stderr();
            Ok(None)
        }
        Err(OpenError::Failed(e)) => Err(warehouse_failure(e)),
    }
}

/// Runs `lake query`.
pub fn query(
    global: &GlobalArgs,
    sql: &str,
    limit: usize,
    format: RowFormat,
    at: Option<&str>,
) -> Result<u8, Failure> {
    let at = parse_at(at)?;
    let (project, opts) = load_for_reading(global)?;
    let rendered = render_snippets(&project, &opts, &[sql.to_string()])?.remove(0);
    let Some((wh, _)) = open_reader(&project, at.as_ref())? else {
        return Ok(EXIT_LOCKED);
    };
    // The statement runs as written (no wrapper to break on a trailing
    // comment); the limit is applied while fetching.
    let rows = wh
        .session()
        .and_then(|s| s.query_limited(&rendered, limit))
        .map_err(warehouse_failure)?;
    print_rows(&rows, format);
    Ok(EXIT_OK)
}

/// Prints rows in `format`. In CSV and JSON, stdout holds the data alone
/// (a program reads it); that rows were left out goes to stderr.
fn print_rows(result: &LimitedRows, format: RowFormat) {
    match format {
        RowFormat::Table => print_table(result),
        RowFormat::Csv => crate::stdout!("{}", to_csv(&result.rows)),
        RowFormat::Json => crate::stdout!("{}", to_json(result)),
    }
    if format != RowFormat::Table && result.more {
        let n = result.rows.rows.len();
        let plural = if n == 1 { "" } else { "s" };
        crate::stderrln!("{n} row{plural} shown; there are more (raise --limit to see them)");
    }
}

fn print_table(result: &LimitedRows) {
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

/// A header line, then a line per row. NULL is an empty field and an empty
/// string `""`, so the two stay apart (DuckDB's `COPY ... (FORMAT csv)`
/// writes them so too). A statement without columns prints nothing.
fn to_csv(rows: &Rows) -> String {
    let mut out = String::new();
    if rows.columns.is_empty() {
        return out;
    }
    let line = |out: &mut String, fields: &mut dyn Iterator<Item = Option<&str>>| {
        let fields: Vec<String> = fields.map(csv_field).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    };
    line(&mut out, &mut rows.columns.iter().map(|c| Some(c.as_str())));
    for r in &rows.rows {
        line(&mut out, &mut r.iter().map(Option::as_deref));
    }
    out
}

/// One CSV field, quoted as RFC 4180 says when it holds a comma, a quote
/// or a line break (quotes doubled), and when it is the empty string.
fn csv_field(value: Option<&str>) -> String {
    match value {
        None => String::new(),
        Some(v) if v.is_empty() || v.contains([',', '"', '\n', '\r']) => {
            format!("\"{}\"", v.replace('"', "\"\""))
        }
        Some(v) => v.to_string(),
    }
}

/// One JSON array, an object per row keyed by column name (a line each):
/// numbers and booleans typed, NULL null, everything else a string.
fn to_json(result: &LimitedRows) -> String {
    let rows = &result.rows;
    let keys: Vec<String> = rows.columns.iter().map(|c| json_string(c)).collect();
    let mut out = String::from("[");
    for (i, r) in rows.rows.iter().enumerate() {
        out.push_str(if i == 0 { "\n{" } else { ",\n{" });
        for (j, (value, key)) in r.iter().zip(&keys).enumerate() {
            if j > 0 {
                out.push(',');
            }
            let kind = result.kinds.get(j).copied().unwrap_or(ValueKind::Text);
            let _ = write!(out, "{key}:{}", json_value(value.as_deref(), kind));
        }
        out.push('}');
    }
    if !rows.rows.is_empty() {
        out.push('\n');
    }
    out.push_str("]\n");
    out
}

/// A value as JSON: a number's or boolean's text as it is when JSON takes
/// it (a float's `inf` or `NaN` does not: it stays a string).
fn json_value(value: Option<&str>, kind: ValueKind) -> String {
    match (value, kind) {
        (None, _) => "null".to_string(),
        (Some(v), ValueKind::Number) if serde_json::from_str::<serde_json::Number>(v).is_ok() => {
            v.to_string()
        }
        (Some(v @ ("true" | "false")), ValueKind::Boolean) => v.to_string(),
        (Some(v), _) => json_string(v),
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(columns: &[&str], kinds: &[ValueKind], rows: &[&[Option<&str>]]) -> LimitedRows {
        LimitedRows {
            rows: Rows {
                columns: columns.iter().map(|c| c.to_string()).collect(),
                rows: rows
                    .iter()
                    .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
                    .collect(),
            },
            kinds: kinds.to_vec(),
            more: false,
        }
    }

    #[test]
    fn csv_quotes_what_rfc_4180_says_and_keeps_null_apart_from_empty() {
        let r = result(
            &["plain", "a,b", "say \"hi\""],
            &[ValueKind::Text; 3],
            &[
                &[Some("x"), Some("1,2"), Some("she said \"no\"")],
                &[None, Some(""), Some("two\nlines\r\n")],
            ],
        );
        assert_eq!(
            to_csv(&r.rows),
            "plain,\"a,b\",\"say \"\"hi\"\"\"\n\
             x,\"1,2\",\"she said \"\"no\"\"\"\n\
             ,\"\",\"two\nlines\r\n\"\n"
        );
    }

    #[test]
    fn json_types_numbers_and_booleans_and_keeps_the_rest_text() {
        use ValueKind::{Boolean, Number, Text};
        let r = result(
            &["n", "f", "b", "t", "s"],
            &[Number, Number, Boolean, Text, Text],
            &[
                &[
                    Some("12.50"),
                    Some("inf"),
                    Some("true"),
                    Some("2024-05-01 00:00:00"),
                    Some("\"quoted\"\n"),
                ],
                &[None, Some("-1e-7"), None, None, Some("")],
            ],
        );
        let text = to_json(&r);
        assert_eq!(
            text,
            "[\n{\"n\":12.50,\"f\":\"inf\",\"b\":true,\"t\":\"2024-05-01 00:00:00\",\"s\":\"\\\"quoted\\\"\\n\"},\n\
             {\"n\":null,\"f\":-1e-7,\"b\":null,\"t\":null,\"s\":\"\"}\n]\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0]["n"], serde_json::json!(12.5));
        assert_eq!(parsed[1]["n"], serde_json::Value::Null);
    }

    #[test]
    fn no_rows_is_an_empty_array_and_no_columns_an_empty_csv() {
        assert_eq!(to_json(&result(&["a"], &[ValueKind::Text], &[])), "[]\n");
        assert_eq!(to_csv(&result(&[], &[], &[]).rows), "");
        assert_eq!(to_csv(&result(&["a"], &[ValueKind::Text], &[]).rows), "a\n");
    }
}
