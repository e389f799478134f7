//! Turns a minijinja error into a diagnostic that names the model (or macro)
//! file and line, with a stable code and a hint.

use std::path::{Path, PathBuf};

use minijinja::ErrorKind;

use super::functions::LakeError;
use crate::diagnostic::{did_you_mean, Code, Diagnostic, Span};

/// The combined macro template, mapped back to its files.
#[derive(Debug, Default, Clone)]
pub struct MacroMap {
    /// `(first line in the combined text, file path, file text)`.
    pub files: Vec<(usize, PathBuf, String)>,
    /// Names of all macros, for suggestions.
    pub names: Vec<String>,
}

/// Name of the template that holds every macro.
pub const MACROS_TEMPLATE: &str = "__lake_macros__";

/// Names lake defines in every template, for "did you mean".
pub const BUILTIN_NAMES: &[&str] = &[
    "ref",
    "source",
    "config",
    "var",
    "env_var",
    "is_incremental",
    "log",
    "this",
    "target",
    "run_started_at",
    "project_name",
    "project_root",
    "model",
];

/// Maps `err`, raised while rendering `path` (whose template text is
/// `prefix` + `text`), to a diagnostic.
pub fn diagnose(
    err: &minijinja::Error,
    path: &Path,
    text: &str,
    prefix_len: usize,
    macros: &MacroMap,
) -> Diagnostic {
    let lake = find_lake_error(err);
    let in_macros = err.name() == Some(MACROS_TEMPLATE);
    let (file, file_text, span, shift) = if in_macros {
        let line = err.line().unwrap_or(1);
        match macros
            .files
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= line)
        {
            Some((start, p, t)) => (
                p.clone(),
                t.clone(),
                Some(Span::Line(line - start + 1)),
                None,
            ),
            None => (path.to_path_buf(), text.to_string(), None, None),
        }
    } else {
        let span = match (err.range(), err.line()) {
            (Some(r), _) if r.start >= prefix_len && r.end > r.start => {
                Some(Span::Bytes(r.start - prefix_len..r.end - prefix_len))
            }
            (_, Some(line)) => Some(Span::Line(line)),
            _ => None,
        };
        (path.to_path_buf(), text.to_string(), span, Some(prefix_len))
    };
    let snippet = match (&span, shift) {
        (Some(Span::Bytes(r)), Some(_)) => file_text.get(r.clone()).map(str::to_string),
        _ => None,
    };
    let shown = crate::diagnostic::display_path(&file);
    let detail = err.detail().unwrap_or("").to_string();
    let (code, message, label, help) = if let Some(l) = lake {
        (
            l.code,
            l.message.clone(),
            "here".to_string(),
            l.help.clone(),
        )
    } else {
        match err.kind() {
            ErrorKind::SyntaxError => (
                Code::JinjaSyntax,
                format!("Jinja syntax error in {shown}: {detail}"),
                "syntax error".into(),
                Some("check that every {{ }}, {% %} and {# #} is closed and that block tags are balanced".into()),
            ),
            ErrorKind::UndefinedError => {
                let name = snippet.clone().map(|s| s.trim().to_string()).unwrap_or_default();
                let root = name.split(['.', '[', '(']).next().unwrap_or("").trim().to_string();
                let message = if name.is_empty() {
                    format!("undefined variable in {shown}")
                } else {
                    format!("undefined variable `{name}` in {shown}")
                };
                let mut candidates: Vec<&str> = BUILTIN_NAMES.to_vec();
                candidates.extend(macros.names.iter().map(String::as_str));
                let help = match did_you_mean(&root, candidates) {
                    Some(s) if !root.is_empty() && s != root => format!("did you mean `{s}`?"),
                    _ => "set it with {% set %}, read a project variable with var('name'), or check the spelling".into(),
                };
                (Code::UndefinedVariable, message, "not defined".into(), Some(help))
            }
            ErrorKind::UnknownFunction => {
                let name = snippet
                    .clone()
                    .map(|s| s.split('(').next().unwrap_or("").trim().to_string())
                    .filter(|s| !s.is_empty())
                    .or_else(|| detail.split_whitespace().next().map(str::to_string))
                    .unwrap_or_default();
                let mut candidates: Vec<&str> = BUILTIN_NAMES.to_vec();
                candidates.extend(macros.names.iter().map(String::as_str));
                let help = match did_you_mean(&name, candidates) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "macros live in macros/*.sql as {% macro name(args) %}...{% endmacro %}".into(),
                };
                (Code::UnknownMacro, format!("unknown macro or function `{name}` in {shown}"), "unknown".into(), Some(help))
            }
            _ => (
                Code::RenderError,
                format!("cannot render {shown}: {}", if detail.is_empty() { err.kind().to_string() } else { detail }),
                "here".into(),
                None,
            ),
        }
    };
    let mut d = Diagnostic::new(code, message).at(&file, &file_text, span, &label);
    if let Some(h) = help {
        d = d.with_help(h);
    }
    d
}

fn find_lake_error(err: &minijinja::Error) -> Option<&LakeError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cur {
        if let Some(l) = e.downcast_ref::<LakeError>() {
            return Some(l);
        }
        cur = e.source();
    }
    None
}
