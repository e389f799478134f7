//! `lake migrate [--to-ducklake]`: moves a dbt project over for good. It
//! writes a `project.yml` that keeps every key of `dbt_project.yml` and
//! says `conventions: dbt` (so every relation keeps its dbt name and
//! schema), and a `profiles.yml` in the project folder holding the dbt
//! profile's DuckDB targets (lake reads dbt-duckdb's keys as they are),
//! plus, with `--to-ducklake`, a new default target on an embedded
//! DuckLake. Comments at the top of each file say what was mapped. Nothing
//! is overwritten: every destination is checked before anything is
//! written, and a project-folder profiles.yml is kept as
//! `profiles.yml.dbt`.

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
    for name in ["project.yml", "profiles.yml.dbt"] {
        if root.join(name).exists() {
            return Err(refuse(
                Code::Io,
                &format!("{name} exists already"),
                "lake migrate writes new files only: move it away first",
            ));
        }
    }
    let profiles = root.join("profiles.yml");
    if profiles.exists() {
        std::fs::rename(&profiles, root.join("profiles.yml.dbt")).map_err(io)?;
        crate::stdoutln!("kept the project folder's profiles.yml as profiles.yml.dbt");
    }
    std::fs::write(&profiles, profile).map_err(io)?;
    std::fs::write(root.join("project.yml"), project_yml).map_err(io)?;
    crate::stdoutln!("wrote project.yml (every key of dbt_project.yml, `conventions: dbt`)");
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
     #   models:/seeds:/tests: trees, vars, paths and on-run-start/end hooks,\n\
     #   and accepts dbt-only keys (require-dbt-version, ...) without using them;\n\
     # - `conventions: dbt` keeps dbt's placement (the target's schema, or\n\
     #   <target schema>_<custom>), dbt-duckdb's seed types and dbt's test\n\
     #   names, so every relation keeps its name. Without it, lake's own\n\
     #   convention applies (the first folder under models/ is the schema),\n\
     #   which renames relations.\n\
     # dbt_project.yml is not read while this file exists.\n\
     conventions: dbt\n\n"
        .to_string()
}

/// The `profile:` the project file names, else its name (as lake reads it).
fn profile_name(project: &Project) -> String {
    let file: serde_yaml::Value =
        serde_yaml::from_str(&project.project_file.text).unwrap_or_default();
    match file.get("profile").and_then(serde_yaml::Value::as_str) {
        Some(p) => p.to_string(),
        None => project.name.clone(),
    }
}

/// A target lake can run: dbt-duckdb's or lake's own (others are left out).
fn runs_in_lake(target: &serde_yaml::Value) -> bool {
    matches!(
        target.get("type").and_then(serde_yaml::Value::as_str),
        Some("duckdb" | "ducklake")
    )
}

/// profiles.yml: the dbt profile's DuckDB targets as written, and with
/// `to_ducklake` a new default target on an embedded DuckLake.
fn project_profile(project: &Project, to_ducklake: bool) -> Result<String, Failure> {
    let target = &project.target;
    let name = profile_name(project);
    let Some(file) = target.profiles_file.as_ref() else {
        if !to_ducklake {
            return Err(refuse(
                Code::Profile,
                &format!("no profiles.yml holds profile `{name}`: there is nothing to migrate"),
                "run `lake migrate --to-ducklake` (a new embedded DuckLake), or add the dbt profile first",
            ));
        }
        let source = "no dbt profile".to_string();
        return profile_text(&name, serde_yaml::Mapping::new(), target, &source, true);
    };
    let value = profile_value(file, &name).unwrap_or_default();
    let outputs = value
        .get("outputs")
        .and_then(serde_yaml::Value::as_mapping)
        .map(|o| {
            o.iter()
                .filter(|(_, t)| runs_in_lake(t))
                .map(|(k, t)| (k.clone(), t.clone()))
                .collect()
        })
        .unwrap_or_default();
    let shown = match file.strip_prefix(&project.root) {
        Ok(p) if p == Path::new("profiles.yml") => "profiles.yml (kept as profiles.yml.dbt)".into(),
        _ => file.display().to_string(),
    };
    let source = format!("profile `{name}` of {shown}");
    profile_text(&name, outputs, target, &source, to_ducklake)
}

/// The profile as YAML with its comments; refused when it holds a
/// credential written as text (it would land in the project folder).
fn profile_text(
    name: &str,
    mut outputs: serde_yaml::Mapping,
    target: &crate::project::Target,
    source: &str,
    to_ducklake: bool,
) -> Result<String, Failure> {
    let mut default = target.name.clone();
    if to_ducklake {
        default = "lake".into();
        outputs.insert("lake".into(), embedded_lake(&target.schema));
    }
    let mut profile = serde_yaml::Mapping::new();
    profile.insert("target".into(), default.into());
    profile.insert("outputs".into(), outputs.into());
    let mut doc = serde_yaml::Mapping::new();
    doc.insert(name.into(), profile.into());
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
         # - every DuckDB target of {source}, unchanged: lake reads\n\
         #   dbt-duckdb's `type: duckdb` keys as dbt-duckdb does (other\n\
         #   adapters' targets are left out).{added}\n{body}"
    ))
}

/// A `type: ducklake` target on the embedded DuckLake, in `schema`.
fn embedded_lake(schema: &str) -> serde_yaml::Value {
    let mut catalog = serde_yaml::Mapping::new();
    catalog.insert("type".into(), "duckdb".into());
    catalog.insert("path".into(), ".lake/catalog.ducklake".into());
    let mut lake = serde_yaml::Mapping::new();
    lake.insert("type".into(), "ducklake".into());
    lake.insert("catalog".into(), catalog.into());
    lake.insert("data_path".into(), ".lake/data/".into());
    lake.insert("schema".into(), schema.into());
    lake.into()
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
