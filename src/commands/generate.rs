//! `lake generate`: writes synthetic hourly source partitions (see
//! [`crate::generate`]) to a folder or an S3 prefix.

use std::path::Path;

use super::{load, Failure};
use crate::cli::{GlobalArgs, EXIT_OK};
use crate::diagnostic::{Code, Diagnostic};
use crate::generate::{generate_hour, write_zip, Volume};
use crate::landing::{parse_hour, source_key, Hour, DIMS};
use crate::storage::{runtime, Store};

/// `lake generate` flags.
pub struct Request<'a> {
    /// Folder or `s3://bucket/prefix`.
    pub to: &'a str,
    /// First hour.
    pub start: &'a str,
    /// Number of hours.
    pub hours: u32,
    /// Sessions per hour.
    pub sessions_per_hour: usize,
    /// Seed.
    pub seed: u64,
    /// Hours to leave out.
    pub skip: &'a [String],
}

/// Writes the partitions and prints what it wrote.
pub fn run(global: &GlobalArgs, req: &Request<'_>) -> Result<u8, Failure> {
    let usage = |m: String| Failure::Usage(Diagnostic::new(Code::InvalidValue, m));
    let start = parse_hour(req.start).map_err(usage)?;
    let skip = req
        .skip
        .iter()
        .map(|s| parse_hour(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let hours = hours_to_write(start, req.hours, &skip).map_err(usage)?;
    // Only an S3 destination needs the project (for the target's S3 settings).
    let store = if crate::storage::Location::of(req.to).is_s3() {
        let project = load(global)?;
        Store::open(req.to, project.target.s3.as_ref(), &project.root)
    } else {
        Store::open(req.to, None, &std::env::current_dir().unwrap_or_default())
    }
    .map_err(|e| usage(e.to_string()))?;
    // Removed when dropped, on every return: no scratch folder is left behind.
    let scratch = tempfile::Builder::new()
        .prefix("lake-generate-")
        .tempdir()
        .map_err(|e| usage(e.to_string()))?;
    let volume = Volume {
        seed: req.seed,
        sessions_per_hour: req.sessions_per_hour,
    };
    let (objects, views) = match write_hours(&store, scratch.path(), hours, volume) {
        Ok(written) => written,
        Err(e) => {
            crate::stderrln!("error: {e}");
            return Ok(crate::cli::EXIT_ERROR);
        }
    };
    crate::stdoutln!(
        "wrote {objects} objects ({} hours x {} dims, {views} page views) to {}",
        objects / DIMS.len(),
        DIMS.len(),
        store.url("")
    );
    Ok(EXIT_OK)
}

/// The `count` hours from `start` on, without those in `skip`; an error when
/// the last one is past what a timestamp can hold (year 9999).
fn hours_to_write<'a>(
    start: Hour,
    count: u32,
    skip: &'a [Hour],
) -> Result<impl Iterator<Item = Hour> + 'a, String> {
    let nth = move |h: u32| start.checked_add(jiff::SignedDuration::from_hours(i64::from(h)));
    nth(count.saturating_sub(1)).map_err(|e| e.to_string())?;
    // Every hour up to the last one exists, so none is dropped by `ok()`.
    Ok((0..count)
        .filter_map(move |h| nth(h).ok())
        .filter(move |hour| !skip.contains(hour)))
}

/// Generates and uploads every hour, one zip per dimension staged in
/// `scratch`; stops at the first failure. Returns (objects, page views).
fn write_hours(
    store: &Store,
    scratch: &Path,
    hours: impl Iterator<Item = Hour>,
    volume: Volume,
) -> Result<(usize, usize), String> {
    let rt = runtime();
    let (mut objects, mut views) = (0, 0);
    for hour in hours {
        let events = generate_hour(hour, volume);
        views += events.lines[0].len();
        for (dim, lines) in DIMS.iter().zip(&events.lines) {
            let file = scratch.join(format!("{dim}.jsonl.zip"));
            write_zip(dim, lines, &file).map_err(|e| e.to_string())?;
            rt.block_on(store.upload(&file, &source_key(hour, dim)))
                .map_err(|e| e.to_string())?;
            objects += 1;
        }
    }
    Ok((objects, views))
}

#[cfg(test)]
mod tests {
    use super::hours_to_write;
    use crate::landing::parse_hour;

    #[test]
    fn hours_skip_what_is_asked_and_refuse_past_year_9999_up_front() {
        let start = parse_hour("2024-05-01T22").unwrap();
        let skip = [parse_hour("2024-05-01T23").unwrap()];
        let hours: Vec<String> = hours_to_write(start, 3, &skip)
            .unwrap()
            .map(|h| h.to_string())
            .collect();
        assert_eq!(hours, ["2024-05-01T22:00:00", "2024-05-02T00:00:00"]);
        assert_eq!(hours_to_write(start, 0, &[]).unwrap().count(), 0);
        // Refused before any hour is written, so nothing is half done.
        let late = parse_hour("9999-12-31T20").unwrap();
        assert!(hours_to_write(late, 4, &[]).is_ok());
        assert!(hours_to_write(late, 5, &[]).is_err());
    }
}
