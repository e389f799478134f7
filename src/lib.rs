//! lake: a declarative, dbt-like SQL model compiler and runner for DuckDB +
//! DuckLake.
//!
//! The pipeline, one module per stage, plain data flowing forward:
//! [`project`] (load and validate files) -> [`render`] (Jinja to SQL, discover
//! dependencies) -> [`graph`] (DAG, cycles, order) -> [`select`] (dbt
//! selectors) -> [`plan`] (SQL per materialization, pure) -> [`execute`]
//! (parallel scheduler; [`state`] says which nodes' last builds still
//! stand) -> [`artifacts`] (compiled SQL, manifest, run
//! results). [`warehouse`] is the only module that talks to DuckDB and
//! [`storage`] the only one that talks to S3 or landing folders;
//! [`query_port`] carries the questions a model's Jinja asks the
//! warehouse while it renders at run time;
//! [`hooks`] are a schedule's steps around its models (extract, cleanup),
//! [`lock`] keeps two runs off one lake, [`landing`] names the hourly
//! partitions and [`generate`] makes source data; [`commands`] wires
//! stages into CLI commands; [`cli`] parses flags.
#![deny(missing_docs)]

pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod diagnostic;
pub mod execute;
pub mod generate;
pub mod graph;
pub mod history;
pub mod hooks;
pub mod landing;
pub mod lock;
pub mod logging;
pub mod nodes;
pub mod output;
pub mod parallel;
pub mod plan;
pub mod progress;
pub mod project;
pub mod query_port;
pub mod render;
pub mod select;
pub mod serve;
pub mod sql;
pub mod state;
pub mod storage;
pub mod warehouse;
