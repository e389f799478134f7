//! Test harness: build a throwaway project in a temp folder, run the real
//! `lake` binary on it, and read what it printed and wrote.
#![allow(dead_code)]

pub mod browser;
pub mod command;
pub mod http;
pub mod lakehouse;
pub mod rows;
pub mod s3;
pub mod snapshot;

pub use command::{extension_dir, lake_command};
pub use rows::text_rows;
pub use snapshot::Placeholders;

/// Makes `embedded::name` and `prod::name` tests of each `fn name(lake: Lake)`,
/// so both targets run the same test code (the test file imports `Lake`).
#[allow(unused_macros)]
macro_rules! on_both_targets {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $( #[test] fn $name() { super::$name(super::Lake::Embedded) } )*
        }
        mod prod {
            $( #[test] fn $name() { super::$name(super::Lake::Prod) } )*
        }
    };
}

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A project folder that disappears after the test.
pub struct TempProject {
    pub dir: tempfile::TempDir,
    /// Where this project's lake lives.
    pub lake: Lake,
    /// Catalog schema and bucket prefix of a `Lake::Prod` project.
    pub unique: String,
}

/// The two targets the same tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lake {
    /// No profiles.yml: DuckDB-file catalog and local data under `.lake/`.
    Embedded,
    /// PostgreSQL catalog + S3 data on the servers of `.ci/services`, with a
    /// catalog schema and bucket prefix of its own.
    Prod,
}

/// What one `lake` invocation did.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Fails the test, showing all of stdout, unless stdout holds `needle`.
    #[track_caller]
    pub fn assert_stdout_has(&self, needle: &str) {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
    }

    /// Fails the test, showing all of stderr, unless stderr holds `needle`.
    #[track_caller]
    pub fn assert_stderr_has(&self, needle: &str) {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
    }
}

impl TempProject {
    /// An empty project named `demo`.
    pub fn new() -> Self {
        let p = TempProject {
            dir: tempfile::tempdir().expect("temp dir"),
            lake: Lake::Embedded,
            unique: String::new(),
        };
        p.file("project.yml", "name: demo\n");
        p
    }

    /// An empty project on `lake`.
    pub fn on(lake: Lake) -> Self {
        let mut p = TempProject::new();
        if lake == Lake::Prod {
            let tag = p
                .dir
                .path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_lowercase()
                .replace(['.', '-'], "_");
            p.unique = format!("t{}{tag}", std::process::id());
            p.lake = Lake::Prod;
            let need = |k: &str| {
                std::env::var(k).unwrap_or_else(|_| {
                    panic!("{k} is not set: start the test servers with `bash .ci/services up && . ~/.cache/lake/services/env` (or run `bash .ci/run`)")
                })
            };
            need("LAKE_TEST_PG_PORT");
            need("LAKE_TEST_S3_ENDPOINT");
            p.file(
                "profiles.yml",
                &format!(
                    "demo:\n  target: prod\n  outputs:\n    prod:\n      type: ducklake\n      catalog:\n        type: postgres\n        \
                     host: 127.0.0.1\n        port: \"{{{{ env_var('LAKE_TEST_PG_PORT') }}}}\"\n        database: postgres\n        user: postgres\n        \
                     password: \"{{{{ env_var('LAKE_TEST_PG_PASSWORD') }}}}\"\n        metadata_schema: {u}\n      \
                     data_path: s3://{{{{ env_var('LAKE_TEST_S3_BUCKET') }}}}/{u}/\n      \
                     landing_path: s3://{{{{ env_var('LAKE_TEST_S3_BUCKET') }}}}/{u}_landing/\n      s3:\n        \
                     endpoint: \"{{{{ env_var('LAKE_TEST_S3_ENDPOINT') }}}}\"\n        url_style: path\n        use_ssl: false\n        \
                     key_id: \"{{{{ env_var('LAKE_TEST_S3_KEY_ID') }}}}\"\n        secret: \"{{{{ env_var('LAKE_TEST_S3_SECRET') }}}}\"\n",
                    u = p.unique
                ),
            );
        }
        p
    }

    /// Writes `rel` (creating folders) and returns self for chaining.
    pub fn file(&self, rel: &str, text: &str) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Reads a file the command wrote.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Runs `lake <args>` in the project folder with a clean profile lookup.
    pub fn lake(&self, args: &[&str]) -> Output {
        self.lake_env(args, &[])
    }

    /// Like [`lake`](Self::lake) with extra environment variables.
    pub fn lake_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        let out = cmd.output().expect("run lake");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `lake <args>` in the project folder (see [`lake_command`]), for
    /// tests that start it themselves: to read its output as it comes, or
    /// to signal it.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = lake_command(self.dir.path());
        cmd.args(args);
        cmd
    }

    /// Snapshot placeholders for this project: `[PROJECT]` for its folder.
    pub fn placeholders(&self) -> Placeholders {
        Placeholders::new().project(self.path())
    }

    /// `lake ls` names for a selection, one per line, models only.
    pub fn ls(&self, select: &[&str]) -> Vec<String> {
        let mut args = vec!["ls", "--resource-type", "model"];
        if !select.is_empty() {
            args.push("--select");
            args.extend_from_slice(select);
        }
        let out = self.lake(&args);
        assert_eq!(out.code, 0, "lake ls failed: {}", out.stderr);
        out.stdout.lines().map(str::to_string).collect()
    }
}

/// Repository root, for tests that use the repo's own project.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl TempProject {
    /// Reads the embedded lake with an independent DuckDB connection (not
    /// through lake) and returns every value as text; NULL is "NULL".
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        self.rows_at(sql, None)
    }

    /// Like [`rows`](Self::rows), reaching S3 at `s3_endpoint` instead of the
    /// shared test server (for tests that run their own).
    pub fn rows_at(&self, sql: &str, s3_endpoint: Option<&str>) -> Vec<Vec<String>> {
        let conn = duckdb::Connection::open_in_memory().expect("duckdb");
        let dir = extension_dir();
        let root = self.dir.path();
        let attach = match self.lake {
            Lake::Embedded => rows::attach_embedded_sql(&dir, root, true),
            Lake::Prod => rows::attach_prod_sql(&dir, &self.unique, s3_endpoint, true),
        };
        conn.execute_batch(&attach).expect("attach the lake");
        text_rows(&conn, sql)
    }

    /// Runs lake and insists it succeeded.
    pub fn lake_ok(&self, args: &[&str]) -> Output {
        let out = self.lake(args);
        assert_eq!(
            out.code, 0,
            "lake {args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// `target/run_results.json`, parsed.
    pub fn run_results(&self) -> serde_json::Value {
        serde_json::from_str(&self.read("target/run_results.json")).expect("run_results.json")
    }
}

/// Copies folders of the repository (its own lake project) into `to`,
/// binary files included.
pub fn copy_from_repo(to: &Path, dirs: &[&str]) {
    let root = repo_root();
    for dir in dirs {
        for entry in walkdir::WalkDir::new(root.join(dir)) {
            let entry = entry.unwrap();
            let dest = to.join(entry.path().strip_prefix(&root).unwrap());
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&dest).unwrap();
            } else {
                std::fs::copy(entry.path(), &dest).unwrap();
            }
        }
    }
}

/// `status` per unique id from run_results.json.
pub fn statuses(results: &serde_json::Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["unique_id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// How long a test waits for something it can observe (a line, a file, a
/// process at work) before it fails.
pub const DEADLINE: Duration = Duration::from_secs(180);

/// Polls `ready` until it holds; fails the test after [`DEADLINE`],
/// naming `what` it waited for.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < DEADLINE, "waited {DEADLINE:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CPU seconds (user and system, every thread) process `pid` has used,
/// from `/proc/<pid>/stat`; None once it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |n: usize| fields.get(n)?.parse::<f64>().ok();
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((ticks(11)? + ticks(12)?) / per_second)
}

/// Waits until `child` has used `seconds` more CPU than when called: the
/// sign that a statement it just started is computing (lake itself idles
/// between the lines it prints). Fails if the child exits first.
pub fn wait_until_computing(child: &mut std::process::Child, seconds: f64) {
    let pid = child.id();
    let before = cpu_seconds(pid).expect("the process is running");
    wait_until(
        &format!("lake (pid {pid}) to compute for {seconds}s"),
        || {
            if let Some(status) = child.try_wait().expect("wait for lake") {
                panic!("lake exited ({status}) before it started computing");
            }
            cpu_seconds(pid).is_some_and(|now| now - before >= seconds)
        },
    );
}
