//! YAML reading with errors that point at the exact key: serde_yaml gives a
//! position for syntax and typed-struct errors; for free-form trees (folder
//! config) [`locate_key`] finds the key in the text by indentation.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostic::{did_you_mean, Code, Diagnostic, Span};

/// Parses `source` as `T`, turning any failure into a located diagnostic that
/// names the nearest valid key when a key is unknown.
pub fn parse<T: DeserializeOwned>(path: &Path, source: &str) -> Result<T, Diagnostic> {
    serde_yaml::from_str(source).map_err(|e| yaml_error(path, source, &e))
}

/// Converts a serde_yaml error into a diagnostic.
pub fn yaml_error(path: &Path, source: &str, err: &serde_yaml::Error) -> Diagnostic {
    let full = err.to_string();
    let message = strip_location(&full);
    let span = err.location().map(|l| {
        let start = l.index().min(source.len());
        let end = source[start..]
            .find([':', '\n'])
            .map(|e| start + e.max(1))
            .unwrap_or(source.len());
        Span::Bytes(start..end)
    });
    for (marker, code, what) in [
        ("unknown field `", Code::UnknownKey, "unknown key"),
        ("unknown variant `", Code::InvalidValue, "invalid value"),
    ] {
        let Some(at) = message.find(marker) else {
            continue;
        };
        // serde_yaml prefixes nested errors with their path, e.g. `models[0]: `.
        let context = message[..at].trim_end_matches([':', ' ']);
        let (key, expected) = split_unknown_field(&message[at + marker.len()..]);
        let place = if context.is_empty() {
            String::new()
        } else {
            format!(" at `{context}`")
        };
        let mut d = Diagnostic::new(
            code,
            format!("{what} `{key}`{place} in {}", file_name(path)),
        )
        .at(path, source, span.clone(), what);
        d = match did_you_mean(&key, expected.iter().map(String::as_str)) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if !expected.is_empty() => {
                d.with_help(format!("expected one of: {}", expected.join(", ")))
            }
            None => d,
        };
        return d;
    }
    let code = if message.contains("invalid type")
        || message.contains("missing field")
        || message.contains("invalid value")
    {
        Code::InvalidValue
    } else {
        Code::YamlSyntax
    };
    if code == Code::YamlSyntax {
        let stopped = err.location().map_or(usize::MAX, |l| l.line());
        if let Some(d) = unclosed_quote(path, source, stopped, &message) {
            return d;
        }
    }
    Diagnostic::new(code, format!("{} in {}", message, file_name(path)))
        .at(path, source, span, "here")
}

/// A quoted YAML value may span lines, so a quote left open is reported
/// where the scanner gives up: at the next quote or at the end of the file,
/// often many lines later. The culprit is the last line up to there that
/// opens a quote and does not close it.
fn unclosed_quote(path: &Path, source: &str, stopped: usize, message: &str) -> Option<Diagnostic> {
    let mut found = None;
    let mut offset = 0;
    for (number, line) in source.split_inclusive('\n').enumerate() {
        if number + 1 > stopped {
            break;
        }
        if let Some(at) = opening_quote(line) {
            found = Some((number + 1, offset + at, line.trim_end().len() - at));
        }
        offset += line.len();
    }
    let (line, at, len) = found?;
    let quote = &source[at..at + 1];
    let stopped = if stopped == usize::MAX {
        String::new()
    } else {
        format!(" at line {stopped}")
    };
    Some(
        Diagnostic::new(
            Code::YamlSyntax,
            format!("unclosed quote in {}", file_name(path)),
        )
        .at(
            path,
            source,
            Some(Span::Bytes(at..at + len)),
            "this quote is not closed on its line",
        )
        .with_note(format!("the YAML parser stopped{stopped}: {message}"))
        .with_help(format!(
            "add the closing {quote} on line {line}: a quoted value runs on across lines to the next {quote}"
        )),
    )
}

/// Byte offset of a quote in `line` that starts a value and is not closed
/// on the line. Only quotes where a value starts count (after `key: `,
/// `- `, `[`, `{` or `,`), so the apostrophe in `it's` is text.
fn opening_quote(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut value_start = true;
    let mut flow = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let spaced = next.is_none_or(|n| n.is_ascii_whitespace());
        if c.is_ascii_whitespace() {
            if next == Some(b'#') {
                return None;
            }
            i += 1;
            continue;
        }
        if value_start {
            match c {
                b'#' => return None,
                b'-' | b'?' if spaced => {}
                b'[' | b'{' => flow += 1,
                b'"' | b'\'' => match closing_quote(&line[i + 1..], c) {
                    Some(len) => {
                        i += len + 1;
                        value_start = false;
                    }
                    None => return Some(i),
                },
                _ => value_start = false,
            }
            i += 1;
            continue;
        }
        match c {
            b':' if spaced => value_start = true,
            b',' | b'[' | b'{' if flow > 0 => value_start = true,
            b']' | b'}' => flow = flow.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Length up to and including the quote that closes a scalar opened with
/// `quote`, in `rest` (the text after the opening quote).
fn closing_quote(rest: &str, quote: u8) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn file_name(path: &Path) -> String {
    crate::diagnostic::display_path(path)
}

/// serde_yaml appends " at line X column Y" (twice when the scanner names
/// what it was reading); the diagnostic shows positions better.
fn strip_location(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " at line ".len()..];
        let mut words = after.splitn(3, ' ');
        let is_mark = words.next().is_some_and(|n| n.parse::<usize>().is_ok())
            && words.next() == Some("column");
        if !is_mark {
            out.push_str(" at line ");
            rest = after;
            continue;
        }
        let column = after.split_once("column ").map_or("", |(_, c)| c);
        let digits = column.bytes().take_while(u8::is_ascii_digit).count();
        rest = &column[digits..];
    }
    out.push_str(rest);
    out
}

/// Splits "x`, expected one of `a`, `b`" into ("x", ["a", "b"]).
fn split_unknown_field(rest: &str) -> (String, Vec<String>) {
    let key_end = rest.find('`').unwrap_or(rest.len());
    let key = rest[..key_end].to_string();
    let expected = rest[(key_end + 1).min(rest.len())..]
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect();
    (key, expected)
}

/// Finds the byte span of the key at `path` (a chain of mapping keys) in
/// block-style YAML, so errors found after parsing still point at a line.
pub fn locate_key(source: &str, path: &[&str]) -> Option<Span> {
    let mut min_indent: Option<usize> = None;
    let mut offset = 0usize;
    let mut result = None;
    for key in path {
        let mut found = None;
        let mut pos = offset;
        for line in source[offset..].split_inclusive('\n') {
            let indent = line.len() - line.trim_start().len();
            let content = line.trim_start().trim_start_matches("- ");
            let dash = line.trim_start().len() - content.len();
            if !content.is_empty() && !content.starts_with('#') {
                if let Some(min) = min_indent {
                    if indent <= min && pos > offset {
                        break;
                    }
                }
                let unquoted = content.trim_start_matches(['"', '\'']);
                let quote = content.len() - unquoted.len();
                if let Some(after) = unquoted.strip_prefix(key) {
                    let after = after.trim_start_matches(['"', '\'']);
                    if after.trim_start().starts_with(':') {
                        let start = pos + indent + dash + quote;
                        found = Some((start, indent + dash));
                        break;
                    }
                }
            }
            pos += line.len();
        }
        let (start, indent) = found?;
        min_indent = Some(indent);
        offset = start;
        result = Some(Span::Bytes(start..start + key.len()));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_by_indentation() {
        let src = "models:\n  stage:\n    +materialized: table\n  mart:\n    +materialised: view\n";
        let Some(Span::Bytes(r)) = locate_key(src, &["models", "mart", "+materialised"]) else {
            panic!("not found")
        };
        assert_eq!(&src[r], "+materialised");
        assert!(locate_key(src, &["models", "stage", "+materialised"]).is_none());
    }

    #[test]
    fn finds_quotes_that_open_a_value_and_stay_open() {
        assert_eq!(
            opening_quote("    description: \"Orders, one row\n"),
            Some(17)
        );
        assert_eq!(opening_quote("  - 'a\n"), Some(4));
        assert_eq!(opening_quote("tags: [a, \"b]\n"), Some(10));
        for closed in [
            "description: \"say \\\"hi\\\"\"\n",
            "description: 'it''s'\n",
            "description: it's fine\n",
            "# \"quoted\n",
            "name: a # it's\n",
            "\"key\": value\n",
        ] {
            assert_eq!(opening_quote(closed), None, "{closed}");
        }
    }

    #[test]
    fn strips_every_serde_position() {
        assert_eq!(
            strip_location("found unexpected end of stream at line 30 column 1, while scanning a quoted scalar at line 3 column 18"),
            "found unexpected end of stream, while scanning a quoted scalar"
        );
        assert_eq!(strip_location("a at line b"), "a at line b");
    }

    #[test]
    fn splits_serde_unknown_field_messages() {
        let (k, e) = split_unknown_field("profle`, expected one of `name`, `profile`");
        assert_eq!(k, "profle");
        assert_eq!(e, vec!["name", "profile"]);
    }
}
