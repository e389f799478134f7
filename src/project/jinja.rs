//! The Jinja pieces project loading shares with model rendering:
//! `env_var()` (profiles.yml and models both call it) and [`LakeError`],
//! the failure a template function raises. They live here, in the first
//! pipeline stage, so loading a project never reaches into rendering.

use std::fmt;

use minijinja::{Error, ErrorKind};

use crate::diagnostic::Code;

/// A lake-specific failure raised from inside a template function; the
/// caller finds it in the error chain to give it a stable code and hint.
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

/// A minijinja error carrying a [`LakeError`], so the code and hint survive
/// the template engine.
pub fn lake_error(code: Code, message: String, help: Option<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(LakeError {
        code,
        message,
        help,
    })
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
