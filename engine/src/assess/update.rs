//! Updates are not installs: when Flux applies a release other than the one it last applied whole,
//! the document says so ("Updating 1.0-rc5 → 1.0-rc6"), what is moving, and whether the update is
//! in progress, blocked (a blocker in its way), interrupted (an attempt failed, the controller
//! retries it) or stopped (Flux gave up on it).
//!
//! Read from Flux's own record: a tier Kustomization's `status.lastAppliedRevision` (the release
//! it last applied and health-checked whole) against its `lastAttemptedRevision` (the one it
//! applies now), kustomize-controller's `api/v1/kustomization_types.go`. A first install has no
//! applied revision, so it is no update. The verdict itself (old pods serving keep login ready,
//! a stuck rollout is a full-health blocker) is the rules' and tiers'; this only names it.

use super::facts::{flux_state, FluxState};
use super::graph::flux_key;
use super::index::{component_current, Index};
use crate::catalog::ComponentKind;
use crate::snapshot::{FluxKind, FluxObject};
use app::status::*;
use std::collections::BTreeSet;

/// The update under way, if any.
pub fn update(
    index: &Index<'_>,
    tiers: &Tiers,
    blockers: &[Blocker],
    operations: &[Operation],
) -> Option<ReleaseUpdate> {
    // The release the source holds now: a tier Kustomization that has not applied it whole
    // (attempted or not: one waiting on a dependency has not even tried yet) lags behind.
    let source = index.release().git_revision;
    let lagging: Vec<(&FluxObject, &str, &str)> = index
        .components
        .iter()
        .filter(|v| v.component.kind == ComponentKind::Kustomization)
        .flat_map(|v| v.flux.iter().filter_map(|(_, f)| *f))
        .filter_map(|f| {
            let applied = f.applied_revision.as_deref()?;
            let target = f.attempted_revision.as_deref().filter(|a| *a != applied);
            let target = target.or(source.as_deref())?;
            (target != applied).then_some((f, applied, target))
        })
        .collect();
    let &(_, applied, target) = lagging.first()?;
    let (from, to) = names(applied, target);
    // What the lagging Kustomizations install: their HelmReleases and components.
    let mut releases: Vec<&FluxObject> = Vec::new();
    let mut components: BTreeSet<&str> = BTreeSet::new();
    for (k, _, _) in &lagging {
        let key = flux_key(k.kind, &k.namespace, &k.name);
        components.extend(index.graph.components_below(&key));
        releases.extend(
            index
                .graph
                .below(&key)
                .into_iter()
                .filter_map(|n| index.graph.node(n))
                .map(|n| n.object)
                .filter(|f| f.kind == FluxKind::HelmRelease),
        );
    }
    // Flux gave up: a HelmRelease it installs stalled (helm-controller's retries used up), or
    // the Kustomization itself stalled. A failed health check alone is retried by
    // kustomize-controller (`Reconciling=True ProgressingWithRetry`): not over yet.
    let failed = |f: &FluxObject, retrying: bool| match flux_state(f) {
        FluxState::Failed {
            condition,
            retrying: r,
            ..
        } if r == retrying => Some(format!(
            "{} {}: {}",
            f.kind.as_str(),
            f.name,
            first_line(&condition.message)
        )),
        _ => None,
    };
    let stopped = releases
        .iter()
        .copied()
        .chain(lagging.iter().map(|(k, _, _)| *k))
        .find_map(|f| failed(f, false));
    // An upgrade that failed and is tried again: interrupted, not over.
    let interrupted = releases.iter().find_map(|f| failed(f, true));
    let moving = moving(index, operations, &releases);
    let in_the_way = blockers.iter().find(|b| {
        components.contains(b.component.as_str())
            || moving
                .iter()
                .any(|m| m.starts_with(&format!("{} ", b.component)))
    });
    let serving = if tiers.login.ready {
        format!("Alga keeps serving {from} meanwhile; login stays ready")
    } else {
        "login waits for it".to_string()
    };
    let (state, message) = match (stopped, interrupted, in_the_way) {
        (Some(why), _, _) => (
            UpdateState::Stopped,
            format!("The update {from} → {to} stopped ({why}); {serving}"),
        ),
        (None, Some(why), _) => (
            UpdateState::Interrupted,
            format!(
                "The update {from} → {to} was interrupted ({why}) and is being retried; {serving}"
            ),
        ),
        (None, None, Some(b)) => (
            UpdateState::Blocked,
            format!(
                "The update {from} → {to} is blocked: {}: {}; {serving}",
                b.component, b.reason
            ),
        ),
        (None, None, None) => (
            UpdateState::InProgress,
            match moving.is_empty() {
                true => format!("Updating {from} → {to}; {serving}"),
                false => format!("Updating {from} → {to}: {}; {serving}", moving.join(", ")),
            },
        ),
    };
    Some(ReleaseUpdate {
        from,
        to,
        state,
        message,
        moving,
    })
}

/// The two releases' names; a new commit of the same ref is named by its commit.
fn names(from: &str, to: &str) -> (String, String) {
    let (a, b) = (release_name(from), release_name(to));
    if a != b {
        return (a.to_string(), b.to_string());
    }
    let commit = |r: &str| {
        let sha = r.rsplit_once(':').map_or(r, |(_, s)| s);
        format!("{a}@{}", sha.get(..7).unwrap_or(sha))
    };
    (commit(from), commit(to))
}

/// `release/1.0-rc6@sha1:7e2d…` → `1.0-rc6`: the ref's last segment, without the commit.
pub fn release_name(revision: &str) -> &str {
    let reference = revision.split('@').next().unwrap_or(revision);
    reference.rsplit('/').next().unwrap_or(reference)
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}

/// What is changing: workloads rolling out, the update's HelmReleases upgrading, images pulling.
fn moving(index: &Index<'_>, operations: &[Operation], releases: &[&FluxObject]) -> Vec<String> {
    let mut out = Vec::new();
    for v in &index.components {
        let workload = matches!(
            v.component.kind,
            ComponentKind::Deployment | ComponentKind::StatefulSet
        );
        if workload && v.present() && !component_current(v) {
            out.push(format!("{} rolling out", v.component.name));
        }
    }
    for f in releases {
        let upgrading = matches!(
            flux_state(f),
            FluxState::Reconciling { .. } | FluxState::NotReconciledYet
        );
        if upgrading {
            out.push(format!("HelmRelease {} upgrading", f.name));
        }
    }
    for o in operations
        .iter()
        .filter(|o| o.kind == OperationKind::ImagePull)
    {
        out.push(format!("pulling {}", o.target));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_come_from_the_revision() {
        assert_eq!(
            release_name("release/1.0-rc6@sha1:7e2d4c1b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d"),
            "1.0-rc6"
        );
        assert_eq!(release_name("main@sha1:abc"), "main");
        assert_eq!(release_name("0.1.0"), "0.1.0");
        assert_eq!(release_name("sha256:abc"), "sha256:abc");
    }
}

#[cfg(test)]
mod corpus {
    use super::super::testkit::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn update_of(name: &str, change: impl FnOnce(&mut Snapshot)) -> Option<ReleaseUpdate> {
        let (mut snapshot, probes, now) = corpus_inputs(name);
        change(&mut snapshot);
        let doc = assess_twice(
            &mut snapshot,
            &probes,
            now - SignedDuration::from_secs(40),
            now,
        );
        doc.release.update
    }

    /// A first install is no update; the rolling upgrade's three fates are named (the corpus
    /// checks them whole, server/tests/corpus.rs); an upgrade helm-controller retries after a
    /// failed attempt is interrupted, not stopped.
    #[test]
    fn an_update_is_named_by_how_it_stands() {
        assert_eq!(update_of("03-core-install-pulling", |_| {}), None);
        assert_eq!(update_of("01-fully-healthy", |_| {}), None);
        let u = update_of("35-upgrade-old-pod-serving", |_| {}).unwrap();
        assert_eq!(
            (u.state, u.from.as_str(), u.to.as_str()),
            (UpdateState::InProgress, "1.0-rc5", "1.0-rc6")
        );
        assert!(
            u.moving.contains(&"alga-core rolling out".to_string()),
            "{u:?}"
        );
        let u = update_of("35-upgrade-old-pod-serving", |s| {
            let at = Time(ts("2026-04-30T01:58:00Z"));
            let hr = s
                .flux
                .values_mut()
                .find(|f| f.kind == crate::snapshot::FluxKind::HelmRelease && f.name == "alga-core")
                .unwrap();
            let condition = |type_: &str, status: &str, reason: &str, message: &str| Condition {
                type_: type_.into(),
                status: status.into(),
                reason: reason.into(),
                message: message.into(),
                last_transition_time: at.clone(),
                observed_generation: None,
            };
            hr.conditions = vec![
                condition("Ready", "False", "UpgradeFailed", "Helm upgrade failed for release msp/alga-core with chart sebastian@0.1.1: context deadline exceeded"),
                condition("Reconciling", "True", "ProgressingWithRetry", "retrying after 5m0s"),
            ];
        })
        .unwrap();
        assert_eq!(u.state, UpdateState::Interrupted, "{u:?}");
        assert!(
            u.message
                .contains("was interrupted (HelmRelease alga-core: Helm upgrade failed"),
            "{}",
            u.message
        );
    }
}
