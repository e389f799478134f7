//! Resolves a model's enforced contract (dbt's `contract: {enforced: true}`)
//! once its final config is known, that is after its own `{{ config() }}`
//! call. A contract the build could not check (no columns, a column without
//! `data_type`, a model that is never built) is a project error pointing at
//! the properties file line, like every other project error, instead of a
//! surprise at run time.

use std::ops::Range;
use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::nodes::{Contract, ContractColumn};
use crate::project::{Materialization, ModelFile, NodeConfig, Project, SourceFile};

/// The contract `m` enforces under its final `config`, `None` if it
/// enforces none, or every reason it cannot be checked.
pub fn resolve(
    project: &Project,
    m: &ModelFile,
    config: &NodeConfig,
) -> Result<Option<Contract>, Vec<Diagnostic>> {
    if !config.contract.enforced {
        return Ok(None);
    }
    let site = Site::of(project, m);
    if !matches!(
        config.materialized,
        Materialization::Table | Materialization::View | Materialization::Incremental
    ) {
        let d = never_built(m, config);
        return Err(vec![
            site.at_entry(d, "contract enforced here or in a folder config")
        ]);
    }
    let Some(pf) = site.properties else {
        return Err(vec![site.at_entry(undeclared(m), "this model")]);
    };
    if m.columns.is_empty() {
        let d = no_columns(m, pf);
        return Err(vec![site.at_entry(d, "no `columns:` in this entry")]);
    }
    let problems = column_problems(m, pf, site.entry.as_ref());
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Some(Contract {
        declared_in: pf.path.clone(),
        line: site
            .entry
            .map(|r| line_of(&pf.text, name_span(&pf.text, r.start, &m.name).start)),
        columns: m
            .columns
            .iter()
            .map(|c| ContractColumn {
                name: c.name.clone(),
                data_type: c.data_type.clone().unwrap_or_default(),
            })
            .collect(),
    }))
}

/// Where a model's contract is declared: its properties file and the
/// byte range of its entry there, when found.
struct Site<'a> {
    model: &'a ModelFile,
    properties: Option<&'a SourceFile>,
    entry: Option<Range<usize>>,
}

impl<'a> Site<'a> {
    fn of(project: &'a Project, model: &'a ModelFile) -> Site<'a> {
        let properties = model
            .patch_path
            .as_ref()
            .and_then(|p| project.property_files.iter().find(|f| &f.path == p));
        let entry = properties.and_then(|pf| entry_range(&pf.text, &model.name));
        Site {
            model,
            properties,
            entry,
        }
    }

    /// `d` pointing at the model's entry (its name), else at the
    /// properties file, else at the model file.
    fn at_entry(&self, d: Diagnostic, label: &str) -> Diagnostic {
        let m = self.model;
        match (self.properties, &self.entry) {
            (Some(pf), Some(r)) => d.at(
                &pf.path,
                &pf.text,
                Some(Span::Bytes(name_span(&pf.text, r.start, &m.name))),
                label,
            ),
            (Some(pf), None) => d.at(&pf.path, &pf.text, None, label),
            (None, _) => d.at(&m.file.path, &m.file.text, None, label),
        }
    }
}

fn never_built(m: &ModelFile, config: &NodeConfig) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidValue,
        format!(
            "model `{}` enforces a contract, but it is materialized as `{}`",
            m.name,
            config.materialized.as_str()
        ),
    )
    .with_help(
        "contracts are checked when a table, view or incremental model is built: \
         materialize it as one of those, or set `contract: {enforced: false}` for it",
    )
}

fn undeclared(m: &ModelFile) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidValue,
        format!(
            "model `{}` enforces a contract, but no properties file declares its columns",
            m.name
        ),
    )
    .with_help(format!(
        "declare every column it returns, in order, each with a `data_type`, in a .yml file beside it:\n\
         models:\n  - name: {}\n    columns:\n      - name: id\n        data_type: bigint",
        m.name
    ))
}

fn no_columns(m: &ModelFile, pf: &SourceFile) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidValue,
        format!(
            "model `{}` enforces a contract, but declares no columns",
            m.name
        ),
    )
    .with_help(format!(
        "list every column it returns, in order, under `columns:` in {}, each with a `data_type`",
        crate::diagnostic::display_path(&pf.path)
    ))
}

/// Columns declared twice, and columns without a `data_type`, each
/// pointing at the column's line.
fn column_problems(
    m: &ModelFile,
    pf: &SourceFile,
    entry: Option<&Range<usize>>,
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for c in &m.columns {
        let at_column = |d: Diagnostic, label: &str| {
            let span = entry.and_then(|r| column_span(&pf.text, r, &c.name));
            d.at(&pf.path, &pf.text, span.map(Span::Bytes), label)
        };
        if seen.iter().any(|s| s.eq_ignore_ascii_case(&c.name)) {
            problems.push(at_column(
                Diagnostic::new(
                    Code::DuplicateName,
                    format!(
                        "column `{}` of `{}` is declared twice in its contract",
                        c.name, m.name
                    ),
                )
                .with_help("declare each column once"),
                "declared again here",
            ));
        }
        seen.push(&c.name);
        if c.data_type.as_deref().is_none_or(|t| t.trim().is_empty()) {
            problems.push(at_column(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "column `{}` of `{}` has no `data_type`, which its enforced contract needs",
                        c.name, m.name
                    ),
                )
                .with_help(
                    "add `data_type: <type>` (bigint, varchar, timestamp, ...); \
                     `lake query \"describe <the model's SQL>\"` shows what the query returns",
                ),
                "no data_type",
            ));
        }
    }
    problems
}

/// A seed cannot enforce a contract: its types come from `column_types`.
pub fn refuse_on_seed(name: &str, config: &NodeConfig, path: &Path) -> Option<Diagnostic> {
    config.contract.enforced.then(|| {
        Diagnostic::new(
            Code::InvalidValue,
            format!("seed `{name}` enforces a contract, which only models can"),
        )
        .at(
            path,
            "",
            None,
            "in this seed's properties or a folder config",
        )
        .with_help("fix a seed's column types with `column_types:` and remove `contract`")
    })
}

/// `name: <value>` on `line`, with the byte offset of the value.
fn name_value(line: &str) -> Option<(&str, usize)> {
    let content = line.trim_start();
    let dashed = content.strip_prefix("- ").unwrap_or(content).trim_start();
    let rest = dashed.strip_prefix("name:")?;
    let value = rest.trim().trim_matches(['"', '\'']);
    let at = line.len() - rest.len() + rest.find(value).unwrap_or(0);
    Some((value, at))
}

/// Indentation of the `name` key on `line` (a list dash counts as indent).
fn key_indent(line: &str) -> usize {
    let content = line.trim_start();
    let dashed = content.strip_prefix("- ").unwrap_or(content);
    let dashed = dashed.trim_start();
    line.len() - dashed.len()
}

/// The byte range of the properties entry `- name: <model>`: from its line
/// to the next line at its indentation or less. The shallowest `name:`
/// line wins, so a column that shares the model's name is never taken
/// for the entry.
fn entry_range(text: &str, model: &str) -> Option<Range<usize>> {
    let mut best: Option<(usize, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if name_value(line).is_some_and(|(v, _)| v == model) {
            let indent = key_indent(line);
            if best.is_none_or(|(_, i)| indent < i) {
                best = Some((offset, indent));
            }
        }
        offset += line.len();
    }
    let (start, indent) = best?;
    let item_indent = indent.saturating_sub(2);
    let mut end = text.len();
    let mut offset = start;
    for (n, line) in text[start..].split_inclusive('\n').enumerate() {
        let content = line.trim_start();
        let this = line.len() - content.len();
        if n > 0 && !content.is_empty() && !content.starts_with('#') && this <= item_indent {
            end = offset;
            break;
        }
        offset += line.len();
    }
    Some(start..end)
}

/// The span of the entry's own name value, starting at the line at `start`.
fn name_span(text: &str, start: usize, name: &str) -> Range<usize> {
    let line = text[start..].split_inclusive('\n').next().unwrap_or("");
    let at = start + name_value(line).map_or(0, |(_, at)| at);
    at..at + name.len()
}

/// The span of column `name`'s `name:` value inside `entry`.
fn column_span(text: &str, entry: &Range<usize>, name: &str) -> Option<Range<usize>> {
    let mut offset = entry.start;
    for (n, line) in text[entry.clone()].split_inclusive('\n').enumerate() {
        if n > 0 {
            if let Some((v, at)) = name_value(line) {
                if v == name {
                    return Some(offset + at..offset + at + name.len());
                }
            }
        }
        offset += line.len();
    }
    None
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
models:
  - name: a
    columns:
      - name: b
        data_type: bigint
  - name: b
    columns:
      - name: a
      - name: x
seeds:
  - name: s
";

    #[test]
    fn finds_the_entry_not_a_column_of_the_same_name() {
        let r = entry_range(YAML, "b").unwrap();
        assert!(YAML[r.clone()].starts_with("  - name: b\n"));
        assert!(YAML[r.clone()].ends_with("      - name: x\n"));
        let col = column_span(YAML, &r, "a").unwrap();
        assert_eq!(&YAML[col.clone()], "a");
        assert_eq!(line_of(YAML, col.start), 8);
        let r = entry_range(YAML, "a").unwrap();
        assert_eq!(line_of(YAML, name_span(YAML, r.start, "a").start), 2);
        assert!(column_span(YAML, &r, "x").is_none());
    }
}
