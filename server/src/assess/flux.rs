//! Flux rules (signals §5): sources, Kustomizations and HelmReleases. A HelmRelease or
//! Kustomization timeout is a symptom; these findings carry `waits_on` so that a lower cause can
//! absorb them (see [`super::rank::merge_and_link`]).

use super::dns::dns_failure;
use super::index::Index;
use super::{evidence, Finding, Inputs, Progress};
use crate::catalog::ComponentKind;
use crate::snapshot::{FluxKind, FluxObject};
use app::status::{Layer, Operation, OperationKind, Tier};

const FAILURE_REASONS: [&str; 14] = [
    "InstallFailed",
    "UpgradeFailed",
    "TestFailed",
    "RollbackFailed",
    "UninstallFailed",
    "ArtifactFailed",
    "HealthCheckFailed",
    "BuildFailed",
    "ReconciliationFailed",
    "PruneFailed",
    "GitOperationFailed",
    "FetchFailed",
    "AuthenticationFailed",
    "RetriesExceeded",
];

/// Every Flux object's Ready condition, for the diagnostics tab.
pub fn statuses(snapshot: &crate::snapshot::Snapshot) -> Vec<app::status::FluxStatus> {
    snapshot
        .flux
        .values()
        .map(|f| {
            let ready = f.condition("Ready");
            app::status::FluxStatus {
                kind: f.kind.as_str().to_string(),
                namespace: f.namespace.clone(),
                name: f.name.clone(),
                ready: ready.and_then(|c| match c.status.as_str() {
                    "True" => Some(true),
                    "False" => Some(false),
                    _ => None,
                }),
                reason: ready.map(|c| c.reason.clone()).unwrap_or_default(),
                message: ready.map(|c| c.message.clone()).unwrap_or_default(),
                since: ready.map(|c| c.last_transition_time.0),
                revision: f.revision.clone(),
            }
        })
        .collect()
}

/// `Ready=True`.
pub fn is_ready(f: &FluxObject) -> bool {
    f.condition("Ready").is_some_and(|c| c.status == "True")
}

/// The `Kind/namespace/name` of a Flux object.
pub fn flux_ref(f: &FluxObject) -> String {
    format!("{}/{}/{}", f.kind.as_str(), f.namespace, f.name)
}

/// `HelmRelease/alga-system/alga-core` references inside a Kustomization health message.
fn referenced_releases(message: &str) -> Vec<String> {
    message
        .split(['[', ']', ' ', ','])
        .filter(|w| w.starts_with("HelmRelease/"))
        .map(|w| w.trim_end_matches(':').to_string())
        .collect()
}

/// Which component and tier a Flux object stands for.
fn owner(index: &Index<'_>, f: &FluxObject) -> (String, Tier) {
    if f.kind == FluxKind::HelmRelease {
        let installs: Vec<_> = index
            .components
            .iter()
            .filter(|v| {
                v.component.helm_release.as_deref() == Some(f.name.as_str())
                    && index.catalog.site.helm_release_namespace == f.namespace
            })
            .collect();
        if let Some(first) = installs.iter().min_by_key(|v| v.component.tier) {
            return (first.component.name.clone(), first.component.tier);
        }
        return (f.name.clone(), Tier::Background);
    }
    for v in &index.components {
        if !matches!(
            v.component.kind,
            ComponentKind::GitRepository
                | ComponentKind::OCIRepository
                | ComponentKind::Kustomization
        ) {
            continue;
        }
        if let Some((w, _)) = v
            .flux
            .iter()
            .find(|(_, o)| o.is_some_and(|o| o.name == f.name && o.kind == f.kind))
        {
            return (v.component.name.clone(), w.tier.unwrap_or(v.component.tier));
        }
    }
    (format!("{}/{}", f.kind.as_str(), f.name), Tier::Background)
}

/// Findings and reconciliations for every Flux object.
pub fn findings(
    inputs: &Inputs<'_>,
    index: &Index<'_>,
    out: &mut Vec<Finding>,
    ops: &mut Vec<Operation>,
) {
    for f in inputs.snapshot.flux.values() {
        if matches!(f.kind, FluxKind::HelmChart | FluxKind::HelmRepository) && is_ready(f) {
            continue;
        }
        let (component, tier) = owner(index, f);
        let ready = f.condition("Ready");
        let stalled = f.condition("Stalled").filter(|c| c.status == "True");
        let reconciling = f.condition("Reconciling").filter(|c| c.status == "True");
        let object = flux_ref(f);
        let ev = |c: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition| {
            evidence(
                f.kind.as_str(),
                Some(&f.namespace),
                &f.name,
                Some(&format!("{}={} {}", c.type_, c.status, c.reason)),
                &c.message,
                Some(c.last_transition_time.0),
            )
        };
        // Waiting for a dependency or for the source's first artifact is progress, not failure.
        let waiting_on_deps = ready.is_some_and(|c| {
            c.status == "False"
                && (c.reason == "DependencyNotReady"
                    || (c.reason == "ArtifactFailed"
                        && c.message.contains("Source artifact not found")))
        });
        let failed_cond = stalled.or(ready.filter(|c| {
            c.status == "False" && !waiting_on_deps && FAILURE_REASONS.contains(&c.reason.as_str())
        }));
        if let Some(cond) = failed_cond {
            // The most telling message: the Ready one usually has the Helm or Git error.
            let message = ready
                .filter(|r| !r.message.is_empty())
                .map(|r| r.message.as_str())
                .unwrap_or(&cond.message);
            let mut finding = if let Some(dns) = dns_failure(message) {
                // A named resolver is one platform cause, whatever it fails to resolve.
                let (who, tier, slug, ns) = match dns.resolver_slug() {
                    Some(slug) => ("dns".to_string(), Tier::Platform, slug, String::new()),
                    None => (
                        component.clone(),
                        tier,
                        format!("dns-{}", f.name),
                        f.namespace.clone(),
                    ),
                };
                Finding::new(
                    &who,
                    tier,
                    Layer::Dns,
                    Progress::Failed,
                    &slug,
                    &ns,
                    format!(
                        "DNS resolver failure: {} ({object} cannot fetch)",
                        dns.describe()
                    ),
                    "Configure explicit DNS servers for the appliance and retry.",
                )
            } else {
                let (layer, what, next) = describe_failure(f, message);
                let mut x = Finding::new(
                    &component,
                    tier,
                    layer,
                    Progress::Failed,
                    &format!("{}-{}-failed", f.kind.as_str().to_ascii_lowercase(), f.name),
                    &f.namespace,
                    what,
                    next,
                );
                x.waits_on = match f.kind {
                    FluxKind::HelmRelease => vec![object.clone()],
                    FluxKind::Kustomization => referenced_releases(message),
                    _ => Vec::new(),
                };
                x
            };
            finding = finding
                .seen_at(Some(cond.last_transition_time.0))
                .with(ev(cond));
            if let Some(r) = ready.filter(|r| !std::ptr::eq(*r, cond)) {
                finding = finding.with(ev(r));
            }
            out.push(finding);
            continue;
        }
        let in_progress =
            reconciling.or(ready.filter(|c| c.status == "Unknown" || waiting_on_deps));
        if let Some(cond) = in_progress {
            ops.push(Operation {
                kind: OperationKind::Reconciliation,
                component: Some(component.clone()),
                target: object.clone(),
                started: cond.last_transition_time.0,
                elapsed_seconds: 0,
                size_bytes: None,
                message: if cond.message.is_empty() {
                    cond.reason.clone()
                } else {
                    cond.message.clone()
                },
            });
            if !waiting_on_deps {
                // Long reconciliations escalate by age, unless a lower cause absorbs them.
                let mut x = Finding::new(
                    &component,
                    tier,
                    if f.kind == FluxKind::HelmRelease {
                        Layer::Helm
                    } else {
                        Layer::Flux
                    },
                    Progress::Progressing,
                    &format!(
                        "{}-{}-reconciling",
                        f.kind.as_str().to_ascii_lowercase(),
                        f.name
                    ),
                    &f.namespace,
                    format!("{object} is still reconciling: {}", cond.message),
                    "Wait; if it does not finish, look at the workloads it installs.",
                );
                x.waits_on = if f.kind == FluxKind::HelmRelease {
                    vec![object.clone()]
                } else {
                    Vec::new()
                };
                out.push(x.seen_at(Some(cond.last_transition_time.0)).with(ev(cond)));
            }
        }
    }
}

fn describe_failure(f: &FluxObject, message: &str) -> (Layer, String, String) {
    let object = flux_ref(f);
    let lower = message.to_ascii_lowercase();
    match f.kind {
        FluxKind::HelmRelease => {
            let what = if lower.contains("context deadline exceeded") {
                format!("Helm install/upgrade of {} timed out waiting for its workloads (context deadline exceeded)", f.name)
            } else if lower.contains("retries exhausted") {
                format!("Helm gave up on {} after its retries: {message}", f.name)
            } else if lower.contains("another operation") {
                format!("Helm release {} is locked by another operation: {message}", f.name)
            } else {
                format!("Helm release {} failed: {message}", f.name)
            };
            (Layer::Helm, what, "Look at the pods of this release for the cause; once fixed, run `flux reconcile helmrelease` or wait for the next retry.".into())
        }
        FluxKind::Kustomization => (
            Layer::Flux,
            format!("{object} failed: {message}"),
            "Check the objects named in the message; the Kustomization retries by itself once they are healthy.".into(),
        ),
        _ => {
            let next = if lower.contains("authentication required") || lower.contains("auth") {
                "Check the credentials of the release source (Git or OCI)."
            } else {
                "Check outbound HTTPS to the release source and its URL."
            };
            (Layer::Flux, format!("{object} cannot fetch the release: {message}"), next.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kustomization_health_message_names_releases() {
        let msg = "timeout waiting for: [HelmRelease/alga-system/alga-core status: 'InProgress', HelmRelease/alga-system/pgbouncer status: 'InProgress']";
        assert_eq!(
            referenced_releases(msg),
            vec![
                "HelmRelease/alga-system/alga-core",
                "HelmRelease/alga-system/pgbouncer"
            ]
        );
    }
}
