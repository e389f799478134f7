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
    Diagnostic::new(code, format!("{} in {}", message, file_name(path)))
        .at(path, source, span, "here")
}

fn file_name(path: &Path) -> String {
    crate::diagnostic::display_path(path)
}

/// serde_yaml appends " at line X column Y"; the diagnostic shows it better.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
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
    fn splits_serde_unknown_field_messages() {
        let (k, e) = split_unknown_field("profle`, expected one of `name`, `profile`");
        assert_eq!(k, "profle");
        assert_eq!(e, vec!["name", "profile"]);
    }
}
