//! The rest of a real control plane beside [`TestCluster`]'s API server: kube-controller-manager
//! and kube-scheduler (built with it by `testing/apiserver/build.sh`), and a node simulated by kwok
//! (`testing/controllers/build.sh`), whose Stages play the kubelet (`testing/smoke/kwok/`).
//!
//! With these, pods come from the ReplicaSet, StatefulSet and Job controllers, the scheduler binds
//! them (or says why not), kwok moves them through their lifecycle, and the TTL controller deletes
//! finished Jobs: the signals are the real components' own.

use crate::TestCluster;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The appliance's node name: its site id (the embedded catalog's `site.siteId`), as the observed
/// bootstrap names its node.
pub const NODE: &str = "appliance-single-node";

/// Builds (or finds cached) source-controller, kustomize-controller, kwok and git-http; returns
/// their directory (`bin/`; beside it, kwok's own Stage files in `stages/`).
pub fn controller_binaries() -> Result<PathBuf> {
    let out = Command::new("bash")
        .arg(crate::project_root().join("testing/controllers/build.sh"))
        .stderr(Stdio::inherit())
        .output()
        .context("running testing/controllers/build.sh")?;
    if !out.status.success() {
        bail!("building the controllers failed ({})", out.status);
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

impl TestCluster {
    /// Starts kube-controller-manager (every default controller: Deployment, ReplicaSet,
    /// StatefulSet, Job, TTL-after-finished, namespace, service-account, garbage collector, ...)
    /// and kube-scheduler, both with the admin kubeconfig.
    pub fn start_controllers(&mut self) -> Result<()> {
        let mut cm = Command::new(self.bin.join("kube-controller-manager"));
        cm.arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .arg("--leader-elect=false")
            .arg("--bind-address=127.0.0.1")
            .arg("--secure-port=0")
            .arg(format!(
                "--service-account-private-key-file={}",
                self.dir.join("sa.key").display()
            ))
            .arg("--use-service-account-credentials=false")
            .arg("--controllers=*")
            // The node lifecycle controller would taint a node whose heartbeat is late; kwok
            // renews it (node-heartbeat Stage), as the kubelet does.
            .arg("--node-monitor-grace-period=50s")
            .arg("--v=1");
        self.spawn("kube-controller-manager", cm)?;
        let mut scheduler = Command::new(self.bin.join("kube-scheduler"));
        scheduler
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .arg(format!(
                "--authentication-kubeconfig={}",
                self.kubeconfig.display()
            ))
            .arg(format!(
                "--authorization-kubeconfig={}",
                self.kubeconfig.display()
            ))
            .arg("--leader-elect=false")
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--secure-port={}", crate::free_port()?))
            .arg(format!("--cert-dir={}", self.dir.join("pki").display()))
            .arg("--v=1");
        self.spawn("kube-scheduler", scheduler)?;
        Ok(())
    }

    /// Creates the node `name` with `status` (capacity, allocatable, nodeInfo: what a kubelet
    /// registers with) and starts kwok for it with `stages` (a multi-document YAML of kwok
    /// Stages), then waits until the node is Ready.
    pub fn start_kwok(
        &mut self,
        kwok: &Path,
        name: &str,
        status: &Value,
        stages: &str,
    ) -> Result<()> {
        let node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node-role.kubernetes.io/control-plane": "",
                    "type": "kwok",
                },
            },
            "spec": {},
            "status": status,
        });
        self.kubectl(&["apply", "-f", "-"], Some(&node.to_string()))?;
        let config = self.dir.join("kwok.yaml");
        std::fs::write(
            &config,
            format!(
                "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n  nodeLeaseDurationSeconds: 40\n  nodeLeaseParallelism: 2\n  podPlayStageParallelism: 4\n  nodePlayStageParallelism: 2\n  podsOnNodeSyncParallelism: 2\n---\n{stages}"
            ),
        )?;
        let mut command = Command::new(kwok);
        command
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .arg(format!("--config={}", config.display()))
            .arg(format!("--manage-single-node={name}"))
            .arg("--node-ip=10.5.0.2")
            .arg("--cidr=10.244.0.0/16")
            // kwok renews the node's Lease (nodeLeaseDurationSeconds above), as the kubelet does.
            ;
        self.spawn("kwok", command)?;
        let began = Instant::now();
        loop {
            self.check_running()?;
            let ready = self
                .kubectl(
                    &[
                        "get",
                        "node",
                        name,
                        "-o",
                        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                    ],
                    None,
                )
                .unwrap_or_default();
            if ready.trim() == "True" {
                return Ok(());
            }
            if began.elapsed() > Duration::from_secs(60) {
                bail!("node {name} not Ready after a minute of kwok");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// The kwok Stages of the simulated node: kwok's own (node initialisation and heartbeat, the
/// general pod lifecycle, and its `pod-container-running-failed` chaos Stage for pods labelled
/// `pod-container-running-failed.stage.kwok.x-k8s.io: "true"`), made deterministic where two
/// could match the same pod, plus, for each image in `missing` (a tag the registry does not
/// have), the kubelet's pull failure: `ErrImagePull` with containerd's `not found`, then
/// `ImagePullBackOff`, and again after the back-off, each with the kubelet's event.
///
/// Wording: kubelet v1.36.3 `pkg/kubelet/images/image_manager.go` (`EnsureImageExists`: event
/// Failed "Failed to pull image %q: %v"; waiting message the runtime's error; in back-off, event
/// BackOff "Back-off pulling image %q" and the waiting message that plus ": ErrImagePull: " and the
/// previous error, since `prevPullErrMsg`), containerd `core/remotes/docker/resolver.go` ("%v: not
/// found") and `client/pull.go` ("failed to pull and unpack image %q"), CRI's NotFound code.
pub fn kwok_stages(stages_dir: &Path, missing: &[&str]) -> Result<String> {
    let mut docs = Vec::new();
    for file in [
        "node-initialize.yaml",
        "node-heartbeat.yaml",
        "pod-create.yaml",
        "pod-init-container-running.yaml",
        "pod-init-container-completed.yaml",
        "pod-ready.yaml",
        "pod-complete.yaml",
        "pod-delete.yaml",
        "pod-container-running-failed.yaml",
    ] {
        let path = stages_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading kwok's Stage {}", path.display()))?;
        let mut stage: Value = serde_yaml::from_str(&text)?;
        match file {
            // A container whose image is missing never starts.
            "pod-ready.yaml" if !missing.is_empty() => {
                add_expression(&mut stage, ".spec.containers.[].image", "NotIn", missing)
            }
            // A pod that kwok's chaos Stage fails does not also complete.
            "pod-complete.yaml" => add_expression(
                &mut stage,
                ".metadata.labels[\"pod-container-running-failed.stage.kwok.x-k8s.io\"]",
                "NotIn",
                &["true"],
            ),
            _ => {}
        }
        docs.push(stage);
    }
    docs.push(crash_stage());
    docs.push(restart_stage());
    for (i, image) in missing.iter().enumerate() {
        let error = format!(
            "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
        );
        let backoff = format!("Back-off pulling image \"{image}\"");
        let backoff_waiting = format!("{backoff}: ErrImagePull: {error}");
        docs.push(pull_stage(
            &format!("image-pull-failed-{i}"),
            image,
            &["ContainerCreating", "ImagePullBackOff"],
            "ErrImagePull",
            &error,
            json!({"type": "Warning", "reason": "Failed",
                   "message": format!("Failed to pull image \"{image}\": {error}")}),
            // The pull attempt, or the back-off before the next one.
            5_000,
        ));
        docs.push(pull_stage(
            &format!("image-pull-backoff-{i}"),
            image,
            &["ErrImagePull"],
            "ImagePullBackOff",
            &backoff_waiting,
            json!({"type": "Normal", "reason": "BackOff", "message": backoff}),
            1_000,
        ));
    }
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&doc)?);
    }
    Ok(out)
}

/// The label that makes kwok crash-loop a pod's containers (the harness's own Stages, below).
pub const CRASH_LOOP_LABEL: &str = "appliance-status.test/crash-loop";

/// A running container of a pod labelled [`CRASH_LOOP_LABEL`] exits 1 after a few seconds; the
/// kubelet then backs off before restarting it (kubelet `pkg/kubelet/kuberuntime`
/// `doBackOff`: waiting reason CrashLoopBackOff, "back-off %s restarting failed container=%s
/// pod=%s", the last state terminated with reason Error), counting the restart.
fn crash_stage() -> Value {
    let conditions = r#"{{ $now := Now }}
{{ $root := . }}
conditions:
- lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: Ready
- lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: ContainersReady
"#;
    let container = r#"  started: false
  restartCount: {{ add1 $origin.restartCount }}
  lastState:
    terminated:
      exitCode: 1
      reason: Error
      startedAt: {{ or $origin.state.running.startedAt $now | Quote }}
      finishedAt: {{ $now | Quote }}
  state:
    waiting:
      reason: CrashLoopBackOff
      message: {{ printf "back-off 10s restarting failed container=%s pod=%s_%s(%s)" $item.name $root.metadata.name $root.metadata.namespace $root.metadata.uid | Quote }}
"#;
    let template = format!("{conditions}{}phase: Running\n", each_container(container));
    pod_stage(
        "container-crash",
        json!([
            {"key": crash_loop_key(), "operator": "In", "values": ["true"]},
            {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
            {"key": ".status.phase", "operator": "In", "values": ["Running"]},
            {"key": ".status.containerStatuses.[].state.running.startedAt", "operator": "Exists"},
        ]),
        3_000,
        json!({"statusTemplate": template}),
    )
}

/// After the back-off, the crash-looping container runs again (until [`crash_stage`]).
fn restart_stage() -> Value {
    let container = r#"  started: true
  restartCount: {{ $origin.restartCount }}
  lastState:
    {{ YAML $origin.lastState 2 }}
  state:
    running:
      startedAt: {{ $now | Quote }}
"#;
    let template = format!(
        "{{{{ $now := Now }}}}\n{{{{ $root := . }}}}\n{}",
        each_container(container)
    );
    pod_stage(
        "container-restart",
        json!([
            {"key": crash_loop_key(), "operator": "In", "values": ["true"]},
            {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
            {"key": ".status.containerStatuses.[].state.waiting.reason", "operator": "In", "values": ["CrashLoopBackOff"]},
        ]),
        10_000,
        json!({"statusTemplate": template}),
    )
}

/// The crash-loop Stages' `containerStatuses`: one not-ready entry per container with `fields`
/// (Go template lines, indented two spaces) added; `$origin` is its current status, `$now` and
/// `$root` must be defined before.
fn each_container(fields: &str) -> String {
    format!(
        "containerStatuses:
{{{{ range $index, $item := .spec.containers }}}}
{{{{ $origin := index $root.status.containerStatuses $index }}}}
- image: {{{{ $item.image | Quote }}}}
  name: {{{{ $item.name | Quote }}}}
  ready: false
{fields}{{{{ end }}}}
"
    )
}

/// A kwok Stage for pods: selector expressions, the delay, and what comes next.
fn pod_stage(name: &str, expressions: Value, delay_ms: u64, next: Value) -> Value {
    json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {"matchExpressions": expressions},
            "delay": {"durationMilliseconds": delay_ms},
            "next": next,
        },
    })
}

fn crash_loop_key() -> String {
    format!(".metadata.labels[\"{CRASH_LOOP_LABEL}\"]")
}

fn add_expression(stage: &mut Value, key: &str, operator: &str, values: &[&str]) {
    if let Some(list) = stage
        .pointer_mut("/spec/selector/matchExpressions")
        .and_then(Value::as_array_mut)
    {
        list.push(json!({"key": key, "operator": operator, "values": values}));
    }
}

fn pull_stage(
    name: &str,
    image: &str,
    from: &[&str],
    reason: &str,
    message: &str,
    event: Value,
    delay_ms: u64,
) -> Value {
    // kwok's templates are Go templates; the message goes in as a quoted YAML string.
    let quoted = serde_json::to_string(message).expect("a string serializes");
    let template = format!(
        "containerStatuses:\n{{{{ range .spec.containers }}}}\n- image: {{{{ .image | Quote }}}}\n  name: {{{{ .name | Quote }}}}\n  ready: false\n  restartCount: 0\n  started: false\n  state:\n    waiting:\n      reason: {reason}\n      message: {quoted}\n{{{{ end }}}}\nphase: Pending\n"
    );
    pod_stage(
        name,
        json!([
            {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
            {"key": ".status.phase", "operator": "In", "values": ["Pending"]},
            {"key": ".spec.containers.[].image", "operator": "In", "values": [image]},
            {"key": ".status.containerStatuses.[].state.waiting.reason", "operator": "In", "values": from},
        ]),
        delay_ms,
        json!({"event": event, "statusTemplate": template}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages_dir() -> fake_kwok::Dir {
        fake_kwok::Dir::with_kwok_like_stages()
    }

    /// Files named as kwok's Stages, with one selector each: what the harness adapts.
    mod fake_kwok {
        use std::path::PathBuf;

        pub struct Dir(pub PathBuf);

        impl Dir {
            pub fn with_kwok_like_stages() -> Dir {
                let dir = std::env::temp_dir().join(format!("kwok-stages-{}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                for name in [
                    "node-initialize",
                    "node-heartbeat",
                    "pod-create",
                    "pod-init-container-running",
                    "pod-init-container-completed",
                    "pod-ready",
                    "pod-complete",
                    "pod-delete",
                    "pod-container-running-failed",
                ] {
                    std::fs::write(
                        dir.join(format!("{name}.yaml")),
                        format!("apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata:\n  name: {name}\nspec:\n  resourceRef: {{apiGroup: v1, kind: Pod}}\n  selector:\n    matchExpressions:\n    - {{key: .metadata.deletionTimestamp, operator: DoesNotExist}}\n"),
                    )
                    .unwrap();
                }
                Dir(dir)
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn stages(text: &str) -> Vec<Value> {
        text.split("---\n")
            .filter(|d| !d.trim().is_empty())
            .map(|d| serde_yaml::from_str(d).unwrap())
            .collect()
    }

    fn expressions<'a>(all: &'a [Value], name: &str) -> &'a Vec<Value> {
        all.iter()
            .find(|s| s["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("stage {name}"))["spec"]["selector"]["matchExpressions"]
            .as_array()
            .unwrap()
    }

    #[test]
    fn a_missing_image_never_becomes_ready_and_fails_with_the_kubelets_words() {
        let dir = stages_dir();
        let image = "ghcr.io/nine-minds/workflow-worker:9d0b3e5c";
        let all = stages(&kwok_stages(&dir.0, &[image]).unwrap());
        // pod-ready excludes it; the pull-failure Stages select it.
        assert!(expressions(&all, "pod-ready").contains(&json!(
            {"key": ".spec.containers.[].image", "operator": "NotIn", "values": [image]}
        )));
        let failed = all
            .iter()
            .find(|s| s["metadata"]["name"] == "image-pull-failed-0")
            .unwrap();
        let event = failed["spec"]["next"]["event"]["message"].as_str().unwrap();
        assert_eq!(
            event,
            format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found")
        );
        let backoff = all
            .iter()
            .find(|s| s["metadata"]["name"] == "image-pull-backoff-0")
            .unwrap();
        let template = backoff["spec"]["next"]["statusTemplate"].as_str().unwrap();
        assert!(template.contains("reason: ImagePullBackOff"));
        assert!(template.contains(&format!(
            "Back-off pulling image \\\"{image}\\\": ErrImagePull: rpc error"
        )));
    }

    #[test]
    fn without_missing_images_pod_ready_is_kwoks_own_and_chaos_pods_never_complete() {
        let dir = stages_dir();
        let all = stages(&kwok_stages(&dir.0, &[]).unwrap());
        assert_eq!(expressions(&all, "pod-ready").len(), 1);
        assert!(expressions(&all, "pod-complete").iter().any(|e| e["key"]
            .as_str()
            .unwrap()
            .contains("pod-container-running-failed")
            && e["operator"] == "NotIn"));
        assert!(all
            .iter()
            .any(|s| s["metadata"]["name"] == "container-crash"));
        assert!(all.iter().all(|s| s["kind"] == "Stage"));
    }
}
