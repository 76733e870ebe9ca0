//! The engine on arbitrary snapshots: whatever objects a dump holds, `assess` answers, and its
//! verdict never contradicts itself (`assess::invariants::contradictions`). Seeded with the corpus
//! dumps, so mutations stay close to what clusters write.
#![no_main]

use app::status::SourceMode;
use appliance_status::assess::{assess, invariants, Inputs, SourceInfo, Thresholds};
use appliance_status::catalog::Catalog;
use appliance_status::objects::parse_documents;
use appliance_status::probes::Probes;
use appliance_status::snapshot::Snapshot;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::embedded)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(parsed) = parse_documents(&text, "fuzz") else {
        return;
    };
    let mut snapshot = Snapshot::default();
    for object in parsed.objects {
        snapshot.apply(object);
    }
    snapshot.remember();
    // The corpus dumps are from late April 2026; assess them an hour later.
    let now: jiff::Timestamp = "2026-04-30T03:00:00Z".parse().unwrap();
    let thresholds = Thresholds::default();
    let source = SourceInfo {
        mode: SourceMode::Scenario,
        name: Some("fuzz".into()),
    };
    let probes = Probes::default();
    let inputs = Inputs {
        snapshot: &snapshot,
        catalog: catalog(),
        probes: &probes,
        thresholds: &thresholds,
        source: &source,
    };
    let doc = assess(&inputs, now).document;
    let found = invariants::contradictions(&doc);
    assert!(
        found.is_empty(),
        "the verdict contradicts itself: {found:#?}"
    );
});
