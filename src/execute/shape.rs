//! Whether a model's rows are the distinct rows of a row-by-row function
//! of one parent's rows (`select distinct a, f(b) from p where g(c)`).
//! Such a model's rows for a batch, once new parent rows arrive, are its
//! old rows of the batch plus those the new parent rows give, made
//! distinct: a recompute reads the parent's new rows, not all of them.
//! Read from DuckDB's parse tree, as volatility is (`state::volatile`).

use serde_json::Value as Json;

use crate::sql::string_literal;
use crate::state::volatile::parse_tree;
use crate::warehouse::Session;

/// Whether compiled `sql` is a distinct row-by-row projection of one table.
pub fn is_distinct_projection(session: &Session, sql: &str) -> bool {
    let Some(tree) = parse_tree(session, sql) else {
        return false;
    };
    let Some([statement]) = tree["statements"].as_array().map(Vec::as_slice) else {
        return false;
    };
    let node = &statement["node"];
    let mut functions = Vec::new();
    one_table_made_distinct(node)
        && row_by_row(&node["select_list"], &mut functions)
        && row_by_row(&node["where_clause"], &mut functions)
        && all_scalar(session, &functions)
}

/// `SELECT DISTINCT ... FROM <table> [WHERE ...] [ORDER BY ...]`: no CTE,
/// join, grouping, `DISTINCT ON`, limit, sample or time travel.
fn one_table_made_distinct(node: &Json) -> bool {
    let empty = |v: &Json| v.as_array().is_some_and(Vec::is_empty);
    let modifiers = node["modifiers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let distinct = |m: &Json| m["type"] == "DISTINCT_MODIFIER" && empty(&m["distinct_on_targets"]);
    let from = &node["from_table"];
    node["type"] == "SELECT_NODE"
        && modifiers.iter().any(distinct)
        && modifiers
            .iter()
            .all(|m| distinct(m) || m["type"] == "ORDER_MODIFIER")
        && empty(&node["cte_map"]["map"])
        && from["type"] == "BASE_TABLE"
        && from["sample"].is_null()
        && from["at_clause"].is_null()
        && empty(&node["group_expressions"])
        && empty(&node["group_sets"])
        && node["having"].is_null()
        && node["qualify"].is_null()
        && node["sample"].is_null()
}

/// Whether an expression tree computes each row from that row alone (no
/// window, subquery or aggregate clause); collects the functions it calls.
fn row_by_row(tree: &Json, functions: &mut Vec<String>) -> bool {
    match tree {
        Json::Object(map) => {
            let class = map.get("class").and_then(Json::as_str).unwrap_or("");
            if matches!(class, "WINDOW" | "SUBQUERY") {
                return false;
            }
            if class == "FUNCTION" {
                let aggregate_clause = !map.get("filter").is_none_or(Json::is_null)
                    || map.get("distinct") == Some(&Json::Bool(true));
                if aggregate_clause {
                    return false;
                }
                let name = map.get("function_name").and_then(Json::as_str);
                functions.push(name.unwrap_or_default().to_string());
            }
            map.values().all(|v| row_by_row(v, functions))
        }
        Json::Array(items) => items.iter().all(|v| row_by_row(v, functions)),
        _ => true,
    }
}

/// Whether every function named is a scalar function and nothing else (an
/// aggregate, a macro), as DuckDB's catalog lists them.
fn all_scalar(session: &Session, functions: &[String]) -> bool {
    if functions.is_empty() {
        return true;
    }
    let names: Vec<String> = functions.iter().map(|f| string_literal(f)).collect();
    let sql = format!(
        "SELECT count(DISTINCT function_name) FILTER (WHERE function_type = 'scalar') \
           - count(*) FILTER (WHERE function_type <> 'scalar') \
         FROM duckdb_functions() WHERE function_name IN ({})",
        names.join(", ")
    );
    let distinct_names = functions
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    session
        .query_count(&sql)
        .is_ok_and(|n| n == distinct_names as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::Warehouse;

    #[test]
    fn only_distinct_row_by_row_projections_of_one_table() {
        let dir = tempfile::tempdir().unwrap();
        let target = crate::project::profiles::Target::embedded(dir.path());
        let wh = Warehouse::start(&target).unwrap();
        let session = wh.session().unwrap();
        let cases = [
            (
                "select distinct click_id as session_id, os_name from lake.raw.d",
                true,
            ),
            (
                "select distinct *, lower(x) as y from r.d where a > 1 and b like 'x%'",
                true,
            ),
            ("select distinct a from t order by a", true),
            ("select a from t", false),
            ("select distinct on (a) a, b from t", false),
            ("select distinct a from t limit 3", false),
            ("select distinct a, count(*) from t group by a", false),
            ("select distinct max(a) over () from t", false),
            ("select distinct a from t join u using (k)", false),
            ("select distinct a from (select a from t)", false),
            (
                "with c as (select a from t) select distinct a from c",
                false,
            ),
            (
                "select distinct a from t where a in (select a from u)",
                false,
            ),
            ("select distinct a from t union select a from u", false),
            ("select distinct first(a) from t", false),
        ];
        for (sql, want) in cases {
            assert_eq!(is_distinct_projection(&session, sql), want, "{sql}");
        }
    }
}
