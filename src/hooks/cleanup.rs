//! The `cleanup` hook: DuckLake's file maintenance, in the order that frees
//! the most. Snapshots older than the retention expire (time travel before
//! that point is given up), small adjacent files are merged, and then every
//! file no remaining snapshot needs is deleted. Reports what it removed.

use serde::Deserialize;
use serde_json::Value as Json;

use super::{parse_args, HookEnv, HookReport};
use crate::warehouse::sql_str;

/// `cleanup:` arguments in project.yml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Args {
    /// How long snapshots are kept, e.g. `7 days`, `12 hours`, `0s`.
    #[serde(default = "default_retention")]
    retention: String,
    /// Merge adjacent small files first.
    #[serde(default = "default_true")]
    merge: bool,
}

fn default_retention() -> String {
    "7 days".into()
}

fn default_true() -> bool {
    true
}

/// Runs the cleanup hook.
pub fn run(env: &HookEnv<'_>, args: Json) -> Result<HookReport, String> {
    let args: Args = parse_args("cleanup", args)?;
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

fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
