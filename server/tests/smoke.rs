//! The storage smoke probe against a real kube-apiserver, through the chart's opt-in Role (in the
//! smoke namespace the chart creates, `appliance-system-smoke`, under Pod Security `restricted`)
//! and a genuine service-account token. The test server has no provisioner and no kubelet, so the
//! test plays both where a case needs them: it binds the claim and reports the pod's outcome
//! through the status subresources, as they would.

use appliance_status::smoke::{run_once, SmokeConfig, LABEL};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::Client;
use serde_json::json;
use std::time::Duration;
use testenv::{chart_template, TestCluster, NAMESPACES};

/// The chart's smoke namespace for release namespace `appliance-system`.
const SMOKE_NAMESPACE: &str = "appliance-system-smoke";

/// Plays provisioner and kubelet: binds every smoke claim and ends every smoke pod in `phase`.
fn fake_node(admin: Client, phase: &'static str) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(admin.clone(), SMOKE_NAMESPACE);
        let pods: Api<Pod> = Api::namespaced(admin, SMOKE_NAMESPACE);
        let lp = ListParams::default().labels(LABEL);
        loop {
            for c in pvcs.list(&lp).await.map(|l| l.items).unwrap_or_default() {
                let name = c.metadata.name.unwrap_or_default();
                let _ = pvcs
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": {"phase": "Bound"}})),
                    )
                    .await;
            }
            for p in pods.list(&lp).await.map(|l| l.items).unwrap_or_default() {
                let name = p.metadata.name.unwrap_or_default();
                let terminated = if phase == "Failed" {
                    json!({"reason": "Error", "exitCode": 1, "message": "cannot write to /smoke: Read-only file system"})
                } else {
                    json!({"reason": "Completed", "exitCode": 0})
                };
                let status = json!({"status": {"phase": phase, "containerStatuses": [{
                    "name": "write", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": terminated}}]}});
                let _ = pods
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_smoke_probe_through_the_charts_opt_in_role() {
    let cluster = TestCluster::start().expect("test API server");
    // The chart's Roles in msp and alga-system need those namespaces (issue 9 removes that need).
    for ns in NAMESPACES {
        let _ = cluster.kubectl(&["create", "namespace", ns], None);
    }
    // Without the opt-in the account may not create claims: the probe says so.
    cluster
        .kubectl(&["apply", "-f", "-"], Some(&chart_template(&[])))
        .unwrap();
    let kubeconfig = cluster
        .service_account_kubeconfig("appliance-system", "appliance-status")
        .unwrap();
    let client = appliance_status::collect::client(Some(&kubeconfig))
        .await
        .unwrap();
    let mut cfg = SmokeConfig::new(SMOKE_NAMESPACE, "ghcr.io/nine-minds/appliance-status:0.1.0");
    cfg.timeout = Duration::from_secs(3);
    let err = run_once(&client, &cfg, 1).await.unwrap_err().to_string();
    assert!(
        err.contains("forbidden") || err.contains("Forbidden"),
        "{err}"
    );

    cluster
        .kubectl(
            &["apply", "-f", "-"],
            Some(&chart_template(&["--set", "storageSmoke.enabled=true"])),
        )
        .unwrap();
    let admin = cluster.client().await.unwrap();

    // No provisioner: the claim never binds, and the probe says what it saw.
    let err = run_once(&client, &cfg, 2).await.unwrap_err().to_string();
    assert!(
        err.contains("did not bind") && err.contains("claim Pending"),
        "{err}"
    );

    // A provisioner and a kubelet that succeed: ok.
    let node = fake_node(admin.clone(), "Succeeded");
    cfg.timeout = Duration::from_secs(20);
    run_once(&client, &cfg, 3).await.expect("the probe passes");
    node.abort();

    // The writer fails: the probe names the container's reason.
    let node = fake_node(admin.clone(), "Failed");
    let err = run_once(&client, &cfg, 4).await.unwrap_err().to_string();
    assert!(err.contains("Read-only file system"), "{err}");
    node.abort();

    // Every run cleans up after itself: no smoke pod is left, and every claim is deleted (the
    // test server has no controller to drop the pvc-protection finalizer, so they wait there).
    let pods: Api<Pod> = Api::namespaced(admin.clone(), SMOKE_NAMESPACE);
    let lp = ListParams::default().labels(LABEL);
    assert!(pods.list(&lp).await.unwrap().items.is_empty());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(admin, SMOKE_NAMESPACE);
    assert!(pvcs
        .list(&lp)
        .await
        .unwrap()
        .items
        .iter()
        .all(|c| c.metadata.deletion_timestamp.is_some()));
}
