//! The `lake` binary: everything lives in the library; see `lake::cli` for
//! the command line and `lake::commands` for what each command does.

// Compiling a large project allocates many small strings on two threads;
// mimalloc handles that far better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Parses the command line, sets up logging, runs the command and maps
/// its outcome to the exit code CI and cron read.
fn main() -> std::process::ExitCode {
    use clap::Parser;
    let cli = lake::cli::Cli::parse();
    lake::logging::init(cli.global.verbose, cli.global.log_format);
    std::process::ExitCode::from(lake::commands::dispatch(cli))
}
