//! `profiles.yml`: where the lake lives. Found via `--profiles-dir`,
//! `$LAKE_PROFILES_DIR`, the project folder, then `~/.lake/` (a dbt
//! project: `--profiles-dir`, `$DBT_PROFILES_DIR`, `$LAKE_PROFILES_DIR`, the
//! project folder, then `~/.dbt/`, as dbt looks); with none, the embedded
//! default (DuckDB-file catalog + local data dir under `.lake/`) applies so
//! a fresh clone runs with no services.
//!
//! A target is `type: ducklake` (lake's own keys) or `type: duckdb`
//! (dbt-duckdb's keys, see [`duckdb`]): a plain DuckDB file or a DuckLake
//! attach, written exactly as dbt-duckdb reads it.
//!
//! Strings may use `{{ env_var('NAME', 'default') }}`; secrets are kept in
//! [`Secret`], which never prints its value.

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize, Serializer};

use super::{yaml, Conventions};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};

mod duckdb;
mod mask;

pub use duckdb::{Attachment, DuckdbSecret, Setup};

/// A credential: usable by the warehouse edge, invisible to logs and artifacts.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    origin: SecretOrigin,
}

/// Where a credential came from: what `lake debug --print-attach` names in
/// its place, so a reader can supply it without lake ever printing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    /// The whole value is `{{ env_var('NAME') }}`.
    EnvVar(String),
    /// Written in profiles.yml (at least in part) under this key.
    Profile(String),
    /// Given some other way (a hook argument).
    Other,
}

impl Secret {
    /// Wraps a credential read from somewhere other than profiles.yml (a
    /// hook argument), so it gets the same protection.
    pub fn new(value: String) -> Secret {
        Secret {
            value,
            origin: SecretOrigin::Other,
        }
    }

    /// The real value, for building a connection string at the edge only.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Where the value came from.
    pub fn origin(&self) -> &SecretOrigin {
        &self.origin
    }

    /// What stands in for the value in statements shown to a person:
    /// `${NAME}` for an environment variable (what `envsubst` and Python's
    /// `os.path.expandvars` replace), else a note saying where it is written.
    pub fn placeholder(&self) -> String {
        match &self.origin {
            SecretOrigin::EnvVar(name) => format!("${{{name}}}"),
            SecretOrigin::Profile(key) => format!("<{key} from profiles.yml>"),
            SecretOrigin::Other => "<secret>".to_string(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"****\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}

/// A YAML scalar read as text, so `port: 5432` and `port: "{{ env_var(..) }}"` both work.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// A number.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl Scalar {
    fn raw(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// One profile as written. Its targets are read one at a time, only the
/// one a run uses: a dbt user's `~/.dbt/profiles.yml` holds targets of
/// other adapters (and unset variables) that are none of lake's business.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Default target name.
    #[serde(default)]
    pub target: Option<String>,
    /// Named targets, each read as a [`TargetFile`] when chosen.
    pub outputs: IndexMap<String, serde_yaml::Value>,
}

/// One target as written: lake's keys (`type: ducklake`, the default) or
/// dbt-duckdb's (`type: duckdb`); each kind refuses the other's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// `ducklake` (default) or `duckdb` (dbt-duckdb's profile).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Where the DuckLake catalog lives.
    #[serde(default)]
    pub catalog: Option<CatalogFile>,
    /// Where parquet files go: a local folder or `s3://bucket/prefix/`.
    #[serde(default)]
    pub data_path: Option<Scalar>,
    /// Name the lake is attached as (the `database` part of relation names).
    #[serde(default)]
    pub database: Option<String>,
    /// Schema for models outside any layer folder.
    #[serde(default)]
    pub schema: Option<String>,
    /// Default worker threads (a number, or text such as dbt's
    /// `{{ env_var('THREADS', 4) | as_number }}`).
    #[serde(default)]
    pub threads: Option<Scalar>,
    /// Where DuckDB extensions are looked for.
    #[serde(default)]
    pub extension_directory: Option<Scalar>,
    /// S3 (or MinIO-compatible) credentials for the data path.
    #[serde(default)]
    pub s3: Option<S3File>,
    /// Where the extract hook lands unzipped hourly files for the raw
    /// loader: a local folder or `s3://bucket/prefix/`.
    #[serde(default)]
    pub landing_path: Option<Scalar>,
    /// dbt-duckdb: the database file, `:memory:` (the default) or
    /// `ducklake:<metadata file>`.
    #[serde(default)]
    pub path: Option<Scalar>,
    /// dbt-duckdb: extensions to load, by name or `{name: ...}`.
    #[serde(default)]
    pub extensions: Vec<duckdb::ExtensionFile>,
    /// dbt-duckdb: DuckDB settings, set on open.
    #[serde(default)]
    pub settings: IndexMap<String, Scalar>,
    /// dbt-duckdb: connection-time DuckDB settings, set on open as well.
    #[serde(default)]
    pub config_options: IndexMap<String, Scalar>,
    /// dbt-duckdb: `CREATE SECRET`s, each `{type: ..., name: ..., key: value}`.
    #[serde(default)]
    pub secrets: Vec<IndexMap<String, Scalar>>,
    /// dbt-duckdb: more databases to attach; one may be the target's
    /// `database` (a DuckLake, say).
    #[serde(default)]
    pub attach: Vec<duckdb::AttachFile>,
    /// dbt-duckdb: the `path` is a DuckLake though it does not say `ducklake:`.
    #[serde(default)]
    pub is_ducklake: Option<bool>,
    /// dbt-duckdb, nothing to do in lake (no external materialization).
    #[serde(default)]
    pub external_root: Option<serde_yaml::Value>,
    /// dbt-duckdb, nothing to do in lake (one process per run).
    #[serde(default)]
    pub keep_open: Option<serde_yaml::Value>,
    /// dbt-duckdb, nothing to do in lake (a run is one transaction).
    #[serde(default)]
    pub disable_transactions: Option<serde_yaml::Value>,
    /// dbt-duckdb, nothing to do in lake (no retries yet).
    #[serde(default)]
    pub retries: Option<serde_yaml::Value>,
    /// dbt-duckdb's Python plugins: refused (L013).
    #[serde(default)]
    pub plugins: Option<serde_yaml::Value>,
    /// dbt-duckdb's fsspec filesystems: refused (L013).
    #[serde(default)]
    pub filesystems: Option<serde_yaml::Value>,
    /// dbt-duckdb's remote server: refused (L013).
    #[serde(default)]
    pub remote: Option<serde_yaml::Value>,
    /// dbt-duckdb's Python module paths: refused (L013).
    #[serde(default)]
    pub module_paths: Option<serde_yaml::Value>,
    /// dbt-duckdb's credential chain: refused (L013).
    #[serde(default)]
    pub use_credential_provider: Option<serde_yaml::Value>,
    /// MotherDuck: refused (L013).
    #[serde(default)]
    pub motherduck_token: Option<serde_yaml::Value>,
}

/// The catalog as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "lowercase")]
pub enum CatalogFile {
    /// A DuckDB file catalog (one process at a time).
    Duckdb {
        /// Path of the `.ducklake` file.
        path: Scalar,
    },
    /// A PostgreSQL catalog.
    Postgres(PostgresFile),
}

/// A PostgreSQL catalog as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresFile {
    /// Host name.
    pub host: Scalar,
    /// Port, default 5432.
    #[serde(default)]
    pub port: Option<Scalar>,
    /// Database name.
    pub database: Scalar,
    /// User name.
    pub user: Scalar,
    /// Password.
    #[serde(default)]
    pub password: Option<Scalar>,
    /// Postgres schema holding the DuckLake tables.
    #[serde(default)]
    pub metadata_schema: Option<Scalar>,
}

/// S3 settings as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3File {
    /// `host:port`, no scheme.
    #[serde(default)]
    pub endpoint: Option<Scalar>,
    /// Region, default `us-east-1`.
    #[serde(default)]
    pub region: Option<Scalar>,
    /// `path` for MinIO-style servers, `vhost` for AWS.
    #[serde(default)]
    pub url_style: Option<Scalar>,
    /// Use HTTPS.
    #[serde(default)]
    pub use_ssl: Option<Scalar>,
    /// Access key id.
    #[serde(default)]
    pub key_id: Option<Scalar>,
    /// Secret access key.
    #[serde(default)]
    pub secret: Option<Scalar>,
}

/// The resolved target: where `lake` reads and writes.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Target name (`dev`, `prod`, ...).
    pub name: String,
    /// Profile it came from; `None` for the embedded default.
    pub profile: Option<String>,
    /// The file it came from.
    pub profiles_file: Option<PathBuf>,
    /// The catalog.
    pub catalog: Catalog,
    /// Data path: local folder or `s3://...`.
    pub data_path: String,
    /// Name the lake is attached as.
    pub database: String,
    /// Schema for models outside a layer folder.
    pub schema: String,
    /// Default threads.
    pub threads: Option<usize>,
    /// Extension directory, if configured.
    pub extension_directory: Option<PathBuf>,
    /// S3 settings, if any.
    pub s3: Option<S3>,
    /// Where landed files wait for the raw loader: a folder or `s3://...`.
    /// Kept outside `data_path`, which DuckLake owns.
    pub landing_path: String,
    /// What a dbt-duckdb target asks of DuckDB before the target database
    /// is attached (extensions, settings, secrets, other attaches).
    pub setup: Setup,
}

/// A resolved catalog.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Catalog {
    /// DuckDB file.
    Duckdb {
        /// Absolute path of the catalog file.
        path: PathBuf,
    },
    /// PostgreSQL.
    Postgres {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Database.
        database: String,
        /// User.
        user: String,
        /// Password.
        password: Option<Secret>,
        /// Metadata schema.
        metadata_schema: Option<String>,
    },
    /// No DuckLake: a plain DuckDB database (dbt-duckdb's `path`), so no
    /// snapshots, history, reuse or change-driven incrementals.
    Plain {
        /// The database file; `None` for `:memory:`.
        path: Option<PathBuf>,
    },
}

impl Catalog {
    /// The PostgreSQL catalog's `METADATA_SCHEMA`, where lake reads the
    /// DuckLake metadata tables itself; `None` for its default and for a
    /// DuckDB file catalog.
    pub fn metadata_schema(&self) -> Option<&str> {
        match self {
            Catalog::Postgres {
                metadata_schema, ..
            } => metadata_schema.as_deref(),
            Catalog::Duckdb { .. } | Catalog::Plain { .. } => None,
        }
    }

    /// Whether the target is a DuckLake: snapshots, time travel, change
    /// feeds. Commands and features built on them refuse a plain database.
    pub fn is_ducklake(&self) -> bool {
        !matches!(self, Catalog::Plain { .. })
    }
}

/// Resolved S3 settings.
#[derive(Debug, Clone, Serialize)]
pub struct S3 {
    /// `host:port`.
    pub endpoint: Option<String>,
    /// Region.
    pub region: String,
    /// `path` or `vhost`.
    pub url_style: String,
    /// HTTPS or not.
    pub use_ssl: bool,
    /// Access key id.
    pub key_id: Option<Secret>,
    /// Secret key.
    pub secret: Option<Secret>,
}

impl Target {
    /// The zero-setup default: everything under `<project>/.lake/`.
    pub fn embedded(root: &Path) -> Target {
        let dir = root.join(".lake");
        Target {
            name: "dev".into(),
            profile: None,
            profiles_file: None,
            catalog: Catalog::Duckdb {
                path: dir.join("catalog.ducklake"),
            },
            data_path: format!("{}/", dir.join("data").display()),
            database: "lake".into(),
            schema: "main".into(),
            threads: None,
            extension_directory: None,
            s3: None,
            landing_path: format!("{}/", dir.join("landing").display()),
            setup: Setup::default(),
        }
    }

    /// Every credential the target holds: what must be redacted from any
    /// text lake shows, and replaced in statements it prints.
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut v = Vec::new();
        if let Catalog::Postgres {
            password: Some(p), ..
        } = &self.catalog
        {
            v.push(p);
        }
        if let Some(s3) = &self.s3 {
            v.extend(s3.key_id.iter().chain(s3.secret.iter()));
        }
        v.extend(self.setup.credentials());
        v
    }

    /// `duckdb` or `postgres`, as `target.type` exposes in Jinja (a plain
    /// DuckDB target is `duckdb`, as in dbt-duckdb).
    pub fn catalog_type(&self) -> &'static str {
        match self.catalog {
            Catalog::Duckdb { .. } | Catalog::Plain { .. } => "duckdb",
            Catalog::Postgres { .. } => "postgres",
        }
    }
}

/// Profile `name` of the profiles.yml at `file`, as written (for `lake
/// migrate`, which copies it); `None` when the file or profile is not there.
pub fn profile_value(file: &Path, name: &str) -> Option<serde_yaml::Value> {
    let text = std::fs::read_to_string(file).ok()?;
    let all: IndexMap<String, serde_yaml::Value> = serde_yaml::from_str(&text).ok()?;
    all.get(name).cloned()
}

/// Whether YAML `text` holds a credential written as text rather than read
/// from `env_var()` (what must not be copied into a project folder).
pub fn holds_literal_credentials(text: &str) -> bool {
    mask::masked(text) != text
}

/// Where to look for profiles.yml, in order: lake's places, or for a dbt
/// project dbt's (`$DBT_PROFILES_DIR`, `~/.dbt/`) with lake's variable
/// between them.
pub fn candidate_files(
    root: &Path,
    profiles_dir: Option<&Path>,
    conventions: Conventions,
) -> Vec<PathBuf> {
    if let Some(dir) = profiles_dir {
        return vec![dir.join("profiles.yml")];
    }
    let variables: &[&str] = match conventions {
        Conventions::Lake => &["LAKE_PROFILES_DIR"],
        Conventions::Dbt => &["DBT_PROFILES_DIR", "LAKE_PROFILES_DIR"],
    };
    let mut v: Vec<PathBuf> = variables
        .iter()
        .filter_map(std::env::var_os)
        .map(|dir| PathBuf::from(dir).join("profiles.yml"))
        .collect();
    v.push(root.join("profiles.yml"));
    let home_dir = match conventions {
        Conventions::Lake => ".lake",
        Conventions::Dbt => ".dbt",
    };
    if let Some(home) = std::env::var_os("HOME") {
        v.push(PathBuf::from(home).join(home_dir).join("profiles.yml"));
    }
    v
}

/// Which profile and target a project asks for.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// `profile:` of the project file (else its name).
    pub profile: &'a str,
    /// `--target`, else the profile's `target:`, else `dev`.
    pub target: Option<&'a str>,
    /// Whose lookup places apply.
    pub conventions: Conventions,
}

/// Resolves the target `wanted` names, or the embedded default when no
/// profiles.yml exists anywhere on the lookup path.
pub fn resolve_target(
    root: &Path,
    profiles_dir: Option<&Path>,
    wanted: Wanted<'_>,
) -> Result<Target, Diagnostic> {
    // dbt's variable names the one folder to read, as --profiles-dir does.
    let dbt_dir = std::env::var_os("DBT_PROFILES_DIR")
        .filter(|_| wanted.conventions == Conventions::Dbt)
        .map(PathBuf::from);
    let profiles_dir = profiles_dir.or(dbt_dir.as_deref());
    let candidates = candidate_files(root, profiles_dir, wanted.conventions);
    let Some(file) = candidates.iter().find(|p| p.is_file()) else {
        return no_profiles_file(root, profiles_dir, wanted.target, &candidates);
    };
    let source = std::fs::read_to_string(file)
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot read {}: {e}", file.display())))?;
    let shown = shown_path(root, file);
    let profiles: IndexMap<String, serde_yaml::Value> = serde_yaml::from_str(&source)
        .map_err(|e| yaml::yaml_error(&shown, &mask::masked(&source), &e))?;
    // Errors quote the file: the copy they quote holds no credential.
    let source = mask::masked(&source);
    let profile_name = wanted.profile;
    let profile = find_profile(&profiles, profile_name, &shown, &source)?;
    let tname = wanted
        .target
        .map(str::to_string)
        .or_else(|| profile.target.clone())
        .unwrap_or_else(|| "dev".into());
    let t = find_target(&profile, profile_name, &tname, &shown, &source)?;
    let place = TargetSource {
        shown: &shown,
        source: &source,
        profile: profile_name,
        target: &tname,
    };
    place.check_adapter(t, wanted.conventions)?;
    let t: TargetFile = place.read(t)?;
    let mut target = match t.kind.as_deref() {
        Some("duckdb") => place.resolve_duckdb(&t, root)?,
        _ => place.resolve(&t, root)?,
    };
    target.profiles_file = Some(file.clone());
    Ok(target)
}

/// No profiles.yml anywhere: the embedded default for `dev`, else an error
/// saying where lake looked.
fn no_profiles_file(
    root: &Path,
    profiles_dir: Option<&Path>,
    target_name: Option<&str>,
    candidates: &[PathBuf],
) -> Result<Target, Diagnostic> {
    if let Some(dir) = profiles_dir {
        return Err(Diagnostic::new(Code::Profile, format!("no profiles.yml in {}", dir.display()))
            .with_help("create it (see profiles.yml.example), or drop --profiles-dir (or unset DBT_PROFILES_DIR) to use the embedded default"));
    }
    match target_name {
        None | Some("dev") => Ok(Target::embedded(root)),
        Some(t) => Err(Diagnostic::new(
            Code::Profile,
            format!("target `{t}` requested but no profiles.yml was found"),
        )
        .with_note(format!(
            "looked in: {}",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .with_help("copy profiles.yml.example to profiles.yml and define the target")),
    }
}

/// The profile called `name`, or an error suggesting the nearest one.
/// Other top-level keys (dbt's `config:`, other profiles) are not read.
fn find_profile(
    profiles: &IndexMap<String, serde_yaml::Value>,
    name: &str,
    shown: &Path,
    source: &str,
) -> Result<ProfileFile, Diagnostic> {
    if let Some(profile) = profiles.get(name) {
        return serde_yaml::from_value(profile.clone())
            .map_err(|e| located(shown, source, &[name], &e));
    }
    let d = Diagnostic::new(
        Code::Profile,
        format!("profile `{name}` not found in {}", shown.display()),
    )
    .at(shown, source, None, "");
    Err(
        match did_you_mean(name, profiles.keys().map(String::as_str)) {
            Some(s) => d.with_help(format!(
                "did you mean `{s}`? (the profile name comes from `profile:` in the project file)"
            )),
            None => d.with_help(format!(
                "add a top-level `{name}:` entry, or set `profile:` in the project file"
            )),
        },
    )
}

/// A value read below `path` that did not fit: serde_yaml knows no line for
/// it, so the key it names (an unknown one) is found in the text, and the
/// message says where below the file's top it is.
fn located(shown: &Path, source: &str, path: &[&str], e: &serde_yaml::Error) -> Diagnostic {
    let mut d = yaml::yaml_error(shown, source, e);
    let message = e.to_string();
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    let mut at: Vec<&str> = path.to_vec();
    at.extend(unknown);
    if unknown.is_some() {
        let file = format!(" in {}", shown.display());
        let place = format!(" at `{}`{file}", path.join("."));
        d.message = d.message.replacen(&file, &place, 1);
    }
    let label = if unknown.is_some() {
        "unknown key"
    } else {
        "here"
    };
    match yaml::locate_key(source, &at).or_else(|| yaml::locate_key(source, path)) {
        Some(span) => d.at(shown, source, Some(span), label),
        None => d,
    }
}

/// serde's message with Rust's type names put in a reader's words.
fn plain_words(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if message.contains("untagged enum Scalar") {
        return "expected a text, a number or true/false".into();
    }
    if message.contains("untagged enum ExtensionFile") {
        return "expected an extension name or `{name: ..., repo: ...}`".into();
    }
    if message.contains("enum CatalogFile") {
        return "expected `{type: duckdb, path: ...}` or `{type: postgres, host: ..., ...}`".into();
    }
    message
        .replace("usize", "a whole number")
        .replace(
            "struct AttachFile",
            "an attach entry (`path`, `alias`, ...)",
        )
        .replace("struct TargetFile", "a target's keys")
        .replace("struct S3File", "S3 settings")
}

/// The target called `tname` in `profile`, or an error pointing at the
/// profile's `outputs:` and suggesting the nearest one.
fn find_target<'a>(
    profile: &'a ProfileFile,
    profile_name: &str,
    tname: &str,
    shown: &Path,
    source: &str,
) -> Result<&'a serde_yaml::Value, Diagnostic> {
    if let Some(t) = profile.outputs.get(tname) {
        return Ok(t);
    }
    let d = Diagnostic::new(
        Code::Profile,
        format!("target `{tname}` not found in profile `{profile_name}`"),
    )
    .at(
        shown,
        source,
        yaml::locate_key(source, &[profile_name, "outputs"]),
        "targets are defined here",
    );
    Err(
        match did_you_mean(tname, profile.outputs.keys().map(String::as_str)) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!(
                "defined targets: {}",
                profile
                    .outputs
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    )
}

/// One target's place in profiles.yml: every value error names the key
/// under `<profile>.outputs.<target>` and points at its line.
struct TargetSource<'a> {
    shown: &'a Path,
    source: &'a str,
    profile: &'a str,
    target: &'a str,
}

impl TargetSource<'_> {
    /// Another dbt adapter's target (`type: snowflake`) is named as such
    /// before its keys are read; a dbt target must say its `type`.
    fn check_adapter(
        &self,
        value: &serde_yaml::Value,
        conventions: Conventions,
    ) -> Result<(), Diagnostic> {
        match value.get("type").and_then(serde_yaml::Value::as_str) {
            Some("ducklake" | "duckdb") => Ok(()),
            Some(other) => {
                let mut d = self.fail(&["type"], format!("the `{other}` adapter is not supported"));
                d.code = Code::Unsupported;
                Err(d.with_help("lake runs `type: duckdb` targets (dbt-duckdb's keys) and `type: ducklake` targets (lake's)"))
            }
            None if conventions == Conventions::Dbt => Err(self
                .fail(&[], "a dbt target needs a `type`".into())
                .with_help("add `type: duckdb` (read as dbt-duckdb reads it), or `type: ducklake` for lake's keys")),
            None => Ok(()),
        }
    }

    /// The target's text read as a [`TargetFile`], errors at their key.
    /// A value of the wrong type is reported at its own key (the path
    /// `serde_path_to_error` tracks), in words rather than Rust's types.
    fn read(&self, value: &serde_yaml::Value) -> Result<TargetFile, Diagnostic> {
        serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let inner = e.inner();
            if inner.to_string().starts_with("unknown field") {
                let place = [self.profile, "outputs", self.target];
                return located(self.shown, self.source, &place, inner);
            }
            let keys: Vec<String> = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                    _ => None,
                })
                .collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let shown = if keys.is_empty() {
                "the target".to_string()
            } else {
                format!("`{}`", keys.join("."))
            };
            self.fail(
                &keys,
                format!("{shown}: {}", plain_words(&inner.to_string())),
            )
        })
    }

    /// An error at `key` (a path below the target).
    fn fail(&self, key: &[&str], msg: String) -> Diagnostic {
        let mut path = vec![self.profile, "outputs", self.target];
        path.extend_from_slice(key);
        // A key inside a flow mapping (`{a: 1}`) has no line of its own:
        // the nearest enclosing key that has one.
        let span = (3..=path.len())
            .rev()
            .find_map(|n| yaml::locate_key(self.source, &path[..n]));
        Diagnostic::new(Code::Profile, msg).at(self.shown, self.source, span, "here")
    }

    /// The value at `key` with its `env_var()` calls expanded.
    fn text(&self, key: &[&str], s: &Scalar) -> Result<String, Diagnostic> {
        interpolate(&s.raw()).map_err(|(m, help)| {
            let d = self.fail(key, m);
            match help {
                Some(h) => d.with_help(h),
                None => d,
            }
        })
    }

    /// [`TargetSource::text`] of an optional value.
    fn optional(&self, key: &[&str], s: Option<&Scalar>) -> Result<Option<String>, Diagnostic> {
        s.map(|s| self.text(key, s)).transpose()
    }

    /// A credential at `key`, remembering where it came from.
    fn secret(&self, key: &[&str], s: Option<&Scalar>) -> Result<Option<Secret>, Diagnostic> {
        let Some(s) = s else {
            return Ok(None);
        };
        let value = self.text(key, s)?;
        let origin = match sole_env_var(&s.raw()) {
            Some(name) => SecretOrigin::EnvVar(name),
            None => SecretOrigin::Profile(key.join(".")),
        };
        Ok(Some(Secret { value, origin }))
    }

    /// The whole target, validated; `profiles_file` is left for the caller.
    fn resolve(&self, t: &TargetFile, root: &Path) -> Result<Target, Diagnostic> {
        self.refuse_dbt_duckdb_keys(t)?;
        let embedded = Target::embedded(root);
        let catalog = match &t.catalog {
            None => embedded.catalog.clone(),
            Some(CatalogFile::Duckdb { path }) => Catalog::Duckdb {
                path: root.join(self.text(&["catalog", "path"], path)?),
            },
            Some(CatalogFile::Postgres(pg)) => self.postgres(pg)?,
        };
        let data_path = match &t.data_path {
            None => embedded.data_path.clone(),
            Some(p) => under_root(root, self.text(&["data_path"], p)?),
        };
        let s3 = t.s3.as_ref().map(|s| self.s3(s)).transpose()?;
        let landing_path = match &t.landing_path {
            Some(p) => under_root(root, self.text(&["landing_path"], p)?),
            None => default_landing(&data_path),
        };
        Ok(Target {
            landing_path,
            name: self.target.to_string(),
            profile: Some(self.profile.to_string()),
            profiles_file: None,
            catalog,
            data_path,
            database: t.database.clone().unwrap_or_else(|| "lake".into()),
            schema: t.schema.clone().unwrap_or_else(|| "main".into()),
            threads: self.threads(t)?,
            extension_directory: self
                .optional(&["extension_directory"], t.extension_directory.as_ref())?
                .map(PathBuf::from),
            s3,
            setup: Setup::default(),
        })
    }

    /// dbt-duckdb's keys in a lake (`type: ducklake`) target are refused;
    /// any other `type` was refused by `check_adapter` before.
    fn refuse_dbt_duckdb_keys(&self, t: &TargetFile) -> Result<(), Diagnostic> {
        let dbt_keys = [
            ("path", t.path.is_some()),
            ("extensions", !t.extensions.is_empty()),
            ("settings", !t.settings.is_empty()),
            ("secrets", !t.secrets.is_empty()),
            ("attach", !t.attach.is_empty()),
        ];
        if let Some((key, _)) = dbt_keys.iter().find(|(_, set)| *set) {
            return Err(self
                .fail(&[key], format!("`{key}` is a key of dbt-duckdb's `type: duckdb` targets"))
                .with_help("add `type: duckdb` to read this target as dbt-duckdb does, or use lake's keys (profiles.yml.example)"));
        }
        Ok(())
    }

    /// `threads`, a whole number of at least 1 (zero workers would start
    /// nothing and skip every node).
    fn threads(&self, t: &TargetFile) -> Result<Option<usize>, Diagnostic> {
        let Some(text) = self.optional(&["threads"], t.threads.as_ref())? else {
            return Ok(None);
        };
        let message = match text.trim().parse::<usize>() {
            Ok(n) if n >= 1 => return Ok(Some(n)),
            Ok(_) => "`threads: 0` would run nothing: threads must be at least 1".to_string(),
            Err(_) => format!("`threads: {text}` is not a whole number"),
        };
        Err(self
            .fail(&["threads"], message)
            .with_help("set `threads: 1` or more, or remove the key to use one per core"))
    }

    /// A PostgreSQL catalog; the port defaults to 5432.
    fn postgres(&self, pg: &PostgresFile) -> Result<Catalog, Diagnostic> {
        let key = |k| ["catalog", k];
        let port = match &pg.port {
            None => 5432,
            Some(p) => {
                let s = self.text(&key("port"), p)?;
                s.parse()
                    .map_err(|_| self.fail(&key("port"), format!("port `{s}` is not a number")))?
            }
        };
        Ok(Catalog::Postgres {
            host: self.text(&key("host"), &pg.host)?,
            port,
            database: self.text(&key("database"), &pg.database)?,
            user: self.text(&key("user"), &pg.user)?,
            password: self.secret(&key("password"), pg.password.as_ref())?,
            metadata_schema: self.optional(&key("metadata_schema"), pg.metadata_schema.as_ref())?,
        })
    }

    /// S3 settings: region `us-east-1`, `vhost` URLs and HTTPS unless set.
    fn s3(&self, s: &S3File) -> Result<S3, Diagnostic> {
        let opt = |k: &str, v: &Option<Scalar>| self.optional(&["s3", k], v.as_ref());
        let use_ssl = opt("use_ssl", &s.use_ssl)?
            .map(|v| v == "true")
            .unwrap_or(true);
        Ok(S3 {
            endpoint: opt("endpoint", &s.endpoint)?,
            region: opt("region", &s.region)?.unwrap_or_else(|| "us-east-1".into()),
            url_style: opt("url_style", &s.url_style)?.unwrap_or_else(|| "vhost".into()),
            use_ssl,
            key_id: self.secret(&["s3", "key_id"], s.key_id.as_ref())?,
            secret: self.secret(&["s3", "secret"], s.secret.as_ref())?,
        })
    }
}

/// A URL or an absolute path as written; a relative path under the project
/// root, always with a trailing `/` (DuckLake and the loader want a folder).
fn under_root(root: &Path, p: String) -> String {
    if p.contains("://") || Path::new(&p).is_absolute() {
        p
    } else {
        format!("{}/", root.join(p.trim_end_matches('/')).display())
    }
}

/// Beside the data path, not inside it, where possible: DuckLake's orphan
/// cleanup may delete unknown files under its data path. `s3://b/lake/`
/// lands in `s3://b/landing/`, `.lake/data/` in `.lake/landing/`; a bare
/// bucket has no "beside", so set `landing_path` for it.
fn default_landing(data_path: &str) -> String {
    let trimmed = data_path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, _)) if !parent.ends_with(':') && !parent.ends_with("s3:/") => {
            format!("{parent}/landing/")
        }
        _ => format!("{trimmed}/landing/"),
    }
}

fn shown_path(root: &Path, file: &Path) -> PathBuf {
    file.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| file.to_path_buf())
}

/// Expands `{{ env_var('NAME') }}` / `{{ env_var('NAME', 'default') }}` in a
/// profile value. The error (message, hint) names the variable, never its
/// value.
pub fn interpolate(raw: &str) -> Result<String, (String, Option<String>)> {
    if !raw.contains("{{") {
        return Ok(raw.to_string());
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_function("env_var", super::jinja::env_var);
    // dbt's casts: a profile value is text here, read by its key later.
    for cast in ["as_number", "as_bool", "as_text", "as_native"] {
        env.add_filter(cast, |v: minijinja::Value| v);
    }
    env.render_str(raw, ()).map_err(|e| {
        let lake =
            std::error::Error::source(&e).and_then(|s| s.downcast_ref::<super::jinja::LakeError>());
        match (lake, e.detail()) {
            (Some(l), _) => (l.message.clone(), l.help.clone()),
            (None, Some(d)) => (d.to_string(), None),
            (None, None) => (format!("cannot expand a profile value: {}", e.kind()), None),
        }
    })
}

/// The variable a profile value is read from, when the value is exactly
/// one `{{ env_var('NAME') }}` (a default or not): the template is rendered
/// once more with `env_var` answering a marker, so the value itself is never
/// looked at. Anything else (literal text, two variables) is `None`.
fn sole_env_var(raw: &str) -> Option<String> {
    use std::sync::{Arc, Mutex};
    if !raw.contains("{{") {
        return None;
    }
    let names = Arc::new(Mutex::new(Vec::new()));
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let seen = names.clone();
    env.add_function(
        "env_var",
        move |name: String, _default: Option<String>| -> Result<String, minijinja::Error> {
            let marker = format!("\u{1}{name}\u{1}");
            seen.lock().unwrap_or_else(|e| e.into_inner()).push(name);
            Ok(marker)
        },
    );
    let rendered = env.render_str(raw, ()).ok()?;
    let names = names.lock().unwrap_or_else(|e| e.into_inner());
    match names.as_slice() {
        [name] if rendered == format!("\u{1}{name}\u{1}") => Some(name.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{default_landing, sole_env_var};

    #[test]
    fn a_secret_names_its_variable_only_when_it_is_all_of_the_value() {
        let one = sole_env_var("{{ env_var('PG_PASSWORD') }}");
        assert_eq!(one.as_deref(), Some("PG_PASSWORD"));
        let with_default = sole_env_var("{{ env_var(\"PW\", 'dev') }}");
        assert_eq!(with_default.as_deref(), Some("PW"));
        // Literal text beside the variable is written in the file.
        assert_eq!(sole_env_var("x{{ env_var('PW') }}"), None);
        assert_eq!(sole_env_var("{{ env_var('A') }}{{ env_var('B') }}"), None);
        assert_eq!(sole_env_var("plain"), None);
    }

    #[test]
    fn landed_files_wait_beside_the_data_path_not_inside_it() {
        assert_eq!(
            default_landing("s3://ducklake/lake/"),
            "s3://ducklake/landing/"
        );
        assert_eq!(default_landing("/p/.lake/data/"), "/p/.lake/landing/");
        // A bare bucket has no "beside": landing/ inside it (set landing_path).
        assert_eq!(default_landing("s3://ducklake/"), "s3://ducklake/landing/");
    }
}
