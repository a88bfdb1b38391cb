//! The frozen requirement set of the REP revision: which tests each certification level needs
//! (`conformance/requirements/rep-v0.1.json`, embedded). A report names it by id and sha256,
//! so a certificate says exactly what it certifies, and `verify` can tell whether this build
//! of the suite certifies by the same rules.
//!
//! Frozen: the file is never edited; a change of the rules is a new set (`rep-v0.1/2`) in a
//! new file. The test below pins its hash.

use std::sync::OnceLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The requirement set's text, as embedded.
pub const REQUIREMENTS_JSON: &str = include_str!("../requirements/rep-v0.1.json");

/// sha256 of [`REQUIREMENTS_JSON`]: the file is frozen (a test checks it).
pub const REQUIREMENTS_SHA256: &str =
    "366e4efab972a33bec133124202df5b000a69a7ea49f782f6ef1081c2949d9fa";

/// The tests a certification needs, level by level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Requirements {
    /// E.g. `rep-v0.1/1`.
    pub requirement_set: String,
    /// E.g. `REP v0.1`.
    pub spec: String,
    /// The levels.
    pub levels: Levels,
}

/// The certification levels.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Levels {
    /// `core`: the REP v0.1 catalogue.
    pub core: Level,
    /// `+ cancel`.
    pub cancel: Level,
    /// `+ health`.
    pub health: Level,
    /// `+ semantics`: the `rep.probe` extension.
    pub semantics: Level,
}

/// One level: its rule (for people) and its tests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Level {
    /// The rule, in words.
    pub rule: String,
    /// The test ids it needs.
    pub tests: Vec<String>,
}

impl Level {
    /// Whether the level lists test `id`.
    pub fn has(&self, id: &str) -> bool {
        self.tests.iter().any(|t| t == id)
    }
}

/// The embedded requirement set.
pub fn requirements() -> &'static Requirements {
    static PARSED: OnceLock<Requirements> = OnceLock::new();
    PARSED.get_or_init(|| {
        // A unit test parses the embedded file, so this cannot fail in a tested build.
        serde_json::from_str(REQUIREMENTS_JSON)
            .unwrap_or_else(|e| panic!("the embedded requirement set is not valid: {e}"))
    })
}

/// The lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Area, CATALOGUE, Level as TestLevel};

    #[test]
    fn the_requirement_set_is_frozen() {
        assert_eq!(
            sha256_hex(REQUIREMENTS_JSON.as_bytes()),
            REQUIREMENTS_SHA256,
            "requirements/rep-v0.1.json changed: a frozen set is never edited; add rep-v0.1/2 in a new file"
        );
        assert_eq!(requirements().requirement_set, "rep-v0.1/1");
    }

    #[test]
    fn every_listed_test_exists_and_the_catalogue_is_covered() {
        let levels = &requirements().levels;
        for level in [
            &levels.core,
            &levels.cancel,
            &levels.health,
            &levels.semantics,
        ] {
            for id in &level.tests {
                assert!(
                    crate::catalogue::find(id).is_some(),
                    "{id} is not in the catalogue"
                );
            }
        }
        for test in CATALOGUE {
            let listed = if test.area == Area::Semantics {
                levels.semantics.has(test.id)
            } else {
                levels.core.has(test.id)
            };
            assert!(listed, "{} is in no level of the requirement set", test.id);
        }
        for id in levels.cancel.tests.iter().chain(&levels.health.tests) {
            assert!(
                levels.core.has(id),
                "{id}: cancel and health tests are core tests"
            );
        }
        let must_sem = CATALOGUE
            .iter()
            .filter(|t| t.area == Area::Semantics && t.level == TestLevel::Must)
            .count();
        assert!(must_sem >= 9);
    }
}
