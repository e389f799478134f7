//! The plot's values cleaned once: aligned to the x values, with what no
//! axis can show (NaN, infinities, absurd magnitudes) left out, and each x
//! value spelt for data attributes, hover titles and tick labels.

use jiff::civil::DateTime;

use super::scale::short_time;
use super::{Axis, Kind, Plot};

/// Values beyond this are left out: no axis can show them next to ordinary
/// numbers, and sums of them must stay finite.
const MAX_ABS: f64 = 1e150;
/// One x value in its three spellings.
pub(super) struct XValue {
    /// `data-x`: exact and machine-readable (ISO timestamp or the category).
    pub(super) key: String,
    /// Hover titles: complete and readable.
    pub(super) full: String,
    /// Tick labels: short enough to sit side by side.
    pub(super) short: String,
}

/// The plot with its values cleaned once: aligned to the x values, unusable ones dropped.
pub(super) struct Prepared {
    pub(super) xs: Vec<XValue>,
    /// Hours since the first x value's midnight, for a time axis.
    pub(super) hours: Option<(DateTime, Vec<f64>)>,
    /// Series names as the data has them, for `data-series`.
    pub(super) raw_names: Vec<String>,
    /// Series names as shown: "(blank)" for an empty one.
    pub(super) names: Vec<String>,
    pub(super) values: Vec<Vec<Option<f64>>>,
}

impl Prepared {
    /// Cleans `plot` once for every later pass.
    pub(super) fn new(plot: &Plot) -> Prepared {
        let xs = match &plot.x {
            Axis::Time(times) => times.iter().map(time_value).collect(),
            Axis::Categories(names) => names.iter().map(|n| category_value(n)).collect(),
        };
        let hours = match &plot.x {
            Axis::Time(times) if !times.is_empty() => {
                let base = times[0].start_of_day();
                let offsets = times.iter().map(|t| hours_between(base, *t)).collect();
                Some((base, offsets))
            }
            _ => None,
        };
        let n = plot_len(&plot.x);
        let values = plot.series.iter().map(|s| clean(&s.values, n)).collect();
        let raw_names = plot.series.iter().map(|s| s.name.clone()).collect();
        let names = plot.series.iter().map(|s| display_name(&s.name)).collect();
        Prepared {
            xs,
            hours,
            raw_names,
            names,
            values,
        }
    }

    /// Whether anything would be drawn, so an empty result says so instead of an empty frame.
    pub(super) fn has_points(&self, kind: Kind) -> bool {
        match kind {
            Kind::Pie => !self.slices().is_empty(),
            Kind::StackedBar => self.points().any(|(_, _, v)| v != 0.0),
            Kind::Line | Kind::Bar => self.points().next().is_some(),
        }
    }

    /// Every usable value as (series, x index, value), in drawing order.
    pub(super) fn points(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        self.values.iter().enumerate().flat_map(|(s, vals)| {
            vals.iter()
                .enumerate()
                .filter_map(move |(i, v)| v.map(|v| (s, i, v)))
        })
    }

    /// Pie slices as (x index, value): the first series' positive values.
    pub(super) fn slices(&self) -> Vec<(usize, f64)> {
        let Some(first) = self.values.first() else {
            return Vec::new();
        };
        first
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.filter(|v| *v > 0.0).map(|v| (i, v)))
            .collect()
    }
}

/// How many x values there are.
pub(super) fn plot_len(axis: &Axis) -> usize {
    match axis {
        Axis::Time(times) => times.len(),
        Axis::Categories(names) => names.len(),
    }
}

fn clean(values: &[Option<f64>], n: usize) -> Vec<Option<f64>> {
    (0..n)
        .map(|i| {
            values
                .get(i)
                .copied()
                .flatten()
                .filter(|v| v.is_finite() && v.abs() <= MAX_ABS)
        })
        .collect()
}

fn display_name(name: &str) -> String {
    if name.trim().is_empty() {
        "(blank)".to_string()
    } else {
        name.to_string()
    }
}

fn time_value(t: &DateTime) -> XValue {
    XValue {
        key: t.to_string(),
        full: format!("{}-{}", t.year(), short_time(t)),
        short: short_time(t),
    }
}

fn category_value(name: &str) -> XValue {
    let shown = display_name(name);
    XValue {
        key: name.to_string(),
        full: shown.clone(),
        short: shown,
    }
}

fn hours_between(base: DateTime, t: DateTime) -> f64 {
    t.duration_since(base).as_secs_f64() / 3600.0
}
