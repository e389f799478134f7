//! The `extract` hook: Airflow-style catch-up of hourly source partitions.
//! Every `<dim>.jsonl.zip` from `start` on that is neither landed nor
//! already loaded is fetched (oldest hours first, at most `max-hours` hours
//! per run, `concurrency` objects at a time), unzipped, checked line by line
//! and landed for the raw loader. Memory stays bounded: objects stream to a
//! temporary file, are unzipped line by line into another, and upload from
//! disk.
//!
//! A missing source object is reported and fetched on a later run once it
//! appears. A corrupt zip or a line that is not a JSON object is an error
//! naming the object and line; that file is not landed (so none of its rows
//! load) while the other files are.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value as Json;

use super::{parse_args, HookEnv, HookReport};
use crate::landing::{landed_name, parse_hour, parse_source_key, source_key, Hour, DIMS};
use crate::plan::load as ledger;
use crate::project::profiles::Secret;
use crate::project::S3;
use crate::storage::{runtime, Store};

/// `extract:` arguments in project.yml (no Debug: they may hold keys).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Args {
    /// Source bucket prefix (`s3://...`) or folder (relative to the project).
    source: String,
    /// First hour to land, e.g. `2024-05-01T00:00`.
    start: String,
    /// Hours fetched per run at most (catch-up is spread over runs).
    #[serde(default = "default_max_hours")]
    max_hours: usize,
    /// Objects fetched at once.
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    /// Dimensions to fetch.
    #[serde(default)]
    dims: Option<Vec<String>>,
    /// S3 settings of the source when it is not on the lake's S3 server
    /// (each key overrides the target's `s3:` value; use env_var for keys).
    #[serde(default)]
    s3: Option<SourceS3>,
}

/// `extract: { s3: {...} }`: where the source bucket lives.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceS3 {
    endpoint: Option<String>,
    region: Option<String>,
    url_style: Option<String>,
    use_ssl: Option<bool>,
    key_id: Option<String>,
    secret: Option<String>,
}

impl SourceS3 {
    /// The target's S3 settings with this hook's overrides.
    fn over(self, base: Option<&S3>) -> S3 {
        let base = base.cloned().unwrap_or(S3 {
            endpoint: None,
            region: "us-east-1".into(),
            url_style: "vhost".into(),
            use_ssl: true,
            key_id: None,
            secret: None,
        });
        S3 {
            endpoint: self.endpoint.or(base.endpoint),
            region: self.region.unwrap_or(base.region),
            url_style: self.url_style.unwrap_or(base.url_style),
            use_ssl: self.use_ssl.unwrap_or(base.use_ssl),
            key_id: self.key_id.map(Secret::new).or(base.key_id),
            secret: self.secret.map(Secret::new).or(base.secret),
        }
    }
}

fn default_max_hours() -> usize {
    24
}

fn default_concurrency() -> usize {
    8
}

/// One object to land.
struct Job {
    hour: Hour,
    dim: String,
}

/// Runs the extract hook.
pub fn run(env: &HookEnv<'_>, args: Json) -> Result<HookReport, String> {
    let args: Args = parse_args("extract", args)?;
    let start = parse_hour(&args.start).map_err(|e| format!("`extract` hook: start: {e}"))?;
    let dims: Vec<String> = args
        .dims
        .clone()
        .unwrap_or_else(|| DIMS.iter().map(|d| d.to_string()).collect());
    let target = &env.project.target;
    let source_s3 = match args.s3 {
        Some(over) => Some(over.over(target.s3.as_ref())),
        None => target.s3.clone(),
    };
    let source = Store::open(&args.source, source_s3.as_ref(), &env.project.root)
        .map_err(|e| format!("extract source: {e}"))?;
    let landing = Store::open(&target.landing_path, target.s3.as_ref(), &env.project.root)
        .map_err(|e| format!("landing path: {e}"))?;

    for sql in ledger::ensure_ledger(&target.database) {
        env.session.execute_batch(&sql).map_err(|e| e.message)?;
    }
    let mut present: HashSet<String> = env
        .session
        .query(&ledger::loaded_files(&target.database))
        .map_err(|e| e.message)?
        .rows
        .into_iter()
        .filter_map(|r| r[1].clone())
        .collect();

    let rt = runtime();
    let source_keys = rt
        .block_on(source.list(""))
        .map_err(|e| format!("cannot list the extract source: {e}"))?;
    present.extend(
        rt.block_on(landing.list(""))
            .map_err(|e| format!("cannot list the landing path: {e}"))?,
    );
    let mut available: BTreeMap<Hour, BTreeSet<String>> = BTreeMap::new();
    for key in &source_keys {
        if let Some((hour, dim)) = parse_source_key(key) {
            if hour >= start && dims.contains(&dim) {
                available.entry(hour).or_default().insert(dim);
            }
        }
    }
    let Some(&last) = available.keys().next_back() else {
        return Ok(HookReport {
            summary: format!("extract: nothing in {} from {start} on", source.url("")),
            ..Default::default()
        });
    };

    // Hours with something to fetch, oldest first, bounded per run.
    let mut jobs = Vec::new();
    let mut hours = BTreeSet::new();
    for (hour, have) in &available {
        for dim in have {
            if !present.contains(&landed_name(*hour, dim)) {
                if hours.len() == args.max_hours && !hours.contains(hour) {
                    break;
                }
                hours.insert(*hour);
                jobs.push(Job {
                    hour: *hour,
                    dim: dim.clone(),
                });
            }
        }
    }
    let deferred = available
        .iter()
        .filter(|(h, have)| {
            !hours.contains(*h) && have.iter().any(|d| !present.contains(&landed_name(**h, d)))
        })
        .count();

    // Holes between `start` and the newest hour the source has.
    let mut missing = Vec::new();
    let mut hour = start;
    while hour <= last {
        for dim in &dims {
            let have = available.get(&hour).is_some_and(|s| s.contains(dim));
            if !have && !present.contains(&landed_name(hour, dim)) {
                missing.push(source.url(&source_key(hour, dim)));
            }
        }
        hour = hour
            .checked_add(jiff::SignedDuration::from_hours(1))
            .map_err(|e| e.to_string())?;
    }

    let scratch = Scratch::new()?;
    let source = Arc::new(source);
    let landing = Arc::new(landing);
    let total_jobs = jobs.len();
    let outcomes = rt.block_on(fetch_all(
        jobs,
        source.clone(),
        landing.clone(),
        scratch.dir.clone(),
        args.concurrency.max(1),
        env.cancel,
    ));
    let mut report = HookReport::default();
    let (mut landed, mut rows) = (0usize, 0u64);
    for outcome in outcomes {
        match outcome {
            Ok(Some(n)) => {
                landed += 1;
                rows += n;
            }
            Ok(None) => {}
            Err(e) => report.problems.push(e),
        }
    }
    for m in &missing {
        tracing::warn!(object = %m, "missing in the source; it is fetched once it appears");
    }
    let mut summary = format!(
        "extract: landed {landed} of {total_jobs} file{} ({} hour{}, {rows} rows) from {}",
        if total_jobs == 1 { "" } else { "s" },
        hours.len(),
        if hours.len() == 1 { "" } else { "s" },
        source.url("")
    );
    if !missing.is_empty() {
        summary.push_str(&format!(
            "; {} object{} missing, retried on later runs (first: {})",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            missing[0]
        ));
    }
    if deferred > 0 {
        summary.push_str(&format!(
            "; {deferred} more hours left for the next runs (max-hours)"
        ));
    }
    report.summary = summary;
    Ok(report)
}

/// Fetches every job with bounded concurrency; `Ok(None)` is a job that
/// was not started (interrupted) or whose object vanished.
async fn fetch_all(
    jobs: Vec<Job>,
    source: Arc<Store>,
    landing: Arc<Store>,
    scratch: PathBuf,
    concurrency: usize,
    cancel: &std::sync::atomic::AtomicBool,
) -> Vec<Result<Option<u64>, String>> {
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for (n, job) in jobs.into_iter().enumerate() {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        let (source, landing, scratch) = (source.clone(), landing.clone(), scratch.clone());
        tasks.spawn(async move {
            let _permit = permit;
            fetch_one(&job, &source, &landing, &scratch, n).await
        });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r.unwrap_or_else(|e| Err(format!("extract task failed: {e}"))));
    }
    out
}

async fn fetch_one(
    job: &Job,
    source: &Store,
    landing: &Store,
    scratch: &Path,
    n: usize,
) -> Result<Option<u64>, String> {
    let key = source_key(job.hour, &job.dim);
    let object = source.url(&key);
    let zipped = scratch.join(format!("{n}.zip"));
    let unzipped = scratch.join(format!("{n}.jsonl"));
    let result = async {
        if !source
            .download(&key, &zipped)
            .await
            .map_err(|e| e.to_string())?
        {
            tracing::warn!(object = %object, "vanished between listing and download");
            return Ok(None);
        }
        let (zipped2, unzipped2, object2) = (zipped.clone(), unzipped.clone(), object.clone());
        let rows =
            tokio::task::spawn_blocking(move || unzip_checked(&zipped2, &unzipped2, &object2))
                .await
                .map_err(|e| e.to_string())??;
        landing
            .upload(&unzipped, &landed_name(job.hour, &job.dim))
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(object = %object, rows, "landed");
        Ok(Some(rows))
    }
    .await;
    let _ = tokio::fs::remove_file(&zipped).await;
    let _ = tokio::fs::remove_file(&unzipped).await;
    result
}

/// Unzips the single `.jsonl` entry of `zip` into `out`, checking that
/// every line is a JSON object; returns the row count.
pub fn unzip_checked(zip: &Path, out: &Path, object: &str) -> Result<u64, String> {
    let corrupt = |e: &dyn std::fmt::Display| {
        format!("{object}: corrupt zip archive ({e}); nothing from it was landed or loaded")
    };
    let file = std::fs::File::open(zip).map_err(|e| format!("{object}: {e}"))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| corrupt(&e))?;
    let index = (0..archive.len())
        .find(|&i| {
            archive
                .name_for_index(i)
                .is_some_and(|n| n.ends_with(".jsonl") || n.ends_with(".json"))
        })
        .ok_or_else(|| format!("{object}: the archive holds no .jsonl file"))?;
    let entry = archive.by_index(index).map_err(|e| corrupt(&e))?;
    let mut writer = BufWriter::new(std::fs::File::create(out).map_err(|e| e.to_string())?);
    let mut rows = 0u64;
    for (n, line) in BufReader::new(entry).split(b'\n').enumerate() {
        let line = line.map_err(|e| corrupt(&e))?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Err(e) = serde_json::from_slice::<serde_json::Map<String, Json>>(line) {
            return Err(format!(
                "{object}: line {} is not a JSON object ({e}); nothing from this file was landed or loaded",
                n + 1
            ));
        }
        writer.write_all(line).map_err(|e| e.to_string())?;
        writer.write_all(b"\n").map_err(|e| e.to_string())?;
        rows += 1;
    }
    writer.flush().map_err(|e| e.to_string())?;
    Ok(rows)
}

/// A private temporary folder, removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let dir = std::env::temp_dir().join(format!(
            "lake-extract-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Scratch { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_with(dir: &Path, body: &[u8]) -> PathBuf {
        let path = dir.join("in.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        z.start_file("geo_events.jsonl", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(body).unwrap();
        z.finish().unwrap();
        path
    }

    #[test]
    fn lines_are_checked_blank_lines_and_crlf_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_with(dir.path(), b"{\"a\":1}\r\n\n{\"a\":2}\n   \n{\"a\":3}");
        let out = dir.path().join("out.jsonl");
        assert_eq!(unzip_checked(&zip, &out, "obj").unwrap(), 3);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"
        );
    }

    #[test]
    fn a_bad_line_is_named_by_its_number_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_with(dir.path(), b"{\"a\":1}\n\n[1,2]\n{\"a\":3}\n");
        let err = unzip_checked(&zip, &dir.path().join("o"), "s3://b/k.zip").unwrap_err();
        assert!(
            err.starts_with("s3://b/k.zip: line 3 is not a JSON object"),
            "{err}"
        );
    }

    #[test]
    fn a_damaged_archive_is_named_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_with(dir.path(), &b"{\"a\":1}\n".repeat(1000));
        // Flip bytes in the compressed data: the CRC check catches it.
        let mut bytes = std::fs::read(&zip).unwrap();
        for b in &mut bytes[60..80] {
            *b ^= 0xff;
        }
        std::fs::write(&zip, bytes).unwrap();
        let err = unzip_checked(&zip, &dir.path().join("o"), "obj").unwrap_err();
        assert!(err.starts_with("obj: corrupt zip archive"), "{err}");
        std::fs::write(&zip, b"not a zip at all").unwrap();
        let err = unzip_checked(&zip, &dir.path().join("o"), "obj").unwrap_err();
        assert!(err.starts_with("obj: corrupt zip archive"), "{err}");
    }
}
