//! Quoting for every kind of literal lake writes into SQL, in one place:
//! identifiers, string literals, and the one connection-string value that
//! follows libpq's rules instead of SQL's. A name or value that reaches SQL
//! goes through one of these, never through a `replace` of its own, so a
//! hostile name (a quote, a space, a keyword) is handled the same
//! everywhere.

/// `ident` as a DuckDB identifier: bare when it is lower-case letters,
/// digits and `_` (keeping compiled SQL readable), double-quoted with inner
/// `"` doubled otherwise.
pub fn identifier(ident: &str) -> String {
    let plain = ident
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        ident.to_string()
    } else {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
}

/// `s` as a SQL string literal: single-quoted, inner `'` doubled.
pub fn string_literal(s: &str) -> String {
    format!("'{}'", string_contents(s))
}

/// The inside of a SQL string literal for `s` (inner `'` doubled), for
/// text that is itself placed between quotes, such as a value spliced
/// into a template that already holds the quotes, or a secret to redact
/// as it appears inside a statement.
pub fn string_contents(s: &str) -> String {
    s.replace('\'', "''")
}

/// A value of a libpq connection string (`host=... password=...`), which
/// DuckDB's postgres extension hands to libpq as it is. libpq's conninfo
/// parser is not SQL: inside its single quotes it escapes `\` and `'` with
/// a backslash, and an unquoted value ends at the first space. The whole
/// connection string then goes into SQL through [`string_literal`].
pub fn conninfo_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Now, as the text of a SQL timestamp literal (UTC, microseconds), for
/// the times lake records in its ledger tables.
pub fn now_timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_stay_bare_only_when_safe() {
        assert_eq!(identifier("events"), "events");
        assert_eq!(identifier("_x1"), "_x1");
        assert_eq!(identifier("Events"), "\"Events\"");
        assert_eq!(identifier("1st"), "\"1st\"");
        assert_eq!(identifier("a b"), "\"a b\"");
        assert_eq!(identifier(""), "\"\"");
        assert_eq!(
            identifier("x\"; drop table t; --"),
            "\"x\"\"; drop table t; --\""
        );
    }

    #[test]
    fn string_literals_double_quotes_and_keep_backslashes() {
        assert_eq!(string_literal("it's"), "'it''s'");
        assert_eq!(
            string_literal("'; drop table t; --"),
            "'''; drop table t; --'"
        );
        assert_eq!(string_literal(r"C:\path"), r"'C:\path'");
        assert_eq!(string_literal(""), "''");
        assert_eq!(string_contents("a'b"), "a''b");
    }

    #[test]
    fn conninfo_values_escape_with_backslashes() {
        assert_eq!(conninfo_value("pw one"), "'pw one'");
        assert_eq!(conninfo_value(r"a'b\c"), r"'a\'b\\c'");
    }

    #[test]
    fn now_is_a_timestamp_duckdb_reads() {
        let now = now_timestamp();
        assert_eq!(now.len(), "2026-01-01 00:00:00.000000".len(), "{now}");
        assert_eq!(&now[4..5], "-");
        assert_eq!(&now[10..11], " ");
    }
}
