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
//!
//! The parts: `data` cleans the values once, `scale` maps them to pixels
//! and labels the ticks, `cartesian` draws line and bar charts, `pie`
//! pies, and `svg` holds the hand-written SVG they share (marks, legend,
//! palette, escaping).

mod cartesian;
mod data;
mod pie;
mod scale;
mod svg;
#[cfg(test)]
pub(crate) mod tests;

use jiff::civil::DateTime;

use data::Prepared;
pub(crate) use svg::escape_xml;
use svg::message_svg;

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
        Kind::Pie => Ok(pie::pie(&data, size)),
        _ => cartesian::cartesian(plot, &data, size),
    };
    drawn.unwrap_or_else(|_| message_svg(size, "This chart could not be drawn"))
}
