//! What the engine's tests share: the catalog and source they assess with, assessing twice as
//! the live loop does, the observed bootstrap replayed to a moment, objects from YAML, and the
//! questions tests ask of a document. The corpus is `crate::fixtures`.

pub(crate) use super::*;
pub(crate) use crate::catalog::Catalog;
pub(crate) use crate::fixtures::{corpus_cases, corpus_inputs};
pub(crate) use crate::objects::{parse_documents, ObjectId};
pub(crate) use crate::probes::Probes;
pub(crate) use crate::scenario::{Replay, Scenario};
pub(crate) use crate::snapshot::Snapshot;
pub(crate) use app::status::*;
pub(crate) use jiff::{SignedDuration, Timestamp};

pub(crate) fn catalog() -> Catalog {
    Catalog::embedded()
}

pub(crate) fn source() -> SourceInfo {
    SourceInfo::scenario("test")
}

/// Assesses like the live loop does: once at `first` (to remember first-seen times), then at `now`.
pub(crate) fn assess_twice(
    snapshot: &mut Snapshot,
    probes: &Probes,
    first: Timestamp,
    now: Timestamp,
) -> StatusDocument {
    let catalog = catalog();
    let thresholds = Thresholds::default();
    let source = source();
    for at in [first, now] {
        let a = assess(
            &Inputs {
                snapshot,
                catalog: &catalog,
                probes,
                thresholds: &thresholds,
                source: &source,
            },
            at,
        );
        snapshot.memory.first_seen = a.first_seen;
        snapshot.memory.causes = a.causes;
        snapshot.memory.bootstrap_volume = a.bootstrap_volume;
        if at == now {
            return a.document;
        }
    }
    unreachable!()
}

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(crate) fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

/// The observed bootstrap replayed up to `offset`.
pub(crate) fn replay_to(offset: SignedDuration) -> Replay {
    let mut r = Replay::new(Scenario::observed_bootstrap());
    r.advance_to(offset);
    r
}

pub(crate) fn apply_yaml(snapshot: &mut Snapshot, yaml: &str) {
    for o in parse_documents(yaml, "test").unwrap().objects {
        snapshot.apply(o);
    }
    snapshot.remember();
}

pub(crate) fn ready_tiers(doc: &StatusDocument) -> Vec<Tier> {
    Tier::ALL
        .into_iter()
        .filter(|t| doc.tiers.get(*t).ready)
        .collect()
}

pub(crate) fn top(doc: &StatusDocument) -> &Blocker {
    doc.top_blockers
        .first()
        .unwrap_or_else(|| panic!("no blocker; rollup {:?}", doc.rollup))
}

/// alga-core's web pod, its one container (`main`, running `image`) waiting with `reason` and
/// `message` (no single quote in it: it is written single-quoted).
pub(crate) fn waiting_core_pod(image: &str, reason: &str, message: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: alga-core-sebastian-1, namespace: msp, labels: {{app.kubernetes.io/name: sebastian, app.kubernetes.io/instance: alga-core}}}}
spec: {{containers: [{{name: main, image: "{image}"}}]}}
status:
  phase: Pending
  containerStatuses:
  - {{name: main, image: "{image}", imageID: "", ready: false, restartCount: 0, state: {{waiting: {{reason: {reason}, message: '{message}'}}}}}}
"#
    )
}

/// An event `name` about alga-core's web pod ([`waiting_core_pod`]), as the kubelet records it:
/// `reason`, `count` times from `first` to `last` (a `---` document to append; the message
/// single-quoted, so without a single quote).
pub(crate) fn core_pod_event(
    name: &str,
    reason: &str,
    count: u32,
    (first, last): (&str, &str),
    message: &str,
) -> String {
    let kind = if matches!(reason, "Pulling" | "Pulled") {
        "Normal"
    } else {
        "Warning"
    };
    format!(
        r#"---
apiVersion: v1
kind: Event
metadata: {{name: {name}, namespace: msp}}
involvedObject: {{kind: Pod, namespace: msp, name: alga-core-sebastian-1}}
reason: {reason}
type: {kind}
count: {count}
firstTimestamp: "{first}"
lastTimestamp: "{last}"
message: '{message}'
"#
    )
}

pub(crate) fn crash_pod(name: &str, labels: &str, container: &str, last_reason: &str) -> String {
    let reason = if last_reason.is_empty() {
        "Error"
    } else {
        last_reason
    };
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: msp, labels: {{{labels}}}}}
spec: {{containers: [{{name: {container}, image: "img:1"}}]}}
status:
  phase: Running
  containerStatuses:
  - name: {container}
    image: "img:1"
    imageID: ""
    ready: false
    restartCount: 7
    state: {{waiting: {{reason: CrashLoopBackOff, message: "back-off 5m0s restarting failed container"}}}}
    lastState: {{terminated: {{reason: {reason}, exitCode: 137}}}}
"#
    )
}
