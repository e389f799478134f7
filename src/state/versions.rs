//! Which snapshot last changed each relation of the lake, read from
//! DuckLake's own record of every snapshot's changes (`snapshots()`): a
//! relation's "version". A build records the versions it read; the next
//! run compares them with these to know, without reading a single row,
//! whether anything a node reads has changed since.

use std::collections::{BTreeMap, HashMap};

use crate::history::read::{catalog_names, changes, Changes};
use crate::warehouse::{Session, WarehouseError};

/// The version of a relation no kept snapshot changed: it has been as it
/// is since before the oldest snapshot still kept.
pub const BEFORE_HISTORY: i64 = -1;

/// The lake's relation versions at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versions {
    /// `schema.name` → the newest snapshot that created, altered, dropped
    /// or wrote rows to it. Missing: unchanged since `oldest` (or never
    /// existed).
    latest: HashMap<String, i64>,
    /// `schema.name` → the newest snapshot that created it (a
    /// `CREATE OR REPLACE` is a new table: its changes start there).
    created: HashMap<String, i64>,
    /// The oldest snapshot still kept: history before it was expired.
    pub oldest: i64,
    /// The newest snapshot.
    pub current: i64,
}

impl Versions {
    /// Reads every snapshot's changes and the catalog's names.
    pub fn read(
        session: &Session,
        database: &str,
        metadata_schema: Option<&str>,
    ) -> Result<Versions, WarehouseError> {
        let all = changes(session, database)?;
        let names = catalog_names(session, database, metadata_schema);
        Ok(Versions::from_changes(&all, &names))
    }

    /// Versions from snapshots' [`Changes`] and the catalog's id → name.
    pub fn from_changes(all: &BTreeMap<i64, Changes>, names: &BTreeMap<i64, String>) -> Versions {
        let mut latest = HashMap::new();
        let mut created = HashMap::new();
        for (&snapshot, changes) in all {
            for (kind, values) in changes {
                if !changes_data(kind) {
                    continue;
                }
                for value in values {
                    let name = match value.parse::<i64>() {
                        Ok(id) if !kind.ends_with("_created") => names.get(&id).cloned(),
                        _ => Some(unquote(value)),
                    };
                    if let Some(name) = name {
                        if kind.ends_with("_created") {
                            created.insert(name.clone(), snapshot);
                        }
                        latest.insert(name, snapshot);
                    }
                }
            }
        }
        Versions {
            latest,
            created,
            oldest: all.keys().next().copied().unwrap_or_default(),
            current: all.keys().next_back().copied().unwrap_or_default(),
        }
    }

    /// The snapshot that last changed `relation` (`schema.name`); `None`
    /// when no kept snapshot did.
    pub fn of(&self, relation: &str) -> Option<i64> {
        self.latest.get(relation).copied()
    }

    /// Whether no kept snapshot after `snapshot` changed `relation`: a
    /// node's own table is as its build left it (which may have written
    /// no row, as an incremental run with nothing new does).
    pub fn untouched_after(&self, relation: &str, snapshot: i64) -> bool {
        self.of(relation).is_none_or(|v| v <= snapshot)
    }

    /// The snapshot that last created `relation`, when a kept one did.
    pub fn created(&self, relation: &str) -> Option<i64> {
        self.created.get(relation).copied()
    }

    /// The version to record for `relation`: [`BEFORE_HISTORY`] when no
    /// kept snapshot changed it.
    pub fn seen(&self, relation: &str) -> i64 {
        self.of(relation).unwrap_or(BEFORE_HISTORY)
    }

    /// Whether `relation` is as a build that saw version `seen` left it.
    /// A version older than the kept history cannot be checked: it does
    /// not match, so the node is rebuilt (once) rather than trusted.
    pub fn unchanged(&self, relation: &str, seen: i64) -> bool {
        if seen == BEFORE_HISTORY {
            return self.of(relation).is_none();
        }
        seen >= self.oldest && self.of(relation) == Some(seen)
    }
}

/// `stage."conversion"` (as `tables_created` names a keyword) →
/// `stage.conversion`: the form the catalog's names take.
fn unquote(name: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                out.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c => out.push(c),
        }
    }
    out
}

/// Whether a kind of change in `snapshots().changes` changes what a
/// relation holds: schema changes name no relation, and compaction
/// (`merge_adjacent`, which keeps every row's `snapshot_id`, verified with
/// DuckLake 1.5.5) or flushing inlined rows moves rows without changing
/// them.
fn changes_data(kind: &str) -> bool {
    !(kind.starts_with("schemas_")
        || kind.starts_with("merge_adjacent")
        || kind.contains("compact")
        || kind.contains("flush"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(entries: &[(i64, &str, &str)]) -> BTreeMap<i64, Changes> {
        let mut all: BTreeMap<i64, Changes> = BTreeMap::new();
        for &(s, k, v) in entries {
            all.entry(s)
                .or_default()
                .entry(k.into())
                .or_default()
                .push(v.into());
        }
        all
    }

    #[test]
    fn names_and_ids_both_move_a_relation_forward() {
        let names = BTreeMap::from([(2, "s.t".to_string()), (5, "s.u".to_string())]);
        let all = changes(&[
            (1, "schemas_created", "s"),
            (2, "tables_created", "s.t"),
            (3, "inlined_insert", "2"),
            (4, "tables_created", "s.u"),
            (6, "tables_compacted", "2"),
            (7, "merge_adjacent", "2"),
        ]);
        let v = Versions::from_changes(&all, &names);
        assert_eq!(v.of("s.t"), Some(3));
        assert_eq!(v.of("s.u"), Some(4));
        assert_eq!((v.created("s.t"), v.created("s.x")), (Some(2), None));
        assert_eq!((v.oldest, v.current), (1, 7));
        assert!(v.unchanged("s.t", 3));
        assert!(!v.unchanged("s.t", 2));
        assert!(v.untouched_after("s.t", 3) && v.untouched_after("s.t", 5));
        assert!(!v.untouched_after("s.t", 2));
    }

    #[test]
    fn quoted_names_are_the_catalog_s_names() {
        assert_eq!(unquote(r#"stage."conversion""#), "stage.conversion");
        assert_eq!(unquote(r#""a""b".t"#), r#"a"b.t"#);
    }

    #[test]
    fn a_version_from_expired_history_is_never_trusted() {
        let names = BTreeMap::from([(2, "s.t".to_string())]);
        let all = changes(&[(10, "inlined_insert", "7")]);
        let v = Versions::from_changes(&all, &names);
        assert!(!v.unchanged("s.t", 3));
        assert_eq!(v.seen("s.t"), BEFORE_HISTORY);
        assert!(v.unchanged("s.t", BEFORE_HISTORY));
        assert!(!v.unchanged("x.y", 10) && v.unchanged("s.v", BEFORE_HISTORY));
    }
}
