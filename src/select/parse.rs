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
    /// `state:changed`: the nodes a run would not reuse (see `state`).
    State,
}

/// Methods a selector may name, for "did you mean".
pub const METHODS: &[&str] = &[
    "tag",
    "path",
    "config",
    "source",
    "resource_type",
    "fqn",
    "state",
];

/// One selector atom with its graph operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// The atom as written, for messages.
    pub raw: String,
    /// `@x`: x, its descendants, and the ancestors of all of those (x's
    /// own included): dbt's `select_childrens_parents`.
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

/// The graph operators taken off one atom, and where its operand is.
struct Operators {
    /// `@` in front.
    at: bool,
    /// `+` or `N+` in front.
    parents: Option<Option<usize>>,
    /// `+` or `+N` behind.
    children: Option<Option<usize>>,
    /// Byte range of what is left: `method:value` or a bare value.
    operand: std::ops::Range<usize>,
}

/// Resource types `resource_type:` takes.
const RESOURCE_TYPES: [&str; 4] = ["model", "seed", "source", "test"];

/// Parses one atom; `mask` is `raw` with quoted text masked, so operators
/// inside quotes are part of the name.
fn parse_atom(raw: &str, mask: &str) -> Result<Atom, SelectorError> {
    let ops = take_operators(raw, mask)?;
    let (rest, rest_mask) = (&raw[ops.operand.clone()], &mask[ops.operand.clone()]);
    if let Some(err) = stray_operator(raw, &ops, rest_mask) {
        return Err(err);
    }
    let (method, value) = parse_method_and_value(raw, rest, rest_mask)?;
    check_wildcards(raw, &value)?;
    Ok(Atom {
        raw: raw.to_string(),
        at: ops.at,
        parents: ops.parents,
        children: ops.children,
        method,
        value,
    })
}

/// Takes `@`, `N+` in front and `+N` behind off an atom (as found in
/// `mask`, so quoted text is never an operator).
fn take_operators(raw: &str, mask: &str) -> Result<Operators, SelectorError> {
    let at = mask.starts_with('@');
    let mut lo = usize::from(at);
    let (parents, taken) = leading_plus(raw, mask, lo)?;
    lo += taken;
    if at && parents.is_some() {
        return Err(SelectorError {
            message: format!("`{raw}` combines `@` with a leading `+`"),
            help: Some(
                "`@x` already includes the ancestors of x's descendants: use `@x` or `+x+`".into(),
            ),
        });
    }
    let (children, hi) = trailing_plus(raw, mask, lo)?;
    if lo >= hi {
        return Err(SelectorError {
            message: format!("`{raw}` selects nothing: graph operators need a node"),
            help: Some("write e.g. `+events`, `events+`, `2+events` or `@events`".into()),
        });
    }
    Ok(Operators {
        at,
        parents,
        children,
        operand: lo..hi,
    })
}

/// `+` or `N+` at byte `lo`: the depth it asks for and how many bytes it
/// takes. A bare number is a (strange) model name and is left as the value.
fn leading_plus(
    raw: &str,
    mask: &str,
    lo: usize,
) -> Result<(Option<Option<usize>>, usize), SelectorError> {
    let digits = mask[lo..].chars().take_while(char::is_ascii_digit).count();
    if !mask[lo + digits..].starts_with('+') {
        return Ok((None, 0));
    }
    let depth = match digits {
        0 => None,
        _ => Some(parse_depth(raw, &raw[lo..lo + digits])?),
    };
    Ok((Some(depth), digits + 1))
}

/// `+` or `+N` ending the atom after byte `lo`: the depth it asks for and
/// where the operand ends.
fn trailing_plus(
    raw: &str,
    mask: &str,
    lo: usize,
) -> Result<(Option<Option<usize>>, usize), SelectorError> {
    let Some(plus) = mask[lo..].rfind('+').map(|p| lo + p) else {
        return Ok((None, raw.len()));
    };
    let tail = &raw[plus + 1..];
    if plus == lo || !tail.chars().all(|c| c.is_ascii_digit()) {
        return Ok((None, raw.len()));
    }
    let depth = match tail {
        "" => None,
        _ => Some(parse_depth(raw, tail)?),
    };
    Ok((Some(depth), plus))
}

/// An `@` or `+` left in the operand once the operators are taken is a
/// typo (`@@x`, `+@x`, `++x`, `x++`, `a+b`): which one, and what to write.
fn stray_operator(raw: &str, ops: &Operators, operand_mask: &str) -> Option<SelectorError> {
    let (lo, hi) = (ops.operand.start, ops.operand.end);
    let operand = &raw[lo..hi];
    // `raw` with the repeated operator dropped: `@@x` -> `@x`, `x++` -> `x+`.
    let fixed = |trimmed: &str| format!("{}{trimmed}{}", &raw[..lo], &raw[hi..]);
    let (message, help) = if operand_mask.starts_with('@') && ops.at {
        let once = fixed(operand.trim_start_matches('@'));
        ("repeats `@`", format!("write `@` once, in front: `{once}`"))
    } else if operand_mask.starts_with('@') {
        (
            "puts `@` after `+`",
            format!(
                "`@` goes first and already includes the ancestors: write `@{}`",
                &raw[lo + 1..]
            ),
        )
    } else if operand_mask.contains('@') {
        (
            "has an `@` that is not in front",
            "`@` goes only in front (`@x`); quote a name that holds `@`: `'a@b'`".into(),
        )
    } else if operand_mask.starts_with('+') {
        let once = fixed(operand.trim_start_matches('+'));
        (
            "repeats `+` in front",
            format!("write one `+` for all ancestors or `N+` for N levels: `{once}`"),
        )
    } else if operand_mask.ends_with('+') {
        let once = fixed(operand.trim_end_matches('+'));
        (
            "repeats `+` behind",
            format!("write one `+` for all descendants or `+N` for N levels: `{once}`"),
        )
    } else if operand_mask.contains('+') {
        (
            "has `+` inside the name",
            "`+` goes before (ancestors) or after (descendants) a selector: quote a name that holds `+` (`'a+b'`), or put a space between two selectors (`a+ b`)".into(),
        )
    } else {
        return None;
    };
    Some(SelectorError {
        message: format!("`{raw}` {message}"),
        help: Some(help),
    })
}

/// Splits `method:value` (no colon: a bare value, [`Method::Default`]) and
/// checks both.
fn parse_method_and_value(
    raw: &str,
    rest: &str,
    rest_mask: &str,
) -> Result<(Method, String), SelectorError> {
    let Some(colon) = rest_mask.find(':') else {
        let value = unquote(rest);
        if value.is_empty() {
            return Err(SelectorError {
                message: format!("`{raw}` names nothing between its quotes"),
                help: Some("write the node's name inside the quotes, e.g. `'my model'`".into()),
            });
        }
        return Ok((Method::Default, value));
    };
    let name = &rest[..colon];
    let method = method_named(raw, name)?;
    let value = unquote(&rest[colon + 1..]);
    if value.is_empty() {
        return Err(SelectorError {
            message: format!("`{raw}` has no value after `{name}:`"),
            help: Some(format!("write e.g. `{name}:something`")),
        });
    }
    if method == Method::State && value != "changed" {
        return Err(SelectorError {
            message: format!("unknown state `{value}` in `{raw}`"),
            help: Some(
                "lake knows `state:changed`: the nodes a run would build rather than reuse".into(),
            ),
        });
    }
    if method == Method::ResourceType && !RESOURCE_TYPES.contains(&value.as_str()) {
        let help = match did_you_mean(&value, RESOURCE_TYPES) {
            Some(s) => format!("did you mean `resource_type:{s}`?"),
            None => format!("resource types are: {}", RESOURCE_TYPES.join(", ")),
        };
        return Err(SelectorError {
            message: format!("unknown resource type `{value}`"),
            help: Some(help),
        });
    }
    Ok((method, value))
}

/// The method a `name:` prefix names, or an error suggesting the nearest.
fn method_named(raw: &str, name: &str) -> Result<Method, SelectorError> {
    match name {
        "tag" => Ok(Method::Tag),
        "path" | "file" => Ok(Method::Path),
        "source" => Ok(Method::Source),
        "resource_type" => Ok(Method::ResourceType),
        "fqn" => Ok(Method::Fqn),
        "state" => Ok(Method::State),
        _ => match name.strip_prefix("config.") {
            Some(key) if !key.is_empty() => Ok(Method::Config(key.to_string())),
            _ => {
                let help = match did_you_mean(name, METHODS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}:`?"),
                    None => format!(
                        "selector methods are: {}",
                        METHODS.join(", ").replace("config", "config.<key>")
                    ),
                };
                Err(SelectorError {
                    message: format!("unknown selector method `{name}` in `{raw}`"),
                    help: Some(help),
                })
            }
        },
    }
}

/// Rejects a value whose wildcards do not compile (`[abc`).
fn check_wildcards(raw: &str, value: &str) -> Result<(), SelectorError> {
    match globset::Glob::new(value) {
        Ok(_) => Ok(()),
        Err(e) => Err(SelectorError {
            message: format!("bad wildcard in `{raw}`: {}", e.kind()),
            help: Some(
                "`*` matches any run of characters, `?` one character, `[abc]` one of a set".into(),
            ),
        }),
    }
}

/// A depth (`2` of `2+x`) as a number, or an error when it does not fit.
fn parse_depth(raw: &str, digits: &str) -> Result<usize, SelectorError> {
    digits.parse().map_err(|_| SelectorError {
        message: format!("depth in `{raw}` is too large"),
        help: Some("write a smaller depth, or `+` alone for every level".into()),
    })
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
        let e = parse_selector("@@x").unwrap_err();
        assert_eq!(e.message, "`@@x` repeats `@`");
        assert_eq!(e.help.unwrap(), "write `@` once, in front: `@x`");
        let e = parse_selector("x++").unwrap_err();
        assert_eq!(
            e.help.unwrap(),
            "write one `+` for all descendants or `+N` for N levels: `x+`"
        );
        assert!(parse_selector("a+b").is_err());
        assert!(parse_selector("99999999999999999999999+x").is_err());
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
