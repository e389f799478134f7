//! The `extract` hook: Airflow-style catch-up of hourly source partitions.
//! Every `<dim>.jsonl.zip` from `start` on that is neither landed nor
//! already loaded is fetched (oldest hours first, at most `max-hours` hours
//! per run, `concurrency` objects at a time), unzipped, checked line by line
//! and landed for the raw loader. Memory stays bounded: objects stream to a
//! temporary file, are unzipped line by line into another, and upload from
//! disk.
//!
//! A missing source object is reported and fetched on a later run once it
//! appears. An object that breaks the rules of [`check`] (several zip
//! members, an empty one, a line that is not a JSON object or lacks a
//! declared column or has a value of the wrong type, a line too long to
//! load) is never landed: it is quarantined with its reason and line, and
//! fetched again only when the source object changes (size or ETag). A
//! source location that does not exist or holds no hourly partitions is an
//! error, not an empty success.

pub mod check;
mod fetch;
mod worklist;

use std::collections::HashSet;
use std::sync::Arc;

use self::fetch::{fetch_all, Fetched, Scratch};
use self::worklist::{line_contracts, missing_objects, plan_jobs, Known, Listing};
use super::{HookEnv, HookReport};
use crate::history::message::CommitKind;
use crate::landing::{parse_hour, Hour, DIMS};
use crate::plan::quarantine::{self, Landed, Quarantined};
use crate::project::project_file::ExtractArgs;
use crate::storage::{runtime, Store};
use crate::warehouse::Session;

/// Runs the extract hook with its typed arguments (see
/// [`ExtractArgs`]); the checks here are of values, not types.
pub fn run(env: &HookEnv<'_>, args: &ExtractArgs) -> Result<HookReport, String> {
    let (start, dims) = check_values(args)?;
    let (source, landing) = open_stores(env, args)?;
    let database = &env.project.target.database;
    let known = Known::read(env.session, database)?;
    let rt = runtime();
    let source_url = source.url("");
    let listing = list_source(&source, start, &dims, &args.source)?;
    let landed_now: HashSet<String> = rt
        .block_on(landing.list(""))
        .map_err(|e| format!("cannot list the landing path: {e}"))?
        .into_iter()
        .collect();

    let contracts = line_contracts(env.project);
    let plan = plan_jobs(&listing, &known, &landed_now, &contracts, args.max_hours);
    let missing = missing_objects(&listing, &known, &landed_now, start, &dims, &source)?;

    let scratch = Scratch::new()?;
    let total_jobs = plan.jobs.len();
    let hours = plan.hours.len();
    let outcomes = rt.block_on(fetch_all(
        plan.jobs,
        Arc::new(source),
        Arc::new(landing),
        scratch.dir.clone(),
        args.concurrency.max(1),
        env.cancel,
    ));
    let (landed, rejected, problems) = sort_outcomes(outcomes);
    let mut info = env.stamp.commit(CommitKind::Hook);
    info.hook = Some(format!(
        "extract ({} landed, {} rejected)",
        landed.len(),
        rejected.len()
    ));
    let tag = info.statement(database);
    record_outcomes(env.session, database, &landed, &rejected, tag)?;
    warn_about(&missing, &listing.malformed, &plan.changed_after_load);
    let summary = if listing.available.is_empty() {
        let newest = listing.newest.map_or("none".into(), |h| h.to_string());
        format!(
            "extract: nothing in {source_url} from {start} on (its newest hour is {newest}); check `start`"
        )
    } else {
        Summary {
            landed: landed.len(),
            total_jobs,
            hours,
            rows: landed.iter().map(|l| l.rows).sum(),
            source: &source_url,
            missing: &missing,
            malformed: &listing.malformed,
            held: plan.held,
            deferred: plan.deferred,
            changed_after_load: &plan.changed_after_load,
        }
        .line()
    };
    Ok(HookReport { summary, problems })
}

/// The first hour and the dimensions, once the values make sense (their
/// types were checked when project.yml loaded or its templates rendered).
fn check_values(args: &ExtractArgs) -> Result<(Hour, Vec<String>), String> {
    if args.source.trim().is_empty() {
        return Err(
            "`extract` hook: `source` is empty; set it to a folder or s3://bucket/prefix".into(),
        );
    }
    let start = parse_hour(&args.start).map_err(|e| format!("`extract` hook: start: {e}"))?;
    if args.max_hours == 0 {
        return Err(
            "`extract` hook: `max-hours: 0` would never fetch anything; set 1 or more".into(),
        );
    }
    let dims = args
        .dims
        .clone()
        .unwrap_or_else(|| DIMS.iter().map(|d| d.to_string()).collect());
    Ok((start, dims))
}

/// The source (with the hook's own S3 settings over the target's) and the
/// landing store.
fn open_stores(env: &HookEnv<'_>, args: &ExtractArgs) -> Result<(Store, Store), String> {
    let target = &env.project.target;
    let source_s3 = match &args.s3 {
        Some(over) => Some(over.over(target.s3.as_ref())),
        None => target.s3.clone(),
    };
    let source = Store::open(&args.source, source_s3.as_ref(), &env.project.root)
        .map_err(|e| format!("extract source: {e}"))?;
    let landing = Store::open(&target.landing_path, target.s3.as_ref(), &env.project.root)
        .map_err(|e| format!("landing path: {e}"))?;
    Ok((source, landing))
}

/// The source's hourly partitions from `start` on. A source that does not
/// exist or holds no partitions is an error, not an empty success.
fn list_source(
    source: &Store,
    start: Hour,
    dims: &[String],
    written: &str,
) -> Result<Listing, String> {
    let rt = runtime();
    let source_url = source.url("");
    let exists = rt
        .block_on(source.exists())
        .map_err(|e| format!("cannot list the extract source: {e}"))?;
    if !exists {
        return Err(format!(
            "extract source {source_url} does not exist or is not a folder; check `source` (a folder relative to the project, or s3://bucket/prefix)"
        ));
    }
    let objects = rt
        .block_on(source.list_objects(""))
        .map_err(|e| format!("cannot list the extract source: {e}"))?;
    let listing = Listing::of(objects, start, dims);
    if listing.partitions == 0 {
        return Err(listing.no_partitions(&source_url, written));
    }
    Ok(listing)
}

/// Fetch outcomes split into landed files, rejected objects, and the
/// problem lines of both rejections and failures (in fetch order).
fn sort_outcomes(outcomes: Vec<Fetched>) -> (Vec<Landed>, Vec<Quarantined>, Vec<String>) {
    let (mut landed, mut rejected, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    for outcome in outcomes {
        match outcome {
            Fetched::Landed(l) => landed.push(l),
            Fetched::Rejected(q) => {
                problems.push(rejection_message(&q));
                rejected.push(q);
            }
            Fetched::Failed(e) => problems.push(e),
            Fetched::NotStarted => {}
        }
    }
    (landed, rejected, problems)
}

/// Log lines for what the summary only counts.
fn warn_about(missing: &[String], malformed: &[String], changed_after_load: &[String]) {
    for m in missing {
        tracing::warn!(object = %m, "missing in the source; it is fetched once it appears");
    }
    for m in malformed {
        tracing::warn!("skipped, not an hourly partition: {m}");
    }
    for key in changed_after_load {
        tracing::warn!(
            "{key} changed after it was loaded; lake loads each hour once and did not reload it"
        );
    }
}

/// The person-facing problem line of a rejected object.
fn rejection_message(q: &Quarantined) -> String {
    let object = q
        .source
        .as_ref()
        .map_or(q.file.as_str(), |s| s.source.as_str());
    format!(
        "{object}: {}; quarantined: nothing from it was landed or loaded. Fix the source object \
         (it is fetched again when it changes) or see `lake quarantine list`",
        q.reason
    )
}

/// Records what this run landed (with its origin) and what it rejected,
/// in one transaction tagged by `tag` (the run's commit message); a landed
/// file that was quarantined before is released.
fn record_outcomes(
    session: &Session,
    database: &str,
    landed: &[Landed],
    rejected: &[Quarantined],
    tag: Option<String>,
) -> Result<(), String> {
    if landed.is_empty() && rejected.is_empty() {
        return Ok(());
    }
    let at = now_sql();
    let mut sql = Vec::new();
    let names: Vec<String> = landed.iter().map(|l| l.file.clone()).collect();
    sql.extend(quarantine::release(database, &names));
    for l in landed {
        sql.extend(quarantine::record_landed(database, l, &at));
    }
    for q in rejected {
        sql.extend(quarantine::record_quarantine(database, q, &at));
    }
    sql.extend(tag);
    session.execute_in_transaction(&sql).map_err(|e| {
        format!(
            "cannot record the extract's results in the lake: {}",
            e.message
        )
    })
}

/// Now, as a SQL timestamp literal's text.
fn now_sql() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

/// The extract's one console line.
struct Summary<'a> {
    landed: usize,
    total_jobs: usize,
    hours: usize,
    rows: u64,
    source: &'a str,
    missing: &'a [String],
    malformed: &'a [String],
    held: usize,
    deferred: usize,
    changed_after_load: &'a [String],
}

impl Summary<'_> {
    fn line(&self) -> String {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let mut line = format!(
            "extract: landed {} of {} file{} ({} hour{}, {} rows) from {}",
            self.landed,
            self.total_jobs,
            plural(self.total_jobs),
            self.hours,
            plural(self.hours),
            self.rows,
            self.source
        );
        if let Some(first) = self.missing.first() {
            line.push_str(&format!(
                "; {} object{} missing, retried on later runs (first: {first})",
                self.missing.len(),
                plural(self.missing.len())
            ));
        }
        if let Some(first) = self.malformed.first() {
            line.push_str(&format!(
                "; skipped {} object{} that {} not an hourly partition (first: {first})",
                self.malformed.len(),
                plural(self.malformed.len()),
                if self.malformed.len() == 1 {
                    "is"
                } else {
                    "are"
                }
            ));
        }
        if self.held > 0 {
            line.push_str(&format!(
                "; {} file{} held in quarantine until {} source object changes (`lake quarantine list`)",
                self.held,
                plural(self.held),
                if self.held == 1 { "its" } else { "their" }
            ));
        }
        if let Some(first) = self.changed_after_load.first() {
            line.push_str(&format!(
                "; {} object{} changed after loading, not reloaded (first: {first})",
                self.changed_after_load.len(),
                plural(self.changed_after_load.len())
            ));
        }
        if self.deferred > 0 {
            line.push_str(&format!(
                "; {} more hours left for the next runs (max-hours)",
                self.deferred
            ));
        }
        line
    }
}
