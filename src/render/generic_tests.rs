//! SQL for the generic data tests. Each query returns the failing rows, so
//! a test passes when it returns none (dbt's convention).

use crate::nodes::Relationship;
use crate::project::properties::TestKind;
use crate::project::GenericTest;
use crate::sql::{identifier, string_literal};
use serde_json::Value as Json;

/// The failing-rows query of `test` against `relation` (already rendered);
/// `to_relation` is the rendered parent of a `relationships` test.
pub fn test_sql(test: &GenericTest, relation: &str, to_relation: Option<&str>) -> String {
    let col = column_sql(test);
    let Some(kind) = TestKind::from_name(&test.kind) else {
        // Loading refuses unknown kinds; should one get here, the test
        // errors when run instead of passing without checking anything.
        return format!(
            "select error({})\n",
            string_literal(&format!("unknown data test `{}`", test.kind))
        );
    };
    match kind {
        TestKind::NotNull => format!("select *\nfrom {relation}\nwhere {col} is null\n"),
        TestKind::Unique => format!(
            "select {col} as unique_field, count(*) as n_records\nfrom {relation}\nwhere {col} is not null\ngroup by {col}\nhaving count(*) > 1\n"
        ),
        TestKind::AcceptedValues => {
            let values = match test.args.get("values") {
                Some(Json::Array(items)) => items.iter().map(sql_literal).collect::<Vec<_>>().join(", "),
                Some(other) => sql_literal(other),
                None => String::new(),
            };
            format!(
                "select {col} as value_field, count(*) as n_records\nfrom {relation}\nwhere {col} is not null and {col} not in ({values})\ngroup by {col}\n"
            )
        }
        TestKind::Relationships => {
            let r = relationship(test, to_relation.unwrap_or("").to_string());
            format!(
                "select child.{col} as from_field\nfrom {relation} as child\nleft join {parent} as parent on child.{col} = parent.{field}\nwhere child.{col} is not null and parent.{field} is null\n",
                col = r.column,
                parent = r.parent,
                field = r.field
            )
        }
    }
}

/// What a test checks: its column, quoted, or a model-level test's
/// `column_name:` argument, an expression used as written (as dbt does).
fn column_sql(test: &GenericTest) -> String {
    match (&test.column, test.args.get("column_name")) {
        (Some(c), _) => identifier(c),
        (None, Some(Json::String(expression))) => expression.clone(),
        _ => "*".into(),
    }
}

/// The sides of a `relationships` test whose `to` rendered as `parent`.
pub fn relationship(test: &GenericTest, parent: String) -> Relationship {
    let ident = |v: Option<&str>| v.map(identifier).unwrap_or_default();
    Relationship {
        column: column_sql(test),
        parent,
        field: ident(test.args.get("field").and_then(Json::as_str)),
    }
}

fn sql_literal(v: &Json) -> String {
    match v {
        Json::String(s) => string_literal(s),
        Json::Null => "null".into(),
        other => other.to_string(),
    }
}
