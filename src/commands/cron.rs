//! `lake cron`: the crontab lines that run each schedule, with absolute
//! paths (cron starts in $HOME with a bare PATH) and one log per schedule.

use std::path::Path;

use super::{load, Failure};
use crate::cli::{GlobalArgs, EXIT_OK};

/// Prints one commented crontab line per schedule.
pub fn run(global: &GlobalArgs, log_dir: Option<&Path>) -> Result<u8, Failure> {
    let project = load(global)?;
    if project.schedules.is_empty() {
        crate::stdoutln!("# no schedules in project.yml: add a `schedules:` section (see README)");
        return Ok(EXIT_OK);
    }
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "lake".into());
    let logs = log_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| project.root.join("logs"));
    let mut extra = String::new();
    if let Some(t) = &global.target {
        extra.push_str(&format!(" --target {}", shell_quote(t)));
    }
    if let Some(p) = &project.target.profiles_file {
        if let Some(dir) = p.parent() {
            extra.push_str(&format!(
                " --profiles-dir {}",
                shell_quote(&dir.display().to_string())
            ));
        }
    }
    crate::stdoutln!("# lake schedules of {}", project.root.display());
    crate::stdoutln!(
        "# install: lake cron | crontab -   (logs in {})",
        logs.display()
    );
    for s in &project.schedules {
        crate::stdoutln!();
        if let Some(d) = &s.description {
            crate::stdoutln!("# {}: {d}", s.name);
        }
        let log = logs.join(format!("{}.log", s.name));
        crate::stdoutln!(
            "{} mkdir -p {} && cd {} && {} run --schedule {}{extra} >> {} 2>&1",
            s.cron,
            shell_quote(&logs.display().to_string()),
            shell_quote(&project.root.display().to_string()),
            shell_quote(&exe),
            shell_quote(&s.name),
            shell_quote(&log.display().to_string()),
        );
    }
    Ok(EXIT_OK)
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-=:".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
