//! The lake's snapshots grouped into what people ask about: runs (every
//! snapshot one lake invocation committed: its models, each landed file it
//! loaded, each hook that wrote), newest first, and the versions of one
//! table. Snapshots lake did not write stay visible, one entry each, with
//! what DuckLake says they changed, so nobody mistakes a lake whose tables
//! someone changed by hand for one only lake wrote. Plain data in and out:
//! `lake history` prints it, `--json` serializes it as it is.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::message::{CommitKind, GitState, Undone};
use super::read::{parse_time, utc_text, Changes, Snapshot};

/// `lake history --help`'s text after the flags: examples, where the
/// history comes from, and the `--json` fields, kept stable for programs
/// that read them.
pub const HISTORY_HELP: &str = "\
Examples:
  lake history
  lake history --limit 5
  lake history --model sessions
  lake history --json

Read from the catalog's snapshots, not from local files: any checkout that can
reach the lake sees every run, whoever made it. A snapshot lake did not write
(a notebook, a script) is listed as `written outside lake` with what it changed.
`lake show M --at RUN_ID` reads a model as a run left it.

--json prints one JSON array, newest first. Fields (stable; null when unknown):
  lake history --json: one object per run, or per snapshot lake did not write:
    written_by     \"lake\", or \"outside\" (a snapshot without lake's commit message)
    run_id         the run (also metadata.run_id in target/run_results.json); null outside
    time           when its last snapshot was committed, UTC (YYYY-MM-DD HH:MM:SS.ffffff)
    command        the command line, secrets blanked
    schedule, target, status (\"success\" | \"partial\"), lake_version, git {commit, dirty}
    snapshots      [{id, time, kind (run|load|hook|rollback), file, hook, author, message,
                   changes {kind of change: [schema.name, ...]}}]
    nodes          [{unique_id, relation, rows, snapshot}]: what the run published
    undoes         a rollback's {run_id, to_snapshot, from_snapshot}
  lake history --model M --json: one object per version of M's table:
    snapshot, time, written_by, run_id, command, kind, rows, changes [kind of change, ...]";

/// Who committed a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WrittenBy {
    /// lake, with its commit message.
    Lake,
    /// Anyone else (a notebook, a script, DuckLake creating the catalog).
    Outside,
}

/// One snapshot of a history entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotEntry {
    /// `snapshot_id`.
    pub id: i64,
    /// When it was committed, UTC.
    pub time: String,
    /// Why lake committed it.
    pub kind: Option<CommitKind>,
    /// A load's landed file.
    pub file: Option<String>,
    /// A hook's name.
    pub hook: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `commit_message`.
    pub message: Option<String>,
    /// What DuckLake recorded it changed, catalog ids named where known.
    pub changes: Changes,
}

/// One relation a run published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeEntry {
    /// dbt's unique id.
    pub unique_id: String,
    /// `schema.identifier`.
    pub relation: String,
    /// Rows written, when known.
    pub rows: Option<u64>,
    /// The snapshot that published it.
    pub snapshot: i64,
}

/// One line of `lake history`: a run, or a snapshot lake did not write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Lake or outside.
    pub written_by: WrittenBy,
    /// The run id (`None` outside lake).
    pub run_id: Option<String>,
    /// When its newest snapshot was committed, UTC.
    pub time: String,
    /// The command line, secrets blanked.
    pub command: Option<String>,
    /// `--schedule NAME`.
    pub schedule: Option<String>,
    /// Profile target name.
    pub target: Option<String>,
    /// `success` or `partial`, from the run's snapshot.
    pub status: Option<String>,
    /// lake's version.
    pub lake_version: Option<String>,
    /// The project's code version.
    pub git: Option<GitState>,
    /// Its snapshots, oldest first.
    pub snapshots: Vec<SnapshotEntry>,
    /// What it published.
    pub nodes: Vec<NodeEntry>,
    /// A rollback's target.
    pub undoes: Option<Undone>,
}

/// Groups `all` (oldest first) into history entries, newest first: the
/// snapshots of one run id make one entry wherever they fall (another
/// machine's run may commit between them), every other snapshot is one.
/// `changes` and `names` (catalog id -> `schema.name`) describe what each
/// snapshot changed.
pub fn group(
    all: &[Snapshot],
    changes: &BTreeMap<i64, Changes>,
    names: &BTreeMap<i64, String>,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut by_run: HashMap<String, usize> = HashMap::new();
    for s in all {
        let item = snapshot_entry(s, changes, names);
        let Some(info) = &s.info else {
            entries.push(outside(item));
            continue;
        };
        let at = *by_run.entry(info.run_id.clone()).or_insert_with(|| {
            entries.push(Entry {
                written_by: WrittenBy::Lake,
                run_id: Some(info.run_id.clone()),
                time: String::new(),
                command: Some(info.command.clone()),
                schedule: info.schedule.clone(),
                target: Some(info.target.clone()),
                status: None,
                lake_version: Some(info.lake_version.clone()),
                git: info.git.clone(),
                snapshots: Vec::new(),
                nodes: Vec::new(),
                undoes: None,
            });
            entries.len() - 1
        });
        let e = &mut entries[at];
        e.time = item.time.clone();
        e.status = info.status.clone().or(e.status.take());
        e.undoes = info.undoes.clone().or(e.undoes.take());
        e.nodes.extend(info.nodes.iter().map(|n| NodeEntry {
            unique_id: n.unique_id.clone(),
            relation: n.relation.clone(),
            rows: n.rows,
            snapshot: s.id,
        }));
        e.snapshots.push(item);
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.snapshots.last().map_or(0, |s| s.id)));
    entries
}

fn outside(item: SnapshotEntry) -> Entry {
    Entry {
        written_by: WrittenBy::Outside,
        run_id: None,
        time: item.time.clone(),
        command: None,
        schedule: None,
        target: None,
        status: None,
        lake_version: None,
        git: None,
        snapshots: vec![item],
        nodes: Vec::new(),
        undoes: None,
    }
}

fn snapshot_entry(
    s: &Snapshot,
    changes: &BTreeMap<i64, Changes>,
    names: &BTreeMap<i64, String>,
) -> SnapshotEntry {
    SnapshotEntry {
        id: s.id,
        time: s.time.clone(),
        kind: s.info.as_ref().map(|i| i.kind),
        file: s.info.as_ref().and_then(|i| i.file.clone()),
        hook: s.info.as_ref().and_then(|i| i.hook.clone()),
        author: s.author.clone(),
        message: s.message.clone(),
        changes: changes
            .get(&s.id)
            .map(|c| named(c, names))
            .unwrap_or_default(),
    }
}

/// `changes` with every catalog id that `names` knows replaced by its
/// `schema.name`.
fn named(changes: &Changes, names: &BTreeMap<i64, String>) -> Changes {
    changes
        .iter()
        .map(|(kind, values)| {
            let values = values
                .iter()
                .map(
                    |v| match v.parse::<i64>().ok().and_then(|id| names.get(&id)) {
                        Some(name) if !created(kind) => name.clone(),
                        _ => v.clone(),
                    },
                )
                .collect();
            (kind.clone(), values)
        })
        .collect()
}

/// DuckLake names what a snapshot created (`tables_created: [s.t]`) and
/// gives the catalog id of everything else it changed.
fn created(kind: &str) -> bool {
    kind.ends_with("_created")
}

/// The table or view whose versions `lake history --model` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// dbt's unique id, when the project knows the model.
    pub unique_id: Option<String>,
    /// `schema.identifier`.
    pub relation: String,
}

/// One version of a table: a snapshot that changed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    /// The snapshot.
    pub snapshot: i64,
    /// When it was committed, UTC.
    pub time: String,
    /// Lake or outside.
    pub written_by: WrittenBy,
    /// The run that wrote it.
    pub run_id: Option<String>,
    /// That run's command line.
    pub command: Option<String>,
    /// Why lake committed it.
    pub kind: Option<CommitKind>,
    /// Rows written, when lake recorded them.
    pub rows: Option<u64>,
    /// How DuckLake says it changed the table (`tables_created`, ...).
    pub changes: Vec<String>,
}

/// Every snapshot that changed `table`'s table or view, newest first:
/// those lake says published it, and those whose DuckLake changes name it
/// (by `schema.name`, or by one of the catalog ids it had over time).
pub fn versions(
    all: &[Snapshot],
    changes: &BTreeMap<i64, Changes>,
    names: &BTreeMap<i64, String>,
    table: &Table,
) -> Vec<Version> {
    let ids: Vec<String> = names
        .iter()
        .filter(|(_, n)| **n == table.relation)
        .map(|(id, _)| id.to_string())
        .collect();
    let mut out: Vec<Version> = all
        .iter()
        .rev()
        .filter_map(|s| {
            let published = s.info.as_ref().and_then(|i| {
                i.nodes.iter().find(|n| {
                    n.relation == table.relation || Some(&n.unique_id) == table.unique_id.as_ref()
                })
            });
            let touched: Vec<String> = changes
                .get(&s.id)
                .into_iter()
                .flatten()
                .filter(|(kind, values)| match created(kind) {
                    true => values.contains(&table.relation),
                    false => {
                        !kind.starts_with("schemas_") && values.iter().any(|v| ids.contains(v))
                    }
                })
                .map(|(kind, _)| kind.clone())
                .collect();
            if published.is_none() && touched.is_empty() {
                return None;
            }
            Some(Version {
                snapshot: s.id,
                time: s.time.clone(),
                written_by: if s.info.is_some() {
                    WrittenBy::Lake
                } else {
                    WrittenBy::Outside
                },
                run_id: s.info.as_ref().map(|i| i.run_id.clone()),
                command: s.info.as_ref().map(|i| i.command.clone()),
                kind: s.info.as_ref().map(|i| i.kind),
                rows: published.and_then(|n| n.rows),
                changes: touched,
            })
        })
        .collect();
    out.dedup_by_key(|v| v.snapshot);
    out
}

/// A snapshot time as `lake history` shows it: UTC, to the second.
pub fn short_time(time: &str) -> String {
    parse_time(time).map_or_else(|| time.to_string(), utc_text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::message::{CommitInfo, Published, Stamp};

    fn info(run: &str, kind: CommitKind, nodes: &[(&str, u64)]) -> CommitInfo {
        let stamp = Stamp {
            run_id: run.to_string(),
            command: "lake run --schedule hourly".into(),
            schedule: Some("hourly".into()),
            target: "dev".into(),
            git: None,
            recorded: true,
        };
        let mut i = stamp.commit(kind);
        i.nodes = nodes
            .iter()
            .map(|(r, rows)| Published {
                unique_id: format!("model.demo.{}", r.rsplit('.').next().unwrap()),
                relation: r.to_string(),
                rows: Some(*rows),
            })
            .collect();
        if kind == CommitKind::Run {
            i.status = Some("success".into());
        }
        i
    }

    fn snap(id: i64, info: Option<CommitInfo>) -> Snapshot {
        Snapshot {
            id,
            time: format!("2026-12-01 10:00:{id:02}.5"),
            author: None,
            message: None,
            info,
            changes: String::new(),
        }
    }

    /// Two runs, the second with a load, and a snapshot written by hand
    /// between them that changed the first run's table.
    fn lake() -> (Vec<Snapshot>, BTreeMap<i64, Changes>, BTreeMap<i64, String>) {
        let a = "20261201T100000Z-aaaa";
        let b = "20261201T100005Z-bbbb";
        let all = vec![
            snap(0, None),
            snap(1, Some(info(a, CommitKind::Run, &[("mart.m", 3)]))),
            snap(2, None),
            snap(3, Some(info(b, CommitKind::Load, &[("raw.r", 10)]))),
            snap(4, Some(info(b, CommitKind::Run, &[("mart.m", 4)]))),
        ];
        let c = |pairs: &[(&str, &str)]| -> Changes {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect()
        };
        let changes = BTreeMap::from([
            (0, c(&[("schemas_created", "main")])),
            (1, c(&[("tables_created", "mart.m")])),
            (2, c(&[("inlined_delete", "7")])),
            (3, c(&[("tables_inserted_into", "9")])),
            (
                4,
                c(&[("tables_created", "mart.m"), ("tables_dropped", "7")]),
            ),
        ]);
        let names = BTreeMap::from([
            (7, "mart.m".to_string()),
            (8, "mart.m".to_string()),
            (9, "raw.r".to_string()),
        ]);
        (all, changes, names)
    }

    #[test]
    fn runs_group_their_snapshots_and_outside_writes_stay_visible() {
        let (all, changes, names) = lake();
        let entries = group(&all, &changes, &names);
        let shape: Vec<(WrittenBy, Option<&str>, Vec<i64>)> = entries
            .iter()
            .map(|e| {
                let ids = e.snapshots.iter().map(|s| s.id).collect();
                (e.written_by, e.run_id.as_deref(), ids)
            })
            .collect();
        assert_eq!(
            shape,
            [
                (WrittenBy::Lake, Some("20261201T100005Z-bbbb"), vec![3, 4]),
                (WrittenBy::Outside, None, vec![2]),
                (WrittenBy::Lake, Some("20261201T100000Z-aaaa"), vec![1]),
                (WrittenBy::Outside, None, vec![0]),
            ]
        );
        let newest = &entries[0];
        assert_eq!(newest.status.as_deref(), Some("success"));
        assert_eq!(newest.time, "2026-12-01 10:00:04.5");
        let nodes: Vec<(&str, Option<u64>, i64)> = newest
            .nodes
            .iter()
            .map(|n| (n.relation.as_str(), n.rows, n.snapshot))
            .collect();
        assert_eq!(nodes, [("raw.r", Some(10), 3), ("mart.m", Some(4), 4)]);
        // Catalog ids are named; a schema's name is not looked up.
        assert_eq!(
            entries[1].snapshots[0].changes["inlined_delete"],
            ["mart.m"]
        );
        assert_eq!(entries[3].snapshots[0].changes["schemas_created"], ["main"]);
    }

    /// `--help` documents every field `--json` writes, so the two cannot
    /// drift apart.
    #[test]
    fn help_names_every_json_field() {
        let (all, changes, names) = lake();
        let entry = serde_json::to_value(&group(&all, &changes, &names)[0]).unwrap();
        let table = Table {
            unique_id: None,
            relation: "mart.m".into(),
        };
        let version = serde_json::to_value(&versions(&all, &changes, &names, &table)[0]).unwrap();
        let mut fields: Vec<String> = Vec::new();
        for v in [&entry, &version, &entry["snapshots"][0], &entry["nodes"][0]] {
            fields.extend(v.as_object().unwrap().keys().cloned());
        }
        for f in fields {
            assert!(HISTORY_HELP.contains(&f), "--help does not name `{f}`");
        }
    }

    #[test]
    fn versions_of_a_table_include_what_others_wrote() {
        let (all, changes, names) = lake();
        let table = Table {
            unique_id: Some("model.demo.m".into()),
            relation: "mart.m".into(),
        };
        let v: Vec<(i64, WrittenBy, Option<u64>)> = versions(&all, &changes, &names, &table)
            .iter()
            .map(|v| (v.snapshot, v.written_by, v.rows))
            .collect();
        assert_eq!(
            v,
            [
                (4, WrittenBy::Lake, Some(4)),
                (2, WrittenBy::Outside, None),
                (1, WrittenBy::Lake, Some(3)),
            ]
        );
    }
}
