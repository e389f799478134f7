//! The value `ref()`, `source()` and `this` return in Jinja: renders as the
//! qualified name and exposes `.database`, `.schema`, `.identifier` like a
//! dbt Relation, so macros written for dbt keep working.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr, Value};

use crate::nodes::Relation;

/// A relation as seen from a template.
#[derive(Debug, Clone)]
pub struct JinjaRelation {
    /// The physical relation.
    pub relation: Relation,
    /// Set for ephemeral models: the CTE name to render instead.
    pub cte: Option<String>,
    /// Set for external sources: SQL that reads the data in place.
    pub external: Option<String>,
}

impl Object for JinjaRelation {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let r = &self.relation;
        Some(match key.as_str()? {
            "database" => Value::from(r.database.clone()),
            "schema" => Value::from(r.schema.clone()),
            "identifier" | "name" | "table" => Value::from(r.identifier.clone()),
            "is_cte" => Value::from(self.cte.is_some()),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.cte, &self.external) {
            (Some(cte), _) => f.write_str(cte),
            (None, Some(sql)) => f.write_str(sql),
            (None, None) => write!(f, "{}", self.relation),
        }
    }
}
