//! Project loading, the first pipeline stage: reads `project.yml`, the
//! profile, and every model, seed, macro, test and property file into plain
//! data, validated once so later stages never re-check the raw files.

pub mod batch_config;
pub mod config;
pub mod dashboards;
pub mod discovery;
pub mod jinja;
pub mod packages;
pub mod profiles;
pub mod project_file;
pub mod properties;
pub mod test_config;
pub mod yaml;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value as Json;

pub use config::{BatchFrom, BatchSize, CommitMode, Materialization, NodeConfig};
pub use profiles::{Target, S3};
pub use project_file::{Hook, Schedule};
pub use properties::ColumnProperties;
pub use test_config::{TestConfig, TestTree};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};

/// Whose conventions a project follows, from the file that declares it.
/// They differ in where models go: lake puts a model in the schema its
/// first folder names (`models/stage/x.sql` is `stage.x`); dbt puts every
/// model and seed in the target's schema, or in `<target schema>_<custom>`
/// for a `schema` config, as dbt's default `generate_schema_name` does, so
/// a dbt project's relations land where dbt would put them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conventions {
    /// `project.yml`.
    #[default]
    Lake,
    /// `dbt_project.yml`, read when there is no `project.yml`.
    Dbt,
}

impl Conventions {
    /// The file that declares a project of these conventions.
    pub fn file_name(self) -> &'static str {
        match self {
            Conventions::Lake => "project.yml",
            Conventions::Dbt => "dbt_project.yml",
        }
    }
}

/// What the command line says about where and how to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The project folder (holding project.yml).
    pub project_dir: PathBuf,
    /// `--profiles-dir`.
    pub profiles_dir: Option<PathBuf>,
    /// `--target`.
    pub target: Option<String>,
    /// `--vars`, parsed with [`parse_cli_vars`]; they override project.yml's.
    pub vars: IndexMap<String, Json>,
}

/// A file's text with its path relative to the project root, kept for
/// rendering diagnostics that quote the offending line.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the project root.
    pub path: PathBuf,
    /// Full text.
    pub text: String,
}

/// A SQL model file.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// Model name: the file stem.
    pub name: String,
    /// The file.
    pub file: SourceFile,
    /// Folders between the model path and the file; the first is the layer.
    pub folders: Vec<String>,
    /// sha256 of the file.
    pub checksum: String,
    /// Config from project.yml folders and properties files (before `config()` calls).
    pub config: NodeConfig,
    /// Documentation from a properties file.
    pub description: Option<String>,
    /// Column docs from a properties file.
    pub columns: Vec<ColumnProperties>,
    /// The properties file that describes it (dbt's `patch_path`), if any.
    pub patch_path: Option<PathBuf>,
}

/// A CSV seed.
#[derive(Debug, Clone)]
pub struct SeedFile {
    /// Seed name: the file stem.
    pub name: String,
    /// Path relative to the project root.
    pub path: PathBuf,
    /// Folders between the seed path and the file.
    pub folders: Vec<String>,
    /// sha256 of the file.
    pub checksum: String,
    /// Resolved config.
    pub config: NodeConfig,
    /// Documentation.
    pub description: Option<String>,
    /// Column docs.
    pub columns: Vec<ColumnProperties>,
}

/// A table declared under `sources:`.
#[derive(Debug, Clone)]
pub struct SourceTable {
    /// Source name.
    pub source_name: String,
    /// Table name.
    pub name: String,
    /// Schema.
    pub schema: String,
    /// Catalog, if not the target's.
    pub database: Option<String>,
    /// Physical table name.
    pub identifier: String,
    /// SQL that reads the data in place, if any.
    pub external_location: Option<String>,
    /// Documentation.
    pub description: Option<String>,
    /// Column docs.
    pub columns: Vec<ColumnProperties>,
    /// Tags.
    pub tags: Vec<String>,
    /// Properties file that declares it.
    pub defined_in: PathBuf,
}

/// What a generic test is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestedNode {
    /// A model or seed, by name.
    Node(String),
    /// A source table.
    Source(String, String),
}

/// A generic data test from a properties file (`unique`, `not_null`, ...).
#[derive(Debug, Clone)]
pub struct GenericTest {
    /// Unique node name, e.g. `not_null_events_event_id`.
    pub name: String,
    /// The entry gave the name (`name:`), so it is kept as written.
    pub named: bool,
    /// Test kind: `unique`, `not_null`, `accepted_values`, `relationships`.
    pub kind: String,
    /// What it tests.
    pub attached_to: TestedNode,
    /// Column, for column tests.
    pub column: Option<String>,
    /// Arguments (`values`, `to`, `field`, ...).
    pub args: IndexMap<String, Json>,
    /// The entry's own config keys (`severity`, `where`, ...), validated;
    /// [`TestTree::config_for`] lays them over the project's `tests:` tree.
    pub config: IndexMap<String, Json>,
    /// Properties file that declares it.
    pub defined_in: PathBuf,
}

/// The loaded project: everything later stages need, validated.
#[derive(Debug, Clone)]
pub struct Project {
    /// Absolute project root.
    pub root: PathBuf,
    /// Project name.
    pub name: String,
    /// Where the lake is.
    pub target: Target,
    /// project.yml (or dbt_project.yml) itself, for diagnostics.
    pub project_file: SourceFile,
    /// Whether it is a lake or a dbt project.
    pub conventions: Conventions,
    /// Variables for `var()`, `--vars` applied.
    pub vars: IndexMap<String, Json>,
    /// Models, sorted by name.
    pub models: Vec<ModelFile>,
    /// Seeds, sorted by name.
    pub seeds: Vec<SeedFile>,
    /// Macro files, sorted by path.
    pub macros: Vec<SourceFile>,
    /// Singular SQL tests, sorted by name.
    pub singular_tests: Vec<SourceFile>,
    /// Declared source tables.
    pub sources: Vec<SourceTable>,
    /// Generic tests from properties files.
    pub generic_tests: Vec<GenericTest>,
    /// Dashboards for `lake serve`.
    pub dashboards: Vec<dashboards::Dashboard>,
    /// Every properties file, sorted by path: later stages point their
    /// diagnostics into them (a contract's column lacking a `data_type`).
    pub property_files: Vec<SourceFile>,
    /// What loaded but deserves a word; every command shows them.
    pub warnings: Vec<Diagnostic>,
    /// The project file's `tests:` tree, for each test's config.
    pub test_tree: TestTree,
    /// SQL before any node.
    pub on_run_start: Vec<String>,
    /// SQL after all nodes.
    pub on_run_end: Vec<String>,
    /// Named schedules.
    pub schedules: Vec<Schedule>,
    /// How runs publish (`commit:`), unless a schedule or `--commit` says.
    pub commit: CommitMode,
    /// Where compiled SQL and artifacts go.
    pub target_dir: PathBuf,
}

/// Parses `--vars`: a YAML (or JSON) mapping of names to values. A wrong
/// `--vars` is a command-line mistake, so the caller reports it as one
/// (exit 2), before looking at the project.
pub fn parse_cli_vars(text: &str) -> Result<IndexMap<String, Json>, Diagnostic> {
    let map = serde_yaml::from_str::<IndexMap<String, serde_yaml::Value>>(text).map_err(|e| {
        Diagnostic::new(
            Code::InvalidValue,
            format!("--vars is not a YAML mapping: {e}"),
        )
        .with_help("pass names and values in braces: --vars '{key: value}', e.g. --vars '{start_date: 2024-01-01, limit: 10}'")
    })?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, serde_json::to_value(v).unwrap_or(Json::Null)))
        .collect())
}

/// Loads and validates a project folder.
pub fn load_project(opts: &LoadOptions) -> Result<Project, Diagnostics> {
    let root = std::fs::canonicalize(&opts.project_dir).map_err(|e| {
        Diagnostic::new(
            Code::Io,
            format!(
                "cannot open project folder {}: {e}",
                opts.project_dir.display()
            ),
        )
    })?;
    let (project_file, file_conventions) = read_project_file(&root)?;
    let raw: project_file::ProjectFile = yaml::parse(&project_file.path, &project_file.text)?;
    // A project.yml written by `lake migrate` keeps dbt's placement, seed
    // types and test names (`conventions: dbt`); profiles are looked up by
    // the file's own conventions.
    let conventions = raw.conventions.unwrap_or(file_conventions);
    let mut diags = Diagnostics::default();
    project_file::dbt_only_keys(&project_file.path, &project_file.text, &raw, &mut diags);
    refuse_snapshots(&root, &raw, conventions, &mut diags);
    if conventions == Conventions::Dbt {
        packages::refuse_packages(&root, &mut diags);
    }
    let folder_configs = |section: &str, tree: Option<&serde_yaml::Value>, diags: &mut _| {
        let (path, text) = (&project_file.path, &project_file.text);
        project_file::folder_configs(path, text, section, &raw.name, tree, diags)
    };
    let model_folders = folder_configs("models", raw.models.as_ref(), &mut diags);
    let seed_folders = folder_configs("seeds", raw.seeds.as_ref(), &mut diags);
    let mut test_folders = folder_configs("tests", raw.tests.as_ref(), &mut diags);
    test_folders.extend(folder_configs(
        "data_tests",
        raw.data_tests.as_ref(),
        &mut diags,
    ));
    let schedules = project_file::schedules(
        &project_file.path,
        &project_file.text,
        &raw.schedules,
        &mut diags,
    );
    let paths = search_paths(&raw, conventions);
    let mut found = discovery::discover(&root, &paths, &model_folders, &seed_folders, &mut diags);
    refuse_naming_macros(&found.macros, &mut diags);
    if conventions == Conventions::Dbt {
        name_tests_as_dbt(&mut found.generic_tests);
    }
    let profile = raw.profile.clone().unwrap_or_else(|| raw.name.clone());
    let wanted = profiles::Wanted {
        profile: &profile,
        target: opts.target.as_deref(),
        conventions: file_conventions,
    };
    let target = profiles::resolve_target(&root, opts.profiles_dir.as_deref(), wanted);
    let target = match target {
        Ok(t) => t,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    diags.into_result(())?;
    let mut warnings = found.warnings;
    if file_conventions == Conventions::Dbt && target.profiles_file.is_none() {
        warnings.push(no_dbt_profile(&profile));
    }
    Ok(Project {
        name: raw.name.clone(),
        target,
        vars: project_vars(&raw, opts),
        models: found.models,
        seeds: found.seeds,
        macros: found.macros,
        singular_tests: found.singular_tests,
        sources: found.sources,
        generic_tests: found.generic_tests,
        warnings,
        test_tree: TestTree {
            folders: test_folders,
            bases: test_bases(&paths),
        },
        dashboards: found.dashboards,
        property_files: found.property_files,
        on_run_start: raw.on_run_start.to_vec(),
        on_run_end: raw.on_run_end.to_vec(),
        schedules,
        commit: raw.commit.unwrap_or_default(),
        target_dir: root.join(raw.target_path.clone().unwrap_or_else(|| "target".into())),
        project_file,
        conventions,
        root,
    })
}

/// dbt snapshots are not run by lake yet: one in a snapshot folder is an
/// error at its file, not a relation silently missing.
fn refuse_snapshots(
    root: &Path,
    raw: &project_file::ProjectFile,
    conventions: Conventions,
    diags: &mut Diagnostics,
) {
    let folders: Vec<String> = match (&raw.snapshot_paths, conventions) {
        (Some(v), _) => serde_yaml::from_value(v.clone()).unwrap_or_default(),
        (None, Conventions::Dbt) => vec!["snapshots".into()],
        (None, Conventions::Lake) => Vec::new(),
    };
    for folder in folders {
        let files = walkdir::WalkDir::new(root.join(&folder))
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "sql"));
        for file in files {
            let shown = file.path().strip_prefix(root).unwrap_or(file.path());
            let text = std::fs::read_to_string(file.path()).unwrap_or_default();
            let line = text
                .lines()
                .position(|l| l.contains("snapshot"))
                .unwrap_or(0)
                + 1;
            diags.push(
                Diagnostic::new(Code::Unsupported, "lake does not run dbt snapshots yet")
                    .at(shown, &text, Some(crate::diagnostic::Span::Line(line)), "a dbt snapshot")
                    .with_help("build the history with an incremental model instead, or move the file out of the snapshot folder"),
            );
        }
    }
}

/// Gives a dbt project's generic tests dbt's names, so `--select` and
/// run_results.json name them as dbt does (a name taken twice keeps a
/// `_2` suffix, where dbt would refuse the project).
fn name_tests_as_dbt(tests: &mut [GenericTest]) {
    let mut taken: std::collections::HashSet<String> = tests
        .iter()
        .filter(|t| t.named)
        .map(|t| t.name.clone())
        .collect();
    for t in tests.iter_mut().filter(|t| !t.named) {
        let name = discovery::first_free(discovery::dbt_test_name(t), |n| taken.contains(n));
        taken.insert(name.clone());
        t.name = name;
    }
}

/// dbt lets a project override where relations go with these macros;
/// lake does not call them yet, so defining one is an error at its line
/// rather than relations silently landing elsewhere than dbt puts them.
const NAMING_MACROS: [&str; 3] = [
    "generate_schema_name",
    "generate_alias_name",
    "generate_database_name",
];

fn refuse_naming_macros(macros: &[SourceFile], diags: &mut Diagnostics) {
    for file in macros {
        for (n, line) in file.text.lines().enumerate() {
            let defined = NAMING_MACROS.iter().find(|name| {
                let rest = line
                    .trim_start()
                    .trim_start_matches("{%")
                    .trim_start_matches('-');
                let rest = rest.trim_start().strip_prefix("macro");
                rest.is_some_and(|r| r.trim_start().starts_with(&format!("{name}(")))
            });
            if let Some(name) = defined {
                diags.push(
                    Diagnostic::new(
                        Code::Unsupported,
                        format!("lake does not call a project's `{name}` macro yet"),
                    )
                    .at(&file.path, &file.text, Some(crate::diagnostic::Span::Line(n + 1)), "defined here")
                    .with_help("lake names relations as dbt's default macro does; remove this override, or set `schema`/`alias` configs instead"),
                );
            }
        }
    }
}

/// A dbt project whose profile is nowhere builds into lake's embedded
/// DuckLake, where dbt would stop: said at every command.
fn no_dbt_profile(profile: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Profile,
        format!("no profiles.yml holds profile `{profile}`: building into lake's embedded DuckLake under .lake/"),
    )
    .with_help("to build where dbt builds, add a `type: duckdb` target to profiles.yml (project folder, $DBT_PROFILES_DIR or ~/.dbt/)")
    .as_warning()
}

/// `project.yml`, else `dbt_project.yml`, with the conventions it means.
fn read_project_file(root: &Path) -> Result<(SourceFile, Conventions), Diagnostic> {
    for conventions in [Conventions::Lake, Conventions::Dbt] {
        let path = PathBuf::from(conventions.file_name());
        match std::fs::read_to_string(root.join(&path)) {
            Ok(text) => return Ok((SourceFile { path, text }, conventions)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Diagnostic::new(
                    Code::Io,
                    format!("cannot read {}: {e}", root.join(&path).display()),
                ))
            }
        }
    }
    Err(Diagnostic::new(
        Code::Io,
        format!("no project.yml or dbt_project.yml in {}", root.display()),
    )
    .with_help("run lake from the project folder or pass --project-dir"))
}

/// Where project.yml says the files are, else dbt's default folders (and
/// lake's `tests/sql` for a lake project's singular tests).
fn search_paths(raw: &project_file::ProjectFile, conventions: Conventions) -> discovery::Paths {
    let tests = match conventions {
        Conventions::Lake => "tests/sql",
        Conventions::Dbt => "tests",
    };
    let paths = |v: &Option<Vec<String>>, default: &str| {
        v.clone().unwrap_or_else(|| vec![default.to_string()])
    };
    discovery::Paths {
        models: paths(&raw.model_paths, "models"),
        seeds: paths(&raw.seed_paths, "seeds"),
        macros: paths(&raw.macro_paths, "macros"),
        tests: paths(&raw.test_paths, tests),
    }
}

/// Where tests are defined: properties files under the model and seed
/// paths, SQL files under the test paths.
fn test_bases(paths: &discovery::Paths) -> Vec<PathBuf> {
    let all = paths.models.iter().chain(&paths.seeds).chain(&paths.tests);
    all.map(PathBuf::from).collect()
}

/// project.yml's `vars:`, overridden by `--vars`.
fn project_vars(raw: &project_file::ProjectFile, opts: &LoadOptions) -> IndexMap<String, Json> {
    let mut vars: IndexMap<String, Json> = raw
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Json::Null)))
        .collect();
    for (k, v) in &opts.vars {
        vars.insert(k.clone(), v.clone());
    }
    vars
}

impl Project {
    /// Path shown to users for a project-relative path.
    pub fn show(&self, path: &Path) -> String {
        crate::diagnostic::display_path(path)
    }
}
