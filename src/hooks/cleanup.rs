//! The `cleanup` hook: DuckLake's file maintenance, in the order that frees
//! the most. Snapshots older than the retention expire (time travel before
//! that point is given up) unless they belong to the `keep-runs` newest
//! lake runs (so `lake rollback` always reaches that far), small adjacent
//! files are merged (one snapshot, tagged as this hook's), and then every
//! file no remaining snapshot needs is deleted. Reports what it removed
//! and how far back rollback reaches.

use std::collections::BTreeSet;

use humansize::{format_size, FormatSizeOptions, BINARY};

use super::{HookEnv, HookReport};
use crate::history::message::CommitKind;
use crate::history::read::{snapshots, Snapshot};
use crate::project::project_file::CleanupArgs;
use crate::warehouse::sql_str;

/// Runs the cleanup hook.
pub fn run(env: &HookEnv<'_>, args: &CleanupArgs) -> Result<HookReport, String> {
    let cutoff = cutoff(&args.retention)?;
    let expired = expire(env, &cutoff, args.keep_runs)?;
    let merged = if args.merge { merge(env)? } else { 0 };
    let (removed, bytes) = remove_files(env)?;
    let reach = reach(&snapshots(env.session, &env.project.target.database).map_err(err)?);
    Ok(HookReport {
        summary: format!(
            "cleanup: expired {expired} snapshot{} older than {}, merged files in {merged} table{}, removed {removed} file{} ({}); kept the snapshots of the last {} run{}: {reach}",
            if expired == 1 { "" } else { "s" },
            args.retention,
            if merged == 1 { "" } else { "s" },
            if removed == 1 { "" } else { "s" },
            human_bytes(bytes),
            args.keep_runs,
            if args.keep_runs == 1 { "" } else { "s" },
        ),
        problems: Vec::new(),
    })
}

fn err(e: crate::warehouse::WarehouseError) -> String {
    format!("cleanup: {}", e.message)
}

/// Now minus `retention`, as a UTC timestamp literal's text.
fn cutoff(retention: &str) -> Result<String, String> {
    let span: jiff::Span = retention.parse().map_err(|e| {
        format!(
            "`cleanup` hook: retention `{retention}` is not a duration ({e}); write e.g. `7 days` or `12 hours`"
        )
    })?;
    let cutoff = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .checked_sub(span)
        .map_err(|e| format!("`cleanup` hook: retention: {e}"))?;
    Ok(cutoff.strftime("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
}

/// Expires the snapshots older than `cutoff` and older than the last
/// `keep_runs` runs need; returns how many.
fn expire(env: &HookEnv<'_>, cutoff: &str, keep_runs: usize) -> Result<usize, String> {
    let s = env.session;
    let database = &env.project.target.database;
    let keep_from = keep_from(&snapshots(s, database).map_err(err)?, keep_runs);
    let doomed: Vec<String> = s
        .query(&format!(
            "SELECT snapshot_id FROM {}.snapshots() WHERE snapshot_time < TIMESTAMPTZ '{cutoff}' \
             AND snapshot_id < {keep_from} ORDER BY 1",
            crate::sql::identifier(database)
        ))
        .map_err(err)?
        .rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    if doomed.is_empty() {
        return Ok(0);
    }
    Ok(s.query(&format!(
        "SELECT * FROM ducklake_expire_snapshots('{}', versions => [{}])",
        sql_str(database),
        doomed.join(", ")
    ))
    .map_err(err)?
    .rows
    .len())
}

/// Deletes every file no remaining snapshot needs; returns how many and
/// their bytes.
fn remove_files(env: &HookEnv<'_>) -> Result<(usize, u64), String> {
    let s = env.session;
    let db = sql_str(&env.project.target.database);
    let doomed: Vec<String> = s
        .query(&format!(
            "SELECT path FROM ducklake_cleanup_old_files('{db}', cleanup_all => true, dry_run => true)"
        ))
        .map_err(err)?
        .rows
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    let mut bytes = 0u64;
    if !doomed.is_empty() {
        let list = doomed
            .iter()
            .map(|p| format!("'{}'", sql_str(p)))
            .collect::<Vec<_>>()
            .join(", ");
        bytes = s
            .query_count(&format!(
                "SELECT coalesce(sum(size), 0) FROM read_blob([{list}])"
            ))
            .unwrap_or(0);
    }
    let removed = s
        .query(&format!(
            "SELECT path FROM ducklake_cleanup_old_files('{db}', cleanup_all => true)"
        ))
        .map_err(err)?
        .rows
        .len();
    Ok((removed, bytes))
}

/// Merges adjacent small files in one transaction tagged as this hook's
/// commit (DuckLake allows both in one transaction; a merge that finds
/// nothing commits no snapshot). Returns the tables merged.
fn merge(env: &HookEnv<'_>) -> Result<usize, String> {
    let database = &env.project.target.database;
    let mut info = env.stamp.commit(CommitKind::Hook);
    info.hook = Some("cleanup".into());
    let s = env.session;
    s.in_transaction(|| {
        let merged = s
            .query(&format!(
                "SELECT * FROM ducklake_merge_adjacent_files('{}')",
                sql_str(database)
            ))?
            .rows
            .len();
        s.execute_batch(&info.statement(database).unwrap_or_default())?;
        Ok(merged)
    })
    .map_err(err)
}

/// The oldest snapshot the last `keep_runs` lake runs need: the one just
/// before the oldest of those runs' first snapshots (what `lake rollback`
/// of that run goes back to). With no lake run recorded, only the current
/// snapshot is kept (DuckLake never expires it anyway).
pub fn keep_from(snapshots: &[Snapshot], keep_runs: usize) -> i64 {
    let current = snapshots.last().map_or(0, |s| s.id);
    if keep_runs == 0 {
        return current;
    }
    let mut runs: Vec<&str> = Vec::new();
    let mut first_of_oldest = None;
    for s in snapshots.iter().rev() {
        let Some(info) = &s.info else { continue };
        if !runs.contains(&info.run_id.as_str()) {
            if runs.len() == keep_runs {
                break;
            }
            runs.push(&info.run_id);
        }
        first_of_oldest = Some(s.id);
    }
    first_of_oldest.map_or(current, |first| first - 1)
}

/// How far back `lake rollback` reaches, in words: the lake runs whose
/// snapshot before their first one, and every snapshot since, still exist.
pub fn reach(snapshots: &[Snapshot]) -> String {
    let ids: BTreeSet<i64> = snapshots.iter().map(|s| s.id).collect();
    let Some(&current) = ids.last() else {
        return "the lake has no snapshots".into();
    };
    // The oldest snapshot from which every later one still exists.
    let mut floor = current;
    while ids.contains(&(floor - 1)) {
        floor -= 1;
    }
    let mut runs: Vec<(&str, i64)> = Vec::new();
    for s in snapshots {
        let Some(info) = &s.info else { continue };
        if !runs.iter().any(|(r, _)| *r == info.run_id) {
            runs.push((&info.run_id, s.id - 1));
        }
    }
    let reachable: Vec<i64> = runs
        .iter()
        .map(|&(_, before)| before)
        .filter(|&before| before >= floor)
        .collect();
    let to = reachable.iter().copied().min().unwrap_or(floor);
    let time = snapshots
        .iter()
        .find(|s| s.id == to)
        .map(|s| s.time.chars().take(16).collect::<String>())
        .unwrap_or_default();
    let n = reachable.len();
    format!(
        "rollback reaches back {n} run{}, to snapshot {to} ({time})",
        if n == 1 { "" } else { "s" }
    )
}

/// Bytes in binary units with one decimal (`0 B`, `1.5 KiB`, `3.2 MiB`).
fn human_bytes(n: u64) -> String {
    format_size(n, FormatSizeOptions::from(BINARY).decimal_places(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(id: i64, run: Option<&str>) -> Snapshot {
        Snapshot::sample(id, run)
    }

    #[test]
    fn the_last_runs_keep_their_snapshots_and_the_one_before() {
        let all = [
            snapshot(3, None),
            snapshot(4, Some("a")),
            snapshot(5, Some("b")),
            snapshot(6, Some("b")),
            snapshot(7, Some("c")),
        ];
        assert_eq!(keep_from(&all, 1), 6);
        assert_eq!(keep_from(&all, 2), 4);
        assert_eq!(keep_from(&all, 3), 3);
        assert_eq!(keep_from(&all, 24), 3);
        assert_eq!(keep_from(&all, 0), 7);
        assert_eq!(keep_from(&all[..1], 24), 3);
        assert_eq!(
            reach(&all),
            "rollback reaches back 3 runs, to snapshot 3 (2026-11-30 03:00)"
        );
        assert_eq!(
            reach(&all[2..]),
            "rollback reaches back 1 run, to snapshot 6 (2026-11-30 06:00)"
        );
    }
}
