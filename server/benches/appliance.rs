//! Memory at the appliance's own scale: the release service against a real kube-apiserver holding
//! the corpus's fully healthy appliance (`server/corpus/01-fully-healthy`: the catalog's pods,
//! ReplicaSets, Deployments, claims, Flux objects and events, times moved to now) plus the pods a
//! real node also runs outside the catalog (kube-system and the like), 60 pods in all, each with
//! events. Prints resident memory once the document is complete and after a minute of one-second
//! polls. scripts/bench.sh runs it.

use std::time::{Duration, Instant};
use testenv::{ScenarioLoader, TestCluster};

mod support;

const TOKEN: &str = "bench-token-0123456789abcdef0123456789";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cluster = TestCluster::start()?;
    cluster.install_flux_crds()?;
    let client = cluster.client().await?;
    // The loader makes the namespaces and applies objects with their status.
    let mut loader =
        ScenarioLoader::new(client.clone(), "start: '2026-04-30T00:00:00Z'\nsteps: []\n").await?;
    let dump: serde_json::Value =
        serde_yaml::from_str(include_str!("../corpus/01-fully-healthy/dump.yaml"))?;
    let shift = jiff::Timestamp::now().duration_since("2026-04-30T02:00:00Z".parse()?);
    let applied = loader.apply_dump(&dump, shift).await?;
    let catalog_pods = applied.get("Pod").copied().unwrap_or(0);
    // The rest of a node's pods, outside the catalog, with a few events each.
    let now = jiff::Timestamp::now().to_string();
    for i in 0..(60 - catalog_pods) {
        let name = format!("node-pod-{i}");
        let image = format!("registry.k8s.io/node-{}:v1.33.1", i % 12);
        loader
            .apply_object(serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "kube-system", "labels": {"app": format!("node-{}", i % 12)}},
                "spec": {"containers": [{"name": "main", "image": image}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "main", "image": image, "imageID": "", "ready": true,
                        "restartCount": 0, "state": {"running": {"startedAt": now}}}]}
            }))
            .await?;
        for reason in ["Scheduled", "Pulled", "Started"] {
            loader
                .apply_object(serde_json::json!({
                    "apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": format!("{name}.{}", reason.to_lowercase()), "namespace": "kube-system"},
                    "involvedObject": {"kind": "Pod", "namespace": "kube-system", "name": name},
                    "reason": reason, "message": format!("{reason} {name}"), "type": "Normal", "count": 1,
                    "firstTimestamp": now, "lastTimestamp": now
                }))
                .await?;
        }
    }
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::all(client.clone());
    let events: kube::Api<k8s_openapi::api::core::v1::Event> = kube::Api::all(client);
    let lp = kube::api::ListParams::default();
    let (n_pods, n_events) = (
        pods.list(&lp).await?.items.len(),
        events.list(&lp).await?.items.len(),
    );

    let (mut child, port) = support::serve(
        &cluster.kubeconfig,
        TOKEN,
        &["--no-outbound-checks", "--no-log-tails"],
    )?;
    let pid = child.id();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/status");
    let start = Instant::now();
    loop {
        let doc = match http.get(&url).bearer_auth(TOKEN).send().await {
            Ok(r) if r.status().is_success() => {
                serde_json::from_slice::<serde_json::Value>(&r.bytes().await?).ok()
            }
            _ => None,
        };
        if doc.is_some_and(|d| d["rollup"]["state"] == "fully_healthy") {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(60),
            "never fully healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settled = support::memory_kib(pid, "VmRSS:");
    // A minute of what an open page does: one read per second.
    for _ in 0..60 {
        http.get(&url).bearer_auth(TOKEN).send().await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let after = support::memory_kib(pid, "VmRSS:");
    let peak = support::memory_kib(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    let mib = |k: u64| k as f64 / 1024.0;
    println!("| figure | value | aim |");
    println!("|---|---:|---:|");
    println!("| objects in the API server | {n_pods} pods, {n_events} events (the fully healthy appliance) | |");
    println!(
        "| resident memory, document complete (VmRSS) | {:.1} MiB | ≤ 24 MiB |",
        mib(settled)
    );
    println!(
        "| resident memory after a minute of 1 s polls | {:.1} MiB | ≤ 24 MiB |",
        mib(after)
    );
    println!("| peak resident memory (VmHWM) | {:.1} MiB | |", mib(peak));
    Ok(())
}
