//! The browser-events lakehouse harness: a copy of this repository's
//! project on either target, its hourly source (a folder or a bucket
//! prefix), and a reference DuckDB computing raw counts and marts straight
//! from the generated JSONL, independently of lake.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Lake, TempProject};
use crate::util;

/// The committed sample (`data/source`) was made with these.
pub const SEED: &str = "42";
pub const SESSIONS: &str = "60";
pub const SAMPLE_HOURS: u32 = 3;
pub const DIMS: [&str; 4] = [
    "browser_events",
    "device_events",
    "geo_events",
    "location_events",
];
pub const MARTS: [&str; 7] = [
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
pub enum Source {
    Local(PathBuf),
    S3(String),
}

/// A copy of the repo's project on `lake`, with its source, and a folder of
/// reference zips holding exactly what was generated into the source.
pub struct Lakehouse {
    pub p: TempProject,
    pub source: Source,
    pub refs: tempfile::TempDir,
}

/// Hour `n` counted from 2024-05-01T00:00 (hour 24 is the next day's first).
pub fn hour(n: u32) -> String {
    format!("2024-05-{:02}T{:02}:00", 1 + n / 24, n % 24)
}

impl Lakehouse {
    /// The repo's project on `lake`. Embedded starts from the committed
    /// sample; Prod starts from an empty source bucket prefix.
    pub fn new(lake: Lake) -> Lakehouse {
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
    pub fn with_committed_sample(self) -> Lakehouse {
        util::copy_from_repo(self.p.path(), &["data/source"]);
        util::copy_from_repo(self.refs.path(), &["data/source"]);
        std::fs::rename(
            self.refs.path().join("data/source"),
            self.refs.path().join("zips"),
        )
        .unwrap();
        self
    }

    pub fn source_url(&self) -> String {
        match &self.source {
            Source::Local(d) => d.display().to_string(),
            Source::S3(u) => u.clone(),
        }
    }

    /// The test servers' settings, which the Prod profile reads through
    /// `env_var()` (every `lake` command inherits them: see
    /// [`util::lake_command`]); tests that change one pass the list on.
    pub fn env(&self) -> Vec<(String, String)> {
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

    /// `lake <args>` in the project.
    pub fn lake(&self, args: &[&str]) -> util::Output {
        self.p.lake(args)
    }

    pub fn vars(&self, retention: &str) -> String {
        format!(
            "{{source: \"{}\", retention: \"{retention}\"}}",
            self.source_url()
        )
    }

    /// `lake <args>` as a process to start, stdout and stderr piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.p.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    }

    /// Source files landed and not loaded yet: the landing folder of the
    /// embedded lake, or the landing prefix of the Prod bucket.
    pub fn landed_files(&self) -> Vec<String> {
        self.stored_files(".lake/landing", &format!("{}_landing/", self.p.unique))
    }

    /// Files of the lake's own storage: under `folder` of the embedded
    /// project, or the keys under `prefix` of the Prod bucket.
    fn stored_files(&self, folder: &str, prefix: &str) -> Vec<String> {
        match self.p.lake {
            Lake::Embedded => walkdir::WalkDir::new(self.p.path().join(folder))
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.path().display().to_string())
                .collect(),
            Lake::Prod => util::s3::list_objects(prefix),
        }
    }

    /// `lake run --schedule NAME` with this source.
    pub fn schedule(&self, name: &str) -> util::Output {
        let vars = self.vars("0 seconds");
        self.lake(&["run", "--schedule", name, "--vars", &vars])
    }

    pub fn schedule_ok(&self, name: &str) -> util::Output {
        let out = self.schedule(name);
        assert_eq!(
            out.code, 0,
            "schedule {name}:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// Generates hours `first..first+hours` into the source and the references.
    pub fn generate(&self, first: u32, hours: u32, skip: &[u32]) {
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
    pub fn put_source(&self, key: &str, body: Vec<u8>) {
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
    pub fn reference(&self) -> Reference {
        Reference::over(
            &self.refs.path().join("zips"),
            &self.refs.path().join("jsonl"),
        )
    }

    /// Removes one source object (a local source only).
    pub fn remove_source(&self, key: &str) {
        match &self.source {
            Source::Local(d) => std::fs::remove_file(d.join(key)).unwrap(),
            Source::S3(_) => panic!("remove_source: local sources only"),
        }
    }

    /// Raw row counts per dimension, or None when no raw table exists yet.
    pub fn raw_counts_or_none(&self) -> Option<Vec<String>> {
        let tables = self.p.rows(
            "select count(*) from duckdb_tables() where database_name = 'lake' and schema_name = 'raw'",
        );
        (tables[0][0] != "0").then(|| self.raw_counts())
    }

    /// What [`raw_counts`] should say, from the reference.
    pub fn raw_counts_of_reference(&self) -> Vec<String> {
        let reference = self.reference();
        DIMS.iter()
            .map(|d| reference.rows(&format!("select count(*) from {d}"))[0][0].clone())
            .collect()
    }

    pub fn raw_counts(&self) -> Vec<String> {
        DIMS.iter()
            .map(|d| self.p.rows(&format!("select count(*) from lake.raw.{d}"))[0][0].clone())
            .collect()
    }

    pub fn ledger_files(&self) -> Vec<Vec<String>> {
        self.p
            .rows("select relation, file, row_count from lake._lake.loaded_files order by all")
    }

    /// Asserts raw counts and every mart equal the reference.
    pub fn assert_matches(&self, reference: &Reference) {
        let want: Vec<String> = DIMS
            .iter()
            .map(|d| reference.rows(&format!("select count(*) from {d}"))[0][0].clone())
            .collect();
        assert_eq!(self.raw_counts(), want, "raw row counts");
        for (mart, sql) in MARTS.iter().zip(REFERENCE_MARTS) {
            let names = |rows: Vec<Vec<String>>| -> Vec<String> {
                rows.into_iter().map(|r| r[0].clone()).collect()
            };
            assert_eq!(
                names(self.p.rows(&format!(
                    "select column_name from (describe lake.mart.{mart})"
                ))),
                names(reference.rows(&format!("select column_name from (describe {sql})"))),
                "columns of mart {mart}"
            );
            let got = self
                .p
                .rows(&format!("select * from lake.mart.{mart} order by all"));
            let want = reference.rows(&format!("select * from ({sql}) order by all"));
            assert!(!want.is_empty(), "{mart}: empty reference");
            assert_eq!(got, want, "mart {mart} differs from the reference");
        }
    }

    /// Data files of the lake: the local data folder or the bucket prefix.
    pub fn data_files(&self) -> Vec<String> {
        self.stored_files(".lake/data", &format!("{}/", self.p.unique))
    }
}

/// The marts, computed a second way: straight over the JSONL, with a
/// correlated count for purchases instead of window numbering, and the
/// original system's SQL where lake differs in style (its `like
/// '/product_%'`, `strpos` and a CASE instead of the page-kind seed).
/// Names and order are the dashboard's contract; `date_part` is the hour,
/// `date_trunc('hour', ts)`.
pub const REFERENCE_MARTS: [&str; 7] = [
    "select date_trunc('hour', ts) as date_part, sum(n) as cnt from pur group by 1",
    "select utm_source, date_trunc('hour', ts) as date_part, sum(n) as sm \
     from pur join sess using (s) group by 1, 2",
    "select utm_campaign, utm_medium, date_trunc('hour', ts) as date_part, sum(n) as sm \
     from pur join sess using (s) group by 1, 2, 3",
    "select substring(p, strpos(p, '_') + 1) as product, count(*) as cnt \
     from pv where p like '/product_%' group by 1",
    "select case when p like '/product_%' then 'add product' when p = '/home' then 'go home' \
       when p = '/payment' then 'payment cart' when p = '/cart' then 'go cart' \
       when p = '/confirmation' then 'confirmation payment' end as event, \
     date_trunc('hour', ts) as date_part, os_name, device_type, br as browser_name, count(*) as cnt \
     from pv join dev using (s) group by 1, 2, 3, 4, 5",
    "select os_name, device_type, utm_source, count(distinct user_custom_id) as users \
     from dev join sess using (s) group by 1, 2, 3",
    "select device_type, utm_source, os_name, sum(n) as products \
     from pur join dev using (s) join sess using (s) group by 1, 2, 3",
];

pub struct Reference {
    pub conn: duckdb::Connection,
}

impl Reference {
    /// Unzips every `<dim>.jsonl.zip` under `zips` into `jsonl/<dim>/` and
    /// defines views over them.
    pub fn over(zips: &Path, jsonl: &Path) -> Reference {
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

    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        util::text_rows(&self.conn, sql)
    }
}

/// A zip holding `<dim>.jsonl` with these lines.
pub fn zip_of(dim: &str, lines: &[&str]) -> Vec<u8> {
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
