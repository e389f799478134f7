//! `modules.datetime`: the part of Python's `datetime` module dbt projects
//! use in templates (`datetime.now()`, `date.today()`, `datetime(2024, 1,
//! 2)`, `timedelta(days=3)`, `.strftime('%Y-%m-%d')`, `.isoformat()`), so
//! a date computed while rendering is written into the SQL as dbt writes
//! it. Python's operators on them (`now() - timedelta(days=1)`) are not
//! Jinja operators here: a model doing arithmetic gets minijinja's error
//! at its line.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use jiff::civil::{Date, DateTime};
use jiff::{Timestamp, ZonedDateTime};
use minijinja::value::{from_args, DynObject, Kwargs, Object, Rest, Value};
use minijinja::{Error, ErrorKind, State};

/// The `modules` global: `modules.datetime`.
pub fn modules() -> Value {
    minijinja::context! { datetime => Value::from_object(Module) }
}

/// `modules.datetime`.
#[derive(Debug)]
struct Module;

impl Object for Module {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let kind = match key.as_str()? {
            "datetime" => Kind::DateTime,
            "date" => Kind::Date,
            "timedelta" => Kind::TimeDelta,
            _ => return None,
        };
        Some(Value::from_object(kind))
    }
}

/// A class of the module: called to construct, with class methods.
#[derive(Debug, Clone, Copy)]
enum Kind {
    DateTime,
    Date,
    TimeDelta,
}

impl Object for Kind {
    fn call(self: &Arc<Self>, _: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        match **self {
            Kind::DateTime => {
                let (parts,): (Rest<i64>,) = from_args(args)?;
                if parts.len() < 3 || parts.len() > 7 {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "datetime() takes year, month, day[, hour, minute, second, microsecond]",
                    ));
                }
                let part = |i: usize| parts.get(i).copied().unwrap_or(0);
                let small = |i: usize| i8::try_from(part(i)).map_err(invalid);
                let dt = DateTime::new(
                    i16::try_from(part(0)).map_err(invalid)?,
                    small(1)?,
                    small(2)?,
                    small(3)?,
                    small(4)?,
                    small(5)?,
                    i32::try_from(part(6) * 1000).map_err(invalid)?,
                )
                .map_err(invalid)?;
                Ok(PyDateTime::value(dt, false))
            }
            Kind::Date => {
                let (y, m, d): (i16, i8, i8) = from_args(args)?;
                let date = Date::new(y, m, d).map_err(invalid)?;
                Ok(PyDateTime::value(
                    date.to_datetime(jiff::civil::Time::midnight()),
                    true,
                ))
            }
            Kind::TimeDelta => time_delta(args),
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let date_only = matches!(**self, Kind::Date);
        match method {
            "now" | "today" => Ok(PyDateTime::value(
                ZonedDateTime::now().datetime(),
                date_only,
            )),
            "utcnow" => Ok(PyDateTime::value(
                Timestamp::now()
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .datetime(),
                date_only,
            )),
            "strptime" => {
                let (text, format): (String, String) = from_args(args)?;
                let parsed =
                    jiff::fmt::strtime::parse(python_format(&format), &text).map_err(invalid)?;
                let dt = match parsed.to_datetime() {
                    Ok(dt) => dt,
                    Err(_) => parsed
                        .to_date()
                        .map_err(invalid)?
                        .to_datetime(jiff::civil::Time::midnight()),
                };
                Ok(PyDateTime::value(dt, date_only))
            }
            "fromisoformat" => {
                let (text,): (String,) = from_args(args)?;
                let dt = match text.parse::<DateTime>() {
                    Ok(dt) => dt,
                    Err(_) => text
                        .parse::<Date>()
                        .map_err(invalid)?
                        .to_datetime(jiff::civil::Time::midnight()),
                };
                Ok(PyDateTime::value(dt, date_only))
            }
            other => Err(unknown(other)),
        }
    }
}

/// `timedelta(days=0, seconds=0, microseconds=0, milliseconds=0,
/// minutes=0, hours=0, weeks=0)`, positionally or by name.
fn time_delta(args: &[Value]) -> Result<Value, Error> {
    let (positional, kwargs): (Rest<f64>, Kwargs) = from_args(args)?;
    const NAMES: [&str; 7] = [
        "days",
        "seconds",
        "microseconds",
        "milliseconds",
        "minutes",
        "hours",
        "weeks",
    ];
    const MICROS: [f64; 7] = [86_400e6, 1e6, 1.0, 1e3, 60e6, 3_600e6, 604_800e6];
    let mut micros = 0.0;
    for (i, name) in NAMES.iter().enumerate() {
        let value = match positional.get(i) {
            Some(v) => *v,
            None => kwargs.get::<Option<f64>>(name)?.unwrap_or(0.0),
        };
        micros += value * MICROS[i];
    }
    kwargs.assert_all_used()?;
    Ok(Value::from_object(TimeDelta {
        micros: micros.round() as i64,
    }))
}

/// `run_started_at` as dbt has it: a datetime in UTC (printed
/// `2024-01-02 03:04:05.123456+00:00`); `rfc3339` as lake records it,
/// kept as text should it not parse.
pub fn run_started_at(rfc3339: &str) -> Value {
    match rfc3339.parse::<Timestamp>() {
        Ok(ts) => Value::from_object(PyDateTime {
            dt: ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime(),
            date_only: false,
            utc: true,
        }),
        Err(_) => Value::from(rfc3339),
    }
}

/// A DATE the warehouse returned (days since 1970-01-01) as Python's
/// `datetime.date`, as agate gives it to dbt; `None` past year 9999.
pub fn date_from_days(days: i32) -> Option<Value> {
    let epoch = Date::new(1970, 1, 1).ok()?;
    let date = epoch
        .checked_add(jiff::Span::new().try_days(days).ok()?)
        .ok()?;
    Some(PyDateTime::value(
        date.to_datetime(jiff::civil::Time::midnight()),
        true,
    ))
}

/// A TIMESTAMP the warehouse returned (microseconds since 1970-01-01) as
/// a naive `datetime.datetime`; `None` outside jiff's range.
pub fn datetime_from_micros(micros: i64) -> Option<Value> {
    let ts = Timestamp::from_microsecond(micros).ok()?;
    let dt = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime();
    Some(PyDateTime::value(dt, false))
}

/// A `datetime.datetime` or `datetime.date` value.
#[derive(Debug)]
struct PyDateTime {
    dt: DateTime,
    /// A `date`: prints and formats without the time.
    date_only: bool,
    /// Aware, in UTC: prints `+00:00` after the time.
    utc: bool,
}

impl PyDateTime {
    fn value(dt: DateTime, date_only: bool) -> Value {
        Value::from_object(PyDateTime {
            dt,
            date_only,
            utc: false,
        })
    }
}

impl Object for PyDateTime {
    /// Always true, as in Python (an object without entries would be false).
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let dt = &self.dt;
        let v = match key.as_str()? {
            "year" => i64::from(dt.year()),
            "month" => i64::from(dt.month()),
            "day" => i64::from(dt.day()),
            "hour" => i64::from(dt.hour()),
            "minute" => i64::from(dt.minute()),
            "second" => i64::from(dt.second()),
            "microsecond" => i64::from(dt.subsec_nanosecond() / 1000),
            _ => return None,
        };
        Some(Value::from(v))
    }

    fn call_method(
        self: &Arc<Self>,
        _: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (format,): (String,) = from_args(args)?;
                let text =
                    jiff::fmt::strtime::format(python_format(&format), self.dt).map_err(invalid)?;
                Ok(Value::from(text))
            }
            "isoformat" => Ok(Value::from(self.isoformat('T'))),
            "date" => Ok(PyDateTime::value(self.dt, true)),
            "timestamp" => {
                let ts = self
                    .dt
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .map_err(invalid)?
                    .timestamp();
                Ok(Value::from(ts.as_microsecond() as f64 / 1e6))
            }
            "weekday" => Ok(Value::from(self.dt.weekday().to_monday_zero_offset())),
            "isoweekday" => Ok(Value::from(self.dt.weekday().to_monday_one_offset())),
            other => Err(unknown(other)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat(' '))
    }

    /// `<`, `==`, ... compare the instants, as in Python.
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<Self>()?;
        Some(self.dt.cmp(&other.dt))
    }
}

impl PyDateTime {
    /// Python's `isoformat(sep)`: `2024-01-02`, `2024-01-02T03:04:05`,
    /// with `.ffffff` only when there are microseconds.
    fn isoformat(&self, sep: char) -> String {
        let dt = &self.dt;
        let date = format!("{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day());
        if self.date_only {
            return date;
        }
        let micros = dt.subsec_nanosecond() / 1000;
        let fraction = if micros == 0 {
            String::new()
        } else {
            format!(".{micros:06}")
        };
        let zone = if self.utc { "+00:00" } else { "" };
        format!(
            "{date}{sep}{:02}:{:02}:{:02}{fraction}{zone}",
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
}

/// A `datetime.timedelta`.
#[derive(Debug)]
struct TimeDelta {
    micros: i64,
}

impl Object for TimeDelta {
    /// As in Python: only a zero duration is false.
    fn is_true(self: &Arc<Self>) -> bool {
        self.micros != 0
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (days, rest) = (
            self.micros.div_euclid(86_400_000_000),
            self.micros.rem_euclid(86_400_000_000),
        );
        let v = match key.as_str()? {
            "days" => days,
            "seconds" => rest / 1_000_000,
            "microseconds" => rest % 1_000_000,
            _ => return None,
        };
        Some(Value::from(v))
    }

    fn call_method(
        self: &Arc<Self>,
        _: &mut State<'_, '_>,
        method: &str,
        _: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => Ok(Value::from(self.micros as f64 / 1e6)),
            other => Err(unknown(other)),
        }
    }

    /// Python's `str(timedelta)`: `1 day, 2:00:00`, `-1 day, 23:59:00`.
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.micros.div_euclid(86_400_000_000);
        let rest = self.micros.rem_euclid(86_400_000_000);
        let (secs, micros) = (rest / 1_000_000, rest % 1_000_000);
        if days != 0 {
            let plural = if days.abs() == 1 { "" } else { "s" };
            write!(f, "{days} day{plural}, ")?;
        }
        write!(f, "{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        Ok(())
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<Self>()?;
        Some(self.micros.cmp(&other.micros))
    }
}

/// Python's `%f` is always six digits; jiff's is as many as needed.
fn python_format(format: &str) -> String {
    format.replace("%f", "%6f")
}

fn invalid(e: impl fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("modules.datetime: {e}"),
    )
}

fn unknown(method: &str) -> Error {
    Error::new(
        ErrorKind::UnknownMethod,
        format!("modules.datetime has no `{method}` in lake"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        env.add_global("run_started_at", run_started_at("2024-03-05T06:07:08.5Z"));
        env.render_str(template, ()).unwrap()
    }

    #[test]
    fn dates_print_and_format_as_python_prints_them() {
        let dt = "modules.datetime.datetime(2024, 1, 2, 3, 4, 5)";
        assert_eq!(render(&format!("{{{{ {dt} }}}}")), "2024-01-02 03:04:05");
        assert_eq!(
            render(&format!("{{{{ {dt}.isoformat() }}}}")),
            "2024-01-02T03:04:05"
        );
        assert_eq!(
            render(&format!("{{{{ {dt}.strftime('%Y%m%d %f') }}}}")),
            "20240102 000000"
        );
        assert_eq!(
            render(&format!("{{{{ {dt}.date() }}}} {{{{ {dt}.weekday() }}}}")),
            "2024-01-02 1"
        );
        assert_eq!(render("{{ modules.datetime.date(2024, 2, 29).day }}"), "29");
        // Truthy as in Python: a date always, a duration unless zero.
        assert_eq!(
            render("{{ run_started_at and modules.datetime.timedelta(days=1) and not modules.datetime.timedelta() }}"),
            "True"
        );
        assert_eq!(
            render("{{ modules.datetime.datetime.strptime('2024-07-15', '%Y-%m-%d') }}"),
            "2024-07-15 00:00:00"
        );
        assert_eq!(
            render("{{ modules.datetime.timedelta(hours=36).days }}"),
            "1"
        );
        assert_eq!(
            render("{{ modules.datetime.timedelta(days=1, hours=2) }}"),
            "1 day, 2:00:00"
        );
        assert_eq!(
            render("{{ modules.datetime.timedelta(minutes=-1) }}"),
            "-1 day, 23:59:00"
        );
        let (t0, t1) = (
            "modules.datetime.datetime(2024, 1, 1)",
            "modules.datetime.datetime(2024, 6, 1)",
        );
        assert_eq!(
            render(&format!(
                "{{{{ {t0} < {t1} }}}} {{{{ {t0} == {t1} }}}} {{{{ {t0} == {t0} }}}}"
            )),
            "True False True"
        );
        assert_eq!(
            render("{{ modules.datetime.timedelta(1, 30).total_seconds() }}"),
            "86430.0"
        );
        assert_eq!(
            render("{{ run_started_at }}"),
            "2024-03-05 06:07:08.500000+00:00"
        );
        assert_eq!(
            render("{{ run_started_at.strftime('%Y-%m-%d') }}"),
            "2024-03-05"
        );
    }
}
