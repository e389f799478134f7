//! `project.yml`: the raw shape (mirrors the file, unknown keys refused) and
//! its validation into folder configs, hooks and schedules.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value as Json;

use self::hook_args::{builtin, Written};
use super::config::{FolderConfig, NodeConfig, CONFIG_KEYS};
use super::test_config::TEST_CONFIG_KEYS;
use super::yaml;
use crate::diagnostic::{did_you_mean, Code, Diagnostic, Diagnostics};

pub mod hook_args;

pub use hook_args::{
    ArgSpec, BuiltinArgs, CleanupArgs, ExtractArgs, HookArgs, HookSite, SourceS3, Templated,
    BUILTIN_HOOKS,
};

/// A string or a list of strings, as dbt accepts for hooks and paths.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// No value.
    #[default]
    None,
    /// A single string.
    One(String),
    /// A list of strings.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings, in order.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `project.yml` exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectFile {
    /// Project name, used in node ids and as the default profile name.
    pub name: String,
    /// Free-form version string.
    #[serde(default)]
    pub version: Option<serde_yaml::Value>,
    /// Accepted for dbt compatibility; ignored.
    #[serde(default)]
    pub config_version: Option<u32>,
    /// Which profile in profiles.yml to use; defaults to `name`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Folders holding models.
    #[serde(default)]
    pub model_paths: Option<Vec<String>>,
    /// Folders holding CSV seeds.
    #[serde(default)]
    pub seed_paths: Option<Vec<String>>,
    /// Folders holding Jinja macros.
    #[serde(default)]
    pub macro_paths: Option<Vec<String>>,
    /// Folders holding singular SQL data tests.
    #[serde(default)]
    pub test_paths: Option<Vec<String>>,
    /// Where compiled SQL and artifacts go.
    #[serde(default)]
    pub target_path: Option<String>,
    /// Accepted for dbt compatibility.
    #[serde(default)]
    pub clean_targets: Option<Vec<String>>,
    /// Project variables for `var()`.
    #[serde(default)]
    pub vars: IndexMap<String, serde_yaml::Value>,
    /// Folder-level model config tree.
    #[serde(default)]
    pub models: Option<serde_yaml::Value>,
    /// Folder-level seed config tree.
    #[serde(default)]
    pub seeds: Option<serde_yaml::Value>,
    /// SQL run before any node.
    #[serde(default)]
    pub on_run_start: OneOrMany,
    /// SQL run after all nodes.
    #[serde(default)]
    pub on_run_end: OneOrMany,
    /// Named schedules for cron.
    #[serde(default)]
    pub schedules: IndexMap<String, ScheduleFile>,
    /// How runs publish: `run` (one snapshot per run) or `per-node`.
    #[serde(default)]
    pub commit: Option<super::CommitMode>,
    /// `dbt`: place relations, type seeds and name tests as dbt does (a
    /// project moved over by `lake migrate`); `lake` (the default for
    /// project.yml) uses the layer folders as schemas.
    #[serde(default)]
    pub conventions: Option<super::Conventions>,
    // dbt's keys: each changes only what dbt itself does (its version
    // check, its other folders, its logs, packages and query comments), so
    // a dbt_project.yml loads as it is; `dbt_only_keys` logs them. The
    // `snapshots:` and `sources:` config trees are refused while
    // lake does not apply them: ignoring them would change results.
    /// dbt's version range check.
    #[serde(default)]
    pub require_dbt_version: Option<serde_yaml::Value>,
    /// Folders of analyses (compiled by dbt, never run).
    #[serde(default)]
    pub analysis_paths: Option<serde_yaml::Value>,
    /// Folders of snapshots (a snapshot found there is refused).
    #[serde(default)]
    pub snapshot_paths: Option<serde_yaml::Value>,
    /// Folders of docs blocks.
    #[serde(default)]
    pub docs_paths: Option<serde_yaml::Value>,
    /// Folders of assets for dbt docs.
    #[serde(default)]
    pub asset_paths: Option<serde_yaml::Value>,
    /// Where dbt installs packages.
    #[serde(default)]
    pub packages_install_path: Option<serde_yaml::Value>,
    /// Where dbt writes its logs.
    #[serde(default)]
    pub log_path: Option<serde_yaml::Value>,
    /// dbt's comment on every query.
    #[serde(default)]
    pub query_comment: Option<serde_yaml::Value>,
    /// dbt's global flags (`send_anonymous_usage_stats`, ...).
    #[serde(default)]
    pub flags: Option<serde_yaml::Value>,
    /// Identifier quoting: lake always quotes identifiers.
    #[serde(default)]
    pub quoting: Option<serde_yaml::Value>,
    /// Macro dispatch search order.
    #[serde(default)]
    pub dispatch: Option<serde_yaml::Value>,
    /// Config tree of data tests (`+severity`, `+where`, ...), by folder.
    #[serde(default)]
    pub tests: Option<serde_yaml::Value>,
    /// The same, dbt 1.8's name.
    #[serde(default, rename = "data_tests")]
    pub data_tests: Option<serde_yaml::Value>,
    /// Config tree of snapshots (refused when not empty).
    #[serde(default)]
    pub snapshots: Option<serde_yaml::Value>,
    /// Config tree of sources (refused when not empty).
    #[serde(default)]
    pub sources: Option<serde_yaml::Value>,
}

/// Logs the dbt-only keys a project file sets (debug level), and refuses
/// the config trees lake does not apply yet, each at its line.
pub fn dbt_only_keys(path: &Path, source: &str, d: &ProjectFile, diags: &mut Diagnostics) {
    let ignored = [
        ("require-dbt-version", &d.require_dbt_version),
        ("analysis-paths", &d.analysis_paths),
        ("snapshot-paths", &d.snapshot_paths),
        ("docs-paths", &d.docs_paths),
        ("asset-paths", &d.asset_paths),
        ("packages-install-path", &d.packages_install_path),
        ("log-path", &d.log_path),
        ("query-comment", &d.query_comment),
        ("flags", &d.flags),
        ("quoting", &d.quoting),
        ("dispatch", &d.dispatch),
    ];
    for (key, value) in ignored {
        if value.is_some() {
            tracing::debug!(file = %path.display(), key, "dbt-only key, ignored by lake");
        }
    }
    let refused = [("snapshots", &d.snapshots), ("sources", &d.sources)];
    for (key, value) in refused {
        let empty = value
            .as_ref()
            .is_none_or(|v| v.is_null() || v.as_mapping().is_some_and(|m| m.is_empty()));
        if !empty {
            diags.push(
                Diagnostic::new(
                    Code::Unsupported,
                    format!("lake does not apply a `{key}:` config tree yet"),
                )
                .at(path, source, yaml::locate_key(source, &[key]), "not applied")
                .with_help(format!(
                    "remove `{key}:` for now: lake applies the `models:`, `seeds:` and `tests:` trees, properties files and config() calls"
                )),
            );
        }
    }
}

/// One schedule as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScheduleFile {
    /// Five-field cron expression.
    pub cron: String,
    /// What the schedule is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Nodes to run.
    #[serde(default)]
    pub select: OneOrMany,
    /// Nodes to leave out.
    #[serde(default)]
    pub exclude: OneOrMany,
    /// Steps before the selection runs.
    #[serde(default)]
    pub pre_hooks: Vec<HookFile>,
    /// Steps after the selection ran.
    #[serde(default)]
    pub post_hooks: Vec<HookFile>,
    /// Rebuild incremental models from scratch.
    #[serde(default)]
    pub full_refresh: bool,
    /// Worker threads for this schedule.
    #[serde(default)]
    pub threads: Option<usize>,
    /// How this schedule's runs publish (else the project's `commit:`).
    #[serde(default)]
    pub commit: Option<super::CommitMode>,
    /// What its data tests read: `changed` rows (default) or `all`.
    #[serde(default)]
    pub test_scope: Option<super::config::TestScope>,
}

/// A schedule hook: plain SQL, or a built-in step with its arguments.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HookFile {
    /// SQL run against the lake.
    Sql(String),
    /// `{ extract: {...} }` or `{ cleanup: {...} }`.
    Builtin(IndexMap<String, serde_yaml::Value>),
}

/// A schedule hook, checked when project.yml is loaded: plain SQL, or a
/// built-in step whose arguments are typed then, so a misspelt key fails
/// `lake compile` instead of a run that already holds the lake.
#[derive(Debug, Clone, PartialEq)]
pub enum Hook {
    /// SQL run against the lake (rendered like a model first).
    Sql {
        /// The statement(s) as written.
        sql: String,
    },
    /// `extract:` lands new hourly source files.
    Extract(HookArgs<ExtractArgs>),
    /// `cleanup:` runs DuckLake's file maintenance.
    Cleanup(HookArgs<CleanupArgs>),
}

impl Hook {
    /// The name a hook goes by in messages and run results.
    pub fn name(&self) -> &'static str {
        match self {
            Hook::Sql { .. } => "sql",
            Hook::Extract(_) => ExtractArgs::HOOK,
            Hook::Cleanup(_) => CleanupArgs::HOOK,
        }
    }
}

/// A validated schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Name used in `lake run --schedule NAME`.
    pub name: String,
    /// Five-field cron expression, checked.
    pub cron: String,
    /// What the schedule is for.
    pub description: Option<String>,
    /// Selector expressions, as written: the selector grammar belongs to
    /// `select`, so the commands check them once the project is loaded.
    pub select: Vec<String>,
    /// Exclusion expressions, as written (checked like `select`).
    pub exclude: Vec<String>,
    /// Steps before the run.
    pub pre_hooks: Vec<Hook>,
    /// Steps after the run.
    pub post_hooks: Vec<Hook>,
    /// Rebuild incrementals from scratch.
    pub full_refresh: bool,
    /// Worker threads, if set.
    pub threads: Option<usize>,
    /// How its runs publish, if set.
    pub commit: Option<super::CommitMode>,
    /// What its data tests read, if set.
    pub test_scope: Option<super::config::TestScope>,
}

/// What a config tree's keys are checked against: node config keys for
/// `models:`/`seeds:`, test config keys for `tests:`/`data_tests:`.
#[derive(Clone, Copy)]
pub enum TreeKind {
    /// `models:` and `seeds:` trees ([`NodeConfig`]).
    Nodes,
    /// `tests:` and `data_tests:` trees ([`super::TestConfig`]).
    Tests,
}

impl TreeKind {
    fn keys(self) -> &'static [&'static str] {
        match self {
            TreeKind::Nodes => CONFIG_KEYS,
            TreeKind::Tests => super::test_config::TEST_CONFIG_KEYS,
        }
    }

    /// Sets `key` on a fresh config of this kind: `Err` when the key or
    /// value is wrong.
    fn check(self, key: &str, value: &Json) -> Result<(), (Code, super::config::ConfigError)> {
        use super::test_config::{TestConfig, TestConfigError};
        match self {
            TreeKind::Nodes => NodeConfig::default()
                .apply(key, value)
                .map_err(|e| (Code::UnknownKey, e)),
            TreeKind::Tests => {
                let known = TEST_CONFIG_KEYS.contains(&key);
                let refused = |code, message: String| {
                    let help = None;
                    Err((code, super::config::ConfigError { message, help }))
                };
                match TestConfig::default().apply(key, value) {
                    _ if !known => {
                        refused(Code::UnknownKey, format!("unknown test config key `{key}`"))
                    }
                    Ok(()) => Ok(()),
                    Err(TestConfigError(m)) => {
                        refused(Code::InvalidValue, format!("invalid value: {m}"))
                    }
                }
            }
        }
    }
}

/// Where a config tree is written, and what its keys are.
struct Tree<'a> {
    path: &'a Path,
    source: &'a str,
    project_name: &'a str,
    kind: TreeKind,
}

/// Walks a `models:`/`seeds:`/`tests:` config tree into folder configs,
/// validating every config key and pointing at the line of any that is wrong.
pub fn folder_configs(
    path: &Path,
    source: &str,
    section: &str,
    project_name: &str,
    tree: Option<&serde_yaml::Value>,
    diags: &mut Diagnostics,
) -> Vec<FolderConfig> {
    let kind = match section {
        "tests" | "data_tests" => TreeKind::Tests,
        _ => TreeKind::Nodes,
    };
    let at = Tree {
        path,
        source,
        project_name,
        kind,
    };
    let mut out = Vec::new();
    if let Some(tree) = tree {
        let mut key_path = vec![section.to_string()];
        at.walk(tree, &mut Vec::new(), &mut key_path, &mut out, diags);
    }
    out
}

impl Tree<'_> {
    fn walk(
        &self,
        node: &serde_yaml::Value,
        folders: &mut Vec<String>,
        key_path: &mut Vec<String>,
        out: &mut Vec<FolderConfig>,
        diags: &mut Diagnostics,
    ) {
        let (path, source) = (self.path, self.source);
        let serde_yaml::Value::Mapping(map) = node else {
            if !node.is_null() {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!(
                            "`{}` must be a mapping of folders and +config keys",
                            key_path.join(".")
                        ),
                    )
                    .at(
                        path,
                        source,
                        locate(source, key_path),
                        "expected a mapping",
                    ),
                );
            }
            return;
        };
        let mut values = Vec::new();
        for (k, v) in map {
            let Some(key) = k.as_str() else { continue };
            key_path.push(key.to_string());
            let plus = key.strip_prefix('+');
            let is_config = plus.is_some() || (!v.is_mapping() && self.kind.keys().contains(&key));
            if is_config {
                let name = plus.unwrap_or(key);
                let json = serde_json::to_value(v).unwrap_or(Json::Null);
                match self.kind.check(name, &json) {
                    Ok(()) => values.push((name.to_string(), json)),
                    Err((code, e)) => diags.push(config_error(path, source, key_path, code, e)),
                }
            } else if v.is_mapping() || v.is_null() {
                // The project name may wrap the tree, as in dbt_project.yml.
                let descend = !(folders.is_empty() && key == self.project_name);
                if descend {
                    folders.push(key.to_string());
                }
                self.walk(v, folders, key_path, out, diags);
                if descend {
                    folders.pop();
                }
            } else {
                diags.push(self.unknown_key(key, key_path));
            }
            key_path.pop();
        }
        if !values.is_empty() {
            out.push(FolderConfig {
                path: folders.clone(),
                values,
            });
        }
    }

    /// A key that is neither a config key nor a folder.
    fn unknown_key(&self, key: &str, key_path: &[String]) -> Diagnostic {
        let d = Diagnostic::new(
            Code::UnknownKey,
            format!("unknown config key `{key}` in {}", self.path.display()),
        )
        .at(
            self.path,
            self.source,
            locate(self.source, key_path),
            "not a config key or folder",
        );
        match did_you_mean(key, self.kind.keys().iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `+{s}`?")),
            None => d.with_help(
                "config keys start with `+` (e.g. `+materialized: table`); folders hold mappings",
            ),
        }
    }
}

/// A folder config value `NodeConfig` refused, at its key.
fn config_error(
    path: &Path,
    source: &str,
    key_path: &[String],
    code: Code,
    e: super::config::ConfigError,
) -> Diagnostic {
    let mut d = Diagnostic::new(code, format!("{} in {}", e.message, path.display())).at(
        path,
        source,
        locate(source, key_path),
        "here",
    );
    if code == Code::UnknownKey
        && (e.message.starts_with("invalid") || e.message.starts_with("config"))
    {
        d.code = Code::InvalidValue;
    }
    if let Some(h) = e.help {
        d = d.with_help(h);
    }
    d
}

fn locate(source: &str, key_path: &[String]) -> Option<crate::diagnostic::Span> {
    let refs: Vec<&str> = key_path.iter().map(String::as_str).collect();
    yaml::locate_key(source, &refs)
}

/// Validates schedules: cron syntax, threads, hook names and arguments.
/// Selectors are checked by the commands once the project is loaded.
pub fn schedules(
    path: &Path,
    source: &str,
    raw: &IndexMap<String, ScheduleFile>,
    diags: &mut Diagnostics,
) -> Vec<Schedule> {
    let file = Written { path, source };
    raw.iter()
        .map(|(name, s)| schedule(&file, name, s, diags))
        .collect()
}

fn schedule(file: &Written<'_>, name: &str, s: &ScheduleFile, diags: &mut Diagnostics) -> Schedule {
    let here = |key: &str| yaml::locate_key(file.source, &["schedules", name, key]);
    if let Err(e) = s.cron.parse::<croner::Cron>() {
        diags.push(
            Diagnostic::new(Code::InvalidValue, format!("schedule `{name}` has an invalid cron expression `{}`", s.cron))
                .at(file.path, file.source, here("cron"), &e.to_string())
                .with_help("use five fields: minute hour day-of-month month day-of-week, e.g. `0 * * * *` for hourly"),
        );
    }
    if s.threads == Some(0) {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("schedule `{name}` has `threads: 0`; 0 would run nothing"),
            )
            .at(
                file.path,
                file.source,
                here("threads"),
                "must be at least 1",
            )
            .with_help("set 1 or more, or remove the key to use the profile's threads"),
        );
    }
    Schedule {
        name: name.to_string(),
        cron: s.cron.clone(),
        description: s.description.clone(),
        select: s.select.to_vec(),
        exclude: s.exclude.to_vec(),
        pre_hooks: hooks(file, name, "pre-hooks", &s.pre_hooks, diags),
        post_hooks: hooks(file, name, "post-hooks", &s.post_hooks, diags),
        full_refresh: s.full_refresh,
        threads: s.threads,
        commit: s.commit,
        test_scope: s.test_scope,
    }
}

/// Checks one hook list of a schedule into typed hooks; every problem of
/// every hook is reported, each at its line.
fn hooks(
    file: &Written<'_>,
    schedule: &str,
    list: &'static str,
    written: &[HookFile],
    diags: &mut Diagnostics,
) -> Vec<Hook> {
    let mut out = Vec::new();
    let mut seen: IndexMap<&str, usize> = IndexMap::new();
    for h in written {
        let map = match h {
            HookFile::Sql(sql) => {
                out.push(Hook::Sql { sql: sql.clone() });
                continue;
            }
            HookFile::Builtin(map) => map,
        };
        for (hook, args) in map {
            let count = seen.entry(hook.as_str()).or_default();
            let site = HookSite {
                schedule: schedule.to_string(),
                list,
                hook: hook.clone(),
                occurrence: *count,
            };
            *count += 1;
            let args = serde_json::to_value(args).unwrap_or(Json::Null);
            match builtin(&args, &site) {
                Ok(h) => out.push(h),
                Err(problems) => {
                    for p in problems {
                        diags.push(p.diagnostic(&site, file));
                    }
                }
            }
        }
    }
    out
}
