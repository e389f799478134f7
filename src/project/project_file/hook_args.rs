//! Built-in hook arguments: one typed struct per hook, checked where they
//! are written. Literal values are typed when project.yml loads, so a
//! misspelt key or a wrong value fails `lake compile` and stops `lake run`
//! before it takes the lake; values holding Jinja are typed once the run
//! renders them, and their errors still point at the key in project.yml.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value as Json;

use super::Hook;
use crate::diagnostic::{did_you_mean, Code, Diagnostic, Diagnostics, Span};
use crate::project::profiles::Secret;
use crate::project::{yaml, SourceFile, S3};

/// Built-in hook steps a schedule may name.
pub const BUILTIN_HOOKS: &[&str] = &[ExtractArgs::HOOK, CleanupArgs::HOOK];

/// project.yml as read: where located diagnostics point.
#[derive(Clone, Copy)]
pub(super) struct Written<'a> {
    pub(super) path: &'a Path,
    pub(super) source: &'a str,
}

/// One built-in hook as written into its typed form.
pub(super) fn builtin(args: &Json, site: &HookSite) -> Result<Hook, Vec<ArgProblem>> {
    match site.hook.as_str() {
        ExtractArgs::HOOK => HookArgs::load(args, site).map(Hook::Extract),
        CleanupArgs::HOOK => HookArgs::load(args, site).map(Hook::Cleanup),
        _ => Err(vec![ArgProblem::UnknownHook]),
    }
}

/// One argument a built-in hook takes, for checking and for help texts.
#[derive(Debug)]
pub struct ArgSpec {
    /// The key in project.yml.
    pub key: &'static str,
    /// Whether the hook has no default for it.
    pub required: bool,
    /// What its value must be, in words.
    pub expects: &'static str,
}

/// The typed arguments of one built-in hook. Each literal value is checked
/// alone against the struct (on top of a valid [`BuiltinArgs::SAMPLE`]), so
/// an error names its key; templates are checked the same way once rendered.
pub trait BuiltinArgs: DeserializeOwned + Clone {
    /// The hook's name in project.yml.
    const HOOK: &'static str;
    /// Every argument the struct accepts (a unit test keeps them in step).
    const ARGS: &'static [ArgSpec];
    /// A JSON object with a valid value for each required argument.
    const SAMPLE: &'static str;
}

/// A built-in hook's arguments as loaded.
#[derive(Debug, Clone, PartialEq)]
pub enum HookArgs<T> {
    /// Every value was a literal: typed at load time.
    Typed(T),
    /// Some values are Jinja templates: keys and literal values were
    /// checked at load time; [`HookArgs::resolve`] renders and types the rest.
    Templated(Templated),
}

/// Arguments holding Jinja, kept as written until the run renders them.
#[derive(Clone, PartialEq)]
pub struct Templated {
    /// The argument mapping as written.
    pub raw: serde_json::Map<String, Json>,
    /// Where the hook is written, for errors found after rendering.
    pub site: HookSite,
}

impl fmt::Debug for Templated {
    // Values may be credentials (`secret:` of an S3 source): keys only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templated")
            .field("keys", &self.raw.keys().collect::<Vec<_>>())
            .field("site", &self.site)
            .finish()
    }
}

/// Where a hook is written in project.yml: enough to point an error at its
/// name or at one of its argument keys, block or flow style.
#[derive(Debug, Clone, PartialEq)]
pub struct HookSite {
    /// The schedule.
    pub schedule: String,
    /// `pre-hooks` or `post-hooks`.
    pub list: &'static str,
    /// The hook's name as written.
    pub hook: String,
    /// How many hooks of that name come before it in the list.
    pub occurrence: usize,
}

/// `extract:` arguments (see `hooks::extract`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExtractArgs {
    /// Source bucket prefix (`s3://...`) or folder (relative to the project).
    pub source: String,
    /// First hour to land, e.g. `2024-05-01T00:00`.
    pub start: String,
    /// Hours fetched per run at most (catch-up is spread over runs).
    #[serde(default = "default_max_hours")]
    pub max_hours: usize,
    /// Objects fetched at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Dimensions to fetch (default: all).
    #[serde(default)]
    pub dims: Option<Vec<String>>,
    /// S3 settings of the source when it is not on the lake's S3 server
    /// (each key overrides the target's `s3:` value; use env_var for keys).
    #[serde(default)]
    pub s3: Option<SourceS3>,
}

impl BuiltinArgs for ExtractArgs {
    const HOOK: &'static str = "extract";
    const ARGS: &'static [ArgSpec] = &[
        ArgSpec {
            key: "source",
            required: true,
            expects: "a folder (relative to the project) or s3://bucket/prefix",
        },
        ArgSpec {
            key: "start",
            required: true,
            expects: "the first hour to land, e.g. `2024-05-01T00:00`",
        },
        ArgSpec {
            key: "max-hours",
            required: false,
            expects: "a whole number of hours fetched per run",
        },
        ArgSpec {
            key: "concurrency",
            required: false,
            expects: "a whole number of objects fetched at once",
        },
        ArgSpec {
            key: "dims",
            required: false,
            expects: "a list of dimension names",
        },
        ArgSpec {
            key: "s3",
            required: false,
            expects:
                "a mapping of S3 settings (endpoint, region, url_style, use_ssl, key_id, secret)",
        },
    ];
    const SAMPLE: &'static str = r#"{"source": "data", "start": "2024-05-01T00:00"}"#;
}

fn default_max_hours() -> usize {
    24
}

fn default_concurrency() -> usize {
    8
}

/// `extract: { s3: {...} }`: where the source bucket lives. Keys are kept
/// as [`Secret`]s, so neither Debug nor an artifact shows them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceS3 {
    /// `host:port`.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// `path` or `vhost`.
    pub url_style: Option<String>,
    /// HTTPS or not.
    pub use_ssl: Option<bool>,
    /// Access key id.
    #[serde(default, deserialize_with = "secret")]
    pub key_id: Option<Secret>,
    /// Secret key.
    #[serde(default, deserialize_with = "secret")]
    pub secret: Option<Secret>,
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

impl SourceS3 {
    /// The target's S3 settings with this hook's overrides.
    pub fn over(&self, base: Option<&S3>) -> S3 {
        let base = base.cloned().unwrap_or(S3 {
            endpoint: None,
            region: "us-east-1".into(),
            url_style: "vhost".into(),
            use_ssl: true,
            key_id: None,
            secret: None,
        });
        let this = self.clone();
        S3 {
            endpoint: this.endpoint.or(base.endpoint),
            region: this.region.unwrap_or(base.region),
            url_style: this.url_style.unwrap_or(base.url_style),
            use_ssl: this.use_ssl.unwrap_or(base.use_ssl),
            key_id: this.key_id.or(base.key_id),
            secret: this.secret.or(base.secret),
        }
    }
}

/// `cleanup:` arguments (see `hooks::cleanup`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CleanupArgs {
    /// How long snapshots are kept, e.g. `7 days`, `12 hours`, `0s`.
    #[serde(default = "default_retention")]
    pub retention: String,
    /// Merge adjacent small files first.
    #[serde(default = "default_true")]
    pub merge: bool,
    /// The snapshots of this many newest lake runs (and the one before
    /// the oldest of them) are never expired, whatever `retention` says:
    /// how far back `lake rollback` always reaches.
    #[serde(default = "default_keep_runs")]
    pub keep_runs: usize,
}

impl BuiltinArgs for CleanupArgs {
    const HOOK: &'static str = "cleanup";
    const ARGS: &'static [ArgSpec] = &[
        ArgSpec {
            key: "retention",
            required: false,
            expects: "a duration, e.g. `7 days` or `12 hours`",
        },
        ArgSpec {
            key: "merge",
            required: false,
            expects: "true or false",
        },
        ArgSpec {
            key: "keep-runs",
            required: false,
            expects: "a whole number of runs whose snapshots are kept",
        },
    ];
    const SAMPLE: &'static str = "{}";
}

fn default_retention() -> String {
    "7 days".into()
}

fn default_keep_runs() -> usize {
    24
}

fn default_true() -> bool {
    true
}

/// What is wrong with a built-in hook as written (or as rendered).
#[derive(Debug)]
pub(super) enum ArgProblem {
    /// The hook's name is none of [`BUILTIN_HOOKS`].
    UnknownHook,
    /// The arguments are not a mapping.
    NotMapping,
    /// A key the hook does not take.
    Unknown(String),
    /// A required key is absent.
    Missing(&'static str),
    /// A value of the wrong type; `rendered` says what its template gave.
    WrongType {
        key: String,
        error: String,
        rendered: Option<String>,
    },
    /// A template in this argument did not render.
    Render { key: String, error: Box<Diagnostic> },
}

impl<T: BuiltinArgs> HookArgs<T> {
    /// Checks arguments as written: keys, required keys, and the type of
    /// every literal value. Values holding Jinja wait for the run.
    fn load(raw: &Json, site: &HookSite) -> Result<Self, Vec<ArgProblem>> {
        let map = match raw {
            Json::Null => serde_json::Map::new(),
            Json::Object(m) => m.clone(),
            _ => return Err(vec![ArgProblem::NotMapping]),
        };
        let mut problems = Vec::new();
        for (key, value) in &map {
            if !T::ARGS.iter().any(|a| a.key == key) {
                problems.push(ArgProblem::Unknown(key.clone()));
            } else if !has_template(value) {
                if let Err(error) = type_check::<T>(key, value) {
                    problems.push(ArgProblem::WrongType {
                        key: key.clone(),
                        error,
                        rendered: None,
                    });
                }
            }
        }
        for arg in T::ARGS.iter().filter(|a| a.required) {
            if !map.contains_key(arg.key) {
                problems.push(ArgProblem::Missing(arg.key));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        if map.values().any(has_template) {
            return Ok(HookArgs::Templated(Templated {
                raw: map,
                site: site.clone(),
            }));
        }
        typed(map).map(HookArgs::Typed)
    }

    /// Every Jinja template in the arguments, to render in one go.
    pub fn templates(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let HookArgs::Templated(t) = self {
            for v in t.raw.values() {
                collect_templates(v, &mut out);
            }
        }
        out
    }

    /// The typed arguments: as loaded, or with each template rendered by
    /// `render` and its value typed then (a rendered `"24"` may be a
    /// number). Errors point at the argument in `file` (project.yml).
    pub fn resolve(
        &self,
        file: &SourceFile,
        render: &mut dyn FnMut(&str) -> Result<String, Diagnostic>,
    ) -> Result<T, Diagnostics> {
        let t = match self {
            HookArgs::Typed(args) => return Ok(args.clone()),
            HookArgs::Templated(t) => t,
        };
        let mut problems = Vec::new();
        let mut map = serde_json::Map::new();
        for (key, value) in &t.raw {
            match resolve_value::<T>(key, value, render) {
                Ok(v) => {
                    map.insert(key.clone(), v);
                }
                Err(p) => problems.push(p),
            }
        }
        let written = Written {
            path: &file.path,
            source: &file.text,
        };
        let located = |problems: Vec<ArgProblem>| {
            Diagnostics(
                problems
                    .into_iter()
                    .map(|p| p.diagnostic(&t.site, &written))
                    .collect(),
            )
        };
        if !problems.is_empty() {
            return Err(located(problems));
        }
        typed(map).map_err(located)
    }
}

/// The whole mapping into `T`, once every key passed on its own.
fn typed<T: BuiltinArgs>(map: serde_json::Map<String, Json>) -> Result<T, Vec<ArgProblem>> {
    serde_json::from_value(Json::Object(map)).map_err(|e| {
        vec![ArgProblem::WrongType {
            key: String::new(),
            error: e.to_string(),
            rendered: None,
        }]
    })
}

/// Renders the templates in one argument's value and types it: the
/// rendered text as is first, else read as a YAML value (`24`, `true`,
/// `[a, b]`), since Jinja always renders text.
fn resolve_value<T: BuiltinArgs>(
    key: &str,
    value: &Json,
    render: &mut dyn FnMut(&str) -> Result<String, Diagnostic>,
) -> Result<Json, ArgProblem> {
    if !has_template(value) {
        return Ok(value.clone());
    }
    let failed = |error| ArgProblem::Render {
        key: key.to_string(),
        error: Box::new(error),
    };
    let as_text = render_templates(value, render, false).map_err(failed)?;
    let as_yaml = render_templates(value, render, true).map_err(failed)?;
    let first = match type_check::<T>(key, &as_text) {
        Ok(()) => return Ok(as_text),
        Err(e) => e,
    };
    if type_check::<T>(key, &as_yaml).is_ok() {
        return Ok(as_yaml);
    }
    let rendered = match (value, &as_text) {
        (Json::String(template), Json::String(text)) => {
            format!("`{template}` renders to `{text}`")
        }
        _ => "after rendering its templates".to_string(),
    };
    Err(ArgProblem::WrongType {
        key: key.to_string(),
        error: first,
        rendered: Some(rendered),
    })
}

/// `value` with every template string rendered, as text or read as YAML.
fn render_templates(
    value: &Json,
    render: &mut dyn FnMut(&str) -> Result<String, Diagnostic>,
    as_yaml: bool,
) -> Result<Json, Diagnostic> {
    Ok(match value {
        Json::String(s) if is_template(s) => {
            let text = render(s)?;
            if as_yaml {
                serde_yaml::from_str::<serde_yaml::Value>(&text)
                    .ok()
                    .and_then(|v| serde_json::to_value(v).ok())
                    .unwrap_or(Json::String(text))
            } else {
                Json::String(text)
            }
        }
        Json::Array(a) => Json::Array(
            a.iter()
                .map(|v| render_templates(v, render, as_yaml))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), render_templates(v, render, as_yaml)?)))
                .collect::<Result<_, Diagnostic>>()?,
        ),
        other => other.clone(),
    })
}

/// Checks one argument alone: the sample's valid required values with this
/// key set, so any error is this value's.
fn type_check<T: BuiltinArgs>(key: &str, value: &Json) -> Result<(), String> {
    let mut map: serde_json::Map<String, Json> =
        serde_json::from_str(T::SAMPLE).map_err(|e| e.to_string())?;
    map.insert(key.to_string(), value.clone());
    serde_json::from_value::<T>(Json::Object(map))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

fn has_template(v: &Json) -> bool {
    match v {
        Json::String(s) => is_template(s),
        Json::Array(a) => a.iter().any(has_template),
        Json::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

fn collect_templates<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
    match v {
        Json::String(s) if is_template(s) => out.push(s),
        Json::Array(a) => a.iter().for_each(|x| collect_templates(x, out)),
        Json::Object(m) => m.values().for_each(|x| collect_templates(x, out)),
        _ => {}
    }
}

/// A problem in words, before it is placed in project.yml.
struct Described {
    diagnostic: Diagnostic,
    /// The argument it is about; `None`: the hook's name.
    key: Option<String>,
    label: String,
}

impl ArgProblem {
    /// The problem as a diagnostic at its line of project.yml.
    pub(super) fn diagnostic(self, site: &HookSite, file: &Written<'_>) -> Diagnostic {
        let Described {
            diagnostic,
            key,
            label,
        } = self.describe(site);
        let span = site.locate(file.source, key.as_deref());
        diagnostic.at(file.path, file.source, span, &label)
    }

    fn describe(self, site: &HookSite) -> Described {
        let (schedule, hook) = (&site.schedule, site.hook.as_str());
        let args = args_of(hook);
        let expects = |key: &str| args.iter().find(|a| a.key == key).map(|a| a.expects);
        let described = |code, message: String, key: Option<String>, label: &str| Described {
            diagnostic: Diagnostic::new(code, format!("schedule `{schedule}`: {message}")),
            key,
            label: label.to_string(),
        };
        match self {
            ArgProblem::UnknownHook => described(
                Code::UnknownKey,
                format!("unknown built-in hook `{hook}`"),
                None,
                "unknown hook",
            )
            .help(match did_you_mean(hook, BUILTIN_HOOKS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "built-in hooks are: {}; plain SQL hooks are strings",
                    BUILTIN_HOOKS.join(", ")
                ),
            }),
            ArgProblem::NotMapping => described(
                Code::InvalidValue,
                format!("the `{hook}` hook takes a mapping of arguments"),
                None,
                "not a mapping",
            )
            .help(takes(hook)),
            ArgProblem::Unknown(key) => {
                let help = match did_you_mean(&key, args.iter().map(|a| a.key)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => takes(hook),
                };
                let message = format!("unknown argument `{key}` of the `{hook}` hook");
                described(Code::UnknownKey, message, Some(key), "unknown argument").help(help)
            }
            ArgProblem::Missing(key) => described(
                Code::InvalidValue,
                format!("the `{hook}` hook needs `{key}`"),
                None,
                &format!("`{key}` is missing"),
            )
            .help(format!(
                "add `{key}:` to it: {}",
                expects(key).unwrap_or("")
            )),
            ArgProblem::WrongType {
                key,
                error,
                rendered,
            } => {
                let message = match expects(&key) {
                    Some(e) => format!("`{key}` of the `{hook}` hook must be {e}"),
                    None => format!("the `{hook}` hook's arguments: {error}"),
                };
                let key = (!key.is_empty()).then_some(key);
                let d = described(Code::InvalidValue, message, key, &error);
                match rendered {
                    Some(r) => d.note(r),
                    None => d,
                }
            }
            ArgProblem::Render { key, error } => {
                let mut error = *error;
                error.location = None;
                error.message = format!(
                    "schedule `{schedule}`: `{key}` of the `{hook}` hook: {}",
                    error.message
                );
                Described {
                    diagnostic: error,
                    key: Some(key),
                    label: "in this template".to_string(),
                }
            }
        }
    }
}

impl Described {
    fn help(mut self, help: String) -> Self {
        self.diagnostic = self.diagnostic.with_help(help);
        self
    }

    fn note(mut self, note: String) -> Self {
        self.diagnostic = self.diagnostic.with_note(note);
        self
    }
}

/// The arguments of the built-in hook `hook` (none for an unknown one).
fn args_of(hook: &str) -> &'static [ArgSpec] {
    match hook {
        ExtractArgs::HOOK => ExtractArgs::ARGS,
        CleanupArgs::HOOK => CleanupArgs::ARGS,
        _ => &[],
    }
}

/// The help that lists a hook's arguments.
fn takes(hook: &str) -> String {
    let keys: Vec<&str> = args_of(hook).iter().map(|a| a.key).collect();
    format!("the `{hook}` hook takes: {}", keys.join(", "))
}

impl HookSite {
    /// The hook's name in project.yml, or one of its argument keys (the
    /// first one written after the name, in its list).
    fn locate(&self, source: &str, key: Option<&str>) -> Option<Span> {
        let Span::Bytes(list) =
            yaml::locate_key(source, &["schedules", &self.schedule, self.list])?
        else {
            return None;
        };
        let end = block_end(source, list.start);
        let region = &source[list.end..end];
        let mut from = 0;
        let mut hook_at = None;
        for _ in 0..=self.occurrence {
            let at = from + find_key(&region[from..], &self.hook)?;
            hook_at = Some(at);
            from = at + self.hook.len();
        }
        let hook_at = list.end + hook_at?;
        let Some(key) = key else {
            return Some(Span::Bytes(hook_at..hook_at + self.hook.len()));
        };
        let after = hook_at + self.hook.len();
        let at = after + find_key(&source[after..end], key)?;
        Some(Span::Bytes(at..at + key.len()))
    }
}

/// Where the block of the key at byte `start` ends: the first later line
/// indented no deeper than it (a `- ` item at its own indent still belongs).
fn block_end(source: &str, start: usize) -> usize {
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = start - line_start;
    let mut pos = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i + 1);
    while pos < source.len() {
        let line = &source[pos..];
        let line = &line[..line.find('\n').map_or(line.len(), |i| i + 1)];
        let content = line.trim_start();
        let depth = line.len() - content.len();
        let blank = content.trim().is_empty() || content.starts_with('#');
        if !blank && (depth < indent || (depth == indent && !content.starts_with('-'))) {
            return pos;
        }
        pos += line.len();
    }
    source.len()
}

/// Byte offset of `key` written as a mapping key in `text` (block or flow
/// style, quoted or not): after a separator, followed by `:`.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let starts = before.is_none_or(|c| c.is_whitespace() || "{,'\"".contains(c));
        let rest = text[at + key.len()..].trim_start_matches(['"', '\'']);
        if starts && rest.trim_start_matches(' ').starts_with(':') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde's own list of a struct's fields, from the error naming them
    /// ("expected `a` or `b`", "expected one of `a`, `b`, `c`").
    fn serde_keys<T: BuiltinArgs>() -> String {
        let probe = serde_json::json!({ "\u{1}": 0 });
        let err = serde_json::from_value::<T>(probe)
            .err()
            .unwrap()
            .to_string();
        let listed = err.split_once("expected ").unwrap().1;
        listed.trim_start_matches("one of ").replace(" or ", ", ")
    }

    #[test]
    fn every_hook_lists_exactly_the_keys_its_struct_takes() {
        fn listed<T: BuiltinArgs>() -> String {
            let keys: Vec<String> = T::ARGS.iter().map(|a| format!("`{}`", a.key)).collect();
            keys.join(", ")
        }
        assert_eq!(listed::<ExtractArgs>(), serde_keys::<ExtractArgs>());
        assert_eq!(listed::<CleanupArgs>(), serde_keys::<CleanupArgs>());
        for sample in [ExtractArgs::SAMPLE, CleanupArgs::SAMPLE] {
            assert!(serde_json::from_str::<Json>(sample).is_ok(), "{sample}");
        }
    }

    #[test]
    fn locates_a_hook_and_its_keys_in_block_and_flow_style() {
        let src = "schedules:\n  h:\n    pre-hooks:\n      - cleanup: { retention: 1 day }\n      \
                   - select 1\n      - cleanup:\n          merge: maybe\n    post-hooks:\n      \
                   - cleanup: { merge: no }\n";
        let site = |list, occurrence| HookSite {
            schedule: "h".into(),
            list,
            hook: "cleanup".into(),
            occurrence,
        };
        let text = |span: Option<Span>| match span {
            Some(Span::Bytes(r)) => (src[..r.start].lines().count(), &src[r]),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            text(site("pre-hooks", 0).locate(src, Some("retention"))),
            (4, "retention")
        );
        assert_eq!(text(site("pre-hooks", 1).locate(src, None)), (6, "cleanup"));
        assert_eq!(
            text(site("pre-hooks", 1).locate(src, Some("merge"))),
            (7, "merge")
        );
        assert_eq!(
            text(site("post-hooks", 0).locate(src, Some("merge"))),
            (9, "merge")
        );
        assert_eq!(site("pre-hooks", 2).locate(src, None), None);
    }
}
