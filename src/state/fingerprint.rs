//! A node's fingerprint: what must be identical for its last build to
//! still stand (its compiled SQL, config, materialization, relation and,
//! for a seed, its CSV). Any edit that could change the rows changes it.

use sha2::{Digest, Sha256};

use crate::nodes::Node;

/// Bumped when lake changes how it builds nodes, so an upgrade rebuilds.
const BUILD_FORMAT: &str = "lake-build-1";

/// The hex sha256 of everything that decides `node`'s rows. `scope`
/// tells tests run on the changed slice apart from whole-table runs.
pub fn fingerprint(node: &Node, scope: &str) -> String {
    let mut hash = Sha256::new();
    let mut part = |text: &str| {
        hash.update(text.len().to_le_bytes());
        hash.update(text.as_bytes());
    };
    part(BUILD_FORMAT);
    part(node.kind.as_str());
    part(node.config.materialized.as_str());
    part(
        &node
            .relation
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    );
    part(node.compiled_sql.as_deref().unwrap_or(""));
    part(&serde_json::to_string(&node.config).unwrap_or_default());
    part(&serde_json::to_string(&node.contract).unwrap_or_default());
    part(node.checksum.as_deref().unwrap_or(""));
    // Only when set, so other nodes keep the fingerprints they had.
    if let Some(stored) = &node.stored_failures {
        part(&format!(
            "store failures {} view {}",
            stored.relation, stored.view
        ));
    }
    part(scope);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
