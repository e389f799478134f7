//! Built-in hook arguments are typed where they are written: an unknown
//! hook, an unknown or missing argument, or a literal of the wrong type is
//! a project error at its line of project.yml, from `lake compile` and from
//! `lake run --schedule` before the run takes the lake. They used to be
//! parsed only when the hook ran, after the run lock and the catalog.
//! Values written with Jinja are typed once rendered, still at their line.

mod util;
use std::fs::File;

use util::TempProject;

/// A project with one model and one schedule whose `pre-hooks:` list is
/// `hooks` (YAML lines at the list's indent).
fn scheduled(hooks: &str) -> TempProject {
    let p = TempProject::new();
    p.file(
        "project.yml",
        &format!(
            "name: demo\nvars:\n  hours: many\nschedules:\n  hourly:\n    cron: \"0 * * * *\"\n    select: [a]\n    pre-hooks:\n{hooks}"
        ),
    )
    .file("models/stage/a.sql", "select 1 as x\n");
    p
}

/// `lake compile` and `lake run --schedule hourly` both fail with the
/// same located errors (exit 1); the run never opened the lake.
fn project_errors(p: &TempProject) -> String {
    let compiled = p.lake(&["compile"]);
    assert_eq!(compiled.code, 1, "{}{}", compiled.stdout, compiled.stderr);
    let run = p.lake(&["run", "--schedule", "hourly"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr, compiled.stderr);
    assert!(
        !p.path().join(".lake").exists(),
        "the run must not take the lock or create the catalog"
    );
    run.stderr
}

#[test]
fn an_unknown_argument_suggests_the_nearest_key() {
    let p = scheduled(
        "      - extract: { source: data/source, start: \"2024-05-01T00:00\", max-hour: 3 }\n",
    );
    insta::assert_snapshot!(project_errors(&p));
}

#[test]
fn an_unknown_hook_is_refused_before_the_run_takes_the_lake() {
    let p = scheduled("      - extrakt:\n          source: data/source\n");
    insta::assert_snapshot!(project_errors(&p));
}

#[test]
fn a_missing_required_argument_points_at_its_hook() {
    let p = scheduled(
        "      - create schema if not exists lake.audit\n      - extract:\n          source: data/source\n",
    );
    insta::assert_snapshot!(project_errors(&p));
}

#[test]
fn wrongly_typed_literals_are_each_reported_at_their_key() {
    let p = scheduled(
        "      - extract:\n          source: data/source\n          start: \"2024-05-01T00:00\"\n          \
         max-hours: many\n          concurrency: -1\n          dims: page_view\n      \
         - cleanup: { retention: 7 days, merge: sometimes }\n      - cleanup: 7 days\n",
    );
    insta::assert_snapshot!(project_errors(&p));
}

/// The lock is held by another process: the old code waited for it (or
/// exited 75, lake busy) before it ever looked at the hook's arguments.
#[test]
fn a_bad_argument_fails_fast_while_another_run_holds_the_lake() {
    let p = scheduled("      - cleanup: { retension: 7 days }\n");
    std::fs::create_dir_all(p.path().join(".lake")).unwrap();
    let held = File::create(p.path().join(".lake/catalog.lock")).unwrap();
    held.try_lock().expect("the test holds the run lock");
    let out = p.lake(&["run", "--schedule", "hourly", "--wait", "0"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.starts_with(
            "error[L011]: schedule `hourly`: unknown argument `retension` of the `cleanup` hook"
        ),
        "{}",
        out.stderr
    );
    assert!(
        !p.path().join(".lake/catalog.ducklake").exists(),
        "the catalog was never attached"
    );
    drop(held);
}

/// `{{ var('hours') }}` renders to `many`: the type is checked once the
/// run renders it, and the error still names the key and its line.
#[test]
fn a_templated_value_is_typed_once_rendered() {
    let p = scheduled(
        "      - extract:\n          source: data/source\n          start: \"2024-05-01T00:00\"\n          \
         max-hours: \"{{ var('hours') }}\"\n",
    );
    let compiled = p.lake(&["compile"]);
    assert_eq!(compiled.code, 0, "keys are fine: {}", compiled.stderr);
    let out = p.lake(&["run", "--schedule", "hourly"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!(out.stderr);
    assert!(!out.stdout.contains("pre-hook 1/1"), "{}", out.stdout);
}

#[test]
fn a_template_that_does_not_render_names_its_key() {
    let p = scheduled("      - cleanup:\n          retention: \"{{ var('keep_for') }}\"\n");
    let out = p.lake(&["run", "--schedule", "hourly"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!(out.stderr);
}

/// Jinja always renders text: `"false"` from a var still types as the
/// boolean `merge` expects, and the hook runs with it.
#[test]
fn a_templated_boolean_and_duration_run() {
    let p = scheduled(
        "      - cleanup:\n          retention: \"{{ var('keep', '2 days') }}\"\n          merge: \"{{ var('merge', 'false') }}\"\n",
    );
    let out = p.lake_ok(&["run", "--schedule", "hourly"]);
    assert!(
        out.stdout.contains(
            "pre-hook 1/1 cleanup: expired 0 snapshots older than 2 days, merged files in 0 tables"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(p.rows("select x from lake.stage.a"), [["1"]]);
}

/// README lists the code of an unknown `--schedule` name: L030, as the
/// bad-selector family it belongs to (README said L031).
#[test]
fn an_unknown_schedule_is_l030_and_exit_2() {
    let p = scheduled("      - cleanup: {}\n");
    let out = p.lake(&["run", "--schedule", "hourli"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!(out.stderr);
    assert!(!p.path().join(".lake").exists());
}

/// Schedule selectors are checked once the project is loaded (the grammar
/// belongs to `select`), with the text and place loading used to give.
#[test]
fn schedule_selectors_are_checked_at_their_key() {
    let p = TempProject::new();
    p.file(
        "project.yml",
        "name: demo\nschedules:\n  hourly:\n    cron: \"0 * * * *\"\n    select: [stage, \"tga:x\"]\n    exclude:\n      - \"@+a\"\n",
    )
    .file("models/stage/a.sql", "select 1 as x\n");
    insta::assert_snapshot!(project_errors(&p));
}
