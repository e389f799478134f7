//! A reader that goes away (`lake run | head -1`) must not crash lake: Rust
//! ignores SIGPIPE, so `println!` used to panic with "failed printing to
//! stdout: Broken pipe" (exit 101). Output stops quietly, and the work the
//! command was doing still finishes, as a cron `lake run | head` needs.

mod util;
use std::io::BufRead;
use std::process::{Child, Stdio};

use util::TempProject;

/// Starts `lake <args>` in the project with stdout and stderr piped.
fn spawn(p: &TempProject, args: &[&str]) -> Child {
    p.command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lake")
}

/// Waits for `child`; returns its exit code and stderr (empty if closed).
fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().expect("wait for lake");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "lake panicked:\n{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn run_into_a_closed_pipe_finishes_the_run() {
    let p = TempProject::new();
    for i in 0..5 {
        p.file(
            &format!("models/stage/m{i}.sql"),
            &format!("{{{{ config(materialized='table') }}}}select {i} as n\n"),
        );
    }
    let mut child = spawn(&p, &["run"]);
    // The reader is gone before lake prints its first line.
    drop(child.stdout.take());
    let (code, stderr) = finish(child);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        p.rows("select sum(n) from (select n from lake.stage.m0 union all select n from lake.stage.m4)"),
        [["4"]],
        "the run went on after stdout closed"
    );
}

#[test]
fn query_into_head_stops_quietly() {
    let p = TempProject::new();
    let mut child = spawn(
        &p,
        &["query", "select * from range(100000)", "--limit", "100000"],
    );
    // `| head -1`: read one line, then go away; the table is megabytes, far
    // more than a pipe holds, so lake is still writing when the pipe closes.
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).expect("first line");
    assert!(first.starts_with('┌'), "{first}");
    drop(reader);
    let (code, stderr) = finish(child);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn closed_stderr_is_not_a_crash() {
    let p = TempProject::new();
    p.file("models/a.sql", "select * from {{ ref('b') }}\n")
        .file("models/b.sql", "select 1 as x\n")
        .file("models/c.sql", "select * from {{ ref('nosuch') }}\n");
    // Warnings and diagnostics go to stderr; nobody reads it any more.
    let mut child = spawn(&p, &["ls", "--select", "a", "nothing_matches"]);
    drop(child.stderr.take());
    let (code, _) = finish(child);
    assert_eq!(code, 1, "the project error still decides the exit code");
    p.file("models/c.sql", "select 2 as x\n");
    let mut child = spawn(&p, &["ls", "--select", "a", "nothing_matches"]);
    drop(child.stderr.take());
    let out = child.wait_with_output().expect("wait for lake");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\n");
}
