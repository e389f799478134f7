//! Which source objects to fetch this run: the listing read as hourly
//! partitions, what the lake already knows (loaded, landed, quarantined),
//! the holes to report, and the line rules each dimension must meet.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::check::{ColumnType, DeclaredColumn, LineContract};
use crate::landing::{
    classify_source_key, landed_name, nested_layout_prefix, source_key, Hour, SourceKey,
};
use crate::plan::load as ledger;
use crate::plan::quarantine::{self, QuarantineRow, SourceVersion};
use crate::project::properties::TestKind;
use crate::project::{Materialization, Project, TestedNode};
use crate::storage::{ObjectInfo, Store};
use crate::warehouse::Session;

/// One object to land.
pub struct Job {
    /// Its hour.
    pub hour: Hour,
    /// Its dimension.
    pub dim: String,
    /// The listed object.
    pub object: ObjectInfo,
    /// What its lines must carry.
    pub contract: Arc<LineContract>,
}

/// What the lake already knows about landed names.
pub struct Known {
    /// Loaded into raw.
    pub loaded: HashSet<String>,
    /// Quarantined: the source version stopped (None: unknown) and whether
    /// a person dropped it.
    pub quarantined: HashMap<String, (Option<SourceVersion>, bool)>,
    /// Size and version of the source object each landed file came from.
    pub origins: HashMap<String, (u64, String)>,
}

impl Known {
    pub fn read(session: &Session, database: &str) -> Result<Known, String> {
        for sql in crate::plan::ledger::ensure_tables(database) {
            session.execute_batch(&sql).map_err(|e| e.message)?;
        }
        let query = |sql: &str| session.query(sql).map(|r| r.rows).map_err(|e| e.message);
        let loaded = query(&ledger::loaded_files(database))?
            .into_iter()
            .filter_map(|r| r[1].clone())
            .collect();
        let quarantined = query(&quarantine::select_quarantine(database))?
            .iter()
            .filter_map(|r| QuarantineRow::from_row(r))
            .map(|q| (q.file, (q.source, q.dropped)))
            .collect();
        let origins = query(&quarantine::select_origins(database))?
            .into_iter()
            .filter_map(|r| {
                let size = r[1].as_deref()?.parse().ok()?;
                Some((r[0].clone()?, (size, r[2].clone()?)))
            })
            .collect();
        Ok(Known {
            loaded,
            quarantined,
            origins,
        })
    }
}

/// The partition files of a source listing, by hour and dimension.
#[derive(Default)]
pub struct Listing {
    pub available: BTreeMap<Hour, BTreeMap<String, ObjectInfo>>,
    /// Partition files of any hour and dimension (before `start`/`dims`).
    pub partitions: usize,
    /// Keys that look like partitions but name no real hour.
    pub malformed: Vec<String>,
    /// Where a nested partition layout starts, for the hint.
    pub nested: Option<String>,
    /// Keys of any kind.
    pub keys: usize,
    /// The newest hour of any partition (before `start`/`dims`).
    pub newest: Option<Hour>,
}

impl Listing {
    pub fn of(objects: Vec<ObjectInfo>, start: Hour, dims: &[String]) -> Listing {
        let mut listing = Listing {
            keys: objects.len(),
            ..Default::default()
        };
        for object in objects {
            match classify_source_key(&object.key) {
                SourceKey::Partition(hour, dim) => {
                    listing.partitions += 1;
                    listing.newest = listing.newest.max(Some(hour));
                    if hour < start || !dims.contains(&dim) {
                        continue;
                    }
                    // `month=05` beside `month=5`: one hour, two objects. The
                    // upstream's own spelling is used, the other reported.
                    let canonical = source_key(hour, &dim);
                    let hour_dims = listing.available.entry(hour).or_default();
                    let (used, skipped) = match hour_dims.remove(&dim) {
                        None => (object, None),
                        Some(first) if object.key == canonical => (object, Some(first)),
                        Some(first) => (first, Some(object)),
                    };
                    if let Some(skipped) = skipped {
                        listing.malformed.push(format!(
                            "{}: names the same hour and dimension as {}, which is used",
                            skipped.key, used.key
                        ));
                    }
                    hour_dims.insert(dim, used);
                }
                SourceKey::Malformed(why) => listing.malformed.push(why),
                SourceKey::Other => {
                    if listing.nested.is_none() {
                        listing.nested = nested_layout_prefix(&object.key).map(str::to_string);
                    }
                }
            }
        }
        listing
    }

    /// The error for a source with no partition layout at all.
    pub fn no_partitions(&self, source: &str, location: &str) -> String {
        let layout = "year=YYYY/month=M/day=DD/hour=HH/<dim>.jsonl.zip";
        let found = match &self.nested {
            Some(prefix) => format!(
                "; it holds them one level down, under `{prefix}/`: set `source: {}/{prefix}`",
                location.trim_end_matches('/')
            ),
            None if self.keys == 0 => "; it is empty".to_string(),
            None => format!("; it holds {} other files", self.keys),
        };
        format!("extract source {source} holds no hourly partitions ({layout}){found}")
    }
}

/// What each dimension's lines must carry: the declared columns of the
/// `load` model that reads that landing folder.
pub fn line_contracts(project: &Project) -> HashMap<String, Arc<LineContract>> {
    let not_null: HashSet<(&str, &str)> = project
        .generic_tests
        .iter()
        .filter(|t| TestKind::from_name(&t.kind) == Some(TestKind::NotNull))
        .filter_map(|t| match (&t.attached_to, &t.column) {
            (TestedNode::Node(model), Some(column)) => Some((model.as_str(), column.as_str())),
            _ => None,
        })
        .collect();
    project
        .models
        .iter()
        .filter(|m| m.config.materialized == Materialization::Load)
        .map(|m| {
            let columns = m
                .columns
                .iter()
                .filter_map(|c| {
                    let required = not_null.contains(&(m.name.as_str(), c.name.as_str()));
                    if c.data_type.is_none() && !required {
                        return None;
                    }
                    let data_type = c.data_type.clone().unwrap_or_default();
                    Some(DeclaredColumn {
                        ty: ColumnType::parse(&data_type),
                        not_null: required,
                        name: c.name.clone(),
                        data_type,
                    })
                })
                .collect();
            let folder = m.config.landing.clone().unwrap_or_else(|| m.name.clone());
            let contract = LineContract {
                model: m.name.clone(),
                columns,
            };
            (folder, Arc::new(contract))
        })
        .collect()
}

/// What to fetch this run.
pub struct JobPlan {
    pub jobs: Vec<Job>,
    pub hours: BTreeSet<Hour>,
    /// Hours left for later runs by `max-hours`.
    pub deferred: usize,
    /// Quarantined objects that have not changed since.
    pub held: usize,
    /// Objects that changed after they were loaded: not loaded again.
    pub changed_after_load: Vec<String>,
}

/// Picks the objects to fetch, oldest hours first, at most `max_hours`
/// hours: those neither loaded nor landed, and quarantined ones whose
/// source object changed since.
pub fn plan_jobs(
    listing: &Listing,
    known: &Known,
    landed_now: &HashSet<String>,
    contracts: &HashMap<String, Arc<LineContract>>,
    max_hours: usize,
) -> JobPlan {
    let mut plan = JobPlan {
        jobs: Vec::new(),
        hours: BTreeSet::new(),
        deferred: 0,
        held: 0,
        changed_after_load: Vec::new(),
    };
    let mut deferred = BTreeSet::new();
    for (hour, have) in &listing.available {
        for (dim, object) in have {
            let name = landed_name(*hour, dim);
            if known.loaded.contains(&name) {
                let changed = known.origins.get(&name).is_some_and(|(size, version)| {
                    *size != object.size || *version != object.version
                });
                if changed {
                    plan.changed_after_load.push(object.key.clone());
                }
                continue;
            }
            match known.quarantined.get(&name) {
                Some((Some(stopped), dropped))
                    if stopped.size == object.size && stopped.version == object.version =>
                {
                    plan.held += usize::from(!dropped);
                    continue;
                }
                Some(_) => {} // the source object changed: try it again
                None if landed_now.contains(&name) => continue,
                None => {}
            }
            if plan.hours.len() == max_hours && !plan.hours.contains(hour) {
                deferred.insert(*hour);
                continue;
            }
            plan.hours.insert(*hour);
            plan.jobs.push(Job {
                hour: *hour,
                dim: dim.clone(),
                object: ObjectInfo {
                    key: object.key.clone(),
                    size: object.size,
                    version: object.version.clone(),
                },
                contract: contracts.get(dim).cloned().unwrap_or_default(),
            });
        }
    }
    plan.deferred = deferred.len();
    plan
}

/// Holes between `start` and the newest hour the source has: objects that
/// are not there and were never landed.
pub fn missing_objects(
    listing: &Listing,
    known: &Known,
    landed_now: &HashSet<String>,
    start: Hour,
    dims: &[String],
    source: &Store,
) -> Result<Vec<String>, String> {
    let mut missing = Vec::new();
    let Some(&last) = listing.available.keys().next_back() else {
        return Ok(missing);
    };
    let mut hour = start;
    while hour <= last {
        for dim in dims {
            let name = landed_name(hour, dim);
            let have = listing
                .available
                .get(&hour)
                .is_some_and(|s| s.contains_key(dim));
            let seen = known.loaded.contains(&name)
                || known.quarantined.contains_key(&name)
                || landed_now.contains(&name);
            if !have && !seen {
                missing.push(source.url(&source_key(hour, dim)));
            }
        }
        hour = hour
            .checked_add(jiff::SignedDuration::from_hours(1))
            .map_err(|e| e.to_string())?;
    }
    Ok(missing)
}
