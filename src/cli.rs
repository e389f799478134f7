//! The command line: flags mirror dbt's where dbt has one, every command's
//! help carries examples, and exit codes are documented so CI can trust
//! them: 0 success, 1 the project has errors, 2 the command line is wrong.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit code: everything succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: the project (or a run) has errors; the diagnostics say which.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: the command line itself is wrong (flags, selectors).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: another run holds the lake's run lock (EX_TEMPFAIL: try
/// again later); nothing was done.
pub const EXIT_LOCKED: u8 = 75;
/// Exit code: the run was interrupted (Ctrl-C, SIGTERM); nothing half-written.
pub const EXIT_INTERRUPTED: u8 = 130;

const AFTER_HELP: &str = "\
Examples:
  lake run                              build every model on the lake (embedded default: .lake/)
  lake run --select mart+               the mart models and everything downstream
  lake build                            seeds, models and tests in dependency order
  lake show top_performing_products     look at a model's rows
  lake compile                          render every model into target/compiled/
  lake ls --select mart+                what `lake run --select mart+` would touch
  lake ls --select tag:hourly,stage     intersection: stage models tagged hourly
  lake dag --format mermaid > dag.md    draw the graph

Selectors (dbt's grammar): name, folder (`mart`), `path:models/stage`, `tag:x`,
`config.materialized:incremental`, `source:landing`, wildcards (`stg_*`),
graph operators `+x`, `x+`, `2+x`, `x+1`, `@x`; space = union, comma = intersection.

Schedules (project.yml) run hooks and models together, for cron:
  lake run --schedule hourly            extract new hours, load raw, rebuild stage and mart
  lake cron                             print the crontab lines for every schedule

Exit codes: 0 ok, 1 project errors or failed nodes, 2 bad command line,
75 the lake is busy (another run, or a reader of an embedded lake), 130 interrupted.";

/// lake: a declarative SQL model compiler and runner for DuckDB + DuckLake.
#[derive(Debug, Parser)]
#[command(name = "lake", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by all commands.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Project folder (the one holding project.yml).
    #[arg(
        long,
        global = true,
        default_value = ".",
        env = "LAKE_PROJECT_DIR",
        value_name = "DIR"
    )]
    pub project_dir: PathBuf,
    /// Folder holding profiles.yml (else $LAKE_PROFILES_DIR, ./profiles.yml, ~/.lake/profiles.yml).
    #[arg(long, global = true, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// Target in the profile (default: the profile's `target:`; embedded `dev` without profiles.yml).
    #[arg(long, short = 't', global = true)]
    pub target: Option<String>,
    /// Variables for var(), as YAML or JSON: --vars '{start: 2024-01-01}'.
    #[arg(long, global = true, value_name = "YAML")]
    pub vars: Option<String>,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Node selection flags.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Nodes to include (dbt selector grammar; repeat or space-separate for union).
    #[arg(long, short = 's', num_args = 1.., value_name = "SELECTOR")]
    pub select: Vec<String>,
    /// Nodes to leave out, same grammar.
    #[arg(long, num_args = 1.., value_name = "SELECTOR")]
    pub exclude: Vec<String>,
}

/// Flags of the commands that execute nodes.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Rebuild incremental models from scratch (and every other node:
    /// nothing is reused).
    #[arg(long)]
    pub full_refresh: bool,
    /// Run every selected node, even those whose last build still stands.
    /// By default a model, seed or test is reused (status `reused`) when its
    /// SQL and config are unchanged, nothing it reads changed since its last
    /// build, and it reads no clock, chance or file (`lake ls --select
    /// state:changed` lists what would run).
    #[arg(long)]
    pub no_reuse: bool,
    /// Worker threads with `--commit per-node`, at least 1 (default: the
    /// profile's `threads`, else the core count). A one-snapshot run uses one
    /// connection; DuckDB still uses every core inside each statement.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Keep every data test's failing rows (as `store_failures: true` in
    /// its config does, where the config says nothing): a table per test
    /// in `audit` (dbt projects: `<schema>_dbt_test__audit`), replaced
    /// each time the test runs.
    #[arg(long)]
    pub store_failures: bool,
    /// Stop starting nodes after the first failure.
    #[arg(long, short = 'x')]
    pub fail_fast: bool,
    /// Run a schedule from project.yml: its pre-hooks, its selection, its post-hooks.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["select", "exclude"])]
    pub schedule: Option<String>,
    /// Seconds to wait for another run on the same lake to finish before
    /// giving up with exit code 75.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        env = "LAKE_LOCK_WAIT"
    )]
    pub wait: u64,
    /// How the run publishes: `run` (default) commits every model, seed and
    /// test of the run in ONE DuckLake snapshot at the end, so readers see
    /// all of it or none; `per-node` commits each group of ready nodes as
    /// it finishes, so hours of work survive one late failure or a kill
    /// (use it for very long runs). Else project.yml's or the schedule's
    /// `commit:`.
    #[arg(long, value_enum, value_name = "MODE")]
    pub commit: Option<crate::project::CommitMode>,
    /// What data tests read: `changed` (default) checks a model's rows
    /// written since the test last passed and reuses a test whose inputs did
    /// not change; `all` checks whole tables, every run (else the schedule's
    /// `test-scope:`).
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub test_scope: Option<crate::project::config::TestScope>,
}

/// `--threads`: a count of workers, at least 1; zero workers would start
/// nothing and skip every node.
fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("lake needs at least 1 worker thread; 0 would run nothing".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a whole number ({e})")),
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the selected models on the lake, in dependency order, in parallel.
    #[command(
        after_help = "Examples:\n  lake run\n  lake run --select mart+ --threads 4\n  lake run --select config.materialized:incremental --full-refresh\n  lake run --exclude tag:slow --fail-fast\n  lake run --schedule hourly --wait 600\n\nOne run at a time per lake: a second run waits --wait seconds for the first (and, on an embedded lake,
for readers such as `lake query`, `lake serve` or a notebook: at least 15 s), then exits 75.\nWrites target/run_results.json and the SQL that ran under target/run/.\nExit codes: 0 all built, 1 a node or hook failed or was skipped, 75 lake busy, 130 interrupted."
    )]
    Run {
        /// What to run.
        #[command(flatten)]
        args: RunArgs,
    },
    /// Load the CSV seeds into tables.
    #[command(after_help = "Examples:\n  lake seed\n  lake seed --select page_kinds")]
    Seed {
        /// What to load.
        #[command(flatten)]
        args: RunArgs,
    },
    /// Run data tests (generic tests from .yml files and tests/sql/*.sql).
    #[command(
        after_help = "Examples:\n  lake test\n  lake test --select stage\n\nA test passes when its query returns no rows; exit code 1 if any fails."
    )]
    Test {
        /// Which tests.
        #[command(flatten)]
        args: RunArgs,
    },
    /// Seeds, models and tests in DAG order; a failing test skips what depends on the tested node.
    #[command(after_help = "Examples:\n  lake build\n  lake build --select +mart")]
    Build {
        /// What to build.
        #[command(flatten)]
        args: RunArgs,
    },
    /// Print rows of a model, seed or source.
    #[command(
        after_help = "Examples:\n  lake show top_performing_products\n  lake show events --limit 5\n  lake show top_performing_products --format csv > top.csv"
    )]
    Show {
        /// Node name.
        model: String,
        /// Rows to print.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// How rows are printed.
        #[arg(long, value_enum, default_value_t = RowFormat::Table)]
        format: RowFormat,
        /// Read the lake as it was: a run id (after that run), a snapshot id,
        /// or a timestamp (`2026-12-01 14:00`, UTC).
        #[arg(long, value_name = "RUN_ID|SNAPSHOT|TIMESTAMP")]
        at: Option<String>,
    },
    /// Run a SQL query against the lake; ref() and source() work.
    #[command(
        after_help = "Examples:\n  lake query \"select * from mart.top_performing_products\" --limit 5\n  lake query \"select count(*) from {{ ref('events') }}\"\n  lake query \"describe mart.top_performing_products\"\n  lake query \"summarize raw.browser_events\" --format json\n  lake query \"show all tables\" --format csv\n\nThe lake is the default catalog, as after `USE lake` in a notebook. The SQL runs as\nwritten: any read statement (SELECT, FROM-first, DESCRIBE, SUMMARIZE, SHOW, PIVOT,\nEXPLAIN); several statements run in order and the last one's rows print.\n--limit caps the rows fetched, without changing the SQL; with csv or json the\nnotice that rows were left out goes to stderr."
    )]
    Query {
        /// The SQL.
        sql: String,
        /// Rows to print.
        #[arg(long, short = 'n', default_value_t = 100)]
        limit: usize,
        /// How rows are printed.
        #[arg(long, value_enum, default_value_t = RowFormat::Table)]
        format: RowFormat,
        /// Read the lake as it was: a run id (after that run), a snapshot id,
        /// or a timestamp (`2026-12-01 14:00`, UTC); ref() resolves there too.
        #[arg(long, value_name = "RUN_ID|SNAPSHOT|TIMESTAMP")]
        at: Option<String>,
    },
    /// The runs recorded in the lake's snapshots, newest first.
    #[command(after_help = crate::history::runs::HISTORY_HELP)]
    History(HistoryArgs),
    /// Undo a run: every relation it changed goes back to how it was, in one new snapshot.
    #[command(
        after_help = "Examples:\n  lake rollback --dry-run              what undoing the latest run would change\n  lake rollback                        undo the latest run\n  lake rollback 20261201T150002Z-3fa1  undo that run\n  lake rollback --to-snapshot 41       put everything back as it was at snapshot 41\n\nThe rollback is itself a run, with a snapshot of its own: `lake rollback` again undoes it.\nNeeds the snapshots the cleanup hook keeps (`keep-runs`, default 24 runs).\nExit codes: 0 rolled back (or nothing to do), 1 refused (nothing changed), 75 lake busy."
    )]
    Rollback(RollbackArgs),
    /// Check the project, profile, extensions and catalog, naming what is wrong.
    #[command(
        after_help = "Examples:\n  lake debug\n  lake debug --target prod\n  duckdb -cmd \"$(lake debug --print-attach | envsubst)\"\n\n--print-attach prints the statements any DuckDB client (CLI, Python, a notebook) runs\nto attach the target's lake read-only, as lake does. Secrets are never printed:\n${NAME} stands for the environment variable the profile reads them from."
    )]
    Debug {
        /// Print the DuckDB statements that attach this target's lake
        /// read-only, with secrets left as placeholders, and check nothing.
        #[arg(long)]
        print_attach: bool,
    },
    /// Make the DuckDB extensions available now (INSTALL, else the Python registry).
    #[command(
        after_help = "Examples:\n  lake setup\n  LAKE_EXTENSION_DIR=/opt/duckdb-ext lake setup"
    )]
    Setup,
    /// Print crontab lines that run each schedule of project.yml.
    #[command(
        after_help = "Examples:\n  lake cron\n  lake cron --log-dir /var/log/lake | crontab -\n\nPaths are absolute, so the lines work from any crontab; each run appends to <log-dir>/<schedule>.log."
    )]
    Cron {
        /// Where each schedule's log goes (default: <project>/logs).
        #[arg(long, value_name = "DIR")]
        log_dir: Option<PathBuf>,
    },
    /// Move a dbt project over for good: write project.yml and profiles.yml from dbt's files.
    #[command(
        after_help = "Examples:\n  lake migrate                 project.yml + profiles.yml, the same targets as dbt's profile\n  lake migrate --to-ducklake   and a new default target: an embedded DuckLake under .lake/\n\nproject.yml keeps every key of dbt_project.yml and says `conventions: dbt`, so every\nrelation keeps its dbt name and schema. dbt_project.yml is left in place; lake reads\nproject.yml from now on. Nothing is overwritten: a project folder profiles.yml is\nkept as profiles.yml.dbt."
    )]
    Migrate {
        /// Add a target `lake` (an embedded DuckLake under .lake/) and make it the default.
        #[arg(long)]
        to_ducklake: bool,
    },
    /// List, retry or drop source files that were quarantined (they can never load as they are).
    #[command(
        after_help = "Examples:\n  lake quarantine                                  list quarantined files, with the reason and line\n  lake quarantine retry browser_events/2024-5-01-H04.jsonl\n  lake quarantine retry --all                      fetch or load every one again on the next run\n  lake quarantine drop --all                       give them up (until their source object changes)\n\nA source object rejected by the extract, or a landed file that failed to load,\nis quarantined: the run that found it reports it and exits 1, later runs skip it.\nWhen the source object changes (size or ETag), the extract fetches it again by itself."
    )]
    Quarantine {
        /// What to do (default: list).
        #[command(subcommand)]
        action: Option<QuarantineAction>,
    },
    /// Write synthetic hourly source partitions (year=Y/month=M/day=DD/hour=HH/<dim>.jsonl.zip).
    #[command(
        after_help = "Examples:\n  lake generate --to data/source --start 2024-05-01T00:00 --hours 6\n  lake generate --to s3://source-bucket/events --hours 48 --sessions-per-hour 2000 --target prod\n\nDeterministic: the same --seed gives the same files; each hour has its own random stream."
    )]
    Generate {
        /// Folder or s3://bucket/prefix (S3 uses the target's s3 settings).
        #[arg(long, value_name = "LOCATION")]
        to: String,
        /// First hour.
        #[arg(long, default_value = "2024-05-01T00:00")]
        start: String,
        /// How many hours.
        #[arg(long, default_value_t = 6)]
        hours: u32,
        /// Sessions starting per hour (about 6 page views each).
        #[arg(long, default_value_t = 200)]
        sessions_per_hour: usize,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Leave these hours out (to test catch-up), e.g. 2024-05-01T03:00.
        #[arg(long, value_name = "HOUR", num_args = 1..)]
        skip: Vec<String>,
    },
    /// Render every model to SQL and write target/compiled/ and target/manifest.json.
    #[command(
        after_help = "Examples:\n  lake compile\n  lake compile --select stage+\n  lake compile --vars '{day: 2024-05-01}'"
    )]
    Compile {
        /// Which nodes' SQL to write (the manifest always covers all).
        #[command(flatten)]
        select: SelectArgs,
    },
    /// List the nodes a selection picks, in run order.
    #[command(
        after_help = "Examples:\n  lake ls\n  lake ls --select mart+ --output path\n  lake ls --select 'tag:hourly' --exclude 'stg_*' --output json\n  lake ls --resource-type model --select config.materialized:incremental"
    )]
    Ls {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// What to print per node.
        #[arg(long, short = 'o', value_enum, default_value_t = LsOutput::Name)]
        output: LsOutput,
        /// Only these kinds of node.
        #[arg(long, value_enum, num_args = 1..)]
        resource_type: Vec<ResourceType>,
    },
    /// Serve the project's dashboards, lineage, model pages and run history as a local web app.
    #[command(
        after_help = "Examples:\n  lake serve                                  http://127.0.0.1:8080\n  lake serve --port 9000\n  LAKE_SERVE_TOKEN=s3cret lake serve --host 0.0.0.0\n\nReaders never block the pipeline: on an embedded lake, pages read a copy of the marts\ntaken at the lake's newest snapshot; while a run writes, they show the previous one.\n--port 0 picks a free port; the first line printed says which."
    )]
    Serve(ServeArgs),
    /// Print the dependency graph as Graphviz dot or Mermaid.
    #[command(
        after_help = "Examples:\n  lake dag | dot -Tsvg > dag.svg\n  lake dag --format mermaid --select +mart"
    )]
    Dag {
        /// Selection.
        #[command(flatten)]
        select: SelectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DagFormat::Dot)]
        format: DagFormat,
    },
}

/// `lake history`'s flags.
#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// Most runs to list.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// List the versions of one model's table and the run that wrote each.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `lake rollback`'s flags.
#[derive(Debug, Args, Clone)]
pub struct RollbackArgs {
    /// The run to undo (`lake history` lists them); default: the latest.
    #[arg(value_name = "RUN_ID")]
    pub run_id: Option<String>,
    /// Undo everything committed after this snapshot instead.
    #[arg(long, value_name = "N", conflicts_with = "run_id")]
    pub to_snapshot: Option<i64>,
    /// Print what would change (relations, rows before and after); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds to wait for a running lake run to finish.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        env = "LAKE_LOCK_WAIT"
    )]
    pub wait: u64,
}

/// `lake serve` flags.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// TCP port (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind; anything but loopback should come with --auth-token.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Token every request must carry (`Authorization: Bearer <token>`, or
    /// `?token=<token>` once in a browser, which sets a cookie).
    #[arg(
        long,
        env = "LAKE_SERVE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub auth_token: Option<String>,
}

/// `lake query --format`, `lake show --format`: how rows are printed.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RowFormat {
    /// A table for the terminal, with a row count.
    Table,
    /// CSV with a header line; fields quoted as RFC 4180 says, NULL empty
    /// and an empty string `""` (as DuckDB's COPY writes them).
    Csv,
    /// One JSON array of objects keyed by column name; numbers and booleans
    /// typed, NULL as null, everything else (timestamps too) as strings.
    Json,
}

/// `lake ls --output`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LsOutput {
    /// Node names.
    Name,
    /// Defining files.
    Path,
    /// One JSON object per line.
    Json,
}

/// `lake ls --resource-type`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ResourceType {
    /// SQL models.
    Model,
    /// CSV seeds.
    Seed,
    /// Declared sources.
    Source,
    /// Data tests.
    Test,
}

/// `lake dag --format`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DagFormat {
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

/// `lake quarantine` subcommands.
#[derive(Debug, Subcommand, Clone)]
pub enum QuarantineAction {
    /// List quarantined files with the reason, line and source object.
    List,
    /// Forget the verdict: the next run fetches or loads the files again.
    Retry {
        /// Landed names as `lake quarantine list` shows them.
        files: Vec<String>,
        /// Every quarantined file.
        #[arg(long, conflicts_with = "files")]
        all: bool,
    },
    /// Give the files up: delete landed copies, skip them until the source object changes.
    Drop {
        /// Landed names as `lake quarantine list` shows them.
        files: Vec<String>,
        /// Every quarantined file.
        #[arg(long, conflicts_with = "files")]
        all: bool,
    },
}
