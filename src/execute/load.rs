//! The `load` materialization: append every landed file not yet loaded,
//! one DuckLake transaction per file holding both its rows and its ledger
//! row, then delete the landed file. A retried, overlapped or killed run
//! therefore loads each file exactly once: a file whose transaction
//! committed is in the ledger (and is only deleted, never loaded again); a
//! file whose transaction did not commit left nothing behind.

use std::collections::HashSet;

use super::scheduler::{Outcome, Status};
use crate::nodes::{Node, Relation};
use crate::plan::load as plan;
use crate::storage::BlockingStore;
use crate::warehouse::Session;

/// Loads the landed files of `node` into `rel`.
pub fn load_landed(
    session: &Session,
    landing: &BlockingStore,
    node: &Node,
    rel: &Relation,
    sql: &str,
    existed: bool,
    outcome: &mut Outcome,
) -> Result<Status, String> {
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
    let me = plan::ledger_name(rel);
    let done: HashSet<String> = session
        .query(&plan::loaded_files(&rel.database))
        .map_err(|e| e.message)?
        .rows
        .into_iter()
        .filter(|r| r[0].as_deref() == Some(me.as_str()))
        .filter_map(|r| r[1].clone())
        .collect();
    let mut exists = existed;
    let (mut rows, mut loaded, mut errors) = (0u64, 0usize, Vec::new());
    for file in &files {
        if done.contains(file) {
            // Loaded by a run that stopped before deleting it.
            tracing::info!(file = %file, "already loaded; removing the landed copy");
            if let Err(e) = landing.delete(file) {
                tracing::warn!("{e}");
            }
            continue;
        }
        let write = plan::load_file(rel, sql, &landing.url(file), exists);
        outcome.statements.push(write.clone());
        let result = (|| -> Result<u64, String> {
            session
                .execute_batch("BEGIN TRANSACTION")
                .map_err(|e| e.message)?;
            let n = session.execute(&write).map_err(|e| e.message)?;
            let at = jiff::Timestamp::now()
                .strftime("%Y-%m-%d %H:%M:%S%.6f")
                .to_string();
            session
                .execute(&plan::record_load(&rel.database, rel, file, n, &at))
                .map_err(|e| e.message)?;
            session.execute_batch("COMMIT").map_err(|e| e.message)?;
            Ok(n)
        })();
        match result {
            Ok(n) => {
                exists = true;
                rows += n;
                loaded += 1;
                if let Err(e) = landing.delete(file) {
                    // Harmless: the ledger keeps it from loading twice.
                    tracing::warn!("loaded, but could not remove the landed file: {e}");
                }
            }
            Err(e) => {
                let _ = session.execute_batch("ROLLBACK");
                errors.push(format!(
                    "{}: {e}\n  nothing from this file was loaded; it stays landed and is retried on the next run",
                    landing.url(file)
                ));
            }
        }
    }
    outcome.action = format!("load ({loaded} file{})", if loaded == 1 { "" } else { "s" });
    outcome.rows = Some(rows);
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    if !exists {
        return Err(format!(
            "nothing has landed in {} yet, so {rel} cannot be created\n  \
             run the extract first (`lake run --schedule hourly`) or check `landing_path` in profiles.yml",
            landing.url(&format!("{folder}/"))
        ));
    }
    Ok(Status::Success)
}
