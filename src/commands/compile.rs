//! `lake compile`: render everything, write compiled SQL and the manifest.

use std::time::Instant;

use super::{apply_selection, compile_project, Failure};
use crate::artifacts::{write_compiled, write_manifest};
use crate::cli::{GlobalArgs, SelectArgs, EXIT_OK};
use crate::nodes::NodeKind;

/// Runs `lake compile`.
pub fn run(global: &GlobalArgs, select: &SelectArgs) -> Result<u8, Failure> {
    let start = Instant::now();
    let c = compile_project(global)?;
    let selected: Option<Vec<usize>> = if select.select.is_empty() && select.exclude.is_empty() {
        None
    } else {
        Some(apply_selection(&c.dag, select)?.nodes.into_iter().collect())
    };
    // The manifest is written beside the SQL files, on its own thread.
    let clock = Instant::now();
    let (written, manifest) = std::thread::scope(|s| {
        let manifest = s.spawn(|| write_manifest(&c.project, &c.dag, &c.started_at));
        let written = write_compiled(&c.project, &c.dag, selected.as_deref());
        (written, manifest.join().expect("manifest thread panicked"))
    });
    let written = written?;
    manifest?;
    tracing::info!(
        files = written,
        elapsed_ms = clock.elapsed().as_millis() as u64,
        "artifacts written"
    );
    let count = |k: NodeKind| c.dag.nodes.iter().filter(|n| n.kind == k).count();
    crate::stdoutln!(
        "Compiled {} models, {} seeds, {} sources, {} tests ({written} SQL files) into {} in {:.2}s",
        count(NodeKind::Model),
        count(NodeKind::Seed),
        count(NodeKind::Source),
        count(NodeKind::Test),
        crate::diagnostic::display_path(c.project.target_dir.strip_prefix(&c.project.root).unwrap_or(&c.project.target_dir)),
        start.elapsed().as_secs_f64()
    );
    super::exit_fast(c);
    Ok(EXIT_OK)
}
