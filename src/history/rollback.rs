//! `lake rollback`, planned without the lake: which snapshot to go back to
//! ([`resolve`], from the snapshots and their commit messages), and the
//! statements that put every relation changed after it back as it was
//! ([`plan`], from the catalog at both snapshots and the changes between).
//!
//! The statements run in one transaction. DuckLake's time travel inside a
//! transaction sees that transaction's own writes (`t AT (VERSION => n)`
//! after a write to `t` reads the written table), so every read of an old
//! version happens in the statement that replaces its table, before
//! anything else touched it; a table whose old version now goes by another
//! name (a rename) is copied into a temp table first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::message::CommitKind;
use super::read::{of_run, Snapshot};
use super::restore_catalog::{CatalogState, Change, TableEntry, ViewEntry};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::sql::identifier;

/// What the user asked to undo.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// A run id; `None` with no snapshot either: the latest lake run.
    pub run_id: Option<String>,
    /// Undo everything after this snapshot.
    pub to_snapshot: Option<i64>,
}

/// Where a rollback goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Put the lake back as it was at `to` (everything after it, up to
    /// `from`, the current snapshot, is undone).
    Undo {
        /// The snapshot to go back to.
        to: i64,
        /// The current snapshot.
        from: i64,
        /// The run undone, when a run was named (or taken as the latest).
        run_id: Option<String>,
    },
    /// The snapshot asked for is the current one.
    Nothing {
        /// The current snapshot.
        current: i64,
    },
}

/// The help every refusal about expired snapshots carries.
fn expired(asked: i64, missing: i64, snapshots: &[Snapshot]) -> Diagnostic {
    let oldest = snapshots.first().map_or(0, |s| s.id);
    let what = if asked == missing {
        "it was expired".to_string()
    } else {
        format!("snapshot {missing}, after it, was expired")
    };
    Diagnostic::new(
        Code::Warehouse,
        format!("cannot roll back to snapshot {asked}: {what}"),
    )
    .with_note(format!(
        "rollback reaches back to snapshot {oldest}, the oldest one left; nothing was changed"
    ))
    .with_help(
        "the `cleanup` hook expires snapshots older than its `retention` that are not among \
             its `keep-runs` newest runs (project.yml): raise them to keep more history",
    )
}

/// The snapshot to go back to, checked: it and every snapshot after it
/// still exist, and a named run is the last thing that changed the lake.
pub fn resolve(snapshots: &[Snapshot], request: &Request) -> Result<Target, Diagnostic> {
    let Some(current) = snapshots.last().map(|s| s.id) else {
        return Err(Diagnostic::new(
            Code::Warehouse,
            "the lake has no snapshots",
        ));
    };
    let (to, run_id) = match (&request.to_snapshot, &request.run_id) {
        (Some(n), _) => (*n, None),
        (None, Some(run)) => (run_start(snapshots, run)?, Some(run.clone())),
        (None, None) => {
            let run = latest_run(snapshots)?;
            (run_start(snapshots, &run)?, Some(run))
        }
    };
    if to > current {
        return Err(Diagnostic::new(
            Code::Warehouse,
            format!("snapshot {to} does not exist: the current snapshot is {current}"),
        )
        .with_help("`lake history` lists the runs and their snapshots"));
    }
    if to == current {
        return Ok(Target::Nothing { current });
    }
    let ids: BTreeSet<i64> = snapshots.iter().map(|s| s.id).collect();
    if !ids.contains(&to) {
        return Err(expired(to, to, snapshots));
    }
    if let Some(missing) = (to..=current).find(|k| !ids.contains(k)) {
        return Err(expired(to, missing, snapshots));
    }
    Ok(Target::Undo {
        to,
        from: current,
        run_id,
    })
}

/// The run id of the newest snapshot lake wrote.
fn latest_run(snapshots: &[Snapshot]) -> Result<String, Diagnostic> {
    snapshots
        .iter()
        .rev()
        .find_map(|s| s.info.as_ref().map(|i| i.run_id.clone()))
        .ok_or_else(|| {
            Diagnostic::new(
                Code::Warehouse,
                "no snapshot of this lake names the lake run that wrote it",
            )
            .with_help(
                "roll back to a snapshot instead: `lake rollback --to-snapshot N` \
                 (`select * from lake.snapshots()` lists them)",
            )
        })
}

/// The snapshot just before `run`'s first one, refusing when another
/// writer changed the lake after the run started.
fn run_start(snapshots: &[Snapshot], run: &str) -> Result<i64, Diagnostic> {
    let own = of_run(snapshots, run);
    let Some(first) = own.first().map(|s| s.id) else {
        let runs: BTreeSet<&str> = snapshots
            .iter()
            .filter_map(|s| s.info.as_ref().map(|i| i.run_id.as_str()))
            .collect();
        let d = Diagnostic::new(
            Code::Warehouse,
            format!("no run `{run}` in the lake's history"),
        );
        return Err(match did_you_mean(run, runs.iter().copied()) {
            Some(s) => d.with_help(format!(
                "did you mean `{s}`? (`lake history` lists the runs)"
            )),
            None => d.with_help("`lake history` lists the runs"),
        });
    };
    let mut later: Vec<String> = Vec::new();
    for s in snapshots.iter().filter(|s| s.id > first) {
        let who = match &s.info {
            Some(i) if i.run_id == run => continue,
            Some(i) if i.kind == CommitKind::Rollback => format!("rollback {}", i.run_id),
            Some(i) => format!("run {}", i.run_id),
            None => format!("snapshot {} (not written by lake)", s.id),
        };
        if !later.contains(&who) {
            later.push(who);
        }
    }
    if later.is_empty() {
        return Ok(first - 1);
    }
    Err(Diagnostic::new(
        Code::Warehouse,
        format!(
            "cannot roll back run `{run}` alone: the lake changed after it, in {}",
            later.join(", ")
        ),
    )
    .with_note("nothing was changed")
    .with_help(format!(
        "undo the run and everything after it with `lake rollback --to-snapshot {}`",
        first - 1
    )))
}

/// `schema.name` of a relation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    /// Schema.
    pub schema: String,
    /// Table or view.
    pub name: String,
}

impl Name {
    fn of_table(t: &TableEntry) -> Name {
        Name {
            schema: t.schema.clone(),
            name: t.name.clone(),
        }
    }

    fn of_view(v: &ViewEntry) -> Name {
        Name {
            schema: v.schema.clone(),
            name: v.name.clone(),
        }
    }

    /// The relation in SQL, in lake `database`.
    pub fn sql(&self, database: &str) -> String {
        format!(
            "{}.{}.{}",
            identifier(database),
            identifier(&self.schema),
            identifier(&self.name)
        )
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// How a table that existed at the target snapshot gets its rows back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableAction {
    /// Same table, only appended to since: delete the rows that were not
    /// there (row ids are stable), cheap for big raw tables.
    RemoveNewRows,
    /// Same table, rows deleted or updated since: replaced by its rows
    /// as they were.
    RestoreRows,
    /// Another table (or other columns) by that name now: replaced by the
    /// old one.
    Recreate,
    /// Dropped (or renamed) since: created again from its old rows.
    Restore,
}

/// Where an old table's rows are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The table itself at the target snapshot.
    AtTarget,
    /// A temp table it was copied into first (its old version goes by
    /// another name now, which this transaction may change first).
    Temp(String),
}

/// One statement of a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Copy a table as it was into a temp table, before anything changes.
    Stage {
        /// Temp table name.
        temp: String,
        /// The relation as it was named at the target snapshot.
        from: Name,
    },
    /// A view that did not exist then (or where a table was).
    DropView(Name),
    /// A schema dropped since.
    CreateSchema(String),
    /// A table that existed then.
    Table {
        /// Its name then.
        name: Name,
        /// How.
        action: TableAction,
        /// Its old rows.
        source: Source,
    },
    /// A table created since.
    DropTable(Name),
    /// A view as it was defined then.
    RestoreView(ViewEntry),
    /// A schema created since.
    DropSchema(String),
}

/// DuckLake change kinds that name things, or drop them: no table's rows
/// changed in place.
const NAMING: [&str; 6] = [
    "schemas_created",
    "tables_created",
    "views_created",
    "schemas_dropped",
    "tables_dropped",
    "views_dropped",
];
/// Change kinds that only append rows.
const APPENDS: [&str; 2] = ["tables_inserted_into", "inlined_insert"];
/// Change kinds that rewrite files but keep every row and its row id.
const NEUTRAL: [&str; 2] = ["merge_adjacent", "flushed_inlined"];

/// The rollback as statements to run in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The snapshot everything goes back to.
    pub to: i64,
    /// In run order.
    pub steps: Vec<Step>,
}

/// Plans putting the lake at `now` back as it was at snapshot `to`
/// (`then`), given every change made after `to`.
pub fn plan(then: &CatalogState, now: &CatalogState, changes: &[Change], to: i64) -> Plan {
    let by_name = |tables: &[TableEntry]| -> BTreeMap<Name, TableEntry> {
        tables
            .iter()
            .map(|t| (Name::of_table(t), t.clone()))
            .collect()
    };
    let (then_t, now_t) = (by_name(&then.tables), by_name(&now.tables));
    let views = |vs: &[ViewEntry]| -> BTreeMap<Name, ViewEntry> {
        vs.iter().map(|v| (Name::of_view(v), v.clone())).collect()
    };
    let (then_v, now_v) = (views(&then.views), views(&now.views));
    let now_ids: HashMap<i64, Name> = now_t.iter().map(|(n, t)| (t.table_id, n.clone())).collect();
    let kinds = kinds_by_table(changes);

    let mut staged = Vec::new();
    let mut tables = Vec::new();
    for (name, old) in &then_t {
        let Some(action) = table_action(old, now_t.get(name), &kinds) else {
            continue;
        };
        // Its old version is live under another name (a rename): copied
        // before any statement can change it.
        let crossed = now_ids.get(&old.table_id).is_some_and(|n| n != name);
        let source = if crossed {
            let temp = format!("__lake_rollback_{}", staged.len());
            staged.push(Step::Stage {
                temp: temp.clone(),
                from: name.clone(),
            });
            Source::Temp(temp)
        } else {
            Source::AtTarget
        };
        tables.push(Step::Table {
            name: name.clone(),
            action,
            source,
        });
    }
    let same_view = |a: &ViewEntry, b: &ViewEntry| {
        a.view_id == b.view_id && a.sql == b.sql && a.aliases == b.aliases
    };
    let mut steps = staged;
    steps.extend(
        now_v
            .keys()
            .filter(|n| !then_v.contains_key(*n))
            .map(|n| Step::DropView(n.clone())),
    );
    let schemas_now: BTreeSet<&String> = now.schemas.iter().collect();
    let schemas_then: BTreeSet<&String> = then.schemas.iter().collect();
    steps.extend(
        schemas_then
            .difference(&schemas_now)
            .map(|s| Step::CreateSchema((*s).clone())),
    );
    steps.extend(tables);
    steps.extend(
        now_t
            .keys()
            .filter(|n| !then_t.contains_key(*n))
            .map(|n| Step::DropTable(n.clone())),
    );
    steps.extend(
        then_v
            .iter()
            .filter(|(n, v)| !now_v.get(*n).is_some_and(|w| same_view(v, w)))
            .map(|(_, v)| Step::RestoreView(v.clone())),
    );
    steps.extend(
        schemas_now
            .difference(&schemas_then)
            .map(|s| Step::DropSchema((*s).clone())),
    );
    Plan { to, steps }
}

/// The change kinds recorded against each table id.
fn kinds_by_table(changes: &[Change]) -> HashMap<i64, BTreeSet<&str>> {
    let mut kinds: HashMap<i64, BTreeSet<&str>> = HashMap::new();
    for c in changes.iter().filter(|c| !NAMING.contains(&c.key.as_str())) {
        if let Ok(id) = c.value.parse::<i64>() {
            kinds.entry(id).or_default().insert(c.key.as_str());
        }
    }
    kinds
}

/// What a table that existed at the target snapshot needs; `None` when
/// it is unchanged.
fn table_action(
    old: &TableEntry,
    now: Option<&TableEntry>,
    kinds: &HashMap<i64, BTreeSet<&str>>,
) -> Option<TableAction> {
    let Some(now) = now else {
        return Some(TableAction::Restore);
    };
    if now.table_id != old.table_id || now.columns != old.columns {
        return Some(TableAction::Recreate);
    }
    let kinds = kinds.get(&old.table_id)?;
    let changed: Vec<&&str> = kinds.iter().filter(|k| !NEUTRAL.contains(k)).collect();
    if changed.is_empty() {
        None
    } else if changed.iter().all(|k| APPENDS.contains(k)) {
        Some(TableAction::RemoveNewRows)
    } else {
        Some(TableAction::RestoreRows)
    }
}

impl Step {
    /// The statement, for lake `database`, going back to snapshot `to`.
    pub fn sql(&self, database: &str, to: i64) -> String {
        let db = identifier(database);
        let at = |n: &Name| format!("{} AT (VERSION => {to})", n.sql(database));
        match self {
            Step::Stage { temp, from } => format!(
                "CREATE OR REPLACE TEMP TABLE {} AS SELECT * FROM {}",
                identifier(temp),
                at(from)
            ),
            Step::DropView(n) => format!("DROP VIEW {}", n.sql(database)),
            Step::CreateSchema(s) => format!("CREATE SCHEMA {db}.{}", identifier(s)),
            Step::Table {
                name,
                action,
                source,
            } => {
                let rel = name.sql(database);
                let from = match source {
                    Source::AtTarget => at(name),
                    Source::Temp(t) => format!("temp.main.{}", identifier(t)),
                };
                match action {
                    TableAction::RemoveNewRows => format!(
                        "DELETE FROM {rel} WHERE rowid NOT IN (SELECT rowid FROM {})",
                        at(name)
                    ),
                    TableAction::RestoreRows | TableAction::Recreate => {
                        format!("CREATE OR REPLACE TABLE {rel} AS SELECT * FROM {from}")
                    }
                    TableAction::Restore => format!("CREATE TABLE {rel} AS SELECT * FROM {from}"),
                }
            }
            Step::DropTable(n) => format!("DROP TABLE {}", n.sql(database)),
            Step::RestoreView(v) => {
                let aliases = if v.aliases.trim().is_empty() {
                    String::new()
                } else {
                    let cols: Vec<String> =
                        v.aliases.split(',').map(|a| identifier(a.trim())).collect();
                    format!(" ({})", cols.join(", "))
                };
                format!(
                    "CREATE OR REPLACE VIEW {}{aliases} AS {}",
                    Name::of_view(v).sql(database),
                    v.sql.replace("{DUCKLAKE_CATALOG}", &db)
                )
            }
            Step::DropSchema(s) => format!("DROP SCHEMA {db}.{}", identifier(s)),
        }
    }

    /// What a person reads for this step: the action and the relation;
    /// `None` for the internal copies.
    pub fn describe(&self) -> Option<(&'static str, String)> {
        Some(match self {
            Step::Stage { .. } => return None,
            Step::DropView(n) => ("drop view", n.to_string()),
            Step::CreateSchema(s) => ("create schema", s.clone()),
            Step::Table { name, action, .. } => (
                match action {
                    TableAction::RemoveNewRows => "remove new rows",
                    TableAction::RestoreRows => "restore rows",
                    TableAction::Recreate => "recreate",
                    TableAction::Restore => "restore table",
                },
                name.to_string(),
            ),
            Step::DropTable(n) => ("drop", n.to_string()),
            Step::RestoreView(v) => ("restore view", Name::of_view(v).to_string()),
            Step::DropSchema(s) => ("drop schema", s.clone()),
        })
    }

    /// The table whose rows this step changes, and whether it exists now
    /// and at the target snapshot (for the row counts people see).
    pub fn rows_of(&self) -> Option<(&Name, bool, bool)> {
        match self {
            Step::Table { name, action, .. } => Some((name, *action != TableAction::Restore, true)),
            Step::DropTable(n) => Some((n, true, false)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(id: i64, schema: &str, name: &str, columns: &str) -> TableEntry {
        TableEntry {
            table_id: id,
            schema: schema.into(),
            name: name.into(),
            columns: columns.into(),
        }
    }

    fn view(id: i64, name: &str, sql: &str) -> ViewEntry {
        ViewEntry {
            view_id: id,
            schema: "mart".into(),
            name: name.into(),
            sql: sql.into(),
            aliases: String::new(),
        }
    }

    fn change(snapshot: i64, key: &str, value: &str) -> Change {
        Change {
            snapshot,
            key: key.into(),
            value: value.into(),
        }
    }

    fn sql(plan: &Plan) -> String {
        plan.steps
            .iter()
            .map(|s| s.sql("lake", plan.to))
            .collect::<Vec<_>>()
            .join(";\n")
    }

    #[test]
    fn every_kind_of_change_is_undone_in_a_safe_order() {
        let then = CatalogState {
            schemas: vec!["main".into(), "mart".into(), "old".into(), "raw".into()],
            tables: vec![
                table(1, "raw", "events", "a:int64"),
                table(2, "mart", "report", "a:int64"),
                table(3, "mart", "wide", "a:int64"),
                table(4, "old", "gone", "a:int64"),
                table(5, "mart", "merged", "a:int64"),
                table(6, "mart", "edited", "a:int64"),
            ],
            views: vec![view(9, "v", "SELECT * FROM {DUCKLAKE_CATALOG}.mart.report")],
        };
        let now = CatalogState {
            schemas: vec!["main".into(), "mart".into(), "new".into(), "raw".into()],
            tables: vec![
                table(1, "raw", "events", "a:int64"),
                table(12, "mart", "report", "a:int64"),
                table(3, "mart", "wide", "a:int64,b:int32"),
                table(5, "mart", "merged", "a:int64"),
                table(6, "mart", "edited", "a:int64"),
                table(13, "new", "fresh", "a:int64"),
            ],
            views: vec![view(14, "v", "SELECT 2"), view(15, "w", "SELECT 3")],
        };
        let changes = [
            change(8, "tables_inserted_into", "1"),
            change(8, "inlined_insert", "1"),
            change(8, "merge_adjacent", "5"),
            change(8, "inlined_delete", "6"),
            change(8, "tables_created", "new.fresh"),
            change(8, "tables_dropped", "4"),
        ];
        insta::assert_snapshot!(sql(&plan(&then, &now, &changes, 7)), @r#"
        DROP VIEW lake.mart.w;
        CREATE SCHEMA lake.old;
        CREATE OR REPLACE TABLE lake.mart.edited AS SELECT * FROM lake.mart.edited AT (VERSION => 7);
        CREATE OR REPLACE TABLE lake.mart.report AS SELECT * FROM lake.mart.report AT (VERSION => 7);
        CREATE OR REPLACE TABLE lake.mart.wide AS SELECT * FROM lake.mart.wide AT (VERSION => 7);
        CREATE TABLE lake.old.gone AS SELECT * FROM lake.old.gone AT (VERSION => 7);
        DELETE FROM lake.raw.events WHERE rowid NOT IN (SELECT rowid FROM lake.raw.events AT (VERSION => 7));
        DROP TABLE lake.new.fresh;
        CREATE OR REPLACE VIEW lake.mart.v AS SELECT * FROM lake.mart.report;
        DROP SCHEMA lake.new
        "#);
    }

    #[test]
    fn a_renamed_table_is_copied_before_anything_changes() {
        let then = CatalogState {
            schemas: vec!["s".into()],
            tables: vec![table(1, "s", "a", "x:int32"), table(2, "s", "b", "x:int32")],
            views: vec![],
        };
        // a and b swapped names.
        let now = CatalogState {
            schemas: vec!["s".into()],
            tables: vec![table(2, "s", "a", "x:int32"), table(1, "s", "b", "x:int32")],
            views: vec![],
        };
        insta::assert_snapshot!(sql(&plan(&then, &now, &[], 3)), @r#"
        CREATE OR REPLACE TEMP TABLE __lake_rollback_0 AS SELECT * FROM lake.s.a AT (VERSION => 3);
        CREATE OR REPLACE TEMP TABLE __lake_rollback_1 AS SELECT * FROM lake.s.b AT (VERSION => 3);
        CREATE OR REPLACE TABLE lake.s.a AS SELECT * FROM temp.main.__lake_rollback_0;
        CREATE OR REPLACE TABLE lake.s.b AS SELECT * FROM temp.main.__lake_rollback_1
        "#);
    }

    fn snapshot(id: i64, run: Option<&str>) -> Snapshot {
        Snapshot::sample(id, run)
    }

    fn refusal(r: Result<Target, Diagnostic>) -> String {
        r.expect_err("refused").render_plain()
    }

    #[test]
    fn a_run_goes_back_to_just_before_its_first_snapshot() {
        let all = [
            snapshot(4, None),
            snapshot(5, Some("r1")),
            snapshot(6, Some("r2")),
            snapshot(7, Some("r2")),
        ];
        let undo = |run: Option<&str>| Target::Undo {
            to: 5,
            from: 7,
            run_id: run.map(str::to_string),
        };
        assert_eq!(
            resolve(&all, &Request::default()).ok(),
            Some(undo(Some("r2")))
        );
        let named = Request {
            run_id: Some("r2".into()),
            to_snapshot: None,
        };
        assert_eq!(resolve(&all, &named).ok(), Some(undo(Some("r2"))));
        let earlier = Request {
            run_id: Some("r1".into()),
            to_snapshot: None,
        };
        let text = refusal(resolve(&all, &earlier));
        assert!(
            text.contains("the lake changed after it, in run r2"),
            "{text}"
        );
        assert!(text.contains("--to-snapshot 4"), "{text}");
        let at = |n| Request {
            run_id: None,
            to_snapshot: Some(n),
        };
        assert_eq!(
            resolve(&all, &at(7)).ok(),
            Some(Target::Nothing { current: 7 })
        );
        assert!(refusal(resolve(&all, &at(3))).contains("snapshot 3: it was expired"));
        assert!(refusal(resolve(&all, &at(-9_000_000_000))).contains("expired"));
        assert!(refusal(resolve(&all, &at(9))).contains("does not exist"));
        let gap = [snapshot(4, None), snapshot(6, None)];
        assert!(refusal(resolve(&gap, &at(4))).contains("snapshot 5, after it, was expired"));
    }
}
