//! What lake writes on each snapshot it commits: `author`, a one-line
//! `message` for people, and `extra_info`, a JSON [`CommitInfo`] for
//! tools (`lake history`, `lake rollback`). Secrets never get here: the
//! command line has `--vars` values blanked and the profile's secrets
//! redacted before it is recorded.

use serde::{Deserialize, Serialize};

use crate::sql::string_literal;

/// Marks `extra_info` written by lake (format version), so readers can
/// tell lake's snapshots from anyone else's.
pub const FORMAT: u32 = 1;

/// Why a snapshot was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommitKind {
    /// The models, seeds and tests of a run (one snapshot per run, or one
    /// per node group with `--commit per-node`).
    Run,
    /// One landed file appended to a raw table with its ledger rows.
    Load,
    /// A hook's writes (on-run-start/end, pre-/post-hooks, cleanup).
    Hook,
    /// `lake rollback`: relations put back as they were.
    Rollback,
}

/// One relation a snapshot published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// dbt's unique id, e.g. `model.browser_events.sessions`.
    pub unique_id: String,
    /// `schema.identifier` in the lake.
    pub relation: String,
    /// Rows written, when the statement reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// The code a run came from, when the project is a git checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitState {
    /// `git rev-parse HEAD`.
    pub commit: String,
    /// Uncommitted changes in the checkout.
    pub dirty: bool,
}

/// What a rollback undid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undone {
    /// The run rolled back, when one was named (or the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Every relation was put back as it was at this snapshot.
    pub to_snapshot: i64,
    /// The newest snapshot that was undone.
    pub from_snapshot: i64,
}

/// The JSON in a snapshot's `extra_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// [`FORMAT`].
    pub lake: u32,
    /// The run (lake invocation) that committed it; also in
    /// `target/run_results.json` as `metadata.run_id`.
    pub run_id: String,
    /// Why it was committed.
    pub kind: CommitKind,
    /// The command line as typed, secrets blanked.
    pub command: String,
    /// `--schedule NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Profile target name.
    pub target: String,
    /// lake's version.
    pub lake_version: String,
    /// The project's git commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitState>,
    /// What this snapshot published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Published>,
    /// `success`, or `partial` when some selected nodes failed or were
    /// skipped (what succeeded is still published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A load's landed file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A hook's name (`sql`, `cleanup`, ...) and phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    /// A rollback's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<Undone>,
    /// Whether the target records it: a DuckLake does, a plain DuckDB
    /// database has no snapshots to tag.
    #[serde(skip)]
    pub recorded: bool,
}

impl CommitInfo {
    /// Parses `extra_info`; `None` when it is not lake's (another tool, or
    /// a snapshot written by hand).
    pub fn parse(extra_info: &str) -> Option<CommitInfo> {
        serde_json::from_str::<CommitInfo>(extra_info)
            .ok()
            .filter(|c| c.lake == FORMAT)
    }

    /// The one-line message people read in `snapshots()`.
    pub fn headline(&self) -> String {
        let what = match self.kind {
            CommitKind::Run => {
                let n = self.nodes.len();
                format!("{n} node{}", if n == 1 { "" } else { "s" })
            }
            CommitKind::Load => format!("load {}", self.file.as_deref().unwrap_or("")),
            CommitKind::Hook => format!("hook {}", self.hook.as_deref().unwrap_or("")),
            CommitKind::Rollback => match &self.undoes {
                Some(u) => match &u.run_id {
                    Some(r) => format!("rollback of run {r} (to snapshot {})", u.to_snapshot),
                    None => format!("rollback to snapshot {}", u.to_snapshot),
                },
                None => "rollback".into(),
            },
        };
        format!("{}: {what} [run {}]", self.command, self.run_id)
    }

    /// The `CALL <db>.set_commit_message(...)` that tags the open
    /// transaction's snapshot with this info; `None` on a plain DuckDB
    /// target, which has no snapshots.
    pub fn statement(&self, database: &str) -> Option<String> {
        if !self.recorded {
            return None;
        }
        let extra = serde_json::to_string(self).expect("plain data serializes");
        Some(format!(
            "CALL {}.set_commit_message({}, {}, extra_info => {})",
            crate::sql::identifier(database),
            string_literal(&author()),
            string_literal(&self.headline()),
            string_literal(&extra)
        ))
    }
}

/// What every snapshot of one lake invocation shares: made once when the
/// command starts, stamped on each commit with [`Stamp::commit`].
#[derive(Debug, Clone)]
pub struct Stamp {
    /// This invocation's run id.
    pub run_id: String,
    /// The command line, secrets blanked.
    pub command: String,
    /// `--schedule NAME`.
    pub schedule: Option<String>,
    /// Profile target name.
    pub target: String,
    /// The project's code version.
    pub git: Option<GitState>,
    /// Whether the target keeps commit messages (a DuckLake).
    pub recorded: bool,
}

impl Stamp {
    /// A new run id for this process's command line; `secrets` are the
    /// profile's (redacted from the command line).
    pub fn new(
        root: &std::path::Path,
        target: &crate::project::Target,
        schedule: Option<&str>,
        secrets: &[String],
    ) -> Stamp {
        let argv: Vec<String> = std::iter::once("lake".to_string())
            .chain(std::env::args().skip(1))
            .collect();
        Stamp {
            run_id: new_run_id(),
            command: command_line(&argv, secrets),
            schedule: schedule.map(str::to_string),
            target: target.name.clone(),
            git: git_state(root),
            recorded: target.catalog.is_ducklake(),
        }
    }

    /// The info for one commit of this invocation; callers fill `nodes`,
    /// `status`, `file`, `hook` or `undoes` as the kind needs.
    pub fn commit(&self, kind: CommitKind) -> CommitInfo {
        CommitInfo {
            lake: FORMAT,
            run_id: self.run_id.clone(),
            kind,
            command: self.command.clone(),
            schedule: self.schedule.clone(),
            target: self.target.clone(),
            lake_version: env!("CARGO_PKG_VERSION").to_string(),
            git: self.git.clone(),
            nodes: Vec::new(),
            status: None,
            file: None,
            hook: None,
            undoes: None,
            recorded: self.recorded,
        }
    }
}

/// Who ran lake: `$LAKE_AUTHOR`, else the OS user, else `lake`.
pub fn author() -> String {
    ["LAKE_AUTHOR", "USER", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "lake".into())
}

/// A new run id: UTC start time plus a random suffix, so ids sort by time
/// and read well in `lake history` (`20261201T153355Z-7f3a`).
pub fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    let suffix: u16 = rand::random();
    format!("{}-{suffix:04x}", now.strftime("%Y%m%dT%H%M%SZ"))
}

/// The command line as typed, for the record: `--vars` values are blanked
/// (they may carry credentials) and every known secret is redacted.
pub fn command_line(argv: &[String], secrets: &[String]) -> String {
    let out = redacted_args(argv, secrets);
    shlex::try_join(out.iter().map(String::as_str)).unwrap_or_else(|_| out.join(" "))
}

/// `argv` with `--vars` values blanked and every known secret redacted,
/// for run_results.json and commit messages.
pub fn redacted_args(argv: &[String], secrets: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(argv.len());
    let mut blank_next = false;
    for arg in argv {
        if blank_next {
            out.push("<redacted>".into());
            blank_next = false;
        } else if arg == "--vars" {
            out.push(arg.clone());
            blank_next = true;
        } else if arg.starts_with("--vars=") {
            out.push("--vars=<redacted>".into());
        } else {
            out.push(arg.clone());
        }
    }
    out.into_iter()
        .map(|a| crate::warehouse::redact(&a, secrets))
        .collect()
}

/// The project's git commit and dirty flag; `None` outside a checkout or
/// without git.
pub fn git_state(root: &std::path::Path) -> Option<GitState> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(GitState { commit, dirty })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_and_secrets_never_reach_the_command() {
        let argv: Vec<String> = [
            "lake",
            "run",
            "--vars",
            "{pw: hunter2}",
            "--vars={x: 1}",
            "--select",
            "s3cr3t",
        ]
        .map(String::from)
        .to_vec();
        let c = command_line(&argv, &["s3cr3t".into()]);
        assert!(
            !c.contains("hunter2") && !c.contains("s3cr3t") && !c.contains("x: 1"),
            "{c}"
        );
        assert!(c.starts_with("lake run --vars '<redacted>'"), "{c}");
    }

    #[test]
    fn info_round_trips_and_foreign_json_is_not_lakes() {
        let info = CommitInfo {
            lake: FORMAT,
            run_id: new_run_id(),
            kind: CommitKind::Run,
            command: "lake run".into(),
            schedule: None,
            target: "dev".into(),
            lake_version: "0.1.0".into(),
            git: None,
            nodes: vec![],
            status: Some("success".into()),
            file: None,
            hook: None,
            undoes: None,
            recorded: false,
        };
        let json = serde_json::to_string(&info).unwrap();
        assert_eq!(CommitInfo::parse(&json), Some(info));
        assert_eq!(CommitInfo::parse(r#"{"run_id": "x"}"#), None);
    }
}
