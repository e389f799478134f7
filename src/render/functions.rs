//! dbt's Jinja vocabulary as minijinja functions: `ref`, `source`, `config`,
//! `var`, `env_var`, `is_incremental`, `log`. Dependencies and config calls
//! are recorded in a per-render [`Capture`] so one render both produces the
//! SQL and discovers the graph.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Error, ErrorKind, State};
use serde_json::Value as Json;

use crate::diagnostic::{did_you_mean, Code};
use crate::project::NodeConfig;

/// What one render discovered, stored as a minijinja state extension.
#[derive(Debug, Default, Clone)]
pub struct Capture {
    /// Names passed to `ref()`, in call order.
    pub refs: Vec<String>,
    /// `(source, table)` pairs passed to `source()`.
    pub sources: Vec<(String, String)>,
    /// Keys passed to `config()`, in call order.
    pub config: Vec<(String, Json)>,
}

/// A lake-specific failure raised from inside a template function; the
/// renderer finds it in the error chain to give it a stable code and hint.
#[derive(Debug, Clone)]
pub struct LakeError {
    /// Diagnostic code.
    pub code: Code,
    /// Message.
    pub message: String,
    /// Hint.
    pub help: Option<String>,
}

impl fmt::Display for LakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LakeError {}

fn lake_error(code: Code, message: String, help: Option<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(LakeError {
        code,
        message,
        help,
    })
}

/// Everything `ref()` and `source()` can resolve to, built once per compile.
#[derive(Debug, Default, Clone)]
pub struct Resolver {
    /// Model and seed names to relations (`JinjaRelation` objects, shared
    /// by reference count so a `ref()` call copies no strings).
    pub nodes: HashMap<String, Value>,
    /// `(source, table)` to relations, likewise.
    pub sources: HashMap<(String, String), Value>,
    /// Project variables.
    pub vars: IndexMap<String, Json>,
}

/// Registers the dbt vocabulary on `env`.
pub fn register(env: &mut minijinja::Environment<'_>, resolver: Arc<Resolver>) {
    let r = resolver.clone();
    env.add_function(
        "ref",
        move |state: &mut State, args: Rest<String>| -> Result<Value, Error> {
            let Some(name) = args.0.last() else {
                return Err(Error::new(
                    ErrorKind::MissingArgument,
                    "ref() needs a model name",
                ));
            };
            let Some(rel) = r.nodes.get(name) else {
                let help = match did_you_mean(name, r.nodes.keys().map(String::as_str)) {
                    Some(s) => format!("did you mean '{s}'?"),
                    None => {
                        "ref() takes the file name of a model or seed, without .sql".to_string()
                    }
                };
                return Err(lake_error(
                    Code::UnknownRef,
                    format!("unknown model '{name}'"),
                    Some(help),
                ));
            };
            state
                .get_or_insert_extension(Capture::default())
                .refs
                .push(name.clone());
            Ok(rel.clone())
        },
    );
    let r = resolver.clone();
    env.add_function(
        "source",
        move |state: &mut State, source: String, table: String| -> Result<Value, Error> {
            let key = (source.clone(), table.clone());
            let Some(rel) = r.sources.get(&key) else {
                let known: Vec<String> =
                    r.sources.keys().map(|(s, t)| format!("{s}.{t}")).collect();
                let wanted = format!("{source}.{table}");
                let help = match did_you_mean(&wanted, known.iter().map(String::as_str)) {
                    Some(s) => {
                        let (a, b) = s.split_once('.').unwrap_or((s, ""));
                        format!("did you mean source('{a}', '{b}')?")
                    }
                    None => {
                        "declare it under `sources:` in a .yml file beside the models".to_string()
                    }
                };
                return Err(lake_error(
                    Code::UnknownSource,
                    format!("unknown source '{wanted}'"),
                    Some(help),
                ));
            };
            state
                .get_or_insert_extension(Capture::default())
                .sources
                .push(key);
            Ok(rel.clone())
        },
    );
    env.add_function(
        "config",
        |state: &mut State, kwargs: Kwargs| -> Result<String, Error> {
            let mut scratch = NodeConfig::default();
            let mut pairs = Vec::new();
            for key in kwargs.args() {
                let value: Value = kwargs.get(key)?;
                let json = serde_json::to_value(&value).unwrap_or(Json::Null);
                if let Err(e) = scratch.apply(key, &json) {
                    let code = if e.message.starts_with("unknown") {
                        Code::UnknownKey
                    } else {
                        Code::InvalidValue
                    };
                    return Err(lake_error(code, e.message, e.help));
                }
                pairs.push((key.to_string(), json));
            }
            state
                .get_or_insert_extension(Capture::default())
                .config
                .extend(pairs);
            Ok(String::new())
        },
    );
    let r = resolver;
    env.add_function("var", move |name: String, default: Option<Value>| -> Result<Value, Error> {
        match r.vars.get(&name) {
            Some(v) => Ok(Value::from(minijinja::value::Serde(v.clone()))),
            None => default.ok_or_else(|| {
                lake_error(
                    Code::UndefinedVariable,
                    format!("required var '{name}' is not set"),
                    Some(format!("add `{name}` under `vars:` in project.yml, pass --vars '{{{name}: ...}}', or give var() a default")),
                )
            }),
        }
    });
    env.add_function("env_var", env_var);
    // dbt's meaning: the model is incremental, its table exists, and no full
    // refresh was asked for. A config() call earlier in the same template
    // counts, as in dbt.
    env.add_function("is_incremental", |state: &State| -> bool {
        let flag = |name: &str| state.lookup(name).is_some_and(|v| v.is_true());
        if !flag("__lake_exists") {
            return false;
        }
        let static_incremental = flag("__lake_static_incremental");
        let mut full_refresh = flag("__lake_full_refresh");
        let mut incremental = static_incremental;
        if let Some(cap) = state.get_extension::<Capture>() {
            for (k, v) in &cap.config {
                match k.as_str() {
                    "materialized" => incremental = v.as_str() == Some("incremental"),
                    "full_refresh" => full_refresh = v.as_bool().unwrap_or(full_refresh),
                    _ => {}
                }
            }
        }
        incremental && !full_refresh
    });
    // In a `load` model: the landed file being loaded (the loader runs the
    // model once per file, replacing the marker with the file's URL).
    env.add_function("landed_file", || -> String {
        crate::plan::load::landed_file_sql()
    });
    // dbt's signature: log(msg, info=False), info positional or keyword.
    env.add_function(
        "log",
        |msg: Value, info: Option<bool>, kwargs: Kwargs| -> Result<String, Error> {
            let info = match info {
                Some(i) => i,
                None => kwargs.get::<Option<bool>>("info")?.unwrap_or(false),
            };
            kwargs.assert_all_used()?;
            if info {
                tracing::info!(target: "lake::jinja", "{msg}");
            } else {
                tracing::debug!(target: "lake::jinja", "{msg}");
            }
            Ok(String::new())
        },
    );
}

/// `env_var('NAME', 'default')`: the environment variable, else the default,
/// else an error naming the variable (never a value).
pub fn env_var(name: String, default: Option<String>) -> Result<String, Error> {
    match std::env::var(&name) {
        Ok(v) => Ok(v),
        Err(_) => default.ok_or_else(|| {
            lake_error(
                Code::UndefinedVariable,
                format!("environment variable '{name}' is not set"),
                Some(format!(
                    "export {name}=... or give env_var() a default: env_var('{name}', '...')"
                )),
            )
        }),
    }
}
