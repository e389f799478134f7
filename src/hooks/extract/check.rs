//! What a source object must be before lake lands it: a zip holding
//! exactly one `.jsonl` member with at least one line, each line a JSON
//! object no longer than DuckDB's JSON reader takes, carrying every column
//! its raw model requires (a `not_null` test), and every declared column
//! (`data_type` in the model's properties) that it has castable to that
//! type. A file that passes loads; one that fails is rejected
//! whole, with the line that broke the rule, so no part of it ever loads
//! and it cannot jam later runs.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde_json::{Map, Value as Json};

/// The longest line lake lands: DuckDB's `read_json` default
/// `maximum_object_size` (16 MiB); a longer one would fail every load.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The type family a declared `data_type` belongs to, for the cast check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UUID: a string in one of the UUID forms.
    Uuid,
    /// TIMESTAMP / DATETIME: an ISO date-time (or date) string without a
    /// UTC offset (DuckDB would drop the offset silently).
    Timestamp,
    /// TIMESTAMPTZ: an ISO date-time string, with or without an offset.
    TimestampTz,
    /// DATE: an ISO date string.
    Date,
    /// BOOLEAN: true/false, 0/1, or their usual spellings.
    Boolean,
    /// Any integer type: an integral number or numeric string.
    Integer,
    /// DOUBLE, FLOAT, REAL, DECIMAL: a number or numeric string.
    Float,
    /// VARCHAR and friends: a JSON string. (A number among strings makes
    /// DuckDB read the whole column as JSON, quotes and all.)
    Text,
    /// Types lake does not check here (the load still must accept them).
    Unchecked,
}

impl ColumnType {
    /// Reads a DuckDB type name as written in properties files.
    pub fn parse(data_type: &str) -> ColumnType {
        let lower = data_type.trim().to_ascii_lowercase();
        let base = lower.split(['(', ' ']).next().unwrap_or("");
        match base {
            "uuid" => ColumnType::Uuid,
            "timestamp" | "datetime" | "timestamp_s" | "timestamp_ms" | "timestamp_ns" => {
                if lower.contains("with time zone") {
                    ColumnType::TimestampTz
                } else {
                    ColumnType::Timestamp
                }
            }
            "timestamptz" => ColumnType::TimestampTz,
            "date" => ColumnType::Date,
            "boolean" | "bool" | "logical" => ColumnType::Boolean,
            "tinyint" | "smallint" | "integer" | "int" | "bigint" | "hugeint" | "int1" | "int2"
            | "int4" | "int8" | "long" | "short" | "utinyint" | "usmallint" | "uinteger"
            | "ubigint" | "uhugeint" => ColumnType::Integer,
            "double" | "float" | "real" | "decimal" | "numeric" | "float4" | "float8" => {
                ColumnType::Float
            }
            "varchar" | "text" | "string" | "char" | "bpchar" => ColumnType::Text,
            _ => ColumnType::Unchecked,
        }
    }

    /// True when DuckDB can cast `value` (not null) to this type.
    fn accepts(self, value: &Json) -> bool {
        match (self, value) {
            (ColumnType::Unchecked, _) => true,
            (ColumnType::Text, v) => v.is_string(),
            (ColumnType::Uuid, Json::String(s)) => {
                !s.starts_with("urn:") && uuid::Uuid::parse_str(s).is_ok()
            }
            (ColumnType::Timestamp, Json::String(s)) => is_civil_timestamp(s.trim()),
            (ColumnType::TimestampTz, Json::String(s)) => {
                let s = s.trim();
                is_civil_timestamp(s) || s.replacen(' ', "T", 1).parse::<jiff::Timestamp>().is_ok()
            }
            (ColumnType::Date, Json::String(s)) => s.trim().parse::<jiff::civil::Date>().is_ok(),
            (ColumnType::Boolean, Json::Bool(_)) => true,
            (ColumnType::Boolean, Json::Number(n)) => n.is_i64() || n.is_u64(),
            (ColumnType::Boolean, Json::String(s)) => matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "true" | "false" | "t" | "f" | "1" | "0" | "y" | "n" | "yes" | "no"
            ),
            (ColumnType::Integer | ColumnType::Float, Json::Number(_)) => true,
            (ColumnType::Integer | ColumnType::Float, Json::String(s)) => {
                s.trim().parse::<f64>().is_ok_and(f64::is_finite)
            }
            _ => false,
        }
    }
}

/// A date-time (or date) with no UTC offset. (jiff's civil parser, like
/// Temporal's, accepts an offset and ignores it: DuckDB's TIMESTAMP cast
/// would drop it too, so an offset is looked for after the date.)
fn is_civil_timestamp(s: &str) -> bool {
    let after_date = s.get(10..).unwrap_or("");
    let has_offset = after_date.contains(['+', '-', 'Z', 'z', '[']);
    !has_offset
        && s.replacen(' ', "T", 1)
            .parse::<jiff::civil::DateTime>()
            .is_ok()
}

/// One column a raw model reads from the lines: declared with a
/// `data_type`, or required by a `not_null` test.
#[derive(Debug, Clone)]
pub struct DeclaredColumn {
    /// JSON key (= column name).
    pub name: String,
    /// The `data_type` as written, for messages.
    pub data_type: String,
    /// Its family, for the cast check.
    pub ty: ColumnType,
    /// The column has a `not_null` test: a null value is rejected too.
    pub not_null: bool,
}

/// What lines of one dimension must carry: the raw model that loads them
/// and its declared columns (empty: only "a JSON object" is checked).
#[derive(Debug, Clone, Default)]
pub struct LineContract {
    /// The raw model, for messages.
    pub model: String,
    /// Its declared columns.
    pub columns: Vec<DeclaredColumn>,
}

/// Why an object can never load as it is. It is quarantined until the
/// source object changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What is wrong, without the object's name.
    pub reason: String,
    /// The offending line (1-based), where there is one.
    pub line: Option<u64>,
}

/// A check that did not finish: the object was rejected, or the local
/// scratch files failed (retried on the next run).
#[derive(Debug)]
pub enum CheckError {
    /// The object breaks a rule.
    Rejected(Rejection),
    /// Reading or writing scratch files failed.
    Io(String),
}

fn reject(reason: String, line: Option<u64>) -> CheckError {
    CheckError::Rejected(Rejection { reason, line })
}

fn corrupt(e: &dyn std::fmt::Display) -> CheckError {
    reject(format!("corrupt zip archive ({e})"), None)
}

/// Unzips the one `.jsonl` member of `zip` into `out`, checking every line
/// against `contract`; returns the number of lines written (blank lines
/// are dropped, CRLF becomes LF).
pub fn unzip_checked(zip: &Path, out: &Path, contract: &LineContract) -> Result<u64, CheckError> {
    let io = |e: std::io::Error| CheckError::Io(e.to_string());
    let file = std::fs::File::open(zip).map_err(io)?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| corrupt(&e))?;
    let members: Vec<String> = archive
        .file_names()
        .filter(|n| !n.ends_with('/'))
        .map(str::to_string)
        .collect();
    let member = match &members[..] {
        [one] if one.to_ascii_lowercase().ends_with(".jsonl") => one.clone(),
        [] => return Err(reject("the archive is empty".into(), None)),
        many => {
            return Err(reject(
                format!(
                    "the archive holds {} ({}); lake takes exactly one .jsonl member",
                    plural(many.len(), "member"),
                    many.join(", ")
                ),
                None,
            ))
        }
    };
    let entry = archive.by_name(&member).map_err(|e| corrupt(&e))?;
    let mut writer = BufWriter::new(std::fs::File::create(out).map_err(io)?);
    let rows = copy_lines(entry, &mut writer, contract)?;
    writer.flush().map_err(io)?;
    if rows == 0 {
        return Err(reject(
            format!("the member `{member}` holds no lines"),
            None,
        ));
    }
    Ok(rows)
}

/// Copies checked lines from `input` to `out`, reading at most one line
/// (bounded) into memory at a time.
fn copy_lines(
    input: impl Read,
    out: &mut impl Write,
    contract: &LineContract,
) -> Result<u64, CheckError> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut buf = Vec::new();
    let (mut number, mut rows) = (0u64, 0u64);
    loop {
        buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(|e| corrupt(&e))?;
        if n == 0 {
            return Ok(rows);
        }
        number += 1;
        let line = match buf.strip_suffix(b"\n") {
            Some(l) => l,
            None if buf.len() > MAX_LINE_BYTES => {
                return Err(reject(
                    format!(
                        "line {number} is longer than 16 MiB, the most DuckDB's JSON reader takes"
                    ),
                    Some(number),
                ))
            }
            None => &buf[..],
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A byte-order mark some writers put first: not part of the JSON.
        let line = match number {
            1 => line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line),
            _ => line,
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        check_line(line, number, contract)?;
        out.write_all(line)
            .map_err(|e| CheckError::Io(e.to_string()))?;
        out.write_all(b"\n")
            .map_err(|e| CheckError::Io(e.to_string()))?;
        rows += 1;
    }
}

/// One line: a JSON object with every declared column, castable.
fn check_line(line: &[u8], number: u64, contract: &LineContract) -> Result<(), CheckError> {
    let object: Map<String, Json> = serde_json::from_slice(line).map_err(|e| {
        reject(
            format!("line {number} is not a JSON object ({e})"),
            Some(number),
        )
    })?;
    for column in &contract.columns {
        let problem = match object.get(&column.name) {
            None | Some(Json::Null) if column.not_null => format!(
                "line {number}: `{}` is {}, but raw model `{}` requires it (not_null test)",
                column.name,
                if object.contains_key(&column.name) {
                    "null"
                } else {
                    "missing"
                },
                contract.model
            ),
            Some(v) if !v.is_null() && !column.ty.accepts(v) => format!(
                "line {number}: `{}` is {}, which does not cast to {}",
                column.name,
                shorten(v),
                column.data_type
            ),
            _ => continue,
        };
        return Err(reject(problem, Some(number)));
    }
    Ok(())
}

/// A value as JSON, cut to a readable length.
fn shorten(v: &Json) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(dir: &Path, members: &[(&str, &[u8])]) -> std::path::PathBuf {
        let path = dir.join("in.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (name, body) in members {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(body).unwrap();
        }
        z.finish().unwrap();
        path
    }

    fn contract() -> LineContract {
        let col = |name: &str, data_type: &str, not_null| DeclaredColumn {
            name: name.into(),
            data_type: data_type.into(),
            ty: ColumnType::parse(data_type),
            not_null,
        };
        LineContract {
            model: "browser_events".into(),
            columns: vec![
                col("event_id", "uuid", true),
                col("event_timestamp", "timestamp", false),
                col("n", "integer", false),
            ],
        }
    }

    fn check(members: &[(&str, &[u8])]) -> Result<u64, Rejection> {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_of(dir.path(), members);
        match unzip_checked(&zip, &dir.path().join("out"), &contract()) {
            Ok(n) => Ok(n),
            Err(CheckError::Rejected(r)) => Err(r),
            Err(CheckError::Io(e)) => panic!("{e}"),
        }
    }

    const GOOD: &[u8] = b"{\"event_id\":\"33afbab8-ab65-4aaf-a7da-314a923074fa\",\"event_timestamp\":\"2024-05-01T00:04:39.415\",\"n\":1}\n";

    #[test]
    fn lines_are_checked_blank_lines_and_crlf_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"{\"a\":1}\r\n\n{\"a\":2}\n   \n{\"a\":3}";
        let zip = zip_of(dir.path(), &[("geo_events.jsonl", body)]);
        let out = dir.path().join("out.jsonl");
        let n = unzip_checked(&zip, &out, &LineContract::default()).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"
        );
    }

    #[test]
    fn exactly_one_jsonl_member_with_lines() {
        assert_eq!(check(&[("b.jsonl", GOOD)]), Ok(1));
        assert_eq!(check(&[("B.JSONL", GOOD)]), Ok(1));
        let bom = [&b"\xef\xbb\xbf"[..], GOOD].concat();
        assert_eq!(check(&[("b.jsonl", &bom)]), Ok(1));
        let two = check(&[("extra.jsonl", GOOD), ("b.jsonl", GOOD)]).unwrap_err();
        assert_eq!(
            two.reason,
            "the archive holds 2 members (extra.jsonl, b.jsonl); lake takes exactly one .jsonl member"
        );
        let other = check(&[("b.csv", GOOD)]).unwrap_err();
        assert_eq!(
            other.reason,
            "the archive holds 1 member (b.csv); lake takes exactly one .jsonl member"
        );
        assert_eq!(check(&[]).unwrap_err().reason, "the archive is empty");
        let empty = check(&[("b.jsonl", b"\n \n")]).unwrap_err();
        assert_eq!(empty.reason, "the member `b.jsonl` holds no lines");
    }

    #[test]
    fn declared_columns_must_be_present_castable_and_not_null() {
        let bad = |line: &str| {
            let body = [GOOD, line.as_bytes()].concat();
            check(&[("b.jsonl", &body)]).unwrap_err()
        };
        let r = bad(
            r#"{"event_id":"33afbab8-ab65-4aaf-a7da-314a923074fa","event_timestamp":"yesterday","n":1}"#,
        );
        assert_eq!(r.line, Some(2));
        assert_eq!(
            r.reason,
            r#"line 2: `event_timestamp` is "yesterday", which does not cast to timestamp"#
        );
        let r = bad(r#"{"event_timestamp":"2024-05-01 00:00:00","n":1}"#);
        assert_eq!(
            r.reason,
            "line 2: `event_id` is missing, but raw model `browser_events` requires it (not_null test)"
        );
        let r = bad(r#"{"event_id":null,"event_timestamp":"2024-05-01","n":1}"#);
        assert_eq!(
            r.reason,
            "line 2: `event_id` is null, but raw model `browser_events` requires it (not_null test)"
        );
        // Columns without a not_null test may be absent or null.
        let body = [
            GOOD,
            br#"{"event_id":"33afbab8-ab65-4aaf-a7da-314a923074fa"}"#,
        ]
        .concat();
        assert_eq!(check(&[("b.jsonl", &body)]), Ok(2));
        let r = bad(
            r#"{"event_id":"33afbab8-ab65-4aaf-a7da-314a923074fa","event_timestamp":null,"n":"x"}"#,
        );
        assert_eq!(
            r.reason,
            r#"line 2: `n` is "x", which does not cast to integer"#
        );
        let r = bad("[1,2]");
        assert!(
            r.reason.starts_with("line 2 is not a JSON object"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_line_over_the_reader_limit_is_rejected_without_reading_it_whole() {
        let mut body = GOOD.to_vec();
        body.extend(std::iter::repeat_n(b' ', MAX_LINE_BYTES + 10));
        body.extend(b"{}\n");
        let r = check(&[("b.jsonl", &body)]).unwrap_err();
        assert_eq!(r.line, Some(2));
        assert!(r.reason.starts_with("line 2 is longer than 16 MiB"));
    }

    #[test]
    fn a_damaged_archive_is_named_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"{\"a\":1}\n".repeat(1000);
        let zip = zip_of(dir.path(), &[("g.jsonl", &body)]);
        // Flip bytes in the compressed data: the CRC check catches it.
        let mut bytes = std::fs::read(&zip).unwrap();
        for b in &mut bytes[60..80] {
            *b ^= 0xff;
        }
        std::fs::write(&zip, bytes).unwrap();
        let out = dir.path().join("o");
        let Err(CheckError::Rejected(r)) = unzip_checked(&zip, &out, &LineContract::default())
        else {
            panic!("accepted a damaged archive")
        };
        assert!(r.reason.starts_with("corrupt zip archive"), "{}", r.reason);
        std::fs::write(&zip, b"not a zip at all").unwrap();
        let Err(CheckError::Rejected(r)) = unzip_checked(&zip, &out, &LineContract::default())
        else {
            panic!("accepted a non-zip")
        };
        assert!(r.reason.starts_with("corrupt zip archive"), "{}", r.reason);
    }

    #[test]
    fn types_people_write_are_recognised() {
        assert_eq!(ColumnType::parse("VARCHAR"), ColumnType::Text);
        assert_eq!(ColumnType::parse("decimal(18, 2)"), ColumnType::Float);
        assert_eq!(
            ColumnType::parse("TIMESTAMP WITH TIME ZONE"),
            ColumnType::TimestampTz
        );
        assert_eq!(ColumnType::parse("timestamp"), ColumnType::Timestamp);
        assert_eq!(ColumnType::parse("struct(a int)"), ColumnType::Unchecked);
        assert!(ColumnType::Timestamp.accepts(&Json::from("2024-05-01 00:04:39")));
        // DuckDB drops an offset casting to TIMESTAMP: only TIMESTAMPTZ takes one.
        assert!(!ColumnType::Timestamp.accepts(&Json::from("2024-05-01T01:30:00+05:00")));
        assert!(ColumnType::TimestampTz.accepts(&Json::from("2024-05-01T01:30:00+05:00")));
        // A number in a text column would make DuckDB read it as JSON.
        assert!(!ColumnType::Text.accepts(&Json::from(5)));
        assert!(ColumnType::Text.accepts(&Json::from("5")));
        assert!(!ColumnType::Timestamp.accepts(&Json::from(1714521600)));
        assert!(ColumnType::Boolean.accepts(&Json::from(false)));
        assert!(!ColumnType::Uuid.accepts(&Json::from("not-a-uuid")));
        assert!(
            !ColumnType::Uuid.accepts(&Json::from("urn:uuid:33afbab8-ab65-4aaf-a7da-314a923074fa"))
        );
    }
}
