//! dbt-duckdb's `type: duckdb` targets, read with dbt-duckdb's rules so a
//! dbt project's own profile works unchanged: `path` is the database (a
//! file, `:memory:` by default, or `ducklake:<metadata file>`), `database`
//! defaults to the name DuckDB gives that file, and `database` may name an
//! `attach:` entry instead (a DuckLake attach, typically). The target
//! database becomes lake's [`Catalog`]: a DuckLake when it is one, else a
//! plain DuckDB database. Extensions, settings, secrets and the other
//! attaches become the [`Setup`] lake runs before attaching it.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{Catalog, Scalar, Secret, SecretOrigin, Target, TargetFile, TargetSource};
use crate::diagnostic::{Code, Diagnostic};
use crate::sql::{identifier, string_contents, string_literal};

/// An `extensions:` entry: a name, or `{name, repo}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ExtensionFile {
    /// `- httpfs`.
    Name(String),
    /// `- {name: spatial, repo: core}`.
    Spec {
        /// The extension.
        name: String,
        /// Its repository: lake provisions core extensions only.
        #[serde(default)]
        repo: Option<String>,
    },
}

/// An `attach:` entry as dbt-duckdb documents it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachFile {
    /// The database: a file, a URL, `ducklake:<metadata>`.
    pub path: Scalar,
    /// `TYPE` of the attach (`sqlite`, `postgres`, ...).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Name it is attached as; DuckDB's default is the file's stem.
    #[serde(default)]
    pub alias: Option<String>,
    /// A secret to use (`SECRET name`).
    #[serde(default)]
    pub secret: Option<String>,
    /// Attach read-only.
    #[serde(default)]
    pub read_only: bool,
    /// More `ATTACH` options (`data_path` for a DuckLake).
    #[serde(default)]
    pub options: IndexMap<String, Scalar>,
    /// A DuckLake though the path does not say `ducklake:`.
    #[serde(default)]
    pub is_ducklake: Option<bool>,
}

/// What a dbt-duckdb target asks of DuckDB before lake attaches the target
/// database; empty for lake's own targets.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Setup {
    /// Extensions to load, in order.
    pub extensions: Vec<String>,
    /// `SET name = 'value'` on every connection, in order; a value whose
    /// key names a credential (`s3_secret_access_key`) is redacted too.
    pub settings: Vec<(String, Secret)>,
    /// `CREATE SECRET`s.
    pub secrets: Vec<DuckdbSecret>,
    /// Databases to attach besides the target's.
    pub attach: Vec<Attachment>,
}

impl Setup {
    /// The `SET` statements every connection runs, each value given by
    /// `value` (real, or a placeholder for a statement shown to a person).
    pub fn settings_sql(&self, value: impl Fn(&Secret) -> String) -> Vec<String> {
        self.settings
            .iter()
            .map(|(k, v)| format!("SET {} = {}", identifier(k), string_literal(&value(v))))
            .collect()
    }

    /// Every value that must never be shown: secrets' credentials and
    /// settings whose key names one.
    pub fn credentials(&self) -> impl Iterator<Item = &Secret> {
        let settings = self
            .settings
            .iter()
            .filter(|(k, _)| super::mask::names_a_credential(&k.to_lowercase()))
            .map(|(_, v)| v);
        let attached = self.attach.iter().flat_map(|a| a.credentials.iter());
        self.secrets
            .iter()
            .flat_map(DuckdbSecret::values)
            .chain(settings)
            .chain(attached)
    }
}

/// A `secrets:` entry: its credentials kept as [`Secret`]s, its settings
/// (`region`, `endpoint`, `scope`, ...) shown as they are.
#[derive(Debug, Clone, Serialize)]
pub struct DuckdbSecret {
    /// The secret's name (dbt-duckdb's default `__default_<type>`).
    pub name: String,
    /// `TYPE` (`s3`, `gcs`, ...).
    pub kind: String,
    /// The other parameters, in order; `true` marks a credential.
    pub params: Vec<(String, Secret, bool)>,
}

impl DuckdbSecret {
    /// Every credential, for redaction.
    pub fn values(&self) -> impl Iterator<Item = &Secret> {
        self.params.iter().filter(|p| p.2).map(|(_, v, _)| v)
    }

    /// The statement, with each value given by `value` (real or placeholder).
    pub fn sql(&self, value: impl Fn(&Secret) -> String) -> String {
        let mut parts = vec![format!("TYPE {}", self.kind)];
        parts.extend(self.params.iter().map(|(k, v, credential)| {
            let shown = if *credential {
                value(v)
            } else {
                v.expose().to_string()
            };
            format!("{} {}", k.to_uppercase(), string_literal(&shown))
        }));
        format!(
            "CREATE OR REPLACE SECRET {} ({})",
            identifier(&self.name),
            parts.join(", ")
        )
    }
}

/// Another database to attach, as dbt-duckdb writes the statement.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    /// The path or URL, as written.
    pub path: String,
    /// `AS alias`.
    pub alias: Option<String>,
    /// Options, already SQL (`TYPE sqlite`, `READ_ONLY`, `KEY 'value'`).
    pub options: Vec<String>,
    /// Credentials inside the path (`password=...`, `user:pass@`) or in
    /// an option whose key names one: never shown.
    pub credentials: Vec<Secret>,
}

impl Attachment {
    /// `ATTACH IF NOT EXISTS ...`; `read_only` for a reader (`lake query`),
    /// which must not hold a write lock on the file a build needs. Each
    /// credential is given by `value` (real for a session, a placeholder
    /// for statements shown to a person).
    pub fn sql(&self, read_only: bool, value: impl Fn(&Secret) -> String) -> String {
        let mut sql = self.real_sql(read_only);
        for c in &self.credentials {
            let shown = value(c);
            sql = sql.replace(&string_contents(c.expose()), &string_contents(&shown));
        }
        sql
    }

    fn real_sql(&self, read_only: bool) -> String {
        let mut sql = format!("ATTACH IF NOT EXISTS {}", string_literal(&self.path));
        if let Some(alias) = &self.alias {
            sql.push_str(&format!(" AS {}", identifier(alias)));
        }
        let mut options = self.options.clone();
        if read_only && !options.iter().any(|o| o == "READ_ONLY") {
            options.push("READ_ONLY".into());
        }
        if !options.is_empty() {
            sql.push_str(&format!(" ({})", options.join(", ")));
        }
        sql
    }
}

/// Credentials inside a connection string or URL: libpq's `password=...`
/// (quoted or not, spaces around `=` allowed), a `token=` (MotherDuck's
/// `motherduck_token=` too), and a URL's `user:password@`.
pub(super) fn path_credentials(path: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = path.to_lowercase();
    for key in ["password", "token"] {
        for (at, _) in lower.match_indices(key) {
            let rest = path[at + key.len()..].trim_start();
            let Some(rest) = rest.strip_prefix('=') else {
                continue;
            };
            let rest = rest.trim_start();
            let value = match rest.strip_prefix('\'') {
                Some(quoted) => quoted.split('\'').next().unwrap_or(""),
                None => rest
                    .split(|c: char| c.is_whitespace() || c == '&' || c == ';')
                    .next()
                    .unwrap_or(""),
            };
            found.push(value.to_string());
        }
    }
    if let Some((_, after)) = path.split_once("://") {
        let authority = after.split('/').next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                found.push(password.to_string());
            }
        }
    }
    found.retain(|v| !v.is_empty());
    found
}

/// The name DuckDB (and so dbt-duckdb) gives a database at `path`: `memory`
/// for `:memory:`, the metadata file's stem for `ducklake:x.ducklake`, else
/// the file name up to its first dot (`my.db.duckdb` is `my`).
pub fn database_name(path: &str) -> String {
    if path == ":memory:" || path.is_empty() {
        return "memory".into();
    }
    let path = path.strip_prefix("ducklake:").unwrap_or(path);
    let file = Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.trim_start_matches('.')
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A database path as DuckDB should open it: `~/` is the home folder, a
/// relative file is under the project folder (as the target's own `path`),
/// URLs and `scheme:` paths stay as written (`ducklake:` ones get the same
/// treatment after the prefix).
fn local_path(root: &Path, path: &str) -> String {
    if let Some(rest) = path.strip_prefix("ducklake:") {
        return format!("ducklake:{}", local_path(root, rest));
    }
    if let (Some(rest), Some(home)) = (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        return PathBuf::from(home).join(rest).display().to_string();
    }
    let has_scheme = path.contains("://")
        || path.split_once(':').is_some_and(|(scheme, _)| {
            scheme.len() > 1
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if path == ":memory:" || has_scheme || Path::new(path).is_absolute() {
        path.to_string()
    } else {
        root.join(path).display().to_string()
    }
}

/// A database's path, and whether it is a DuckLake.
struct Database<'a> {
    path: String,
    ducklake: bool,
    options: Option<&'a IndexMap<String, Scalar>>,
    key: Vec<&'static str>,
}

impl TargetSource<'_> {
    /// A `type: duckdb` target, read as dbt-duckdb reads it.
    pub(super) fn resolve_duckdb(&self, t: &TargetFile, root: &Path) -> Result<Target, Diagnostic> {
        self.refuse_duckdb_keys(t)?;
        let path = self
            .optional(&["path"], t.path.as_ref())?
            .unwrap_or_else(|| ":memory:".into());
        if path.starts_with("md:") || path.starts_with("motherduck:") {
            return Err(self.not_yet(&["path"], "a MotherDuck database (`md:`)"));
        }
        let primary = Database {
            ducklake: t.is_ducklake == Some(true) || path.starts_with("ducklake:"),
            path,
            options: None,
            key: vec!["path"],
        };
        let database = t
            .database
            .clone()
            .unwrap_or_else(|| database_name(&primary.path));
        let mut others = Vec::new();
        let mut chosen = None;
        let mut aliases = vec![database_name(&primary.path)];
        if database_name(&primary.path) == database {
            chosen = Some(primary);
        } else if primary.path != ":memory:" {
            others.push(Attachment {
                alias: Some(database_name(&primary.path)),
                path: local_path(root, &primary.path),
                options: Vec::new(),
                credentials: Vec::new(),
            });
        }
        for a in &t.attach {
            let path = self.text(&["attach"], &a.path)?;
            let alias = a.alias.clone().unwrap_or_else(|| database_name(&path));
            if aliases.contains(&alias) {
                return Err(self
                    .fail(&["attach"], format!("two databases would be attached as `{alias}`"))
                    .with_help("give each `attach:` entry its own `alias`, different from the `path`'s name"));
            }
            aliases.push(alias.clone());
            if alias == database {
                chosen = Some(self.attached_target(a, path)?);
            } else {
                // A file's path is under the project folder; a server's
                // connection string (type postgres, mysql) is as written.
                let file = a.kind.as_deref().is_none_or(|k| {
                    matches!(k.to_lowercase().as_str(), "duckdb" | "sqlite" | "ducklake")
                });
                let path = if file { local_path(root, &path) } else { path };
                others.push(self.attachment(a, path, alias)?);
            }
        }
        let Some(chosen) = chosen else {
            return Err(self
                .fail(&["database"], format!("database `{database}` is neither the `path` nor an `attach:` alias"))
                .with_help("leave `database` out (dbt-duckdb names it after the path's file), or set it to an attach alias"));
        };
        let embedded = Target::embedded(root);
        let (catalog, data_path) = self.catalog(&chosen, root)?;
        Ok(Target {
            name: self.target.to_string(),
            profile: Some(self.profile.to_string()),
            profiles_file: None,
            catalog,
            data_path: data_path.unwrap_or(embedded.data_path),
            database,
            schema: t.schema.clone().unwrap_or_else(|| "main".into()),
            threads: self.threads(t)?,
            extension_directory: None,
            s3: None,
            landing_path: embedded.landing_path,
            setup: Setup {
                extensions: self.extensions(t)?,
                settings: self.settings(t)?,
                secrets: self.secrets(t)?,
                attach: others,
            },
        })
    }

    /// The attach entry the target's `database` names.
    fn attached_target<'f>(
        &self,
        a: &'f AttachFile,
        path: String,
    ) -> Result<Database<'f>, Diagnostic> {
        let ducklake = a.is_ducklake == Some(true)
            || path.starts_with("ducklake:")
            || a.kind.as_deref() == Some("ducklake");
        if !ducklake && a.kind.as_deref().is_some_and(|k| k != "duckdb") {
            return Err(self.not_yet(&["attach"], "writing models into a non-DuckDB attach"));
        }
        Ok(Database {
            path,
            ducklake,
            options: Some(&a.options),
            key: vec!["attach"],
        })
    }

    /// The target database as lake's catalog, with a DuckLake's data path.
    fn catalog(
        &self,
        db: &Database<'_>,
        root: &Path,
    ) -> Result<(Catalog, Option<String>), Diagnostic> {
        let file = |p: &str| -> PathBuf { PathBuf::from(local_path(root, p)) };
        if !db.ducklake {
            let path = (db.path != ":memory:").then(|| file(&db.path));
            return Ok((Catalog::Plain { path }, None));
        }
        let metadata = db.path.strip_prefix("ducklake:").unwrap_or(&db.path);
        if metadata.contains(':') {
            return Err(self.not_yet(&db.key, "a DuckLake whose catalog is not a DuckDB file in a dbt profile (use lake's `catalog: {type: postgres}` in a `type: ducklake` target)"));
        }
        let mut data_path = None;
        for (k, v) in db.options.into_iter().flatten() {
            match k.to_lowercase().as_str() {
                "data_path" => data_path = Some(self.text(&db.key, v)?),
                "type" => {}
                other => {
                    return Err(
                        self.not_yet(&db.key, &format!("the DuckLake attach option `{other}`"))
                    )
                }
            }
        }
        let data_path = data_path.unwrap_or_else(|| format!("{metadata}.files"));
        Ok((
            Catalog::Duckdb {
                path: file(metadata),
            },
            Some(super::under_root(root, data_path)),
        ))
    }

    /// Another attach, as dbt-duckdb writes its statement.
    fn attachment(
        &self,
        a: &AttachFile,
        path: String,
        alias: String,
    ) -> Result<Attachment, Diagnostic> {
        let mut options = Vec::new();
        options.extend(a.kind.as_ref().map(|k| format!("TYPE {k}")));
        options.extend(
            a.secret
                .as_ref()
                .map(|s| format!("SECRET {}", identifier(s))),
        );
        if a.read_only {
            options.push("READ_ONLY".into());
        }
        let mut credentials: Vec<Secret> = path_credentials(&path)
            .into_iter()
            .map(|value| Secret {
                value,
                origin: SecretOrigin::Profile("attach password".into()),
            })
            .collect();
        for (k, v) in &a.options {
            let value = self.text(&["attach"], v)?;
            if super::mask::names_a_credential(&k.to_lowercase()) {
                credentials.extend(self.secret(&["attach", k], Some(v))?);
            }
            options.push(match v {
                Scalar::Bool(true) => k.to_uppercase(),
                Scalar::Bool(false) => continue,
                Scalar::Int(_) => format!("{} {value}", k.to_uppercase()),
                Scalar::Str(_) => format!("{} {}", k.to_uppercase(), string_literal(&value)),
            });
        }
        Ok(Attachment {
            path,
            alias: Some(alias),
            options,
            credentials,
        })
    }

    /// The `extensions:` entries, then the scanner each typed attach needs
    /// (`type: postgres` is DuckDB's `postgres_scanner`), which DuckDB
    /// would fetch itself on first use and lake provisions ahead.
    fn extensions(&self, t: &TargetFile) -> Result<Vec<String>, Diagnostic> {
        let mut names = self.listed_extensions(t)?;
        for a in &t.attach {
            let scanner = match a.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("postgres" | "postgresql") => "postgres_scanner",
                Some("sqlite" | "sqlite3") => "sqlite_scanner",
                Some("mysql") => "mysql_scanner",
                _ => continue,
            };
            if !names.iter().any(|n| n == scanner) {
                names.push(scanner.to_string());
            }
        }
        Ok(names)
    }

    fn listed_extensions(&self, t: &TargetFile) -> Result<Vec<String>, Diagnostic> {
        t.extensions
            .iter()
            .map(|e| match e {
                ExtensionFile::Name(n) => self.plain_name(&["extensions"], n).map(|()| n.clone()),
                ExtensionFile::Spec { name, repo } => match repo.as_deref() {
                    None | Some("core") => {
                        self.plain_name(&["extensions"], name).map(|()| name.clone())
                    }
                    Some(r) => Err(self.not_yet(
                        &["extensions"],
                        &format!("extension `{name}` from repository `{r}` (lake provisions core extensions)"),
                    )),
                },
            })
            .collect()
    }

    fn settings(&self, t: &TargetFile) -> Result<Vec<(String, Secret)>, Diagnostic> {
        let mut v = Vec::new();
        for (section, map) in [
            ("config_options", &t.config_options),
            ("settings", &t.settings),
        ] {
            for (k, value) in map {
                self.plain_name(&[section, k], k)?;
                let origin = SecretOrigin::Profile(format!("{section}.{k}"));
                let value = self.text(&[section, k], value)?;
                v.push((k.clone(), Secret { value, origin }));
            }
        }
        Ok(v)
    }

    /// A name that goes into SQL unquoted (an extension, a secret's type or
    /// parameter, a setting): letters, digits and `_` only.
    fn plain_name(&self, key: &[&str], name: &str) -> Result<(), Diagnostic> {
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            return Ok(());
        }
        Err(self
            .fail(key, format!("`{name}` is not a DuckDB name"))
            .with_help("extension, setting and secret parameter names are letters, digits and `_`"))
    }

    fn secrets(&self, t: &TargetFile) -> Result<Vec<DuckdbSecret>, Diagnostic> {
        let mut out = Vec::new();
        for (i, s) in t.secrets.iter().enumerate() {
            let Some(kind) = s.get("type") else {
                return Err(self
                    .fail(&["secrets"], format!("secret {} has no `type`", i + 1))
                    .with_help("give each secret a `type` (s3, gcs, azure, ...)"));
            };
            let kind = self.text(&["secrets"], kind)?;
            self.plain_name(&["secrets"], &kind)?;
            let name = match s.get("name") {
                Some(n) => self.text(&["secrets"], n)?,
                None => format!("__default_{kind}"),
            };
            let mut params = Vec::new();
            for (k, v) in s
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "type" | "name"))
            {
                self.plain_name(&["secrets"], k)?;
                let value = self.text(&["secrets"], v)?;
                let origin = SecretOrigin::Profile(format!("secrets.{k}"));
                let setting = super::mask::SECRET_SETTINGS.contains(&k.to_lowercase().as_str());
                params.push((k.clone(), Secret { value, origin }, !setting));
            }
            out.push(DuckdbSecret { name, kind, params });
        }
        Ok(out)
    }

    /// Lake's own keys in a dbt-duckdb target, and dbt-duckdb keys lake
    /// does not do, are errors at their line; keys with nothing to do in
    /// lake are logged at debug.
    fn refuse_duckdb_keys(&self, t: &TargetFile) -> Result<(), Diagnostic> {
        let lake_keys = [
            ("catalog", t.catalog.is_some()),
            ("data_path", t.data_path.is_some()),
            ("s3", t.s3.is_some()),
            ("landing_path", t.landing_path.is_some()),
            ("extension_directory", t.extension_directory.is_some()),
        ];
        if let Some((key, _)) = lake_keys.iter().find(|(_, set)| *set) {
            return Err(self
                .fail(&[key], format!("`{key}` is a key of lake's `type: ducklake` targets, not of `type: duckdb`"))
                .with_help("a dbt-duckdb target names its DuckLake in `path: ducklake:<file>` or an `attach:` entry"));
        }
        let refused = [
            ("plugins", t.plugins.is_some(), "`plugins:` (dbt-duckdb's Python plugins)"),
            ("filesystems", t.filesystems.is_some(), "`filesystems:` (fsspec)"),
            ("remote", t.remote.is_some(), "`remote:` (a DuckDB server)"),
            ("module_paths", t.module_paths.is_some(), "`module_paths:` (Python modules)"),
            ("use_credential_provider", t.use_credential_provider.is_some(), "`use_credential_provider:` (write a `secrets:` entry with `provider: credential_chain`)"),
            ("motherduck_token", t.motherduck_token.is_some(), "`motherduck_token:` (MotherDuck)"),
        ];
        if let Some((key, _, what)) = refused.iter().find(|(_, set, _)| *set) {
            return Err(self.not_yet(&[key], what));
        }
        for (key, set) in [
            ("external_root", t.external_root.is_some()),
            ("keep_open", t.keep_open.is_some()),
            ("disable_transactions", t.disable_transactions.is_some()),
            ("retries", t.retries.is_some()),
        ] {
            if set {
                tracing::debug!(key, "dbt-duckdb profile key has nothing to do in lake");
            }
        }
        Ok(())
    }

    /// L013 at `key`: `what` is not supported yet.
    fn not_yet(&self, key: &[&str], what: &str) -> Diagnostic {
        let mut d = self.fail(key, format!("{what} is not supported yet"));
        d.code = Code::Unsupported;
        d.with_help("run this project with dbt for now, or change the target (lake's own targets: profiles.yml.example)")
    }
}

#[cfg(test)]
mod tests {
    use super::{database_name, path_credentials};

    #[test]
    fn passwords_are_found_in_connection_strings_and_urls() {
        assert_eq!(
            path_credentials("dbname=x user=u password=hunter2 host=h"),
            ["hunter2"]
        );
        assert_eq!(path_credentials("host=h PASSWORD='a b'"), ["a b"]);
        assert_eq!(
            path_credentials("user=u password = hunter2 host=h"),
            ["hunter2"]
        );
        assert_eq!(path_credentials("md:db?motherduck_token=T0K&x=1"), ["T0K"]);
        assert_eq!(
            path_credentials("postgresql://u:p%40ss@db.example.com:5432/x"),
            ["p%40ss"]
        );
        assert!(path_credentials("data/other.duckdb").is_empty());
        assert!(path_credentials("https://example.com/x.duckdb").is_empty());
    }

    #[test]
    fn a_database_is_named_as_duckdb_names_its_file() {
        assert_eq!(database_name(":memory:"), "memory");
        assert_eq!(database_name("jaffle_shop.duckdb"), "jaffle_shop");
        assert_eq!(database_name("/tmp/a/my.db.duckdb"), "my");
        assert_eq!(database_name(".hidden.duckdb"), "hidden");
        assert_eq!(database_name("ducklake:meta/lake.ducklake"), "lake");
    }
}
