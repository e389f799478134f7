//! Who holds the lake. Two `lake` runs on the same lake never write at once
//! (an hourly cron run that overlaps a slow previous one must not load an
//! hour twice or race it on DuckLake commits): that is the run lock. An
//! embedded catalog is locked with an OS file lock beside it; a Postgres
//! catalog with a session-level advisory lock keyed by the catalog's
//! database and metadata schema, so runs on different machines see each
//! other. Either lock is released by the OS or the server when the process
//! dies, so a killed run never leaves a stale lock behind.
//!
//! An embedded catalog is also a DuckDB file, which DuckDB itself locks
//! (POSIX `fcntl`): shared while a reader (`lake query`, `lake show`, a
//! notebook) has it attached read-only, exclusive while a run writes. This
//! module probes that lock, typed, with `F_GETLK` (which names the holder's
//! pid) so a run can wait for readers within its `--wait`, and a reader can
//! say that a run is writing, instead of either failing on DuckDB's text.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::diagnostic::{Code, Diagnostic};
use crate::project::profiles::{Catalog, Secret};
use crate::project::Target;

/// The `--wait` help every "lake busy" diagnostic ends with.
pub const WAIT_HELP: &str =
    "let it finish, or pass --wait SECONDS (or set LAKE_LOCK_WAIT) to queue behind it";

/// How long a run waits for readers of an embedded catalog even with
/// `--wait 0`: they hold it for moments (a query, a dashboard's copy).
pub const READER_GRACE: Duration = Duration::from_secs(15);

/// One `--wait` budget shared by everything a command waits for (the run
/// lock, then the embedded catalog), so `--wait 30` means 30 s in all.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    start: Instant,
    budget: Duration,
}

impl Deadline {
    /// A budget of `budget`, starting now.
    pub fn after(budget: Duration) -> Self {
        Deadline {
            start: Instant::now(),
            budget,
        }
    }

    /// No waiting at all (readers: they have no `--wait`).
    pub fn now() -> Self {
        Deadline::after(Duration::ZERO)
    }

    /// Whether the budget is spent.
    pub fn passed(&self) -> bool {
        self.start.elapsed() >= self.budget
    }

    /// What is left of the budget.
    pub fn left(&self) -> Duration {
        self.budget.saturating_sub(self.start.elapsed())
    }

    /// The same deadline, but never less than `floor` from its start: a run
    /// always grants readers of an embedded catalog (`lake serve` taking its
    /// copy, `lake query`) a moment to let go, even with `--wait 0`.
    pub fn at_least(&self, floor: Duration) -> Self {
        Deadline {
            start: self.start,
            budget: self.budget.max(floor),
        }
    }

    /// How long we have waited so far: at most the budget, since the time
    /// past it went on work (loading extensions), not on waiting.
    pub fn waited(&self) -> Duration {
        self.start.elapsed().min(self.budget)
    }
}

/// A held run lock; dropping it releases the lock.
pub enum RunLock {
    /// The lock file, locked.
    File(File),
    /// The connection holding the advisory lock.
    Postgres(Box<postgres::Client>),
    /// An in-memory database (dbt-duckdb's `:memory:`): each process has
    /// its own, so there is nothing to share and nothing to lock.
    Private,
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

/// Takes the lock of `target`'s lake, waiting until `deadline` (a run then
/// waits for the embedded catalog within what is left).
pub fn acquire(target: &Target, deadline: &Deadline) -> Result<RunLock, LockError> {
    match &target.catalog {
        Catalog::Duckdb { path } => lock_file(&path.with_extension("lock"), deadline),
        Catalog::Plain { path: None } => Ok(RunLock::Private),
        // Hidden beside a dbt project's database file, which it shares.
        // A folder that does not exist: DuckDB's open says so, next.
        Catalog::Plain { path: Some(path) } if !path.parent().is_some_and(Path::is_dir) => {
            Ok(RunLock::Private)
        }
        Catalog::Plain { path: Some(path) } => {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            lock_file(&path.with_file_name(format!(".{name}.lock")), deadline)
        }
        Catalog::Postgres {
            host,
            port,
            database,
            user,
            password,
            metadata_schema,
        } => {
            let client = connect_for_lock(host, *port, database, user, password.as_ref())?;
            let scope = metadata_schema.as_deref().unwrap_or("public");
            advisory_lock(client, database, scope, deadline)
        }
    }
}

/// An OS lock on `lock_path` (created if missing), polled until `deadline`.
fn lock_file(lock_path: &Path, deadline: &Deadline) -> Result<RunLock, LockError> {
    let failed = |e: &dyn std::fmt::Display, what: &Path| {
        LockError::Failed(format!("{}: {e}", what.display()))
    };
    if let Some(dir) = lock_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed(&e, dir))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .map_err(|e| failed(&e, lock_path))?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(RunLock::File(file)),
            Err(std::fs::TryLockError::WouldBlock) if !deadline.passed() => {
                std::thread::sleep(POLL)
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LockError::Busy {
                    what: lock_path.display().to_string(),
                    waited: deadline.waited(),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(failed(&e, lock_path)),
        }
    }
}

/// A connection of its own to the catalog's PostgreSQL: the advisory lock
/// lives as long as this session.
fn connect_for_lock(
    host: &str,
    port: u16,
    database: &str,
    user: &str,
    password: Option<&Secret>,
) -> Result<postgres::Client, LockError> {
    let mut config = postgres::Config::new();
    config
        .host(host)
        .port(port)
        .dbname(database)
        .user(user)
        .application_name("lake run lock")
        .connect_timeout(Duration::from_secs(10));
    if let Some(p) = password {
        config.password(p.expose());
    }
    config.connect(postgres::NoTls).map_err(|e| {
        // The driver's message never carries the password.
        LockError::Failed(format!(
            "cannot connect to PostgreSQL {host}:{port}/{database} for the run lock: {}",
            pg_error(&e)
        ))
    })
}

/// The session-level advisory lock of catalog `database`/`scope`, polled
/// until `deadline`; held as long as the returned client lives.
fn advisory_lock(
    mut client: postgres::Client,
    database: &str,
    scope: &str,
    deadline: &Deadline,
) -> Result<RunLock, LockError> {
    let key = lock_key(database, scope);
    loop {
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .map_err(|e| LockError::Failed(format!("advisory lock: {}", pg_error(&e))))?;
        if row.get::<_, bool>(0) {
            return Ok(RunLock::Postgres(Box::new(client)));
        }
        if deadline.passed() {
            return Err(LockError::Busy {
                what: format!(
                    "PostgreSQL advisory lock {key} (catalog {database}, schema {scope})"
                ),
                waited: deadline.waited(),
            });
        }
        std::thread::sleep(POLL);
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

/// How a process means to open the embedded catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read-only (`lake query`, `lake show`): many readers at once.
    Read,
    /// Read-write (a run): nobody else at all.
    Write,
}

/// A process whose lock on the embedded catalog stops us opening it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogHolder {
    /// Its process id, when the OS tells.
    pub pid: Option<u32>,
    /// Its program name (`/proc/<pid>/comm`), when known.
    pub program: Option<String>,
    /// It has the catalog open for writing (a run), not only reading.
    pub writing: bool,
}

impl std::fmt::Display for CatalogHolder {
    /// `pid 4242, `python3``: enough to find it in `ps`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.pid, &self.program) {
            (Some(pid), Some(name)) => write!(f, "pid {pid}, `{name}`"),
            (Some(pid), None) => write!(f, "pid {pid}"),
            (None, _) => f.write_str("pid unknown"),
        }
    }
}

/// The embedded catalog stayed held by another process until the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogBusy {
    /// Who holds it.
    pub holder: CatalogHolder,
    /// What we wanted.
    pub access: Access,
    /// How long we waited.
    pub waited: Duration,
}

impl CatalogBusy {
    /// What happened, in one line.
    pub fn message(&self) -> String {
        match self.access {
            Access::Write => format!(
                "another process has the lake's catalog open for {} ({}); waited {:.0}s, did nothing",
                if self.holder.writing { "writing" } else { "reading" },
                self.holder,
                self.waited.as_secs_f64()
            ),
            Access::Read => format!(
                "another process is writing the lake ({}: a `lake run`?); nothing was read",
                self.holder
            ),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match self.access {
            Access::Write => format!(
                "readers (`lake query`, `lake show`, a notebook) hold an embedded catalog while they read; {WAIT_HELP}"
            ),
            Access::Read => "try again when it has finished: on an embedded catalog a run and a reader \
                 take turns (a PostgreSQL catalog lets them work at once)"
                .to_string(),
        }
    }

    /// As a diagnostic; the command then exits 75.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic::new(Code::Locked, self.message()).with_help(self.help())
    }
}

/// Who holds a lock on the embedded catalog `catalog` that would stop us
/// opening it for `access` (DuckDB takes a shared `fcntl` lock to read it
/// and an exclusive one to write); `None` when nobody does or the file does
/// not exist yet.
///
/// Never call it while this process has the catalog attached: closing any
/// descriptor of a file drops every `fcntl` lock the process holds on it.
#[cfg(unix)]
pub fn catalog_holder(catalog: &Path, access: Access) -> std::io::Result<Option<CatalogHolder>> {
    use std::os::fd::AsRawFd;
    let file = match File::open(catalog) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // SAFETY: `flock` is plain data; all-zero is a valid value of it.
    let mut probe: libc::flock = unsafe { std::mem::zeroed() };
    probe.l_type = match access {
        Access::Read => libc::F_RDLCK,
        Access::Write => libc::F_WRLCK,
    } as libc::c_short;
    probe.l_whence = libc::SEEK_SET as libc::c_short;
    // l_start = l_len = 0: the whole file, as DuckDB locks it.
    // SAFETY: a valid open descriptor and a valid `flock` to fill in.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut probe) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    if probe.l_type == libc::F_UNLCK as libc::c_short {
        return Ok(None);
    }
    // Open-file-description locks report no pid (-1).
    let pid = u32::try_from(probe.l_pid).ok().filter(|&p| p > 0);
    Ok(Some(CatalogHolder {
        pid,
        program: pid.and_then(program_name),
        writing: probe.l_type == libc::F_WRLCK as libc::c_short,
    }))
}

/// Without `fcntl` locks to probe, DuckDB's own error is all there is.
#[cfg(not(unix))]
pub fn catalog_holder(_catalog: &Path, _access: Access) -> std::io::Result<Option<CatalogHolder>> {
    Ok(None)
}

/// The program name of `pid` (Linux), to tell a notebook from a `lake`.
fn program_name(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Waits until nobody holds the embedded catalog against `access`, or the
/// deadline passes; `on_wait` hears once who it is waiting for and for how
/// long at most (a cron log then says why the run started late).
pub fn wait_for_catalog(
    catalog: &Path,
    access: Access,
    deadline: &Deadline,
    on_wait: &mut dyn FnMut(&CatalogHolder, Duration),
) -> Result<(), WaitError> {
    let mut told = false;
    loop {
        let Some(holder) = catalog_holder(catalog, access)
            .map_err(|e| WaitError::Failed(format!("{}: {e}", catalog.display())))?
        else {
            return Ok(());
        };
        if deadline.passed() {
            return Err(WaitError::Busy(CatalogBusy {
                holder,
                access,
                waited: deadline.waited(),
            }));
        }
        if !told {
            on_wait(&holder, deadline.left());
            told = true;
        }
        std::thread::sleep(POLL.min(deadline.left()));
    }
}

/// Why [`wait_for_catalog`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitError {
    /// Still held at the deadline.
    Busy(CatalogBusy),
    /// The catalog file could not be probed.
    Failed(String),
}
