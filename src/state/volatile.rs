//! Whether a node reads something lake cannot see changing: the clock
//! (`now()`, `current_date`), chance (`random()`, `uuid()`), or files and
//! URLs (`read_csv(...)`, `FROM 'data.parquet'`). Such a node is rebuilt
//! every run unless its config says `volatile: false`.
//!
//! Detection reads DuckDB's own parse tree of the compiled SQL
//! (`json_serialize_sql`, which parses without binding, so it needs no
//! table to exist): every function call, table function and table name
//! in it, wherever it is nested (CTEs, subqueries, joins).

use serde_json::Value as Json;

use crate::sql::string_literal;
use crate::warehouse::Session;

/// Functions whose value changes from run to run on the same data.
const VOLATILE_FUNCTIONS: &[&str] = &[
    "now",
    "current_timestamp",
    "get_current_timestamp",
    "transaction_timestamp",
    "current_localtimestamp",
    "localtimestamp",
    "current_date",
    "today",
    "current_time",
    "get_current_time",
    "localtime",
    "random",
    "setseed",
    "uuid",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "nextval",
    "currval",
    "getenv",
];

/// SQL's clock keywords, written without parentheses.
const CLOCK_KEYWORDS: &[&str] = &[
    "current_date",
    "current_timestamp",
    "current_time",
    "localtimestamp",
    "localtime",
];

/// Table functions that compute rows from their arguments alone.
const PURE_TABLE_FUNCTIONS: &[&str] = &["range", "generate_series", "unnest"];

/// Why `sql` is volatile, or `None` when lake can track everything it
/// reads.
pub fn volatility(session: &Session, sql: &str) -> Option<String> {
    match parse_tree(session, sql) {
        Some(tree) => find(&tree),
        None => Some("lake cannot parse its SQL to see what it reads".into()),
    }
}

/// DuckDB's parse tree of `sql` (`json_serialize_sql`), `None` when it
/// does not parse.
pub fn parse_tree(session: &Session, sql: &str) -> Option<Json> {
    let query = format!("SELECT json_serialize_sql({})", string_literal(sql));
    session
        .query(&query)
        .ok()
        .and_then(|r| r.rows.first()?.first()?.clone())
        .and_then(|text| serde_json::from_str::<Json>(&text).ok())
        .filter(|tree| tree.get("error") == Some(&Json::Bool(false)))
}

/// The first volatile thing anywhere in the parse tree.
fn find(tree: &Json) -> Option<String> {
    match tree {
        Json::Object(map) => {
            if let Some(reason) = volatile_node(map) {
                return Some(reason);
            }
            map.values().find_map(find)
        }
        Json::Array(items) => items.iter().find_map(find),
        _ => None,
    }
}

fn volatile_node(map: &serde_json::Map<String, Json>) -> Option<String> {
    let text = |key: &str| map.get(key).and_then(Json::as_str).unwrap_or("");
    match text("type") {
        "FUNCTION" if VOLATILE_FUNCTIONS.contains(&text("function_name")) => {
            Some(format!("calls {}()", text("function_name")))
        }
        "TABLE_FUNCTION" => {
            let name = map
                .get("function")
                .and_then(|f| f.get("function_name"))
                .and_then(Json::as_str)
                .unwrap_or("");
            (!PURE_TABLE_FUNCTIONS.contains(&name)).then(|| format!("reads {name}(...)"))
        }
        // `current_date` without parentheses parses as a column.
        "COLUMN_REF" => match map
            .get("column_names")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
        {
            Some([Json::String(name)]) if CLOCK_KEYWORDS.contains(&name.as_str()) => {
                Some(format!("calls {name}()"))
            }
            _ => None,
        },
        "BASE_TABLE" if looks_like_file(text("table_name")) => {
            Some(format!("reads '{}'", text("table_name")))
        }
        _ => None,
    }
}

/// `FROM 'data/x.parquet'` or `FROM 's3://b/k.csv'`: DuckDB reads a file.
fn looks_like_file(name: &str) -> bool {
    name.contains('/') || name.contains("://") || name.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Json {
        // json_serialize_sql lives in the json extension lake provisions.
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let dir = crate::warehouse::extensions::extension_dir(None);
        conn.execute_batch(&format!(
            "SET extension_directory = '{}'; SET autoinstall_known_extensions = false; LOAD json",
            dir.display()
        ))
        .unwrap();
        let text: String = conn
            .query_row(
                "SELECT json_serialize_sql(CAST(? AS VARCHAR))",
                [sql],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn clock_chance_and_files_are_volatile() {
        let cases = [
            ("select now() as t", Some("calls now()")),
            ("select current_date as d", Some("calls current_date()")),
            ("select * from t where x < random()", Some("calls random()")),
            (
                "with a as (select * from read_csv('x.csv')) select * from a",
                Some("reads read_csv(...)"),
            ),
            (
                "select * from 'data/x.parquet'",
                Some("reads 'data/x.parquet'"),
            ),
            (
                "select * from lake.stage.events e join range(3) r on true",
                None,
            ),
            (
                "select date_trunc('hour', ts) as h, count(*) from lake.raw.x group by all",
                None,
            ),
        ];
        for (sql, want) in cases {
            assert_eq!(find(&parse(sql)).as_deref(), want, "{sql}");
        }
    }
}
