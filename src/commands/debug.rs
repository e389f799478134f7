//! `lake debug` checks each piece in turn (project, profile, extensions,
//! catalog) and says precisely which one is wrong; `lake debug
//! --print-attach` prints how any DuckDB client opens the same lake;
//! `lake setup` provisions the DuckDB extensions ahead of time.

use super::{load, Failure};
use crate::cli::{GlobalArgs, EXIT_ERROR, EXIT_OK};
use crate::project::profiles::{Catalog, Secret, SecretOrigin, Target};
use crate::warehouse::{Credentials, OpenScript, Warehouse, DUCKDB_VERSION};

/// Runs `lake debug --print-attach`: the statements that attach the
/// target's lake read-only and make it the default catalog, exactly those
/// `lake query` runs (see [`OpenScript`]), for the DuckDB CLI, Python or a
/// notebook. Secrets are placeholders; nothing is opened or checked, so it
/// works while a run holds the lake.
pub fn print_attach(global: &GlobalArgs) -> Result<u8, Failure> {
    let project = load(global)?;
    let target = &project.target;
    for line in attach_notes(target) {
        crate::stdoutln!("-- {line}");
    }
    for statement in OpenScript::for_reader(target, Credentials::Placeholders).statements() {
        crate::stdoutln!("{statement};");
    }
    Ok(EXIT_OK)
}

/// What a person needs to know before running the statements: printed as
/// SQL comments, so the whole output still runs as it is.
fn attach_notes(target: &Target) -> Vec<String> {
    let mut notes = vec![
        format!(
            "Attach the lake of target `{}` read-only and make it the default catalog, as",
            target.name
        ),
        format!(
            "`lake query` does, in any DuckDB {DUCKDB_VERSION} client (CLI, Python, a notebook)."
        ),
    ];
    let (from_env, written): (Vec<&Secret>, Vec<&Secret>) = target
        .secrets()
        .into_iter()
        .partition(|s| matches!(s.origin(), SecretOrigin::EnvVar(_)));
    if !from_env.is_empty() {
        notes.push(
            "Secrets are never printed: each `$` placeholder names the environment variable".into(),
        );
        notes.push(
            "the profile reads; substitute them first (`envsubst`; `os.path.expandvars` in Python)."
                .into(),
        );
    }
    if !written.is_empty() {
        notes.push(
            "Each <... from profiles.yml> stands for a secret written in profiles.yml.".into(),
        );
    }
    if let Catalog::Duckdb { .. } = target.catalog {
        let db = crate::nodes::quote(&target.database);
        notes.push("The catalog is one file: a `lake run` waits while this stays attached".into());
        notes.push(format!(
            "(`USE memory; DETACH {db};` when done), and while a run writes, this"
        ));
        notes.push("ATTACH fails: try again when the run has finished.".into());
    }
    notes
}

/// Runs `lake debug`: each check prints one line and the first failure
/// stops with its fix, so the last line names what to mend.
pub fn debug(global: &GlobalArgs) -> Result<u8, Failure> {
    crate::stdoutln!("lake {}", env!("CARGO_PKG_VERSION"));
    let project = match load(global) {
        Ok(p) => p,
        Err(f) => {
            crate::stdoutln!("  project   FAIL");
            return Err(f);
        }
    };
    crate::stdoutln!(
        "  project   OK  {} ({} models, {} seeds)",
        project.name,
        project.models.len(),
        project.seeds.len()
    );
    let t = &project.target;
    print_target(t);
    let checked = check_warehouse(t).and_then(|()| check_landing(t, &project.root));
    Ok(match checked {
        Ok(()) => check_catalog(t),
        Err(code) => code,
    })
}

/// Where the target comes from and what it points at (nothing opened yet).
fn print_target(t: &Target) {
    let source = match &t.profiles_file {
        Some(f) => format!(
            "profile `{}` in {}",
            t.profile.as_deref().unwrap_or(""),
            f.display()
        ),
        None => "embedded default (no profiles.yml)".into(),
    };
    crate::stdoutln!("  target    OK  `{}` from {source}", t.name);
    match &t.catalog {
        Catalog::Duckdb { path } => {
            crate::stdoutln!("  catalog       DuckDB file {}", path.display())
        }
        Catalog::Postgres {
            host,
            port,
            database,
            user,
            ..
        } => {
            crate::stdoutln!("  catalog       PostgreSQL {user}@{host}:{port}/{database}")
        }
        Catalog::Plain { path } => {
            let db = path
                .as_ref()
                .map_or("in memory".into(), |p| p.display().to_string());
            crate::stdoutln!("  database      plain DuckDB {db} (no DuckLake: no snapshots)");
            return;
        }
    }
    crate::stdoutln!("  data path     {}", t.data_path);
}

/// DuckDB with its extensions, then the catalog's PostgreSQL and a remote
/// data path when the target has them. `Err` is the exit code.
fn check_warehouse(t: &Target) -> Result<(), u8> {
    let mut wh = match Warehouse::start(t) {
        Ok(wh) => wh,
        Err(e) => return Err(fail("extensions", e)),
    };
    crate::stdoutln!("  extensions OK");
    for n in &wh.notes {
        crate::stdoutln!("                {n}");
    }
    if matches!(t.catalog, Catalog::Postgres { .. }) {
        wh.check_postgres(t).map_err(|e| fail("postgres", e))?;
        crate::stdoutln!("  postgres  OK  reachable and authenticated");
    }
    if !crate::storage::Location::of(&t.data_path).is_local() {
        wh.check_data_path(t).map_err(|e| fail("data path", e))?;
        crate::stdoutln!("  data path OK  {} is reachable", t.data_path);
    }
    Ok(())
}

/// The landing path, listed as the extract hook and raw loader will use it.
fn check_landing(t: &Target, root: &std::path::Path) -> Result<(), u8> {
    let landing = crate::storage::Store::open(&t.landing_path, t.s3.as_ref(), root)
        .map_err(|e| e.to_string())
        .and_then(|store| {
            crate::storage::runtime()
                .block_on(store.list(""))
                .map_err(|e| e.to_string())
        });
    match landing {
        Ok(files) => {
            crate::stdoutln!(
                "  landing   OK  {} ({} file{} waiting to load)",
                t.landing_path,
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Err(e) => {
            crate::stdoutln!("  landing   FAIL {e}");
            crate::stdoutln!("  fix: set `landing_path` in profiles.yml to a folder or s3:// prefix lake can list and write");
            Err(EXIT_ERROR)
        }
    }
}

/// Attaches the catalog the way a run does and counts what it holds.
fn check_catalog(t: &Target) -> u8 {
    let wh = match Warehouse::open(t) {
        Ok(wh) => wh,
        Err(e) => return fail("catalog", e),
    };
    let n = wh
        .session()
        .and_then(|s| s.existing_relations(wh.database()))
        .map(|r| r.len());
    match n {
        Ok(n) => crate::stdoutln!(
            "  catalog   OK  attached as `{}` ({n} tables and views)",
            t.database
        ),
        Err(e) => crate::stdoutln!(
            "  catalog   OK  attached, but listing failed: {}",
            e.message
        ),
    }
    crate::stdoutln!("All checks passed.");
    EXIT_OK
}

fn fail(what: &str, e: crate::warehouse::WarehouseError) -> u8 {
    crate::stdoutln!("  {what:<9} FAIL {}", e.message);
    if let Some(h) = e.help {
        crate::stdoutln!("  fix: {h}");
    }
    EXIT_ERROR
}

/// Runs `lake setup`.
pub fn setup(global: &GlobalArgs) -> Result<u8, Failure> {
    let project = load(global)?;
    let wh = Warehouse::start(&project.target).map_err(super::warehouse_failure)?;
    for n in &wh.notes {
        crate::stdoutln!("{n}");
    }
    crate::stdoutln!(
        "DuckDB extensions ready for target `{}`.",
        project.target.name
    );
    Ok(EXIT_OK)
}
