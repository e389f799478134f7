//! Fetching objects: download (streamed to a scratch file), check and
//! unzip, upload to the landing path; bounded concurrency, progress lines.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::check::{unzip_checked, CheckError};
use super::worklist::Job;
use crate::landing::landed_name;
use crate::plan::quarantine::{Landed, Quarantined, SourceVersion, Stage};
use crate::progress::Progress;
use crate::storage::Store;

/// How fetching one object ended.
pub enum Fetched {
    /// Landed, checked, with its origin.
    Landed(Landed),
    /// Broke a rule: quarantined, nothing landed.
    Rejected(Quarantined),
    /// Failed for a reason that may pass (network, disk): retried next run.
    Failed(String),
    /// Not started (interrupted) or gone between listing and download.
    NotStarted,
}

/// Fetches every job with bounded concurrency.
pub async fn fetch_all(
    jobs: Vec<Job>,
    source: Arc<Store>,
    landing: Arc<Store>,
    scratch: PathBuf,
    concurrency: usize,
    cancel: &std::sync::atomic::AtomicBool,
) -> Vec<Fetched> {
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let progress = Arc::new(Progress::start("extract", jobs.len() as u64, "files"));
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
        let progress = progress.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let fetched = fetch_one(&job, &source, &landing, &scratch, n).await;
            let rows = match &fetched {
                Fetched::Landed(l) => l.rows,
                _ => 0,
            };
            progress.advance(1, rows);
            fetched
        });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r.unwrap_or_else(|e| Fetched::Failed(format!("extract task failed: {e}"))));
    }
    out
}

async fn fetch_one(
    job: &Job,
    source: &Store,
    landing: &Store,
    scratch: &Path,
    n: usize,
) -> Fetched {
    let object = source.url(&job.object.key);
    let name = landed_name(job.hour, &job.dim);
    let version = SourceVersion {
        source: object.clone(),
        size: job.object.size,
        version: job.object.version.clone(),
    };
    let zipped = scratch.join(format!("{n}.zip"));
    let unzipped = scratch.join(format!("{n}.jsonl"));
    let result = async {
        match source.download(&job.object.key, &zipped).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(object = %object, "vanished between listing and download");
                return Fetched::NotStarted;
            }
            Err(e) => return Fetched::Failed(e.to_string()),
        }
        let (zip, out, contract) = (zipped.clone(), unzipped.clone(), job.contract.clone());
        let checked = tokio::task::spawn_blocking(move || unzip_checked(&zip, &out, &contract))
            .await
            .unwrap_or_else(|e| Err(CheckError::Io(e.to_string())));
        let rows = match checked {
            Ok(rows) => rows,
            Err(CheckError::Io(e)) => return Fetched::Failed(format!("{object}: {e}")),
            Err(CheckError::Rejected(r)) => {
                return Fetched::Rejected(Quarantined {
                    file: name.clone(),
                    source: Some(version.clone()),
                    stage: Stage::Extract,
                    reason: r.reason,
                    line: r.line,
                })
            }
        };
        if let Err(e) = landing.upload(&unzipped, &name).await {
            return Fetched::Failed(e.to_string());
        }
        tracing::info!(object = %object, rows, "landed");
        Fetched::Landed(Landed {
            file: name.clone(),
            source: version.clone(),
            rows,
        })
    }
    .await;
    let _ = tokio::fs::remove_file(&zipped).await;
    let _ = tokio::fs::remove_file(&unzipped).await;
    result
}

/// A private temporary folder, removed when dropped.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new() -> Result<Scratch, String> {
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
