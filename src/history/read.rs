//! Reading lake's snapshots back from the catalog: every snapshot with the
//! [`CommitInfo`] lake wrote on it (if any), oldest first; what each one
//! changed; and which snapshot a reader's `--at` (a run id, a snapshot id
//! or a time) stands for.

use std::collections::{BTreeMap, HashSet};

use super::message::CommitInfo;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
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

impl Snapshot {
    /// A snapshot for unit tests: written by lake run `run` when given
    /// (else by someone else), at hour `id` of 2026-11-30.
    #[cfg(test)]
    pub fn sample(id: i64, run: Option<&str>) -> Snapshot {
        use super::message::{CommitKind, Stamp};
        let stamp = Stamp {
            run_id: run.unwrap_or_default().into(),
            command: "lake run".into(),
            schedule: None,
            target: "dev".into(),
            git: None,
            recorded: true,
        };
        Snapshot {
            id,
            time: format!("2026-11-30 {id:02}:00:00.123"),
            author: None,
            message: None,
            info: run.map(|_| stamp.commit(CommitKind::Run)),
            changes: String::new(),
        }
    }
}

/// Every snapshot of the lake attached as `database`, oldest first.
pub fn snapshots(session: &Session, database: &str) -> Result<Vec<Snapshot>, WarehouseError> {
    // The time goes through epoch microseconds: `AT TIME ZONE` needs the
    // ICU extension, which lake does not provision.
    let rows = session.query(&format!(
        "SELECT snapshot_id, make_timestamp(epoch_us(snapshot_time)), author, commit_message, \
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

/// What one snapshot changed, as DuckLake records it: a kind of change
/// (`tables_created`, `tables_inserted_into`, `inlined_delete`, ...) to
/// the names (for what was created) or catalog ids (everything else) it
/// touched.
pub type Changes = BTreeMap<String, Vec<String>>;

/// Every snapshot's [`Changes`], by snapshot id. Read as rows of the
/// map's entries, not from its printed text, so names holding commas or
/// brackets survive (and without `to_json`, whose extension would cost
/// every run a load).
pub fn changes(
    session: &Session,
    database: &str,
) -> Result<BTreeMap<i64, Changes>, WarehouseError> {
    // Every snapshot once, with or without changes (an empty map unnests
    // to no row), read from DuckLake once.
    let rows = session.query(&format!(
        "WITH s AS MATERIALIZED (SELECT snapshot_id, changes FROM {}.snapshots()) \
         SELECT snapshot_id, e.key, unnest(e.value) FROM \
           (SELECT snapshot_id, unnest(map_entries(changes)) AS e FROM s) \
         UNION ALL SELECT snapshot_id, NULL, NULL FROM s",
        identifier(database)
    ))?;
    let mut all: BTreeMap<i64, Changes> = BTreeMap::new();
    for r in rows.rows {
        let Some(id) = r.first().cloned().flatten().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let entry = all.entry(id).or_default();
        if let (Some(Some(kind)), Some(Some(value))) = (r.get(1), r.get(2)) {
            entry.entry(kind.clone()).or_default().push(value.clone());
        }
    }
    Ok(all)
}

/// The catalog's metadata schema as SQL: `__ducklake_metadata_<lake>`,
/// then the PostgreSQL catalog's `METADATA_SCHEMA` when it sets one.
fn metadata(database: &str, metadata_schema: Option<&str>) -> String {
    let meta = identifier(&format!("__ducklake_metadata_{database}"));
    match metadata_schema {
        Some(s) => format!("{meta}.{}", identifier(s)),
        None => meta,
    }
}

/// `(schema, name)` of every table and view the lake holds now, read from
/// the DuckLake metadata tables: DuckDB's `duckdb_tables()` makes DuckLake
/// load its whole catalog first (~1.9 s for 1,000 tables), this takes a
/// millisecond, which a run where every node is reused is mostly made of.
/// Falls back to DuckDB's listing when the metadata cannot be read so.
pub fn current_relations(
    session: &Session,
    database: &str,
    metadata_schema: Option<&str>,
) -> Result<HashSet<(String, String)>, WarehouseError> {
    let schema = metadata(database, metadata_schema);
    let sql = format!(
        "SELECT s.schema_name, t.table_name FROM {schema}.ducklake_table t \
           JOIN {schema}.ducklake_schema s USING (schema_id) \
           WHERE t.end_snapshot IS NULL AND s.end_snapshot IS NULL \
         UNION ALL SELECT s.schema_name, v.view_name FROM {schema}.ducklake_view v \
           JOIN {schema}.ducklake_schema s USING (schema_id) \
           WHERE v.end_snapshot IS NULL AND s.end_snapshot IS NULL"
    );
    match session.query(&sql) {
        Ok(rows) => Ok(rows
            .rows
            .into_iter()
            .filter_map(|r| Some((r.first()?.clone()?, r.get(1)?.clone()?)))
            .collect()),
        Err(e) => {
            tracing::debug!(error = %e.message, "listing relations through DuckDB instead");
            session.existing_relations(database)
        }
    }
}

/// `schema.name` of every table, view and schema the catalog has ever
/// held, by catalog id (what [`Changes`] name them by), read from the
/// DuckLake metadata tables (`ducklake_table`, `ducklake_view`,
/// `ducklake_schema` of the DuckLake spec). `metadata_schema` is the
/// PostgreSQL catalog's `METADATA_SCHEMA` (`None`: its default).
///
/// Only for showing and matching what snapshots lake did not write: a
/// catalog whose metadata cannot be read this way gives an empty map.
pub fn catalog_names(
    session: &Session,
    database: &str,
    metadata_schema: Option<&str>,
) -> BTreeMap<i64, String> {
    let schema = metadata(database, metadata_schema);
    let sql = format!(
        "SELECT t.table_id, s.schema_name || '.' || t.table_name \
           FROM {schema}.ducklake_table t JOIN {schema}.ducklake_schema s USING (schema_id) \
         UNION ALL SELECT v.view_id, s.schema_name || '.' || v.view_name \
           FROM {schema}.ducklake_view v JOIN {schema}.ducklake_schema s USING (schema_id) \
         UNION ALL SELECT schema_id, schema_name FROM {schema}.ducklake_schema"
    );
    match session.query(&sql) {
        Ok(rows) => rows
            .rows
            .into_iter()
            .filter_map(|r| {
                let id = r.first()?.as_deref()?.parse().ok()?;
                Some((id, r.get(1)?.clone()?))
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e.message, "cannot read the catalog's table names");
            BTreeMap::new()
        }
    }
}

/// A point in the lake's history, as a reader's `--at` names it.
#[derive(Debug, Clone, PartialEq)]
pub enum At {
    /// A snapshot id.
    Snapshot(i64),
    /// The last snapshot a run committed.
    Run(String),
    /// The last snapshot committed at or before this time.
    Time(jiff::Timestamp),
}

impl At {
    /// Reads `--at`: digits are a snapshot id, a date or time (UTC unless
    /// it carries an offset) a time, `YYYYMMDDTHHMMSSZ...` a run id.
    pub fn parse(text: &str) -> Result<At, AtError> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(At::Snapshot)
                .map_err(|_| AtError::Unparsable(text.to_string()));
        }
        if let Some(t) = parse_time(text) {
            return Ok(At::Time(t));
        }
        if looks_like_run_id(text) {
            return Ok(At::Run(text.to_string()));
        }
        Err(AtError::Unparsable(text.to_string()))
    }

    /// The snapshot this point stands for, among `all` (oldest first):
    /// a clear error when it is not in the lake (any more).
    pub fn resolve(&self, all: &[Snapshot]) -> Result<i64, AtError> {
        let oldest = all.first().map(|s| (s.id, s.time.clone()));
        let newest = all.last().map_or(0, |s| s.id);
        match self {
            At::Snapshot(id) if all.iter().any(|s| s.id == *id) => Ok(*id),
            At::Snapshot(id) if *id > newest => Err(AtError::NoSuchSnapshot { id: *id, newest }),
            At::Snapshot(id) => Err(AtError::Expired {
                id: *id,
                oldest: oldest.unwrap_or_default(),
            }),
            At::Run(run_id) => match of_run(all, run_id).last() {
                Some(s) => Ok(s.id),
                None => Err(unknown_run(run_id, all)),
            },
            At::Time(t) => all
                .iter()
                .rev()
                .find(|s| parse_time(&s.time).is_some_and(|st| st <= *t))
                .map(|s| s.id)
                .ok_or_else(|| AtError::BeforeFirst {
                    time: utc_text(*t),
                    oldest: oldest.unwrap_or_default(),
                }),
        }
    }
}

/// Why `--at` names no snapshot of the lake.
#[derive(Debug, Clone, PartialEq)]
pub enum AtError {
    /// Not a snapshot id, a time or a run id.
    Unparsable(String),
    /// No snapshot carries this run id.
    UnknownRun {
        /// As typed.
        run_id: String,
        /// A run id close to it.
        suggestion: Option<String>,
        /// The run started before the oldest snapshot kept (id, time):
        /// its snapshots were expired.
        expired_before: Option<(i64, String)>,
    },
    /// Past the newest snapshot.
    NoSuchSnapshot {
        /// As typed.
        id: i64,
        /// The newest snapshot.
        newest: i64,
    },
    /// Older than the oldest snapshot kept, or removed from the middle.
    Expired {
        /// As typed.
        id: i64,
        /// The oldest snapshot kept (id, time).
        oldest: (i64, String),
    },
    /// Before the oldest snapshot kept.
    BeforeFirst {
        /// The time asked for, UTC.
        time: String,
        /// The oldest snapshot kept (id, time).
        oldest: (i64, String),
    },
}

/// How the cleanup hook's retention is named in errors about snapshots it
/// expired.
const RETENTION: &str = "the cleanup hook expires older snapshots; it keeps the last N runs \
                         (its `keep-runs` setting, default 24)";

impl AtError {
    /// The error as lake prints it (no file: it is about the command line
    /// and the lake).
    pub fn diagnostic(&self) -> Diagnostic {
        let d = |m: String| Diagnostic::new(Code::Warehouse, m);
        match self {
            AtError::Unparsable(text) => d(format!("cannot read --at `{text}`")).with_help(
                "give a run id (`20261201T150002Z-3fa1`, see `lake history`), a snapshot id \
                 (`42`) or a UTC time (`2026-12-01 14:00`, `2026-12-01T14:00:00+01:00`)",
            ),
            AtError::UnknownRun {
                run_id,
                suggestion,
                expired_before,
            } => {
                let mut e = d(format!("no run `{run_id}` in the lake's history"));
                if let Some((id, time)) = expired_before {
                    e = e.with_note(format!(
                        "the oldest snapshot kept is {id} ({time} UTC): {RETENTION}"
                    ));
                }
                e.with_help(match suggestion {
                    Some(s) => format!("did you mean `{s}`? `lake history` lists the runs"),
                    None => "`lake history` lists the runs".to_string(),
                })
            }
            AtError::NoSuchSnapshot { id, newest } => d(format!(
                "snapshot {id} does not exist: the newest is {newest}"
            ))
            .with_help("`lake history` lists the runs and their snapshots"),
            AtError::Expired { id, oldest } => d(format!(
                "snapshot {id} is no longer in the lake: it was expired"
            ))
            .with_note(format!(
                "the oldest snapshot kept is {} ({} UTC): {RETENTION}",
                oldest.0, oldest.1
            ))
            .with_help("`lake history` lists the runs and snapshots you can read"),
            AtError::BeforeFirst { time, oldest } => {
                let e = d(format!(
                    "the lake has no snapshot at {time} UTC: its oldest is {} ({} UTC)",
                    oldest.0, oldest.1
                ));
                if oldest.0 > 0 {
                    e.with_note(format!("older snapshots were expired: {RETENTION}"))
                } else {
                    e.with_help("the lake did not exist yet; `lake history` lists its runs")
                }
            }
        }
    }
}

fn unknown_run(run_id: &str, all: &[Snapshot]) -> AtError {
    let mut ids: Vec<&str> = all
        .iter()
        .filter_map(|s| s.info.as_ref().map(|i| i.run_id.as_str()))
        .collect();
    ids.dedup();
    // A run id starts with its start time: a run older than the oldest
    // snapshot kept had its snapshots expired.
    let started = run_id
        .get(..16)
        .and_then(|s| jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", s).ok())
        .and_then(|t| jiff::tz::TimeZone::UTC.to_timestamp(t).ok());
    let expired_before = match (all.first(), started) {
        (Some(first), Some(start)) if first.id > 0 => parse_time(&first.time)
            .filter(|t| start < *t)
            .map(|_| (first.id, first.time.clone())),
        _ => None,
    };
    // A run that was expired is no typo of a run still there.
    let suggestion = match expired_before {
        Some(_) => None,
        None => did_you_mean(run_id, ids.iter().copied()).map(str::to_string),
    };
    AtError::UnknownRun {
        run_id: run_id.to_string(),
        suggestion,
        expired_before,
    }
}

/// lake's run ids start with the UTC start time, `YYYYMMDDTHHMMSSZ`; a
/// text shaped so is taken for one (a typo then gets "did you mean").
fn looks_like_run_id(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 9 && b[..8].iter().all(u8::is_ascii_digit) && b[8] == b'T'
}

/// A time as people and DuckDB write it: with an offset (RFC 3339 and
/// the like), else UTC: `2026-12-01 14:00`, `2026-12-01T14:00:00.5`,
/// `2026-12-01`.
pub fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    // DuckDB prints a TIMESTAMPTZ in UTC as `... 14:00:00.5+00`.
    if let Some(t) = text
        .strip_suffix("+00")
        .and_then(|s| format!("{s}Z").parse::<jiff::Timestamp>().ok())
    {
        return Some(t);
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        text.parse::<jiff::civil::Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    })?;
    jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()
}

/// A time as `lake history` prints it: UTC, to the second.
pub fn utc_text(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::message::{CommitKind, Stamp};

    fn snap(id: i64, time: &str, run: Option<&str>) -> Snapshot {
        let info = run.map(|r| {
            let stamp = Stamp {
                run_id: r.to_string(),
                command: "lake run".into(),
                schedule: None,
                target: "dev".into(),
                git: None,
                recorded: true,
            };
            stamp.commit(CommitKind::Run)
        });
        Snapshot {
            id,
            time: time.to_string(),
            author: None,
            message: None,
            info,
            changes: String::new(),
        }
    }

    fn lake() -> Vec<Snapshot> {
        vec![
            snap(3, "2026-12-01 10:00:00.5", None),
            snap(4, "2026-12-01 11:00:00", Some("20261201T105959Z-aaaa")),
            snap(5, "2026-12-01 11:00:01", Some("20261201T105959Z-aaaa")),
            snap(6, "2026-12-01 12:00:00", Some("20261201T115959Z-bbbb")),
        ]
    }

    #[test]
    fn at_reads_snapshots_runs_and_times() {
        assert_eq!(At::parse("42"), Ok(At::Snapshot(42)));
        assert_eq!(
            At::parse("20261201T105959Z-aaaa"),
            Ok(At::Run("20261201T105959Z-aaaa".into()))
        );
        let t = |s: &str| match At::parse(s) {
            Ok(At::Time(t)) => utc_text(t),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(t("2026-12-01 14:00"), "2026-12-01 14:00:00");
        assert_eq!(t("2026-12-01T14:00:00+01:00"), "2026-12-01 13:00:00");
        assert_eq!(t("2026-12-01"), "2026-12-01 00:00:00");
        assert_eq!(t("2026-12-01 14:00:00.25+00"), "2026-12-01 14:00:00");
        for bad in ["yesterday", "", "2026-13-01", "-3", "1 hour ago"] {
            assert_eq!(At::parse(bad), Err(AtError::Unparsable(bad.trim().into())));
        }
    }

    #[test]
    fn at_resolves_to_the_last_snapshot_of_a_run_or_before_a_time() {
        let all = lake();
        let at = |s: &str| At::parse(s).unwrap().resolve(&all);
        assert_eq!(at("20261201T105959Z-aaaa"), Ok(5));
        assert_eq!(at("4"), Ok(4));
        assert_eq!(at("2026-12-01 11:30"), Ok(5));
        assert_eq!(at("2026-12-01 10:00:00.5"), Ok(3));
        assert_eq!(at("2027-01-01"), Ok(6));
    }

    #[test]
    fn at_says_why_a_point_is_not_in_the_lake() {
        let all = lake();
        let at = |s: &str| At::parse(s).unwrap().resolve(&all).unwrap_err();
        assert_eq!(at("9"), AtError::NoSuchSnapshot { id: 9, newest: 6 });
        assert!(matches!(at("1"), AtError::Expired { id: 1, .. }));
        assert!(matches!(
            at("2026-12-01 09:00"),
            AtError::BeforeFirst { .. }
        ));
        match at("20261201T105959Z-aaab") {
            AtError::UnknownRun {
                suggestion,
                expired_before,
                ..
            } => {
                assert_eq!(suggestion.as_deref(), Some("20261201T105959Z-aaaa"));
                assert_eq!(expired_before, None);
            }
            e => panic!("{e:?}"),
        }
        match at("20261130T000000Z-cccc") {
            AtError::UnknownRun { expired_before, .. } => {
                assert_eq!(expired_before.map(|e| e.0), Some(3))
            }
            e => panic!("{e:?}"),
        }
    }
}
