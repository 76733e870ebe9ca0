//! Root cause over symptom. Findings with the same id merge; a workload's "not ready" or "rollout
//! stalled" becomes evidence of its own pods' cause; a failed Flux object becomes evidence of the
//! lowest cause below it in the Flux graph (a component it installs, else a Flux object it
//! applied). Only a Flux failure nothing below explains stays a finding of its own: at its tier
//! when what it applies is not serving, or release-level (full health, never blocking login) when
//! everything it applies is ready and current.

use super::facts::job_failed;
use super::index::{component_current, component_ready, Index};
use super::{Finding, Progress};
use crate::catalog::ComponentKind;
use app::status::{Layer, Tier};
use std::collections::{BTreeMap, BTreeSet};

/// Best cause first: failed before progressing, lower tier, lower layer.
fn cause_order(f: &Finding) -> (u8, Tier, Layer) {
    (u8::from(f.progress != Progress::Failed), f.tier, f.layer)
}

fn is_flux(f: &Finding) -> bool {
    f.flux.is_some()
}

/// Folds `symptom` into `cause` as evidence. A Flux owner that gave up (its own timeout passed)
/// is evidence that progress stopped: a progressing cause becomes a failure.
fn absorb(cause: &mut Finding, symptom: Finding) {
    if symptom.progress == Progress::Failed && is_flux(&symptom) {
        let who = symptom
            .flux
            .clone()
            .unwrap_or_else(|| "its installer".into());
        if cause.progress != Progress::Failed {
            cause.progress = Progress::Failed;
            cause.next_action.push_str(&format!(
                " Meanwhile {who} gave up waiting for it; once this is resolved, Flux retries on its next reconcile (or run `flux reconcile` on it)."
            ));
        }
    }
    for e in symptom.evidence {
        if !cause.evidence.contains(&e) {
            cause.evidence.push(e);
        }
    }
}

/// Same id: one finding, all evidence, earliest start, failed wins.
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut merged: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        match by_id.get(&f.id) {
            Some(&i) => {
                let m = &mut merged[i];
                if f.progress == Progress::Failed {
                    m.progress = Progress::Failed;
                }
                m.since = match (m.since, f.since) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                for e in f.evidence {
                    if !m.evidence.contains(&e) {
                        m.evidence.push(e);
                    }
                }
            }
            None => {
                by_id.insert(f.id.clone(), merged.len());
                merged.push(f);
            }
        }
    }
    merged
}

/// Merges, then lets lower causes absorb the symptoms they explain.
pub fn link(findings: Vec<Finding>, index: &Index<'_>) -> Vec<Finding> {
    let merged = merge(findings);
    let (flux, rest): (Vec<Finding>, Vec<Finding>) = merged.into_iter().partition(is_flux);
    let (workload, mut causes): (Vec<Finding>, Vec<Finding>) =
        rest.into_iter().partition(|f| f.layer == Layer::Workload);

    // 1. A workload symptom is explained by its own pods. The Deployment's progress deadline
    //    only reports; it stops nothing, so it never escalates the pods' cause.
    for s in workload {
        let best = causes
            .iter_mut()
            .filter(|c| c.component == s.component && c.tier == s.tier)
            .min_by_key(|c| cause_order(c));
        match best {
            Some(c) => {
                for e in s.evidence {
                    if !c.evidence.contains(&e) {
                        c.evidence.push(e);
                    }
                }
            }
            None => causes.push(s),
        }
    }

    // 2. Flux failures, deepest first (a HelmRelease before the Kustomization that applied it).
    let graph = &index.graph;
    let depth = |f: &Finding| {
        let mut d = 0;
        let mut at = f.flux.clone();
        while let Some(k) = at {
            at = graph.node(&k).and_then(|n| n.parent.clone());
            d += 1;
            if d > 16 {
                break;
            }
        }
        d
    };
    let mut flux = flux;
    flux.sort_by_key(|f| std::cmp::Reverse(depth(f)));
    let mut kept: Vec<Finding> = Vec::new();
    for s in flux {
        let key = s.flux.clone().unwrap_or_default();
        let mut below_objects: BTreeSet<String> =
            graph.below(&key).into_iter().map(str::to_string).collect();
        below_objects.extend(s.waits_on.iter().cloned());
        let mut components: BTreeSet<&str> = graph.components_below(&key);
        for w in &s.waits_on {
            components.extend(graph.components_below(w));
        }
        // A plain wait on an earlier tier explains nothing: the earlier tier's cause does.
        let cause = causes
            .iter_mut()
            .filter(|c| {
                components.contains(c.component.as_str())
                    && !c.waits_for_earlier_tiers
                    && c.tier != Tier::FullHealth
            })
            .min_by_key(|c| cause_order(c));
        if let Some(c) = cause {
            absorb(c, s);
            continue;
        }
        let lower = kept
            .iter_mut()
            .filter(|k| k.flux.as_ref().is_some_and(|f| below_objects.contains(f)))
            .min_by_key(|k| cause_order(k));
        if let Some(k) = lower {
            absorb(k, s);
            continue;
        }
        kept.push(release_level(s, &key, &components, &below_objects, index));
    }
    causes.extend(kept);
    // 3. Last, so that a Flux owner that gave up has already made its cause a failure.
    for c in causes.iter_mut() {
        serving_rollout(c, index);
    }
    causes
}

/// A rollout that cannot finish while the previous version keeps serving: a Deployment with all
/// its desired replicas ready whose new ReplicaSet's pod fails (cannot pull its image, crashes, is
/// refused) or whose rollout passed its progress deadline. With maxUnavailable 0 the old pods
/// stay until the new ones are available, so the failure stops the upgrade, not the service:
/// like a release-level Flux failure it is a full-health finding that never blocks login.
fn serving_rollout(f: &mut Finding, index: &Index<'_>) {
    if f.progress != Progress::Failed || f.tier == Tier::FullHealth || f.flux.is_some() {
        return;
    }
    let Some(v) = index.view(&f.component) else {
        return;
    };
    if v.component.kind != ComponentKind::Deployment
        || v.deployments.is_empty()
        || !component_ready(index, v)
        || component_current(v)
    {
        return;
    }
    // Only what the surplus pods say (every desired replica is ready, so a pod that is not is
    // the rollout's), or the rollout's own stall; not, say, a claim of the component.
    let surplus = |name: &str| {
        v.pods
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(name) && !super::facts::pod_ready(p))
    };
    let about_the_rollout = f.slug == "rollout-stalled"
        || f.evidence.iter().any(|e| match e.kind.as_str() {
            "Pod" => surplus(&e.name),
            "Event" => e.name.strip_prefix("Pod/").is_some_and(surplus),
            _ => false,
        });
    if !about_the_rollout {
        return;
    }
    let (ready, desired) = v.replicas();
    let names: Vec<&str> = v
        .deployments
        .iter()
        .filter_map(|d| d.metadata.name.as_deref())
        .collect();
    f.tier = Tier::FullHealth;
    f.reason = format!(
        "{} (the rollout of {} cannot finish; the previous version keeps serving, {ready}/{desired} ready)",
        f.reason,
        names.join(", ")
    );
    f.next_action = format!(
        "Alga is not affected for now: the previous version keeps serving. {}",
        f.next_action
    );
}

/// A Flux failure nothing below explains: if every component it applies is ready and current
/// and nothing it applied is failing, the failure is the release's own (the previous version
/// keeps serving): a full-health finding that does not block login.
fn release_level(
    mut f: Finding,
    key: &str,
    components: &BTreeSet<&str>,
    below: &BTreeSet<String>,
    index: &Index<'_>,
) -> Finding {
    if f.progress != Progress::Failed
        || f.layer == Layer::Dns
        || components.is_empty()
        || below
            .iter()
            .any(|b| index.graph.node(b).is_some_and(|n| n.state.is_failed()))
    {
        return f;
    }
    // Workloads serve when ready and current; a Job does not serve: it counts unless it failed
    // (the bootstrap Job is gone after its TTL once it completed).
    let serving = components.iter().all(|c| {
        index.view(c).is_some_and(|v| match v.component.kind {
            ComponentKind::Job => !v.jobs.iter().any(|j| job_failed(j)),
            _ => component_ready(index, v) && component_current(v),
        })
    });
    if !serving {
        return f;
    }
    let list: Vec<&str> = components.iter().copied().collect();
    f.tier = Tier::FullHealth;
    f.id = format!("{}/release", f.id);
    f.reason = format!(
        "{} (what it installs — {} — is ready and keeps serving the previous version)",
        f.reason,
        list.join(", ")
    );
    f.next_action = format!(
        "Alga is not affected for now. Fix the cause in the message, then run `flux reconcile {}` (or wait for the next retry).",
        flux_cli_target(key)
    );
    f
}

/// `helmrelease alga-core -n alga-system` for a `HelmRelease/alga-system/alga-core` key.
fn flux_cli_target(key: &str) -> String {
    let mut parts = key.splitn(3, '/');
    let kind = parts.next().unwrap_or("").to_ascii_lowercase();
    let ns = parts.next().unwrap_or("");
    let name = parts.next().unwrap_or("");
    let kind = match kind.as_str() {
        "kustomization" => "kustomization",
        "helmrelease" => "helmrelease",
        _ => "source git",
    };
    format!("{kind} {name} -n {ns}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_cli_targets() {
        assert_eq!(
            flux_cli_target("HelmRelease/alga-system/alga-core"),
            "helmrelease alga-core -n alga-system"
        );
        assert_eq!(
            flux_cli_target("Kustomization/flux-system/alga-core"),
            "kustomization alga-core -n flux-system"
        );
    }
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

    /// An upgrade whose new ReplicaSet's pod cannot pull its image while the old ReplicaSet's pod
    /// keeps serving (one replica, maxSurge 1, maxUnavailable 0; corpus case 38): the upgrade is
    /// stuck, login is not. The same pod failing with nothing else serving blocks login.
    #[test]
    fn a_stuck_rollout_whose_previous_version_serves_does_not_block_login() {
        let t0 = ts("2026-04-30T02:00:00Z");
        let objects = |ready_replicas: u32, old_pod_ready: bool| {
            format!(
                r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: alga-core-sebastian, namespace: msp, generation: 2}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app.kubernetes.io/name: sebastian, app.kubernetes.io/instance: alga-core}}}}
  template: {{spec: {{containers: [{{name: main, image: "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c"}}]}}}}
status:
  observedGeneration: 2
  replicas: 2
  updatedReplicas: 1
  readyReplicas: {ready_replicas}
  availableReplicas: {ready_replicas}
  unavailableReplicas: 1
  conditions:
  - {{type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: 'ReplicaSet "alga-core-sebastian-7b9f5d2c4e" has timed out progressing.', lastTransitionTime: "2026-04-30T01:50:00Z"}}
---
apiVersion: v1
kind: Pod
metadata:
  name: alga-core-sebastian-6d4b8c9f7d-x7k2p
  namespace: msp
  labels: {{app.kubernetes.io/name: sebastian, app.kubernetes.io/instance: alga-core}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: alga-core-sebastian-6d4b8c9f7d, uid: a, controller: true}}]
spec: {{containers: [{{name: main, image: "ghcr.io/nine-minds/alga-psa-ee:3c9b1f0a"}}]}}
status:
  phase: Running
  conditions: [{{type: Ready, status: "{old_ready}"}}]
  containerStatuses:
  - {{name: main, image: "ghcr.io/nine-minds/alga-psa-ee:3c9b1f0a", imageID: "ghcr.io/nine-minds/alga-psa-ee@sha256:ab", ready: {old_pod_ready}, restartCount: 0, state: {{running: {{startedAt: "2026-04-30T00:00:00Z"}}}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: alga-core-sebastian-7b9f5d2c4e-q2v8h
  namespace: msp
  labels: {{app.kubernetes.io/name: sebastian, app.kubernetes.io/instance: alga-core}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: alga-core-sebastian-7b9f5d2c4e, uid: b, controller: true}}]
spec: {{containers: [{{name: main, image: "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c"}}]}}
status:
  phase: Pending
  conditions: [{{type: Ready, status: "False"}}]
  containerStatuses:
  - {{name: main, image: "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c", imageID: "", ready: false, restartCount: 0, state: {{waiting: {{reason: ImagePullBackOff, message: 'Back-off pulling image "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c": failed to resolve reference "ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c": ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c: not found'}}}}}}
"#,
                old_ready = if old_pod_ready { "True" } else { "False" },
            )
        };
        let pull = |doc: &StatusDocument| {
            doc.top_blockers
                .iter()
                .find(|b| b.component == "alga-core" && b.layer == Layer::Image)
                .cloned()
                .unwrap_or_else(|| panic!("{:#?}", doc.top_blockers))
        };
        // the old pod serves: the stuck upgrade is the release's, background
        let mut snap = Snapshot::default();
        apply_yaml(&mut snap, &objects(1, true));
        let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
        let b = pull(&doc);
        assert_eq!(
            (b.tier, b.severity, b.login_blocking),
            (Tier::FullHealth, Severity::Background, false),
            "{}",
            b.reason
        );
        assert!(
            b.reason
                .starts_with("Image tag not found: ghcr.io/nine-minds/alga-psa-ee:7e2d4c1c")
                && b.reason
                    .contains("the previous version keeps serving, 1/1 ready"),
            "{}",
            b.reason
        );
        assert!(doc
            .tiers
            .login
            .checks
            .iter()
            .any(|c| c.name == "login.alga-core" && c.state == CheckState::Ok));
        assert!(
            !doc.top_blockers.iter().any(|b| b.login_blocking),
            "{:#?}",
            doc.top_blockers
        );
        // nothing serves: the same pull blocks login
        let mut snap = Snapshot::default();
        apply_yaml(&mut snap, &objects(0, false));
        let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
        let b = pull(&doc);
        assert_eq!((b.severity, b.login_blocking), (Severity::Critical, true));
        assert!(!b.reason.contains("keeps serving"), "{}", b.reason);
    }

    /// AC6: the generic Helm timeout is evidence, the Postgres PVC subPath error is the blocker.
    #[test]
    fn helm_timeout_is_evidence_of_the_postgres_subpath_blocker() {
        let mut r = replay_to(mins(33));
        let start = r.scenario.start;
        let doc = assess_twice(
            &mut r.snapshot,
            &r.probes,
            start + mins(33),
            start + mins(35),
        );
        let t = top(&doc);
        assert_eq!(
            (t.component.as_str(), t.layer, t.severity),
            ("db", Layer::Storage, Severity::Critical)
        );
        assert!(
            t.reason.starts_with("Postgres PVC initialization failed"),
            "{}",
            t.reason
        );
        assert!(
            t.next_action.contains("alga-core-sebastian-postgres-data"),
            "{}",
            t.next_action
        );
        assert!(
        t.evidence
            .iter()
            .any(|e| e.kind == "HelmRelease" && e.message.contains("context deadline exceeded")),
        "{:#?}",
        t.evidence
    );
        assert!(
            t.evidence
                .iter()
                .any(|e| e.kind == "Kustomization" && e.message.contains("timeout waiting for")),
            "{:#?}",
            t.evidence
        );
        assert!(
            !doc.top_blockers.iter().any(|b| b.layer == Layer::Helm),
            "no separate Helm blocker: {:#?}",
            doc.top_blockers
        );
        assert!(
            t.since <= start + mins(4),
            "since is when the subPath error first appeared, not the timeout"
        );
    }
}
