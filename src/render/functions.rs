//! dbt's Jinja vocabulary as minijinja functions: `ref`, `source`, `config`,
//! `var`, `env_var`, `is_incremental`, `log`. Dependencies and config calls
//! are recorded in a per-render [`Capture`] so one render both produces the
//! SQL and discovers the graph.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Error, ErrorKind, State};
use serde_json::Value as Json;

use crate::diagnostic::{did_you_mean, Code};
use crate::project::jinja::{env_var, lake_error};
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
    /// Whether the render read `execute` or asked the warehouse a query:
    /// the model renders again at run time (see `super::live`).
    pub live: bool,
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
    register_ref(env, resolver.clone());
    register_source(env, resolver.clone());
    env.add_function("config", config);
    register_var(env, resolver);
    env.add_function("env_var", env_var);
    env.add_function("is_incremental", is_incremental);
    // In a `load` model: the landed file being loaded (the loader runs the
    // model once per file, replacing the marker with the file's URL).
    env.add_function("landed_file", crate::nodes::landed_file_sql);
    env.add_function("log", log);
}

/// The relation a name stands for, recorded in the render's [`Capture`]
/// when found.
fn record<K>(
    state: &mut State,
    found: Option<&Value>,
    key: K,
    push: impl FnOnce(&mut Capture, K),
) -> Option<Value> {
    let rel = found?.clone();
    push(state.get_or_insert_extension(Capture::default()), key);
    Some(rel)
}

/// `ref('model')` (or dbt's two-argument `ref('package', 'model')`).
fn register_ref(env: &mut minijinja::Environment<'_>, r: Arc<Resolver>) {
    env.add_function(
        "ref",
        move |state: &mut State, args: Rest<String>| -> Result<Value, Error> {
            let Some(name) = args.0.last() else {
                return Err(Error::new(
                    ErrorKind::MissingArgument,
                    "ref() needs a model name",
                ));
            };
            record(state, r.nodes.get(name), name.clone(), |c, n| {
                c.refs.push(n)
            })
            .ok_or_else(|| unknown_ref(&r, name))
        },
    );
}

fn unknown_ref(r: &Resolver, name: &str) -> Error {
    let help = match did_you_mean(name, r.nodes.keys().map(String::as_str)) {
        Some(s) => format!("did you mean '{s}'?"),
        None => "ref() takes the file name of a model or seed, without .sql".to_string(),
    };
    lake_error(
        Code::UnknownRef,
        format!("unknown model '{name}'"),
        Some(help),
    )
}

/// `source('source', 'table')`.
fn register_source(env: &mut minijinja::Environment<'_>, r: Arc<Resolver>) {
    env.add_function(
        "source",
        move |state: &mut State, source: String, table: String| -> Result<Value, Error> {
            let key = (source, table);
            record(state, r.sources.get(&key), key.clone(), |c, k| {
                c.sources.push(k)
            })
            .ok_or_else(|| unknown_source(&r, &key.0, &key.1))
        },
    );
}

fn unknown_source(r: &Resolver, source: &str, table: &str) -> Error {
    let known: Vec<String> = r.sources.keys().map(|(s, t)| format!("{s}.{t}")).collect();
    let wanted = format!("{source}.{table}");
    let help = match did_you_mean(&wanted, known.iter().map(String::as_str)) {
        Some(s) => {
            let (a, b) = s.split_once('.').unwrap_or((s, ""));
            format!("did you mean source('{a}', '{b}')?")
        }
        None => "declare it under `sources:` in a .yml file beside the models".to_string(),
    };
    lake_error(
        Code::UnknownSource,
        format!("unknown source '{wanted}'"),
        Some(help),
    )
}

/// `config(key=value, ...)`: checked at once, recorded for the model (or,
/// in a singular test, rendered with `__lake_test`, for the test: its
/// `severity`, `store_failures`, ...).
fn config(state: &mut State, kwargs: Kwargs) -> Result<String, Error> {
    let mut scratch = NodeConfig::default();
    let mut test = crate::project::TestConfig::default();
    let in_test = state.lookup("__lake_test").is_some_and(|v| v.is_true());
    let mut pairs = Vec::new();
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        let json = serde_json::to_value(&value).unwrap_or(Json::Null);
        if in_test && crate::project::test_config::TEST_CONFIG_KEYS.contains(&key) {
            if let Err(e) = test.apply(key, &json) {
                return Err(lake_error(Code::InvalidValue, e.0, None));
            }
        } else if let Err(e) = scratch.apply(key, &json) {
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
}

/// `var('name', default)`: a project variable (`--vars` applied).
fn register_var(env: &mut minijinja::Environment<'_>, r: Arc<Resolver>) {
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
}

/// dbt's meaning: the model is incremental, its table exists, and no full
/// refresh was asked for. A config() call earlier in the same template
/// counts, as in dbt.
fn is_incremental(state: &State) -> bool {
    let flag = |name: &str| state.lookup(name).is_some_and(|v| v.is_true());
    if !flag("__lake_exists") {
        return false;
    }
    let mut incremental = flag("__lake_static_incremental");
    let mut full_refresh = flag("__lake_full_refresh");
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
}

/// dbt's signature: log(msg, info=False), info positional or keyword.
fn log(msg: Value, info: Option<bool>, kwargs: Kwargs) -> Result<String, Error> {
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
}
