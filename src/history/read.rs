//! Reading lake's snapshots back from the catalog: every snapshot with the
//! [`CommitInfo`] lake wrote on it (if any), oldest first.

use super::message::CommitInfo;
use crate::sql::identifier;
use crate::warehouse::{Session, WarehouseError};

/// One DuckLake snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `snapshot_id`.
    pub id: i64,
    /// `snapshot_time` as DuckDB prints it (UTC).
    pub time: String,
    /// `author`, when set.
    pub author: Option<String>,
    /// `commit_message`, when set.
    pub message: Option<String>,
    /// lake's `extra_info`, when lake wrote this snapshot.
    pub info: Option<CommitInfo>,
    /// `changes` as DuckDB prints the map (`{tables_created: [s.t], ...}`).
    pub changes: String,
}

/// Every snapshot of the lake attached as `database`, oldest first.
pub fn snapshots(session: &Session, database: &str) -> Result<Vec<Snapshot>, WarehouseError> {
    let rows = session.query(&format!(
        "SELECT snapshot_id, snapshot_time AT TIME ZONE 'UTC', author, commit_message, \
         commit_extra_info, changes FROM {}.snapshots() ORDER BY snapshot_id",
        identifier(database)
    ))?;
    Ok(rows
        .rows
        .into_iter()
        .map(|r| {
            let text = |i: usize| r.get(i).cloned().flatten();
            Snapshot {
                id: text(0).and_then(|s| s.parse().ok()).unwrap_or_default(),
                time: text(1).unwrap_or_default(),
                author: text(2),
                message: text(3),
                info: text(4).as_deref().and_then(CommitInfo::parse),
                changes: text(5).unwrap_or_default(),
            }
        })
        .collect())
}

/// The snapshots committed by run `run_id`, oldest first (a run commits
/// one, plus one per landed file loaded and per writing hook).
pub fn of_run<'a>(all: &'a [Snapshot], run_id: &str) -> Vec<&'a Snapshot> {
    all.iter()
        .filter(|s| s.info.as_ref().is_some_and(|i| i.run_id == run_id))
        .collect()
}
