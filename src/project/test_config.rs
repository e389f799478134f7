//! A data test's own config, as dbt reads it from a test entry's `config:`
//! (or, in the older form, beside its arguments): `severity`, `where`,
//! `warn_if`, `error_if`, `limit`, `fail_calc`. It says which rows count as
//! failures and how many make the test a warning or an error, so a dbt
//! project's tests end as they end under dbt.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value as Json;

use super::config::FolderConfig;

/// Keys of a test entry that configure the test rather than being one of
/// its arguments (dbt moves them out of the arguments, and out of the
/// test's name).
pub const TEST_CONFIG_KEYS: &[&str] = &[
    "severity",
    "where",
    "warn_if",
    "error_if",
    "limit",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "enabled",
    "tags",
    "meta",
    "alias",
    "database",
    "schema",
];

/// What failing rows make of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `error_if` makes it fail, else `warn_if` a warning (dbt's default).
    #[default]
    Error,
    /// At worst a warning: the run goes on and exits 0.
    Warn,
}

/// `!= 0`, `>5`, `>= 10`: a comparison of the failure count with a number,
/// as dbt writes `warn_if` and `error_if`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threshold {
    op: String,
    value: u64,
}

impl Threshold {
    /// Reads `!= 0`, `>5`, ...; `None` for anything else.
    pub fn parse(text: &str) -> Option<Threshold> {
        let text = text.trim();
        let op_len = text
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '!'))
            .unwrap_or(text.len());
        let (op, number) = text.split_at(op_len);
        let op = if op == "==" { "=" } else { op };
        if !matches!(op, "!=" | "<>" | "=" | ">" | ">=" | "<" | "<=") {
            return None;
        }
        Some(Threshold {
            op: op.to_string(),
            value: number.trim().parse().ok()?,
        })
    }

    /// Whether `failures` meets it.
    pub fn holds(&self, failures: u64) -> bool {
        let v = self.value;
        match self.op.as_str() {
            "!=" | "<>" => failures != v,
            "=" => failures == v,
            ">" => failures > v,
            ">=" => failures >= v,
            "<" => failures < v,
            _ => failures <= v,
        }
    }
}

/// How a test ended, from its failure count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Neither threshold met.
    Pass,
    /// `warn_if` met (and `error_if` not, or severity `warn`).
    Warn,
    /// `error_if` met under severity `error`.
    Fail,
}

/// What a test stores its failing rows as (`store_failures_as`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreAs {
    /// A table holding the failing rows of the last run.
    Table,
    /// A view running the test's query.
    View,
    /// Nothing stored, whatever `store_failures` says.
    Ephemeral,
}

/// A data test's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestConfig {
    /// `error` or `warn`.
    pub severity: Severity,
    /// A filter on the tested relation (`where: "status = 'open'"`).
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_sql: Option<String>,
    /// When the failure count is a warning.
    pub warn_if: Threshold,
    /// When the failure count is an error.
    pub error_if: Threshold,
    /// At most this many failing rows are counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// How failures are counted over the failing rows.
    pub fail_calc: String,
    /// Keep the failing rows in a relation (dbt's `store_failures`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_failures: Option<bool>,
    /// As what; set, it decides alone, as in dbt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_failures_as: Option<StoreAs>,
    /// The stored failures' custom schema (dbt's default: `dbt_test__audit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The stored failures' relation name, in place of the test's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Off: the test is not part of the project (never serialized: the
    /// node's own `enabled` says it).
    #[serde(skip)]
    pub enabled: bool,
}

impl Default for TestConfig {
    fn default() -> Self {
        let any = Threshold {
            op: "!=".into(),
            value: 0,
        };
        TestConfig {
            severity: Severity::Error,
            where_sql: None,
            warn_if: any.clone(),
            error_if: any,
            limit: None,
            fail_calc: "count(*)".into(),
            store_failures: None,
            store_failures_as: None,
            schema: None,
            alias: None,
            enabled: true,
        }
    }
}

impl TestConfig {
    /// Sets `key`; `Err` says what is wrong with the value.
    pub fn apply(&mut self, key: &str, value: &Json) -> Result<(), TestConfigError> {
        let text = || match value {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let invalid = |expected: &str| TestConfigError(format!("`{key}` must be {expected}"));
        match key {
            "severity" => {
                self.severity = match text().map(|s| s.to_lowercase()).as_deref() {
                    Some("error") => Severity::Error,
                    Some("warn") => Severity::Warn,
                    _ => return Err(invalid("`error` or `warn`")),
                }
            }
            "where" => self.where_sql = Some(text().ok_or_else(|| invalid("SQL text"))?),
            "warn_if" | "error_if" => {
                let t = text()
                    .and_then(|s| Threshold::parse(&s))
                    .ok_or_else(|| invalid("a comparison with a number, like `!= 0` or `>10`"))?;
                if key == "warn_if" {
                    self.warn_if = t
                } else {
                    self.error_if = t
                }
            }
            "limit" => self.limit = Some(value.as_u64().ok_or_else(|| invalid("a whole number"))?),
            "fail_calc" => self.fail_calc = text().ok_or_else(|| invalid("SQL text"))?,
            "enabled" => self.enabled = value.as_bool().ok_or_else(|| invalid("true or false"))?,
            "store_failures" => {
                self.store_failures = match value {
                    Json::Null => None,
                    v => Some(v.as_bool().ok_or_else(|| invalid("true or false"))?),
                }
            }
            "store_failures_as" => {
                self.store_failures_as = match text().map(|s| s.to_lowercase()).as_deref() {
                    None if value.is_null() => None,
                    Some("table") => Some(StoreAs::Table),
                    Some("view") => Some(StoreAs::View),
                    Some("ephemeral") => Some(StoreAs::Ephemeral),
                    _ => return Err(invalid("`table`, `view` or `ephemeral`")),
                }
            }
            "schema" | "alias" => {
                let name = text()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| invalid("a name"))?;
                if key == "schema" {
                    self.schema = Some(name)
                } else {
                    self.alias = Some(name)
                }
            }
            // Labels and placement lake has no use for on a test.
            _ => {}
        }
        Ok(())
    }

    /// Whether, and as what, the test keeps its failing rows: a set
    /// `store_failures_as` decides (`ephemeral`: not at all), else
    /// `store_failures`, else `default` (`--store-failures`), as a table.
    pub fn stored_as(&self, default: bool) -> Option<StoreAs> {
        match self.store_failures_as {
            Some(StoreAs::Ephemeral) => None,
            Some(kind) => Some(kind),
            None => self
                .store_failures
                .unwrap_or(default)
                .then_some(StoreAs::Table),
        }
    }

    /// How a test with `failures` ends: dbt's order, `error_if` first.
    pub fn judge(&self, failures: u64) -> Verdict {
        if self.severity == Severity::Error && self.error_if.holds(failures) {
            Verdict::Fail
        } else if self.warn_if.holds(failures) {
            Verdict::Warn
        } else {
            Verdict::Pass
        }
    }
}

/// The project file's `tests:` (and `data_tests:`) tree: folder configs
/// matched, as dbt matches them, against the folders of the file that
/// defines a test, below the model, seed or test path holding it.
#[derive(Debug, Clone, Default)]
pub struct TestTree {
    /// The tree's folder configs (validated when the project loaded).
    pub folders: Vec<FolderConfig>,
    /// Model, seed and test paths (`models`, `tests`, ...), stripped off a
    /// test's file path before its folders are matched.
    pub bases: Vec<PathBuf>,
}

impl TestTree {
    /// The config of a test defined in `defined_in`: the tree's folders
    /// holding it (shallow first), then the test's own keys, which win.
    pub fn config_for(&self, defined_in: &Path, own: &IndexMap<String, Json>) -> TestConfig {
        let folders = self.folders_of(defined_in);
        let mut matching: Vec<&FolderConfig> = self
            .folders
            .iter()
            .filter(|f| f.path.len() <= folders.len() && f.path[..] == folders[..f.path.len()])
            .collect();
        matching.sort_by_key(|f| f.path.len());
        let tree = matching
            .iter()
            .flat_map(|f| f.values.iter().map(|(k, v)| (k, v)));
        let mut config = TestConfig::default();
        for (key, value) in tree.chain(own.iter()) {
            // Both were validated when the project loaded.
            let _ = config.apply(key, value);
        }
        config
    }

    /// The folders of `path` below the base path that holds it.
    fn folders_of(&self, path: &Path) -> Vec<String> {
        let dir = path.parent().unwrap_or(Path::new(""));
        let below = self
            .bases
            .iter()
            .find_map(|b| dir.strip_prefix(b).ok())
            .unwrap_or(dir);
        below
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    }
}

/// A test config value that does not fit its key: what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestConfigError(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_tree_matches_folders_below_the_base_and_the_entry_wins() {
        let tree = TestTree {
            folders: vec![
                FolderConfig {
                    path: vec![],
                    values: vec![("severity".into(), json!("warn"))],
                },
                FolderConfig {
                    path: vec!["staging".into()],
                    values: vec![("warn_if".into(), json!(">5"))],
                },
            ],
            bases: vec![PathBuf::from("models"), PathBuf::from("tests")],
        };
        let staging = tree.config_for(Path::new("models/staging/schema.yml"), &IndexMap::new());
        assert_eq!(staging.severity, Severity::Warn);
        assert_eq!(staging.judge(5), Verdict::Pass);
        let top = tree.config_for(Path::new("models/schema.yml"), &IndexMap::new());
        assert_eq!(top.judge(1), Verdict::Warn);
        let own = IndexMap::from([("severity".to_string(), json!("error"))]);
        let singular = tree.config_for(Path::new("tests/staging/x.sql"), &own);
        assert_eq!(singular.judge(6), Verdict::Fail);
    }

    #[test]
    fn store_failures_as_decides_alone_then_store_failures_then_the_flag() {
        let stored = |keys: &[(&str, Json)], flag| {
            let mut c = TestConfig::default();
            for (k, v) in keys {
                c.apply(k, v).unwrap();
            }
            c.stored_as(flag)
        };
        assert_eq!(stored(&[], false), None);
        assert_eq!(stored(&[], true), Some(StoreAs::Table));
        assert_eq!(
            stored(&[("store_failures", json!(true))], false),
            Some(StoreAs::Table)
        );
        assert_eq!(stored(&[("store_failures", json!(false))], true), None);
        let view_anyway = [
            ("store_failures", json!(false)),
            ("store_failures_as", json!("view")),
        ];
        assert_eq!(stored(&view_anyway, false), Some(StoreAs::View));
        let never = [
            ("store_failures", json!(true)),
            ("store_failures_as", json!("ephemeral")),
        ];
        assert_eq!(stored(&never, true), None);
    }

    #[test]
    fn thresholds_read_as_dbt_writes_them() {
        assert!(Threshold::parse("!= 0").unwrap().holds(3));
        assert!(!Threshold::parse("!=0").unwrap().holds(0));
        assert!(Threshold::parse(">5").unwrap().holds(6));
        assert!(!Threshold::parse("> 5").unwrap().holds(5));
        assert!(Threshold::parse(">= 10").unwrap().holds(10));
        assert!(Threshold::parse("=0").unwrap().holds(0));
        assert_eq!(Threshold::parse("> many"), None);
        assert_eq!(Threshold::parse("like 5"), None);
    }

    #[test]
    fn error_if_wins_then_warn_if_and_warn_severity_never_fails() {
        let mut c = TestConfig::default();
        c.apply("error_if", &json!(">100")).unwrap();
        c.apply("warn_if", &json!(">5")).unwrap();
        assert_eq!(c.judge(3), Verdict::Pass);
        assert_eq!(c.judge(17), Verdict::Warn);
        assert_eq!(c.judge(101), Verdict::Fail);
        c.apply("severity", &json!("warn")).unwrap();
        assert_eq!(c.judge(101), Verdict::Warn);
        assert_eq!(TestConfig::default().judge(1), Verdict::Fail);
        assert!(matches!(
            c.apply("store_failures_as", &json!("parquet")),
            Err(TestConfigError(_))
        ));
        assert!(matches!(
            c.apply("severity", &json!("loud")),
            Err(TestConfigError(_))
        ));
    }
}
