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
    /// Tags for `tag:` selection.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free metadata.
    #[serde(default)]
    pub meta: IndexMap<String, serde_yaml::Value>,
}
