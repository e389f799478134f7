//! Execution: runs a selection of the graph against the lake. The
//! [`scheduler`] orders and parallelises; [`node_runner`] turns one node
//! into planned SQL on a warehouse session; [`load`] appends landed files
//! exactly once; [`one_snapshot`] publishes a whole run as one DuckLake
//! snapshot (the default); [`microbatch`] finds what a change-driven
//! incremental model recomputes, and `reuse` which nodes need not run;
//! [`report`] prints progress.

pub mod load;
pub mod microbatch;
pub mod node_runner;
pub mod one_snapshot;
pub mod report;
mod reuse;
pub mod scheduler;
pub mod shape;

pub use scheduler::{NodeResult, Outcome, Status};
