//! Printing that survives a closed pipe. Rust ignores SIGPIPE, so `println!`
//! panics with "failed printing to stdout: Broken pipe" as soon as the reader
//! has gone (`lake run | head -3`). Dying of SIGPIPE instead, as C tools do,
//! would stop a cron job's `lake run | head` half way through its run; so
//! lake keeps working and drops what it can no longer show: the first failed
//! write to a stream marks it closed, and every later write to it is skipped.
//!
//! Use [`stdoutln!`](crate::stdoutln), [`stdout!`](crate::stdout),
//! [`stderrln!`](crate::stderrln) and [`stderr!`](crate::stderr) instead of
//! the `std` print macros everywhere in lake.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// When stdout last took a write, in milliseconds since [`epoch`]: long
/// work prints a progress line only when the console has been quiet.
static LAST_STDOUT_MS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Writes to stdout. Returns `false` once stdout is closed (the reader went
/// away, or the disk is full), so a long listing can stop early.
pub fn write_stdout(args: fmt::Arguments<'_>) -> bool {
    let written = write_to(&STDOUT_CLOSED, io::stdout().lock(), args);
    let now = epoch().elapsed().as_millis() as u64;
    LAST_STDOUT_MS.store(now, Ordering::Relaxed);
    written
}

/// How long stdout has been quiet (since the process started, if it never
/// took a line).
pub fn stdout_quiet_for() -> Duration {
    let now = epoch().elapsed().as_millis() as u64;
    Duration::from_millis(now.saturating_sub(LAST_STDOUT_MS.load(Ordering::Relaxed)))
}

/// Writes to stderr; once stderr is closed, later writes are skipped.
pub fn write_stderr(args: fmt::Arguments<'_>) -> bool {
    write_to(&STDERR_CLOSED, io::stderr().lock(), args)
}

/// Whether stdout still takes output: false after a write to it failed.
pub fn stdout_open() -> bool {
    !STDOUT_CLOSED.load(Ordering::Relaxed)
}

fn write_to(closed: &AtomicBool, mut stream: impl Write, args: fmt::Arguments<'_>) -> bool {
    if closed.load(Ordering::Relaxed) {
        return false;
    }
    // Any error, not only EPIPE: there is nowhere left to report it.
    if stream.write_fmt(args).is_err() {
        closed.store(true, Ordering::Relaxed);
        return false;
    }
    true
}

/// `println!` that stops quietly when stdout is closed.
#[macro_export]
macro_rules! stdoutln {
    () => {{
        $crate::output::write_stdout(format_args!("\n"));
    }};
    ($($arg:tt)*) => {{
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)));
    }};
}

/// `print!` that stops quietly when stdout is closed.
#[macro_export]
macro_rules! stdout {
    ($($arg:tt)*) => {{
        $crate::output::write_stdout(format_args!($($arg)*));
    }};
}

/// `eprintln!` that stops quietly when stderr is closed.
#[macro_export]
macro_rules! stderrln {
    () => {{
        $crate::output::write_stderr(format_args!("\n"));
    }};
    ($($arg:tt)*) => {{
        $crate::output::write_stderr(format_args!("{}\n", format_args!($($arg)*)));
    }};
}

/// `eprint!` that stops quietly when stderr is closed.
#[macro_export]
macro_rules! stderr {
    ($($arg:tt)*) => {{
        $crate::output::write_stderr(format_args!($($arg)*));
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_closes_the_stream_for_good() {
        let closed = AtomicBool::new(false);
        let mut sink = Vec::new();
        assert!(write_to(&closed, &mut sink, format_args!("a\n")));
        assert!(!write_to(&closed, Closed, format_args!("b\n")));
        assert!(!write_to(&closed, &mut sink, format_args!("c\n")));
        assert_eq!(sink, b"a\n", "nothing is written after the pipe broke");
    }
}
