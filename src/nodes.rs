//! The plain data that flows from rendering onward: nodes of the project
//! graph (models, seeds, sources, tests) with their compiled SQL, relation
//! names and dependencies. No stage after rendering reads raw files again.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::project::{ColumnProperties, Materialization, NodeConfig};

/// What kind of node a graph node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A SQL model.
    Model,
    /// A CSV seed.
    Seed,
    /// A declared source table.
    Source,
    /// A data test (generic or singular).
    Test,
}

impl NodeKind {
    /// Name used in ids, selectors and output.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Model => "model",
            NodeKind::Seed => "seed",
            NodeKind::Source => "source",
            NodeKind::Test => "test",
        }
    }
}

/// A fully qualified table or view name in the lake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relation {
    /// The attached catalog (`lake`).
    pub database: String,
    /// DuckLake schema (`stage`).
    pub schema: String,
    /// Table or view name.
    pub identifier: String,
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            quote(&self.database),
            quote(&self.schema),
            quote(&self.identifier)
        )
    }
}

/// Quotes an identifier only when DuckDB would need it; the rule lives in
/// [`crate::sql::identifier`], re-exported here for the many callers that
/// quote relation parts.
pub use crate::sql::identifier as quote;

/// One node of the project graph.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// `model.<project>.<name>`, `seed...`, `source.<project>.<src>.<tbl>`, `test...`.
    pub unique_id: String,
    /// Short name (`events`, `landing.browser_events` for sources).
    pub name: String,
    /// Model, seed, source or test.
    pub kind: NodeKind,
    /// Defining file, relative to the project root.
    pub path: PathBuf,
    /// Fully qualified name: layer folders then name, for selection.
    pub fqn: Vec<String>,
    /// Where it lives in the lake (tests: none).
    pub relation: Option<Relation>,
    /// Resolved config.
    pub config: NodeConfig,
    /// Compiled SQL (models and tests).
    pub compiled_sql: Option<String>,
    /// sha256 of the defining file.
    pub checksum: Option<String>,
    /// Unique ids this node reads, sorted.
    pub depends_on: Vec<String>,
    /// Documentation.
    pub description: Option<String>,
    /// Column docs.
    pub columns: Vec<ColumnProperties>,
    /// For tests: the node under test.
    pub attached_node: Option<String>,
    /// For models with an enforced contract: the columns the query must
    /// return, checked before every build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    /// For `relationships` tests: both sides, so a run that tests only
    /// new rows can look their keys up in the parent's new rows first.
    /// Run-time only: the manifest keeps dbt's shape.
    #[serde(skip)]
    pub relationship: Option<Relationship>,
    /// For seeds: how the CSV's column types are inferred. Run-time only.
    #[serde(skip)]
    pub seed_types: SeedTypes,
    /// For tests that store their failing rows (`store_failures`): where.
    /// Run-time only.
    #[serde(skip)]
    pub stored_failures: Option<StoredFailures>,
    /// For models whose Jinja reads the warehouse (`execute`,
    /// `run_query`, `statement`): their render at run time, just before
    /// they are built, as dbt renders them. Run-time only.
    #[serde(skip)]
    pub live: Option<crate::query_port::LiveRender>,
}

/// Where a test keeps its failing rows, replaced on every run it runs,
/// so the rows behind a failure can be read after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFailures {
    /// The relation (dbt's `<target schema>_dbt_test__audit.<test>`).
    pub relation: Relation,
    /// A view running the test's query rather than a table of its rows.
    pub view: bool,
}

/// How a seed's column types are inferred where `column_types` is silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeedTypes {
    /// DuckDB's CSV sniffer: whole numbers are BIGINT (lake projects).
    #[default]
    Duckdb,
    /// As dbt-duckdb's agate inference: whole numbers are INTEGER, other
    /// numbers DOUBLE, `%Y-%m-%d` dates DATE, date-times TIMESTAMP,
    /// `true`/`false` BOOLEAN, everything else (times too) VARCHAR, so a
    /// dbt project's seeds get the types dbt gives them.
    Dbt,
}

/// The two sides of a `relationships` test, as its SQL names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// The tested (child) column, quoted.
    pub column: String,
    /// The parent relation, as rendered.
    pub parent: String,
    /// The parent's column, quoted.
    pub field: String,
}

/// A model's enforced contract (dbt's `contract: {enforced: true}`),
/// resolved from its properties file when the project is rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contract {
    /// The properties file that declares the columns, relative to the
    /// project root.
    pub declared_in: PathBuf,
    /// One-based line of the model's entry in that file.
    pub line: Option<usize>,
    /// The declared columns, in order.
    pub columns: Vec<ContractColumn>,
}

/// One declared column of a contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContractColumn {
    /// Column name.
    pub name: String,
    /// Declared type, as written (`bigint`, `timestamp`).
    pub data_type: String,
}

impl Node {
    /// The materialization, with seeds and sources reported as such.
    pub fn materialized(&self) -> Materialization {
        self.config.materialized
    }
}

/// What `landed_file()` renders to in a `load` model; the loader (plan::load)
/// replaces it with each landed file's URL. Shared here so render and plan
/// agree on it without importing each other.
pub const LANDED_FILE_MARKER: &str = "__lake_landed_file__";

/// The table function `landed_file()` stands for in a `load` model: every
/// JSON line of one landed file. Types are inferred from the whole file and
/// then cast by the model's select list.
pub fn landed_file_sql() -> String {
    format!("read_json('{LANDED_FILE_MARKER}', format = 'newline_delimited', sample_size = -1)")
}
