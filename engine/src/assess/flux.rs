//! Flux rules (signals §5) over the Flux graph. A reconciling object within its own timeout, a
//! dependency not ready yet, a spec the controller has not seen yet: operations. A failure:
//! a finding that carries its Flux object, so that `link` can make it evidence of the lowest
//! cause below it, or keep it as a blocker of its own when nothing below explains it.

use super::dns::dns_failure;
use super::facts::{go_duration, FluxState};
use super::graph::FluxNode;
use super::index::Index;
use super::{evidence, Finding, Progress};
use crate::catalog::ComponentKind;
use crate::snapshot::{FluxKind, FluxObject};
use app::status::{Layer, Operation, OperationKind, Tier};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// Every Flux object's Ready condition, for the diagnostics tab.
pub fn statuses(index: &Index<'_>) -> Vec<app::status::FluxStatus> {
    index
        .graph
        .nodes
        .values()
        .map(|n| {
            let f = n.object;
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

/// `HelmRelease/alga-system/alga-core` references inside a Kustomization health message.
fn referenced_objects(message: &str) -> Vec<String> {
    message
        .split(['[', ']', ' ', ','])
        .filter(|w| w.starts_with("HelmRelease/") || w.starts_with("Kustomization/"))
        .map(|w| w.trim_end_matches(':').to_string())
        .filter(|w| w.matches('/').count() == 2)
        .collect()
}

/// The component a Flux object stands for in blockers: the HelmRelease's name, or the catalog
/// component that lists the Kustomization or source.
fn component_of(index: &Index<'_>, node: &FluxNode<'_>) -> String {
    let f = node.object;
    if f.kind == FluxKind::HelmRelease {
        return f.name.clone();
    }
    index
        .components
        .iter()
        .filter(|v| {
            matches!(
                v.component.kind,
                ComponentKind::GitRepository
                    | ComponentKind::OCIRepository
                    | ComponentKind::Kustomization
            )
        })
        .find(|v| {
            v.flux
                .iter()
                .any(|(_, o)| o.is_some_and(|o| o.name == f.name && o.kind == f.kind))
        })
        .map(|v| v.component.name.clone())
        .unwrap_or_else(|| format!("{}/{}", f.kind.as_str(), f.name))
}

fn condition_evidence(node: &FluxNode<'_>, c: &Condition) -> app::status::Evidence {
    let f = node.object;
    evidence(
        f.kind.as_str(),
        Some(&f.namespace),
        &f.name,
        Some(&format!("{}={} {}", c.type_, c.status, c.reason)),
        &c.message,
        Some(c.last_transition_time.0),
    )
}

/// Findings and operations for every Flux object.
pub fn findings(
    index: &Index<'_>,
    now: Timestamp,
    out: &mut Vec<Finding>,
    ops: &mut Vec<Operation>,
) {
    for node in index.graph.nodes.values() {
        let f = node.object;
        let component = component_of(index, node);
        let op = |kind, started, message: String| Operation {
            kind,
            component: Some(component.clone()),
            tier: Some(node.tier),
            target: node.key.clone(),
            started,
            elapsed_seconds: 0,
            size_bytes: None,
            message,
        };
        match node.state {
            FluxState::Ready | FluxState::Suspended => {}
            FluxState::NotReconciledYet => {
                // Creation time is not kept; the Ready condition, when any, dates the last change.
                let since = f
                    .condition("Ready")
                    .map(|c| c.last_transition_time.0)
                    .unwrap_or_default();
                let message = match (f.generation, f.observed_generation) {
                    (Some(g), Some(o)) => {
                        format!("not reconciled yet: generation {g}, the controller has seen {o}")
                    }
                    _ => "not reconciled yet: the controller has not reported on it".to_string(),
                };
                ops.push(op(OperationKind::Waiting, since, message));
            }
            FluxState::Waiting(c) => {
                let on = if node.depends_on.is_empty() {
                    String::new()
                } else {
                    format!(" (depends on {})", node.depends_on.join(", "))
                };
                ops.push(op(
                    OperationKind::Waiting,
                    c.last_transition_time.0,
                    format!("waiting{on}: {}", c.message),
                ));
            }
            FluxState::Reconciling { condition, timeout } => {
                let message = if condition.message.is_empty() {
                    condition.reason.clone()
                } else {
                    condition.message.clone()
                };
                ops.push(op(
                    OperationKind::Reconciliation,
                    condition.last_transition_time.0,
                    message.clone(),
                ));
                // Within its own timeout this is the install doing its job. Past it, the
                // controller should have reported a result: say so, as a warning.
                if let Some(t) = timeout {
                    let mut x = Finding::new(
                        &component,
                        node.tier,
                        layer_of(f.kind),
                        Progress::Progressing,
                        &format!("{}-{}-overdue", f.kind.as_str().to_ascii_lowercase(), f.name),
                        &f.namespace,
                        format!(
                            "{} is still reconciling past its own timeout of {}: {message}",
                            node.key,
                            app::format::duration(t.as_secs().max(0) as u64)
                        ),
                        "Check that the Flux controllers are running (flux-system namespace) and read their logs.",
                    )
                    .seen_at(Some(condition.last_transition_time.0))
                    .with(condition_evidence(node, condition));
                    x.warn_after = Some(t + SignedDuration::from_mins(2));
                    x.flux = Some(node.key.clone());
                    out.push(x);
                }
            }
            FluxState::Failed {
                condition,
                ready,
                retrying,
            } => {
                let mut x = failure(node, &component, condition, ready);
                if let Some(retry) = retrying.then(|| helm_retry(f, now)).flatten() {
                    // Within its budget the failure is one attempt of several: progress, shown
                    // as such, and true to what the controller does next.
                    let what = std::mem::take(&mut x.reason);
                    x.reason = format!("{what}; {}, no action needed yet", retry.says);
                    x.next_action = format!(
                        "No action needed yet: helm-controller {}. If the attempts run out, the cause is in the pods of this release.",
                        retry.does
                    );
                    x.progress = Progress::Progressing;
                    ops.push(op(
                        OperationKind::Reconciliation,
                        retry.since,
                        format!(
                            "Helm {} of {} {}, no action needed yet",
                            retry.action, f.name, retry.says
                        ),
                    ));
                } else if retrying {
                    x.next_action
                        .push_str(" Flux is retrying by itself meanwhile.");
                }
                out.push(x);
            }
        }
    }
}

/// A HelmRelease failure helm-controller is about to retry, in words.
struct Retrying {
    /// `retrying (attempt 2 of 3, next in about 4 min)`.
    says: String,
    /// What the controller does: `retries after removing the failed release`.
    does: String,
    /// `install` or `upgrade`.
    action: String,
    since: Timestamp,
}

/// A failed HelmRelease that helm-controller retries by itself (`Reconciling=True`,
/// `ProgressingWithRetry`) with attempts left (fluxcd/helm-controller
/// `internal/reconcile/atomic_release.go`):
/// - the `RetryOnFailure` strategy says `retrying after <interval>` and retries every interval
///   without end; it is set in the spec, or the default under the controller's
///   `DefaultToRetryOnFailure` feature gate, which the spec does not show: the message decides;
/// - remediation repeats the Ready message and retries at once, while `installFailures` /
///   `upgradeFailures` are not past `remediation.retries` (`RetriesExhausted`; negative: no end).
fn helm_retry(f: &FluxObject, now: Timestamp) -> Option<Retrying> {
    let retry = f.helm_retry.as_ref()?;
    let reconciling = f
        .condition("Reconciling")
        .filter(|c| c.status == "True" && c.reason == "ProgressingWithRetry")?;
    let since = reconciling.last_transition_time.0;
    let every = reconciling
        .message
        .strip_prefix("retrying after ")
        .and_then(go_duration)
        .or_else(|| {
            retry.retry_on_failure.as_ref().map(|interval| {
                interval
                    .as_deref()
                    .and_then(go_duration)
                    .unwrap_or(SignedDuration::from_mins(5))
            })
        });
    // Only a failed action the controller counted is an attempt (install.go counts "attempts
    // which did cause a modification to the storage"): a chart or values error is not retried
    // into success, and stays a failure.
    let ready = f.condition("Ready")?;
    if retry.failures < 1 || !matches!(ready.reason.as_str(), "InstallFailed" | "UpgradeFailed") {
        return None;
    }
    let budget = (every.is_none() && retry.retries >= 0).then_some(retry.retries);
    if budget.is_some_and(|retries| retry.failures > retries) {
        return None;
    }
    let next_attempt = retry.failures.saturating_add(1);
    let attempt = match budget {
        Some(retries) => format!("attempt {next_attempt} of {}", retries.saturating_add(1)),
        None => format!("attempt {next_attempt}"),
    };
    let (next, does) = match every {
        Some(every) => {
            let left = since
                .checked_add(every)
                .map_or(0, |at| at.duration_since(now).as_secs());
            (
                if left <= 0 {
                    "next any moment".to_string()
                } else {
                    format!("next in about {}", app::format::duration(left as u64))
                },
                format!(
                    "retries the {} every {}",
                    retry.action,
                    app::format::duration(every.as_secs().max(0) as u64)
                ),
            )
        }
        None => (
            "next any moment".to_string(),
            format!(
                "removes the failed release and retries the {}",
                retry.action
            ),
        ),
    };
    Some(Retrying {
        says: format!("retrying ({attempt}, {next})"),
        does,
        action: retry.action.clone(),
        since,
    })
}

fn layer_of(kind: FluxKind) -> Layer {
    if kind == FluxKind::HelmRelease {
        Layer::Helm
    } else {
        Layer::Flux
    }
}

fn failure(
    node: &FluxNode<'_>,
    component: &str,
    condition: &Condition,
    ready: Option<&Condition>,
) -> Finding {
    let f = node.object;
    // The most telling message: the Ready one has the Helm or Git error, Stalled only counts.
    let message = ready
        .filter(|r| !r.message.is_empty())
        .map(|r| r.message.as_str())
        .unwrap_or(&condition.message);
    let mut finding = if let Some(dns) = dns_failure(message) {
        // A named resolver is one platform cause, whatever it fails to resolve.
        let (who, tier, slug, ns) = match dns.resolver_slug() {
            Some(slug) => ("dns".to_string(), Tier::Platform, slug, String::new()),
            None => (
                component.to_string(),
                node.tier,
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
                "DNS resolver failure: {} ({} cannot fetch)",
                dns.describe(),
                node.key
            ),
            "Configure explicit DNS servers for the appliance and retry.",
        )
    } else {
        let (what, next) = describe_failure(node, message);
        let mut x = Finding::new(
            component,
            node.tier,
            layer_of(f.kind),
            Progress::Failed,
            &format!("{}-{}-failed", f.kind.as_str().to_ascii_lowercase(), f.name),
            &f.namespace,
            what,
            next,
        );
        x.waits_on = referenced_objects(message);
        x
    };
    finding.flux = Some(node.key.clone());
    finding = finding
        .seen_at(Some(condition.last_transition_time.0))
        .with(condition_evidence(node, condition));
    if let Some(r) = ready.filter(|r| !std::ptr::eq(*r, condition)) {
        finding = finding.with(condition_evidence(node, r));
    }
    finding
}

fn describe_failure(node: &FluxNode<'_>, message: &str) -> (String, String) {
    let f = node.object;
    let lower = message.to_ascii_lowercase();
    match f.kind {
        FluxKind::HelmRelease => {
            let what = if lower.contains("context deadline exceeded") {
                format!("Helm install/upgrade of {} timed out waiting for its workloads (context deadline exceeded)", f.name)
            } else if lower.contains("retries exhausted") || lower.contains("attempt(s)") {
                format!("Helm gave up on {} after its retries: {message}", f.name)
            } else if lower.contains("another operation") {
                format!("Helm release {} is locked by another operation: {message}", f.name)
            } else {
                format!("Helm release {} failed: {message}", f.name)
            };
            (what, "Look at the pods of this release for the cause; once fixed, run `flux reconcile helmrelease` or wait for the next retry.".into())
        }
        FluxKind::Kustomization => (
            format!("{} failed: {message}", node.key),
            "Check the objects named in the message; the Kustomization retries by itself once they are healthy.".into(),
        ),
        _ => {
            let next = if lower.contains("authentication required") || lower.contains("auth") {
                "Check the credentials of the release source (Git or OCI)."
            } else {
                "Check outbound HTTPS to the release source and its URL."
            };
            (format!("{} cannot fetch the release: {message}", node.key), next.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fluxcd/pkg ssa `WaitForSet`, as kustomize-controller reports it in Ready=False
    /// HealthCheckFailed.
    #[test]
    fn kustomization_health_message_names_objects() {
        let msg = "timeout waiting for: [HelmRelease/alga-system/alga-core status: 'InProgress', HelmRelease/alga-system/pgbouncer status: 'InProgress']";
        assert_eq!(
            referenced_objects(msg),
            vec![
                "HelmRelease/alga-system/alga-core",
                "HelmRelease/alga-system/pgbouncer"
            ]
        );
    }
}

/// This rule through the whole assessment, on objects as the cluster writes them.
#[cfg(test)]
mod assessed {
    use crate::assess::testkit::*;

    /// Without a known lower cause, the Helm timeout itself is the blocker.
    #[test]
    fn helm_timeout_without_lower_cause_is_the_blocker() {
        let mut snap = Snapshot::default();
        apply_yaml(
            &mut snap,
            r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: email-service, namespace: alga-system}
spec: {releaseName: email-service}
status:
  conditions:
  - {type: Ready, status: "False", reason: InstallFailed, lastTransitionTime: "2026-04-30T02:00:00Z", message: "Helm install failed for release alga-system/email-service with chart email-service@0.1.0: context deadline exceeded"}
"#,
        );
        let doc = assess_twice(
            &mut snap,
            &Probes::default(),
            ts("2026-04-30T02:00:00Z"),
            ts("2026-04-30T02:01:00Z"),
        );
        let t = top(&doc);
        assert_eq!(
            (t.component.as_str(), t.layer, t.login_blocking),
            ("email-service", Layer::Helm, false)
        );
        assert!(t.reason.contains("timed out"), "{}", t.reason);
    }

    #[test]
    fn dependency_not_ready_is_progress() {
        let mut snap = Snapshot::default();
        apply_yaml(
            &mut snap,
            r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: alga-background, namespace: flux-system}
status:
  conditions:
  - {type: Ready, status: "False", reason: DependencyNotReady, message: "Dependencies do not meet ready condition, retrying in 30s", lastTransitionTime: "2026-04-30T01:00:00Z"}
"#,
        );
        let t0 = ts("2026-04-30T02:00:00Z");
        let doc = assess_twice(&mut snap, &Probes::default(), t0, t0 + mins(1));
        assert!(
            doc.top_blockers
                .iter()
                .all(|b| b.component != "flux-kustomizations"),
            "{:#?}",
            doc.top_blockers
        );
        assert!(doc
            .active_operations
            .iter()
            .any(|o| o.target == "Kustomization/flux-system/alga-background"));
    }

    /// helm-controller retries a failed install while its budget lasts (remediation retries, or
    /// the `RetryOnFailure` strategy's interval): an operation that says which attempt comes and
    /// when, not a failure; once the budget is spent it is one (atomic_release.go).
    #[test]
    fn a_helm_release_within_its_retries_is_retrying_not_failed() {
        let release = |spec: &str, failures: u32, reconciling: &str| {
            format!(
                r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: email-service, namespace: alga-system, generation: 1}}
spec: {{releaseName: email-service, interval: 10m, install: {spec}}}
status:
  observedGeneration: 1
  lastAttemptedReleaseAction: install
  installFailures: {failures}
  conditions:
  - {{type: Ready, status: "False", reason: InstallFailed, lastTransitionTime: "2026-04-30T02:00:00Z", message: "Helm install failed for release alga-system/email-service with chart email-service@0.1.0: context deadline exceeded"}}
  - {{type: Reconciling, status: "True", reason: ProgressingWithRetry, lastTransitionTime: "2026-04-30T02:00:00Z", message: "{reconciling}"}}
"#
            )
        };
        let ready_message = "Helm install failed for release alga-system/email-service with chart email-service@0.1.0: context deadline exceeded";
        let t0 = ts("2026-04-30T02:00:00Z");
        let assess_at = |yaml: &str, at: SignedDuration| {
            let mut snap = Snapshot::default();
            apply_yaml(&mut snap, yaml);
            assess_twice(&mut snap, &Probes::default(), t0 + at, t0 + at)
        };
        let retrying = |doc: &StatusDocument| {
            doc.active_operations
                .iter()
                .find(|o| o.target == "HelmRelease/alga-system/email-service")
                .map(|o| o.message.clone())
        };
        let failed = |doc: &StatusDocument| {
            doc.top_blockers
                .iter()
                .chain(&doc.unconfirmed)
                .any(|b| b.component == "email-service" && b.severity != Severity::Warning)
        };
        // Remediation: the failed release is removed and the install runs again at once.
        let doc = assess_at(
            &release("{remediation: {retries: 2}}", 1, ready_message),
            mins(1),
        );
        assert_eq!(
            retrying(&doc).as_deref(),
            Some("Helm install of email-service retrying (attempt 2 of 3, next any moment), no action needed yet")
        );
        assert!(!failed(&doc), "{:#?}", doc.top_blockers);
        // The budget spent (installFailures > retries): failed, whatever Reconciling still says.
        let doc = assess_at(
            &release("{remediation: {retries: 2}}", 3, ready_message),
            mins(1),
        );
        assert!(failed(&doc), "{:#?}", doc.top_blockers);
        // A failure the controller did not count (a chart or values error writes no release):
        // no attempt to wait for, a failure.
        let doc = assess_at(
            &release("{remediation: {retries: 2}}", 0, ready_message),
            mins(1),
        );
        assert!(failed(&doc), "{:#?}", doc.top_blockers);
        // An interval no Go duration can hold: a failure, never a panic.
        let doc = assess_at(
            &release(
                "{strategy: {name: RetryOnFailure, retryInterval: 100000000h}}",
                1,
                ready_message,
            ),
            mins(1),
        );
        assert!(retrying(&doc).is_some_and(|m| m.contains("attempt 2, next in about")));
        // No remediation configured (retries 0): the first failure is final.
        let doc = assess_at(&release("{}", 1, ready_message), mins(1));
        assert!(failed(&doc), "{:#?}", doc.top_blockers);
        // RetryOnFailure: every retryInterval, without end.
        let doc = assess_at(
            &release(
                "{strategy: {name: RetryOnFailure, retryInterval: 10m}}",
                3,
                "retrying after 10m0s",
            ),
            mins(3),
        );
        assert_eq!(
            retrying(&doc).as_deref(),
            Some("Helm install of email-service retrying (attempt 4, next in about 7 min), no action needed yet")
        );
        assert!(!failed(&doc), "{:#?}", doc.top_blockers);
        // RetryOnFailure by default (helm-controller's DefaultToRetryOnFailure feature gate): no
        // strategy in the spec, the controller's message says it.
        let doc = assess_at(&release("{}", 1, "retrying after 2m0s"), mins(1));
        assert_eq!(
            retrying(&doc).as_deref(),
            Some("Helm install of email-service retrying (attempt 2, next in about 1 min), no action needed yet")
        );
        assert!(!failed(&doc), "{:#?}", doc.top_blockers);
        // Retrying for long: a warning that keeps the retry story, never a failure.
        let doc = assess_at(
            &release(
                "{strategy: {name: RetryOnFailure}}",
                9,
                "retrying after 5m0s",
            ),
            mins(45),
        );
        assert!(!failed(&doc), "{:#?}", doc.top_blockers);
        let b = top(&doc);
        assert!(
            b.reason
                .contains("retrying (attempt 10, next any moment), no action needed yet"),
            "{}",
            b.reason
        );
    }
}
