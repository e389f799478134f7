//! The warehouse edge: the only module that talks to DuckDB. It opens one
//! in-process DuckDB, makes the needed extensions loadable, creates secrets,
//! attaches the DuckLake catalog, and hands out one connection per worker
//! thread (DuckDB connections are `Send`, not `Sync`). Everything above it
//! deals in SQL text and plain results.
//!
//! Credentials appear only in the statements built here; every error that
//! leaves this module has them replaced by `****`. The statements that open
//! the lake are built once, by [`OpenScript`]: lake runs them with the real
//! credentials, and `lake debug --print-attach` prints the same statements
//! with placeholders, so any DuckDB client can open the lake as lake does.

mod cells;
pub mod extensions;
pub mod replica;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use duckdb::{Config, Connection};

use crate::lock::{self, Access, CatalogBusy, CatalogHolder, Deadline, WaitError};
use crate::project::profiles::{Catalog, Secret, Target};
use crate::query_port::QueryTable;
use crate::sql::{conninfo_value, identifier, string_contents, string_literal};
use crate::storage::Location;

/// DuckDB's version, fixed by the crate pin; extension binaries must match.
pub const DUCKDB_VERSION: &str = "1.5.5";

/// A warehouse failure, already free of secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseError {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl WarehouseError {
    /// An error without a hint.
    pub fn new(message: impl Into<String>) -> Self {
        WarehouseError {
            message: message.into(),
            help: None,
        }
    }

    /// Prefixes the message with where it happened.
    pub fn with_context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for WarehouseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why the lake could not be opened.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenError {
    /// Another process held the embedded catalog until the deadline: the
    /// command did nothing and exits 75.
    CatalogBusy(CatalogBusy),
    /// Anything else.
    Failed(WarehouseError),
}

impl From<WarehouseError> for OpenError {
    fn from(e: WarehouseError) -> Self {
        OpenError::Failed(e)
    }
}

impl From<WaitError> for OpenError {
    fn from(e: WaitError) -> Self {
        match e {
            WaitError::Busy(b) => OpenError::CatalogBusy(b),
            WaitError::Failed(m) => {
                OpenError::Failed(WarehouseError::new(format!("cannot open the catalog: {m}")))
            }
        }
    }
}

/// Interrupt handles of every open connection, so Ctrl-C can stop running
/// statements (DuckDB then rolls their transactions back).
#[derive(Clone, Default)]
pub struct Interrupter {
    handles: Arc<Mutex<Vec<Arc<duckdb::InterruptHandle>>>>,
}

impl Interrupter {
    /// Interrupts every statement running on any connection.
    pub fn interrupt_all(&self) {
        for h in self.handles.lock().expect("interrupter poisoned").iter() {
            h.interrupt();
        }
    }

    fn register(&self, conn: &Connection) {
        self.handles
            .lock()
            .expect("interrupter poisoned")
            .push(conn.interrupt_handle());
    }
}

/// The opened lake.
pub struct Warehouse {
    conn: Connection,
    write_lock: Arc<Mutex<()>>,
    secrets: Vec<String>,
    database: String,
    interrupter: Interrupter,
    /// What every new connection runs once the lake is attached (a
    /// dbt-duckdb target's settings, then `USE` the lake): an unqualified
    /// `main.audit` in a hook or model is the lake's, as in dbt-duckdb.
    /// Empty before the attach.
    session_setup: Vec<String>,
    /// What provisioning did, for `lake debug` and logs.
    pub notes: Vec<String>,
}

/// One connection for one worker thread.
pub struct Session {
    conn: Connection,
    write_lock: Arc<Mutex<()>>,
    secrets: Arc<Vec<String>>,
}

/// Rows of a query, every value rendered as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// Column names.
    pub columns: Vec<String>,
    /// Values; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
}

/// The first rows of a query, and whether it had more.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitedRows {
    /// The rows fetched.
    pub rows: Rows,
    /// What kind of value each column holds, in column order: the text of
    /// a number is written as a number in JSON, of anything else as a string.
    pub kinds: Vec<ValueKind>,
    /// Whether rows were left unfetched past the limit.
    pub more: bool,
}

/// What kind of value a column holds, as far as a typed output (JSON)
/// needs to know: values are already text, this says how to write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Integers, decimals, floats: their text is a number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// Everything else (strings, dates and timestamps, lists, structs).
    Text,
}

/// The lake opened for reading (`lake query`, `lake show`): the catalog is
/// attached read-only, so readers share an embedded one with each other,
/// and it is released as soon as the one session it gives is dropped,
/// before anything is printed: a reader paging its rows in `less` must not
/// hold up the hourly run.
pub struct Reader(Warehouse);

impl Reader {
    /// The reader's one connection, with the lake as its default catalog
    /// (`select * from mart.x` works, as in a notebook that ran `USE lake`);
    /// the lake closes when it is dropped.
    pub fn session(self) -> Result<Session, WarehouseError> {
        // `USE` holds per connection, so it is set on the one handed out.
        self.0.session()
    }

    /// Name the lake is attached as.
    pub fn database(&self) -> &str {
        self.0.database()
    }

    /// A connection without `USE`, for reading the catalog itself (its
    /// `snapshots()`) before choosing a snapshot to [`pin`](Self::pin).
    pub fn catalog(&self) -> Result<Session, WarehouseError> {
        self.0.session()
    }

    /// The same lake re-attached read-only as it was at `snapshot`, under
    /// the same name: every name a query uses (`lake.mart.x`, what `ref()`
    /// and `source()` render to) then reads that version, with nothing to
    /// rewrite in the SQL. A snapshot DuckLake does not have is DuckDB's
    /// error; callers check it against `snapshots()` first.
    pub fn pin(mut self, target: &Target, snapshot: i64) -> Result<Reader, OpenError> {
        // DuckDB refuses to detach the default database.
        self.0.exec(&format!(
            "USE memory; DETACH {}",
            identifier(self.0.database())
        ))?;
        self.0.session_setup.clear();
        self.0.attach_when_free(
            target,
            Access::Read,
            Some(snapshot),
            &Deadline::now(),
            &mut |_, _| {},
        )?;
        Ok(self)
    }
}

/// How the statements that open the lake carry credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// The real values: lake's own connection.
    Real,
    /// [`Secret::placeholder`] in place of every value: statements shown to
    /// a person (`lake debug --print-attach`), which must never hold one.
    Placeholders,
}

impl Credentials {
    fn value(self, secret: &Secret) -> String {
        match self {
            Credentials::Real => secret.expose().to_string(),
            Credentials::Placeholders => secret.placeholder(),
        }
    }
}

/// The statements that open a target's lake in a fresh DuckDB, in the order
/// they run. Built here once: [`Warehouse`] runs them (adding only the
/// fallbacks for missing extensions and the embedded catalog's lock
/// handling), and `lake debug --print-attach` prints them for any DuckDB
/// client, so the two cannot drift apart.
#[derive(Debug, Clone)]
pub struct OpenScript {
    /// Where DuckDB looks for extension binaries (lake provisions them there).
    pub extension_dir: PathBuf,
    /// Extensions the target needs, in load order.
    pub extensions: Vec<String>,
    /// `CREATE SECRET` for the S3 data path, if the target has S3 settings.
    pub s3_secret: Option<String>,
    /// `CREATE SECRET` for the PostgreSQL catalog, if the catalog is one.
    pub catalog_secret: Option<String>,
    /// A dbt-duckdb target's `CREATE SECRET`s and other attaches.
    pub setup: Vec<String>,
    /// The `ATTACH` of the target database (none for `:memory:`).
    pub attach: Option<String>,
    /// A dbt-duckdb target's settings, then `USE <database>`: what every
    /// connection runs, and what makes the lake a reader's default catalog.
    pub use_lake: Vec<String>,
}

/// Extensions DuckDB loads by itself when a statement first needs them
/// (`autoload_known_extensions`), so lake only makes sure they are
/// installed: a `LOAD` checks the signature of the whole file (about
/// 0.1 s each here), a fixed cost on every run, even one that reuses
/// every node and reads no file.
const LOADED_ON_DEMAND: &[&str] = &["json", "parquet"];

/// Name of the S3 secret lake creates.
const S3_SECRET: &str = "lake_s3";
/// Name of the PostgreSQL-catalog secret lake creates.
const CATALOG_SECRET: &str = "lake_catalog";

impl OpenScript {
    /// The statements a reader runs: the catalog attached read-only, then
    /// `USE` it. With [`Credentials::Placeholders`], what `lake debug
    /// --print-attach` prints.
    pub fn for_reader(target: &Target, credentials: Credentials) -> OpenScript {
        OpenScript::new(target, Access::Read, credentials)
    }

    fn new(target: &Target, access: Access, credentials: Credentials) -> OpenScript {
        let lake = target.catalog.is_ducklake();
        let mut extensions: Vec<String> = ["parquet", "json"].map(String::from).to_vec();
        if lake {
            extensions.push("ducklake".into());
        }
        if matches!(target.catalog, Catalog::Postgres { .. }) {
            extensions.push("postgres_scanner".into());
        }
        if (lake && Location::of(&target.data_path).is_s3()) || target.s3.is_some() {
            extensions.push("httpfs".into());
        }
        for name in &target.setup.extensions {
            if !extensions.contains(name) {
                extensions.push(name.clone());
            }
        }
        let setup = &target.setup;
        let mut use_lake = setup.settings_sql(|v| credentials.value(v));
        use_lake.push(use_sql(&target.database));
        OpenScript {
            extension_dir: extensions::extension_dir(target.extension_directory.as_deref()),
            extensions,
            s3_secret: s3_secret_sql(target, credentials),
            catalog_secret: catalog_secret_sql(target, credentials),
            setup: setup
                .secrets
                .iter()
                .map(|s| s.sql(|v| credentials.value(v)))
                .chain(
                    setup
                        .attach
                        .iter()
                        .map(|a| a.sql(access == Access::Read, |v| credentials.value(v))),
                )
                .collect(),
            attach: attach_sql(target, access, None),
            use_lake,
        }
    }

    /// Every statement, in order, as a DuckDB client runs them.
    pub fn statements(&self) -> Vec<String> {
        let mut v = vec![set_extension_directory_sql(&self.extension_dir)];
        v.extend(self.extensions.iter().map(|name| load_sql(name)));
        v.extend(self.s3_secret.iter().cloned());
        v.extend(self.catalog_secret.iter().cloned());
        v.extend(self.setup.iter().cloned());
        v.extend(self.attach.iter().cloned());
        v.extend(self.use_lake.iter().cloned());
        v
    }
}

fn set_extension_directory_sql(dir: &Path) -> String {
    format!(
        "SET extension_directory = {}",
        string_literal(&dir.display().to_string())
    )
}

fn load_sql(extension: &str) -> String {
    format!("LOAD {extension}")
}

fn use_sql(database: &str) -> String {
    format!("USE {}", identifier(database))
}

/// The S3 secret; with no scope it covers every `s3://` path, which is what
/// the data path and the landing path need.
fn s3_secret_sql(target: &Target, credentials: Credentials) -> Option<String> {
    let s3 = target.s3.as_ref()?;
    let mut parts = vec![
        "TYPE s3".to_string(),
        format!("REGION {}", string_literal(&s3.region)),
    ];
    if let Some(k) = &s3.key_id {
        parts.push(format!("KEY_ID {}", string_literal(&credentials.value(k))));
    }
    if let Some(s) = &s3.secret {
        parts.push(format!("SECRET {}", string_literal(&credentials.value(s))));
    }
    if let Some(e) = &s3.endpoint {
        parts.push(format!("ENDPOINT {}", string_literal(e)));
    }
    parts.push(format!("URL_STYLE {}", string_literal(&s3.url_style)));
    parts.push(format!("USE_SSL {}", s3.use_ssl));
    Some(format!(
        "CREATE OR REPLACE SECRET {S3_SECRET} ({})",
        parts.join(", ")
    ))
}

/// A PostgreSQL catalog's login, borrowed from the target: what the
/// catalog's secret and `lake debug`'s login check both need.
struct PgLogin<'a> {
    host: &'a str,
    port: u16,
    database: &'a str,
    user: &'a str,
    password: Option<&'a Secret>,
}

impl<'a> PgLogin<'a> {
    /// The login of a PostgreSQL catalog; `None` for a DuckDB file.
    fn of(target: &'a Target) -> Option<PgLogin<'a>> {
        match &target.catalog {
            Catalog::Postgres {
                host,
                port,
                database,
                user,
                password,
                ..
            } => Some(PgLogin {
                host,
                port: *port,
                database,
                user,
                password: password.as_ref(),
            }),
            Catalog::Duckdb { .. } | Catalog::Plain { .. } => None,
        }
    }
}

/// The PostgreSQL catalog's connection as a secret, so the password sits in
/// one plain SQL string rather than inside a connection string inside one.
fn catalog_secret_sql(target: &Target, credentials: Credentials) -> Option<String> {
    let pg = PgLogin::of(target)?;
    let mut parts = vec![
        "TYPE postgres".to_string(),
        format!("HOST {}", string_literal(pg.host)),
        format!("PORT {}", pg.port),
        format!("DATABASE {}", string_literal(pg.database)),
        format!("USER {}", string_literal(pg.user)),
    ];
    if let Some(p) = pg.password {
        parts.push(format!(
            "PASSWORD {}",
            string_literal(&credentials.value(p))
        ));
    }
    Some(format!(
        "CREATE OR REPLACE SECRET {CATALOG_SECRET} ({})",
        parts.join(", ")
    ))
}

/// The `ATTACH`; it holds no credential (a PostgreSQL catalog's are in
/// [`catalog_secret_sql`]). `pin`: the catalog as it was at that snapshot
/// (DuckLake's `SNAPSHOT_VERSION`), for readers only.
fn attach_sql(target: &Target, access: Access, pin: Option<i64>) -> Option<String> {
    let location = match &target.catalog {
        Catalog::Duckdb { path } => format!("ducklake:{}", path.display()),
        Catalog::Postgres { .. } => "ducklake:postgres:".to_string(),
        Catalog::Plain { path } => return plain_attach_sql(target, path.as_deref()?, access),
    };
    let mut options = vec![format!("DATA_PATH {}", string_literal(&target.data_path))];
    if let Catalog::Postgres {
        metadata_schema, ..
    } = &target.catalog
    {
        if let Some(s) = metadata_schema {
            options.push(format!("METADATA_SCHEMA {}", string_literal(s)));
        }
        options.push(format!("META_SECRET {CATALOG_SECRET}"));
    }
    if let Some(version) = pin {
        options.push(format!("SNAPSHOT_VERSION {version}"));
    }
    if access == Access::Read {
        // DuckDB then takes a shared lock on an embedded catalog, and
        // nothing a reader types can change the lake.
        options.push("READ_ONLY".to_string());
    }
    Some(format!(
        "ATTACH IF NOT EXISTS {} AS {} ({})",
        string_literal(&location),
        identifier(&target.database),
        options.join(", ")
    ))
}

/// The `ATTACH` of a plain DuckDB file (a dbt-duckdb target's `path`).
fn plain_attach_sql(target: &Target, path: &Path, access: Access) -> Option<String> {
    let read_only = if access == Access::Read {
        " (READ_ONLY)"
    } else {
        ""
    };
    Some(format!(
        "ATTACH IF NOT EXISTS {} AS {}{read_only}",
        string_literal(&path.display().to_string()),
        identifier(&target.database),
    ))
}

impl Warehouse {
    /// Opens DuckDB, provisions extensions, attaches the target's catalog
    /// read-write without waiting for anyone (`lake debug`).
    pub fn open(target: &Target) -> Result<Warehouse, WarehouseError> {
        match Warehouse::open_with(target, Access::Write, &Deadline::now(), &mut |_, _| {}) {
            Ok(wh) => Ok(wh),
            Err(OpenError::CatalogBusy(b)) => {
                Err(WarehouseError::new(b.message()).with_help(b.help()))
            }
            Err(OpenError::Failed(e)) => Err(e),
        }
    }

    /// Opens the lake for a run: read-write, waiting until `deadline` for
    /// any other process (a reader, a notebook) to let go of an embedded
    /// catalog; `on_wait` hears once whom it waits for.
    pub fn open_for_run(
        target: &Target,
        deadline: &Deadline,
        on_wait: &mut dyn FnMut(&CatalogHolder, std::time::Duration),
    ) -> Result<Warehouse, OpenError> {
        Warehouse::open_with(target, Access::Write, deadline, on_wait)
    }

    /// Opens the lake for reading (see [`Reader`]); a run writing an
    /// embedded catalog is [`OpenError::CatalogBusy`] at once.
    pub fn open_reader(target: &Target) -> Result<Reader, OpenError> {
        // A catalog that does not exist yet cannot be attached read-only:
        // the first reader creates it, as before.
        let access = match &target.catalog {
            Catalog::Duckdb { path } if !path.exists() => Access::Write,
            _ => Access::Read,
        };
        Warehouse::open_with(target, access, &Deadline::now(), &mut |_, _| {}).map(Reader)
    }

    fn open_with(
        target: &Target,
        access: Access,
        deadline: &Deadline,
        on_wait: &mut dyn FnMut(&CatalogHolder, std::time::Duration),
    ) -> Result<Warehouse, OpenError> {
        let mut wh = Warehouse::start(target)?;
        wh.create_secrets(target)?;
        wh.attach_when_free(target, access, None, deadline, on_wait)?;
        Ok(wh)
    }

    /// Attaches the catalog (at snapshot `pin`, if given), waiting until
    /// `deadline` for another process to let go of an embedded one.
    fn attach_when_free(
        &mut self,
        target: &Target,
        access: Access,
        pin: Option<i64>,
        deadline: &Deadline,
        on_wait: &mut dyn FnMut(&CatalogHolder, std::time::Duration),
    ) -> Result<(), OpenError> {
        let wh = self;
        let path = match &target.catalog {
            Catalog::Duckdb { path } | Catalog::Plain { path: Some(path) } => path,
            // One process's own database: nobody to wait for.
            Catalog::Plain { path: None } => return Ok(wh.attach(target, access, pin)?),
            Catalog::Postgres { .. } => {
                // A PostgreSQL catalog has no file lock: readers and runs share
                // it, readers attached read-only. A catalog that does not exist
                // yet cannot be: the first reader creates it, as on a file.
                return match wh.attach(target, access, pin) {
                    Ok(()) => Ok(()),
                    // Anything else (a wrong password) is the attach's error.
                    Err(e) if access == Access::Read => match wh.postgres_catalog_exists(target) {
                        Ok(false) => Ok(wh.attach(target, Access::Write, pin)?),
                        _ => Err(e.into()),
                    },
                    Err(e) => Err(e.into()),
                };
            }
        };
        let mut told = false;
        let mut tell_once = |holder: &CatalogHolder, left| {
            if !std::mem::replace(&mut told, true) {
                on_wait(holder, left);
            }
        };
        let mut raced = false;
        loop {
            lock::wait_for_catalog(path, access, deadline, &mut tell_once)?;
            let Err(e) = wh.attach(target, access, pin) else {
                return Ok(());
            };
            // Did another process take the catalog between the probe and
            // the ATTACH? Asked of the lock itself, not of DuckDB's message:
            // if so, wait again; if it has already let go, try once more.
            match lock::catalog_holder(path, access) {
                Ok(Some(_)) => continue,
                Ok(None) if !raced => raced = true,
                _ => return Err(e.into()),
            }
        }
    }

    /// Opens DuckDB and makes every extension the target needs loadable,
    /// without touching the catalog (`lake setup`).
    pub fn start(target: &Target) -> Result<Warehouse, WarehouseError> {
        let config = Config::default()
            .with("autoinstall_known_extensions", "false")
            .and_then(|c| c.with("autoload_known_extensions", "true"))
            .map_err(|e| WarehouseError::new(format!("cannot configure DuckDB: {e}")))?;
        let conn = Connection::open_in_memory_with_flags(config)
            .map_err(|e| WarehouseError::new(format!("cannot start DuckDB: {e}")))?;
        let secrets = secrets_of(target);
        let mut wh = Warehouse {
            conn,
            write_lock: Arc::new(Mutex::new(())),
            secrets,
            database: target.database.clone(),
            interrupter: Interrupter::default(),
            session_setup: Vec::new(),
            notes: Vec::new(),
        };
        wh.interrupter.register(&wh.conn);
        // Only the extension part is used here: secrets come later.
        let script = OpenScript::new(target, Access::Write, Credentials::Placeholders);
        let dir = &script.extension_dir;
        wh.exec(&set_extension_directory_sql(dir))?;
        let platform = wh.platform();
        for name in &script.extensions {
            let installed = extensions::installed_path(dir, DUCKDB_VERSION, &platform, name);
            if LOADED_ON_DEMAND.contains(&name.as_str()) && installed.is_file() {
                continue;
            }
            wh.ensure_extension(name, dir)?;
        }
        Ok(wh)
    }

    /// Makes `name` loadable and loads it (see the module docs for the order).
    fn ensure_extension(&mut self, name: &str, dir: &Path) -> Result<(), WarehouseError> {
        if self.exec(&load_sql(name)).is_ok() {
            return Ok(());
        }
        if self.exec(&format!("INSTALL {name}; LOAD {name}")).is_ok() {
            self.notes.push(format!("{name}: installed by DuckDB"));
            return Ok(());
        }
        let platform = self.platform();
        match extensions::fetch_with_pip(dir, DUCKDB_VERSION, &platform, name) {
            Ok(path) => {
                self.notes.push(format!(
                    "{name}: fetched from the Python registry into {}",
                    path.display()
                ));
                self.exec(&format!("LOAD {name}"))
            }
            Err(e) => Err(WarehouseError::new(format!(
                "DuckDB extension `{name}` is not available: {}",
                e.message
            ))
            .with_help(extensions::manual_fix(dir, DUCKDB_VERSION, &platform, name))),
        }
    }

    fn platform(&self) -> String {
        self.conn
            .query_row("PRAGMA platform", [], |r| r.get::<_, String>(0))
            .unwrap_or_else(|_| "linux_amd64".into())
    }

    /// `lake debug`: can we log in to the catalog's PostgreSQL at all?
    pub fn check_postgres(&self, target: &Target) -> Result<(), WarehouseError> {
        let Some(PgLogin {
            host,
            port,
            database,
            user,
            password,
        }) = PgLogin::of(target)
        else {
            return Ok(());
        };
        let dsn = postgres_dsn(database, host, port, user, password, Some(5));
        self.exec(&format!("ATTACH {} AS __lake_pg_check (TYPE postgres, READ_ONLY)", string_literal(&dsn)))
            .and_then(|_| self.exec("DETACH __lake_pg_check"))
            .map_err(|e| {
                // Only the hint is chosen from the text, as a fallback:
                // DuckDB hands libpq's failures on as one error type with
                // libpq's message, so there is no kind to match on. The
                // error itself is shown as DuckDB gave it.
                let help = if e.message.contains("password authentication failed") {
                    format!("PostgreSQL refused the password of user `{user}`: check the target's `password` (usually an env_var)")
                } else if e.message.contains("does not exist") {
                    format!("create the database: createdb -h {host} -p {port} -U {user} {database}")
                } else {
                    format!("is PostgreSQL running and reachable at {host}:{port}?")
                };
                e.with_help(help)
            })
    }

    /// Whether the PostgreSQL catalog holds a DuckLake yet (its metadata
    /// table in the metadata schema), asked through the catalog's secret.
    fn postgres_catalog_exists(&self, target: &Target) -> Result<bool, WarehouseError> {
        let Catalog::Postgres {
            metadata_schema, ..
        } = &target.catalog
        else {
            return Ok(true);
        };
        self.exec(&format!(
            "ATTACH '' AS __lake_pg_probe (TYPE postgres, SECRET {CATALOG_SECRET}, READ_ONLY)"
        ))?;
        let found = self.conn.query_row(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = '__lake_pg_probe' \
             AND schema_name = ? AND table_name = 'ducklake_metadata'",
            [metadata_schema.as_deref().unwrap_or("public")],
            |r| r.get::<_, i64>(0),
        );
        let detached = self.exec("DETACH __lake_pg_probe");
        let found = found.map_err(|e| self.error(e))?;
        detached?;
        Ok(found > 0)
    }

    /// `lake debug`: can we list the data path (S3 credentials, bucket)?
    pub fn check_data_path(&mut self, target: &Target) -> Result<(), WarehouseError> {
        if Location::of(&target.data_path).is_local() {
            return Ok(());
        }
        self.create_secrets(target)?;
        let sql = format!(
            "SELECT count(*) FROM glob({})",
            string_literal(&format!("{}**", target.data_path))
        );
        self.conn.query_row(&sql, [], |r| r.get::<_, i64>(0)).map(|_| ()).map_err(|e| {
            let e = self.error(e);
            // As for PostgreSQL: DuckDB reports every HTTP failure as one
            // IO error type with the server's status in its text, so only
            // the hint is picked from the text; the error is shown as is.
            let help = if e.message.contains("403") || e.message.contains("SignatureDoesNotMatch") || e.message.contains("InvalidAccessKeyId") {
                "the S3 server refused the credentials: check `key_id` and `secret` under `s3:` in the target"
            } else if e.message.contains("404") || e.message.contains("NoSuchBucket") {
                "the bucket does not exist: create it on the S3 server"
            } else {
                "is the S3 server running, and is `s3.endpoint` host:port without a scheme (url_style: path for MinIO)?"
            };
            e.with_help(help)
        })
    }

    fn create_secrets(&mut self, target: &Target) -> Result<(), WarehouseError> {
        let script = OpenScript::new(target, Access::Write, Credentials::Real);
        if let Some(sql) = &script.s3_secret {
            self.exec(sql).map_err(|e| {
                WarehouseError::new(format!("cannot create the S3 secret: {}", e.message))
            })?;
        }
        if let Some(sql) = &script.catalog_secret {
            self.exec(sql).map_err(|e| {
                WarehouseError::new(format!(
                    "cannot create the PostgreSQL catalog's secret: {}",
                    e.message
                ))
            })?;
        }
        // A dbt-duckdb target's secrets and other attaches; the message
        // is redacted, and names the statement's kind, not its values.
        for sql in &script.setup {
            self.exec(sql).map_err(|e| {
                let what = sql.split(" (").next().unwrap_or_default();
                let what = redact(what, &self.secrets);
                WarehouseError::new(format!("profile setup `{what}` failed: {}", e.message))
                    .with_help("check `secrets:` and `attach:` of the target in profiles.yml")
            })?;
        }
        Ok(())
    }

    fn attach(
        &mut self,
        target: &Target,
        access: Access,
        pin: Option<i64>,
    ) -> Result<(), WarehouseError> {
        let what = match &target.catalog {
            Catalog::Plain { path } => {
                return self.attach_plain(target, path.as_deref(), access);
            }
            Catalog::Duckdb { path } => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        WarehouseError::new(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                format!("DuckDB-file catalog {}", path.display())
            }
            Catalog::Postgres {
                host,
                port,
                database,
                ..
            } => format!("PostgreSQL catalog {database} on {host}:{port}"),
        };
        if Location::of(&target.data_path).is_local() {
            std::fs::create_dir_all(&target.data_path).map_err(|e| {
                WarehouseError::new(format!("cannot create data path {}: {e}", target.data_path))
            })?;
        }
        let sql = attach_sql(target, access, pin).unwrap_or_default();
        // Another process holding an embedded catalog is found by probing
        // its lock (see `open_with`), not by reading this message.
        self.exec(&sql).map_err(|e| {
            WarehouseError::new(format!("cannot attach the {what}: {}", e.message))
                .with_help("check the catalog settings of the target (`lake debug`)")
        })?;
        self.use_lake(target)
    }

    /// A plain DuckDB database: the file attached (`:memory:` is DuckDB's
    /// own `memory` database), after a dbt-duckdb target's secrets and
    /// other attaches.
    fn attach_plain(
        &mut self,
        target: &Target,
        path: Option<&Path>,
        access: Access,
    ) -> Result<(), WarehouseError> {
        // Its folder is the user's to make, as under dbt-duckdb.
        if let Some(sql) = attach_sql(target, access, None) {
            self.exec(&sql).map_err(|e| {
                let file = path.map(|p| p.display().to_string()).unwrap_or_default();
                WarehouseError::new(format!(
                    "cannot open the DuckDB database {file}: {}",
                    e.message
                ))
                .with_help(
                    "is it a DuckDB file of this DuckDB version, not open in another program?",
                )
            })?;
        }
        self.use_lake(target)
    }

    /// Makes the lake the default database of this connection and of
    /// every session from now on, with the target's settings.
    fn use_lake(&mut self, target: &Target) -> Result<(), WarehouseError> {
        let script = OpenScript::new(target, Access::Read, Credentials::Real);
        for sql in &script.use_lake {
            self.exec(sql)?;
        }
        self.session_setup = script.use_lake;
        Ok(())
    }

    /// Runs SQL on the main connection.
    pub fn exec(&self, sql: &str) -> Result<(), WarehouseError> {
        self.conn.execute_batch(sql).map_err(|e| self.error(e))
    }

    /// A new connection to the same DuckDB, for one worker thread.
    pub fn session(&self) -> Result<Session, WarehouseError> {
        let conn = self.conn.try_clone().map_err(|e| self.error(e))?;
        for sql in &self.session_setup {
            conn.execute_batch(sql).map_err(|e| self.error(e))?;
        }
        self.interrupter.register(&conn);
        Ok(Session {
            conn,
            write_lock: self.write_lock.clone(),
            secrets: Arc::new(self.secrets.clone()),
        })
    }

    /// Stops every running statement (Ctrl-C).
    pub fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }

    /// Name the lake is attached as.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The profile's secrets, for redacting text lake records (commit
    /// messages) that may quote them.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    fn error(&self, e: duckdb::Error) -> WarehouseError {
        WarehouseError::new(redact(&e.to_string(), &self.secrets))
    }
}

/// Logs `sql` (secrets redacted) with its wall time when dropped, at
/// trace level (`LAKE_LOG=lake::sql=trace`): where a slow run's time
/// goes, statement by statement.
fn timer(sql: &str, secrets: &[String]) -> Option<StatementTimer> {
    tracing::enabled!(target: "lake::sql", tracing::Level::TRACE).then(|| StatementTimer {
        sql: redact(sql, secrets),
        start: std::time::Instant::now(),
    })
}

/// One statement being timed (see `timer`).
struct StatementTimer {
    sql: String,
    start: std::time::Instant,
}

impl Drop for StatementTimer {
    fn drop(&mut self) {
        let ms = self.start.elapsed().as_secs_f64() * 1000.0;
        tracing::trace!(target: "lake::sql", "{ms:.1} ms: {}", self.sql);
    }
}

impl Session {
    /// Held while a worker uses the lake. DuckLake commits from parallel
    /// connections conflicted and exhausted their retries (4 threads, 200
    /// models: "Duplicate key data_file_id"), and reads beside writes lost
    /// tables (see `execute::node_runner`); so workers take turns.
    pub fn write_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `statements` as one transaction: all of them commit, or (rolled
    /// back) none.
    pub fn execute_in_transaction(&self, statements: &[String]) -> Result<(), WarehouseError> {
        self.in_transaction(|| {
            statements
                .iter()
                .try_for_each(|sql| self.execute_batch(sql))
        })
    }

    /// Runs `work` in one transaction: committed when it returns `Ok`,
    /// rolled back when it (or the commit) fails. The transaction is opened
    /// and closed here, so no caller splices `BEGIN`/`COMMIT` into its SQL.
    pub fn in_transaction<T, E: From<WarehouseError>>(
        &self,
        work: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.execute_batch("BEGIN TRANSACTION")?;
        let done = work().and_then(|value| {
            self.execute_batch("COMMIT")?;
            Ok(value)
        });
        if done.is_err() {
            let _ = self.execute_batch("ROLLBACK");
        }
        done
    }

    /// Runs one statement; returns the rows it wrote (DuckDB reports them
    /// as a one-row `Count` result for CREATE TABLE AS, INSERT and DELETE).
    pub fn execute(&self, sql: &str) -> Result<u64, WarehouseError> {
        let _timer = timer(sql, &self.secrets);
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.error(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.error(e))?;
        let is_count = rows
            .as_ref()
            .is_some_and(|s| s.column_count() == 1 && s.column_name(0).is_ok_and(|n| n == "Count"));
        let mut n = 0;
        if let Some(row) = rows.next().map_err(|e| self.error(e))? {
            if is_count {
                n = row.get::<_, i64>(0).unwrap_or(0).max(0) as u64;
            }
        }
        Ok(n)
    }

    /// Runs statements that return nothing of interest.
    pub fn execute_batch(&self, sql: &str) -> Result<(), WarehouseError> {
        let _timer = timer(sql, &self.secrets);
        self.conn.execute_batch(sql).map_err(|e| self.error(e))
    }

    /// Runs one statement as written (a model's `run_query`) and returns
    /// its rows with their types, as a template reads them.
    pub fn query_table(&self, sql: &str) -> Result<QueryTable, WarehouseError> {
        let _timer = timer(sql, &self.secrets);
        let (columns, rows) = self.collect(sql, |row, i| {
            row.get::<_, duckdb::types::Value>(i).map(cells::cell)
        })?;
        Ok(QueryTable { columns, rows })
    }

    /// Runs a query and renders every value as text.
    pub fn query(&self, sql: &str) -> Result<Rows, WarehouseError> {
        let _timer = timer(sql, &self.secrets);
        let wrapped = format!(
            "SELECT COLUMNS(*)::VARCHAR FROM ({}) AS __lake_q",
            sql.trim().trim_end_matches(';')
        );
        let (columns, rows) = self.collect(&wrapped, |row, i| row.get::<_, Option<String>>(i))?;
        Ok(Rows { columns, rows })
    }

    /// The column names and every row of `sql`, each value read by `value`.
    fn collect<T>(
        &self,
        sql: &str,
        value: impl Fn(&duckdb::Row<'_>, usize) -> duckdb::Result<T>,
    ) -> Result<(Vec<String>, Vec<Vec<T>>), WarehouseError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.error(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.error(e))?;
        let columns = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let values = (0..columns.len()).map(|i| value(row, i));
            out.push(
                values
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.error(e))?,
            );
        }
        Ok((columns, out))
    }

    /// Runs `sql` exactly as written and returns at most `max_rows` of the
    /// last statement's rows, every value as text. Nothing wraps the text,
    /// so comments and any statement DuckDB takes work; several statements
    /// all run, in order. The result streams: rows past the limit are never
    /// fetched, only whether there were any.
    pub fn query_limited(&self, sql: &str, max_rows: usize) -> Result<LimitedRows, WarehouseError> {
        use duckdb::arrow::array::Array;
        use duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};

        let mut stmt = self.conn.prepare(sql).map_err(|e| match e {
            // DuckDB found no statement at all, and says nothing about it.
            duckdb::Error::DuckDBFailure(_, None) => {
                WarehouseError::new("no SQL statement to run: the query is empty or only comments")
            }
            e => self.error(e),
        })?;
        let (columns, kinds): (Vec<String>, Vec<ValueKind>) = {
            // Only the schema: this iterator panics on a failed fetch,
            // `step` below reports it.
            let stream = stmt.stream_arrow([]).map_err(|e| self.error(e))?;
            let schema = stream.get_schema();
            schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), value_kind(f.data_type())))
                .unzip()
        };
        // Close to DuckDB's own text for timestamps; NULL inside lists too;
        // a value that cannot be shown says why instead of failing `to_string`.
        let options = FormatOptions::new()
            .with_display_error(true)
            .with_null("NULL")
            .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
            .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"));
        let mut rows = Vec::new();
        let mut more = false;
        while let Some(chunk) = stmt.step().map_err(|e| self.error(e))? {
            let formatters = chunk
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| WarehouseError::new(format!("cannot show a value: {e}")))?;
            for i in 0..chunk.len() {
                if rows.len() == max_rows {
                    more = true;
                    break;
                }
                rows.push(
                    chunk
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(c, f)| (!c.is_null(i)).then(|| f.value(i).to_string()))
                        .collect(),
                );
            }
            if more {
                break;
            }
        }
        Ok(LimitedRows {
            rows: Rows { columns, rows },
            kinds,
            more,
        })
    }

    /// `(schema, name)` of every table and view in the attached lake.
    pub fn existing_relations(
        &self,
        database: &str,
    ) -> Result<std::collections::HashSet<(String, String)>, WarehouseError> {
        let db = string_literal(database);
        let rows = self.query(&format!(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = {db} \
             UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = {db}"
        ))?;
        Ok(first_two(rows).collect())
    }

    /// One number from a query (e.g. a failing-row count).
    pub fn query_count(&self, sql: &str) -> Result<u64, WarehouseError> {
        let _timer = timer(sql, &self.secrets);
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.error(e))
    }

    /// `(name, type)` of a relation's or query's columns. A relation that
    /// does not exist is DuckDB's error, as it reported it: the caller
    /// knows the relation exists, so a missing one is a failure to show,
    /// not a case to tell apart by reading the message.
    pub fn columns(
        &self,
        relation_or_query: &str,
    ) -> Result<Vec<(String, String)>, WarehouseError> {
        let rows = self.query(&format!(
            "SELECT column_name, column_type FROM (DESCRIBE {relation_or_query})"
        ))?;
        Ok(first_two(rows).collect())
    }

    /// `(name, type)` of every row of a `DESCRIBE <query>` statement, run as
    /// written: DuckDB binds the query without running it. Unlike
    /// [`columns`](Self::columns), any failure (a missing table the query
    /// reads, a typo) is returned as DuckDB reported it.
    pub fn describe(&self, describe_sql: &str) -> Result<Vec<(String, String)>, WarehouseError> {
        let mut stmt = self.conn.prepare(describe_sql).map_err(|e| self.error(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.error(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let text = |i| row.get::<_, String>(i).map_err(|e| self.error(e));
            out.push((text(0)?, text(1)?));
        }
        Ok(out)
    }

    fn error(&self, e: duckdb::Error) -> WarehouseError {
        WarehouseError::new(redact(&e.to_string(), &self.secrets))
    }
}

/// The first two columns of every row, NULL read as empty: the shape of
/// the catalog queries that list `(schema, name)` or `(name, type)`.
fn first_two(rows: Rows) -> impl Iterator<Item = (String, String)> {
    rows.rows.into_iter().map(|r| {
        let mut values = r.into_iter().map(Option::unwrap_or_default);
        let first = values.next().unwrap_or_default();
        (first, values.next().unwrap_or_default())
    })
}

/// What a column of this Arrow type holds, for typed output.
fn value_kind(data_type: &duckdb::arrow::datatypes::DataType) -> ValueKind {
    use duckdb::arrow::datatypes::DataType;
    match data_type {
        DataType::Boolean => ValueKind::Boolean,
        t if t.is_numeric() => ValueKind::Number,
        _ => ValueKind::Text,
    }
}

/// A libpq connection string; it holds the password, so it is only ever
/// passed to DuckDB, never logged.
fn postgres_dsn(
    database: &str,
    host: &str,
    port: u16,
    user: &str,
    password: Option<&crate::project::profiles::Secret>,
    connect_timeout: Option<u32>,
) -> String {
    let q = conninfo_value;
    let mut dsn = format!(
        "dbname={} host={} port={port} user={}",
        q(database),
        q(host),
        q(user)
    );
    if let Some(t) = connect_timeout {
        dsn.push_str(&format!(" connect_timeout={t}"));
    }
    if let Some(p) = password {
        dsn.push_str(&format!(" password={}", q(p.expose())));
    }
    dsn
}

/// Every secret value a target holds, for redaction.
fn secrets_of(target: &Target) -> Vec<String> {
    let mut v = Vec::new();
    for secret in target.secrets() {
        let value = secret.expose();
        // Also as it appears inside a connection string (`lake debug`'s
        // check) and inside a SQL string (`CREATE SECRET`).
        let quoted = conninfo_value(value);
        let inner = quoted[1..quoted.len() - 1].to_string();
        v.push(string_contents(&inner));
        v.push(inner);
        v.push(string_contents(value));
        v.push(value.to_string());
    }
    v.retain(|s| !s.is_empty());
    // Longest first, so a longer variant is not half-replaced by a shorter one.
    v.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    v.dedup();
    v
}

/// Replaces every secret in `text` with `****`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        out = out.replace(s.as_str(), "****");
    }
    out
}

/// Escapes a value for a single-quoted SQL string; kept for the callers
/// outside this file, the rule lives in [`crate::sql::string_contents`].
pub use crate::sql::string_contents as sql_str;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_secret() {
        let s = vec!["pw1".to_string(), "key".to_string()];
        assert_eq!(
            redact("password=pw1 KEY_ID key", &s),
            "password=**** KEY_ID ****"
        );
    }

    /// A production target whose secrets are hostile to SQL quoting.
    fn prod_target() -> Target {
        use crate::project::profiles::S3;
        let mut t = Target::embedded(Path::new("/p"));
        t.catalog = Catalog::Postgres {
            host: "db".into(),
            port: 5432,
            database: "cat".into(),
            user: "lake".into(),
            password: Some(Secret::new("pw'one".into())),
            metadata_schema: Some("meta".into()),
        };
        t.data_path = "s3://bucket/lake/".into();
        t.s3 = Some(S3 {
            endpoint: Some("s3:9000".into()),
            region: "us-east-1".into(),
            url_style: "path".into(),
            use_ssl: false,
            key_id: Some(Secret::new("key-id-7".into())),
            secret: Some(Secret::new("s3-secret-8".into())),
        });
        t
    }

    /// `lake debug --print-attach` prints these statements: no secret may
    /// be in them, in any quoting; lake's own carry them, quoted.
    #[test]
    fn placeholder_statements_hold_no_secret_and_real_ones_quote_them() {
        let t = prod_target();
        let shown = OpenScript::for_reader(&t, Credentials::Placeholders)
            .statements()
            .join(";\n");
        for secret in secrets_of(&t) {
            assert!(!shown.contains(&secret), "`{secret}` printed:\n{shown}");
        }
        assert!(shown.contains("PASSWORD '<secret>'"), "{shown}");
        let real = OpenScript::for_reader(&t, Credentials::Real).statements();
        assert!(real.iter().any(|s| s.contains("PASSWORD 'pw''one'")));
        // Everything but the secret values is the same statement.
        let redacted: Vec<String> = real.iter().map(|s| redact(s, &secrets_of(&t))).collect();
        let placeholders = OpenScript::for_reader(&t, Credentials::Placeholders).statements();
        assert_eq!(redacted.len(), placeholders.len());
        for (r, p) in redacted.iter().zip(&placeholders) {
            assert_eq!(r.replace("****", "<secret>"), *p);
        }
    }
}
