//! Readers and runs on one embedded lake. DuckDB locks an embedded catalog
//! file: shared while readers have it attached read-only, exclusive while a
//! run writes. `lake query` and `lake show` attach read-only and let go
//! before they print; a run waits for readers within its `--wait`, or exits
//! 75 naming the process that holds the lake; a reader that finds a run
//! writing exits 75 too, rather than with DuckDB's raw text.

mod util;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use util::TempProject;

/// A project with an `hourly` schedule, built once so its catalog exists.
fn built() -> TempProject {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nschedules:\n  hourly:\n    cron: \"0 * * * *\"\n    select: [stage]\n",
    )
    .file("models/stage/a.sql", "select 1 as x\n");
    p.lake_ok(&["run", "--schedule", "hourly"]);
    p
}

/// Attaches the project's catalog in this test process, as a notebook
/// would: read-only (a shared lock) or read-write (an exclusive one). The
/// lock lasts as long as the connection.
fn hold_catalog(p: &TempProject, read_only: bool) -> duckdb::Connection {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    conn.execute_batch(&util::rows::attach_embedded_sql(
        &util::extension_dir(),
        p.path(),
        read_only,
    ))
    .expect("attach the lake");
    conn
}

/// `lake <args>` in the project, started, with stdout and stderr piped.
fn spawn(p: &TempProject, args: &[&str]) -> std::process::Child {
    p.command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lake")
}

/// Pids and program names differ from run to run; the wait left too.
fn filtered(f: impl FnOnce()) {
    util::Placeholders::new()
        .pattern(r"pid \d+(, `[^`]*`)?", "pid [PID]")
        .pattern(r"up to \d+s", "up to [N]s")
        .bind(f);
}

/// Issue 9, item 8: while a `lake query` held the embedded lake, `lake run
/// --schedule hourly --wait 30` exited 1 after 0.45 s with DuckDB's
/// "Conflicting lock is held", neither waiting nor returning 75.
#[test]
fn a_scheduled_run_waits_for_a_reader_within_its_wait() {
    let p = built();
    let reader = hold_catalog(&p, true);
    let mut run = spawn(&p, &["run", "--schedule", "hourly", "--wait", "30"]);
    // The run says, once, whom it is waiting for: then let go.
    let mut stderr = BufReader::new(run.stderr.take().unwrap());
    let mut seen = String::new();
    let waiting = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("the run ended without waiting for the reader:\n{seen}");
        }
        seen.push_str(&line);
        if line.starts_with("waiting") {
            break line;
        }
    };
    filtered(|| {
        insta::assert_snapshot!(
            waiting,
            @"waiting up to [N]s for another process to close the lake's catalog (pid [PID])"
        )
    });
    drop(reader);
    stderr.read_to_string(&mut seen).unwrap();
    let out = run.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{seen}");
    assert!(stdout.contains("Schedule `hourly`"), "{stdout}");
    assert_eq!(p.rows("select x from lake.stage.a"), [["1"]]);
}

/// Even with `--wait 0`, a run grants readers a grace (a dashboard taking
/// its copy lets go in a moment); a reader that keeps the lake past it still
/// gets the run to exit 75, naming it.
#[test]
fn a_run_without_wait_gives_readers_a_grace_then_exits_75_naming_the_reader() {
    let p = built();
    let reader = hold_catalog(&p, true);
    let out = p.lake(&["run", "--schedule", "hourly"]);
    drop(reader);
    assert_eq!(out.code, 75, "{}\n{}", out.stdout, out.stderr);
    filtered(|| {
        insta::assert_snapshot!(out.stderr, @r"
        waiting up to [N]s for another process to close the lake's catalog (pid [PID])
        error[L061]: another process has the lake's catalog open for reading (pid [PID]); waited 15s, did nothing
         = help: readers (`lake query`, `lake show`, a notebook) hold an embedded catalog while they read; let it finish, or pass --wait SECONDS (or set LAKE_LOCK_WAIT) to queue behind it
        ")
    });
}

#[test]
fn readers_share_the_lake() {
    let p = built();
    let _notebook = hold_catalog(&p, true);
    let out = p.lake_ok(&["query", "select x from {{ ref('a') }}"]);
    out.assert_stdout_has("1 row");
    let out = p.lake_ok(&["show", "a"]);
    out.assert_stdout_has("1 row");
}

#[test]
fn a_reader_finding_the_lake_being_written_exits_75() {
    let p = built();
    let writer = hold_catalog(&p, false);
    let out = p.lake(&["query", "select x from {{ ref('a') }}"]);
    drop(writer);
    assert_eq!(out.code, 75, "{}\n{}", out.stdout, out.stderr);
    filtered(|| {
        insta::assert_snapshot!(out.stderr, @r"
        error[L061]: another process is writing the lake (pid [PID]: a `lake run`?); nothing was read
         = help: try again when it has finished: on an embedded catalog a run and a reader take turns (a PostgreSQL catalog lets them work at once)
        ")
    });
}

#[test]
fn a_reader_lets_go_of_the_lake_before_printing() {
    let p = built();
    // Far more output than a pipe holds: unread, the reader blocks printing.
    let big = ["query", "select range from range(50000)", "-n", "50000"];
    let mut reader = spawn(&p, &big);
    let mut stdout = BufReader::new(reader.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "the reader printed nothing");
    // It is printing, so it has let go: a run needs no --wait.
    let out = p.lake(&["run", "--schedule", "hourly"]);
    drop(stdout);
    reader.wait().unwrap();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}
