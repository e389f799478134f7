//! dbt's node selection grammar, parsed into plain data:
//! `[@][N][+]method:value[+[N]]`, terms joined by `,` intersect, terms
//! separated by spaces (or repeated flags) unite.

use crate::diagnostic::did_you_mean;

/// A selector that did not parse, with what to write instead.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectorError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// How to match a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// Bare value: model name, folder/layer (fqn) or path, with wildcards.
    Default,
    /// `tag:x`
    Tag,
    /// `path:models/stage`
    Path,
    /// `config.materialized:incremental`
    Config(String),
    /// `source:landing` or `source:landing.events`
    Source,
    /// `resource_type:model`
    ResourceType,
    /// `fqn:stage.events`
    Fqn,
}

/// Methods a selector may name, for "did you mean".
pub const METHODS: &[&str] = &["tag", "path", "config", "source", "resource_type", "fqn"];

/// One selector atom with its graph operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// The atom as written, for messages.
    pub raw: String,
    /// `@x`: x, its descendants, and the ancestors of those.
    pub at: bool,
    /// `+x` (Some(None)) or `2+x` (Some(Some(2))).
    pub parents: Option<Option<usize>>,
    /// `x+` (Some(None)) or `x+1` (Some(Some(1))).
    pub children: Option<Option<usize>>,
    /// Matching method.
    pub method: Method,
    /// Value to match (may hold `*`, `?`, `[..]` wildcards).
    pub value: String,
}

/// A parsed selector: a union of intersections of atoms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Each inner list is intersected; the outer list is united.
    pub terms: Vec<Vec<Atom>>,
}

/// Parses one `--select`/`--exclude` value (which may hold several terms).
pub fn parse_selector(text: &str) -> Result<Selector, SelectorError> {
    let mut terms = Vec::new();
    for term in text.split_whitespace() {
        let mut atoms = Vec::new();
        for raw in term.split(',') {
            if raw.is_empty() {
                return Err(SelectorError {
                    message: format!("empty selector in `{term}`"),
                    help: Some("join selectors with `,` for intersection (a,b) and a space for union (a b)".into()),
                });
            }
            atoms.push(parse_atom(raw)?);
        }
        terms.push(atoms);
    }
    if terms.is_empty() {
        return Err(SelectorError {
            message: "empty selector".into(),
            help: Some("give a model name, folder, tag:x, path:..., with optional + operators, e.g. `mart+`".into()),
        });
    }
    Ok(Selector { terms })
}

fn parse_atom(raw: &str) -> Result<Atom, SelectorError> {
    let mut rest = raw;
    let at = rest.starts_with('@');
    if at {
        rest = &rest[1..];
    }
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let mut parents = None;
    if rest[digits..].starts_with('+') {
        let depth = if digits > 0 {
            Some(rest[..digits].parse().map_err(|_| bad_depth(raw))?)
        } else {
            None
        };
        parents = Some(depth);
        rest = &rest[digits + 1..];
    } else if digits > 0 && rest[digits..].is_empty() {
        // A bare number is a (strange) model name: leave it.
    }
    if at && parents.is_some() {
        return Err(SelectorError {
            message: format!("`{raw}` combines `@` with a leading `+`"),
            help: Some(
                "`@x` already includes the ancestors of x's descendants: use `@x` or `+x+`".into(),
            ),
        });
    }
    let mut children = None;
    if let Some(plus) = rest.rfind('+') {
        let tail = &rest[plus + 1..];
        if tail.chars().all(|c| c.is_ascii_digit()) && plus > 0 {
            children = Some(if tail.is_empty() {
                None
            } else {
                Some(tail.parse().map_err(|_| bad_depth(raw))?)
            });
            rest = &rest[..plus];
        }
    }
    if rest.is_empty() {
        return Err(SelectorError {
            message: format!("`{raw}` selects nothing: graph operators need a node"),
            help: Some("write e.g. `+events`, `events+`, `2+events` or `@events`".into()),
        });
    }
    if rest.contains('+') || rest.contains('@') {
        return Err(SelectorError {
            message: format!("`{raw}` has a misplaced `+` or `@`"),
            help: Some(
                "`+` goes before (ancestors) or after (descendants) a selector, `@` only in front"
                    .into(),
            ),
        });
    }
    let (method, value) = match rest.split_once(':') {
        None => (Method::Default, rest),
        Some((m, v)) => {
            let method = match m {
                "tag" => Method::Tag,
                "path" | "file" => Method::Path,
                "source" => Method::Source,
                "resource_type" => Method::ResourceType,
                "fqn" => Method::Fqn,
                _ if m.starts_with("config.") && m.len() > 7 => Method::Config(m[7..].to_string()),
                _ => {
                    let help = match did_you_mean(m, METHODS.iter().copied()) {
                        Some(s) => format!("did you mean `{s}:`?"),
                        None => format!(
                            "selector methods are: {}",
                            METHODS.join(", ").replace("config", "config.<key>")
                        ),
                    };
                    return Err(SelectorError {
                        message: format!("unknown selector method `{m}` in `{raw}`"),
                        help: Some(help),
                    });
                }
            };
            if v.is_empty() {
                return Err(SelectorError {
                    message: format!("`{raw}` has no value after `{m}:`"),
                    help: Some(format!("write e.g. `{m}:something`")),
                });
            }
            if method == Method::ResourceType && !["model", "seed", "source", "test"].contains(&v) {
                let help = match did_you_mean(v, ["model", "seed", "source", "test"]) {
                    Some(s) => format!("did you mean `resource_type:{s}`?"),
                    None => "resource types are: model, seed, source, test".into(),
                };
                return Err(SelectorError {
                    message: format!("unknown resource type `{v}`"),
                    help: Some(help),
                });
            }
            (method, v)
        }
    };
    if let Err(e) = globset::Glob::new(value) {
        return Err(SelectorError {
            message: format!("bad wildcard in `{raw}`: {}", e.kind()),
            help: Some(
                "`*` matches any run of characters, `?` one character, `[abc]` one of a set".into(),
            ),
        });
    }
    Ok(Atom {
        raw: raw.to_string(),
        at,
        parents,
        children,
        method,
        value: value.to_string(),
    })
}

fn bad_depth(raw: &str) -> SelectorError {
    SelectorError {
        message: format!("depth in `{raw}` is too large"),
        help: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(s: &str) -> Atom {
        parse_selector(s).unwrap().terms.remove(0).remove(0)
    }

    #[test]
    fn parses_graph_operators() {
        let a = atom("2+events+1");
        assert_eq!(
            (a.parents, a.children, a.value.as_str()),
            (Some(Some(2)), Some(Some(1)), "events")
        );
        let a = atom("+mart");
        assert_eq!((a.parents, a.children), (Some(None), None));
        let a = atom("@stg_*");
        assert!(a.at);
        assert_eq!(a.value, "stg_*");
        let a = atom("config.materialized:incremental+");
        assert_eq!(a.method, Method::Config("materialized".into()));
        assert_eq!(a.children, Some(None));
    }

    #[test]
    fn union_and_intersection() {
        let s = parse_selector("tag:daily,stage mart+").unwrap();
        assert_eq!(s.terms.len(), 2);
        assert_eq!(s.terms[0].len(), 2);
    }

    #[test]
    fn rejects_bad_selectors() {
        assert!(parse_selector("@+x").is_err());
        assert!(parse_selector("tga:x")
            .unwrap_err()
            .help
            .unwrap()
            .contains("`tag:`"));
        assert!(parse_selector("a,,b").is_err());
        assert!(parse_selector("+").is_err());
        assert!(parse_selector("resource_type:modle").is_err());
    }
}
