//! Benchmark of the whole service against a real kube-apiserver loaded with 2,000 pods and 20,000
//! events: resident memory, time to the first complete document after start, and the delay from
//! an object change to the published document. Prints figures; scripts/bench.sh runs it.
//!
//! Needs the release binary (`scripts/build.sh`); `APPLIANCE_STATUS_BIN` overrides its path.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Patch, PatchParams, PostParams};
use kube::Api;
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};
use testenv::TestCluster;

mod support;

const PODS: usize = 2_000;
const EVENTS: usize = 20_000;
const TOKEN: &str = "bench-token-0123456789abcdef0123456789";

fn status_json(port: u16) -> Option<serde_json::Value> {
    support::status_json(port, TOKEN)
}

fn ready(port: u16) -> bool {
    Command::new("curl")
        .args(["-sf", "-m", "1", &format!("http://127.0.0.1:{port}/readyz")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Creates `n` objects made by `make`, sixteen requests at a time.
async fn create_all<K>(
    api: &Api<K>,
    n: usize,
    make: impl Fn(usize) -> serde_json::Value,
) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    futures::stream::iter(0..n)
        .map(|i| {
            let object: anyhow::Result<K> = serde_json::from_value(make(i)).map_err(Into::into);
            async move {
                api.create(&PostParams::default(), &object?).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cluster = TestCluster::start()?;
    cluster.install_flux_crds()?;
    for ns in testenv::NAMESPACES {
        let _ = cluster.kubectl(&["create", "namespace", ns], None);
    }
    let client = cluster.client().await?;

    let began = Instant::now();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "msp");
    create_all(&pods, PODS, |i| {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("load-{i}"), "labels": {"app": format!("load-{}", i % 40)}},
            "spec": {"containers": [{"name": "main", "image": format!("ghcr.io/x/load-{}:1", i % 40)}]}
        })
    })
    .await?;
    let events: Api<Event> = Api::namespaced(client.clone(), "msp");
    create_all(&events, EVENTS, |i| {
        let minute = i % 60;
        let reason = ["Pulling", "Failed", "BackOff", "Unhealthy", "Scheduled"][i % 5];
        // The kubelet's and scheduler's own wording (server/corpus/README.md cites the sources), so
        // a stored event weighs what a real one does.
        let (pod, image) = (format!("load-{}", i % PODS), format!("ghcr.io/x/load-{}:{i:08x}", i % 40));
        let message = match reason {
            "Pulling" => format!("Pulling image \"{image}\""),
            "Failed" => format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"),
            "BackOff" => format!("Back-off restarting failed container main in pod {pod}_msp(5f0c7a9e-{i:04x}-4f7e-9d2a-0c1b2a3d4e5f)"),
            "Unhealthy" => format!("Readiness probe failed: Get \"http://10.244.{}.{}:8080/healthz\": dial tcp 10.244.{}.{}:8080: connect: connection refused", i % 200, i % 250, i % 200, i % 250),
            _ => format!("Successfully assigned msp/{pod} to appliance-single-node"),
        };
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("load-{}.{i}", i % PODS)},
            "involvedObject": {"kind": "Pod", "namespace": "msp", "name": pod},
            "reason": reason,
            "message": message, "type": if matches!(reason, "Failed" | "BackOff" | "Unhealthy") { "Warning" } else { "Normal" },
            "count": 1, "firstTimestamp": format!("2026-11-27T10:{minute:02}:00Z"), "lastTimestamp": format!("2026-11-27T10:{minute:02}:30Z")
        })
    })
    .await?;
    eprintln!(
        "loaded {PODS} pods and {EVENTS} events in {:.1} s",
        began.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let extra = std::env::var("BENCH_SERVE_ARGS").unwrap_or_default();
    let mut args = vec![
        "--no-log-tails",
        "--dns-check",
        "localhost",
        "--https-check",
        "localhost",
    ];
    args.extend(extra.split_whitespace());
    let (mut child, port) = support::serve(&cluster.kubeconfig, TOKEN, &args)?;
    let pid = child.id();
    while !ready(port) {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(60), "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Complete: the published document reflects the listed events, and the service holds every
    // one of them (no cap, no trimming while the first list arrives).
    let held_events = |d: &serde_json::Value| {
        d["source"]["watches"].as_array().and_then(|ws| {
            ws.iter()
                .find(|w| w["kind"] == "Event")
                .and_then(|w| w["objects"].as_u64())
        })
    };
    loop {
        if status_json(port).is_some_and(|d| {
            d["recentEvents"].as_array().is_some_and(|e| e.len() == 50)
                && held_events(&d) == Some(EVENTS as u64)
        }) {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(60),
            "no complete document"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let first_doc = start.elapsed();

    // Change latency: a catalog pod changes state; when does the document say so?
    let mut delays = Vec::new();
    let db = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "namespace": "msp", "labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": "ankane/pgvector:latest"}]}});
    pods.patch(
        "db-0",
        &PatchParams::apply("bench").force(),
        &Patch::Apply(&db),
    )
    .await?;
    for round in 0..10 {
        let restarts = round + 1;
        let status = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "namespace": "msp"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "db", "image": "ankane/pgvector:latest", "imageID": "", "ready": false, "restartCount": restarts,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}}]}});
        let t = Instant::now();
        pods.patch_status(
            "db-0",
            &PatchParams::apply("bench").force(),
            &Patch::Apply(&status),
        )
        .await?;
        loop {
            let seen = status_json(port).is_some_and(|d| {
                d["components"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["name"] == "db" && c["restarts"] == restarts)
                })
            });
            if seen {
                break;
            }
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(10),
                "change never published"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        delays.push(t.elapsed());
    }
    delays.sort();
    let rss = support::memory_kib(pid, "VmRSS:");
    let peak = support::memory_kib(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();

    println!("| figure | value | aim |");
    println!("|---|---:|---:|");
    println!("| objects in the API server | {PODS} pods, {EVENTS} events | |");
    println!("| events the service holds | {EVENTS} (all) | every event |");
    println!(
        "| resident memory after load (VmRSS) | {:.1} MiB | < 64 MiB |",
        rss as f64 / 1024.0
    );
    println!(
        "| peak resident memory (VmHWM) | {:.1} MiB | |",
        peak as f64 / 1024.0
    );
    println!(
        "| start to first complete document | {:.2} s | < 2 s |",
        first_doc.as_secs_f64()
    );
    println!(
        "| object change to published document, median of 10 | {:.0} ms | < 500 ms |",
        delays[5].as_secs_f64() * 1e3
    );
    println!(
        "| ... slowest of 10 | {:.0} ms | |",
        delays[9].as_secs_f64() * 1e3
    );
    Ok(())
}
