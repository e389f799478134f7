//! `lake generate`: writes synthetic hourly source partitions (see
//! [`crate::generate`]) to a folder or an S3 prefix.

use super::{load, Failure};
use crate::cli::{GlobalArgs, EXIT_OK};
use crate::diagnostic::{Code, Diagnostic};
use crate::generate::{generate_hour, write_zip, Volume};
use crate::landing::{parse_hour, source_key, DIMS};
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
    // Only an S3 destination needs the project (for the target's S3 settings).
    let store = if req.to.starts_with("s3://") {
        let project = load(global)?;
        Store::open(req.to, project.target.s3.as_ref(), &project.root)
    } else {
        Store::open(req.to, None, &std::env::current_dir().unwrap_or_default())
    }
    .map_err(|e| usage(e.to_string()))?;
    let scratch = std::env::temp_dir().join(format!("lake-generate-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| usage(e.to_string()))?;
    let rt = runtime();
    let volume = Volume {
        seed: req.seed,
        sessions_per_hour: req.sessions_per_hour,
    };
    let (mut objects, mut views) = (0, 0);
    let mut result = Ok(());
    'hours: for h in 0..req.hours {
        let hour = start
            .checked_add(jiff::SignedDuration::from_hours(h as i64))
            .map_err(|e| usage(e.to_string()))?;
        if skip.contains(&hour) {
            continue;
        }
        let events = generate_hour(hour, volume);
        views += events.lines[0].len();
        for (dim, lines) in DIMS.iter().zip(&events.lines) {
            let file = scratch.join(format!("{dim}.jsonl.zip"));
            let key = source_key(hour, dim);
            let written = write_zip(dim, lines, &file)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    rt.block_on(store.upload(&file, &key))
                        .map_err(|e| e.to_string())
                });
            if let Err(e) = written {
                result = Err(e);
                break 'hours;
            }
            objects += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if let Err(e) = result {
        crate::stderrln!("error: {e}");
        return Ok(crate::cli::EXIT_ERROR);
    }
    crate::stdoutln!(
        "wrote {objects} objects ({} hours x {} dims, {views} page views) to {}",
        objects / DIMS.len(),
        DIMS.len(),
        store.url("")
    );
    Ok(EXIT_OK)
}
