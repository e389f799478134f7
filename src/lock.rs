//! The run lock: two `lake` runs on the same lake never write at once (an
//! hourly cron run that overlaps a slow previous one must not load an hour
//! twice or race it on DuckLake commits). An embedded catalog is locked
//! with an OS file lock beside it; a Postgres catalog with a session-level
//! advisory lock keyed by the catalog's database and metadata schema, so
//! runs on different machines see each other. Either lock is released by
//! the OS or the server when the process dies, so a killed run never
//! leaves a stale lock behind.

use std::fs::File;
use std::time::{Duration, Instant};

use crate::project::profiles::Catalog;
use crate::project::Target;

/// A held run lock; dropping it releases the lock.
pub enum RunLock {
    /// The lock file, locked.
    File(File),
    /// The connection holding the advisory lock.
    Postgres(Box<postgres::Client>),
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another run holds it (after waiting `waited`).
    Busy {
        /// What is locked, for the message.
        what: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The lock itself could not be reached (file system, Postgres).
    Failed(String),
}

const POLL: Duration = Duration::from_millis(250);

/// Takes the lock of `target`'s lake, waiting up to `wait`.
pub fn acquire(target: &Target, wait: Duration) -> Result<RunLock, LockError> {
    let start = Instant::now();
    match &target.catalog {
        Catalog::Duckdb { path } => {
            let lock_path = path.with_extension("lock");
            if let Some(dir) = lock_path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| LockError::Failed(format!("{}: {e}", dir.display())))?;
            }
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| LockError::Failed(format!("{}: {e}", lock_path.display())))?;
            loop {
                match file.try_lock() {
                    Ok(()) => return Ok(RunLock::File(file)),
                    Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                        std::thread::sleep(POLL)
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {
                        return Err(LockError::Busy {
                            what: lock_path.display().to_string(),
                            waited: start.elapsed(),
                        })
                    }
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(LockError::Failed(format!("{}: {e}", lock_path.display())))
                    }
                }
            }
        }
        Catalog::Postgres {
            host,
            port,
            database,
            user,
            password,
            metadata_schema,
        } => {
            let mut config = postgres::Config::new();
            config
                .host(host)
                .port(*port)
                .dbname(database)
                .user(user)
                .application_name("lake run lock")
                .connect_timeout(Duration::from_secs(10));
            if let Some(p) = password {
                config.password(p.expose());
            }
            let mut client = config.connect(postgres::NoTls).map_err(|e| {
                // The driver's message never carries the password.
                LockError::Failed(format!(
                    "cannot connect to PostgreSQL {host}:{port}/{database} for the run lock: {}",
                    pg_error(&e)
                ))
            })?;
            let scope = metadata_schema.as_deref().unwrap_or("public");
            let key = lock_key(database, scope);
            loop {
                let row = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                    .map_err(|e| LockError::Failed(format!("advisory lock: {}", pg_error(&e))))?;
                if row.get::<_, bool>(0) {
                    return Ok(RunLock::Postgres(Box::new(client)));
                }
                if start.elapsed() >= wait {
                    return Err(LockError::Busy {
                        what: format!(
                            "PostgreSQL advisory lock {key} (catalog {database}, schema {scope})"
                        ),
                        waited: start.elapsed(),
                    });
                }
                std::thread::sleep(POLL);
            }
        }
    }
}

/// The driver's error with its cause ("error connecting to server" alone
/// says nothing); it never carries the password.
fn pg_error(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => db.message().to_string(),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

/// A stable 64-bit key for one catalog: FNV-1a of "lake:<db>:<schema>".
fn lock_key(database: &str, schema: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("lake:{database}:{schema}").bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}
