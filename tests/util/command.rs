//! The one way tests and benchmarks start the `lake` binary. Whatever the
//! developer's shell exports (`LAKE_PROJECT_DIR`, `LAKE_PROFILES_DIR`,
//! `LAKE_LOG`, `LAKE_LOCK_WAIT`, `LAKE_SERVE_TOKEN`, AWS keys, ...) must not
//! redirect a test to another project, profile or lake, so every command
//! starts from the same environment. Kept free of the rest of `tests/util`
//! so the benchmarks can include it with `#[path]`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Variables outside the `LAKE_` family that lake reads: the S3 key
/// fallback when a profile names none.
const FOREIGN_SETTINGS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// `lake` with `project` as its working folder and `<project>/home` as
/// HOME (so `~/.lake/profiles.yml` of the developer is never read), every
/// inherited `LAKE_*` setting removed except the `LAKE_TEST_*` server
/// addresses that test profiles read through `env_var()`, the shared
/// extension folder, and no colour. Callers add arguments, more variables
/// and stdio.
pub fn lake_command(project: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lake"));
    cmd.current_dir(project);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        let lake_setting = name.starts_with("LAKE_") && !name.starts_with("LAKE_TEST_");
        if lake_setting || FOREIGN_SETTINGS.contains(&name.as_ref()) {
            cmd.env_remove(&key);
        }
    }
    cmd.env("HOME", project.join("home"))
        .env("LAKE_EXTENSION_DIR", extension_dir())
        .env("NO_COLOR", "1");
    cmd
}

/// One shared DuckDB extension folder for every test (provisioned once,
/// under a file lock, by whichever lake process needs it first):
/// `$LAKE_EXTENSION_DIR` of the test process, else `~/.lake/extensions`.
pub fn extension_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LAKE_EXTENSION_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".lake").join("extensions")
}
