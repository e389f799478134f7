//! Line, bar and stacked bar charts: plotters lays out and draws the frame
//! (axes, ticks, grid, axis titles, the lines of a line chart), then the
//! marks are written at the pixels of plotters' own coordinate mapping.

use plotters::prelude::*;

use super::data::Prepared;
use super::scale::Scale;
use super::svg::{
    colour, legend_width, truncate, write_legend, write_marks, Mark, Shape, CHAR_W, MARGIN,
};
use super::{Kind, Plot};

/// plotters' SVG backend writes `font-size` as the requested size / 1.24.
const FONT_12: f64 = 12.0 * 1.24;

/// Where the frame sits and how it reads: decided before plotters draws.
pub(super) struct Layout {
    /// plotters' horizontal and vertical axes.
    pub(super) x: Scale,
    pub(super) y: Scale,
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
    /// Decides scales, label room and tick counts for a chart of `(w, h)`
    /// pixels with `legend_w` of them kept for the legend.
    pub(super) fn new(plot: &Plot, data: &Prepared, (w, h): (u32, u32), legend_w: u32) -> Layout {
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
pub(super) struct Frame {
    x: Scale,
    y: Scale,
    /// Pixel ends for `x.lo` and `x.hi`; y runs bottom to top like plotters' Cartesian2d.
    pub(super) x_px: (i32, i32),
    pub(super) y_px: (i32, i32),
    horizontal: bool,
}

impl Frame {
    /// The pixel of data point (`x`, `y`).
    pub(super) fn point(&self, x: f64, y: f64) -> (f64, f64) {
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
pub(super) fn cartesian(plot: &Plot, data: &Prepared, size: (u32, u32)) -> DrawResult<String> {
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
pub(super) fn draw_frame(
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

/// One dot per value, on the line plotters drew.
pub(super) fn line_marks(data: &Prepared, frame: &Frame, positions: &[f64]) -> Vec<Mark> {
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
pub(super) fn bar_marks(data: &Prepared, frame: &Frame) -> Vec<Mark> {
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
pub(super) fn stacked_marks(data: &Prepared, frame: &Frame) -> Vec<Mark> {
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
