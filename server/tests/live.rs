//! The collector against a real kube-apiserver (built from its Go module, RBAC on): the observed
//! bootstrap applied step by step as real objects with status, and the API server stopped and
//! started again.

mod support;

use app::status::{RollupState, SourceMode, StatusDocument, Tier};
use appliance_status::collect::Change;
use appliance_status::scenario::OBSERVED_BOOTSTRAP;
use appliance_status::snapshot::LogExcerpt;
use serde_json::Value;
use std::time::Duration;
use support::{start_collector, wait_for};
use testenv::{ScenarioLoader, TestCluster};
use tokio::sync::mpsc;

fn matches(doc: &StatusDocument, expect: &Value) -> bool {
    let rollup: RollupState = serde_json::from_value(expect["rollup"].clone()).unwrap();
    let ready: Vec<Tier> = serde_json::from_value(expect["ready"].clone()).unwrap();
    let tiers: Vec<Tier> = Tier::ALL
        .into_iter()
        .filter(|t| doc.tiers.get(*t).ready)
        .collect();
    let top_ok = match expect.get("topBlocker").filter(|v| !v.is_null()) {
        Some(b) => doc.top_blockers.first().is_some_and(|t| {
            t.component == b["component"].as_str().unwrap()
                && serde_json::to_value(t.layer).unwrap() == b["layer"]
                && Value::Bool(t.login_blocking) == b["loginBlocking"]
        }),
        None => doc.top_blockers.is_empty(),
    };
    doc.rollup.state == rollup && tiers == ready && top_ok
}

/// What the scenario step says the service measured itself (probes) or read (log tails).
async fn inject_probes_and_logs(step: &Value, extra: &mpsc::Sender<Change>) {
    if let Some(probes) = step.get("probes").and_then(Value::as_object) {
        for (name, value) in probes {
            extra
                .send(Change::Probe(
                    name.clone(),
                    value.as_str().map(str::to_string),
                ))
                .await
                .unwrap();
        }
    }
    for log in step
        .get("logs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let excerpt: LogExcerpt = serde_json::from_value(log).unwrap();
        extra.send(Change::Logs(excerpt)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observed_bootstrap_on_a_real_apiserver() {
    let mut cluster = TestCluster::start().expect("test API server");
    // Flux is not installed yet: the collector must start anyway and pick the CRDs up later.
    let collector = start_collector(&cluster.kubeconfig, false).await;
    collector.wait_synced(Duration::from_secs(30)).await;
    cluster.install_flux_crds().expect("Flux CRDs");

    let client = cluster.client().await.unwrap();
    let mut loader = ScenarioLoader::new(client, OBSERVED_BOOTSTRAP)
        .await
        .unwrap();
    let scenario: Value = serde_yaml::from_str(OBSERVED_BOOTSTRAP).unwrap();
    let steps = scenario["steps"].as_array().unwrap().clone();
    for (i, step) in steps.iter().enumerate() {
        inject_probes_and_logs(step, &collector.extra).await;
        let name = loader.apply_next().await.unwrap().unwrap();
        let expect = loader
            .expectation(i)
            .cloned()
            .expect("every step has an expectation");
        let doc = wait_for(
            &collector.feed,
            Duration::from_secs(30),
            &format!("step {} ({name})", i + 1),
            |d| matches(d, &expect),
        )
        .await;
        assert_eq!(doc.source.mode, SourceMode::Live);
        assert!(!doc.source.stale);
    }
    let doc = collector.feed.current().document.clone();
    assert_eq!(
        doc.release.selected_release_version.as_deref(),
        Some("1.0-rc5")
    );
    assert_eq!(
        doc.urls.login_url.as_deref(),
        Some("http://192.168.64.8:3000")
    );

    // Resilience: the API server goes away; the service keeps answering with a stale document.
    cluster.stop_apiserver();
    let stale = wait_for(
        &collector.feed,
        Duration::from_secs(30),
        "stale, with the outage as a blocker, after the API server stopped",
        |d| {
            d.source.stale
                && d.top_blockers
                    .iter()
                    .any(|b| b.reason.starts_with("Kubernetes API unreachable since"))
        },
    )
    .await;
    assert!(
        stale
            .top_blockers
            .iter()
            .any(|b| b.reason.starts_with("Kubernetes API unreachable since")),
        "{:#?}",
        stale.top_blockers
    );
    // The last known state is kept: login stays ready, the API outage is a platform issue.
    assert!(stale.tiers.login.ready);
    assert_eq!(stale.rollup.state, RollupState::ReadyWithBackgroundIssues);
    assert!(stale
        .source
        .message
        .as_deref()
        .unwrap()
        .contains("unreachable since"));
    // It comes back with no restart of the service, and a change made meanwhile is seen.
    cluster.start_apiserver().expect("restart the API server");
    let back = wait_for(
        &collector.feed,
        Duration::from_secs(60),
        "recovered after the API server restarted",
        |d| !d.source.stale && d.rollup.state == RollupState::FullyHealthy,
    )
    .await;
    assert!(back.top_blockers.is_empty(), "{:#?}", back.top_blockers);
    cluster
        .kubectl(
            &["delete", "deployment", "-n", "msp", "email-service"],
            None,
        )
        .expect("delete a deployment");
    let after = wait_for(
        &collector.feed,
        Duration::from_secs(30),
        "a change after the restart is seen",
        |d| {
            d.components.iter().any(|c| {
                c.name == "email-service" && c.status != app::status::ComponentState::Ready
            })
        },
    )
    .await;
    assert!(after.tiers.login.ready && !after.tiers.background.ready);

    collector.stop().await;
}
