//! The axes: a linear [`Scale`] that plotters draws and the marks share for
//! their pixel positions, its ticks (round numbers, category slots, whole
//! hours) and the short labels of numbers and times.

use std::ops::Range;

use jiff::civil::DateTime;
use jiff::SignedDuration;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};

use super::svg::CHAR_W;

/// A linear axis that plotters draws (its ticks and their labels) and that the
/// marks use for their pixel positions, so marks and ticks always agree.
#[derive(Clone)]
pub(super) struct Scale {
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
    /// A value axis from `lo` to `hi` (0..1 when that is empty).
    pub(super) fn numbers(lo: f64, hi: f64) -> Scale {
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

    /// One slot per label, centred on 0, 1, 2 ...
    pub(super) fn slots(labels: Vec<String>, reversed: bool) -> Scale {
        let hi = labels.len().max(1) as f64 - 0.5;
        Scale {
            lo: -0.5,
            hi,
            reversed,
            ticks: Ticks::Slots(labels),
        }
    }

    /// Hours since `base` covering `offsets`, with a little room at both ends.
    pub(super) fn hours(base: DateTime, offsets: &[f64]) -> Scale {
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
    pub(super) fn at(&self, v: f64, (a, b): (i32, i32)) -> f64 {
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
    pub(super) fn label_width(&self) -> u32 {
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
pub(super) fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
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
    multiples(step, lo, hi, max)
}

/// Whole minutes, hours or days (hours since a midnight), at most `max` of them.
pub(super) fn hour_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
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
    multiples(step, lo, hi, max)
}

/// The multiples of `step` from `lo` to `hi`, at most `max` + 1 of them.
fn multiples(step: f64, lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .take(max + 1)
        .map(|k| k as f64 * step)
        .collect()
}

/// Tick labels: short ("12k", "1.5M", "0.25").
pub(super) fn compact(v: f64) -> String {
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
pub(super) fn human(v: f64) -> String {
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

/// "05-01 14:00": a day and an hour is what an hourly dashboard needs on its axis.
pub(super) fn short_time(t: &DateTime) -> String {
    format!(
        "{:02}-{:02} {:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}
