//! The project's own pages: lineage (the DAG), one page per model, and the
//! recent runs, as plain data for their templates.

use serde::Serialize;
use serde_json::Value as Json;

use super::dashboard::PageError;
use super::lineage;
use super::site::Site;
use crate::nodes::{Node, NodeKind};
use crate::select::select_nodes;

/// The lineage page: the graph of the selection.
#[derive(Serialize)]
pub struct LineagePage {
    /// The selector, as typed.
    pub select: String,
    /// How many nodes it picked.
    pub count: usize,
    /// The graph.
    pub svg: String,
}

/// Builds the lineage page for a selector (empty: every node but tests).
pub fn lineage_page(site: &Site, select: &str) -> Result<LineagePage, PageError> {
    let chosen: Vec<usize> = if select.trim().is_empty() {
        (0..site.dag.nodes.len()).collect()
    } else {
        let words: Vec<String> = select.split_whitespace().map(String::from).collect();
        select_nodes(&site.dag, &words, &[])
            .map_err(|e| PageError::BadRequest(format!("selector `{select}`: {}", e.message)))?
            .nodes
            .into_iter()
            .collect()
    };
    let shown: Vec<usize> = chosen
        .into_iter()
        .filter(|&i| site.dag.nodes[i].kind != NodeKind::Test)
        .collect();
    let nodes: Vec<lineage::Node> = shown
        .iter()
        .map(|&i| {
            let n = &site.dag.nodes[i];
            lineage::Node {
                id: n.name.clone(),
                label: n.name.clone(),
                kind: n.kind.as_str().to_string(),
                href: page_of(n),
            }
        })
        .collect();
    let mut edges = Vec::new();
    for (to, &i) in shown.iter().enumerate() {
        for p in site.dag.parents(i) {
            if let Some(from) = shown.iter().position(|&s| s == p) {
                edges.push((from, to));
            }
        }
    }
    Ok(LineagePage {
        select: select.to_string(),
        count: nodes.len(),
        svg: lineage::render(&nodes, &edges),
    })
}

/// Where a node's page is (sources have none of their own: the lineage).
fn page_of(n: &Node) -> String {
    match n.kind {
        NodeKind::Model | NodeKind::Seed => format!("/models/{}", n.name),
        NodeKind::Source => format!("/lineage?select=source:{}%2B", n.name),
        _ => format!("/lineage?select={}", n.name),
    }
}

/// A model's page.
#[derive(Serialize)]
pub struct ModelPage {
    /// Name.
    pub name: String,
    /// `model` or `seed`.
    pub kind: &'static str,
    /// Where it lives in the lake.
    pub relation: String,
    /// Its file.
    pub path: String,
    /// Documentation.
    pub description: Option<String>,
    /// Materialization.
    pub materialized: String,
    /// Columns: name, type in the lake, declared type, description, tests.
    pub columns: Vec<ColumnRow>,
    /// The file as written.
    pub raw_sql: Option<String>,
    /// The SQL lake runs.
    pub compiled_sql: Option<String>,
    /// The last run's entry for it, if any.
    pub last_run: Option<RunEntry>,
    /// Direct parents: name and link.
    pub upstream: Vec<(String, String)>,
    /// Direct children: name and link.
    pub downstream: Vec<(String, String)>,
}

/// One row of the columns table.
#[derive(Serialize)]
pub struct ColumnRow {
    /// Name.
    pub name: String,
    /// Type in the lake (empty when not built).
    pub lake_type: String,
    /// Type the properties declare.
    pub declared_type: String,
    /// Documentation.
    pub description: String,
    /// Data tests on it.
    pub tests: Vec<String>,
}

/// Builds the page of model (or seed) `name`.
pub fn model_page(site: &Site, name: &str) -> Result<ModelPage, PageError> {
    let node = site
        .node(name)
        .ok_or_else(|| PageError::NotFound(format!("no model or seed `{name}` in this project")))?;
    let i = site.dag.position(&node.unique_id).unwrap_or_default();
    let link = |j: usize| {
        let n = &site.dag.nodes[j];
        (n.name.clone(), page_of(n))
    };
    let not_test = |j: &usize| site.dag.nodes[*j].kind != NodeKind::Test;
    Ok(ModelPage {
        name: node.name.clone(),
        kind: node.kind.as_str(),
        relation: node
            .relation
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_default(),
        path: node.path.display().to_string(),
        description: node.description.clone(),
        materialized: format!("{:?}", node.materialized()).to_lowercase(),
        columns: columns(site, node),
        raw_sql: (node.kind == NodeKind::Model)
            .then(|| std::fs::read_to_string(site.root.join(&node.path)).ok())
            .flatten(),
        compiled_sql: node.compiled_sql.clone(),
        last_run: last_runs(site)
            .into_iter()
            .find(|r| r.unique_id == node.unique_id),
        upstream: site
            .dag
            .parents(i)
            .into_iter()
            .filter(not_test)
            .map(link)
            .collect(),
        downstream: site
            .dag
            .children(i)
            .into_iter()
            .filter(not_test)
            .map(link)
            .collect(),
    })
}

/// Declared columns first, then any others the lake has.
fn columns(site: &Site, node: &Node) -> Vec<ColumnRow> {
    let in_lake: Vec<(String, String)> = site
        .replica()
        .zip(node.relation.as_ref())
        .and_then(|(r, rel)| {
            r.columns
                .get(&format!("{}.{}", rel.schema, rel.identifier))
                .cloned()
        })
        .unwrap_or_default();
    let lake_type = |name: &str| {
        in_lake
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let mut rows: Vec<ColumnRow> = node
        .columns
        .iter()
        .map(|c| ColumnRow {
            name: c.name.clone(),
            lake_type: lake_type(&c.name),
            declared_type: c.data_type.clone().unwrap_or_default(),
            description: c.description.clone().unwrap_or_default(),
            tests: tests_on(site, node, &c.name),
        })
        .collect();
    for (name, ty) in &in_lake {
        if !rows.iter().any(|r| &r.name == name) {
            rows.push(ColumnRow {
                name: name.clone(),
                lake_type: ty.clone(),
                declared_type: String::new(),
                description: String::new(),
                tests: tests_on(site, node, name),
            });
        }
    }
    rows
}

/// Names of the data tests on `column` of `node`.
fn tests_on(site: &Site, node: &Node, column: &str) -> Vec<String> {
    site.dag
        .nodes
        .iter()
        .filter(|t| t.kind == NodeKind::Test)
        .filter(|t| t.attached_node.as_deref() == Some(node.unique_id.as_str()))
        .filter(|t| {
            t.name.contains(&format!("_{}_{column}", node.name))
                || t.name.ends_with(&format!("_{column}"))
        })
        .map(|t| t.name.clone())
        .collect()
}

/// One node's entry in a run.
#[derive(Serialize, Clone)]
pub struct RunEntry {
    /// Node id.
    pub unique_id: String,
    /// success, error, skipped, pass, fail...
    pub status: String,
    /// Seconds.
    pub seconds: f64,
    /// Rows written, when known.
    pub rows: Option<u64>,
    /// Error or note.
    pub message: Option<String>,
}

/// One run in the list of recent runs.
#[derive(Serialize)]
pub struct RunSummary {
    /// When it started.
    pub started_at: String,
    /// The command line.
    pub args: String,
    /// How long it took, seconds.
    pub elapsed: f64,
    /// Nodes that succeeded or passed.
    pub ok: usize,
    /// Nodes that failed (errors and failing tests).
    pub failed: usize,
    /// Nodes skipped.
    pub skipped: usize,
    /// Link to its detail.
    pub href: String,
}

/// The runs page: recent runs, and one of them node by node.
#[derive(Serialize)]
pub struct RunsPage {
    /// Newest first.
    pub runs: Vec<RunSummary>,
    /// The run shown in detail.
    pub shown: RunSummary,
    /// Its node results, in run order.
    pub entries: Vec<RunEntry>,
    /// Its hook results (extract, cleanup): name, status, summary.
    pub hooks: Vec<(String, String, String)>,
}

/// How many recent runs the page lists.
const RUNS_LISTED: usize = 20;

/// Reads `target/runs/*.json` (newest first; else `target/run_results.json`)
/// and details run number `pick` (0: the newest). None: no run yet.
pub fn runs_page(site: &Site, pick: usize) -> Option<RunsPage> {
    let docs = recent_runs(site);
    let summaries: Vec<RunSummary> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| summary(d, i))
        .collect();
    let i = pick.min(docs.len().checked_sub(1)?);
    let doc = &docs[i];
    let text = |v: &Json| v.as_str().unwrap_or_default().to_string();
    Some(RunsPage {
        shown: summary(doc, i),
        runs: summaries,
        entries: entries(doc),
        hooks: doc["hooks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                let name = format!("{} {}", text(&h["when"]), text(&h["hook"]));
                (name, text(&h["status"]), text(&h["message"]))
            })
            .collect(),
    })
}

fn summary(doc: &Json, index: usize) -> RunSummary {
    let all = entries(doc);
    let count = |names: &[&str]| {
        all.iter()
            .filter(|e| names.contains(&e.status.as_str()))
            .count()
    };
    RunSummary {
        started_at: doc["metadata"]["generated_at"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        args: doc["args"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
        elapsed: doc["elapsed_time"].as_f64().unwrap_or_default(),
        ok: count(&["success", "pass"]),
        failed: count(&["error", "fail"]),
        skipped: count(&["skipped"]),
        href: format!("/runs?run={index}"),
    }
}

/// The recent runs, newest first.
fn recent_runs(site: &Site) -> Vec<Json> {
    let files = crate::artifacts::run_history(&site.target_dir);
    let docs: Vec<Json> = files
        .iter()
        .rev()
        .take(RUNS_LISTED)
        .filter_map(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
        .collect();
    if docs.is_empty() {
        return read_run_results(site).into_iter().collect();
    }
    docs
}

fn read_run_results(site: &Site) -> Option<Json> {
    let text = std::fs::read_to_string(site.target_dir.join("run_results.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn last_runs(site: &Site) -> Vec<RunEntry> {
    read_run_results(site)
        .map(|d| entries(&d))
        .unwrap_or_default()
}

fn entries(doc: &Json) -> Vec<RunEntry> {
    doc["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| RunEntry {
            unique_id: r["unique_id"].as_str().unwrap_or_default().to_string(),
            status: r["status"].as_str().unwrap_or_default().to_string(),
            seconds: r["execution_time"].as_f64().unwrap_or_default(),
            rows: r["rows_affected"].as_u64(),
            message: r["message"].as_str().map(String::from),
        })
        .collect()
}
