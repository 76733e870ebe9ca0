//! Fixtures shared by the engine's tests and the service's: the corpus of appliance dumps
//! (`server/corpus/`, each with the verdict it must get in `cases.yaml`) read as `assess` reads
//! them. Compiled for tests, and for the service's tests with the feature `fixtures`.

use crate::assess::{assess, Inputs, SourceInfo, Thresholds};
use crate::catalog::Catalog;
use crate::objects::parse_documents;
use crate::probes::Probes;
use crate::snapshot::Snapshot;
use app::status::StatusDocument;
use jiff::Timestamp;
use std::path::PathBuf;

/// The corpus directory.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../server/corpus"))
}

fn cases() -> serde_yaml::Value {
    let text = std::fs::read_to_string(corpus_dir().join("cases.yaml")).expect("cases.yaml");
    serde_yaml::from_str(&text).expect("cases.yaml parses")
}

/// A corpus dump as `assess` reads it: the snapshot (remembered), the probes and the moment its
/// case names (`server/corpus/cases.yaml`).
pub fn corpus_inputs(name: &str) -> (Snapshot, Probes, Timestamp) {
    let dir = corpus_dir();
    let cases = cases();
    let case = cases["cases"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no corpus case {name}"));
    let mut probes = Probes::default();
    for p in case["probes"].as_sequence().into_iter().flatten() {
        probes.set_pair(p.as_str().unwrap()).unwrap();
    }
    let text = std::fs::read_to_string(dir.join(name).join("dump.yaml")).unwrap();
    let mut snapshot = Snapshot::default();
    for o in parse_documents(&text, name).unwrap().objects {
        snapshot.apply(o);
    }
    snapshot.remember();
    (
        snapshot,
        probes,
        case["now"].as_str().unwrap().parse().unwrap(),
    )
}

/// The names of every corpus case (never none: a loop over them proves something).
pub fn corpus_cases() -> Vec<String> {
    let names: Vec<String> = cases()["cases"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 25, "the corpus has {} cases", names.len());
    names
}

/// The document `assess` makes of a corpus dump, at the moment and with the probes its case names,
/// as `appliance-status assess` would.
pub fn corpus_document(name: &str) -> StatusDocument {
    let (snapshot, probes, now) = corpus_inputs(name);
    assess(
        &Inputs {
            snapshot: &snapshot,
            catalog: &Catalog::embedded(),
            probes: &probes,
            thresholds: &Thresholds::default(),
            source: &SourceInfo::scenario("test"),
        },
        now,
    )
    .document
}
