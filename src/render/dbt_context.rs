//! The rest of dbt's Jinja context that real projects' macros use:
//! `return()` (a macro's value other than its text), `adapter.dispatch`,
//! `adapter.quote`, `exceptions.raise_compiler_error`/`warn`, `flags` and
//! `invocation_id`. Each behaves as in dbt for what lake can know while
//! rendering; what needs the warehouse is an error naming it.

use std::cell::RefCell;
use std::sync::Arc;

use minijinja::value::{Object, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use crate::diagnostic::Code;
use crate::project::jinja::lake_error;

/// The global that wraps a macro calling `return()` (see [`wrap_returning`]).
const RETURNING: &str = "__lake_returning";
/// What a macro calling `return()` is renamed to; the wrapper takes its name.
const BODY_PREFIX: &str = "__lake_body_";
/// The error text `return()` unwinds a macro with; never shown.
const RETURN_SIGNAL: &str = "__lake_return__";

thread_local! {
    /// One slot per macro call in progress on this thread (renders run on
    /// one thread each): what its `return()` gave.
    static RETURNED: RefCell<Vec<Option<Value>>> = const { RefCell::new(Vec::new()) };
}

/// Per-invocation values of the context.
pub struct Invocation<'a> {
    /// `invocation_id`: the run's id (run_results.json's too).
    pub id: &'a str,
    /// `flags.FULL_REFRESH`.
    pub full_refresh: bool,
    /// `flags.STORE_FAILURES`.
    pub store_failures: bool,
}

/// Adds `return`, `adapter`, `exceptions`, `flags` and `invocation_id`.
pub fn register(env: &mut Environment<'static>, invocation: &Invocation<'_>) {
    env.add_function("return", return_value);
    env.add_function(RETURNING, |m: Value| Value::from_object(Returning(m)));
    env.add_global("adapter", Value::from_object(Adapter));
    env.add_global("exceptions", Value::from_object(Exceptions));
    env.add_global("invocation_id", invocation.id.to_string());
    env.add_global(
        "flags",
        minijinja::context! {
            FULL_REFRESH => invocation.full_refresh,
            STORE_FAILURES => invocation.store_failures,
            FAIL_FAST => false,
            WARN_ERROR => false,
        },
    );
}

/// The macro template with every macro that calls `return()` renamed and
/// rebound, at the end, to a wrapper that gives the returned value: dbt's
/// `{{ return(x) }}` / `{% do return(x) %}`. Line numbers do not move.
pub fn wrap_returning(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rebound = Vec::new();
    let mut done = 0;
    while let Some(m) = next_macro(text, done) {
        let name = &text[m.name.clone()];
        if text[m.name.end..m.end].contains("return(") {
            out.push_str(&text[done..m.name.start]);
            out.push_str(BODY_PREFIX);
            out.push_str(&text[m.name.start..m.end]);
            rebound.push(name.to_string());
        } else {
            out.push_str(&text[done..m.end]);
        }
        done = m.end;
    }
    out.push_str(&text[done..]);
    for name in rebound {
        out.push_str(&format!(
            "{{% set {name} = {RETURNING}({BODY_PREFIX}{name}) %}}"
        ));
    }
    out
}

/// A `{% macro name(...) %} ... {% endmacro %}` block in a template.
struct MacroBlock {
    /// Where its name is.
    name: std::ops::Range<usize>,
    /// Where its `{% endmacro %}` tag ends (the text's end if missing).
    end: usize,
}

/// The next macro block starting at or after `from`.
fn next_macro(text: &str, from: usize) -> Option<MacroBlock> {
    let mut at = from;
    while let Some(open) = text[at..].find("{%").map(|i| at + i) {
        let inner = &text[open + 2..];
        let tag = inner.trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = tag.strip_prefix("macro") {
            let name = after.trim_start();
            let len = name
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(name.len());
            if len > 0 && after.starts_with(char::is_whitespace) {
                let start = text.len() - name.len();
                return Some(MacroBlock {
                    name: start..start + len,
                    end: end_of_macro(text, open),
                });
            }
        }
        at = open + 2;
    }
    None
}

/// Where the `{% endmacro %}` after `from` ends.
fn end_of_macro(text: &str, from: usize) -> usize {
    let mut at = from;
    while let Some(open) = text[at..].find("{%").map(|i| at + i) {
        let tag = text[open + 2..].trim_start_matches(['-', '+']).trim_start();
        let close = text[open..].find("%}").map_or(text.len(), |i| open + i + 2);
        if tag.starts_with("endmacro") {
            return close;
        }
        at = close;
    }
    text.len()
}

/// `return(value)`: stores the value for the macro call in progress and
/// unwinds it; [`Returning`] catches it there.
fn return_value(value: Value) -> Result<Value, Error> {
    let stored = RETURNED.with(|slots| match slots.borrow_mut().last_mut() {
        Some(slot) => {
            *slot = Some(value);
            true
        }
        None => false,
    });
    if stored {
        Err(Error::new(ErrorKind::InvalidOperation, RETURN_SIGNAL))
    } else {
        Err(lake_error(
            Code::RenderError,
            "return() outside a macro".into(),
            Some("call return() inside a {% macro %} in macros/".into()),
        ))
    }
}

/// A macro that calls `return()`: calling it gives the returned value, or
/// its text when it returned nothing.
#[derive(Debug)]
struct Returning(Value);

impl Object for Returning {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        RETURNED.with(|slots| slots.borrow_mut().push(None));
        let out = self.0.call(state, args);
        let returned = RETURNED.with(|slots| slots.borrow_mut().pop().flatten());
        match returned {
            Some(value) => Ok(value),
            None => out,
        }
    }
}

/// dbt's `adapter`: `dispatch` among the project's macros, `quote`.
#[derive(Debug)]
struct Adapter;

impl Object for Adapter {
    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "dispatch" => dispatch(state, args),
            // Always double-quoted, as dbt-duckdb quotes.
            "quote" => {
                let name = args.first().map(ToString::to_string).unwrap_or_default();
                Ok(Value::from(format!("\"{}\"", name.replace('"', "\"\""))))
            }
            other => Err(lake_error(
                Code::Unsupported,
                format!("lake does not support `adapter.{other}` yet"),
                Some("ask the warehouse with run_query() inside {% if execute %}, or compute it in SQL".into()),
            )),
        }
    }
}

/// `adapter.dispatch('name', macro_namespace=None)`: the project's
/// `duckdb__name`, else `default__name`, as dbt looks them up for DuckDB.
fn dispatch(state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
    let (positional, kwargs): (Rest<Value>, minijinja::value::Kwargs) =
        minijinja::value::from_args(args)?;
    let name = positional
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| Error::new(ErrorKind::MissingArgument, "dispatch needs a macro name"))?
        .to_string();
    let namespace = positional
        .get(1)
        .cloned()
        .or(kwargs.get::<Option<Value>>("macro_namespace")?);
    let _ = kwargs.get::<Option<Value>>("packages");
    kwargs.assert_all_used()?;
    let namespace = namespace.and_then(|v| v.as_str().map(str::to_string));
    for prefix in ["duckdb__", "default__"] {
        if let Some(found) = state.lookup(&format!("{prefix}{name}")) {
            if !found.is_undefined() {
                return Ok(found);
            }
        }
    }
    // dbt's own macros: the cross-database ones lake provides.
    if namespace.as_deref() == Some("dbt") {
        let builtin = state
            .lookup("dbt")
            .and_then(|dbt| dbt.get_attr(&name).ok())
            .filter(|m| !m.is_undefined());
        if let Some(found) = builtin {
            return Ok(found);
        }
    }
    let help = match namespace.as_deref() {
        Some(ns) if ns != state.lookup("project_name").map(|v| v.to_string()).unwrap_or_default() => format!(
            "`{ns}` macros are not part of the project: lake provides none of dbt's or a package's dispatched macros yet; define `default__{name}` in macros/"
        ),
        _ => format!("define `duckdb__{name}` or `default__{name}` in macros/"),
    };
    Err(lake_error(
        Code::UndefinedVariable,
        format!("adapter.dispatch('{name}') finds no macro `duckdb__{name}` or `default__{name}`"),
        Some(help),
    ))
}

/// dbt's `exceptions`: `raise_compiler_error(msg)` stops the render with
/// the message at the calling line; `warn(msg)` logs it.
#[derive(Debug)]
struct Exceptions;

impl Object for Exceptions {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let message = args.first().map(ToString::to_string).unwrap_or_default();
        match method {
            "raise_compiler_error" if message.trim().is_empty() => Err(lake_error(
                Code::RenderError,
                "exceptions.raise_compiler_error() was called (without a message)".into(),
                None,
            )),
            "raise_compiler_error" => Err(lake_error(Code::RenderError, message, None)),
            "warn" => {
                tracing::warn!(target: "lake::jinja", "{message}");
                Ok(Value::from(""))
            }
            other => Err(lake_error(
                Code::Unsupported,
                format!("lake does not support `exceptions.{other}` yet"),
                Some(
                    "use exceptions.raise_compiler_error(message) or exceptions.warn(message)"
                        .into(),
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_macros_calling_return_are_renamed_and_rebound() {
        let text = "{% macro a() %}{{ return([1]) }}{% endmacro %}\n{%- macro b(x) -%}\n{{ x }}\n{%- endmacro %}\n{% macro c() %}{% do return(2) %}{% endmacro %}\n";
        let wrapped = wrap_returning(text);
        assert_eq!(
            wrapped,
            "{% macro __lake_body_a() %}{{ return([1]) }}{% endmacro %}\n{%- macro b(x) -%}\n{{ x }}\n{%- endmacro %}\n{% macro __lake_body_c() %}{% do return(2) %}{% endmacro %}\n{% set a = __lake_returning(__lake_body_a) %}{% set c = __lake_returning(__lake_body_c) %}"
        );
        assert_eq!(wrap_returning("no macros"), "no macros");
        assert_eq!(wrap_returning("{% macro"), "{% macro");
    }
}
