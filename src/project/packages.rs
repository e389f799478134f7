//! dbt packages (`packages.yml`, `dependencies.yml`): lake neither installs
//! nor loads them yet. A project that lists one is refused at the entry,
//! naming it, rather than failing later at the first `dbt_utils.` call
//! with a render error that does not say why (dbt itself refuses to run
//! until `dbt deps` installed them).

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};

/// The files dbt reads package dependencies from.
const PACKAGE_FILES: [&str; 2] = ["packages.yml", "dependencies.yml"];

/// One error per package file that lists packages, at its first entry.
pub fn refuse_packages(root: &Path, diags: &mut Diagnostics) {
    for name in PACKAGE_FILES {
        let Ok(text) = std::fs::read_to_string(root.join(name)) else {
            continue;
        };
        let listed = first_package(&text);
        let Some((line, package)) = listed else {
            continue;
        };
        diags.push(
            Diagnostic::new(
                Code::Unsupported,
                format!("lake does not load dbt packages yet ({name} lists {package})"),
            )
            .at(Path::new(name), &text, Some(Span::Line(line)), "a dbt package")
            .with_help("copy the macros the project uses into macros/, or build it with dbt until lake loads packages"),
        );
    }
}

/// The 1-based line and name of the first entry under `packages:` (with
/// how many more follow), if the list has one; an empty list, or none,
/// lists nothing. A file that is not plain YAML (dbt renders it with
/// Jinja) or whose `packages:` is not a list names the whole file.
fn first_package(text: &str) -> Option<(usize, String)> {
    let unreadable = || Some((1, "packages lake cannot read".to_string()));
    let Ok(parsed) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return unreadable();
    };
    let entries = match parsed.get("packages") {
        None | Some(serde_yaml::Value::Null) => return None,
        Some(serde_yaml::Value::Sequence(entries)) => entries,
        Some(_) => return unreadable(),
    };
    let first = entries.first()?;
    let mut name = ["package", "git", "local", "tarball", "private"]
        .iter()
        .find_map(|key| first.get(*key).and_then(|v| v.as_str()))
        .map_or_else(|| "a package".to_string(), |n| format!("`{n}`"));
    if entries.len() > 1 {
        name.push_str(&format!(" and {} more", entries.len() - 1));
    }
    let after = text.find("packages:").unwrap_or(0);
    let line = text[..after].lines().count()
        + text[after..]
            .lines()
            .position(|l| l.trim_start().starts_with('-'))
            .unwrap_or(0)
        + 1;
    Some((line, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_listed_package_is_named_at_its_line() {
        let text = "# deps\npackages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n  - git: https://x/y.git\n";
        assert_eq!(
            first_package(text),
            Some((3, "`dbt-labs/dbt_utils` and 1 more".into()))
        );
        assert_eq!(first_package("packages: []\n"), None);
        assert_eq!(first_package("packages:\n"), None);
        assert_eq!(first_package("# nothing yet\n"), None);
        let unreadable = Some((1, "packages lake cannot read".to_string()));
        assert_eq!(first_package("packages: {{ var('p') }}\n"), unreadable);
        assert_eq!(first_package("packages: not a list\n"), unreadable);
    }
}
