//! The warehouse edge: the only module that talks to DuckDB. It opens one
//! in-process DuckDB, makes the needed extensions loadable, creates secrets,
//! attaches the DuckLake catalog, and hands out one connection per worker
//! thread (DuckDB connections are `Send`, not `Sync`). Everything above it
//! deals in SQL text and plain results.
//!
//! Credentials appear only in the statements built here; every error that
//! leaves this module has them replaced by `****`.

pub mod extensions;

use std::path::Path;
use std::sync::{Arc, Mutex};

use duckdb::{Config, Connection};

use crate::lock::{self, Access, CatalogBusy, CatalogHolder, Deadline, WaitError};
use crate::project::profiles::{Catalog, Target};

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
    /// Whether rows were left unfetched past the limit.
    pub more: bool,
}

/// The lake opened for reading (`lake query`, `lake show`): an embedded
/// catalog is attached read-only, so readers share it with each other, and
/// it is released as soon as the one session it gives is dropped, before
/// anything is printed: a reader paging its rows in `less` must not hold
/// up the hourly run.
pub struct Reader(Warehouse);

impl Reader {
    /// The reader's one connection; the lake closes when it is dropped.
    pub fn session(self) -> Result<Session, WarehouseError> {
        self.0.session()
    }

    /// Name the lake is attached as.
    pub fn database(&self) -> &str {
        self.0.database()
    }
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
        let Catalog::Duckdb { path } = &target.catalog else {
            // A PostgreSQL catalog has no file lock: readers and runs share it.
            wh.attach(target, Access::Write)?;
            return Ok(wh);
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
            let Err(e) = wh.attach(target, access) else {
                return Ok(wh);
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
            notes: Vec::new(),
        };
        wh.interrupter.register(&wh.conn);
        let dir = extensions::extension_dir(target.extension_directory.as_deref());
        wh.exec(&format!(
            "SET extension_directory = '{}'",
            sql_str(&dir.display().to_string())
        ))?;
        let mut needed = vec!["parquet", "json", "ducklake"];
        if matches!(target.catalog, Catalog::Postgres { .. }) {
            needed.push("postgres_scanner");
        }
        if target.data_path.starts_with("s3://") || target.s3.is_some() {
            needed.push("httpfs");
        }
        for name in needed {
            wh.ensure_extension(name, &dir)?;
        }
        Ok(wh)
    }

    /// Makes `name` loadable and loads it (see the module docs for the order).
    fn ensure_extension(&mut self, name: &str, dir: &Path) -> Result<(), WarehouseError> {
        if self.exec(&format!("LOAD {name}")).is_ok() {
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
        let Catalog::Postgres {
            host,
            port,
            database,
            user,
            password,
            ..
        } = &target.catalog
        else {
            return Ok(());
        };
        let dsn = postgres_dsn(database, host, *port, user, password.as_ref(), Some(5));
        self.exec(&format!("ATTACH '{}' AS __lake_pg_check (TYPE postgres, READ_ONLY)", sql_str(&dsn)))
            .and_then(|_| self.exec("DETACH __lake_pg_check"))
            .map_err(|e| {
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

    /// `lake debug`: can we list the data path (S3 credentials, bucket)?
    pub fn check_data_path(&mut self, target: &Target) -> Result<(), WarehouseError> {
        if !target.data_path.contains("://") {
            return Ok(());
        }
        self.create_secrets(target)?;
        let sql = format!(
            "SELECT count(*) FROM glob('{}**')",
            sql_str(&target.data_path)
        );
        self.conn.query_row(&sql, [], |r| r.get::<_, i64>(0)).map(|_| ()).map_err(|e| {
            let e = self.error(e);
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
        if let Some(s3) = &target.s3 {
            let mut parts = vec![
                "TYPE s3".to_string(),
                format!("REGION '{}'", sql_str(&s3.region)),
            ];
            if let Some(k) = &s3.key_id {
                parts.push(format!("KEY_ID '{}'", sql_str(k.expose())));
            }
            if let Some(s) = &s3.secret {
                parts.push(format!("SECRET '{}'", sql_str(s.expose())));
            }
            if let Some(e) = &s3.endpoint {
                parts.push(format!("ENDPOINT '{}'", sql_str(e)));
            }
            parts.push(format!("URL_STYLE '{}'", sql_str(&s3.url_style)));
            parts.push(format!("USE_SSL {}", s3.use_ssl));
            self.exec(&format!(
                "CREATE OR REPLACE SECRET lake_s3 ({})",
                parts.join(", ")
            ))
            .map_err(|e| {
                WarehouseError::new(format!("cannot create the S3 secret: {}", e.message))
            })?;
        }
        Ok(())
    }

    fn attach(&mut self, target: &Target, access: Access) -> Result<(), WarehouseError> {
        let (location, what) = match &target.catalog {
            Catalog::Duckdb { path } => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        WarehouseError::new(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                (
                    format!("ducklake:{}", path.display()),
                    format!("DuckDB-file catalog {}", path.display()),
                )
            }
            Catalog::Postgres {
                host,
                port,
                database,
                user,
                password,
                ..
            } => {
                let dsn = postgres_dsn(database, host, *port, user, password.as_ref(), None);
                (
                    format!("ducklake:postgres:{dsn}"),
                    format!("PostgreSQL catalog {database} on {host}:{port}"),
                )
            }
        };
        if !target.data_path.contains("://") {
            std::fs::create_dir_all(&target.data_path).map_err(|e| {
                WarehouseError::new(format!("cannot create data path {}: {e}", target.data_path))
            })?;
        }
        let mut options = vec![format!("DATA_PATH '{}'", sql_str(&target.data_path))];
        if let Catalog::Postgres {
            metadata_schema: Some(s),
            ..
        } = &target.catalog
        {
            options.push(format!("METADATA_SCHEMA '{}'", sql_str(s)));
        }
        if access == Access::Read {
            // DuckDB then takes a shared lock on an embedded catalog.
            options.push("READ_ONLY".to_string());
        }
        let sql = format!(
            "ATTACH IF NOT EXISTS '{}' AS {} ({})",
            sql_str(&location),
            crate::nodes::quote(&target.database),
            options.join(", ")
        );
        // Another process holding an embedded catalog is found by probing
        // its lock (see `open_with`), not by reading this message.
        self.exec(&sql).map_err(|e| {
            WarehouseError::new(format!("cannot attach the {what}: {}", e.message))
                .with_help("check the catalog settings of the target (`lake debug`)")
        })
    }

    /// Runs SQL on the main connection.
    pub fn exec(&self, sql: &str) -> Result<(), WarehouseError> {
        self.conn.execute_batch(sql).map_err(|e| self.error(e))
    }

    /// A new connection to the same DuckDB, for one worker thread.
    pub fn session(&self) -> Result<Session, WarehouseError> {
        let conn = self.conn.try_clone().map_err(|e| self.error(e))?;
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

    fn error(&self, e: duckdb::Error) -> WarehouseError {
        WarehouseError::new(redact(&e.to_string(), &self.secrets))
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
        let batch = format!("BEGIN TRANSACTION;\n{};\nCOMMIT", statements.join(";\n"));
        self.execute_batch(&batch).inspect_err(|_| {
            let _ = self.execute_batch("ROLLBACK");
        })
    }

    /// Runs one statement; returns the rows it wrote (DuckDB reports them
    /// as a one-row `Count` result for CREATE TABLE AS, INSERT and DELETE).
    pub fn execute(&self, sql: &str) -> Result<u64, WarehouseError> {
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
        self.conn.execute_batch(sql).map_err(|e| self.error(e))
    }

    /// Runs a query and renders every value as text.
    pub fn query(&self, sql: &str) -> Result<Rows, WarehouseError> {
        let wrapped = format!(
            "SELECT COLUMNS(*)::VARCHAR FROM ({}) AS __lake_q",
            sql.trim().trim_end_matches(';')
        );
        let mut stmt = self.conn.prepare(&wrapped).map_err(|e| self.error(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.error(e))?;
        let columns = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(row.get::<_, Option<String>>(i).map_err(|e| self.error(e))?);
            }
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
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
        let columns: Vec<String> = {
            // Only the schema: this iterator panics on a failed fetch,
            // `step` below reports it.
            let stream = stmt.stream_arrow([]).map_err(|e| self.error(e))?;
            let schema = stream.get_schema();
            schema.fields().iter().map(|f| f.name().clone()).collect()
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
            more,
        })
    }

    /// `(schema, name)` of every table and view in the attached lake.
    pub fn existing_relations(
        &self,
        database: &str,
    ) -> Result<std::collections::HashSet<(String, String)>, WarehouseError> {
        let db = sql_str(database);
        let rows = self.query(&format!(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = '{db}' \
             UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = '{db}'"
        ))?;
        Ok(rows
            .rows
            .into_iter()
            .map(|r| {
                (
                    r[0].clone().unwrap_or_default(),
                    r[1].clone().unwrap_or_default(),
                )
            })
            .collect())
    }

    /// One number from a query (e.g. a failing-row count).
    pub fn query_count(&self, sql: &str) -> Result<u64, WarehouseError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.error(e))
    }

    /// `(name, type)` of a relation's or query's columns, or `None` if it
    /// does not exist.
    pub fn columns(
        &self,
        relation_or_query: &str,
    ) -> Result<Option<Vec<(String, String)>>, WarehouseError> {
        match self.query(&format!(
            "SELECT column_name, column_type FROM (DESCRIBE {relation_or_query})"
        )) {
            Ok(rows) => Ok(Some(
                rows.rows
                    .into_iter()
                    .map(|r| {
                        (
                            r[0].clone().unwrap_or_default(),
                            r[1].clone().unwrap_or_default(),
                        )
                    })
                    .collect(),
            )),
            Err(e) if e.message.contains("does not exist") || e.message.contains("not found") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn error(&self, e: duckdb::Error) -> WarehouseError {
        WarehouseError::new(redact(&e.to_string(), &self.secrets))
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
    let q = libpq_quote;
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

/// A libpq connection-string value: quoted, with `\` and `'` escaped, so a
/// password with spaces or quotes survives (unquoted, the first space ended it).
fn libpq_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Every secret value a target holds, for redaction.
fn secrets_of(target: &Target) -> Vec<String> {
    let mut v = Vec::new();
    if let Catalog::Postgres {
        password: Some(p), ..
    } = &target.catalog
    {
        // Also as it appears inside the connection string and the SQL.
        let quoted = libpq_quote(p.expose());
        let inner = quoted[1..quoted.len() - 1].to_string();
        v.push(sql_str(&inner));
        v.push(inner);
        v.push(p.expose().to_string());
    }
    if let Some(s3) = &target.s3 {
        v.extend(
            s3.key_id
                .iter()
                .chain(s3.secret.iter())
                .map(|s| s.expose().to_string()),
        );
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

/// Escapes a value for a single-quoted SQL string.
pub fn sql_str(s: &str) -> String {
    s.replace('\'', "''")
}

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
}
