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
use super::properties::{NodeProperties, PropertiesFile, SourceProperties, TestSpec};
use super::test_config::{TestConfig, TestConfigError, TEST_CONFIG_KEYS};
use super::{
    yaml, ColumnProperties, GenericTest, ModelFile, SeedFile, SourceFile, SourceTable, TestedNode,
};
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

/// What discovery found on disk: the collections of [`super::Project`],
/// sorted and documented there.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub(super) models: Vec<ModelFile>,
    pub(super) seeds: Vec<SeedFile>,
    pub(super) macros: Vec<SourceFile>,
    pub(super) singular_tests: Vec<SourceFile>,
    pub(super) sources: Vec<SourceTable>,
    pub(super) generic_tests: Vec<GenericTest>,
    pub(super) dashboards: Vec<Dashboard>,
    pub(super) property_files: Vec<SourceFile>,
    /// What is read but deserves a word (see [`warn_hyphenated_tests`]).
    pub(super) warnings: Vec<Diagnostic>,
}

/// Walks the project and builds [`Found`].
pub(super) fn discover(
    root: &Path,
    paths: &Paths,
    model_folders: &[FolderConfig],
    seed_folders: &[FolderConfig],
    diags: &mut Diagnostics,
) -> Found {
    let mut found = Found::default();
    let mut property_files = Vec::new();
    for base in &paths.models {
        let (models, properties) = models_under(root, base, model_folders, diags);
        found.models.extend(models);
        property_files.extend(properties);
    }
    for base in &paths.seeds {
        let (seeds, properties) = seeds_under(root, base, seed_folders, diags);
        found.seeds.extend(seeds);
        property_files.extend(properties);
    }
    found.macros = read_all(root, &paths.macros, &["sql", "jinja", "j2"], diags);
    found.singular_tests = read_all(root, &paths.tests, &["sql"], diags);
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

/// The models under one model folder, and the properties files beside them.
fn models_under(
    root: &Path,
    base: &str,
    folder_configs: &[FolderConfig],
    diags: &mut Diagnostics,
) -> (Vec<ModelFile>, Vec<SourceFile>) {
    let (mut models, mut properties) = (Vec::new(), Vec::new());
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
            let mut config = NodeConfig::default();
            inherit(folder_configs, &folders, &mut config);
            models.push(ModelFile {
                checksum,
                name: stem(&rel),
                file: SourceFile { path: rel, text },
                folders,
                config,
                description: None,
                columns: Vec::new(),
                patch_path: None,
            });
        } else {
            properties.push(SourceFile { path: rel, text });
        }
    }
    (models, properties)
}

/// The seeds under one seed folder, and the properties files beside them.
fn seeds_under(
    root: &Path,
    base: &str,
    folder_configs: &[FolderConfig],
    diags: &mut Diagnostics,
) -> (Vec<SeedFile>, Vec<SourceFile>) {
    let (mut seeds, mut properties) = (Vec::new(), Vec::new());
    for (rel, folders) in files_under(root, base, &["csv", "yml", "yaml"]) {
        if rel.extension().is_some_and(|e| e == "csv") {
            let Ok(bytes) = std::fs::read(root.join(&rel)) else {
                continue;
            };
            let mut config = NodeConfig {
                materialized: Materialization::Seed,
                ..NodeConfig::default()
            };
            inherit(folder_configs, &folders, &mut config);
            seeds.push(SeedFile {
                name: stem(&rel),
                checksum: hex(&Sha256::digest(&bytes)),
                path: rel,
                folders,
                config,
                description: None,
                columns: Vec::new(),
            });
        } else if let Some(text) = read(root, &rel, diags) {
            properties.push(SourceFile { path: rel, text });
        }
    }
    (seeds, properties)
}

/// Every file with one of `exts` under the folders `bases`, read.
fn read_all(
    root: &Path,
    bases: &[String],
    exts: &[&str],
    diags: &mut Diagnostics,
) -> Vec<SourceFile> {
    let mut files = Vec::new();
    for base in bases {
        for (rel, _) in files_under(root, base, exts) {
            if let Some(text) = read(root, &rel, diags) {
                files.push(SourceFile { path: rel, text });
            }
        }
    }
    files
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

/// Merges one properties file into the models, seeds and sources it
/// describes, collecting its dashboards and generic tests.
fn apply_properties(pf: &SourceFile, found: &mut Found, diags: &mut Diagnostics) {
    let props: PropertiesFile = match yaml::parse(&pf.path, &pf.text) {
        Ok(p) => p,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    found.warnings.extend(warn_hyphenated_tests(pf));
    found
        .dashboards
        .extend(props.dashboards.into_iter().map(|mut d| {
            d.defined_in = pf.path.clone();
            d
        }));
    describe(pf, Section::Models, &props.models, found, diags);
    describe(pf, Section::Seeds, &props.seeds, found, diags);
    add_sources(pf, &props.sources, found, diags);
}

/// `data-tests:` with a hyphen is no key dbt reads: dbt-core drops it, and
/// the tests under it never run. Lake does the same, so a dbt project
/// builds as under dbt, and says so at each such line.
fn warn_hyphenated_tests(pf: &SourceFile) -> Vec<Diagnostic> {
    let mut offset = 0;
    let mut out = Vec::new();
    for line in pf.text.split_inclusive('\n') {
        // A key on a list item (`- data-tests:`) too.
        let key = line.trim_start();
        let key = key.strip_prefix("- ").map_or(key, str::trim_start);
        if key.starts_with("data-tests:") {
            let start = offset + (line.len() - key.len());
            let span = crate::diagnostic::Span::Bytes(start..start + "data-tests".len());
            out.push(
                Diagnostic::new(
                    Code::UnknownKey,
                    format!(
                        "`data-tests` in {} is not a key dbt reads: the tests under it do not run",
                        pf.path.display()
                    ),
                )
                .at(&pf.path, &pf.text, Some(span), "ignored, as dbt ignores it")
                .with_help("write `data_tests:` (underscore) to run them")
                .as_warning(),
            );
        }
        offset += line.len();
    }
    out
}

/// Which nodes a properties section describes.
#[derive(Clone, Copy)]
enum Section {
    Models,
    Seeds,
}

/// The parts of a model or seed its properties entry fills in.
struct Described<'a> {
    config: &'a mut NodeConfig,
    description: &'a mut Option<String>,
    columns: &'a mut Vec<ColumnProperties>,
    /// Models remember their properties file (dbt's `patch_path`).
    patch_path: Option<&'a mut Option<PathBuf>>,
}

impl Section {
    fn key(self) -> &'static str {
        match self {
            Section::Models => "models",
            Section::Seeds => "seeds",
        }
    }

    fn names(self, found: &Found) -> Vec<String> {
        match self {
            Section::Models => found.models.iter().map(|m| m.name.clone()).collect(),
            Section::Seeds => found.seeds.iter().map(|s| s.name.clone()).collect(),
        }
    }

    fn find<'a>(self, found: &'a mut Found, name: &str) -> Option<Described<'a>> {
        match self {
            Section::Models => {
                found
                    .models
                    .iter_mut()
                    .find(|m| m.name == name)
                    .map(|m| Described {
                        config: &mut m.config,
                        description: &mut m.description,
                        columns: &mut m.columns,
                        patch_path: Some(&mut m.patch_path),
                    })
            }
            Section::Seeds => found
                .seeds
                .iter_mut()
                .find(|s| s.name == name)
                .map(|s| Described {
                    config: &mut s.config,
                    description: &mut s.description,
                    columns: &mut s.columns,
                    patch_path: None,
                }),
        }
    }
}

/// Applies a `models:` or `seeds:` section to the nodes it names.
fn describe(
    pf: &SourceFile,
    section: Section,
    entries: &[NodeProperties],
    found: &mut Found,
    diags: &mut Diagnostics,
) {
    let names = section.names(found);
    for p in entries {
        let Some(node) = section.find(found, &p.name) else {
            diags.push(unknown_node(pf, section.key(), &p.name, &names));
            continue;
        };
        apply_node_config(pf, p, node.config, diags);
        *node.description = p.description.clone();
        *node.columns = p.columns.clone();
        if let Some(patch_path) = node.patch_path {
            *patch_path = Some(pf.path.clone());
        }
        let tested = TestedNode::Node(p.name.clone());
        collect_tests(pf, p, tested, &mut found.generic_tests, diags);
    }
}

/// The tables of `sources:`, each with the generic tests declared on it.
fn add_sources(
    pf: &SourceFile,
    sources: &[SourceProperties],
    found: &mut Found,
    diags: &mut Diagnostics,
) {
    for src in sources {
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
                hyphenated_tests: None,
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

fn unknown_node(pf: &SourceFile, section: &str, name: &str, known: &[String]) -> Diagnostic {
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
        let Some(TestEntry {
            kind,
            name,
            args,
            config,
        }) = read_entry(spec)
        else {
            continue;
        };
        let checked = check_test(pf, p, &kind, &args)
            .and_then(|()| check_custom_name(pf, p, name.as_deref(), out))
            .and_then(|()| test_config(pf, p, &config));
        match checked {
            Ok(c) if !c.enabled => continue,
            Ok(_) => {}
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        out.push(GenericTest {
            name: name
                .clone()
                .unwrap_or_else(|| unique_test_name(out, &kind, &p.name, column.as_deref())),
            named: name.is_some(),
            config,
            kind,
            attached_to: attached.clone(),
            column,
            args,
            defined_in: pf.path.clone(),
        });
    }
}

/// One test entry of a properties file.
struct TestEntry {
    kind: String,
    /// The entry's `name:`, which dbt gives the test in place of the
    /// name it makes up from the arguments.
    name: Option<String>,
    args: IndexMap<String, Json>,
    config: IndexMap<String, Json>,
}

/// `unique`, `{accepted_values: {values: [...]}}` (a bare list stands for
/// `values`), dbt's newer `{accepted_values: {arguments: {values: [...]},
/// config: {...}}}`, or `{test_name: accepted_values, name: ..., ...}`:
/// the kind, its name, arguments and config. Config keys written beside
/// the arguments (the older form) are config, as in dbt.
fn read_entry(spec: &TestSpec) -> Option<TestEntry> {
    let object = |v: Option<Json>| -> IndexMap<String, Json> {
        match v {
            Some(Json::Object(m)) => m.into_iter().collect(),
            _ => IndexMap::new(),
        }
    };
    let (kind, mut body) = match spec {
        TestSpec::Name(n) => (n.clone(), IndexMap::new()),
        TestSpec::WithArgs(map) if map.contains_key("test_name") => {
            let mut body = object(serde_json::to_value(map).ok());
            let kind = match body.shift_remove("test_name") {
                Some(Json::String(k)) => k,
                other => other.map(|v| v.to_string()).unwrap_or_default(),
            };
            (kind, body)
        }
        TestSpec::WithArgs(map) => {
            let (k, v) = map.iter().next()?;
            let body = match serde_json::to_value(v).unwrap_or(Json::Null) {
                Json::Null => IndexMap::new(),
                Json::Object(m) => m.into_iter().collect(),
                other => IndexMap::from([("values".to_string(), other)]),
            };
            (k.clone(), body)
        }
    };
    let name = match body.shift_remove("name") {
        Some(Json::String(n)) => Some(n),
        Some(other) => Some(other.to_string()),
        None => None,
    };
    let mut config = object(body.shift_remove("config"));
    let mut args = object(body.shift_remove("arguments"));
    for (key, value) in body {
        if TEST_CONFIG_KEYS.contains(&key.as_str()) {
            config.insert(key, value);
        } else if key != "description" {
            args.insert(key, value);
        }
    }
    Some(TestEntry {
        kind,
        name,
        args,
        config,
    })
}

/// The entry's config, or an error at the entry naming the key.
fn test_config(
    pf: &SourceFile,
    p: &NodeProperties,
    config: &IndexMap<String, Json>,
) -> Result<TestConfig, Diagnostic> {
    let mut c = TestConfig::default();
    for (key, value) in config {
        let Err(TestConfigError(message)) = c.apply(key, value) else {
            continue;
        };
        // The key's first line after the entry's `name:`, else the entry.
        let entry = find_name_line(&pf.text, &p.name);
        let from = match &entry {
            Some(crate::diagnostic::Span::Bytes(r)) => r.end,
            _ => 0,
        };
        let span = pf.text[from..]
            .find(&format!("{key}:"))
            .map(|at| crate::diagnostic::Span::Bytes(from + at..from + at + key.len()))
            .or(entry);
        let message = format!("{message} (a data test on `{}`)", p.name);
        return Err(
            Diagnostic::new(Code::InvalidValue, message).at(&pf.path, &pf.text, span, "here")
        );
    }
    Ok(c)
}

/// A test's own `name:` must be a name no other test has (dbt refuses
/// the project too), and one a relation can be called.
fn check_custom_name(
    pf: &SourceFile,
    p: &NodeProperties,
    name: Option<&str>,
    taken: &[GenericTest],
) -> Result<(), Diagnostic> {
    let Some(name) = name else {
        return Ok(());
    };
    let problem = if name.trim().is_empty() {
        format!("a data test on `{}` has an empty `name:`", p.name)
    } else if taken.iter().any(|t| t.name == name) {
        format!("two data tests are named `{name}`")
    } else {
        return Ok(());
    };
    // This file's earlier tests of that name come first in it.
    let earlier = taken
        .iter()
        .filter(|t| t.name == name && t.defined_in == pf.path)
        .count();
    let written = format!("name: {name}");
    let span = pf
        .text
        .match_indices(&written)
        .nth(earlier)
        .map(|(at, _)| crate::diagnostic::Span::Bytes(at..at + written.len()))
        .or_else(|| find_name_line(&pf.text, &p.name));
    Err(Diagnostic::new(Code::InvalidValue, problem)
        .at(&pf.path, &pf.text, span, "here")
        .with_help("give each data test its own `name:`, or leave `name:` out for a generated one"))
}

/// A test kind lake knows, with every argument it needs.
fn check_test(
    pf: &SourceFile,
    p: &NodeProperties,
    kind: &str,
    args: &IndexMap<String, Json>,
) -> Result<(), Diagnostic> {
    let at_entry = |d: Diagnostic| {
        let span = find_name_line(&pf.text, &p.name);
        d.at(&pf.path, &pf.text, span, "in this entry")
    };
    let Some((_, required)) = GENERIC_TESTS.iter().find(|(n, _)| *n == kind) else {
        let d = at_entry(Diagnostic::new(
            Code::UnknownKey,
            format!("unknown data test `{kind}` on `{}`", p.name),
        ));
        return Err(match did_you_mean(kind, GENERIC_TESTS.iter().map(|(n, _)| *n)) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help("generic tests are unique, not_null, accepted_values, relationships; write other checks as SQL in tests/sql/"),
        });
    };
    match required.iter().find(|r| !args.contains_key(**r)) {
        Some(missing) => Err(at_entry(Diagnostic::new(
            Code::InvalidValue,
            format!("data test `{kind}` on `{}` needs `{missing}`", p.name),
        ))),
        None => Ok(()),
    }
}

/// `<kind>_<node>[_<column>]`, numbered from 2 when taken.
/// The name dbt gives a generic test (`synthesize_generic_test_names`):
/// kind, tested node (`source_` first and `<source>_<table>` for a source
/// table), then every argument's values (the column's too) in the order of
/// the arguments' names, runs of characters outside `[0-9a-zA-Z_]` made
/// `_`, joined by `__`: `accepted_values_orders_status__placed__shipped`,
/// `relationships_orders_customer_id__customer_id__ref_customers_`.
pub fn dbt_test_name(test: &GenericTest) -> String {
    let mut args: Vec<(&str, Vec<String>)> = test
        .args
        .iter()
        .map(|(name, value)| (name.as_str(), arg_parts(value)))
        .collect();
    if let Some(column) = &test.column {
        args.push(("column_name", vec![column.clone()]));
    }
    args.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = args
        .into_iter()
        .flat_map(|(_, parts)| parts)
        .map(|p| name_safe(&p))
        .collect();
    format!("{}_{}", test_identifier(test), parts.join("__"))
}

/// What a generic test's dbt name starts with: `<kind>_<node>`, or
/// `source_<kind>_<source>_<table>` for a source table.
fn test_identifier(test: &GenericTest) -> String {
    match &test.attached_to {
        TestedNode::Node(name) => format!("{}_{name}", test.kind),
        TestedNode::Source(source, table) => format!("source_{}_{source}_{table}", test.kind),
    }
}

/// The relation name dbt gives a generic test's stored failures: its
/// name, or, for a generated name of 64 characters or more, the first 30
/// characters of `<kind>_<node>` then the md5 of the name
/// (`accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758`).
pub fn failures_identifier(test: &GenericTest) -> String {
    if test.named || test.name.len() < 64 {
        return test.name.clone();
    }
    let identifier: String = test_identifier(test).chars().take(30).collect();
    let hash = <md5::Md5 as md5::Digest>::digest(test.name.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("{identifier}_{hex}")
}

/// `text` with each run of characters outside `[0-9a-zA-Z_]` made one `_`.
fn name_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        let safe = c.is_ascii_alphanumeric() || c == '_';
        if safe {
            out.push(c);
        } else if !in_run {
            out.push('_');
        }
        in_run = !safe;
    }
    out
}

/// An argument's values as dbt's test names spell them: a mapping's
/// values, a list's items, or the value itself, each as Python's `str()`.
fn arg_parts(value: &Json) -> Vec<String> {
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    };
    match value {
        Json::Object(m) => m.values().map(text).collect(),
        Json::Array(items) => items.iter().map(text).collect(),
        v => vec![text(v)],
    }
}

fn unique_test_name(taken: &[GenericTest], kind: &str, node: &str, column: Option<&str>) -> String {
    let base = match column {
        Some(c) => format!("{kind}_{node}_{c}"),
        None => format!("{kind}_{node}"),
    };
    first_free(base, |name| taken.iter().any(|t| t.name == name))
}

/// `base`, or `base_2`, `base_3`, ... : the first name not `taken`.
pub fn first_free(base: String, taken: impl Fn(&str) -> bool) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while taken(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(kind: &str, column: &str, args: Json) -> GenericTest {
        GenericTest {
            name: String::new(),
            named: false,
            kind: kind.into(),
            attached_to: TestedNode::Node("orders".into()),
            column: Some(column.into()),
            args: serde_json::from_value(args).unwrap(),
            defined_in: PathBuf::new(),
            config: IndexMap::new(),
        }
    }

    #[test]
    fn generic_tests_are_named_as_dbt_names_them() {
        let values = serde_json::json!({"values": ["placed", "return pending", 3, true]});
        assert_eq!(
            dbt_test_name(&test("accepted_values", "status", values)),
            "accepted_values_orders_status__placed__return_pending__3__True"
        );
        let to = serde_json::json!({"to": "ref('customers')", "field": "id"});
        assert_eq!(
            dbt_test_name(&test("relationships", "customer_id", to)),
            "relationships_orders_customer_id__id__ref_customers_"
        );
        assert_eq!(name_safe("a_(b)) c"), "a__b_c");
    }

    #[test]
    fn hyphenated_data_tests_are_found_on_list_items_too() {
        let pf = SourceFile {
            path: PathBuf::from("models/schema.yml"),
            text: "models:\n  - data-tests: [unique]\n    name: a\n    columns:\n      - name: id\n        data-tests: [not_null]\n".into(),
        };
        assert_eq!(warn_hyphenated_tests(&pf).len(), 2);
    }

    #[test]
    fn long_test_names_store_failures_under_dbt_s_hashed_name() {
        let values = serde_json::json!({"values": ["placed", "shipped", "completed", "return_pending", "returned"]});
        let mut t = test("accepted_values", "status", values);
        t.name = dbt_test_name(&t);
        // As dbt-core 1.11 named it in tests/dbt/cloned_as_is.
        assert_eq!(
            failures_identifier(&t),
            "accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758"
        );
        t.name = "not_null_orders_amount".into();
        assert_eq!(failures_identifier(&t), "not_null_orders_amount");
    }
}
