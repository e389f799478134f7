//! Turns a minijinja error into a diagnostic that names the model (or macro)
//! file and line, with a stable code and a hint.

use std::path::{Path, PathBuf};

use minijinja::ErrorKind;

use crate::diagnostic::{did_you_mean, Code, Diagnostic, Span};
use crate::project::jinja::LakeError;

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
/// Name of the template that holds lake's dbt macros (`dbt.date_trunc`).
pub const DBT_TEMPLATE: &str = "__lake_dbt__";

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
    let place = locate(err, path, text, prefix_len, macros);
    let what = explain(err, &place, macros);
    let mut d = Diagnostic::new(what.code, what.message).at(
        &place.file,
        &place.text,
        place.span,
        &what.label,
    );
    if let Some(h) = what.help {
        d = d.with_help(h);
    }
    // Raised inside a macro: say which model (test, hook) called it.
    if place.file != path && !path.as_os_str().is_empty() {
        d = d.with_note(format!(
            "raised while rendering {}",
            crate::diagnostic::display_path(path)
        ));
    }
    d
}

/// Where an error is: the template file (a macro file when it is raised
/// inside a macro), the span, and the template text at that span.
struct Place {
    file: PathBuf,
    text: String,
    span: Option<Span>,
    /// The text the error points at in the template itself (not in a macro).
    snippet: Option<String>,
}

fn locate(
    err: &minijinja::Error,
    path: &Path,
    text: &str,
    prefix_len: usize,
    macros: &MacroMap,
) -> Place {
    let unplaced = || Place {
        file: path.to_path_buf(),
        text: text.to_string(),
        span: None,
        snippet: None,
    };
    if err.name() == Some(DBT_TEMPLATE) {
        return Place {
            file: PathBuf::from("<lake: dbt's cross-database macros>"),
            text: String::new(),
            span: err.line().map(Span::Line),
            snippet: None,
        };
    }
    if err.name() == Some(MACROS_TEMPLATE) {
        let line = err.line().unwrap_or(1);
        return match macros
            .files
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= line)
        {
            Some((start, p, t)) => Place {
                file: p.clone(),
                text: t.clone(),
                span: Some(Span::Line(line - start + 1)),
                snippet: None,
            },
            None => unplaced(),
        };
    }
    let span = match (err.range(), err.line()) {
        (Some(r), _) if r.start >= prefix_len && r.end > r.start => {
            // The template is `text` with its set literals wrapped.
            let original = |at: usize| super::mutable::original_offset(text, at - prefix_len);
            Some(Span::Bytes(original(r.start)..original(r.end)))
        }
        (_, Some(line)) => Some(Span::Line(line)),
        _ => None,
    };
    let snippet = match &span {
        Some(Span::Bytes(r)) => text.get(r.clone()).map(str::to_string),
        _ => None,
    };
    Place {
        span,
        snippet,
        ..unplaced()
    }
}

/// What went wrong, in words: code, message, span label and hint.
struct Explained {
    code: Code,
    message: String,
    label: String,
    help: Option<String>,
}

fn explain(err: &minijinja::Error, place: &Place, macros: &MacroMap) -> Explained {
    if let Some(l) = find_lake_error(err) {
        return Explained {
            code: l.code,
            message: l.message.clone(),
            label: "here".into(),
            help: l.help.clone(),
        };
    }
    let shown = crate::diagnostic::display_path(&place.file);
    let detail = err.detail().unwrap_or("");
    let snippet = place.snippet.as_deref();
    match err.kind() {
        ErrorKind::SyntaxError => Explained {
            code: Code::JinjaSyntax,
            message: format!("Jinja syntax error in {shown}: {detail}"),
            label: "syntax error".into(),
            help: Some("check that every {{ }}, {% %} and {# #} is closed and that block tags are balanced".into()),
        },
        ErrorKind::UndefinedError => undefined(snippet, &shown, macros),
        ErrorKind::UnknownFunction => unknown_function(snippet, detail, &shown, macros),
        _ => Explained {
            code: Code::RenderError,
            message: format!(
                "cannot render {shown}: {}",
                if detail.is_empty() {
                    err.kind().to_string()
                } else {
                    detail.to_string()
                }
            ),
            label: "here".into(),
            help: None,
        },
    }
}

fn undefined(snippet: Option<&str>, shown: &str, macros: &MacroMap) -> Explained {
    let name = snippet.map(str::trim).unwrap_or_default();
    let root = name.split(['.', '[', '(']).next().unwrap_or("").trim();
    let message = if name.is_empty() {
        format!("undefined variable in {shown}")
    } else {
        format!("undefined variable `{name}` in {shown}")
    };
    let help = match did_you_mean(root, known_names(macros)) {
        Some(s) if !root.is_empty() && s != root => format!("did you mean `{s}`?"),
        _ => {
            "set it with {% set %}, read a project variable with var('name'), or check the spelling"
                .into()
        }
    };
    Explained {
        code: Code::UndefinedVariable,
        message,
        label: "not defined".into(),
        help: Some(help),
    }
}

fn unknown_function(
    snippet: Option<&str>,
    detail: &str,
    shown: &str,
    macros: &MacroMap,
) -> Explained {
    let name = snippet
        .map(|s| s.split('(').next().unwrap_or("").trim())
        .filter(|s| !s.is_empty())
        .or_else(|| detail.split_whitespace().next())
        .unwrap_or_default();
    let help = match did_you_mean(name, known_names(macros)) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "macros live in macros/*.sql as {% macro name(args) %}...{% endmacro %}".into(),
    };
    Explained {
        code: Code::UnknownMacro,
        message: format!("unknown macro or function `{name}` in {shown}"),
        label: "unknown".into(),
        help: Some(help),
    }
}

/// Lake's own names and the project's macros, for "did you mean".
fn known_names(macros: &MacroMap) -> Vec<&str> {
    let mut names: Vec<&str> = BUILTIN_NAMES.to_vec();
    names.extend(macros.names.iter().map(String::as_str));
    names
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
