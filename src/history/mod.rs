//! The lake's own history: every snapshot lake commits carries a
//! [`message::CommitInfo`] (run id, command, schedule, nodes, code
//! version) through DuckLake's `set_commit_message`, so runs can be listed
//! (`lake history`), undone (`lake rollback`) and read back as they were
//! (`--at`) from the catalog alone, on any machine that can reach it.

pub mod message;
pub mod read;
pub mod restore_catalog;
pub mod rollback;
pub mod runs;
