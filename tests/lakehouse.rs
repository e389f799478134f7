//! The browser-events lakehouse (this repository's own project) end to
//! end, on both targets: `lake generate` writes hourly source partitions,
//! `lake run --schedule hourly` extracts, loads raw exactly once and
//! rebuilds stage and mart, `--schedule daily` cleans up. Every raw count
//! and every mart is checked against a reference computed here by an
//! independent DuckDB query straight over the generated JSONL.

#[macro_use]
mod util;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use util::{Lake, TempProject};

/// The committed sample (`data/source`) was made with these.
const SEED: &str = "42";
const SESSIONS: &str = "60";
const SAMPLE_HOURS: u32 = 3;
const DIMS: [&str; 4] = [
    "browser_events",
    "device_events",
    "geo_events",
    "location_events",
];
const MARTS: [&str; 7] = [
    "purchased_products_count_hourly",
    "click_conversion_rates_hourly",
    "campaign_purchase_analysis_hourly",
    "top_performing_products",
    "events_distribution_hourly",
    "users_segments_agg",
    "users_purchases_segments_agg",
];

/// Where the source partitions live: a folder of the project, or a prefix
/// of the test bucket.
enum Source {
    Local(PathBuf),
    S3(String),
}

/// A copy of the repo's project on `lake`, with its source, and a folder of
/// reference zips holding exactly what was generated into the source.
struct Lakehouse {
    p: TempProject,
    source: Source,
    refs: tempfile::TempDir,
}

fn hour(n: u32) -> String {
    format!("2024-05-01T{n:02}:00")
}

impl Lakehouse {
    /// The repo's project on `lake`. Embedded starts from the committed
    /// sample; Prod starts from an empty source bucket prefix.
    fn new(lake: Lake) -> Lakehouse {
        let p = TempProject::on(lake);
        util::copy_from_repo(p.path(), &["models", "macros", "seeds", "tests/sql"]);
        let project = std::fs::read_to_string(util::repo_root().join("project.yml")).unwrap();
        p.file(
            "project.yml",
            &project.replace("profile: browser_events", "profile: demo"),
        );
        let refs = tempfile::tempdir().unwrap();
        let source = match lake {
            Lake::Embedded => Source::Local(p.path().join("data/source")),
            Lake::Prod => Source::S3(format!("s3://{}/{}_source", util::s3::bucket(), p.unique)),
        };
        Lakehouse { p, source, refs }
    }

    /// The committed sample, as the embedded project's source and as reference.
    fn with_committed_sample(self) -> Lakehouse {
        util::copy_from_repo(self.p.path(), &["data/source"]);
        util::copy_from_repo(self.refs.path(), &["data/source"]);
        std::fs::rename(
            self.refs.path().join("data/source"),
            self.refs.path().join("zips"),
        )
        .unwrap();
        self
    }

    fn source_url(&self) -> String {
        match &self.source {
            Source::Local(d) => d.display().to_string(),
            Source::S3(u) => u.clone(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        [
            "LAKE_TEST_PG_PORT",
            "LAKE_TEST_PG_PASSWORD",
            "LAKE_TEST_S3_ENDPOINT",
            "LAKE_TEST_S3_KEY_ID",
            "LAKE_TEST_S3_SECRET",
            "LAKE_TEST_S3_BUCKET",
        ]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect()
    }

    fn lake(&self, args: &[&str]) -> util::Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.p.lake_env(args, &env)
    }

    fn vars(&self, retention: &str) -> String {
        format!(
            "{{source: \"{}\", retention: \"{retention}\"}}",
            self.source_url()
        )
    }

    /// `lake <args>` as a process to start, with this project's environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lake"));
        cmd.args(args)
            .current_dir(self.p.path())
            .env("HOME", self.p.path().join("home"))
            .env("LAKE_EXTENSION_DIR", util::extension_dir())
            .env_remove("LAKE_PROFILES_DIR")
            .env_remove("LAKE_LOCK_WAIT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// `lake run --schedule NAME` with this source.
    fn schedule(&self, name: &str) -> util::Output {
        let vars = self.vars("0 seconds");
        self.lake(&["run", "--schedule", name, "--vars", &vars])
    }

    fn schedule_ok(&self, name: &str) -> util::Output {
        let out = self.schedule(name);
        assert_eq!(
            out.code, 0,
            "schedule {name}:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// Generates hours `first..first+hours` into the source and the references.
    fn generate(&self, first: u32, hours: u32, skip: &[u32]) {
        let start = hour(first);
        let hours = hours.to_string();
        let skips: Vec<String> = skip.iter().map(|&h| hour(h)).collect();
        let zips = self.refs.path().join("zips");
        for to in [self.source_url(), zips.display().to_string()] {
            let mut args = vec![
                "generate",
                "--to",
                &to,
                "--start",
                &start,
                "--hours",
                &hours,
                "--seed",
                SEED,
                "--sessions-per-hour",
                SESSIONS,
            ];
            if !skips.is_empty() {
                args.push("--skip");
                args.extend(skips.iter().map(String::as_str));
            }
            let out = self.lake(&args);
            assert_eq!(out.code, 0, "generate: {}", out.stderr);
        }
    }

    /// Plants one source object (and leaves it out of the references).
    fn put_source(&self, key: &str, body: Vec<u8>) {
        match &self.source {
            Source::Local(d) => {
                let path = d.join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, body).unwrap();
            }
            Source::S3(url) => {
                let prefix = url
                    .split_once(&format!("{}/", util::s3::bucket()))
                    .unwrap()
                    .1;
                util::s3::put_object(&format!("{prefix}/{key}"), body);
            }
        }
    }

    /// Reference DuckDB over the unzipped references.
    fn reference(&self) -> Reference {
        Reference::over(
            &self.refs.path().join("zips"),
            &self.refs.path().join("jsonl"),
        )
    }

    fn raw_counts(&self) -> Vec<String> {
        DIMS.iter()
            .map(|d| self.p.rows(&format!("select count(*) from lake.raw.{d}"))[0][0].clone())
            .collect()
    }

    fn ledger_files(&self) -> Vec<Vec<String>> {
        self.p
            .rows("select relation, file, row_count from lake._lake.loaded_files order by all")
    }

    /// Asserts raw counts and every mart equal the reference.
    fn assert_matches(&self, reference: &Reference) {
        let want: Vec<String> = DIMS
            .iter()
            .map(|d| reference.rows(&format!("select count(*) from {d}"))[0][0].clone())
            .collect();
        assert_eq!(self.raw_counts(), want, "raw row counts");
        for (mart, sql) in MARTS.iter().zip(REFERENCE_MARTS) {
            let got = self
                .p
                .rows(&format!("select * from lake.mart.{mart} order by all"));
            let want = reference.rows(&format!("select * from ({sql}) order by all"));
            assert!(!want.is_empty(), "{mart}: empty reference");
            assert_eq!(got, want, "mart {mart} differs from the reference");
        }
    }

    /// Data files of the lake: the local data folder or the bucket prefix.
    fn data_files(&self) -> Vec<String> {
        match self.p.lake {
            Lake::Embedded => walkdir::WalkDir::new(self.p.path().join(".lake/data"))
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.path().display().to_string())
                .collect(),
            Lake::Prod => util::s3::list_objects(&format!("{}/", self.p.unique)),
        }
    }
}

/// The marts, computed a second way: straight over the JSONL, with a
/// correlated count for purchases instead of window numbering, and a CASE
/// instead of the page-kind seed.
const REFERENCE_MARTS: [&str; 7] = [
    "select hour(ts) as date_part, sum(n) as sm from pur group by all",
    "select utm_source, hour(ts), sum(n) from pur join sess using (s) group by all",
    "select utm_campaign, utm_medium, hour(ts), sum(n) from pur join sess using (s) group by all",
    "select substr(p, 10), count(*) from pv where starts_with(p, '/product_') group by all",
    "select case when starts_with(p, '/product_') then 'add product' when p = '/home' then 'go home' \
       when p = '/payment' then 'payment cart' when p = '/cart' then 'go cart' \
       when p = '/confirmation' then 'confirmation payment' end, \
     hour(ts), os_name, device_type, br, count(*) from pv join dev using (s) group by all",
    "select os_name, device_type, utm_source, count(distinct user_custom_id) from dev join sess using (s) group by all",
    "select device_type, utm_source, os_name, sum(n) from pur join dev using (s) join sess using (s) group by all",
];

struct Reference {
    conn: duckdb::Connection,
}

impl Reference {
    /// Unzips every `<dim>.jsonl.zip` under `zips` into `jsonl/<dim>/` and
    /// defines views over them.
    fn over(zips: &Path, jsonl: &Path) -> Reference {
        let _ = std::fs::remove_dir_all(jsonl);
        for d in DIMS {
            std::fs::create_dir_all(jsonl.join(d)).unwrap();
        }
        for (n, entry) in walkdir::WalkDir::new(zips)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.path().to_string_lossy().ends_with(".jsonl.zip"))
            .enumerate()
        {
            let name = entry
                .file_name()
                .to_string_lossy()
                .replace(".jsonl.zip", "");
            let mut archive =
                zip::ZipArchive::new(std::fs::File::open(entry.path()).unwrap()).unwrap();
            let mut inner = archive.by_index(0).unwrap();
            let mut out =
                std::fs::File::create(jsonl.join(&name).join(format!("{n}.jsonl"))).unwrap();
            std::io::copy(&mut inner, &mut out).unwrap();
        }
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let j = jsonl.display();
        conn.execute_batch(&format!(
            "SET autoinstall_known_extensions = false; SET extension_directory = '{ext}'; LOAD json;
             CREATE VIEW browser_events AS SELECT * FROM read_json('{j}/browser_events/*.jsonl', format = 'newline_delimited',
               columns = {{event_id: 'UUID', event_timestamp: 'TIMESTAMP', event_type: 'VARCHAR', click_id: 'UUID',
                          browser_name: 'VARCHAR', browser_user_agent: 'VARCHAR', browser_language: 'VARCHAR'}});
             CREATE VIEW device_events AS SELECT * FROM read_json('{j}/device_events/*.jsonl', format = 'newline_delimited',
               columns = {{click_id: 'UUID', os: 'VARCHAR', os_name: 'VARCHAR', os_timezone: 'VARCHAR', device_type: 'VARCHAR',
                          device_is_mobile: 'BOOLEAN', user_custom_id: 'VARCHAR', user_domain_id: 'UUID'}});
             CREATE VIEW geo_events AS SELECT * FROM read_json('{j}/geo_events/*.jsonl', format = 'newline_delimited');
             CREATE VIEW location_events AS SELECT * FROM read_json('{j}/location_events/*.jsonl', format = 'newline_delimited',
               columns = {{event_id: 'UUID', page_url: 'VARCHAR', page_url_path: 'VARCHAR', referer_url: 'VARCHAR',
                          referer_medium: 'VARCHAR', utm_medium: 'VARCHAR', utm_source: 'VARCHAR', utm_content: 'VARCHAR',
                          utm_campaign: 'VARCHAR'}});
             CREATE VIEW pv AS SELECT b.click_id AS s, b.event_id AS e, b.event_timestamp AS ts, b.browser_name AS br,
               l.page_url_path AS p, l.utm_source, l.utm_medium, l.utm_campaign
               FROM browser_events b JOIN location_events l ON b.event_id = l.event_id;
             CREATE VIEW sess AS SELECT DISTINCT s, utm_source, utm_medium, utm_campaign FROM pv;
             CREATE VIEW dev AS SELECT DISTINCT click_id AS s, os_name, device_type, user_custom_id FROM device_events;
             CREATE VIEW conf AS SELECT s, ts, lag(ts) OVER (PARTITION BY s ORDER BY ts) AS prev FROM pv WHERE p = '/confirmation';
             CREATE VIEW pur AS SELECT c.s, c.ts, (SELECT count(*) FROM pv WHERE pv.s = c.s AND starts_with(pv.p, '/product_')
               AND pv.ts < c.ts AND (c.prev IS NULL OR pv.ts > c.prev)) AS n FROM conf c;",
            ext = util::extension_dir().display()
        ))
        .expect("reference views");
        Reference { conn }
    }

    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        util::text_rows(&self.conn, sql)
    }
}

/// The whole story of the hourly job, as cron would run it.
fn hourly_and_daily(h: Lakehouse, first_hours: u32) {
    // First run: every hour so far is landed, loaded and built.
    let out = h.schedule_ok("hourly");
    assert!(
        out.stdout
            .contains(&format!("landed {n} of {n} files", n = first_hours * 4)),
        "{}",
        out.stdout
    );
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
    assert!(out.stdout.contains("landed 0 of 0 files"), "{}", out.stdout);
    assert_eq!(h.raw_counts(), counts);
    assert_eq!(h.ledger_files(), ledger);
    assert_eq!(raw_files(), files);

    // Two more hours arrive: only they are loaded.
    h.generate(first_hours, 2, &[]);
    let out = h.schedule_ok("hourly");
    assert!(
        out.stdout.contains("landed 8 of 8 files (2 hours"),
        "{}",
        out.stdout
    );
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
    assert!(out.stdout.contains("cleanup: expired"), "{}", out.stdout);
    let remaining = h.data_files().len();
    assert!(
        remaining < before,
        "cleanup removed nothing: {before} -> {remaining}\n{}",
        out.stdout
    );
    h.assert_matches(&h.reference());
}

on_both_targets!(
    hourly_then_daily,
    sigkill_while_loading_raw_loses_and_duplicates_nothing,
    two_runs_at_once_one_refuses_and_data_is_exact,
    missing_hours_are_caught_up_and_bad_files_load_nothing,
);

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
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // Kill once the extract is done, while the raw files are loading.
    for line in stdout.lines() {
        if line.unwrap().starts_with("pre-hook 1/1 extract") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
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

/// A zip holding `<dim>.jsonl` with these lines.
fn zip_of(dim: &str, lines: &[&str]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(
            format!("{dim}.jsonl"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        for l in lines {
            writeln!(z, "{l}").unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

fn missing_hours_are_caught_up_and_bad_files_load_nothing(lake: Lake) {
    let h = Lakehouse::new(lake);
    // Hour 2 is missing: hours 0, 1 and 3 land, hour 2 is reported.
    h.generate(0, 4, &[2]);
    let out = h.schedule_ok("hourly");
    assert!(
        out.stdout.contains("landed 12 of 12 files"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("4 objects missing, retried on later runs")
            && out.stdout.contains("year=2024/month=5/day=01/hour=02/"),
        "{}",
        out.stdout
    );
    h.assert_matches(&h.reference());

    // Hour 2 appears later and is caught up.
    h.generate(2, 1, &[]);
    let out = h.schedule_ok("hourly");
    assert!(
        out.stdout.contains("landed 4 of 4 files (1 hour"),
        "{}",
        out.stdout
    );
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
    assert!(
        out.stderr
            .contains("hour=04/browser_events.jsonl.zip: line 3 is not a JSON object"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("hour=04/geo_events.jsonl.zip: corrupt zip archive"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("landed 6 of 8 files"), "{}", out.stdout);
    let extract = &h.p.run_results()["hooks"][0];
    assert_eq!(extract["status"], "error");
    assert_eq!(extract["problems"].as_array().unwrap().len(), 2);
    // Nothing of the two bad files, everything of the others.
    let reference = h.reference();
    for (dim, got) in DIMS.iter().zip(h.raw_counts()) {
        let want = &reference.rows(&format!("select count(*) from {dim}"))[0][0];
        assert_eq!(&got, want, "raw.{dim}");
    }
    let ledger = h.ledger_files();
    assert!(!ledger
        .iter()
        .any(|r| r[1] == "browser_events/2024-5-01-H04.jsonl"));
    assert!(ledger
        .iter()
        .any(|r| r[1] == "device_events/2024-5-01-H04.jsonl"));
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
    assert!(
        out.stderr.contains("cannot list the extract source")
            && out.stderr.contains("the run stopped before any model"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(wrong) && !out.stdout.contains(wrong));
    let right = std::env::var("LAKE_TEST_S3_SECRET").unwrap();
    let out = run(&right);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("landed 4 of 4 files"), "{}", out.stdout);
    h.assert_matches(&h.reference());
}
