//! Facts about a model's compiled SQL that point back at its file: whether
//! it holds any statement at all (an empty model is a compile error, not a
//! DuckDB failure at run time), and which line of the model file a DuckDB
//! error about the compiled SQL comes from.

use std::path::Path;

/// True when `sql` holds something besides whitespace, `;` and comments.
pub fn has_statement(sql: &str) -> bool {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, next)| next);
        } else if let Some(after) = rest.strip_prefix("/*") {
            // An unclosed block comment is DuckDB's to report: it is text.
            match after.split_once("*/") {
                Some((_, next)) => rest = next,
                None => return true,
            }
        } else {
            return !rest.is_empty();
        }
    }
}

/// Where a DuckDB error points in the model file, for the error message:
/// `models/x.sql:3` when the `LINE n:` DuckDB quotes from `statement` is a
/// line of `compiled` that is found in `source` (rendering keeps a model's
/// line structure, so usually at the same line), else just the file.
pub fn error_location(
    message: &str,
    statement: &str,
    compiled: &str,
    path: &Path,
    source: &str,
) -> String {
    let shown = crate::diagnostic::display_path(path);
    match source_line(message, statement, compiled, source) {
        Some(line) => format!("{shown}:{line}"),
        None => shown,
    }
}

fn source_line(message: &str, statement: &str, compiled: &str, source: &str) -> Option<usize> {
    let line_in_statement = message.lines().rev().find_map(|l| {
        let rest = l.trim_start().strip_prefix("LINE ")?;
        rest.split_once(':')?.0.parse::<usize>().ok()
    })?;
    // The plan embeds the compiled SQL trimmed of whitespace and a final `;`.
    let body = compiled.trim().trim_end_matches(';').trim_end();
    if body.is_empty() {
        return None;
    }
    let at = statement.find(body)?;
    let body_first_line = statement[..at].matches('\n').count() + 1;
    let body_start = compiled.len() - compiled.trim_start().len();
    let compiled_index = (compiled[..body_start].matches('\n').count() + line_in_statement)
        .checked_sub(body_first_line)?;
    let wanted = compiled.lines().nth(compiled_index)?.trim();
    if wanted.is_empty() {
        return None;
    }
    if source
        .lines()
        .nth(compiled_index)
        .is_some_and(|l| renders_to(l, wanted))
    {
        return Some(compiled_index + 1);
    }
    // Ephemeral CTEs or a multi-line macro shifted the lines: a line found
    // exactly once in the file is still unambiguous.
    let mut same = source
        .lines()
        .enumerate()
        .filter(|(_, l)| renders_to(l, wanted));
    match (same.next(), same.next()) {
        (Some((i, _)), None) => Some(i + 1),
        _ => None,
    }
}

/// Could template line `source` have rendered to `compiled`? Its text
/// outside `{{ }}`, `{% %}` and `{# #}` must appear in order: the first
/// piece at the start, the last at the end. A line of only tags never
/// matches: it would match anything.
fn renders_to(source: &str, compiled: &str) -> bool {
    let mut pieces = Vec::new();
    let mut rest = source.trim();
    while let Some(open) = ["{{", "{%", "{#"].iter().filter_map(|t| rest.find(t)).min() {
        pieces.push(&rest[..open]);
        let close = match &rest[open..open + 2] {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        rest = rest[open + 2..]
            .find(close)
            .map_or("", |end| &rest[open + 2 + end + 2..]);
    }
    pieces.push(rest);
    if pieces.len() == 1 {
        return pieces[0] == compiled;
    }
    if pieces.iter().all(|p| p.trim().is_empty()) {
        return false;
    }
    let (first, last) = (pieces[0].trim_start(), pieces[pieces.len() - 1].trim_end());
    let Some(mut tail) = compiled.strip_prefix(first) else {
        return false;
    };
    for piece in &pieces[1..pieces.len() - 1] {
        match tail.find(piece) {
            Some(at) => tail = &tail[at + piece.len()..],
            None => return false,
        }
    }
    tail.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_comment_only_sql_has_no_statement() {
        for sql in [
            "",
            "  \n\t",
            ";\n",
            "-- todo\n",
            "/* later */\n-- x",
            "-- a\n;\n",
        ] {
            assert!(!has_statement(sql), "{sql:?}");
        }
        for sql in ["select 1", "-- a\nselect 1", "/* a */ select 1", "/* open"] {
            assert!(has_statement(sql), "{sql:?}");
        }
    }

    const ERROR: &str = "Binder Error: Referenced column \"nope\" not found in FROM clause!\n\
                         Candidate bindings: \"x\"\n\nLINE 3: select x, nope from t\n                  ^";

    #[test]
    fn maps_the_statement_line_back_to_the_model_line() {
        let source = "{{ config(materialized='table') }}\n\nselect x, nope from {{ ref('t') }}\n";
        let compiled = "\n\nselect x, nope from \"lake\".\"t\"\n";
        let statement = "CREATE OR REPLACE TABLE a AS\nselect x, nope from \"lake\".\"t\"";
        let path = Path::new("models/stage/a.sql");
        // LINE 2 of the statement is line 1 of the trimmed body: line 3 of the file.
        let message = ERROR.replace("LINE 3", "LINE 2");
        assert_eq!(
            error_location(&message, statement, compiled, path, source),
            "models/stage/a.sql:3"
        );
    }

    #[test]
    fn template_lines_match_what_they_render_to() {
        assert!(renders_to(
            "from {{ ref('a') }} as a",
            "from \"lake\".\"a\" as a"
        ));
        assert!(renders_to("  {{ x }}, {{ y }} as b  ", "1, 2 as b"));
        assert!(!renders_to("from {{ ref('a') }} as a", "from b as c"));
        assert!(!renders_to("{{ config(x=1) }}", "anything"));
        assert!(renders_to("select 1", "select 1"));
    }

    #[test]
    fn shifted_lines_are_found_by_text_and_unknown_ones_name_the_file() {
        let source = "select\n  x, nope\nfrom t\nwhere {{ x }} > 1\n";
        let compiled = "with __e as (\n  select 1\n)\nselect\n  x, nope\nfrom t\nwhere 2 > 1\n";
        let statement = format!("SELECT count(*) FROM (\n{}\n) AS t", compiled.trim());
        let path = Path::new("models/a.sql");
        for (line, at) in [("LINE 6", "models/a.sql:2"), ("LINE 8", "models/a.sql:4")] {
            let message = ERROR.replace("LINE 3", line);
            assert_eq!(
                error_location(&message, &statement, compiled, path, source),
                at
            );
        }
        let message = ERROR.replace("LINE 3", "LINE 6");
        // The wrapper's own line, a message without LINE, a foreign statement.
        for (message, statement) in [
            (ERROR.replace("LINE 3", "LINE 1"), statement.as_str()),
            (
                "Catalog Error: no such table".to_string(),
                statement.as_str(),
            ),
            (message.clone(), "COMMIT"),
        ] {
            assert_eq!(
                error_location(&message, statement, compiled, path, source),
                "models/a.sql"
            );
        }
    }
}
