//! dbt's `execute`, `run_query`, `{% call statement %}` and `load_result`.
//!
//! lake renders every model before it runs any, to find the graph; that
//! render is dbt's parse: `execute` is false, and a query gives nothing
//! (`run_query` and `load_result` give `none`, a `statement` block runs
//! nothing). A model whose render read `execute` or asked a query is
//! marked, and renders again just before it is built, with `execute` true
//! and its queries answered by the run's connection
//! ([`crate::query_port`]), so it sees what the run built before it, as in
//! dbt. Hooks, tests and `lake query` render once, with `execute` true;
//! a query there is refused (L013).
//!
//! What a render is doing lives in thread-locals: one render runs on one
//! thread from start to end.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Rest, Value};
use minijinja::{Environment, Error, State};

use super::agate;
use super::functions::Capture;
use crate::diagnostic::Code;
use crate::project::jinja::lake_error;
use crate::query_port::{self, Port};

/// What the render on this thread is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A hook, a test, `lake query`: `execute` is true, queries refused.
    Plain,
    /// A model's first render: `execute` is false, queries give nothing.
    Discover,
    /// A model's render at run time: queries run.
    Live,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Plain) };
    /// Whether the model's first render read `execute` or asked a query.
    static TOUCHED: Cell<bool> = const { Cell::new(false) };
    /// Where a live render's queries go.
    static PORT: RefCell<Option<Port>> = const { RefCell::new(None) };
    /// What a live render's model called in its first render: a query may
    /// not run after a `ref()` the graph does not know.
    static FIRST: RefCell<Option<Capture>> = const { RefCell::new(None) };
    /// A live render's `statement` results, by name, for `load_result`.
    static RESULTS: RefCell<HashMap<String, Value>> = RefCell::new(HashMap::new());
}

/// Adds `execute`, `run_query`, `statement` and `load_result`.
pub fn register(env: &mut Environment<'static>) {
    env.add_global("execute", Value::from_object(Execute));
    env.add_function("run_query", run_query);
    env.add_function("statement", statement);
    env.add_function("load_result", load_result);
}

/// Runs a model's first render; also says whether it read `execute` or
/// asked a query, that is whether it must render again at run time.
pub fn discovering<R>(render: impl FnOnce() -> R) -> (R, bool) {
    MODE.set(Mode::Discover);
    TOUCHED.set(false);
    let out = render();
    MODE.set(Mode::Plain);
    (out, TOUCHED.replace(false))
}

/// Runs a model's render at run time, its queries asked through `port`;
/// `first` is what its first render called.
pub fn answering<R>(port: Port, first: Capture, render: impl FnOnce() -> R) -> R {
    MODE.set(Mode::Live);
    PORT.set(Some(port));
    FIRST.set(Some(first));
    RESULTS.with_borrow_mut(HashMap::clear);
    let out = render();
    MODE.set(Mode::Plain);
    // Dropping the port tells the run that the render asks nothing more.
    PORT.set(None);
    FIRST.set(None);
    RESULTS.with_borrow_mut(HashMap::clear);
    out
}

/// The mode of this thread's render; a first render's reading of it is
/// recorded.
fn mode() -> Mode {
    let mode = MODE.get();
    if mode == Mode::Discover {
        TOUCHED.set(true);
    }
    mode
}

/// dbt's `execute`: false while lake finds the graph, true otherwise.
#[derive(Debug)]
struct Execute;

impl Object for Execute {
    fn is_true(self: &Arc<Self>) -> bool {
        mode() != Mode::Discover
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_true() { "True" } else { "False" })
    }
}

/// `run_query(sql)`: the rows as an agate table.
fn run_query(state: &State, sql: String) -> Result<Value, Error> {
    match mode() {
        Mode::Discover => Ok(Value::from(())),
        Mode::Live => Ok(agate::table(ask(state, &sql)?)),
        Mode::Plain => Err(not_here("run_query")),
    }
}

/// `{% call statement(name, fetch_result=False) %} SQL {% endcall %}`: runs
/// the block's SQL and keeps the result under `name` for `load_result`.
fn statement(state: &mut State, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let name = match args.first() {
        Some(n) => Some(n.clone()),
        None => kwargs.get::<Option<Value>>("name")?,
    };
    let fetch = match args.get(1) {
        Some(f) => f.is_true(),
        None => kwargs.get::<Option<bool>>("fetch_result")?.unwrap_or(false),
    };
    for ignored in ["auto_begin", "language"] {
        let _ = kwargs.get::<Option<Value>>(ignored)?;
    }
    let caller = kwargs.get::<Option<Value>>("caller")?;
    kwargs.assert_all_used()?;
    let Some(caller) = caller else {
        return Err(lake_error(
            Code::RenderError,
            "statement() is a block: `{% call statement('name', fetch_result=True) %} select ... {% endcall %}`".into(),
            None,
        ));
    };
    match mode() {
        // The block is not rendered, as in dbt's parse: a `ref()` only in
        // it is unknown to the graph, which the run-time render reports.
        Mode::Discover => {}
        Mode::Live => {
            let sql = caller.call(state, &[])?.to_string();
            let mut table = ask(state, &sql)?;
            if !fetch {
                table.rows.clear();
            }
            if let Some(name) = name {
                RESULTS.with_borrow_mut(|r| r.insert(name.to_string(), agate::result(table)));
            }
        }
        Mode::Plain => return Err(not_here("statement")),
    }
    Ok(Value::from(""))
}

/// `load_result(name)`: what the `statement` block of that name returned
/// (`data`, `table`, `response`), or `none`.
fn load_result(name: String) -> Result<Value, Error> {
    match mode() {
        Mode::Discover => Ok(Value::from(())),
        Mode::Live => Ok(RESULTS
            .with_borrow(|r| r.get(&name).cloned())
            .unwrap_or_else(|| Value::from(()))),
        Mode::Plain => Err(not_here("load_result")),
    }
}

/// Runs `sql` on the run's connection, unless the render called a
/// `ref()` the graph does not know (the relation may not be built yet).
fn ask(state: &State, sql: &str) -> Result<query_port::QueryTable, Error> {
    let unseen = FIRST.with_borrow(|first| {
        let now = state.get_extension::<Capture>()?;
        unseen_dependency(first.as_ref()?, now)
    });
    if let Some(call) = unseen {
        return Err(lake_error(
            Code::UnknownRef,
            unseen_message(&call),
            Some(depends_on_help(&call)),
        ));
    }
    let port = PORT.with_borrow(Clone::clone);
    let Some(port) = port else {
        return Err(not_here("run_query"));
    };
    query_port::ask(&port, sql).map_err(|e| {
        lake_error(
            Code::Warehouse,
            format!("the query this template ran failed: {e}"),
            None,
        )
    })
}

/// A `ref()` or `source()` the run-time render called that the first
/// render did not: the graph does not order the model after it.
pub fn unseen_dependency(first: &Capture, live: &Capture) -> Option<String> {
    let new_ref = live.refs.iter().find(|r| !first.refs.contains(r));
    if let Some(r) = new_ref {
        return Some(format!("ref('{r}')"));
    }
    let new_source = live.sources.iter().find(|s| !first.sources.contains(s));
    new_source.map(|(s, t)| format!("source('{s}', '{t}')"))
}

/// What an unseen `call` (`ref('a')`) is, as dbt says it.
pub fn unseen_message(call: &str) -> String {
    format!("`{call}` is called only when the model renders to run, so lake did not know it as a parent when it ordered the graph")
}

/// The fix dbt asks for too.
pub fn depends_on_help(call: &str) -> String {
    format!("name it where it is always rendered, as dbt asks too: add `-- depends_on: {{{{ {call} }}}}` at the top of the model")
}

fn not_here(name: &str) -> Error {
    lake_error(
        Code::Unsupported,
        format!("lake does not support `{name}` outside a model yet (in a test, a hook or `lake query`)"),
        Some("compute the values in SQL instead (a join or a pivot), or with `var()`".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query_port::{LiveRender, QueryTable};

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        register(&mut env);
        env
    }

    #[test]
    fn the_first_render_is_dbts_parse_and_says_whether_to_render_again() {
        let env = env();
        let first = |t: &str| discovering(|| env.render_str(t, ()).expect("renders"));
        assert_eq!(first("select 1"), ("select 1".into(), false));
        assert_eq!(first("{% if execute %}x{% endif %}y"), ("y".into(), true));
        assert_eq!(
            first("{{ run_query('select 1') is none }}"),
            ("True".into(), true)
        );
        assert_eq!(
            first(
                "{% call statement('s') %}{{ undefined_here }}{% endcall %}{{ load_result('s') }}"
            ),
            ("None".into(), true)
        );
        // Outside a model, `execute` is true and a query is refused.
        assert_eq!(
            env.render_str("{{ execute }}", ()).expect("renders"),
            "True"
        );
        let refused = env
            .render_str("{{ run_query('select 1') }}", ())
            .unwrap_err();
        assert!(refused.to_string().contains("outside a model"), "{refused}");
    }

    #[test]
    fn a_render_at_run_time_asks_its_queries_and_keeps_statement_results() {
        let live = LiveRender::new(|port| {
            let env = env();
            answering(port, Capture::default(), || {
                env.render_str(
                    "{% call statement('s', fetch_result=True) %}select {{ 40 + 2 }}{% endcall %}{{ execute }} {{ load_result('s')['data'][0][0] }} {{ run_query('q').column_names[0] }}",
                    (),
                )
            })
            .map_err(|e| e.to_string())
        });
        let mut asked = Vec::new();
        let out = live.render_with(|sql| {
            asked.push(sql.to_string());
            Ok(QueryTable {
                columns: vec![format!("c_{}", sql.len())],
                rows: vec![vec![crate::query_port::Cell::Text(sql.into())]],
            })
        });
        assert_eq!(out.as_deref(), Ok("True select 42 c_1"));
        assert_eq!(asked, ["select 42", "q"]);
    }
}
