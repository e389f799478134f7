//! How a model whose Jinja reads the warehouse (dbt's `run_query`,
//! `{% call statement %}`, `load_result`) renders again just before it is
//! built, as dbt renders every model: the SQL it asks and the rows it gets
//! back are plain values, so [`crate::render`] (which asks) and
//! [`crate::warehouse`] (which answers) know nothing of each other, and
//! [`crate::execute`] carries them between the two.
//!
//! The render runs on a thread of its own while the caller's thread, which
//! owns the run's connection (DuckDB connections are not `Sync`), answers
//! its questions over a channel: the questions run inside the run's open
//! transaction, so they see the parents the run built before the model.

use std::fmt;
use std::sync::{mpsc, Arc};

/// One value of a query's result, typed as the render needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL (`none` in Jinja).
    Null,
    /// A BOOLEAN.
    Bool(bool),
    /// Any integer type that fits 64 bits.
    Int(i64),
    /// A wider integer (HUGEINT, a sum of BIGINTs), exact.
    BigInt(i128),
    /// Floating point and DECIMAL values.
    Float(f64),
    /// Text, and every type without a Jinja counterpart, as DuckDB prints it.
    Text(String),
    /// A DATE: days since 1970-01-01 (Python's `datetime.date` in Jinja).
    Date(i32),
    /// A TIMESTAMP: microseconds since 1970-01-01 00:00 (a `datetime`).
    Timestamp(i64),
    /// A LIST or ARRAY.
    List(Vec<Cell>),
}

/// A query's result: what dbt hands a template as an agate table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryTable {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

/// A question from a rendering model: run `sql`, send the result back.
pub struct Ask {
    /// The statement, as the template built it.
    pub sql: String,
    /// Where the result (or the warehouse's error text) goes.
    pub reply: mpsc::SyncSender<Result<QueryTable, String>>,
}

/// The rendering side's end of the channel.
pub type Port = mpsc::Sender<Ask>;

/// Renders one model again, asking its questions through the port; gives
/// the SQL to build or the error text (with file and line) to report.
type RenderFn = dyn Fn(Port) -> Result<String, String> + Send + Sync;

/// A model's render at run time, kept on its graph node.
#[derive(Clone)]
pub struct LiveRender(Arc<RenderFn>);

impl LiveRender {
    /// Wraps the render function `render` builds.
    pub fn new(render: impl Fn(Port) -> Result<String, String> + Send + Sync + 'static) -> Self {
        LiveRender(Arc::new(render))
    }

    /// The same render with `then` applied to the SQL it gives (ephemeral
    /// parents inlined as CTEs, as in the compiled SQL).
    pub fn map_sql(self, then: impl Fn(String) -> String + Send + Sync + 'static) -> Self {
        LiveRender::new(move |port| (self.0)(port).map(&then))
    }

    /// Renders, answering every question with `answer` on this thread.
    pub fn render_with(
        &self,
        mut answer: impl FnMut(&str) -> Result<QueryTable, String>,
    ) -> Result<String, String> {
        let (port, asks) = mpsc::channel::<Ask>();
        std::thread::scope(|scope| {
            let render = scope.spawn(move || (self.0)(port));
            // Ends when the render dropped its port, that is when it ended.
            for ask in asks {
                // The render may have stopped waiting (an error unwound it).
                let _ = ask.reply.send(answer(&ask.sql));
            }
            render
                .join()
                .unwrap_or_else(|_| Err("the model's render stopped unexpectedly".into()))
        })
    }
}

impl fmt::Debug for LiveRender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiveRender")
    }
}

/// Asks `sql` through `port` and waits for the answer.
pub fn ask(port: &Port, sql: &str) -> Result<QueryTable, String> {
    let (reply, answer) = mpsc::sync_channel(1);
    port.send(Ask {
        sql: sql.to_string(),
        reply,
    })
    .map_err(|_| "the run stopped answering queries".to_string())?;
    answer
        .recv()
        .map_err(|_| "the run stopped answering queries".to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_answered_on_the_calling_thread_in_order() {
        let live = LiveRender::new(|port| {
            let a = ask(&port, "select 1")?;
            let b = ask(&port, "select 2")?;
            Ok(format!("{} {}", a.columns[0], b.columns[0]))
        })
        .map_sql(|s| format!("[{s}]"));
        let caller = std::thread::current().id();
        let mut asked = Vec::new();
        let out = live.render_with(|sql| {
            assert_eq!(std::thread::current().id(), caller);
            asked.push(sql.to_string());
            Ok(QueryTable {
                columns: vec![sql.replace(' ', "_")],
                rows: Vec::new(),
            })
        });
        assert_eq!(out.as_deref(), Ok("[select_1 select_2]"));
        assert_eq!(asked, ["select 1", "select 2"]);
    }

    #[test]
    fn an_answer_that_is_an_error_reaches_the_render() {
        let live = LiveRender::new(|port| ask(&port, "boom").map(|_| String::new()));
        let out = live.render_with(|_| Err("Catalog Error: no table boom".into()));
        assert_eq!(out, Err("Catalog Error: no table boom".into()));
    }
}
