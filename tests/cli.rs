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
        &["quarantine", "--help"],
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
        top.contains("Exit codes: 0 ok, 1 project errors or failed nodes, 2 bad command line,\n75 the lake is busy (another run, or a reader of an embedded lake), 130 interrupted"),
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
    p.file("models/a.sql", "{{ log('building ' ~ this.identifier, info=True) }}select '{{ run_started_at.strftime(\"%Y\") }}' as y\n");
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

/// `--threads 0` used to start the run and then skip every node, blaming
/// `--fail-fast`; zero workers is a wrong command line.
#[test]
fn zero_threads_is_a_usage_error() {
    let p = TempProject::new();
    p.file("models/a.sql", "select 1 as x\n");
    let out = p.lake(&["run", "--threads", "0"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!(out.stderr);
}

/// A profile's `threads: 0` did the same; it is now a profile error that
/// points at the key.
#[test]
fn zero_threads_in_the_profile_points_at_the_key() {
    let p = TempProject::new();
    p.file("models/a.sql", "select 1 as x\n").file(
        "profiles.yml",
        "demo:\n  target: dev\n  outputs:\n    dev:\n      type: ducklake\n      threads: 0\n",
    );
    let out = p.lake(&["compile"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!(out.stderr);
}

/// A schedule's `threads: 0` ran nothing, blaming --fail-fast; it is
/// rejected with the key's location like the profile's.
#[test]
fn zero_threads_in_a_schedule_points_at_the_key() {
    let p = TempProject::new();
    p.file("models/a.sql", "select 1 as x\n").file(
        "project.yml",
        "name: demo\nschedules:\n  hourly:\n    cron: \"0 * * * *\"\n    select: [a]\n    threads: 0\n",
    );
    let out = p.lake(&["compile"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!(out.stderr);
}

/// An invalid `--vars` was reported as a project error (exit 1); the README
/// promises exit 2 for a wrong command line, and the help shows the form.
#[test]
fn invalid_vars_is_a_usage_error() {
    let p = TempProject::new();
    p.file("models/a.sql", "select '{{ var(\"day\") }}' as d\n");
    let out = p.lake(&["compile", "--vars", "{day: [2024"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!("invalid_vars_yaml", out.stderr);
    let out = p.lake(&["compile", "--vars", "2024-05-01"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("invalid_vars_not_a_mapping", out.stderr);
    p.lake_ok(&["compile", "--vars", "day: 2024-05-01"]);
    assert_eq!(
        p.read("target/compiled/a.sql"),
        "select '2024-05-01' as d\n"
    );
}

/// `lake query` wrapped the SQL text in `SELECT * FROM (...) LIMIT n`: a
/// trailing `-- comment` swallowed the closing bracket (Parser Error) and
/// two statements were a bare parser error. The SQL now runs as written and
/// the limit applies while fetching rows.
#[test]
fn query_runs_the_sql_as_written() {
    let p = TempProject::new();
    let out = p.lake(&["query", "select 42 as answer -- the answer"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("query_trailing_comment", out.stdout);
    let out = p.lake(&[
        "query",
        "set variable base = 41;\nselect getvariable('base') + 1 as answer;",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("query_two_statements", out.stdout);
    let out = p.lake(&["query", "select range as n from range(5)", "--limit", "2"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("query_limit_says_there_is_more", out.stdout);
    let out = p.lake(&["query", "/* nothing */"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("query_without_a_statement", out.stderr);
}

/// `--format csv|json` hands a program the data alone: CSV quoted as RFC
/// 4180 says (NULL empty, the empty string `""`), JSON an array of objects
/// with numbers and booleans typed and timestamps as strings. That rows
/// were left out goes to stderr, where it corrupts neither.
#[test]
fn query_prints_csv_and_json_for_programs() {
    let p = TempProject::new();
    let sql = "select 1 as n, 2.50::decimal(4,2) as d, 'a,b' as \"text, quoted\", \
               'say \"hi\"' as q, E'two\\nlines' as nl, NULL as z, '' as e, true as b, \
               timestamp '2024-05-01 10:00:00' as ts, 'inf'::double as f";
    let out = p.lake(&["query", sql, "--format", "csv"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, "");
    insta::assert_snapshot!("query_csv", out.stdout);

    let out = p.lake(&["query", sql, "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, "");
    insta::assert_snapshot!("query_json", out.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let row = &parsed[0];
    assert_eq!(row["n"], serde_json::json!(1));
    assert_eq!(row["d"], serde_json::json!(2.5));
    assert_eq!(row["z"], serde_json::Value::Null);
    assert_eq!(row["b"], serde_json::json!(true));
    assert_eq!(row["ts"], serde_json::json!("2024-05-01 10:00:00"));
    assert_eq!(row["nl"], serde_json::json!("two\nlines"));
    python_reads_json(&out.stdout);

    let many = ["query", "select range as n from range(5)", "--limit", "2"];
    let out = p.lake(&[&many[..], &["--format", "csv"]].concat());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "n\n0\n1\n");
    assert_eq!(
        out.stderr,
        "2 rows shown; there are more (raise --limit to see them)\n"
    );
    let out = p.lake(&[&many[..], &["--format", "json"]].concat());
    assert_eq!(out.stdout, "[\n{\"n\":0},\n{\"n\":1}\n]\n");
    out.assert_stderr_has("there are more");
    let out = p.lake(&["query", "select 1 as n where false", "--format", "json"]);
    assert_eq!(out.stdout, "[]\n");
}

/// What a script reading `--format json` does: `python3 -c 'import json,sys; json.load(sys.stdin)'`,
/// where Python is installed.
fn python_reads_json(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("python3")
        .args(["-c", "import json,sys; json.load(sys.stdin)"])
        .stdin(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("python3 not found: JSON checked with serde_json only");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "python3 rejected:\n{text}");
}
