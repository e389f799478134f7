//! `lake history`: the runs recorded in the lake's snapshots, newest
//! first, or the versions of one model's table. Everything comes from the
//! catalog (each snapshot's commit message and DuckLake's own record of
//! what it changed), nothing from local files, so any checkout that can
//! reach the lake sees every run, whoever made it. The lake is opened
//! read-only and let go of before anything is printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::{compile_project, load, warehouse_failure, Failure};
use crate::cli::{GlobalArgs, HistoryArgs, EXIT_LOCKED, EXIT_OK};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::history::read::{catalog_names, changes, snapshots, Changes, Snapshot};
use crate::history::runs::{self, short_time, Entry, Version, WrittenBy};
use crate::nodes::NodeKind;
use crate::project::Target;
use crate::warehouse::{OpenError, Warehouse, WarehouseError};

/// Nodes listed per run in the text output; `--json` lists them all.
const NODES_SHOWN: usize = 10;

/// Runs `lake history`.
pub fn run(global: &GlobalArgs, args: &HistoryArgs) -> Result<u8, Failure> {
    let (target, table) = match &args.model {
        Some(model) => {
            let compiled = compile_project(global)?;
            let table = resolve_model(&compiled.dag.nodes, model)?;
            (compiled.project.target, Some(table))
        }
        None => (load(global)?.target, None),
    };
    super::require_snapshots(&target, "`lake history`")?;
    let Some(lake) = read_lake(&target)? else {
        return Ok(EXIT_LOCKED);
    };
    match table {
        None => {
            let entries = runs::group(&lake.snapshots, &lake.changes, &lake.names);
            let shown = &entries[..entries.len().min(args.limit)];
            if args.json {
                crate::stdout!("{}", to_json(shown));
            } else {
                crate::stdout!("{}", runs_text(shown, entries.len()));
            }
        }
        Some(table) => {
            let versions = runs::versions(&lake.snapshots, &lake.changes, &lake.names, &table);
            let shown = &versions[..versions.len().min(args.limit)];
            if args.json {
                crate::stdout!("{}", to_json(shown));
            } else {
                crate::stdout!("{}", versions_text(&table.relation, shown, versions.len()));
            }
        }
    }
    Ok(EXIT_OK)
}

/// What `lake history` reads from the catalog, read in one go so the lake
/// is let go of before printing.
struct Lake {
    snapshots: Vec<Snapshot>,
    changes: BTreeMap<i64, Changes>,
    names: BTreeMap<i64, String>,
}

/// Reads the catalog's history; `None` (reported) when a run is writing
/// an embedded lake: exit 75, as for `lake query`.
fn read_lake(target: &Target) -> Result<Option<Lake>, Failure> {
    let reader = match Warehouse::open_reader(target) {
        Ok(r) => r,
        Err(OpenError::CatalogBusy(busy)) => {
            busy.diagnostic().emit_stderr();
            return Ok(None);
        }
        Err(OpenError::Failed(e)) => return Err(warehouse_failure(e)),
    };
    let db = reader.database().to_string();
    let metadata_schema = target.catalog.metadata_schema();
    let read = || -> Result<Lake, WarehouseError> {
        let session = reader.catalog()?;
        Ok(Lake {
            snapshots: snapshots(&session, &db)?,
            changes: changes(&session, &db)?,
            names: catalog_names(&session, &db, metadata_schema),
        })
    };
    read()
        .map(Some)
        .map_err(|e| warehouse_failure(e.with_context("cannot read the lake's snapshots")))
}

/// `--model M`: a model, seed or source of the project by name (as `lake
/// show` finds it), or a `schema.table` the project no longer has.
fn resolve_model(nodes: &[crate::nodes::Node], model: &str) -> Result<runs::Table, Failure> {
    let found = nodes
        .iter()
        .find(|n| n.name == model && n.kind != NodeKind::Test);
    if let Some(r) = found.and_then(|n| n.relation.as_ref()) {
        return Ok(runs::Table {
            unique_id: found.map(|n| n.unique_id.clone()),
            relation: format!("{}.{}", r.schema, r.identifier),
        });
    }
    if found.is_none() && model.split('.').count() == 2 {
        return Ok(runs::Table {
            unique_id: None,
            relation: model.to_string(),
        });
    }
    let mut d = match found {
        Some(_) => Diagnostic::new(
            Code::UnknownRef,
            format!("`{model}` is ephemeral: it has no table in the lake"),
        ),
        None => Diagnostic::new(
            Code::UnknownRef,
            format!("no model, seed or source named `{model}`"),
        ),
    };
    if let Some(s) = did_you_mean(model, nodes.iter().map(|n| n.name.as_str())) {
        d = d.with_help(format!("did you mean `{s}`?"));
    } else if found.is_none() {
        d = d.with_help(
            "name a model, seed or source of the project (`lake ls`), or a table as `schema.table`",
        );
    }
    Err(Failure::Usage(d))
}

/// One JSON array, pretty-printed (field names: [`runs::JSON_FIELDS`]).
fn to_json<T: serde::Serialize>(items: &[T]) -> String {
    let mut text = serde_json::to_string_pretty(items).expect("plain data serializes");
    text.push('\n');
    text
}

/// Each entry as a block: its header line, then what it did.
fn runs_text(shown: &[Entry], total: usize) -> String {
    let mut out = String::new();
    if total == 0 {
        out.push_str("no snapshots in the lake yet\n");
    }
    for e in shown {
        match e.written_by {
            WrittenBy::Lake => run_block(&mut out, e),
            WrittenBy::Outside => outside_block(&mut out, e),
        }
        out.push('\n');
    }
    if total > shown.len() {
        let more = total - shown.len();
        let _ = writeln!(out, "{more} older not shown (raise --limit)");
    }
    out
}

fn run_block(out: &mut String, e: &Entry) {
    let _ = writeln!(
        out,
        "run {}  {} UTC  {}",
        e.run_id.as_deref().unwrap_or("?"),
        short_time(&e.time),
        e.status.as_deref().unwrap_or("-")
    );
    let _ = writeln!(out, "  {}", e.command.as_deref().unwrap_or(""));
    let mut facts = Vec::new();
    if let Some(s) = &e.schedule {
        facts.push(format!("schedule {s}"));
    }
    if let Some(t) = &e.target {
        facts.push(format!("target {t}"));
    }
    if let Some(g) = &e.git {
        let short = g.commit.get(..10).unwrap_or(&g.commit);
        facts.push(format!(
            "git {short}{}",
            if g.dirty { " (dirty)" } else { "" }
        ));
    }
    if let Some(v) = &e.lake_version {
        facts.push(format!("lake {v}"));
    }
    let ids: Vec<i64> = e.snapshots.iter().map(|s| s.id).collect();
    let noun = if ids.len() == 1 {
        "snapshot"
    } else {
        "snapshots"
    };
    facts.push(format!("{noun} {}", id_list(&ids)));
    let _ = writeln!(out, "  {}", facts.join(" · "));
    let hooks: Vec<&str> = e
        .snapshots
        .iter()
        .filter_map(|s| s.hook.as_deref())
        .collect();
    if !hooks.is_empty() {
        let _ = writeln!(out, "  hooks: {}", hooks.join(" · "));
    }
    if let Some(u) = &e.undoes {
        let what = u
            .run_id
            .as_deref()
            .map_or(String::new(), |r| format!("run {r}, "));
        let _ = writeln!(
            out,
            "  undid {what}snapshots {}..{} (back to {})",
            u.to_snapshot + 1,
            u.from_snapshot,
            u.to_snapshot
        );
    }
    if e.nodes.is_empty() {
        let _ = writeln!(out, "  published no node");
        return;
    }
    let _ = writeln!(out, "  published {}:", plural(e.nodes.len(), "node"));
    let width = e.nodes.iter().map(|n| n.relation.len()).max().unwrap_or(0);
    for n in e.nodes.iter().take(NODES_SHOWN) {
        let rows = n
            .rows
            .map_or("-".to_string(), |r| plural(r as usize, "row"));
        // A load publishes one landed file: say which.
        let file = e
            .snapshots
            .iter()
            .find(|s| s.id == n.snapshot)
            .and_then(|s| s.file.as_deref())
            .map_or(String::new(), |f| format!("  from {f}"));
        let _ = writeln!(out, "    {:<width$}  {rows}{file}", n.relation);
    }
    if e.nodes.len() > NODES_SHOWN {
        let more = e.nodes.len() - NODES_SHOWN;
        let _ = writeln!(out, "    ... {more} more (--json lists them all)");
    }
}

fn outside_block(out: &mut String, e: &Entry) {
    for s in &e.snapshots {
        // DuckLake's own first snapshot: the catalog being created.
        let what = if s.id == 0 {
            "the catalog was created"
        } else {
            "written outside lake (no lake commit message)"
        };
        let _ = writeln!(
            out,
            "snapshot {}  {} UTC  {what}",
            s.id,
            short_time(&s.time)
        );
        if let Some(m) = &s.message {
            let by = s
                .author
                .as_deref()
                .map_or(String::new(), |a| format!(" by {a}"));
            let _ = writeln!(out, "  message{by}: {m}");
        }
        for (kind, values) in &s.changes {
            let _ = writeln!(out, "  {kind}: {}", values.join(", "));
        }
    }
}

/// A table: one row per version of the relation.
fn versions_text(relation: &str, shown: &[Version], total: usize) -> String {
    let mut out = String::new();
    if total == 0 {
        let _ = writeln!(out, "no snapshot of the lake changed {relation}");
        return out;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "SNAPSHOT",
        "TIME (UTC)",
        "RUN",
        "COMMAND",
        "ROWS",
        "CHANGE",
    ]);
    for v in shown {
        let run = match v.written_by {
            WrittenBy::Lake => v.run_id.clone().unwrap_or_default(),
            WrittenBy::Outside => "written outside lake".to_string(),
        };
        table.add_row([
            v.snapshot.to_string(),
            short_time(&v.time),
            run,
            v.command.clone().unwrap_or_default(),
            v.rows.map_or(String::new(), |r| r.to_string()),
            change_words(&v.changes),
        ]);
    }
    let _ = writeln!(out, "versions of {relation}, newest first");
    let _ = writeln!(out, "{table}");
    if total > shown.len() {
        let _ = writeln!(
            out,
            "{} older not shown (raise --limit)",
            total - shown.len()
        );
    }
    out
}

/// DuckLake's kinds of change to one table, in words: a table created
/// where one was dropped is `replaced`, and rows written by creating it
/// are not listed again.
fn change_words(kinds: &[String]) -> String {
    let has = |k: &str| kinds.iter().any(|x| x == k);
    let created = has("tables_created") || has("views_created");
    let dropped = has("tables_dropped") || has("views_dropped");
    let mut words: Vec<String> = Vec::new();
    match (created, dropped) {
        (true, true) => words.push("replaced".into()),
        (true, false) => words.push("created".into()),
        (false, true) => words.push("dropped".into()),
        (false, false) => {}
    }
    for k in kinds {
        let word = match k.as_str() {
            "tables_created" | "views_created" | "tables_dropped" | "views_dropped" => continue,
            "tables_inserted_into" | "inlined_insert" if created => continue,
            "tables_inserted_into" | "inlined_insert" => "rows inserted",
            "tables_deleted_from" | "inlined_delete" => "rows deleted",
            other => other,
        };
        if !words.iter().any(|w| w == word) {
            words.push(word.to_string());
        }
    }
    words.join(", ")
}

/// `3 rows`, `1 row`.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Snapshot ids, a consecutive run of three or more as `12-15`.
fn id_list(ids: &[i64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}-{}", ids[i], ids[j]));
        } else {
            parts.extend(ids[i..=j].iter().map(i64::to_string));
        }
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_collapse_into_ranges() {
        assert_eq!(id_list(&[3, 4, 5, 7, 9, 10]), "3-5, 7, 9, 10");
        assert_eq!(id_list(&[]), "");
    }

    #[test]
    fn changes_read_as_words() {
        let w = |k: &[&str]| change_words(&k.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            w(&["inlined_insert", "tables_created", "tables_dropped"]),
            "replaced"
        );
        assert_eq!(w(&["tables_created", "tables_inserted_into"]), "created");
        assert_eq!(
            w(&["inlined_insert", "tables_deleted_from"]),
            "rows inserted, rows deleted"
        );
        assert_eq!(w(&["tables_altered"]), "tables_altered");
    }
}
