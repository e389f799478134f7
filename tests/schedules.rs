//! Schedules from the command line: `lake cron`'s crontab lines, and the
//! errors a person gets for a wrong schedule name or hook argument.

mod util;
use util::TempProject;

fn scheduled() -> TempProject {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nschedules:\n  hourly:\n    cron: \"0 * * * *\"\n    description: Land and build.\n    select: [stage]\n  \
         daily:\n    cron: \"0 0 * * *\"\n    post-hooks:\n      - cleanup: { retention: 7 days }\n",
    )
    .file("models/stage/a.sql", "select 1 as x\n");
    p
}

#[test]
fn cron_prints_one_absolute_line_per_schedule() {
    let p = scheduled();
    let out = p.lake_ok(&["cron", "--log-dir", "/var/log/lake"]);
    let placeholders = p
        .placeholders()
        .literal(env!("CARGO_BIN_EXE_lake"), "[LAKE]");
    placeholders.bind(|| {
        insta::assert_snapshot!(out.stdout, @r"
        # lake schedules of [PROJECT]
        # install: lake cron | crontab -   (logs in /var/log/lake)

        # hourly: Land and build.
        0 * * * * mkdir -p /var/log/lake && cd [PROJECT] && [LAKE] run --schedule hourly >> /var/log/lake/hourly.log 2>&1

        0 0 * * * mkdir -p /var/log/lake && cd [PROJECT] && [LAKE] run --schedule daily >> /var/log/lake/daily.log 2>&1
        ");
    });
}

#[test]
fn a_schedule_runs_its_selection_and_its_hooks() {
    let p = scheduled();
    let out = p.lake_ok(&["run", "--schedule", "hourly"]);
    out.assert_stdout_has("Schedule `hourly`");
    assert_eq!(p.rows("select x from lake.stage.a"), [["1"]]);
    let out = p.lake_ok(&["run", "--schedule", "daily"]);
    out.assert_stdout_has("post-hook 1/1 cleanup: expired 0 snapshots older than 7 days");
    // Cron and CI see what the hooks did in run_results.json.
    let hooks = &p.run_results()["hooks"];
    assert_eq!(hooks[0]["when"], "post-hook");
    assert_eq!(hooks[0]["hook"], "cleanup");
    assert_eq!(hooks[0]["status"], "success");
    assert!(hooks[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("cleanup: expired 0 snapshots"));
}

#[test]
fn an_unknown_schedule_is_a_usage_error_with_a_suggestion() {
    let out = scheduled().lake(&["run", "--schedule", "hourli"]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.stderr, @r"
    error[L030]: no schedule `hourli` in project.yml
     = help: did you mean `hourly`?
    ");
}

#[test]
fn a_misspelt_hook_argument_is_refused_before_the_run_starts() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nschedules:\n  hourly:\n    cron: \"0 * * * *\"\n    pre-hooks:\n      \
         - extract: { source: data/source, start: \"2024-05-01T00:00\", max-hour: 3 }\n    select: [stage]\n",
    )
    .file("models/stage/a.sql", "select 1 as x\n");
    let out = p.lake(&["run", "--schedule", "hourly"]);
    assert_eq!(out.code, 1);
    // A load error, like any other mistake in project.yml: found before the
    // run takes the lock or attaches the catalog, so no lake is created.
    out.assert_stderr_has(
        "error[L011]: schedule `hourly`: unknown argument `max-hour` of the `extract` hook",
    );
    out.assert_stderr_has("project.yml:6:68");
    out.assert_stderr_has("did you mean `max-hours`?");
    assert!(
        !p.path().join(".lake").exists(),
        "the run attached a catalog"
    );
}

#[test]
fn an_unreachable_source_server_is_one_clear_line() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nschedules:\n  hourly:\n    cron: \"0 * * * *\"\n    pre-hooks:\n      \
         - extract:\n          source: s3://events/source\n          start: \"2024-05-01T00:00\"\n          \
         s3: { endpoint: \"127.0.0.1:1\", url_style: path, use_ssl: false, key_id: k, secret: hidden-source-secret }\n    select: [stage]\n",
    )
    .file("models/stage/a.sql", "select 1 as x\n");
    let out = p.lake(&["run", "--schedule", "hourly"]);
    assert_eq!(out.code, 1);
    insta::assert_snapshot!(out.stderr, @r"
    error[L062]: pre-hook 1: cannot list the extract source: listing s3://events/source/: cannot reach the S3 server (Connection refused (os error 111)); check `endpoint` and `use_ssl`
     = note: the run stopped before any model
    ");
}
