//! `lake rollback`: undo a run in one new snapshot.

use super::Failure;
use crate::cli::{GlobalArgs, RollbackArgs};

/// Runs `lake rollback`.
pub fn run(_global: &GlobalArgs, _args: &RollbackArgs) -> Result<u8, Failure> {
    Err(crate::diagnostic::Diagnostic::new(
        crate::diagnostic::Code::Warehouse,
        "lake rollback is not built yet",
    )
    .into())
}
