//! A dashboard tab as plain data for its template: tabs, filter controls and
//! every chart's rendered body, from the copy of the lake.

use std::collections::HashMap;

use serde::Serialize;

use super::chart::{self, Axis, Kind, Plot, SeriesData};
use super::filters::Filters;
use super::site::Site;
use super::sql::{chart_query, date_bounds_query, Source};
use crate::project::dashboards::{Chart, ChartKind, Dashboard, Tab};
use crate::warehouse::replica::Replica;

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// 400: the URL asks for something invalid.
    BadRequest(String),
    /// 404: no such dashboard, tab or model.
    NotFound(String),
    /// 503: the lake has not been copied yet.
    Unavailable(String),
}

/// Everything the dashboard template shows.
#[derive(Serialize)]
pub struct DashboardPage {
    /// Dashboard name and title.
    pub name: String,
    /// Heading.
    pub title: String,
    /// Under the heading.
    pub description: Option<String>,
    /// Tab links, the current one marked.
    pub tabs: Vec<TabLink>,
    /// Date range as shown in the inputs.
    pub from: String,
    /// Date range as shown in the inputs.
    pub to: String,
    /// One multi-select per filter column of this tab.
    pub filters: Vec<FilterControl>,
    /// Filters of other tabs, kept when this tab's form is applied.
    pub hidden: Vec<(String, String)>,
    /// The charts.
    pub charts: Vec<ChartView>,
}

/// A link to one tab.
#[derive(Serialize)]
pub struct TabLink {
    /// URL segment.
    pub name: String,
    /// Label.
    pub title: String,
    /// Link, carrying the current filters.
    pub href: String,
    /// Whether it is the tab shown.
    pub active: bool,
}

/// A filter's drop-down.
#[derive(Serialize)]
pub struct FilterControl {
    /// Column filtered.
    pub column: String,
    /// Every value, and whether it is selected.
    pub options: Vec<(String, bool)>,
}

/// One chart, ready to print.
#[derive(Serialize, Default)]
pub struct ChartView {
    /// Identifier (`chart-<name>`).
    pub name: String,
    /// Heading.
    pub title: String,
    /// `line`, `kpi`, ...
    pub kind: &'static str,
    /// Model read.
    pub model: String,
    /// Line, bar and pie charts.
    pub svg: Option<String>,
    /// KPI: the value unformatted (for machines) and formatted (for people).
    pub kpi: Option<(String, String)>,
    /// Table: headers and rows.
    pub table: Option<(Vec<String>, Vec<Vec<String>>)>,
    /// Why it could not be drawn.
    pub error: Option<String>,
}

/// Builds the page for `dashboard/tab` with the URL's query string.
pub fn page(
    site: &Site,
    dashboard: &str,
    tab: &str,
    query: &str,
) -> Result<DashboardPage, PageError> {
    let d = find_dashboard(site, dashboard)?;
    let Some(current) = d.tabs.iter().find(|t| t.name == tab) else {
        let names: Vec<&str> = d.tabs.iter().map(|t| t.name.as_str()).collect();
        return Err(PageError::NotFound(format!(
            "dashboard `{}` has no tab `{tab}`; its tabs: {}",
            d.name,
            names.join(", ")
        )));
    };
    let allowed = filter_columns(d.tabs.iter());
    let filters = Filters::parse(query, &allowed).map_err(PageError::BadRequest)?;
    let replica = site.replica().ok_or_else(|| {
        PageError::Unavailable(
            "lake serve has not read the lake yet (a run may be writing it); try again in a few seconds".into(),
        )
    })?;
    check_values(site, &replica, d, &filters)?;
    let (first, last) = date_bounds(site, &replica, current);
    let shown = filter_columns(std::iter::once(current));
    Ok(DashboardPage {
        name: d.name.clone(),
        title: d.title.clone().unwrap_or_else(|| d.name.clone()),
        description: d.description.clone(),
        tabs: tab_links(d, current, &filters),
        from: filters.from.map(|x| x.to_string()).unwrap_or(first),
        to: filters.to.map(|x| x.to_string()).unwrap_or(last),
        filters: shown
            .iter()
            .map(|c| control(site, &replica, current, c, &filters))
            .collect(),
        hidden: filters
            .values
            .iter()
            .filter(|(c, _)| !shown.contains(c))
            .flat_map(|(c, vs)| vs.iter().map(move |v| (c.clone(), v.clone())))
            .collect(),
        charts: current
            .charts
            .iter()
            .map(|c| chart_view(site, &replica, c, &filters))
            .collect(),
    })
}

/// The dashboard called `name`.
pub fn find_dashboard<'s>(site: &'s Site, name: &str) -> Result<&'s Dashboard, PageError> {
    site.dashboards
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = site.dashboards.iter().map(|d| d.name.as_str()).collect();
            PageError::NotFound(if names.is_empty() {
                "this project declares no dashboards (add `dashboards:` to a properties file)"
                    .into()
            } else {
                format!("no dashboard `{name}`; dashboards: {}", names.join(", "))
            })
        })
}

/// Filter columns of some tabs, in first-declared order.
fn filter_columns<'t>(tabs: impl Iterator<Item = &'t Tab>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in tabs
        .flat_map(|t| t.charts.iter())
        .flat_map(|c| c.filters.iter())
    {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

/// Every selected value must be one the column holds: the drop-downs only
/// offer those, so anything else is a hand-made URL.
fn check_values(
    site: &Site,
    replica: &Replica,
    d: &Dashboard,
    f: &Filters,
) -> Result<(), PageError> {
    for (column, values) in &f.values {
        let known = known_values(site, replica, d.tabs.iter(), column);
        if let Some(bad) = values.iter().find(|v| !known.contains(v)) {
            let shown: String = bad.chars().take(64).collect();
            return Err(PageError::BadRequest(format!(
                "`{column}` has no value {shown:?}; its values: {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

fn known_values<'t>(
    site: &Site,
    replica: &Replica,
    tabs: impl Iterator<Item = &'t Tab>,
    column: &str,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for chart in tabs.flat_map(|t| t.charts.iter()) {
        if chart.filters.iter().any(|c| c == column) {
            for v in site.options(replica, &chart.model, column).iter() {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
    }
    out.sort();
    out
}

fn control(site: &Site, replica: &Replica, tab: &Tab, column: &str, f: &Filters) -> FilterControl {
    FilterControl {
        column: column.to_string(),
        options: known_values(site, replica, std::iter::once(tab), column)
            .into_iter()
            .map(|v| {
                let selected = f.is_selected(column, &v);
                (v, selected)
            })
            .collect(),
    }
}

fn tab_links(d: &Dashboard, current: &Tab, f: &Filters) -> Vec<TabLink> {
    let query = f.to_query();
    d.tabs
        .iter()
        .map(|t| TabLink {
            name: t.name.clone(),
            title: t.title.clone().unwrap_or_else(|| t.name.clone()),
            href: match query.as_str() {
                "" => format!("/dashboards/{}/{}", d.name, t.name),
                q => format!("/dashboards/{}/{}?{q}", d.name, t.name),
            },
            active: t.name == current.name,
        })
        .collect()
}

/// First and last day of data over the tab's dated models.
fn date_bounds(site: &Site, replica: &Replica, tab: &Tab) -> (String, String) {
    let (mut first, mut last) = (String::new(), String::new());
    for chart in &tab.charts {
        let Some(source) = site.source_of(replica, &chart.model) else {
            continue;
        };
        if !source.has_dates() {
            continue;
        }
        let q = date_bounds_query(&source);
        let Ok(rows) = replica.query(&q.sql, &q.params) else {
            continue;
        };
        let row = rows.rows.into_iter().next().unwrap_or_default();
        if let (Some(Some(a)), Some(Some(b))) = (row.first(), row.get(1)) {
            if first.is_empty() || *a < first {
                first = a.clone();
            }
            if *b > last {
                last = b.clone();
            }
        }
    }
    (first, last)
}

fn chart_view(site: &Site, replica: &Replica, chart: &Chart, f: &Filters) -> ChartView {
    let mut view = ChartView {
        name: chart.name.clone(),
        title: chart.title.clone().unwrap_or_else(|| chart.name.clone()),
        kind: chart.kind.as_str(),
        model: chart.model.clone(),
        ..ChartView::default()
    };
    let Some(source) = site.source_of(replica, &chart.model) else {
        view.error = Some(format!(
            "`{}` is not in the lake yet: run `lake run --select {}`",
            chart.model, chart.model
        ));
        return view;
    };
    let q = chart_query(chart, &source, f);
    let rows = match replica.query(&q.sql, &q.params) {
        Ok(rows) => rows.rows,
        Err(e) => {
            view.error = Some(format!("cannot read `{}`: {}", chart.model, e.message));
            return view;
        }
    };
    match chart.kind {
        ChartKind::Kpi => view.kpi = Some(kpi(&rows, chart)),
        ChartKind::Table => view.table = Some(table(rows, chart)),
        _ => view.svg = Some(chart::render(&plot(chart, &source, rows), 640, 320)),
    }
    view
}

fn number(cell: &Option<String>) -> Option<f64> {
    cell.as_deref().and_then(|t| t.parse::<f64>().ok())
}

/// A KPI: the raw number and the number for people (`12,345`, `12.3`).
fn kpi(rows: &[Vec<Option<String>>], chart: &Chart) -> (String, String) {
    let value = rows.first().and_then(|r| r.first()).and_then(number);
    let Some(v) = value else {
        return (String::new(), "no data".into());
    };
    let whole = chart.agg != crate::project::dashboards::Agg::Avg;
    (format!("{v}"), format_number(v, whole))
}

/// `1234567.8` as `1,234,568` (whole) or `1,234,567.8`.
pub fn format_number(v: f64, whole: bool) -> String {
    let text = if whole {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        "" => format!("{sign}{grouped}"),
        f => format!("{sign}{grouped}.{f}"),
    }
}

fn table(rows: Vec<Vec<Option<String>>>, chart: &Chart) -> (Vec<String>, Vec<Vec<String>>) {
    let mut headers = chart.group_by.clone();
    headers.extend(chart.measures.iter().map(|m| m.header()));
    let groups = chart.group_by.len();
    let body = rows
        .into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, cell)| match (i >= groups, number(cell)) {
                    (true, Some(v)) => format_number(
                        v,
                        chart.measures[i - groups].agg != crate::project::dashboards::Agg::Avg,
                    ),
                    _ => cell.clone().unwrap_or_else(|| "(null)".into()),
                })
                .collect()
        })
        .collect();
    (headers, body)
}

/// Rows `x, [series,] y` as a plot: distinct x in query order, one series
/// per distinct series value (sorted), a gap where a pair has no row.
fn plot(chart: &Chart, source: &Source, rows: Vec<Vec<Option<String>>>) -> Plot {
    let label =
        |c: Option<&Option<String>>| c.cloned().flatten().unwrap_or_else(|| "(null)".into());
    let mut xs: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut values: HashMap<(String, String), f64> = HashMap::new();
    for r in &rows {
        let x = label(r.first());
        let s = match chart.series {
            Some(_) => label(r.get(1)),
            None => chart.y.clone().unwrap_or_default(),
        };
        if !xs.contains(&x) {
            xs.push(x.clone());
        }
        if !names.contains(&s) {
            names.push(s.clone());
        }
        if let Some(y) = r.last().and_then(number) {
            values.insert((x, s), y);
        }
    }
    names.sort();
    let series = names
        .into_iter()
        .map(|name| SeriesData {
            values: xs
                .iter()
                .map(|x| values.get(&(x.clone(), name.clone())).copied())
                .collect(),
            name,
        })
        .collect();
    Plot {
        kind: match chart.kind {
            ChartKind::Line => Kind::Line,
            ChartKind::StackedBar => Kind::StackedBar,
            ChartKind::Pie => Kind::Pie,
            _ => Kind::Bar,
        },
        x: axis(chart, source, xs),
        series,
        x_label: chart.x.clone().unwrap_or_default(),
        y_label: chart.y.clone().unwrap_or_default(),
        horizontal: chart.horizontal,
    }
}

/// A time axis when `x` is a timestamp column and every value parses.
fn axis(chart: &Chart, source: &Source, xs: Vec<String>) -> Axis {
    if chart.x.as_deref().is_some_and(|x| source.is_time(x)) {
        let times: Vec<jiff::civil::DateTime> = xs.iter().filter_map(|t| t.parse().ok()).collect();
        if times.len() == xs.len() {
            return Axis::Time(times);
        }
    }
    Axis::Categories(xs)
}
