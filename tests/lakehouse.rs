//! The browser-events lakehouse (this repository's own project) end to
//! end, on both targets: `lake generate` writes hourly source partitions,
//! `lake run --schedule hourly` extracts, loads raw exactly once and
//! rebuilds stage and mart, `--schedule daily` cleans up. Every raw count
//! and every mart is checked against a reference computed here by an
//! independent DuckDB query straight over the generated JSONL.

#[macro_use]
mod util;

use std::io::BufRead;
use std::process::Stdio;

use util::lakehouse::{zip_of, Lakehouse, DIMS, SAMPLE_HOURS};
use util::Lake;

/// The whole story of the hourly job, as cron would run it.
fn hourly_and_daily(h: Lakehouse, first_hours: u32) {
    // First run: every hour so far is landed, loaded and built.
    let out = h.schedule_ok("hourly");
    out.assert_stdout_has(&format!("landed {n} of {n} files", n = first_hours * 4));
    h.assert_matches(&h.reference());
    let ledger = h.ledger_files();
    assert_eq!(ledger.len() as u32, first_hours * 4);

    // No new hours: nothing is landed and no raw table changes.
    let counts = h.raw_counts();
    // The raw tables' data files: any insert, even of zero rows, would add one.
    let raw_files = || {
        h.p.rows(
            "select table_name, file_count, file_size_bytes from ducklake_table_info('lake') \
             where table_name in ('browser_events', 'device_events', 'geo_events', 'location_events') \
             order by all",
        )
    };
    let files = raw_files();
    assert_eq!(files.len(), 4, "{files:?}");
    let out = h.schedule_ok("hourly");
    out.assert_stdout_has("landed 0 of 0 files");
    assert_eq!(h.raw_counts(), counts);
    assert_eq!(h.ledger_files(), ledger);
    assert_eq!(raw_files(), files);

    // Two more hours arrive: only they are loaded.
    h.generate(first_hours, 2, &[]);
    let out = h.schedule_ok("hourly");
    out.assert_stdout_has("landed 8 of 8 files (2 hours");
    let after = h.ledger_files();
    assert_eq!(after.len() as u32, (first_hours + 2) * 4);
    assert!(
        ledger.iter().all(|row| after.contains(row)),
        "earlier loads untouched"
    );
    h.assert_matches(&h.reference());

    // Daily cleanup: expired snapshots' files go, the marts still answer.
    let before = h.data_files().len();
    let out = h.schedule_ok("daily");
    out.assert_stdout_has("cleanup: expired");
    let remaining = h.data_files().len();
    assert!(
        remaining < before,
        "cleanup removed nothing: {before} -> {remaining}\n{}",
        out.stdout
    );
    h.assert_matches(&h.reference());
}

on_both_targets!(
    marts_keep_the_dashboards_contract,
    hourly_then_daily,
    sigkill_while_loading_raw_loses_and_duplicates_nothing,
    two_runs_at_once_one_refuses_and_data_is_exact,
    missing_hours_are_caught_up_and_bad_files_load_nothing,
);

/// The original dashboard's contract (issue 10): each mart's columns, in
/// order, with the types the dashboard reads. `date_part` is the hour as a
/// timestamp (one row per calendar hour), never the hour of day.
const MART_COLUMNS: [(&str, &[(&str, &str)]); 7] = [
    (
        "purchased_products_count_hourly",
        &[("date_part", "TIMESTAMP"), ("cnt", "HUGEINT")],
    ),
    (
        "click_conversion_rates_hourly",
        &[
            ("utm_source", "VARCHAR"),
            ("date_part", "TIMESTAMP"),
            ("sm", "HUGEINT"),
        ],
    ),
    (
        "campaign_purchase_analysis_hourly",
        &[
            ("utm_campaign", "VARCHAR"),
            ("utm_medium", "VARCHAR"),
            ("date_part", "TIMESTAMP"),
            ("sm", "HUGEINT"),
        ],
    ),
    (
        "top_performing_products",
        &[("product", "VARCHAR"), ("cnt", "BIGINT")],
    ),
    (
        "events_distribution_hourly",
        &[
            ("event", "VARCHAR"),
            ("date_part", "TIMESTAMP"),
            ("os_name", "VARCHAR"),
            ("device_type", "VARCHAR"),
            ("browser_name", "VARCHAR"),
            ("cnt", "BIGINT"),
        ],
    ),
    (
        "users_segments_agg",
        &[
            ("os_name", "VARCHAR"),
            ("device_type", "VARCHAR"),
            ("utm_source", "VARCHAR"),
            ("users", "BIGINT"),
        ],
    ),
    (
        "users_purchases_segments_agg",
        &[
            ("device_type", "VARCHAR"),
            ("utm_source", "VARCHAR"),
            ("os_name", "VARCHAR"),
            ("products", "HUGEINT"),
        ],
    ),
];

/// After the hourly job, `DESCRIBE` of every mart in the lake shows
/// exactly the dashboard's columns and types, and `date_part` holds whole
/// hours of the sample's day.
fn marts_keep_the_dashboards_contract(lake: Lake) {
    let h = match lake {
        Lake::Embedded => Lakehouse::new(lake).with_committed_sample(),
        Lake::Prod => {
            let h = Lakehouse::new(lake);
            h.generate(0, 2, &[]);
            h
        }
    };
    h.schedule_ok("hourly");
    // The contract was checked before each mart was written.
    for mart in util::lakehouse::MARTS {
        let ran = h.p.read(&format!("target/run/mart/{mart}.sql"));
        assert!(ran.starts_with("DESCRIBE\n"), "{mart}: {ran}");
    }
    assert_eq!(
        MART_COLUMNS.map(|(m, _)| m),
        util::lakehouse::MARTS,
        "one contract per mart"
    );
    for (mart, want) in MART_COLUMNS {
        let got = h.p.rows(&format!(
            "select column_name, column_type from (describe lake.mart.{mart})"
        ));
        let want: Vec<Vec<String>> = want
            .iter()
            .map(|(n, t)| vec![n.to_string(), t.to_string()])
            .collect();
        assert_eq!(got, want, "columns of lake.mart.{mart}");
    }
    let hours = h.p.rows(
        "select count(*), count(distinct date_part), min(date_part)::varchar, \
         bool_and(date_trunc('hour', date_part) = date_part) \
         from lake.mart.purchased_products_count_hourly",
    );
    let n: u32 = hours[0][0].parse().unwrap();
    assert!(n > 1, "more than one hour: {hours:?}");
    assert_eq!(hours[0][1], hours[0][0], "one row per hour: {hours:?}");
    assert_eq!(hours[0][2], "2024-05-01 00:00:00", "{hours:?}");
    assert_eq!(hours[0][3], "true", "{hours:?}");
}

/// Embedded starts from the committed sample (3 hours); Prod from 6 hours
/// the generator writes into the source bucket.
fn hourly_then_daily(lake: Lake) {
    match lake {
        Lake::Embedded => {
            hourly_and_daily(Lakehouse::new(lake).with_committed_sample(), SAMPLE_HOURS)
        }
        Lake::Prod => {
            let h = Lakehouse::new(lake);
            h.generate(0, 6, &[]);
            hourly_and_daily(h, 6);
        }
    }
}

fn sigkill_while_loading_raw_loses_and_duplicates_nothing(lake: Lake) {
    let h = Lakehouse::new(lake);
    h.generate(0, 8, &[]);
    let vars = h.vars("7 days");
    let mut child = h
        .command(&["run", "--schedule", "hourly", "--vars", &vars])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // Kill once the extract is done and the first landed file is loaded
    // (its landed copy removed), while the other raw files are loading.
    for line in lines.by_ref() {
        if line.unwrap().starts_with("pre-hook 1/1 extract") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    // The extract landed 8 hours of 4 files; the load removes each landed
    // copy once its rows and ledger row are committed.
    util::wait_until("a landed file to be loaded", || {
        h.landed_files().len() < 8 * DIMS.len()
    });
    child.kill().unwrap();
    child.wait().unwrap();

    // Whatever the moment of the kill, every raw table holds exactly the
    // rows of the files its ledger records: no file half-loaded, none twice.
    for dim in DIMS {
        let exists = h.p.rows(&format!(
            "select count(*) from duckdb_tables() where database_name = 'lake' and schema_name = 'raw' and table_name = '{dim}'"
        ));
        let rows = if exists[0][0] == "1" {
            h.p.rows(&format!("select count(*) from lake.raw.{dim}"))
        } else {
            vec![vec!["0".to_string()]]
        };
        let recorded = h.p.rows(&format!(
            "select coalesce(sum(row_count), 0) from lake._lake.loaded_files where relation = 'raw.{dim}'"
        ));
        eprintln!(
            "after SIGKILL: raw.{dim} {} rows, ledger {}",
            rows[0][0], recorded[0][0]
        );
        assert_eq!(rows, recorded, "raw.{dim} against its ledger");
    }

    // The rerun finishes the job: every file exactly once.
    h.schedule_ok("hourly");
    assert_eq!(h.ledger_files().len(), 32);
    h.assert_matches(&h.reference());
}

fn two_runs_at_once_one_refuses_and_data_is_exact(lake: Lake) {
    let h = Lakehouse::new(lake);
    h.generate(0, 4, &[]);
    let vars = h.vars("7 days");
    let spawn = || {
        h.command(&["run", "--schedule", "hourly", "--vars", &vars])
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    codes.sort();
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(codes, [0, 75], "{stderr}");
    assert!(
        stderr.contains("another lake run is using this lake"),
        "{stderr}"
    );
    h.assert_matches(&h.reference());

    // With --wait, the second run queues behind the first instead.
    h.generate(4, 1, &[]);
    let waiting = || {
        h.command(&[
            "run",
            "--schedule",
            "hourly",
            "--wait",
            "300",
            "--vars",
            &vars,
        ])
        .spawn()
        .unwrap()
    };
    let (a, b) = (waiting(), waiting());
    for out in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(h.ledger_files().len(), 20);
    h.assert_matches(&h.reference());
}

fn missing_hours_are_caught_up_and_bad_files_load_nothing(lake: Lake) {
    let h = Lakehouse::new(lake);
    // Hour 2 is missing: hours 0, 1 and 3 land, hour 2 is reported.
    h.generate(0, 4, &[2]);
    let out = h.schedule_ok("hourly");
    out.assert_stdout_has("landed 12 of 12 files");
    out.assert_stdout_has("4 objects missing, retried on later runs");
    out.assert_stdout_has("year=2024/month=5/day=01/hour=02/");
    h.assert_matches(&h.reference());

    // Hour 2 appears later and is caught up.
    h.generate(2, 1, &[]);
    let out = h.schedule_ok("hourly");
    out.assert_stdout_has("landed 4 of 4 files (1 hour");
    h.assert_matches(&h.reference());

    // Hour 4 arrives with a corrupt geo zip and a browser file whose third
    // line is broken; hour 5 is fine.
    h.generate(4, 2, &[]);
    // The planted objects replace hour 4's; keep the references in step.
    let refs = h.refs.path().join("zips/year=2024/month=5/day=01/hour=04");
    std::fs::remove_file(refs.join("geo_events.jsonl.zip")).unwrap();
    std::fs::remove_file(refs.join("browser_events.jsonl.zip")).unwrap();
    let key = |dim: &str| format!("year=2024/month=5/day=01/hour=04/{dim}.jsonl.zip");
    h.put_source(&key("geo_events"), b"PK\x03\x04 this is not a zip".to_vec());
    let good = r#"{"event_id":"7f1c1d2e-0000-4000-8000-000000000001","event_timestamp":"2024-05-01T04:10:00.000","event_type":"page_view","click_id":"7f1c1d2e-0000-4000-8000-0000000000aa","browser_name":"Chrome","browser_user_agent":"x","browser_language":"en-US"}"#;
    h.put_source(
        &key("browser_events"),
        zip_of(
            "browser_events",
            &[good, good, r#"{"event_id": "broken"#, good],
        ),
    );
    let out = h.schedule("hourly");
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    out.assert_stderr_has("hour=04/browser_events.jsonl.zip: line 3 is not a JSON object");
    out.assert_stderr_has("hour=04/geo_events.jsonl.zip: corrupt zip archive");
    out.assert_stdout_has("landed 6 of 8 files");
    let extract = &h.p.run_results()["hooks"][0];
    assert_eq!(extract["status"], "error");
    assert_eq!(extract["problems"].as_array().unwrap().len(), 2);
    // Nothing of the two bad files; hour 4's good files wait for them (one
    // delivery), everything else loads.
    let reference = h.reference();
    for (dim, got) in DIMS.iter().zip(h.raw_counts()) {
        let want: usize = reference.rows(&format!("select count(*) from {dim}"))[0][0]
            .parse()
            .unwrap();
        let zip = refs.join(format!("{dim}.jsonl.zip"));
        let waiting = match zip.exists() {
            true => lines_in_zip(&zip),
            false => 0,
        };
        assert_eq!(got, (want - waiting).to_string(), "raw.{dim}");
    }
    let ledger = h.ledger_files();
    for dim in DIMS {
        let file = format!("{dim}/2024-5-01-H04.jsonl");
        assert!(!ledger.iter().any(|r| r[1] == file), "{file} loaded");
    }
    assert!(ledger
        .iter()
        .any(|r| r[1] == "device_events/2024-5-01-H05.jsonl"));
}

/// Lines of the one member of a zip.
fn lines_in_zip(path: &std::path::Path) -> usize {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut archive.by_index(0).unwrap(), &mut text).unwrap();
    text.lines().count()
}

#[test]
fn a_source_on_other_credentials_uses_the_hooks_s3_settings_and_never_prints_them() {
    // Production reads the source bucket with keys of its own: the hook's
    // `s3:` block overrides the target's S3 settings for the source only.
    let h = Lakehouse::new(Lake::Prod);
    h.generate(0, 1, &[]);
    let project = h.p.read("project.yml").replace(
        "          concurrency: 8\n",
        "          concurrency: 8\n          s3: { secret: \"{{ env_var('SOURCE_S3_SECRET') }}\" }\n",
    );
    h.p.file("project.yml", &project);
    let vars = h.vars("7 days");
    let run = |secret: &str| {
        let mut env = h.env();
        env.push(("SOURCE_S3_SECRET".into(), secret.into()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        h.p.lake_env(&["run", "--schedule", "hourly", "--vars", &vars], &env)
    };
    let wrong = "wrong-source-secret-8f3a";
    let out = run(wrong);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    out.assert_stderr_has("cannot list the extract source");
    out.assert_stderr_has("the run stopped before any model");
    assert!(!out.stderr.contains(wrong) && !out.stdout.contains(wrong));
    let right = std::env::var("LAKE_TEST_S3_SECRET").unwrap();
    let out = run(&right);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out.assert_stdout_has("landed 4 of 4 files");
    h.assert_matches(&h.reference());
}
