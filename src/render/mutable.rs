//! Python's mutable list and dict, for the dbt idiom of building a list in a
//! loop: `{% set cols = [] %}{% for c in ... %}{% do cols.append(c) %}`
//! (and `{% do d.update({...}) %}`). minijinja's literals cannot change, so
//! the literal on the right of a `{% set name = [...] %}` or `{% set name =
//! {...} %}` is wrapped in `__lake_mutable(...)` before the template is
//! parsed ([`wrap_literals`]); the wrapper gives an object that iterates,
//! indexes, prints and serializes like the literal and also has Python's
//! in-place methods. A list from anywhere else (`split()`, `| list`) stays
//! read-only, and calling `append` on it is an error that says what to do.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{from_args, Enumerator, Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

/// The function the rewritten literals call.
macro_rules! wrapper {
    () => {
        "__lake_mutable"
    };
}
const WRAPPER: &str = wrapper!();

/// Adds the wrapper function, and Python's string/list/dict methods with an
/// error naming the fix when a read-only list or dict is changed in place.
pub fn register(env: &mut Environment<'static>) {
    env.add_function(WRAPPER, mutable);
    env.set_unknown_method_callback(unknown_method);
}

/// `text` with the right-hand side of every `{% set name = [...] %}` /
/// `{% set name = {...} %}` wrapped in the mutable-container function.
/// Lines do not move (an error's column is mapped back by
/// [`original_offset`]); borrowed when nothing was wrapped.
pub fn wrap_literals(text: &str) -> Cow<'_, str> {
    let ranges = wrapped_ranges(text);
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + ranges.len() * OPENING.len() + ranges.len());
    let mut done = 0;
    for (start, end) in ranges {
        out.push_str(&text[done..start]);
        out.push_str(OPENING);
        out.push_str(&text[start..end]);
        out.push(')');
        done = end;
    }
    out.push_str(&text[done..]);
    Cow::Owned(out)
}

/// What [`wrap_literals`] puts before a literal.
const OPENING: &str = concat!(wrapper!(), "(");

/// Where byte `at` of `wrap_literals(text)` is in `text`, so an error's
/// span points at what the author wrote.
pub fn original_offset(text: &str, at: usize) -> usize {
    let mut shift = 0;
    for (start, end) in wrapped_ranges(text) {
        if at < start + shift {
            break;
        }
        if at < start + shift + OPENING.len() {
            return start;
        }
        shift += OPENING.len();
        if at <= end + shift {
            return (at - shift).min(end);
        }
        shift += 1;
    }
    at.saturating_sub(shift)
}

/// The byte ranges of `text` that [`wrap_literals`] wraps: set literals in
/// `{% %}` tags, not in `{% raw %}` blocks, comments or string literals.
fn wrapped_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut at = 0;
    while let Some(open) = text[at..].find('{').map(|i| at + i) {
        let rest = &text[open..];
        at = if rest.starts_with("{#") {
            rest.find("#}").map_or(text.len(), |i| open + i + 2)
        } else if rest.starts_with("{{") || rest.starts_with("{%") {
            let body = open + 2;
            let end = tag_end(text, body).unwrap_or(text.len());
            if rest.starts_with("{%") {
                if is_tag(&text[body..], "raw") {
                    at = raw_end(text, end);
                    continue;
                }
                if let Some(start) = set_literal_start(text, body) {
                    if let Some(stop) = expression_end(text, start) {
                        ranges.push((start, stop));
                    }
                }
            }
            end
        } else {
            open + 1
        };
    }
    ranges
}

/// Whether the tag body `body` (after `{%`) is the tag `name`.
fn is_tag(body: &str, name: &str) -> bool {
    body.trim_start_matches(['-', '+'])
        .trim_start()
        .strip_prefix(name)
        .is_some_and(|r| {
            r.starts_with(|c: char| c.is_whitespace() || c == '-' || c == '+' || c == '%')
        })
}

/// Where the `{% raw %}` block whose opening tag ends at `from` ends.
fn raw_end(text: &str, from: usize) -> usize {
    let mut at = from;
    while let Some(open) = text[at..].find("{%").map(|i| at + i) {
        let end = tag_end(text, open + 2).unwrap_or(text.len());
        if is_tag(&text[open + 2..], "endraw") {
            return end;
        }
        at = end;
    }
    text.len()
}

/// Whether a scan of template text is inside a string literal.
#[derive(Default)]
struct Strings {
    quote: Option<char>,
    escaped: bool,
}

impl Strings {
    /// Whether `c`, the next character, belongs to a string literal (its
    /// quotes included).
    fn takes(&mut self, c: char) -> bool {
        match self.quote {
            Some(_) if self.escaped => self.escaped = false,
            Some(_) if c == '\\' => self.escaped = true,
            Some(q) if c == q => self.quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => self.quote = Some(c),
            None => return false,
        }
        true
    }
}

/// Where the tag whose body starts at `from` ends (after its `%}` or
/// `}}`), skipping string literals.
fn tag_end(text: &str, from: usize) -> Option<usize> {
    let mut strings = Strings::default();
    for (i, c) in text[from..].char_indices() {
        if strings.takes(c) {
            continue;
        }
        match c {
            '%' | '}' if text[from + i + 1..].starts_with('}') => return Some(from + i + 2),
            _ => {}
        }
    }
    None
}

/// Where the right-hand side starts when the tag opened just before `at`
/// is a `set` whose value starts with a list or dict literal.
fn set_literal_start(text: &str, at: usize) -> Option<usize> {
    let tag = text[at..].trim_start_matches(['-', '+']).trim_start();
    let after_set = tag.strip_prefix("set")?;
    if !after_set.starts_with(char::is_whitespace) {
        return None;
    }
    let targets = after_set.find(|c: char| {
        !(c.is_alphanumeric() || matches!(c, '_' | ',' | ' ' | '\t' | '(' | ')'))
    })?;
    let rest = after_set[targets..].strip_prefix('=')?;
    if rest.starts_with('=') {
        return None;
    }
    let value = rest.trim_start();
    value
        .starts_with(['[', '{'])
        .then(|| text.len() - value.len())
}

/// The end (exclusive) of the `set` expression starting at `start`: the
/// tag's close (`%}`, `-%}` or `+%}`) or a comma, outside strings and
/// brackets, less the spaces before it; `None` when the tag does not close.
fn expression_end(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut strings = Strings::default();
    for (i, c) in text[start..].char_indices() {
        if strings.takes(c) {
            continue;
        }
        let rest = &text[start + i..];
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth = depth.checked_sub(1)?,
            // `set a, b = [], 0` assigns a tuple: its first item is wrapped.
            ',' if depth == 0 => return Some(start + text[start..start + i].trim_end().len()),
            '%' | '-' | '+' if depth == 0 && close_tag(rest) => {
                return Some(start + text[start..start + i].trim_end().len());
            }
            _ => {}
        }
    }
    None
}

/// Whether `rest` starts with a tag's close.
fn close_tag(rest: &str) -> bool {
    rest.trim_start_matches(['-', '+']).starts_with("%}")
}

/// `__lake_mutable(value)`: a changeable copy of a list or dict, and of
/// the plain lists and dicts inside it (`{'a': []}`); any other value as
/// it is.
fn mutable(value: Value) -> Result<Value, Error> {
    Ok(match value.kind() {
        ValueKind::Seq | ValueKind::Iterable if !is_ours(&value) => {
            let items = value.try_iter()?.map(adopt).collect();
            Value::from_object(List(Mutex::new(items)))
        }
        ValueKind::Map if !is_ours(&value) => {
            let pairs = pairs_of(&value)?.into_iter();
            let pairs = pairs.map(|(k, v)| (k, adopt(v))).collect();
            Value::from_object(Dict(Mutex::new(pairs)))
        }
        _ => value,
    })
}

/// The key-value pairs of a map, in its order.
fn pairs_of(map: &Value) -> Result<Vec<(Value, Value)>, Error> {
    let mut pairs = Vec::new();
    for key in map.try_iter()? {
        let item = map.get_item(&key)?;
        pairs.push((key, item));
    }
    Ok(pairs)
}

/// Whether `value` is already a changeable list or dict.
fn is_ours(value: &Value) -> bool {
    value.downcast_object_ref::<List>().is_some() || value.downcast_object_ref::<Dict>().is_some()
}

/// A value stored into a changeable list or dict: a plain list (a literal
/// like the `[]` of `{% do groups.update({k: []}) %}`) becomes changeable
/// too. A plain list cannot change, so the copy is not observable.
fn adopt(value: Value) -> Value {
    if value.downcast_object_ref::<Vec<Value>>().is_some() {
        if let Ok(items) = value.try_iter() {
            return Value::from_object(List(Mutex::new(items.map(adopt).collect())));
        }
    }
    value
}

/// Python's string, list and dict methods (minijinja-contrib's pycompat);
/// where a method would change a read-only list or dict, an error that
/// says how to make one that can change.
fn unknown_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args).map_err(|e| {
        let copy = match value.kind() {
            ValueKind::Seq | ValueKind::Iterable if LIST_CHANGES.contains(&method) => {
                "{% set name = [] %}{% do name.extend(value) %}"
            }
            ValueKind::Map if DICT_CHANGES.contains(&method) => {
                "{% set name = {} %}{% do name.update(value) %}"
            }
            _ => return e,
        };
        if e.kind() != ErrorKind::UnknownMethod {
            return e;
        }
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "`{method}()` changes a {} in place, and lake can change only one made \
                 by `{{% set name = [...] %}}` or `{{% set name = {{...}} %}}` (or stored \
                 in one): make a copy first (`{copy}`), then change the copy",
                value.kind()
            ),
        )
    })
}

/// The methods of Python's list that change it in place.
const LIST_CHANGES: &[&str] = &[
    "append", "extend", "insert", "pop", "remove", "clear", "reverse", "sort",
];

/// The methods of Python's dict that change it in place.
const DICT_CHANGES: &[&str] = &["update", "pop", "popitem", "setdefault", "clear"];

/// A Python list: a sequence whose in-place methods change it for every
/// holder, as `{% do cols.append(c) %}` inside a loop expects.
#[derive(Debug)]
struct List(Mutex<Vec<Value>>);

impl List {
    fn items(&self) -> MutexGuard<'_, Vec<Value>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Object for List {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = usize::try_from(key.as_i64()?).ok()?;
        self.items().get(i).cloned()
    }

    /// Iterates live, as Python does: items appended inside a `for` over
    /// the list are visited too.
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let list = self.clone();
        let mut next = 0;
        Enumerator::Iter(Box::new(std::iter::from_fn(move || {
            let item = list.items().get(next).cloned();
            next += 1;
            item
        })))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items().len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let mut items = self.items();
        match method {
            "append" => {
                let (v,): (Value,) = from_args(args)?;
                items.push(adopt(v));
            }
            "extend" => {
                let (more,): (Value,) = from_args(args)?;
                items.extend(more.try_iter()?.map(adopt));
            }
            "insert" => {
                let (at, v): (i64, Value) = from_args(args)?;
                let at = python_index(at, items.len()).unwrap_or(0).min(items.len());
                items.insert(at, adopt(v));
            }
            "pop" => {
                let (at,): (Option<i64>,) = from_args(args)?;
                let len = items.len();
                match python_index(at.unwrap_or(-1), len).filter(|&at| at < len) {
                    Some(at) => return Ok(items.remove(at)),
                    None => return Err(invalid("pop index out of range (or from an empty list)")),
                }
            }
            "remove" => {
                let (v,): (Value,) = from_args(args)?;
                let Some(at) = items.iter().position(|x| *x == v) else {
                    return Err(invalid(&format!(
                        "list.remove({v}): {v} is not in the list"
                    )));
                };
                items.remove(at);
            }
            "index" => {
                let (v,): (Value,) = from_args(args)?;
                let at = items.iter().position(|x| *x == v);
                return at
                    .map(Value::from)
                    .ok_or_else(|| invalid(&format!("list.index({v}): {v} is not in the list")));
            }
            "clear" => items.clear(),
            "reverse" => items.reverse(),
            "sort" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                items.sort();
                if kwargs.get::<Option<bool>>("reverse")?.unwrap_or(false) {
                    items.reverse();
                }
                kwargs.assert_all_used()?;
            }
            "copy" => return Ok(Value::from_object(List(Mutex::new(items.clone())))),
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }
}

/// Python's index for a list of `len` items: negative counts from the
/// end; `None` before the start.
fn python_index(at: i64, len: usize) -> Option<usize> {
    match usize::try_from(at) {
        Ok(at) => Some(at),
        Err(_) => len.checked_sub(usize::try_from(at.unsigned_abs()).ok()?),
    }
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.to_string())
}

/// A Python dict in insertion order, with `update`, `pop`, `setdefault`
/// and `clear`; `get`, `items`, `keys` and `values` come from pycompat.
/// Template dicts are small: a vector's linear search serves them.
#[derive(Debug)]
struct Dict(Mutex<Vec<(Value, Value)>>);

impl Dict {
    fn pairs(&self) -> MutexGuard<'_, Vec<(Value, Value)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(pairs: &mut Vec<(Value, Value)>, key: Value, value: Value) {
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => pairs.push((key, value)),
        }
    }

    /// `d.update(other)` (a dict, or a list of key-value pairs),
    /// `d.update(key=value)` or both.
    fn update(&self, args: &[Value]) -> Result<Value, Error> {
        let (other, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
        let mut new = Vec::new();
        match other {
            Some(other) if other.kind() == ValueKind::Map => new = pairs_of(&other)?,
            Some(other) => {
                for pair in other.try_iter()? {
                    let (Ok(k), Ok(v)) = (pair.get_item_by_index(0), pair.get_item_by_index(1))
                    else {
                        return Err(invalid(&format!(
                            "dict.update({pair}): not a key-value pair"
                        )));
                    };
                    new.push((k, v));
                }
            }
            None => {}
        }
        for key in kwargs.args() {
            new.push((Value::from(key), kwargs.get::<Value>(key)?));
        }
        let mut pairs = self.pairs();
        for (k, v) in new {
            Dict::set(&mut pairs, k, adopt(v));
        }
        Ok(Value::from(()))
    }
}

impl Object for Dict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let pairs = self.pairs();
        pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys: Vec<Value> = self.pairs().iter().map(|(k, _)| k.clone()).collect();
        Enumerator::Iter(Box::new(keys.into_iter()))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.pairs().len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "update" => self.update(args),
            "pop" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                let mut pairs = self.pairs();
                match pairs.iter().position(|(k, _)| *k == key) {
                    Some(at) => Ok(pairs.remove(at).1),
                    None => {
                        default.ok_or_else(|| invalid(&format!("dict.pop({key}): no such key")))
                    }
                }
            }
            "setdefault" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                let mut pairs = self.pairs();
                if let Some((_, v)) = pairs.iter().find(|(k, _)| *k == key) {
                    return Ok(v.clone());
                }
                let v = adopt(default.unwrap_or(Value::from(())));
                pairs.push((key, v.clone()));
                Ok(v)
            }
            "clear" => {
                self.pairs().clear();
                Ok(Value::from(()))
            }
            "copy" => Ok(Value::from_object(Dict(Mutex::new(self.pairs().clone())))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        register(&mut env);
        env
    }

    fn render(template: &str) -> String {
        env()
            .render_str(&wrap_literals(template), ())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn set_literals_are_wrapped_and_nothing_else_moves() {
        assert_eq!(
            wrap_literals("a\n{%- set cols = ['x]', \"{\"] -%}\n{% set n = 1 %}{{ [1] }}"),
            "a\n{%- set cols = __lake_mutable(['x]', \"{\"]) -%}\n{% set n = 1 %}{{ [1] }}"
        );
        assert_eq!(
            wrap_literals("{% set l = [] + other  %}{%set m={}+%}"),
            "{% set l = __lake_mutable([] + other)  %}{%set m=__lake_mutable({})+%}"
        );
        assert_eq!(
            wrap_literals("{% set l, n = [], 0 %}"),
            "{% set l, n = __lake_mutable([]), 0 %}"
        );
        assert_eq!(
            wrap_literals("{% set a, b = {'k': [1, 2]} %}"),
            "{% set a, b = __lake_mutable({'k': [1, 2]}) %}"
        );
        for same in [
            "{% set x = y == [] %}",
            "{% set x %}[]{% endset %}",
            "{% set x = [ %}",
        ] {
            assert!(matches!(wrap_literals(same), Cow::Borrowed(_)), "{same}");
        }
    }

    #[test]
    fn a_list_built_in_a_loop_keeps_what_was_appended() {
        let t = "{% set cols = [] %}{% for c in ['a', 'b', 'c'] %}{% do cols.append(c ~ '_x') %}\
                 {% endfor %}{{ cols | join(', ') }}|{{ cols | length }}|{{ cols[-1] }}|{{ cols }}";
        assert_eq!(render(t), "a_x, b_x, c_x|3|c_x|['a_x', 'b_x', 'c_x']");
    }

    #[test]
    fn list_methods_behave_as_in_python() {
        let t = "{% set l = [3, 1] %}{% do l.extend([2, 5]) %}{% do l.insert(0, 9) %}\
                 {% set last = l.pop() %}{% do l.remove(1) %}{% do l.sort() %}\
                 {{ l }} {{ last }} {{ l.index(3) }} {{ l.count(2) }} {{ 9 in l }} \
                 {{ l + [7] }} {{ l | tojson }} {{ l == [2, 3, 9] }} {% if l %}full{% endif %}";
        assert_eq!(
            render(t),
            "[2, 3, 9] 5 1 1 True [2, 3, 9, 7] [2, 3, 9] True full"
        );
    }

    #[test]
    fn a_dict_updates_pops_and_iterates_in_insertion_order() {
        let t = "{% set d = {'b': 1} %}{% do d.update({'a': 2}) %}{% do d.update(c=3) %}\
                 {% do d.update({'b': 4}) %}{% set gone = d.pop('a') %}\
                 {{ d.setdefault('z', 0) }} {{ gone }} {{ d.pop('q', 'none') }} \
                 {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d['c'] }} \
                 {{ d.get('b') }} {{ d | length }} {{ d | tojson }}";
        assert_eq!(
            render(t),
            "0 2 none b=4;c=3;z=0; 3 4 3 {\"b\": 4, \"c\": 3, \"z\": 0}"
        );
    }

    #[test]
    fn raw_blocks_comments_and_strings_are_left_alone() {
        for same in [
            "{% raw %}{% set x = [] %}{% endraw %}",
            "{# {% set x = [] %} #}",
            "{% set s = \"{% set y = [] %}\" %}",
            "{{ '{% set y = [] %}' }}",
        ] {
            assert!(matches!(wrap_literals(same), Cow::Borrowed(_)), "{same}");
        }
        assert_eq!(
            wrap_literals("{% raw %}{% set x = [] %}{% endraw %}{% set y = {} %}"),
            "{% raw %}{% set x = [] %}{% endraw %}{% set y = __lake_mutable({}) %}"
        );
    }

    #[test]
    fn offsets_map_back_to_what_the_author_wrote() {
        let text = "{% set x = [1] %}\nselect {{ bad() }}";
        let wrapped = wrap_literals(text);
        let bad = wrapped.find("bad").unwrap();
        assert_eq!(original_offset(text, bad), text.find("bad").unwrap());
        let one = wrapped.find('1').unwrap();
        assert_eq!(original_offset(text, one), text.find('1').unwrap());
        assert_eq!(
            original_offset(text, wrapped.find("__lake").unwrap()),
            text.find('[').unwrap()
        );
        assert_eq!(original_offset(text, 3), 3);
    }

    #[test]
    fn nested_and_stored_lists_change_too() {
        let t = "{% set groups = {} %}{% for r in [('a', 1), ('b', 2), ('a', 3)] %}\
                 {% if r[0] not in groups %}{% do groups.update({r[0]: []}) %}{% endif %}\
                 {% do groups[r[0]].append(r[1]) %}{% endfor %}{{ groups }} \
                 {% set d = {'a': []} %}{% do d['a'].append(1) %}{% do d.setdefault('b', []).append(2) %}{{ d }} \
                 {% set g = [1] %}{% for v in g %}{% if v < 4 %}{% do g.append(v + 1) %}{% endif %}{% endfor %}{{ g }} \
                 {% set x = ['a', 'c', 'b'] %}{% do x.sort(reverse=true) %}{{ x }} \
                 {% set p = {} %}{% do p.update([('c', 3)]) %}{{ p }}";
        assert_eq!(
            render(t),
            "{'a': [1, 3], 'b': [2]} {'a': [1], 'b': [2]} [1, 2, 3, 4] ['c', 'b', 'a'] {'c': 3}"
        );
    }

    #[test]
    fn changing_a_read_only_list_says_how_to_make_one_that_changes() {
        let out = render("{% set parts = 'a.b'.split('.') %}{% do parts.append('c') %}");
        assert!(
            out.contains("`append()` changes a sequence in place"),
            "{out}"
        );
        assert!(
            out.contains("{% set name = [] %}{% do name.extend(value) %}"),
            "{out}"
        );
        let t = "{% set p = 'a.b'.split('.') %}{% set l = [] + p %}{% do l.append('c') %}{{ l }}";
        assert_eq!(render(t), "['a', 'b', 'c']");
        let out = render("{% set l = [] %}{% do l.pop() %}");
        assert!(out.contains("pop index out of range"), "{out}");
    }
}
