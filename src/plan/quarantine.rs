//! SQL of the quarantine, pure like the rest of `plan`. A source object
//! that can never load as it is (rejected at extract) or a landed file
//! whose load failed is recorded here with the reason, and skipped until
//! its source object changes (size or version) or a person retries or
//! drops it with `lake quarantine`. Beside it, `landed_files` remembers
//! which source object version each landed file came from and how many
//! lines it holds, so a load can prove it took every line. Both tables
//! live in the lake (`<db>._lake`), shared by every machine on the catalog.

use super::ledger::{landed_files_table as landed, quarantine_table as quarantine};
use crate::sql::string_literal as lit;

/// Where a file was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The extract rejected the source object: nothing was landed.
    Extract,
    /// The landed file failed to load: it stays landed, skipped.
    Load,
}

impl Stage {
    /// The word stored in the table and shown by `lake quarantine`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Extract => "extract",
            Stage::Load => "load",
        }
    }

    /// The stage stored as `word`, if it is one.
    pub fn from_stored(word: &str) -> Option<Stage> {
        [Stage::Extract, Stage::Load]
            .into_iter()
            .find(|s| s.as_str() == word)
    }
}

/// One source object version, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceVersion {
    /// Its URL.
    pub source: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag or modification time.
    pub version: String,
}

/// A quarantine row.
#[derive(Debug, Clone)]
pub struct Quarantined {
    /// The landed name (`<dim>/<Y>-<M>-<DD>-H<HH>.jsonl`).
    pub file: String,
    /// The source object version that was stopped (unknown for files
    /// landed by other means).
    pub source: Option<SourceVersion>,
    /// Where it was stopped.
    pub stage: Stage,
    /// Why.
    pub reason: String,
    /// The offending line, where there is one.
    pub line: Option<u64>,
}

/// A landed file's origin.
#[derive(Debug, Clone)]
pub struct Landed {
    /// The landed name.
    pub file: String,
    /// The source object version it came from.
    pub source: SourceVersion,
    /// Lines it holds (each becomes one row).
    pub rows: u64,
}

/// One quarantine row as [`select_quarantine`] returns it: the one place
/// that knows its column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRow {
    /// The landed name.
    pub file: String,
    /// The source object version that was stopped, when recorded.
    pub source: Option<SourceVersion>,
    /// Where it was stopped (`None`: a word this lake does not know).
    pub stage: Option<Stage>,
    /// Why.
    pub reason: String,
    /// The offending line, where there is one.
    pub line: Option<u64>,
    /// When, `YYYY-MM-DD HH:MM:SS`.
    pub since: String,
    /// Whether a person gave up on it (`lake quarantine drop`).
    pub dropped: bool,
}

impl QuarantineRow {
    /// Reads one row of [`select_quarantine`] (every value as text);
    /// `None` for a row without a file name.
    pub fn from_row(row: &[Option<String>]) -> Option<QuarantineRow> {
        let text = |i: usize| row.get(i).cloned().flatten();
        let source = match (text(1), text(2), text(3)) {
            (Some(source), Some(size), Some(version)) => Some(SourceVersion {
                source,
                size: size.parse().unwrap_or(0),
                version,
            }),
            _ => None,
        };
        Some(QuarantineRow {
            file: text(0)?,
            source,
            stage: text(4).as_deref().and_then(Stage::from_stored),
            reason: text(5).unwrap_or_default(),
            line: text(6).and_then(|l| l.parse().ok()),
            since: text(7).unwrap_or_default(),
            dropped: text(8).as_deref() == Some("true"),
        })
    }
}

/// Every quarantine row, in the column order [`QuarantineRow::from_row`]
/// reads: file, source, source_size, source_version, stage, reason, line,
/// quarantined_at, dropped.
pub fn select_quarantine(database: &str) -> String {
    format!(
        "SELECT file, source, source_size::VARCHAR, source_version, stage, reason, line::VARCHAR, \
         strftime(quarantined_at, '%Y-%m-%d %H:%M:%S'), dropped::VARCHAR FROM {} ORDER BY file",
        quarantine(database)
    )
}

/// `file, row_count` of every landed file lake knows the origin of.
pub fn select_landed(database: &str) -> String {
    format!(
        "SELECT file, row_count::VARCHAR FROM {} ORDER BY file",
        landed(database)
    )
}

/// `file, source_size, source_version` of every landed file lake knows
/// the origin of.
pub fn select_origins(database: &str) -> String {
    format!(
        "SELECT file, source_size::VARCHAR, source_version FROM {} ORDER BY file",
        landed(database)
    )
}

/// The origin of one landed file: `source, source_size, source_version`.
pub fn select_origin(database: &str, file: &str) -> String {
    format!(
        "SELECT source, source_size::VARCHAR, source_version FROM {} WHERE file = {} LIMIT 1",
        landed(database),
        lit(file)
    )
}

fn in_list(files: &[String]) -> String {
    files.iter().map(|f| lit(f)).collect::<Vec<_>>().join(", ")
}

/// Forgets the quarantine rows of `files` (they are to be tried again).
pub fn release(database: &str, files: &[String]) -> Option<String> {
    (!files.is_empty()).then(|| {
        format!(
            "DELETE FROM {} WHERE file IN ({})",
            quarantine(database),
            in_list(files)
        )
    })
}

/// Marks `files` as given up: skipped until their source object changes.
pub fn mark_dropped(database: &str, files: &[String]) -> Option<String> {
    (!files.is_empty()).then(|| {
        format!(
            "UPDATE {} SET dropped = true WHERE file IN ({})",
            quarantine(database),
            in_list(files)
        )
    })
}

fn opt_source(s: Option<&SourceVersion>) -> (String, String, String) {
    match s {
        Some(s) => (lit(&s.source), s.size.to_string(), lit(&s.version)),
        None => ("NULL".into(), "NULL".into(), "NULL".into()),
    }
}

/// Replaces the quarantine row of `q.file` (run inside one transaction).
pub fn record_quarantine(database: &str, q: &Quarantined, at: &str) -> Vec<String> {
    let (source, size, version) = opt_source(q.source.as_ref());
    let line = q.line.map_or("NULL".into(), |l| l.to_string());
    vec![
        format!("DELETE FROM {} WHERE file = {}", quarantine(database), lit(&q.file)),
        format!(
            "INSERT INTO {} VALUES ({}, {source}, {size}, {version}, {}, {}, {line}, TIMESTAMP {}, false)",
            quarantine(database),
            lit(&q.file),
            lit(q.stage.as_str()),
            lit(&q.reason),
            lit(at)
        ),
    ]
}

/// Replaces the origin row of `l.file` (run inside one transaction).
pub fn record_landed(database: &str, l: &Landed, at: &str) -> Vec<String> {
    let (source, size, version) = opt_source(Some(&l.source));
    vec![
        format!(
            "DELETE FROM {} WHERE file = {}",
            landed(database),
            lit(&l.file)
        ),
        format!(
            "INSERT INTO {} VALUES ({}, {source}, {size}, {version}, {}, TIMESTAMP {})",
            landed(database),
            lit(&l.file),
            l.rows,
            lit(at)
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_object_is_recorded_with_its_version_and_line() {
        let q = Quarantined {
            file: "geo_events/2024-5-01-H00.jsonl".into(),
            source: Some(SourceVersion {
                source: "s3://src/year=2024/month=5/day=01/hour=00/geo_events.jsonl.zip".into(),
                size: 812,
                version: "\"9b2c\"".into(),
            }),
            stage: Stage::Extract,
            reason: "line 3: `ip` is 'x'".into(),
            line: Some(3),
        };
        insta::assert_snapshot!(record_quarantine("lake", &q, "2026-12-01 06:00:00").join(";\n"), @r#"
        DELETE FROM lake._lake.quarantine WHERE file = 'geo_events/2024-5-01-H00.jsonl';
        INSERT INTO lake._lake.quarantine VALUES ('geo_events/2024-5-01-H00.jsonl', 's3://src/year=2024/month=5/day=01/hour=00/geo_events.jsonl.zip', 812, '"9b2c"', 'extract', 'line 3: `ip` is ''x''', 3, TIMESTAMP '2026-12-01 06:00:00', false)
        "#);
        assert_eq!(release("lake", &[]), None);
        let stored = |v: &str| Some(v.to_string());
        let row = [
            stored(&q.file),
            stored("s3://src/x.zip"),
            stored("812"),
            stored("\"9b2c\""),
            stored("extract"),
            stored(&q.reason),
            stored("3"),
            stored("2026-12-01 06:00:00"),
            stored("false"),
        ];
        let read = QuarantineRow::from_row(&row).unwrap();
        assert_eq!(read.stage, Some(Stage::Extract));
        assert_eq!(read.line, Some(3));
        assert_eq!(read.source.unwrap().size, 812);
        assert!(!read.dropped);
        assert_eq!(QuarantineRow::from_row(&[None]), None);
        assert_eq!(
            mark_dropped("lake", &["a'b".into()]).unwrap(),
            "UPDATE lake._lake.quarantine SET dropped = true WHERE file IN ('a''b')"
        );
    }
}
