//! Enforced contracts, the pure half: the statement that asks DuckDB for
//! a query's output columns without running it, the comparison of those
//! columns with the declared ones, and the error a person reads when they
//! differ. The runner (`execute::node_runner`) asks before it writes, so a
//! model that breaks its contract never replaces the table its readers use.
//!
//! Types are compared after normalising DuckDB's aliases (`int` is
//! `INTEGER`, `text` is `VARCHAR`, `datetime` is `TIMESTAMP`, ...; the
//! list is DuckDB's own, from `default_types.cpp`), case-insensitively,
//! inside lists, arrays, structs, maps and unions too.

use crate::nodes::{Contract, Node};

/// `DESCRIBE` of the model's query: DuckDB binds it and reports the name
/// and type of every output column, without running it.
pub fn describe(sql: &str) -> String {
    format!("DESCRIBE\n{}", super::body(sql))
}

/// One way the query's columns differ from the declared ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// A declared column the query does not return.
    Missing {
        /// Column name as declared.
        name: String,
        /// One-based position in the declaration.
        declared_at: usize,
    },
    /// A column the query returns that is not declared.
    Undeclared {
        /// Column name as the query returns it.
        name: String,
        /// One-based position in the query's output.
        returned_at: usize,
        /// Its type, as DuckDB reports it.
        data_type: String,
    },
    /// A column in both, with another type.
    Retyped {
        /// Column name as declared.
        name: String,
        /// One-based position in the declaration.
        declared_at: usize,
        /// Declared type, normalised.
        declared: String,
        /// The query's type, normalised.
        returned: String,
    },
    /// A column in both, in another place relative to the others.
    Moved {
        /// Column name as declared.
        name: String,
        /// One-based position in the declaration.
        declared_at: usize,
        /// One-based position in the query's output.
        returned_at: usize,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Missing { name, declared_at } => write!(
                f,
                "column {declared_at} `{name}`: declared, not returned by the query"
            ),
            Difference::Undeclared {
                name,
                returned_at,
                data_type,
            } => write!(
                f,
                "column `{name}` ({data_type}): returned by the query as column {returned_at}, not declared"
            ),
            Difference::Retyped {
                name,
                declared_at,
                declared,
                returned,
            } => write!(
                f,
                "column {declared_at} `{name}`: declared {declared}, the query returns {returned}"
            ),
            Difference::Moved {
                name,
                declared_at,
                returned_at,
            } => write!(
                f,
                "column `{name}`: declared as column {declared_at}, the query returns it as column {returned_at}"
            ),
        }
    }
}

/// Every difference between the declared columns and the query's
/// `(name, type)` columns, in declaration order then query order; empty
/// when the contract is met. Names match case-insensitively, as DuckDB
/// resolves them.
pub fn compare(contract: &Contract, returned: &[(String, String)]) -> Vec<Difference> {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let mut out = Vec::new();
    for (i, c) in contract.columns.iter().enumerate() {
        match returned.iter().find(|(n, _)| same(n, &c.name)) {
            None => out.push(Difference::Missing {
                name: c.name.clone(),
                declared_at: i + 1,
            }),
            Some((_, t)) => {
                let (declared, returned) = (normalize_type(&c.data_type), normalize_type(t));
                if declared != returned {
                    out.push(Difference::Retyped {
                        name: c.name.clone(),
                        declared_at: i + 1,
                        declared,
                        returned,
                    });
                }
            }
        }
    }
    for (i, (n, t)) in returned.iter().enumerate() {
        if !contract.columns.iter().any(|c| same(&c.name, n)) {
            out.push(Difference::Undeclared {
                name: n.clone(),
                returned_at: i + 1,
                data_type: normalize_type(t),
            });
        }
    }
    // Order: the columns both sides have must come in the same sequence.
    // Missing and undeclared columns are reported above; they do not make
    // every later column count as moved.
    let shared_declared: Vec<(usize, &str)> = contract
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| returned.iter().any(|(n, _)| same(n, &c.name)))
        .map(|(i, c)| (i + 1, c.name.as_str()))
        .collect();
    let shared_returned: Vec<usize> = returned
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| contract.columns.iter().any(|c| same(&c.name, n)))
        .map(|(i, _)| i + 1)
        .collect();
    for (k, (declared_at, name)) in shared_declared.iter().enumerate() {
        let returned_at = returned
            .iter()
            .position(|(n, _)| same(n, name))
            .map_or(0, |p| p + 1);
        if shared_returned.get(k) != Some(&returned_at) {
            out.push(Difference::Moved {
                name: name.to_string(),
                declared_at: *declared_at,
                returned_at,
            });
        }
    }
    out
}

/// The error of a node whose query breaks its contract: what differs,
/// where the contract is declared, and how to fix it.
pub fn violation(node: &Node, contract: &Contract, differences: &[Difference]) -> String {
    let shown = crate::diagnostic::display_path(&contract.declared_in);
    let model = node.relation.as_ref().map_or_else(
        || node.name.clone(),
        |r| format!("{}.{}", r.schema, r.identifier),
    );
    let mut lines = vec![format!("contract of {model} ({shown}) is not met:")];
    lines.extend(differences.iter().map(|d| format!("  {d}")));
    lines.push(match contract.line {
        Some(l) => format!("  --> {shown}:{l}"),
        None => format!("  --> {shown}"),
    });
    let kind = match node.config.materialized {
        crate::project::Materialization::View => "view",
        _ => "table",
    };
    lines.push(format!(
        "  = help: make the query return exactly the declared columns, in this order (cast where a type \
         differs: `cast(sum(x) as bigint) as total`), or change the declaration; nothing was written, \
         the {kind} is as it was"
    ));
    lines.join("\n")
}

/// A type in DuckDB's canonical spelling: aliases resolved, keywords in
/// upper case, `DECIMAL` with its default width and scale, `VARCHAR`'s
/// ignored length dropped. An unknown name (an enum, a user type) is only
/// upper-cased, so it still compares case-insensitively.
pub fn normalize_type(t: &str) -> String {
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = t.trim();
    // `INTEGER[]`, `INTEGER[3]`, `INTEGER[][]`: the element, then the suffix.
    if let Some(inner) = t.strip_suffix(']') {
        if let Some(open) = matching_open(inner) {
            let size = inner[open + 1..].trim();
            return format!("{}[{size}]", normalize_type(&inner[..open]));
        }
    }
    let (name, args) = match top_level_paren(t) {
        Some(open) if t.ends_with(')') => (t[..open].trim(), Some(&t[open + 1..t.len() - 1])),
        _ => (t, None),
    };
    let upper = name.to_ascii_uppercase();
    let canonical = alias(&upper).unwrap_or(upper.as_str());
    match (canonical, args) {
        ("DECIMAL", None) => "DECIMAL(18,3)".into(),
        ("DECIMAL", Some(a)) => {
            let parts: Vec<&str> = a.split(',').map(str::trim).collect();
            match parts.as_slice() {
                [w] => format!("DECIMAL({w},0)"),
                [w, s] => format!("DECIMAL({w},{s})"),
                _ => format!("DECIMAL({a})"),
            }
        }
        ("VARCHAR", _) => "VARCHAR".into(),
        ("TIMESTAMP", Some(p)) => match p.trim().parse::<u8>() {
            Ok(0) => "TIMESTAMP_S".into(),
            Ok(1..=3) => "TIMESTAMP_MS".into(),
            Ok(4..=6) => "TIMESTAMP".into(),
            Ok(_) => "TIMESTAMP_NS".into(),
            Err(_) => format!("TIMESTAMP({p})"),
        },
        ("LIST", Some(a)) => format!("{}[]", normalize_type(a)),
        ("MAP", Some(a)) => format!(
            "MAP({})",
            split_top_level(a)
                .iter()
                .map(|p| normalize_type(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ("STRUCT" | "UNION", Some(a)) => format!(
            "{canonical}({})",
            split_top_level(a)
                .iter()
                .map(|field| normalize_field(field))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (c, Some(a)) => format!("{c}({a})"),
        (c, None) => c.to_string(),
    }
}

/// `name TYPE` of a struct or union member: the name in lower case, quoted
/// only where DuckDB would quote it, the type normalised.
fn normalize_field(field: &str) -> String {
    let field = field.trim();
    let (name, ty) = match field.strip_prefix('"') {
        Some(rest) => match rest.find('"') {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => (rest, ""),
        },
        None => field.split_once(' ').unwrap_or((field, "")),
    };
    format!(
        "{} {}",
        crate::nodes::quote(&name.to_lowercase()),
        normalize_type(ty)
    )
}

/// DuckDB's canonical name for a built-in type name or alias (upper case).
fn alias(upper: &str) -> Option<&'static str> {
    Some(match upper {
        "DECIMAL" | "DEC" | "NUMERIC" => "DECIMAL",
        "TIME" => "TIME",
        "TIME_NS" => "TIME_NS",
        "DATE" => "DATE",
        "TIMESTAMP" | "DATETIME" | "TIMESTAMP_US" | "TIMESTAMP WITHOUT TIME ZONE" => "TIMESTAMP",
        "TIMESTAMP_MS" => "TIMESTAMP_MS",
        "TIMESTAMP_NS" => "TIMESTAMP_NS",
        "TIMESTAMP_S" => "TIMESTAMP_S",
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => "TIMESTAMP WITH TIME ZONE",
        "TIMETZ" | "TIME WITH TIME ZONE" => "TIME WITH TIME ZONE",
        "TIME WITHOUT TIME ZONE" => "TIME",
        "INTERVAL" => "INTERVAL",
        "VARCHAR" | "BPCHAR" | "STRING" | "CHAR" | "NVARCHAR" | "TEXT" | "CHARACTER"
        | "CHARACTER VARYING" => "VARCHAR",
        "BLOB" | "BYTEA" | "VARBINARY" | "BINARY" => "BLOB",
        "HUGEINT" | "INT128" => "HUGEINT",
        "UHUGEINT" | "UINT128" => "UHUGEINT",
        "BIGINT" | "OID" | "LONG" | "INT8" | "INT64" => "BIGINT",
        "UBIGINT" | "UINT64" => "UBIGINT",
        "INTEGER" | "INT" | "INT4" | "SIGNED" | "INTEGRAL" | "INT32" => "INTEGER",
        "UINTEGER" | "UINT32" => "UINTEGER",
        "SMALLINT" | "INT2" | "SHORT" | "INT16" => "SMALLINT",
        "USMALLINT" | "UINT16" => "USMALLINT",
        "TINYINT" | "INT1" => "TINYINT",
        "UTINYINT" | "UINT8" => "UTINYINT",
        "STRUCT" | "ROW" => "STRUCT",
        "LIST" => "LIST",
        "MAP" => "MAP",
        "UNION" => "UNION",
        "BIT" | "BITSTRING" => "BIT",
        "BIGNUM" | "VARINT" => "BIGNUM",
        "BOOLEAN" | "BOOL" | "LOGICAL" => "BOOLEAN",
        "UUID" | "GUID" => "UUID",
        "FLOAT" | "REAL" | "FLOAT4" => "FLOAT",
        "DOUBLE" | "FLOAT8" | "DOUBLE PRECISION" => "DOUBLE",
        "JSON" => "JSON",
        _ => return None,
    })
}

/// Byte index of the first `(` outside brackets and quotes.
fn top_level_paren(t: &str) -> Option<usize> {
    let mut quoted = false;
    let mut depth = 0usize;
    for (i, c) in t.char_indices() {
        match c {
            '"' | '\'' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            '(' if !quoted && depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Byte index of the `[` that opens the last `[...]` of `inner` (the text
/// before its final `]`), if that bracket is not inside parentheses.
fn matching_open(inner: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in inner.char_indices().rev() {
        match c {
            ']' | ')' => depth += 1,
            '(' => depth = depth.checked_sub(1)?,
            '[' if depth == 0 => return Some(i),
            '[' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits on commas outside parentheses, brackets and quotes.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' | '\'' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::ContractColumn;

    fn contract(columns: &[(&str, &str)]) -> Contract {
        Contract {
            declared_in: "models/mart/_mart.yml".into(),
            line: Some(3),
            columns: columns
                .iter()
                .map(|(n, t)| ContractColumn {
                    name: n.to_string(),
                    data_type: t.to_string(),
                })
                .collect(),
        }
    }

    fn cols(columns: &[(&str, &str)]) -> Vec<(String, String)> {
        columns
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn aliases_normalise_to_duckdbs_names() {
        for (written, canonical) in [
            ("int", "INTEGER"),
            ("int4", "INTEGER"),
            ("Integer", "INTEGER"),
            ("int8", "BIGINT"),
            ("long", "BIGINT"),
            ("bigint", "BIGINT"),
            ("text", "VARCHAR"),
            ("string", "VARCHAR"),
            ("varchar(20)", "VARCHAR"),
            ("character  varying", "VARCHAR"),
            ("datetime", "TIMESTAMP"),
            ("timestamp", "TIMESTAMP"),
            ("timestamp(3)", "TIMESTAMP_MS"),
            ("timestamptz", "TIMESTAMP WITH TIME ZONE"),
            ("float8", "DOUBLE"),
            ("double precision", "DOUBLE"),
            ("float", "FLOAT"),
            ("bool", "BOOLEAN"),
            ("numeric", "DECIMAL(18,3)"),
            ("numeric(10)", "DECIMAL(10,0)"),
            ("decimal(38, 2)", "DECIMAL(38,2)"),
            ("int[]", "INTEGER[]"),
            ("list(text)", "VARCHAR[]"),
            ("int8[3][]", "BIGINT[3][]"),
            ("map(text, int)", "MAP(VARCHAR, INTEGER)"),
            (
                "struct(\"A b\" text, c int[])",
                "STRUCT(\"a b\" VARCHAR, c INTEGER[])",
            ),
            (
                "STRUCT(\"a b\" VARCHAR, c INTEGER[])",
                "STRUCT(\"a b\" VARCHAR, c INTEGER[])",
            ),
            ("my_enum", "MY_ENUM"),
        ] {
            assert_eq!(normalize_type(written), canonical, "{written}");
        }
    }

    #[test]
    fn a_met_contract_has_no_differences() {
        let c = contract(&[("date_part", "timestamp"), ("CNT", "int8")]);
        let r = cols(&[("date_part", "TIMESTAMP"), ("cnt", "BIGINT")]);
        assert_eq!(compare(&c, &r), vec![]);
    }

    #[test]
    fn every_difference_is_listed() {
        let c = contract(&[
            ("date_part", "timestamp"),
            ("cnt", "bigint"),
            ("users", "bigint"),
        ]);
        let r = cols(&[
            ("date_part", "TIMESTAMP"),
            ("cnt", "HUGEINT"),
            ("sm", "HUGEINT"),
        ]);
        let lines: Vec<String> = compare(&c, &r).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "column 2 `cnt`: declared BIGINT, the query returns HUGEINT",
                "column 3 `users`: declared, not returned by the query",
                "column `sm` (HUGEINT): returned by the query as column 3, not declared",
            ]
        );
    }

    #[test]
    fn order_is_compared_among_shared_columns_only() {
        let c = contract(&[("a", "int"), ("b", "int"), ("c", "int")]);
        // `x` pushes b and c one place on: not a move.
        let r = cols(&[
            ("a", "INTEGER"),
            ("x", "INTEGER"),
            ("b", "INTEGER"),
            ("c", "INTEGER"),
        ]);
        assert_eq!(compare(&c, &r).len(), 1);
        let r = cols(&[("b", "INTEGER"), ("a", "INTEGER"), ("c", "INTEGER")]);
        let lines: Vec<String> = compare(&c, &r).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "column `a`: declared as column 1, the query returns it as column 2",
                "column `b`: declared as column 2, the query returns it as column 1",
            ]
        );
    }

    #[test]
    fn describe_keeps_a_trailing_comment_harmless() {
        assert_eq!(
            describe("select 1 as a -- the end\n;\n"),
            "DESCRIBE\nselect 1 as a -- the end"
        );
    }
}
