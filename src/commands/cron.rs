//! `lake cron`: the crontab lines that run each schedule, with absolute
//! paths (cron starts in $HOME with a bare PATH) and one log per schedule.

use std::path::Path;

use super::{load, Failure};
use crate::cli::{GlobalArgs, EXIT_OK};
use crate::diagnostic::{Code, Diagnostic};

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
        extra.push_str(&format!(" --target {}", crontab_word(t)?));
    }
    if let Some(dir) = project
        .target
        .profiles_file
        .as_deref()
        .and_then(Path::parent)
    {
        extra.push_str(&format!(" --profiles-dir {}", crontab_path(dir)?));
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
            crontab_path(&logs)?,
            crontab_path(&project.root)?,
            crontab_word(&exe)?,
            crontab_word(&s.name)?,
            crontab_path(&log)?,
        );
    }
    Ok(EXIT_OK)
}

/// `s` as one word of a crontab command: quoted for POSIX sh by shlex,
/// then every `%` escaped, since cron itself cuts the command at an
/// unescaped `%` (the rest becomes stdin), inside quotes or not. A line
/// break would end the crontab entry and a NUL cannot be passed at all.
fn crontab_word(s: &str) -> Result<String, Failure> {
    let refuse = || {
        Failure::Usage(Diagnostic::new(
            Code::InvalidValue,
            format!("{s:?} cannot be written into a crontab line: it holds a line break or a NUL"),
        ))
    };
    if s.contains(['\n', '\r']) {
        return Err(refuse());
    }
    let quoted = shlex::try_quote(s).map_err(|_| refuse())?;
    Ok(quoted.replace('%', "\\%"))
}

/// [`crontab_word`] for a path.
fn crontab_path(path: &Path) -> Result<String, Failure> {
    crontab_word(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::crontab_word;

    /// What cron does to a command line before `sh -c`: `\%` becomes `%`,
    /// and an unescaped `%` ends the command (cronie's do_command.c).
    fn as_cron_runs_it(line: &str) -> String {
        let mut out = String::new();
        let mut escaped = false;
        for c in line.chars() {
            if escaped && c == '%' {
                out.pop();
            } else if !escaped && c == '%' {
                break;
            }
            escaped = !escaped && c == '\\';
            out.push(c);
        }
        out
    }

    #[test]
    fn hostile_words_reach_the_command_unchanged() {
        for word in [
            "plain/path_1.0",
            "with space",
            "it's",
            "a\"b",
            "$HOME `id` !x",
            "50% done",
            "back\\%slash",
            "semi;colon&amp|pipe",
            "",
        ] {
            let line = format!("printf '%s' {}", crontab_word(word).unwrap());
            // The format's own `%s` is cron-escaped the same way.
            let line = as_cron_runs_it(&line.replacen('%', "\\%", 1));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&line)
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), word, "{line}");
        }
        for refused in ["nul\0", "new\nline", "cr\r"] {
            assert!(crontab_word(refused).is_err(), "{refused:?}");
        }
    }
}
