//! The `load` materialization: append every landed file not yet loaded,
//! one DuckLake transaction per file holding both its rows and its ledger
//! row, then delete the landed file. A retried, overlapped or killed run
//! therefore loads each file exactly once: a file whose transaction
//! committed is in the ledger (and is only deleted, never loaded again); a
//! file whose transaction did not commit left nothing behind.
//!
//! A landed file that fails to load (or loads fewer rows than the extract
//! counted lines) is quarantined with the reason instead of failing every
//! later run: it stays landed, is skipped from then on, and the rest of
//! the files and everything downstream go on. The run reports it and
//! exits 1; `lake quarantine` retries or drops it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use super::scheduler::{Outcome, Status};
use crate::history::message::{CommitKind, Published, Stamp};
use crate::nodes::{Node, Relation};
use crate::plan::load as plan;
use crate::plan::quarantine::{self, QuarantineRow, Quarantined, SourceVersion, Stage};
use crate::progress::Progress;
use crate::storage::BlockingStore;
use crate::warehouse::Session;

/// What the ledger tables say about landed files.
struct Ledger {
    /// Already loaded into this relation.
    done: HashSet<String>,
    /// Quarantined: skipped until retried or re-landed.
    quarantined: HashSet<String>,
    /// Deliveries (landed file names without their folder, e.g. one
    /// source hour) with a file held in quarantine: their files in the
    /// other load models' folders wait too, so raw never holds a delivery
    /// in part (relationships between the raw tables keep holding).
    held_deliveries: HashSet<String>,
    /// Lines the extract counted in each landed file.
    expected: HashMap<String, u64>,
}

impl Ledger {
    fn read(session: &Session, rel: &Relation) -> Result<Ledger, String> {
        let query = |sql: &str| session.query(sql).map(|r| r.rows).map_err(|e| e.message);
        let me = plan::ledger_name(rel);
        let done = query(&plan::loaded_files(&rel.database))?
            .into_iter()
            .filter(|r| r[0].as_deref() == Some(me.as_str()))
            .filter_map(|r| r[1].clone())
            .collect();
        let records: Vec<QuarantineRow> = query(&quarantine::select_quarantine(&rel.database))?
            .iter()
            .filter_map(|r| QuarantineRow::from_row(r))
            .collect();
        let quarantined = records.iter().map(|q| q.file.clone()).collect();
        let held_deliveries = records
            .iter()
            .filter(|q| !q.dropped)
            .map(|q| delivery(&q.file).to_string())
            .collect();
        let expected = query(&quarantine::select_landed(&rel.database))?
            .into_iter()
            .filter_map(|r| Some((r[0].clone()?, r[1].as_deref()?.parse().ok()?)))
            .collect();
        Ok(Ledger {
            done,
            quarantined,
            held_deliveries,
            expected,
        })
    }

    /// Why `file` is not loaded now, if it is not.
    fn holds(&self, file: &str) -> Option<Hold> {
        if self.quarantined.contains(file) {
            Some(Hold::Quarantined)
        } else if self.held_deliveries.contains(delivery(file)) {
            Some(Hold::Sibling)
        } else {
            None
        }
    }
}

/// Why a landed file waits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// It is quarantined itself.
    Quarantined,
    /// A file of the same delivery is.
    Sibling,
}

/// The delivery a landed file belongs to: its name without the folder.
fn delivery(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

/// Where a load runs: the worker's connection, the landing location, and
/// the run's interrupt flag.
pub struct LoadEnv<'a> {
    /// The worker's connection.
    pub session: &'a Session,
    /// Where the landed files are.
    pub landing: &'a BlockingStore,
    /// Set on Ctrl-C / SIGTERM: a failure then is an interruption, never
    /// a reason to quarantine a file.
    pub cancel: &'a AtomicBool,
    /// The run's identity, stamped on each file's snapshot.
    pub stamp: &'a Stamp,
}

/// Loads the landed files of `node` into `rel`.
pub fn load_landed(
    env: &LoadEnv<'_>,
    node: &Node,
    rel: &Relation,
    sql: &str,
    existed: bool,
    outcome: &mut Outcome,
) -> Result<Status, String> {
    let LoadEnv {
        session,
        landing,
        cancel,
        ..
    } = *env;
    let folder = node
        .config
        .landing
        .clone()
        .unwrap_or_else(|| node.name.clone());
    let files: Vec<String> = landing
        .list(&format!("{folder}/"))
        .map_err(|e| format!("cannot list landed files: {e}"))?
        .into_iter()
        .filter(|f| f.ends_with(".jsonl"))
        .collect();
    for sql in crate::plan::ledger::ensure_tables(&rel.database) {
        session.execute_batch(&sql).map_err(|e| e.message)?;
    }
    let ledger = Ledger::read(session, rel)?;
    let pending = files
        .iter()
        .filter(|f| !ledger.done.contains(*f) && ledger.holds(f).is_none())
        .count();
    let progress = Progress::start(format!("load {rel}"), pending as u64, "files");
    let mut exists = existed;
    let (mut rows, mut loaded) = (0u64, 0usize);
    let (mut held, mut waiting) = (0usize, 0usize);
    for file in &files {
        if cancel.load(Ordering::SeqCst) {
            return Err(format!("interrupted before {}", landing.url(file)));
        }
        if ledger.done.contains(file) {
            // Loaded by a run that stopped before deleting it.
            tracing::info!(file = %file, "already loaded; removing the landed copy");
            if let Err(e) = landing.delete(file) {
                tracing::warn!("{e}");
            }
            continue;
        }
        match ledger.holds(file) {
            Some(Hold::Quarantined) => {
                held += 1;
                continue;
            }
            Some(Hold::Sibling) => {
                waiting += 1;
                continue;
            }
            None => {}
        }
        let write = plan::load_file(rel, sql, &landing.url(file), exists);
        outcome.statements.push(write.clone());
        let one = OneFile {
            session,
            stamp: env.stamp,
            node,
            rel,
            file,
        };
        match one.load(&write, ledger.expected.get(file).copied()) {
            Ok(n) => {
                progress.advance(1, n);
                exists = true;
                rows += n;
                loaded += 1;
                if let Err(e) = landing.delete(file) {
                    // Harmless: the ledger keeps it from loading twice.
                    tracing::warn!("loaded, but could not remove the landed file: {e}");
                }
            }
            // Interrupted, not wrong: rolled back, loaded by a later run.
            Err(reason) if cancel.load(Ordering::SeqCst) => {
                return Err(format!("{}: {reason}", landing.url(file)));
            }
            Err(reason) => {
                progress.advance(1, 0);
                let url = landing.url(file);
                one.quarantine(&reason)?;
                outcome.problems.push(format!(
                    "{url}: {reason}\n  quarantined: nothing from this file was loaded, and later runs skip it \
                     (and the files of its delivery) until it is landed again from a changed source object; \
                     `lake quarantine retry {file}` tries it again"
                ));
            }
        }
    }
    outcome.action = load_action(loaded, held, waiting);
    outcome.rows = Some(rows);
    if !exists {
        if !outcome.problems.is_empty() {
            return Err(outcome.problems.join("\n"));
        }
        return Err(format!(
            "nothing has landed in {} yet, so {rel} cannot be created\n  \
             run the extract first (`lake run --schedule hourly`) or check `landing_path` in profiles.yml",
            landing.url(&format!("{folder}/"))
        ));
    }
    Ok(Status::Success)
}

/// `load (3 files)`, with the files it skipped: quarantined, or waiting
/// for a quarantined file of their delivery.
fn load_action(loaded: usize, held: usize, waiting: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut action = format!("load ({loaded} file{}", plural(loaded));
    if held > 0 {
        action.push_str(&format!(
            ", {held} quarantined file{} skipped",
            plural(held)
        ));
    }
    if waiting > 0 {
        action.push_str(&format!(
            ", {waiting} file{} waiting for a quarantined file of {} delivery",
            plural(waiting),
            if waiting == 1 { "its" } else { "their" }
        ));
    }
    action.push(')');
    action
}

/// One landed file of a load model, and what its snapshots carry.
struct OneFile<'a> {
    session: &'a Session,
    stamp: &'a Stamp,
    node: &'a Node,
    rel: &'a Relation,
    file: &'a str,
}

impl OneFile<'_> {
    /// The commit message of this file's snapshot: a load, naming the file
    /// and the rows it appended to the raw table.
    fn commit_message(&self, rows: Option<u64>, status: &str) -> Option<String> {
        let mut info = self.stamp.commit(CommitKind::Load);
        info.file = Some(self.file.to_string());
        info.status = Some(status.to_string());
        info.nodes = vec![Published {
            unique_id: self.node.unique_id.clone(),
            relation: format!("{}.{}", self.rel.schema, self.rel.identifier),
            rows,
        }];
        info.statement(&self.rel.database)
    }

    /// Loads the file and its ledger row in one transaction (one
    /// snapshot); `Err` (rolled back) when the load fails or takes fewer
    /// rows than the file has lines.
    fn load(&self, write: &str, expected: Option<u64>) -> Result<u64, String> {
        let (session, rel, file) = (self.session, self.rel, self.file);
        session
            .in_transaction(|| -> Result<u64, LoadError> {
                let n = session.execute(write)?;
                if let Some(lines) = expected.filter(|&lines| lines != n) {
                    return Err(LoadError(format!(
                        "the load took {n} rows but the file holds {lines} lines"
                    )));
                }
                let at = crate::sql::now_timestamp();
                session.execute(&plan::record_load(&rel.database, rel, file, n, &at))?;
                if let Some(tag) = self.commit_message(Some(n), "success") {
                    session.execute(&tag)?;
                }
                Ok(n)
            })
            .map_err(|e| e.0)
    }

    /// Records the file in the quarantine, with the source object it came
    /// from when the extract recorded one.
    fn quarantine(&self, reason: &str) -> Result<(), String> {
        let (session, rel, file) = (self.session, self.rel, self.file);
        let origin = session
            .query(&quarantine::select_origin(&rel.database, file))
            .map_err(|e| e.message)?
            .rows
            .into_iter()
            .next()
            .and_then(|r| {
                Some(SourceVersion {
                    source: r[0].clone()?,
                    size: r[1].as_deref()?.parse().ok()?,
                    version: r[2].clone()?,
                })
            });
        let q = Quarantined {
            file: file.to_string(),
            source: origin,
            stage: Stage::Load,
            reason: reason.to_string(),
            line: None,
        };
        let at = crate::sql::now_timestamp();
        let mut sql = quarantine::record_quarantine(&rel.database, &q, &at);
        sql.extend(self.commit_message(None, "quarantined"));
        session.execute_in_transaction(&sql).map_err(|e| {
            format!(
                "{file} failed to load ({reason}), and could not be quarantined: {}",
                e.message
            )
        })
    }
}

/// Why one file did not load: DuckDB's message or lake's own check.
struct LoadError(String);

impl From<crate::warehouse::WarehouseError> for LoadError {
    fn from(e: crate::warehouse::WarehouseError) -> Self {
        LoadError(e.message)
    }
}
