//! Dashboard charts as SVG: plot data in, one self-contained SVG string out.
//!
//! Pure (no I/O, no DuckDB) so every chart can be checked in a unit test and
//! the page never needs a script to draw. plotters lays out and draws the frame
//! (axes, ticks, grid, axis titles, the lines of a line chart); the data marks
//! are written here, at the pixel positions of plotters' own coordinate mapping,
//! because every mark must carry a class, data attributes and a hover title that
//! plotters' SVG backend cannot emit. A browser test counts them: each data
//! point is exactly one element with class `mark`, and nothing else has it.
//!
//! What counts as a data point: a value that is `Some`, finite and within
//! ±1e150 (NaN, infinities and absurd magnitudes have no place on an axis and
//! are left out, as `None` is). Line: one `circle.mark` per point. Bar: one
//! `rect.mark` per point, series side by side. StackedBar: one `rect.mark` per
//! non-zero point. Pie: one `path.mark` per category whose value in the first
//! series is above zero.

use std::ops::Range;

use jiff::civil::DateTime;
use jiff::SignedDuration;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;

/// Which picture the data becomes; a dashboard YAML names one per chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Values over x joined by a line, a dot per value: trends per hour.
    Line,
    /// One bar per value, several series side by side: comparisons.
    Bar,
    /// One bar per x with the series stacked: totals and their parts.
    StackedBar,
    /// Shares of the whole; the x categories of the first series are the slices.
    Pie,
}

/// The distinct x values, already sorted by the caller (the query's ORDER BY).
#[derive(Debug, Clone)]
pub enum Axis {
    /// Timestamps such as `date_part`: a line chart spaces them by real time.
    Time(Vec<DateTime>),
    /// Names such as a product or a browser, shown in the given order.
    Categories(Vec<String>),
}

/// One named series; the page splits a result set into these by its series column.
#[derive(Debug, Clone)]
pub struct SeriesData {
    /// Shown in the legend and the hover titles (comes from data: escaped).
    pub name: String,
    /// Aligned with the x values; `None` where the series has no row for that x.
    pub values: Vec<Option<f64>>,
}

/// Everything a chart shows, already queried; titles are the page's business.
#[derive(Debug, Clone)]
pub struct Plot {
    /// The kind of chart.
    pub kind: Kind,
    /// The x values, shared by all series.
    pub x: Axis,
    /// The series, drawn and coloured in this order.
    pub series: Vec<SeriesData>,
    /// Title of the x (category) axis; empty for none.
    pub x_label: String,
    /// Title of the value axis; empty for none.
    pub y_label: String,
    /// Bars only: categories down the left, like a top-10 list read top to bottom.
    pub horizontal: bool,
}

/// Renders the plot as an SVG document of `width` x `height` pixels (with a
/// viewBox, so CSS can scale it). Never panics: an empty plot reads "No data
/// for these filters", and a drawing failure reads as such instead of a 500.
pub fn render(plot: &Plot, width: u32, height: u32) -> String {
    let size = (width.clamp(240, 4000), height.clamp(160, 4000));
    let data = Prepared::new(plot);
    if !data.has_points(plot.kind) {
        return message_svg(size, "No data for these filters");
    }
    let drawn = match plot.kind {
        Kind::Pie => Ok(pie(&data, size)),
        _ => cartesian(plot, &data, size),
    };
    drawn.unwrap_or_else(|_| message_svg(size, "This chart could not be drawn"))
}

/// Values beyond this are left out: no axis can show them next to ordinary
/// numbers, and sums of them must stay finite.
const MAX_ABS: f64 = 1e150;
/// Tableau 10 (designed to stay distinct, also for common colour blindness) and two more.
const PALETTE: [(u8, u8, u8); 12] = [
    (0x4e, 0x79, 0xa7),
    (0xf2, 0x8e, 0x2b),
    (0xe1, 0x57, 0x59),
    (0x76, 0xb7, 0xb2),
    (0x59, 0xa1, 0x4f),
    (0xed, 0xc9, 0x48),
    (0xb0, 0x7a, 0xa1),
    (0xff, 0x9d, 0xa7),
    (0x9c, 0x75, 0x5f),
    (0xba, 0xb0, 0xac),
    (0x17, 0xbe, 0xcf),
    (0x39, 0x3b, 0x79),
];
/// Outer margin around the plotting frame, in pixels.
const MARGIN: u32 = 12;
/// Pixels per character at 12px sans-serif: an estimate, there are no font metrics.
const CHAR_W: u32 = 7;
/// plotters' SVG backend writes `font-size` as the requested size / 1.24.
const FONT_12: f64 = 12.0 * 1.24;
/// Height of one legend row.
const LEGEND_ROW: u32 = 18;

fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

fn hex(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One x value in its three spellings.
struct XValue {
    /// `data-x`: exact and machine-readable (ISO timestamp or the category).
    key: String,
    /// Hover titles: complete and readable.
    full: String,
    /// Tick labels: short enough to sit side by side.
    short: String,
}

/// The plot with its values cleaned once: aligned to the x values, unusable ones dropped.
struct Prepared {
    xs: Vec<XValue>,
    /// Hours since the first x value's midnight, for a time axis.
    hours: Option<(DateTime, Vec<f64>)>,
    /// Series names as the data has them, for `data-series`.
    raw_names: Vec<String>,
    /// Series names as shown: "(blank)" for an empty one.
    names: Vec<String>,
    values: Vec<Vec<Option<f64>>>,
}

impl Prepared {
    fn new(plot: &Plot) -> Prepared {
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
    fn has_points(&self, kind: Kind) -> bool {
        match kind {
            Kind::Pie => !self.slices().is_empty(),
            Kind::StackedBar => self.points().any(|(_, _, v)| v != 0.0),
            Kind::Line | Kind::Bar => self.points().next().is_some(),
        }
    }

    /// Every usable value as (series, x index, value), in drawing order.
    fn points(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        self.values.iter().enumerate().flat_map(|(s, vals)| {
            vals.iter()
                .enumerate()
                .filter_map(move |(i, v)| v.map(|v| (s, i, v)))
        })
    }

    /// Pie slices as (x index, value): the first series' positive values.
    fn slices(&self) -> Vec<(usize, f64)> {
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

fn plot_len(axis: &Axis) -> usize {
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

/// "05-01 14:00": a day and an hour is what an hourly dashboard needs on its axis.
fn short_time(t: &DateTime) -> String {
    format!(
        "{:02}-{:02} {:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn hours_between(base: DateTime, t: DateTime) -> f64 {
    t.duration_since(base).as_secs_f64() / 3600.0
}

/// A linear axis that plotters draws (its ticks and their labels) and that the
/// marks use for their pixel positions, so marks and ticks always agree.
#[derive(Clone)]
struct Scale {
    lo: f64,
    hi: f64,
    /// Draw `lo` at the far end: the first category at the top of a horizontal bar chart.
    reversed: bool,
    ticks: Ticks,
}

#[derive(Clone)]
enum Ticks {
    /// Round numbers, compact labels ("12k").
    Numbers,
    /// Category slots centred on 0, 1, 2 ...; labels already shortened.
    Slots(Vec<String>),
    /// Hours since this midnight, ticks on whole hours or days.
    Hours(DateTime),
}

impl Scale {
    fn numbers(lo: f64, hi: f64) -> Scale {
        let (lo, hi) = if hi - lo > 0.0 && (hi - lo).is_finite() {
            (lo, hi)
        } else {
            (0.0, 1.0)
        };
        Scale {
            lo,
            hi,
            reversed: false,
            ticks: Ticks::Numbers,
        }
    }

    fn slots(labels: Vec<String>, reversed: bool) -> Scale {
        let hi = labels.len().max(1) as f64 - 0.5;
        Scale {
            lo: -0.5,
            hi,
            reversed,
            ticks: Ticks::Slots(labels),
        }
    }

    fn hours(base: DateTime, offsets: &[f64]) -> Scale {
        let lo = offsets.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = offsets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, lo + 1.0)
        };
        let pad = (hi - lo) * 0.02;
        Scale {
            lo: lo - pad,
            hi: hi + pad,
            reversed: false,
            ticks: Ticks::Hours(base),
        }
    }

    /// The pixel for `v` between the pixel ends `a` (for `lo`) and `b` (for `hi`).
    fn at(&self, v: f64, (a, b): (i32, i32)) -> f64 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let t = if self.reversed { 1.0 - t } else { t };
        f64::from(a) + t * f64::from(b - a)
    }

    fn tick_values(&self, max: usize) -> Vec<f64> {
        if max == 0 {
            return Vec::new();
        }
        match &self.ticks {
            Ticks::Numbers => nice_ticks(self.lo, self.hi, max),
            Ticks::Slots(labels) => {
                let step = labels.len().div_ceil(max).max(1);
                (0..labels.len()).step_by(step).map(|i| i as f64).collect()
            }
            Ticks::Hours(_) => hour_ticks(self.lo, self.hi, max),
        }
    }

    fn label(&self, v: f64) -> String {
        match &self.ticks {
            Ticks::Numbers => compact(v),
            Ticks::Slots(labels) => {
                let i = v.round();
                let found = (v - i).abs() < 1e-6 && i >= 0.0;
                found
                    .then(|| labels.get(i as usize).cloned())
                    .flatten()
                    .unwrap_or_default()
            }
            Ticks::Hours(base) => {
                let shifted =
                    base.checked_add(SignedDuration::from_secs((v * 3600.0).round() as i64));
                shifted.map(|t| short_time(&t)).unwrap_or_default()
            }
        }
    }

    /// Room for the widest tick label, in pixels, with a gap.
    fn label_width(&self) -> u32 {
        let chars = match &self.ticks {
            Ticks::Numbers => [self.lo, self.hi]
                .map(|v| compact(v).chars().count())
                .into_iter()
                .max(),
            Ticks::Slots(labels) => labels.iter().map(|l| l.chars().count()).max(),
            Ticks::Hours(_) => Some("05-01 14:00".len()),
        };
        chars.unwrap_or(1).max(1) as u32 * CHAR_W + 12
    }
}

impl Ranged for Scale {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.at(*value, limit).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        self.tick_values(hint.max_num_points())
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Scale {
    fn format_ext(&self, value: &f64) -> String {
        self.label(*value)
    }
}

/// Multiples of 1, 2 or 5 x 10^k between `lo` and `hi`, at most `max` of them.
fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let rough = (hi - lo) / max as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| (hi - lo) / s <= max as f64)
        .unwrap_or(10.0 * magnitude);
    if !(step > 0.0 && step.is_finite()) {
        return vec![lo, hi];
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .take(max + 1)
        .map(|k| k as f64 * step)
        .collect()
}

/// Whole minutes, hours or days (hours since a midnight), at most `max` of them.
fn hour_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    const STEPS: [f64; 16] = [
        1.0 / 60.0,
        5.0 / 60.0,
        0.25,
        0.5,
        1.0,
        2.0,
        3.0,
        6.0,
        12.0,
        24.0,
        48.0,
        168.0,
        336.0,
        720.0,
        2160.0,
        8760.0,
    ];
    let fits = |s: &f64| (hi - lo) / s < max as f64;
    let step = STEPS
        .iter()
        .copied()
        .find(fits)
        .unwrap_or_else(|| 8760.0 * ((hi - lo) / 8760.0 / max as f64).ceil().max(1.0));
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .take(max + 1)
        .map(|k| k as f64 * step)
        .collect()
}

/// Tick labels: short ("12k", "1.5M", "0.25").
fn compact(v: f64) -> String {
    let a = v.abs();
    // (from, unit): "12.5k" only from 10,000 up, below that "2,500" reads better.
    let scaled = [
        (1e12, 1e12, "T"),
        (1e9, 1e9, "B"),
        (1e6, 1e6, "M"),
        (1e4, 1e3, "k"),
    ]
    .into_iter()
    .find(|(from, _, _)| a >= *from && a < 1e15);
    match scaled {
        Some((_, unit, suffix)) => format!("{}{suffix}", trim_zeros(format!("{:.1}", v / unit))),
        None if a >= 1e15 => format!("{v:e}"),
        None => human(v),
    }
}

/// Hover values: exact enough and readable ("12,345", "0.3333").
fn human(v: f64) -> String {
    let text = trim_zeros(format!("{v:.4}"));
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) if rest != "0" => ("-", rest),
        Some(rest) => ("", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits.split_once('.').map_or((digits, ""), |(i, f)| (i, f));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let dot = if frac.is_empty() { "" } else { "." };
    format!("{sign}{grouped}{dot}{frac}")
}

fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Escapes text and attribute values for SVG/XML: data reaches the page as text, never markup.
pub(crate) fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Shortens a label to `max` characters, with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

fn svg_open(out: &mut String, (w, h): (u32, u32)) {
    out.push_str(&format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n"
    ));
}

fn message_svg(size: (u32, u32), message: &str) -> String {
    let mut out = String::new();
    svg_open(&mut out, size);
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"14\" \
         fill=\"#6b7280\">{}</text>\n</svg>\n",
        size.0 / 2,
        size.1 / 2,
        escape_xml(message)
    ));
    out
}

/// Where the frame sits and how it reads: decided before plotters draws.
struct Layout {
    /// plotters' horizontal and vertical axes.
    x: Scale,
    y: Scale,
    x_area: u32,
    y_area: u32,
    x_ticks: usize,
    y_ticks: usize,
    x_desc: String,
    y_desc: String,
    legend_w: u32,
    horizontal: bool,
    /// x positions of the data on the category axis (hours for a time axis, else slots).
    positions: Vec<f64>,
}

impl Layout {
    fn new(plot: &Plot, data: &Prepared, (w, h): (u32, u32), legend_w: u32) -> Layout {
        let horizontal = plot.horizontal && plot.kind != Kind::Line;
        let chart_w = w - legend_w;
        let values = value_scale(plot.kind, data);
        let (categories, positions) = category_scale(plot, data, horizontal, chart_w);
        let (x, y) = if horizontal {
            (values, categories)
        } else {
            (categories, values)
        };
        let (x_desc, y_desc) = if horizontal {
            (plot.y_label.clone(), plot.x_label.clone())
        } else {
            (plot.x_label.clone(), plot.y_label.clone())
        };
        let desc = |label: &str| if label.is_empty() { 0 } else { 20 };
        let y_area = y.label_width() + 8 + desc(&y_desc);
        let x_area = 28 + desc(&x_desc);
        let plot_w = chart_w.saturating_sub(y_area + 2 * MARGIN).max(40);
        let plot_h = h.saturating_sub(x_area + 2 * MARGIN).max(40);
        // Labels side by side along x; rows 16px apart for categories, 36px for numbers.
        let row = if horizontal { 16 } else { 36 };
        Layout {
            x_ticks: (plot_w / x.label_width()).max(1) as usize,
            y_ticks: (plot_h / row).max(2) as usize,
            x,
            y,
            x_area,
            y_area,
            x_desc,
            y_desc,
            legend_w,
            horizontal,
            positions,
        }
    }
}

/// The value axis: from zero (bars start there) to the largest value or stack.
fn value_scale(kind: Kind, data: &Prepared) -> Scale {
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    if kind == Kind::StackedBar {
        for (below, above) in stack_extents(data) {
            lo = lo.min(below);
            hi = hi.max(above);
        }
    } else {
        for (_, _, v) in data.points() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if hi - lo <= 0.0 {
        hi = 1.0;
    }
    let pad = (hi - lo) * 0.05;
    Scale::numbers(
        if lo < 0.0 { lo - pad } else { lo },
        if hi > 0.0 { hi + pad } else { hi },
    )
}

/// Per x: the sum of the negative values and of the positive ones.
fn stack_extents(data: &Prepared) -> Vec<(f64, f64)> {
    let mut extents = vec![(0.0, 0.0); data.xs.len()];
    for (_, i, v) in data.points() {
        let (below, above) = &mut extents[i];
        if v < 0.0 {
            *below += v;
        } else {
            *above += v;
        }
    }
    extents
}

/// The category axis and the data's positions on it. A line over time is
/// spaced by real time (gaps in the hours show); everything else by slot.
fn category_scale(
    plot: &Plot,
    data: &Prepared,
    horizontal: bool,
    chart_w: u32,
) -> (Scale, Vec<f64>) {
    if let (Kind::Line, Some((base, offsets))) = (plot.kind, &data.hours) {
        return (Scale::hours(*base, offsets), offsets.clone());
    }
    let max_chars = if horizontal {
        ((chart_w * 2 / 5).saturating_sub(12) / CHAR_W).max(4)
    } else {
        16
    };
    let labels = data
        .xs
        .iter()
        .map(|x| truncate(&x.short, max_chars as usize))
        .collect();
    let positions = (0..data.xs.len()).map(|i| i as f64).collect();
    (Scale::slots(labels, horizontal), positions)
}

/// The plotting frame in pixels, as plotters laid it out.
struct Frame {
    x: Scale,
    y: Scale,
    /// Pixel ends for `x.lo` and `x.hi`; y runs bottom to top like plotters' Cartesian2d.
    x_px: (i32, i32),
    y_px: (i32, i32),
    horizontal: bool,
}

impl Frame {
    fn point(&self, x: f64, y: f64) -> (f64, f64) {
        (self.x.at(x, self.x_px), self.y.at(y, self.y_px))
    }

    /// A bar from value `v0` to `v1` across the slot span `s0..s1`, in pixels (x, y, w, h).
    fn bar(&self, (s0, s1): (f64, f64), (v0, v1): (f64, f64)) -> (f64, f64, f64, f64) {
        let ((xa, ya), (xb, yb)) = if self.horizontal {
            (self.point(v0, s0), self.point(v1, s1))
        } else {
            (self.point(s0, v0), self.point(s1, v1))
        };
        (xa.min(xb), ya.min(yb), (xb - xa).abs(), (yb - ya).abs())
    }
}

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Line and bar charts: plotters draws the frame (and lines), then the marks are spliced in.
fn cartesian(plot: &Plot, data: &Prepared, size: (u32, u32)) -> DrawResult<String> {
    let entries: Vec<(String, usize)> = data.names.iter().cloned().zip(0..).collect();
    let legend_w = legend_width(&entries, size.0);
    let layout = Layout::new(plot, data, size, legend_w);
    let mut svg = String::new();
    let frame = draw_frame(&mut svg, plot.kind, data, &layout, size)?;
    let marks = match plot.kind {
        Kind::Line => line_marks(data, &frame, &layout.positions),
        Kind::Bar => bar_marks(data, &frame),
        Kind::StackedBar => stacked_marks(data, &frame),
        Kind::Pie => Vec::new(), // drawn by `pie`, without axes
    };
    let mut extra = String::new();
    write_marks(&mut extra, &marks, data, None);
    write_legend(&mut extra, &entries, (size.0 - legend_w, size.1), legend_w);
    let end = svg
        .rfind("</svg>")
        .ok_or("plotters wrote no closing </svg>")?;
    svg.insert_str(end, &extra);
    Ok(svg)
}

/// The plotters pass: background, grid, axes, tick labels, axis titles, lines.
fn draw_frame(
    svg: &mut String,
    kind: Kind,
    data: &Prepared,
    layout: &Layout,
    size: (u32, u32),
) -> DrawResult<Frame> {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (area, _legend) = root.split_horizontally(size.0 - layout.legend_w);
    let mut chart = ChartBuilder::on(&area)
        .margin(MARGIN)
        .x_label_area_size(layout.x_area)
        .y_label_area_size(layout.y_area)
        .build_cartesian_2d(layout.x.clone(), layout.y.clone())?;
    let grey = RGBColor(0x37, 0x41, 0x51);
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .axis_style(RGBColor(0x9c, 0xa3, 0xaf))
        .set_all_tick_mark_size(4)
        .label_style(("sans-serif", FONT_12).into_font().color(&grey))
        .axis_desc_style(("sans-serif", FONT_12 * 1.1).into_font().color(&grey))
        .x_labels(layout.x_ticks)
        .y_labels(layout.y_ticks);
    if !layout.x_desc.is_empty() {
        mesh.x_desc(layout.x_desc.clone());
    }
    if !layout.y_desc.is_empty() {
        mesh.y_desc(layout.y_desc.clone());
    }
    match (kind, layout.horizontal) {
        (Kind::Line, _) => &mut mesh,
        (_, false) => mesh.disable_x_mesh(),
        (_, true) => mesh.disable_y_mesh(),
    };
    mesh.draw()?;
    if kind == Kind::Line {
        draw_lines(&mut chart, data, &layout.positions)?;
    }
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    root.present()?;
    Ok(Frame {
        x: layout.x.clone(),
        y: layout.y.clone(),
        x_px: (xs.start, xs.end - 1),
        y_px: (ys.end - 1, ys.start),
        horizontal: layout.horizontal,
    })
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Scale, Scale>>;

/// One polyline per run of consecutive points: a missing value breaks the line
/// rather than drawing a slope nobody measured.
fn draw_lines(chart: &mut Chart<'_, '_>, data: &Prepared, positions: &[f64]) -> DrawResult<()> {
    for (s, values) in data.values.iter().enumerate() {
        let mut run = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => run.push((positions[i], *v)),
                None => flush_line(chart, &mut run, s)?,
            }
        }
        flush_line(chart, &mut run, s)?;
    }
    Ok(())
}

fn flush_line(
    chart: &mut Chart<'_, '_>,
    run: &mut Vec<(f64, f64)>,
    series: usize,
) -> DrawResult<()> {
    if run.len() > 1 {
        let style = colour(series).stroke_width(2);
        chart.draw_series(LineSeries::new(run.drain(..), style))?;
    }
    run.clear();
    Ok(())
}

/// One data mark: which value it shows and its shape in pixels.
struct Mark {
    series: usize,
    x: usize,
    value: f64,
    colour: usize,
    shape: Shape,
}

enum Shape {
    Circle { cx: f64, cy: f64, r: f64 },
    Rect { x: f64, y: f64, w: f64, h: f64 },
    Path(String),
}

fn line_marks(data: &Prepared, frame: &Frame, positions: &[f64]) -> Vec<Mark> {
    let r = match data.xs.len() {
        0..=60 => 3.0,
        61..=200 => 2.0,
        _ => 1.5,
    };
    let mark = |(series, x, value): (usize, usize, f64)| {
        let (cx, cy) = frame.point(positions[x], value);
        Mark {
            series,
            x,
            value,
            colour: series,
            shape: Shape::Circle { cx, cy, r },
        }
    };
    data.points().map(mark).collect()
}

/// Bars of a group share 80% of their slot, series side by side.
fn bar_marks(data: &Prepared, frame: &Frame) -> Vec<Mark> {
    let width = 0.8 / data.values.len().max(1) as f64;
    let mark = |(series, x, value): (usize, usize, f64)| {
        let s0 = x as f64 - 0.4 + series as f64 * width;
        let (rx, ry, w, h) = frame.bar((s0 + width * 0.05, s0 + width * 0.95), (0.0, value));
        Mark {
            series,
            x,
            value,
            colour: series,
            shape: Shape::Rect { x: rx, y: ry, w, h },
        }
    };
    data.points().map(mark).collect()
}

/// Positive values stack up from zero and negative ones down, per x, in series order.
fn stacked_marks(data: &Prepared, frame: &Frame) -> Vec<Mark> {
    let mut stacks = vec![(0.0f64, 0.0f64); data.xs.len()];
    let mut marks = Vec::new();
    for (series, x, value) in data.points().filter(|(_, _, v)| *v != 0.0) {
        let (below, above) = &mut stacks[x];
        let span = if value > 0.0 {
            (*above, *above + value)
        } else {
            (*below + value, *below)
        };
        if value > 0.0 {
            *above += value;
        } else {
            *below += value;
        }
        let (rx, ry, w, h) = frame.bar((x as f64 - 0.4, x as f64 + 0.4), span);
        marks.push(Mark {
            series,
            x,
            value,
            colour: series,
            shape: Shape::Rect { x: rx, y: ry, w, h },
        });
    }
    marks
}

/// Writes the marks inside `<g class="marks">`; `total` adds a share to pie titles.
fn write_marks(out: &mut String, marks: &[Mark], data: &Prepared, total: Option<f64>) {
    out.push_str("<g class=\"marks\">\n");
    for mark in marks {
        let x = &data.xs[mark.x];
        let name = &data.names[mark.series];
        let share = total
            .map(|t| format!(" ({})", percent(mark.value / t)))
            .unwrap_or_default();
        let title = format!("{name} · {}: {}{share}", x.full, human(mark.value));
        let (tag, geometry) = match &mark.shape {
            Shape::Circle { cx, cy, r } => {
                ("circle", format!("cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{r}\""))
            }
            Shape::Rect { x, y, w, h } => (
                "rect",
                format!("x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{h:.2}\""),
            ),
            Shape::Path(d) => (
                "path",
                format!("d=\"{d}\" stroke=\"#ffffff\" stroke-width=\"1\""),
            ),
        };
        out.push_str(&format!(
            "<{tag} class=\"mark\" data-series=\"{}\" data-x=\"{}\" data-y=\"{}\" {geometry} fill=\"{}\">\
             <title>{}</title></{tag}>\n",
            escape_xml(&data.raw_names[mark.series]),
            escape_xml(&x.key),
            mark.value,
            hex(mark.colour),
            escape_xml(&title),
        ));
    }
    out.push_str("</g>\n");
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Room for the longest legend entry, but never more than 30% of the chart.
fn legend_width(entries: &[(String, usize)], width: u32) -> u32 {
    let longest = entries
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    (longest.min(32) as u32 * CHAR_W + 36).min(width * 3 / 10)
}

/// The legend (name to colour) down the right edge; "+N more" when it does not fit.
fn write_legend(
    out: &mut String,
    entries: &[(String, usize)],
    (left, height): (u32, u32),
    width: u32,
) {
    let rows = (height.saturating_sub(2 * MARGIN) / LEGEND_ROW).max(1) as usize;
    let shown = if entries.len() > rows {
        rows - 1
    } else {
        entries.len()
    };
    let max_chars = (width.saturating_sub(36) / CHAR_W).max(3) as usize;
    out.push_str(
        "<g class=\"legend\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#374151\">\n",
    );
    for (row, (label, colour)) in entries.iter().take(shown).enumerate() {
        let y = MARGIN + row as u32 * LEGEND_ROW;
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{y}\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>\n",
            left + 8,
            hex(*colour),
            left + 26,
            y + 10,
            escape_xml(&truncate(label, max_chars))
        ));
    }
    if shown < entries.len() {
        let y = MARGIN + shown as u32 * LEGEND_ROW + 10;
        let more = entries.len() - shown;
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{y}\">+{more} more</text>\n",
            left + 8
        ));
    }
    out.push_str("</g>\n");
}

/// A pie needs no axes, so it is written directly: one arc path per slice,
/// percentages inside the slices that have room, the shares in the legend.
fn pie(data: &Prepared, size: (u32, u32)) -> String {
    let slices = data.slices();
    let total: f64 = slices.iter().map(|(_, v)| v).sum();
    let entries: Vec<(String, usize)> = (slices.iter().enumerate())
        .map(|(k, (i, v))| (format!("{} {}", data.xs[*i].full, percent(v / total)), k))
        .collect();
    let legend_w = legend_width(&entries, size.0);
    let centre = (f64::from(size.0 - legend_w) / 2.0, f64::from(size.1) / 2.0);
    let radius = (centre.0.min(centre.1) - f64::from(MARGIN)).max(10.0);
    let mut marks = Vec::new();
    let mut labels = String::new();
    let mut start = 0.0;
    for (k, (x, value)) in slices.iter().enumerate() {
        let sweep = value / total;
        let d = arc_path(centre, radius, start, sweep);
        if sweep >= 0.04 {
            labels.push_str(&slice_label(centre, radius, start + sweep / 2.0, sweep));
        }
        marks.push(Mark {
            series: 0,
            x: *x,
            value: *value,
            colour: k,
            shape: Shape::Path(d),
        });
        start += sweep;
    }
    let mut out = String::new();
    svg_open(&mut out, size);
    write_marks(&mut out, &marks, data, Some(total));
    out.push_str(
        "<g class=\"labels\" font-family=\"sans-serif\" font-size=\"12\" font-weight=\"bold\" ",
    );
    out.push_str("fill=\"#ffffff\" text-anchor=\"middle\">\n");
    out.push_str(&labels);
    out.push_str("</g>\n");
    write_legend(&mut out, &entries, (size.0 - legend_w, size.1), legend_w);
    out.push_str("</svg>\n");
    out
}

/// The point at `turn` (0..1, clockwise from twelve o'clock) on the circle.
fn on_circle((cx, cy): (f64, f64), r: f64, turn: f64) -> (f64, f64) {
    let angle = turn * std::f64::consts::TAU;
    (cx + r * angle.sin(), cy - r * angle.cos())
}

/// A slice from `start` covering `sweep` of the circle; a whole circle takes two arcs.
fn arc_path(centre: (f64, f64), r: f64, start: f64, sweep: f64) -> String {
    if sweep >= 0.999_999 {
        let (top, bottom) = (on_circle(centre, r, 0.0), on_circle(centre, r, 0.5));
        return format!(
            "M{:.2},{:.2} A{r:.2},{r:.2} 0 1 1 {:.2},{:.2} A{r:.2},{r:.2} 0 1 1 {:.2},{:.2} Z",
            top.0, top.1, bottom.0, bottom.1, top.0, top.1
        );
    }
    let (a, b) = (
        on_circle(centre, r, start),
        on_circle(centre, r, start + sweep),
    );
    let large = u8::from(sweep > 0.5);
    format!(
        "M{:.2},{:.2} L{:.2},{:.2} A{r:.2},{r:.2} 0 {large} 1 {:.2},{:.2} Z",
        centre.0, centre.1, a.0, a.1, b.0, b.1
    )
}

fn slice_label(centre: (f64, f64), r: f64, turn: f64, share: f64) -> String {
    let (x, y) = on_circle(centre, r * 0.65, turn);
    format!(
        "<text x=\"{x:.1}\" y=\"{:.1}\">{}</text>\n",
        y + 4.0,
        percent(share)
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jiff::civil::date;

    fn categories(names: &[&str]) -> Axis {
        Axis::Categories(names.iter().map(|n| n.to_string()).collect())
    }

    fn series(name: &str, values: &[Option<f64>]) -> SeriesData {
        SeriesData {
            name: name.to_string(),
            values: values.to_vec(),
        }
    }

    fn plot(kind: Kind, x: Axis, series: Vec<SeriesData>) -> Plot {
        Plot {
            kind,
            x,
            series,
            x_label: "x".into(),
            y_label: "y".into(),
            horizontal: false,
        }
    }

    fn hours(n: usize) -> Axis {
        let start = date(2024, 5, 1).at(22, 0, 0, 0);
        let times = (0..n).map(|h| {
            start
                .checked_add(SignedDuration::from_hours(h as i64))
                .unwrap()
        });
        Axis::Time(times.collect())
    }

    fn marks(svg: &str) -> usize {
        svg.matches("class=\"mark\"").count()
    }

    /// A small XML checker: tags balance, attribute quotes pair up, `&` starts an entity.
    pub(crate) fn assert_well_formed(svg: &str) {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(open) = rest.find('<') {
            assert_text(&rest[..open]);
            let close = open + rest[open..].find('>').expect("unclosed tag");
            let tag = &rest[open + 1..close];
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            assert!(!tag[1..].contains('<'), "'<' inside <{tag}>");
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/', '\n'])
                .next()
                .unwrap();
            if let Some(closing) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(closing.trim()), "mismatched </{closing}>");
            } else if !tag.ends_with('/') {
                roots += usize::from(stack.is_empty());
                stack.push(name);
            } else {
                roots += usize::from(stack.is_empty());
            }
            rest = &rest[close + 1..];
        }
        assert_text(rest);
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert_eq!(roots, 1, "one root element");
    }

    fn assert_text(text: &str) {
        assert!(!text.contains('>'), "raw '>' in text {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            let known = ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;"];
            assert!(
                known.iter().any(|e| entity.starts_with(e)),
                "bare '&' in {text:?}"
            );
        }
    }

    #[test]
    fn line_has_one_circle_per_value() {
        let p = plot(
            Kind::Line,
            hours(5),
            vec![
                series("view", &[Some(3.0), None, Some(5.0), Some(2.0), Some(7.0)]),
                series(
                    "click",
                    &[Some(1.0), Some(0.0), Some(f64::NAN), None, Some(4.0)],
                ),
            ],
        );
        let svg = render(&p, 900, 400);
        assert_well_formed(&svg);
        assert_eq!(marks(&svg), 7);
        assert_eq!(svg.matches("<circle class=\"mark\"").count(), 7);
        assert!(
            svg.contains("<polyline"),
            "the line itself is drawn by plotters"
        );
        assert!(svg.contains("data-x=\"2024-05-01T22:00:00\""));
        assert!(svg.contains("<title>view · 2024-05-01 22:00: 3</title>"));
        assert!(svg.contains("05-02 00:00"), "ticks on whole hours: {svg}");
    }

    #[test]
    fn bar_has_one_rect_per_value_including_zero() {
        let p = plot(
            Kind::Bar,
            categories(&["a", "b", "c"]),
            vec![
                series("s1", &[Some(1.0), Some(0.0), None]),
                series("s2", &[Some(2.0), Some(3.0), Some(4.0)]),
            ],
        );
        let svg = render(&p, 600, 300);
        assert_well_formed(&svg);
        assert_eq!(marks(&svg), 5);
        assert_eq!(svg.matches("<rect class=\"mark\"").count(), 5);
    }

    #[test]
    fn stacked_bar_skips_zeros_and_stacks_per_x() {
        let p = plot(
            Kind::StackedBar,
            hours(3),
            vec![
                series("a", &[Some(1.0), Some(0.0), Some(-2.0)]),
                series("b", &[Some(2.0), Some(3.0), None]),
            ],
        );
        let svg = render(&p, 600, 300);
        assert_well_formed(&svg);
        assert_eq!(marks(&svg), 4);
    }

    #[test]
    fn stacked_segments_touch() {
        let p = plot(
            Kind::StackedBar,
            categories(&["x"]),
            vec![series("a", &[Some(2.0)]), series("b", &[Some(3.0)])],
        );
        let data = Prepared::new(&p);
        let layout = Layout::new(&p, &data, (600, 300), 50);
        let frame = draw_frame(&mut String::new(), p.kind, &data, &layout, (600, 300)).unwrap();
        let rects: Vec<_> = stacked_marks(&data, &frame)
            .into_iter()
            .map(|m| match m.shape {
                Shape::Rect { y, h, .. } => (y, h),
                _ => panic!("not a rect"),
            })
            .collect();
        let ((y_a, h_a), (y_b, h_b)) = (rects[0], rects[1]);
        assert!((y_b + h_b - y_a).abs() < 1e-6, "b sits on top of a");
        assert!((h_b / h_a - 1.5).abs() < 1e-6, "heights in proportion");
    }

    #[test]
    fn pie_has_one_path_per_positive_category() {
        let p = plot(
            Kind::Pie,
            categories(&["Chrome", "Firefox", "Safari", "Edge"]),
            vec![series(
                "users",
                &[Some(50.0), Some(25.0), Some(0.0), Some(25.0)],
            )],
        );
        let svg = render(&p, 600, 300);
        assert_well_formed(&svg);
        assert_eq!(marks(&svg), 3);
        assert_eq!(svg.matches("<path class=\"mark\"").count(), 3);
        assert!(svg.contains(">50.0%</text>"));
        assert!(svg.contains("Chrome 50.0%"), "shares in the legend");
    }

    #[test]
    fn pie_of_one_slice_is_a_whole_circle() {
        let p = plot(
            Kind::Pie,
            categories(&["only"]),
            vec![series("s", &[Some(3.0)])],
        );
        let svg = render(&p, 400, 300);
        assert_well_formed(&svg);
        assert_eq!(marks(&svg), 1);
        assert!(svg.contains("100.0%"));
    }

    #[test]
    fn horizontal_bars_put_the_first_category_on_top() {
        let mut p = plot(
            Kind::Bar,
            categories(&["first", "second"]),
            vec![series("cnt", &[Some(10.0), Some(5.0)])],
        );
        p.horizontal = true;
        let data = Prepared::new(&p);
        let layout = Layout::new(&p, &data, (600, 300), 50);
        let frame = draw_frame(&mut String::new(), p.kind, &data, &layout, (600, 300)).unwrap();
        let bars = bar_marks(&data, &frame);
        let (Shape::Rect { y: y0, w: w0, .. }, Shape::Rect { y: y1, w: w1, .. }) =
            (&bars[0].shape, &bars[1].shape)
        else {
            panic!("bars are rects");
        };
        assert!(y0 < y1, "first above second");
        assert!(
            (w0 / w1 - 2.0).abs() < 0.05,
            "lengths follow values: {w0} {w1}"
        );
        assert_eq!(marks(&render(&p, 600, 300)), 2);
    }

    #[test]
    fn marks_sit_where_plotters_maps_the_data() {
        let p = plot(
            Kind::Line,
            categories(&["a", "b", "c"]),
            vec![series("s", &[Some(1.0), Some(4.0), Some(2.0)])],
        );
        let data = Prepared::new(&p);
        let layout = Layout::new(&p, &data, (600, 300), 50);
        let mut svg = String::new();
        let frame = draw_frame(&mut svg, p.kind, &data, &layout, (600, 300)).unwrap();
        let (x, y) = frame.point(1.0, 4.0);
        let expected = (
            layout.x.map(&1.0, frame.x_px),
            layout.y.map(&4.0, frame.y_px),
        );
        assert_eq!((x.round() as i32, y.round() as i32), expected);
        let corner = format!("{},{} ", expected.0, expected.1);
        assert!(
            svg.contains(&corner),
            "the polyline passes through the mark: {svg}"
        );
    }

    #[test]
    fn text_from_data_is_escaped() {
        let p = plot(
            Kind::Bar,
            categories(&["<script>alert(1)</script>", "a&b", "\"q\""]),
            vec![series("<b>s</b>", &[Some(1.0), Some(2.0), Some(3.0)])],
        );
        for kind in [Kind::Bar, Kind::Pie, Kind::Line, Kind::StackedBar] {
            let svg = render(&Plot { kind, ..p.clone() }, 600, 300);
            assert_well_formed(&svg);
            assert!(!svg.contains("<script>"), "{kind:?}");
            assert!(!svg.contains("<b>"), "{kind:?}");
            assert!(svg.contains("&lt;script&gt;"), "{kind:?}");
            assert_eq!(marks(&svg), 3, "{kind:?}");
        }
    }

    #[test]
    fn empty_plots_say_so() {
        let cases = [
            plot(Kind::Line, hours(0), vec![]),
            plot(Kind::Bar, categories(&["a"]), vec![series("s", &[None])]),
            plot(
                Kind::StackedBar,
                categories(&["a", "b"]),
                vec![series("s", &[Some(0.0), Some(0.0)])],
            ),
            plot(
                Kind::Pie,
                categories(&["a"]),
                vec![series("s", &[Some(-1.0)])],
            ),
            plot(
                Kind::Line,
                categories(&["a"]),
                vec![series("s", &[Some(f64::NAN)])],
            ),
        ];
        for p in cases {
            let svg = render(&p, 600, 300);
            assert_well_formed(&svg);
            assert_eq!(marks(&svg), 0);
            assert!(svg.contains("No data for these filters"), "{:?}", p.kind);
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let many: Vec<String> = (0..500).map(|i| format!("category number {i}")).collect();
        let wide = Axis::Categories(many);
        let ramp: Vec<Option<f64>> = (0..500).map(|i| Some(i as f64 - 250.0)).collect();
        let odd = [
            Some(f64::INFINITY),
            Some(-1e300),
            Some(1e149),
            Some(-0.0),
            Some(5e-324),
        ];
        let cases = vec![
            (
                wide.clone(),
                vec![series("", &ramp), series("", &ramp[..10])],
            ),
            (hours(1), vec![series("one", &[Some(42.0)])]),
            (hours(1), vec![series("one", &[Some(1.0), Some(2.0)])]),
            (
                categories(&["a", "b", "c", "d", "e"]),
                vec![series("odd", &odd)],
            ),
            (
                categories(&["a", "b"]),
                vec![series("zeros", &[Some(0.0), Some(0.0)])],
            ),
            (categories(&[""]), vec![series("", &[Some(-3.0)])]),
        ];
        for (x, s) in cases {
            for kind in [Kind::Line, Kind::Bar, Kind::StackedBar, Kind::Pie] {
                for horizontal in [false, true] {
                    let p = Plot {
                        horizontal,
                        ..plot(kind, x.clone(), s.clone())
                    };
                    for (w, h) in [(900, 500), (0, 0), (100_000, 10)] {
                        assert_well_formed(&render(&p, w, h));
                    }
                }
            }
        }
    }

    #[test]
    fn mark_counts_hold_for_many_categories() {
        let names: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
        let values: Vec<Option<f64>> = (0..500).map(|i| (i % 7 != 0).then_some(i as f64)).collect();
        let expected = values.iter().flatten().count();
        let positive = values.iter().flatten().filter(|v| **v > 0.0).count();
        for (kind, want) in [
            (Kind::Line, expected),
            (Kind::Bar, expected),
            (Kind::StackedBar, positive),
            (Kind::Pie, positive),
        ] {
            let p = plot(
                kind,
                Axis::Categories(names.clone()),
                vec![series("s", &values)],
            );
            assert_eq!(marks(&render(&p, 900, 500)), want, "{kind:?}");
        }
    }

    /// The mark rule, restated independently of the renderer.
    fn expected_marks(p: &Plot) -> usize {
        let n = plot_len(&p.x);
        let plottable = |v: &&f64| v.is_finite() && v.abs() <= 1e150;
        let values = |s: &SeriesData| {
            s.values
                .iter()
                .take(n)
                .flatten()
                .filter(plottable)
                .copied()
                .collect::<Vec<f64>>()
        };
        match p.kind {
            Kind::Line | Kind::Bar => p.series.iter().map(|s| values(s).len()).sum(),
            Kind::StackedBar => p
                .series
                .iter()
                .map(|s| values(s).iter().filter(|v| **v != 0.0).count())
                .sum(),
            Kind::Pie => p
                .series
                .first()
                .map_or(0, |s| values(s).iter().filter(|v| **v > 0.0).count()),
        }
    }

    #[test]
    fn generated_plots_have_exactly_the_marks_their_data_implies() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let pool = [
            None,
            Some(0.0),
            Some(1.0),
            Some(-2.5),
            Some(1e6),
            Some(f64::NAN),
            Some(1e200),
            Some(0.001),
        ];
        for case in 0..300 {
            let n = next(30) as usize;
            let kind = [Kind::Line, Kind::Bar, Kind::StackedBar, Kind::Pie][case % 4];
            let x = if next(2) == 0 {
                hours(n)
            } else {
                Axis::Categories((0..n).map(|i| format!("c{i}")).collect())
            };
            let series = (0..next(5))
                .map(|s| {
                    let len = n + next(3) as usize; // rows past the x values are ignored
                    let values: Vec<Option<f64>> =
                        (0..len).map(|_| pool[next(8) as usize]).collect();
                    series(&format!("s{s}"), &values)
                })
                .collect();
            let p = Plot {
                horizontal: next(2) == 0,
                ..plot(kind, x, series)
            };
            let svg = render(&p, 300 + next(900) as u32, 150 + next(500) as u32);
            assert_well_formed(&svg);
            assert_eq!(marks(&svg), expected_marks(&p), "case {case}: {p:?}");
            assert_eq!(
                svg.contains("No data for these filters"),
                expected_marks(&p) == 0
            );
        }
    }

    #[test]
    fn legend_lists_series_with_their_colours() {
        let p = plot(
            Kind::Line,
            hours(2),
            vec![
                series("view", &[Some(1.0), Some(2.0)]),
                series("", &[Some(2.0), Some(1.0)]),
            ],
        );
        let svg = render(&p, 900, 400);
        let legend = &svg[svg.find("<g class=\"legend\"").unwrap()..];
        assert!(legend.contains(">view</text>") && legend.contains(">(blank)</text>"));
        assert!(legend.contains(&hex(0)) && legend.contains(&hex(1)));
        assert_eq!(legend.matches("class=\"mark\"").count(), 0);
        assert!(
            svg.contains("data-series=\"\""),
            "data keeps the empty name"
        );
        assert!(svg.contains("viewBox=\"0 0 900 400\""));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(human(1234567.0), "1,234,567");
        assert_eq!(human(-0.5), "-0.5");
        assert_eq!(human(-0.00001), "0");
        assert_eq!(human(2.0 / 3.0), "0.6667");
        assert_eq!(compact(12_500.0), "12.5k");
        assert_eq!(compact(2_000_000.0), "2M");
        assert_eq!(compact(250.0), "250");
        assert_eq!(
            nice_ticks(0.0, 105.0, 6),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(hour_ticks(22.0, 26.0, 3), vec![22.0, 24.0, 26.0]);
        assert_eq!(hour_ticks(0.0, 5.0, 10), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }
}
