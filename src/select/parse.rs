//! dbt's node selection grammar, parsed into plain data:
//! `[@][N][+]method:value[+[N]]`, terms joined by `,` intersect, terms
//! separated by spaces (or repeated flags) unite. Quotes inside a value
//! group a name that holds spaces or operators: `'my model'+`.

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
///
/// A space separates terms, as in dbt, so a node whose name holds a space
/// (from `models/my model.sql`) is written in quotes inside the value:
/// `--select "'my model'+"`. Quotes (`'` or `"`) only group: spaces, `,`,
/// `+`, `@` and `:` inside them are part of the name, wildcards still work.
pub fn parse_selector(text: &str) -> Result<Selector, SelectorError> {
    let mask = mask_quotes(text)?;
    let mut terms = Vec::new();
    for range in non_blank_runs(&mask) {
        let (term, term_mask) = (&text[range.clone()], &mask[range]);
        let mut atoms = Vec::new();
        let mut start = 0;
        for part in term_mask.split(',') {
            let end = start + part.len();
            if part.is_empty() {
                return Err(SelectorError {
                    message: format!("empty selector in `{term}`"),
                    help: Some("join selectors with `,` for intersection (a,b) and a space for union (a b)".into()),
                });
            }
            atoms.push(parse_atom(&term[start..end], part)?);
            start = end + 1;
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

/// `text` with every character inside quotes replaced by `x` bytes (as many
/// as it has): separators and operators are found in the mask, and the
/// same byte ranges are cut from `text`.
fn mask_quotes(text: &str) -> Result<String, SelectorError> {
    let mut mask = String::with_capacity(text.len());
    let mut open = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => {
                open = None;
                mask.push(c);
            }
            Some(_) => mask.extend(std::iter::repeat_n('x', c.len_utf8())),
            None => {
                if c == '\'' || c == '"' {
                    open = Some(c);
                }
                mask.push(c);
            }
        }
    }
    match open {
        Some(q) => Err(SelectorError {
            message: format!("unclosed quote `{q}` in `{text}`"),
            help: Some(format!(
                "quotes group a name with spaces, e.g. `--select \"'my model'+\"`: close the `{q}`"
            )),
        }),
        None => Ok(mask),
    }
}

/// Byte ranges of the runs of non-whitespace in `mask`.
fn non_blank_runs(mask: &str) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, c) in mask.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push(s..mask.len());
    }
    runs
}

/// `text` without the quotes that group it (a quote inside the other kind
/// of quotes is kept).
fn unquote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => open = None,
            Some(_) => out.push(c),
            None if c == '\'' || c == '"' => open = Some(c),
            None => out.push(c),
        }
    }
    out
}

/// Parses one atom; `mask` is `raw` with quoted text masked, so operators
/// inside quotes are part of the name.
fn parse_atom(raw: &str, mask: &str) -> Result<Atom, SelectorError> {
    // `lo..hi` is what is left of `raw` (and `mask`) once operators are taken.
    let (mut lo, mut hi) = (0, raw.len());
    let at = mask.starts_with('@');
    if at {
        lo += 1;
    }
    let digits = mask[lo..].chars().take_while(char::is_ascii_digit).count();
    let mut parents = None;
    if mask[lo + digits..].starts_with('+') {
        let depth = if digits > 0 {
            Some(raw[lo..lo + digits].parse().map_err(|_| bad_depth(raw))?)
        } else {
            None
        };
        parents = Some(depth);
        lo += digits + 1;
    }
    // A bare number is a (strange) model name: it is left as the value.
    if at && parents.is_some() {
        return Err(SelectorError {
            message: format!("`{raw}` combines `@` with a leading `+`"),
            help: Some(
                "`@x` already includes the ancestors of x's descendants: use `@x` or `+x+`".into(),
            ),
        });
    }
    let mut children = None;
    if let Some(plus) = mask[lo..hi].rfind('+').map(|p| lo + p) {
        let tail = &raw[plus + 1..hi];
        if tail.chars().all(|c| c.is_ascii_digit()) && plus > lo {
            children = Some(if tail.is_empty() {
                None
            } else {
                Some(tail.parse().map_err(|_| bad_depth(raw))?)
            });
            hi = plus;
        }
    }
    if lo >= hi {
        return Err(SelectorError {
            message: format!("`{raw}` selects nothing: graph operators need a node"),
            help: Some("write e.g. `+events`, `events+`, `2+events` or `@events`".into()),
        });
    }
    let (rest, rest_mask) = (&raw[lo..hi], &mask[lo..hi]);
    if rest_mask.contains('+') || rest_mask.contains('@') {
        return Err(SelectorError {
            message: format!("`{raw}` has a misplaced `+` or `@`"),
            help: Some(
                "`+` goes before (ancestors) or after (descendants) a selector, `@` only in front"
                    .into(),
            ),
        });
    }
    let (method_name, value) = match rest_mask.find(':') {
        None => (None, unquote(rest)),
        Some(colon) => (Some(&rest[..colon]), unquote(&rest[colon + 1..])),
    };
    let value = value.as_str();
    let (method, value) = match method_name.map(|m| (m, value)) {
        None if value.is_empty() => {
            return Err(SelectorError {
                message: format!("`{raw}` names nothing between its quotes"),
                help: Some("write the node's name inside the quotes, e.g. `'my model'`".into()),
            })
        }
        None => (Method::Default, value),
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
        assert!(parse_selector("'my model").is_err());
        assert!(parse_selector("''+").is_err());
    }

    #[test]
    fn quotes_group_names_with_spaces_and_operators() {
        let s = parse_selector("'my model'+ \"a,b\",tag:'x y' 2+\"c+d\"").unwrap();
        let t = &s.terms;
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[0][0].value.as_str(), t[0][0].children),
            ("my model", Some(None))
        );
        assert_eq!(t[1][0].value, "a,b");
        assert_eq!(
            (&t[1][1].method, t[1][1].value.as_str()),
            (&Method::Tag, "x y")
        );
        assert_eq!(
            (t[2][0].value.as_str(), t[2][0].parents),
            ("c+d", Some(Some(2)))
        );
        assert_eq!(atom(r#""it's""#).value, "it's");
        assert_eq!(atom("@'a b'").value, "a b");
    }
}
