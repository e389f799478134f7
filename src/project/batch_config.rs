//! The config of change-driven incremental models (`incremental_strategy:
//! microbatch`) and of reuse, in dbt's vocabulary where it fits:
//! `event_time` and `batch_size` as dbt's microbatch has them, or a
//! `unique_key` for models batched by key (one session, one user).
//! Unlike dbt, the batches to recompute come from what changed in the
//! parents since the model last ran, not from the clock; `batch_from`
//! says how a parent's changed rows map to the model's batches when the
//! parent does not have the batch column under the same name.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value as Json;

use super::config::ConfigError;

/// The time grain of a `microbatch` model batched by `event_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BatchSize {
    /// `date_trunc('hour', ...)`: the default.
    #[default]
    Hour,
    /// One day.
    Day,
    /// One month.
    Month,
    /// One year.
    Year,
}

impl BatchSize {
    /// The `date_trunc` part name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchSize::Hour => "hour",
            BatchSize::Day => "day",
            BatchSize::Month => "month",
            BatchSize::Year => "year",
        }
    }
}

/// How the changed rows of one parent become batches of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum BatchFrom {
    /// A SQL expression over the parent's columns (`click_id`,
    /// `event_timestamp`): the batch of each changed row (truncated to
    /// `batch_size` for time batches).
    Expr(String),
    /// The parent has no batch column: its changed rows' `on` values are
    /// looked up in parent `via`, whose matching rows' batches are the
    /// ones to recompute (a session's first touch changed: every hour of
    /// that session's purchases).
    Via {
        /// Another parent of the model, which has the batch column.
        via: String,
        /// The column both parents share.
        on: String,
    },
}

/// Batching and reuse settings of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct BatchConfig {
    /// The column holding each row's time (dbt's `event_time`). On a
    /// microbatch model: it is batched by this column's `batch_size`. On
    /// any model: a microbatch child reads this parent's batches from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
    /// The time grain of the batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<BatchSize>,
    /// Per parent name: how its changed rows map to this model's batches.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub batch_from: IndexMap<String, BatchFrom>,
    /// Overrides volatility detection: `true` rebuilds every run, `false`
    /// lets a model reuse its table although its SQL calls `now()` or
    /// reads files (the analyst knows the value does not matter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volatile: Option<bool>,
}

/// The config keys this module reads.
pub const KEYS: &[&str] = &["event_time", "batch_size", "batch_from", "volatile"];

impl BatchConfig {
    /// Applies one key of [`KEYS`].
    pub fn apply(&mut self, key: &str, value: &Json) -> Result<(), ConfigError> {
        match key {
            "event_time" => self.event_time = Some(text(key, value)?),
            "batch_size" => self.batch_size = Some(batch_size(&text(key, value)?)?),
            "batch_from" => self.batch_from = batch_from(value)?,
            "volatile" => {
                self.volatile = Some(value.as_bool().ok_or_else(|| ConfigError {
                    message: "config `volatile` expects true or false".into(),
                    help: None,
                })?)
            }
            _ => unreachable!("only KEYS are applied here"),
        }
        Ok(())
    }
}

fn text(key: &str, value: &Json) -> Result<String, ConfigError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ConfigError {
            message: format!("config `{key}` expects a string"),
            help: None,
        })
}

fn batch_size(text: &str) -> Result<BatchSize, ConfigError> {
    Ok(match text {
        "hour" => BatchSize::Hour,
        "day" => BatchSize::Day,
        "month" => BatchSize::Month,
        "year" => BatchSize::Year,
        other => {
            return Err(ConfigError {
                message: format!("invalid batch_size `{other}`"),
                help: Some("batch_size is one of: hour, day, month, year".into()),
            })
        }
    })
}

fn batch_from(value: &Json) -> Result<IndexMap<String, BatchFrom>, ConfigError> {
    let wrong = || {
        ConfigError {
        message: "config `batch_from` expects a mapping of parent name to a column \
                  (or SQL expression), or to `{via: <parent>, on: <column>}`"
            .into(),
        help: Some("e.g. batch_from: {device_events: click_id, location_events: {via: browser_events, on: event_id}}".into()),
    }
    };
    let Json::Object(map) = value else {
        return Err(wrong());
    };
    let mut out = IndexMap::new();
    for (parent, how) in map {
        let from = match how {
            Json::String(expr) => BatchFrom::Expr(expr.clone()),
            Json::Object(o) => match (
                o.get("via").and_then(Json::as_str),
                o.get("on").and_then(Json::as_str),
            ) {
                (Some(via), Some(on)) if o.len() == 2 => BatchFrom::Via {
                    via: via.into(),
                    on: on.into(),
                },
                _ => return Err(wrong()),
            },
            _ => return Err(wrong()),
        };
        out.insert(parent.clone(), from);
    }
    Ok(out)
}
