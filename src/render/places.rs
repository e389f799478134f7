//! Where every node lives in the lake, and the one [`Resolver`] that makes
//! `ref()` and `source()` point there. A model's place comes from its
//! folder and YAML config, then from its own `{{ config() }}` calls: only
//! rendering the model tells where it finally is, and models, tests, hooks
//! and `lake query` must all agree on it.

use minijinja::value::Value;

use super::ephemeral;
use super::functions::{Capture, Resolver};
use super::relation::JinjaRelation;
use crate::nodes::Relation;
use crate::project::{
    Conventions, Materialization, ModelFile, NodeConfig, Project, SeedFile, SourceTable, TestConfig,
};

/// Every model's relation and config, indexed like `project.models`.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Where each model is built.
    pub relations: Vec<Relation>,
    /// Each model's config, its `config()` calls applied once known.
    pub configs: Vec<NodeConfig>,
}

impl Placement {
    /// The places the folder and YAML config give, before any model renders.
    pub fn from_config(project: &Project) -> Placement {
        Placement {
            relations: project
                .models
                .iter()
                .map(|m| model_relation(project, m, &m.config))
                .collect(),
            configs: project.models.iter().map(|m| m.config.clone()).collect(),
        }
    }

    /// Applies the `config()` calls model `i` made, and says whether the
    /// model moved (relation or materialization changed), so the models
    /// that ref it must render again.
    pub fn apply(&mut self, project: &Project, i: usize, capture: &Capture) -> bool {
        let model = &project.models[i];
        let config = &mut self.configs[i];
        for (k, v) in &capture.config {
            // Validated inside config() already.
            let _ = config.apply(k, v);
        }
        self.relations[i] = model_relation(project, model, config);
        self.relations[i] != model_relation(project, model, &model.config)
            || config.materialized != model.config.materialized
    }

    /// What `ref()` and `source()` resolve to with the models here.
    pub fn resolver(&self, project: &Project) -> Resolver {
        let mut r = Resolver {
            vars: project.vars.clone(),
            ..Resolver::default()
        };
        for ((m, rel), cfg) in project
            .models
            .iter()
            .zip(&self.relations)
            .zip(&self.configs)
        {
            let cte = (cfg.materialized == Materialization::Ephemeral)
                .then(|| ephemeral::cte_name(&m.name));
            r.nodes
                .insert(m.name.clone(), jinja_relation(rel.clone(), cte, None));
        }
        for s in &project.seeds {
            r.nodes.insert(
                s.name.clone(),
                jinja_relation(seed_relation(project, s), None, None),
            );
        }
        for s in &project.sources {
            r.sources.insert(
                (s.source_name.clone(), s.name.clone()),
                jinja_relation(
                    source_relation(project, s),
                    None,
                    s.external_location.clone(),
                ),
            );
        }
        r
    }
}

fn jinja_relation(relation: Relation, cte: Option<String>, external: Option<String>) -> Value {
    Value::from_object(JinjaRelation {
        relation,
        cte,
        external,
    })
}

/// `this` in a model's templates.
pub fn this(relation: &Relation) -> Value {
    jinja_relation(relation.clone(), None, None)
}

fn model_relation(project: &Project, m: &ModelFile, config: &NodeConfig) -> Relation {
    let schema = match project.conventions {
        Conventions::Lake => config
            .schema
            .clone()
            .or_else(|| m.folders.first().cloned())
            .unwrap_or_else(|| project.target.schema.clone()),
        Conventions::Dbt => dbt_schema(project, config.schema.as_deref()),
    };
    Relation {
        database: project.target.database.clone(),
        schema,
        identifier: config.alias.clone().unwrap_or_else(|| m.name.clone()),
    }
}

/// Where a seed is loaded.
pub fn seed_relation(project: &Project, s: &SeedFile) -> Relation {
    let custom = s.config.schema.as_deref();
    let schema = match project.conventions {
        Conventions::Lake => custom.map_or_else(|| project.target.schema.clone(), str::to_string),
        Conventions::Dbt => dbt_schema(project, custom),
    };
    Relation {
        database: project.target.database.clone(),
        schema,
        identifier: s.config.alias.clone().unwrap_or_else(|| s.name.clone()),
    }
}

/// Where a test with `config` keeps its failing rows, named `identifier`
/// unless its `alias` says otherwise: in a dbt project the custom schema
/// `dbt_test__audit` (or the test's `schema`), as dbt's
/// `generate_schema_name` places it; in a lake project the schema `audit`
/// (or the test's `schema`), as lake places a custom schema.
pub fn failures_relation(project: &Project, identifier: &str, config: &TestConfig) -> Relation {
    let custom = config.schema.as_deref();
    let schema = match project.conventions {
        Conventions::Lake => custom.unwrap_or("audit").to_string(),
        Conventions::Dbt => dbt_schema(project, Some(custom.unwrap_or("dbt_test__audit"))),
    };
    Relation {
        database: project.target.database.clone(),
        schema,
        identifier: config
            .alias
            .clone()
            .unwrap_or_else(|| identifier.to_string()),
    }
}

/// dbt's default `generate_schema_name`: the target's schema, or
/// `<target schema>_<custom>` for a `schema` config.
fn dbt_schema(project: &Project, custom: Option<&str>) -> String {
    let target = &project.target.schema;
    match custom.map(str::trim) {
        Some(custom) => format!("{target}_{custom}"),
        None => target.clone(),
    }
}

/// Where a declared source table is read.
pub fn source_relation(project: &Project, s: &SourceTable) -> Relation {
    Relation {
        database: s
            .database
            .clone()
            .unwrap_or_else(|| project.target.database.clone()),
        schema: s.schema.clone(),
        identifier: s.identifier.clone(),
    }
}

/// The unique ids a render's `ref()` and `source()` calls point at, sorted.
pub fn dependencies(project: &Project, cap: &Capture) -> Vec<String> {
    let mut deps: Vec<String> = cap
        .refs
        .iter()
        .map(|n| node_id(project, n))
        .chain(
            cap.sources
                .iter()
                .map(|(s, t)| format!("source.{}.{s}.{t}", project.name)),
        )
        .collect();
    deps.sort();
    deps.dedup();
    deps
}

/// Unique id of the model or seed that `ref(name)` points at.
pub fn node_id(project: &Project, name: &str) -> String {
    let kind = if project.seeds.iter().any(|s| s.name == name) {
        "seed"
    } else {
        "model"
    };
    format!("{kind}.{}.{name}", project.name)
}
