//! Pie charts, written directly (no axes to lay out): one arc path per
//! slice, percentages inside the slices that have room, shares in the legend.

use super::data::Prepared;
use super::svg::{legend_width, percent, svg_open, write_legend, write_marks, Mark, Shape, MARGIN};

/// A pie needs no axes, so it is written directly: one arc path per slice,
/// percentages inside the slices that have room, the shares in the legend.
pub(super) fn pie(data: &Prepared, size: (u32, u32)) -> String {
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

/// The percentage written inside a slice, at `turn` on the circle.
fn slice_label(centre: (f64, f64), r: f64, turn: f64, share: f64) -> String {
    let (x, y) = on_circle(centre, r * 0.65, turn);
    format!(
        "<text x=\"{x:.1}\" y=\"{:.1}\">{}</text>\n",
        y + 4.0,
        percent(share)
    )
}
