//! The storage smoke probe (PRD PLATFORM_READY: "storage smoke test passes"): a short-lived claim
//! on the local-path class and a pod that writes to it, in a namespace of their own
//! (`--storage-smoke-namespace`; the chart's `<release namespace>-smoke`, which enforces Pod
//! Security `restricted`: the service's own namespace cannot, its pod uses the node's port or
//! network). It is the only thing the service ever writes, so it runs only when enabled
//! (`--storage-smoke`, the chart's `storageSmoke.enabled`, which creates that namespace and a Role
//! to create and delete claims and pods in it alone); without it the check says it is inferred
//! from bound claims. The pod below passes `restricted` (`server/tests/chart.rs` proves it on a
//! real API server).
//!
//! Each run: remove leftovers of an earlier run (by label), create the claim and the pod, wait for
//! the claim to bind and the pod to succeed, delete both, and report `ok` or the reason as the
//! `storage-smoke` probe.

use crate::change::Change;
use crate::{Error, Result};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::Client;
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

/// The label on every object the probe creates.
pub const LABEL: &str = "app.kubernetes.io/component=storage-smoke";

/// What the probe creates, where, and how often.
#[derive(Clone, Debug)]
pub struct SmokeConfig {
    pub namespace: String,
    pub storage_class: String,
    /// The image the writer pod runs: the service's own (already on the node), whose binary has
    /// the `smoke-write` subcommand.
    pub image: String,
    /// The writer's command.
    pub command: Vec<String>,
    /// How long the claim may take to bind and the pod to finish.
    pub timeout: Duration,
    /// Time between runs.
    pub interval: Duration,
}

impl SmokeConfig {
    /// Defaults for the service's own image.
    pub fn new(namespace: &str, image: &str) -> SmokeConfig {
        SmokeConfig {
            namespace: namespace.to_string(),
            storage_class: "local-path".into(),
            image: image.to_string(),
            command: vec![
                "appliance-status".into(),
                "smoke-write".into(),
                "/smoke".into(),
            ],
            timeout: Duration::from_secs(180),
            interval: Duration::from_secs(30 * 60),
        }
    }
}

fn objects(cfg: &SmokeConfig, name: &str) -> (PersistentVolumeClaim, Pod) {
    let (key, value) = LABEL.split_once('=').unwrap_or((LABEL, ""));
    let labels = json!({"app.kubernetes.io/name": "appliance-status", key: value});
    let pvc = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": cfg.namespace, "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cfg.storage_class,
                 "resources": {"requests": {"storage": "1Mi"}}}
    }))
    .expect("a valid claim");
    let pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": cfg.namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "write", "image": cfg.image, "imagePullPolicy": "IfNotPresent", "command": cfg.command,
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
                "volumeMounts": [{"name": "data", "mountPath": "/smoke"}]
            }],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]
        }
    }))
    .expect("a valid pod");
    (pvc, pod)
}

/// Deletes every object of earlier runs (a crash between create and delete leaves some).
async fn clean(pvcs: &Api<PersistentVolumeClaim>, pods: &Api<Pod>) -> Result<()> {
    let lp = ListParams::default().labels(LABEL);
    let dp = DeleteParams::background();
    pods.delete_collection(&dp, &lp)
        .await
        .map_err(call("cannot delete earlier smoke pods"))?;
    pvcs.delete_collection(&dp, &lp)
        .await
        .map_err(call("cannot delete earlier smoke claims"))?;
    Ok(())
}

/// A failed request to the API server, with `what` it was for.
fn call(what: &'static str) -> impl FnOnce(kube::Error) -> Error {
    move |error| Error::KubeCall { what, error }
}

/// One run: `Ok` when the claim bound and the writer succeeded in time, else why not.
pub async fn run_once(client: &Client, cfg: &SmokeConfig, run: u64) -> Result<()> {
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &cfg.namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &cfg.namespace);
    clean(&pvcs, &pods).await?;
    let name = format!("appliance-status-smoke-{run}");
    let (pvc, pod) = objects(cfg, &name);
    pvcs.create(&PostParams::default(), &pvc)
        .await
        .map_err(call("cannot create the test claim"))?;
    let outcome = match pods.create(&PostParams::default(), &pod).await {
        Ok(_) => wait(&pvcs, &pods, &name, cfg).await,
        Err(e) => Err(call("cannot create the test pod")(e)),
    };
    let cleanup = clean(&pvcs, &pods).await;
    outcome.and(cleanup)
}

async fn wait(
    pvcs: &Api<PersistentVolumeClaim>,
    pods: &Api<Pod>,
    name: &str,
    cfg: &SmokeConfig,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + cfg.timeout;
    loop {
        let phase = pvcs
            .get(name)
            .await
            .map_err(call("cannot read the test claim"))?
            .status
            .and_then(|s| s.phase)
            .unwrap_or_else(|| "Pending".into());
        let pod = pods
            .get(name)
            .await
            .map_err(call("cannot read the test pod"))?;
        let status = pod.status.unwrap_or_default();
        match status.phase.as_deref() {
            Some("Succeeded") if phase == "Bound" => return Ok(()),
            Some("Failed") => {
                let why = status
                    .container_statuses
                    .into_iter()
                    .flatten()
                    .find_map(|c| c.state?.terminated)
                    .map(|t| {
                        format!(
                            "{} (exit code {}){}",
                            t.reason.unwrap_or_default(),
                            t.exit_code,
                            t.message.map(|m| format!(": {m}")).unwrap_or_default()
                        )
                    })
                    .unwrap_or_else(|| status.reason.unwrap_or_default());
                return Err(Error::SmokeWrite {
                    class: cfg.storage_class.clone(),
                    why,
                });
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            let unscheduled = status
                .conditions
                .into_iter()
                .flatten()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False")
                .and_then(|c| c.message);
            return Err(Error::SmokeTimeout {
                class: cfg.storage_class.clone(),
                secs: cfg.timeout.as_secs(),
                claim: phase,
                pod: status.phase.unwrap_or_else(|| "Pending".into()),
                unscheduled,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs the probe every `interval` (every minute while it fails) and reports each outcome.
pub async fn run(client: Client, cfg: SmokeConfig, tx: mpsc::Sender<Change>) {
    let mut run = 0u64;
    loop {
        run += 1;
        let outcome = run_once(&client, &cfg, run).await;
        let value = match &outcome {
            Ok(()) => "ok".to_string(),
            Err(e) => {
                tracing::warn!("storage smoke probe: {e}");
                format!("error: {e}")
            }
        };
        if tx
            .send(Change::Probe("storage-smoke".into(), Some(value)))
            .await
            .is_err()
        {
            return;
        }
        let pause = if outcome.is_ok() {
            cfg.interval
        } else {
            cfg.interval.min(Duration::from_secs(60))
        };
        tokio::time::sleep(pause).await;
    }
}

/// The writer (`appliance-status smoke-write DIR`): writes a file, syncs, reads it back, removes
/// it. Runs in the smoke pod.
pub fn write_and_read(dir: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join("appliance-status-smoke");
    let data = b"appliance-status storage smoke test\n";
    let mut file = std::fs::File::create(&path)?;
    file.write_all(data)?;
    file.sync_all()?;
    let back = std::fs::read(&path)?;
    std::fs::remove_file(&path)?;
    if back != data {
        return Err(std::io::Error::other("read back different bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_writes_reads_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("smoke-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_and_read(&dir).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        assert!(write_and_read(&dir.join("missing")).is_err());
    }

    #[test]
    fn objects_are_labelled_and_mount_the_claim() {
        let cfg = SmokeConfig::new(
            "appliance-system-smoke",
            "ghcr.io/nine-minds/appliance-status:0.1.0",
        );
        let (pvc, pod) = objects(&cfg, "appliance-status-smoke-1");
        assert_eq!(
            pvc.metadata.labels.unwrap()["app.kubernetes.io/component"],
            "storage-smoke"
        );
        let spec = pod.spec.unwrap();
        assert_eq!(
            spec.volumes.unwrap()[0]
                .persistent_volume_claim
                .as_ref()
                .unwrap()
                .claim_name,
            "appliance-status-smoke-1"
        );
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    }
}
