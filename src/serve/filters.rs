//! A dashboard page's filters, read from its URL (`?from=2024-05-01&to=..&
//! browser_name=Chrome&browser_name=Firefox`) and checked before anything
//! reaches DuckDB: only declared filter columns, real dates, and values the
//! column actually holds. Filters live in the URL so a view can be shared.

use std::collections::BTreeMap;

use jiff::civil::Date;

/// The filters of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// First day shown (inclusive).
    pub from: Option<Date>,
    /// Last day shown (inclusive: every hour of it).
    pub to: Option<Date>,
    /// Selected values per filter column; a column absent here is not filtered.
    pub values: BTreeMap<String, Vec<String>>,
}

/// Query keys that are not filter columns.
const RESERVED: [&str; 3] = ["from", "to", "token"];

impl Filters {
    /// Parses a raw query string; `allowed` are the dashboard's filter columns.
    pub fn parse(query: &str, allowed: &[String]) -> Result<Filters, String> {
        let mut f = Filters::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.trim();
            match key.as_ref() {
                "from" => f.from = parse_date("from", value)?,
                "to" => f.to = parse_date("to", value)?,
                "token" => {}
                column if allowed.iter().any(|a| a == column) => {
                    if !value.is_empty() {
                        f.values
                            .entry(column.to_string())
                            .or_default()
                            .push(value.to_string());
                    }
                }
                other => return Err(unknown_key(other, allowed)),
            }
        }
        if let (Some(from), Some(to)) = (f.from, f.to) {
            if from > to {
                return Err(format!(
                    "the date range is backwards: from={from} is after to={to}"
                ));
            }
        }
        Ok(f)
    }

    /// The query string that reproduces these filters (for tab links).
    pub fn to_query(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        if let Some(d) = self.from {
            out.append_pair("from", &d.to_string());
        }
        if let Some(d) = self.to {
            out.append_pair("to", &d.to_string());
        }
        for (column, values) in &self.values {
            for v in values {
                out.append_pair(column, v);
            }
        }
        out.finish()
    }

    /// Whether `value` is selected for `column` (an unfiltered column: no).
    pub fn is_selected(&self, column: &str, value: &str) -> bool {
        self.values
            .get(column)
            .is_some_and(|vs| vs.iter().any(|v| v == value))
    }
}

fn parse_date(key: &str, value: &str) -> Result<Option<Date>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    // jiff also reads `2024-05-01T12:00` as a date, dropping the time: a
    // range is whole days, so anything but a bare day is refused.
    let bare_day = value.len() == 10 && !value.contains('T');
    let parsed = value.parse::<Date>().ok().filter(|_| bare_day);
    parsed.map(Some).ok_or_else(|| {
        format!("`{key}={value}` is not a date; write it as YYYY-MM-DD, e.g. {key}=2024-05-01")
    })
}

fn unknown_key(key: &str, allowed: &[String]) -> String {
    let mut known: Vec<&str> = RESERVED.to_vec();
    known.extend(allowed.iter().map(String::as_str));
    let shown: String = key.chars().take(64).collect();
    format!(
        "unknown filter `{shown}`; this dashboard filters on: {}",
        known.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["browser_name".into(), "os_name".into()]
    }

    #[test]
    fn repeated_keys_are_a_multi_select_and_round_trip() {
        let q = "from=2024-05-01&to=2024-05-02&browser_name=Chrome&browser_name=Fire+fox&os_name=";
        let f = Filters::parse(q, &allowed()).unwrap();
        assert_eq!(f.values["browser_name"], ["Chrome", "Fire fox"]);
        assert!(!f.values.contains_key("os_name"));
        assert_eq!(Filters::parse(&f.to_query(), &allowed()).unwrap(), f);
    }

    #[test]
    fn unknown_columns_and_bad_dates_are_refused_by_name() {
        let e = Filters::parse("colour=red", &allowed()).unwrap_err();
        assert_eq!(
            e,
            "unknown filter `colour`; this dashboard filters on: from, to, token, browser_name, os_name"
        );
        let e = Filters::parse("from=2024-13-01", &allowed()).unwrap_err();
        assert!(e.starts_with("`from=2024-13-01` is not a date"), "{e}");
        let e = Filters::parse("to=2024-05-01T12:00", &allowed()).unwrap_err();
        assert!(e.starts_with("`to=2024-05-01T12:00` is not a date"), "{e}");
        let e = Filters::parse("from=2024-05-03&to=2024-05-01", &allowed()).unwrap_err();
        assert!(e.contains("backwards"), "{e}");
    }
}
