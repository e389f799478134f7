//! Ephemeral models are never built: their SQL is inlined into each child as
//! a CTE, dbt-style, so the compiled SQL of every model runs on its own.

/// The CTE name an ephemeral model renders as.
pub fn cte_name(model: &str) -> String {
    format!("__lake_cte__{model}")
}

/// Prepends `ctes` (name, sql) to `sql`, merging with a leading `WITH`.
pub fn inject_ctes(sql: &str, ctes: &[(String, String)]) -> String {
    if ctes.is_empty() {
        return sql.to_string();
    }
    let defs = ctes
        .iter()
        .map(|(name, body)| format!("{name} as (\n{}\n)", body.trim().trim_end_matches(';')))
        .collect::<Vec<_>>()
        .join(",\n");
    let trimmed = sql.trim_start();
    let leading = &sql[..sql.len() - trimmed.len()];
    if trimmed.len() >= 5
        && trimmed[..4].eq_ignore_ascii_case("with")
        && trimmed[4..].starts_with(char::is_whitespace)
    {
        format!("{leading}with {defs},\n{}", trimmed[4..].trim_start())
    } else {
        format!("{leading}with {defs}\n{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_with_an_existing_with_clause() {
        let ctes = vec![("__lake_cte__e".to_string(), "select 1 as x".to_string())];
        assert_eq!(
            inject_ctes("with a as (select 2) select * from a", &ctes),
            "with __lake_cte__e as (\nselect 1 as x\n),\na as (select 2) select * from a"
        );
        assert_eq!(
            inject_ctes("select 1", &ctes),
            "with __lake_cte__e as (\nselect 1 as x\n)\nselect 1"
        );
    }
}
