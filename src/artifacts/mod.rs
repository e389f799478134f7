//! Artifacts, the last stage: what lake leaves in `target/` for people and
//! tools: the compiled SQL of every node and `manifest.json` (nodes, edges,
//! config, checksums). Output is sorted so artifacts diff cleanly.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

mod run_results;

pub use run_results::{run_history, write_run_results, RunMeta};

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic};
use crate::graph::Dag;
use crate::nodes::{Node, NodeKind};
use crate::project::Project;

/// Where a node's compiled SQL is written, relative to the target dir.
pub fn compiled_path(node: &Node) -> Option<PathBuf> {
    node.compiled_sql.as_ref()?;
    let mut p = PathBuf::from("compiled");
    match node.kind {
        NodeKind::Model => {
            for f in &node.fqn[..node.fqn.len() - 1] {
                p.push(f);
            }
        }
        _ => p.push("tests"),
    }
    p.push(format!("{}.sql", node.name));
    Some(p)
}

/// Writes the compiled SQL of `selected` nodes (all when `None`). Files
/// whose content is unchanged are left alone, and with a full selection the
/// files of deleted nodes are removed, so `target/compiled` mirrors the
/// project without rewriting thousands of files on every compile.
pub fn write_compiled(
    project: &Project,
    dag: &Dag,
    selected: Option<&[usize]>,
) -> Result<usize, Diagnostic> {
    let dir = project.target_dir.join("compiled");
    let all: Vec<usize> = (0..dag.nodes.len()).collect();
    let indices = selected.unwrap_or(&all);
    let jobs: Vec<(PathBuf, &str)> = indices
        .iter()
        .filter_map(|&i| {
            let n = &dag.nodes[i];
            Some((
                project.target_dir.join(compiled_path(n)?),
                n.compiled_sql.as_deref()?,
            ))
        })
        .collect();
    if selected.is_none() && dir.exists() {
        let keep: std::collections::HashSet<&Path> =
            jobs.iter().map(|(p, _)| p.as_path()).collect();
        for entry in walkdir::WalkDir::new(&dir)
            .into_iter()
            .filter_map(Result::ok)
        {
            if entry.file_type().is_file() && !keep.contains(entry.path()) {
                std::fs::remove_file(entry.path()).map_err(|e| io_error(entry.path(), e))?;
            }
        }
    }
    let mut dirs: Vec<&Path> = jobs.iter().filter_map(|(p, _)| p.parent()).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        std::fs::create_dir_all(d).map_err(|e| io_error(d, e))?;
    }
    let results = crate::parallel::map_in_order(&jobs, 512, |(path, sql)| {
        if std::fs::read(path).is_ok_and(|old| old == sql.as_bytes()) {
            return Ok(());
        }
        std::fs::write(path, sql).map_err(|e| io_error(path, e))
    });
    for r in results {
        r?;
    }
    Ok(jobs.len())
}

fn io_error(path: &Path, e: std::io::Error) -> Diagnostic {
    Diagnostic::new(Code::Io, format!("cannot write {}: {e}", path.display()))
}

#[derive(Serialize)]
struct Manifest<'a> {
    metadata: Metadata<'a>,
    nodes: BTreeMap<&'a str, ManifestNode<'a>>,
    parent_map: BTreeMap<&'a str, Vec<&'a str>>,
    child_map: BTreeMap<&'a str, Vec<&'a str>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    lake_version: &'static str,
    project_name: &'a str,
    generated_at: &'a str,
    target_name: &'a str,
    catalog_type: &'a str,
    database: &'a str,
}

#[derive(Serialize)]
struct ManifestNode<'a> {
    name: &'a str,
    resource_type: NodeKind,
    original_file_path: String,
    fqn: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    relation_name: Option<String>,
    unique_id: &'a str,
    config: &'a crate::project::NodeConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    checksum: Option<&'a str>,
    depends_on: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    columns: &'a [crate::project::ColumnProperties],
    #[serde(skip_serializing_if = "Option::is_none")]
    attached_node: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compiled_path: Option<String>,
}

/// Writes `target/manifest.json` describing every node and edge.
pub fn write_manifest(
    project: &Project,
    dag: &Dag,
    generated_at: &str,
) -> Result<PathBuf, Diagnostic> {
    let mut nodes = BTreeMap::new();
    let mut parent_map = BTreeMap::new();
    let mut child_map = BTreeMap::new();
    for (i, n) in dag.nodes.iter().enumerate() {
        nodes.insert(
            n.unique_id.as_str(),
            ManifestNode {
                name: &n.name,
                resource_type: n.kind,
                original_file_path: crate::diagnostic::display_path(&n.path),
                fqn: &n.fqn,
                relation_name: n.relation.as_ref().map(ToString::to_string),
                unique_id: &n.unique_id,
                config: &n.config,
                checksum: n.checksum.as_deref(),
                depends_on: &n.depends_on,
                description: n.description.as_deref(),
                columns: &n.columns,
                attached_node: n.attached_node.as_deref(),
                compiled_path: compiled_path(n)
                    .map(|p| crate::diagnostic::display_path(&Path::new("target").join(p))),
            },
        );
        parent_map.insert(
            n.unique_id.as_str(),
            dag.parents(i)
                .iter()
                .map(|&p| dag.nodes[p].unique_id.as_str())
                .collect(),
        );
        child_map.insert(
            n.unique_id.as_str(),
            dag.children(i)
                .iter()
                .map(|&c| dag.nodes[c].unique_id.as_str())
                .collect(),
        );
    }
    let manifest = Manifest {
        metadata: Metadata {
            lake_version: env!("CARGO_PKG_VERSION"),
            project_name: &project.name,
            generated_at,
            target_name: &project.target.name,
            catalog_type: project.target.catalog_type(),
            database: &project.target.database,
        },
        nodes,
        parent_map,
        child_map,
    };
    std::fs::create_dir_all(&project.target_dir).map_err(|e| io_error(&project.target_dir, e))?;
    let path = project.target_dir.join("manifest.json");
    let file = std::fs::File::create(&path).map_err(|e| io_error(&path, e))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, &manifest)
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot write manifest: {e}")))?;
    w.write_all(b"\n")
        .and_then(|_| w.flush())
        .map_err(|e| io_error(&path, e))?;
    Ok(path)
}
