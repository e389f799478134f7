//! Model and seed configuration in dbt's vocabulary, and the inheritance
//! rules that merge it: project.yml folder config, then a properties file's
//! `config:`, then the model's own `{{ config(...) }}` call, last one wins
//! (tags accumulate, as dbt users expect).

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value as Json;

pub use super::batch_config::{BatchConfig, BatchFrom, BatchSize};

/// How a model is persisted in the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Materialization {
    /// A view: always fresh, no storage.
    #[default]
    View,
    /// A table rebuilt on every run.
    Table,
    /// A table that only receives new or changed rows.
    Incremental,
    /// Not persisted: inlined into its children as a CTE.
    Ephemeral,
    /// A seed loaded from CSV.
    Seed,
    /// Raw rows appended from landed files, each file exactly once
    /// (see `plan::load`).
    Load,
}

impl Materialization {
    /// The name used in YAML, Jinja and selectors.
    pub fn as_str(self) -> &'static str {
        match self {
            Materialization::View => "view",
            Materialization::Table => "table",
            Materialization::Incremental => "incremental",
            Materialization::Ephemeral => "ephemeral",
            Materialization::Seed => "seed",
            Materialization::Load => "load",
        }
    }
}

/// Defines a config enum whose values are written as fixed names in YAML
/// and Jinja: parsed once when the project loads (an unknown name is a
/// load error with "did you mean"), written back under the same name in
/// the manifest, and read as that name by selectors.
macro_rules! named_enum {
    (
        $(#[$doc:meta])* $name:ident, key = $key:literal,
        { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+ }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the order the help text lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name written in YAML and Jinja.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses a written name; the error lists the valid ones and
            /// the nearest.
            pub fn parse(text: &str) -> Result<Self, ConfigError> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        one_of($key, text, &names)
                    })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// Reads as its written name, so code that matches config values
        /// as text (selectors such as `config.$key:...`) needs no table of
        /// names of its own.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }
    };
}

named_enum! {
    /// How an incremental model folds new rows into its existing table.
    IncrementalStrategy, key = "incremental_strategy",
    {
        /// Insert every new row.
        Append => "append",
        /// Delete rows whose `unique_key` matches a new row, then insert.
        DeleteInsert => "delete+insert",
        /// dbt's merge; lake runs it as delete+insert on the key.
        Merge => "merge",
        /// Recompute exactly the batches (`event_time` hours, or
        /// `unique_key` values) the parents' changes touch since this
        /// model last ran (see `batch_config`).
        Microbatch => "microbatch",
    }
}

named_enum! {
    /// What an incremental run does when the query's columns no longer
    /// match the table's (dbt's `on_schema_change`).
    OnSchemaChange, key = "on_schema_change",
    {
        /// Insert the columns both have; new ones are dropped.
        Ignore => "ignore",
        /// Refuse the run and name the changed columns.
        Fail => "fail",
        /// Add new columns to the table; keep missing ones (as null).
        AppendNewColumns => "append_new_columns",
        /// Add new columns and drop the ones the query no longer returns.
        SyncAllColumns => "sync_all_columns",
    }
}

/// The resolved configuration of one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeConfig {
    /// False removes the node from the project.
    pub enabled: bool,
    /// How the node is persisted.
    pub materialized: Materialization,
    /// DuckLake schema; defaults to the layer folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Table name in the lake when it differs from the file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Free labels for `tag:` selection.
    pub tags: Vec<String>,
    /// Key columns for incremental merge/delete+insert.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unique_key: Vec<String>,
    /// How new rows reach an existing incremental table, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental_strategy: Option<IncrementalStrategy>,
    /// What an incremental run does when the query's columns changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_schema_change: Option<OnSchemaChange>,
    /// SQL run before the model.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_hook: Vec<String>,
    /// SQL run after the model.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_hook: Vec<String>,
    /// Overrides `--full-refresh` for this model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_refresh: Option<bool>,
    /// Seed column types, `column: TYPE`.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub column_types: IndexMap<String, String>,
    /// CSV delimiter for seeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Arbitrary user metadata, carried into the manifest.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub meta: IndexMap<String, Json>,
    /// For `load` models: the landing folder of the files to load
    /// (defaults to the model's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing: Option<String>,
    /// dbt's model contract (`contract: {enforced: true}`).
    #[serde(skip_serializing_if = "ContractConfig::is_off")]
    pub contract: ContractConfig,
    /// Microbatch and reuse settings (`event_time`, `batch_size`,
    /// `batch_from`, `volatile`).
    #[serde(flatten)]
    pub batch: BatchConfig,
    /// A data test's `severity`, `where`, `warn_if`, ... (tests only).
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub test: Option<super::TestConfig>,
}

/// dbt's `contract:` config. With `enforced`, the model's query must return
/// exactly the columns its properties file declares (names, order and
/// `data_type`s), checked before every build: a model that drifts fails
/// instead of silently changing a table its readers depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct ContractConfig {
    /// Whether the declared columns are checked at build time.
    pub enforced: bool,
}

impl ContractConfig {
    /// Keys `contract:` takes.
    pub const KEYS: &'static [&'static str] = &["enforced"];

    fn is_off(&self) -> bool {
        !self.enforced
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            enabled: true,
            materialized: Materialization::View,
            schema: None,
            alias: None,
            tags: Vec::new(),
            unique_key: Vec::new(),
            incremental_strategy: None,
            on_schema_change: None,
            pre_hook: Vec::new(),
            post_hook: Vec::new(),
            full_refresh: None,
            column_types: IndexMap::new(),
            delimiter: None,
            meta: IndexMap::new(),
            landing: None,
            contract: ContractConfig::default(),
            batch: BatchConfig::default(),
            test: None,
        }
    }
}

/// Every config key lake understands, for validation and "did you mean".
pub const CONFIG_KEYS: &[&str] = &[
    "enabled",
    "materialized",
    "schema",
    "alias",
    "tags",
    "unique_key",
    "incremental_strategy",
    "on_schema_change",
    "pre_hook",
    "post_hook",
    "pre-hook",
    "post-hook",
    "full_refresh",
    "column_types",
    "delimiter",
    "meta",
    "landing",
    "contract",
    "docs",
    "description",
    "event_time",
    "batch_size",
    "batch_from",
    "volatile",
];

/// Why a config key/value was refused; the caller adds file and line.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    pub help: Option<String>,
}

impl NodeConfig {
    /// The strategy an incremental run uses: the one set, else `merge`
    /// when a `unique_key` is set and `append` without one (dbt's default).
    pub fn strategy(&self) -> IncrementalStrategy {
        self.incremental_strategy
            .unwrap_or(if self.unique_key.is_empty() {
                IncrementalStrategy::Append
            } else {
                IncrementalStrategy::Merge
            })
    }

    /// What a schema change does: the one set, else `ignore`.
    pub fn schema_change(&self) -> OnSchemaChange {
        self.on_schema_change.unwrap_or(OnSchemaChange::Ignore)
    }

    /// Applies one key; later calls override earlier ones, tags accumulate.
    pub fn apply(&mut self, key: &str, value: &Json) -> Result<(), ConfigError> {
        match key {
            "enabled" => self.enabled = as_bool(key, value)?,
            "materialized" => {
                self.materialized = match as_str(key, value)?.as_str() {
                    "view" => Materialization::View,
                    "table" => Materialization::Table,
                    "incremental" => Materialization::Incremental,
                    "ephemeral" => Materialization::Ephemeral,
                    "seed" => Materialization::Seed,
                    "load" => Materialization::Load,
                    other => {
                        return Err(one_of(
                            key,
                            other,
                            &["view", "table", "incremental", "ephemeral", "load"],
                        ))
                    }
                }
            }
            "schema" => self.schema = Some(as_str(key, value)?),
            "alias" => self.alias = Some(as_str(key, value)?),
            "tags" => {
                for t in as_list(key, value)? {
                    if !self.tags.contains(&t) {
                        self.tags.push(t);
                    }
                }
            }
            "unique_key" => self.unique_key = as_list(key, value)?,
            "incremental_strategy" => {
                self.incremental_strategy = Some(IncrementalStrategy::parse(&as_str(key, value)?)?);
            }
            "on_schema_change" => {
                self.on_schema_change = Some(OnSchemaChange::parse(&as_str(key, value)?)?);
            }
            "pre_hook" | "pre-hook" => self.pre_hook.extend(as_list(key, value)?),
            "post_hook" | "post-hook" => self.post_hook.extend(as_list(key, value)?),
            "full_refresh" => self.full_refresh = Some(as_bool(key, value)?),
            "column_types" => {
                let Json::Object(map) = value else {
                    return Err(type_error(key, "a mapping of column name to SQL type"));
                };
                for (col, ty) in map {
                    let ty = ty
                        .as_str()
                        .ok_or_else(|| type_error(key, "SQL type names as strings"))?;
                    self.column_types.insert(col.clone(), ty.to_string());
                }
            }
            "delimiter" => self.delimiter = Some(as_str(key, value)?),
            "landing" => self.landing = Some(as_str(key, value)?),
            "meta" => {
                let Json::Object(map) = value else {
                    return Err(type_error(key, "a mapping"));
                };
                for (k, v) in map {
                    self.meta.insert(k.clone(), v.clone());
                }
            }
            "contract" => self.contract = contract(key, value)?,
            "docs" | "description" => {}
            key if super::batch_config::KEYS.contains(&key) => self.batch.apply(key, value)?,
            other => {
                return Err(ConfigError {
                    message: format!("unknown config key `{other}`"),
                    help: Some(
                        match crate::diagnostic::did_you_mean(other, CONFIG_KEYS.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("valid config keys: {}", CONFIG_KEYS.join(", ")),
                        },
                    ),
                })
            }
        }
        Ok(())
    }
}

fn one_of(key: &str, got: &str, allowed: &[&str]) -> ConfigError {
    ConfigError {
        message: format!("invalid {key} `{got}`"),
        help: Some(
            match crate::diagnostic::did_you_mean(got, allowed.iter().copied()) {
                Some(s) => format!(
                    "did you mean `{s}`? ({key} is one of: {})",
                    allowed.join(", ")
                ),
                None => format!("{key} is one of: {}", allowed.join(", ")),
            },
        ),
    }
}

/// `{enforced: true}`; unknown keys are refused so a typo never leaves a
/// contract silently unenforced.
fn contract(key: &str, value: &Json) -> Result<ContractConfig, ConfigError> {
    let Json::Object(map) = value else {
        return Err(type_error(key, "a mapping such as `{enforced: true}`"));
    };
    let mut contract = ContractConfig::default();
    for (k, v) in map {
        match k.as_str() {
            "enforced" => contract.enforced = as_bool("contract.enforced", v)?,
            other => {
                return Err(ConfigError {
                    message: format!("unknown key `{other}` in config `contract`"),
                    help: Some(
                        match crate::diagnostic::did_you_mean(
                            other,
                            ContractConfig::KEYS.iter().copied(),
                        ) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => "contract takes `enforced: true` or `enforced: false`".into(),
                        },
                    ),
                })
            }
        }
    }
    Ok(contract)
}

fn type_error(key: &str, wanted: &str) -> ConfigError {
    ConfigError {
        message: format!("config `{key}` expects {wanted}"),
        help: None,
    }
}

fn as_str(key: &str, value: &Json) -> Result<String, ConfigError> {
    match value {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        _ => Err(type_error(key, "a string")),
    }
}

fn as_bool(key: &str, value: &Json) -> Result<bool, ConfigError> {
    value
        .as_bool()
        .ok_or_else(|| type_error(key, "true or false"))
}

fn as_list(key: &str, value: &Json) -> Result<Vec<String>, ConfigError> {
    match value {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| type_error(key, "a string or a list of strings"))
            })
            .collect(),
        Json::Null => Ok(Vec::new()),
        _ => Err(type_error(key, "a string or a list of strings")),
    }
}

/// Config set for a folder in project.yml, applied to every node below it.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderConfig {
    /// Folder path under the resource root (`["stage"]`); empty for the root.
    pub path: Vec<String>,
    /// Keys in file order.
    pub values: Vec<(String, Json)>,
}

/// Applies every folder config whose path is a prefix of `folders`, shallow first.
pub fn inherit(folders: &[FolderConfig], node_folders: &[String], config: &mut NodeConfig) {
    let mut matching: Vec<&FolderConfig> = folders
        .iter()
        .filter(|f| {
            f.path.len() <= node_folders.len() && f.path[..] == node_folders[..f.path.len()]
        })
        .collect();
    matching.sort_by_key(|f| f.path.len());
    for f in matching {
        for (k, v) in &f.values {
            // Values were validated when project.yml was loaded.
            let _ = config.apply(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deeper_folders_override_and_tags_accumulate() {
        let folders = vec![
            FolderConfig {
                path: vec![],
                values: vec![("tags".into(), json!(["all"]))],
            },
            FolderConfig {
                path: vec!["stage".into()],
                values: vec![
                    ("materialized".into(), json!("table")),
                    ("tags".into(), json!("stage")),
                ],
            },
            FolderConfig {
                path: vec!["stage".into(), "web".into()],
                values: vec![("materialized".into(), json!("view"))],
            },
        ];
        let mut c = NodeConfig::default();
        inherit(&folders, &["stage".into(), "web".into()], &mut c);
        assert_eq!(c.materialized, Materialization::View);
        assert_eq!(c.tags, vec!["all", "stage"]);
        let mut c = NodeConfig::default();
        inherit(&folders, &["stage".into()], &mut c);
        assert_eq!(c.materialized, Materialization::Table);
    }

    #[test]
    fn contract_takes_enforced_and_refuses_typos() {
        let mut c = NodeConfig::default();
        c.apply("contract", &json!({"enforced": true})).unwrap();
        assert!(c.contract.enforced);
        let err = c.apply("contract", &json!({"enforce": true})).unwrap_err();
        assert_eq!(err.message, "unknown key `enforce` in config `contract`");
        assert_eq!(err.help.as_deref(), Some("did you mean `enforced`?"));
        let err = c.apply("contract", &json!(true)).unwrap_err();
        assert_eq!(
            err.message,
            "config `contract` expects a mapping such as `{enforced: true}`"
        );
    }

    #[test]
    fn incremental_settings_parse_once_and_read_back_as_written() {
        let mut c = NodeConfig::default();
        assert_eq!(c.strategy(), IncrementalStrategy::Append);
        c.apply("unique_key", &json!("id")).unwrap();
        assert_eq!(c.strategy(), IncrementalStrategy::Merge);
        c.apply("incremental_strategy", &json!("delete+insert"))
            .unwrap();
        assert_eq!(c.strategy(), IncrementalStrategy::DeleteInsert);
        assert_eq!(c.schema_change(), OnSchemaChange::Ignore);
        // The manifest and selectors see the written name.
        let manifest = serde_json::to_value(&c).unwrap();
        assert_eq!(manifest["incremental_strategy"], "delete+insert");
        assert_eq!(&*IncrementalStrategy::DeleteInsert, "delete+insert");
        let err = c.apply("on_schema_change", &json!("sync")).unwrap_err();
        assert_eq!(err.message, "invalid on_schema_change `sync`");
        assert_eq!(
            err.help.as_deref(),
            Some("did you mean `sync_all_columns`? (on_schema_change is one of: ignore, fail, append_new_columns, sync_all_columns)")
        );
    }

    #[test]
    fn rejects_unknown_materialization_with_suggestion() {
        let err = NodeConfig::default()
            .apply("materialized", &json!("tabel"))
            .unwrap_err();
        assert_eq!(err.message, "invalid materialized `tabel`");
        assert!(err.help.unwrap().contains("did you mean `table`?"));
    }
}

/// How a run publishes to the lake (project.yml `commit:`, a schedule's
/// `commit:`, or `--commit`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CommitMode {
    /// One DuckLake snapshot per run: readers see all of a run or none of
    /// it, and one commit instead of hundreds makes deep DAGs several times
    /// faster. A failing node is left out (with its descendants) and the
    /// rest is published.
    #[default]
    Run,
    /// A commit per group of ready nodes, as they finish: for runs of
    /// hours, where finished work must survive a late failure or a kill.
    PerNode,
}

/// What data tests read in a run: the whole tables, or only the rows
/// written since the test last passed (a schedule's `test-scope:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TestScope {
    /// A test of a model reads the model's rows written since the test
    /// last passed (new hours, recomputed batches, a rebuilt table in
    /// full), and is reused when nothing it reads changed: the hourly job's
    /// tests cost what the new data costs. A singular test reads whole
    /// tables; a `relationships` test reads the whole parent only for keys
    /// its new rows do not hold.
    #[default]
    Changed,
    /// Every test reads whole tables and runs every time (the daily
    /// schedule's check of everything the hourly slices did not see, such
    /// as a duplicate across two hours).
    All,
}
