//! A query's rows as dbt hands them to templates: an agate table
//! (`table.columns[0].values()`, `table.columns['name']`, `table.rows`,
//! each row indexed by position or name, `table.column_names`), and
//! `load_result()`'s `{data, table, response}`. Dates and timestamps are
//! Python's `date`/`datetime` ([`super::py_datetime`]); numbers are plain
//! numbers (agate's Decimal prints `12.50` where these print `12.5`).

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use super::py_datetime;
use crate::query_port::{Cell, QueryTable};

/// The rows, converted once, shared by the table, its rows and columns.
#[derive(Debug)]
struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Rows {
    fn column(&self, key: &Value) -> Option<usize> {
        match key.as_str() {
            Some(name) => self.columns.iter().position(|c| c == name),
            None => key.as_usize().filter(|i| *i < self.columns.len()),
        }
    }
}

/// `run_query()`'s result.
pub fn table(t: QueryTable) -> Value {
    let rows = t
        .rows
        .into_iter()
        .map(|r| r.into_iter().map(cell).collect())
        .collect();
    Value::from_object(Table(Arc::new(Rows {
        columns: t.columns,
        rows,
    })))
}

/// `load_result()`'s dict: `data` (the rows as lists), `table`, `response`.
pub fn result(t: QueryTable) -> Value {
    let table = table(t);
    let data = table.get_attr("rows").unwrap_or_default();
    minijinja::context! {
        data => data,
        table => table,
        response => minijinja::context! { _message => "OK", code => "OK", rows_affected => -1 },
    }
}

fn cell(c: Cell) -> Value {
    match c {
        Cell::Null => Value::from(()),
        Cell::Bool(b) => Value::from(b),
        Cell::Int(i) => Value::from(i),
        Cell::BigInt(i) => Value::from(i),
        Cell::Float(f) => Value::from(f),
        Cell::Text(s) => Value::from(s),
        Cell::Date(days) => py_datetime::date_from_days(days).unwrap_or_else(|| Value::from(days)),
        Cell::Timestamp(us) => {
            py_datetime::datetime_from_micros(us).unwrap_or_else(|| Value::from(us))
        }
        Cell::List(items) => Value::from(items.into_iter().map(cell).collect::<Vec<_>>()),
    }
}

#[derive(Debug)]
struct Table(Arc<Rows>);

/// Iterates its rows, as an agate table does (`{% for row in table %}`);
/// its attributes are `columns`, `rows` and `column_names`.
impl Object for Table {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    /// Always true, as an agate table is in Python.
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let rows = &self.0;
        if let Some(i) = key.as_usize() {
            return (i < rows.rows.len()).then(|| Value::from_object(Row(rows.clone(), i)));
        }
        Some(match key.as_str()? {
            "columns" => Value::from_object(Columns(rows.clone())),
            "rows" => Value::from(
                (0..rows.rows.len())
                    .map(|i| Value::from_object(Row(rows.clone(), i)))
                    .collect::<Vec<_>>(),
            ),
            "column_names" => Value::from(rows.columns.clone()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.rows.len())
    }
}

/// `table.columns`: by position or by name.
#[derive(Debug)]
struct Columns(Arc<Rows>);

impl Object for Columns {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = self.0.column(key)?;
        Some(Value::from_object(Column(self.0.clone(), i)))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.columns.len())
    }
}

/// One column: `name`, `values()`, `values_distinct()`,
/// `values_without_nulls()`.
#[derive(Debug)]
struct Column(Arc<Rows>, usize);

/// Iterable and countable as its values, as an agate column is.
impl Object for Column {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(i) = key.as_usize() {
            return self.0.rows.get(i).map(|r| r[self.1].clone());
        }
        (key.as_str()? == "name").then(|| Value::from(self.0.columns[self.1].clone()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.rows.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _: &mut State<'_, '_>,
        method: &str,
        _: &[Value],
    ) -> Result<Value, Error> {
        let values = self.0.rows.iter().map(|r| r[self.1].clone());
        let picked: Vec<Value> = match method {
            "values" => values.collect(),
            "values_without_nulls" => values.filter(|v| !v.is_none()).collect(),
            "values_distinct" => {
                let mut seen = Vec::new();
                for v in values {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                seen
            }
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("an agate column has no method `{other}` in lake; it has values(), values_distinct() and values_without_nulls()"),
                ))
            }
        };
        Ok(Value::from(picked))
    }
}

/// One row: by position or by column name, iterable, with `keys()`,
/// `values()`, `items()` and `get()`.
#[derive(Debug)]
struct Row(Arc<Rows>, usize);

impl Object for Row {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = self.0.column(key)?;
        Some(self.0.rows[self.1][i].clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.columns.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (names, cells) = (&self.0.columns, &self.0.rows[self.1]);
        Ok(match method {
            "keys" => Value::from(names.clone()),
            "values" => Value::from(cells.clone()),
            "items" => Value::from(
                names
                    .iter()
                    .zip(cells)
                    .map(|(n, v)| Value::from(vec![Value::from(n.clone()), v.clone()]))
                    .collect::<Vec<_>>(),
            ),
            "get" => {
                let key = args.first().cloned().unwrap_or_default();
                self.get_value(&key)
                    .unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::from(())))
            }
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("an agate row has no method `{other}` in lake; it has keys(), values(), items() and get()"),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str) -> String {
        let t = QueryTable {
            columns: vec!["method".into(), "n".into(), "day".into()],
            rows: vec![
                vec![Cell::Text("card".into()), Cell::Int(2), Cell::Date(19_783)],
                vec![Cell::Text("bank".into()), Cell::Null, Cell::Date(0)],
                vec![Cell::Text("card".into()), Cell::Float(0.5), Cell::Null],
            ],
        };
        let mut env = minijinja::Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.render_str(
            template,
            minijinja::context! { t => table(t.clone()), r => result(t) },
        )
        .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn columns_and_rows_read_as_in_dbt() {
        assert_eq!(
            render("{{ t.columns[0].values() | join(',') }}"),
            "card,bank,card"
        );
        assert_eq!(
            render("{{ t.columns['method'].values_distinct() | join(',') }}"),
            "card,bank"
        );
        assert_eq!(
            render("{{ t.columns['n'].values_without_nulls() | join(',') }}"),
            "2,0.5"
        );
        assert_eq!(
            render("{{ t.columns[1].name }} {{ t.columns | length }}"),
            "n 3"
        );
        assert_eq!(render("{{ t.column_names | join(',') }}"), "method,n,day");
        assert_eq!(
            render("{% for row in t %}{{ row[0] }};{% endfor %}{{ t | length }}"),
            "card;bank;card;3"
        );
        assert_eq!(
            render("{{ t.columns[0] | length }} {{ t.columns[0] | join(',') }}"),
            "3 card,bank,card"
        );
        assert_eq!(
            render("{% for row in t.rows %}{{ row[0] }}={{ row['n'] }}/{{ row.day }};{% endfor %}"),
            "card=2/2024-03-01;bank=None/1970-01-01;card=0.5/None;"
        );
        assert_eq!(render("{{ t.rows[0].day.strftime('%d.%m') }}"), "01.03");
        assert_eq!(
            render("{{ 'yes' if t.rows[0].day and t and t.columns[0] else 'no' }}"),
            "yes"
        );
        assert_eq!(
            render("{{ t.rows[1].keys() | join(',') }} {{ t.rows[1].get('x', 7) }}"),
            "method,n,day 7"
        );
        assert_eq!(
            render("{{ r['data'][0][1] }} {{ r.table.rows | length }} {{ r.response.code }}"),
            "2 3 OK"
        );
    }

    #[test]
    fn what_agate_has_not_is_named() {
        let unknown = render("{{ t.columns[0].print_table() }}");
        assert!(unknown.contains("has no method `print_table`"), "{unknown}");
        assert!(render("{{ t.columns['nope'].values() }}").starts_with("error"));
    }
}
