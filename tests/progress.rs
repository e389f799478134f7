//! Long catch-ups show progress (issue 9, item 10): a person watching a
//! 48-hour catch-up, or a cron log, sees a line at least every few seconds
//! with files done of N, rows and time left, and each node's time is its
//! own work, with the wait for its turn on the lake reported apart.

#[macro_use]
mod util;

use std::io::BufRead;
use std::time::{Duration, Instant};

use util::lakehouse::Lakehouse;
use util::Lake;

#[test]
fn a_48_hour_catch_up_prints_progress_and_separates_queue_from_work() {
    let h = Lakehouse::new(Lake::Embedded);
    let out = h.lake(&[
        "generate",
        "--to",
        &h.source_url(),
        "--start",
        "2024-05-01T00:00",
        "--hours",
        "48",
        "--sessions-per-hour",
        "400",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let vars = format!("{{source: \"{}\"}}", h.source_url());
    let project =
        h.p.read("project.yml")
            .replace("max-hours: 24", "max-hours: 48");
    h.p.file("project.yml", &project);
    let mut child = h
        .command(&["run", "--schedule", "hourly", "--vars", &vars])
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    // Stdout is a pipe here, as under cron: plain lines, timed as they come.
    let mut lines: Vec<(Instant, String)> = Vec::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        lines.push((Instant::now(), line.unwrap()));
    }
    let status = child.wait().unwrap();
    let text: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    assert!(status.success(), "{}", text.join("\n"));

    // From the first raw START to the last raw OK, never 5 s without a line.
    let first = lines
        .iter()
        .position(|(_, l)| l.contains("START model raw."))
        .unwrap();
    let last = lines
        .iter()
        .rposition(|(_, l)| l.contains("OK    model raw."))
        .unwrap();
    let gaps = lines[first..=last].windows(2).map(|w| w[1].0 - w[0].0);
    let longest = gaps.max().unwrap_or_default();
    assert!(
        longest <= Duration::from_secs(5),
        "{longest:?} without a line:\n{}",
        text.join("\n")
    );
    let progress: Vec<&&str> = text
        .iter()
        .filter(|l| l.contains("... load lake.raw."))
        .collect();
    let loading = lines[last].0 - lines[first].0;
    if loading > Duration::from_secs(4) {
        assert!(
            !progress.is_empty(),
            "no progress line in {loading:?}:\n{}",
            text.join("\n")
        );
        assert!(
            progress[0].contains(" files, ") && progress[0].contains("s left"),
            "{}",
            progress[0]
        );
    }

    // Raw loads take turns: later ones report their wait apart from their work.
    let results = h.p.run_results();
    let raw: Vec<&serde_json::Value> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"].as_str().is_some_and(|a| a.starts_with("load")))
        .collect();
    assert_eq!(raw.len(), 4);
    let work: f64 = raw
        .iter()
        .map(|r| r["execution_time"].as_f64().unwrap())
        .sum();
    let queued: Vec<f64> = raw
        .iter()
        .map(|r| r["queue_time"].as_f64().unwrap())
        .collect();
    assert!(queued.iter().any(|&q| q > 0.0), "{queued:?}");
    // Work times add up to no more than the loading wall time.
    assert!(
        work <= loading.as_secs_f64() + 0.5,
        "work {work}s in {loading:?}"
    );
    assert!(
        text.iter()
            .any(|l| l.contains("OK    model raw.") && l.contains(", queued ")),
        "{}",
        text.join("\n")
    );
}
