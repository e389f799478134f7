//! The Jinja environment a project's templates render in: lake's dbt
//! vocabulary bound to one [`Resolver`], `target` and the other globals, and
//! the project's macros, importable by name from every template.

use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{context, Environment, UndefinedBehavior};

use super::diagnose::{self, MacroMap};
use super::functions::{self, Capture, Resolver};
use super::RenderOptions;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::project::Project;

/// An environment ready to render the project's templates.
pub struct Templates {
    /// The minijinja environment, macros loaded.
    pub env: Environment<'static>,
    /// What `ref()` and `source()` resolve to in `env`.
    pub resolver: Arc<Resolver>,
    /// `{% from "__lake_dbt__" import ... %}{% from "__lake_macros__"
    /// import a, b %}`: both imports, for tests, hooks and snippets.
    pub prefix: String,
    /// The import of lake's dbt macros alone, for a model that names one.
    pub builtin_prefix: String,
    /// The import of the project's macros alone.
    pub project_prefix: String,
    /// Names of lake's dbt macros (`date_trunc`, `dbt`, ...).
    pub builtin_names: Vec<String>,
    /// Macro files and names, to point diagnostics into macro files.
    pub macros: MacroMap,
}

impl Templates {
    /// Builds the environment with `resolver`. A macro file that does not
    /// parse is an error; macros that cannot be loaded are reported in
    /// `diags` and left out.
    pub fn new(
        project: &Project,
        opts: &RenderOptions,
        resolver: Resolver,
        diags: &mut Diagnostics,
    ) -> Result<Templates, Diagnostics> {
        let files = combine_macros(project);
        let resolver = Arc::new(resolver);
        let env = build_env(project, opts, &files, resolver.clone())?;
        let names = export_names(&env, diagnose::MACROS_TEMPLATE, diags);
        let builtin_names = export_names(&env, diagnose::DBT_TEMPLATE, diags);
        let builtin_prefix = import_prefix(diagnose::DBT_TEMPLATE, &builtin_names);
        let project_prefix = import_prefix(diagnose::MACROS_TEMPLATE, &names);
        Ok(Templates {
            env,
            resolver,
            prefix: format!("{builtin_prefix}{project_prefix}"),
            builtin_prefix,
            project_prefix,
            builtin_names,
            macros: MacroMap { names, ..files },
        })
    }

    /// The same templates with `ref()` and `source()` resolving by
    /// `resolver` instead (the macros were loaded once already).
    pub fn with_resolver(
        &self,
        project: &Project,
        opts: &RenderOptions,
        resolver: Resolver,
    ) -> Result<Templates, Diagnostics> {
        let resolver = Arc::new(resolver);
        Ok(Templates {
            env: build_env(project, opts, &self.macros, resolver.clone())?,
            resolver,
            prefix: self.prefix.clone(),
            builtin_prefix: self.builtin_prefix.clone(),
            project_prefix: self.project_prefix.clone(),
            builtin_names: self.builtin_names.clone(),
            macros: self.macros.clone(),
        })
    }

    /// Renders `source` as the template `name`, with what the render
    /// discovered (`ref()`, `source()` and `config()` calls).
    pub fn render_captured(
        &self,
        name: &str,
        source: &str,
        ctx: Value,
    ) -> Result<(String, Capture), minijinja::Error> {
        let source = super::mutable::wrap_literals(source);
        let tmpl = self.env.template_from_named_str(name, &source)?;
        let rendered = tmpl.render_captured(ctx)?;
        let capture = rendered
            .state()
            .get_extension::<Capture>()
            .cloned()
            .unwrap_or_default();
        Ok((rendered.into_output(), capture))
    }

    /// Renders `source` (a hook, a snippet) as an unnamed template.
    pub fn render_str(&self, source: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env
            .render_str(&super::mutable::wrap_literals(source), ctx)
    }
}

/// Concatenates every macro file into one template so macros can call each
/// other across files, remembering where each file starts.
/// dbt's cross-database macros (`dbt.date_trunc`, `dateadd`, ...), first,
/// so a project's macro of the same name replaces the plain one.
const DBT_MACROS: &str = include_str!("dbt_macros.sql");

fn combine_macros(project: &Project) -> MacroMap {
    let mut files = Vec::new();
    let mut line = 1;
    for m in &project.macros {
        files.push((line, m.path.clone(), m.text.clone()));
        line += m.text.matches('\n').count() + usize::from(!m.text.ends_with('\n'));
    }
    MacroMap {
        files,
        names: Vec::new(),
    }
}

fn build_env(
    project: &Project,
    opts: &RenderOptions,
    macros: &MacroMap,
    resolver: Arc<Resolver>,
) -> Result<Environment<'static>, Diagnostics> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    // Python string/list/dict methods (`.startswith`, `.upper()`, `.items()`,
    // `.append()`), which dbt macros use everywhere.
    super::mutable::register(&mut env);
    // SQL is never escaped, whatever the template's file name says (minijinja
    // would JSON-escape templates named *.yml, like relationships targets).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    functions::register(&mut env, resolver);
    super::dbt_context::register(
        &mut env,
        &super::dbt_context::Invocation {
            id: &opts.invocation_id,
            full_refresh: opts.full_refresh,
            store_failures: opts.store_failures,
        },
    );
    super::live::register(&mut env);
    add_globals(&mut env, project, opts);
    add_macros(&mut env, macros)?;
    Ok(env)
}

/// `target`, `run_started_at`, `project_name`, `project_root`.
fn add_globals(env: &mut Environment<'static>, project: &Project, opts: &RenderOptions) {
    let t = &project.target;
    env.add_global(
        "target",
        context! {
            name => t.name.clone(),
            schema => t.schema.clone(),
            database => t.database.clone(),
            type => "ducklake",
            catalog_type => t.catalog_type(),
            threads => t.threads,
            profile_name => t.profile.clone(),
        },
    );
    env.add_global(
        "run_started_at",
        super::py_datetime::run_started_at(&opts.run_started_at),
    );
    env.add_global("modules", super::py_datetime::modules());
    env.add_global("project_name", project.name.clone());
    env.add_global("project_root", project.root.display().to_string());
}

/// Adds lake's dbt macros, in their own template so only templates that
/// name one import (and evaluate) them, then the combined project macro
/// template (importing lake's when it names one), or says where it does
/// not parse.
fn add_macros(env: &mut Environment<'static>, macros: &MacroMap) -> Result<(), Diagnostics> {
    let builtin = super::dbt_context::wrap_returning(DBT_MACROS);
    env.add_template_owned(diagnose::DBT_TEMPLATE, builtin)
        .map_err(|e| Diagnostics::from(Diagnostic::new(Code::RenderError, e.to_string())))?;
    if macros.files.is_empty() {
        return Ok(());
    }
    let builtin_names = export_names(env, diagnose::DBT_TEMPLATE, &mut Diagnostics::default());
    let mut text = String::new();
    for (_, _, t) in &macros.files {
        text.push_str(t);
        if !t.ends_with('\n') {
            text.push('\n');
        }
    }
    let uses_builtin = super::models::names_a_macro(&text, &builtin_names);
    let mut text = super::dbt_context::wrap_returning(&super::mutable::wrap_literals(&text));
    if uses_builtin {
        text.insert_str(0, &import_prefix(diagnose::DBT_TEMPLATE, &builtin_names));
    }
    env.add_template_owned(diagnose::MACROS_TEMPLATE, text)
        .map_err(|e| diagnose::diagnose(&e, &PathBuf::from(""), "", 0, macros).into())
}

/// Names of all macros, found by evaluating the macro template once.
fn export_names(env: &Environment<'_>, template: &str, diags: &mut Diagnostics) -> Vec<String> {
    let Ok(tmpl) = env.get_template(template) else {
        return Vec::new();
    };
    match tmpl.render_captured(()) {
        Ok(c) => {
            let mut names: Vec<String> = c
                .state()
                .exports()
                .into_iter()
                .filter(|n| !n.starts_with("__lake_"))
                .map(str::to_string)
                .collect();
            names.sort();
            names
        }
        Err(e) => {
            diags.push(
                Diagnostic::new(Code::RenderError, format!("macros cannot be loaded: {e}"))
                    .with_help("macro files should hold only {% macro %} blocks"),
            );
            Vec::new()
        }
    }
}

/// `{% from "__lake_macros__" import a, b %}` with no newline, so line
/// numbers in models stay true.
fn import_prefix(template: &str, names: &[String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    format!("{{% from \"{template}\" import {} %}}", names.join(", "))
}
