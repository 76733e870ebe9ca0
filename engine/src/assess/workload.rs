//! Workload, Job and PVC rules (signals §4). A workload that is not ready, or whose rollout passed
//! its progress deadline, is a symptom: its pods usually say why, and `link` lets a pod-level
//! finding absorb it. While an earlier tier on the way to login is not ready, such a workload only
//! waits (the web pod's `wait-for-bootstrap` init container during the migrations) and is not shown.

use super::index::{ComponentView, Index};
use super::logs::bootstrap_errors;
use super::{evidence, Finding, Progress};
use crate::catalog::ComponentKind;
use app::status::{Layer, Operation, OperationKind};

/// Findings for one component's workloads, Jobs and PVCs.
pub fn findings(
    index: &Index<'_>,
    view: &ComponentView<'_>,
    out: &mut Vec<Finding>,
    ops: &mut Vec<Operation>,
) {
    let c = view.component;
    let new = |layer, progress, slug: &str, reason: String, next: &str| {
        Finding::new(
            &c.name,
            c.tier,
            layer,
            progress,
            slug,
            view.namespace,
            reason,
            next,
        )
    };

    for d in &view.deployments {
        let name = d.metadata.name.as_deref().unwrap_or("");
        let conds = d.status.as_ref().and_then(|s| s.conditions.as_ref());
        if let Some(p) = conds.and_then(|cs| {
            cs.iter().find(|c| {
                c.type_ == "Progressing"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
        }) {
            let msg = p.message.clone().unwrap_or_default();
            let mut f = new(
                Layer::Workload,
                Progress::Failed,
                "rollout-stalled",
                format!("Deployment {name} rollout stalled (progress deadline exceeded) and its pods give no reason"),
                "Read the logs of the deployment's pods and describe them (`kubectl describe pod`) for the cause.",
            )
            .seen_at(p.last_transition_time.as_ref().map(|t| t.0))
            .with(evidence(
                "Deployment",
                Some(view.namespace),
                name,
                Some("ProgressDeadlineExceeded"),
                &msg,
                None,
            ));
            f.waits_for_earlier_tiers = true;
            out.push(f);
        }
    }

    let has_workload = !(view.deployments.is_empty()
        && view.stateful_sets.is_empty()
        && view.daemon_sets.is_empty());
    if has_workload && !view.workloads_ready() {
        let (ready, desired) = view.replicas();
        let since = view
            .deployments
            .iter()
            .filter_map(|d| {
                d.status
                    .as_ref()?
                    .conditions
                    .as_ref()?
                    .iter()
                    .find(|c| c.type_ == "Available" && c.status == "False")?
                    .last_transition_time
                    .as_ref()
                    .map(|t| t.0)
            })
            .chain(
                view.stateful_sets
                    .iter()
                    .filter_map(|s| s.metadata.creation_timestamp.as_ref().map(|t| t.0)),
            )
            .chain(
                view.deployments
                    .iter()
                    .filter_map(|s| s.metadata.creation_timestamp.as_ref().map(|t| t.0)),
            )
            .min();
        let workloads = c
            .workloads
            .iter()
            .map(|w| w.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut f = new(
            Layer::Workload,
            Progress::Progressing,
            "not-ready",
            format!(
                "{} is not ready yet ({ready}/{desired} replicas ready)",
                c.display_name()
            ),
            "Wait for it to start; if it stays here, look at its pods.",
        )
        .seen_at(since)
        .with(evidence(
            c.kind.as_str(),
            Some(view.namespace),
            &workloads,
            None,
            &format!("{ready}/{desired} ready"),
            None,
        ));
        f.waits_for_earlier_tiers = true;
        out.push(f);
    }

    if c.kind == ComponentKind::Job {
        for job in &view.jobs {
            job_findings(index, view, job, &new, out, ops);
        }
    }

    for (name, pvc) in &view.pvcs {
        let Some(pvc) = pvc else { continue };
        let phase = pvc
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending");
        let created = pvc.metadata.creation_timestamp.as_ref().map(|t| t.0);
        match phase {
            "Lost" => out.push(
                new(
                    Layer::Storage,
                    Progress::Failed,
                    &format!("pvc-lost-{name}"),
                    format!("PersistentVolumeClaim {name} lost its volume"),
                    "Restore the volume or recreate the claim (data on it is lost).",
                )
                .seen_at(created)
                .with(evidence(
                    "PersistentVolumeClaim",
                    Some(view.namespace),
                    name,
                    Some("Lost"),
                    "phase Lost",
                    None,
                )),
            ),
            "Pending" => {
                let failed = index
                    .events_for("PersistentVolumeClaim", view.namespace, name)
                    .into_iter()
                    .find(|e| e.reason() == Some("ProvisioningFailed"));
                let f = match failed {
                    Some(e) => new(Layer::Storage, Progress::Failed, &format!("pvc-provisioning-{name}"),
                        format!("Storage for {name} cannot be provisioned: {}", &*e.message),
                        "Check the storage class and the local-path provisioner.")
                        .seen_at(e.first_time())
                        .with(evidence("Event", Some(view.namespace), &format!("PersistentVolumeClaim/{name}"), Some("ProvisioningFailed"), &e.message, None)),
                    None => new(Layer::Storage, Progress::Progressing, &format!("pvc-pending-{name}"),
                        format!("PersistentVolumeClaim {name} is not bound yet"),
                        "Wait for the storage provisioner; if it stays pending, check the local-path provisioner.")
                        .seen_at(created)
                        .with(evidence("PersistentVolumeClaim", Some(view.namespace), name, Some("Pending"), "phase Pending", None)),
                };
                out.push(f);
            }
            _ => {}
        }
    }
}

/// The pods of Job `name` in `view`.
fn job_pods<'v>(
    view: &'v ComponentView<'_>,
    name: &'v str,
) -> impl Iterator<Item = &'v &'v k8s_openapi::api::core::v1::Pod> + 'v {
    view.pods.iter().filter(move |p| {
        p.metadata
            .labels
            .as_ref()
            .and_then(|m| m.get("job-name"))
            .map(String::as_str)
            == Some(name)
    })
}

/// Why the Job's current pod has not started, if it has not: a container waiting to be created
/// (`ErrImagePull`, `ImagePullBackOff`, `CreateContainerConfigError`, `ContainerCreating`, …) or
/// a pod not scheduled yet.
fn job_pod_not_started(view: &ComponentView<'_>, name: &str) -> Option<String> {
    for pod in job_pods(view, name) {
        let status = pod.status.as_ref()?;
        if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            continue;
        }
        let waiting = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten())
            .filter(|c| c.state.as_ref().and_then(|s| s.running.as_ref()).is_none())
            .find_map(|c| {
                c.state
                    .as_ref()?
                    .waiting
                    .as_ref()?
                    .reason
                    .clone()
                    .filter(|r| r != "PodInitializing")
            });
        if let Some(reason) = waiting {
            return Some(reason);
        }
        let any_running = status
            .container_statuses
            .iter()
            .flatten()
            .any(|c| c.state.as_ref().and_then(|s| s.running.as_ref()).is_some());
        if !any_running && status.phase.as_deref() == Some("Pending") {
            return Some("pod pending".into());
        }
    }
    None
}

/// Whether the Job has a pod that is not finished.
fn job_pod_alive(view: &ComponentView<'_>, name: &str) -> bool {
    job_pods(view, name).any(|p| {
        !matches!(
            p.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        )
    })
}

fn job_findings(
    index: &Index<'_>,
    view: &ComponentView<'_>,
    job: &k8s_openapi::api::batch::v1::Job,
    new: &dyn Fn(Layer, Progress, &str, String, &str) -> Finding,
    out: &mut Vec<Finding>,
    ops: &mut Vec<Operation>,
) {
    let name = job.metadata.name.as_deref().unwrap_or("");
    let status = job.status.as_ref();
    let failed = status.and_then(|s| s.conditions.as_ref()).and_then(|cs| {
        cs.iter()
            .find(|c| c.type_ == "Failed" && c.status == "True")
    });
    let complete = super::facts::job_complete(job);
    // Log lines of the Job's pods.
    let log_lines: Vec<String> = index
        .snapshot
        .logs
        .iter()
        .filter(|l| {
            l.namespace == view.namespace
                && view.pods.iter().any(|p| {
                    p.metadata.name.as_deref() == Some(l.pod.as_str())
                        && p.metadata
                            .labels
                            .as_ref()
                            .and_then(|m| m.get("job-name"))
                            .map(String::as_str)
                            == Some(name)
                })
        })
        .flat_map(|l| l.lines.iter().cloned())
        .collect();
    let errors = bootstrap_errors(&log_lines);
    if let Some(cond) = failed {
        let why = format!(
            "{}: {}",
            cond.reason.as_deref().unwrap_or("Failed"),
            cond.message.as_deref().unwrap_or("")
        );
        let reason = match errors.first() {
            Some(line) => format!("Job {name} failed (migrations or seeds): {line}"),
            None => format!("Job {name} failed ({why})"),
        };
        let f = new(Layer::Job, Progress::Failed, "job-failed", reason,
            "Read the job's log lines in evidence, fix the cause (database reachable, migrations, seed data), then re-run the bootstrap.")
            .seen_at(cond.last_transition_time.as_ref().map(|t| t.0))
            .with(evidence("Job", Some(view.namespace), name, cond.reason.as_deref(), cond.message.as_deref().unwrap_or(""), None));
        out.push(f.with_log_lines(view.namespace, name, &errors));
    } else if !complete {
        if let Some(start) = status.and_then(|s| s.start_time.as_ref()).map(|t| t.0) {
            // Failed pods within the backoff limit are attempts, not failure (signals §4).
            let failed_pods = status.and_then(|s| s.failed).unwrap_or(0);
            let limit = job.spec.as_ref().and_then(|s| s.backoff_limit).unwrap_or(6);
            let attempt = if failed_pods > 0 {
                format!(", attempt {} of {}", failed_pods + 1, limit + 1)
            } else {
                String::new()
            };
            // What the operation says must be true of its pod: one that cannot start (its image
            // cannot be pulled, its configuration is refused) is not running migrations.
            let message = match job_pod_not_started(view, name) {
                Some(why) => format!(
                    "database bootstrap waiting for its pod to start ({why}){attempt}"
                ),
                None if failed_pods > 0 && !job_pod_alive(view, name) => format!(
                    "database bootstrap retrying after a failed attempt{attempt}; no action needed yet"
                ),
                None => format!("database bootstrap (migrations and seed data){attempt}"),
            };
            ops.push(Operation {
                kind: OperationKind::Job,
                component: Some(view.component.name.clone()),
                tier: Some(view.component.tier),
                target: format!("Job/{}/{name}", view.namespace),
                started: start,
                elapsed_seconds: 0,
                size_bytes: None,
                message,
            });
            if !errors.is_empty() {
                let f = new(Layer::Log, Progress::Progressing, "job-errors",
                    format!("Job {name} logs errors while running: {}", errors[0]),
                    "Watch whether the job recovers; if it fails, the log lines in evidence name the cause.")
                    .seen_at(Some(start));
                out.push(f.with_log_lines(view.namespace, name, &errors));
            }
        }
    }
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

    #[test]
    fn stalled_rollout_is_absorbed_by_its_pod_cause() {
        let mut r = replay_to(mins(42));
        apply_yaml(
            &mut r.snapshot,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: workflow-worker, namespace: msp}
spec: {replicas: 1, selector: {matchLabels: {app: w}}, template: {spec: {containers: [{name: workflow-worker, image: "ghcr.io/nine-minds/workflow-worker:61e4a00e"}]}}}
status:
  replicas: 1
  readyReplicas: 0
  conditions:
  - {type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: 'ReplicaSet "workflow-worker-8d7f6c5b4" has timed out progressing.', lastTransitionTime: "2026-04-30T01:52:00Z"}
"#,
        );
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(52),
            start + mins(53),
        );
        let wf: Vec<_> = doc
            .top_blockers
            .iter()
            .filter(|b| b.component == "workflow-worker")
            .collect();
        assert_eq!(wf.len(), 1, "{wf:#?}");
        assert_eq!(wf[0].layer, Layer::Image);
        assert!(wf[0]
            .evidence
            .iter()
            .any(|e| e.reason.as_deref() == Some("ProgressDeadlineExceeded")));
    }

    /// What the bootstrap's operation says is true of its pod: one that cannot pull its image is
    /// not "running migrations".
    #[test]
    fn a_job_whose_pod_cannot_start_is_not_running_migrations() {
        let t0 = ts("2026-04-30T02:00:00Z");
        let job = |pod_state: &str| {
            format!(
                r#"
apiVersion: batch/v1
kind: Job
metadata: {{name: alga-core-sebastian-bootstrap-r1, namespace: msp, creationTimestamp: "2026-04-30T01:50:00Z"}}
spec: {{backoffLimit: 6, template: {{spec: {{restartPolicy: Never, containers: [{{name: bootstrap, image: "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5"}}]}}}}}}
status: {{active: 1, startTime: "2026-04-30T01:50:00Z"}}
---
apiVersion: v1
kind: Pod
metadata: {{name: alga-core-sebastian-bootstrap-r1-x7k2p, namespace: msp, labels: {{job-name: alga-core-sebastian-bootstrap-r1}}}}
spec: {{containers: [{{name: bootstrap, image: "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5"}}]}}
status:
  phase: {}
"#,
                pod_state
            )
        };
        let operation = |yaml: String| {
            let mut snap = Snapshot::default();
            apply_yaml(&mut snap, &yaml);
            let doc = assess_twice(
                &mut snap,
                &Probes::default(),
                t0,
                t0 + SignedDuration::from_secs(31),
            );
            doc.active_operations
                .into_iter()
                .find(|o| o.target.contains("bootstrap"))
                .expect("the bootstrap's operation")
                .message
        };
        let pulling = operation(job(
            "Pending\n  containerStatuses: [{name: bootstrap, image: \"ghcr.io/nine-minds/alga-psa-ee:1.0-rc5\", imageID: \"\", ready: false, restartCount: 0, state: {waiting: {reason: ImagePullBackOff, message: \"Back-off pulling image\"}}}]",
        ));
        assert!(
            pulling.contains("waiting for its pod to start (ImagePullBackOff)"),
            "{pulling}"
        );
        assert!(!pulling.contains("migrations"), "{pulling}");
        let running = operation(job(
            "Running\n  containerStatuses: [{name: bootstrap, image: \"ghcr.io/nine-minds/alga-psa-ee:1.0-rc5\", imageID: \"x\", ready: true, restartCount: 0, state: {running: {startedAt: \"2026-04-30T01:51:00Z\"}}}]",
        ));
        assert_eq!(running, "database bootstrap (migrations and seed data)");
    }
}
