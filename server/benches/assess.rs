//! Benchmark of `assess` on generated snapshots: 100, 1,000 and 10,000 pods with ten events each,
//! on top of the observed bootstrap's objects. Prints time per assessment and peak memory.
//!
//! Run: `cargo bench -p server --bench assess` (scripts/bench.sh records it in docs/BENCHMARKS.md).

use appliance_status::assess::{assess, Inputs, SourceInfo, Thresholds};
use appliance_status::catalog::Catalog;
use appliance_status::objects::object_from_value;
use appliance_status::scenario::{Replay, Scenario};
use appliance_status::snapshot::Snapshot;
use jiff::SignedDuration;
use serde_json::json;
use std::time::{Duration, Instant};

/// Adds `pods` pods, half of them failing in the ways the rules look at, each with ten events.
fn generate(base: &Snapshot, pods: usize) -> Snapshot {
    let mut snap = base.clone();
    let namespaces = ["msp", "tenant-a", "tenant-b", "monitoring"];
    for i in 0..pods {
        let ns = namespaces[i % namespaces.len()];
        let name = format!("workload-{}-{i}", i % 50);
        let state = match i % 4 {
            0 => json!({"running": {"startedAt": "2026-04-30T01:10:00Z"}}),
            1 => json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}),
            2 => {
                json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"ghcr.io/x/{name}:1\"")}})
            }
            _ => json!({"waiting": {"reason": "ContainerCreating"}}),
        };
        // Every tenth pod looks like a catalog component (same labels), to exercise the rules.
        let labels = if i % 10 == 0 {
            json!({"app.kubernetes.io/name": "workflow-worker", "app.kubernetes.io/instance": "workflow-worker"})
        } else {
            json!({"app": name})
        };
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "creationTimestamp": "2026-04-30T01:00:00Z"},
            "spec": {"containers": [{"name": "main", "image": format!("ghcr.io/x/{name}:1")}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "main", "image": format!("ghcr.io/x/{name}:1"), "imageID": "", "ready": i % 4 == 0, "restartCount": i % 7, "state": state,
                "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]}
        });
        if let Ok(Some(o)) = object_from_value(pod) {
            snap.apply(o);
        }
        for e in 0..10 {
            let (reason, message, kind) = match e % 5 {
                0 => ("Pulling", format!("Pulling image \"ghcr.io/x/{name}:1\""), "Normal"),
                1 => ("Failed", format!("Failed to pull image \"ghcr.io/x/{name}:1\": rpc error: code = NotFound desc = failed to resolve reference \"ghcr.io/x/{name}:1\": not found"), "Warning"),
                2 => ("BackOff", "Back-off restarting failed container main".to_string(), "Warning"),
                3 => ("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503".to_string(), "Warning"),
                _ => ("Scheduled", format!("Successfully assigned {ns}/{name} to appliance-single-node"), "Normal"),
            };
            let minute = (i + e) % 60;
            let event = json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": format!("{name}.{e}"), "namespace": ns},
                "involvedObject": {"kind": "Pod", "namespace": ns, "name": name},
                "reason": reason, "message": message, "type": kind, "count": e + 1,
                "firstTimestamp": format!("2026-04-30T01:{minute:02}:00Z"), "lastTimestamp": format!("2026-04-30T01:{minute:02}:30Z")
            });
            if let Ok(Some(o)) = object_from_value(event) {
                snap.apply(o);
            }
        }
    }
    snap.remember();
    snap
}

/// Peak resident memory of this process so far (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let catalog = Catalog::embedded();
    let thresholds = Thresholds::default();
    let source = SourceInfo::scenario("bench");
    let scenario = Scenario::observed_bootstrap();
    let start = scenario.start;
    let mut replay = Replay::new(scenario);
    replay.advance_to(SignedDuration::from_mins(42));
    let now = start + SignedDuration::from_mins(44);

    println!("| pods | events | objects | assessments | mean per assessment | min | peak RSS (process) | blockers |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for pods in [100usize, 1_000, 10_000] {
        let snap = generate(&replay.snapshot, pods);
        let inputs = Inputs {
            snapshot: &snap,
            catalog: &catalog,
            probes: &replay.probes,
            thresholds: &thresholds,
            source: &source,
        };
        // Warm up, then measure for at least a second (and at least five runs).
        let doc = assess(&inputs, now).document;
        let mut runs = 0u32;
        let mut min = Duration::MAX;
        let began = Instant::now();
        while runs < 5 || began.elapsed() < Duration::from_secs(1) {
            let t = Instant::now();
            let a = assess(&inputs, now);
            std::hint::black_box(&a);
            min = min.min(t.elapsed());
            runs += 1;
        }
        let mean = began.elapsed() / runs;
        println!(
            "| {pods} | {} | {} | {runs} | {:.2} ms | {:.2} ms | {} MiB | {} |",
            snap.events.len(),
            snap.object_count(),
            mean.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            peak_rss_kib() / 1024,
            doc.top_blockers.len()
        );
    }
}
