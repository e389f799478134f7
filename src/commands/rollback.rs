//! `lake rollback`: undo a run (or everything after a snapshot) in one new
//! snapshot. The lake is taken like a run takes it (run lock, writable
//! catalog); the target snapshot is resolved from the snapshots' commit
//! messages, the statements planned from DuckLake's metadata
//! ([`crate::history::rollback`]), and then all of them run in ONE
//! transaction tagged with a rollback [`CommitInfo`], so readers see the
//! lake before or after, never between, and the rollback itself can be
//! rolled back.

use std::time::{Duration, Instant};

use super::run::take_lake;
use super::{load, warehouse_failure, Failure};
use crate::cli::{GlobalArgs, RollbackArgs, EXIT_LOCKED, EXIT_OK};
use crate::diagnostic::{Code, Diagnostic};
use crate::history::message::{CommitInfo, CommitKind, Stamp, Undone};
use crate::history::read::snapshots;
use crate::history::restore_catalog::{changes_after, metadata_prefix, row_count, state_at};
use crate::history::rollback::{plan, resolve, Plan, Request, Step, Target};
use crate::warehouse::{Session, WarehouseError};

/// Runs `lake rollback`.
pub fn run(global: &GlobalArgs, args: &RollbackArgs) -> Result<u8, Failure> {
    let clock = Instant::now();
    let project = load(global)?;
    super::require_snapshots(&project.target, "`lake rollback`")?;
    let Some((_lock, wh)) = take_lake(&project, Duration::from_secs(args.wait))? else {
        return Ok(EXIT_LOCKED);
    };
    let db = wh.database().to_string();
    let session = wh.session().map_err(warehouse_failure)?;
    let all = snapshots(&session, &db).map_err(warehouse_failure)?;
    let request = Request {
        run_id: args.run_id.clone(),
        to_snapshot: args.to_snapshot,
    };
    let (to, from, run_id) = match resolve(&all, &request)? {
        Target::Nothing { current } => {
            crate::stdoutln!("Nothing to roll back: snapshot {current} is the current one.");
            return Ok(EXIT_OK);
        }
        Target::Undo { to, from, run_id } => (to, from, run_id),
    };
    let meta = metadata_prefix(&db, &project.target.catalog);
    let then = state_at(&session, &meta, to).map_err(warehouse_failure)?;
    let now = state_at(&session, &meta, from).map_err(warehouse_failure)?;
    let changes = changes_after(&session, &db, to).map_err(warehouse_failure)?;
    let plan = plan(&then, &now, &changes, to);
    let span = if to + 1 == from {
        format!("snapshot {from}")
    } else {
        format!("snapshots {}..{from}", to + 1)
    };
    let what = match &run_id {
        Some(r) => format!("run {r} ({span})"),
        None => span,
    };
    if plan.steps.is_empty() {
        crate::stdoutln!("Nothing to roll back: no relation changed after snapshot {to}.");
        return Ok(EXIT_OK);
    }
    let lines = describe(&session, &db, &plan).map_err(warehouse_failure)?;
    if args.dry_run {
        crate::stdoutln!("Would roll back {what} to snapshot {to}:");
        lines.iter().flatten().for_each(|l| crate::stdoutln!("{l}"));
        crate::stdoutln!("Dry run: nothing was changed; snapshot {from} is still the current one.");
        return Ok(EXIT_OK);
    }
    crate::stdoutln!("Rolling back {what} to snapshot {to}:");
    let stamp = Stamp::new(&project.root, &project.target, None, wh.secrets());
    let mut info = stamp.commit(CommitKind::Rollback);
    info.undoes = Some(Undone {
        run_id,
        to_snapshot: to,
        from_snapshot: from,
    });
    let published = apply(&session, &db, &plan, &lines, from, &info)?;
    let n = lines.iter().flatten().count();
    crate::stdoutln!(
        "\nRolled back {n} relation{} to snapshot {to}, published as snapshot {published} \
         (rollback run {}) [{:.2}s]",
        if n == 1 { "" } else { "s" },
        stamp.run_id,
        clock.elapsed().as_secs_f64()
    );
    Ok(EXIT_OK)
}

/// One console line per visible step: the action, the relation and, for
/// tables, the rows now and after.
fn describe(
    session: &Session,
    db: &str,
    plan: &Plan,
) -> Result<Vec<Option<String>>, WarehouseError> {
    plan.steps
        .iter()
        .map(|step| {
            let Some((action, relation)) = step.describe() else {
                return Ok(None);
            };
            let rows = match step.rows_of() {
                Some((name, exists_now, existed)) => {
                    let rel = name.sql(db);
                    let count = |at: Option<i64>, exists: bool| -> Result<u64, WarehouseError> {
                        if exists {
                            row_count(session, &rel, at)
                        } else {
                            Ok(0)
                        }
                    };
                    let (before, after) =
                        (count(None, exists_now)?, count(Some(plan.to), existed)?);
                    format!("{before} -> {after} rows")
                }
                None => String::new(),
            };
            Ok(Some(
                format!("  {action:<16} {relation:<40} {rows}")
                    .trim_end()
                    .to_string(),
            ))
        })
        .collect()
}

/// Runs the plan in one transaction and commits it tagged with `info`;
/// returns the new snapshot. Any failure rolls everything back.
fn apply(
    session: &Session,
    db: &str,
    plan: &Plan,
    lines: &[Option<String>],
    from: i64,
    info: &CommitInfo,
) -> Result<i64, Failure> {
    let current = || -> Result<i64, WarehouseError> {
        let rows = session.query(&format!(
            "SELECT id FROM {}.current_snapshot()",
            crate::sql::identifier(db)
        ))?;
        Ok(rows
            .rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|s| s.parse().ok())
            .unwrap_or_default())
    };
    let failed = |step: Option<&Step>, e: WarehouseError| -> Failure {
        let what = step
            .and_then(Step::describe)
            .map_or("commit".to_string(), |(a, r)| format!("{a} {r}"));
        Diagnostic::new(
            Code::Warehouse,
            format!("rollback failed at `{what}`: {}", e.message),
        )
        .with_note("the transaction was rolled back: nothing was changed")
        .into()
    };
    session.in_transaction(|| -> Result<(), Stopped> {
        if current().map_err(|e| Stopped(failed(None, e)))? != from {
            return Err(Stopped(Diagnostic::new(
                Code::Warehouse,
                format!("the lake changed while the rollback was planned (snapshot {from} is no longer the current one)"),
            )
            .with_help("run `lake rollback` again")
            .into()));
        }
        for (step, line) in plan.steps.iter().zip(lines) {
            session
                .execute(&step.sql(db, plan.to))
                .map_err(|e| Stopped(failed(Some(step), e)))?;
            if let Some(l) = line {
                crate::stdoutln!("{l}");
            }
        }
        session
            .execute_batch(&info.statement(db).unwrap_or_default())
            .map_err(|e| Stopped(failed(None, e)))
    })
    .map_err(|Stopped(f)| f)?;
    let published = current().map_err(warehouse_failure)?;
    if published <= from {
        return Err(Diagnostic::new(
            Code::Warehouse,
            "the rollback's commit published no snapshot: nothing was changed",
        )
        .into());
    }
    Ok(published)
}

/// A failure inside the rollback's transaction (which needs an error type
/// a warehouse error converts into: the commit's own failure).
struct Stopped(Failure);

impl From<WarehouseError> for Stopped {
    fn from(e: WarehouseError) -> Self {
        Stopped(warehouse_failure(e))
    }
}
