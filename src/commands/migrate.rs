//! `lake migrate [--to-ducklake]`: moves a dbt project over for good. It
//! writes a `project.yml` that keeps every key of `dbt_project.yml` and
//! says `conventions: dbt` (so every relation keeps its dbt name and
//! schema), and a `profiles.yml` in the project folder holding the dbt
//! profile's targets (lake reads dbt-duckdb's keys as they are), plus,
//! with `--to-ducklake`, a new default target on an embedded DuckLake.
//! Comments at the top of each file say what was mapped. Nothing is
//! overwritten: an existing project.yml stops it, a project-folder
//! profiles.yml is kept as `profiles.yml.dbt`.

use std::path::Path;

use super::{load, Failure};
use crate::cli::{GlobalArgs, EXIT_OK};
use crate::diagnostic::{Code, Diagnostic};
use crate::project::profiles::{holds_literal_credentials, profile_value};
use crate::project::{Conventions, Project};

/// Runs `lake migrate`.
pub fn run(global: &GlobalArgs, to_ducklake: bool) -> Result<u8, Failure> {
    let project = load(global)?;
    let root = &project.root;
    if project.project_file.path != Path::new("dbt_project.yml")
        || project.conventions != Conventions::Dbt
    {
        return Err(refuse(
            Code::InvalidValue,
            "this folder has a project.yml: it is a lake project already",
            "lake migrate moves a dbt project (dbt_project.yml, no project.yml)",
        ));
    }
    let profile = project_profile(&project, to_ducklake)?;
    let project_yml = format!("{}{}", project_header(), project.project_file.text);
    write_new(&root.join("project.yml"), &project_yml)?;
    crate::stdoutln!("wrote project.yml (every key of dbt_project.yml, `conventions: dbt`)");
    let kept = root.join("profiles.yml");
    if kept.exists() {
        std::fs::rename(&kept, root.join("profiles.yml.dbt")).map_err(io)?;
        crate::stdoutln!("kept the project folder's profiles.yml as profiles.yml.dbt");
    }
    write_new(&kept, &profile)?;
    crate::stdoutln!(
        "wrote profiles.yml{}; lake reads project.yml from now on (`lake build`)",
        if to_ducklake {
            " (default target `lake`: an embedded DuckLake under .lake/)"
        } else {
            ""
        }
    );
    Ok(EXIT_OK)
}

/// The comments opening project.yml, then `conventions: dbt`.
fn project_header() -> String {
    "# project.yml written by `lake migrate` from dbt_project.yml. Mapped:\n\
     # - every key of dbt_project.yml, below, unchanged: lake reads the same\n\
     #   models:/seeds: trees, vars, paths and on-run-start/end hooks, and\n\
     #   accepts dbt-only keys (require-dbt-version, ...) without using them;\n\
     # - `conventions: dbt` keeps dbt's placement (the target's schema, or\n\
     #   <target schema>_<custom>), dbt-duckdb's seed types and dbt's test\n\
     #   names, so every relation keeps its name. Without it, lake's own\n\
     #   convention applies (the first folder under models/ is the schema),\n\
     #   which renames relations.\n\
     # dbt_project.yml is not read while this file exists.\n\
     conventions: dbt\n\n"
        .to_string()
}

/// profiles.yml: the dbt profile's targets as written, and with
/// `to_ducklake` a new default target on an embedded DuckLake.
fn project_profile(project: &Project, to_ducklake: bool) -> Result<String, Failure> {
    let target = &project.target;
    let name = target
        .profile
        .clone()
        .unwrap_or_else(|| project.name.clone());
    let mut outputs = serde_yaml::Mapping::new();
    let mut default = target.name.clone();
    let mut source = "no dbt profile (lake's embedded default)".to_string();
    if let Some(file) = &target.profiles_file {
        let value = profile_value(file, &name).unwrap_or_default();
        if let Some(o) = value.get("outputs").and_then(serde_yaml::Value::as_mapping) {
            outputs = o.clone();
        }
        let shown = match file.strip_prefix(&project.root) {
            Ok(p) if p == Path::new("profiles.yml") => {
                "profiles.yml (kept as profiles.yml.dbt)".into()
            }
            _ => file.display().to_string(),
        };
        source = format!("profile `{name}` of {shown}");
    }
    if to_ducklake {
        default = "lake".into();
        let lake = format!(
            "type: ducklake\ncatalog: {{type: duckdb, path: .lake/catalog.ducklake}}\ndata_path: .lake/data/\nschema: {}\n",
            target.schema
        );
        let lake: serde_yaml::Value = serde_yaml::from_str(&lake).expect("fixed YAML");
        outputs.insert("lake".into(), lake);
    }
    let mut profile = serde_yaml::Mapping::new();
    profile.insert("target".into(), default.into());
    profile.insert("outputs".into(), outputs.into());
    let mut doc = serde_yaml::Mapping::new();
    doc.insert(name.clone().into(), profile.into());
    let body = serde_yaml::to_string(&doc).map_err(|e| refuse(Code::Io, &e.to_string(), ""))?;
    if holds_literal_credentials(&body) {
        return Err(refuse(
            Code::Profile,
            &format!("{source} holds credentials written as text: lake migrate does not copy them into the project folder"),
            "read them with {{ env_var('NAME') }} in the dbt profile first, then migrate again",
        ));
    }
    let added = if to_ducklake {
        "\n# - a new target `lake`, now the default: an embedded DuckLake under\n#   .lake/ (--to-ducklake), in the same schema."
    } else {
        ""
    };
    Ok(format!(
        "# profiles.yml written by `lake migrate`. Mapped:\n\
         # - every target of {source}, unchanged: lake reads\n\
         #   dbt-duckdb's `type: duckdb` keys as dbt-duckdb does.{added}\n{body}"
    ))
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, text: &str) -> Result<(), Failure> {
    if path.exists() {
        return Err(refuse(
            Code::Io,
            &format!("{} exists already", path.display()),
            "lake migrate writes new files only: move it away first",
        ));
    }
    std::fs::write(path, text).map_err(io)
}

fn refuse(code: Code, message: &str, help: &str) -> Failure {
    let d = Diagnostic::new(code, message.to_string());
    let d = if help.is_empty() {
        d
    } else {
        d.with_help(help.to_string())
    };
    Failure::Project(d.into())
}

fn io(e: std::io::Error) -> Failure {
    Failure::Project(Diagnostic::new(Code::Io, format!("lake migrate: {e}")).into())
}
