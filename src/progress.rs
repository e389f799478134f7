//! Progress of long work (a catch-up landing and loading hundreds of
//! files): a person watching a terminal, or reading a cron log, must tell
//! progress from a hang. Work in progress registers its counters here; one
//! watcher thread prints the newest one's line (done of N, rows, elapsed,
//! time left) whenever stdout has been quiet for [`TICK`], so the console
//! never stays silent longer than that while work goes on, and work that
//! keeps printing its own lines gets no extra ones.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// The longest stdout stays quiet while registered work goes on.
pub const TICK: Duration = Duration::from_secs(3);

/// How often the watcher looks.
const LOOK: Duration = Duration::from_millis(200);

/// Work in progress, newest last.
static ACTIVE: Mutex<Vec<Arc<Counters>>> = Mutex::new(Vec::new());

/// Counters of one piece of work.
struct Counters {
    label: String,
    unit: &'static str,
    total: u64,
    done: AtomicU64,
    rows: AtomicU64,
    started: Instant,
}

impl Counters {
    fn line(&self) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let rows = self.rows.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed().as_secs_f64();
        let left = match done {
            0 => "time left unknown".to_string(),
            _ => {
                let rest = self.total.saturating_sub(done) as f64 * elapsed / done as f64;
                format!("~{rest:.0}s left")
            }
        };
        format!(
            "       ... {} {} {done}/{} {}, {rows} rows, {elapsed:.0}s elapsed, {left}",
            self.label,
            bar(done, self.total),
            self.total,
            self.unit,
        )
    }
}

/// `[#####.....]`: ten cells.
fn bar(done: u64, total: u64) -> String {
    let filled = (done * 10)
        .checked_div(total)
        .map_or(10, |f| f.min(10) as usize);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(10 - filled))
}

/// One piece of work being reported; unregisters when dropped.
pub struct Progress {
    counters: Arc<Counters>,
}

impl Progress {
    /// Registers `label` over `total` units (e.g. files).
    pub fn start(label: impl Into<String>, total: u64, unit: &'static str) -> Progress {
        let counters = Arc::new(Counters {
            label: label.into(),
            unit,
            total,
            done: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            started: Instant::now(),
        });
        if total > 0 {
            active().push(counters.clone());
            start_watcher();
        }
        Progress { counters }
    }

    /// Counts `units` more done, with `rows` rows.
    pub fn advance(&self, units: u64, rows: u64) {
        self.counters.done.fetch_add(units, Ordering::Relaxed);
        self.counters.rows.fetch_add(rows, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        active().retain(|c| !Arc::ptr_eq(c, &self.counters));
    }
}

fn active() -> std::sync::MutexGuard<'static, Vec<Arc<Counters>>> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the watcher thread once per process; it lives as long as lake.
fn start_watcher() {
    static WATCHER: Once = Once::new();
    WATCHER.call_once(|| {
        std::thread::spawn(|| loop {
            std::thread::sleep(LOOK);
            let newest = active().last().cloned();
            if let Some(counters) = newest {
                if crate::output::stdout_quiet_for() >= TICK {
                    crate::stdoutln!("{}", counters.line());
                }
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_done_of_total_rows_and_time_left() {
        let p = Progress::start("load raw.geo_events", 4, "files");
        assert!(p.counters.line().contains("[..........] 0/4 files, 0 rows"));
        assert!(p.counters.line().ends_with("time left unknown"));
        p.advance(1, 250);
        let line = p.counters.line();
        assert!(
            line.contains("load raw.geo_events [##........] 1/4 files, 250 rows"),
            "{line}"
        );
        assert!(line.ends_with("s left"), "{line}");
        drop(p);
        assert!(active().is_empty());
    }
}
