//! The names of hourly partitions, in one place: where the source system
//! puts an hour of a dimension (`year=2024/month=5/day=01/hour=07/
//! browser_events.jsonl.zip`, month not zero-padded as the upstream writes
//! it) and where lake lands it unzipped (`browser_events/2024-5-01-H07.jsonl`).
//! The generator, the extract hook and the raw loader all agree through it.

use jiff::civil::DateTime;

/// The four event dimensions the source system writes every hour.
pub const DIMS: &[&str] = &[
    "browser_events",
    "device_events",
    "geo_events",
    "location_events",
];

/// An hour, truncated (minutes and below are zero).
pub type Hour = DateTime;

/// Truncates a time to its hour.
pub fn hour_of(t: DateTime) -> Hour {
    t.date().at(t.hour(), 0, 0, 0)
}

/// Key of `dim` for `hour` in the source bucket.
pub fn source_key(hour: Hour, dim: &str) -> String {
    format!(
        "year={}/month={}/day={:02}/hour={:02}/{dim}.jsonl.zip",
        hour.year(),
        hour.month(),
        hour.day(),
        hour.hour()
    )
}

/// The hour and dimension a source key names, if it is a partition file.
pub fn parse_source_key(key: &str) -> Option<(Hour, String)> {
    let mut parts = key.rsplit('/');
    let file = parts.next()?;
    let dim = file.strip_suffix(".jsonl.zip")?;
    let mut field = |name: &str| -> Option<i64> {
        parts
            .next()?
            .strip_prefix(name)?
            .strip_prefix('=')?
            .parse()
            .ok()
    };
    let hour = field("hour")?;
    let day = field("day")?;
    let month = field("month")?;
    let year = field("year")?;
    let date = jiff::civil::Date::new(year as i16, month as i8, day as i8).ok()?;
    if !(0..24).contains(&hour) {
        return None;
    }
    Some((date.at(hour as i8, 0, 0, 0), dim.to_string()))
}

/// Name of the landed, unzipped file of `dim` for `hour`, relative to the
/// landing location.
pub fn landed_name(hour: Hour, dim: &str) -> String {
    format!(
        "{dim}/{}-{}-{:02}-H{:02}.jsonl",
        hour.year(),
        hour.month(),
        hour.day(),
        hour.hour()
    )
}

/// Parses `YYYY-MM-DDTHH[:MM]` or `YYYY-MM-DD HH:MM` (an hour to start from).
pub fn parse_hour(text: &str) -> Result<Hour, String> {
    let t = text.trim();
    let candidates = [t.to_string(), format!("{t}:00"), format!("{t}T00:00")];
    for c in &candidates {
        if let Ok(dt) = c.replace(' ', "T").parse::<DateTime>() {
            return Ok(hour_of(dt));
        }
    }
    Err(format!(
        "`{text}` is not an hour; write it like 2024-05-01T00:00"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_keys_round_trip_with_the_upstream_padding() {
        let h = parse_hour("2024-05-01T07").unwrap();
        let key = source_key(h, "geo_events");
        assert_eq!(key, "year=2024/month=5/day=01/hour=07/geo_events.jsonl.zip");
        assert_eq!(parse_source_key(&key), Some((h, "geo_events".into())));
        assert_eq!(
            parse_source_key(&format!("some/prefix/{key}")),
            Some((h, "geo_events".into()))
        );
        assert_eq!(
            landed_name(h, "geo_events"),
            "geo_events/2024-5-01-H07.jsonl"
        );
        assert_eq!(
            parse_source_key("year=2024/month=5/day=01/hour=24/x.jsonl.zip"),
            None
        );
        assert_eq!(
            parse_source_key("year=2024/month=5/day=01/x.jsonl.zip"),
            None
        );
    }

    #[test]
    fn hours_parse_in_the_forms_people_write() {
        let want = parse_hour("2024-05-01T03:00").unwrap();
        assert_eq!(parse_hour("2024-05-01 03:00").unwrap(), want);
        assert_eq!(parse_hour("2024-05-01T03:45").unwrap(), want);
        assert_eq!(parse_hour("2024-05-01").unwrap().hour(), 0);
        assert!(parse_hour("yesterday").is_err());
    }
}
