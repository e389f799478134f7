//! The command line itself: help that teaches, logs that CI can parse, and
//! the Jinja globals that only show up at run time.

mod util;
use util::TempProject;

#[test]
fn every_command_help_has_examples() {
    let p = TempProject::new();
    for cmd in [
        &["--help"][..],
        &["compile", "--help"],
        &["ls", "--help"],
        &["dag", "--help"],
    ] {
        let out = p.lake(cmd);
        assert_eq!(out.code, 0, "{cmd:?}");
        assert!(
            out.stdout.contains("Examples:"),
            "{cmd:?} help has no examples:\n{}",
            out.stdout
        );
    }
    let top = p.lake(&["--help"]).stdout;
    assert!(
        top.contains("Exit codes: 0 ok, 1 project errors or failed nodes, 2 bad command line,\n75 another run holds the lake's lock, 130 interrupted"),
        "{top}"
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let p = TempProject::new();
    let out = p.lake(&["compile", "--selct", "x"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--select"),
        "clap suggests the flag: {}",
        out.stderr
    );
}

#[test]
fn log_calls_and_json_log_format() {
    let p = TempProject::new();
    p.file("models/a.sql", "{{ log('building ' ~ this.identifier, info=True) }}select '{{ run_started_at[:4] }}' as y\n");
    let out = p.lake(&["compile", "-v", "--log-format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "building a"),
        "{}",
        out.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "project loaded"),
        "{}",
        out.stderr
    );
    let year = p.read("target/compiled/a.sql");
    assert!(
        year.starts_with("select '20") && year.ends_with("' as y\n"),
        "{year}"
    );
    let quiet = p.lake(&["compile"]);
    assert_eq!(quiet.stderr, "", "no logs without -v");
}
