//! Stopping a run halfway never leaves a half-built table: Ctrl-C (SIGINT)
//! interrupts and rolls back; SIGKILL leaves the last committed table, and
//! the next run completes.

mod util;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use util::TempProject;

/// A table model whose rebuild takes many seconds.
const SLOW: &str = "{{ config(materialized='table') }}\nselect count(*) as n from range(200000) a, range(200000) b where (a.range * b.range) % 7 = 3\n";

fn start_slow_run(p: &TempProject) -> std::process::Child {
    p.file("models/stage/t.sql", SLOW);
    let mut child = p
        .command(&["run", "--select", "t"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the rebuild has started...
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("START model stage.t") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    // ...and its statement is computing: a signal that came before DuckDB
    // began the statement would find nothing to interrupt.
    util::wait_until_computing(&mut child, 0.5);
    child
}

fn build_first_version(p: &TempProject) {
    p.file(
        "models/stage/t.sql",
        "{{ config(materialized='table') }}select 7 as n\n",
    );
    p.lake_ok(&["run"]);
    assert_eq!(p.rows("select n from lake.stage.t"), [["7"]]);
}

#[test]
fn ctrl_c_leaves_the_previous_table_intact() {
    let p = TempProject::new();
    build_first_version(&p);
    let mut child = start_slow_run(&p);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "interrupted runs exit 130");
    assert_eq!(
        p.rows("select n from lake.stage.t"),
        [["7"]],
        "old contents, not half-written"
    );
    let results = p.run_results();
    assert_eq!(results["results"][0]["status"], "error");
}

#[test]
fn sigkill_during_a_rebuild_keeps_the_previous_table_and_the_next_run_completes() {
    let p = TempProject::new();
    build_first_version(&p);
    let mut child = start_slow_run(&p);
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert_eq!(
        p.rows("select n from lake.stage.t"),
        [["7"]],
        "old contents after SIGKILL"
    );
    p.file(
        "models/stage/t.sql",
        "{{ config(materialized='table') }}select 8 as n\n",
    );
    p.lake_ok(&["run"]);
    assert_eq!(p.rows("select n from lake.stage.t"), [["8"]]);
}
