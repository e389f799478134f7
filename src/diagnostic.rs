//! Errors a person can act on: every failure in a pipeline stage becomes a
//! [`Diagnostic`] with a stable code, the culprit file and span, and a hint.
//!
//! Stages collect diagnostics instead of stopping at the first one, so an
//! analyst sees every broken model of a project in one compile.

use std::fmt;
use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor, Config};

/// Stable error codes: documented in the README so users can search for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A `ref()` names a model, seed or snapshot that does not exist.
    UnknownRef,
    /// A `source()` names a source table no properties file declares.
    UnknownSource,
    /// The dependency graph has a cycle.
    Cycle,
    /// Two models (or seeds) share one name.
    DuplicateName,
    /// A YAML file does not parse.
    YamlSyntax,
    /// A YAML file has a key lake does not know.
    UnknownKey,
    /// A YAML value has the wrong shape or an invalid value.
    InvalidValue,
    /// A dbt construct lake does not support yet: refused, never ignored,
    /// so a dbt project never builds something other than dbt would.
    Unsupported,
    /// A Jinja template does not parse.
    JinjaSyntax,
    /// A Jinja template uses a variable that is not defined.
    UndefinedVariable,
    /// A Jinja template calls a function or macro that does not exist.
    UnknownMacro,
    /// Any other failure while rendering a template.
    RenderError,
    /// A model renders to no SQL (an empty file, or only comments).
    EmptyModel,
    /// A `--select`/`--exclude` expression does not parse.
    BadSelector,
    /// The profile or target cannot be resolved.
    Profile,
    /// A file or folder cannot be read or written.
    Io,
    /// DuckDB, an extension, or the catalog failed.
    Warehouse,
    /// Another run holds the lake's run lock.
    Locked,
    /// A schedule hook (SQL, extract, cleanup) failed.
    Hook,
}

impl Code {
    /// The short code printed in brackets, e.g. `L001`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnknownRef => "L001",
            Code::UnknownSource => "L002",
            Code::Cycle => "L003",
            Code::DuplicateName => "L004",
            Code::YamlSyntax => "L010",
            Code::UnknownKey => "L011",
            Code::InvalidValue => "L012",
            Code::Unsupported => "L013",
            Code::JinjaSyntax => "L020",
            Code::UndefinedVariable => "L021",
            Code::UnknownMacro => "L022",
            Code::RenderError => "L023",
            Code::EmptyModel => "L024",
            Code::BadSelector => "L030",
            Code::Profile => "L040",
            Code::Io => "L050",
            Code::Warehouse => "L060",
            Code::Locked => "L061",
            Code::Hook => "L062",
        }
    }
}

/// Where in a file a problem is: a byte range when known, else a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// Byte offsets into the file's text.
    Bytes(Range<usize>),
    /// One-based line only.
    Line(usize),
}

/// One file a diagnostic points into, with its text so the renderer can show
/// the offending line.
#[derive(Debug, Clone)]
pub struct Location {
    /// Path as shown to the user, relative to the project root.
    pub path: PathBuf,
    /// The file's text, for source excerpts.
    pub source: String,
    /// The culprit's position, if known.
    pub span: Option<Span>,
    /// Short text under the caret.
    pub label: String,
}

/// A single actionable error (or warning).
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable code, see [`Code`].
    pub code: Code,
    /// One-line summary.
    pub message: String,
    /// Primary location, if the problem lives in a file.
    pub location: Option<Box<Location>>,
    /// Extra locations (e.g. the other file of a duplicate).
    pub secondary: Vec<Location>,
    /// `= note:` lines.
    pub notes: Vec<String>,
    /// `= help:` line: what to do about it.
    pub help: Option<String>,
    /// A warning: shown, but the command goes on.
    pub warning: bool,
}

impl Diagnostic {
    /// A diagnostic with no location yet.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            location: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
            warning: false,
        }
    }

    /// Points the diagnostic at a file and span.
    pub fn at(mut self, path: &Path, source: &str, span: Option<Span>, label: &str) -> Self {
        self.location = Some(Box::new(Location {
            path: path.to_path_buf(),
            source: source.to_string(),
            span,
            label: label.to_string(),
        }));
        self
    }

    /// Adds a secondary location.
    pub fn also_at(mut self, path: &Path, source: &str, span: Option<Span>, label: &str) -> Self {
        self.secondary.push(Location {
            path: path.to_path_buf(),
            source: source.to_string(),
            span,
            label: label.to_string(),
        });
        self
    }

    /// Makes it a warning: shown, but the command goes on.
    pub fn as_warning(mut self) -> Self {
        self.warning = true;
        self
    }

    /// Adds a `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a `note:` line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Renders like a compiler error, without colour.
    pub fn render_plain(&self) -> String {
        let mut files = SimpleFiles::new();
        let cs = self.to_codespan(&mut files);
        term::emit_into_string(&Config::default(), &files, &cs).unwrap_or_else(|_| self.to_string())
    }

    /// Writes to stderr, coloured when stderr is a terminal and `NO_COLOR` is unset.
    pub fn emit_stderr(&self) {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        if !color {
            crate::stderr!("{}", self.render_plain());
            return;
        }
        let mut files = SimpleFiles::new();
        let cs = self.to_codespan(&mut files);
        let stream = termcolor::StandardStream::stderr(termcolor::ColorChoice::Auto);
        let styles = term::Styles::default();
        let mut lock = stream.lock();
        let mut writer = term::StylesWriter::new(&mut lock, &styles);
        if term::emit_to_write_style(&mut writer, &Config::default(), &files, &cs).is_err() {
            crate::stderr!("{}", self.render_plain());
        }
    }

    fn to_codespan(&self, files: &mut SimpleFiles<String, String>) -> CsDiagnostic<usize> {
        let cs = if self.warning {
            CsDiagnostic::warning()
        } else {
            CsDiagnostic::error()
        };
        let mut cs = cs.with_code(self.code.as_str()).with_message(&self.message);
        let mut labels = Vec::new();
        let mut header_notes = Vec::new();
        for (i, loc) in self
            .location
            .as_deref()
            .into_iter()
            .chain(self.secondary.iter())
            .enumerate()
        {
            let range = loc.span.as_ref().map(|s| byte_range(&loc.source, s));
            match range {
                Some(range) => {
                    let id = files.add(display_path(&loc.path), loc.source.clone());
                    let label = if i == 0 {
                        Label::primary(id, range)
                    } else {
                        Label::secondary(id, range)
                    };
                    labels.push(label.with_message(&loc.label));
                }
                None => header_notes.push(format!("in {}", display_path(&loc.path))),
            }
        }
        cs = cs.with_labels(labels);
        let mut notes = header_notes;
        notes.extend(self.notes.iter().map(|n| format!("note: {n}")));
        if let Some(help) = &self.help {
            notes.push(format!("help: {help}"));
        }
        cs.with_notes(notes)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code.as_str(), self.message)?;
        if let Some(loc) = &self.location {
            write!(f, " ({})", display_path(&loc.path))?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// A batch of diagnostics from one stage; non-empty when returned as an error.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Renders all diagnostics plainly, separated by blank lines.
    pub fn render_plain(&self) -> String {
        self.0
            .iter()
            .map(Diagnostic::render_plain)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// True when no diagnostic was collected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Collects one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// `Ok(value)` when empty, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_plain())
    }
}

impl std::error::Error for Diagnostics {}

/// Forward slashes everywhere so messages and snapshots match across platforms.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// The nearest candidate to `wanted`, if one is close enough to be a typo:
/// within a few edits (transpositions count as one) or sharing a long prefix.
pub fn did_you_mean<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let max_edits = (wanted.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .map(|c| {
            (
                strsim::osa_distance(wanted, c),
                strsim::jaro_winkler(wanted, c),
                c,
            )
        })
        .filter(|(edits, jw, _)| *edits <= max_edits || *jw >= 0.85)
        .min_by(|a, b| {
            a.0.cmp(&b.0)
                .then(b.1.total_cmp(&a.1))
                .then_with(|| a.2.cmp(b.2))
        })
        .map(|(_, _, c)| c)
}

fn byte_range(source: &str, span: &Span) -> Range<usize> {
    match span {
        Span::Bytes(r) => r.start.min(source.len())..r.end.min(source.len()),
        Span::Line(line) => {
            let start = line_start(source, *line);
            let end = source[start..]
                .find('\n')
                .map(|e| start + e)
                .unwrap_or(source.len());
            let trimmed = source[start..end].len() - source[start..end].trim_start().len();
            (start + trimmed).min(end)..end
        }
    }
}

fn line_start(source: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    source
        .match_indices('\n')
        .nth(line - 2)
        .map(|(i, _)| i + 1)
        .unwrap_or(source.len())
}
