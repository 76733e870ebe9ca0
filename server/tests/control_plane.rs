//! Real signals from real components (issue 10, part 4): on a control plane of kube-apiserver,
//! kube-controller-manager, kube-scheduler, the appliance's node simulated by kwok, and Flux's
//! source-controller and kustomize-controller (`testenv::smoke`), situations the engine has
//! otherwise met only as states we wrote, each asserted through `/api/status`:
//!
//! 1. alga-core asks for more memory than the node has: the scheduler's `Insufficient memory`;
//! 2. the bootstrap Job's pods fail (kwok's chaos Stage): the Job controller's
//!    `BackoffLimitExceeded` once `backoffLimit` is spent;
//! 3. the platform tier's Kustomization points at a path missing from the release branch:
//!    kustomize-controller fails it, and the core tier waits with `DependencyNotReady`;
//! 4. (kwok's part, not a control-plane signal) a background container crash-loops: kwok plays
//!    the kubelet's exit, back-off and restart count.
//!
//! (A pod referencing a deleted Secret is a kubelet signal, `CreateContainerConfigError`, which kwok
//! does not produce; it is not among these.)

use app::status::{RollupState, Severity, StatusDocument};
use serde_json::json;
use std::time::{Duration, Instant};
use testenv::smoke::Smoke;

const TOKEN: &str = "control-plane-test-token-0123456789abcdef";

struct Service {
    _served: testenv::Served,
    url: String,
    http: reqwest::Client,
}

impl Service {
    async fn status(&self) -> Option<StatusDocument> {
        let r = self
            .http
            .get(format!("{}/api/status", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .ok()?;
        serde_json::from_slice(&r.bytes().await.ok()?).ok()
    }

    /// Waits until `f` holds for the published document (up to `within`), and returns it.
    async fn until(
        &self,
        what: &str,
        within: Duration,
        f: impl Fn(&StatusDocument) -> bool,
    ) -> StatusDocument {
        let began = Instant::now();
        let mut last = None;
        loop {
            if let Some(doc) = self.status().await {
                if f(&doc) {
                    return doc;
                }
                last = Some(doc);
            }
            if began.elapsed() > within {
                let summary = last.map(|d| {
                    (
                        d.rollup,
                        d.top_blockers
                            .iter()
                            .map(|b| format!("{} [{:?}]: {}", b.component, b.severity, b.reason))
                            .collect::<Vec<_>>(),
                    )
                });
                panic!("{what}: not within {within:?}; last document: {summary:#?}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn apply(smoke: &Smoke, yaml: &str) {
    smoke
        .cluster
        .kubectl(&["apply", "-f", "-"], Some(yaml))
        .unwrap();
}

fn delete(smoke: &Smoke, args: &[&str]) {
    let mut all = vec!["delete", "--wait=true", "--ignore-not-found"];
    all.extend_from_slice(args);
    smoke.cluster.kubectl(&all, None).unwrap();
}

/// `kubectl get ARGS -o jsonpath=PATH` in namespace msp.
fn get_jsonpath(smoke: &Smoke, args: &[&str], path: &str) -> String {
    let output = format!("jsonpath={path}");
    let mut all = vec!["get", "-n", "msp"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", &output]);
    smoke.cluster.kubectl(&all, None).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_signals_from_real_components() {
    let dir = tempfile::tempdir().unwrap();
    let smoke = Smoke::start(&dir.path().join("smoke")).await.unwrap();
    apply(
        &smoke,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: msp}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: alga-system}\n",
    );
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let served = testenv::Served::start(
        env!("CARGO_BIN_EXE_appliance-status"),
        &[
            &"--kubeconfig",
            &smoke.cluster.kubeconfig,
            &"--token-file",
            &token,
            &"--no-log-tails",
            &"--dns-check",
            &"localhost",
            &"--https-check",
            &"",
            &"--no-release-check",
        ],
        &[],
    )
    .unwrap();
    let service = Service {
        url: served.url(),
        _served: served,
        http: reqwest::Client::new(),
    };

    // 1. The scheduler: alga-core's pod cannot fit on the 16 GiB node.
    apply(
        &smoke,
        &json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "alga-core-sebastian", "namespace": "msp",
                         "labels": {"app.kubernetes.io/name": "sebastian", "app.kubernetes.io/instance": "alga-core"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": "sebastian", "app.kubernetes.io/instance": "alga-core"}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "sebastian", "app.kubernetes.io/instance": "alga-core", "app.kubernetes.io/component": "main"}},
                    "spec": {"containers": [{"name": "sebastian", "image": "ghcr.io/nine-minds/alga-psa-ee:61e4a00f",
                        "resources": {"requests": {"memory": "64Gi", "cpu": "500m"}}}]},
                },
            },
        })
        .to_string(),
    );
    let doc = service
        .until("alga-core unschedulable", Duration::from_secs(60), |d| {
            d.top_blockers
                .iter()
                .any(|b| b.component == "alga-core" && b.reason.contains("Insufficient memory"))
        })
        .await;
    let b = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "alga-core")
        .unwrap();
    assert!(b.login_blocking, "{b:#?}");
    assert!(!doc.tiers.login.ready);
    let events = get_jsonpath(
        &smoke,
        &["events", "--field-selector=reason=FailedScheduling"],
        "{.items[*].message}",
    );
    assert!(
        events.contains("Insufficient memory"),
        "the scheduler's own words: {events}"
    );
    delete(&smoke, &["deployment", "-n", "msp", "alga-core-sebastian"]);

    // 2. The Job controller: the bootstrap's pods fail until backoffLimit is spent.
    apply(
        &smoke,
        &json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "alga-core-sebastian-bootstrap", "namespace": "msp"},
            "spec": {
                "backoffLimit": 2,
                "ttlSecondsAfterFinished": 300,
                "template": {
                    "metadata": {
                        // kwok's chaos Stage: the container exits 1 (its template does not quote
                        // the message: no colons).
                        "labels": {"pod-container-running-failed.stage.kwok.x-k8s.io": "true"},
                        "annotations": {
                            "pod-container-running-failed.stage.kwok.x-k8s.io/reason": "Error",
                            "pod-container-running-failed.stage.kwok.x-k8s.io/message": "could not connect to the database db on port 5432",
                        },
                    },
                    "spec": {"restartPolicy": "Never",
                             "containers": [{"name": "bootstrap", "image": "ghcr.io/nine-minds/alga-psa-ee:61e4a00f"}]},
                },
            },
        })
        .to_string(),
    );
    let doc = service
        .until("the bootstrap Job failed", Duration::from_secs(180), |d| {
            d.top_blockers
                .iter()
                .any(|b| b.component == "bootstrap-job" && b.severity == Severity::Critical)
        })
        .await;
    let job = get_jsonpath(
        &smoke,
        &["job", "alga-core-sebastian-bootstrap"],
        "{.status.conditions[?(@.type==\"Failed\")].reason}",
    );
    assert_eq!(
        job.trim(),
        "BackoffLimitExceeded",
        "the Job controller's reason"
    );
    assert_eq!(doc.rollup.state, RollupState::FailedActionRequired);
    let b = doc
        .top_blockers
        .iter()
        .find(|b| b.component == "bootstrap-job")
        .unwrap();
    assert!(b.login_blocking, "{b:#?}");
    delete(
        &smoke,
        &["job", "-n", "msp", "alga-core-sebastian-bootstrap"],
    );

    // 4. kwok plays a crashing container (the harness's crash-loop Stages): the background
    //    component reads as crashing, with the kubelet's exit and back-off, not as installing.
    apply(
        &smoke,
        &json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "email-service", "namespace": "msp"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": "email-service"}},
                "template": {
                    "metadata": {"labels": {
                        "app.kubernetes.io/name": "email-service",
                        "app.kubernetes.io/instance": "email-service",
                        "app.kubernetes.io/component": "email-service",
                        testenv::controlplane::CRASH_LOOP_LABEL: "true",
                    }},
                    "spec": {"containers": [{"name": "email-service", "image": "ghcr.io/nine-minds/email-service:61e4a00f"}]},
                },
            },
        })
        .to_string(),
    );
    let doc = service
        .until(
            "email-service crash-looping",
            Duration::from_secs(90),
            |d| {
                d.components.iter().any(|c| {
                    c.name == "email-service"
                        && c.restarts >= 2
                        && c.message.contains("keeps crashing")
                })
            },
        )
        .await;
    let c = doc
        .components
        .iter()
        .find(|c| c.name == "email-service")
        .unwrap();
    assert!(c.message.contains("last exit: Error, code 1"), "{c:#?}");
    // A background crash never blocks login.
    assert!(doc
        .top_blockers
        .iter()
        .filter(|b| b.component == "email-service")
        .all(|b| !b.login_blocking));
    delete(&smoke, &["deployment", "-n", "msp", "email-service"]);

    // 3. kustomize-controller: the platform tier's path is missing; core waits on it.
    let tiers = std::fs::read_to_string(testenv::project_root().join("flux/base/tiers.yaml"))
        .unwrap()
        .replace("path: ./flux/base/platform", "path: ./flux/base/platfrom");
    apply(
        &smoke,
        &format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: alga-appliance, namespace: flux-system}}\nspec:\n  interval: 1m\n  url: {}\n  ref: {{branch: release/1.0-rc5}}\n---\n{tiers}",
            smoke.git_url
        ),
    );
    let doc = service
        .until(
            "the platform tier's Kustomization failed, core waiting",
            Duration::from_secs(120),
            |d| {
                let core_waiting = d.flux.iter().any(|f| {
                    f.kind == "Kustomization"
                        && f.name == "alga-core"
                        && f.reason == "DependencyNotReady"
                });
                core_waiting
                    && d.top_blockers.iter().any(|b| {
                        b.reason.contains("alga-platform") || b.id.contains("alga-platform")
                    })
            },
        )
        .await;
    let platform = doc
        .flux
        .iter()
        .find(|f| f.kind == "Kustomization" && f.name == "alga-platform")
        .unwrap();
    assert_eq!(platform.ready, Some(false), "{platform:#?}");
    assert!(
        platform.message.contains("platfrom"),
        "kustomize-controller names the path: {platform:#?}"
    );
    // The waiting tier is not a second failure: no blocker is about alga-core's Kustomization.
    assert!(
        !doc.top_blockers
            .iter()
            .any(|b| b.id.contains("kustomization") && b.id.contains("alga-core")),
        "{:#?}",
        doc.top_blockers
    );
    assert!(!doc.tiers.platform.ready);
}
