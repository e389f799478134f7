//! Finds the project's files (walkdir) and merges property files into the
//! models, seeds and sources they describe. Duplicate names and properties
//! for nodes that do not exist are reported with both files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use super::config::{inherit, FolderConfig, Materialization, NodeConfig};
use super::dashboards::{self, Dashboard, KnownModel};
use super::properties::{NodeProperties, PropertiesFile, TestSpec};
use super::{yaml, GenericTest, ModelFile, SeedFile, SourceFile, SourceTable, TestedNode};
use crate::diagnostic::{did_you_mean, Code, Diagnostic, Diagnostics};

/// Folders to search, relative to the project root.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Model folders.
    pub models: Vec<String>,
    /// Seed folders.
    pub seeds: Vec<String>,
    /// Macro folders.
    pub macros: Vec<String>,
    /// Singular test folders.
    pub tests: Vec<String>,
}

/// Everything found on disk.
#[derive(Debug, Default)]
pub struct Found {
    /// Models, sorted by name.
    pub models: Vec<ModelFile>,
    /// Seeds, sorted by name.
    pub seeds: Vec<SeedFile>,
    /// Macro files, sorted by path.
    pub macros: Vec<SourceFile>,
    /// Singular tests, sorted by path.
    pub singular_tests: Vec<SourceFile>,
    /// Source tables, in declaration order.
    pub sources: Vec<SourceTable>,
    /// Generic tests, in declaration order.
    pub generic_tests: Vec<GenericTest>,
    /// Dashboards, in declaration order.
    pub dashboards: Vec<Dashboard>,
    /// Properties files, sorted by path.
    pub property_files: Vec<SourceFile>,
}

/// Walks the project and builds [`Found`].
pub fn discover(
    root: &Path,
    paths: &Paths,
    model_folders: &[FolderConfig],
    seed_folders: &[FolderConfig],
    diags: &mut Diagnostics,
) -> Found {
    let mut found = Found::default();
    let mut property_files = Vec::new();
    for base in &paths.models {
        let files = files_under(root, base, &["sql", "yml", "yaml"]);
        for ((rel, folders), read) in files.iter().cloned().zip(read_with_checksums(root, &files)) {
            let (text, checksum) = match read {
                Ok(ok) => ok,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            if rel.extension().is_some_and(|e| e == "sql") {
                let name = stem(&rel);
                let mut config = NodeConfig::default();
                inherit(model_folders, &folders, &mut config);
                found.models.push(ModelFile {
                    checksum,
                    name,
                    file: SourceFile { path: rel, text },
                    folders,
                    config,
                    description: None,
                    columns: Vec::new(),
                    patch_path: None,
                });
            } else {
                property_files.push(SourceFile { path: rel, text });
            }
        }
    }
    for base in &paths.seeds {
        for (rel, folders) in files_under(root, base, &["csv", "yml", "yaml"]) {
            if rel.extension().is_some_and(|e| e == "csv") {
                let Ok(bytes) = std::fs::read(root.join(&rel)) else {
                    continue;
                };
                let mut config = NodeConfig {
                    materialized: Materialization::Seed,
                    ..NodeConfig::default()
                };
                inherit(seed_folders, &folders, &mut config);
                found.seeds.push(SeedFile {
                    name: stem(&rel),
                    checksum: hex(&Sha256::digest(&bytes)),
                    path: rel,
                    folders,
                    config,
                    description: None,
                    columns: Vec::new(),
                });
            } else if let Some(text) = read(root, &rel, diags) {
                property_files.push(SourceFile { path: rel, text });
            }
        }
    }
    for base in &paths.macros {
        for (rel, _) in files_under(root, base, &["sql", "jinja", "j2"]) {
            if let Some(text) = read(root, &rel, diags) {
                found.macros.push(SourceFile { path: rel, text });
            }
        }
    }
    for base in &paths.tests {
        for (rel, _) in files_under(root, base, &["sql"]) {
            if let Some(text) = read(root, &rel, diags) {
                found.singular_tests.push(SourceFile { path: rel, text });
            }
        }
    }
    found.models.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| a.file.path.cmp(&b.file.path))
    });
    found
        .seeds
        .sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    found.macros.sort_by(|a, b| a.path.cmp(&b.path));
    found.singular_tests.sort_by(|a, b| a.path.cmp(&b.path));
    report_duplicates(&found, diags);
    property_files.sort_by(|a, b| a.path.cmp(&b.path));
    for pf in &property_files {
        apply_properties(pf, &mut found, diags);
    }
    found.models.retain(|m| m.config.enabled);
    found.seeds.retain(|s| s.config.enabled);
    check_dashboards(&property_files, &found, diags);
    found.property_files = property_files;
    found
}

/// Every file under `root/base` with one of `exts`, with its folders below `base`.
fn files_under(root: &Path, base: &str, exts: &[&str]) -> Vec<(PathBuf, Vec<String>)> {
    let dir = root.join(base);
    let mut out = Vec::new();
    for entry in WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
    {
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        if !path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
        {
            continue;
        }
        let Ok(below) = path.strip_prefix(&dir) else {
            continue;
        };
        let folders = below
            .parent()
            .map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
        out.push((rel, folders));
    }
    out
}

/// Reads and hashes `files` on all cores: on large projects this is most of
/// the loading time. Results are in input order.
fn read_with_checksums(
    root: &Path,
    files: &[(PathBuf, Vec<String>)],
) -> Vec<Result<(String, String), Diagnostic>> {
    let one = |rel: &Path| {
        std::fs::read_to_string(root.join(rel))
            .map(|text| {
                let sum = sha256(&text);
                (text, sum)
            })
            .map_err(|e| Diagnostic::new(Code::Io, format!("cannot read {}: {e}", rel.display())))
    };
    crate::parallel::map_in_order(files, 256, |(rel, _)| one(rel))
}

fn read(root: &Path, rel: &Path, diags: &mut Diagnostics) -> Option<String> {
    match std::fs::read_to_string(root.join(rel)) {
        Ok(t) => Some(t),
        Err(e) => {
            diags.push(Diagnostic::new(
                Code::Io,
                format!("cannot read {}: {e}", rel.display()),
            ));
            None
        }
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn report_duplicates(found: &Found, diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, (&Path, &str)> = HashMap::new();
    let nodes = found
        .models
        .iter()
        .map(|m| (m.name.as_str(), m.file.path.as_path(), m.file.text.as_str()))
        .chain(
            found
                .seeds
                .iter()
                .map(|s| (s.name.as_str(), s.path.as_path(), "")),
        );
    for (name, path, text) in nodes {
        if let Some((first, first_text)) = seen.get(name) {
            diags.push(
                Diagnostic::new(Code::DuplicateName, format!("two nodes are named `{name}`"))
                    .at(first, first_text, None, "first defined here")
                    .also_at(path, text, None, "and again here")
                    .with_help("node names come from file names and must be unique across models and seeds: rename one file"),
            );
        } else {
            seen.insert(name, (path, text));
        }
    }
}

fn apply_properties(pf: &SourceFile, found: &mut Found, diags: &mut Diagnostics) {
    let props: PropertiesFile = match yaml::parse(&pf.path, &pf.text) {
        Ok(p) => p,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    found
        .dashboards
        .extend(props.dashboards.into_iter().map(|mut d| {
            d.defined_in = pf.path.clone();
            d
        }));
    let model_names: Vec<String> = found.models.iter().map(|m| m.name.clone()).collect();
    for (i, p) in props.models.iter().enumerate() {
        let Some(model) = found.models.iter_mut().find(|m| m.name == p.name) else {
            diags.push(unknown_node(pf, "models", i, &p.name, &model_names));
            continue;
        };
        apply_node_config(pf, p, &mut model.config, diags);
        model.description = p.description.clone();
        model.columns = p.columns.clone();
        model.patch_path = Some(pf.path.clone());
        collect_tests(
            pf,
            p,
            TestedNode::Node(p.name.clone()),
            &mut found.generic_tests,
            diags,
        );
    }
    let seed_names: Vec<String> = found.seeds.iter().map(|s| s.name.clone()).collect();
    for (i, p) in props.seeds.iter().enumerate() {
        let Some(seed) = found.seeds.iter_mut().find(|s| s.name == p.name) else {
            diags.push(unknown_node(pf, "seeds", i, &p.name, &seed_names));
            continue;
        };
        apply_node_config(pf, p, &mut seed.config, diags);
        seed.description = p.description.clone();
        seed.columns = p.columns.clone();
        collect_tests(
            pf,
            p,
            TestedNode::Node(p.name.clone()),
            &mut found.generic_tests,
            diags,
        );
    }
    for src in &props.sources {
        for t in &src.tables {
            found.sources.push(SourceTable {
                source_name: src.name.clone(),
                name: t.name.clone(),
                schema: src.schema.clone().unwrap_or_else(|| src.name.clone()),
                database: src.database.clone(),
                identifier: t.identifier.clone().unwrap_or_else(|| t.name.clone()),
                external_location: t.external_location.clone(),
                description: t.description.clone(),
                columns: t.columns.clone(),
                tags: src.tags.iter().chain(t.tags.iter()).cloned().collect(),
                defined_in: pf.path.clone(),
            });
            let as_node = NodeProperties {
                name: format!("{}_{}", src.name, t.name),
                description: None,
                config: IndexMap::new(),
                columns: t.columns.clone(),
                tests: t.tests.clone(),
                meta: IndexMap::new(),
            };
            collect_tests(
                pf,
                &as_node,
                TestedNode::Source(src.name.clone(), t.name.clone()),
                &mut found.generic_tests,
                diags,
            );
        }
    }
}

/// Dashboards are checked once every model's columns are known.
fn check_dashboards(property_files: &[SourceFile], found: &Found, diags: &mut Diagnostics) {
    let models: Vec<KnownModel> = found
        .models
        .iter()
        .map(|m| KnownModel {
            name: &m.name,
            columns: &m.columns,
        })
        .chain(found.seeds.iter().map(|s| KnownModel {
            name: &s.name,
            columns: &s.columns,
        }))
        .collect();
    for pf in property_files {
        let mine: Vec<Dashboard> = found
            .dashboards
            .iter()
            .filter(|d| d.defined_in == pf.path)
            .cloned()
            .collect();
        dashboards::validate(&mine, &pf.path, &pf.text, &models, diags);
    }
    let mut names = HashSet::new();
    for d in &found.dashboards {
        if !names.insert(&d.name) {
            diags.push(Diagnostic::new(
                Code::DuplicateName,
                format!(
                    "dashboard `{}` is declared in more than one file ({})",
                    d.name,
                    d.defined_in.display()
                ),
            ));
        }
    }
}

fn unknown_node(
    pf: &SourceFile,
    section: &str,
    _index: usize,
    name: &str,
    known: &[String],
) -> Diagnostic {
    let span = find_name_line(&pf.text, name);
    let d = Diagnostic::new(
        Code::UnknownRef,
        format!(
            "{} describes {section} `{name}`, which does not exist",
            pf.path.display()
        ),
    )
    .at(&pf.path, &pf.text, span, "no such file");
    match did_you_mean(name, known.iter().map(String::as_str)) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d.with_help(format!("create the file for `{name}` or remove this entry")),
    }
}

/// The span of `name: <name>` in a properties file.
fn find_name_line(text: &str, name: &str) -> Option<crate::diagnostic::Span> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        if let Some(rest) = t.strip_prefix("name:") {
            if rest.trim().trim_matches(['"', '\'']) == name {
                let start = offset + line.find(name).unwrap_or(0);
                return Some(crate::diagnostic::Span::Bytes(start..start + name.len()));
            }
        }
        offset += line.len();
    }
    None
}

fn apply_node_config(
    pf: &SourceFile,
    p: &NodeProperties,
    config: &mut NodeConfig,
    diags: &mut Diagnostics,
) {
    for (k, v) in &p.config {
        let json = serde_json::to_value(v).unwrap_or(Json::Null);
        if let Err(e) = config.apply(k, &json) {
            let mut d = Diagnostic::new(
                Code::InvalidValue,
                format!("{} (in properties of `{}`)", e.message, p.name),
            )
            .at(
                &pf.path,
                &pf.text,
                find_name_line(&pf.text, &p.name),
                "in this entry",
            );
            if e.message.starts_with("unknown") {
                d.code = Code::UnknownKey;
            }
            if let Some(h) = e.help {
                d = d.with_help(h);
            }
            diags.push(d);
        }
    }
}

/// Generic tests lake knows how to compile, with their required arguments.
pub const GENERIC_TESTS: &[(&str, &[&str])] = &[
    ("unique", &[]),
    ("not_null", &[]),
    ("accepted_values", &["values"]),
    ("relationships", &["to", "field"]),
];

fn collect_tests(
    pf: &SourceFile,
    p: &NodeProperties,
    attached: TestedNode,
    out: &mut Vec<GenericTest>,
    diags: &mut Diagnostics,
) {
    let specs = p.tests.iter().map(|t| (None, t)).chain(
        p.columns
            .iter()
            .flat_map(|c| c.tests.iter().map(move |t| (Some(c.name.clone()), t))),
    );
    for (column, spec) in specs {
        let (kind, args) = match spec {
            TestSpec::Name(n) => (n.clone(), IndexMap::new()),
            TestSpec::WithArgs(map) => {
                let Some((k, v)) = map.iter().next() else {
                    continue;
                };
                let args: IndexMap<String, Json> =
                    match serde_json::to_value(v).unwrap_or(Json::Null) {
                        Json::Object(m) => m.into_iter().collect(),
                        Json::Null => IndexMap::new(),
                        other => IndexMap::from([("values".to_string(), other)]),
                    };
                (k.clone(), args)
            }
        };
        let Some((_, required)) = GENERIC_TESTS.iter().find(|(n, _)| *n == kind) else {
            let mut d = Diagnostic::new(
                Code::UnknownKey,
                format!("unknown data test `{kind}` on `{}`", p.name),
            )
            .at(
                &pf.path,
                &pf.text,
                find_name_line(&pf.text, &p.name),
                "in this entry",
            );
            d = match did_you_mean(&kind, GENERIC_TESTS.iter().map(|(n, _)| *n)) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help("generic tests are unique, not_null, accepted_values, relationships; write other checks as SQL in tests/sql/"),
            };
            diags.push(d);
            continue;
        };
        if let Some(missing) = required.iter().find(|r| !args.contains_key(**r)) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("data test `{kind}` on `{}` needs `{missing}`", p.name),
                )
                .at(
                    &pf.path,
                    &pf.text,
                    find_name_line(&pf.text, &p.name),
                    "in this entry",
                ),
            );
            continue;
        }
        let base = match &column {
            Some(c) => format!("{kind}_{}_{c}", p.name),
            None => format!("{kind}_{}", p.name),
        };
        let mut name = base.clone();
        let mut n = 2;
        while out.iter().any(|t| t.name == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(GenericTest {
            name,
            kind,
            attached_to: attached.clone(),
            column,
            args,
            defined_in: pf.path.clone(),
        });
    }
}
