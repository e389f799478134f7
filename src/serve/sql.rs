//! The SQL behind a chart: pure text building. Column names come from the
//! validated project files and are quoted; every value from the URL is a
//! bound parameter, never SQL text.

use super::filters::Filters;
use crate::nodes::quote;
use crate::project::dashboards::{Chart, ChartKind};

/// A statement and its bound parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The SQL, with `?` placeholders.
    pub sql: String,
    /// Values for the placeholders, in order.
    pub params: Vec<String>,
}

/// The column every hourly mart keys on; the date range filters it.
pub const DATE_COLUMN: &str = "date_part";

/// What the chart's table looks like in the copy.
pub struct Source<'a> {
    /// `"schema"."table"` in the copy.
    pub table: String,
    /// Its columns and types.
    pub columns: &'a [(String, String)],
}

impl Source<'_> {
    fn type_of(&self, column: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, t)| t.as_str())
    }

    /// Whether the column is a timestamp (drawn on a time axis).
    pub fn is_time(&self, column: &str) -> bool {
        self.type_of(column)
            .is_some_and(|t| t.starts_with("TIMESTAMP") || t == "DATE")
    }

    /// Whether the date range applies to this table.
    pub fn has_dates(&self) -> bool {
        self.is_time(DATE_COLUMN)
    }
}

/// The WHERE clause for a chart: the date range, then its own filters.
fn conditions(chart: &Chart, source: &Source, filters: &Filters) -> Query {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    if source.has_dates() {
        if let Some(from) = filters.from {
            parts.push(format!("{} >= CAST(? AS TIMESTAMP)", quote(DATE_COLUMN)));
            params.push(from.to_string());
        }
        if let Some(to) = filters.to {
            parts.push(format!(
                "{} < CAST(? AS TIMESTAMP) + INTERVAL 1 DAY",
                quote(DATE_COLUMN)
            ));
            params.push(to.to_string());
        }
    }
    for column in &chart.filters {
        let Some(values) = filters.values.get(column) else {
            continue;
        };
        let marks = vec!["?"; values.len()].join(", ");
        parts.push(format!("{} IN ({marks})", quote(column)));
        params.extend(values.iter().cloned());
    }
    let sql = if parts.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", parts.join(" AND "))
    };
    Query { sql, params }
}

/// A column as the page shows it: timestamps as `YYYY-MM-DDTHH:MM:SS`.
fn shown(column: &str, source: &Source) -> String {
    if source.is_time(column) {
        format!("strftime({}, '%Y-%m-%dT%H:%M:%S')", quote(column))
    } else {
        format!("CAST({} AS VARCHAR)", quote(column))
    }
}

fn measure(agg: &str, column: Option<&str>) -> String {
    match (agg, column) {
        ("count", _) | (_, None) => "CAST(count(*) AS DOUBLE)".into(),
        (agg, Some(c)) => format!("CAST({agg}({}) AS DOUBLE)", quote(c)),
    }
}

/// The rows a chart draws: `x, [series,] y` for charts, one value for a
/// KPI, `group_by..., measures...` for a table.
pub fn chart_query(chart: &Chart, source: &Source, filters: &Filters) -> Query {
    let cond = conditions(chart, source, filters);
    let y = measure(chart.agg.sql(), chart.y.as_deref());
    let from = format!(" FROM {}{}", source.table, cond.sql);
    let sql = match chart.kind {
        ChartKind::Kpi => format!("SELECT {y}{from}"),
        ChartKind::Table => {
            let mut cols: Vec<String> = chart.group_by.iter().map(|c| shown(c, source)).collect();
            cols.extend(
                chart
                    .measures
                    .iter()
                    .map(|m| measure(m.agg.sql(), Some(&m.column))),
            );
            format!("SELECT {}{from} GROUP BY ALL ORDER BY ALL", cols.join(", "))
        }
        _ => {
            let x = shown(chart.x.as_deref().unwrap_or_default(), source);
            let series = match &chart.series {
                Some(s) => format!("{}, ", shown(s, source)),
                None => String::new(),
            };
            let order = match chart.top {
                Some(n) => format!(
                    " ORDER BY {} DESC, 1 LIMIT {n}",
                    if chart.series.is_some() { 3 } else { 2 }
                ),
                None => " ORDER BY ALL".into(),
            };
            format!("SELECT {x}, {series}{y}{from} GROUP BY ALL{order}")
        }
    };
    Query {
        sql,
        params: cond.params,
    }
}

/// The distinct values of a filter column, for its drop-down.
pub fn options_query(source: &Source, column: &str) -> Query {
    Query {
        sql: format!(
            "SELECT DISTINCT {} FROM {} WHERE {} IS NOT NULL ORDER BY 1",
            shown(column, source),
            source.table,
            quote(column)
        ),
        params: Vec::new(),
    }
}

/// The first and last day with data, to prefill the date range.
pub fn date_bounds_query(source: &Source) -> Query {
    let c = quote(DATE_COLUMN);
    Query {
        sql: format!(
            "SELECT strftime(min({c}), '%Y-%m-%d'), strftime(max({c}), '%Y-%m-%d') FROM {}",
            source.table
        ),
        params: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::dashboards::Agg;

    fn chart(kind: ChartKind) -> Chart {
        Chart {
            name: "c".into(),
            title: None,
            model: "m".into(),
            kind,
            x: Some("date_part".into()),
            y: Some("cnt".into()),
            agg: Agg::Sum,
            series: Some("event".into()),
            filters: vec!["browser_name".into()],
            top: None,
            horizontal: false,
            group_by: Vec::new(),
            measures: Vec::new(),
        }
    }

    #[test]
    fn filter_values_are_bound_never_spliced() {
        let cols = [
            ("event".into(), "VARCHAR".into()),
            ("date_part".into(), "TIMESTAMP".into()),
            ("browser_name".into(), "VARCHAR".into()),
            ("cnt".into(), "BIGINT".into()),
        ];
        let source = Source {
            table: "\"mart\".\"e\"".into(),
            columns: &cols,
        };
        let filters = Filters::parse(
            "from=2024-05-01&to=2024-05-01&browser_name=x'%20OR%201=1--",
            &["browser_name".into()],
        )
        .unwrap();
        let q = chart_query(&chart(ChartKind::Line), &source, &filters);
        assert_eq!(
            q.sql,
            "SELECT strftime(date_part, '%Y-%m-%dT%H:%M:%S'), CAST(event AS VARCHAR), \
             CAST(sum(cnt) AS DOUBLE) FROM \"mart\".\"e\" WHERE date_part >= CAST(? AS TIMESTAMP) \
             AND date_part < CAST(? AS TIMESTAMP) + INTERVAL 1 DAY AND browser_name IN (?) \
             GROUP BY ALL ORDER BY ALL"
        );
        assert_eq!(q.params, ["2024-05-01", "2024-05-01", "x' OR 1=1--"]);
    }
}
