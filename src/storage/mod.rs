//! Object storage at the edge: a local folder or an S3 bucket prefix behind
//! one small API, so the extract hook, the raw loader and the generator do
//! not care where files live. The S3 side is aws-sdk-s3 on tokio, with the
//! SDK's own retries (exponential backoff with jitter on throttling, 5xx
//! and connection errors); DuckDB reads the same objects by URL.

mod s3;

use std::path::{Path, PathBuf};

use crate::project::S3;

pub use s3::S3Store;

/// Where a configured path (a data path, a landing path, an extract's
/// source) points, parsed once from its text so callers match on a type
/// instead of looking for `s3://` or `://` in it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A folder on this machine, as written (relative to the project root
    /// when not absolute).
    Local(PathBuf),
    /// `s3://bucket/key`: a bucket and a key prefix (either may be empty
    /// as written; [`Store::open`] refuses a missing bucket).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix inside it, without the leading `/`.
        key: String,
    },
    /// Another URL (`gs://...`, `https://...`) that DuckDB reads by
    /// itself: lake creates no folder for it and cannot list it.
    Url(String),
}

impl Location {
    /// What `text` names: `s3://` is S3, any other `scheme://` a URL,
    /// anything else a local path.
    pub fn of(text: &str) -> Location {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            return Location::S3 {
                bucket: bucket.to_string(),
                key: key.to_string(),
            };
        }
        if text.contains("://") {
            return Location::Url(text.to_string());
        }
        Location::Local(PathBuf::from(text))
    }

    /// True for a folder on this machine, which lake may create.
    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local(_))
    }

    /// True for an S3 location, which needs DuckDB's `httpfs`.
    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }
}

/// Where objects live.
pub enum Store {
    /// A folder on this machine.
    Local(PathBuf),
    /// A bucket and key prefix.
    S3(S3Store),
}

/// One listed object: its key and what identifies this version of it, so
/// a source object that changes (a fixed re-delivery) can be told apart
/// from the one lake already saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Key relative to the store.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The S3 ETag, or a local file's modification time in nanoseconds.
    pub version: String,
}

/// A failed storage operation, with the object it was about.
#[derive(Debug, Clone)]
pub struct StorageError(pub String);

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Store {
    /// Opens `location` (a folder, relative to `root`, or `s3://bucket/prefix`);
    /// S3 locations use the target's S3 settings and credentials.
    pub fn open(location: &str, s3: Option<&S3>, root: &Path) -> Result<Store, StorageError> {
        match Location::of(location) {
            Location::S3 { bucket, key } => {
                if bucket.is_empty() {
                    return Err(StorageError(format!(
                        "`{location}` names no bucket; write s3://bucket/prefix"
                    )));
                }
                let settings = s3.ok_or_else(|| {
                    StorageError(format!(
                        "`{location}` is on S3 but the target has no `s3:` settings in profiles.yml"
                    ))
                })?;
                Ok(Store::S3(S3Store::new(settings, &bucket, &key)?))
            }
            // Another scheme is a path as before: lake lists folders and S3.
            Location::Local(_) | Location::Url(_) => {
                let path = Path::new(location);
                Ok(Store::Local(if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    root.join(path)
                }))
            }
        }
    }

    /// The URL DuckDB reads `key` by: an absolute path or `s3://bucket/key`.
    pub fn url(&self, key: &str) -> String {
        match self {
            Store::Local(dir) => dir.join(key).display().to_string(),
            Store::S3(s) => s.url(key),
        }
    }

    /// Every key under `prefix` (relative to the store), sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        Ok(self
            .list_objects(prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect())
    }

    /// Every object under `prefix`, with size and version, sorted by key.
    pub async fn list_objects(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        match self {
            Store::Local(dir) => list_local(dir, prefix),
            Store::S3(s) => s.list(prefix).await,
        }
    }

    /// True when the location itself exists: a folder, or a bucket this
    /// client may list (an S3 prefix always "exists" once its bucket does).
    pub async fn exists(&self) -> Result<bool, StorageError> {
        match self {
            Store::Local(dir) => Ok(dir.is_dir()),
            Store::S3(s) => s.list_one().await.map(|_| true),
        }
    }

    /// Copies `key` into the local file `dest`, streaming; `Ok(false)` when
    /// the object does not exist.
    pub async fn download(&self, key: &str, dest: &Path) -> Result<bool, StorageError> {
        match self {
            Store::Local(dir) => {
                let src = dir.join(key);
                match tokio::fs::copy(&src, dest).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(StorageError(format!("reading {}: {e}", src.display()))),
                }
            }
            Store::S3(s) => s.download(key, dest).await,
        }
    }

    /// Stores the local file `src` as `key`, atomically: readers see the
    /// whole object or none of it.
    pub async fn upload(&self, src: &Path, key: &str) -> Result<(), StorageError> {
        match self {
            Store::Local(dir) => {
                let dest = dir.join(key);
                let partial = dir.join(format!("{key}.partial"));
                let io =
                    |e: std::io::Error| StorageError(format!("writing {}: {e}", dest.display()));
                if let Some(parent) = dest.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(io)?;
                }
                tokio::fs::copy(src, &partial).await.map_err(io)?;
                tokio::fs::rename(&partial, &dest).await.map_err(io)
            }
            Store::S3(s) => s.upload(src, key).await,
        }
    }

    /// Removes `key`; removing what is already gone is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self {
            Store::Local(dir) => match tokio::fs::remove_file(dir.join(key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StorageError(format!(
                    "deleting {}: {e}",
                    dir.join(key).display()
                ))),
            },
            Store::S3(s) => s.delete(key).await,
        }
    }
}

/// Lists a local folder like a bucket: files only, keys with `/`.
fn list_local(dir: &Path, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
    let base = dir.join(prefix);
    let mut objects = Vec::new();
    if !base.exists() {
        return Ok(objects);
    }
    let fail = |e: &dyn std::fmt::Display| StorageError(format!("listing {}: {e}", base.display()));
    for entry in walkdir::WalkDir::new(&base).sort_by_file_name() {
        let entry = entry.map_err(|e| fail(&e))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let key = rel.to_string_lossy().replace('\\', "/");
        // Files being written are invisible until renamed.
        if key.ends_with(".partial") {
            continue;
        }
        let meta = entry.metadata().map_err(|e| fail(&e))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        objects.push(ObjectInfo {
            key,
            size: meta.len(),
            version: modified.to_string(),
        });
    }
    Ok(objects)
}

/// A runtime for the storage calls of one command: the rest of lake is
/// synchronous, so async stays inside this edge and the hooks.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// A store with its own runtime, for synchronous callers (the raw loader's
/// worker threads). `block_on` from several threads at once is fine on a
/// multi-thread runtime.
pub struct BlockingStore {
    /// The store.
    pub store: Store,
    runtime: tokio::runtime::Runtime,
}

impl BlockingStore {
    /// Wraps `store` with a runtime of its own.
    pub fn new(store: Store) -> BlockingStore {
        BlockingStore {
            store,
            runtime: runtime(),
        }
    }

    /// See [`Store::list`].
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.runtime.block_on(self.store.list(prefix))
    }

    /// See [`Store::delete`].
    pub fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.runtime.block_on(self.store.delete(key))
    }

    /// See [`Store::url`].
    pub fn url(&self, key: &str) -> String {
        self.store.url(key)
    }

    /// Runs a future of this store's on its runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Location;
    use std::path::PathBuf;

    #[test]
    fn locations_are_told_apart_by_scheme() {
        assert_eq!(
            Location::of("s3://b/lake/data/"),
            Location::S3 {
                bucket: "b".into(),
                key: "lake/data/".into()
            }
        );
        assert_eq!(
            Location::of("s3://b"),
            Location::S3 {
                bucket: "b".into(),
                key: String::new()
            }
        );
        assert_eq!(
            Location::of(".lake/data/"),
            Location::Local(PathBuf::from(".lake/data/"))
        );
        assert_eq!(Location::of("gs://b/x"), Location::Url("gs://b/x".into()));
        assert!(Location::of("/abs/path").is_local());
        assert!(!Location::of("gs://b/x").is_local());
        assert!(Location::of("s3://b/x").is_s3());
    }
}
