//! `lake history`: the runs recorded in the lake's snapshots.

use super::Failure;
use crate::cli::{GlobalArgs, HistoryArgs};

/// Runs `lake history`.
pub fn run(_global: &GlobalArgs, _args: &HistoryArgs) -> Result<u8, Failure> {
    Err(crate::diagnostic::Diagnostic::new(
        crate::diagnostic::Code::Warehouse,
        "lake history is not built yet",
    )
    .into())
}
