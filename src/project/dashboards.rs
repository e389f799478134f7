//! Dashboards declared beside the marts: a `dashboards:` list in any
//! properties file. A dashboard has tabs, a tab has charts, a chart reads one
//! model. They are checked at load time like every other project file, so a
//! chart naming a missing model or column fails `lake compile` with the file
//! and line, not a web page at 9 a.m.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ColumnProperties;
use crate::diagnostic::{did_you_mean, Code, Diagnostic, Diagnostics, Span};

/// One dashboard: what `lake serve` shows at `/dashboards/<name>/<tab>`.
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// URL segment and identifier.
    pub name: String,
    /// Heading; defaults to the name.
    #[serde(default)]
    pub title: Option<String>,
    /// Shown under the heading.
    #[serde(default)]
    pub description: Option<String>,
    /// The tabs, in display order.
    pub tabs: Vec<Tab>,
    /// Properties file that declares it.
    #[serde(skip)]
    pub defined_in: PathBuf,
}

/// One tab of a dashboard.
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Tab {
    /// URL segment.
    pub name: String,
    /// Label; defaults to the name.
    #[serde(default)]
    pub title: Option<String>,
    /// The charts, in display order.
    pub charts: Vec<Chart>,
}

/// How a chart draws its rows.
#[derive(Debug, Deserialize, Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// One line per series over `x`.
    Line,
    /// One bar per `x` (grouped by series).
    Bar,
    /// Bars per `x`, series stacked.
    StackedBar,
    /// Slices per `x`.
    Pie,
    /// One number: `agg(y)` over the filtered rows.
    Kpi,
    /// Rows grouped by `group_by` with `measures`.
    Table,
}

impl ChartKind {
    /// The name used in YAML and in the page's `data-kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChartKind::Line => "line",
            ChartKind::Bar => "bar",
            ChartKind::StackedBar => "stacked_bar",
            ChartKind::Pie => "pie",
            ChartKind::Kpi => "kpi",
            ChartKind::Table => "table",
        }
    }
}

/// How values of a column are combined.
#[derive(Debug, Deserialize, Serialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    /// Total (the default: marts hold counts and sums).
    #[default]
    Sum,
    /// Mean.
    Avg,
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Number of rows.
    Count,
}

impl Agg {
    /// The SQL aggregate function.
    pub fn sql(self) -> &'static str {
        match self {
            Agg::Sum => "sum",
            Agg::Avg => "avg",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Count => "count",
        }
    }
}

/// One chart, KPI or table over a model.
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// Identifier, unique within the dashboard (the page's `chart-<name>`).
    pub name: String,
    /// Heading; defaults to the name.
    #[serde(default)]
    pub title: Option<String>,
    /// The model (or seed) it reads.
    pub model: String,
    /// How it draws.
    pub kind: ChartKind,
    /// Horizontal axis, slice or bar column.
    #[serde(default)]
    pub x: Option<String>,
    /// Measured column.
    #[serde(default)]
    pub y: Option<String>,
    /// How `y` is combined per `x` (and series).
    #[serde(default)]
    pub agg: Agg,
    /// Column whose values become separate lines, bars or stacks.
    #[serde(default)]
    pub series: Option<String>,
    /// Columns the page offers as filters for this chart.
    #[serde(default)]
    pub filters: Vec<String>,
    /// Only the `top` largest `x` by `y` (bars).
    #[serde(default)]
    pub top: Option<usize>,
    /// Bars drawn sideways, categories down the side (top-N lists).
    #[serde(default)]
    pub horizontal: bool,
    /// Tables: the grouping columns.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Tables: the computed columns.
    #[serde(default)]
    pub measures: Vec<Measure>,
}

/// A computed table column: `agg(column) as label`.
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// Input column.
    pub column: String,
    /// Aggregate.
    #[serde(default)]
    pub agg: Agg,
    /// Header; defaults to `<agg> of <column>`.
    #[serde(default)]
    pub label: Option<String>,
}

impl Measure {
    /// The header shown above the column.
    pub fn header(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| format!("{} of {}", self.agg.sql(), self.column))
    }
}

impl Chart {
    /// Every column the chart reads, with the YAML key that names it.
    pub fn columns(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        for (key, col) in [("x", &self.x), ("y", &self.y), ("series", &self.series)] {
            if let Some(c) = col {
                out.push((key, c.as_str()));
            }
        }
        out.extend(self.filters.iter().map(|c| ("filters", c.as_str())));
        out.extend(self.group_by.iter().map(|c| ("group_by", c.as_str())));
        out.extend(self.measures.iter().map(|m| ("column", m.column.as_str())));
        out
    }

    /// Keys this kind of chart cannot do without.
    fn required(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        let needs_xy = matches!(
            self.kind,
            ChartKind::Line | ChartKind::Bar | ChartKind::StackedBar | ChartKind::Pie
        );
        if needs_xy && self.x.is_none() {
            missing.push("x");
        }
        if (needs_xy || self.kind == ChartKind::Kpi) && self.y.is_none() && self.agg != Agg::Count {
            missing.push("y");
        }
        if self.kind == ChartKind::StackedBar && self.series.is_none() {
            missing.push("series");
        }
        if self.kind == ChartKind::Table && self.group_by.is_empty() {
            missing.push("group_by");
        }
        if self.kind == ChartKind::Table && self.measures.is_empty() {
            missing.push("measures");
        }
        missing
    }
}

/// What validation needs to know about a model: its name and declared columns.
pub struct KnownModel<'a> {
    /// Model or seed name.
    pub name: &'a str,
    /// Columns its properties declare (empty: not declared, checked at serve time).
    pub columns: &'a [ColumnProperties],
}

/// Checks every dashboard of one properties file against the project's models.
pub fn validate(
    dashboards: &[Dashboard],
    path: &Path,
    text: &str,
    models: &[KnownModel],
    diags: &mut Diagnostics,
) {
    let mut seen = HashSet::new();
    for d in dashboards {
        let at = locate(text, 0, "name", &d.name);
        if !seen.insert(d.name.clone()) {
            diags.push(
                located(
                    path,
                    text,
                    at.clone(),
                    format!("dashboard `{}` is declared twice", d.name),
                )
                .with_help("give each dashboard its own name"),
            );
        }
        let mut charts = HashSet::new();
        let mut tabs = HashSet::new();
        for tab in &d.tabs {
            let tab_at = locate(text, start_of(&at), "name", &tab.name);
            if !tabs.insert(tab.name.clone()) {
                diags.push(located(
                    path,
                    text,
                    tab_at.clone(),
                    format!("tab `{}` appears twice in dashboard `{}`", tab.name, d.name),
                ));
            }
            for chart in &tab.charts {
                let chart_at = locate(text, start_of(&tab_at), "name", &chart.name);
                if !charts.insert(chart.name.clone()) {
                    diags.push(
                        located(
                            path,
                            text,
                            chart_at.clone(),
                            format!(
                                "chart `{}` appears twice in dashboard `{}`",
                                chart.name, d.name
                            ),
                        )
                        .with_help("chart names identify charts on the page; make them unique"),
                    );
                }
                check_chart(chart, path, text, chart_at, models, diags);
            }
        }
    }
}

fn check_chart(
    chart: &Chart,
    path: &Path,
    text: &str,
    at: Option<Span>,
    models: &[KnownModel],
    diags: &mut Diagnostics,
) {
    let whose = format!("chart `{}`", chart.name);
    let from = start_of(&at);
    for key in chart.required() {
        diags.push(
            located(
                path,
                text,
                at.clone(),
                format!(
                    "{whose} is a {} chart and needs `{key}`",
                    chart.kind.as_str()
                ),
            )
            .with_help(kind_help(chart.kind)),
        );
    }
    let Some(model) = models.iter().find(|m| m.name == chart.model) else {
        let d = located(
            path,
            text,
            locate(text, from, "model", &chart.model),
            format!(
                "{whose} reads model `{}`, which does not exist",
                chart.model
            ),
        );
        let names = models.iter().map(|m| m.name);
        diags.push(match did_you_mean(&chart.model, names) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help("name a model or seed of this project"),
        });
        return;
    };
    if model.columns.is_empty() {
        return;
    }
    for (key, column) in chart.columns() {
        if model.columns.iter().any(|c| c.name == column) {
            continue;
        }
        let declared: Vec<&str> = model.columns.iter().map(|c| c.name.as_str()).collect();
        let d = located(
            path,
            text,
            locate_value(text, from, column),
            format!(
                "{whose}: `{key}` names column `{column}`, which model `{}` does not declare",
                model.name
            ),
        );
        diags.push(match did_you_mean(column, declared.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!("its columns: {}", declared.join(", "))),
        });
    }
}

fn kind_help(kind: ChartKind) -> &'static str {
    match kind {
        ChartKind::Line | ChartKind::Bar | ChartKind::Pie => {
            "line, bar and pie charts take `x` (a column) and `y` (the measured column)"
        }
        ChartKind::StackedBar => "a stacked bar takes `x`, `y` and `series` (what is stacked)",
        ChartKind::Kpi => "a KPI takes `y` and `agg` (sum, avg, min, max, count)",
        ChartKind::Table => "a table takes `group_by: [cols]` and `measures: [{column, agg}]`",
    }
}

fn located(path: &Path, text: &str, span: Option<Span>, message: String) -> Diagnostic {
    Diagnostic::new(Code::InvalidValue, message).at(path, text, span, "here")
}

fn start_of(span: &Option<Span>) -> usize {
    match span {
        Some(Span::Bytes(r)) => r.start,
        _ => 0,
    }
}

/// The span of the value in the first `key: value` line at or after byte `from`.
fn locate(text: &str, from: usize, key: &str, value: &str) -> Option<Span> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        if here < from {
            continue;
        }
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        let Some(rest) = t.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        if rest.trim().trim_matches(['"', '\'']) == value {
            let start = here + line.rfind(value).unwrap_or(0);
            return Some(Span::Bytes(start..start + value.len()));
        }
    }
    None
}

/// The span of the first whole-word `value` at or after byte `from`.
fn locate_value(text: &str, from: usize, value: &str) -> Option<Span> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut at = from.min(text.len());
    while let Some(i) = text[at..].find(value) {
        let start = at + i;
        let end = start + value.len();
        let before = text[..start].chars().next_back().is_some_and(is_word);
        let after = text[end..].chars().next().is_some_and(is_word);
        if !before && !after {
            return Some(Span::Bytes(start..end));
        }
        at = end;
    }
    None
}
