//! The SVG every chart writes by hand: the data marks (one element with
//! class `mark` per data point, with its data attributes and hover title),
//! the legend, the palette, escaping, and the pixel sizes they share.

use plotters::style::RGBColor;

use super::data::Prepared;
use super::scale::human;

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
pub(super) const MARGIN: u32 = 12;
/// Pixels per character at 12px sans-serif: an estimate, there are no font metrics.
pub(super) const CHAR_W: u32 = 7;
/// Height of one legend row.
const LEGEND_ROW: u32 = 18;

/// Series `i`'s colour, for plotters.
pub(super) fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// Series `i`'s colour, for hand-written SVG.
pub(super) fn hex(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
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
pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The `<svg>` element and its white background.
pub(super) fn svg_open(out: &mut String, (w, h): (u32, u32)) {
    out.push_str(&format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n"
    ));
}

/// A whole chart that only says `message`.
pub(super) fn message_svg(size: (u32, u32), message: &str) -> String {
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

/// One data mark: which value it shows and its shape in pixels.
pub(super) struct Mark {
    pub(super) series: usize,
    pub(super) x: usize,
    pub(super) value: f64,
    pub(super) colour: usize,
    pub(super) shape: Shape,
}

/// A mark's geometry in pixels.
pub(super) enum Shape {
    Circle { cx: f64, cy: f64, r: f64 },
    Rect { x: f64, y: f64, w: f64, h: f64 },
    Path(String),
}

/// Writes the marks inside `<g class="marks">`; `total` adds a share to pie titles.
pub(super) fn write_marks(out: &mut String, marks: &[Mark], data: &Prepared, total: Option<f64>) {
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

/// A share as "12.5%".
pub(super) fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Room for the longest legend entry, but never more than 30% of the chart.
pub(super) fn legend_width(entries: &[(String, usize)], width: u32) -> u32 {
    let longest = entries
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    (longest.min(32) as u32 * CHAR_W + 36).min(width * 3 / 10)
}

/// The legend (name to colour) down the right edge; "+N more" when it does not fit.
pub(super) fn write_legend(
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
