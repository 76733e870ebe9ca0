//! Facts read off single objects, shared by every stage of the engine: whether a node is ready,
//! which state a Flux object is in, whether a workload is ready and current, which workload owns a
//! pod. No finding is made here; rules, the Flux graph and the tiers all read these.

use crate::snapshot::FluxObject;
use jiff::SignedDuration;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// `Ready=True` and schedulable.
pub fn node_ready(n: &Node) -> bool {
    let ready = n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let unschedulable = n
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    ready && !unschedulable
}

/// A Job with `Complete=True`.
pub fn job_complete(j: &k8s_openapi::api::batch::v1::Job) -> bool {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Complete" && c.status == "True")
        })
}

/// A pod with `Ready=True`.
pub fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// What a Flux object is doing, as its conditions say (signals §5, kstatus).
#[derive(Clone, Copy, Debug)]
pub enum FluxState<'a> {
    /// `Ready=True` for the generation it was given.
    Ready,
    /// Reconciling within its own timeout: an operation, not a failure.
    Reconciling {
        condition: &'a Condition,
        /// The timeout the controller announced (`with a timeout of 30m0s`) or `spec.timeout`.
        timeout: Option<SignedDuration>,
    },
    /// `DependencyNotReady`, or the source has no artifact yet: waiting, not failed.
    Waiting(&'a Condition),
    /// `metadata.generation` is ahead of `status.observedGeneration`, or no status yet.
    NotReconciledYet,
    /// `spec.suspend: true`.
    Suspended,
    /// `Stalled=True`, or `Ready=False` with a failure reason.
    Failed {
        /// The condition that says it failed (Stalled, else Ready).
        condition: &'a Condition,
        /// The Ready condition, when it is not `condition` (it carries the Helm or Git error).
        ready: Option<&'a Condition>,
        /// The controller retries by itself (`Reconciling=True`, `ProgressingWithRetry`).
        retrying: bool,
    },
}

impl FluxState<'_> {
    /// Whether the object counts as ready.
    pub fn is_ready(&self) -> bool {
        matches!(self, FluxState::Ready)
    }

    /// Whether the object failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, FluxState::Failed { .. })
    }
}

/// Ready reasons that mean "in progress" rather than "failed".
const PROGRESS_REASONS: [&str; 3] = ["Progressing", "ProgressingWithRetry", ""];

/// Classifies a Flux object. Order matters: a stall beats a retry, a failure beats waiting.
pub fn flux_state(f: &FluxObject) -> FluxState<'_> {
    let ready = f.condition("Ready");
    let reconciling = f.condition("Reconciling").filter(|c| c.status == "True");
    if f.suspended {
        return FluxState::Suspended;
    }
    if let Some(stalled) = f.condition("Stalled").filter(|c| c.status == "True") {
        return FluxState::Failed {
            condition: stalled,
            ready: ready.filter(|r| r.status == "False"),
            retrying: false,
        };
    }
    if let Some(r) = ready.filter(|c| c.status == "False") {
        let waiting = r.reason == "DependencyNotReady"
            || (r.reason == "ArtifactFailed"
                && (r.message.contains("artifact not found")
                    || r.message.contains("Source artifact not found")
                    || r.message.contains("Source is not ready")));
        if waiting {
            return FluxState::Waiting(r);
        }
        if !PROGRESS_REASONS.contains(&r.reason.as_str()) {
            return FluxState::Failed {
                condition: r,
                ready: None,
                retrying: reconciling.is_some(),
            };
        }
    }
    let generation_seen = match (f.generation, f.observed_generation) {
        (Some(g), Some(o)) => o >= g,
        (Some(_), None) => false,
        (None, _) => true,
    };
    if let Some(c) = reconciling.or(ready.filter(|c| c.status != "True")) {
        let timeout = go_duration_after(&c.message, "timeout of ")
            .or_else(|| f.timeout.as_deref().and_then(go_duration));
        return FluxState::Reconciling {
            condition: c,
            timeout,
        };
    }
    match ready {
        Some(r) if r.status == "True" && generation_seen => FluxState::Ready,
        _ => FluxState::NotReconciledYet,
    }
}

/// A Go duration (`30m0s`, `1h0m0s`, `5m`, `300s`, `1.5h`).
pub fn go_duration(text: &str) -> Option<SignedDuration> {
    let mut total = 0f64;
    let mut number = String::new();
    let mut seen = false;
    let mut chars = text.trim().chars().peekable();
    while let Some(ch) = chars.next() {
        if ch.is_ascii_digit() || ch == '.' {
            number.push(ch);
            continue;
        }
        let unit = match ch {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += number.parse::<f64>().ok()? * unit;
        number.clear();
        seen = true;
    }
    // Go's time.Duration ends at 2562047h47m16.854775807s: anything longer is no Go duration
    // (and would overflow the timestamps it is added to).
    if !(seen && number.is_empty()) || total > GO_DURATION_MAX_SECS {
        return None;
    }
    SignedDuration::try_from_secs_f64(total).ok()
}

/// The longest Go duration, in seconds (`math.MaxInt64` nanoseconds).
const GO_DURATION_MAX_SECS: f64 = 9_223_372_036.854_775;

/// The Go duration right after `marker` in a message.
fn go_duration_after(message: &str, marker: &str) -> Option<SignedDuration> {
    let rest = &message[message.find(marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .unwrap_or(rest.len());
    go_duration(&rest[..end])
}

/// The Deployment runs its latest template only: the controller saw the spec, every replica is
/// updated, no old replica is left.
pub fn deployment_current(d: &Deployment) -> bool {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(s) = d.status.as_ref() else {
        return false;
    };
    let seen = match (d.metadata.generation, s.observed_generation) {
        (Some(g), Some(o)) => o >= g,
        _ => true,
    };
    seen && s.updated_replicas.unwrap_or(0) >= want && s.replicas.unwrap_or(0) <= want
}

/// The StatefulSet's pods run its update revision.
pub fn stateful_set_current(s: &StatefulSet) -> bool {
    let Some(st) = s.status.as_ref() else {
        return false;
    };
    let seen = match (s.metadata.generation, st.observed_generation) {
        (Some(g), Some(o)) => o >= g,
        _ => true,
    };
    let revision = match (&st.current_revision, &st.update_revision) {
        (Some(c), Some(u)) => c == u,
        _ => true,
    };
    seen && revision
}

/// The Job has `Failed=True` (backoff limit or deadline exceeded).
pub fn job_failed(job: &k8s_openapi::api::batch::v1::Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Failed" && c.status == "True"))
}

/// The name of the workload (Deployment, StatefulSet, DaemonSet, Job) that owns a pod: a
/// ReplicaSet owner is named `<deployment>-<pod-template-hash>`.
pub fn pod_workload(pod: &Pod) -> Option<(&'static str, String)> {
    let owner = pod
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller.unwrap_or(true))?;
    match owner.kind.as_str() {
        "ReplicaSet" => {
            let hash = pod.metadata.labels.as_ref()?.get("pod-template-hash")?;
            let name = owner.name.strip_suffix(&format!("-{hash}"))?;
            Some(("Deployment", name.to_string()))
        }
        "StatefulSet" => Some(("StatefulSet", owner.name.clone())),
        "DaemonSet" => Some(("DaemonSet", owner.name.clone())),
        "Job" => Some(("Job", owner.name.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{parse_documents, KubeObject};

    fn flux(yaml: &str) -> FluxObject {
        match parse_documents(yaml, "t").unwrap().objects.remove(0) {
            KubeObject::Flux(f) => *f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("30m0s"), Some(SignedDuration::from_mins(30)));
        assert_eq!(go_duration("1h0m0s"), Some(SignedDuration::from_hours(1)));
        assert_eq!(go_duration("5m"), Some(SignedDuration::from_mins(5)));
        assert_eq!(go_duration("90s"), Some(SignedDuration::from_secs(90)));
        assert_eq!(go_duration("soon"), None);
        assert_eq!(go_duration("30"), None);
        // Longer than any Go duration (and a spec may say so): none, never a panic.
        assert_eq!(
            go_duration("2562047h"),
            Some(SignedDuration::from_hours(2562047))
        );
        assert_eq!(go_duration("2562048h"), None);
        assert_eq!(go_duration("100000000h"), None);
        assert_eq!(go_duration(&format!("{}h", "9".repeat(400))), None);
        assert_eq!(
            go_duration_after(
                "Running 'install' action with timeout of 30m0s",
                "timeout of "
            ),
            Some(SignedDuration::from_mins(30))
        );
    }

    /// helm-controller `internal/reconcile/atomic_release.go`: Reconciling=True Progressing with
    /// "Running '%s' action with timeout of %s" while an action runs.
    #[test]
    fn reconciling_helm_release_knows_its_timeout() {
        let hr = flux(
            r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: alga-core, namespace: alga-system, generation: 1}
status:
  observedGeneration: 1
  conditions:
  - {type: Reconciling, status: "True", reason: Progressing, message: "Running 'install' action with timeout of 30m0s", lastTransitionTime: "2026-04-30T01:10:00Z"}
  - {type: Ready, status: Unknown, reason: Progressing, message: "Running 'install' action with timeout of 30m0s", lastTransitionTime: "2026-04-30T01:10:00Z"}
"#,
        );
        match flux_state(&hr) {
            FluxState::Reconciling { timeout, .. } => {
                assert_eq!(timeout, Some(SignedDuration::from_mins(30)))
            }
            other => panic!("{other:?}"),
        }
    }

    /// kustomize-controller `internal/controller/kustomization_controller.go`: a dependency that
    /// is not ready marks Ready=False DependencyNotReady with "dependency '%s' is not ready".
    #[test]
    fn dependency_not_ready_is_waiting_and_stalled_is_failed() {
        let k = flux(
            r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: alga-background, namespace: flux-system, generation: 1}
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "False", reason: DependencyNotReady, message: "dependency 'flux-system/alga-core' is not ready", lastTransitionTime: "2026-04-30T01:10:00Z"}
"#,
        );
        assert!(matches!(flux_state(&k), FluxState::Waiting(_)));
        let hr = flux(
            r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: alga-core, namespace: alga-system, generation: 1}
status:
  observedGeneration: 1
  conditions:
  - {type: Stalled, status: "True", reason: RetriesExceeded, message: "Failed to install after 1 attempt(s)", lastTransitionTime: "2026-04-30T01:40:00Z"}
  - {type: Ready, status: "False", reason: InstallFailed, message: "Helm install failed for release msp/alga-core with chart sebastian@0.1.0: context deadline exceeded", lastTransitionTime: "2026-04-30T01:40:00Z"}
"#,
        );
        match flux_state(&hr) {
            FluxState::Failed {
                condition, ready, ..
            } => {
                assert_eq!(condition.reason, "RetriesExceeded");
                assert!(ready.unwrap().message.contains("context deadline exceeded"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// signals §4: observedGeneration < generation is "not reconciled yet", even if Ready=True.
    #[test]
    fn a_new_generation_is_not_reconciled_yet() {
        let k = flux(
            r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: alga-core, namespace: flux-system, generation: 3}
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: ReconciliationSucceeded, message: "Applied revision: release/1.0-rc5@sha1:979e2079", lastTransitionTime: "2026-04-30T01:10:00Z"}
"#,
        );
        assert!(matches!(flux_state(&k), FluxState::NotReconciledYet));
    }
}
