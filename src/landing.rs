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

/// What a key of the source listing is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKey {
    /// `year=Y/month=M/day=D/hour=H/<dim>.jsonl.zip` right under the source.
    Partition(Hour, String),
    /// Looks like a partition file but names no real hour (`hour=25`,
    /// `hour=xx`): reported as skipped, never silently ignored.
    Malformed(String),
    /// Anything else (other files, partitions nested deeper).
    Other,
}

/// Classifies `key`, relative to the source location. Partitions must sit
/// directly under it: a parent folder's listing holds them one level
/// deeper, and fetching them by their hour would miss that segment.
pub fn classify_source_key(key: &str) -> SourceKey {
    let parts: Vec<&str> = key.split('/').collect();
    let [year, month, day, hour, file] = parts[..] else {
        return SourceKey::Other;
    };
    let Some(dim) = file.strip_suffix(".jsonl.zip") else {
        return SourceKey::Other;
    };
    let fields = [
        ("year", year),
        ("month", month),
        ("day", day),
        ("hour", hour),
    ];
    if fields
        .iter()
        .any(|(name, part)| !part.starts_with(&format!("{name}=")))
    {
        return SourceKey::Other;
    }
    let value = |(name, part): (&str, &str)| -> Result<i64, String> {
        let text = &part[name.len() + 1..];
        text.parse::<i64>()
            .map_err(|_| format!("`{part}` is not a number"))
    };
    let parsed: Result<Vec<i64>, String> = fields.into_iter().map(value).collect();
    let malformed = |why: String| SourceKey::Malformed(format!("{key}: {why}"));
    let [y, m, d, h] = match parsed {
        Ok(v) => [v[0], v[1], v[2], v[3]],
        Err(why) => return malformed(why),
    };
    if !(0..24).contains(&h) {
        return malformed(format!("`{hour}` is not an hour (00-23)"));
    }
    let date = i16::try_from(y)
        .ok()
        .zip(i8::try_from(m).ok())
        .zip(i8::try_from(d).ok())
        .and_then(|((y, m), d)| jiff::civil::Date::new(y, m, d).ok());
    match date {
        Some(date) => SourceKey::Partition(date.at(h as i8, 0, 0, 0), dim.to_string()),
        None => malformed(format!("`{year}/{month}/{day}` is not a date")),
    }
}

/// Where a partition layout starts inside `key`, when it holds one deeper
/// than the source root (`source/year=2024/...` -> `source`): the hint for
/// a `source` that points at a parent folder.
pub fn nested_layout_prefix(key: &str) -> Option<&str> {
    let at = key.find("/year=")?;
    key.ends_with(".jsonl.zip").then_some(&key[..at])
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
        assert_eq!(
            classify_source_key(&key),
            SourceKey::Partition(h, "geo_events".into())
        );
        assert_eq!(
            landed_name(h, "geo_events"),
            "geo_events/2024-5-01-H07.jsonl"
        );
    }

    #[test]
    fn only_partitions_right_under_the_source_count() {
        let key = "data/year=2024/month=5/day=01/hour=07/geo_events.jsonl.zip";
        assert_eq!(classify_source_key(key), SourceKey::Other);
        assert_eq!(nested_layout_prefix(key), Some("data"));
        assert_eq!(
            classify_source_key("year=2024/month=5/day=01/x.jsonl.zip"),
            SourceKey::Other
        );
        assert_eq!(
            classify_source_key("year=2024/month=5/day=01/hour=07/notes.txt"),
            SourceKey::Other
        );
    }

    #[test]
    fn partitions_naming_no_real_hour_are_malformed() {
        for (key, why) in [
            (
                "year=2024/month=5/day=01/hour=24/x.jsonl.zip",
                "`hour=24` is not an hour (00-23)",
            ),
            (
                "year=2024/month=5/day=01/hour=xx/x.jsonl.zip",
                "`hour=xx` is not a number",
            ),
            (
                "year=2024/month=2/day=30/hour=01/x.jsonl.zip",
                "`year=2024/month=2/day=30` is not a date",
            ),
        ] {
            assert_eq!(
                classify_source_key(key),
                SourceKey::Malformed(format!("{key}: {why}"))
            );
        }
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
