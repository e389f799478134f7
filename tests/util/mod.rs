//! Test harness: build a throwaway project in a temp folder, run the real
//! `lake` binary on it, and read what it printed and wrote.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A project folder that disappears after the test.
pub struct TempProject {
    pub dir: tempfile::TempDir,
}

/// What one `lake` invocation did.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TempProject {
    /// An empty project named `demo`.
    pub fn new() -> Self {
        let p = TempProject {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        p.file("project.yml", "name: demo\n");
        p
    }

    /// Writes `rel` (creating folders) and returns self for chaining.
    pub fn file(&self, rel: &str, text: &str) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Reads a file the command wrote.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Runs `lake <args>` in the project folder with a clean profile lookup.
    pub fn lake(&self, args: &[&str]) -> Output {
        self.lake_env(args, &[])
    }

    /// Like [`lake`] with extra environment variables.
    pub fn lake_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lake"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("LAKE_PROFILES_DIR")
            .env_remove("LAKE_PROJECT_DIR")
            .env_remove("LAKE_LOG")
            .env("HOME", self.dir.path().join("home"))
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run lake");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `lake ls` names for a selection, one per line, models only.
    pub fn ls(&self, select: &[&str]) -> Vec<String> {
        let mut args = vec!["ls", "--resource-type", "model"];
        if !select.is_empty() {
            args.push("--select");
            args.extend_from_slice(select);
        }
        let out = self.lake(&args);
        assert_eq!(out.code, 0, "lake ls failed: {}", out.stderr);
        out.stdout.lines().map(str::to_string).collect()
    }
}

/// Repository root, for tests that use the repo's own project.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
