//! DuckDB's values as the cells a template reads ([`Cell`]): integers,
//! floats, text, dates and timestamps keep their kind; the rest (times,
//! intervals, structs, maps, blobs) become text as DuckDB prints them.

use duckdb::types::Value;

use crate::query_port::Cell;

/// One DuckDB value as a cell.
pub fn cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Boolean(b) => Cell::Bool(b),
        Value::TinyInt(i) => Cell::Int(i.into()),
        Value::SmallInt(i) => Cell::Int(i.into()),
        Value::Int(i) => Cell::Int(i.into()),
        Value::BigInt(i) => Cell::Int(i),
        Value::UTinyInt(i) => Cell::Int(i.into()),
        Value::USmallInt(i) => Cell::Int(i.into()),
        Value::UInt(i) => Cell::Int(i.into()),
        Value::UBigInt(i) => whole(i.into()),
        Value::HugeInt(i) => whole(i),
        Value::UHugeInt(i) => i128::try_from(i).map_or(Cell::Float(i as f64), whole),
        Value::Float(f) => Cell::Float(f.into()),
        Value::Double(f) => Cell::Float(f),
        Value::Decimal(d) if d.scale() == 0 => whole(d.value()),
        Value::Decimal(d) => Cell::Float(d.value() as f64 / 10f64.powi(d.scale().into())),
        Value::Text(s) | Value::Enum(s) => Cell::Text(s),
        Value::Date32(days) => Cell::Date(days),
        Value::Timestamp(unit, v) => Cell::Timestamp(unit.to_micros(v)),
        Value::List(items) | Value::Array(items) => {
            Cell::List(items.into_iter().map(cell).collect())
        }
        Value::Union(inner) => cell(*inner),
        other => Cell::Text(text(&other)),
    }
}

/// A whole number, in 64 bits when it fits.
fn whole(i: i128) -> Cell {
    i64::try_from(i).map_or(Cell::BigInt(i), Cell::Int)
}

/// A value without a Jinja counterpart, as text.
fn text(value: &Value) -> String {
    match value {
        Value::Time64(unit, v) => {
            let micros = unit.to_micros(*v);
            let (h, m) = (micros / 3_600_000_000, micros / 60_000_000 % 60);
            let s = micros % 60_000_000;
            let fraction = s % 1_000_000;
            let secs = format!("{h:02}:{m:02}:{:02}", s / 1_000_000);
            match fraction {
                0 => secs,
                f => format!("{secs}.{f:06}"),
            }
        }
        Value::Blob(b) | Value::Geometry(b) => b.iter().map(|x| format!("\\x{x:02X}")).collect(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::types::{Decimal, TimeUnit};

    #[test]
    fn numbers_dates_and_lists_keep_their_kind() {
        assert_eq!(cell(Value::Int(3)), Cell::Int(3));
        assert_eq!(
            cell(Value::UBigInt(u64::MAX)),
            Cell::BigInt(u64::MAX.into())
        );
        assert_eq!(cell(Value::HugeInt(i128::MAX)), Cell::BigInt(i128::MAX));
        let d = Decimal::new(18, 2, 1250).expect("valid");
        assert_eq!(cell(Value::Decimal(d)), Cell::Float(12.5));
        let whole = Decimal::new(38, 0, 7).expect("valid");
        assert_eq!(cell(Value::Decimal(whole)), Cell::Int(7));
        assert_eq!(
            cell(Value::Timestamp(TimeUnit::Millisecond, 2)),
            Cell::Timestamp(2000)
        );
        assert_eq!(
            cell(Value::List(vec![Value::Null, Value::Text("a".into())])),
            Cell::List(vec![Cell::Null, Cell::Text("a".into())])
        );
        assert_eq!(
            cell(Value::Time64(TimeUnit::Microsecond, 3_723_000_001)),
            Cell::Text("01:02:03.000001".into())
        );
    }
}
