//! What the web app knows: the compiled project (dashboards, graph, SQL) and
//! the newest copy of the lake's tables, refreshed in the background when the
//! lake's snapshot changes. Requests never open the lake themselves.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::graph::Dag;
use crate::nodes::{NodeKind, Relation};
use crate::project::dashboards::Dashboard;
use crate::project::Target;
use crate::warehouse::replica::{Replica, Taken};
use crate::warehouse::OpenError;

/// Distinct values of a filter column, per (snapshot, model, column).
type OptionCache = HashMap<(i64, String, String), Arc<Vec<String>>>;

/// How often the background refresher asks the lake for a new snapshot.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// The web app's state, shared by every request.
pub struct Site {
    /// Project name, shown in the header.
    pub project: String,
    /// Where the lake is.
    pub target: Target,
    /// Dashboards from the project files.
    pub dashboards: Vec<Dashboard>,
    /// The compiled graph: model pages and lineage.
    pub dag: Dag,
    /// Project root, to read model files as written.
    pub root: PathBuf,
    /// Where run_results.json is.
    pub target_dir: PathBuf,
    replica: RwLock<Option<Arc<Replica>>>,
    status: Mutex<Option<String>>,
    options: Mutex<OptionCache>,
}

impl Site {
    /// The app over a loaded project and its graph; no copy of the lake yet.
    pub fn new(p: crate::project::Project, dag: crate::graph::Dag) -> Site {
        Site {
            project: p.name,
            target: p.target,
            dashboards: p.dashboards,
            dag,
            root: p.root,
            target_dir: p.target_dir,
            replica: RwLock::new(None),
            status: Mutex::new(None),
            options: Mutex::new(HashMap::new()),
        }
    }

    /// The model or seed called `name`.
    pub fn node(&self, name: &str) -> Option<&crate::nodes::Node> {
        self.dag
            .nodes
            .iter()
            .find(|n| n.name == name && matches!(n.kind, NodeKind::Model | NodeKind::Seed))
    }

    /// The tables the dashboards read, copied at each new snapshot.
    fn dashboard_tables(&self) -> Vec<Relation> {
        let mut out: Vec<Relation> = Vec::new();
        for chart in self
            .dashboards
            .iter()
            .flat_map(|d| d.tabs.iter().flat_map(|t| t.charts.iter()))
        {
            if let Some(r) = self.node(&chart.model).and_then(|n| n.relation.clone()) {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// The newest copy, if one was taken.
    pub fn replica(&self) -> Option<Arc<Replica>> {
        self.replica
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Why the pages may be behind the lake (a run is writing), if they are.
    pub fn status(&self) -> Option<String> {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_status(&self, status: Option<String>) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    /// Takes a new copy if the lake moved on; keeps the old one while a run
    /// holds an embedded lake, saying so on every page.
    pub fn refresh(&self) {
        let known = self.replica().map(|r| r.snapshot);
        match Replica::take(&self.target, &self.dashboard_tables(), known) {
            Ok(Taken::Unchanged) => self.set_status(None),
            Ok(Taken::New(r)) => {
                tracing::info!(snapshot = r.snapshot, "serve: copied the lake's tables");
                *self.replica.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::from(r));
                self.set_status(None);
            }
            Err(OpenError::CatalogBusy(_)) => self.set_status(Some(
                "A run is writing the lake: these pages show the snapshot before it.".into(),
            )),
            Err(OpenError::Failed(e)) => {
                tracing::warn!(error = %e.message, "serve: cannot read the lake");
                self.set_status(Some(format!("Cannot read the lake: {}", e.message)));
            }
        }
    }

    /// Distinct values of `column` in the copy of `model` (cached per snapshot).
    pub fn options(&self, replica: &Replica, model: &str, column: &str) -> Arc<Vec<String>> {
        let key = (replica.snapshot, model.to_string(), column.to_string());
        if let Some(v) = self.lock_options().get(&key) {
            return v.clone();
        }
        let values: Vec<String> = self
            .source_of(replica, model)
            .and_then(|s| {
                let q = super::sql::options_query(&s, column);
                replica.query(&q.sql, &q.params).ok()
            })
            .map(|rows| {
                rows.rows
                    .into_iter()
                    .filter_map(|r| r.into_iter().next().flatten())
            })
            .map(|values| values.collect())
            .unwrap_or_default();
        let values = Arc::new(values);
        self.lock_options().insert(key, values.clone());
        values
    }

    fn lock_options(&self) -> std::sync::MutexGuard<'_, OptionCache> {
        self.options.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The copied table of `model`, if the lake had it.
    pub fn source_of<'r>(
        &self,
        replica: &'r Replica,
        model: &str,
    ) -> Option<super::sql::Source<'r>> {
        let r = self.node(model)?.relation.as_ref()?;
        let columns = replica
            .columns
            .get(&format!("{}.{}", r.schema, r.identifier))?;
        Some(super::sql::Source {
            table: format!(
                "{}.{}",
                crate::nodes::quote(&r.schema),
                crate::nodes::quote(&r.identifier)
            ),
            columns,
        })
    }
}
