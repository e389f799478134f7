//! `lake quarantine`: the files lake stopped because they can never load
//! as they are (rejected at extract, or failed at load). Listing them is
//! how a person finds out what a cron run reported once; `retry` forgets
//! the verdict so the next run fetches or loads them again (after a fix
//! to the rules or the project), `drop` gives up on them for good (until
//! their source object changes).

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::{load, warehouse_failure, Failure};
use crate::cli::{GlobalArgs, QuarantineAction, EXIT_ERROR, EXIT_LOCKED, EXIT_OK};
use crate::diagnostic::{Code, Diagnostic};
use crate::history::message::{CommitKind, Stamp};
use crate::lock::{self, LockError};
use crate::plan::ledger::ensure_tables;
use crate::plan::quarantine::{mark_dropped, release, select_quarantine, QuarantineRow, Stage};
use crate::project::Project;
use crate::storage::{BlockingStore, Store};
use crate::warehouse::Session;

/// One quarantined file as listed.
type Entry = QuarantineRow;

/// Runs `lake quarantine [list|retry|drop]`.
pub fn run(global: &GlobalArgs, action: &QuarantineAction) -> Result<u8, Failure> {
    let project = load(global)?;
    let _lock = match lock::acquire(&project.target, &lock::Deadline::now()) {
        Ok(l) => l,
        Err(LockError::Busy { what, .. }) => {
            Diagnostic::new(
                Code::Locked,
                format!("a lake run is using this lake (lock: {what}); did nothing"),
            )
            .with_help("try again when it has finished")
            .emit_stderr();
            return Ok(EXIT_LOCKED);
        }
        Err(LockError::Failed(m)) => {
            return Err(
                Diagnostic::new(Code::Warehouse, format!("cannot take the run lock: {m}")).into(),
            )
        }
    };
    let wh = crate::warehouse::Warehouse::open(&project.target).map_err(warehouse_failure)?;
    let session = wh.session().map_err(warehouse_failure)?;
    let db = project.target.database.clone();
    // Every change here is a snapshot that says which command made it.
    let stamp = Stamp::new(&project.root, &project.target, None, wh.secrets());
    let tagged = |sql: Vec<String>, what: &str| {
        let mut info = stamp.commit(CommitKind::Hook);
        info.hook = Some(format!("quarantine {what}"));
        let mut sql = sql;
        sql.extend(info.statement(&db));
        session
            .execute_in_transaction(&sql)
            .map_err(warehouse_failure)
    };
    tagged(ensure_tables(&db), "ledger tables")?;
    let entries = read_entries(&session, &db)?;
    match action {
        QuarantineAction::List => {
            print_entries(&entries);
            Ok(EXIT_OK)
        }
        QuarantineAction::Retry { files, all } => {
            let chosen = choose(&entries, files, *all, "retry")?;
            let Some(sql) = release(&db, &chosen) else {
                return Ok(EXIT_OK);
            };
            tagged(vec![sql], "retry")?;
            crate::stdoutln!(
                "released {}: the next run fetches or loads {} again",
                count(chosen.len()),
                if chosen.len() == 1 { "it" } else { "them" }
            );
            Ok(EXIT_OK)
        }
        QuarantineAction::Drop { files, all } => {
            let chosen = choose(&entries, files, *all, "drop")?;
            let code = delete_landed(&project, &entries, &chosen);
            if let Some(sql) = mark_dropped(&db, &chosen) {
                tagged(vec![sql], "drop")?;
            }
            crate::stdoutln!(
                "dropped {}: never loaded, skipped until the source object changes",
                count(chosen.len())
            );
            Ok(code)
        }
    }
}

fn count(n: usize) -> String {
    format!("{n} file{}", if n == 1 { "" } else { "s" })
}

fn read_entries(session: &Session, db: &str) -> Result<Vec<Entry>, Failure> {
    let rows = session
        .query(&select_quarantine(db))
        .map_err(warehouse_failure)?
        .rows;
    Ok(rows.iter().filter_map(|r| Entry::from_row(r)).collect())
}

fn print_entries(entries: &[Entry]) {
    if entries.is_empty() {
        crate::stdoutln!("no quarantined files");
        return;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header([
        "file",
        "state",
        "stage",
        "line",
        "reason",
        "source object",
        "since",
    ]);
    for e in entries {
        table.add_row([
            e.file.as_str(),
            if e.dropped { "dropped" } else { "held" },
            e.stage.map_or("", |s| s.as_str()),
            &e.line.map(|l| l.to_string()).unwrap_or_default(),
            e.reason.as_str(),
            e.source.as_ref().map_or("(unknown)", |s| s.source.as_str()),
            e.since.as_str(),
        ]);
    }
    crate::stdoutln!("{table}");
    crate::stdoutln!(
        "`lake quarantine retry FILE..` tries a file again on the next run; `lake quarantine drop FILE..` gives it up."
    );
}

/// The files named (each must be quarantined), or every one with `--all`.
fn choose(
    entries: &[Entry],
    files: &[String],
    all: bool,
    verb: &str,
) -> Result<Vec<String>, Failure> {
    if all {
        return Ok(entries.iter().map(|e| e.file.clone()).collect());
    }
    if files.is_empty() {
        return Err(Failure::Usage(
            Diagnostic::new(
                Code::BadSelector,
                format!("`lake quarantine {verb}` needs FILE.. or --all"),
            )
            .with_help("`lake quarantine list` shows the quarantined files"),
        ));
    }
    let mut chosen = Vec::new();
    for f in files {
        if !entries.iter().any(|e| &e.file == f) {
            let mut d = Diagnostic::new(Code::BadSelector, format!("`{f}` is not quarantined"));
            if let Some(s) =
                crate::diagnostic::did_you_mean(f, entries.iter().map(|e| e.file.as_str()))
            {
                d = d.with_help(format!("did you mean `{s}`?"));
            } else {
                d = d.with_help("`lake quarantine list` shows the quarantined files");
            }
            return Err(Failure::Usage(d));
        }
        if !chosen.contains(f) {
            chosen.push(f.clone());
        }
    }
    Ok(chosen)
}

/// Deletes the landed copies of dropped load-stage files.
fn delete_landed(project: &Project, entries: &[Entry], chosen: &[String]) -> u8 {
    let target = &project.target;
    let landed: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.stage == Some(Stage::Load) && chosen.contains(&e.file))
        .collect();
    if landed.is_empty() {
        return EXIT_OK;
    }
    let store = match Store::open(&target.landing_path, target.s3.as_ref(), &project.root) {
        Ok(s) => BlockingStore::new(s),
        Err(e) => {
            crate::stderrln!("error: landing path: {e}");
            return EXIT_ERROR;
        }
    };
    let mut code = EXIT_OK;
    for e in landed {
        if let Err(err) = store.delete(&e.file) {
            crate::stderrln!("error: {err}");
            code = EXIT_ERROR;
        }
    }
    code
}
