//! The moment a dump describes: `assess FILE` without `--now` measures ages against the newest
//! time the cluster wrote in it, not against today's clock (a dump read a week later still says
//! "pulling for 16 min", not "for 170 h").
//!
//! Read from the objects the engine keeps: events' last times, conditions' transition, update,
//! heartbeat and probe times, containers' start and finish times, Jobs' start and completion,
//! objects' creation. Times meant for the future (a certificate's expiry) are not among them.

use crate::snapshot::Snapshot;
use jiff::Timestamp;
use serde_json::Value;

/// Field names that hold when something happened.
const TIME_FIELDS: [&str; 12] = [
    "creationTimestamp",
    "lastTransitionTime",
    "lastUpdateTime",
    "lastHeartbeatTime",
    "lastProbeTime",
    "lastTimestamp",
    "firstTimestamp",
    "eventTime",
    "startedAt",
    "finishedAt",
    "startTime",
    "completionTime",
];

/// The newest time written in `snapshot`'s objects, if any.
pub fn newest(snapshot: &Snapshot) -> Option<Timestamp> {
    let mut newest: Option<Timestamp> = None;
    let mut see = |t: Timestamp| {
        if newest.is_none_or(|n| t > n) {
            newest = Some(t);
        }
    };
    fn walk(value: &Value, see: &mut dyn FnMut(Timestamp)) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match v {
                        Value::String(s) if TIME_FIELDS.contains(&key.as_str()) => {
                            if let Ok(t) = s.parse::<Timestamp>() {
                                see(t);
                            }
                        }
                        _ => walk(v, see),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, see)),
            _ => {}
        }
    }
    fn each<T: serde::Serialize>(
        objects: &crate::snapshot::Objects<T>,
        see: &mut dyn FnMut(Timestamp),
    ) {
        for o in objects.values() {
            if let Ok(v) = serde_json::to_value(o) {
                walk(&v, see);
            }
        }
    }
    each(&snapshot.nodes, &mut see);
    each(&snapshot.pods, &mut see);
    each(&snapshot.jobs, &mut see);
    each(&snapshot.pvcs, &mut see);
    each(&snapshot.deployments, &mut see);
    each(&snapshot.stateful_sets, &mut see);
    each(&snapshot.daemon_sets, &mut see);
    each(&snapshot.config_maps, &mut see);
    for e in snapshot.events.values() {
        if let Some(t) = e.last_time() {
            see(t);
        }
    }
    for f in snapshot.flux.values() {
        for c in &f.conditions {
            see(c.last_transition_time.0);
        }
    }
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(yaml: &str) -> Snapshot {
        let mut s = Snapshot::default();
        for o in crate::objects::parse_documents(yaml, "t").unwrap().objects {
            s.apply(o);
        }
        s
    }

    #[test]
    fn the_newest_time_the_cluster_wrote() {
        let s = snapshot(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: msp, creationTimestamp: "2026-04-30T01:00:00Z"}
spec: {containers: [{name: c, image: x}]}
status:
  conditions: [{type: Ready, status: "False", lastTransitionTime: "2026-04-30T01:05:00Z"}]
  containerStatuses: [{name: c, image: x, imageID: "", ready: false, restartCount: 1,
    state: {running: {startedAt: "2026-04-30T01:20:00Z"}}}]
---
apiVersion: v1
kind: Event
metadata: {name: e, namespace: msp}
involvedObject: {kind: Pod, namespace: msp, name: p}
reason: Pulling
lastTimestamp: "2026-04-30T01:31:00Z"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: appliance-release, namespace: alga-system, creationTimestamp: "2026-04-30T00:10:00Z"}
data: {note: "expires 2099-01-01T00:00:00Z"}
"#,
        );
        assert_eq!(
            newest(&s),
            Some("2026-04-30T01:31:00Z".parse().unwrap()),
            "the event's time; a time in a data value is not a time the cluster wrote"
        );
        assert_eq!(newest(&Snapshot::default()), None);
    }
}
