//! The chart's promises, checked on rendered SVG: one `mark` per data point,
//! marks where plotters maps the data, escaped text, well-formed XML.

use jiff::civil::date;
use jiff::SignedDuration;
use plotters::coord::ranged1d::Ranged;

use super::cartesian::{bar_marks, draw_frame, stacked_marks, Frame, Layout};
use super::data::{plot_len, Prepared};
use super::scale::{compact, hour_ticks, human, nice_ticks};
use super::svg::{hex, Shape};
use super::*;

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

/// The plotters pass alone for a 600x300 chart with a 50px legend: the
/// cleaned data, its layout, the frame and the SVG plotters wrote.
fn framed(p: &Plot) -> (Prepared, Layout, Frame, String) {
    let data = Prepared::new(p);
    let layout = Layout::new(p, &data, (600, 300), 50);
    let mut svg = String::new();
    let frame = draw_frame(&mut svg, p.kind, &data, &layout, (600, 300)).unwrap();
    (data, layout, frame, svg)
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
    let (data, _, frame, _) = framed(&p);
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
    let (data, _, frame, _) = framed(&p);
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
    let (_, layout, frame, svg) = framed(&p);
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
                let values: Vec<Option<f64>> = (0..len).map(|_| pool[next(8) as usize]).collect();
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
