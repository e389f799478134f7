//! The `cleanup` hook: DuckLake's file maintenance, in the order that frees
//! the most. Snapshots older than the retention expire (time travel before
//! that point is given up), small adjacent files are merged, and then every
//! file no remaining snapshot needs is deleted. Reports what it removed.

use humansize::{format_size, FormatSizeOptions, BINARY};

use super::{HookEnv, HookReport};
use crate::project::project_file::CleanupArgs;
use crate::warehouse::sql_str;

/// Runs the cleanup hook.
pub fn run(env: &HookEnv<'_>, args: &CleanupArgs) -> Result<HookReport, String> {
    let span: jiff::Span = args.retention.parse().map_err(|e| {
        format!(
            "`cleanup` hook: retention `{}` is not a duration ({e}); write e.g. `7 days` or `12 hours`",
            args.retention
        )
    })?;
    let cutoff = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .checked_sub(span)
        .map_err(|e| format!("`cleanup` hook: retention: {e}"))?;
    let cutoff = cutoff.strftime("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
    let db = sql_str(&env.project.target.database);
    let s = env.session;
    let err = |e: crate::warehouse::WarehouseError| format!("cleanup: {}", e.message);

    let expired = s
        .query(&format!(
            "SELECT * FROM ducklake_expire_snapshots('{db}', older_than => TIMESTAMPTZ '{cutoff}')"
        ))
        .map_err(err)?
        .rows
        .len();
    let merged = if args.merge {
        s.query(&format!(
            "SELECT * FROM ducklake_merge_adjacent_files('{db}')"
        ))
        .map_err(err)?
        .rows
        .len()
    } else {
        0
    };
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
    Ok(HookReport {
        summary: format!(
            "cleanup: expired {expired} snapshot{} older than {}, merged files in {merged} table{}, removed {removed} file{} ({})",
            if expired == 1 { "" } else { "s" },
            args.retention,
            if merged == 1 { "" } else { "s" },
            if removed == 1 { "" } else { "s" },
            human_bytes(bytes)
        ),
        problems: Vec::new(),
    })
}

/// Bytes in binary units with one decimal (`0 B`, `1.5 KiB`, `3.2 MiB`).
fn human_bytes(n: u64) -> String {
    format_size(n, FormatSizeOptions::from(BINARY).decimal_places(1))
}
