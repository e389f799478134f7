//! Property files beside models (`models/**/*.yml`, dbt's shape): model and
//! seed descriptions, column docs, data tests, and source declarations.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One property file as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PropertiesFile {
    /// dbt's `version: 2`; accepted and ignored.
    #[serde(default)]
    pub version: Option<u32>,
    /// Model properties.
    #[serde(default)]
    pub models: Vec<NodeProperties>,
    /// Seed properties.
    #[serde(default)]
    pub seeds: Vec<NodeProperties>,
    /// Source declarations.
    #[serde(default)]
    pub sources: Vec<SourceProperties>,
    /// Dashboards `lake serve` shows.
    #[serde(default)]
    pub dashboards: Vec<super::dashboards::Dashboard>,
}

/// Properties of one model or seed.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct NodeProperties {
    /// Model or seed name (file stem).
    pub name: String,
    /// Documentation.
    #[serde(default)]
    pub description: Option<String>,
    /// Config keys, as in `{{ config() }}`.
    #[serde(default)]
    pub config: IndexMap<String, serde_yaml::Value>,
    /// Column docs and tests.
    #[serde(default)]
    pub columns: Vec<ColumnProperties>,
    /// Model-level tests.
    #[serde(default, alias = "data_tests")]
    pub tests: Vec<TestSpec>,
    /// `data-tests:` (hyphen): dbt ignores it, so its tests never run
    /// there; lake does the same and warns (see `discovery`).
    #[serde(default, rename = "data-tests")]
    pub hyphenated_tests: Option<serde_yaml::Value>,
    /// Free metadata.
    #[serde(default)]
    pub meta: IndexMap<String, serde_yaml::Value>,
}

/// One column's docs and tests.
#[derive(Debug, Deserialize, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnProperties {
    /// Column name.
    pub name: String,
    /// Documentation.
    #[serde(default)]
    pub description: Option<String>,
    /// Declared type, informational.
    #[serde(default)]
    pub data_type: Option<String>,
    /// Column tests.
    #[serde(default, alias = "data_tests")]
    #[serde(skip_serializing)]
    pub tests: Vec<TestSpec>,
    /// `data-tests:` (hyphen), ignored as dbt ignores it.
    #[serde(default, rename = "data-tests", skip_serializing)]
    pub hyphenated_tests: Option<serde_yaml::Value>,
    /// Free metadata.
    #[serde(default)]
    #[serde(skip_serializing)]
    pub meta: IndexMap<String, serde_yaml::Value>,
}

/// A generic test reference: `unique` or `{accepted_values: {values: [..]}}`.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum TestSpec {
    /// A test with no arguments.
    Name(String),
    /// A test with arguments.
    WithArgs(IndexMap<String, serde_yaml::Value>),
}

/// A source: tables loaded by something other than lake.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SourceProperties {
    /// Source name, first argument of `source()`.
    pub name: String,
    /// Documentation.
    #[serde(default)]
    pub description: Option<String>,
    /// Schema holding the tables; defaults to the source name.
    #[serde(default)]
    pub schema: Option<String>,
    /// Catalog holding the tables; defaults to the target's.
    #[serde(default)]
    pub database: Option<String>,
    /// Who loads it, informational.
    #[serde(default)]
    pub loader: Option<String>,
    /// Free metadata.
    #[serde(default)]
    pub meta: IndexMap<String, serde_yaml::Value>,
    /// Tags for `tag:` selection.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its tables.
    #[serde(default)]
    pub tables: Vec<SourceTableProperties>,
}

/// One source table.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SourceTableProperties {
    /// Table name, second argument of `source()`.
    pub name: String,
    /// Physical name when it differs.
    #[serde(default)]
    pub identifier: Option<String>,
    /// SQL to read the data in place (e.g. `read_json('s3://...')`) instead of a table.
    #[serde(default)]
    pub external_location: Option<String>,
    /// Documentation.
    #[serde(default)]
    pub description: Option<String>,
    /// Column docs and tests.
    #[serde(default)]
    pub columns: Vec<ColumnProperties>,
    /// Table-level tests.
    #[serde(default, alias = "data_tests")]
    pub tests: Vec<TestSpec>,
    /// `data-tests:` (hyphen), ignored as dbt ignores it.
    #[serde(default, rename = "data-tests")]
    pub hyphenated_tests: Option<serde_yaml::Value>,
    /// Tags for `tag:` selection.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free metadata.
    #[serde(default)]
    pub meta: IndexMap<String, serde_yaml::Value>,
}

/// The generic data tests lake compiles. A kind is parsed from its written
/// name when the project loads, so a misspelt test is a load error, never
/// a query that always passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestKind {
    /// No value appears twice in the column.
    Unique,
    /// The column holds no null.
    NotNull,
    /// Every value is one of `values`.
    AcceptedValues,
    /// Every value appears in `field` of the model `to`.
    Relationships,
}

impl TestKind {
    /// Every kind, in the order help texts list them.
    pub const ALL: &'static [TestKind] = &[
        TestKind::Unique,
        TestKind::NotNull,
        TestKind::AcceptedValues,
        TestKind::Relationships,
    ];

    /// The name written in properties files.
    pub fn as_str(self) -> &'static str {
        match self {
            TestKind::Unique => "unique",
            TestKind::NotNull => "not_null",
            TestKind::AcceptedValues => "accepted_values",
            TestKind::Relationships => "relationships",
        }
    }

    /// The kind written as `name`, if lake knows it.
    pub fn from_name(name: &str) -> Option<TestKind> {
        TestKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// Parses a written test name; the error names it, the nearest kind
    /// and every valid one, for the loader to place at its file and line.
    pub fn parse(name: &str) -> Result<TestKind, super::config::ConfigError> {
        TestKind::from_name(name).ok_or_else(|| {
            let kinds: Vec<&str> = TestKind::ALL.iter().map(|k| k.as_str()).collect();
            let valid = format!(
                "generic tests are {}; write other checks as SQL in tests/sql/",
                kinds.join(", ")
            );
            super::config::ConfigError {
                message: format!("unknown data test `{name}`"),
                help: Some(
                    match crate::diagnostic::did_you_mean(name, kinds.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`? ({valid})"),
                        None => valid,
                    },
                ),
            }
        })
    }

    /// Arguments the test cannot be compiled without.
    pub fn required_args(self) -> &'static [&'static str] {
        match self {
            TestKind::Unique | TestKind::NotNull => &[],
            TestKind::AcceptedValues => &["values"],
            TestKind::Relationships => &["to", "field"],
        }
    }
}

impl std::fmt::Display for TestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::TestKind;

    #[test]
    fn every_test_kind_reads_back_from_its_name() {
        for kind in TestKind::ALL {
            assert_eq!(TestKind::from_name(kind.as_str()), Some(*kind));
        }
        assert_eq!(TestKind::from_name("uniqe"), None);
        let err = TestKind::parse("uniqe").unwrap_err();
        assert_eq!(err.message, "unknown data test `uniqe`");
        assert_eq!(
            err.help.as_deref(),
            Some("did you mean `unique`? (generic tests are unique, not_null, accepted_values, relationships; write other checks as SQL in tests/sql/)")
        );
    }
}
