//! Soak: the release service against a real kube-apiserver for `SOAK_MINUTES` (default 10) while
//! pods and events churn at ≥ 50 changes/s and the API server is killed and started again every
//! 2 minutes. Prints: changes made (and refused during outages), `/api/status` answers and errors,
//! resident memory over time (growth between the second and the last minute), whether the process
//! ever restarted, and whether the final state of every churned pod is in the published document
//! after the last relist. scripts/soak.sh runs it; figures go to docs/RELIABILITY.md.

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::Api;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testenv::TestCluster;

mod support;

const TOKEN: &str = "soak-token-0123456789abcdef0123456789ab";
/// Pod names the churn cycles through.
const SLOTS: u64 = 150;
/// Target rate of changes while the API server is up.
const RATE: u64 = 60;
/// What the run counts.
#[derive(Default)]
struct Tally {
    /// Changes the API server accepted.
    changes: AtomicU64,
    /// Changes refused (the API server was down).
    refused: AtomicU64,
    /// `/api/status` answers and errors.
    answers: AtomicU64,
    errors: AtomicU64,
}

const SELECTOR: &str = "app.kubernetes.io/name=workflow-worker";

fn pod(i: u64) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("workflow-worker-soak-{i}"), "namespace": "msp", "labels": {
            "app.kubernetes.io/name": "workflow-worker", "app.kubernetes.io/instance": "workflow-worker",
            "app.kubernetes.io/component": "workflow-worker"}},
        "spec": {"containers": [{"name": "workflow-worker", "image": "ghcr.io/nine-minds/workflow-worker:61e4a00e"}]}
    })
}

fn pod_status(i: u64, restarts: u64) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("workflow-worker-soak-{i}"), "namespace": "msp"},
        "status": {"phase": "Running", "containerStatuses": [{"name": "workflow-worker",
            "image": "ghcr.io/nine-minds/workflow-worker:61e4a00e", "imageID": "", "ready": restarts.is_multiple_of(2),
            "restartCount": restarts, "state": {"running": {"startedAt": "2026-12-01T00:00:00Z"}}}]}
    })
}

/// One change: create, update the status of, or delete a pod, or record an event.
async fn change(pods: &Api<Pod>, events: &Api<Event>, n: u64) -> kube::Result<()> {
    let i = (n * 7919) % SLOTS;
    let apply = PatchParams::apply("soak").force();
    match n % 10 {
        0 => pods
            .delete(
                &format!("workflow-worker-soak-{i}"),
                &DeleteParams::default().grace_period(0),
            )
            .await
            .map(|_| ())
            .or_else(|e| match e {
                kube::Error::Api(s) if s.code == 404 => Ok(()),
                e => Err(e),
            }),
        1..=3 => pods
            .patch(
                &format!("workflow-worker-soak-{i}"),
                &apply,
                &Patch::Apply(&pod(i)),
            )
            .await
            .map(|_| ()),
        4..=7 => pods
            .patch_status(
                &format!("workflow-worker-soak-{i}"),
                &apply,
                &Patch::Apply(&pod_status(i, n % 97)),
            )
            .await
            .map(|_| ())
            .or_else(|e| match e {
                kube::Error::Api(s) if s.code == 404 => Ok(()),
                e => Err(e),
            }),
        _ => {
            // As the kubelet records a repeated event: one Event per object and reason, its
            // count and last timestamp raised (so the churn's events are bounded, like a node's).
            let reason = ["BackOff", "Pulled", "Unhealthy"][(n % 3) as usize];
            let name = format!("workflow-worker-soak-{i}.{}", reason.to_lowercase());
            let now = jiff::Timestamp::now().to_string();
            let event = json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": "msp"},
                "involvedObject": {"kind": "Pod", "namespace": "msp", "name": format!("workflow-worker-soak-{i}")},
                "reason": reason,
                "message": format!("{reason} of workflow-worker-soak-{i}"), "type": "Warning", "count": n,
                "firstTimestamp": "2026-12-01T00:00:00Z", "lastTimestamp": now
            });
            events
                .patch(&name, &apply, &Patch::Apply(&event))
                .await
                .map(|_| ())
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let minutes: u64 = std::env::var("SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    let mut cluster = TestCluster::start()?;
    cluster.install_flux_crds()?;
    for ns in testenv::NAMESPACES {
        let _ = cluster.kubectl(&["create", "namespace", ns], None);
    }
    let (mut child, port) = support::serve(
        &cluster.kubeconfig,
        TOKEN,
        &["--no-log-tails", "--no-outbound-checks"],
    )?;
    let pid = child.id();
    let url = format!("http://127.0.0.1:{port}/api/status");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let began = Instant::now();
    while !http
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(60),
            "the service never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let client = cluster.client().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "msp");
    let events: Api<Event> = Api::namespaced(client.clone(), "msp");
    let churn = {
        let (stop, tally, pods, events) =
            (stop.clone(), tally.clone(), pods.clone(), events.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
            let mut n = 0u64;
            let limit = Arc::new(tokio::sync::Semaphore::new(16));
            while !stop.load(Relaxed) {
                tick.tick().await;
                n += 1;
                let permit = limit.clone().acquire_owned().await.expect("open");
                let (tally, pods, events) = (tally.clone(), pods.clone(), events.clone());
                tokio::spawn(async move {
                    match change(&pods, &events, n).await {
                        Ok(()) => tally.changes.fetch_add(1, Relaxed),
                        Err(_) => tally.refused.fetch_add(1, Relaxed),
                    };
                    drop(permit);
                });
            }
        })
    };
    let poll = {
        let (stop, tally, http, url) = (stop.clone(), tally.clone(), http.clone(), url.clone());
        tokio::spawn(async move {
            while !stop.load(Relaxed) {
                match http.get(&url).bearer_auth(TOKEN).send().await {
                    Ok(r) if r.status().is_success() => tally.answers.fetch_add(1, Relaxed),
                    _ => tally.errors.fetch_add(1, Relaxed),
                };
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // Memory every 10 s; the API server is killed every 2 minutes and started 15 s later.
    let mut rss = Vec::new();
    let mut outages = 0;
    let mut up_time = Duration::ZERO;
    let mut changes_while_up = 0;
    let end = began + Duration::from_secs(60 * minutes);
    let mut next_kill = began + Duration::from_secs(120);
    let mut up_since = Instant::now();
    let mut changes_at_up = 0;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(10)).await;
        anyhow::ensure!(child.try_wait()?.is_none(), "the service exited");
        rss.push((
            began.elapsed().as_secs(),
            support::memory_kib(pid, "VmRSS:"),
        ));
        if Instant::now() >= next_kill && Instant::now() + Duration::from_secs(30) < end {
            up_time += up_since.elapsed();
            changes_while_up += tally.changes.load(Relaxed) - changes_at_up;
            cluster.stop_apiserver();
            outages += 1;
            tokio::time::sleep(Duration::from_secs(15)).await;
            cluster.start_apiserver()?;
            up_since = Instant::now();
            changes_at_up = tally.changes.load(Relaxed);
            next_kill += Duration::from_secs(120);
        }
    }
    up_time += up_since.elapsed();
    changes_while_up += tally.changes.load(Relaxed) - changes_at_up;
    stop.store(true, Relaxed);
    churn.await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The final state: each remaining pod gets a known restart count; the document must show
    // their sum, read from the API server itself.
    let remaining = pods.list(&ListParams::default().labels(SELECTOR)).await?;
    let apply = PatchParams::apply("soak").force();
    for p in &remaining.items {
        let name = p.metadata.name.clone().unwrap_or_default();
        let i: u64 = name
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        pods.patch_status(&name, &apply, &Patch::Apply(&pod_status(i, 1000 + i)))
            .await?;
    }
    let expected: u64 = pods
        .list(&ListParams::default().labels(SELECTOR))
        .await?
        .items
        .iter()
        .flat_map(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.clone())
                .unwrap_or_default()
        })
        .map(|c| c.restart_count as u64)
        .sum();
    let settle = Instant::now();
    let reflected = loop {
        let body = http
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await?
            .bytes()
            .await?;
        let doc: serde_json::Value = serde_json::from_slice(&body)?;
        let seen = doc["components"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == "workflow-worker"))
            .and_then(|c| c["restarts"].as_u64());
        if seen == Some(expected) && doc["source"]["stale"] == false {
            break Some(settle.elapsed());
        }
        if settle.elapsed() > Duration::from_secs(60) {
            eprintln!("final state not reflected: document {seen:?}, API server {expected}");
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop.store(true, Relaxed);
    poll.await?;
    let restarted = child.try_wait()?.is_some();
    let _ = child.kill();

    let mib = |k: u64| k as f64 / 1024.0;
    let window = |from: u64, to: u64| {
        let v: Vec<u64> = rss
            .iter()
            .filter(|(t, _)| (from..to).contains(t))
            .map(|(_, r)| *r)
            .collect();
        v.iter().sum::<u64>() as f64 / v.len().max(1) as f64
    };
    let second = window(60, 120);
    let last = window(60 * minutes - 60, 60 * minutes + 60);
    let max = rss.iter().map(|(_, r)| *r).max().unwrap_or(0);
    println!(
        "soak: {minutes} min on {} cores, {} pods cycled",
        std::thread::available_parallelism()?,
        remaining.items.len()
    );
    println!(
        "  changes: {} accepted ({:.1}/s while the API server was up), {} refused during {outages} outages",
        tally.changes.load(Relaxed),
        changes_while_up as f64 / up_time.as_secs_f64(),
        tally.refused.load(Relaxed)
    );
    println!(
        "  /api/status: {} answers, {} errors",
        tally.answers.load(Relaxed),
        tally.errors.load(Relaxed)
    );
    println!(
        "  RSS: second minute {:.1} MiB, last minute {:.1} MiB (growth {:+.1} %), max {:.1} MiB",
        mib(second as u64),
        mib(last as u64),
        (last - second) / second * 100.0,
        mib(max)
    );
    // The first sample of each minute, to show the shape.
    let mut timeline: Vec<String> = Vec::new();
    for (t, r) in &rss {
        if timeline.len() as u64 <= t / 60 {
            timeline.push(format!("{:.1}", mib(*r)));
        }
    }
    println!("  RSS by minute (MiB): {}", timeline.join(", "));
    println!(
        "  service restarted: {}",
        if restarted { "yes" } else { "no" }
    );
    match reflected {
        Some(t) => println!("  final state ({expected} restarts over {} pods) reflected {:.1} s after the churn stopped", remaining.items.len(), t.as_secs_f64()),
        None => anyhow::bail!("the final state was not reflected"),
    }
    anyhow::ensure!(
        !restarted && tally.errors.load(Relaxed) == 0,
        "the service restarted or failed to answer"
    );
    Ok(())
}
