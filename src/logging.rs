//! Log setup (tracing): human lines or JSON on stderr, so stdout stays
//! clean for command output that scripts parse. `LAKE_LOG` (an env-filter
//! directive) overrides `-v`; `NO_COLOR` turns colours off.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber once.
pub fn init(verbose: u8, format: LogFormat) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("LAKE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("lake={level}")));
    let ansi = std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A closed stderr (`lake run 2>&1 | head`) must not turn every later
        // log line into a complaint printed to that same closed stderr.
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(ansi).with_target(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
